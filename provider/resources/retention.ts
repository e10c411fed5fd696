/**
 * The deletion policy (config.ts, DeletionPolicy): whether a user leaving the stack has something
 * in Cloudiway that deleting it would lose. In Cloudiway a deleted user loses its migration
 * history; made again it counts as a new user: everything is migrated again, a new license is used.
 * Asked at the moment of the deletion, of Cloudiway itself (not of the state, which may be old).
 */
import type { DeletionPolicy } from "../config";
import type { Context, Kind } from "./common";
import { findUserRecord } from "./lookups";
import { warn } from "./engineLog";

export interface Holdings {
    sourceEmail: string;
    targetEmail: string;
    status: string;
    passes: number;
    licensed: boolean;
}

/** What the user holds now, or undefined when Cloudiway no longer has it. */
export async function holdingsOf(ctx: Context, kind: Kind, tag: string): Promise<Holdings | undefined> {
    const u = await findUserRecord(ctx, kind, tag);
    if (!u) return undefined;
    const status = u.status ?? "UNKNOWN";
    const passes = (await ctx.client().getMailHistory(kind, tag)).length;
    return { sourceEmail: u.sourceEmail, targetEmail: u.targetEmail, status, passes, licensed: u.licensed === true };
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
export async function keepUser(ctx: Context, kind: Kind, tag: string, policy: DeletionPolicy): Promise<Verdict> {
    if (policy === "delete") return { keep: false };
    if (policy === "retain") return { keep: true, why: "deletionPolicy retain" };
    const h = await holdingsOf(ctx, kind, tag);
    if (!h || !hasSomethingToLose(h)) return { keep: false, holdings: h };
    return { keep: true, holdings: h, why: `deletionPolicy retainMigrated: ${describeHoldings(h)}` };
}

/** The warning in the engine's output for what a policy kept. */
export function announceKept(what: string): Promise<void> {
    return warn(what);
}
