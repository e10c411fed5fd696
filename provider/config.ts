/**
 * Endpoint and credentials of the Cloudiway API.
 *
 * Provider side: read in the dynamic provider's `configure(req)` from the stack
 * configuration the engine hands it, then the environment at call time. Never
 * captured in the serialized provider (see runtime/shim.ts), so the consumer
 * secret never lands in state.
 *
 * | stack config                      | environment                  |
 * |-----------------------------------|------------------------------|
 * | cloudiway:apiUrl                  | CLOUDIWAY_API_URL            |
 * | cloudiway:consumerKey             | CLOUDIWAY_CONSUMER_KEY       |
 * | cloudiway:consumerSecret (secret) | CLOUDIWAY_CONSUMER_SECRET    |
 * | cloudiway:adoptExisting           | CLOUDIWAY_ADOPT_EXISTING     |
 * | cloudiway:requestTimeoutMs        | CLOUDIWAY_REQUEST_TIMEOUT_MS | per attempt, default 30000   |
 * | cloudiway:maxAttempts             | CLOUDIWAY_MAX_ATTEMPTS       | per call, default 10         |
 * | cloudiway:connections             | CLOUDIWAY_CONNECTIONS        | pool size, default 64        |
 * | cloudiway:deletionPolicy          | CLOUDIWAY_DELETION_POLICY    | retainMigrated (default), delete, retain |
 * | cloudiway:waitPollSeconds         | CLOUDIWAY_WAIT_POLL_SECONDS  | how often a gated run (waitFor) looks, default 15 |
 * | cloudiway:permissionsWaitSeconds  | CLOUDIWAY_PERMISSIONS_WAIT_SECONDS | how long a permissions run waits for another batch's, default 900 |
 */
export const DEFAULT_API_URL = "https://apps.cloudiway.com/api";

export interface CloudiwaySettings {
    apiUrl: string;
    consumerKey: string;
    consumerSecret: string;
    adoptExisting: boolean;
    /** Per attempt: a request without an answer after this long is a timeout (retried when safe). */
    requestTimeoutMs: number;
    /** Attempts per call (capped exponential backoff with jitter between them, Retry-After honoured). */
    maxAttempts: number;
    /** Connections to the API per provider process. */
    connections: number;
    /** What a MailUser leaving the stack does in Cloudiway, unless the user says (MailUser.deletionPolicy). */
    deletionPolicy: DeletionPolicy;
    /** How often a gated MigrationRun (waitFor) looks at its users' statuses (and logs progress). */
    waitPollSeconds: number;
    /** How long a permissions run waits while another batch's permissions migration runs (the service runs one at a time). */
    permissionsWaitSeconds: number;
}

export const DEFAULT_REQUEST_TIMEOUT_MS = 30_000;
export const DEFAULT_MAX_ATTEMPTS = 10;
/** The client pool: enough not to cap an `up` at the parallelism a large plan runs with (32–64; 16 capped it, docs/large-plans-and-shards.md). */
export const DEFAULT_CONNECTIONS = 64;
/**
 * The engine's --parallel this project runs and recommends (demo, `up --all-shards`, the gitops example's
 * PULUMI_PARALLEL): the client pool's size. An engine slot is held while its step waits on the API (a new
 * user: the create, then its look-up), so fewer slots than connections leave connections idle: at 100 ms,
 * 500 users, `--parallel 32` is 1.33 x a stack of do-nothing resources, 64 is 1.10 x
 * (docs/large-plans-and-shards.md). More than the pool would only queue in the client.
 */
export const DEFAULT_PARALLEL = DEFAULT_CONNECTIONS;
export const DEFAULT_PERMISSIONS_WAIT_SECONDS = 900;

/**
 * What happens in Cloudiway when a MailUser leaves the stack (removed, replaced, destroyed):
 *  - retainMigrated: kept when it has something to lose (a license, a pass, an audit, any status
 *    but NOTSTARTED), deleted otherwise;
 *  - delete: deleted;
 *  - retain: never deleted.
 * A deleted user loses its migration history; made again, it is a new user (a new license).
 */
