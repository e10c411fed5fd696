/**
 * Gates of MigrationRun (`waitFor`), judged like a reconciler: after its action is sent, every
 * `pulumi up` looks at the run's target once (or, with `blockMinutes`, waits up to that long for it
 * to settle) and says where the wave stands:
 *  - `waiting`: users of the target are still in a running status, or show no sign yet that the
 *    send reached them (and the deadline has not passed);
 *  - `done`: every user shows the send's result and none runs, and at most `maxFailed` (default 0)
 *    failed: ended badly (an error status, or stopped), or, with `maxItemFailurePercent`, failed
 *    more than that percent of the items its passes since the send read;
 *  - `failed`: more than `maxFailed` failed, or `timeoutMinutes` after the send users still run or
 *    show nothing of the send.
 * A wave of first passes lasts hours to days: no `up` holds a CI runner for it (blockMinutes 0, the
 * default). The deadline is counted from the send (`performedAt`), across ups and runners.
 *
 * What shows the send reached a user (the API dates nothing but history passes):
 *  - migrate, retry: a pass in the user's history (2.8) that started after the send (less
 *    PASS_CLOCK_SLACK_MS for the vendor's clock), or ended after it (a pass under way at the send,
 *    which the run found and did not send again). A user NOTSTARTED, or SUCCESS from an earlier
 *    pass, is not done; a pass whose date cannot be read shows nothing. A retry needs it only of
 *    the users it started. A user in an error status counts as failed whatever its dates.
 *  - audit: AUDIT_DONE (or AUDIT_ERROR); permissions: MAILPERMISSIONS_DONE (or _ERROR); stop: any
 *    status that is not running.
 * A run whose send time cannot be read shows nothing of any user: its gate never opens.
 */
import type { Context } from "../runtime/context";
import type { HistoryPass, Kind } from "../client/calls";
import { allUsers, usersInBatch } from "./lookups";
import { endedBadly, isUnderWay, statusName } from "../client/status";
import { info } from "../runtime/engineLog";
import { ItemCounts, addItems, itemFigure, itemsOf, overThreshold, passEndMs, passStartMs } from "./items";

export interface WaitFor { maxFailed?: number; timeoutMinutes?: number; blockMinutes?: number; maxItemFailurePercent?: number }

export interface Judgement {
    phase: "waiting" | "done" | "failed";
    /** Users of the target by status at the last look, e.g. { SUCCESS: 4, ONERROR: 2 }. */
    finalStatuses: Record<string, number>;
    /** Source emails of the users that failed (an ended-badly status, or items over the threshold), sorted. */
    failedUsers: string[];
    /** "4 of 6 done (SUCCESS 4, WORKING 2); 3 of 1200 items failed (0.25%)" */
    progress: string;
    /** Item counts of the target's passes since the send (migrate and retry runs). */
    items?: ItemCounts;
    /** Why the gate failed (phase failed), naming the users in a fixed order. */
    reason?: string;
}

export interface Observed {
    tag: string; email: string; status: string;
    /** Whether the user shows the send's result (see the top of this file); undefined: not asked. */
    shown?: boolean;
    /** Why it does not ("no pass since the send"). */
    missing?: string;
    /** Its passes since the send (migrate and retry runs, once it is not running). */
    items?: ItemCounts;
}

export type Target = { batchName?: string; tags?: string[] };
/** The run whose gate is judged: its action, and for a retry the tags it started (none recorded: judged by status only). */
export interface Sent { action: string; started?: string[] }

/** Slack for clocks when a pass's start (the vendor's clock) is compared with the send (ours). */
export const PASS_CLOCK_SLACK_MS = 5 * 60 * 1000;
const PASS_ACTIONS = new Set(["migrate", "retry"]);
const RESULT_STATUSES: Record<string, ReadonlySet<string>> = {
    audit: new Set(["AUDIT_DONE", "AUDIT_ERROR"]),
    permissions: new Set(["MAILPERMISSIONS_DONE", "MAILPERMISSIONS_ERROR"]),
};

/**
 * The target's users: a batch's members, or the given users (by tag). `fresh` asks the API; otherwise
 * the lists of this command are used (the read cache: one answer per list per `pulumi` command,
 * emptied by any write, so a look right after a send is fresh anyway).
 */
