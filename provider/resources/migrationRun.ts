/**
 * MigrationRun: an action of the API, declared. Creating it performs the action
 * once; changing `trigger` performs it again; re-applying an unchanged stack
 * performs nothing; deleting it performs nothing. Actions cost licenses in the
 * real service (a first pass or an audit uses the user's license), so they only
 * ever happen as this resource's create/update, which preview lists.
 * Top to bottom: schema, provider methods, resource class.
 */
import * as pulumi from "@pulumi/pulumi";
import { randomUUID } from "crypto";
import { z } from "zod";
import { shimFor } from "./shim";
import { Context, Kind, ResourceImpl, batchNameField, checkWith, diffProps, isUnknown, kindField, kindOf } from "./common";
import { batchNames, findUserRecord, usersInBatch } from "./lookups";
import { PASS_ERRORS, UNDER_WAY, statusName } from "../client/status";
import { info } from "./engineLog";
import { observeTarget, waitForTarget } from "./gates";
import { CloudiwayConflictError } from "../client/errors";
import { waitOut } from "../client/retry";

// ---------------------------------------------------------------- schema
export const MIGRATION_ACTIONS = ["migrate", "audit", "stop", "permissions", "retry"] as const;
export type MigrationAction = (typeof MIGRATION_ACTIONS)[number];

/** An ISO 8601 instant with an offset (Z or ±hh:mm), e.g. 2026-12-05T18:00:00Z. */
export function isInstant(s: string): boolean {
    return /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/.test(s) && !Number.isNaN(Date.parse(s));
}
const waitForField = z.object({
    timeoutMinutes: z.number({ error: "timeoutMinutes must be a number of minutes" }).positive({ message: "timeoutMinutes must be more than 0" }),
    maxFailed: z.number({ error: "maxFailed must be a whole number" }).int({ message: "maxFailed must be a whole number" }).min(0, { message: "maxFailed must be 0 or more" }).optional(),
}, { error: (iss) => (iss.code === "invalid_type" ? "must be an object like { timeoutMinutes: 60, maxFailed?: 0 }" : undefined) }).strict().optional();

export const migrationRunSchema = z.object({
    batchName: batchNameField.optional(),
    migrationTag: z.string({ error: "must be a string (a migration tag)" }).trim().min(1, { message: "must not be empty" }).optional(),
    action: z.enum(MIGRATION_ACTIONS, { error: `must be one of ${MIGRATION_ACTIONS.map((a) => `"${a}"`).join(", ")}` }),
    trigger: z.string({ error: "must be a string (change it to run the action again)" }).min(1, { message: "must not be empty" }),
    kind: kindField,
    /** Wait, after sending, until every user of the target has left the running statuses (gates.ts). */
    waitFor: waitForField,
    /** Send nothing before this instant (ISO 8601 with an offset); the first up at or after it sends once. */
    notBefore: z.string({ error: "must be a string: an ISO 8601 instant with an offset, e.g. 2026-12-05T18:00:00Z" }).trim()
        .refine(isInstant, { message: "must be an ISO 8601 instant with an offset (Z or +hh:mm), e.g. 2026-12-05T18:00:00Z" }).optional(),
});
export type MigrationRunInputs = z.infer<typeof migrationRunSchema>;
export interface MigrationRunOutputs extends MigrationRunInputs {
    /** When the action was performed (ISO), or when an earlier, interrupted run performed it. */
    performedAt: string;
    /** The API's answer, e.g. "Batch Wave1 started" (or why it was not sent again). */
    answer: string;
    /** Set while the run waits for its `notBefore`: nothing has been sent. */
    deferredUntil?: string;
    /** A gated run (waitFor): its users by final status, and the source emails of those that ended badly. */
    finalStatuses?: Record<string, number>;
    failedUsers?: string[];
    /** A retry run: how many users (in an error status) it started again. */
    started?: number;
}
const INPUTS = ["batchName", "migrationTag", "action", "trigger", "kind", "waitFor", "notBefore"] as const;

