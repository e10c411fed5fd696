/**
 * What a batch migrates (2.25 / 2.26): the setting flags, declared once, each with the value an
 * omitted flag takes. The API's field names are these with a capital first letter (ShouldMigrateMails);
 * the read schema, the write body, the resource's inputs and the plan's keys all come from this list.
 * Omitted flags make a full mailbox migration (mails, calendars, contacts, tasks, notes, address
 * conversion), without trash and journals.
 */
export const SETTING_DEFAULTS = {
    shouldMigrateMails: true, shouldMigrateTrash: false, shouldMigrateCalendars: true, shouldMigrateContacts: true,
    shouldMigrateTasks: true, shouldMigrateNotes: true, shouldMigrateJournals: false,
    shouldConvertEmailAddresses: true, shouldConvertX500: true,
} as const satisfies Record<string, boolean>;
export type SettingFlag = keyof typeof SETTING_DEFAULTS;
export const SETTING_FLAGS = Object.keys(SETTING_DEFAULTS) as SettingFlag[];

/** The flag's name in the API's write body (2.25): ShouldMigrateMails. */
export function vendorName(f: SettingFlag): string {
    return f[0].toUpperCase() + f.slice(1);
}

/** A batch's settings as written (2.25): every flag, and the date window (ISO YYYY-MM-DD, or null). */
export type GlobalSettings = Record<SettingFlag, boolean> & { fromDate: string | null; toDate: string | null };
/** What 2.26 answers: a flag that is missing or null in the answer is not set (undefined). */
export type GlobalSettingsRead = Record<SettingFlag, boolean | undefined> & { fromDate: string | null; toDate: string | null };
