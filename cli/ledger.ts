/**
 * The ledger: the migration's history kept by the admin, not by the vendor (Cloudiway purges a
 * user's migration data after 90 idle days). `report --ledger ledger.csv` appends one row per user
 * whose observation changed since its last row — status, passes, last-pass counts, license — so a
 * pipeline can commit or upload the file. The HTML report draws each wave's progress over time
 * from it.
 */
import * as fs from "fs";
import { parseCsv } from "../provider/plan/load";
import type { Kind } from "../provider/client/calls";

/** What the report observed of one user. */
export interface Observation {
    kind: Kind;
    migrationTag: string;
    sourceEmail: string;
    batch: string;
    status: string;
    passes: number;
    /** The last pass's counts (0 when there is none). */
    mailsTotal: number; mailsSuccess: number; mailsFailure: number;
    calendarsTotal: number; calendarsSuccess: number; calendarsFailure: number;
    contactsTotal: number; contactsSuccess: number; contactsFailure: number;
    /** The last pass's items (mails + calendars + contacts) read and failed (0 in rows of older ledgers). */
    itemsRead?: number; itemsFailure?: number;
    licensed: boolean;
}
export interface LedgerRow extends Observation { time: string }

export const LEDGER_COLUMNS = [
    "time", "kind", "migrationTag", "sourceEmail", "batch", "status", "passes",
    "mailsTotal", "mailsSuccess", "mailsFailure", "calendarsTotal", "calendarsSuccess", "calendarsFailure",
    "contactsTotal", "contactsSuccess", "contactsFailure", "licensed", "itemsRead", "itemsFailure",
] as const;
/** Columns added since the first ledgers: a ledger without them is read with 0 (and rows appended to it keep its header). */
const LATER_COLUMNS = new Set<string>(["itemsRead", "itemsFailure"]);
const NUMBERS = new Set(["passes", "mailsTotal", "mailsSuccess", "mailsFailure", "calendarsTotal", "calendarsSuccess", "calendarsFailure", "contactsTotal", "contactsSuccess", "contactsFailure", "itemsRead", "itemsFailure"]);

/**
 * Formula injection (CSV injection): a spreadsheet runs a cell that starts with `=`, `+`, `-`, `@`,
 * a tab or a carriage return as a formula. Such a cell is written with a leading `'` (which
 * spreadsheets show as text and hide), and reading strips it again. A value that already starts
 * with quotes before such a character gets one more, so every value reads back as it was.
 */
const FORMULA = /^'*[=+\-@\t\r]/;
const QUOTED_FORMULA = /^'+[=+\-@\t\r]/;
export const csvCell = (v: unknown) => {
    let s = String(v);
    if (FORMULA.test(s)) s = `'${s}`;
    return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
};
/** A cell as written (after its CSV quotes are gone) -> the value. */
export const cellValue = (cell: string) => (QUOTED_FORMULA.test(cell) ? cell.slice(1) : cell);

/** The ledger with the rows that could not be read, each as `file:line: why` (the rest still serves). */
export interface LedgerRead { rows: LedgerRow[]; problems: string[] }

const isCount = (s: string) => /^\d+$/.test(s);

/** Reads the ledger (RFC 4180: quoted cells may hold commas, quotes and line breaks). */
export function readLedgerChecked(file: string): LedgerRead {
    if (!fs.existsSync(file)) return { rows: [], problems: [] };
    const records = parseCsv(fs.readFileSync(file, "utf8"));
    if (!records.length) return { rows: [], problems: [] };
    const head = records[0].cells.map((h) => h.trim());
    const missing = LEDGER_COLUMNS.filter((c) => !head.includes(c) && !LATER_COLUMNS.has(c));
    if (missing.length) throw new Error(`${file}: not a ledger of this tool (missing columns ${missing.join(", ")})`);
    const rows: LedgerRow[] = [];
    const problems: string[] = [];
    for (const r of records.slice(1)) {
        const why = rowProblem(head, r);
        if (why) { problems.push(`${file}:${r.line}: ${why}; the row is left out`); continue; }
        const row: Record<string, unknown> = {};
        for (const h of LEDGER_COLUMNS) { // only the ledger's columns (an extra one is ignored)
            const v = head.includes(h) ? cellValue(r.cells[head.indexOf(h)]) : "0";
            row[h] = NUMBERS.has(h) ? Number(v) : h === "licensed" ? v === "true" : v;
        }
        rows.push(row as unknown as LedgerRow);
    }
    return { rows, problems };
}

