/**
 * What a MigrationRun's gate takes as evidence: a pass since the send (a user NOTSTARTED after the
 * send keeps it shut), and the items each user's passes since the send failed
 * (`waitFor.maxItemFailurePercent`, output `items`), at the level of the provider methods against
 * the emulator in-process. Passes end when the test ticks the emulator; the wall clock is faked.
 */
import * as assert from "assert";
import { observeSent } from "../../provider/campaign/gates";
import { providerFixture, upError } from "../helpers/provider";

describe("MigrationRun gates: evidence of a pass, and items failed (provider methods)", function () {
    this.timeout(60_000);
    const fx = providerFixture({ emulatorPerTest: true, transitionMs: 3_600_000_000, journalInTempDir: true, tempDir: "cw-items-", fakeClock: true });
    let tags: Record<string, string> = {};

    /** The provider as each `up`'s provider process has it: the read cache emptied before each call. */
    const provider = () => fx.nextUp("MigrationRun");
    const startbatches = async (batch: string) => (await fx.okCalls("/mailusers/startbatch", batch)).length;
    /** c2's next pass: 3 of 10 mails failed, no calendar entry or contact read. */
    const c2LosesMails = () => fx.control.setItemFailures({
        "c2@source.example": { mails: { failure: 3, read: 10 }, calendars: { failure: 0, read: 0 }, contacts: { failure: 0, read: 0 } },
    });
    const wave1 = (waitFor: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({ batchName: "Wave 1", action: "migrate", trigger: "1", waitFor, ...extra });

    beforeEach(async () => {
        for (const b of ["Wave 1", "Wave 2"]) await fx.client.createBatch("mail", b);
        tags = { ...await fx.addUsers(["ann", "c2"], "Wave 1"), ...await fx.addUsers(["dan"], "Wave 2") };
    });

    it("a SUCCESS pass with 3 of 10 mails failed: at 5% the gate fails naming the user and figure and the next wave waits; at 50% it opens and the next wave is sent once", async () => {
        await c2LosesMails();
        const p = provider();
        const { id, outs } = await p.create(wave1({ maxItemFailurePercent: 5 }));
        await fx.passesEnd();
        const err = await upError(p.update(id, outs, wave1({ maxItemFailurePercent: 5 })));
        assert.match(err.message, /1 user\(s\) ended badly \(1 over waitFor\.maxItemFailurePercent 5\), more than maxFailed 0: c2@source\.example: 3 of 10 items failed \(30%\)/);
        const failed = err.properties;
        assert.deepStrictEqual([failed.phase, failed.finalStatuses, failed.failedUsers], ["failed", { SUCCESS: 2 }, ["c2@source.example"]]);
        assert.strictEqual(failed.items.failure, 3, "the run's items say 3 failed");
        assert.strictEqual(failed.items.success, failed.items.read - 3);
        assert.match(failed.progress, /^2 of 2 done \(SUCCESS 2\); 3 of \d+ items failed/);

        // The next wave, after this one, is not sent while the gate is failed.
        const wave2 = (after: { phase: string; progress: string }) => ({ batchName: "Wave 2", action: "migrate", trigger: "1", after: [{ run: "wave1", ...after }] });
        const w2 = await p.create(wave2(failed));
        assert.strictEqual(w2.outs.phase, "deferred");
        assert.strictEqual(await startbatches("Wave 2"), 0, "wave 2 not sent");

        // Raised to 50: the next up finds the gate open, and wave 2 goes, once.
        const raised = wave1({ maxItemFailurePercent: 50 });
        assert.strictEqual((await p.diff(id, failed, raised)).changes, true);
        const done = (await p.update(id, failed, raised)).outs;
        assert.deepStrictEqual([done.phase, done.failedUsers, done.items.failure], ["done", [], 3]);
        const sent = (await p.update(w2.id, w2.outs, wave2(done))).outs;
        assert.strictEqual(sent.phase, "sent");
        await p.update(w2.id, sent, wave2(done));
        assert.strictEqual(await startbatches("Wave 2"), 1, "wave 2 sent once");
        assert.strictEqual(await startbatches("Wave 1"), 1, "wave 1 never sent again");
    });

    it("retry with maxItemFailurePercent starts again only the user over it; its gate needs a new pass of that user only", async () => {
        await c2LosesMails();
        const p = provider();
        await p.create(wave1({}));
        await fx.passesEnd();
        fx.clock.advance(60); // the retry, an hour after the passes (their starts are well before its send)
        const r = { batchName: "Wave 1", action: "retry", trigger: "r1", waitFor: { maxItemFailurePercent: 5 } };
        const { id, outs } = await p.create(r);
        assert.deepStrictEqual([outs.started, outs.retried, outs.answer], [1, [tags.c2], "started 1 user(s) in error again: c2@source.example (3 of 10 items failed (30%))"]);
        assert.deepStrictEqual((await fx.okCalls("/mailusers/start")).map((c) => c.migrationTag), [tags.c2], "only c2 started again");
        await fx.passesEnd();
        const done = (await p.update(id, outs, r)).outs;
        assert.deepStrictEqual([done.phase, done.failedUsers, done.items.failure], ["done", [], 0], "c2's new pass lost nothing; ann needs no new pass");
        assert.strictEqual((await fx.okCalls("/mailusers/start")).length, 1, "sent once");
    });

    it("a user NOTSTARTED after the send keeps the gate waiting, and past timeoutMinutes fails it, named", async () => {
        const p = provider();
        const w = wave1({ timeoutMinutes: 60 });
        const { id, outs } = await p.create(w);
        await fx.passesEnd();
        await fx.addUsers(["eve"], "Wave 1"); // joined after the send: the batch start never reached it
        const waiting = (await p.update(id, outs, w)).outs;
        assert.strictEqual(waiting.phase, "waiting", "NOTSTARTED is not done");
        assert.match(waiting.progress, /^2 of 3 done \(NOTSTARTED 1, SUCCESS 2\), 1 with nothing since the send; /);
        fx.clock.advance(60);
        const err = await upError(p.update(id, waiting, w));
        assert.match(err.message, /not done 60 minute\(s\) after it was sent \(waitFor\.timeoutMinutes\): 1 user\(s\) not done: eve@source\.example \(NOTSTARTED, no pass since the send\)/);
        assert.strictEqual(err.properties.phase, "failed");
    });

    it("a SUCCESS left by a pass before the send is no evidence; a pass whose date cannot be read is none either", async () => {
        const p = provider();
        await p.create({ migrationTag: tags.ann, action: "migrate", trigger: "0" });
        await fx.passesEnd(); // ann: SUCCESS, from this earlier pass
        fx.clock.advance(10); // a send 10 minutes after that pass (beyond the clock slack):
        const history = await fx.client.getMailHistory("mail", tags.ann);
        const ctx = { client: () => ({ getMailHistory: async () => history }), cache: { get: (_k: string, f: () => unknown) => f() } } as any;
        const later = Date.now();
        const [stale] = await observeSent(ctx, "mail", [{ tag: tags.ann, email: "ann@source.example", status: "SUCCESS" }], { action: "migrate" }, later, true);
        assert.deepStrictEqual([stale.shown, stale.missing], [false, "no pass since the send"]);
        const undated = history.map((h) => ({ ...h, startDateTime: "yesterday", startIso: "yesterday", endDateTime: "today", endIso: "today" }));
        const ctx2 = { ...ctx, client: () => ({ getMailHistory: async () => undated }) };
        const [bad] = await observeSent(ctx2, "mail", [{ tag: tags.ann, email: "ann@source.example", status: "SUCCESS" }], { action: "migrate" }, 0, true);
        assert.deepStrictEqual([bad.shown, bad.missing], [false, "no pass since the send whose date can be read (\"yesterday\")"]);
    });

    it("check refuses a percent outside 0..100, naming MigrationRun.waitFor.maxItemFailurePercent", async () => {
        const p = provider();
        for (const bad of [150, -1, "5"]) {
            const r = await p.check({}, wave1({ maxItemFailurePercent: bad }));
            assert.ok(r.failures.length, `${JSON.stringify(bad)} refused`);
            assert.match(JSON.stringify(r.failures), /"reason":"MigrationRun\.waitFor\.maxItemFailurePercent must be a number from 0 to 100/);
        }
        assert.deepStrictEqual((await p.check({}, wave1({ maxItemFailurePercent: 2 }))).failures, []);
    });
});
