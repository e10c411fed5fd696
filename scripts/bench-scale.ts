/**
 * The scale section of `npm run bench` (also `npm run bench:scale -- [--users 1000] [--batches 10] [--latency-ms 20]`).
 * Side by side in one run, against the emulator with injected latency:
 *  (a) the naive sequential script an admin would write (the same API calls in a loop);
 *  (b) `pulumi up` of as many no-op dynamic resources as the provider's stack has (Pulumi's own cost);
 *  (c) the floor: the fewest API round trips the plan needs (counted from (a)), and the time they take
 *      when sent as concurrently as the provider's connection pool allows (measured, and computed as
 *      round trips x latency / pool size);
 * then the provider: `pulumi up` from empty of users / batches / memberships / settings, requests per
 * resource for create, update, no-op preview, no-op up and refresh, state bytes per MailUser, the
 * serialized `__provider` bytes, and the peak RSS of the dynamic provider process (VmHWM sampled
 * from /proc during the up). Figures, not tests: they are printed and written as JSON under
 * bench/results/.
 */
import { spawn } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { startEmulator } from "../emulator";
import { CloudiwayClient } from "../provider/client";
import { parseArgs } from "./args";

const ROOT = path.resolve(__dirname, "..", "..");
const SETTINGS = {
    shouldMigrateMails: true, shouldMigrateTrash: false, shouldMigrateCalendars: true, shouldMigrateContacts: true, shouldMigrateTasks: true,
    shouldMigrateNotes: true, shouldMigrateJournals: false, shouldConvertEmailAddresses: true, shouldConvertX500: true, fromDate: null, toDate: null,
};

export interface ScaleOptions {
    users: number; batches: number; latencyMs: number; poolSize?: number;
    /** PULUMI_SKIP_CHECKPOINTS=1 for (b) and the provider: the engine saves the state once, at the end (to show what checkpoints cost). */
    skipCheckpoints?: boolean;
}

function run(cmd: string, args: string[], cwd: string, env: NodeJS.ProcessEnv, onSpawn?: (pid: number) => void): Promise<string> {
    return new Promise((resolve, reject) => {
        const c = spawn(cmd, args, { cwd, env, stdio: ["ignore", "pipe", "pipe"] });
        if (onSpawn && c.pid) onSpawn(c.pid);
        let out = "", err = "";
        c.stdout.on("data", (d) => (out += d));
        c.stderr.on("data", (d) => (err += d));
        c.on("exit", (code) => (code === 0 ? resolve(out) : reject(new Error(`${cmd} ${args.join(" ")}: ${code}\n${out.slice(-3000)}\n${err.slice(-2000)}`))));
    });
}
const timed = async <T>(f: () => Promise<T>): Promise<[number, T]> => { const t = Date.now(); const v = await f(); return [(Date.now() - t) / 1000, v]; };

/** Peak RSS (VmHWM, MB) of the processes under `root`, by role, sampled until stopped. */
class RssSampler {
    readonly peakMb: Record<string, number> = {};
    private cpu = new Map<number, { role: string; seconds: number }>();
    /** CPU seconds (user + system) per role, summed over the role's processes. */
    cpuSeconds(): Record<string, number> {
        const out: Record<string, number> = {};
        for (const { role, seconds } of this.cpu.values()) out[role] = Number(((out[role] ?? 0) + seconds).toFixed(1));
        return out;
    }
    private timer: NodeJS.Timeout | undefined;
    constructor(private root: number) {}
    start(everyMs = 200) { this.timer = setInterval(() => this.sample(), everyMs); this.sample(); }
    stop() { if (this.timer) clearInterval(this.timer); this.sample(); }
    private sample() {
        const children = new Map<number, number[]>();
        for (const d of safeReaddir("/proc")) {
            if (!/^\d+$/.test(d)) continue;
            const stat = safeRead(`/proc/${d}/stat`);
            if (!stat) continue;
            const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
            (children.get(ppid) ?? children.set(ppid, []).get(ppid)!).push(Number(d));
        }
        const stack = [this.root];
        while (stack.length) {
            const pid = stack.pop()!;
            stack.push(...(children.get(pid) ?? []));
            const cmd = (safeRead(`/proc/${pid}/cmdline`) ?? "").replace(/\0/g, " ");
            const m = /VmHWM:\s+(\d+) kB/.exec(safeRead(`/proc/${pid}/status`) ?? "");
            if (!m) continue;
            const role = /dynamic-provider/.test(cmd) ? "provider"
                : /pulumi-language-nodejs|langhost/.test(cmd) ? "languageHost"
                : /^node /.test(cmd) || /\bnode\b.*run/.test(cmd) ? "program"
                : /pulumi\b/.test(cmd) ? "engine" : "other";
            const mb = Math.round(Number(m[1]) / 1024);
            this.peakMb[role] = Math.max(this.peakMb[role] ?? 0, mb);
            const f = (safeRead(`/proc/${pid}/stat`) ?? "").split(") ")[1]?.split(" ");
            if (f) this.cpu.set(pid, { role, seconds: (Number(f[11]) + Number(f[12])) / 100 });
        }
    }
}
function safeReaddir(d: string): string[] { try { return fs.readdirSync(d); } catch { return []; } }
function safeRead(f: string): string | undefined { try { return fs.readFileSync(f, "utf8"); } catch { return undefined; } }

