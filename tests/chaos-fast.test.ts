/**
 * Chaos in fast mode (the engine's PULUMI_SKIP_CHECKPOINTS=true: the state is written once, at the
 * end of the run), under the real Pulumi CLI:
 *  - `pulumi up` SIGKILLed at 10 seeded points — during creates, during MigrationRun actions, during
 *    deletes — then recovered as docs/campaign.md says: `pulumi cancel --yes` if the lock remains, and the
 *    next `up`. Half the rounds recover on the same machine (file backend, the create journal under
 *    PULUMI_HOME); the other half as a fresh CI runner: a new, empty PULUMI_HOME, the state in a
 *    shared blob store (Azurite behind Pulumi's azblob:// backend), CLOUDIWAY_ADOPT_EXISTING=true for
 *    the recovery run and nothing else (for the users and batches; the runs' sends are journaled in
 *    the stack's store, the blob container beside the state, so a fresh runner that recovers after the
 *    passes ended does not send them again). Each time the emulator holds each declared user once, its
 *    membership and every batch's settings as declared, and each run's action was sent once;
 *  - nothing of the killed run lingers: its language host, program and dynamic provider exit within
 *    seconds of the engine's death (only the `pulumi` process is killed);
 *  - with only a SAS token for the state's container (no key), a fresh runner after a killed up and
 *    ended passes sends nothing again; a provider with no usable credential for the store says so
 *    once in the up's output;
 *  - a 500-user fast-mode up with 20% injected faults and 100 ms latency converges in one run.
 */
import * as assert from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { startEmulator } from "../emulator";
import { prng } from "../emulator/control";
import { Azurite, startAzurite } from "../scripts/azurite";
import { TestStack, changes, disposeStackAfterEach, engineBinDir, skipIfEngineOptedOut, tenantUser } from "./helpers/engine";
import { control, Emu, emuCalls, emuFaults, emuState, emuStats } from "./helpers/emu";
import { killEngineWhen } from "./helpers/processes";

/** The engine's fast mode, and the parallelism docs/large-plans-and-shards.md recommends. */
const FAST = { PULUMI_SKIP_CHECKPOINTS: "true" };
const PARALLEL = ["--parallel", "32"];

interface Tenant { users: number; batches: number; prefix: string; runs: number[]; without?: number }

/**
 * Batches with settings, users with memberships, and a `migrate` run on each batch of `runs`
 * (after that batch's memberships and settings). `without`: that batch and its users left out.
 */
function spec(t: Tenant) {
    const resources: any[] = [];
    const keep = (b: number) => b !== t.without;
    for (let b = 0; b < t.batches; b++) {
        if (!keep(b)) continue;
        resources.push({ type: "MailBatch", name: `batch${b}`, args: { name: `${t.prefix} ${b}` } });
        resources.push({
            type: "BatchGlobalSettings", name: `settings${b}`,
            args: { batchName: { $out: `batch${b}.name` }, shouldMigrateTrash: b % 2 === 0, shouldMigrateJournals: true, fromDate: `2021-02-${String(b + 1).padStart(2, "0")}` },
        });
    }
    for (let i = 0; i < t.users; i++) {
        if (!keep(i % t.batches)) continue;
        resources.push(...tenantUser(t, i, `Fast${i}`));
    }
    for (const b of t.runs.filter(keep)) {
        const members = Array.from({ length: t.users }, (_, i) => i).filter((i) => i % t.batches === b).map((i) => `member${i}`);
        resources.push({ type: "MigrationRun", name: `run${b}`, args: { batchName: { $out: `batch${b}.name` }, action: "migrate", trigger: "wave-1" }, dependsOn: [...members, `settings${b}`] });
    }
    return { resources };
}

