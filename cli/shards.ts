/**
 * `cloudiway-migration shards <plan> --max-users N [--prefix P] [--init] [--rebalance] [--json]`:
 * whole batches to as few shards (stacks of the root project) as fit; existing shards keep their
 * batches and only new batches are placed (placement.ts), `--rebalance` packs again and lists the
 * moves; `--init` creates the stacks and sets their `cloudiway-migration:batches` (and `unbatched`, `planFile`).
 * `cloudiway-migration shards <plan> --changed-since <git-ref> [--json]`: the shards whose batches a
 * change of the plan file (or of the CSVs it names) touches, for a pull request's preview; every
 * shard when a plan-wide key or a project file changed.
 */
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { parse } from "yaml";
import { Plan, PlanError, loadPlan } from "../provider/plan";
import {
    Assignment, BATCHES_KEY, PLAN_FILE_KEY, UNBATCHED_KEY, ShardSpec, changedBatches, changedPlanKeys, matchesAny, projectFilesIn, readShardSpecs, selectShard, shardConfig,
} from "../provider/plan/shards";
import { MOVE_CONSEQUENCES, Placement, placeShards } from "../provider/plan/placement";

export const HELP = `Usage: cloudiway-migration shards <plan> --max-users <n> [--prefix <p>] [--init] [--rebalance] [--json] [--cwd <project dir>]
       cloudiway-migration shards <plan> --changed-since <git ref> [--json] [--cwd <project dir>]
       cloudiway-migration shards <plan> --list [--json] [--cwd <project dir>]

Splits a plan into shards: stacks of the root project, each deploying the batches named in its
stack config cloudiway-migration:batches (docs/large-plans-and-shards.md, "Shards").

  --max-users <n>        users per shard at most; whole batches are packed into as few shards as fit
                         (first-fit decreasing). A batch larger than <n> gets a shard of its own (a
                         warning). The users with no batch go to one shard (cloudiway-migration:unbatched).
                         Shards stay where they are: a batch that a stack config file already names stays
                         in that stack (one that grew past <n> too: a warning); only new batches are
                         placed, first into existing shards with room, then into new shards.
  --prefix <p>           names of new stacks: <p>shard-1, <p>shard-2, ... (default none)
  --init                 create those stacks in the project (or select them if they exist) and set their
                         cloudiway-migration:batches, cloudiway-migration:unbatched and
                         cloudiway-migration:planFile (the plan's path from the project directory);
                         stacks whose batches do not change are left as they are
  --rebalance            pack the whole plan again and move batches between stacks (the only way to move
                         one): prints each move (batch, from stack, to stack) and what it means for its
                         runs (new resources in another stack with another journal scope: sent again).
                         Without --init it only prints; nothing asks for confirmation
  --json                 print the assignment as JSON, for a CI matrix: {"stacks": [...], "shards": [{stack,
                         batches, users, unbatched}], "warnings": [...], "moves": [{batch, from, to, users, runs}]}
  --changed-since <ref>  instead: diff the plan file and the CSVs it names against <ref> (e.g.
                         origin/main) and list the shards, as their stack config files in the project
                         say, whose batches changed (a stack config file that changed counts too). Every
                         shard is listed when a plan-wide key changed (a top-level key other than batches,
                         users and csv: kind, adoptExisting, defaults, ...) or a project file did
                         (Pulumi.yaml, its main, the .ts/.js next to it, tsconfig.json, policy*.json,
                         policy/, package.json and package-lock.json there or above).
                         --json: {"since", "batches", "unbatched", "planWide", "projectFiles", "stacks",
                         "shards": [{stack, batches}], "notes"}
  --list                 instead: the project's shards as its stack config files say, with the plan's
                         batches each deploys and their users. --json: {"stacks", "shards": [{stack,
                         patterns, unbatched, batches, users}], "problems"} (a batch in no shard's list...)
  --cwd <dir>            the Pulumi project directory (default: the current directory)

The shards' lists are read from the project's stack config files, Pulumi.<stack>.yaml next to
Pulumi.yaml. The Pulumi CLI, the backend and the passphrase come from the environment, as for pulumi.
`;

interface Options { plan: string; maxUsers?: number; prefix: string; init: boolean; rebalance: boolean; json: boolean; list: boolean; cwd: string; changedSince?: string }