/** A Pulumi program declaring the stack the bench measures, read from a JSON file (so an update is a new file). */
const PROGRAM = `const fs = require("fs");
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
        firstName: "Scale" + i, lastName: spec.lastName, sourceEmail: "scale" + i + "@source.example", targetEmail: "scale" + i + "@target.example",
        sourceConnectorName: "Gmail", targetConnectorName: "Office 365",
    });
    new cw.BatchMembership("member" + i, { migrationTag: u.migrationTag, batchName: batches[i % spec.batches].name });
}
`;

export async function scaleBench(o: ScaleOptions, log: (s: string) => void = () => undefined): Promise<Record<string, any>> {
    const { users, batches, latencyMs } = o;
    const poolSize = o.poolSize ?? 16;
    const resources = 2 * users + 2 * batches;
    const bin = (await run("bash", [path.join(ROOT, "scripts", "install-engine.sh")], ROOT, process.env)).trim().split("\n").pop()!;
    const emu = await startEmulator({ port: 0, quiet: true });
    fs.mkdirSync(path.join(ROOT, ".test-stacks"), { recursive: true });
    const work = fs.mkdtempSync(path.join(ROOT, ".test-stacks", "bench-"));
    const env: NodeJS.ProcessEnv = {
        ...process.env, PATH: `${bin}${path.delimiter}${process.env.PATH}`, PULUMI_HOME: path.join(work, "home"),
        PULUMI_BACKEND_URL: `file://${work}`, PULUMI_CONFIG_PASSPHRASE: "bench", PULUMI_SKIP_UPDATE_CHECK: "1",
        PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "1", CLOUDIWAY_API_URL: emu.url, CLOUDIWAY_CONSUMER_KEY: "demo-key", CLOUDIWAY_CONSUMER_SECRET: "demo-secret",
        ...(o.skipCheckpoints ? { PULUMI_SKIP_CHECKPOINTS: "1" } : {}),
    };
    const stats = async () => (await (await fetch(`${emu.baseUrl}/_emulator/stats`)).json()) as { total: number; mutating: number; byCall: Record<string, number> };
    const resetStats = () => fetch(`${emu.baseUrl}/_emulator/stats/reset`, { method: "POST" });
    const setLatency = () => fetch(`${emu.baseUrl}/_emulator/faults`, { method: "POST", body: JSON.stringify({ latencyMs }) });
    const resetEmu = async () => { await fetch(`${emu.baseUrl}/_emulator/reset`, { method: "POST" }); await setLatency(); };
    const person = (i: number) => ({
        firstName: `Scale${i}`, lastName: "User", sourceEmail: `scale${i}@source.example`, targetEmail: `scale${i}@target.example`,
        sourceConnectorName: "Gmail", targetConnectorName: "Office 365",
    });
    const r: Record<string, any> = { users, batches, resources, latencyMs, poolSize, skipCheckpoints: !!o.skipCheckpoints, node: process.version, at: new Date().toISOString() };
    try {
        await setLatency();
        // (a) the naive sequential script
        log(`(a) naive sequential script: ${users} users...`);
        const client = new CloudiwayClient({ apiUrl: emu.url, consumerKey: "demo-key", consumerSecret: "demo-secret", connections: poolSize });
        [r.naiveSeconds] = await timed(async () => {
            for (let b = 0; b < batches; b++) {
                await client.createBatch("mail", `Scale ${b}`);
                await client.setGlobalSettings("mail", `Scale ${b}`, SETTINGS);
            }
            for (let i = 0; i < users; i++) {
                const { migrationTag } = await client.createUser("mail", person(i)); // create, then migrationtag (create returns no tag)
                await client.addToBatch("mail", migrationTag, `Scale ${i % batches}`);
            }
        });
        const naive = await stats();
        r.naiveRequests = naive.total;
        r.floorRoundTrips = naive.total; // 2 per batch + 3 per user: nothing in it can be left out
        r.floorComputedSeconds = Number((naive.total * latencyMs / 1000 / poolSize).toFixed(2));

        // (c) the floor, measured: the same calls, as concurrent as the pool allows
        log(`(c) floor: the same calls, ${poolSize} at a time...`);
        await resetEmu();
        await resetStats();
        [r.floorSeconds] = await timed(async () => {
            await Promise.all(Array.from({ length: batches }, async (_, b) => {
                await client.createBatch("mail", `Scale ${b}`);
                await client.setGlobalSettings("mail", `Scale ${b}`, SETTINGS);
            }));
            let next = 0;
            await Promise.all(Array.from({ length: poolSize }, async () => {
                for (let i = next++; i < users; i = next++) {
                    const { migrationTag } = await client.createUser("mail", person(i));
                    await client.addToBatch("mail", migrationTag, `Scale ${i % batches}`);
                }
            }));
        });
        await client.close();
        await resetEmu();

        // (b) as many no-op dynamic resources
        log(`(b) ${resources} no-op dynamic resources...`);
        const noop = path.join(work, "noop");
        fs.mkdirSync(noop);
        fs.writeFileSync(path.join(noop, "Pulumi.yaml"), "name: noop\nruntime:\n  name: nodejs\n  options:\n    typescript: false\nmain: index.js\n");
        fs.writeFileSync(path.join(noop, "index.js"), `const pulumi = require("@pulumi/pulumi");
const provider = { async create(inputs) { return { id: String(Math.random()), outs: inputs }; } };
for (let i = 0; i < ${resources}; i++) new pulumi.dynamic.Resource(provider, "r" + i, { i });\n`);
        await run("pulumi", ["stack", "init", "bench", "--non-interactive"], noop, env);
        let noopSampler: RssSampler | undefined;
        [r.noopSeconds] = await timed(() => run("pulumi", ["up", "--yes", "--skip-preview", "--non-interactive"], noop, env, (pid) => { noopSampler = new RssSampler(pid); noopSampler.start(1000); }));
        noopSampler?.stop();
        r.noopCpuSeconds = noopSampler?.cpuSeconds() ?? {};

        // the provider
        log(`provider: pulumi up of ${resources} resources...`);
        const proj = path.join(work, "provider");
        fs.mkdirSync(proj);
        const specFile = path.join(work, "spec.json");
        const spec = (lastName: string) => fs.writeFileSync(specFile, JSON.stringify({ users, batches, lastName }));
        spec("User");
        fs.writeFileSync(path.join(proj, "Pulumi.yaml"), "name: bench-provider\nruntime:\n  name: nodejs\n  options:\n    typescript: false\nmain: index.js\n");
        fs.writeFileSync(path.join(proj, "index.js"), PROGRAM);
        const penv = { ...env, BENCH_SPEC: specFile };
        const p = (args: string[], onSpawn?: (pid: number) => void) => run("pulumi", [...args, "--non-interactive", "--stack", "bench"], proj, penv, onSpawn);
        await run("pulumi", ["stack", "init", "bench", "--non-interactive"], proj, penv);
        await resetStats();
        let sampler: RssSampler | undefined;
        const cpu0 = process.cpuUsage();
        [r.upSeconds] = await timed(() => p(["up", "--yes", "--skip-preview"], (pid) => { sampler = new RssSampler(pid); sampler.start(); }));
        sampler?.stop();
        const cpu1 = process.cpuUsage(cpu0);
        r.peakRssMb = sampler?.peakMb ?? {};
        // Where the up's time goes: CPU seconds of the engine, the program, the provider, and the emulator (this process).
        r.upCpuSeconds = { ...(sampler?.cpuSeconds() ?? {}), emulator: Number(((cpu1.user + cpu1.system) / 1e6).toFixed(1)) };
        const created = await stats();
        r.create = { requests: created.total, mutating: created.mutating, perResource: Number((created.total / resources).toFixed(2)), byCall: created.byCall };
        const st = (await (await fetch(`${emu.baseUrl}/_emulator/state`)).json()) as any;
        r.emulatorUsers = st.mail.users.length;

        const phase = async (name: string, args: string[], per: number) => {
            log(`provider: ${name}...`);
            await resetStats();
            const [secs] = await timed(() => p(args));
            const s = await stats();
            r[name] = { seconds: secs, requests: s.total, mutating: s.mutating, perResource: Number((s.total / per).toFixed(3)), byCall: s.byCall };
        };
        await phase("noopPreview", ["preview"], resources);
        await phase("noopUp", ["up", "--yes", "--skip-preview"], resources);
        await phase("refresh", ["refresh", "--yes", "--skip-preview"], resources);
        spec("Renamed");
        await phase("update", ["up", "--yes", "--skip-preview"], users);
        r.update.changedResources = users;

        const state = JSON.parse(await p(["stack", "export"]));
        const all = state.deployment.resources as any[];
        const mailUsers = all.filter((x) => String(x.type).endsWith(":MailUser"));
        r.stateBytes = Buffer.byteLength(JSON.stringify(state));
        r.stateBytesPerMailUser = Math.round(mailUsers.reduce((n, x) => n + Buffer.byteLength(JSON.stringify(x)), 0) / Math.max(1, mailUsers.length));
        r.stateBytesPerResource = Math.round(r.stateBytes / Math.max(1, all.length));
        r.providerBytes = Buffer.byteLength(mailUsers[0]?.inputs?.__provider ?? "");
        r.upVsNaive = Number((r.upSeconds / r.naiveSeconds).toFixed(3));
        r.upVsNoop = Number((r.upSeconds / r.noopSeconds).toFixed(3));
        r.upVsFloor = Number((r.upSeconds / r.floorSeconds).toFixed(2));
        r.targets = {
            "up <= 0.25 x naive": r.upVsNaive <= 0.25,
            "up <= 1.3 x no-op resources": r.upVsNoop <= 1.3,
            "no-op preview: 0 requests": r.noopPreview.requests === 0,
            "no-op up: 0 requests": r.noopUp.requests === 0,
            [`refresh <= ${2 + 2 * batches} requests`]: r.refresh.requests <= 2 + 2 * batches,
            "state <= 1.5 KB per MailUser": r.stateBytesPerMailUser <= 1536,
            "__provider < 1 KB": r.providerBytes < 1024,
            ...(users >= 5000 ? { "provider RSS <= 300 MB": (r.peakRssMb.provider ?? 0) <= 300 } : {}),
        };
    } finally {
        await emu.close();
        fs.rmSync(work, { recursive: true, force: true });
    }
    return r;
}

