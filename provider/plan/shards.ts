/**
 * Shards of one plan: which batches a stack of the root project deploys, which stack deploys a
 * batch, and an assignment of whole batches to as few shards as fit. No Pulumi here (unit-tested
 * without the engine); the root program (index.ts) and the `shards` command use it.
 *
 *  - A shard is a stack whose config has `cloudiway-migration:batches`: batch names or globs, as a
 *    JSON list (`["Wave 1", "Wave 2*"]`) or comma-separated (`Wave 1,Wave 2*`). In a glob `*` is any
 *    run of characters and `?` one character; `\` makes the next character literal.
 *  - Users with no batch go to the one shard with `cloudiway-migration:unbatched` true.
 *  - The shards' lists are read from the project's stack config files (Pulumi.<stack>.yaml next to
 *    Pulumi.yaml): a batch in no shard's list, or in two, is a problem named as the batch's file:line.
 */
import * as fs from "fs";
import * as path from "path";
import { parse } from "yaml";
import type { Plan, PlanBatch, PlanUser } from "./load";

export const BATCHES_KEY = "cloudiway-migration:batches";
export const UNBATCHED_KEY = "cloudiway-migration:unbatched";
export const PLAN_FILE_KEY = "cloudiway-migration:planFile";

/** A stack that is a shard: its batch patterns and whether it takes the users with no batch. */
export interface ShardSpec {
    stack: string;
    patterns: string[];
    unbatched: boolean;
    /** Where its list was read (Pulumi.<stack>.yaml), or "stack config" for the running stack's own. */
    where: string;
}

// ---------------------------------------------------------------- patterns
/** A config value as a list of patterns: a JSON list of strings, or names separated by commas. */
export function parseBatchList(value: unknown): string[] {
    if (Array.isArray(value)) return value.map((v) => String(v).trim()).filter((v) => v !== "");
    if (value === undefined || value === null) return [];
    const text = String(value).trim();
    if (text.startsWith("[")) {
        let list: unknown;
        try { list = JSON.parse(text); } catch (e) {
            throw new Error(`${BATCHES_KEY}: not a JSON list (${e instanceof Error ? e.message : String(e)}); give a JSON list of strings or names separated by commas`);
        }
        if (!Array.isArray(list) || list.some((v) => typeof v !== "string")) throw new Error(`${BATCHES_KEY}: a JSON list must hold strings (batch names or globs)`);
        return parseBatchList(list);
    }
    return text.split(",").map((s) => s.trim()).filter((s) => s !== "");
}

/** A glob as an anchored RegExp: `*` any characters, `?` one, `\x` the character x. */
export function globToRegExp(glob: string): RegExp {
    let re = "";
    for (let i = 0; i < glob.length; i++) {
        const c = glob[i];
        if (c === "\\" && i + 1 < glob.length) re += escapeRe(glob[++i]);
        else if (c === "*") re += "[\\s\\S]*";
        else if (c === "?") re += "[\\s\\S]";
        else re += escapeRe(c);
    }
    return new RegExp(`^${re}$`, "u");
}
const escapeRe = (c: string) => c.replace(/[.*+?^${}()|[\]\\/-]/g, "\\$&");

/** A batch name as a pattern that matches only it (its `*`, `?` and `\` escaped). */
export function literalPattern(name: string): string {
    return name.replace(/[*?\\]/g, "\\$&");
}

export function matchesAny(patterns: readonly string[], name: string): boolean {
    return patterns.some((p) => globToRegExp(p).test(name));
}

// ---------------------------------------------------------------- the project's shards
/**
 * The shards of a project, from its stack config files (Pulumi.<stack>.yaml next to Pulumi.yaml):
 * every stack whose config sets `cloudiway-migration:batches`. Sorted by stack name.
 */
