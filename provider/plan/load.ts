/**
 * A migration plan as data: plan.yaml (defaults, batches with settings and runs,
 * users inline, CSVs referenced) or a bare CSV in Cloudiway's upload format.
 * `loadPlan` returns a validated plan or throws one PlanError listing every
 * problem as `file:line: message`, before anything is applied.
 */
import * as fs from "fs";
import * as path from "path";
import { LineCounter, Node, isMap, isScalar, isSeq, parseDocument } from "yaml";
import { SETTING_FLAGS, SettingFlag, isIsoDate } from "../resources/batchGlobalSettings";
import { MIGRATION_ACTIONS, MigrationAction, isInstant } from "../resources/migrationRun";

import type { Kind } from "../client/calls";
import { DELETION_POLICIES, DeletionPolicy } from "../config";
import { FREE_TEXT_MAX, TextKind, emailProblem, normalizeEmail, textProblem } from "../text";
export type { Kind };
export interface PlanRun {
    action: MigrationAction; trigger: string; where: string;
    /** A gate (MigrationRun.waitFor). */
    waitFor?: { maxFailed?: number; timeoutMinutes?: number; blockMinutes?: number };
    /** An ISO 8601 instant with an offset (MigrationRun.notBefore). */
    notBefore?: string;
    /** A batch whose runs this run waits for (they become its dependencies). */
    after?: string;
}
/** A batch's settings as the plan declares them: the flags it sets, and its date window. */
export type PlanSettings = Partial<Record<SettingFlag, boolean>> & { fromDate?: string; toDate?: string };
export interface PlanBatch { name: string; settings?: PlanSettings; runs: PlanRun[]; where: string }
export interface PlanUser {
    firstName: string; lastName: string; sourceEmail: string; targetEmail: string;
    sourceConnectorName: string; targetConnectorName: string;
    licensed?: boolean; deletionPolicy?: DeletionPolicy; batch?: string; runs: PlanRun[]; where: string;
}
export interface Plan { file: string; kind: Kind; adoptExisting?: boolean; batches: PlanBatch[]; users: PlanUser[] }

export interface LoadOptions {
    /** Connector names the API lists; unknown ones are reported. */
    connectors?: { source: string[]; target: string[] };
    /** Defaults for a bare CSV plan (which cannot name connectors). */
    defaults?: { sourceConnectorName?: string; targetConnectorName?: string; kind?: Kind };
}

export class PlanError extends Error {
    constructor(readonly problems: string[]) {
        super(`The migration plan has ${problems.length} problem(s); nothing was applied:\n  ${problems.join("\n  ")}`);
        this.name = "PlanError";
    }
}

const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
/** Free text of a plan (provider/text.ts): the limit of each key; emails are checked by userFrom. */
const TEXT_KIND: Record<string, TextKind | undefined> = {
    firstName: "name", lastName: "name", sourceConnectorName: "connectorName", targetConnectorName: "connectorName",
    name: "batchName", batch: "batchName", after: "batchName", trigger: "trigger",
};
const EMAIL_KEYS = new Set(["sourceEmail", "targetEmail"]);
/** Why a plan's value of `key` is not acceptable free text ("firstName must not contain ..."), or undefined. */
function textOf(key: string, s: string): string | undefined {
    if (EMAIL_KEYS.has(key)) return undefined;
    const problem = textProblem(s, TEXT_KIND[key] ?? FREE_TEXT_MAX);
    return problem && `${key} ${problem}`;
}
const TOP_KEYS = ["kind", "adoptExisting", "defaults", "csv", "batches", "users"];
const DEFAULT_KEYS = ["sourceConnectorName", "targetConnectorName", "licensed", "deletionPolicy", "settings"];
const BATCH_KEYS = ["name", "settings", "runs", "users"];
const USER_KEYS = ["firstName", "lastName", "sourceEmail", "targetEmail", "sourceConnectorName", "targetConnectorName", "licensed", "deletionPolicy", "batch", "runs"];
const RUN_KEYS = ["action", "trigger", "waitFor", "notBefore", "after"];
const WAIT_KEYS = ["maxFailed", "timeoutMinutes", "blockMinutes"];
const SETTING_KEYS = [...SETTING_FLAGS, "fromDate", "toDate"];

