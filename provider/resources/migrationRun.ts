/**
 * MigrationRun: an action of the API, declared, and judged like a reconciler.
 *  - Creating it sends the action once; changing `trigger` sends it again; deleting it sends nothing.
 *    Actions cost licenses in the real service (a first pass or an audit uses the user's license),
 *    so they only ever happen as this resource's create/update, which preview lists.
 *  - Its `phase` says where it stands: `deferred` (its `notBefore` has not come, or a run in its
 *    `after` is not done: nothing sent), `sent` (no gate), `waiting` (gated, users still running),
 *    `done`, `failed` (more than `maxFailed` ended badly, or the deadline passed).
 *  - Every `up` moves it on: a deferred run whose time and predecessors have come is sent; a waiting
 *    or failed gate is looked at again (no `up` waits for the passes unless `blockMinutes` says so).
 *    A failed gate fails the `up` naming the users, and the run stays in the stack (the engine's
 *    partial-failure path), so no runner sends it again.
 * Top to bottom: schema, provider methods, resource class.
 */
import * as pulumi from "@pulumi/pulumi";
import { randomUUID } from "crypto";
import { z } from "zod";
import { ArgsOf, InputsOf, OutputsOf, ResourceImpl, ResourceOutputs, defineModel, isUnknown, ModelResource, stackOf, strictObject } from "../runtime/model";
import { Context, PartialFailure } from "../runtime/context";
import { batchNameField, kindField, KIND_ABSENT, triggerField } from "../runtime/fields";
import { kindOf } from "../client/calls";
import { batchNames, findUserRecord } from "../campaign/lookups";
import { info } from "../runtime/engineLog";
import { Judgement, judgeGate } from "../campaign/gates";
import { naturalKey } from "../runtime/journal";
import { MIGRATION_ACTIONS, perform, SentThenFailed } from "../campaign/sendOnce";
import { deferral, phaseOf, RUN_PHASES, RunPhase } from "../campaign/schedule";
import { nameOfUrn } from "../tokens";

// ---------------------------------------------------------------- schema
export { MIGRATION_ACTIONS, MigrationAction } from "../campaign/sendOnce";
export { RUN_PHASES, RunPhase, phaseOf, updateMaySend, afterPending } from "../campaign/schedule";

/** An ISO 8601 instant with an offset (Z or ±hh:mm), e.g. 2026-12-05T18:00:00Z. */
export function isInstant(s: string): boolean {
    return /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/.test(s) && !Number.isNaN(Date.parse(s));
}
const minutes = (what: string) => z.number({ error: `${what} must be a number of minutes` });
export const waitForField = strictObject({
    maxFailed: z.number({ error: "maxFailed must be a whole number" }).int({ message: "maxFailed must be a whole number" }).min(0, { message: "maxFailed must be 0 or more" }).optional(),
    /** A deadline counted from the send, across ups: past it with users still running, the run is failed. */
    timeoutMinutes: minutes("timeoutMinutes").positive({ message: "timeoutMinutes must be more than 0" }).optional(),
    /** How long one `up` may wait for the target to settle (default 0: look once, leave the rest to the next up). */
    blockMinutes: minutes("blockMinutes").min(0, { message: "blockMinutes must be 0 or more" }).optional(),
    /** A user whose passes since the send failed more than this percent of the items they read counts as failed. */
    maxItemFailurePercent: z.number({ error: "maxItemFailurePercent must be a number from 0 to 100 (a percent)" })
        .min(0, { message: "maxItemFailurePercent must be a number from 0 to 100 (a percent)" }).max(100, { message: "maxItemFailurePercent must be a number from 0 to 100 (a percent)" }).optional(),
}, "must be an object like { maxFailed?: 0, timeoutMinutes?: 2880, blockMinutes?: 0, maxItemFailurePercent?: 2 }").optional();

/**
 * The runs this one waits for, as data: their names, phases and progress (the class makes it from
 * `after`); for a run of another stack also the trigger it reported and the trigger declared for it
 * (see afterPending).
 */
