/**
 * A migration plan as data: plan.yaml (defaults, batches with settings and runs,
 * users inline, CSVs referenced) or a bare CSV in Cloudiway's upload format.
 * `loadPlan` returns a validated plan or throws one PlanError listing every
 * problem as `file:line: message`, before anything is applied.
 *
 * The plan's keys are the resources' own inputs, validated by the resources' own schemas
 * (mailUserModel, mailBatchModel, batchGlobalSettingsModel, migrationRunModel): a rule has one home
 * and one message, and a zod issue's path is mapped to `file:line` through the YAML document's ranges.
 * What is the plan's own: defaults, `batch`/`users` placement, `after` naming a batch, CSV files,
 * and the rules across entries (crossCheck).
 */
import * as fs from "fs";
import * as path from "path";
import { z } from "zod";
import { LineCounter, Node, Document, isMap, isScalar, isSeq, parseDocument } from "yaml";
import { batchGlobalSettingsModel, dateWindowProblem } from "../resources/batchGlobalSettings";
import { mailUserModel } from "../resources/mailUser";
import { mailBatchModel } from "../resources/mailBatch";
import { migrationRunModel } from "../resources/migrationRun";
import { SETTING_FLAGS } from "../client/settings";
import type { Kind } from "../client/calls";
import { adoptField, batchNameField } from "../runtime/fields";
import { strictObject } from "../runtime/model";
import { parseCsv } from "./csv";
import { PlanError, Problems, say } from "./problems";
export { parseCsv, PlanError };
export type { Kind };

// ---------------------------------------------------------------- the plan's shape, from the resources' fields
/**
 * A plan's text values are trimmed (as plans always were: a quoted `" 1"` trigger is `1`), and YAML
 * writes `trigger: 2` or `name: 2024` as numbers: a text field takes them as their text.
 */
const text = <T extends z.ZodType>(field: T) => z.preprocess((v) => (typeof v === "number" ? String(v) : typeof v === "string" ? v.trim() : v), field);
/** A list that YAML may leave empty (`runs:`). */
const list = <T extends z.ZodType>(item: T) => z.array(item, { error: "must be a list" }).nullish();
const pick = <S extends z.ZodRawShape, K extends keyof S & string>(shape: S, keys: readonly K[]) =>
    Object.fromEntries(keys.map((k) => [k, shape[k]])) as Pick<S, K>;

const user = mailUserModel.schema.shape;
const run = migrationRunModel.schema.shape;
const settings = batchGlobalSettingsModel.schema.shape;

const runEntry = strictObject({
    action: run.action, trigger: text(run.trigger), waitFor: run.waitFor, notBefore: run.notBefore,
    /** A batch whose runs this run waits for (MigrationRunArgs.after: their runs). */
    after: text(batchNameField).optional(),
}, "a run must be a mapping");
const settingsEntry = strictObject({ ...pick(settings, SETTING_FLAGS), fromDate: settings.fromDate, toDate: settings.toDate }, "settings must be a mapping");
/** The inputs the API stores (the model's `stored`): a user entry's text keys, each by its own rule. */
type StoredKey = (typeof mailUserModel.stored.keys)[number];
const STORED = mailUserModel.stored.keys;
const storedShape = Object.fromEntries(STORED.map((k) => [k, text(user[k])])) as unknown as { [K in StoredKey]: z.ZodType<z.output<(typeof user)[K]>, unknown> };
/** Stored inputs a plan may give under defaults: (required on the resource). */
const DEFAULTED = ["sourceConnectorName", "targetConnectorName"] as const satisfies readonly StoredKey[];
const userFields = {
    ...storedShape,
    sourceConnectorName: storedShape.sourceConnectorName.optional(), targetConnectorName: storedShape.targetConnectorName.optional(),
    licensed: user.licensed, deletionPolicy: user.deletionPolicy,
};
const batchUserEntry = strictObject({ ...userFields, runs: list(z.unknown()) }, "a user must be a mapping");
const userEntry = strictObject({ ...userFields, batch: text(batchNameField).optional(), runs: list(z.unknown()) }, "a user must be a mapping");
const batchEntry = strictObject({
    name: text(mailBatchModel.schema.shape.name), settings: z.unknown().optional(), runs: list(z.unknown()), users: list(z.unknown()),
}, "a batch must be a mapping");
const defaultsEntry = strictObject({
    sourceConnectorName: userFields.sourceConnectorName, targetConnectorName: userFields.targetConnectorName,
    licensed: user.licensed, deletionPolicy: user.deletionPolicy, settings: z.unknown().optional(),
}, "defaults must be a mapping");
const topEntry = strictObject({
    kind: user.kind, adoptExisting: adoptField, defaults: z.unknown().optional(),
    csv: z.union([z.string(), z.array(z.string())], { error: "must be a file name or a list of file names" }).nullish(),
    batches: list(z.unknown()), users: list(z.unknown()),
}, "the plan must be a mapping");
/**
 * A CSV's columns: the stored inputs the plan does not take from defaults:, each named by its wire name in
 * any case (Cloudiway's upload format: FirstName, LastName, SourceEmail, TargetEmail); a column is required
 * when its input is.
 */
