/**
 * Gates of MigrationRun (`waitFor`), judged like a reconciler: after its action is sent, every
 * `pulumi up` looks at the run's target once (or, with `blockMinutes`, waits up to that long for it
 * to settle) and says where the wave stands:
 *  - `waiting`: users of the target are still in a running status (and the deadline has not passed);
 *  - `done`: no user is running, and at most `maxFailed` (default 0) ended badly (an error status,
 *    or stopped);
 *  - `failed`: more than `maxFailed` ended badly, or `timeoutMinutes` after the send users still run.
 * A wave of first passes lasts hours to days: no `up` holds a CI runner for it (blockMinutes 0, the
 * default). The deadline is counted from the send (`performedAt`), across ups and runners.
 *
 * "Done" is: no user of the target in a running status. This assumes the service shows a started
 * user as SCHEDULED (or another running status) as soon as the start is acknowledged, as the emulator
 * does; a service that showed the old status for a while could open a gate early.
 */
import type { Context } from "../runtime/context";
import type { Kind } from "../client/calls";
import { allUsers, usersInBatch } from "./lookups";
import { endedBadly, isUnderWay, statusName } from "../client/status";
import { info } from "../runtime/engineLog";

export interface WaitFor { maxFailed?: number; timeoutMinutes?: number; blockMinutes?: number }

export interface Judgement {
    phase: "waiting" | "done" | "failed";
    /** Users of the target by status at the last look, e.g. { SUCCESS: 4, ONERROR: 2 }. */
    finalStatuses: Record<string, number>;
    /** Source emails of the users that ended badly, sorted. */
    failedUsers: string[];
    /** "4 of 6 done (SUCCESS 4, WORKING 2)" */
    progress: string;
    /** Why the gate failed (phase failed), naming the users in a fixed order. */
    reason?: string;
}

export interface Observed { tag: string; email: string; status: string }

export type Target = { batchName?: string; tags?: string[] };

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

const countBy = (xs: Observed[]) => xs.reduce<Record<string, number>>((m, x) => ((m[x.status] = (m[x.status] ?? 0) + 1), m), {});
const show = (c: Record<string, number>) => Object.entries(c).sort().map(([k, v]) => `${k} ${v}`).join(", ");
const listed = (xs: Observed[], max = 10) => xs.slice(0, max).map((u) => `${u.email} (${u.status})`).join(", ") + (xs.length > max ? `, ... (${xs.length - max} more)` : "");

/** One look at the target: where the gate stands now (no waiting). */
export function judgeOnce(users: Observed[], w: WaitFor, label: string, pastDeadline: boolean): Judgement {
    const counts = countBy(users);
    const running = users.filter((u) => isUnderWay(u.status));
    const failed = users.filter((u) => endedBadly(u.status));
    const maxFailed = w.maxFailed ?? 0;
    const progress = `${users.length - running.length} of ${users.length} done (${show(counts) || "no users"})`;
    const base = { finalStatuses: counts, failedUsers: failed.map((u) => u.email), progress };
    if (!running.length) {
        if (failed.length > maxFailed) {
            return { ...base, phase: "failed", reason: `${label}: ${failed.length} user(s) ended badly, more than maxFailed ${maxFailed}: ${listed(failed, 50)}` };
        }
        return { ...base, phase: "done" };
    }
    if (pastDeadline) {
        return { ...base, phase: "failed", reason: `${label}: still running ${w.timeoutMinutes} minute(s) after it was sent (waitFor.timeoutMinutes): ${running.length} user(s) not done: ${listed(running)}` };
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
    ctx: Context, kind: Kind, label: string, target: Target, w: WaitFor, sentAtMs: number, pollMs: number,
): Promise<Judgement> {
    const deadline = w.timeoutMinutes !== undefined ? sentAtMs + w.timeoutMinutes * 60_000 : Infinity;
    const blockUntil = Date.now() + (w.blockMinutes ?? 0) * 60_000;
    let last = "";
    for (let look = 0; ; look++) {
        const users = await observeTarget(ctx, kind, target, look > 0);
        const j = judgeOnce(users, w, label, Date.now() >= deadline);
        const line = `${label}: ${j.progress}`;
        if (line !== last) { await info(line); last = line; }
        if (j.phase !== "waiting") return j;
        const next = Date.now() + pollMs;
        if (next > blockUntil) return j;
        await new Promise((r) => setTimeout(r, Math.max(0, Math.min(pollMs, deadline - Date.now()))));
    }
}
