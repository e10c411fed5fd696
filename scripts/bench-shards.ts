/**
 * The shards section of `npm run bench` (also `npm run bench:shards -- [options]`): one plan as
 * shards side by side (docs/large-plans-and-shards.md, "Shards") against one stack of a shard's size.
 * In one run, against the emulator at --latency-ms, for a plan of --users users in batches of
 * --batch-size (users, batches, memberships, settings; no MigrationRuns):
 *  (1) one stack of --shard-users users (the first batches of the plan, in a plan file of their own),
 *      deployed by the root project (cloudiway-migration:planFile) with
 *      `pulumi up --yes --skip-preview --parallel P`;
 *  (2) the whole plan as shards of --shard-users users (`cloudiway-migration shards plan.yaml
 *      --max-users S --prefix j1- --init`), then `cloudiway-migration up --all-shards --jobs 1
 *      --parallel P`, on a fresh tenant;
 *  (3) the same with `--jobs 2` (fresh tenant, fresh stacks: prefix j2-).
 * For each: wall seconds, the requests the emulator counted, and per process (engine, language host,
 * program, dynamic provider; per shard where several run) CPU seconds and peak RSS, sampled from /proc
 * as the scale bench does (harness/processes.ts). Then the checks, met or MISSED with their figures:
 * --jobs 2 at least 1.6x faster than --jobs 1, and no process of the sharded runs above the one-stack
 * figures (peak RSS and CPU per role, within --tolerance). One JSON under bench/results/shards-<time>.json.
 *
 * Each case runs the root project (dist/index.js) from a throwaway project folder of its own under
 * .test-stacks/ (the harness's EngineProject, harness/engine.ts: the package resolves and its
 * Pulumi.<stack>.yaml files never land in the repository), with a file backend and a PULUMI_HOME in
 * a temp folder, in fast mode (PULUMI_SKIP_CHECKPOINTS=true). Figures, not tests.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { EmulatorControl, StatsView, startEmulator } from "../emulator";
import { EngineProject, REPO, engineBinDir } from "../harness/engine";
import { RssSampler, SampledProcess } from "../harness/processes";
import { parseArgs } from "./args";
import { writeResult } from "./bench-scale";

const CLI = path.join(REPO, "dist", "cli", "index.js");
/** The roles of a pulumi run's processes, in the order the tables show them. */
export const ROLES = ["engine", "languageHost", "program", "provider"] as const;
export type Role = (typeof ROLES)[number];

export interface ShardsOptions {
    /** Users of the whole plan. */
    users: number;
    /** Users per shard (--max-users of `shards`), and the size of the one stack (1). */
    shardUsers: number;
    batchSize: number;
    latencyMs: number;
    /** The engine's --parallel of every up. */
    parallel: number;
    /** The client's pool in each provider process (CLOUDIWAY_CONNECTIONS). */
    connections: number;
    /** Slack of the "no process above the one-stack figures" check (0.1: 10% more is still met). */
    tolerance: number;
    /** The --jobs of (2) and (3). */
    jobs: [number, number];
    /** Keep the project folders, state and logs (their path is printed). */
    keep: boolean;
}

export const SHARDS_USAGE = `shards section options (npm run bench:shards -- [options], or npm run bench -- --section shards [options]):
  --users 20000          users of the whole plan
  --shard-users 5000     users per shard (shards --max-users), and the size of the one stack (1)
  --batch-size 500       users per batch
  --latency-ms 100       injected API latency per request
  --parallel 64          the engine's --parallel of every up
  --connections 64       the client's pool in each provider process (CLOUDIWAY_CONNECTIONS)
  --jobs 1,2             the up --all-shards --jobs of cases (2) and (3)
  --tolerance 0.1        "no process above the one-stack figures" is met up to this much more (0: strictly)
  --keep                 keep the throwaway projects, state and logs (under .test-stacks/ and the temp folder)`;

/** What one role's processes of one pulumi up took. */
export interface RoleFigures { cpuSeconds: number; peakRssMb: number; processes: number }

/** One `pulumi up` (a stack, or a shard of `up --all-shards`). */
export interface UpFigures {
    stack: string;
    /** The shard's own seconds as `up --all-shards --json` reported them (the one stack: the wall time). */
    seconds: number;
    users: number;
    batches: number;
    roles: Partial<Record<Role, RoleFigures>>;
}

