/**
 * Recovery after a killed fast-mode run, at the level of the provider methods (as the dynamic
 * provider process calls them) against the emulator: a MigrationRun whose send the engine never
 * recorded is not sent a second time, on the same machine (its local run journal) and on a fresh
 * runner (the run journal kept in the stack's own store: a file backend here, Azurite below), even
 * after the passes ended; the shared list answers of one `pulumi` command.
 * The whole-stack version (real engine, SIGKILL, Azurite) is tests/chaos-fast.test.ts.
 */
import * as assert from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { naturalKey } from "../provider/runtime/journal";
import { migrationRunModel } from "../provider/resources/migrationRun";
import { runJournalFor } from "../provider/runtime/runJournal";
import { ReadCache } from "../provider/runtime/readCache";
import { SharedReads } from "../provider/runtime/sharedReads";
import { providerFixture } from "./helpers/provider";
import { startAzurite } from "../scripts/azurite";

describe("fast-mode recovery: a MigrationRun is sent once per (stack, target, action, trigger), on any runner", function () {
    this.timeout(60_000);
    // Passes advance only when the test ticks the emulator: a started pass stays under way.
    const fx = providerFixture({
        emulatorPerTest: true, transitionMs: 3_600_000, tempDir: "cw-fast-recovery-",
        env: ["CLOUDIWAY_JOURNAL_DIR", "PULUMI_BACKEND_URL", "PULUMI_HOME"],
    });
    const STACK = "organization/cw-runs/prod";

    /** A machine: its own journal folder and PULUMI_HOME; the stack's backend (a file backend here) is shared. */
    interface Machine { journal: string; backend?: string; env?: Record<string, string> }
    function setEnv(m: Machine) {
        process.env.CLOUDIWAY_JOURNAL_DIR = m.journal;
        process.env.PULUMI_HOME = path.join(m.journal, "home");
        if (m.backend) process.env.PULUMI_BACKEND_URL = m.backend; else delete process.env.PULUMI_BACKEND_URL;
        for (const [k, v] of Object.entries(m.env ?? {})) process.env[k] = v;
    }
    /** The provider of a MigrationRun as a (new) provider process on machine `m` would have it. */
    function provider(m: Machine) {
        setEnv(m);
        return fx.provider("MigrationRun");
    }
    const starts = async () => (await fx.okCalls("/mailusers/startbatch")).length;
    const run = { batchName: "Wave 1", action: "migrate", trigger: "1", __stack: STACK };
    const machine = (name: string, backend?: string): Machine => ({ journal: path.join(fx.dir, name), backend });

    beforeEach(async () => {
        await fx.client.createBatch("mail", "Wave 1");
        await fx.addUsers(["ada", "bob"], "Wave 1");
    });

    it("same machine: a run the engine never recorded (killed after the answer) is not sent again; its answer is returned", async () => {
        const m = machine("m1");
        const first = await provider(m).create(run);
        assert.strictEqual(await starts(), 1);
        // The engine was killed before saving the state: the next up creates the run again.
        const again = await provider(m).create(run);
        assert.strictEqual(await starts(), 1, "no second startbatch");
        assert.strictEqual(again.outs.answer, first.outs.answer);
        assert.strictEqual(again.outs.performedAt, first.outs.performedAt);
    });

    /** What a process on `m` killed between sending the action and its answer left: its intent, and the call made. */
    async function killedAfterSending(m: Machine): Promise<void> {
        setEnv(m);
        await runJournalFor(fx.emu.url, "demo-key", STACK).begin(naturalKey(migrationRunModel, run)!);
        await fx.client.startBatch("mail", "Wave 1");
    }

    it("killed between sending and the answer: the users under way show it was sent", async () => {
        const m = machine("m2");
        await killedAfterSending(m);
        const r = await provider(m).create(run);
        assert.strictEqual(await starts(), 1, "not sent a second time");
        assert.match(r.outs.answer, /not sent again: migrate is under way \(2 of 2/);
    });

    it("killed between sending and the answer, the pass already over: a pass that started after the intent shows it", async () => {
        const m = machine("m3");
        await killedAfterSending(m);
        await fx.passesEnd();
        assert.strictEqual(await fx.client.getStatus("mail", (await fx.client.getUsersInBatch("mail", "Wave 1"))[0]), "SUCCESS");
        const r = await provider(m).create(run);
        assert.strictEqual(await starts(), 1, "not sent a second time");
        assert.match(r.outs.answer, /not sent again: a pass started at/);
    });

    it("a new trigger, once the engine holds the old one, performs the action again", async () => {
        const m = machine("m4");
        const p = provider(m);
        const first = await p.create(run);
        await p.diff("id", first.outs, { ...run, trigger: "2" }); // the engine has the run (trigger 1)
        await fx.passesEnd();
        await p.update("id", first.outs, { ...run, trigger: "2" });
        assert.strictEqual(await starts(), 2, "trigger 2 is another performance");
    });

    it("fresh runner, no shared store: not sent while the same action is under way (asked always, adoptExisting or not)", async () => {
        await provider(machine("runner-1")).create(run); // the killed run, on a runner that is gone
        assert.strictEqual(await starts(), 1);
        const r = await provider(machine("runner-2")).create(run);
        assert.strictEqual(await starts(), 1, "no second startbatch while the users run");
        assert.match(r.outs.answer, /under way/);
    });

    it("fresh runner, after the passes ended: the run journal in the stack's file backend keeps it from being sent again", async () => {
        const backend = `file://${path.join(fx.dir, "state")}`;
        await provider(machine("runner-a", backend)).create(run); // killed before the engine saved it
        await fx.passesEnd(); // recovered later: Cloudiway no longer shows anything under way
        const r = await provider(machine("runner-b", backend)).create(run);
        assert.strictEqual(await starts(), 1, "not sent again by the fresh runner");
        assert.match(r.outs.answer, /^Batch .* started/, "the first send's answer");
        // The record lives with the state, private to its owner.
        const kept = path.join(fx.dir, "state", ".pulumi-cloudiway");
        const files: string[] = [];
        const walk = (d: string) => { for (const e of fs.readdirSync(d, { withFileTypes: true })) { const f = path.join(d, e.name); if (e.isDirectory()) { assert.strictEqual(fs.statSync(f).mode & 0o777, 0o700, f); walk(f); } else files.push(f); } };
        walk(kept);
        assert.ok(files.length >= 1 && files.every((f) => (fs.statSync(f).mode & 0o777) === 0o600), files.join(", "));
        assert.ok(files.every((f) => !fs.readFileSync(f, "utf8").includes("demo-secret")), "no secret in the journal");
        // Without the shared store (another backend) the fresh runner would have sent it again: the store is what holds.
        const other = await provider(machine("runner-c", `file://${path.join(fx.dir, "other-state")}`)).create(run);
        assert.strictEqual(await starts(), 2, "a runner that cannot see the record sends (the control case)");
        assert.match(other.outs.answer, /^Batch .* started/);
    });

    it("another stack on the same machine and backend keeps its own records", async () => {
        const backend = `file://${path.join(fx.dir, "state")}`;
        await provider(machine("m5", backend)).create(run);
        await fx.passesEnd();
        await provider(machine("m5", backend)).create({ ...run, __stack: "organization/cw-runs/staging" });
        assert.strictEqual(await starts(), 2, "the staging stack's run is its own");
    });

    it("fresh runner, state on Azure blob storage (Azurite): the record is a blob beside the state", async function () {
        this.timeout(120_000);
        const az = await startAzurite({ quiet: true });
        try {
            const backend = await az.backendUrl("state");
            await provider({ journal: path.join(fx.dir, "az-a"), backend, env: az.env }).create(run);
            await fx.passesEnd();
            const r = await provider({ journal: path.join(fx.dir, "az-b"), backend, env: az.env }).create(run);
            assert.strictEqual(await starts(), 1, "not sent again by the fresh runner");
            assert.match(r.outs.answer, /^Batch .* started/);
            assert.ok((await az.list("state")).some((b) => b.startsWith(".pulumi-cloudiway/")), "a blob under .pulumi-cloudiway/");
        } finally {
            delete process.env.AZURE_STORAGE_ACCOUNT; delete process.env.AZURE_STORAGE_KEY;
            await az.close();
        }
    });
});

describe("list answers shared by the provider processes of one pulumi command", () => {
    let base: string;
    beforeEach(() => { base = fs.mkdtempSync(path.join(os.tmpdir(), "cw-shared-")); });
    afterEach(() => fs.rmSync(base, { recursive: true, force: true }));

    it("the update's process reuses what its preview's process read; a write of either removes it; another API or key shares nothing", async () => {
        const preview = new ReadCache(60_000, SharedReads.forCommand("https://a.example/api", "k", 60_000, base));
        let loads = 0;
        const load = async () => { loads++; return ["Wave 1", "Wave 2"]; };
        assert.deepStrictEqual(await preview.get("mail:batch", load, { share: true }), ["Wave 1", "Wave 2"]);
        await preview.get("mail:not-shared", load);
        assert.strictEqual(loads, 2);
        const update = new ReadCache(60_000, SharedReads.forCommand("https://a.example/api", "k", 60_000, base));
        assert.deepStrictEqual(await update.get("mail:batch", load, { share: true }), ["Wave 1", "Wave 2"]);
        assert.strictEqual(loads, 2, "read once for the command");
        await update.get("mail:not-shared", load);
        assert.strictEqual(loads, 3, "only answers marked share are shared");
        const other = new ReadCache(60_000, SharedReads.forCommand("https://b.example/api", "k", 60_000, base));
        await other.get("mail:batch", load, { share: true });
        assert.strictEqual(loads, 4, "another API URL shares nothing");
        update.clear(); // a write
        const third = new ReadCache(60_000, SharedReads.forCommand("https://a.example/api", "k", 60_000, base));
        await third.get("mail:batch", load, { share: true });
        assert.strictEqual(loads, 5, "after a write, the list is asked again");
    });

    it("answers older than the time limit are not used; folders of commands that are over are removed", async () => {
        const s = SharedReads.forCommand("u", "k", 1, base)!;
        s.put("x", [1]);
        await new Promise((r) => setTimeout(r, 5));
        assert.strictEqual(s.get("x"), undefined);
        fs.mkdirSync(path.join(base, "999999999-1-0123456789abcdef"));
        SharedReads.forCommand("u", "k", 1, base);
        assert.ok(!fs.existsSync(path.join(base, "999999999-1-0123456789abcdef")), "a gone command's folder is swept");
    });
});