export async function observeTarget(ctx: Context, kind: Kind, target: Target, fresh = true): Promise<Observed[]> {
    let byTag: Map<string, { sourceEmail?: string; status?: string }>;
    let tags: string[];
    if (fresh) {
        const client = ctx.client();
        byTag = new Map((await client.getAllUsers(kind)).map((u) => [u.migrationTag.trim(), u]));
        tags = target.tags ?? (await client.getUsersInBatch(kind, target.batchName!)).map((t) => t.trim());
    } else {
        byTag = await allUsers(ctx, kind);
        tags = target.tags ?? (await usersInBatch(ctx, kind, target.batchName!));
    }
    return tags.map((tag) => {
        const u = byTag.get(tag);
        return { tag, email: u?.sourceEmail ?? tag, status: statusName(u?.status ?? "UNKNOWN") };
    }).sort((a, b) => (a.email < b.email ? -1 : a.email > b.email ? 1 : 0));
}

/** Each user's history (passes), a few at a time; `fresh` asks the API, otherwise this command's answers are shared. */
export async function histories(ctx: Context, kind: Kind, users: Observed[], fresh: boolean): Promise<Map<string, HistoryPass[]>> {
    const out = new Map<string, HistoryPass[]>();
    const read = (tag: string) => (fresh ? ctx.client().getMailHistory(kind, tag)
        : ctx.cache.get(`${kind}:history:${tag}`, () => ctx.client().getMailHistory(kind, tag), { share: true }));
    const queue = [...users];
    await Promise.all(Array.from({ length: Math.min(8, queue.length) }, async () => {
        for (let u = queue.shift(); u; u = queue.shift()) out.set(u.tag, await read(u.tag));
    }));
    return out;
}

/**
 * Adds to each user what shows the send reached it, and its items since the send (see the top of this
 * file). Without `passes` (users still run, so the gate waits anyway) no history is read: a user
 * NOTSTARTED is marked, the other settled ones are left unjudged (and no items are counted yet).
 */
export async function observeSent(ctx: Context, kind: Kind, users: Observed[], sent: Sent, sentAtMs: number, fresh: boolean, passes = true): Promise<Observed[]> {
    if (!PASS_ACTIONS.has(sent.action)) {
        const results = RESULT_STATUSES[sent.action];
        return users.map((u) => (!results || results.has(u.status) ? { ...u, shown: true } : { ...u, shown: false, missing: `no ${sent.action} result since the send` }));
    }
    const settled = users.filter((u) => !isUnderWay(u.status) && u.status !== "NOTSTARTED");
    const byTag = passes ? await histories(ctx, kind, settled, fresh) : undefined;
    return users.map((u) => {
        const needed = sent.action !== "retry" || (sent.started?.includes(u.tag) ?? false);
        if (!byTag && u.status !== "NOTSTARTED") return u;
        const history = byTag?.get(u.tag);
        if (!history) return needed ? { ...u, shown: false, missing: "no pass since the send" } : { ...u, shown: true };
        const since = history.filter((p) => passStartMs(p) >= sentAtMs - PASS_CLOCK_SLACK_MS || passEndMs(p) >= sentAtMs);
        const undated = history.filter((p) => Number.isNaN(passStartMs(p)) && Number.isNaN(passEndMs(p)));
        const items = itemsOf(since);
        if (since.length || !needed) return { ...u, shown: true, items };
        const missing = undated.length ? `no pass since the send whose date can be read (${JSON.stringify(undated[0].startDateTime)})` : "no pass since the send";
        return { ...u, shown: false, missing, items };
    });
}

const countBy = (xs: Observed[]) => xs.reduce<Record<string, number>>((m, x) => ((m[x.status] = (m[x.status] ?? 0) + 1), m), {});
const show = (c: Record<string, number>) => Object.entries(c).sort().map(([k, v]) => `${k} ${v}`).join(", ");
const listed = (xs: string[], max = 10) => xs.slice(0, max).join(", ") + (xs.length > max ? `, ... (${xs.length - max} more)` : "");
const byEmail = (a: Observed, b: Observed) => (a.email < b.email ? -1 : a.email > b.email ? 1 : 0);

