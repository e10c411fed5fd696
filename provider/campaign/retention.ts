/**
 * The deletion policy (config.ts, DeletionPolicy): whether a user leaving the stack has something
 * in Cloudiway that deleting it would lose. In Cloudiway a deleted user loses its migration
 * history; made again it counts as a new user: everything is migrated again, a new license is used.
 * Asked at the moment of the deletion, of Cloudiway itself: the status (2.7) and the history (2.8)
 * are read fresh for each user, never from a list cached by the refresh or the preview (a user whose
 * first pass began since then is kept). The license comes from the vendor's list (getall, the only
 * call that tells it) and from the state: a pass or an audit, which is what uses a license, shows in
 * the fresh status and history anyway.
 */
import type { DeletionPolicy } from "../config";
import type { Context } from "../runtime/context";
import type { Kind } from "../client/calls";
import { findUserRecord } from "./lookups";
import { CloudiwayApiError } from "../client/errors";
import { warn } from "../runtime/engineLog";

export interface Holdings {
    sourceEmail: string;
    targetEmail: string;
    status: string;
    passes: number;
    licensed: boolean;
}

/** What the user holds now, or undefined when Cloudiway no longer has it. */
export async function holdingsOf(ctx: Context, kind: Kind, tag: string, licensedInState = false): Promise<Holdings | undefined> {
    const u = await findUserRecord(ctx, kind, tag);
    if (!u) return undefined;
    const client = ctx.client();
    let status: string;
    let passes: number;
    try {
        status = await client.getStatus(kind, tag);
        passes = (await client.getMailHistory(kind, tag)).length;
    } catch (e) {
        // Gone since the list was read: nothing to keep. Anything else: not known, so not deleted.
        if (e instanceof CloudiwayApiError && !(await client.getUser(kind, tag))) return undefined;
        throw e;
    }
    return { sourceEmail: u.sourceEmail, targetEmail: u.targetEmail, status, passes, licensed: u.licensed === true || licensedInState };
}

/** What a user has that deleting it would lose (from Cloudiway now, or from a preview's old state). */
export type Lossable = Pick<Holdings, "status" | "passes" | "licensed">;

/** A license, any pass, an audit done, any status but NOTSTARTED. */
export function hasSomethingToLose(h: Lossable): boolean {
    return h.licensed || h.passes > 0 || h.status !== "NOTSTARTED";
}

/** "2 passes, licensed, status SUCCESS" */
export function describeHoldings(h: Lossable): string {
    const parts: string[] = [];
    if (h.passes > 0) parts.push(`${h.passes} pass${h.passes === 1 ? "" : "es"}`);
    if (h.licensed) parts.push("licensed");
    if (h.status !== "NOTSTARTED") parts.push(`status ${h.status}`);
    return parts.join(", ") || "nothing";
}

export type Verdict = { keep: false; holdings?: Holdings } | { keep: true; holdings?: Holdings; why: string };

/** Whether the policy keeps this user in Cloudiway now. `retain` keeps without asking. */
export async function keepUser(ctx: Context, kind: Kind, tag: string, policy: DeletionPolicy, licensedInState = false): Promise<Verdict> {
    if (policy === "delete") return { keep: false };
    if (policy === "retain") return { keep: true, why: "deletionPolicy retain" };
    const h = await holdingsOf(ctx, kind, tag, licensedInState);
    if (!h || !hasSomethingToLose(h)) return { keep: false, holdings: h };
    return { keep: true, holdings: h, why: `deletionPolicy retainMigrated: ${describeHoldings(h)}` };
}

/** The warning in the engine's output for what a policy kept. */
export function announceKept(what: string): Promise<void> {
    return warn(what);
}