export const DELETION_POLICIES = ["retainMigrated", "delete", "retain"] as const;
export type DeletionPolicy = (typeof DELETION_POLICIES)[number];
export const DEFAULT_DELETION_POLICY: DeletionPolicy = "retainMigrated";

/** The one case rule for a deletion policy, wherever it is given (config, resource, plan, state): any case, trimmed. */
export function parseDeletionPolicy(v: unknown): DeletionPolicy | undefined {
    const given = typeof v === "string" ? v.trim().toLowerCase() : undefined;
    return DELETION_POLICIES.find((x) => x.toLowerCase() === given);
}

function deletionPolicy(v: string | undefined): DeletionPolicy {
    if (v === undefined) return DEFAULT_DELETION_POLICY;
    const p = parseDeletionPolicy(v);
    if (!p) throw new Error(`cloudiway:deletionPolicy must be one of ${DELETION_POLICIES.map((x) => `"${x}"`).join(", ")} (got "${v}")`);
    return p;
}

function positiveInt(name: string, v: string | undefined, dflt: number): number {
    if (v === undefined) return dflt;
    const n = Number(v);
    if (!Number.isInteger(n) || n < 1) throw new Error(`cloudiway:${name} must be a whole number >= 1 (got "${v}")`);
    return n;
}

/** A source of configuration values: `key` is `cloudiway:<name>`. */
export type ConfigLookup = (key: string) => string | undefined;

function truthy(v: string | undefined): boolean | undefined {
    if (v === undefined || v === "") return undefined;
    return /^(1|true|yes|on)$/i.test(v.trim());
}

export function resolveSettings(lookup: ConfigLookup, env: NodeJS.ProcessEnv = process.env): CloudiwaySettings {
    const pick = (name: string, envName: string): string | undefined => {
        const fromConfig = lookup(`cloudiway:${name}`);
        if (fromConfig !== undefined && fromConfig !== "") return String(fromConfig);
        const fromEnv = env[envName];
        return fromEnv !== undefined && fromEnv !== "" ? fromEnv : undefined;
    };
    return {
        apiUrl: (pick("apiUrl", "CLOUDIWAY_API_URL") ?? DEFAULT_API_URL).replace(/\/+$/, ""),
        consumerKey: pick("consumerKey", "CLOUDIWAY_CONSUMER_KEY") ?? "",
        consumerSecret: pick("consumerSecret", "CLOUDIWAY_CONSUMER_SECRET") ?? "",
        adoptExisting: truthy(pick("adoptExisting", "CLOUDIWAY_ADOPT_EXISTING")) ?? false,
        requestTimeoutMs: positiveInt("requestTimeoutMs", pick("requestTimeoutMs", "CLOUDIWAY_REQUEST_TIMEOUT_MS"), DEFAULT_REQUEST_TIMEOUT_MS),
        maxAttempts: positiveInt("maxAttempts", pick("maxAttempts", "CLOUDIWAY_MAX_ATTEMPTS"), DEFAULT_MAX_ATTEMPTS),
        connections: positiveInt("connections", pick("connections", "CLOUDIWAY_CONNECTIONS"), DEFAULT_CONNECTIONS),
        deletionPolicy: deletionPolicy(pick("deletionPolicy", "CLOUDIWAY_DELETION_POLICY")),
        waitPollSeconds: positiveInt("waitPollSeconds", pick("waitPollSeconds", "CLOUDIWAY_WAIT_POLL_SECONDS"), 15),
        permissionsWaitSeconds: positiveInt("permissionsWaitSeconds", pick("permissionsWaitSeconds", "CLOUDIWAY_PERMISSIONS_WAIT_SECONDS"), DEFAULT_PERMISSIONS_WAIT_SECONDS),
    };
}

/** Refuses to talk to the API without credentials, naming where they come from. */
export function requireCredentials(s: CloudiwaySettings): void {
    const missing: string[] = [];
    if (!s.consumerKey) missing.push("cloudiway:consumerKey (or CLOUDIWAY_CONSUMER_KEY)");
    if (!s.consumerSecret) missing.push("cloudiway:consumerSecret (or CLOUDIWAY_CONSUMER_SECRET)");
    if (missing.length) {
        throw new Error(`Cloudiway credentials are not configured: set ${missing.join(" and ")}`);
    }
}
