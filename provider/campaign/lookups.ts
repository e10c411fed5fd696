/**
 * Reads shared by several resources, through the per-operation ReadCache so a
 * refresh of N users asks for each list once (getall, batch, getusersinbatch, settings).
 */
import * as pulumi from "@pulumi/pulumi";
import type { Context } from "../runtime/context";
import type { Kind, MailUserRecord } from "../client/calls";
import { connectorListKey } from "../runtime/readCache";
import { isUnknown } from "../runtime/model";
import { CloudiwayApiError } from "../client/errors";
import { VENDOR_MESSAGES } from "../client/retry";

/** A user as the client reads it (getall, or 2.3 by tag). */
export type UserRecord = MailUserRecord;

/** getall as read: the users, and whether the list is complete (no record set aside as odd). */
function userList(ctx: Context, kind: Kind): Promise<{ users: UserRecord[]; complete: boolean }> {
    return ctx.cache.get(`${kind}:getall-checked`, async () => {
        const { users, odd } = await ctx.client().getAllUsersChecked(kind);
        return { users, complete: odd.length === 0 };
    }, { share: true });
}

export function allUsers(ctx: Context, kind: Kind): Promise<Map<string, UserRecord>> {
    return ctx.cache.get(`${kind}:getall-by-tag`, async () => {
        const byTag = new Map<string, UserRecord>();
        for (const u of (await userList(ctx, kind)).users) if (u.migrationTag) byTag.set(u.migrationTag.trim(), u);
        return byTag;
    });
}

/**
 * Whether a failed call is the vendor refusing it (`hasError`), whatever its words, and not a
 * refusal that says it is temporary. Absence from a complete list plus such a refusal is the
 * evidence that an object is gone; the wording (VENDOR_MESSAGES.notFound) is only a hint.
 */
export function isVendorRefusal(e: unknown): boolean {
    return e instanceof CloudiwayApiError && !VENDOR_MESSAGES.temporary.test(e.vendorMessage ?? "");
}

/**
 * A user the vendor's list does not hold, asked for by its tag: its record, or undefined when it is
 * gone — the by-tag read says "not found" (in any wording we know), or refuses in words we do not
 * know while the list it is missing from is complete.
 */
async function userByTag(ctx: Context, kind: Kind, tag: string, listComplete: boolean): Promise<UserRecord | undefined> {
    try {
        return await ctx.client().getUser(kind, tag);
    } catch (e) {
        if (listComplete && isVendorRefusal(e)) return undefined;
        throw e;
    }
}

/** The user with this tag, with its status, or undefined when Cloudiway no longer has it. */
export async function findUserRecord(ctx: Context, kind: Kind, tag: string): Promise<UserRecord | undefined> {
    const users = await allUsers(ctx, kind);
    let record = users.get(tag);
    if (!record) {
        // getall is the vendor's list; a user missing from it is gone, but ask once by tag to be sure.
        const one = await userByTag(ctx, kind, tag, (await userList(ctx, kind)).complete);
        if (!one) return undefined;
        record = { ...one, migrationTag: tag };
    }
    if (!record.status) record = { ...record, status: await ctx.client().getStatus(kind, tag) };
    return record;
}

/**
 * After a call about this user was refused: whether the user is gone now, read fresh (not from the
 * operation's cached lists): missing from a complete getall, and refused or not found by tag.
 */
export async function goneNow(ctx: Context, kind: Kind, tag: string): Promise<boolean> {
    const { users, odd } = await ctx.client().getAllUsersChecked(kind);
    if (users.some((u) => u.migrationTag?.trim() === tag)) return false;
    return (await userByTag(ctx, kind, tag, odd.length === 0)) === undefined;
}

/**
 * Whether the user holds a license now, read fresh (never the operation's cached list): the by-tag
 * record when the vendor puts the flag in it, else getall read again. For a decision that depends on
 * the flag (a user licensed in the portal minutes ago is not deleted).
 */
export async function licensedNow(ctx: Context, kind: Kind, tag: string): Promise<boolean> {
    const one = await ctx.client().getUser(kind, tag);
    if (typeof one?.licensed === "boolean") return one.licensed;
    const { users } = await ctx.client().getAllUsersChecked(kind);
    return users.find((u) => u.migrationTag?.trim() === tag)?.licensed === true;
}

export function batchNames(ctx: Context, kind: Kind): Promise<string[]> {
    return ctx.cache.get(`${kind}:batch`, () => ctx.client().listBatches(kind), { share: true });
}

export function usersInBatch(ctx: Context, kind: Kind, batchName: string): Promise<string[]> {
    return ctx.cache.get(`${kind}:getusersinbatch:${batchName}`, async () =>
        (await ctx.client().getUsersInBatch(kind, batchName)).map((t: string) => t.trim()),
    { share: true });
}

/** Batch name -> tags, for every batch: where each user is. */
export async function membershipIndex(ctx: Context, kind: Kind): Promise<Map<string, string>> {
    return ctx.cache.get(`${kind}:membership-index`, async () => {
        const index = new Map<string, string>();
        for (const b of await batchNames(ctx, kind)) {
            let tags: string[];
            try {
                tags = await usersInBatch(ctx, kind, b);
            } catch (e) {
                // Refused for a batch the list held: gone since (absent from a fresh list), else not known.
                if (isVendorRefusal(e) && !(await ctx.client().listBatches(kind)).includes(b)) continue;
                throw e;
            }
            for (const tag of tags) index.set(tag, b);
        }
        return index;
    });
}

export function connectors(ctx: Context, kind: Kind, side: "source" | "target"): Promise<{ name: string; type: string }[]> {
    return ctx.cache.get(connectorListKey(kind, side), () =>
        side === "source" ? ctx.client().getSourceConnectors(kind) : ctx.client().getTargetConnectors(kind),
    { share: true });
}

/**
 * Connector names must be ones the API lists. Checked when the value is known and
 * the API can be asked; when it cannot (no credentials yet), create reports it.
 */
export async function connectorCheck(
    ctx: Context,
    kind: Kind,
    resource: string,
    names: { sourceConnectorName?: string; targetConnectorName?: string },
): Promise<pulumi.dynamic.CheckFailure[]> {
    const failures: pulumi.dynamic.CheckFailure[] = [];
    if (!ctx.settings.consumerKey || !ctx.settings.consumerSecret) return failures;
    for (const side of ["source", "target"] as const) {
        const prop = `${side}ConnectorName` as const;
        const name = names[prop];
        if (name === undefined || isUnknown(name)) continue;
        let list: { name: string; type: string }[];
        try {
            list = await connectors(ctx, kind, side);
        } catch {
            continue; // the API cannot be asked now; create will tell
        }
        if (!list.some((c) => c.name === name)) {
            const close = list.find((c) => editDistance(c.name.toLowerCase(), name.toLowerCase()) <= 2);
            failures.push({
                property: prop,
                reason:
                    `${resource}.${prop}: "${name}" is not a ${side} connector of this Cloudiway ${kind} account` +
                    (close ? ` (did you mean "${close.name}"?)` : `; known: ${list.map((c) => `"${c.name}"`).join(", ")}`),
            });
        }
    }
    return failures;
}

/** Levenshtein distance, for "did you mean" suggestions. */
export function editDistance(a: string, b: string): number {
    let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
    for (let i = 1; i <= a.length; i++) {
        const cur = [i];
        for (let j = 1; j <= b.length; j++) {
            cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
        }
        prev = cur;
    }
    return prev[b.length];
}
