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
import { batchNameField, kindField, triggerField } from "../runtime/fields";
import { Kind, kindOf } from "../client/calls";
import { batchNames, findUserRecord, usersInBatch } from "../campaign/lookups";
import { PASS_ERRORS, UNDER_WAY, statusName } from "../client/status";
import { info } from "../runtime/engineLog";
import { Judgement, judgeGate, observeTarget, overItemThreshold } from "../campaign/gates";
import { itemFigure } from "../campaign/items";
import { CloudiwayApiError, CloudiwayConflictError, CloudiwayError } from "../client/errors";
import { waitOut } from "../client/retry";
import { naturalKey } from "../runtime/journal";
import { operatorVerdict, RunRecord, RunRecordUnreadable } from "../campaign/runJournal";

// ---------------------------------------------------------------- schema
export const MIGRATION_ACTIONS = ["migrate", "audit", "stop", "permissions", "retry"] as const;
export type MigrationAction = (typeof MIGRATION_ACTIONS)[number];
export const RUN_PHASES = ["deferred", "sent", "waiting", "done", "failed"] as const;
export type RunPhase = (typeof RUN_PHASES)[number];

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
    stackScoped: true,
});
export const migrationRunSchema = migrationRunModel.schema;
export type MigrationRunInputs = InputsOf<typeof migrationRunModel>;
export type AfterRun = NonNullable<MigrationRunInputs["after"]>[number];
export type MigrationRunOutputs = OutputsOf<typeof migrationRunModel>;
const INPUTS = migrationRunModel.inputKeys;

/** The phase of a run as the state holds it; states written before phases are read by their fields. */
export function phaseOf(o: Partial<MigrationRunOutputs>): RunPhase {
    if (o.phase && (RUN_PHASES as readonly string[]).includes(o.phase)) return o.phase;
    if (o.deferredUntil !== undefined || !o.performedAt) return "deferred";
    // A gate that failed never reached the state before phases: a recorded gated run had opened.
    return o.waitFor ? "done" : "sent";
}

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

/** Slack for clocks when a pass's start (the vendor's clock) is compared with our intent (ours). */
const CLOCK_SLACK_MS = 5 * 60 * 1000;

type RunResult = { performedAt: string; answer: string; started?: number; retried?: string[] };

/** "(batch Wave 1, migrate, trigger 1)" */
function describe(v: { batchName?: unknown; migrationTag?: unknown; action?: unknown; trigger?: unknown }): string {
    const target = typeof v.batchName === "string" ? `batch ${v.batchName}` : `user ${String(v.migrationTag)}`;
    return `(${target}, ${String(v.action)}, trigger ${String(v.trigger)})`;
}

/**
 * Why the run may not be sent now: its `notBefore` has not come, or a run of its `after` is not
 * done. Undefined when it may be sent (or, in preview, when that is not known yet).
 */
function deferral(v: Partial<Record<keyof MigrationRunInputs, unknown>>): { message: string; until?: string; waitingFor?: string[] } | undefined {
    if (typeof v.notBefore === "string" && !isUnknown(v.notBefore) && Date.parse(v.notBefore) > Date.now()) {
        return { message: `deferred until ${v.notBefore}`, until: v.notBefore };
    }
    if (Array.isArray(v.after)) {
        const pending = (v.after as AfterRun[]).flatMap((a) => { const why = afterPending(a); return why ? [{ run: a.run, why }] : []; });
        if (pending.length) {
            return {
                message: pending.map((a) => `waiting for ${a.run}: ${a.why}`).join("; "),
                waitingFor: pending.map((a) => a.run),
            };
        }
    }
    return undefined;
}

/**
 * Whether an update from `olds` (the state's outputs) to `news` (planned inputs, unknowns allowed) may
 * send the action: a new trigger, or a deferred run whose time and predecessors have come (or are not
 * known yet, during preview). A waiting or failed gate's update only looks. For cost estimates.
 */
export function updateMaySend(olds: Partial<MigrationRunOutputs>, news: Partial<Record<keyof MigrationRunInputs, unknown>>): boolean {
    if (olds.trigger !== news.trigger) return true;
    return phaseOf(olds) === "deferred" && !deferral(news);
}

/**
 * Why a run of `after` is not done (undefined: it is). Done is phase `done`, and, when a trigger is
 * declared for it (a run of another stack: the plan's trigger), for that trigger: a `done` of an
 * earlier pass, or a report without a trigger, is not done. E.g. "4 of 6 done (SUCCESS 4, WORKING 2)".
 */
