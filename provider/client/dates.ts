/**
 * The three date formats of the API: settings are written MM/dd/yyyy and read
 * back yyyy-MM-ddT00:00:00; history dates are dd/MM/yyyy HH:mm:ss. Declared
 * state uses ISO YYYY-MM-DD.
 */
export function isoToVendorDate(iso: string): string {
    const m = /^(\d{4})-(\d{2})-(\d{2})/.exec(iso);
    if (!m) throw new Error(`not an ISO date: ${iso}`);
    return `${m[2]}/${m[3]}/${m[1]}`;
}

/** "2015-01-05T00:00:00" (or any ISO date-time) -> "2015-01-05"; null stays null. */
export function vendorIsoToDate(v: string | null | undefined): string | null {
    if (v === null || v === undefined || v === "") return null;
    const m = /^(\d{4})-(\d{2})-(\d{2})/.exec(v.trim());
    if (!m) throw new Error(`not an ISO date: ${v}`);
    return `${m[1]}-${m[2]}-${m[3]}`;
}

/** "23/10/2018 14:45:00" -> "2018-10-23T14:45:00Z" (the API's time zone is not documented: taken as UTC). */
export function historyDateToIso(v: string): string {
    const m = /^(\d{1,2})\/(\d{1,2})\/(\d{4}) (\d{1,2}):(\d{2}):(\d{2})$/.exec(v.trim());
    if (!m) return v;
    const p = (s: string) => s.padStart(2, "0");
    return `${m[3]}-${p(m[2])}-${p(m[1])}T${p(m[4])}:${m[5]}:${m[6]}Z`;
}
