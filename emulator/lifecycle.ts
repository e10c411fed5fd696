/**
 * The simulated migration of a user: the steps of a pass, of an audit, of a stop and of a
 * permissions run, and the history pass a migration pass leaves (2.8's fields). No state here:
 * the store keeps each user's queue of steps and takes one per lifecycle tick.
 */
import { PassEnd, Status } from "./statuses";

export const PERMISSION_STEPS: readonly Status[] = ["MAILPERMISSIONS_SCHEDULED", "MAILPERMISSIONS_WORKING", "MAILPERMISSIONS_DONE"];
export const AUDIT_STEPS: readonly Status[] = ["AUDIT_WORKING", "AUDIT_DONE"];
export const STOP_STEPS: readonly Status[] = ["STOPPING", "STOP"];

/** A pass's length by default: SCHEDULED at the call, WORKING after one tick, the end after two. */
export const DEFAULT_PASS_STEPS = 2;
export const MAX_PASS_STEPS = 1000;

/**
 * The statuses of one migration pass of `steps` ticks: SCHEDULED (taken at the call), WORKING
 * (steps - 1 times), then `end`. The default (2, SUCCESS) is SCHEDULED, WORKING, SUCCESS.
 */
export function passSteps(end: PassEnd, steps: number = DEFAULT_PASS_STEPS): Status[] {
    return ["SCHEDULED", ...Array<Status>(Math.max(0, steps - 1)).fill("WORKING"), end];
}

export interface HistoryPass {
    startDateTime: string; endDateTime: string;
    msgTotal: number; msgRead: number; msgSuccess: number; msgIgnored: number; msgFailure: number;
    calTotal: number; calRead: number; calSuccess: number; calIgnored: number; calFailure: number;
    conTotal: number; conRead: number; conSuccess: number; conIgnored: number; conFailure: number;
    msgAlreadyMigrated: number;
}

export interface Counts { msg: number; cal: number; con: number }

/** A deterministic mailbox per user, from its tag: what a first pass finds. */
export function simulatedMailbox(tag: string): Counts {
    let h = 2166136261;
    for (const c of tag) h = Math.imul(h ^ c.charCodeAt(0), 16777619) >>> 0;
    return { msg: 50 + (h % 450), cal: 5 + ((h >>> 9) % 45), con: 10 + ((h >>> 17) % 90) };
}

/** What switches off a kind of item for a pass (the batch's settings). */
export interface PassSettings { shouldMigrateMails: boolean; shouldMigrateCalendars: boolean; shouldMigrateContacts: boolean }

/**
 * The history pass a migration pass ends with. A first pass reads the whole mailbox, a later one
 * what arrived since (a few items) plus what the previous pass failed to migrate. A failed pass
 * (ONERROR) fails a tenth of what it reads, rounded up; the others succeed. `migrated` is what
 * earlier passes migrated (msgAlreadyMigrated); the caller adds the pass's successes to it.
 */
export function historyPass(
    tag: string, earlier: readonly HistoryPass[], migrated: Counts, settings: PassSettings | undefined,
    failed: boolean, startDateTime: string, end: Date,
): HistoryPass {
    const n = earlier.length, last = earlier[n - 1];
    const grow = n === 0 ? simulatedMailbox(tag) : {
        msg: (n * 3) % 7 + 1 + last.msgFailure, cal: last.calFailure, con: n % 2 + last.conFailure,
    };
    const msg = settings && !settings.shouldMigrateMails ? 0 : grow.msg;
    const cal = settings && !settings.shouldMigrateCalendars ? 0 : grow.cal;
    const con = settings && !settings.shouldMigrateContacts ? 0 : grow.con;
    const fail = (total: number) => (failed ? Math.ceil(total / 10) : 0);
    const [mf, cf, nf] = [fail(msg), fail(cal), fail(con)];
    return {
        startDateTime, endDateTime: historyDate(end),
        msgTotal: msg, msgRead: msg, msgSuccess: msg - mf, msgIgnored: 0, msgFailure: mf,
        calTotal: cal, calRead: cal, calSuccess: cal - cf, calIgnored: 0, calFailure: cf,
        conTotal: con, conRead: con, conSuccess: con - nf, conIgnored: 0, conFailure: nf,
        msgAlreadyMigrated: migrated.msg,
    };
}

const pad = (n: number) => String(n).padStart(2, "0");
/** History dates as the document prints them: dd/MM/yyyy HH:mm:ss (UTC). */
export function historyDate(d: Date): string {
    return `${pad(d.getUTCDate())}/${pad(d.getUTCMonth() + 1)}/${d.getUTCFullYear()} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}`;
}
