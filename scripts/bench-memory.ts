/**
 * `npm run bench:memory` (or `npm run bench -- --section memory`): the peak RSS and CPU of each
 * process of one large stack (bench-scale's provider program), side by side in one run for each
 * variant of the environment, e.g. the heap bound off (CLOUDIWAY_HEAP_GROWTH=0) and on (default).
 * Phases: up from empty, no-op preview, refresh --yes mid-migration, refresh --skip-preview after
 * the passes ended (the provider's peak). Variants run in turn, `--rounds` times (ABAB), each on
 * an empty tenant. A variant may also name the checkout whose package and SDK the stack runs
 * (BENCH_TREE=<dir>, e.g. a worktree of an earlier commit, or one with another @pulumi/pulumi), the
 * Pulumi CLI it runs (BENCH_ENGINE_BIN=<bin dir>, e.g. another cached engine), or run a stack of as many
 * do-nothing dynamic resources instead (BENCH_NOOP=1: Pulumi's own cost, up and preview only), or run the
 * root project (BENCH_ROOT=1: the checkout's dist/index.js with a plan file of those users in batches of
 * 500, as bench-shards' one stack; up and preview only); these are
 * read by the bench, not passed on. Each phase: seconds, requests (emulator stats), peak RSS and CPU per
 * process. Figures, never asserted: printed, and written to bench/results/memory-<time>.json.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { EmulatorControl, startEmulator } from "../emulator";
import { execFileSync } from "child_process";
import { EngineStack, REPO, engineBinDir } from "../harness/engine";
import { RssSampler } from "../harness/processes";
import { CloudiwayClient } from "../provider/client";
import { parseArgs } from "./args";
import { NOOP_PROGRAM, PROGRAM, writeResult } from "./bench-scale";
import { planBatches, planYaml } from "./bench-shards";

export const MEMORY_USAGE = `memory section options:
  --users 5000               users (one membership each; batches of 100)
  --latency-ms 0             injected API latency per request
  --parallel 64              the engine's --parallel
  --variants "CLOUDIWAY_HEAP_GROWTH=0" ""
                             one environment per variant (K=V, space-separated; "" is the default); read by
                             the bench: BENCH_TREE=<checkout> (its package and SDK; default this one),
                             BENCH_ENGINE_BIN=<dir of a pulumi CLI> (default the cached engine), BENCH_NOOP=1
                             (as many do-nothing resources instead of the provider's stack: up and preview),
                             BENCH_ROOT=1 (the root project with a plan file of those users: up and preview),
                             BENCH_PARALLEL=<p> (this variant's --parallel instead of --parallel's)
  --timeline                 per phase, the vendor calls answered in each 250 ms from the command's start
                             (from the emulator's call log): where the API's round trips or the engine bound a run
  --rounds 1                 times each variant runs, in turn
  --phases up,preview,refresh,refresh-settled
                             the phases run (up always runs: the others need its stack)`;

interface PhaseFigures {
    phase: string; seconds: number; code: number; requests: number; byCall: Record<string, number>;
    peakRssMb: Record<string, number>; cpuSeconds: Record<string, number>;
    /** --timeline: per 250 ms from the command's start, the calls answered in it, by call. */
    timeline?: { fromMs: number; byCall: Record<string, number> }[];
}
interface VariantRun { variant: string; round: number; engine?: string; sdk?: string; phases: PhaseFigures[] }
export interface MemoryResult { at: string; node: string; cores: number; options: MemoryOptions; runs: VariantRun[] }
interface MemoryOptions { users: number; latencyMs: number; parallel: number; variants: string[]; rounds: number; phases: string[]; timeline: boolean }
/** up, then a no-op preview, then two refreshes (mid-migration, then after the passes ended); --phases picks a prefix of them. */
const PHASES = ["up", "preview", "refresh", "refresh-settled"] as const;

function options(argv: string[]): MemoryOptions {
    const i = argv.indexOf("--variants");
    const variants: string[] = [];
    if (i >= 0) for (let j = i + 1; j < argv.length && !argv[j].startsWith("--"); j++) variants.push(argv[j]);
    const rest = i >= 0 ? [...argv.slice(0, i), ...argv.slice(i + 1 + variants.length)] : argv;
    const timeline = rest.includes("--timeline");
    const a = parseArgs(rest.filter((x) => x !== "--timeline"));
    const num = (k: string, d: number) => {
        const v = a[k] === undefined ? d : Number(a[k]);
        if (!Number.isInteger(v) || v < 0) throw new Error(`--${k}: expected a whole number (got "${a[k]}")`);
        return v;
    };
    for (const v of variants) if (v.trim() && !/^[A-Z_][A-Z0-9_]*=/.test(v.trim())) throw new Error(`--variants: "${v}" is not NAME=value ...`);
    const phases = (a.phases ?? PHASES.join(",")).split(",").map((x) => x.trim());
    for (const p of phases) if (!(PHASES as readonly string[]).includes(p)) throw new Error(`--phases: "${p}" is not one of ${PHASES.join(", ")}`);
    return { users: num("users", 5000), latencyMs: num("latency-ms", 0), parallel: num("parallel", 64), variants: variants.length ? variants : ["CLOUDIWAY_HEAP_GROWTH=0", ""], rounds: num("rounds", 1), phases, timeline };
}