export function scaleTable(r: Record<string, any>): string {
    const rows: [string, string, string][] = [
        ["(a) naive sequential script", `${r.naiveSeconds.toFixed(1)} s`, `${r.naiveRequests} requests, one at a time`],
        ["(b) no-op dynamic resources", `${r.noopSeconds.toFixed(1)} s`, `${r.resources} resources: the engine's own cost`],
        ["(c) floor, measured", `${r.floorSeconds.toFixed(1)} s`, `${r.floorRoundTrips} round trips, ${r.poolSize} at a time`],
        ["(c) floor, computed", `${r.floorComputedSeconds.toFixed(1)} s`, `${r.floorRoundTrips} x ${r.latencyMs} ms / ${r.poolSize}`],
        ["provider: up from empty", `${r.upSeconds.toFixed(1)} s`, `${r.upVsNaive} x (a), ${r.upVsNoop} x (b), ${r.upVsFloor} x (c)`],
        ["  create", `${r.create.requests} req`, `${r.create.perResource} per resource (${r.create.mutating} mutating)`],
        ["  update (every user renamed)", `${r.update.requests} req`, `${r.update.perResource} per changed user, ${r.update.seconds.toFixed(1)} s`],
        ["  no-op preview", `${r.noopPreview.requests} req`, `${r.noopPreview.mutating} mutating, ${r.noopPreview.seconds.toFixed(1)} s`],
        ["  no-op up", `${r.noopUp.requests} req`, `${r.noopUp.mutating} mutating, ${r.noopUp.seconds.toFixed(1)} s`],
        ["  refresh", `${r.refresh.requests} req`, `${r.refresh.perResource} per resource, ${r.refresh.seconds.toFixed(1)} s; target <= ${2 + 2 * r.batches}`],
        ["  state per MailUser", `${r.stateBytesPerMailUser} B`, `whole state ${(r.stateBytes / 1e6).toFixed(2)} MB, ${r.stateBytesPerResource} B per resource`],
        ["  serialized __provider", `${r.providerBytes} B`, ""],
        ["  peak RSS, provider process", `${r.peakRssMb.provider ?? "?"} MB`, `engine ${r.peakRssMb.engine ?? "?"} MB, program ${r.peakRssMb.program ?? "?"} MB`],
        ["  CPU of the up, by process", `${Object.values(r.upCpuSeconds as Record<string, number>).reduce((a, b) => a + b, 0).toFixed(0)} s`, Object.entries(r.upCpuSeconds).map(([k, v]) => `${k} ${v}`).join(", ")],
        ["  CPU of (b), by process", `${Object.values(r.noopCpuSeconds as Record<string, number>).reduce((a, b) => a + b, 0).toFixed(0)} s`, Object.entries(r.noopCpuSeconds).map(([k, v]) => `${k} ${v}`).join(", ")],
    ];
    const w0 = Math.max(...rows.map((x) => x[0].length)), w1 = Math.max(...rows.map((x) => x[1].length));
    const lines = [`scale: ${r.users} users, ${r.batches} batches (${r.resources} resources), ${r.latencyMs} ms injected latency${r.skipCheckpoints ? ", PULUMI_SKIP_CHECKPOINTS=1" : ""}`, ""];
    for (const [a, b, c] of rows) lines.push(`${a.padEnd(w0)}  ${b.padStart(w1)}  ${c}`);
    lines.push("", "targets:");
    for (const [k, v] of Object.entries(r.targets ?? {})) lines.push(`  ${v ? "met   " : "MISSED"}  ${k}`);
    return lines.join("\n");
}