export function afterPending(a: AfterRun): string | undefined {
    if (a.declaredTrigger !== undefined && a.phase !== undefined) {
        if (a.trigger === undefined) {
            return `its stack reported phase ${a.phase} with no trigger (an export of an older version), so it does not show the pass of trigger "${a.declaredTrigger}"; run that stack's up with this version first`;
        }
        if (a.trigger !== a.declaredTrigger) {
            return `its stack reported phase ${a.phase} for trigger "${a.trigger}", not for the declared trigger "${a.declaredTrigger}" (that pass is not recorded there yet)`;
        }
    }
    switch (a.phase) {
        case "done": return undefined;
        case "waiting": return a.progress ?? "not looked at yet";
        case "failed": return `its gate failed (${a.progress ?? "no look recorded"})`;
        case "sent": return "sent without waitFor, so it is never done; give it waitFor";
        case undefined: return "not recorded yet";
        default: return a.phase;
    }
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
            outs = { ...v, ...(await perform(ctx, v, label)), phase: "sent" };
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
    const key = naturalKey("MigrationRun", props);
    if (key !== undefined) void ctx.runs(stackOf(props)).forget(key);
}

/**
 * The vendor accepted the action, then something failed (its record could not be written): the run
 * was sent. reconcile turns it into a PartialFailure, so the engine keeps the run as sent.
 */
class SentThenFailed extends Error {
    constructor(readonly result: RunResult, why: string) { super(why); this.name = "SentThenFailed"; }
}

/** A refusal before anything was sent: what could not be read or done, and how to go on. */
function notSent(label: string, why: string, record?: { name: string; where: string; action: string }): Error {
    const how = record
        ? ` The record is left as it is. Check whether Cloudiway received this ${record.action} (its portal, or the users' statuses and pass history); ` +
          `if it did, run up again with CLOUDIWAY_RUN_RECORDS=${record.name}=sent; if it did not, with CLOUDIWAY_RUN_RECORDS=${record.name}=unsent ` +
          `(records under ${record.where}).`
        : " Fix what is named and run up again.";
    return new Error(`${label}: nothing was sent: ${why}.${how}`);
}

const operatorAnswer = (): RunResult => ({ performedAt: new Date().toISOString(), answer: "marked as sent by the operator (CLOUDIWAY_RUN_RECORDS)" });

/**
 * Sends the action at most once per (stack, target, action, trigger), on any runner:
 *  1. the run journal (runJournal.ts, kept in the stack's own store and on this machine): a send
 *     that got an answer is not sent again (its answer is returned); one cut off between sending and
 *     the answer counts as sent when the vendor shows it (a user of the target running the action,
 *     or a pass that started after the intent), is sent again only when the vendor's facts show it
 *     never arrived (a migrate whose users had no pass since), and is otherwise refused until the
 *     operator says (CLOUDIWAY_RUN_RECORDS);
 *  2. before any first send, Cloudiway itself: while the same action is under way for a user of the
 *     target, it is not sent again.
 * It fails closed: evidence that cannot be read refuses the send ("nothing was sent", and how to go
 * on); after the vendor accepted the action, a failure throws SentThenFailed (the run was sent).
 */
async function perform(ctx: Context, v: MigrationRunInputs, label: string): Promise<RunResult> {
    const kind = kindOf(v);
    const key = naturalKey("MigrationRun", v)!;
    const journal = ctx.runs?.(stackOf(v));
    const record = journal && { name: journal.recordName(key), where: journal.where, action: v.action };
    let prior: RunRecord | undefined;
    try {
        prior = await journal?.begin(key);
    } catch (e) {
        const verdict = e instanceof RunRecordUnreadable ? operatorVerdict(e.record) : undefined;
        if (!journal || !verdict) throw notSent(label, (e as Error).message, e instanceof RunRecordUnreadable ? record : undefined);
        try { prior = await journal.settle(key, verdict, operatorAnswer()); } catch (w) { throw notSent(label, (w as Error).message); }
        if (verdict === "unsent") prior = undefined; // the operator's fresh intent is this attempt's
    }
    if (journal && prior && !prior.outs) {
        // An attempt cut off between its send and its answer, unless the operator said what happened.
        const verdict = operatorVerdict(record!.name);
        if (verdict) {
            try { prior = await journal.settle(key, verdict, operatorAnswer()); } catch (w) { throw notSent(label, (w as Error).message); }
            if (verdict === "unsent") prior = undefined;
        }
    }
    const earlier = prior?.outs;
    if (earlier && typeof earlier.performedAt === "string" && earlier.performedAt && typeof earlier.answer === "string") {
        return {
            performedAt: earlier.performedAt, answer: earlier.answer, ...(typeof earlier.started === "number" ? { started: earlier.started } : {}),
            ...(Array.isArray(earlier.retried) ? { retried: earlier.retried.map(String) } : {}),
        };
    }
    const startedAt = prior?.startedAt ?? new Date().toISOString();
    try {
        if (v.action === "retry" && prior) {
            // A retry starts users in error (or over the items threshold): one cut off may have started some whose new pass ended so again.
            throw notSent(label, `an earlier retry (${prior.startedAt}) was cut off before its answer; the users it started may have ended in error again, so Cloudiway's facts cannot tell`, record);
        }
        if (v.action !== "retry") {
            const since = prior ? Date.parse(prior.startedAt) : undefined;
            const facts = await seenByVendor(ctx, kind, v, since);
            if (facts.seen) {
                const r = { performedAt: prior?.startedAt ?? new Date().toISOString(), answer: `not sent again: ${facts.seen}` };
                await journal?.answered(key, startedAt, r);
                return r;
            }
            if (prior && !facts.conclusive) {
                throw notSent(label, `an earlier attempt (${prior.startedAt}) was cut off before its answer, and Cloudiway's facts cannot tell ` +
                    `whether it arrived (nothing of ${v.action} is under way now)`, record);
            }
        }
    } catch (e) {
        if (!prior) await journal?.refused(key, undefined).catch(() => undefined); // this attempt's intent goes: nothing was sent
        throw /nothing was sent/.test((e as Error).message) ? e : notSent(label, (e as Error).message);
    }
    let r: RunResult;
    try {
        r = await send(ctx, kind, v);
    } catch (e) {
        // Refused outright: nothing happened, the intent goes. An unknown outcome keeps it (the vendor decides next time).
        if (e instanceof CloudiwayApiError || !(e instanceof CloudiwayError)) await journal?.refused(key, prior).catch(() => undefined);
        throw e;
    }
    try {
        await journal?.answered(key, startedAt, r);
    } catch (e) {
        throw new SentThenFailed(r, `its record could not be written after several tries (${(e as Error).message})`);
    }
    return r;
}