export interface CaseResult {
    name: string;
    label: string;
    command: string;
    jobs?: number;
    wallSeconds: number;
    /** `shards --init` (not in the wall time). */
    initSeconds?: number;
    requests: number;
    mutating: number;
    byCall: Record<string, number>;
    ups: UpFigures[];
    /** The `up --all-shards` process itself and the other pulumi commands it runs (stack select, history...). */
    driver?: { cpuSeconds: number; peakRssMb: number; pulumiCommands: number; pulumiCpuSeconds: number };
    /** The emulator, in the bench's own process (with the sampler). */
    emulatorCpuSeconds: number;
    /** Users and batches in the tenant afterwards. */
    tenant: { users: number; batches: number };
    /** The whole machine during the case (/proc/stat): CPU seconds busy, and cores busy on average (busy / wall). */
    machine?: { busyCpuSeconds: number; coresBusy: number };
}

export interface Check { check: string; met: boolean; figures: string }

export interface ShardsResult {
    at: string; node: string; cores: number;
    options: ShardsOptions;
    plan: { users: number; batches: number; oneStackUsers: number; oneStackBatches: number };
    cases: CaseResult[];
    checks: Check[];
}

const round = (n: number, d = 1) => Number(n.toFixed(d));

/** CPU seconds the whole machine has been busy since boot (/proc/stat: every state but idle and iowait). */
export function machineBusySeconds(stat = fs.readFileSync("/proc/stat", "utf8")): number {
    const f = (/^cpu\s+(.*)$/m.exec(stat)?.[1] ?? "").trim().split(/\s+/).map(Number);
    // user nice system idle iowait irq softirq steal (guest time is already in user)
    const busy = [0, 1, 2, 5, 6, 7].reduce((n, i) => n + (f[i] || 0), 0);
    return busy / 100; // USER_HZ
}

// ---------------------------------------------------------------- the plan
const batchName = (b: number) => `Shard bench ${String(b + 1).padStart(4, "0")}`;

/** The plan's batches: `users` users in batches of `batchSize` (the last one may be smaller). */
export function planBatches(users: number, batchSize: number): { name: string; first: number; count: number }[] {
    const out: { name: string; first: number; count: number }[] = [];
    for (let first = 0, b = 0; first < users; first += batchSize, b++) out.push({ name: batchName(b), first, count: Math.min(batchSize, users - first) });
    return out;
}

/** A plan file (provider/plan/README.md) of those batches, inline users, connectors the emulator knows. */
export function planYaml(batches: { name: string; first: number; count: number }[]): string {
    const lines = [
        "# Written by scripts/bench-shards.ts",
        "kind: mail",
        "defaults:",
        "  sourceConnectorName: Gmail",
        "  targetConnectorName: Office 365",
        "  settings: { shouldMigrateMails: true, shouldMigrateCalendars: true, shouldMigrateContacts: true, shouldMigrateTrash: false }",
        "batches:",
    ];
    for (const b of batches) {
        lines.push(`  - name: ${b.name}`, "    users:");
        for (let i = b.first; i < b.first + b.count; i++) {
            lines.push(`      - { firstName: Shard${i}, lastName: User, sourceEmail: shard${i}@source.example, targetEmail: shard${i}@target.example }`);
        }
    }
    return `${lines.join("\n")}\n`;
}

// ---------------------------------------------------------------- a throwaway root project
/**
 * The root project (Pulumi.yaml `cloudiway-migration`, the program dist/index.js) in a throwaway
 * folder of the harness (harness/engine.ts: its own backend and PULUMI_HOME), in fast mode, the API
 * and credentials from the environment, `plan.yaml` written beside it.
 */
function rootProject(name: string, apiUrl: string, o: ShardsOptions, planText: string): EngineProject {
    const p = new EngineProject({
        name: `bench-shards-${name}`, apiUrl, program: path.join(REPO, "dist", "index.js"), project: "cloudiway-migration", credentialsFromEnv: true,
        timeoutMs: 0, // a large plan's up takes as long as it takes
        env: { CLOUDIWAY_API_URL: apiUrl, PULUMI_SKIP_CHECKPOINTS: "true", CLOUDIWAY_CONNECTIONS: String(o.connections) },
    });
    fs.writeFileSync(path.join(p.dir, "plan.yaml"), planText);
    return p;
}

