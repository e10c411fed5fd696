/**
 * Migration statuses (the appendix of the vendor's document, every name and
 * number kept, misspellings included) and the simulated migration of a user.
 */
// The same appendix table the client uses: one list of names and numbers in the project.
import { MIGRATION_STATUSES } from "../provider/client/status";
export const STATUSES: readonly string[] = MIGRATION_STATUSES;
export const STATUS_NUMBER: Record<string, number> = Object.fromEntries(STATUSES.map((s, i) => [s, i]));

/** Statuses during which a user's migration (or audit, stop) is under way. */
export const RUNNING = new Set(["SCHEDULED", "WORKING", "STOPPING", "AUDIT_WORKING", "PENDING"]);
export const PERMISSION_STEPS = ["MAILPERMISSIONS_SCHEDULED", "MAILPERMISSIONS_WORKING", "MAILPERMISSIONS_DONE"];

export interface HistoryPass {
    startDateTime: string; endDateTime: string;
    msgTotal: number; msgRead: number; msgSuccess: number; msgIgnored: number; msgFailure: number;
    calTotal: number; calRead: number; calSuccess: number; calIgnored: number; calFailure: number;
    conTotal: number; conRead: number; conSuccess: number; conIgnored: number; conFailure: number;
    msgAlreadyMigrated: number;
}

/** A deterministic mailbox per user, from its tag: what a first pass finds. */
export function simulatedMailbox(tag: string): { msg: number; cal: number; con: number } {
    let h = 2166136261;
    for (const c of tag) h = Math.imul(h ^ c.charCodeAt(0), 16777619) >>> 0;
    return { msg: 50 + (h % 450), cal: 5 + ((h >>> 9) % 45), con: 10 + ((h >>> 17) % 90) };
}

const pad = (n: number) => String(n).padStart(2, "0");
/** History dates as the document prints them: dd/MM/yyyy HH:mm:ss (UTC). */
export function historyDate(d: Date): string {
    return `${pad(d.getUTCDate())}/${pad(d.getUTCMonth() + 1)}/${d.getUTCFullYear()} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}`;
}