/** What a variant asks of the bench itself (BENCH_*), apart from the environment of its processes. */
export interface VariantSetup { tree?: string; engineBin?: string; noop: boolean; root: boolean; parallel?: number; env: NodeJS.ProcessEnv }
export function setupOf(variant: string): VariantSetup {
    const env = envOf(variant);
    const { BENCH_TREE: tree, BENCH_ENGINE_BIN: engineBin, BENCH_NOOP: noop, BENCH_ROOT: root, BENCH_PARALLEL: par, ...rest } = env;
    const on = (v: string | undefined) => !!v && v !== "0";
    if (on(noop) && on(root)) throw new Error(`--variants: "${variant}" asks for BENCH_NOOP and BENCH_ROOT; one program per variant`);
    const parallel = par === undefined ? undefined : Number(par);
    if (parallel !== undefined && !(Number.isInteger(parallel) && parallel > 0)) throw new Error(`--variants: "${variant}": BENCH_PARALLEL must be a whole number > 0`);
    return { tree: tree ? path.resolve(tree) : undefined, engineBin: engineBin || undefined, noop: on(noop), root: on(root), parallel, env: rest };
}

/** A variant's environment: `NAME=value` pairs; a value runs up to the next ` NAME=` (so `NODE_OPTIONS=--max-old-space-size=1024 --max-semi-space-size=64` is one). */
export function envOf(variant: string): NodeJS.ProcessEnv {
    const env: NodeJS.ProcessEnv = {};
    for (const m of variant.trim().matchAll(/([A-Z_][A-Z0-9_]*)=(.*?)(?=\s+[A-Z_][A-Z0-9_]*=|\s*$)/g)) env[m[1]] = m[2];
    return env;
}