/** A YAML node with its line, for messages. */
interface Located { value: unknown; node: Node | null }

class Problems {
    list: string[] = [];
    add(where: string, msg: string) { this.list.push(`${where}: ${msg}`); }
}

export function loadPlan(file: string, opts: LoadOptions = {}): Plan {
    const abs = path.resolve(file);
    if (!fs.existsSync(abs)) throw new PlanError([`${file}: the plan file does not exist`]);
    return /\.csv$/i.test(abs) ? loadCsvPlan(abs, opts) : loadYamlPlan(abs, opts);
}

// ---------------------------------------------------------------- YAML
function loadYamlPlan(file: string, opts: LoadOptions): Plan {
    const rel = path.relative(process.cwd(), file) || file;
    const text = fs.readFileSync(file, "utf8");
    const lc = new LineCounter();
    const doc = parseDocument(text, { lineCounter: lc, prettyErrors: false });
    const p = new Problems();
    for (const e of doc.errors) p.add(`${rel}:${lc.linePos(e.pos[0]).line}`, `YAML: ${e.message.split("\n")[0]}`);
    if (p.list.length) throw new PlanError(p.list);
    const at = (n: Node | null | undefined) => `${rel}:${n?.range ? lc.linePos(n.range[0]).line : 1}`;

    const mapEntries = (n: unknown, allowed: string[], what: string): Map<string, Located> => {
        const out = new Map<string, Located>();
        if (!isMap(n)) {
            p.add(at(n as Node), `${what} must be a mapping`);
            return out;
        }
        for (const item of n.items) {
            const k = isScalar(item.key) ? String(item.key.value) : String(item.key);
            const keyNode = item.key as Node;
            if (!allowed.includes(k)) {
                p.add(at(keyNode), `unknown key "${k}" in ${what} (expected one of: ${allowed.join(", ")})`);
                continue;
            }
            const v = item.value as Node | null;
            out.set(k, { value: v && isScalar(v) ? v.value : v, node: v ?? keyNode });
        }
        return out;
    };
    const str = (m: Map<string, Located>, k: string, where: string, required = true): string | undefined => {
        const e = m.get(k);
        if (!e || e.value === null || e.value === undefined) {
            if (required) p.add(where, `${k} is required`);
            return undefined;
        }
        if (typeof e.value !== "string" && typeof e.value !== "number") { p.add(at(e.node), `${k} must be a string`); return undefined; }
        const s = String(e.value).trim();
        if (!s) { p.add(at(e.node), `${k} must not be empty`); return undefined; }
        const problem = textOf(k, s);
        if (problem) { p.add(at(e.node), problem); return undefined; }
        return s;
    };
    const bool = (m: Map<string, Located>, k: string): boolean | undefined => {
        const e = m.get(k);
        if (!e) return undefined;
        if (typeof e.value !== "boolean") { p.add(at(e.node), `${k} must be true or false`); return undefined; }
        return e.value;
    };
    const policy = (m: Map<string, Located>, k: string): DeletionPolicy | undefined => {
        const e = m.get(k);
        if (!e) return undefined;
        const v = typeof e.value === "string" ? DELETION_POLICIES.find((x) => x === e.value) : undefined;
        if (!v) p.add(at(e.node), `${k} must be one of ${DELETION_POLICIES.map((x) => `"${x}"`).join(", ")} (got ${JSON.stringify(e.value)})`);
        return v;
    };
    const seq = (e: Located | undefined, what: string): Node[] => {
        if (!e || e.value === null) return [];
        if (!isSeq(e.node)) { p.add(at(e.node), `${what} must be a list`); return []; }
        return e.node.items as Node[];
    };
    const settingsOf = (e: Located | undefined, what: string): PlanSettings | undefined => {
        if (!e) return undefined;
        const m = mapEntries(e.node, SETTING_KEYS, what);
        const s: PlanSettings = {};
        for (const f of SETTING_FLAGS) { const b = bool(m, f); if (b !== undefined) s[f] = b; }
        for (const d of ["fromDate", "toDate"] as const) {
            const v = m.get(d);
            if (!v) continue;
            const raw = v.value instanceof Date ? v.value.toISOString().slice(0, 10) : String(v.value ?? "").trim();
            if (!isIsoDate(raw)) p.add(at(v.node), `${d} "${raw}" is not a valid ISO date YYYY-MM-DD`);
            else s[d] = raw;
        }
        return s;
    };
    const runsOf = (e: Located | undefined, what: string): PlanRun[] =>
        seq(e, `${what}.runs`).flatMap((n) => {
            const m = mapEntries(n, RUN_KEYS, `a run of ${what}`);
            const action = str(m, "action", at(n));
            const trigger = str(m, "trigger", at(n));
            if (action && !(MIGRATION_ACTIONS as readonly string[]).includes(action)) {
                p.add(at(m.get("action")!.node), `unknown action "${action}" (expected ${MIGRATION_ACTIONS.join(", ")})`);
                return [];
            }
            if (!action || !trigger) return [];
            const r: PlanRun = { action: action as MigrationAction, trigger, where: at(n) };
            const w = m.get("waitFor");
            if (w) {
                const wm = mapEntries(w.node, WAIT_KEYS, `waitFor of a run of ${what}`);
                const num = (k: string, int: boolean, min: number) => {
                    const e = wm.get(k);
                    if (!e) return undefined;
                    if (typeof e.value !== "number" || (int && !Number.isInteger(e.value)) || e.value < min || (k === "timeoutMinutes" && e.value === 0)) {
                        p.add(at(e.node), `waitFor.${k} must be ${int ? "a whole number" : "a number"} ${k === "timeoutMinutes" ? "above 0" : `of at least ${min}`}`);
                        return undefined;
                    }
                    return e.value;
                };
                const timeoutMinutes = num("timeoutMinutes", false, 0);
                const maxFailed = num("maxFailed", true, 0);
                const blockMinutes = num("blockMinutes", false, 0);
                r.waitFor = {
                    ...(maxFailed === undefined ? {} : { maxFailed }), ...(timeoutMinutes === undefined ? {} : { timeoutMinutes }),
                    ...(blockMinutes === undefined ? {} : { blockMinutes }),
                };
            }
            const nb = m.get("notBefore");
            if (nb) {
                const raw = nb.value instanceof Date ? nb.value.toISOString() : String(nb.value ?? "").trim();
                if (!isInstant(raw)) p.add(at(nb.node), `notBefore "${raw}" must be an ISO 8601 instant with an offset (Z or +hh:mm), e.g. 2026-12-05T18:00:00Z`);
                else r.notBefore = raw;
            }
            const after = str(m, "after", at(n), false);
            if (after) r.after = after;
            return [r];
        });

    const top = mapEntries(doc.contents, TOP_KEYS, "the plan");
    const kindRaw = str(top, "kind", at(doc.contents), false) ?? opts.defaults?.kind ?? "mail";
    if (kindRaw !== "mail" && kindRaw !== "archive") p.add(at(top.get("kind")?.node), `kind must be "mail" or "archive"`);
    const kind = kindRaw === "archive" ? "archive" : "mail";
    const adoptExisting = bool(top, "adoptExisting");
    const defaults = top.get("defaults") ? mapEntries(top.get("defaults")!.node, DEFAULT_KEYS, "defaults") : new Map<string, Located>();
    const dSource = str(defaults, "sourceConnectorName", "", false) ?? opts.defaults?.sourceConnectorName;
    const dTarget = str(defaults, "targetConnectorName", "", false) ?? opts.defaults?.targetConnectorName;
    const dLicensed = bool(defaults, "licensed");
    const dPolicy = policy(defaults, "deletionPolicy");
    const withPolicy = (v: DeletionPolicy | undefined) => (v === undefined ? {} : { deletionPolicy: v });
    const dSettings = settingsOf(defaults.get("settings"), "defaults.settings");

    const batches: PlanBatch[] = [];
    const rawUsers: { m: Map<string, Located>; node: Node; batch?: string }[] = [];
    for (const n of seq(top.get("batches"), "batches")) {
        const m = mapEntries(n, BATCH_KEYS, "a batch");
        const name = str(m, "name", at(n));
        const own = settingsOf(m.get("settings"), `batch ${name ?? "?"}.settings`);
        const settings = dSettings || own ? { ...dSettings, ...own } : undefined;
        const runs = runsOf(m.get("runs"), `batch ${name}`);
        if (name) {
            const dup = batches.find((b) => b.name === name);
            if (dup) p.add(at(n), `batch "${name}" is declared twice (also at ${dup.where})`);
            else batches.push({ name, settings, runs, where: at(n) });
        }
        for (const u of seq(m.get("users"), `batch ${name}.users`)) rawUsers.push({ m: mapEntries(u, USER_KEYS.filter((k) => k !== "batch"), "a user"), node: u, batch: name });
    }
    for (const u of seq(top.get("users"), "users")) {
        const m = mapEntries(u, USER_KEYS, "a user");
        rawUsers.push({ m, node: u, batch: str(m, "batch", at(u), false) });
    }
    const users: PlanUser[] = [];
    for (const r of rawUsers) {
        const where = at(r.node);
        const u = userFrom({
            firstName: str(r.m, "firstName", where), lastName: str(r.m, "lastName", where),
            sourceEmail: str(r.m, "sourceEmail", where), targetEmail: str(r.m, "targetEmail", where),
            sourceConnectorName: str(r.m, "sourceConnectorName", where, false) ?? dSource,
            targetConnectorName: str(r.m, "targetConnectorName", where, false) ?? dTarget,
        }, where, p);
        if (!u) continue;
        const licensed = bool(r.m, "licensed") ?? dLicensed;
        users.push({ ...u, ...(licensed === undefined ? {} : { licensed }), ...withPolicy(policy(r.m, "deletionPolicy") ?? dPolicy), batch: r.batch, runs: runsOf(r.m.get("runs"), `user ${u.sourceEmail}`), where });
    }
    // CSV files, relative to the plan
    const csvEntry = top.get("csv");
    const csvFiles: { file: string; where: string }[] = [];
    if (csvEntry) {
        if (typeof csvEntry.value === "string") csvFiles.push({ file: csvEntry.value, where: at(csvEntry.node) });
        else for (const n of seq(csvEntry, "csv")) csvFiles.push({ file: String(isScalar(n) ? n.value : ""), where: at(n) });
    }
    for (const c of csvFiles) {
        const csvPath = path.resolve(path.dirname(file), c.file);
        if (!fs.existsSync(csvPath)) { p.add(c.where, `CSV file ${c.file} does not exist`); continue; }
        for (const u of readCsvUsers(csvPath, p, { sourceConnectorName: dSource, targetConnectorName: dTarget })) {
            users.push({ ...u, ...(dLicensed === undefined ? {} : { licensed: dLicensed }), ...withPolicy(dPolicy) });
        }
    }
    // batches referenced but not declared
    const declared = new Set(batches.map((b) => b.name));
    for (const u of users) {
        if (u.batch && !declared.has(u.batch)) p.add(u.where, `batch "${u.batch}" is referenced but not declared under batches:`);
    }
    for (const r of [...batches.flatMap((b) => b.runs), ...users.flatMap((u) => u.runs)]) {
        if (r.after && !declared.has(r.after)) p.add(r.where, `after: batch "${r.after}" is not declared under batches:`);
        // A run waits until the runs of its `after` batch are done, and only a gated run is ever done.
        else if (r.after && !batches.find((b) => b.name === r.after)!.runs.some((x) => x.waitFor)) {
            p.add(r.where, `after: batch "${r.after}" has no run with waitFor: a run after it would wait forever (only a gated run is ever done); give one of its runs waitFor`);
        }
    }
    crossCheck(users, batches, p, opts);
    if (p.list.length) throw new PlanError(p.list);
    return { file, kind, ...(adoptExisting === undefined ? {} : { adoptExisting }), batches, users };
}

