/**
 * Drift digest: `cloudiway-migration drift --stack <s> [--stack <s2> ...] [--json] [--cwd <dir>] [--out <file>]`.
 *
 * What differs between the stack(s) and the tenant, as Markdown for an issue or a chat message:
 *  - per declared resource and field, the stack's value and the tenant's;
 *  - declared objects that are gone from the tenant;
 *  - users and batches in the tenant that no given stack declares (with status, license, batch), and their count.
 *
 * How: the stack's resources come from `pulumi stack export` and its configuration from `pulumi
 * config`; each resource is read with the provider's own `read` (the code a `pulumi refresh` runs),
 * in this process, with one cache of list answers: the requests are those of a refresh (getall,
 * batch, then per batch getusersinbatch and settings; a user's history only when a refresh reads it
 * too), and the tenant's lists for the objects no stack declares are answers already read. Nothing
 * is written: no call that changes the tenant is made (only the client's reads are called), and the
 * state is only exported, never refreshed or imported.
 */
import { execFile } from "child_process";
import * as fs from "fs";
import { ConfigLookup, CloudiwaySettings, resolveSettings } from "../provider/config";
import { Context, readContext } from "../provider/runtime/context";
export { readContext };
import { Kind, kindOf } from "../provider/client/calls";
import { implementations, ResourceType } from "../provider/impl";
import { allUsers, batchNames } from "../provider/campaign/lookups";
import { mdText } from "./markdown";
import { nameOfUrn, typeOfToken } from "../provider/tokens";

export const HELP = `Usage: cloudiway-migration drift --stack <name> [--stack <name> ...] [--json] [--cwd <dir>] [--out <file>]

Compares the stack with the tenant and prints a Markdown digest for an issue or a chat message:
what differs, per resource and field; declared objects gone from the tenant; users and batches in
the tenant that no given stack declares (with status and license), and how many. It reads what a
\`pulumi refresh\` reads (the same requests) and changes nothing: not the tenant, not the state.

  --stack <name>   the stack (as \`pulumi --stack\` takes it); give several (e.g. the shards of one
                   tenant) to count as undeclared only what none of them declares
  --cwd <dir>      the Pulumi project's folder (default: the current folder)
  --json           print the digest as JSON instead (for pipelines)
  --out <file>     write it there (default: standard output)

Needs \`pulumi\` on PATH, logged in to the stack's backend (PULUMI_CONFIG_PASSPHRASE for its
secrets); credentials as for the provider: stack config cloudiway:*, else CLOUDIWAY_* variables.
Exit code 0 whether or not there is drift; 1 when it cannot compare.
`;

type Props = Record<string, unknown>;
export interface StateResource { urn: string; type: string; id?: string; inputs?: Props; outputs?: Props }

export interface FieldDrift { stack: string; resource: string; type: ResourceType; id: string; field: string; inStack: unknown; inTenant: unknown }
export interface GoneObject { stack: string; resource: string; type: ResourceType; id: string; what: string }
export interface UndeclaredUser { kind: Kind; sourceEmail: string; targetEmail: string; migrationTag: string; status: string; licensed: boolean | null; batchName: string | null }
export interface UnreadObject { stack: string; resource: string; type: ResourceType; id: string; error: string }
export interface UndeclaredBatch { kind: Kind; name: string; users: number }
export interface DriftDigest {
    stacks: string[];
    at: string;
    drifted: FieldDrift[];
    gone: GoneObject[];
    /** Declared objects whose read failed (the digest goes on with the others and names each). */
    unread: UnreadObject[];
    undeclared: { users: UndeclaredUser[]; batches: UndeclaredBatch[]; count: { users: number; batches: number } };
}

const typeOf = (t: string): ResourceType | undefined => {
    const name = typeOfToken(t) ?? "";
    return Object.prototype.hasOwnProperty.call(implementations, name) ? (name as ResourceType) : undefined;
};
const nameOf = nameOfUrn;
/** Inputs that say how the provider treats the object, not what it is in the tenant. */
const NOT_IN_TENANT = new Set(["adopt", "deletionPolicy", "selfService", "waitFor", "notBefore", "trigger", "licensed"]);

