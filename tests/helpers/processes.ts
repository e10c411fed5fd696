/**
 * The processes of a `pulumi up` that chaos tests kill (chaos.test.ts, chaos-fast.test.ts): the
 * tree under a process by /proc parent links, whether one still runs, `pulumi up` as a process
 * group of its own, a whole tree killed, or only the engine killed and its children watched.
 */
import { ChildProcess, spawn } from "child_process";
import * as fs from "fs";
import type { TestStack } from "./engine";

export interface Proc { pid: number; cmd: string }

/**
 * Every process under `pid` (by /proc parent links) with its command line: each parent before its
 * children, or with `deepestFirst` each child before its parent (the order to kill a tree in).
 */
export function descendants(pid: number, opts: { deepestFirst?: boolean } = {}): Proc[] {
    const children = new Map<number, number[]>();
    for (const d of fs.readdirSync("/proc")) {
        if (!/^\d+$/.test(d)) continue;
        let stat: string;
        try { stat = fs.readFileSync(`/proc/${d}/stat`, "utf8"); } catch { continue; }
        const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
        (children.get(ppid) ?? children.set(ppid, []).get(ppid)!).push(Number(d));
    }
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

/** Alive and not a zombie (an exited orphan that nobody reaped yet has exited). */
export function alive(pid: number): boolean {
    try {
        const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
        return stat.slice(stat.lastIndexOf(")") + 2).split(" ")[0] !== "Z";
    } catch {
        return false;
    }
}

export interface RunningUp { child: ChildProcess; done: Promise<{ code: number | null; signal: string | null; out: string }> }

/** `pulumi up` of the stack (with `args` added) as a process group of its own, so it can be killed whole. */
export function spawnUp(stack: TestStack, args: string[] = []): RunningUp {
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
export async function killEngineWhen(stack: TestStack, when: () => Promise<boolean>, args: string[] = []): Promise<{ killed: boolean; orphans: Proc[]; exitedInMs: number; leftAlive: string[] }> {
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