function options(argv: string[]): Options | undefined {
    const o: Partial<Options> & { prefix: string; init: boolean; rebalance: boolean; json: boolean; list: boolean } = { prefix: "", init: false, rebalance: false, json: false, list: false };
    const value = (i: number, flag: string) => {
        const v = argv[i + 1];
        if (v === undefined || v.startsWith("--")) throw new Error(`${flag} needs a value (see --help)`);
        return v;
    };
    for (let i = 0; i < argv.length; i++) {
        const a = argv[i];
        if (a === "--help" || a === "-h") return undefined;
        else if (a === "--init") o.init = true;
        else if (a === "--rebalance") o.rebalance = true;
        else if (a === "--json") o.json = true;
        else if (a === "--list") o.list = true;
        else if (a === "--max-users") o.maxUsers = Number(value(i++, a));
        else if (a === "--prefix") o.prefix = value(i++, a);
        else if (a === "--cwd") o.cwd = value(i++, a);
        else if (a === "--changed-since") o.changedSince = value(i++, a);
        else if (a.startsWith("--")) throw new Error(`unknown argument "${a}" (see --help)`);
        else if (o.plan === undefined) o.plan = a;
        else throw new Error(`one plan file only (got "${o.plan}" and "${a}")`);
    }
    if (!o.plan) throw new Error("the plan file is required (see --help)");
    if (o.changedSince === undefined && !o.list && o.maxUsers === undefined) throw new Error("--max-users <n> is required (see --help)");
    return { ...o, plan: o.plan, cwd: path.resolve(o.cwd ?? process.cwd()) };
}

/** The plan as the shards see it: connectors do not matter here (a bare CSV plan takes placeholders). */
export function readPlan(file: string): Plan {
    return loadPlan(file, { defaults: { sourceConnectorName: "(stack config)", targetConnectorName: "(stack config)" } });
}

export async function main(argv: string[]): Promise<void> {
    const o = options(argv);
    if (!o) { process.stdout.write(HELP); return; }
    const plan = readPlan(path.resolve(o.plan));
    if (o.changedSince !== undefined) return changed(o, plan, o.changedSince);
    if (o.list) return list(o, plan);
    const a = placeShards(plan, o.maxUsers!, readShardSpecs(o.cwd), { prefix: o.prefix, rebalance: o.rebalance });
    for (const w of a.warnings) process.stderr.write(`warning: ${w}\n`);
    if (o.init) await init(o, a);
    if (o.json) {
        const shards = a.shards.map(({ stack, batches, users, unbatched }) => ({ stack, batches, users, unbatched }));
        process.stdout.write(`${JSON.stringify({ maxUsers: a.maxUsers, stacks: shards.map((s) => s.stack), shards, warnings: a.warnings, moves: a.moves }, null, 2)}\n`);
        if (a.moves.length) process.stderr.write(`${MOVE_CONSEQUENCES.join("\n")}\n`);
    } else {
        process.stdout.write(table(a) + moves(a, o.init));
    }
}

/** The moves of a rebalance, and what they mean for the moved batches' runs. */
export function moves(a: Placement, applied: boolean): string {
    if (!a.moves.length) return "";
    const lines = a.moves.map((m) => `  ${m.batch.startsWith("(") ? m.batch.slice(1, -1) : `batch "${m.batch}"`} (${m.users} users${m.runs.length ? `, runs: ${m.runs.join(", ")}` : ", no runs"}): ${m.from} -> ${m.to}`);
    return `\n${a.moves.length} batch(es) move${applied ? "" : " (not applied: add --init)"}:\n${lines.join("\n")}\n${MOVE_CONSEQUENCES.join("\n")}\n`;
}

export function table(a: Assignment): string {
    const rows = a.shards.map((s) => [s.stack, String(s.users), [...s.batches, ...(s.unbatched ? ["(users with no batch)"] : [])].join(", ")]);
    const head = ["shard", "users", "batches"];
    const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
    const line = (r: string[]) => `${r[0].padEnd(w[0])}  ${r[1].padStart(w[1])}  ${r[2]}`.trimEnd();
    const total = a.shards.reduce((n, s) => n + s.users, 0);
    return `${[line(head), ...rows.map(line)].join("\n")}\n${a.shards.length} shard(s), ${total} users, at most ${a.maxUsers} per shard\n`;
}