/** The emulator holds exactly the tenant (each user once, in its batch; settings), and each run's start was sent once. */
async function assertConverged(baseUrl: string, t: Tenant, what: string) {
    const state = await emuState(baseUrl);
    const users: any[] = state.mail.users;
    const keys = users.map((u) => `${u.sourceEmail}|${u.targetEmail}`);
    assert.deepStrictEqual(keys.filter((k, i) => keys.indexOf(k) !== i), [], `${what}: 0 duplicate users`);
    const want = new Map<string, string>();
    for (let i = 0; i < t.users; i++) {
        if (i % t.batches === t.without) continue;
        want.set(`${t.prefix.toLowerCase()}${i}@source.example|${t.prefix.toLowerCase()}${i}@target.example`, `${t.prefix} ${i % t.batches}`);
    }
    assert.deepStrictEqual([...keys].sort(), [...want.keys()].sort(), `${what}: exactly the declared users`);
    const wrong = users.filter((u) => u.batchName !== want.get(`${u.sourceEmail}|${u.targetEmail}`)).map((u) => `${u.sourceEmail} in ${u.batchName}`);
    assert.deepStrictEqual(wrong, [], `${what}: every user in its declared batch`);
    const batches = Array.from({ length: t.batches }, (_, b) => b).filter((b) => b !== t.without);
    assert.deepStrictEqual((state.mail.batches as any[]).map((b) => b.name).sort(), batches.map((b) => `${t.prefix} ${b}`).sort(), `${what}: exactly the declared batches`);
    for (const b of batches) {
        const s = (state.mail.batches as any[]).find((x) => x.name === `${t.prefix} ${b}`)?.settings;
        assert.strictEqual(s?.shouldMigrateTrash, b % 2 === 0, `${what}: batch ${b} shouldMigrateTrash`);
        assert.strictEqual(s?.shouldMigrateJournals, true, `${what}: batch ${b} shouldMigrateJournals`);
        assert.match(String(s?.fromDate), new RegExp(`^2021-02-${String(b + 1).padStart(2, "0")}`), `${what}: batch ${b} fromDate`);
    }
    const starts = (await emuCalls(baseUrl)).filter((c) => c.call === "/mailusers/startbatch" && c.ok);
    for (const b of t.runs.filter((x) => x !== t.without)) {
        assert.strictEqual(starts.filter((c) => c.batchName === `${t.prefix} ${b}`).length, 1, `${what}: the run of batch ${b} was sent once`);
    }
}

