/**
 * The scale section of `npm run bench` (also `npm run bench:scale -- [options]`): what a whole tenant
 * costs in each pulumi operation, against the naive script and Pulumi's own cost.
 * Side by side in one run, per size (--users) and injected API latency (--latency-ms), against the
 * emulator:
 *  (a) the naive sequential script an admin would write (the same API calls in a loop); strictly
 *      sequential, so it is measured over --naive-sample users once per latency and scaled to each size
 *      (its request count is exact: 2 per batch + 3 per user);
 *  (b) a stack of as many no-op dynamic resources as the provider's stack has (Pulumi's own cost): up
 *      from empty and its no-op preview, in the same engine mode as the provider;
 *  the provider: up from empty, no-op preview, no-op up, refresh in mid-migration (every user's status
 *  changed since the last refresh: every batch started before the first refresh, audited before the
 *  second), timed and counted both with --skip-preview and as a user runs it (`pulumi refresh --yes`),
 *  update of 10% of the users (a new lastName for every 10th), destroy.
 * Every pulumi run: seconds, requests (emulator stats), peak RSS and CPU seconds per process.
 * Then the growth t(N)/t(smallest size) of up, no-op preview and refresh, and the scale targets (each
 * labelled by what it measures: growth, against the naive script, against the no-op stack, requests,
 * peak memory) as met/MISSED with their figures. One JSON file per run, all sizes, under bench/results/.
 *
 * The engine runs in fast mode (PULUMI_SKIP_CHECKPOINTS=true: the state is written once, at the end of
 * each operation); --checkpoints adds the provider and (b) with per-step checkpoints for sizes up to
 * --checkpoints-max. --backend azblob keeps the state on Azurite (a blob store: each checkpoint is an
 * upload). --sweep-parallel / --sweep-connections time `up` from empty for each pair of engine
 * --parallel and client pool size (CLOUDIWAY_CONNECTIONS) at --sweep-users and --sweep-latency-ms.
 * Figures, not tests.
 *
 * The engine, the stacks and the process measurements are the engine tests' own harness
 * (harness/engine.ts, harness/processes.ts); the emulator is driven by its typed control client.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { EmulatorControl, StatsView, startEmulator } from "../emulator";
import { EngineStack, REPO, engineBinDir } from "../harness/engine";
import { RssSampler, findPid, procCpuSeconds } from "../harness/processes";
import { CloudiwayClient } from "../provider/client";
import { parseArgs } from "./args";
import { Azurite, startAzurite } from "./azurite";

const ROOT = REPO;
const SETTINGS = {
    shouldMigrateMails: true, shouldMigrateTrash: false, shouldMigrateCalendars: true, shouldMigrateContacts: true, shouldMigrateTasks: true,
    shouldMigrateNotes: true, shouldMigrateJournals: false, shouldConvertEmailAddresses: true, shouldConvertX500: true, fromDate: null, toDate: null,
};

export type Backend = "file" | "azblob";
export type Mode = "fast" | "checkpoints";

export interface ScaleOptions {
    users: number[];
    /** Sizes run at one latency only ("--users 500,1000,2000@100": 2000 at 100 ms only). */
    usersOnlyAt: Record<number, number>;
    latencies: number[];
    /** Batches per size; default users / 100. */
    batches?: number;
    /** The engine's --parallel for every pulumi run of the matrix. */
    parallel: number;
    /** The client's pool (CLOUDIWAY_CONNECTIONS) in the provider process. */
    connections: number;
    /** Also run the provider and (b) with per-step checkpoints, for sizes <= checkpointsMax. */
    checkpoints: boolean;
    checkpointsMax: number;
    backend: Backend;
    /** Users the naive script is measured over, per latency (scaled to each size). */
    naiveSample: number;
    sweepParallel: number[];
    sweepConnections: number[];
    sweepUsers: number;
    sweepLatencyMs: number;
    /** Skip the matrix (only the sweep). */
    sweepOnly: boolean;
}

/** One pulumi run (or the naive script): what it took. */
export interface Phase {
    seconds: number;
    requests: number;
    mutating: number;
    byCall: Record<string, number>;
    /** Peak RSS (VmHWM) per role: engine, languageHost, program, provider. */
    peakRssMb: Record<string, number>;
    /** CPU seconds per role, plus the emulator (this process) and Azurite when used. */
    cpuSeconds: Record<string, number>;
}