const AFTER_SHAPE = "must be a list of { run, phase } (use MigrationRunArgs.after: [otherRun])";
const afterField = z.array(strictObject({
    run: z.string({ error: "run must be a string (the name of a MigrationRun)" }),
    phase: z.string({ error: "phase must be a string" }).optional(),
    progress: z.string().optional(),
    trigger: z.string({ error: "trigger must be a string" }).optional(),
    declaredTrigger: z.string({ error: "declaredTrigger must be a string" }).optional(),
}, AFTER_SHAPE), { error: AFTER_SHAPE }).optional();

export const migrationRunModel = defineModel({
    type: "MigrationRun",
    inputs: {
        /** Run on a batch (startbatch, stopbatch, batchaudit, startpermissionmigrationbybatch)... */
        batchName: batchNameField.optional(),
        /** ...or on one user (start, stop, audit). Exactly one of the two. */
        migrationTag: z.string({ error: "must be a string (a migration tag)" }).trim().min(1, { message: "must not be empty" }).optional(),
        action: z.enum(MIGRATION_ACTIONS, { error: `must be one of ${MIGRATION_ACTIONS.map((a) => `"${a}"`).join(", ")}` }),
        /** Any string; changing it performs the action again. */
        trigger: triggerField,
        kind: kindField,
        /**
         * A gate, judged at every `up` after the send: the run is `waiting` while users of its target
         * run, `done` when none does and at most `maxFailed` (default 0) ended in an error or stopped
         * status, `failed` (the up fails, naming the users) beyond that or when users still run
         * `timeoutMinutes` after the send. `blockMinutes` (default 0): how long one `up` may wait for it.
         */
        waitFor: waitForField,
        /** An ISO 8601 instant with an offset: before it, nothing is sent (`deferredUntil` says until when). */
        notBefore: z.string({ error: "must be a string: an ISO 8601 instant with an offset, e.g. 2026-12-05T18:00:00Z" }).trim()
            .refine(isInstant, { message: "must be an ISO 8601 instant with an offset (Z or +hh:mm), e.g. 2026-12-05T18:00:00Z" }).optional(),
        /** The runs this one waits for, as data (the class makes it from MigrationRunArgs.after): send nothing before each is `done`. */
        after: afterField,
    },
    outputs: {
        /** deferred | sent | waiting | done | failed (see the top of this file). Missing in states written before phases: see phaseOf. */
        phase: z.enum(RUN_PHASES).optional(),
        /** When the action was sent (ISO); the gate's deadline counts from it. Empty or missing while deferred. */
        performedAt: z.string().optional(),
        /** The API's answer, e.g. "Batch Wave1 started" (or why it was not sent, or not sent again). */
        answer: z.string(),
        /** Set while the run waits for its `notBefore`: nothing has been sent. */
        deferredUntil: z.string().optional(),
        /** Set while the run waits for runs of its `after`: their names. */
        waitingFor: z.array(z.string()).optional(),
        /** A gated run at its last look: "4 of 6 done (SUCCESS 4, WORKING 2)". */
        progress: z.string().optional(),
        /** A gated run: its users by status at the last look. */
        finalStatuses: z.record(z.string(), z.number()).optional(),
        /** A gated run: the source emails of the users that ended badly. */
        failedUsers: z.array(z.string()).optional(),
        /** A retry run: how many users (in an error status) it started again. */
        started: z.number().optional(),
        /** A retry run: the migration tags it started again (its gate needs a new pass of these only). */
        retried: z.array(z.string()).optional(),
        /** A gated migrate or retry run: items of its target users' passes since the send (missing in older states). */
        items: strictObject({ read: z.number(), success: z.number(), failure: z.number(), failurePercent: z.number() }, "must be { read, success, failure, failurePercent }").optional(),
    },
    // A new trigger sends the action again (update); a different target or action is another run (replace).
    replaces: ["batchName", "migrationTag", "action", "kind"],
    absentMeans: KIND_ABSENT,
    // One performance of an action: its target, the action and the trigger that asked for it; sent once (sendOnce.ts).
    journal: {
        key(p) {
            if (typeof p.action !== "string" || typeof p.trigger !== "string") return undefined;
            const target = typeof p.batchName === "string" ? `batch:${p.batchName.trim()}`
                : typeof p.migrationTag === "string" ? `user:${p.migrationTag.trim()}` : undefined;
            return target === undefined ? undefined : `${target}\n${p.action}\n${p.trigger}`;
        },
        journals: "send",
    },
});
export const migrationRunSchema = migrationRunModel.schema;
export type MigrationRunInputs = InputsOf<typeof migrationRunModel>;
export type AfterRun = NonNullable<MigrationRunInputs["after"]>[number];
export type MigrationRunOutputs = OutputsOf<typeof migrationRunModel>;
const INPUTS = migrationRunModel.inputKeys;