export function writeResult(prefix: string, r: unknown): string {
    const dir = path.join(ROOT, "bench", "results");
    fs.mkdirSync(dir, { recursive: true });
    const file = path.join(dir, `${prefix}-${new Date().toISOString().replace(/[:.]/g, "-")}.json`);
    fs.writeFileSync(file, JSON.stringify(r, null, 2));
    return file;
}

async function main() {
    const a = parseArgs(process.argv.slice(2));
    if (a.help) { console.log("Usage: npm run bench:scale -- [--users 1000[,5000]] [--batches 10] [--latency-ms 20] [--skip-checkpoints]"); return; }
    for (const users of String(a.users ?? "1000").split(",").map(Number)) {
        const r = await scaleBench({ users, batches: Number(a.batches ?? 10), latencyMs: Number(a["latency-ms"] ?? 20), skipCheckpoints: "skip-checkpoints" in a }, (s) => console.error(s));
        console.log(`\n${scaleTable(r)}`);
        console.log(`\nwrote ${path.relative(process.cwd(), writeResult(`scale-${users}${r.skipCheckpoints ? "-nocheckpoints" : ""}`, r))}`);
    }
}

if (require.main === module) main().catch((e) => { console.error(`bench:scale: ${e?.message ?? e}`); process.exit(1); });