/** Runs `cmd args` in the project, its process tree sampled from its start: wall seconds, output, the processes seen. */
async function sampled(p: EngineProject, cmd: string, args: string[], rootRole?: string): Promise<{ seconds: number; stdout: string; processes: SampledProcess[] }> {
    let sampler: RssSampler | undefined;
    const t0 = Date.now();
    const r = await p.exec(cmd, args, { allowFailure: true, onSpawn: (pid) => { sampler = new RssSampler(pid, rootRole); sampler.start(); } });
    const seconds = (Date.now() - t0) / 1000;
    sampler?.stop();
    if (r.code !== 0) throw new Error(`${path.basename(cmd)} ${args.join(" ")} exited ${r.code}:\n${tail(r.stdout + r.stderr, 40)}`);
    return { seconds, stdout: r.stdout, processes: sampler?.processes() ?? [] };
}

/** A command of the cloudiway-migration CLI in the project; its output. */
async function cliIn(p: EngineProject, args: string[]): Promise<string> {
    const r = await p.exec(process.execPath, [CLI, ...args], { allowFailure: true });
    if (r.code !== 0) throw new Error(`cloudiway-migration ${args.join(" ")} exited ${r.code}:\n${tail(r.stdout + r.stderr)}`);
    return r.stdout;
}

function tail(text: string, lines = 20): string {
    return text.trim().split("\n").slice(-lines).map((l) => `    ${l}`).join("\n");
}

/** The value after `--stack` in a command line. */
const stackOf = (cmd: string) => / --stack (\S+)/.exec(` ${cmd}`)?.[1];
/** A `pulumi up` engine process (not another pulumi command the Automation API runs). */
const isUpEngine = (p: SampledProcess) => p.role === "engine" && /(^|\/)pulumi up /.test(p.cmd);

/**
 * The processes of a sampled tree grouped by the `pulumi up` they belong to (the nearest `pulumi up`
 * ancestor, named by its --stack), per role; the rest (the root, other pulumi commands) apart.
 */
export function byUp(processes: SampledProcess[]): { ups: Map<string, Partial<Record<Role, RoleFigures>>>; rest: SampledProcess[] } {
    const byPid = new Map(processes.map((p) => [p.pid, p]));
    const ups = new Map<string, Partial<Record<Role, RoleFigures>>>();
    const rest: SampledProcess[] = [];
    for (const p of processes) {
        let up: SampledProcess | undefined;
        for (let q: SampledProcess | undefined = p; q && !up; q = byPid.get(q.ppid)) if (isUpEngine(q)) up = q;
        const stack = up ? stackOf(up.cmd) ?? "(stack)" : undefined;
        const role = (ROLES as readonly string[]).includes(p.role) ? (p.role as Role) : undefined;
        if (!stack || !role) { rest.push(p); continue; }
        const roles = ups.get(stack) ?? ups.set(stack, {}).get(stack)!;
        const f = roles[role] ?? (roles[role] = { cpuSeconds: 0, peakRssMb: 0, processes: 0 });
        f.cpuSeconds = round(f.cpuSeconds + p.cpuSeconds, 2);
        f.peakRssMb = Math.max(f.peakRssMb, p.peakMb);
        f.processes++;
    }
    return { ups, rest };
}

