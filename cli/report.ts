/**
 * Status report of a migration: batches x statuses with per-pass counts, as a
 * table on stdout and as an HTML page with bars.
 *
 *   npx cloudiway-migration report --stack <name>     # API URL and credentials from that stack's config
 *   npx cloudiway-migration report --api-url <url>    # credentials from CLOUDIWAY_CONSUMER_KEY / _SECRET
 */
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { CloudiwayClient, clientFor } from "../provider/client";
import { parseArgs } from "./args";
import { resolveSettings } from "../provider/config";
import { ItemCounts, NO_ITEMS, addItems, itemsOf, overThreshold } from "../provider/campaign/items";
import { LedgerRow, Observation, appendLedger, progressOverTime, readLedgerChecked, renderProgressChart } from "./ledger";
import type { Kind } from "../provider/client/calls";

export const HELP = `Usage: cloudiway-migration report [--stack <name> | --api-url <url>] [--kind mail|archive] [--html <file>] [--cwd <project dir>]
                                  [--ledger <ledger.csv>] [--max-item-failure-percent <n>] [--json]

Prints a table of batches x migration statuses, with the counts of each batch's passes
(mails, calendars, contacts: total/success/failure), and writes the same as an HTML page
with bars (default: cloudiway-report.html).

  --stack <name>    read cloudiway:apiUrl / consumerKey / consumerSecret from this stack's config
  --api-url <url>   the API to ask (credentials from CLOUDIWAY_CONSUMER_KEY / CLOUDIWAY_CONSUMER_SECRET)
  --kind <k>        mail (default) or archive
  --html <file>     where to write the HTML page
  --cwd <dir>       the Pulumi project directory for --stack (default: current directory)
  --ledger <file>   append one row per user whose observation changed since its last row (time,
                    batch, status, passes, last-pass counts, license): the history that outlives
                    the vendor's purge. The HTML page then draws each wave's progress over time.
  --max-item-failure-percent <n>
                    list first (and mark) the users whose last pass failed more than n% of the items
                    it read (mails + calendars + contacts), as a gate's waitFor.maxItemFailurePercent does
  --json            print the report (and the ledger rows appended) as JSON instead of the table
`;

export interface BatchRow {
    batch: string;
    users: number;
    statuses: Record<string, number>;
    passes: number;
    mails: { total: number; success: number; failure: number };
    calendars: { total: number; success: number; failure: number };
    contacts: { total: number; success: number; failure: number };
    /** Items (mails + calendars + contacts) of all the batch's passes: read, success, failure, percent failed. */
    items?: ItemCounts;
}

export interface Report {
    generatedAt: string;
    kind: Kind;
    statuses: string[];
    rows: BatchRow[];
    /** Each user as observed now (what the ledger records). */
    users: Observation[];
}