// ---------------------------------------------------------------- provider
export const migrationRunImpl: ResourceImpl<MigrationRunInputs, MigrationRunOutputs> = {
    async check(_ctx, _olds, news) {
        const result = migrationRunModel.check(news, (v, unknown) => {
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
        // A field of the gate is named in full: "MigrationRun.waitFor.maxItemFailurePercent must be ...".
        result.failures = result.failures.map((f) => (f.property !== "waitFor" ? f : {
            property: f.property, reason: f.reason.replace(/^MigrationRun\.waitFor: /, "").split("; ")
                .map((r) => (/^\w+ must/.test(r) ? `MigrationRun.waitFor.${r}` : `MigrationRun.waitFor: ${r}`)).join("; "),
        }));
        // Said in preview too: a run that waits for its time or its predecessors sends nothing now.
        if (!result.failures.length) {
            const wait = deferral(result.inputs as Partial<MigrationRunInputs>);
            if (wait) await info(`MigrationRun ${describe(result.inputs)}: ${wait.message}; nothing is sent now`);
        }
        return result;
    },

    async diff(ctx, _id, olds, news) {
        forgetHeld(ctx, olds);
        // A new trigger sends the action again (update); a different target or action is another run (replace).
        // A change of waitFor, notBefore or after alone sends nothing: it changes how the run is judged.
        const d = migrationRunModel.diff(olds, news);
        if (d.replaces?.length || d.changes) return d;
        const phase = phaseOf(olds);
        const label = `MigrationRun ${describe(news)}`;
        if (olds.phase === undefined) return { ...d, changes: true, stables: [] }; // a state from before phases: its phase is recorded (nothing sent)
        if (phase === "waiting" || phase === "failed") {
            const pct = (news.waitFor as { maxItemFailurePercent?: unknown } | undefined)?.maxItemFailurePercent;
            const items = typeof pct === "number" ? `, at most ${pct}% of each user's items failed` : "";
            await info(`${label}: ${phase === "failed" ? "its failed gate" : "the gate"} will be checked${items} (last: ${olds.progress ?? "not looked at yet"})`);
            return { ...d, changes: true, stables: [] };
        }
        if (phase === "sent" && news.waitFor !== undefined) return { ...d, changes: true, stables: [] };
        // A deferred run whose time (and predecessors) have come: an update that sends it (preview says so).
        if (phase === "deferred" && !deferral(news)) {
            await info(`${label}: due; it will be sent`);
            return { ...d, changes: true, stables: [] };
        }
        return d;
    },

    async create(ctx, inputs) {
        const id = randomUUID();
        return { id, outs: await reconcile(ctx, id, inputs, undefined) };
    },

    async read(ctx, id, props) {
        forgetHeld(ctx, props);
        // A run is a record of an action performed; it exists as long as its target does.
        const kind = kindOf(props);
        if (props.batchName && !isUnknown(props.batchName)) {
            if (!(await batchNames(ctx, kind)).includes(props.batchName)) return {};
        } else if (props.migrationTag) {
            if (!(await findUserRecord(ctx, kind, props.migrationTag))) return {};
        }
        return { id, props, inputs: migrationRunModel.inputsOf(props) };
    },

    async update(ctx, id, olds, news) {
        return { outs: await reconcile(ctx, id, news, olds) };
    },

    async delete(ctx, _id, props) {
        forgetHeld(ctx, props);
        // Deleting a run performs nothing: what was migrated stays migrated.
    },
};

/** "(batch Wave 1, migrate, trigger 1)" */
function describe(v: { batchName?: unknown; migrationTag?: unknown; action?: unknown; trigger?: unknown }): string {
    const target = typeof v.batchName === "string" ? `batch ${v.batchName}` : `user ${String(v.migrationTag)}`;
    return `(${target}, ${String(v.action)}, trigger ${String(v.trigger)})`;
}

/**
 * Moves the run on from what the state holds (`prior`, none at create) for the declared inputs `v`:
 * send it when it is due (a new run, a new trigger, a deferred one whose time has come), judge its
 * gate while it is waiting or failed. A failed gate throws PartialFailure with the outputs, so the
 * engine keeps the run (and its send) in the state.
 */
async function reconcile(ctx: Context, id: string, v: MigrationRunInputs, prior: MigrationRunOutputs | undefined): Promise<MigrationRunOutputs> {
    const label = `MigrationRun ${describe(v)}`;
    const retrigger = !prior || prior.trigger !== v.trigger;
    const was: RunPhase = retrigger ? "deferred" : phaseOf(prior);
    let outs: MigrationRunOutputs;
    let sentNow = false;
    if (was === "deferred") {
        const wait = deferral(v);
        if (wait) {
            await info(`${label}: ${wait.message}; nothing sent`);
            return {
                ...v, phase: "deferred", answer: wait.message,
                ...(wait.until ? { deferredUntil: wait.until } : {}), ...(wait.waitingFor ? { waitingFor: wait.waitingFor } : {}),
            };
        }
        try {
            outs = { ...v, ...(await perform(ctx, v, naturalKey(migrationRunModel, v)!, label)), phase: "sent" };
        } catch (e) {
            if (!(e instanceof SentThenFailed)) throw e;
            throw new PartialFailure(`${label}: sent to Cloudiway at ${e.result.performedAt} (${e.result.answer}), but ${e.message}. ` +
                "The run is kept in the state as sent: the next up does not send it again", id, { ...v, ...e.result, phase: "sent" });
        }
        sentNow = true;
    } else {
        // Sent before: keep what the send answered and the last look; drop what no longer applies.
        const { deferredUntil: _d, waitingFor: _w, ...rest } = prior!;
        void _d; void _w;
        outs = { ...rest, ...v, phase: was };
        for (const k of INPUTS) if (v[k] === undefined) delete outs[k];
    }
    if (!v.waitFor) {
        if (outs.phase === "waiting" || outs.phase === "failed") outs.phase = "sent"; // the gate was removed
        return outs;
    }
    if (outs.phase === "done") return outs;
    // An unreadable send time shows no pass after the send: the gate stays shut (gates.ts).
    const sentAt = Date.parse(outs.performedAt ?? "");
    let j: Judgement;
    try {
        j = await judgeGate(ctx, kindOf(v), label, v.batchName ? { batchName: v.batchName } : { tags: [v.migrationTag!] }, v.waitFor, sentAt,
            ctx.settings.waitPollSeconds * 1000, { action: v.action, ...(outs.retried ? { started: outs.retried } : {}) });
    } catch (e) {
        // Sent by this call: the state must keep it as sent, whatever the look at its gate met.
        if (sentNow) throw new PartialFailure(`${label}: sent to Cloudiway at ${outs.performedAt} (${outs.answer}), but its gate could not be judged: ${(e as Error).message}. The run is kept in the state as sent; the next up judges it again`, id, outs);
        throw e;
    }
    outs = { ...outs, ...judged(j) };
    if (j.phase === "failed") throw new PartialFailure(`${j.reason}. The run stays sent: raise waitFor.maxFailed (or maxItemFailurePercent), or retry the failed users, and the next up judges it again`, id, outs);
    return outs;
}

function judged(j: Judgement): Pick<MigrationRunOutputs, "phase" | "progress" | "finalStatuses" | "failedUsers" | "items"> {
    return { phase: j.phase, progress: j.progress, finalStatuses: j.finalStatuses, failedUsers: j.failedUsers, ...(j.items ? { items: j.items } : {}) };
}

/** The engine holds this run as sent: its journal record (runJournal.ts) has served. */
function forgetHeld(ctx: Context, props: Partial<MigrationRunOutputs>): void {
    if (!ctx.runs || phaseOf(props) === "deferred") return; // a deferred run's record may be that of a killed send
    const key = naturalKey(migrationRunModel, props);
    if (key !== undefined) void ctx.runs(stackOf(props)).forget(key);
}

// ---------------------------------------------------------------- resource
/** A run this one waits for, given as data (e.g. read from another stack's outputs): its name, phase and progress. */
export interface AfterRunData {
    run: string; phase?: string; progress?: string;
    /** The trigger the phase is for (as the run's stack reported it), and the trigger declared for the run: when declaredTrigger is given, done needs both equal. */
    trigger?: string; declaredTrigger?: string;
}

export type MigrationRunArgs = Omit<ArgsOf<MigrationRunInputs>, "after"> & {
    /**
     * Runs whose `phase` must be `done` before this one is sent (wave 2 after wave 1's gate;
     * permissions after the mail passes). A MigrationRun is also ordered before this one (dependsOn).
     * An entry may instead be data, `{ run, phase?, progress? }` (an Input, e.g. a run of another
     * stack read through a StackReference): judged the same way, with no dependsOn. `dependsOn`
     * alone is Pulumi's meaning: order, not a gate.
     */
    after?: (MigrationRun | pulumi.Input<AfterRunData>)[];
};

export class MigrationRun extends ModelResource {
    constructor(name: string, args: MigrationRunArgs, opts?: pulumi.CustomResourceOptions) {
        const { after, ...rest } = args;
        const inputs = migrationRunModel.props(rest);
        let options = opts;
        if (after?.length) {
            const runs = after.filter((r): r is MigrationRun => pulumi.CustomResource.isInstance(r));
            // The gate as data: each predecessor's name, phase and progress; and the order of the local ones, as dependsOn.
            inputs.after = pulumi.all(after.map((r): pulumi.Output<AfterRun> => {
                const fields: pulumi.Output<AfterRunData> = pulumi.CustomResource.isInstance(r)
                    ? pulumi.all([(r as MigrationRun).urn, (r as MigrationRun).phase, (r as MigrationRun).progress])
                        .apply(([urn, phase, progress]) => ({ run: nameOfUrn(urn), phase, progress }))
                    : pulumi.output(r as pulumi.Input<AfterRunData>);
                return fields.apply((f: AfterRunData) => {
                    const a: AfterRun = { run: f.run };
                    for (const k of ["phase", "progress", "trigger", "declaredTrigger"] as const) if (f[k] !== undefined && f[k] !== null) a[k] = f[k];
                    return a;
                });
            }));
            if (runs.length) {
                const given = opts?.dependsOn;
                const dependsOn: pulumi.Input<pulumi.Input<pulumi.Resource>[]> = given === undefined ? runs
                    : pulumi.output(given as pulumi.Input<pulumi.Input<pulumi.Resource>[] | pulumi.Resource>).apply((d) => [...(Array.isArray(d) ? d : [d]), ...runs]) as pulumi.Input<pulumi.Input<pulumi.Resource>[]>;
                options = { ...opts, dependsOn };
            }
        }
        super("MigrationRun", name, inputs, options);
    }
}
export interface MigrationRun extends ResourceOutputs<MigrationRunOutputs> {}