// ---------------------------------------------------------------- the cases
class Rig {
    readonly control: EmulatorControl;
    /** The projects of the cases, removed at the end (unless --keep). */
    readonly projects: EngineProject[] = [];
    private constructor(readonly emu: Awaited<ReturnType<typeof startEmulator>>, readonly o: ShardsOptions) {
        this.control = new EmulatorControl(emu);
    }
    static async start(o: ShardsOptions): Promise<Rig> {
        // No runs in the plan: passes never start; the clock is slow anyway, as in the scale bench.
        const emu = await startEmulator({ port: 0, quiet: true, transitionMs: 3_600_000 });
        return new Rig(emu, o);
    }
    async close(log: (s: string) => void): Promise<void> {
        await this.emu.close();
        for (const p of this.projects) {
            // Each project's commands and their output, beside its state.
            fs.writeFileSync(path.join(p.home, "output.log"), p.log.join("\n"));
            if (this.o.keep) log(`kept ${p.dir} (project) and ${p.home} (state, home, output.log)`);
            else await p.dispose();
        }
    }
    project(name: string, planText: string): EngineProject {
        const p = rootProject(name, this.emu.url, this.o, planText);
        this.projects.push(p);
        return p;
    }
    /** An empty tenant with the latency, stats zeroed. */
    async freshTenant(): Promise<void> {
        await this.control.reset();
        await this.control.setFaults({ latencyMs: this.o.latencyMs });
    }
    async tenant(): Promise<{ users: number; batches: number }> {
        const s = await this.control.state();
        return { users: s.mail.users.length, batches: s.mail.batches.length };
    }
    /** Times `f` (stats reset first): requests from the emulator, its CPU from this process, the machine's busy CPU. */
    async measured<T>(f: () => Promise<T>): Promise<{ value: T; stats: StatsView; emulatorCpuSeconds: number; machine: { busyCpuSeconds: number; coresBusy: number } }> {
        await this.control.resetStats();
        const cpu0 = process.cpuUsage();
        const busy0 = machineBusySeconds();
        const t0 = Date.now();
        const value = await f();
        const cpu = process.cpuUsage(cpu0);
        const busy = machineBusySeconds() - busy0;
        const machine = { busyCpuSeconds: round(busy), coresBusy: round(busy / ((Date.now() - t0) / 1000), 2) };
        return { value, stats: await this.control.stats(), emulatorCpuSeconds: round((cpu.user + cpu.system) / 1e6), machine };
    }
}

/** (1): one stack of the first batches, the root project with its planFile, one `pulumi up`. */
async function oneStack(rig: Rig, batches: ReturnType<typeof planBatches>, log: (s: string) => void): Promise<CaseResult> {
    const o = rig.o;
    const users = batches.reduce((n, b) => n + b.count, 0);
    const p = rig.project("one", planYaml(batches));
    await rig.freshTenant();
    await p.pulumi(["login", p.backendUrl]);
    await p.pulumi(["stack", "init", "one"]);
    await p.pulumi(["config", "set", "--stack", "one", "cloudiway-migration:planFile", "plan.yaml"]);
    const args = ["up", "--yes", "--skip-preview", "--parallel", String(o.parallel), "--stack", "one", "--non-interactive"];
    log(`(1) one stack, ${users} users / ${batches.length} batches: pulumi ${args.join(" ")}...`);
    const m = await rig.measured(() => sampled(p, "pulumi", args));
    const { ups } = byUp(m.value.processes);
    return {
        name: "one-stack", label: `(1) one stack, ${users} users`, command: `pulumi ${args.join(" ")}`,
        wallSeconds: round(m.value.seconds, 2), requests: m.stats.total, mutating: m.stats.mutating, byCall: m.stats.byCall,
        ups: [{ stack: "one", seconds: round(m.value.seconds, 2), users, batches: batches.length, roles: ups.get("one") ?? {} }],
        emulatorCpuSeconds: m.emulatorCpuSeconds, tenant: await rig.tenant(), machine: m.machine,
    };
}

interface AllShardsJson { seconds: number; jobs: number; results: { stack: string; ok: boolean; seconds: number; changes: Record<string, number>; error?: string }[] }
interface ShardsJson { shards: { stack: string; batches: string[]; users: number }[] }