export interface ProviderRun {
    mode: Mode;
    up: Phase; noopPreview: Phase; noopUp: Phase;
    refreshSkipPreview: Phase; refresh: Phase;
    /** After the passes ended (every user SUCCESS): the lists, plus one history read per user whose pass ended. */
    refreshSettled: Phase;
    update: Phase; destroy: Phase;
    usersUpdated: number;
    stateBytes: number; stateBytesPerMailUser: number;
}

export interface NoopRun { mode: Mode; up: Phase; preview: Phase }

export interface Case {
    users: number; batches: number; resources: number; latencyMs: number;
    naive: { seconds: number; requests: number; measuredUsers: number };
    noop: NoopRun[];
    provider: ProviderRun[];
}

export interface SweepRow { parallel: number; connections: number; up: Phase }

export interface ScaleResult {
    at: string; node: string; cores: number;
    options: ScaleOptions;
    sweep?: { users: number; latencyMs: number; rows: SweepRow[]; best: { parallel: number; connections: number; seconds: number } };
    cases: Case[];
    targets: TargetLine[];
}

export interface TargetLine { users: number; latencyMs: number; mode: Mode; target: string; met: boolean | null; figures: string }

const round = (n: number, d = 1) => Number(n.toFixed(d));

/**
 * The Pulumi program of the provider's stack, read from a JSON spec (so an update is a new spec):
 * batches with their settings, users, one membership each. `renamed`: every 10th user gets lastName
 * "Renamed" (the 10% update).
 */
export const PROGRAM = `const fs = require("fs");
const cw = require("pulumi-cloudiway");
const spec = JSON.parse(fs.readFileSync(process.env.BENCH_SPEC, "utf8"));
const batches = [];
for (let b = 0; b < spec.batches; b++) {
    const batch = new cw.MailBatch("batch" + b, { name: "Scale " + b });
    new cw.BatchGlobalSettings("settings" + b, { batchName: batch.name, shouldMigrateMails: true });
    batches.push(batch);
}
for (let i = 0; i < spec.users; i++) {
    const u = new cw.MailUser("user" + i, {
        firstName: "Scale" + i, lastName: spec.renamed && i % 10 === 0 ? "Renamed" : "User",
        sourceEmail: "scale" + i + "@source.example", targetEmail: "scale" + i + "@target.example",
        sourceConnectorName: "Gmail", targetConnectorName: "Office 365",
    });
    new cw.BatchMembership("member" + i, { migrationTag: u.migrationTag, batchName: batches[i % spec.batches].name });
}
`;
/** (b): as many dynamic resources whose provider does nothing. */
export const NOOP_PROGRAM = (resources: number) => `const pulumi = require("@pulumi/pulumi");
const provider = { async create(inputs) { return { id: String(Math.random()), outs: inputs }; } };
for (let i = 0; i < ${resources}; i++) new pulumi.dynamic.Resource(provider, "r" + i, { i });
`;

/** What one bench run shares: the emulator and its control client, the state backend (Azurite or none), a work folder. */
class Rig {
    readonly control: EmulatorControl;
    private constructor(
        readonly emu: Awaited<ReturnType<typeof startEmulator>>,
        readonly work: string,
        readonly azurite: Azurite | undefined,
        private azuritePid: number | undefined,
    ) {
        this.control = new EmulatorControl(emu);
    }

    static async start(backend: Backend): Promise<Rig> {
        // Migration passes advance only when the bench ticks the emulator (POST /_emulator/tick), so a
        // refresh can be timed in mid-migration (every pass under way) and after the passes ended.
        const emu = await startEmulator({ port: 0, quiet: true, transitionMs: 3_600_000 });
        fs.mkdirSync(path.join(ROOT, ".test-stacks"), { recursive: true });
        const work = fs.mkdtempSync(path.join(ROOT, ".test-stacks", "bench-"));
        const azurite = backend === "azblob" ? await startAzurite({ quiet: true }) : undefined;
        return new Rig(emu, work, azurite, azurite ? findPid(`--blobPort ${azurite.port}`) : undefined);
    }

    async close() {
        await this.emu.close();
        await this.azurite?.close();
        fs.rmSync(this.work, { recursive: true, force: true });
    }

    stats(): Promise<StatsView> { return this.control.stats(); }
    /** Empties the tenant (and the faults), then sets the latency again. */
    async resetTenant(latencyMs: number) {
        await this.control.reset();
        await this.control.setFaults({ latencyMs });
    }
    client(connections = 16) { return new CloudiwayClient({ apiUrl: this.emu.url, consumerKey: "demo-key", consumerSecret: "demo-secret", connections }); }