/** Validates one user's fields; undefined when a required one is missing or bad. */
function userFrom(v: Record<string, string | undefined>, where: string, p: Problems): Omit<PlanUser, "runs" | "where"> | undefined {
    let ok = true;
    for (const k of ["firstName", "lastName", "sourceEmail", "targetEmail"]) if (!v[k]) ok = false;
    for (const k of ["sourceConnectorName", "targetConnectorName"]) {
        if (!v[k]) { p.add(where, `${k} is missing (set it on the user or under defaults:)`); ok = false; }
    }
    // Emails: NFC, lower case; no control or invisible character (provider/text.ts).
    const email: Record<string, string> = {};
    for (const k of ["sourceEmail", "targetEmail"]) {
        if (!v[k]) continue;
        const e = email[k] = normalizeEmail(v[k]!);
        const problem = emailProblem(e);
        if (!problem) continue;
        p.add(where, EMAIL.test(e) || /must not contain/.test(problem) ? `${k} ${problem}` : `${k} "${v[k]}" is not an email address`);
        ok = false;
    }
    if (!ok) return undefined;
    return {
        firstName: v.firstName!, lastName: v.lastName!, sourceEmail: email.sourceEmail, targetEmail: email.targetEmail,
        sourceConnectorName: v.sourceConnectorName!, targetConnectorName: v.targetConnectorName!,
    };
}