function rowProblem(head: string[], r: { cells: string[]; error?: string }): string | undefined {
    if (r.error) return `malformed CSV row: ${r.error}`;
    if (r.cells.length !== head.length) return `malformed CSV row: ${r.cells.length} fields, the header has ${head.length}`;
    const cell = (c: string) => cellValue(r.cells[head.indexOf(c)]);
    if (cell("kind") !== "mail" && cell("kind") !== "archive") return "kind must be mail or archive";
    const time = cell("time");
    if (!/^\d{4}-\d{2}-\d{2}T/.test(time) || Number.isNaN(Date.parse(time))) return `time ${JSON.stringify(time)} is not an ISO date and time`;
    for (const c of NUMBERS) if (head.includes(c) && !isCount(cell(c))) return `${c} ${JSON.stringify(cell(c))} is not a count`;
    if (cell("licensed") !== "true" && cell("licensed") !== "false") return `licensed ${JSON.stringify(cell("licensed"))} is not true or false`;
    return undefined;
}

/** The rows that could be read (readLedgerChecked says which could not). */
export function readLedger(file: string): LedgerRow[] {
    return readLedgerChecked(file).rows;
}

type Column = (typeof LEDGER_COLUMNS)[number];
/** A value of a row in a column (a count left out is 0). */
const valueIn = (o: Partial<LedgerRow>, c: string) => o[c as Column] ?? (NUMBERS.has(c) ? 0 : "");
const same = (a: Observation, b: Observation, columns: readonly string[]) =>
    columns.every((c) => c === "time" || String(valueIn(a, c)) === String(valueIn(b, c)));

/** The rows to add: users whose observation differs, in the ledger's `columns`, from their last row (or who have none). */
export function changedRows(previous: LedgerRow[], now: Observation[], time: string, columns: readonly string[] = LEDGER_COLUMNS): LedgerRow[] {
    const last = new Map<string, LedgerRow>();
    for (const r of previous) last.set(`${r.kind}\n${r.migrationTag}`, r);
    return now.filter((o) => { const l = last.get(`${o.kind}\n${o.migrationTag}`); return !l || !same(l, o, columns); }).map((o) => ({ time, ...o }));
}

/** Appends the changed rows (with a header if the file is new); the rows appended. */
export function appendLedger(file: string, now: Observation[], time = new Date().toISOString()): LedgerRow[] {
    const fresh = !fs.existsSync(file) || fs.statSync(file).size === 0;
    // An older ledger keeps its header: rows are compared and appended in its columns (the newer ones left out).
    const columns: string[] = fresh ? [...LEDGER_COLUMNS] : headerOf(file);
    const rows = changedRows(readLedger(file), now, time, columns);
    const text = (fresh ? columns.join(",") + "\n" : "") + rows.map((r) => columns.map((c) => csvCell(valueIn(r, c))).join(",") + "\n").join("");
    if (text) fs.appendFileSync(file, text);
    return rows;
}

function headerOf(file: string): string[] {
    return (parseCsv(fs.readFileSync(file, "utf8"))[0]?.cells ?? []).map((h) => h.trim());
}

/** Statuses that mean a user's migration is done for the chart (a pass ended well). */
const DONE = new Set(["SUCCESS"]);

export interface WaveSeries { batch: string; users: number; points: { time: string; done: number }[] }