    /** Times `f` as a phase: requests from the emulator's stats, RSS and CPU of the processes under the pid it reports. */
    async phase(f: (onSpawn: (pid: number) => void) => Promise<unknown>): Promise<Phase> {
        await this.control.resetStats();
        let sampler: RssSampler | undefined;
        const cpu0 = process.cpuUsage();
        const az0 = this.azuritePid ? procCpuSeconds(this.azuritePid) ?? 0 : 0;
        const t0 = Date.now();
        await f((pid) => { sampler = new RssSampler(pid); sampler.start(); });
        const seconds = (Date.now() - t0) / 1000;
        sampler?.stop();
        const cpu1 = process.cpuUsage(cpu0);
        const s = await this.stats();
        const cpuSeconds: Record<string, number> = { ...(sampler?.cpuSeconds() ?? {}), emulator: round((cpu1.user + cpu1.system) / 1e6) };
        if (this.azuritePid) cpuSeconds.azurite = round((procCpuSeconds(this.azuritePid) ?? 0) - az0);
        return { seconds: round(seconds, 2), requests: s.total, mutating: s.mutating, byCall: s.byCall, peakRssMb: sampler?.peakMb ?? {}, cpuSeconds };
    }

    /**
     * A fresh stack (the engine tests' EngineStack) of project `project` running `program` (JavaScript
     * source), with the credentials in the environment, on the run's backend (a file backend of the
     * stack's own, or the run's Azurite container).
     */
    async stack(project: string, program: string, stackName: string, env: NodeJS.ProcessEnv): Promise<Stack> {
        const file = path.join(this.work, `${project}.js`);
        fs.writeFileSync(file, program);
        const azure = this.azurite ? { backendUrl: await this.azurite.backendUrl("bench-state") } : {};
        const stack = await EngineStack.create({
            name: `bench-${stackName}`, project, program: file, apiUrl: this.emu.url, credentialsFromEnv: true,
            env: { ...(this.azurite?.env ?? {}), ...env }, timeoutMs: 4 * 60 * 60 * 1000, ...azure,
        });
        return new Stack(this, stack);
    }
}

/** A stack whose pulumi commands are timed as phases. */
class Stack {
    constructor(private rig: Rig, readonly stack: EngineStack) {}
    async cmd(args: string[], onSpawn?: (pid: number) => void): Promise<string> { return (await this.stack.cli(args, false, onSpawn)).stdout; }
    /** A pulumi command as a timed phase. */
    timed(args: string[]) { return this.rig.phase((onSpawn) => this.cmd(args, onSpawn)); }
    /** Drops the stack and its state without touching the API (the tenant is reset apart). */
    async remove() {
        await this.stack.remove();
        await this.stack.dispose();
    }
}

/** Fast mode is the engine's own PULUMI_SKIP_CHECKPOINTS=true; per-step checkpoints without it (even when set outside). */
const modeEnv = (mode: Mode): NodeJS.ProcessEnv => ({ PULUMI_SKIP_CHECKPOINTS: mode === "fast" ? "true" : undefined });

/** (a), per latency: seconds per batch and per user of the sequential loop, over `sample` users. */
async function naivePerUnit(rig: Rig, latencyMs: number, sample: number): Promise<{ perBatch: number; perUser: number; measuredUsers: number }> {
    await rig.resetTenant(latencyMs);
    const client = rig.client();
    const batches = 2;
    try {
        let t = Date.now();
        for (let b = 0; b < batches; b++) {
            await client.createBatch("mail", `Naive ${b}`);
            await client.setGlobalSettings("mail", `Naive ${b}`, SETTINGS);
        }
        const perBatch = (Date.now() - t) / 1000 / batches;
        t = Date.now();
        for (let i = 0; i < sample; i++) {
            // create, then migrationtag (create returns no tag), then addtobatch: 3 requests per user
            const { migrationTag } = await client.createUser("mail", {
                firstName: `Naive${i}`, lastName: "User", sourceEmail: `naive${i}@source.example`, targetEmail: `naive${i}@target.example`,
                sourceConnectorName: "Gmail", targetConnectorName: "Office 365",
            });
            await client.addToBatch("mail", migrationTag, `Naive ${i % batches}`);
        }
        return { perBatch, perUser: (Date.now() - t) / 1000 / sample, measuredUsers: sample };
    } finally {
        await client.close();
    }
}