/** Duplicates, a user in two batches, unknown connectors, bad date windows, duplicate runs. */
function crossCheck(users: PlanUser[], batches: PlanBatch[], p: Problems, opts: LoadOptions) {
    const bySource = new Map<string, PlanUser>();
    for (const u of users) {
        const first = bySource.get(u.sourceEmail);
        if (first) {
            if (first.batch && u.batch && first.batch !== u.batch) {
                p.add(u.where, `user ${u.sourceEmail} is in two batches: "${first.batch}" (${first.where}) and "${u.batch}" — a user is in at most one batch`);
            } else {
                p.add(u.where, `duplicate user ${u.sourceEmail} (first declared at ${first.where})`);
            }
        } else bySource.set(u.sourceEmail, u);
        if (opts.connectors) {
            if (!opts.connectors.source.includes(u.sourceConnectorName)) {
                p.add(u.where, `unknown source connector "${u.sourceConnectorName}" (known: ${opts.connectors.source.join(", ")})`);
            }
            if (!opts.connectors.target.includes(u.targetConnectorName)) {
                p.add(u.where, `unknown target connector "${u.targetConnectorName}" (known: ${opts.connectors.target.join(", ")})`);
            }
        }
    }
    for (const b of batches) {
        const s = b.settings;
        if (s?.fromDate && s.toDate && s.fromDate > s.toDate) p.add(b.where, `batch "${b.name}": fromDate ${s.fromDate} is after toDate ${s.toDate}`);
        const seen = new Set<string>();
        for (const r of b.runs) {
            if (seen.has(r.action)) p.add(r.where, `batch "${b.name}" has two "${r.action}" runs: change the trigger of one run instead`);
            seen.add(r.action);
        }
    }
}

