/**
 * Chaos under the real Pulumi CLI: nothing is lost, nothing is duplicated.
 *  - 20% injected faults of every kind (500, 503, 429, reset before and after the write, timeout,
 *    hasError) plus 50 ms latency: a 500-user `up` converges in one run;
 *  - `pulumi up` SIGKILLed (with its language host and provider) at 10 seeded random points of its API
 *    traffic: each time the recovery Pulumi tells the user (`pulumi cancel` for the stale lock,
 *    `pulumi refresh --clear-pending-creates`) and `up` converge;
 *  - the emulator killed (-9) and restarted mid-`up`: the run fails or retries cleanly, nothing it
 *    acknowledged is lost, and the next `up` converges.
 * "Converges": the emulator holds exactly the declared users (by source + target, 0 duplicates),
 * each in its declared batch, every batch with its declared settings, and a preview shows no change.
 */
import * as assert from "assert";
import { ChildProcess, spawn } from "child_process";
import * as fs from "fs";
import * as net from "net";
import * as os from "os";
import * as path from "path";
import { startEmulator } from "../emulator";
import { prng } from "../emulator/control";
import { TestStack, REPO, changes, disposeStackAfterEach, skipIfEngineOptedOut, tenantUser } from "./helpers/engine";
import { control, Emu, emuFaults, emuResetStats, emuState, emuStats } from "./helpers/emu";
import { killTree, spawnUp } from "./helpers/processes";

interface Tenant { users: number; batches: number; prefix: string }

/** The spec program's declaration of a tenant: batches with settings, users, memberships. */
function spec(t: Tenant) {
    const resources: any[] = [];
    for (let b = 0; b < t.batches; b++) {
        resources.push({ type: "MailBatch", name: `batch${b}`, args: { name: `${t.prefix} ${b}` } });
        resources.push({
            type: "BatchGlobalSettings", name: `settings${b}`,
            args: { batchName: { $out: `batch${b}.name` }, shouldMigrateTrash: b % 2 === 0, shouldMigrateJournals: true, fromDate: `2020-01-${String(b + 1).padStart(2, "0")}` },
        });
    }
    for (let i = 0; i < t.users; i++) {
        resources.push(...tenantUser(t, i, `Chaos${i}`));
    }
    return { resources };
}

/** Asserts the emulator holds exactly the tenant: users (0 duplicates), memberships, settings. */
function assertConverged(state: any, t: Tenant, what: string) {
    const users: any[] = state.mail.users;
    const keys = users.map((u) => `${u.sourceEmail}|${u.targetEmail}`);
    const dupes = keys.filter((k, i) => keys.indexOf(k) !== i);
    assert.deepStrictEqual(dupes, [], `${what}: 0 duplicates`);
    const want = new Map<string, string>();
    for (let i = 0; i < t.users; i++) want.set(`${t.prefix.toLowerCase()}${i}@source.example|${t.prefix.toLowerCase()}${i}@target.example`, `${t.prefix} ${i % t.batches}`);
    assert.deepStrictEqual([...keys].sort(), [...want.keys()].sort(), `${what}: exactly the declared users`);
    const wrong = users.filter((u) => u.batchName !== want.get(`${u.sourceEmail}|${u.targetEmail}`)).map((u) => `${u.sourceEmail} in ${u.batchName}`);
    assert.deepStrictEqual(wrong, [], `${what}: every user in its declared batch`);
    const batches = new Map<string, any>((state.mail.batches as any[]).map((b) => [b.name, b]));
    assert.deepStrictEqual([...batches.keys()].sort(), Array.from({ length: t.batches }, (_, b) => `${t.prefix} ${b}`).sort(), `${what}: exactly the declared batches`);
    for (let b = 0; b < t.batches; b++) {
        const s = settingsOf(state, `${t.prefix} ${b}`);
        assert.ok(s, `${what}: batch ${b} has settings`);
        assert.strictEqual(s.shouldMigrateTrash, b % 2 === 0, `${what}: batch ${b} shouldMigrateTrash`);
        assert.strictEqual(s.shouldMigrateJournals, true, `${what}: batch ${b} shouldMigrateJournals`);
        assert.match(String(s.fromDate), new RegExp(`^2020-01-${String(b + 1).padStart(2, "0")}`), `${what}: batch ${b} fromDate`);
    }
}

