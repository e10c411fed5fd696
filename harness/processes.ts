/**
 * The processes of a pulumi run, for the chaos tests (chaos.test.ts, chaos-fast.test.ts) and the
 * benches (scripts/bench-scale.ts): the tree under a process by /proc parent links, whether one
 * still runs, `pulumi up` as a process group of its own, a whole tree killed, or only the engine
 * killed and its children watched; and the peak memory and CPU time of a tree, by role.
 */
import { ChildProcess, spawn } from "child_process";
import * as fs from "fs";
import type { EngineStack } from "./engine";
import { STAT, procStat } from "../provider/runtime/procStat";

export interface Proc { pid: number; cmd: string }

/**
 * Every process under `pid` (by /proc parent links) with its command line: each parent before its
 * children, or with `deepestFirst` each child before its parent (the order to kill a tree in).
 */
export function descendants(pid: number, opts: { deepestFirst?: boolean } = {}): Proc[] {
    const children = childrenByParent();
    const out: Proc[] = [];
    const walk = (p: number) => {
        for (const c of children.get(p) ?? []) {
            let cmd = "";
            try { cmd = fs.readFileSync(`/proc/${c}/cmdline`, "utf8").replace(/\0/g, " ").trim(); } catch { /* gone */ }
            if (opts.deepestFirst) { walk(c); out.push({ pid: c, cmd }); } else { out.push({ pid: c, cmd }); walk(c); }
        }
    };
    walk(pid);
    return out;
}

/** Every process's children, by /proc parent links. */
function childrenByParent(): Map<number, number[]> {
    const children = new Map<number, number[]>();
    for (const d of safeReaddir("/proc")) {
        if (!/^\d+$/.test(d)) continue;
        const stat = procStat(d);
        if (!stat) continue;
        const ppid = Number(stat[STAT.ppid]);
        (children.get(ppid) ?? children.set(ppid, []).get(ppid)!).push(Number(d));
    }
    return children;
}
function safeReaddir(d: string): string[] { try { return fs.readdirSync(d); } catch { return []; } }
function safeRead(f: string): string | undefined { try { return fs.readFileSync(f, "utf8"); } catch { return undefined; } }

/** Alive and not a zombie (an exited orphan that nobody reaped yet has exited). */
export function alive(pid: number): boolean {
    const stat = procStat(pid);
    return stat !== undefined && stat[STAT.state] !== "Z";
}

export interface RunningUp { child: ChildProcess; done: Promise<{ code: number | null; signal: string | null; out: string }> }