// ---------------------------------------------------------------- CSV
/** RFC 4180 rows with their line numbers; `;` or `,` detected from the header. */
export function parseCsv(text: string): { cells: string[]; line: number; error?: string }[] {
    if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    const firstLine = text.split(/\r?\n/, 1)[0];
    const delim = (firstLine.match(/;/g)?.length ?? 0) > (firstLine.match(/,/g)?.length ?? 0) ? ";" : ",";
    const rows: { cells: string[]; line: number; error?: string }[] = [];
    let i = 0, line = 1;
    while (i < text.length) {
        const start = line;
        const cells: string[] = [];
        let cell = "", quoted = false, error: string | undefined;
        for (;;) {
            if (i >= text.length) {
                if (quoted) error = "unterminated quoted field";
                cells.push(cell);
                break;
            }
            const ch = text[i];
            if (quoted) {
                if (ch === '"' && text[i + 1] === '"') { cell += '"'; i += 2; continue; }
                if (ch === '"') { quoted = false; i++; continue; }
                if (ch === "\n") line++;
                cell += ch; i++;
                continue;
            }
            if (ch === '"' && cell === "") { quoted = true; i++; continue; }
            if (ch === delim) { cells.push(cell); cell = ""; i++; continue; }
            if (ch === "\r" && text[i + 1] === "\n") { i++; continue; }
            if (ch === "\n") { cells.push(cell); i++; line++; break; }
            cell += ch; i++;
        }
        if (cells.length === 1 && cells[0].trim() === "" && !error) continue; // blank line
        rows.push({ cells, line: start, ...(error ? { error } : {}) });
    }
    return rows;
}