function settingsOf(state: any, batch: string): any {
    return (state.mail.batches as any[]).find((b) => b.name === batch)?.settings;
}

async function expectNoChanges(stack: TestStack, what: string) {
    const p = await stack.preview();
    assert.deepStrictEqual(changes(p.steps), [], `${what}: a preview after convergence shows no change`);
}

/**
 * A kill can leave the file backend's `.attrs` sidecar empty (gocloud's fileblob writes it in place,
 * not atomically); every later command then fails with "failed to load checkpoint: EOF". The
 * repair a user makes: delete the empty sidecar (a missing one is accepted). Returns what was removed.
 */
function repairEmptyAttrs(stateDir: string): string[] {
    const removed: string[] = [];
    const walk = (d: string) => {
        for (const e of fs.readdirSync(d, { withFileTypes: true })) {
            const f = path.join(d, e.name);
            if (e.isDirectory()) walk(f);
            else if (e.name.endsWith(".attrs") && fs.statSync(f).size === 0) { fs.rmSync(f); removed.push(path.relative(stateDir, f)); }
        }
    };
    if (fs.existsSync(stateDir)) walk(stateDir);
    return removed;
}

async function freePort(): Promise<number> {
    return new Promise((resolve, reject) => {
        const s = net.createServer();
        s.listen(0, "127.0.0.1", () => { const port = (s.address() as net.AddressInfo).port; s.close(() => resolve(port)); });
        s.on("error", reject);
    });
}

