/**
 * `npm run bench:memory` (or `npm run bench -- --section memory`): the peak RSS and CPU of each
 * process of one large stack (bench-scale's provider program), side by side in one run for each
 * variant of the environment, e.g. the heap bound off (CLOUDIWAY_HEAP_GROWTH=0) and on (default).
 * Phases: up from empty, no-op preview, refresh --yes mid-migration, refresh --skip-preview after
 * the passes ended (the provider's peak). Variants run in turn, `--rounds` times (ABAB), each on
 * an empty tenant. Figures, never asserted: printed, and written to bench/results/memory-<time>.json.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { EmulatorControl, startEmulator } from "../emulator";
import { EngineStack, REPO } from "../harness/engine";
import { RssSampler } from "../harness/processes";
import { CloudiwayClient } from "../provider/client";
import { parseArgs } from "./args";
import { PROGRAM, writeResult } from "./bench-scale";

export const MEMORY_USAGE = `memory section options:
  --users 5000               users (one membership each; batches of 100)
  --latency-ms 0             injected API latency per request
  --parallel 64              the engine's --parallel
  --variants "CLOUDIWAY_HEAP_GROWTH=0" ""
                             one environment per variant (K=V, space-separated; "" is the default)
  --rounds 1                 times each variant runs, in turn
  --phases up,preview,refresh,refresh-settled
                             the phases run (up always runs: the others need its stack)`;

interface PhaseFigures { phase: string; seconds: number; code: number; peakRssMb: Record<string, number>; cpuSeconds: Record<string, number> }
interface VariantRun { variant: string; round: number; phases: PhaseFigures[] }
export interface MemoryResult { at: string; node: string; cores: number; options: MemoryOptions; runs: VariantRun[] }
interface MemoryOptions { users: number; latencyMs: number; parallel: number; variants: string[]; rounds: number; phases: string[] }
/** up, then a no-op preview, then two refreshes (mid-migration, then after the passes ended); --phases picks a prefix of them. */
const PHASES = ["up", "preview", "refresh", "refresh-settled"] as const;

function options(argv: string[]): MemoryOptions {
    const i = argv.indexOf("--variants");
    const variants: string[] = [];
    if (i >= 0) for (let j = i + 1; j < argv.length && !argv[j].startsWith("--"); j++) variants.push(argv[j]);
    const rest = i >= 0 ? [...argv.slice(0, i), ...argv.slice(i + 1 + variants.length)] : argv;
    const a = parseArgs(rest);
    const num = (k: string, d: number) => {
        const v = a[k] === undefined ? d : Number(a[k]);
        if (!Number.isInteger(v) || v < 0) throw new Error(`--${k}: expected a whole number (got "${a[k]}")`);
        return v;
    };
    for (const v of variants) if (v.trim() && !/^[A-Z_][A-Z0-9_]*=/.test(v.trim())) throw new Error(`--variants: "${v}" is not NAME=value ...`);
    const phases = (a.phases ?? PHASES.join(",")).split(",").map((x) => x.trim());
    for (const p of phases) if (!(PHASES as readonly string[]).includes(p)) throw new Error(`--phases: "${p}" is not one of ${PHASES.join(", ")}`);
    return { users: num("users", 5000), latencyMs: num("latency-ms", 0), parallel: num("parallel", 64), variants: variants.length ? variants : ["CLOUDIWAY_HEAP_GROWTH=0", ""], rounds: num("rounds", 1), phases };
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
    fs.mkdirSync(path.join(REPO, ".test-stacks"), { recursive: true });
    const work = fs.mkdtempSync(path.join(REPO, ".test-stacks", "bench-memory-"));
    const client = new CloudiwayClient({ apiUrl: emu.url, consumerKey: "demo-key", consumerSecret: "demo-secret" });
    const result: MemoryResult = { at: new Date().toISOString(), node: process.version, cores: os.cpus().length, options: o, runs: [] };
    const batches = Math.max(1, Math.ceil(o.users / 100));
    try {
        const file = path.join(work, "program.js");
        fs.writeFileSync(file, PROGRAM);
        const spec = path.join(work, "spec.json");
        fs.writeFileSync(spec, JSON.stringify({ users: o.users, batches }));
        for (let round = 1; round <= o.rounds; round++) {
            for (const [n, variant] of o.variants.entries()) {
                await control.reset();
                await control.setFaults({ latencyMs: o.latencyMs });
                const stack = await EngineStack.create({
                    name: `mem-${round}-${n}`, project: "bench-memory", program: file, apiUrl: emu.url, credentialsFromEnv: true,
                    env: { BENCH_SPEC: spec, PULUMI_SKIP_CHECKPOINTS: "true", CLOUDIWAY_DELETION_POLICY: "delete", CLOUDIWAY_HEAP_GROWTH: undefined, ...envOf(variant) },
                    timeoutMs: 2 * 60 * 60 * 1000,
                });
                const run: VariantRun = { variant, round, phases: [] };
                result.runs.push(run);
                const par = ["--parallel", String(o.parallel)];
                const phase = async (name: string, args: string[]) => {
                    log(`${o.users} users, variant "${variant}" (round ${round}): ${name}...`);
                    let s: RssSampler | undefined;
                    const t0 = Date.now();
                    const r = await stack.cli(args, false, (pid) => { s = new RssSampler(pid); s.start(); });
                    s?.stop();
                    if (r.code !== 0) throw new Error(`${name} failed (${r.code}): ${r.stderr.slice(-1000)}`);
                    run.phases.push({ phase: name, seconds: Math.round((Date.now() - t0) / 10) / 100, code: r.code, peakRssMb: s?.peakMb ?? {}, cpuSeconds: s?.cpuSeconds() ?? {} });
                };
                const want = (p: (typeof PHASES)[number]) => o.phases.includes(p);
                await phase("up", ["up", "--yes", "--skip-preview", ...par]);
                if (want("preview")) await phase("no-op preview", ["preview", ...par]);
                if (want("refresh") || want("refresh-settled")) {
                    await Promise.all(Array.from({ length: batches }, (_, b) => client.startBatch("mail", `Scale ${b}`)));
                    await control.tick();
                }
                if (want("refresh")) await phase("refresh (mid-migration)", ["refresh", "--yes", ...par]);
                if (want("refresh-settled")) {
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
        fs.rmSync(work, { recursive: true, force: true });
    }
}

export function memoryTable(r: MemoryResult): string {
    const roles = ["program", "provider", "engine"];
    const head = ["variant", "round", "phase", "seconds", ...roles.map((x) => `${x} MB / CPU s`)];
    const rows = r.runs.flatMap((run) => run.phases.map((p) => [run.variant || "(default)", String(run.round), p.phase, p.seconds.toFixed(1),
        ...roles.map((x) => (p.peakRssMb[x] === undefined ? "-" : `${p.peakRssMb[x]} / ${(p.cpuSeconds[x] ?? 0).toFixed(1)}`))]));
    const w = head.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i].length)));
    return [head, ...rows].map((row) => row.map((c, i) => c.padEnd(w[i])).join("  ")).join("\n");
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