export async function memoryBench(o: MemoryOptions, log: (s: string) => void = () => undefined): Promise<MemoryResult> {
    const emu = await startEmulator({ port: 0, quiet: true, transitionMs: 3_600_000 });
    const control = new EmulatorControl(emu);
    const client = new CloudiwayClient({ apiUrl: emu.url, consumerKey: "demo-key", consumerSecret: "demo-secret" });
    const result: MemoryResult = { at: new Date().toISOString(), node: process.version, cores: os.cpus().length, options: o, runs: [] };
    const batches = Math.max(1, Math.ceil(o.users / 100));
    const setups = o.variants.map(setupOf);
    // One work folder per tree: the program must sit in the tree whose package it requires.
    const works = new Map<string, string>();
    const workOf = (tree: string) => {
        let w = works.get(tree);
        if (!w) {
            fs.mkdirSync(path.join(tree, ".test-stacks"), { recursive: true });
            w = fs.mkdtempSync(path.join(tree, ".test-stacks", "bench-memory-"));
            fs.writeFileSync(path.join(w, "program.js"), PROGRAM);
            fs.writeFileSync(path.join(w, "noop.js"), NOOP_PROGRAM(2 * o.users + 2 * batches));
            fs.writeFileSync(path.join(w, "spec.json"), JSON.stringify({ users: o.users, batches }));
            fs.writeFileSync(path.join(w, "root.js"), `module.exports = require(${JSON.stringify(path.join(tree, "dist", "index.js"))});\n`);
            fs.writeFileSync(path.join(w, "plan.yaml"), planYaml(planBatches(o.users, 500)));
            works.set(tree, w);
        }
        return w;
    };
    try {
        for (let round = 1; round <= o.rounds; round++) {
            for (const [n, variant] of o.variants.entries()) {
                const setup = setups[n];
                const tree = setup.tree ?? REPO;
                const work = workOf(tree);
                await control.reset();
                await control.setFaults({ latencyMs: o.latencyMs });
                const only = setup.noop || setup.root; // up and preview only
                const stack = await EngineStack.create({
                    name: `mem-${round}-${n}`, project: setup.noop ? "bench-noop" : setup.root ? "cloudiway-migration" : "bench-memory",
                    program: path.join(work, setup.noop ? "noop.js" : setup.root ? "root.js" : "program.js"), apiUrl: emu.url, credentialsFromEnv: true,
                    root: tree, engineBin: setup.engineBin,
                    config: setup.root ? { "cloudiway-migration:planFile": path.join(work, "plan.yaml") } : undefined,
                    env: { BENCH_SPEC: path.join(work, "spec.json"), PULUMI_SKIP_CHECKPOINTS: "true", CLOUDIWAY_DELETION_POLICY: "delete", CLOUDIWAY_HEAP_GROWTH: undefined, ...setup.env },
                    timeoutMs: 2 * 60 * 60 * 1000,
                });
                const run: VariantRun = { variant, round, engine: engineVersion(setup.engineBin ?? engineBinDir()), sdk: sdkVersion(tree), phases: [] };
                result.runs.push(run);
                const par = ["--parallel", String(setup.parallel ?? o.parallel)];
                const phase = async (name: string, args: string[]) => {
                    log(`${o.users} users, variant "${variant}" (round ${round}): ${name}...`);
                    await control.resetStats();
                    let s: RssSampler | undefined;
                    const t0 = Date.now();
                    const r = await stack.cli(args, false, (pid) => { s = new RssSampler(pid); s.start(); });
                    s?.stop();
                    const seconds = Math.round((Date.now() - t0) / 10) / 100;
                    if (r.code !== 0) throw new Error(`${name} failed (${r.code}): ${r.stderr.slice(-1000)}`);
                    const stats = await control.stats();
                    const timeline = o.timeline ? binned(await control.calls(), t0) : undefined;
                    if (timeline) log(`${name} timeline (s from start: calls answered in the next 250 ms)\n${timeline.map((b) => `  ${(b.fromMs / 1000).toFixed(2)}  ${Object.entries(b.byCall).map(([k, n]) => `${k.replace(/^\S+ \/\w+\//, "")} ${n}`).join(", ")}`).join("\n")}`);
                    run.phases.push({ phase: name, seconds, code: r.code, requests: stats.total, byCall: stats.byCall, peakRssMb: s?.peakMb ?? {}, cpuSeconds: s?.cpuSeconds() ?? {}, ...(timeline ? { timeline } : {}) });
                };
                const want = (p: (typeof PHASES)[number]) => o.phases.includes(p);
                await phase("up", ["up", "--yes", "--skip-preview", ...par]);
                if (want("preview")) await phase("no-op preview", ["preview", ...par]);
                if (!only && (want("refresh") || want("refresh-settled"))) {
                    await Promise.all(Array.from({ length: batches }, (_, b) => client.startBatch("mail", `Scale ${b}`)));
                    await control.tick();
                }
                if (!only && want("refresh")) await phase("refresh (mid-migration)", ["refresh", "--yes", ...par]);
                if (!only && want("refresh-settled")) {
                    while ((await control.tick()).busy) { /* the passes end */ }
                    await phase("refresh --skip-preview (passes ended)", ["refresh", "--yes", "--skip-preview", ...par]);
                }
                await stack.remove();
                await stack.dispose();
            }
        }
        return result;
    } finally {
        await client.close();
        await emu.close();
        for (const w of works.values()) fs.rmSync(w, { recursive: true, force: true });
    }
}

/** The call log in 250 ms bins from `t0` (ms since the epoch): how many of each call were answered in each. */
export function binned(calls: { method: string; call: string; at: string }[], t0: number, binMs = 250): NonNullable<PhaseFigures["timeline"]> {
    const bins = new Map<number, Record<string, number>>();
    for (const c of calls) {
        const b = Math.max(0, Math.floor((Date.parse(c.at) - t0) / binMs));
        const row = bins.get(b) ?? {};
        const k = `${c.method} ${c.call}`;
        row[k] = (row[k] ?? 0) + 1;
        bins.set(b, row);
    }
    return [...bins.keys()].sort((x, y) => x - y).map((b) => ({ fromMs: b * binMs, byCall: bins.get(b) ?? {} }));
}

/** The version of the `pulumi` CLI in a bin folder. */
function engineVersion(bin: string): string {
    try {
        return execFileSync(path.join(bin, "pulumi"), ["version"], { encoding: "utf8" }).trim();
    } catch {
        return "?";
    }
}

/** The @pulumi/pulumi a checkout's program loads. */
function sdkVersion(tree: string): string | undefined {
    try {
        return (JSON.parse(fs.readFileSync(path.join(tree, "node_modules", "@pulumi", "pulumi", "package.json"), "utf8")) as { version?: string }).version;
    } catch {
        return undefined;
    }
}