function describeObject(type: ResourceType, p: Props): string {
    switch (type) {
        case "MailUser": return `user ${p.sourceEmail} -> ${p.targetEmail}`;
        case "MailBatch": return `batch ${p.name}`;
        case "BatchMembership": return `membership of ${p.migrationTag} in batch ${p.batchName}`;
        case "BatchGlobalSettings": return `settings of batch ${p.batchName}`;
        case "MigrationRun": return `${p.action} run of ${p.batchName ? `batch ${p.batchName}` : `user ${p.migrationTag}`}`;
    }
}

/**
 * The digest of stacks' resources against the tenant behind `ctx` (the provider's reads; nothing
 * is written). `stacks`: each stack's name and its exported resources.
 */
export async function driftOf(ctx: Context, stacks: { name: string; resources: StateResource[] }[]): Promise<DriftDigest> {
    const digest: DriftDigest = { stacks: stacks.map((s) => s.name), at: new Date().toISOString(), drifted: [], gone: [], unread: [], undeclared: { users: [], batches: [], count: { users: 0, batches: 0 } } };
    const declaredUsers = new Set<string>(), declaredBatches = new Set<string>();
    const families = new Set<Kind>(["mail"]);
    const reads: Promise<void>[] = [];
    for (const s of stacks) {
        for (const r of s.resources) {
            const type = typeOf(r.type);
            if (!type || !r.id) continue;
            const outputs = r.outputs ?? r.inputs ?? {};
            const kind = kindOf(outputs as { kind?: Kind });
            families.add(kind);
            if (type === "MailUser") declaredUsers.add(`${kind}:${r.id}`);
            if (type === "MailBatch") declaredBatches.add(`${kind}:${String(outputs.name ?? r.id)}`);
            const impl = implementations[type] as unknown as { read(ctx: Context, id: string, props: Props): Promise<{ id?: string; props?: Props; inputs?: Props }> };
            reads.push(impl.read(ctx, r.id, outputs).then((got) => {
                const resource = nameOf(r.urn);
                if (!got.id) {
                    digest.gone.push({ stack: s.name, resource, type, id: r.id!, what: describeObject(type, outputs) });
                    return;
                }
                const declared = r.inputs ?? {}, seen = got.inputs ?? {};
                for (const field of Object.keys(seen).sort()) {
                    if (field.startsWith("__") || NOT_IN_TENANT.has(field)) continue;
                    if (JSON.stringify(declared[field]) !== JSON.stringify(seen[field])) {
                        digest.drifted.push({ stack: s.name, resource, type, id: r.id!, field, inStack: declared[field], inTenant: seen[field] });
                    }
                }
            }, (e: unknown) => {
                // One object that cannot be read never stops the digest: it is named, with the reason.
                digest.unread.push({ stack: s.name, resource: nameOf(r.urn), type, id: r.id!, error: e instanceof Error ? e.message : String(e) });
            }));
        }
    }
    await Promise.all(reads);
    // The tenant's lists: the answers the reads above already had (the same cache), else one call each.
    for (const kind of families) {
        const users = await allUsers(ctx, kind);
        for (const [tag, u] of users) {
            if (declaredUsers.has(`${kind}:${tag}`)) continue;
            digest.undeclared.users.push({
                kind, sourceEmail: u.sourceEmail, targetEmail: u.targetEmail, migrationTag: tag, status: u.status ?? "UNKNOWN",
                licensed: typeof u.licensed === "boolean" ? u.licensed : null, batchName: u.batchName ?? null,
            });
        }
        for (const name of await batchNames(ctx, kind)) {
            if (declaredBatches.has(`${kind}:${name}`)) continue;
            digest.undeclared.batches.push({ kind, name, users: [...users.values()].filter((u) => u.batchName === name).length });
        }
    }
    const order = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
    digest.drifted.sort((a, b) => order(`${a.stack}|${a.resource}|${a.field}`, `${b.stack}|${b.resource}|${b.field}`));
    digest.gone.sort((a, b) => order(`${a.stack}|${a.resource}`, `${b.stack}|${b.resource}`));
    digest.unread.sort((a, b) => order(`${a.stack}|${a.resource}`, `${b.stack}|${b.resource}`));
    digest.undeclared.users.sort((a, b) => order(`${a.kind}|${a.sourceEmail}`, `${b.kind}|${b.sourceEmail}`));
    digest.undeclared.batches.sort((a, b) => order(`${a.kind}|${a.name}`, `${b.kind}|${b.name}`));
    digest.undeclared.count = { users: digest.undeclared.users.length, batches: digest.undeclared.batches.length };
    return digest;
}