export async function buildReport(client: CloudiwayClient, kind: Kind = "mail", concurrency = 16): Promise<Report> {
    const users = await client.getAllUsers(kind);
    const batchOf = new Map<string, string>();
    for (const b of await client.listBatches(kind)) {
        for (const tag of await client.getUsersInBatch(kind, b)) batchOf.set(tag.trim(), b);
    }
    const rows = new Map<string, BatchRow>();
    const row = (name: string) => {
        let r = rows.get(name);
        if (!r) {
            r = { batch: name, users: 0, statuses: {}, passes: 0, mails: zero(), calendars: zero(), contacts: zero(), items: { ...NO_ITEMS } };
            rows.set(name, r);
        }
        return r;
    };
    for (const b of batchOf.values()) row(b);
    const observed: Observation[] = [];
    const queue = [...users];
    const worker = async () => {
        for (let u = queue.shift(); u; u = queue.shift()) {
            const tag = String(u.migrationTag).trim();
            const status = u.status ?? (await client.getStatus(kind, tag));
            const batch = batchOf.get(tag) ?? "(no batch)";
            const r = row(batch);
            r.users++;
            bump(r.statuses, status);
            const o: Observation = {
                kind, migrationTag: tag, sourceEmail: u.sourceEmail, batch, status, passes: 0, licensed: u.licensed === true,
                mailsTotal: 0, mailsSuccess: 0, mailsFailure: 0, calendarsTotal: 0, calendarsSuccess: 0, calendarsFailure: 0,
                contactsTotal: 0, contactsSuccess: 0, contactsFailure: 0, itemsRead: 0, itemsFailure: 0,
            };
            observed.push(o);
            if (status !== "NOTSTARTED") {
                const history = await client.getMailHistory(kind, tag);
                o.passes = history.length;
                const last = history[history.length - 1];
                if (last) Object.assign(o, {
                    mailsTotal: last.msgTotal, mailsSuccess: last.msgSuccess, mailsFailure: last.msgFailure,
                    calendarsTotal: last.calTotal, calendarsSuccess: last.calSuccess, calendarsFailure: last.calFailure,
                    contactsTotal: last.conTotal, contactsSuccess: last.conSuccess, contactsFailure: last.conFailure,
                    itemsRead: itemsOf([last]).read, itemsFailure: itemsOf([last]).failure,
                });
                r.items = addItems(r.items ?? NO_ITEMS, itemsOf(history));
                r.passes += history.length;
                for (const p of history) {
                    add(r.mails, p.msgTotal, p.msgSuccess, p.msgFailure);
                    add(r.calendars, p.calTotal, p.calSuccess, p.calFailure);
                    add(r.contacts, p.conTotal, p.conSuccess, p.conFailure);
                }
            }
        }
    };
    await Promise.all(Array.from({ length: concurrency }, worker));
    const statuses = [...new Set([...rows.values()].flatMap((r) => Object.keys(r.statuses)))].sort();
    observed.sort((a, b) => a.batch.localeCompare(b.batch) || a.sourceEmail.localeCompare(b.sourceEmail));
    return { generatedAt: new Date().toISOString(), kind, statuses, rows: [...rows.values()].sort((a, b) => a.batch.localeCompare(b.batch)), users: observed };
}

/**
 * Statuses are keyed by what the API answers: counted and read as own properties only, so a status
 * named like one of Object.prototype's keys (`constructor`, `__proto__`) is counted like any other.
 */
const count = (rec: Record<string, number>, k: string) => (Object.hasOwn(rec, k) ? rec[k] : 0);
const bump = (rec: Record<string, number>, k: string) =>
    Object.defineProperty(rec, k, { value: count(rec, k) + 1, enumerable: true, writable: true, configurable: true });
const zero = () => ({ total: 0, success: 0, failure: 0 });
function add(c: { total: number; success: number; failure: number }, t: number, s: number, f: number) {
    c.total += t; c.success += s; c.failure += f;
}
const tsf = (c: { total: number; success: number; failure: number }) => `${c.total}/${c.success}/${c.failure}`;

/** "3/111 (2.7%)": items failed of items read. */
const failedOf = (c: ItemCounts = NO_ITEMS) => `${c.failure}/${c.read} (${c.failurePercent}%)`;

/** One user's last pass, as items: read, failed, percent. */
export interface UserItems { sourceEmail: string; batch: string; read: number; failure: number; failurePercent: number; overThreshold: boolean }

/**
 * The users whose last pass failed items, the most failed first; with a threshold (the gates'
 * `waitFor.maxItemFailurePercent`), those over it come first and are marked.
 */
export function usersByItemsFailed(r: Report, maxPercent?: number): UserItems[] {
    return r.users.filter((o) => (o.itemsFailure ?? 0) > 0).map((o) => {
        const c: ItemCounts = { read: o.itemsRead ?? 0, success: 0, failure: o.itemsFailure ?? 0, failurePercent: 0 };
        const pct = addItems(NO_ITEMS, c).failurePercent;
        return { sourceEmail: o.sourceEmail, batch: o.batch, read: c.read, failure: c.failure, failurePercent: pct, overThreshold: overThreshold(c, maxPercent) };
    }).sort((a, b) => Number(b.overThreshold) - Number(a.overThreshold) || b.failurePercent - a.failurePercent || a.sourceEmail.localeCompare(b.sourceEmail));
}