/** (b) in one mode: up from empty and the no-op preview. */
async function noopRun(rig: Rig, resources: number, mode: Mode, parallel: number, tag: string, log: (s: string) => void): Promise<NoopRun> {
    const stack = await rig.stack("noop", NOOP_PROGRAM(resources), `noop-${tag}-${mode}`, modeEnv(mode));
    const par = ["--parallel", String(parallel)];
    log(`(b) ${resources} no-op resources, ${mode}: up...`);
    const up = await stack.timed(["up", "--yes", "--skip-preview", ...par]);
    log(`(b) ${resources} no-op resources, ${mode}: no-op preview...`);
    const preview = await stack.timed(["preview", ...par]);
    await stack.remove();
    return { mode, up, preview };
}

/** The provider in one mode: every phase, on a fresh tenant. */
async function providerRun(rig: Rig, users: number, batches: number, latencyMs: number, mode: Mode, o: ScaleOptions, tag: string, log: (s: string) => void): Promise<ProviderRun> {
    await rig.resetTenant(latencyMs);
    const specFile = path.join(rig.work, `spec-${tag}-${mode}.json`);
    const spec = (renamed: boolean) => fs.writeFileSync(specFile, JSON.stringify({ users, batches, renamed }));
    spec(false);
    // deletionPolicy delete: destroy deletes every user (by default the migrated ones would be kept).
    const env = { ...modeEnv(mode), BENCH_SPEC: specFile, CLOUDIWAY_CONNECTIONS: String(o.connections), CLOUDIWAY_DELETION_POLICY: "delete" };
    const stack = await rig.stack("bench-provider", PROGRAM, `p-${tag}-${mode}`, env);
    const par = ["--parallel", String(o.parallel)];
    const step = (what: string) => log(`provider ${users} users, ${latencyMs} ms, ${mode}: ${what}...`);
    const client = rig.client();
    try {
        step("up from empty");
        const up = await stack.timed(["up", "--yes", "--skip-preview", ...par]);
        step("no-op preview");
        const noopPreview = await stack.timed(["preview", ...par]);
        step("no-op up");
        const noopUp = await stack.timed(["up", "--yes", "--skip-preview", ...par]);
        // Mid-migration: every user's status changes before each refresh (NOTSTARTED -> SCHEDULED, then
        // -> WORKING), every pass under way. The bench's own calls are not counted (stats reset per phase).
        const names = Array.from({ length: batches }, (_, b) => `Scale ${b}`);
        const tick = async () => (await rig.control.tick()).busy;
        await Promise.all(names.map((n) => client.startBatch("mail", n)));
        step("refresh --skip-preview (mid-migration: every user SCHEDULED)");
        const refreshSkipPreview = await stack.timed(["refresh", "--yes", "--skip-preview", ...par]);
        await tick();
        step("refresh --yes (with its preview; mid-migration: every user WORKING)");
        const refresh = await stack.timed(["refresh", "--yes", ...par]);
        while (await tick()) { /* the passes end */ }
        step("refresh --skip-preview (the passes ended: every user SUCCESS)");
        const refreshSettled = await stack.timed(["refresh", "--yes", "--skip-preview", ...par]);
        spec(true);
        step("update of every 10th user");
        const update = await stack.timed(["up", "--yes", "--skip-preview", ...par]);
        const state = JSON.parse(await stack.cmd(["stack", "export"])) as { deployment: { resources?: { type: string }[] } };
        const mailUsers = (state.deployment.resources ?? []).filter((x) => String(x.type).endsWith(":MailUser"));
        const stateBytes = Buffer.byteLength(JSON.stringify(state));
        const stateBytesPerMailUser = Math.round(mailUsers.reduce((n, x) => n + Buffer.byteLength(JSON.stringify(x)), 0) / Math.max(1, mailUsers.length));
        step("destroy");
        const destroy = await stack.timed(["destroy", "--yes", "--skip-preview", ...par]);
        await stack.remove();
        return { mode, up, noopPreview, noopUp, refreshSkipPreview, refresh, refreshSettled, update, destroy, usersUpdated: Math.ceil(users / 10), stateBytes, stateBytesPerMailUser };
    } finally {
        await client.close();
    }
}