/**
 * A user value as one Markdown table cell: plan-summary's escaping (markdown.ts, mdText: one line,
 * control and bidirectional characters out, HTML and Markdown inert, @mentions that cannot ping);
 * a value that is not a string as its JSON; empty and absent values are "—".
 */
export function mdCell(v: unknown): string {
    if (v === undefined || v === null || v === "") return "—";
    return mdText(typeof v === "string" ? v : JSON.stringify(v)) || "—";
}

/** The digest as Markdown. */
export function driftMarkdown(d: DriftDigest): string {
    const L: string[] = [];
    const resources = new Set(d.drifted.map((x) => `${x.stack}|${x.resource}`)).size;
    L.push(`## Cloudiway drift: ${d.stacks.map((s) => `stack ${mdCell(s)}`).join(", ")}`, "");
    L.push(`_As of ${d.at}: the stack's state compared with the tenant (what a refresh reads). Nothing was changed._`, "");
    L.push("| | |", "|---|---:|",
        `| resources that differ from the tenant | ${resources} (${d.drifted.length} field${d.drifted.length === 1 ? "" : "s"}) |`,
        `| declared objects gone from the tenant | ${d.gone.length} |`,
        ...(d.unread.length ? [`| declared objects that could not be read | ${d.unread.length} |`] : []),
        `| users in the tenant that no stack declares | ${d.undeclared.count.users} |`,
        `| batches in the tenant that no stack declares | ${d.undeclared.count.batches} |`, "");
    if (!d.drifted.length && !d.gone.length && !d.unread.length && !d.undeclared.count.users && !d.undeclared.count.batches) {
        L.push("No drift: the tenant is as the stack says.", "");
        return L.join("\n");
    }
    const multi = d.stacks.length > 1;
    if (d.drifted.length) {
        L.push("### Differences", "", `| ${multi ? "stack | " : ""}resource | type | field | in the stack | in the tenant |`, `|${multi ? "---|" : ""}---|---|---|---|---|`);
        for (const x of d.drifted) L.push(`| ${multi ? `${mdCell(x.stack)} | ` : ""}${mdCell(x.resource)} | ${x.type} | ${mdCell(x.field)} | ${mdCell(x.inStack)} | ${mdCell(x.inTenant)} |`);
        L.push("");
    }
    if (d.gone.length) {
        L.push("### Declared but gone from the tenant", "", `| ${multi ? "stack | " : ""}resource | type | what | id |`, `|${multi ? "---|" : ""}---|---|---|---|`);
        for (const x of d.gone) L.push(`| ${multi ? `${mdCell(x.stack)} | ` : ""}${mdCell(x.resource)} | ${x.type} | ${mdCell(x.what)} | ${mdCell(x.id)} |`);
        L.push("");
    }
    if (d.unread.length) {
        L.push("### Declared but could not be read", "", `| ${multi ? "stack | " : ""}resource | type | id | why |`, `|${multi ? "---|" : ""}---|---|---|---|`);
        for (const x of d.unread) L.push(`| ${multi ? `${mdCell(x.stack)} | ` : ""}${mdCell(x.resource)} | ${x.type} | ${mdCell(x.id)} | ${mdCell(x.error)} |`);
        L.push("");
    }
    if (d.undeclared.count.users) {
        L.push(`### Users no stack declares: ${d.undeclared.count.users}`, "", "| user | kind | status | licensed | batch | migration tag |", "|---|---|---|---|---|---|");
        for (const u of d.undeclared.users) {
            L.push(`| ${mdCell(`${u.sourceEmail} -> ${u.targetEmail}`)} | ${u.kind} | ${mdCell(u.status)} | ${u.licensed === null ? "?" : u.licensed ? "yes" : "no"} | ${mdCell(u.batchName)} | ${mdCell(u.migrationTag)} |`);
        }
        L.push("");
    }
    if (d.undeclared.count.batches) {
        L.push(`### Batches no stack declares: ${d.undeclared.count.batches}`, "", "| batch | kind | users |", "|---|---|---:|");
        for (const b of d.undeclared.batches) L.push(`| ${mdCell(b.name)} | ${b.kind} | ${b.users} |`);
        L.push("");
    }
    return L.join("\n");
}