type CsvKey = Exclude<StoredKey, (typeof DEFAULTED)[number]>;
const CSV_KEYS = STORED.filter((k): k is CsvKey => !(DEFAULTED as readonly string[]).includes(k));
const csvColumn = (k: CsvKey) => mailUserModel.stored.wireName(k).toLowerCase();
const CSV_REQUIRED = CSV_KEYS.filter((k) => !user[k].safeParse(undefined).success).map(csvColumn);
/** A CSV row, in the user fields' rules (the column BatchName is `batch`). */
const csvRow = z.object({ ...pick(userFields, CSV_KEYS), batch: batchNameField.optional() });

export type PlanRun = Omit<z.infer<typeof runEntry>, "after"> & { after?: string; where: string };
/** A batch's settings as the plan declares them: the flags it sets, and its date window. */
export type PlanSettings = z.infer<typeof settingsEntry>;
export interface PlanBatch { name: string; settings?: PlanSettings; runs: PlanRun[]; where: string }
type UserFields = z.infer<typeof batchUserEntry>;
export type PlanUser = Omit<UserFields, "runs" | "sourceConnectorName" | "targetConnectorName"> & {
    sourceConnectorName: string; targetConnectorName: string; batch?: string; runs: PlanRun[]; where: string;
};
export interface Plan { file: string; kind: Kind; adoptExisting?: boolean; batches: PlanBatch[]; users: PlanUser[] }

export interface LoadOptions {
    /** Connector names the API lists; unknown ones are reported. */
    connectors?: { source: string[]; target: string[] };
    /** Defaults for a bare CSV plan (which cannot name connectors). */
    defaults?: { sourceConnectorName?: string; targetConnectorName?: string; kind?: Kind };
}

export function loadPlan(file: string, opts: LoadOptions = {}): Plan {
    const abs = path.resolve(file);
    if (!fs.existsSync(abs)) throw new PlanError([`${file}: the plan file does not exist`]);
    return /\.csv$/i.test(abs) ? loadCsvPlan(abs, opts) : loadYamlPlan(abs, opts);
}

// ---------------------------------------------------------------- YAML
type Path = (string | number)[];

/** A parsed plan.yaml: validation with a zod schema at a path, each issue as `file:line`. */
class YamlPlan {
    readonly rel: string;
    private readonly lc = new LineCounter();
    readonly doc: Document;
    readonly p = new Problems();
    constructor(readonly file: string) {
        this.rel = path.relative(process.cwd(), file) || file;
        this.doc = parseDocument(fs.readFileSync(file, "utf8"), { lineCounter: this.lc, prettyErrors: false });
        for (const e of this.doc.errors) this.p.add(`${this.rel}:${this.lc.linePos(e.pos[0]).line}`, `YAML: ${e.message.split("\n")[0]}`);
    }

    /** `file:line` of the node at `at` (or of the nearest one above it that is there); `key`: the line of that key. */
    where(at: Path, key?: string): string {
        let node: unknown;
        for (let n = at.length; n >= 0; n--) {
            node = n === 0 ? this.doc.contents : this.doc.getIn(at.slice(0, n), true);
            if (node) break;
        }
        if (key !== undefined && isMap(node)) {
            const pair = node.items.find((i) => (isScalar(i.key) ? String(i.key.value) : String(i.key)) === key);
            if (pair) node = pair.key;
        }
        const range = (node as Node | null | undefined)?.range;
        return `${this.rel}:${range ? this.lc.linePos(range[0]).line : 1}`;
    }

    /**
     * The value at `at`, validated with `schema`; every issue a problem at its line. What is left
     * without the keys at fault (unknown ones, bad optional ones) is still returned when it passes, so
     * the rules across entries see it too (the plan fails anyway); otherwise undefined.
     */
    read<T extends z.ZodType>(schema: T, value: unknown, at: Path): z.infer<T> | undefined {
        const r = schema.safeParse(value);
        if (r.success) return r.data;
        for (const iss of r.error.issues) {
            const full = [...at, ...iss.path.map((k) => (typeof k === "symbol" ? String(k) : k))];
            if (iss.code === "unrecognized_keys") {
                for (const k of iss.keys) this.p.add(this.where(full, k), say({ ...iss, keys: [k] }, value));
            } else {
                this.p.add(this.where(full), say(iss, value));
            }
        }
        const rest = schema.safeParse(withoutFaults(value, r.error.issues));
        return rest.success ? rest.data : undefined;
    }

    at(where: Path): string { return this.where(where); }
}