/** One look at the target: where the gate stands now (no waiting). */
export function judgeOnce(users: Observed[], w: WaitFor, label: string, pastDeadline: boolean): Judgement {
    const counts = countBy(users);
    const running = users.filter((u) => isUnderWay(u.status));
    const settled = users.filter((u) => !isUnderWay(u.status));
    const badStatus = settled.filter((u) => endedBadly(u.status));
    const notStarted = settled.filter((u) => !endedBadly(u.status) && u.shown === false);
    const badItems = settled.filter((u) => !endedBadly(u.status) && u.shown !== false && u.items && overThreshold(u.items, w.maxItemFailurePercent));
    const failed = [...badStatus, ...badItems].sort(byEmail);
    const withItems = users.filter((u) => u.items);
    const items = withItems.length ? withItems.reduce((a, u) => addItems(a, u.items!), itemsOf([])) : undefined;
    const maxFailed = w.maxFailed ?? 0;
    const progress = `${users.length - running.length - notStarted.length} of ${users.length} done (${show(counts) || "no users"})`
        + (notStarted.length ? `, ${notStarted.length} with nothing since the send` : "") + (items ? `; ${itemFigure(items)}` : "");
    const base = { finalStatuses: counts, failedUsers: failed.map((u) => u.email), progress, ...(items ? { items } : {}) };
    if (!running.length && !notStarted.length) {
        if (failed.length > maxFailed) {
            const who = failed.map((u) => (endedBadly(u.status) ? `${u.email} (${u.status})` : `${u.email}: ${itemFigure(u.items!)}`));
            const over = badItems.length ? ` (${badItems.length} over waitFor.maxItemFailurePercent ${w.maxItemFailurePercent})` : "";
            return { ...base, phase: "failed", reason: `${label}: ${failed.length} user(s) ended badly${over}, more than maxFailed ${maxFailed}: ${listed(who, 50)}` };
        }
        return { ...base, phase: "done" };
    }
    if (pastDeadline) {
        const who = [...running.map((u) => `${u.email} (${u.status})`), ...notStarted.map((u) => `${u.email} (${u.status}, ${u.missing})`)];
        return { ...base, phase: "failed", reason: `${label}: ${running.length ? "still running" : "not done"} ${w.timeoutMinutes} minute(s) after it was sent (waitFor.timeoutMinutes): ${who.length} user(s) not done: ${listed(who)}` };
    }
    return { ...base, phase: "waiting" };
}

/**
 * Judges the gate of a run sent at `sentAtMs`: one look (using this command's lists), then, while
 * users still run and `blockMinutes` allows, a fresh look every `pollMs`. Progress goes to the
 * engine's output. The failed users are judged once the target has settled (so the message names
 * all of them), or at the deadline.
 */
export async function judgeGate(
    ctx: Context, kind: Kind, label: string, target: Target, w: WaitFor, sentAtMs: number, pollMs: number, sent: Sent = { action: "migrate" },
): Promise<Judgement> {
    if (Number.isNaN(sentAtMs)) {
        return { phase: "failed", finalStatuses: {}, failedUsers: [], progress: "send time unreadable",
            reason: `${label}: its send time (performedAt) cannot be read, so no pass can be shown to follow the send; the gate stays shut` };
    }
    const deadline = w.timeoutMinutes !== undefined ? sentAtMs + w.timeoutMinutes * 60_000 : Infinity;
    const blockUntil = Date.now() + (w.blockMinutes ?? 0) * 60_000;
    let last = "";
    for (let look = 0; ; look++) {
        const listed = await observeTarget(ctx, kind, target, look > 0);
        const pastDeadline = Date.now() >= deadline;
        // While users run (before the deadline) the gate waits whatever the histories say: one history call per user is saved for the look that judges.
        const users = await observeSent(ctx, kind, listed, sent, sentAtMs, look > 0, pastDeadline || !listed.some((u) => isUnderWay(u.status)));
        const j = judgeOnce(users, w, label, pastDeadline);
        const line = `${label}: ${j.progress}`;
        if (line !== last) { await info(line); last = line; }
        if (j.phase !== "waiting") return j;
        const next = Date.now() + pollMs;
        if (next > blockUntil) return j;
        await new Promise((r) => setTimeout(r, Math.max(0, Math.min(pollMs, deadline - Date.now()))));
    }
}

/** The users whose last pass failed more than `maxPercent` of the items it read (a retry starts them again), with their figure. */
export async function overItemThreshold(ctx: Context, kind: Kind, users: Observed[], maxPercent: number): Promise<Observed[]> {
    const settled = users.filter((u) => !isUnderWay(u.status) && u.status !== "NOTSTARTED" && !endedBadly(u.status));
    const passes = await histories(ctx, kind, settled, true);
    return settled.flatMap((u) => {
        const last = passes.get(u.tag)?.slice(-1) ?? [];
        const items = itemsOf(last);
        return overThreshold(items, maxPercent) ? [{ ...u, items }] : [];
    });
}