// ------------------------------------------------------------------ the command

function pulumi(args: string[], cwd: string): Promise<string> {
    return new Promise((resolve, reject) => {
        execFile("pulumi", [...args, "--non-interactive"], { cwd, maxBuffer: 1024 * 1024 * 1024, timeout: 10 * 60 * 1000 }, (err, stdout, stderr) => {
            // The command line has no secret; stderr of `pulumi config` never prints values.
            if (err) reject(new Error(`pulumi ${args.join(" ")} failed: ${(stderr || err.message).trim()}`));
            else resolve(stdout);
        });
    });
}

/** The provider's settings of a stack: its cloudiway:* config (secrets decrypted in memory only), else the environment. */
async function settingsOf(stack: string, cwd: string): Promise<CloudiwaySettings> {
    let raw: Record<string, { value?: unknown }>;
    try {
        raw = JSON.parse(await pulumi(["config", "--json", "--show-secrets", "--stack", stack], cwd)) as Record<string, { value?: unknown }>;
    } catch (e) {
        // JSON.parse's message quotes the text it read, which holds the secrets: never pass it on.
        if (e instanceof SyntaxError) throw new Error(`pulumi config --json --stack ${stack}: its output is not JSON`);
        throw e;
    }
    const lookup: ConfigLookup = (key) => {
        const v = raw[key]?.value;
        return v === undefined || v === null ? undefined : String(v);
    };
    return resolveSettings(lookup);
}

export async function main(argv: string[]): Promise<void> {
    if (argv.includes("--help") || argv.includes("-h")) {
        process.stdout.write(HELP);
        return;
    }
    const stacks: string[] = [];
    let cwd = process.cwd(), out: string | undefined, json = false;
    for (let i = 0; i < argv.length; i++) {
        const a = argv[i];
        const value = () => {
            const v = argv[++i];
            if (v === undefined || v.startsWith("--")) throw new Error(`${a} needs a value (see --help)`);
            return v;
        };
        if (a === "--stack") { const v = value(); if (!stacks.includes(v)) stacks.push(v); }
        else if (a === "--cwd") cwd = value();
        else if (a === "--out") out = value();
        else if (a === "--json") json = true;
        else throw new Error(`unknown argument "${a}" (see --help)`);
    }
    if (!stacks.length) {
        process.stderr.write(`cloudiway-migration drift: --stack <name> is required\n\n${HELP}`);
        process.exitCode = 2;
        return;
    }
    if (!fs.existsSync(cwd)) throw new Error(`--cwd ${cwd}: no such folder`);
    const loaded: { name: string; resources: StateResource[]; settings: CloudiwaySettings }[] = [];
    for (const name of stacks) {
        const state = await pulumi(["stack", "export", "--stack", name], cwd);
        loaded.push({ name, resources: (JSON.parse(state)?.deployment?.resources ?? []) as StateResource[], settings: await settingsOf(name, cwd) });
    }
    const tenant = (s: CloudiwaySettings) => `${s.apiUrl}\n${s.consumerKey}`;
    const other = loaded.find((l) => tenant(l.settings) !== tenant(loaded[0].settings));
    if (other) throw new Error(`stacks ${loaded[0].name} and ${other.name} are on different tenants (API URL or consumer key): compare one tenant at a time`);
    if (!loaded[0].settings.consumerKey || !loaded[0].settings.consumerSecret) {
        throw new Error("Cloudiway credentials are not configured: set cloudiway:consumerKey and cloudiway:consumerSecret on the stack (or CLOUDIWAY_CONSUMER_KEY / CLOUDIWAY_CONSUMER_SECRET)");
    }
    const digest = await driftOf(readContext(loaded[0].settings), loaded);
    const text = json ? JSON.stringify(digest, null, 2) : driftMarkdown(digest);
    if (out) fs.writeFileSync(out, text + "\n");
    else process.stdout.write(text + "\n");
}