/** `up` from empty for each engine --parallel x client pool pair (fast mode). */
async function sweep(rig: Rig, o: ScaleOptions, log: (s: string) => void): Promise<NonNullable<ScaleResult["sweep"]>> {
    const users = o.sweepUsers, batches = o.batches ?? Math.max(1, Math.round(users / 100));
    const specFile = path.join(rig.work, "spec-sweep.json");
    fs.writeFileSync(specFile, JSON.stringify({ users, batches, renamed: false }));
    const rows: SweepRow[] = [];
    for (const connections of o.sweepConnections) {
        for (const parallel of o.sweepParallel) {
            await rig.resetTenant(o.sweepLatencyMs);
            const env = { ...modeEnv("fast"), BENCH_SPEC: specFile, CLOUDIWAY_CONNECTIONS: String(connections) };
            const stack = await rig.stack("bench-provider", PROGRAM, `sweep-${parallel}-${connections}`, env);
            log(`sweep: ${users} users, ${o.sweepLatencyMs} ms, --parallel ${parallel}, ${connections} connections: up...`);
            rows.push({ parallel, connections, up: await stack.timed(["up", "--yes", "--skip-preview", "--parallel", String(parallel)]) });
            await stack.remove();
        }
    }
    const best = rows.reduce((a, b) => (b.up.seconds < a.up.seconds ? b : a));
    return { users, latencyMs: o.sweepLatencyMs, rows, best: { parallel: best.parallel, connections: best.connections, seconds: best.up.seconds } };
}

export async function scaleBench(o: ScaleOptions, log: (s: string) => void = () => undefined): Promise<ScaleResult> {
    engineBinDir(); // builds or finds the engine first: a clear error before anything starts
    const rig = await Rig.start(o.backend);
    const r: ScaleResult = { at: new Date().toISOString(), node: process.version, cores: os.cpus().length, options: o, cases: [], targets: [] };
    try {
        if (o.sweepParallel.length && o.sweepConnections.length) r.sweep = await sweep(rig, o, log);
        if (o.sweepOnly) return r;
        for (const latencyMs of o.latencies) {
            log(`(a) naive sequential script, ${latencyMs} ms: ${o.naiveSample} users...`);
            const naive = await naivePerUnit(rig, latencyMs, o.naiveSample);
            for (const users of o.users) {
                if (o.usersOnlyAt[users] !== undefined && o.usersOnlyAt[users] !== latencyMs) continue;
                const batches = o.batches ?? Math.max(1, Math.round(users / 100));
                const resources = 2 * users + 2 * batches;
                const tag = `${users}-${latencyMs}`;
                const modes: Mode[] = o.checkpoints && users <= o.checkpointsMax ? ["fast", "checkpoints"] : ["fast"];
                const c: Case = {
                    users, batches, resources, latencyMs,
                    naive: { seconds: round(naive.perBatch * batches + naive.perUser * users, 2), requests: 2 * batches + 3 * users, measuredUsers: naive.measuredUsers },
                    noop: [], provider: [],
                };
                for (const mode of modes) {
                    c.noop.push(await noopRun(rig, resources, mode, o.parallel, tag, log));
                    c.provider.push(await providerRun(rig, users, batches, latencyMs, mode, o, tag, log));
                }
                r.cases.push(c);
                r.targets = targets(r.cases);
                // Written after each size, so a long run that is stopped keeps what it measured.
                writeResultFile(r);
            }
        }
    } finally {
        await rig.close();
    }
    return r;
}

/**
 * The scale targets, per case and mode, each labelled by what it measures: growth of each operation
 * with the tenant (against the smallest size of the run at the same latency), up against the naive
 * script and against a no-op stack, requests of a no-op preview, up and refresh, and peak memory.
 */