export function readShardSpecs(projectDir: string): ShardSpec[] {
    let names: string[];
    try { names = fs.readdirSync(projectDir); } catch { return []; }
    const out: ShardSpec[] = [];
    for (const f of names) {
        const m = /^Pulumi\.(.+)\.ya?ml$/.exec(f);
        if (!m) continue;
        let doc: unknown;
        try { doc = parse(fs.readFileSync(path.join(projectDir, f), "utf8")); } catch { continue; }
        const config = (doc && typeof doc === "object" ? (doc as { config?: unknown }).config : undefined) as Record<string, unknown> | undefined;
        if (!config || typeof config !== "object" || !(BATCHES_KEY in config)) continue;
        out.push({ stack: m[1], patterns: parseBatchList(config[BATCHES_KEY]), unbatched: isTrue(config[UNBATCHED_KEY]), where: f });
    }
    return out.sort((a, b) => a.stack.localeCompare(b.stack));
}

export function isTrue(v: unknown): boolean {
    return v === true || (typeof v === "string" && /^(true|1|yes)$/i.test(v.trim()));
}

// ---------------------------------------------------------------- which stack deploys what
export interface Selection {
    /** The plan as this stack deploys it: its batches, their users, and (if unbatched) the users with no batch. */
    plan: Plan;
    /** The stack that deploys each batch of the whole plan (the first whose list matches it). */
    stackOf: Map<string, string>;
    /** Problems that make the preview fail, as `file:line: message`. */
    problems: string[];
    /** What is worth saying but deploys anyway (a pattern that matches no batch). */
    warnings: string[];
}

/**
 * What stack `self` deploys of `plan`, given every shard of the project (`shards`; `self`'s own
 * entry replaces any of the same name). Every batch must be in exactly one shard's list; users with
 * no batch need exactly one shard with `unbatched`.
 */
export function selectShard(plan: Plan, self: ShardSpec, shards: readonly ShardSpec[]): Selection {
    const all = [...shards.filter((s) => s.stack !== self.stack), self].sort((a, b) => a.stack.localeCompare(b.stack));
    const problems: string[] = [];
    const warnings: string[] = [];
    const stackOf = new Map<string, string>();
    for (const b of plan.batches) {
        const owners = all.filter((s) => matchesAny(s.patterns, b.name));
        if (!owners.length) {
            problems.push(`${b.where}: batch "${b.name}" is in no shard's ${BATCHES_KEY} (${all.map(describeShard).join("; ")}): add it, or a glob that matches it, to one shard's list`);
        } else {
            if (owners.length > 1) problems.push(`${b.where}: batch "${b.name}" is in the ${BATCHES_KEY} of ${owners.length} shards (${owners.map(describeShard).join("; ")}): a batch belongs to one shard`);
            stackOf.set(b.name, owners[0].stack);
        }
    }
    for (const p of self.patterns) {
        if (!plan.batches.some((b) => globToRegExp(p).test(b.name))) warnings.push(`${BATCHES_KEY} of stack ${self.stack}: "${p}" matches no batch of ${path.basename(plan.file)}`);
    }
    const loose = plan.users.filter((u) => !u.batch);
    const takers = all.filter((s) => s.unbatched);
    if (loose.length && !takers.length) {
        problems.push(`${loose[0].where}: ${loose.length} user(s) are in no batch and no shard takes them: set ${UNBATCHED_KEY} true on one shard`);
    }
    if (takers.length > 1) {
        problems.push(`${UNBATCHED_KEY} is true on ${takers.length} shards (${takers.map((s) => `${s.stack} in ${s.where}`).join(", ")}): set it on exactly one`);
    }
    const mine = new Set(plan.batches.filter((b) => stackOf.get(b.name) === self.stack).map((b) => b.name));
    const takesLoose = self.unbatched;
    const users = plan.users.filter((u) => (u.batch ? mine.has(u.batch) : takesLoose));
    return {
        plan: { ...plan, batches: plan.batches.filter((b) => mine.has(b.name)), users },
        stackOf, problems, warnings,
    };
}

function describeShard(s: ShardSpec): string {
    return `${s.stack}: ${s.patterns.length ? s.patterns.map((p) => JSON.stringify(p)).join(", ") : "(empty)"}${s.unbatched ? " + users with no batch" : ""}`;
}