/** Creates (or selects) each shard's stack, one at a time (pulumi/pulumi#8186), and sets its config. */
async function init(o: Options, a: Placement): Promise<void> {
    if (!fs.existsSync(path.join(o.cwd, "Pulumi.yaml"))) throw new Error(`--init: ${o.cwd} is not a Pulumi project (no Pulumi.yaml); give --cwd`);
    const { LocalWorkspace } = await import("@pulumi/pulumi/automation");
    const ws = await LocalWorkspace.create({ workDir: o.cwd });
    const existing = new Set((await ws.listStacks()).map((s) => s.name));
    const planFile = path.relative(o.cwd, path.resolve(o.plan)).split(path.sep).join("/");
    const changed = new Set(a.changed);
    for (const s of a.shards) {
        if (existing.has(s.stack) && !changed.has(s.stack)) { process.stderr.write(`kept stack ${s.stack}: unchanged\n`); continue; }
        if (existing.has(s.stack)) await ws.selectStack(s.stack); else await ws.createStack(s.stack);
        const config = shardConfig(s, planFile);
        await ws.setAllConfig(s.stack, Object.fromEntries(Object.entries(config).map(([k, v]) => [k, { value: v }])));
        if (!s.unbatched) await ws.removeConfig(s.stack, UNBATCHED_KEY).catch(() => undefined);
        process.stderr.write(`${existing.has(s.stack) ? "updated" : "created"} stack ${s.stack}: ${BATCHES_KEY} ${config[BATCHES_KEY]}${s.unbatched ? `, ${UNBATCHED_KEY} true` : ""}, ${PLAN_FILE_KEY} ${planFile}\n`);
    }
    const mine = new Set(a.shards.map((s) => s.stack));
    for (const other of readShardSpecs(o.cwd).filter((s) => !mine.has(s.stack))) {
        process.stderr.write(`warning: stack ${other.stack} (${other.where}) still sets ${BATCHES_KEY}: remove that stack or its key, or its batches are in two shards\n`);
    }
}

/** The project's shards (its stack config files) and what each deploys of the plan. */
export function listShards(projectDir: string, plan: Plan) {
    const specs = readShardSpecs(projectDir);
    if (!specs.length) throw new Error(`no stack of ${projectDir} sets ${BATCHES_KEY} (run shards --init first)`);
    const problems = new Set<string>();
    const shards = specs.map((s) => {
        const sel = selectShard(plan, s, specs);
        for (const p of sel.problems) problems.add(p);
        return { stack: s.stack, patterns: s.patterns, unbatched: s.unbatched, batches: sel.plan.batches.map((b) => b.name), users: sel.plan.users.length, where: s.where };
    });
    return { stacks: shards.map((s) => s.stack), shards, problems: [...problems] };
}

function list(o: Options, plan: Plan): void {
    const r = listShards(o.cwd, plan);
    for (const p of r.problems) process.stderr.write(`problem: ${p}\n`);
    if (o.json) process.stdout.write(`${JSON.stringify(r, null, 2)}\n`);
    else process.stdout.write(table({ maxUsers: Math.max(0, ...r.shards.map((s) => s.users)), warnings: [], shards: r.shards }));
    if (r.problems.length) process.exitCode = 1;
}

// ---------------------------------------------------------------- what a change touches
function git(cwd: string, args: string[]): string {
    return execFileSync("git", args, { cwd, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], maxBuffer: 256 * 1024 * 1024 });
}
function gitShow(top: string, ref: string, rel: string): string | undefined {
    try { return git(top, ["show", `${ref}:${rel}`]); } catch { return undefined; }
}

/** The plan as it was at `ref` (with the CSVs it named then), or undefined if it did not exist or does not load. */
export function planAt(ref: string, file: string): { plan?: Plan; note?: string } {
    const dir = path.dirname(file);
    const top = git(dir, ["rev-parse", "--show-toplevel"]).trim();
    git(top, ["rev-parse", "--verify", "--quiet", `${ref}^{commit}`]);
    const rel = path.relative(top, file).split(path.sep).join("/");
    const text = gitShow(top, ref, rel);
    if (text === undefined) return { note: `${rel} did not exist at ${ref}: every batch counts as changed` };
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "cw-base-"));
    try {
        const old = path.join(tmp, rel);
        fs.mkdirSync(path.dirname(old), { recursive: true });
        fs.writeFileSync(old, text);
        if (!/\.csv$/i.test(file)) {
            let csv: unknown;
            try { csv = (parse(text) as { csv?: unknown } | null)?.csv; } catch { csv = undefined; }
            for (const c of (Array.isArray(csv) ? csv : csv ? [csv] : []).map(String)) {
                const csvRel = path.posix.normalize(path.posix.join(path.posix.dirname(rel), c));
                const body = gitShow(top, ref, csvRel);
                if (body === undefined) continue;
                fs.mkdirSync(path.dirname(path.join(tmp, csvRel)), { recursive: true });
                fs.writeFileSync(path.join(tmp, csvRel), body);
            }
        }
        return { plan: readPlan(old) };
    } catch (e) {
        if (e instanceof PlanError) return { note: `${rel} at ${ref} does not load (${e.problems.length} problem(s)): every batch counts as changed` };
        throw e;
    } finally {
        fs.rmSync(tmp, { recursive: true, force: true });
    }
}