/** `value` (a mapping) without the keys zod found at fault: unknown keys, and the top keys of other issues. */
function withoutFaults(value: unknown, issues: z.core.$ZodIssue[]): unknown {
    if (typeof value !== "object" || value === null || Array.isArray(value)) return value;
    const copy: Record<string, unknown> = { ...(value as Record<string, unknown>) };
    for (const iss of issues) {
        if (iss.code === "unrecognized_keys" && iss.path.length === 0) for (const k of iss.keys) delete copy[k];
        else if (iss.path.length) delete copy[String(iss.path[0])];
    }
    return copy;
}

/** The plan's defaults: connectors, license, deletion policy and settings of every user and batch that do not say. */
interface Defaults {
    sourceConnectorName?: string; targetConnectorName?: string; licensed?: boolean;
    deletionPolicy?: PlanUser["deletionPolicy"]; settings?: PlanSettings;
}

function loadYamlPlan(file: string, opts: LoadOptions): Plan {
    const y = new YamlPlan(file);
    if (y.p.list.length) throw new PlanError(y.p.list);
    const raw = y.doc.toJS({ maxAliasCount: 100 }) as unknown;
    const top = y.read(topEntry, raw, []) ?? {};
    const defaults = readDefaults(y, top.defaults, opts);
    const batches: PlanBatch[] = [];
    const users: PlanUser[] = [];
    (top.batches ?? []).forEach((b, i) => readBatch(y, b, ["batches", i], defaults, batches, users));
    (top.users ?? []).forEach((u, i) => {
        const e = y.read(userEntry, u, ["users", i]);
        if (e) pushUser(y, e, ["users", i], e.batch, defaults, users);
    });
    for (const c of csvFilesOf(y, top.csv)) {
        const csvPath = path.resolve(path.dirname(file), c.file);
        if (!fs.existsSync(csvPath)) { y.p.add(c.where, `CSV file ${c.file} does not exist`); continue; }
        for (const u of readCsvUsers(csvPath, y.p, defaults)) users.push({ ...u, ...licenseAndPolicy(undefined, defaults) });
    }
    checkReferences(users, batches, y.p);
    crossCheck(users, batches, y.p, opts);
    if (y.p.list.length) throw new PlanError(y.p.list);
    const kind = top.kind ?? opts.defaults?.kind ?? "mail";
    return { file, kind, ...(top.adoptExisting === undefined ? {} : { adoptExisting: top.adoptExisting }), batches, users };
}

function readDefaults(y: YamlPlan, value: unknown, opts: LoadOptions): Defaults {
    const d = value === undefined ? {} : y.read(defaultsEntry, value, ["defaults"]) ?? {};
    const settings = d.settings === undefined ? undefined : y.read(settingsEntry, d.settings, ["defaults", "settings"]);
    return {
        sourceConnectorName: d.sourceConnectorName ?? opts.defaults?.sourceConnectorName,
        targetConnectorName: d.targetConnectorName ?? opts.defaults?.targetConnectorName,
        ...(d.licensed === undefined ? {} : { licensed: d.licensed }),
        ...(d.deletionPolicy === undefined ? {} : { deletionPolicy: d.deletionPolicy }),
        ...(settings === undefined ? {} : { settings }),
    };
}

function readBatch(y: YamlPlan, value: unknown, at: Path, defaults: Defaults, batches: PlanBatch[], users: PlanUser[]): void {
    const b = y.read(batchEntry, value, at);
    if (!b) {
        // Its name or shape is wrong: its runs and users are still read, for their own problems.
        const raw = (typeof value === "object" && value !== null ? value : {}) as Record<string, unknown>;
        if (Array.isArray(raw.runs)) readRuns(y, raw.runs, [...at, "runs"]);
        if (Array.isArray(raw.users)) raw.users.forEach((u, i) => y.read(batchUserEntry, u, [...at, "users", i]));
        return;
    }
    const own = b.settings === undefined ? undefined : y.read(settingsEntry, b.settings, [...at, "settings"]);
    const settings = defaults.settings || own ? { ...defaults.settings, ...own } : undefined;
    const runs = readRuns(y, b.runs, [...at, "runs"]);
    const where = y.at(at);
    const dup = batches.find((x) => x.name === b.name);
    if (dup) y.p.add(where, `batch "${b.name}" is declared twice (also at ${dup.where})`);
    else batches.push({ name: b.name, ...(settings ? { settings } : {}), runs, where });
    (b.users ?? []).forEach((u, i) => {
        const e = y.read(batchUserEntry, u, [...at, "users", i]);
        if (e) pushUser(y, e, [...at, "users", i], b.name, defaults, users);
    });
}