// ---------------------------------------------------------------- assignment
export interface Shard {
    stack: string;
    batches: string[];
    users: number;
    /** It takes the users with no batch. */
    unbatched: boolean;
}
export interface Assignment { shards: Shard[]; warnings: string[]; maxUsers: number }

/**
 * Whole batches to as few shards as fit `maxUsers` users each (first-fit decreasing), the users
 * with no batch as one more item (its shard gets `unbatched`). A batch larger than `maxUsers` gets
 * a shard of its own, with a warning. Shards are named `<prefix>shard-1`, ... (largest first); each
 * lists its batches in the plan's order.
 */
export function assignShards(plan: Pick<Plan, "batches" | "users">, maxUsers: number, prefix = ""): Assignment {
    if (!Number.isInteger(maxUsers) || maxUsers < 1) throw new Error(`--max-users must be a whole number of 1 or more (got ${maxUsers})`);
    const size = usersPerBatch(plan);
    const order = new Map(plan.batches.map((b, i) => [b.name, i]));
    const NONE = "\u0000(no batch)";
    const items = plan.batches.map((b) => ({ name: b.name, users: size.get(b.name) ?? 0 }));
    const loose = plan.users.filter((u) => !u.batch).length;
    if (loose) items.push({ name: NONE, users: loose });
    // Largest first; ties in the plan's order (stable sort), the users with no batch last among equals.
    items.sort((a, b) => b.users - a.users);
    const warnings: string[] = [];
    const bins: { items: string[]; users: number }[] = [];
    for (const it of items) {
        if (it.users > maxUsers) {
            warnings.push(`${it.name === NONE ? "the users with no batch" : `batch "${it.name}"`} has ${it.users} users, more than --max-users ${maxUsers}: it gets a shard of its own`);
            bins.push({ items: [it.name], users: it.users });
            continue;
        }
        const bin = bins.find((b) => b.users + it.users <= maxUsers);
        if (bin) { bin.items.push(it.name); bin.users += it.users; } else bins.push({ items: [it.name], users: it.users });
    }
    if (!bins.length) bins.push({ items: [], users: 0 }); // an empty plan: one shard still deploys it
    const shards = bins.map((b, i) => ({
        stack: `${prefix}shard-${i + 1}`,
        batches: b.items.filter((n) => n !== NONE).sort((x, y) => order.get(x)! - order.get(y)!),
        users: b.users,
        unbatched: b.items.includes(NONE),
    }));
    return { shards, warnings, maxUsers };
}

export function usersPerBatch(plan: Pick<Plan, "users">): Map<string, number> {
    const size = new Map<string, number>();
    for (const u of plan.users) if (u.batch) size.set(u.batch, (size.get(u.batch) ?? 0) + 1);
    return size;
}

/**
 * The stack config of a shard, as `shards --init` sets it: its batches as a JSON list of exact names
 * (or the patterns it keeps: an existing shard's own list, with the new batches' names added).
 */
export function shardConfig(s: Shard & { patterns?: string[] }, planFile?: string): Record<string, string> {
    return {
        [BATCHES_KEY]: JSON.stringify(s.patterns ?? s.batches.map(literalPattern)),
        ...(s.unbatched ? { [UNBATCHED_KEY]: "true" } : {}),
        ...(planFile ? { [PLAN_FILE_KEY]: planFile } : {}),
    };
}

// ---------------------------------------------------------------- what a change touches
/**
 * The batches whose declaration differs between two plans: settings, runs, or users (added,
 * removed, changed, moved in or out). A user with no batch that changed touches `null` (the
 * unbatched shard).
 */