const CSV_REQUIRED = ["firstname", "lastname", "sourceemail", "targetemail"];

function readCsvUsers(file: string, p: Problems, defaults: { sourceConnectorName?: string; targetConnectorName?: string }): PlanUser[] {
    const rel = path.relative(process.cwd(), file) || file;
    const rows = parseCsv(fs.readFileSync(file, "utf8"));
    if (!rows.length) { p.add(`${rel}:1`, "the CSV file is empty"); return []; }
    const header = rows[0].cells.map((h) => h.trim().toLowerCase());
    const missing = CSV_REQUIRED.filter((h) => !header.includes(h));
    if (missing.length) {
        p.add(`${rel}:1`, `the header lacks column(s) ${missing.join(", ")} (Cloudiway's upload format: FirstName, LastName, SourceEmail, TargetEmail, SourceRecipientType, TargetRecipientType, BatchName)`);
        return [];
    }
    // A column named twice: which one would be meant cannot be known.
    const firstAt = new Map<string, number>();
    let twice = false;
    header.forEach((h, i) => {
        if (!h) return;
        const first = firstAt.get(h);
        if (first === undefined) { firstAt.set(h, i); return; }
        p.add(`${rel}:${rows[0].line}`, `the header names column "${rows[0].cells[i].trim()}" twice (columns ${first + 1} and ${i + 1})`);
        twice = true;
    });
    if (twice) return [];
    const col = (name: string) => header.indexOf(name);
    const users: PlanUser[] = [];
    for (const r of rows.slice(1)) {
        const where = `${rel}:${r.line}`;
        if (r.error) { p.add(where, `malformed CSV row: ${r.error}`); continue; }
        if (r.cells.length !== header.length) {
            p.add(where, `malformed CSV row: ${r.cells.length} fields, the header has ${header.length}`);
            continue;
        }
        const get = (name: string) => (col(name) >= 0 ? r.cells[col(name)].trim() : "");
        const v = {
            firstName: get("firstname"), lastName: get("lastname"), sourceEmail: get("sourceemail"), targetEmail: get("targetemail"),
            sourceConnectorName: defaults.sourceConnectorName, targetConnectorName: defaults.targetConnectorName,
        };
        for (const k of ["firstName", "lastName", "sourceEmail", "targetEmail"] as const) if (!v[k]) p.add(where, `${k} is empty`);
        let bad = false;
        for (const k of ["firstName", "lastName"] as const) {
            const problem = v[k] ? textOf(k, v[k]) : undefined;
            if (problem) { p.add(where, problem); bad = true; }
        }
        const batch = get("batchname");
        const batchProblem = batch ? textOf("batch", batch) : undefined;
        if (batchProblem) { p.add(where, batchProblem.replace(/^batch /, "BatchName ")); bad = true; }
        const u = userFrom(v, where, p);
        if (bad) continue;
        if (u) users.push({ ...u, ...(batch ? { batch } : {}), runs: [], where });
    }
    return users;
}

function loadCsvPlan(file: string, opts: LoadOptions): Plan {
    const p = new Problems();
    const users = readCsvUsers(file, p, opts.defaults ?? {});
    const batches: PlanBatch[] = [];
    for (const u of users) {
        if (u.batch && !batches.some((b) => b.name === u.batch)) batches.push({ name: u.batch, runs: [], where: u.where });
    }
    crossCheck(users, batches, p, opts);
    if (p.list.length) throw new PlanError(p.list);
    return { file, kind: opts.defaults?.kind ?? "mail", batches, users };
}