/** (2), (3): the whole plan as shards (`shards --init`), then `up --all-shards --jobs N`. */
async function sharded(rig: Rig, plan: string, jobs: number, name: string, label: string, log: (s: string) => void): Promise<CaseResult> {
    const o = rig.o;
    const prefix = `${name}-`;
    const p = rig.project(name, plan);
    await rig.freshTenant();
    await p.pulumi(["login", p.backendUrl]);
    log(`${label}: cloudiway-migration shards plan.yaml --max-users ${o.shardUsers} --prefix ${prefix} --init...`);
    const t0 = Date.now();
    const split = JSON.parse(await cliIn(p, ["shards", "plan.yaml", "--max-users", String(o.shardUsers), "--prefix", prefix, "--init", "--json", "--cwd", p.dir])) as ShardsJson;
    const initSeconds = round((Date.now() - t0) / 1000, 2);
    const args = ["up", "--all-shards", "--jobs", String(jobs), "--parallel", String(o.parallel), "--json", "--cwd", p.dir];
    log(`${label}: ${split.shards.length} shards; cloudiway-migration ${args.join(" ")}...`);
    const m = await rig.measured(() => sampled(p, process.execPath, [CLI, ...args], "driver"));
    const report = JSON.parse(m.value.stdout) as AllShardsJson;
    const failed = report.results.filter((r) => !r.ok);
    if (failed.length) throw new Error(`${label}: shard(s) failed: ${failed.map((r) => `${r.stack}: ${r.error}`).join("; ")}`);
    const { ups, rest } = byUp(m.value.processes);
    const driver = rest.find((x) => x.role === "driver");
    const pulumiCommands = rest.filter((x) => x.role === "engine");
    return {
        name, label, jobs, command: `cloudiway-migration ${args.slice(0, -2).join(" ")}`,
        wallSeconds: round(m.value.seconds, 2), initSeconds, requests: m.stats.total, mutating: m.stats.mutating, byCall: m.stats.byCall,
        ups: split.shards.map((s) => ({
            stack: s.stack, seconds: report.results.find((r) => r.stack === s.stack)?.seconds ?? 0, users: s.users, batches: s.batches.length,
            roles: ups.get(s.stack) ?? {},
        })),
        driver: {
            cpuSeconds: round(driver?.cpuSeconds ?? 0, 2), peakRssMb: driver?.peakMb ?? 0,
            pulumiCommands: pulumiCommands.length, pulumiCpuSeconds: round(pulumiCommands.reduce((n, x) => n + x.cpuSeconds, 0), 2),
        },
        emulatorCpuSeconds: m.emulatorCpuSeconds, tenant: await rig.tenant(), machine: m.machine,
    };
}

/** The checks: --jobs 2 against --jobs 1, and every shard's processes against the one stack's, per role. */
export function checks(cases: CaseResult[], o: ShardsOptions): Check[] {
    const out: Check[] = [];
    const [one, j1, j2] = cases;
    const ratio = j1.wallSeconds / j2.wallSeconds;
    out.push({ check: `--jobs ${o.jobs[1]} is at least 1.6x faster than --jobs ${o.jobs[0]}`, met: ratio >= 1.6, figures: `${round(ratio, 2)}x (${j1.wallSeconds} s / ${j2.wallSeconds} s)` });
    const base = one.ups[0].roles;
    const slack = o.tolerance ? ` (within ${Math.round(o.tolerance * 100)}%)` : "";
    // Besides the tolerance, one unit of what is measured: a CPU clock tick (0.01 s), a MB of rounding.
    for (const [what, key, unit, resolution] of [["peak RSS", "peakRssMb", "MB", 1], ["CPU", "cpuSeconds", "s", 0.01]] as const) {
        for (const role of ROLES) {
            const limit = base[role]?.[key];
            if (limit === undefined) continue;
            let worst: { stack: string; v: number } | undefined;
            for (const c of [j1, j2]) for (const u of c.ups) {
                const v = u.roles[role]?.[key] ?? 0;
                if (!worst || v > worst.v) worst = { stack: u.stack, v };
            }
            const w = worst ?? { stack: "-", v: 0 };
            out.push({
                check: `no ${role} process of the sharded runs exceeds the one stack's ${what}${slack}`,
                met: w.v <= Math.max(limit * (1 + o.tolerance), limit + resolution),
                figures: `highest ${w.v} ${unit} (${w.stack}) vs one stack ${limit} ${unit}`,
            });
        }
    }
    for (const c of cases) {
        const want = c.ups.reduce((n, u) => n + u.users, 0);
        out.push({ check: `${c.label}: every user and batch in the tenant once`, met: c.tenant.users === want && c.tenant.batches === c.ups.reduce((n, u) => n + u.batches, 0), figures: `${c.tenant.users} users, ${c.tenant.batches} batches` });
    }
    return out;
}

/** bench/results/shards-<time>.json of this run. */
let resultFile: string | undefined;