export function changedBatches(before: Plan | undefined, after: Plan): { batches: Set<string>; unbatched: boolean } {
    const batches = new Set<string>();
    let unbatched = false;
    if (!before) { for (const b of after.batches) batches.add(b.name); return { batches, unbatched: after.users.some((u) => !u.batch) }; }
    const batchKey = (b: PlanBatch) => JSON.stringify({ settings: b.settings ?? null, runs: b.runs.map(({ where: _w, ...r }) => r) });
    const was = new Map(before.batches.map((b) => [b.name, batchKey(b)]));
    const now = new Map(after.batches.map((b) => [b.name, batchKey(b)]));
    for (const [name, key] of now) if (was.get(name) !== key) batches.add(name);
    for (const name of was.keys()) if (!now.has(name)) batches.add(name);
    const userKey = (u: PlanUser) => { const { where: _w, runs, ...rest } = u; return JSON.stringify({ ...rest, runs: runs.map(({ where: _x, ...r }) => r) }); };
    const touch = (b: string | undefined) => { if (b) batches.add(b); else unbatched = true; };
    const old = new Map(before.users.map((u) => [u.sourceEmail, u]));
    const seen = new Set<string>();
    for (const u of after.users) {
        seen.add(u.sourceEmail);
        const o = old.get(u.sourceEmail);
        if (!o) { touch(u.batch); continue; }
        if (userKey(o) !== userKey(u)) { touch(u.batch); if (o.batch !== u.batch) touch(o.batch); }
    }
    for (const o of before.users) if (!seen.has(o.sourceEmail)) touch(o.batch);
    return { batches, unbatched };
}

// ---------------------------------------------------------------- what concerns every shard
/** Top-level keys of a plan file whose change is compared batch by batch (changedBatches), not plan-wide. */
const PER_BATCH_KEYS = new Set(["batches", "users", "csv"]);

/**
 * The top-level keys of a YAML plan that differ between two texts, other than `batches`, `users` and
 * `csv` (whose users and batches changedBatches compares): `kind`, `adoptExisting`, `defaults`, the
 * connectors... A change to one concerns every shard. A text that does not parse counts as changed.
 */
export function changedPlanKeys(before: string, after: string): string[] {
    const top = (text: string): Record<string, unknown> | undefined => {
        try {
            const d: unknown = parse(text);
            return d === null || d === undefined ? {} : typeof d === "object" && !Array.isArray(d) ? (d as Record<string, unknown>) : undefined;
        } catch { return undefined; }
    };
    const a = top(before), b = top(after);
    if (!a || !b) return ["(the plan file as a whole: it does not parse as a YAML mapping)"];
    const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
    return [...keys].filter((k) => !PER_BATCH_KEYS.has(k) && JSON.stringify(a[k]) !== JSON.stringify(b[k])).sort();
}

const PACKAGE_FILES = new Set(["package.json", "package-lock.json", "npm-shrinkwrap.json", "yarn.lock", "pnpm-lock.yaml"]);

/**
 * Of `changed` (paths relative to the repository's top, "/"-separated), the project files whose change
 * concerns every shard of the project in `projectRel` (relative to the top, "" for the top itself):
 * Pulumi.yaml, the program (Pulumi.yaml's `main`, and the .ts/.js files next to Pulumi.yaml),
 * tsconfig.json, the policy config (policy*.json) and a `policy/` folder there, and the package files
 * (package.json, package-lock.json, ...) there or in a folder above it (the installed package).
 */
export function projectFilesIn(changed: readonly string[], projectRel: string, main?: string): string[] {
    const dir = projectRel.replace(/\/+$/, "");
    const inDir = (p: string, d: string) => (d === "" ? true : p === d || p.startsWith(`${d}/`));
    const mainPath = main ? path.posix.normalize(path.posix.join(dir, main)).replace(/\/+$/, "") : undefined;
    return changed.filter((p) => {
        const parent = path.posix.dirname(p) === "." ? "" : path.posix.dirname(p);
        const base = path.posix.basename(p);
        if (PACKAGE_FILES.has(base) && inDir(dir, parent)) return true; // the project's folder or one above it
        if (mainPath && inDir(p, mainPath)) return true;
        if (!inDir(p, dir)) return false;
        const rest = dir === "" ? p : p.slice(dir.length + 1);
        if (rest.startsWith("policy/")) return true;
        if (rest.includes("/")) return false;
        return /^Pulumi\.ya?ml$/.test(rest) || rest === "tsconfig.json" || /^policy.*\.json$/i.test(rest) || /\.(ts|js|mjs|cjs)$/.test(rest);
    });
}