/**
 * The shards (as the project's stack config files say) whose batches changed since `ref`; every
 * shard when a plan-wide key of the plan file or a project file changed (shards.ts, changedPlanKeys
 * and projectFilesIn).
 */
export function changedShards(projectDir: string, planFile: string, ref: string): {
    since: string; batches: string[]; unbatched: boolean; planWide: string[]; projectFiles: string[];
    stacks: string[]; shards: { stack: string; batches: string[] }[]; notes: string[];
} {
    const now = readPlan(planFile);
    const { plan: before, note } = planAt(ref, planFile);
    const notes = note ? [note] : [];
    const diff = changedBatches(before, now);
    const shards: ShardSpec[] = readShardSpecs(projectDir);
    if (!shards.length) throw new Error(`no stack of ${projectDir} sets ${BATCHES_KEY} (run shards --init first)`);
    const top = git(projectDir, ["rev-parse", "--show-toplevel"]).trim();
    const toTop = (f: string) => path.relative(top, f).split(path.sep).join("/");
    // Plan-wide: a top-level key of the plan other than its batches and users; a project file.
    const was = before && !/\.csv$/i.test(planFile) ? gitShow(top, ref, toTop(planFile)) : undefined;
    const planWide = was === undefined ? [] : changedPlanKeys(was, fs.readFileSync(planFile, "utf8"));
    if (planWide.length) notes.push(`plan-wide key(s) of ${path.basename(planFile)} changed since ${ref} (${planWide.join(", ")}): every shard is listed`);
    let main: string | undefined;
    try { main = (parse(fs.readFileSync(path.join(projectDir, "Pulumi.yaml"), "utf8")) as { main?: unknown } | null)?.main as string | undefined; } catch { main = undefined; }
    const changedFiles = git(top, ["diff", "--name-only", "--no-renames", ref, "--"]).split("\n").filter((l) => l !== "");
    const projectFiles = projectFilesIn(changedFiles, toTop(projectDir) === "" ? "" : toTop(projectDir), typeof main === "string" ? main : undefined);
    if (projectFiles.length) notes.push(`project file(s) changed since ${ref} (${projectFiles.join(", ")}): every shard is listed`);
    const everyShard = planWide.length > 0 || projectFiles.length > 0;
    const out = shards.map((s) => {
        const batches = [...diff.batches].filter((b) => matchesAny(s.patterns, b));
        const rel = path.relative(top, path.join(projectDir, s.where)).split(path.sep).join("/");
        const configChanged = gitShow(top, ref, rel) !== fs.readFileSync(path.join(projectDir, s.where), "utf8");
        if (configChanged) notes.push(`${s.where} changed since ${ref}`);
        return { stack: s.stack, batches, touched: everyShard || batches.length > 0 || (diff.unbatched && s.unbatched) || configChanged };
    }).filter((s) => s.touched).map(({ stack, batches }) => ({ stack, batches }));
    return { since: ref, batches: [...diff.batches].sort(), unbatched: diff.unbatched, planWide, projectFiles, stacks: out.map((s) => s.stack), shards: out, notes };
}

function changed(o: Options, _plan: Plan, ref: string): void {
    const r = changedShards(o.cwd, path.resolve(o.plan), ref);
    for (const n of r.notes) process.stderr.write(`note: ${n}\n`);
    if (o.json) { process.stdout.write(`${JSON.stringify(r, null, 2)}\n`); return; }
    if (!r.stacks.length) { process.stdout.write(`no shard's batches changed since ${ref}\n`); return; }
    for (const s of r.shards) process.stdout.write(`${s.stack}${s.batches.length ? `: ${s.batches.join(", ")}` : ""}\n`);
}