/** The emulator as a child process on a fixed port with a data file, so it can be killed and restarted. */
async function startEmulatorProcess(port: number, dataFile: string): Promise<ChildProcess> {
    const child = spawn(process.execPath, [path.join(REPO, "dist", "cli", "index.js"), "emulator", "--port", String(port), "--data", dataFile, "--transition-ms", "0"], {
        stdio: ["ignore", "pipe", "pipe"],
    });
    await new Promise<void>((resolve, reject) => {
        let out = "";
        child.stdout!.on("data", (d) => { out += d; if (/http:\/\//.test(out)) resolve(); });
        child.on("exit", (code) => reject(new Error(`emulator exited (${code}) before it listened: ${out}`)));
    });
    return child;
}

describe("@engine chaos: faults, kills and restarts lose nothing and duplicate nothing", function () {
    this.timeout(30 * 60 * 1000);
    let stack: TestStack | undefined;

    before(function () {
        skipIfEngineOptedOut(this);
    });
    disposeStackAfterEach(() => stack, () => { stack = undefined; }, { destroy: false, lines: 2, maxChars: 8000 });

    it("20% faults of every kind and 50 ms latency: a 500-user up converges in one run", async () => {
        const emu: Emu = await startEmulator({ port: 0, transitionMs: 0, quiet: true });
        try {
            const t: Tenant = { users: 500, batches: 5, prefix: "Fault" };
            // A timeout fault holds the answer for 60 s: the provider gives up on an attempt after 2 s (cloudiway:requestTimeoutMs).
            stack = await TestStack.create({ name: "chaos-faults", apiUrl: emu.url, config: { "cloudiway:requestTimeoutMs": "2000" } });
            stack.setSpec(spec(t));
            await emuFaults(emu.baseUrl, { errorRate: 0.2, kinds: ["500", "503", "429", "reset", "timeout", "hasError"], latencyMs: 50, retryAfterSeconds: 0.2, seed: 6 });
            const started = Date.now();
            await stack.up(); // one run, no error
            const seconds = (Date.now() - started) / 1000;
            const stats = await control(emu).stats();
            const calls = await control(emu).calls();
            const faults: Record<string, number> = {};
            for (const c of calls) if (c.fault) faults[c.fault] = (faults[c.fault] ?? 0) + 1;
            console.log(`      faults run: ${seconds.toFixed(0)} s, ${stats.total} requests, injected ${JSON.stringify(faults)}`);
            for (const k of ["500", "503", "429", "reset", "timeout", "hasError", "reset-after-commit"]) assert.ok(faults[k] > 0, `fault kind ${k} was injected`);
            await emuFaults(emu.baseUrl, { errorRate: 0, latencyMs: 0 });
            assertConverged(await emuState(emu.baseUrl), t, "after one faulty up");
            await expectNoChanges(stack, "faults");
        } finally {
            await emu.close();
        }
    });

    it("pulumi up SIGKILLed at 10 seeded random points: refresh --clear-pending-creates + up converge, 0 duplicates", async () => {
        const emu: Emu = await startEmulator({ port: 0, transitionMs: 0, quiet: true });
        const random = prng(20261123);
        const t: Tenant = { users: 30, batches: 3, prefix: "Kill" };
        const log: string[] = [];
        let orphans = 0;
        try {
            for (let round = 0; round < 10; round++) {
                await control(emu).reset();
                await emuFaults(emu.baseUrl, { latencyMs: 25 });
                stack = await TestStack.create({ name: `chaos-kill${round}`, apiUrl: emu.url });
                stack.setSpec(spec(t));
                // The kill lands at a seeded random point of the up's API traffic (a full up of this stack makes
                // ~130 requests): the n-th request, n in 1..120, whatever is in flight then.
                const target = 1 + Math.floor(random() * 120);
                await emuResetStats(emu.baseUrl);
                const up = spawnUp(stack);
                let exited = false;
                let killedAfter = -1;
                void up.done.then(() => { exited = true; });
                while (!exited) {
                    const n = (await emuStats(emu.baseUrl)).total;
                    if (n >= target) { killTree(up.child.pid!); killedAfter = n; break; }
                    await new Promise((r) => setTimeout(r, 10));
                }
                const ended = await up.done;
                const delayMs = killedAfter; // (for the log: requests seen when killed)
                killTree(up.child.pid!); // nothing of it survives
                const repaired = repairEmptyAttrs(path.join(stack.home, "state"));
                const before = await emuState(emu.baseUrl);
                const pendingOps: any[] = JSON.parse((await stack.cli(["stack", "export"])).stdout).deployment.pending_operations ?? [];
                const pending = pendingOps.length;
                // Pending creates whose object Cloudiway made anyway: the orphans the next up must adopt, not duplicate.
                const made = new Set<string>(before.mail.users.map((u: any) => u.sourceEmail));
                const batchesMade = new Set<string>(before.mail.batches.map((b: any) => b.name));
                orphans += pendingOps.filter((op) => op.type === "creating" && (
                    (String(op.resource.type).endsWith(":MailUser") && made.has(op.resource.inputs?.sourceEmail)) ||
                    (String(op.resource.type).endsWith(":MailBatch") && batchesMade.has(op.resource.inputs?.name)))).length;
                log.push(`round ${round}: kill at request ${target} (${ended.signal ?? `exit ${ended.code}`} after ${delayMs} requests); ${before.mail.users.length} users made, ` +
                    `${pending} pending operations${repaired.length ? `; empty ${repaired.join(", ")} removed` : ""}`);
                await emuFaults(emu.baseUrl, { latencyMs: 0 });
                // What pulumi tells the user: a killed run's lock is removed with `pulumi cancel`; refresh,
                // clearing the pending creates; then up again.
                let refresh = await stack.cli(["refresh", "--yes", "--skip-preview", "--clear-pending-creates"], true);
                if (refresh.code !== 0 && /currently locked/.test(refresh.stdout + refresh.stderr)) {
                    await stack.cli(["cancel", "--yes"]);
                    log[log.length - 1] += "; lock removed with pulumi cancel";
                    refresh = await stack.cli(["refresh", "--yes", "--skip-preview", "--clear-pending-creates"], true);
                }
                assert.strictEqual(refresh.code, 0, `round ${round}: refresh: ${refresh.stdout}\n${refresh.stderr}`);
                await stack.up();
                assertConverged(await emuState(emu.baseUrl), t, `round ${round} (kill at request ${target})`);
                await expectNoChanges(stack, `round ${round}`);
                await stack.dispose();
                stack = undefined;
            }
            console.log(log.map((l) => `      ${l}`).join("\n"));
            console.log(`      ${orphans} interrupted creates had reached Cloudiway; each was adopted by the next up (0 duplicates)`);
            assert.ok(log.filter((l) => /SIGKILL/.test(l)).length >= 8, "the kills landed during the up");
            assert.ok(log.some((l) => /[1-9]\d* pending/.test(l)), "some kill left pending operations");
        } finally {
            await emu.close();
        }
    });

    it("the emulator killed and restarted mid-up: the run fails or retries cleanly, nothing acknowledged is lost, the next up converges", async () => {
        const port = await freePort();
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "cw-chaos-emu-"));
        const dataFile = path.join(dir, "cloudiway.json");
        let emuProc = await startEmulatorProcess(port, dataFile);
        const baseUrl = `http://127.0.0.1:${port}`;
        const t: Tenant = { users: 60, batches: 3, prefix: "Restart" };
        try {
            stack = await TestStack.create({ name: "chaos-restart", apiUrl: `${baseUrl}/api` });
            stack.setSpec(spec(t));
            await emuFaults(baseUrl, { latencyMs: 30 });
            const up = spawnUp(stack);
            // Kill the emulator once the up is creating users, keep it down for 2 s, start it again on the same port and data.
            for (let i = 0; i < 200; i++) {
                const st = await emuState(baseUrl).catch(() => undefined);
                if (st && st.mail.users.length >= 10) break;
                await new Promise((r) => setTimeout(r, 50));
            }
            const atKill = (await emuState(baseUrl)).mail.users.length;
            emuProc.kill("SIGKILL");
            await new Promise((r) => emuProc.on("exit", r));
            await new Promise((r) => setTimeout(r, 2000));
            emuProc = await startEmulatorProcess(port, dataFile);
            const first = await up.done;
            const afterRestart = await emuState(baseUrl);
            console.log(`      killed with ${atKill} users made; the up ${first.code === 0 ? "retried through the outage and succeeded" : `failed (exit ${first.code})`}; ${afterRestart.mail.users.length} users after it`);
            // Whether the up retries through the outage or fails is a matter of timing; either way it ends by
            // itself, cleanly, and an up that says it succeeded has made the whole tenant.
            assert.strictEqual(first.signal, null, "the up ends by itself");
            assert.doesNotMatch(first.out, /panic|TypeError|ReferenceError|Unhandled/i, "no crash, whether the up failed or succeeded");
            if (first.code === 0) assertConverged(afterRestart, t, "an up that succeeded through the outage");
            // Nothing acknowledged is lost: every user and membership the state holds is in the emulator.
            const state = JSON.parse((await stack.cli(["stack", "export"])).stdout);
            const byTag = new Map<string, any>(afterRestart.mail.users.map((u: any) => [u.migrationTag, u]));
            for (const r of state.deployment.resources as any[]) {
                if (String(r.type).endsWith(":MailUser")) {
                    assert.ok(byTag.has(r.id), `acknowledged user ${r.outputs.sourceEmail} (${r.id}) survives the restart`);
                    assert.strictEqual(byTag.get(r.id).sourceEmail, r.outputs.sourceEmail);
                }
                if (String(r.type).endsWith(":BatchMembership")) {
                    assert.strictEqual(byTag.get(r.id)?.batchName, r.outputs.batchName, `acknowledged membership of ${r.id} survives the restart`);
                }
            }
            if (first.code !== 0) await stack.cli(["refresh", "--yes", "--skip-preview", "--clear-pending-creates"]);
            await stack.up();
            assertConverged(await emuState(baseUrl), t, "after the restart");
            await expectNoChanges(stack, "restart");
        } finally {
            emuProc.kill("SIGKILL");
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });
});
