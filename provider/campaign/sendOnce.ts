/**
 * Send-once: how a MigrationRun's action reaches Cloudiway at most once per (stack, target, action,
 * trigger), on any runner, failing closed (see `perform`); and the sends themselves, one per action.
 * resources/migrationRun.ts moves a run on (schedule.ts: when it is due); this file decides whether it may be sent and sends it.
 */
import { Context } from "../runtime/context";
import { Kind, kindOf } from "../client/calls";
import { findUserRecord, usersInBatch } from "./lookups";
import { PASS_ERRORS, UNDER_WAY, statusName } from "../client/status";
import { observeTarget, overItemThreshold } from "./gates";
import { itemFigure } from "./items";
import { CloudiwayApiError, CloudiwayConflictError, CloudiwayError } from "../client/errors";
import { waitOut } from "../client/retry";
import { stackOf } from "../runtime/model";
import { operatorVerdict, RunRecord, RunRecordUnreadable } from "../runtime/runJournal";

export const MIGRATION_ACTIONS = ["migrate", "audit", "stop", "permissions", "retry"] as const;
export type MigrationAction = (typeof MIGRATION_ACTIONS)[number];

/** What a send needs of a run: its target, action and trigger (and a retry's items threshold). */
export interface RunSpec {
    batchName?: string;
    migrationTag?: string;
    action: MigrationAction;
    trigger: string;
    kind?: Kind;
    waitFor?: { maxItemFailurePercent?: number };
}

/** Slack for clocks when a pass's start (the vendor's clock) is compared with our intent (ours). */
const CLOCK_SLACK_MS = 5 * 60 * 1000;

export type RunResult = { performedAt: string; answer: string; started?: number; retried?: string[] };

/**
 * The vendor accepted the action, then something failed (its record could not be written): the run
 * was sent. reconcile turns it into a PartialFailure, so the engine keeps the run as sent.
 */
export class SentThenFailed extends Error {
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
 * `key` names the run's records: its natural key (its model's journal key: target, action, trigger).
 */
export async function perform(ctx: Context, v: RunSpec, key: string, label: string): Promise<RunResult> {
    const kind = kindOf(v);
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
async function seenByVendor(ctx: Context, kind: Kind, v: RunSpec, since?: number): Promise<{ seen?: string; conclusive: boolean }> {
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

async function send(ctx: Context, kind: Kind, v: RunSpec): Promise<RunResult> {
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