function readRuns(y: YamlPlan, value: unknown[] | null | undefined, at: Path): PlanRun[] {
    return (value ?? []).flatMap((r, i) => {
        const e = y.read(runEntry, r, [...at, i]);
        return e ? [{ ...e, where: y.at([...at, i]) }] : [];
    });
}

/** A user with the defaults applied; the connectors must come from one or the other. */
function pushUser(y: YamlPlan, e: UserFields, at: Path, batch: string | undefined, defaults: Defaults, users: PlanUser[]): void {
    const where = y.at(at);
    const sourceConnectorName = e.sourceConnectorName ?? defaults.sourceConnectorName;
    const targetConnectorName = e.targetConnectorName ?? defaults.targetConnectorName;
    let ok = true;
    for (const [k, v] of [["sourceConnectorName", sourceConnectorName], ["targetConnectorName", targetConnectorName]] as const) {
        if (!v) { y.p.add(where, `${k} is missing (set it on the user or under defaults:)`); ok = false; }
    }
    if (!ok) return;
    const { runs, licensed: _l, deletionPolicy: _d, ...fields } = e;
    void _l; void _d;
    users.push({
        ...fields, sourceConnectorName: sourceConnectorName!, targetConnectorName: targetConnectorName!,
        ...licenseAndPolicy(e, defaults), ...(batch === undefined ? {} : { batch }), runs: readRuns(y, runs, [...at, "runs"]), where,
    });
}

function licenseAndPolicy(e: Pick<PlanUser, "licensed" | "deletionPolicy"> | undefined, d: Defaults): Pick<PlanUser, "licensed" | "deletionPolicy"> {
    const licensed = e?.licensed ?? d.licensed;
    const deletionPolicy = e?.deletionPolicy ?? d.deletionPolicy;
    return { ...(licensed === undefined ? {} : { licensed }), ...(deletionPolicy === undefined ? {} : { deletionPolicy }) };
}

function csvFilesOf(y: YamlPlan, csv: string | string[] | null | undefined): { file: string; where: string }[] {
    if (csv === undefined || csv === null) return [];
    return typeof csv === "string" ? [{ file: csv, where: y.at(["csv"]) }] : csv.map((file, i) => ({ file, where: y.at(["csv", i]) }));
}

/** Batches that users and runs name must be declared; an `after` batch must have a gated run. */
function checkReferences(users: PlanUser[], batches: PlanBatch[], p: Problems): void {
    const declared = new Map(batches.map((b) => [b.name, b]));
    for (const u of users) {
        if (u.batch && !declared.has(u.batch)) p.add(u.where, `batch "${u.batch}" is referenced but not declared under batches:`);
    }
    for (const r of [...batches.flatMap((b) => b.runs), ...users.flatMap((u) => u.runs)]) {
        if (!r.after) continue;
        const b = declared.get(r.after);
        if (!b) p.add(r.where, `after: batch "${r.after}" is not declared under batches:`);
        // A run waits until the runs of its `after` batch are done, and only a gated run is ever done.
        else if (!b.runs.some((x) => x.waitFor)) {
            p.add(r.where, `after: batch "${r.after}" has no run with waitFor: a run after it would wait forever (only a gated run is ever done); give one of its runs waitFor`);
        }
    }
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
        const window = b.settings ? dateWindowProblem(b.settings) : undefined;
        if (window) p.add(b.where, `batch "${b.name}": fromDate ${window}`);
        const seen = new Set<string>();
        for (const r of b.runs) {
            if (seen.has(r.action)) p.add(r.where, `batch "${b.name}" has two "${r.action}" runs: change the trigger of one run instead`);
            seen.add(r.action);
        }
    }
}

// ---------------------------------------------------------------- CSV

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
        const get = (name: string) => (col(name) >= 0 ? r.cells[col(name)] : "");
        const batch = get("batchname").trim();
        const row: Record<string, string> = {};
        // A required column's cell is taken as it is (empty: the rule says so); an optional one only when it holds something.
        for (const k of CSV_KEYS) if (CSV_REQUIRED.includes(csvColumn(k)) || get(csvColumn(k)).trim()) row[k] = get(csvColumn(k));
        if (batch) row.batch = batch;
        const parsed = csvRow.safeParse(row);
        if (!parsed.success) {
            // The same rules and words as plan.yaml's; the column BatchName by its header name.
            for (const iss of parsed.error.issues) p.add(where, say(iss, row, (k) => (k === "batch" ? "BatchName" : k)));
            continue;
        }
        const { sourceConnectorName, targetConnectorName } = defaults;
        if (!sourceConnectorName || !targetConnectorName) {
            for (const [k, v] of [["sourceConnectorName", sourceConnectorName], ["targetConnectorName", targetConnectorName]] as const) {
                if (!v) p.add(where, `${k} is missing (set it under defaults: of the plan)`);
            }
            continue;
        }
        users.push({ ...parsed.data, sourceConnectorName, targetConnectorName, runs: [], where });
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
