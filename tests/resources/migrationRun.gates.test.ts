/**
 * MigrationRun's gates, `retry`, `notBefore` and the gate's deadline, at the level of its provider
 * methods (create/update/diff, as the dynamic provider process calls them) against the emulator
 * in-process, without the engine. Passes advance only when a test ticks the emulator; the wall clock
 * the provider reads (Date) is moved forward by the test (a fake clock), so deadlines and
 * `notBefore` are crossed without waiting. migrationRun.phases.test.ts has the rest of the phases.
 */
import * as assert from "assert";
import { emuResetStats, emuStats } from "../helpers/emu";
import type { PassEnd } from "../../emulator/statuses";
import { providerFixture, upError } from "../helpers/provider";

describe("MigrationRun gates, retry, notBefore and the gate's deadline (provider methods)", function () {
    this.timeout(60_000);
    // transitionMs beyond a timer: passes move only on POST /_emulator/tick.
    const fx = providerFixture({ emulatorPerTest: true, transitionMs: 3_600_000_000, journalInTempDir: true, tempDir: "cw-gates-", fakeClock: true });
    let tags: Record<string, string> = {};

    /** The provider as each `up`'s provider process has it: the read cache emptied before each call. */
    const provider = () => fx.nextUp("MigrationRun");
    const startbatches = async () => (await fx.okCalls("/mailusers/startbatch")).length;
    const outcomes = (users: Record<string, PassEnd>) => fx.control.setOutcomes(users, "mail");
    const statuses = async () => Object.fromEntries((await fx.client.getAllUsers("mail")).map((u) => [u.sourceEmail, String(u.status)]));
    const run = (extra: Record<string, unknown> = {}) => ({ batchName: "Wave 1", action: "migrate", trigger: "1", ...extra });

    beforeEach(async () => {
        await fx.client.createBatch("mail", "Wave 1");
        tags = await fx.addUsers(["ann", "bob", "cat"], "Wave 1");
    });

    describe("waitFor.maxFailed", () => {
        it("a gate with as many failures as maxFailed passes: done, the failed users named", async () => {
            await outcomes({ "cat@source.example": "ONERROR" });
            const p = provider();
            const w = run({ waitFor: { maxFailed: 1 } });
            const { id, outs } = await p.create(w);
            assert.strictEqual(outs.phase, "waiting");
            await fx.passesEnd();
            const done = (await p.update(id, outs, w)).outs;
            assert.deepStrictEqual([done.phase, done.finalStatuses, done.failedUsers], ["done", { ONERROR: 1, SUCCESS: 2 }, ["cat@source.example"]]);
            assert.match(done.progress, /^3 of 3 done \(ONERROR 1, SUCCESS 2\); \d+ of \d+ items failed/);
            assert.strictEqual((await p.diff(id, done, w)).changes, false, "a done gate is not looked at again");
            assert.strictEqual(await startbatches(), 1);
        });

        it("a gate with more failures than maxFailed fails: the partial failure carries the id and the outputs with phase failed", async () => {
            await outcomes({ "cat@source.example": "ONERROR", "ann@source.example": "STOP" });
            const p = provider();
            const w = run({ waitFor: { maxFailed: 1 } });
            const { id, outs } = await p.create(w);
            await fx.passesEnd();
            const err = await upError(p.update(id, outs, w));
            assert.match(err.message, /2 user\(s\) ended badly, more than maxFailed 1: ann@source\.example \(STOP\), cat@source\.example \(ONERROR\)/);
            assert.strictEqual(err.id, id, "the run stays in the state");
            assert.deepStrictEqual([err.properties.phase, err.properties.failedUsers, err.properties.finalStatuses, err.properties.performedAt],
                ["failed", ["ann@source.example", "cat@source.example"], { ONERROR: 1, STOP: 1, SUCCESS: 1 }, outs.performedAt]);
            // The next up judges it again (an update), fails again, and sends nothing.
            assert.strictEqual((await p.diff(id, err.properties, w)).changes, true);
            const again = await upError(p.update(id, err.properties, w));
            assert.strictEqual(again.properties.phase, "failed");
            assert.strictEqual(await startbatches(), 1, "a failed gate is never sent again");
        });
    });

    describe("action retry", () => {
        it("starts, one per-user start each, only the batch's users in an error status; the succeeded and the never started are not touched", async () => {
            await outcomes({ "cat@source.example": "ONERROR", "bob@source.example": "PRE_PROCESSING_ERROR" });
            const p = provider();
            await p.create(run());
            await fx.passesEnd();
            await fx.addUsers(["dan"], "Wave 1"); // joins after the pass: never started
            assert.deepStrictEqual(await statuses(), {
                "ann@source.example": "SUCCESS", "bob@source.example": "PRE_PROCESSING_ERROR", "cat@source.example": "ONERROR", "dan@source.example": "NOTSTARTED",
            });
            await emuResetStats(fx.emu.baseUrl);
            const w = { batchName: "Wave 1", action: "retry", trigger: "1", waitFor: { maxFailed: 0 } };
            const { id, outs } = await p.create(w);
            assert.strictEqual(outs.started, 2);
            assert.strictEqual(outs.answer, "started 2 user(s) in error again: bob@source.example, cat@source.example");
            const started = (await fx.okCalls("/mailusers/start")).map((c) => c.migrationTag).sort();
            assert.deepStrictEqual(started, [tags.bob, tags.cat].sort(), "one start per user in error, nobody else");
            assert.strictEqual(await startbatches(), 0, "no batch start");
            assert.deepStrictEqual((await emuStats(fx.emu.baseUrl)).mutating, 2, "two writes in all");
            const now = await statuses();
            assert.deepStrictEqual([now["ann@source.example"], now["dan@source.example"]], ["SUCCESS", "NOTSTARTED"]);
            // Its gate is judged like any other, and it is not sent again.
            assert.strictEqual(outs.phase, "waiting");
            await fx.passesEnd();
            const done = (await p.update(id, outs, w)).outs;
            assert.deepStrictEqual([done.phase, done.started], ["done", 2]);
            assert.strictEqual((await fx.okCalls("/mailusers/start")).length, 2, "sent once");
        });

        it("with no user in error, starts nobody", async () => {
            const p = provider();
            await p.create(run());
            await fx.passesEnd();
            await emuResetStats(fx.emu.baseUrl);
            const { outs } = await p.create({ batchName: "Wave 1", action: "retry", trigger: "1" });
            assert.deepStrictEqual([outs.phase, outs.started, outs.answer], ["sent", 0, "no user of the batch is in an error status"]);
            assert.strictEqual((await emuStats(fx.emu.baseUrl)).mutating, 0);
        });
    });

    describe("notBefore", () => {
        it("before it, nothing is sent and there is no diff; the first up once it is due sends it once", async () => {
            const p = provider();
            const notBefore = new Date(Date.now() + 120 * 60_000).toISOString();
            const v = run({ notBefore });
            await emuResetStats(fx.emu.baseUrl);
            const { id, outs } = await p.create(v);
            assert.deepStrictEqual([outs.phase, outs.deferredUntil, outs.answer, outs.performedAt], ["deferred", notBefore, `deferred until ${notBefore}`, undefined]);
            assert.strictEqual((await emuStats(fx.emu.baseUrl)).mutating, 0, "nothing sent");
            fx.clock.advance(119);
            assert.strictEqual((await p.diff(id, outs, v)).changes, false, "not due yet: no diff");
            const still = (await p.update(id, outs, v)).outs; // an update for another reason sends nothing either
            assert.strictEqual(still.phase, "deferred");
            assert.strictEqual(await startbatches(), 0);
            fx.clock.advance(1);
            assert.strictEqual((await p.diff(id, still, v)).changes, true, "due: an update that sends it");
            const sent = (await p.update(id, still, v)).outs;
            assert.deepStrictEqual([sent.phase, sent.deferredUntil], ["sent", undefined]);
            assert.ok(Math.abs(Date.parse(sent.performedAt) - Date.parse(notBefore)) < 10_000, `sent when it became due (fake clock): ${sent.performedAt}`);
            assert.strictEqual(await startbatches(), 1);
            fx.clock.advance(60);
            assert.strictEqual((await p.diff(id, sent, v)).changes, false, "sent: nothing more");
            assert.strictEqual(await startbatches(), 1, "sent once");
        });
    });

    describe("waitFor.timeoutMinutes", () => {
        it("counted from the send: users still running when it has passed turn the run failed (a partial failure); passes that end later let it be done", async () => {
            const p = provider();
            const w = run({ waitFor: { timeoutMinutes: 60 } });
            const { id, outs } = await p.create(w);
            assert.strictEqual(outs.phase, "waiting");
            await fx.control.tick(); // WORKING
            fx.clock.advance(59);
            const inTime = (await p.update(id, outs, w)).outs;
            assert.deepStrictEqual([inTime.phase, inTime.progress], ["waiting", "0 of 3 done (WORKING 3)"]);
            fx.clock.advance(1);
            const err = await upError(p.update(id, inTime, w));
            assert.match(err.message, /still running 60 minute\(s\) after it was sent \(waitFor\.timeoutMinutes\): 3 user\(s\) not done: ann@source\.example \(WORKING\), bob@source\.example \(WORKING\), cat@source\.example \(WORKING\)/);
            assert.strictEqual(err.id, id);
            assert.deepStrictEqual([err.properties.phase, err.properties.performedAt, err.properties.progress], ["failed", outs.performedAt, "0 of 3 done (WORKING 3)"]);
            assert.strictEqual((await p.diff(id, err.properties, w)).changes, true, "a failed gate is judged again at the next up");
            await fx.passesEnd();
            const done = (await p.update(id, err.properties, w)).outs;
            assert.deepStrictEqual([done.phase, done.finalStatuses], ["done", { SUCCESS: 3 }]);
            assert.strictEqual(await startbatches(), 1, "never sent again");
        });

        it("a deferred run's deadline counts from its send, not from its creation", async () => {
            const p = provider();
            const notBefore = new Date(Date.now() + 120 * 60_000).toISOString();
            const w = run({ notBefore, waitFor: { timeoutMinutes: 60 } });
            const { id, outs } = await p.create(w);
            assert.strictEqual(outs.phase, "deferred");
            fx.clock.advance(120);
            const sent = (await p.update(id, outs, w)).outs;
            assert.strictEqual(sent.phase, "waiting", "sent 120 minutes after its creation, not failed");
            assert.ok(Math.abs(Date.parse(sent.performedAt) - Date.parse(notBefore)) < 10_000, `performedAt is the send: ${sent.performedAt}`);
            fx.clock.advance(59);
            assert.strictEqual((await p.update(id, sent, w)).outs.phase, "waiting");
            fx.clock.advance(1);
            const err = await upError(p.update(id, sent, w));
            assert.strictEqual(err.properties.phase, "failed");
        });
    });

    it("every phase of a gated run in turn: deferred, waiting, failed, done", async () => {
        await outcomes({ "cat@source.example": "ONERROR" });
        const p = provider();
        const notBefore = new Date(Date.now() + 30 * 60_000).toISOString();
        const w = (waitFor: Record<string, unknown>) => run({ notBefore, waitFor });
        const { id, outs: deferred } = await p.create(w({ maxFailed: 0 }));
        assert.strictEqual(deferred.phase, "deferred");
        fx.clock.advance(30);
        const waiting = (await p.update(id, deferred, w({ maxFailed: 0 }))).outs;
        assert.deepStrictEqual([waiting.phase, waiting.progress], ["waiting", "0 of 3 done (SCHEDULED 3)"]);
        await fx.passesEnd();
        const failed = (await upError(p.update(id, waiting, w({ maxFailed: 0 })))).properties;
        assert.deepStrictEqual([failed.phase, failed.failedUsers], ["failed", ["cat@source.example"]]);
        const done = (await p.update(id, failed, w({ maxFailed: 1 }))).outs;
        assert.deepStrictEqual([done.phase, done.failedUsers], ["done", ["cat@source.example"]]);
        assert.strictEqual((await p.diff(id, done, w({ maxFailed: 1 }))).changes, false);
        assert.strictEqual(await startbatches(), 1, "sent once through all of it");
    });
});
