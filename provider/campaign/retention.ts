/**
 * The deletion policy (config.ts, DeletionPolicy): whether a user leaving the stack has something
 * in Cloudiway that deleting it would lose. In Cloudiway a deleted user loses its migration
 * history; made again it counts as a new user: everything is migrated again, a new license is used.
 * Asked at the moment of the deletion, of Cloudiway itself: the status (2.7) and the history (2.8)
 * are read fresh for each user, never from a list cached by the refresh or the preview (a user whose
 * first pass began since then is kept). The license comes from the vendor's list (getall, the only
 * call that tells it) and from the state: a pass or an audit, which is what uses a license, shows in
 * the fresh status and history anyway. When nothing but the license decides, the flag is read fresh
 * as well (licensedNow): a user licensed in the portal since the list was read is kept.
 */
import type { DeletionPolicy } from "../config";
import type { Context } from "../runtime/context";
import type { Kind } from "../client/calls";
import { findUserRecord, goneNow, licensedNow } from "./lookups";
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
    let licensed = u.licensed === true || licensedInState;
    try {
        status = await client.getStatus(kind, tag);
        passes = (await client.getMailHistory(kind, tag)).length;
        // Nothing else to lose: the verdict hangs on the license, so it is read fresh too (not the cached list).
        if (!licensed && passes === 0 && status === "NOTSTARTED") licensed = await licensedNow(ctx, kind, tag);
    } catch (e) {
        // Gone since the list was read (by the evidence, not the words): nothing to keep. Anything else:
        // not known, so not deleted.
        if (e instanceof CloudiwayApiError && (await goneNow(ctx, kind, tag))) return undefined;
        throw e;
    }
    return { sourceEmail: u.sourceEmail, targetEmail: u.targetEmail, status, passes, licensed };
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

/**
 * The verdicts the users' own resources reached in this operation (one provider process serves one
 * engine operation): a membership or a user kept by its own deletion policy. MailBatch.delete, which
 * runs after the memberships that hang on the batch, honours them instead of judging those users
 * again under the stack's default: one verdict per user, whatever resource asks.
 */
const keptHere = new Map<string, string>();
const verdictKey = (ctx: Context, kind: Kind, tag: string) => `${ctx.settings.apiUrl ?? ""}|${kind}|${tag}`;

/** Records that a user's own resource kept it, and why ("BatchMembership: deletionPolicy retain"). */
export function noteKept(ctx: Context, kind: Kind, tag: string, why: string): void {
    keptHere.set(verdictKey(ctx, kind, tag), why);
}

/** Why a user's own resource kept it in this operation, if it did. */
export function keptByOwnPolicy(ctx: Context, kind: Kind, tag: string): string | undefined {
    return keptHere.get(verdictKey(ctx, kind, tag));
}

/** The warning in the engine's output for what a policy kept. */
export function announceKept(what: string): Promise<void> {
    return warn(what);
}