/** Per variant and phase: the median of its rounds (seconds, peak RSS, CPU), and seconds against the first BENCH_NOOP variant. */
export function medians(r: MemoryResult): { variant: string; phase: string; rounds: number; seconds: number; vsNoop?: number; requests: number; peakRssMb: Record<string, number>; cpuSeconds: Record<string, number> }[] {
    const med = (xs: number[]) => { const a = [...xs].sort((x, y) => x - y); return a.length % 2 ? a[(a.length - 1) / 2] : (a[a.length / 2 - 1] + a[a.length / 2]) / 2; };
    const noop = r.options.variants.find((v) => setupOf(v).noop);
    const out: ReturnType<typeof medians> = [];
    for (const variant of r.options.variants) {
        const phases = [...new Set(r.runs.filter((x) => x.variant === variant).flatMap((x) => x.phases.map((p) => p.phase)))];
        for (const phase of phases) {
            const ps = r.runs.filter((x) => x.variant === variant).flatMap((x) => x.phases.filter((p) => p.phase === phase));
            const roles = [...new Set(ps.flatMap((p) => Object.keys(p.peakRssMb)))];
            const seconds = med(ps.map((p) => p.seconds));
            // Ratio pair by pair (the same round), then the median: the machine's drift hits both of a pair.
            const pairs = noop === undefined || noop === variant ? [] : r.runs.filter((x) => x.variant === variant).flatMap((x) => {
                const mine = x.phases.find((p) => p.phase === phase);
                const theirs = r.runs.find((y) => y.variant === noop && y.round === x.round)?.phases.find((p) => p.phase === phase);
                return mine && theirs ? [mine.seconds / theirs.seconds] : [];
            });
            out.push({
                variant, phase, rounds: ps.length, seconds, requests: med(ps.map((p) => p.requests)),
                ...(pairs.length ? { vsNoop: Math.round(med(pairs) * 100) / 100 } : {}),
                peakRssMb: Object.fromEntries(roles.map((k) => [k, med(ps.map((p) => p.peakRssMb[k] ?? 0))])),
                cpuSeconds: Object.fromEntries(roles.map((k) => [k, Math.round(med(ps.map((p) => p.cpuSeconds[k] ?? 0)) * 10) / 10])),
            });
        }
    }
    return out;
}

export function memoryTable(r: MemoryResult): string {
    const roles = ["program", "provider", "engine", "languageHost"];
    const grid = (head: string[], rows: string[][]) => {
        const w = head.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i].length)));
        return [head, ...rows].map((row) => row.map((c, i) => c.padEnd(w[i])).join("  ").trimEnd()).join("\n");
    };
    const cells = (p: { peakRssMb: Record<string, number>; cpuSeconds: Record<string, number> }) =>
        roles.map((x) => (p.peakRssMb[x] === undefined ? "-" : `${p.peakRssMb[x]} / ${(p.cpuSeconds[x] ?? 0).toFixed(1)}`));
    const runs = grid(["variant", "round", "engine / sdk", "phase", "seconds", "requests", ...roles.map((x) => `${x} MB / CPU s`)],
        r.runs.flatMap((run) => run.phases.map((p) => [run.variant || "(default)", String(run.round), `${run.engine ?? "?"} / ${run.sdk ?? "?"}`, p.phase,
            p.seconds.toFixed(1), String(p.requests), ...cells(p)])));
    const med = grid(["variant", "phase", "rounds", "median s", "x no-op stack", "requests", ...roles.map((x) => `${x} MB / CPU s`)],
        medians(r).map((m) => [m.variant || "(default)", m.phase, String(m.rounds), m.seconds.toFixed(2), m.vsNoop === undefined ? "-" : `${m.vsNoop.toFixed(2)}x`,
            String(m.requests), ...cells(m)]));
    return `${runs}\n\nmedians (ratio: pair by pair, same round, then the median):\n${med}`;
}

export async function runMemoryBench(argv: string[]): Promise<void> {
    const o = options(argv);
    const r = await memoryBench(o, (s) => console.error(`bench: ${s}`));
    console.log(memoryTable(r));
    console.log(`\nwrote ${path.relative(process.cwd(), writeResult("memory", r))}`);
}

if (require.main === module) {
    if (process.argv.includes("--help")) console.log(`Usage: npm run bench:memory -- [options]\n${MEMORY_USAGE}`);
    else runMemoryBench(process.argv.slice(2)).catch((e: unknown) => { console.error(`bench:memory: ${e instanceof Error ? e.message : String(e)}`); process.exit(1); });
}