describe("@engine chaos in fast mode (PULUMI_SKIP_CHECKPOINTS): kills recover on the same machine and on a fresh runner", function () {
    this.timeout(30 * 60 * 1000);
    let stack: TestStack | undefined;
    let azurite: Azurite | undefined;

    before(async function () {
        skipIfEngineOptedOut(this);
        azurite = await startAzurite({ quiet: true });
    });
    after(async () => { await azurite?.close(); });
    disposeStackAfterEach(() => stack, () => { stack = undefined; }, { destroy: false, lines: 3, maxChars: 8000 });

    it("10 seeded SIGKILLs of a fast-mode up (creates, MigrationRun actions, deletes): the next up converges, each action sent once, nothing lingers", async () => {
        // Passes take several seconds here (a real one takes hours): a recovery finds a killed run's pass still under way.
        const emu: Emu = await startEmulator({ port: 0, transitionMs: 4000, quiet: true });
        const random = prng(20261130);
        const t: Tenant = { users: 24, batches: 3, prefix: "Fast", runs: [0, 1] };
        const phases = ["creates", "creates", "creates", "creates", "runs", "runs", "runs", "deletes", "deletes", "deletes"] as const;
        const log: string[] = [];
        try {
            for (let round = 0; round < phases.length; round++) {
                const phase = phases[round];
                const fresh = round % 2 === 1; // odd rounds: the recovery runs on a fresh runner, the state on Azurite
                await control(emu).reset();
                await emuFaults(emu.baseUrl, { latencyMs: 20 });
                stack = await TestStack.create({
                    name: `fast-kill${round}`, apiUrl: emu.url,
                    ...(fresh ? { backendUrl: await azurite!.backendUrl(`fast-kill-${round}`), env: { ...FAST, ...azurite!.env } } : { env: FAST }),
                });
                let declared: Tenant = t;
                stack.setSpec(spec(t));
                if (phase === "deletes") {
                    await stack.up(PARALLEL); // converged first; then batch 2 and its users leave the plan
                    declared = { ...t, without: 2 };
                    stack.setSpec(spec(declared));
                }
                const base = (await emuStats(emu.baseUrl)).total;
                let target = "";
                let when: () => Promise<boolean>;
                if (phase === "runs") {
                    // Right after the k-th batch start reached Cloudiway (k = 1 or 2).
                    const k = 1 + Math.floor(random() * 2);
                    target = `after start ${k}`;
                    when = async () => (await emuCalls(emu.baseUrl)).filter((c) => c.call === "/mailusers/startbatch" && c.ok).length >= k;
                } else {
                    // The n-th request of the up: an up from empty makes ~110, the deletes ~30.
                    const n = 1 + Math.floor(random() * (phase === "creates" ? 90 : 22));
                    target = `request ${n}`;
                    when = async () => (await emuStats(emu.baseUrl)).total - base >= n;
                }
                const k = await killEngineWhen(stack, when, PARALLEL);
                const before = await emuState(emu.baseUrl);
                let line = `round ${round} (${phase}, kill at ${target}): ${k.killed ? "SIGKILL" : "the up ended before the kill"}; ` +
                    `${before.mail.users.length} users made; ${k.orphans.length} processes of the run exited in ${(k.exitedInMs / 1000).toFixed(1)} s`;
                assert.deepStrictEqual(k.leftAlive, [], `round ${round}: the language host, program and provider exit after the engine's death`);

                await emuFaults(emu.baseUrl, { latencyMs: 0 });
                if (fresh) {
                    await stack.freshRunner();
                    stack.env = { ...stack.env, CLOUDIWAY_ADOPT_EXISTING: "true" };
                    line += "; recovered on a fresh runner (new PULUMI_HOME, state on Azurite, CLOUDIWAY_ADOPT_EXISTING=true)";
                } else {
                    line += "; recovered on the same machine";
                }
                let r = await stack.cli(["up", "--yes", "--skip-preview", ...PARALLEL], true);
                if (r.code !== 0 && /locked/.test(r.stdout + r.stderr)) {
                    await stack.cli(["cancel", "--yes"]);
                    line += " after pulumi cancel";
                    r = await stack.cli(["up", "--yes", "--skip-preview", ...PARALLEL], true);
                }
                assert.strictEqual(r.code, 0, `round ${round}: the recovery up: ${r.stdout}\n${r.stderr}`);
                log.push(line);
                await assertConverged(emu.baseUrl, declared, `round ${round} (${phase}, kill at ${target})`);
                if (fresh) delete stack.env.CLOUDIWAY_ADOPT_EXISTING; // that run only
                const p = await stack.preview();
                assert.deepStrictEqual(changes(p.steps), [], `round ${round}: a preview after the recovery shows no change`);
                await stack.dispose();
                stack = undefined;
            }
            console.log(log.map((l) => `      ${l}`).join("\n"));
            assert.ok(log.filter((l) => /SIGKILL/.test(l)).length >= 8, "the kills landed during the up");
        } finally {
            await emu.close();
        }
    });

    /**
     * A runner given only a SAS token for the state's container (no AZURE_STORAGE_KEY anywhere): the
     * engine keeps the state with it, the provider the run journal beside it. An up killed right
     * after the run's start reached Cloudiway, the passes then ended, and a fresh runner (new
     * PULUMI_HOME, so a new local journal) recovers: the start is not sent again.
     */
    it("SAS token only: a fresh runner after a killed fast-mode up and ended passes sends nothing again", async () => {
        const emu: Emu = await startEmulator({ port: 0, transitionMs: 3_600_000, quiet: true }); // passes advance on tick only
        try {
            const t: Tenant = { users: 6, batches: 2, prefix: "Sas", runs: [0, 1] };
            const sas = { ...azurite!.sasEnv("fast-sas"), AZURE_STORAGE_KEY: undefined, AZURE_STORAGE_CONNECTION_STRING: undefined };
            stack = await TestStack.create({ name: "fast-sas", apiUrl: emu.url, backendUrl: await azurite!.backendUrl("fast-sas"), env: { ...FAST, ...sas } });
            stack.setSpec(spec(t));
            const started = async () => (await emuCalls(emu.baseUrl)).filter((c) => c.call === "/mailusers/startbatch" && c.ok).length;
            const k = await killEngineWhen(stack, async () => (await started()) >= 1, PARALLEL);
            assert.ok(k.killed, "killed during the up, after a run's start was sent");
            assert.ok((await azurite!.list("fast-sas")).some((b) => b.startsWith(".pulumi-cloudiway/")), "the send's record is a blob beside the state, written with the SAS token");
            for (let i = 0; i < 10; i++) await control(emu).tick(); // the passes end: Cloudiway shows nothing under way
            await stack.freshRunner();
            stack.env = { ...stack.env, CLOUDIWAY_ADOPT_EXISTING: "true" };
            let r = await stack.cli(["up", "--yes", "--skip-preview", ...PARALLEL], true);
            if (r.code !== 0 && /locked/.test(r.stdout + r.stderr)) {
                await stack.cli(["cancel", "--yes"]);
                r = await stack.cli(["up", "--yes", "--skip-preview", ...PARALLEL], true);
            }
            assert.strictEqual(r.code, 0, `the recovery up: ${r.stdout}\n${r.stderr}`);
            assert.doesNotMatch(r.stdout + r.stderr, /run journal cannot be kept/, "the SAS token is a usable credential");
            await assertConverged(emu.baseUrl, t, "SAS-only fresh runner"); // each run's start sent once
        } finally {
            await emu.close();
        }
    });

    /**
     * The engine reaches the state (its key), but the provider process finds no usable credential (a
     * wrapper of the dynamic provider's shim removes the storage variables from its environment, as
     * when the engine uses a credential the provider cannot): the up goes on, and its output says
     * once what to set.
     */
    it("no usable credentials for the store: the engine's output carries the warning, once per command", async () => {
        const emu: Emu = await startEmulator({ port: 0, transitionMs: 0, quiet: true });
        const wrap = fs.mkdtempSync(path.join(os.tmpdir(), "cw-noazure-"));
        try {
            const shim = path.join(wrap, "pulumi-resource-pulumi-nodejs");
            fs.writeFileSync(shim, `#!/bin/sh\nunset AZURE_STORAGE_KEY AZURE_STORAGE_SAS_TOKEN\nexec ${JSON.stringify(path.join(engineBinDir(), "pulumi-resource-pulumi-nodejs"))} "$@"\n`, { mode: 0o755 });
            stack = await TestStack.create({ name: "fast-nocreds", apiUrl: emu.url, backendUrl: await azurite!.backendUrl("fast-nocreds"), env: { ...FAST, ...azurite!.env } });
            stack.env = { ...stack.env, PATH: `${wrap}${path.delimiter}${stack.env.PATH}` };
            stack.setSpec(spec({ users: 2, batches: 1, prefix: "NoCreds", runs: [0] }));
            const r = await stack.cli(["up", "--yes", ...PARALLEL], true); // with its preview: two provider processes
            const out = r.stdout + r.stderr;
            assert.strictEqual(r.code, 0, out);
            // Listed once among the diagnostics (the progress display shows it as it comes, too).
            const said = out.match(/^\s+warning: the run journal cannot be kept beside the state in azblob:\/\/fast-nocreds: /gm) ?? [];
            assert.strictEqual(said.length, 1, `the warning, once:\n${out}`);
            assert.match(out, /AZURE_STORAGE_KEY or AZURE_STORAGE_SAS_TOKEN/);
            assert.ok(!out.includes(azurite!.key), "no key in the output");
        } finally {
            fs.rmSync(wrap, { recursive: true, force: true });
            await emu.close();
        }
    });

    it("a 500-user fast-mode up with 20% injected faults and 100 ms latency converges in one run; the next preview is empty", async () => {
        const emu: Emu = await startEmulator({ port: 0, transitionMs: 0, quiet: true });
        try {
            const t: Tenant = { users: 500, batches: 5, prefix: "Faulty", runs: [] };
            stack = await TestStack.create({ name: "fast-faults", apiUrl: emu.url, config: { "cloudiway:requestTimeoutMs": "2000" }, env: FAST });
            stack.setSpec(spec(t));
            await emuFaults(emu.baseUrl, { errorRate: 0.2, kinds: ["500", "503", "429", "reset", "timeout", "hasError"], latencyMs: 100, retryAfterSeconds: 0.2, seed: 11 });
            const started = Date.now();
            await stack.up(PARALLEL); // one run, no error
            const seconds = (Date.now() - started) / 1000;
            const calls = await emuCalls(emu.baseUrl);
            const faults: Record<string, number> = {};
            for (const c of calls) if (c.fault) faults[c.fault] = (faults[c.fault] ?? 0) + 1;
            console.log(`      fast-mode faults run: ${seconds.toFixed(0)} s, ${calls.length} requests, injected ${JSON.stringify(faults)}`);
            for (const k of ["500", "503", "429", "reset", "timeout", "hasError"]) assert.ok(faults[k] > 0, `fault kind ${k} was injected`);
            await emuFaults(emu.baseUrl, { errorRate: 0, latencyMs: 0 });
            await assertConverged(emu.baseUrl, t, "after one faulty fast-mode up");
            const p = await stack.preview();
            assert.deepStrictEqual(changes(p.steps), [], "the next preview is empty");
        } finally {
            await emu.close();
        }
    });
});
