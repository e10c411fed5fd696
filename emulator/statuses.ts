/**
 * Migration statuses: the appendix of the vendor's document ("List of statuses"), every name and
 * number kept, misspellings included (SHEDULEDINAGENT, MAILROOMEQUIPEMENT_*). The emulator's own
 * copy: the client keeps another (provider/client/status.ts), so a slip on either side shows up in
 * the conformance tests, which hold both against the appendix.
 */
export const STATUSES = [
    "UNKNOWN", // 0
    "NOTSTARTED", // 1
    "WORKING", // 2
    "ONERROR", // 3
    "SUCCESS", // 4
    "STOP", // 5
    "PENDING", // 6
    "SCHEDULED", // 7
    "STOPPING", // 8
    "SHEDULEDINAGENT", // 9 (sic)
    "WORKINGINAGENT", // 10
    "PRE_PROCESSING", // 11
    "PRE_PROCESSING_ERROR", // 12
    "PRE_PROCESSING_PENDING", // 13
    "PRE_PROCESSING_WORKING", // 14
    "MAIL_SENT", // 15
    "AUDIT", // 16
    "AUDIT_ERROR", // 17
    "AUDIT_DONE", // 18
    "AUDIT_WORKING", // 19
    "GET_SITES", // 20
    "GET_SITES_ERROR", // 21
    "GET_SITES_DONE", // 22
    "GET_SITES_WORKING", // 23
    "LICENSE_EXCEEDED", // 24
    "GET_GROUPS_WORKING", // 25
    "GET_GROUPS_DONE", // 26
    "GET_GROUPS", // 27
    "GET_GROUPS_ERROR", // 28
    "ARCHIVESCHEDULED", // 29
    "EXPORTINPROGRESS", // 30
    "GET_SITES_AGENT", // 31
    "AUDIT_SITES_AGENT", // 32
    "SCHEDULED_SITES_AGENT", // 33
    "WAITING_ROOT_SITE", // 34
    "MAILPERMISSIONS_ERROR", // 35
    "MAILPERMISSIONS_SCHEDULED", // 36
    "MAILPERMISSIONS_WORKING", // 37
    "MAILPERMISSIONS_DONE", // 38
    "CALENDARPOSTPROCESS_ERROR", // 39
    "CALENDARPOSTPROCESS_SCHEDULED", // 40
    "CALENDARPOSTPROCESS_WORKING", // 41
    "CALENDARPOSTPROCESS_DONE", // 42
    "SHAREDMBXPREPROC_ERROR", // 43
    "SHAREDMBXPREPROC_SCHEDULED", // 44
    "SHAREDMBXPREPROC_WORKING", // 45
    "SHAREDMBXPREPROC_DONE", // 46
    "SCHEDULED_FILES_AGENT", // 47
    "MAILROOMEQUIPEMENT_ERROR", // 48 (sic)
    "MAILROOMEQUIPEMENT_SCHEDULED", // 49
    "MAILROOMEQUIPEMENT_WORKING", // 50
    "MAILROOMEQUIPEMENT_DONE", // 51
    "GETEXCHANGEGUIDS_ERROR", // 52
    "GETEXCHANGEGUIDS_SCHEDULED", // 53
    "GETEXCHANGEGUIDS_WORKING", // 54
    "GETEXCHANGEGUIDS_DONE", // 55
] as const;

export type Status = (typeof STATUSES)[number];

export const STATUS_NUMBER = Object.fromEntries(STATUSES.map((s, i) => [s, i])) as Record<Status, number>;

/** Statuses during which a user's migration (or audit, stop) is under way: start and audit are refused. */
export const RUNNING: ReadonlySet<string> = new Set<Status>(["SCHEDULED", "WORKING", "STOPPING", "AUDIT_WORKING", "PENDING"]);

/**
 * How a migration pass can end (POST /_emulator/outcomes): SUCCESS (the default), ONERROR (the pass
 * is recorded in the history with failures), STOP, and the appendix's other errors of a mail pass.
 */
export const PASS_ENDS = ["SUCCESS", "ONERROR", "STOP", "PRE_PROCESSING_ERROR", "LICENSE_EXCEEDED"] as const satisfies readonly Status[];
export type PassEnd = (typeof PASS_ENDS)[number];
