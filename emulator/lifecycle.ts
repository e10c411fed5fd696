/**
 * Migration statuses (the appendix of the vendor's document, every name and
 * number kept, misspellings included) and the simulated migration of a user.
 */
export const STATUSES: readonly string[] = [
    "UNKNOWN", "NOTSTARTED", "WORKING", "ONERROR", "SUCCESS", "STOP", "PENDING", "SCHEDULED", "STOPPING",
    "SHEDULEDINAGENT", "WORKINGINAGENT", "PRE_PROCESSING", "PRE_PROCESSING_ERROR", "PRE_PROCESSING_PENDING",
    "PRE_PROCESSING_WORKING", "MAIL_SENT", "AUDIT", "AUDIT_ERROR", "AUDIT_DONE", "AUDIT_WORKING", "GET_SITES",
    "GET_SITES_ERROR", "GET_SITES_DONE", "GET_SITES_WORKING", "LICENSE_EXCEEDED", "GET_GROUPS_WORKING",
    "GET_GROUPS_DONE", "GET_GROUPS", "GET_GROUPS_ERROR", "ARCHIVESCHEDULED", "EXPORTINPROGRESS", "GET_SITES_AGENT",
    "AUDIT_SITES_AGENT", "SCHEDULED_SITES_AGENT", "WAITING_ROOT_SITE", "MAILPERMISSIONS_ERROR",
    "MAILPERMISSIONS_SCHEDULED", "MAILPERMISSIONS_WORKING", "MAILPERMISSIONS_DONE", "CALENDARPOSTPROCESS_ERROR",
    "CALENDARPOSTPROCESS_SCHEDULED", "CALENDARPOSTPROCESS_WORKING", "CALENDARPOSTPROCESS_DONE",
    "SHAREDMBXPREPROC_ERROR", "SHAREDMBXPREPROC_SCHEDULED", "SHAREDMBXPREPROC_WORKING", "SHAREDMBXPREPROC_DONE",
    "SCHEDULED_FILES_AGENT", "MAILROOMEQUIPEMENT_ERROR", "MAILROOMEQUIPEMENT_SCHEDULED", "MAILROOMEQUIPEMENT_WORKING",
    "MAILROOMEQUIPEMENT_DONE", "GETEXCHANGEGUIDS_ERROR", "GETEXCHANGEGUIDS_SCHEDULED", "GETEXCHANGEGUIDS_WORKING",
    "GETEXCHANGEGUIDS_DONE",
];
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