export async function shardsBench(o: ShardsOptions, log: (s: string) => void = () => undefined): Promise<ShardsResult> {
    engineBinDir(); // builds or finds the engine first: a clear error before anything starts
    const all = planBatches(o.users, o.batchSize);
    const firstOnes: typeof all = [];
    for (const b of all) {
        if (firstOnes.reduce((n, x) => n + x.count, 0) + b.count > o.shardUsers && firstOnes.length) break;
        firstOnes.push(b);
    }
    const r: ShardsResult = {
        at: new Date().toISOString(), node: process.version, cores: os.cpus().length, options: o,
        plan: { users: o.users, batches: all.length, oneStackUsers: firstOnes.reduce((n, b) => n + b.count, 0), oneStackBatches: firstOnes.length },
        cases: [], checks: [],
    };
    const rig = await Rig.start(o);
    try {
        const plan = planYaml(all);
        // The file is rewritten after each case, so a long run that is stopped keeps what it measured.
        const save = () => { resultFile ??= writeResult("shards", r); fs.writeFileSync(resultFile, JSON.stringify(r, null, 2)); };
        r.cases.push(await oneStack(rig, firstOnes, log));
        save();
        r.cases.push(await sharded(rig, plan, o.jobs[0], `j${o.jobs[0]}`, `(2) ${o.users} users as shards, --jobs ${o.jobs[0]}`, log));
        save();
        r.cases.push(await sharded(rig, plan, o.jobs[1], `j${o.jobs[1]}${o.jobs[1] === o.jobs[0] ? "b" : ""}`, `(3) ${o.users} users as shards, --jobs ${o.jobs[1]}`, log));
        r.checks = checks(r.cases, o);
        save();
    } catch (e) {
        log("failed; each case's commands and output are in its output.log (kept)");
        o.keep = true;
        throw e;
    } finally {
        await rig.close(log);
    }
    return r;
}

// ---------------------------------------------------------------- printing
export function shardsTables(r: ShardsResult): string {
    const o = r.options;
    const lines: string[] = [
        "",
        `shards: a plan of ${r.plan.users} users in ${r.plan.batches} batches of ${o.batchSize}, shards of ${o.shardUsers}; ${o.latencyMs} ms latency, ` +
        `fast mode (PULUMI_SKIP_CHECKPOINTS=true), --parallel ${o.parallel}, ${o.connections} connections, file backend, ${r.cores} cores`,
        "",
    ];
    const fig = (f: RoleFigures | undefined) => (f ? `${f.cpuSeconds.toFixed(1)} s / ${f.peakRssMb} MB` : "-");
    const head = ["case / up", "wall s", "requests", "users", ...ROLES.map((x) => `${x} CPU / peak RSS`)];
    const rows: string[][] = [];
    for (const c of r.cases) {
        const sum = (role: Role): RoleFigures | undefined => {
            const fs_ = c.ups.map((u) => u.roles[role]).filter((x): x is RoleFigures => !!x);
            return fs_.length ? { cpuSeconds: fs_.reduce((n, x) => n + x.cpuSeconds, 0), peakRssMb: Math.max(...fs_.map((x) => x.peakRssMb)), processes: fs_.length } : undefined;
        };
        rows.push([c.label, c.wallSeconds.toFixed(1), String(c.requests), String(c.ups.reduce((n, u) => n + u.users, 0)), ...ROLES.map((x) => (c.ups.length > 1 ? `Σ ${fig(sum(x))}` : fig(sum(x))))]);
        if (c.ups.length > 1) for (const u of c.ups) rows.push([`  ${u.stack}`, u.seconds.toFixed(1), "", String(u.users), ...ROLES.map((x) => fig(u.roles[x]))]);
    }
    const w = head.map((h, i) => Math.max(h.length, ...rows.map((x) => (x[i] ?? "").length)));
    for (const row of [head, w.map((x) => "-".repeat(x)), ...rows]) lines.push(row.map((cell, i) => (i === 0 ? cell.padEnd(w[i]) : cell.padStart(w[i]))).join("  ").trimEnd());
    lines.push("", "shard rows: the shard's own up seconds as up --all-shards reports them; Σ: CPU summed over the shards, peak RSS of the highest process");
    for (const c of r.cases) {
        const parts = [`emulator ${c.emulatorCpuSeconds.toFixed(1)} s CPU (in the bench process)`];
        if (c.initSeconds !== undefined) parts.unshift(`shards --init ${c.initSeconds.toFixed(1)} s (not in the wall time)`);
        if (c.driver) parts.push(`up --all-shards itself (node) ${c.driver.cpuSeconds.toFixed(1)} s CPU / ${c.driver.peakRssMb} MB`, `${c.driver.pulumiCommands} other pulumi commands it ran ${c.driver.pulumiCpuSeconds.toFixed(1)} s CPU`);
        if (c.machine) parts.push(`the machine ${c.machine.busyCpuSeconds.toFixed(0)} CPU s busy, ${c.machine.coresBusy.toFixed(2)} of ${r.cores} cores on average`);
        lines.push(`${c.label}: ${parts.join("; ")}`);
    }
    // What bounds --jobs N: the CPU the whole case needs, over the cores (no schedule runs it faster).
    const [, j1, j2] = r.cases;
    if (j1?.machine && j2?.machine) {
        const floor = j2.machine.busyCpuSeconds / r.cores;
        lines.push("", `bound: --jobs ${j2.jobs} needed ${j2.machine.busyCpuSeconds.toFixed(0)} CPU s; on ${r.cores} cores no schedule takes less than ${floor.toFixed(0)} s, ` +
            `so --jobs ${j2.jobs} can be at most ${(j1.wallSeconds / floor).toFixed(2)}x faster than --jobs ${j1.jobs} (${j1.wallSeconds.toFixed(0)} s at ${j1.machine.coresBusy.toFixed(2)} cores busy)`);
    }
    lines.push("", "checks:");
    for (const c of r.checks) lines.push(`  ${c.met ? "met   " : "MISSED"}  ${c.check}: ${c.figures}`);
    return lines.join("\n");
}