/** Each wave's progress over time: at each ledger time, how many of its users were done. */
export function progressOverTime(rows: LedgerRow[]): WaveSeries[] {
    const sorted = [...rows].sort((a, b) => a.time.localeCompare(b.time));
    const times = [...new Set(sorted.map((r) => r.time))];
    const current = new Map<string, LedgerRow>();
    const series = new Map<string, WaveSeries>();
    let i = 0;
    for (const t of times) {
        for (; i < sorted.length && sorted[i].time === t; i++) current.set(`${sorted[i].kind}\n${sorted[i].migrationTag}`, sorted[i]);
        const byBatch = new Map<string, { users: number; done: number }>();
        for (const r of current.values()) {
            const b = byBatch.get(r.batch) ?? { users: 0, done: 0 };
            b.users++;
            if (DONE.has(r.status)) b.done++;
            byBatch.set(r.batch, b);
        }
        for (const [batch, b] of byBatch) {
            const s = series.get(batch) ?? { batch, users: 0, points: [] };
            s.users = b.users;
            s.points.push({ time: t, done: b.done });
            series.set(batch, s);
        }
    }
    return [...series.values()].sort((a, b) => a.batch.localeCompare(b.batch));
}

const PALETTE = ["#1565c0", "#2e7d32", "#c62828", "#6a1b9a", "#ef6c00", "#00838f", "#5d4037", "#ad1457"];
const esc = (s: string) => s.replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]!);

/** An SVG chart: one line per wave, the share of its users done over time. */
export function renderProgressChart(series: WaveSeries[], width = 760, height = 300): string {
    // Points without a readable time are left out (readLedgerChecked reports such rows).
    series = series.map((s) => ({ ...s, points: s.points.filter((p) => !Number.isNaN(Date.parse(p.time))) })).filter((s) => s.points.length);
    const all = series.flatMap((s) => s.points.map((p) => Date.parse(p.time)));
    if (!all.length) return `<p>No ledger rows yet.</p>`;
    const [t0, t1] = [Math.min(...all), Math.max(...all)];
    const pad = { l: 48, r: 16, t: 16, b: 36 };
    const x = (t: number) => pad.l + (t1 === t0 ? 0 : ((t - t0) / (t1 - t0)) * (width - pad.l - pad.r));
    const y = (share: number) => pad.t + (1 - share) * (height - pad.t - pad.b);
    const lines = series.map((s, i) => {
        const color = PALETTE[i % PALETTE.length];
        const d = s.points.map((p, j) => `${j ? "L" : "M"}${x(Date.parse(p.time)).toFixed(1)},${y(p.done / Math.max(1, s.users)).toFixed(1)}`).join(" ");
        const dots = s.points.map((p) => `<circle cx="${x(Date.parse(p.time)).toFixed(1)}" cy="${y(p.done / Math.max(1, s.users)).toFixed(1)}" r="3" fill="${color}"/>`).join("");
        return `<path class="wave" data-batch="${esc(s.batch)}" d="${d}" fill="none" stroke="${color}" stroke-width="2.5"/>${dots}`;
    }).join("\n");
    const grid = [0, 0.25, 0.5, 0.75, 1].map((g) => `<line x1="${pad.l}" x2="${width - pad.r}" y1="${y(g)}" y2="${y(g)}" stroke="#ddd"/><text x="${pad.l - 6}" y="${y(g) + 4}" text-anchor="end" font-size="11">${g * 100}%</text>`).join("");
    const axis = `<text x="${pad.l}" y="${height - 10}" font-size="11">${esc(new Date(t0).toISOString().slice(0, 16).replace("T", " "))}</text>` +
        `<text x="${width - pad.r}" y="${height - 10}" font-size="11" text-anchor="end">${esc(new Date(t1).toISOString().slice(0, 16).replace("T", " "))}</text>`;
    const legend = series.map((s, i) => `<span><i style="background:${PALETTE[i % PALETTE.length]}"></i>${esc(s.batch)} (${s.points[s.points.length - 1].done}/${s.users} done)</span>`).join(" ");
    return `<h2>Progress of each wave (from the ledger)</h2><p class="legend">${legend}</p>` +
        `<svg id="progress" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" xmlns="http://www.w3.org/2000/svg">${grid}${axis}\n${lines}</svg>`;
}
