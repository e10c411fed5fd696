/**
 * EMULATOR ONLY (POST /_emulator/item-failures): how many items of each kind a user's next pass
 * fails, so that a pass can end SUCCESS yet leave mails behind, as real passes do (2.8's
 * msgFailure, calFailure, conFailure). Optionally how many it reads of that kind. Taken by the
 * pass that ends next (SUCCESS or ONERROR) for the user, by migration tag first, then source email.
 */
import type { HistoryPass, ItemFailure, ItemFailureTables, ItemPlan, Kind, State, User } from "./types";
import type { UndoLog } from "./undo";
import { ControlError } from "./faults";

/** POST /_emulator/item-failures's body: a number is the failures alone; null clears the user. */
export interface ItemFailuresRequest { kind?: Kind; users: Record<string, Partial<Record<keyof ItemPlan, number | ItemFailure>> | null> }

const ITEM_KINDS = { mails: "msg", calendars: "cal", contacts: "con" } as const;
const count = (v: unknown) => typeof v === "number" && Number.isInteger(v) && v >= 0;
const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === "object" && !Array.isArray(v);

function tables(state: State): ItemFailureTables {
    if (!state.itemFailures) state.itemFailures = { mail: Object.create(null), archive: Object.create(null) };
    return state.itemFailures;
}

/** The plans not taken yet, per kind, by the key they were set with. */
export function itemFailures(state: State): ItemFailureTables {
    return tables(state);
}

/** Checks and sets (or, with null, clears) the plans of a request. */
export function setItemFailures(state: State, body: unknown): ItemFailureTables {
    const usage = `item-failures: expected {"kind"?: "mail" | "archive", "users": {"<sourceEmail or migrationTag>": {"mails"?: n | {"failure": n, "read"?: n}, "calendars"?: ..., "contacts"?: ...} | null}}`;
    if (!isObject(body) || !isObject(body.users)) throw new ControlError(usage);
    const kind = body.kind ?? "mail";
    if (kind !== "mail" && kind !== "archive") throw new ControlError(`item-failures: kind must be "mail" or "archive"`);
    const next: [string, ItemPlan | null][] = [];
    for (const [who, plan] of Object.entries(body.users)) {
        const k = who.trim().toLowerCase();
        if (!k) throw new ControlError("item-failures: a user key must be a source email or a migration tag");
        if (plan === null) { next.push([k, null]); continue; }
        if (!isObject(plan)) throw new ControlError(`item-failures: '${who}': ${usage}`);
        const out: ItemPlan = {};
        for (const [name, v] of Object.entries(plan)) {
            if (!(name in ITEM_KINDS)) throw new ControlError(`item-failures: '${who}': unknown kind of item '${name}' (mails, calendars, contacts)`);
            const f = typeof v === "number" ? { failure: v } : isObject(v) ? v : undefined;
            if (!f || !count(f.failure) || (f.read !== undefined && (!count(f.read) || (f.read as number) < (f.failure as number)))
                || Object.keys(f).some((x) => x !== "failure" && x !== "read")) {
                throw new ControlError(`item-failures: '${who}'.${name} must be a whole number of failures, or {"failure": n, "read"?: m} with m >= n`);
            }
            out[name as keyof ItemPlan] = { failure: f.failure as number, ...(f.read !== undefined ? { read: f.read as number } : {}) };
        }
        next.push([k, out]);
    }
    const table = tables(state)[kind];
    for (const [k, plan] of next) {
        if (plan === null) delete table[k];
        else table[k] = plan;
    }
    return tables(state);
}

/** Applies the user's plan, if any, to the pass it is recording (and takes it; undone with the write). */
export function applyItemFailures(state: State, f: Kind, u: User, pass: HistoryPass, undo: UndoLog): HistoryPass {
    const table = state.itemFailures?.[f];
    if (!table) return pass;
    for (const k of [u.migrationTag.toLowerCase(), u.sourceEmail.trim().toLowerCase()]) {
        const plan = table[k];
        if (plan === undefined) continue;
        undo.push(() => { table[k] = plan; });
        delete table[k];
        const p = { ...pass } as HistoryPass & Record<string, number>;
        for (const [name, prefix] of Object.entries(ITEM_KINDS)) {
            const want = plan[name as keyof ItemPlan];
            if (!want) continue;
            const read = want.read ?? p[`${prefix}Read`];
            const failure = Math.min(want.failure, read);
            if (want.read !== undefined) p[`${prefix}Total`] = read;
            p[`${prefix}Read`] = read;
            p[`${prefix}Failure`] = failure;
            p[`${prefix}Success`] = read - failure;
        }
        return p;
    }
    return pass;
}
