/** Migration statuses: the appendix of the API document (names and numbers kept, misspellings too). */
export const MIGRATION_STATUSES: readonly string[] = [
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

/** The API answers a name ("WORKING"); a number is mapped through the appendix. */
export function statusName(v: string | number): string {
    if (typeof v === "number") return MIGRATION_STATUSES[v] ?? `UNKNOWN(${v})`;
    const t = v.trim();
    return /^\d+$/.test(t) ? MIGRATION_STATUSES[Number(t)] ?? t : t.toUpperCase();
}

/** The statuses during which each action is under way for a user (names of the appendix above). */
export const UNDER_WAY: Record<"migrate" | "audit" | "stop" | "permissions", ReadonlySet<string>> = {
    migrate: new Set(["SCHEDULED", "WORKING", "PENDING", "SHEDULEDINAGENT", "WORKINGINAGENT", "PRE_PROCESSING",
        "PRE_PROCESSING_PENDING", "PRE_PROCESSING_WORKING", "ARCHIVESCHEDULED", "EXPORTINPROGRESS"]),
    audit: new Set(["AUDIT", "AUDIT_WORKING"]),
    stop: new Set(["STOPPING"]),
    permissions: new Set(["MAILPERMISSIONS_SCHEDULED", "MAILPERMISSIONS_WORKING"]),
};

/** Any action under way: the user's pass (or audit, stop) has not ended yet. */
export function isUnderWay(status: string): boolean {
    const s = statusName(status);
    return Object.values(UNDER_WAY).some((set) => set.has(s));
}

/**
 * How a mail pass ends in error (the appendix's error statuses of a mail migration): a `retry` run
 * starts the users in these again. AUDIT_ERROR and the permission/site errors are not a mail pass's.
 */
export const PASS_ERRORS: ReadonlySet<string> = new Set([
    "ONERROR", "PRE_PROCESSING_ERROR", "CALENDARPOSTPROCESS_ERROR", "SHAREDMBXPREPROC_ERROR",
    "MAILROOMEQUIPEMENT_ERROR", "GETEXCHANGEGUIDS_ERROR", "LICENSE_EXCEEDED",
]);

/** What a gate counts as failed when a pass is over: an error status, or stopped. */
export function endedBadly(status: string): boolean {
    const s = statusName(status);
    return PASS_ERRORS.has(s) || s === "STOP" || s === "AUDIT_ERROR" || s === "MAILPERMISSIONS_ERROR";
}
