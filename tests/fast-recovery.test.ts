/**
 * Recovery after a killed fast-mode run, at the level of the provider methods (as the dynamic
 * provider process calls them) against the emulator: a MigrationRun whose performance the engine
 * never recorded is not performed a second time; the shared list answers of one `pulumi` command.
 * The whole-stack version (real engine, SIGKILL, Azurite) is tests/chaos-fast.test.ts.
 */
import * as assert from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { startEmulator } from "../emulator";
import { CloudiwayClient } from "../provider/client";
import { install } from "../provider/resources/impl";
import { CreateJournal, journalDir, naturalKey } from "../provider/resources/journal";
import { ReadCache } from "../provider/resources/common";
import { SharedReads } from "../provider/resources/sharedReads";
import { Emu, emuCalls } from "./helpers/emu";

type Provider = Record<"create" | "diff" | "update" | "read", (...a: any[]) => Promise<any>>;

describe("fast-mode recovery: a MigrationRun is performed once per (target, action, trigger)", function () {
    this.timeout(60_000);
    let emu: Emu;
    let client: CloudiwayClient;
    let dir: string;
    const journalEnv = process.env.CLOUDIWAY_JOURNAL_DIR;

    /** The provider of a MigrationRun as a (new) provider process would have it, with this journal folder. */
    function provider(journal: string, extra: Record<string, string> = {}): Provider {
        process.env.CLOUDIWAY_JOURNAL_DIR = journal;
        const config: Record<string, string> = { "cloudiway:apiUrl": emu.url, "cloudiway:consumerKey": "demo-key", "cloudiway:consumerSecret": "demo-secret", ...extra };
        const target: any = {};
        install(target, "MigrationRun", { config: new Map(Object.entries(config)) } as any);
        return target;
    }
    const starts = async () => (await emuCalls(emu.baseUrl)).filter((c) => c.call === "/mailusers/startbatch" && c.ok).length;
    const run = { batchName: "Wave 1", action: "migrate", trigger: "1" };

    beforeEach(async () => {
        // Passes advance only when the test ticks the emulator: a started pass stays under way.
        emu = await startEmulator({ port: 0, transitionMs: 3_600_000, quiet: true });
        client = new CloudiwayClient({ apiUrl: emu.url, consumerKey: "demo-key", consumerSecret: "demo-secret" });
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "cw-fast-recovery-"));
        await client.createBatch("mail", "Wave 1");
        for (const n of ["ada", "bob"]) {
            const { migrationTag } = await client.createUser("mail", {
                firstName: n, lastName: "Test", sourceEmail: `${n}@source.example`, targetEmail: `${n}@target.example`,
                sourceConnectorName: "Gmail", targetConnectorName: "Office 365",
            });
            await client.addToBatch("mail", migrationTag, "Wave 1");
        }
    });
    afterEach(async () => {
        if (journalEnv === undefined) delete process.env.CLOUDIWAY_JOURNAL_DIR; else process.env.CLOUDIWAY_JOURNAL_DIR = journalEnv;
        await client.close();
        await emu.close();
        fs.rmSync(dir, { recursive: true, force: true });
    });

    it("same machine: a run the engine never recorded (killed after the answer) is not sent again; its answer is returned", async () => {
        const first = await provider(path.join(dir, "j")).create(run);
        assert.strictEqual(await starts(), 1);
        // The engine was killed before saving the state: the next up creates the run again.
        const again = await provider(path.join(dir, "j")).create(run);
        assert.strictEqual(await starts(), 1, "no second startbatch");
        assert.strictEqual(again.outs.answer, first.outs.answer);
        assert.strictEqual(again.outs.performedAt, first.outs.performedAt);
    });

    /** What a process killed between sending the action and its answer left: its intent, and the call made. */
    async function killedAfterSending(p: Provider): Promise<void> {
        void p; // the provider process made for this machine set CLOUDIWAY_JOURNAL_DIR: the killed one used the same
        new CreateJournal(journalDir({ apiUrl: emu.url, consumerKey: "demo-key" })).begin("MigrationRun", "mail", naturalKey("MigrationRun", run)!);
        await client.startBatch("mail", "Wave 1");
    }

    it("same machine: killed between sending and the answer: the users under way show it was sent", async () => {
        const p = provider(path.join(dir, "j2"));
        await killedAfterSending(p);
        const r = await p.create(run);
        assert.strictEqual(await starts(), 1, "not sent a second time");
        assert.match(r.outs.answer, /not sent again: migrate is under way \(2 of 2/);
    });

    it("same machine: killed between sending and the answer, the pass already over: a pass that started after the intent shows it", async () => {
        const p = provider(path.join(dir, "j3"));
        await killedAfterSending(p);
        for (let i = 0; i < 10; i++) await fetch(`${emu.baseUrl}/_emulator/tick`, { method: "POST" }); // the passes end
        assert.strictEqual(await client.getStatus("mail", (await client.getUsersInBatch("mail", "Wave 1"))[0]), "SUCCESS");
        const r = await p.create(run);
        assert.strictEqual(await starts(), 1, "not sent a second time");
        assert.match(r.outs.answer, /not sent again: a pass started at/);
    });

    it("a new trigger, once the engine holds the old one, performs the action again", async () => {
        const p = provider(path.join(dir, "j4"));
        const first = await p.create(run);
        await p.diff("id", first.outs, { ...run, trigger: "2" }); // the engine has the run (trigger 1)
        for (let i = 0; i < 10; i++) await fetch(`${emu.baseUrl}/_emulator/tick`, { method: "POST" });
        await p.update("id", first.outs, { ...run, trigger: "2" });
        assert.strictEqual(await starts(), 2, "trigger 2 is another performance");
    });

    it("fresh runner (no journal) recovering with adoptExisting: not sent while the same action is under way", async () => {
        await provider(path.join(dir, "runner-1")).create(run); // the killed run, on a runner that is gone
        assert.strictEqual(await starts(), 1);
        const r = await provider(path.join(dir, "runner-2"), { "cloudiway:adoptExisting": "true" }).create(run);
        assert.strictEqual(await starts(), 1, "no second startbatch while the users run");
        assert.match(r.outs.answer, /under way/);
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