// ---------------------------------------------------------------- provider
export const migrationRunImpl: ResourceImpl<MigrationRunInputs, MigrationRunOutputs> = {
    async check(_ctx, _olds, news) {
        const result = checkWith("MigrationRun", migrationRunSchema, news, (v, unknown) => {
            const hasBatch = v.batchName !== undefined || unknown.has("batchName");
            const hasUser = v.migrationTag !== undefined || unknown.has("migrationTag");
            if (hasBatch === hasUser) {
                return [{ property: hasBatch ? "migrationTag" : "batchName", reason: "MigrationRun: set exactly one of batchName (a batch run) or migrationTag (a user run)" }];
            }
            if ((v.action === "permissions" || v.action === "retry") && hasUser) {
                return [{ property: "action", reason: `MigrationRun.action: "${v.action}" runs on a batch only; set batchName` }];
            }
            return [];
        });
        // Said in preview too: a run that waits for its time sends nothing now (no call is made to say so).
        if (!result.failures.length && typeof result.inputs.notBefore === "string" && isInstant(result.inputs.notBefore) && Date.parse(result.inputs.notBefore) > Date.now()) {
            await info(`MigrationRun ${describe(result.inputs)}: deferred until ${result.inputs.notBefore}; nothing is sent before then`);
        }
        return result;
    },

    async diff(_ctx, _id, olds, news) {
        // A new trigger performs the action again (update); a different target or action is another run (replace).
        const d = diffProps(olds, news, INPUTS, ["batchName", "migrationTag", "action", "kind"]);
        // A deferred run whose time has come: an update that performs it (preview says so).
        if (!d.changes && olds.deferredUntil !== undefined && due(news.notBefore)) return { ...d, changes: true, stables: [] };
        return d;
    },

    async create(ctx, inputs) {
        return { id: randomUUID(), outs: await run(ctx, inputs) };
    },

    async read(ctx, id, props) {
        // A run is a record of an action performed; it exists as long as its target does.
        const kind = kindOf(props);
        if (props.batchName && !isUnknown(props.batchName)) {
            if (!(await batchNames(ctx, kind)).includes(props.batchName)) return {};
        } else if (props.migrationTag) {
            if (!(await findUserRecord(ctx, kind, props.migrationTag))) return {};
        }
        const inputs: MigrationRunInputs = { action: props.action, trigger: props.trigger };
        if (props.batchName !== undefined) inputs.batchName = props.batchName;
        if (props.migrationTag !== undefined) inputs.migrationTag = props.migrationTag;
        if (props.kind !== undefined) inputs.kind = props.kind;
        return { id, props, inputs };
    },

    async update(ctx, _id, olds, news) {
        // Performed again for a new trigger, or for the first time when a deferred run's time has come.
        if (olds.trigger === news.trigger && olds.deferredUntil === undefined) return { outs: { ...olds, ...news } };
        return { outs: await run(ctx, news) };
    },

    async delete() {
        // Deleting a run performs nothing: what was migrated stays migrated.
    },
};

/** Slack for clocks when a pass's start (the vendor's clock) is compared with our intent (ours). */
const CLOCK_SLACK_MS = 5 * 60 * 1000;

type RunResult = { performedAt: string; answer: string; started?: number };

/** "batch Wave 1, migrate, trigger 1" */
function describe(v: { batchName?: unknown; migrationTag?: unknown; action?: unknown; trigger?: unknown }): string {
    const target = typeof v.batchName === "string" ? `batch ${v.batchName}` : `user ${String(v.migrationTag)}`;
    return `(${target}, ${String(v.action)}, trigger ${String(v.trigger)})`;
}

/** Whether a run may be sent now: no `notBefore`, or it has come. */
function due(notBefore: unknown): boolean {
    return typeof notBefore !== "string" || isUnknown(notBefore) || Date.parse(notBefore) <= Date.now();
}

/** Create or re-trigger: deferred until `notBefore`, else performed once, then (waitFor) waited for. */
async function run(ctx: Context, v: MigrationRunInputs): Promise<MigrationRunOutputs> {
    if (!due(v.notBefore)) {
        await info(`MigrationRun ${describe(v)}: deferred until ${v.notBefore}; nothing sent`);
        return { ...v, performedAt: "", answer: `deferred until ${v.notBefore}`, deferredUntil: v.notBefore };
    }
    const result = await perform(ctx, v);
    const outs: MigrationRunOutputs = { ...v, ...result };
    if (!v.waitFor) return outs;
    const kind = kindOf(v);
    // A retry waits for the users it started; other runs for their whole target.
    const target = v.batchName ? { batchName: v.batchName } : { tags: [v.migrationTag!] };
    const gate = await waitForTarget(ctx, kind, `MigrationRun ${describe(v)}`, target, v.waitFor, ctx.settings.waitPollSeconds * 1000, { ...outs });
    return { ...outs, ...gate };
}