export function targets(cases: Case[]): TargetLine[] {
    const out: TargetLine[] = [];
    for (const c of cases) {
        for (const p of c.provider) {
            const noop = c.noop.find((n) => n.mode === p.mode)!;
            const line = (target: string, met: boolean | null, figures: string) => out.push({ users: c.users, latencyMs: c.latencyMs, mode: p.mode, target, met, figures });
            const base = cases.filter((b) => b.latencyMs === c.latencyMs).sort((a, b) => a.users - b.users)[0];
            const bp = base.provider.find((x) => x.mode === p.mode);
            if (base !== c && bp) {
                // t(5,000)/t(500) <= 12, pro rata: t(N)/t(n0) <= 1.2 x N/n0.
                const limit = round(1.2 * (c.users / base.users), 2);
                for (const [k, label] of [["up", "up"], ["noopPreview", "no-op preview"], ["refreshSkipPreview", "refresh --skip-preview"], ["refresh", "refresh"]] as const) {
                    const g = p[k].seconds / bp[k].seconds;
                    line(`growth of ${label}: t(${c.users})/t(${base.users}) <= ${limit} (1.2 x size ratio; 12 at 5,000/500)`, g <= limit, `${round(g, 2)} (${p[k].seconds} s / ${bp[k].seconds} s)`);
                }
            }
            const vsNaive = p.up.seconds / c.naive.seconds;
            line("up from empty <= 0.2 x naive script" + (c.latencyMs < 100 ? " (target at 100 ms; shown)" : ""), c.latencyMs >= 100 ? vsNaive <= 0.2 : null,
                `${round(vsNaive, 3)} (${p.up.seconds} s / ${c.naive.seconds} s)`);
            const vsNoop = p.up.seconds / noop.up.seconds;
            line("up from empty <= 1.3 x no-op stack up (same mode)", vsNoop <= 1.3, `${round(vsNoop, 2)} (${p.up.seconds} s / ${noop.up.seconds} s)`);
            const pv = p.noopPreview.seconds / noop.preview.seconds;
            line("no-op preview <= 1.2 x no-op stack preview", pv <= 1.2, `${round(pv, 2)} (${p.noopPreview.seconds} s / ${noop.preview.seconds} s)`);
            line("no-op preview: 0 requests", p.noopPreview.requests === 0, `${p.noopPreview.requests}`);
            line("no-op up: 0 requests", p.noopUp.requests === 0, `${p.noopUp.requests}`);
            const lim = 2 + 2 * c.batches;
            line(`refresh --skip-preview <= 2 + 2 x batches = ${lim} requests`, p.refreshSkipPreview.requests <= lim, `${p.refreshSkipPreview.requests}`);
            line(`refresh (plain, with preview) <= ${lim} requests`, p.refresh.requests <= lim, `${p.refresh.requests}`);
            // Peak RSS over every phase of the run, per role.
            const peak = (role: string) => Math.max(0, ...phasesOf(p).map((x) => x.peakRssMb[role] ?? 0));
            for (const [role, limMb] of [["program", 1536], ["provider", 300], ["engine", 1024]] as const) {
                line(`peak RSS ${role} <= ${limMb} MB at 5,000 users` + (c.users < 5000 ? " (shown)" : ""), c.users >= 5000 ? peak(role) <= limMb : null, `${peak(role)} MB`);
            }
        }
    }
    return out;
}

const phasesOf = (p: ProviderRun): Phase[] => [p.up, p.noopPreview, p.noopUp, p.refreshSkipPreview, p.refresh, p.refreshSettled, p.update, p.destroy];