export function renderTable(r: Report, maxPercent?: number): string {
    const head = ["batch", "users", ...r.statuses, "passes", "mails t/s/f", "calendars t/s/f", "contacts t/s/f", "items failed"];
    const body = r.rows.map((x) => [x.batch, String(x.users), ...r.statuses.map((s) => String(count(x.statuses, s))), String(x.passes), tsf(x.mails), tsf(x.calendars), tsf(x.contacts), failedOf(x.items)]);
    const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
    const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join("  ");
    const users = usersByItemsFailed(r, maxPercent);
    const perUser = users.length ? ["", `Users whose last pass failed items${maxPercent !== undefined ? ` (over ${maxPercent}% first, marked !)` : ""}:`,
        ...users.map((u) => `${u.overThreshold ? "! " : "  "}${u.sourceEmail} (${u.batch}): ${u.failure} of ${u.read} items failed (${u.failurePercent}%)`)] : [];
    return [line(head), widths.map((w) => "-".repeat(w)).join("  "), ...body.map(line), ...perUser].join("\n");
}

/** Bars of the items each wave's passes failed (percent of those read). */
export function renderItemsChart(r: Report): string {
    const rows = r.rows.filter((x) => x.items && x.items.read > 0);
    if (!rows.length) return "";
    const top = Math.max(1, ...rows.map((x) => x.items!.failurePercent));
    const bars = rows.map((x) => `<tr><th>${esc(x.batch)}</th><td class="bar"><div class="fail" data-batch="${esc(x.batch)}" style="width:${((100 * x.items!.failurePercent) / top).toFixed(1)}%"></div></td>` +
        `<td>${x.items!.failure} of ${x.items!.read} items failed (${x.items!.failurePercent}%)</td></tr>`).join("\n");
    return `<h2>Failed items per wave</h2><table id="items">${bars}</table>`;
}

const COLORS: Record<string, string> = {
    SUCCESS: "#2e7d32", WORKING: "#1565c0", SCHEDULED: "#6a1b9a", NOTSTARTED: "#9e9e9e", ONERROR: "#c62828",
    STOP: "#ef6c00", STOPPING: "#ffb74d", AUDIT_DONE: "#00838f", AUDIT_WORKING: "#4dd0e1", MAIL_SENT: "#f9a825",
};
/** A status's color: its own, else grey (a status named like Object.prototype's keys is no exception). */
const color = (s: string) => (Object.hasOwn(COLORS, s) ? COLORS[s] : "#607d8b");
const esc = (s: string) => s.replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]!);

/**
 * The HTML page; with the ledger's rows, a chart of each wave's progress over time, and the ledger
 * rows that could not be read (`file:line: why`). Every value is escaped.
 */
export function renderHtml(r: Report, ledger: LedgerRow[] = [], ledgerProblems: string[] = [], maxPercent?: number): string {
    const rows = r.rows.map((x) => {
        const bar = r.statuses.filter((s) => count(x.statuses, s)).map((s) => {
            const n = count(x.statuses, s);
            const pct = (100 * n) / Math.max(1, x.users);
            return `<div class="seg" title="${esc(s)}: ${n}" style="width:${pct.toFixed(2)}%;background:${color(s)}">${n}</div>`;
        }).join("");
        const mailPct = x.mails.total ? (100 * x.mails.success) / x.mails.total : 0;
        return `<tr><th>${esc(x.batch)}</th><td>${x.users}</td><td class="bar">${bar}</td><td>${x.passes}</td>` +
            `<td><div class="mini"><div style="width:${mailPct.toFixed(1)}%"></div></div>${tsf(x.mails)}</td><td>${tsf(x.calendars)}</td><td>${tsf(x.contacts)}</td><td>${failedOf(x.items)}</td></tr>`;
    }).join("\n");
    const legend = r.statuses.map((s) => `<span><i style="background:${color(s)}"></i>${esc(s)}</span>`).join(" ");
    return `<!doctype html><html><head><meta charset="utf-8"><title>Cloudiway migration report</title><style>
body{font-family:system-ui,sans-serif;margin:2em;color:#222}table{border-collapse:collapse;width:100%}th,td{padding:.4em .6em;border-bottom:1px solid #ddd;text-align:left}
td.bar{width:45%}.seg{display:inline-block;height:1.4em;color:#fff;font-size:.8em;text-align:center;line-height:1.4em;overflow:hidden}
.mini{display:inline-block;width:5em;height:.6em;background:#eee;margin-right:.5em}.mini div{height:100%;background:#2e7d32}
.fail{height:1em;background:#c62828}tr.over td,tr.over th{color:#c62828}.legend span{margin-right:1em}.legend i{display:inline-block;width:.9em;height:.9em;margin-right:.3em;vertical-align:middle}
</style></head><body><h1>Cloudiway ${esc(r.kind)} migration</h1><p>Generated ${esc(r.generatedAt)}</p>
<p class="legend">${legend}</p><table><thead><tr><th>batch</th><th>users</th><th>statuses</th><th>passes</th><th>mails t/s/f</th><th>calendars t/s/f</th><th>contacts t/s/f</th><th>items failed</th></tr></thead>
<tbody>${rows}</tbody></table>${renderItemsChart(r)}${renderUserItems(r, maxPercent)}${ledger.length ? renderProgressChart(progressOverTime(ledger.filter((l) => l.kind === r.kind))) : ""}${
    ledgerProblems.length ? `<h2>Ledger rows left out</h2><ul class="problems">${ledgerProblems.map((p) => `<li>${esc(p)}</li>`).join("")}</ul>` : ""}</body></html>\n`;
}