/**
 * Performs the action at most once per (target, action, trigger), also across a killed `pulumi up`.
 * A fast-mode run (PULUMI_SKIP_CHECKPOINTS) that is killed loses the engine's record of the runs it
 * performed, and the next `up` creates them again. Before sending, the provider looks at:
 *  1. this machine's journal (journal.ts): an earlier attempt that got an answer is not sent again
 *     (its answer is returned); one that was cut off between sending and the answer counts as
 *     sent when the vendor shows it (a user of the target running the action, or a pass that
 *     started after the attempt);
 *  2. on a recovery without a journal (a fresh CI runner, `cloudiway:adoptExisting` set for that
 *     run): Cloudiway itself: while the action is still under way for a user of the target, it is
 *     not sent again.
 */
async function perform(ctx: Context, v: MigrationRunInputs): Promise<RunResult> {
    const kind = kindOf(v);
    const earlier = ctx.journal?.earlierOf("MigrationRun", v);
    if (earlier?.outs && typeof earlier.outs.performedAt === "string" && earlier.outs.performedAt && typeof earlier.outs.answer === "string" && earlier.outs.deferredUntil === undefined) {
        return { performedAt: earlier.outs.performedAt, answer: earlier.outs.answer };
    }
    if (earlier || ctx.settings.adoptExisting) {
        const seen = await seenByVendor(ctx, kind, v, earlier ? Date.parse(earlier.startedAt) : undefined);
        if (seen) return { performedAt: earlier?.startedAt ?? new Date().toISOString(), answer: `not sent again: ${seen}` };
    }
    return send(ctx, kind, v);
}

/** What shows that the action already reached Cloudiway (see perform), or undefined. */
async function seenByVendor(ctx: Context, kind: Kind, v: MigrationRunInputs, since?: number): Promise<string | undefined> {
    const tags = v.batchName ? await usersInBatch(ctx, kind, v.batchName) : v.migrationTag ? [v.migrationTag] : [];
    const running = UNDER_WAY[v.action === "retry" ? "migrate" : v.action];
    const underWay: string[] = [];
    for (const tag of tags) {
        const u = await findUserRecord(ctx, kind, tag);
        if (u?.status && running.has(statusName(u.status))) underWay.push(`${u.sourceEmail} ${statusName(u.status)}`);
    }
    if (underWay.length) return `${v.action} is under way (${underWay.length} of ${tags.length}: ${underWay.slice(0, 3).join(", ")}${underWay.length > 3 ? ", ..." : ""})`;
    if (since !== undefined && v.action === "migrate") {
        for (const tag of tags) {
            const passes = await ctx.client().getMailHistory(kind, tag);
            const started = passes.find((p) => Date.parse(p.startIso) >= since - CLOCK_SLACK_MS);
            if (started) return `a pass started at ${started.startIso} after the interrupted attempt of ${new Date(since).toISOString()}`;
        }
    }
    return undefined;
}

async function send(ctx: Context, kind: Kind, v: MigrationRunInputs): Promise<RunResult> {
    const client = ctx.client();
    let answer: string;
    if (v.batchName) {
        switch (v.action) {
            case "migrate": answer = await client.startBatch(kind, v.batchName); break;
            case "stop": answer = await client.stopBatch(kind, v.batchName); break;
            case "audit": answer = await client.auditBatch(kind, v.batchName); break;
            case "permissions": answer = await permissionsOneAtATime(ctx, kind, v.batchName); break;
            case "retry": return retryFailed(ctx, kind, v.batchName);
        }
    } else {
        const tag = v.migrationTag!;
        switch (v.action) {
            case "migrate": answer = await client.startUser(kind, tag); break;
            case "stop": answer = await client.stopUser(kind, tag); break;
            case "audit": answer = await client.auditUser(kind, tag); break;
            default: throw new Error(`MigrationRun.action: "${v.action}" needs a batch`);
        }
    }
    return { performedAt: new Date().toISOString(), answer: String(answer) };
}