/** The printed tables: per latency and mode, sizes side by side; then the sweep and the targets. */
export function scaleTables(r: ScaleResult): string {
    const o = r.options;
    const lines: string[] = [];
    const table = (title: string, head: string[], rows: string[][]) => {
        const w = head.map((h, i) => Math.max(h.length, ...rows.map((x) => (x[i] ?? "").length)));
        lines.push("", title, "");
        for (const row of [head, w.map((x) => "-".repeat(x)), ...rows]) lines.push(row.map((cell, i) => (i === 0 ? cell.padEnd(w[i]) : cell.padStart(w[i]))).join("  ").trimEnd());
    };
    const cell = (p: Phase) => `${p.seconds.toFixed(1)} s ${p.requests} req`;
    const top = (rec: Record<string, number>, keys: string[]) => keys.map((k) => `${rec[k] ?? "-"}`).join("/");
    if (r.sweep) {
        const s = r.sweep;
        table(`--parallel x CLOUDIWAY_CONNECTIONS: provider up from empty, ${s.users} users, ${s.latencyMs} ms latency, fast mode, ${o.backend} backend`,
            ["--parallel", "connections", "up s", "requests", "CPU s engine/program/provider/emulator", "peak RSS MB engine/program/provider"],
            s.rows.map((x) => [String(x.parallel), String(x.connections), x.up.seconds.toFixed(1), String(x.up.requests),
                top(x.up.cpuSeconds, ["engine", "program", "provider", "emulator"]), top(x.up.peakRssMb, ["engine", "program", "provider"])]));
        lines.push(`best: --parallel ${s.best.parallel} with ${s.best.connections} connections (${s.best.seconds} s)`);
    }
    for (const latencyMs of [...new Set(r.cases.map((c) => c.latencyMs))]) {
        const cs = r.cases.filter((c) => c.latencyMs === latencyMs);
        for (const mode of ["fast", "checkpoints"] as Mode[]) {
            const with_ = cs.filter((c) => c.provider.some((p) => p.mode === mode));
            if (!with_.length) continue;
            const pv = (c: Case) => c.provider.find((p) => p.mode === mode)!;
            const nv = (c: Case) => c.noop.find((n) => n.mode === mode)!;
            const base = with_[0];
            const growth = (k: "up" | "noopPreview" | "refreshSkipPreview" | "refresh") => with_.map((c) => `${(pv(c)[k].seconds / pv(base)[k].seconds).toFixed(2)}x`);
            const rows: string[][] = [
                ["(a) naive sequential script", ...with_.map((c) => `${c.naive.seconds.toFixed(1)} s ${c.naive.requests} req`)],
                ["(b) no-op stack: up", ...with_.map((c) => cell(nv(c).up))],
                ["(b) no-op stack: no-op preview", ...with_.map((c) => cell(nv(c).preview))],
                ["provider: up from empty", ...with_.map((c) => cell(pv(c).up))],
                ["  x (a) / x (b)", ...with_.map((c) => `${(pv(c).up.seconds / c.naive.seconds).toFixed(3)} / ${(pv(c).up.seconds / nv(c).up.seconds).toFixed(2)}`)],
                ["provider: no-op preview", ...with_.map((c) => cell(pv(c).noopPreview))],
                ["provider: no-op up", ...with_.map((c) => cell(pv(c).noopUp))],
                ["provider: refresh --skip-preview", ...with_.map((c) => cell(pv(c).refreshSkipPreview))],
                ["provider: refresh --yes (plain)", ...with_.map((c) => cell(pv(c).refresh))],
                ["provider: refresh, passes ended", ...with_.map((c) => cell(pv(c).refreshSettled))],
                ["  refresh target 2 + 2 x batches", ...with_.map((c) => `${2 + 2 * c.batches} req`)],
                ["provider: update 10% of users", ...with_.map((c) => cell(pv(c).update))],
                ["provider: destroy", ...with_.map((c) => cell(pv(c).destroy))],
                [`growth t(N)/t(${base.users}): up`, ...growth("up")],
                ["  no-op preview", ...growth("noopPreview")],
                ["  refresh --skip-preview", ...growth("refreshSkipPreview")],
                ["  refresh --yes", ...growth("refresh")],
                ["peak RSS MB engine/program/provider: up", ...with_.map((c) => top(pv(c).up.peakRssMb, ["engine", "program", "provider"]))],
                ["  refresh --yes", ...with_.map((c) => top(pv(c).refresh.peakRssMb, ["engine", "program", "provider"]))],
                ["  (b) up", ...with_.map((c) => top(nv(c).up.peakRssMb, ["engine", "program", "provider"]))],
                ["CPU s engine/program/provider/emulator: up", ...with_.map((c) => top(pv(c).up.cpuSeconds, ["engine", "program", "provider", "emulator"]))],
                ["  refresh --yes", ...with_.map((c) => top(pv(c).refresh.cpuSeconds, ["engine", "program", "provider", "emulator"]))],
                ["  destroy", ...with_.map((c) => top(pv(c).destroy.cpuSeconds, ["engine", "program", "provider", "emulator"]))],
                ["  (b) up", ...with_.map((c) => top(nv(c).up.cpuSeconds, ["engine", "program", "provider", "emulator"]))],
                ...(o.backend === "azblob" ? [["CPU s azurite: up / (b) up", ...with_.map((c) => `${pv(c).up.cpuSeconds.azurite ?? "-"} / ${nv(c).up.cpuSeconds.azurite ?? "-"}`)]] : []),
                ["state bytes: whole / per MailUser", ...with_.map((c) => `${(pv(c).stateBytes / 1e6).toFixed(2)} MB / ${pv(c).stateBytesPerMailUser} B`)],
            ];
            table(`scale, ${latencyMs} ms latency, ${mode === "fast" ? "fast mode (PULUMI_SKIP_CHECKPOINTS=true)" : "per-step checkpoints"}, --parallel ${o.parallel}, ` +
                `${o.connections} connections, ${o.backend} backend; (a) scaled from ${base.naive.measuredUsers} users measured`,
                ["", ...with_.map((c) => `${c.users} users / ${c.batches} batches`)], rows);
        }
    }
    if (r.targets.length) {
        lines.push("", "scale targets (growth, against the naive script and the no-op stack, requests, peak memory):");
        for (const t of r.targets) lines.push(`  ${t.met === null ? "  -   " : t.met ? "met   " : "MISSED"}  ${String(t.users).padStart(5)} users ${String(t.latencyMs).padStart(3)} ms ${t.mode.padEnd(11)}  ${t.target}: ${t.figures}`);
    }
    return lines.join("\n");
}