/** Users whose last pass failed items, over the threshold first. */
function renderUserItems(r: Report, maxPercent?: number): string {
    const users = usersByItemsFailed(r, maxPercent);
    if (!users.length) return "";
    const rows = users.map((u) => `<tr${u.overThreshold ? ` class="over"` : ""}><th>${esc(u.sourceEmail)}</th><td>${esc(u.batch)}</td><td>${u.read}</td><td>${u.failure}</td><td>${u.failurePercent}%</td></tr>`).join("\n");
    return `<h2>Users whose last pass failed items${maxPercent !== undefined ? ` (over ${maxPercent}% first)` : ""}</h2>` +
        `<table id="user-items"><thead><tr><th>user</th><th>batch</th><th>items read</th><th>failed</th><th>percent</th></tr></thead><tbody>${rows}</tbody></table>`;
}

/** `cloudiway-migration report [args]` (cli/index.ts dispatches here). */
export async function main(argv: string[]): Promise<void> {
    const args = parseArgs(argv);
    if (args.help) {
        process.stdout.write(HELP);
        return;
    }
    let lookup: (key: string) => string | undefined = () => undefined;
    if (args.stack) {
        const json = execFileSync("pulumi", ["config", "--json", "--show-secrets", "--stack", args.stack], {
            cwd: args.cwd ?? process.cwd(), encoding: "utf8", stdio: ["ignore", "pipe", "inherit"],
        });
        const cfg = JSON.parse(json) as Record<string, { value?: string }>;
        lookup = (key) => cfg[key]?.value;
    }
    const settings = resolveSettings((key) => (key === "cloudiway:apiUrl" && args["api-url"]) || lookup(key));
    // The provider's client: the same timeout, attempts and connections (stack config, then environment).
    const client = clientFor(settings);
    try {
        const kind = args.kind === "archive" ? "archive" : "mail";
        const report = await buildReport(client, kind);
        const ledgerFile = args.ledger ? path.resolve(String(args.ledger)) : undefined;
        const appended = ledgerFile ? appendLedger(ledgerFile, report.users, report.generatedAt) : [];
        const html = path.resolve(args.html ?? "cloudiway-report.html");
        // A ledger row that cannot be read is named (file:line) and left out; the rest still renders.
        const ledger = ledgerFile ? readLedgerChecked(ledgerFile) : { rows: [], problems: [] };
        for (const p of ledger.problems) process.stderr.write(`warning: ${p}\n`);
        const maxPercent = args["max-item-failure-percent"] !== undefined ? Number(args["max-item-failure-percent"]) : undefined;
        if (maxPercent !== undefined && !(maxPercent >= 0 && maxPercent <= 100)) throw new Error("--max-item-failure-percent must be a number from 0 to 100");
        fs.writeFileSync(html, renderHtml(report, ledger.rows, ledger.problems, maxPercent));
        if (args.json) {
            console.log(JSON.stringify({ report, ...(ledgerFile ? { ledger: ledgerFile, appended, ledgerProblems: ledger.problems } : {}), html }, null, 2));
        } else {
            console.log(renderTable(report, maxPercent));
            if (ledgerFile) console.log(`\nLedger: ${appended.length} row(s) appended to ${ledgerFile}`);
            console.log(`\nHTML report: ${html}`);
        }
    } finally {
        await client.close?.();
    }
}