/** `pulumi up` of the stack (with `args` added) as a process group of its own, so it can be killed whole. */
export function spawnUp(stack: EngineStack, args: string[] = []): RunningUp {
    const child = spawn("pulumi", ["up", "--yes", "--skip-preview", "--non-interactive", "--stack", "test", ...args], {
        cwd: stack.dir, env: stack.env, detached: true, stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    child.stdout!.on("data", (d) => (out += d));
    child.stderr!.on("data", (d) => (out += d));
    const done = new Promise<{ code: number | null; signal: string | null; out: string }>((resolve) => child.on("exit", (code, signal) => resolve({ code, signal, out })));
    return { child, done };
}

/** SIGKILL of the whole tree: pulumi, its language host, the program, the dynamic provider. */
export function killTree(pid: number): void {
    const all = [...descendants(pid, { deepestFirst: true }).map((p) => p.pid), pid];
    try { process.kill(-pid, "SIGKILL"); } catch { /* group gone */ }
    for (const p of all) { try { process.kill(p, "SIGKILL"); } catch { /* gone */ } }
}

/**
 * Starts `pulumi up` (with `args` added) and kills only the `pulumi` process (SIGKILL) when `when()`
 * says so, then waits for the processes it had started (language host, program, dynamic provider) to
 * exit by themselves. Returns what it saw.
 */
export async function killEngineWhen(stack: EngineStack, when: () => Promise<boolean>, args: string[] = []): Promise<{ killed: boolean; orphans: Proc[]; exitedInMs: number; leftAlive: string[] }> {
    const up = spawnUp(stack, args);
    let exited = false;
    void up.done.then(() => { exited = true; });
    while (!exited && !(await when())) await new Promise((r) => setTimeout(r, 5));
    if (exited) return { killed: false, orphans: [], exitedInMs: 0, leftAlive: [] };
    const orphans = descendants(up.child.pid!);
    process.kill(up.child.pid!, "SIGKILL");
    await up.done;
    const t0 = Date.now();
    while (orphans.some((p) => alive(p.pid)) && Date.now() - t0 < 20_000) await new Promise((r) => setTimeout(r, 100));
    const exitedInMs = Date.now() - t0;
    const leftAlive = orphans.filter((p) => alive(p.pid)).map((p) => `${p.pid} ${p.cmd.slice(0, 120)}`);
    for (const p of orphans) { try { process.kill(p.pid, "SIGKILL"); } catch { /* gone */ } } // never leave them to later tests
    return { killed: true, orphans, exitedInMs, leftAlive };
}

// ------------------------------------------------------------------ measuring a tree (benches)

const round1 = (n: number) => Number(n.toFixed(1));

/** user + system CPU seconds of a process so far (clock ticks of 1/100 s), or undefined when it is gone. */
export function procCpuSeconds(pid: number): number | undefined {
    const f = procStat(pid);
    return f ? (Number(f[STAT.utime]) + Number(f[STAT.stime])) / 100 : undefined;
}

/** The pid of a process whose command line contains `needle` (e.g. Azurite's, to count its CPU). */
export function findPid(needle: string): number | undefined {
    for (const d of safeReaddir("/proc")) {
        if (/^\d+$/.test(d) && (safeRead(`/proc/${d}/cmdline`) ?? "").replace(/\0/g, " ").includes(needle)) return Number(d);
    }
    return undefined;
}

/** The role of a process of a pulumi run, from its command line. */
export function roleOf(cmd: string): string {
    return /dynamic-provider/.test(cmd) ? "provider"
        : /pulumi-language-nodejs|langhost/.test(cmd) ? "languageHost"
        : /^node /.test(cmd) || /\bnode\b.*run/.test(cmd) ? "program"
        : /pulumi\b/.test(cmd) ? "engine" : "other";
}

/** One process seen under a sampled tree: its parent, role, command line, peak RSS and CPU so far. */
export interface SampledProcess {
    pid: number;
    ppid: number;
    role: string;
    cmd: string;
    /** VmHWM, MB, at the last sample. */
    peakMb: number;
    /** user + system CPU seconds at the last sample. */
    cpuSeconds: number;
}

/**
 * Peak RSS (VmHWM, MB) and CPU seconds of the processes under `root` (and `root` itself), by role
 * (engine, languageHost, program, provider), sampled until stopped. `processes()` gives each process
 * seen (with its parent), for a tree that holds several engines (e.g. \`up --all-shards\`);
 * `rootRole` names the root's role instead of guessing it from its command line (e.g. "driver").
 */
export class RssSampler {
    readonly peakMb: Record<string, number> = {};
    private readonly procs = new Map<number, SampledProcess>();
    private timer: NodeJS.Timeout | undefined;
    constructor(private readonly root: number, private readonly rootRole?: string) {}

    /** CPU seconds (user + system) per role, summed over the role's processes. */
    cpuSeconds(): Record<string, number> {
        const out: Record<string, number> = {};
        for (const { role, cpuSeconds } of this.procs.values()) out[role] = round1((out[role] ?? 0) + cpuSeconds);
        return out;
    }
    /** Every process seen, in the order first seen (parents before their children). */
    processes(): SampledProcess[] { return [...this.procs.values()].map((p) => ({ ...p })); }
    start(everyMs = 250): void { this.timer = setInterval(() => this.sample(), everyMs); this.sample(); }
    stop(): void { if (this.timer) clearInterval(this.timer); this.sample(); }

    private sample(): void {
        const children = childrenByParent();
        const stack: [number, number][] = [[this.root, 0]];
        while (stack.length) {
            const [pid, ppid] = stack.pop()!;
            stack.push(...(children.get(pid) ?? []).map((c): [number, number] => [c, pid]));
            const m = /VmHWM:\s+(\d+) kB/.exec(safeRead(`/proc/${pid}/status`) ?? "");
            if (!m) continue;
            const known = this.procs.get(pid);
            // Read at every sample: a shell shim (the dynamic provider's) that execs node keeps its pid and takes node's role.
            const cmd = (safeRead(`/proc/${pid}/cmdline`) ?? "").replace(/\0/g, " ").trim();
            const role = pid === this.root && this.rootRole ? this.rootRole : roleOf(cmd);
            const mb = Math.round(Number(m[1]) / 1024);
            this.peakMb[role] = Math.max(this.peakMb[role] ?? 0, mb);
            const cpu = procCpuSeconds(pid);
            this.procs.set(pid, {
                pid, ppid, role, cmd,
                peakMb: Math.max(known?.peakMb ?? 0, mb),
                cpuSeconds: cpu ?? known?.cpuSeconds ?? 0,
            });
        }
    }
}