// ---------------------------------------------------------------- command line
export function shardsOptions(argv: string[]): ShardsOptions {
    const a = parseArgs(argv.filter((x) => x !== "--keep"));
    const num = (k: string, d: number) => {
        const v = a[k] === undefined ? d : Number(a[k]);
        if (!Number.isFinite(v) || v < 0) throw new Error(`--${k}: expected a number (got "${a[k]}")`);
        return v;
    };
    const jobs = (a.jobs ?? "1,2").split(",").map(Number);
    if (jobs.length !== 2 || jobs.some((j) => !Number.isInteger(j) || j < 1)) throw new Error(`--jobs: two whole numbers, e.g. 1,2 (got "${a.jobs}")`);
    const o: ShardsOptions = {
        users: num("users", 20000), shardUsers: num("shard-users", 5000), batchSize: num("batch-size", 500),
        latencyMs: num("latency-ms", 100), parallel: num("parallel", 64), connections: num("connections", 64),
        tolerance: num("tolerance", 0.1), jobs: [jobs[0], jobs[1]], keep: argv.includes("--keep"),
    };
    for (const k of ["users", "shardUsers", "batchSize", "parallel", "connections"] as const) {
        if (!Number.isInteger(o[k]) || o[k] < 1) throw new Error(`${k}: expected a whole number of 1 or more`);
    }
    if (o.batchSize > o.shardUsers) throw new Error("--batch-size must be at most --shard-users (a shard holds whole batches)");
    if (o.shardUsers >= o.users) throw new Error("--shard-users must be less than --users (else there is one shard)");
    return o;
}

export async function runShardsBench(argv: string[]): Promise<void> {
    const o = shardsOptions(argv);
    const r = await shardsBench(o, (s) => console.error(`bench: ${s}`));
    console.log(shardsTables(r));
    console.log(`\nwrote ${path.relative(process.cwd(), resultFile ?? writeResult("shards", r))}`);
}

if (require.main === module) {
    if (process.argv.includes("--help")) console.log(`Usage: npm run bench:shards -- [options]\n${SHARDS_USAGE}`);
    else runShardsBench(process.argv.slice(2)).catch((e: unknown) => { console.error(`bench:shards: ${e instanceof Error ? e.message : String(e)}`); process.exit(1); });
}