/**
 * `retry`: starts again, one per-user start each, only the batch's users whose pass ended in an
 * error status (PASS_ERRORS in client/status.ts); users that succeeded or never started are not
 * touched. Idempotent by construction: a second attempt finds the started users no longer in error.
 */
async function retryFailed(ctx: Context, kind: Kind, batchName: string): Promise<RunResult> {
    const failed = (await observeTarget(ctx, kind, { batchName })).filter((u) => PASS_ERRORS.has(u.status));
    for (const u of failed) await ctx.client().startUser(kind, u.tag);
    const who = failed.map((u) => u.email);
    return {
        performedAt: new Date().toISOString(), started: failed.length,
        answer: failed.length ? `started ${failed.length} user(s) in error again: ${who.join(", ")}` : "no user of the batch is in an error status",
    };
}

/**
 * The service migrates permissions one batch at a time and refuses a second
 * batch while one runs. Runs of one `up` go through this queue in turn, and a run
 * refused because another (maybe outside this stack) is still running waits and
 * asks again (retry.ts, waitOut), up to `cloudiway:permissionsWaitSeconds`.
 */
let permissionsQueue: Promise<unknown> = Promise.resolve();
function permissionsOneAtATime(ctx: Context, kind: Kind, batchName: string): Promise<string> {
    const run = permissionsQueue.then(() => waitOut(
        () => ctx.client().startPermissionMigrationByBatch(kind, batchName),
        (e) => e instanceof CloudiwayConflictError,
        Date.now() + ctx.settings.permissionsWaitSeconds * 1000,
    ));
    permissionsQueue = run.catch(() => undefined);
    return run;
}

// ---------------------------------------------------------------- resource
export interface MigrationRunArgs {
    /** Run on a batch (startbatch, stopbatch, batchaudit, startpermissionmigrationbybatch)... */
    batchName?: pulumi.Input<string>;
    /** ...or on one user (start, stop, audit). Exactly one of the two. */
    migrationTag?: pulumi.Input<string>;
    action: pulumi.Input<MigrationAction>;
    /** Any string; changing it performs the action again. */
    trigger: pulumi.Input<string>;
    kind?: pulumi.Input<"mail" | "archive">;
    /**
     * A gate: after sending, wait until every user of the target has left the running statuses
     * (logging progress), and fail — naming the users — when more than `maxFailed` (default 0) end in
     * an error or stopped status, or after `timeoutMinutes`. `dependsOn` a gated run = after that wave.
     */
    waitFor?: pulumi.Input<{ timeoutMinutes: pulumi.Input<number>; maxFailed?: pulumi.Input<number> }>;
    /** An ISO 8601 instant with an offset: before it, nothing is sent (`deferredUntil` says until when). */
    notBefore?: pulumi.Input<string>;
}

export class MigrationRun extends pulumi.dynamic.Resource {
    declare public readonly action: pulumi.Output<MigrationAction>;
    declare public readonly trigger: pulumi.Output<string>;
    /** When the action was last performed (ISO). */
    declare public readonly performedAt: pulumi.Output<string>;
    /** The API's answer, e.g. "Batch Wave1 started". */
    declare public readonly answer: pulumi.Output<string>;
    /** Set while the run waits for its notBefore. */
    declare public readonly deferredUntil: pulumi.Output<string | undefined>;
    /** A gated run: its users by final status, and those that ended badly. */
    declare public readonly finalStatuses: pulumi.Output<Record<string, number> | undefined>;
    declare public readonly failedUsers: pulumi.Output<string[] | undefined>;
    /** A retry run: how many users it started again. */
    declare public readonly started: pulumi.Output<number | undefined>;

    constructor(name: string, args: MigrationRunArgs, opts?: pulumi.CustomResourceOptions) {
        super(shimFor("MigrationRun"), name, {
            performedAt: undefined, answer: undefined, deferredUntil: undefined, finalStatuses: undefined, failedUsers: undefined, started: undefined, ...args,
        }, opts, "cloudiway", "MigrationRun");
    }
}
