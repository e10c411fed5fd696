/**
 * Send once, fail closed, at the level of MigrationRun's provider methods against the emulator: what a
 * fresh runner does when the record of an earlier send is damaged or unreadable, when the record of an
 * answer cannot be written after the vendor accepted the action, and when an attempt was cut off and
 * the vendor's facts cannot tell whether it arrived. The random sequences are send-once.property.test.ts.
 */
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { Context, PartialFailure } from "../provider/runtime/context";
import { RunJournal, runJournalFor } from "../provider/runtime/runJournal";
import { DirStore, RecordStore } from "../provider/runtime/stateStore";
import { naturalKey } from "../provider/runtime/journal";
import { migrationRunImpl, migrationRunModel, MigrationRunOutputs } from "../provider/resources/migrationRun";
import { emuCalls } from "./helpers/emu";
import { providerFixture } from "./helpers/provider";

const STACK = "organization/cw-send-once/prod";

/** A store whose writes of answers fail (the intent's write goes through). */
class AnswerWriteFails extends DirStore {
    async put(name: string, text: string) {
        if (text.includes('"outs"')) throw new Error("HTTP 500 while writing");
        return super.put(name, text);
    }
}

describe("send once, fail closed (provider methods)", function () {
    this.timeout(60_000);
    const fx = providerFixture({
        key: "k", secret: "s", transitionMs: 3_600_000, tempDir: "cw-send-once-",
        env: ["PULUMI_BACKEND_URL", "CLOUDIWAY_JOURNAL_DIR", "PULUMI_HOME", "CLOUDIWAY_RUN_RECORDS"],
    });
    let ada: string;
    const run = { batchName: "Wave 1", action: "migrate", trigger: "1", kind: "mail", __stack: STACK };
    const audit = () => ({ migrationTag: ada, action: "audit", trigger: "1", kind: "mail", __stack: STACK });
    const calls = async (call: string) => (await emuCalls(fx.emu.baseUrl)).filter((c) => c.call.endsWith(`/${call}`) && c.ok).length;

    /** A provider context on a runner whose stack store is the file backend `state` and whose machine is `machine`. */
    function runner(machine: string, shared?: RecordStore): Context {
        process.env.PULUMI_BACKEND_URL = `file://${path.join(fx.dir, "state")}`;
        process.env.CLOUDIWAY_JOURNAL_DIR = path.join(fx.dir, machine);
        process.env.PULUMI_HOME = path.join(fx.dir, machine, "home");
        fx.ctx.cache.clear();
        const journal = shared ? new RunJournal(runJournalFor(fx.emu.url, "k", STACK).scope, shared, undefined) : runJournalFor(fx.emu.url, "k", STACK);
        journal.answerRetryMs = [0];
        return { ...fx.ctx, runs: () => journal };
    }
    const recordFiles = () => {
        const out: string[] = [];
        const walk = (d: string) => { for (const e of fs.readdirSync(d, { withFileTypes: true })) { const f = path.join(d, e.name); if (e.isDirectory()) walk(f); else out.push(f); } };
        walk(path.join(fx.dir, "state", ".pulumi-cloudiway"));
        return out;
    };

    beforeEach(async () => {
        await fx.client.createBatch("mail", "Wave 1");
        ada = (await fx.addUsers(["ada"])).ada;
        await fx.addUsers(["bob"], "Wave 1");
    });

    it("a fresh runner, the passes over and the record beside the state damaged: refuses, names the record and how to go on, leaves it; the operator's word ends it", async () => {
        await migrationRunImpl.create(runner("runner-a"), run as any); // a fast-mode up killed before the engine saved it
        await fx.passesEnd();
        const [file] = recordFiles();
        fs.writeFileSync(file, '{"key":"batch'); // half written
        const ctx = runner("runner-b");
        const name = ctx.runs!(STACK).recordName(naturalKey(migrationRunModel, run)!);
        await assert.rejects(migrationRunImpl.create(ctx, run as any), (e: Error) => {
            assert.match(e.message, /nothing was sent: its send record file:\/\/.*\.json does not parse as JSON/);
            assert.ok(e.message.includes(`CLOUDIWAY_RUN_RECORDS=${name}=sent`) && e.message.includes(`CLOUDIWAY_RUN_RECORDS=${name}=unsent`), e.message);
            return true;
        });
        assert.strictEqual(await calls("startbatch"), 1, "not sent again");
        assert.strictEqual(fs.readFileSync(file, "utf8"), '{"key":"batch', "the damaged record is left as it is");
        process.env.CLOUDIWAY_RUN_RECORDS = `${name}=sent`;
        const r = await migrationRunImpl.create(runner("runner-b"), run as any);
        assert.strictEqual(await calls("startbatch"), 1, "the operator said it was sent: not sent again");
        assert.match(r.outs.answer, /marked as sent by the operator/);
        assert.strictEqual(r.outs.phase, "sent");
    });

    it("a store that cannot be read refuses the send, saying what could not be read and that nothing was sent", async () => {
        const unreadable: RecordStore = { where: "azblob://state/.pulumi-cloudiway", get: async () => { throw new Error("HTTP 403 (AuthorizationFailure)"); }, put: async () => undefined, remove: async () => undefined, list: async () => [] };
        await assert.rejects(migrationRunImpl.create(runner("runner-c", unreadable), run as any), /nothing was sent: its send record azblob:\/\/state\/\.pulumi-cloudiway\/[0-9a-f]+\.json could not be read: HTTP 403/);
        assert.strictEqual(await calls("startbatch"), 0);
    });

    it("the answer's record cannot be written after the send: the run is kept as sent (partial failure with its outputs), and the next up sends nothing", async () => {
        const ctx = runner("runner-d", new AnswerWriteFails(path.join(fx.dir, "state", ".pulumi-cloudiway", "x")));
        let outs: MigrationRunOutputs | undefined;
        await assert.rejects(migrationRunImpl.create(ctx, run as any), (e: Error) => {
            assert.ok(e instanceof PartialFailure, String(e));
            assert.match(e.message, /sent to Cloudiway at .*but its record could not be written.*kept in the state as sent/);
            assert.doesNotMatch(e.message, /nothing was sent/);
            outs = e.outs as MigrationRunOutputs;
            return true;
        });
        assert.strictEqual(outs?.phase, "sent");
        assert.strictEqual(await calls("startbatch"), 1);
        // The engine keeps the partial failure's outputs: the next up's diff has nothing to do.
        const d = await migrationRunImpl.diff(runner("runner-e"), "id", outs!, run as any);
        assert.ok(!d.changes, "no change: nothing is sent again");
    });

    it("an audit cut off before its answer, the audit over: the vendor cannot tell, so it is refused until the operator says", async () => {
        const ctx = runner("runner-f");
        await ctx.runs!(STACK).begin(naturalKey(migrationRunModel, audit())!); // the intent of the killed process...
        await fx.client.auditUser("mail", ada); // ...and its call
        await fx.passesEnd();
        await assert.rejects(migrationRunImpl.create(runner("runner-f"), audit() as any), /nothing was sent: an earlier attempt .* was cut off before its answer, and Cloudiway's facts cannot tell/);
        assert.strictEqual(await calls("audit"), 1);
        process.env.CLOUDIWAY_RUN_RECORDS = `${ctx.runs!(STACK).recordName(naturalKey(migrationRunModel, audit())!)}=unsent`;
        await migrationRunImpl.create(runner("runner-f"), audit() as any);
        assert.strictEqual(await calls("audit"), 2, "the operator said it never arrived: sent");
    });
});
