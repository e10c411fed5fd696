/**
 * Gates of MigrationRun (`waitFor`): after its action is sent, a run waits until every user of its
 * target has left the running statuses, logging progress through the engine, and fails when more
 * than `maxFailed` ended badly (an error status, or stopped) or when the time is up.
 * Polls read the lists fresh (not the operation's read cache): the statuses change while we wait.
 * "Done" is: no user of the target in a running status. This assumes the service shows a started
 * user as SCHEDULED (or another running status) as soon as the start is acknowledged, as the emulator
 * does; a service that showed the old status for a while could open a gate early.
 */
import { Context, Kind } from "./common";
import { endedBadly, isUnderWay, statusName } from "../client/status";
import { info } from "./engineLog";

export interface WaitFor { timeoutMinutes: number; maxFailed?: number }

export interface GateResult {
    /** Users of the target by final status, e.g. { SUCCESS: 4, ONERROR: 2 }. */
    finalStatuses: Record<string, number>;
    /** Source emails of the users that ended badly. */
    failedUsers: string[];
}

/** A gate that did not open: the action was performed (its journal entry stays), the run failed. */
export class GateFailure extends Error {
    constructor(message: string, readonly outs: Record<string, unknown>) {
        super(message);
        this.name = "GateFailure";
    }
}

export interface Observed { tag: string; email: string; status: string }

/** The target's users now, read fresh: a batch's members, or the given users (by tag). */
export async function observeTarget(ctx: Context, kind: Kind, target: { batchName?: string; tags?: string[] }): Promise<Observed[]> {
    const client = ctx.client();
    const all = await client.getAllUsers(kind);
    const byTag = new Map(all.map((u) => [u.migrationTag.trim(), u]));
    const tags = target.tags ?? (await client.getUsersInBatch(kind, target.batchName!)).map((t) => t.trim());
    return tags.map((tag) => {
        const u = byTag.get(tag);
        return { tag, email: u?.sourceEmail ?? tag, status: statusName(u?.status ?? "UNKNOWN") };
    });
}

const countBy = (xs: Observed[]) => xs.reduce<Record<string, number>>((m, x) => ((m[x.status] = (m[x.status] ?? 0) + 1), m), {});
const show = (c: Record<string, number>) => Object.entries(c).sort().map(([k, v]) => `${k} ${v}`).join(", ");

/**
 * Waits for the target. `label` names the run in the messages; `pollMs` is how often it looks
 * (and the least time between two progress lines).
 */
export async function waitForTarget(
    ctx: Context, kind: Kind, label: string, target: { batchName?: string; tags?: string[] }, w: WaitFor, pollMs: number,
    outs: Record<string, unknown>,
): Promise<GateResult> {
    const deadline = Date.now() + w.timeoutMinutes * 60_000;
    const maxFailed = w.maxFailed ?? 0;
    let last = "";
    for (;;) {
        const users = await observeTarget(ctx, kind, target);
        const counts = countBy(users);
        const running = users.filter((u) => isUnderWay(u.status));
        const line = `${label}: ${users.length - running.length} of ${users.length} done (${show(counts)})`;
        if (line !== last) { await info(line); last = line; }
        if (!running.length) {
            const failed = users.filter((u) => endedBadly(u.status));
            const result: GateResult = { finalStatuses: counts, failedUsers: failed.map((u) => u.email).sort() };
            if (failed.length > maxFailed) {
                throw new GateFailure(`${label}: ${failed.length} user(s) ended badly, more than maxFailed ${maxFailed}: ` +
                    failed.map((u) => `${u.email} (${u.status})`).join(", "), { ...outs, ...result });
            }
            return result;
        }
        if (Date.now() + pollMs > deadline) {
            throw new GateFailure(`${label}: still running after ${w.timeoutMinutes} minute(s) (waitFor.timeoutMinutes): ` +
                `${running.length} user(s) not done: ${running.slice(0, 10).map((u) => `${u.email} (${u.status})`).join(", ")}`,
                { ...outs, finalStatuses: counts, failedUsers: [] });
        }
        await new Promise((r) => setTimeout(r, pollMs));
    }
}