let resultFile: string | undefined;
/** bench/results/scale-<time>.json: the whole run (all sizes), rewritten as sizes complete. */
function writeResultFile(r: ScaleResult): string {
    resultFile ??= writeResult("scale", r);
    fs.writeFileSync(resultFile, JSON.stringify(r, null, 2));
    return resultFile;
}

export function writeResult(prefix: string, r: unknown): string {
    const dir = path.join(ROOT, "bench", "results");
    fs.mkdirSync(dir, { recursive: true });
    const file = path.join(dir, `${prefix}-${new Date().toISOString().replace(/[:.]/g, "-")}.json`);
    fs.writeFileSync(file, JSON.stringify(r, null, 2));
    return file;
}

export const SCALE_USAGE = `scale section options:
  --users 500,1000,2000      sizes (5000 is opt-in: --users 500,1000,2000,5000); 2000@100: that size at 100 ms only
  --latency-ms 20,100        injected API latency per request
  --batches N                batches per size (default users / 100)
  --parallel 64              the engine's --parallel for every pulumi run
  --connections 64           the client's pool in the provider process (CLOUDIWAY_CONNECTIONS)
  --checkpoints              also the provider and the no-op stack with per-step checkpoints (sizes <= --checkpoints-max 1000)
  --backend file|azblob      where the state lives (azblob: Azurite, started on a free port)
  --naive-sample 100         users the naive script is measured over, per latency (scaled to each size)
  --sweep-parallel 8,32,64,128 --sweep-connections 16,64 [--sweep-users 500] [--sweep-latency-ms 100] [--sweep-only]
                             time up from empty for each pair before the matrix`;

const list = (v: string | undefined, dflt: number[]) => (v ? v.split(",").filter(Boolean).map(Number) : dflt);

/** The scale options from the command line (`npm run bench -- --section scale ...`). */
export function scaleOptions(argv: string[]): ScaleOptions {
    // Switches take no value: kept out of parseArgs, which reads "--name value" pairs.
    const SWITCHES = ["--checkpoints", "--sweep-only"];
    const a = parseArgs(argv.filter((x) => !SWITCHES.includes(x)));
    const flag = (k: string) => argv.includes(`--${k}`);
    const backend = (a.backend ?? "file") as Backend;
    if (backend !== "file" && backend !== "azblob") throw new Error(`--backend must be file or azblob`);
    const usersOnlyAt: Record<number, number> = {};
    for (const u of (a.users ?? "").split(",")) {
        const m = /^(\d+)@(\d+)$/.exec(u);
        if (m) usersOnlyAt[Number(m[1])] = Number(m[2]);
    }
    const o: ScaleOptions = {
        users: list(a.users?.replace(/@\d+/g, ""), [500, 1000, 2000]),
        usersOnlyAt,
        latencies: list(a["latency-ms"], [20, 100]),
        batches: a.batches ? Number(a.batches) : undefined,
        parallel: Number(a.parallel ?? 64),
        connections: Number(a.connections ?? 64),
        checkpoints: flag("checkpoints"),
        checkpointsMax: Number(a["checkpoints-max"] ?? 1000),
        backend,
        naiveSample: Number(a["naive-sample"] ?? 100),
        sweepParallel: list(a["sweep-parallel"], []),
        sweepConnections: list(a["sweep-connections"], a["sweep-parallel"] ? [16] : []),
        sweepUsers: Number(a["sweep-users"] ?? 500),
        sweepLatencyMs: Number(a["sweep-latency-ms"] ?? 100),
        sweepOnly: flag("sweep-only"),
    };
    for (const [k, v] of Object.entries(o).filter(([k]) => k !== "usersOnlyAt")) {
        if ((typeof v === "number" && !(v > 0)) || (Array.isArray(v) && v.some((x) => !(x > 0)))) throw new Error(`--${k}: expected positive numbers`);
    }
    return o;
}

export async function runScale(argv: string[]): Promise<void> {
    const o = scaleOptions(argv);
    const r = await scaleBench(o, (s) => console.error(`bench: ${s}`));
    console.log(scaleTables(r));
    console.log(`\nwrote ${path.relative(process.cwd(), writeResultFile(r))}`);
}

if (require.main === module) {
    if (process.argv.includes("--help")) console.log(`Usage: npm run bench:scale -- [options]\n${SCALE_USAGE}`);
    else runScale(process.argv.slice(2)).catch((e) => { console.error(`bench:scale: ${e?.message ?? e}`); process.exit(1); });
}