/**
 * What shows that the action already reached Cloudiway (see perform): `seen` says what, and
 * `conclusive` whether, when nothing shows, the facts prove it never arrived (a migrate of users
 * whose pass history has no pass since the attempt; an audit, stop or permissions leaves no dated trace).
 */
async function seenByVendor(ctx: Context, kind: Kind, v: MigrationRunInputs, since?: number): Promise<{ seen?: string; conclusive: boolean }> {
    const tags = v.batchName ? await usersInBatch(ctx, kind, v.batchName) : v.migrationTag ? [v.migrationTag] : [];
    const running = UNDER_WAY[v.action === "retry" ? "migrate" : v.action];
    const underWay: string[] = [];
    for (const tag of tags) {
        const u = await findUserRecord(ctx, kind, tag);
        if (u?.status && running.has(statusName(u.status))) underWay.push(`${u.sourceEmail} ${statusName(u.status)}`);
    }
    underWay.sort();
    if (underWay.length) return { conclusive: true, seen: `${v.action} is under way (${underWay.length} of ${tags.length}: ${underWay.slice(0, 3).join(", ")}${underWay.length > 3 ? ", ..." : ""})` };
    if (since !== undefined && v.action === "migrate") {
        for (const tag of tags) {
            const passes = await ctx.client().getMailHistory(kind, tag);
            const started = passes.find((p) => Date.parse(p.startIso) >= since - CLOCK_SLACK_MS);
            if (started) return { conclusive: true, seen: `a pass started at ${started.startIso} after the interrupted attempt of ${new Date(since).toISOString()}` };
        }
        return { conclusive: tags.length > 0 };
    }
    return { conclusive: since === undefined };
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
            case "retry": return retryFailed(ctx, kind, v.batchName, v.waitFor?.maxItemFailurePercent);
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
 * error status (PASS_ERRORS in client/status.ts) and, with `waitFor.maxItemFailurePercent`, those
 * whose last pass failed more than that percent of its items; users that succeeded or never started
 * are not touched. Idempotent by construction: a second attempt finds the started users no longer
 * in error (and their new pass under way).
 */
async function retryFailed(ctx: Context, kind: Kind, batchName: string, maxItemFailurePercent?: number): Promise<RunResult> {
    const users = await observeTarget(ctx, kind, { batchName });
    const inError = users.filter((u) => PASS_ERRORS.has(u.status));
    const onItems = maxItemFailurePercent === undefined ? [] : await overItemThreshold(ctx, kind, users, maxItemFailurePercent);
    const failed = [...inError, ...onItems].sort((a, b) => (a.email < b.email ? -1 : a.email > b.email ? 1 : 0));
    for (const u of failed) await ctx.client().startUser(kind, u.tag);
    const who = failed.map((u) => (u.items ? `${u.email} (${itemFigure(u.items)})` : u.email));
    return {
        performedAt: new Date().toISOString(), started: failed.length, retried: failed.map((u) => u.tag),
        answer: failed.length ? `started ${failed.length} user(s) in error again: ${who.join(", ")}`
            : `no user of the batch is in an error status${maxItemFailurePercent === undefined ? "" : ` or over ${maxItemFailurePercent}% of items failed`}`,
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
                        .apply(([urn, phase, progress]) => ({ run: urn.split("::").pop() ?? urn, phase, progress }))
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
