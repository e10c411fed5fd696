/**
 * MigrationRun as a reconciler, at the level of its provider methods (as the dynamic provider
 * process calls them, through install) against the emulator, without the engine: the phases
 * (deferred, sent, waiting, done, failed), a gate judged at each up without waiting for the passes
 * (blockMinutes 0) or waiting up to blockMinutes, the deadline counted from the send across ups, a
 * failed gate handed to the engine as a partial failure (id and outputs, so the state keeps it),
 * `after` as data, and states written before phases. Passes advance only when a test ticks.
 */
import * as assert from "assert";
import { updateMaySend } from "../../provider/resources/migrationRun";
import { UNKNOWN } from "../../provider/runtime/model";
import { providerFixture } from "../helpers/provider";

describe("MigrationRun phases (provider methods)", function () {
    this.timeout(60_000);
    const fx = providerFixture({ emulatorPerTest: true, transitionMs: 3_600_000, journalInTempDir: true, tempDir: "cw-phases-" });

    /** The provider as the next `up`'s provider process has it. */
    const provider = (extra: Record<string, string> = {}) => fx.nextUp("MigrationRun", extra);
    const starts = async (batch = "Wave 1") => (await fx.okCalls("/mailusers/startbatch", batch)).length;
    const SHIM = "exports.handler = {} /* the serialized shim */";
    const gated = (waitFor: Record<string, unknown>) => ({ batchName: "Wave 1", action: "migrate", trigger: "1", waitFor, __provider: SHIM });

    beforeEach(async () => {
        await fx.client.createBatch("mail", "Wave 1");
        await fx.addUsers(["cat", "ann"], "Wave 1");
    });

    it("no waitFor: sent, and nothing more to do at the next up", async () => {
        const p = provider();
        const { outs } = await p.create({ batchName: "Wave 1", action: "migrate", trigger: "1" });
        assert.strictEqual(outs.phase, "sent");
        assert.strictEqual((await p.diff("r", outs, { batchName: "Wave 1", action: "migrate", trigger: "1" })).changes, false);
    });

    it("blockMinutes 0: the send looks once and answers waiting; each later up looks once; done once the passes ended; sent once", async () => {
        const p = provider();
        const t0 = Date.now();
        const { id, outs } = await p.create(gated({ timeoutMinutes: 600 }));
        assert.ok(Date.now() - t0 < 10_000, "the up did not wait for the passes");
        assert.strictEqual(outs.phase, "waiting");
        assert.match(outs.progress, /^0 of 2 done \(SCHEDULED 2\)$/);
        const d = await p.diff(id, outs, gated({ timeoutMinutes: 600 }));
        assert.strictEqual(d.changes, true, "a waiting gate is an update: each up checks it");
        const still = (await p.update(id, outs, gated({ timeoutMinutes: 600 }))).outs;
        assert.strictEqual(still.phase, "waiting");
        await fx.passesEnd();
        const done = (await p.update(id, still, gated({ timeoutMinutes: 600 }))).outs;
        assert.deepStrictEqual([done.phase, done.finalStatuses, done.failedUsers], ["done", { SUCCESS: 2 }, []]);
        assert.match(done.progress, /^2 of 2 done \(SUCCESS 2\); 0 of \d+ items failed \(0%\)$/);
        assert.strictEqual(done.performedAt, outs.performedAt, "the send time is kept");
        assert.strictEqual((await p.diff(id, done, gated({ timeoutMinutes: 600 }))).changes, false, "a done gate has no diff");
        assert.strictEqual(await starts(), 1);
    });

    it("a failed gate fails the up naming the users in a fixed order, with the id and outputs for the state; a higher maxFailed lets it be done; never sent again", async () => {
        await fx.control.setOutcomes({ "cat@source.example": "ONERROR", "ann@source.example": "ONERROR" }, "mail");
        const p = provider();
        const { id, outs } = await p.create(gated({}));
        await fx.passesEnd();
        const err = await p.update(id, outs, gated({})).then(() => undefined, (e) => e);
        assert.ok(err, "the up fails");
        assert.match(err.message, /2 user\(s\) ended badly, more than maxFailed 0: ann@source\.example \(ONERROR\), cat@source\.example \(ONERROR\)/);
        assert.strictEqual(err.id, id, "the engine keeps the run (ErrorResourceInitFailed)");
        assert.deepStrictEqual([err.properties.phase, err.properties.failedUsers, err.properties.__provider], ["failed", ["ann@source.example", "cat@source.example"], SHIM]);
        assert.deepStrictEqual(err.reasons, [err.message]);
        // Every later up judges it again, and fails again while it is failed.
        assert.strictEqual((await p.diff(id, err.properties, gated({}))).changes, true);
        await assert.rejects(p.update(id, err.properties, gated({})), /ann@source\.example \(ONERROR\), cat@source\.example/);
        const ok = (await p.update(id, err.properties, gated({ maxFailed: 2 }))).outs;
        assert.deepStrictEqual([ok.phase, ok.finalStatuses], ["done", { ONERROR: 2 }]);
        assert.strictEqual(await starts(), 1, "startbatch once");
    });

    it("timeoutMinutes is a deadline from the send, across ups: past it with users running, the run is failed", async () => {
        const p = provider();
        const { id, outs } = await p.create(gated({ timeoutMinutes: 60 }));
        assert.strictEqual(outs.phase, "waiting");
        const sentLongAgo = { ...outs, performedAt: new Date(Date.now() - 61 * 60_000).toISOString() };
        await assert.rejects(p.update(id, sentLongAgo, gated({ timeoutMinutes: 60 })),
            /still running 60 minute\(s\) after it was sent \(waitFor\.timeoutMinutes\): 2 user\(s\) not done: ann@source\.example \(SCHEDULED\), cat@source\.example \(SCHEDULED\)/);
        const inTime = (await p.update(id, { ...outs, performedAt: new Date(Date.now() - 59 * 60_000).toISOString() }, gated({ timeoutMinutes: 60 }))).outs;
        assert.strictEqual(inTime.phase, "waiting");
    });

    it("blockMinutes: one up waits for the target to settle, looking every waitPollSeconds", async () => {
        await fx.control.setLifecycle({ transitionMs: 300, passSteps: 3 });
        const p = provider({ "cloudiway:waitPollSeconds": "1" });
        const { outs } = await p.create(gated({ blockMinutes: 1 }));
        assert.deepStrictEqual([outs.phase, outs.finalStatuses], ["done", { SUCCESS: 2 }]);
    });

    it("after: deferred while a predecessor is not done (nothing sent, said with its progress); sent once all are done; with notBefore both must hold", async () => {
        const p = provider();
        const v = (after: unknown[], extra: Record<string, unknown> = {}) => ({ batchName: "Wave 1", action: "migrate", trigger: "1", after, ...extra });
        const waiting = [{ run: "go1", phase: "waiting", progress: "4 of 6 done (SUCCESS 4, WORKING 2)" }, { run: "perm", phase: "done" }];
        const checked = await p.check(undefined, v(waiting));
        assert.deepStrictEqual(checked.failures, []);
        const { id, outs } = await p.create(v(waiting));
        assert.deepStrictEqual([outs.phase, outs.waitingFor, outs.answer], ["deferred", ["go1"], "waiting for go1: 4 of 6 done (SUCCESS 4, WORKING 2)"]);
        assert.strictEqual(await starts(), 0);
        const failed = (await p.update(id, outs, v([{ run: "go1", phase: "failed", progress: "5 of 6 done (ONERROR 1, SUCCESS 5)" }]))).outs;
        assert.strictEqual(failed.phase, "deferred");
        assert.match(failed.answer, /waiting for go1: its gate failed/);
        const done = [{ run: "go1", phase: "done" }, { run: "perm", phase: "done" }];
        const future = new Date(Date.now() + 3_600_000).toISOString();
        const timed = (await p.update(id, failed, v(done, { notBefore: future }))).outs;
        assert.deepStrictEqual([timed.phase, timed.deferredUntil], ["deferred", future]);
        assert.strictEqual((await p.diff(id, timed, v(done, { notBefore: future }))).changes, false, "not due yet: no diff");
        const past = new Date(Date.now() - 1000).toISOString();
        assert.strictEqual((await p.diff(id, timed, v(done, { notBefore: past }))).changes, true);
        const sent = (await p.update(id, timed, v(done, { notBefore: past }))).outs;
        assert.strictEqual(sent.phase, "sent");
        assert.strictEqual(await starts(), 1);
        // The predecessors' later changes send nothing.
        await p.update(id, sent, v([{ run: "go1", phase: "done", progress: "6 of 6 done" }], { notBefore: past }));
        assert.strictEqual(await starts(), 1);
    });

    it("check refuses an after that is not a list of runs, naming MigrationRun.after, and a bad waitFor naming the field", async () => {
        const p = provider();
        const bad = await p.check(undefined, { batchName: "Wave 1", action: "migrate", trigger: "1", after: "Wave 0" });
        assert.deepStrictEqual(bad.failures.map((f: any) => f.property), ["after"]);
        assert.match(bad.failures[0].reason, /^MigrationRun\.after: must be a list of \{ run, phase \}/);
        const w = await p.check(undefined, gated({ blockMinutes: -1 }));
        assert.match(w.failures[0].reason, /MigrationRun\.waitFor\.blockMinutes must be 0 or more/);
    });

    it("states written before phases: a recorded gate is done, a recorded deferral stays deferred; the first up records the phase and sends nothing", async () => {
        const p = provider();
        const legacyGate = { batchName: "Wave 1", action: "migrate", trigger: "1", waitFor: { timeoutMinutes: 5 }, performedAt: "2026-11-30T12:11:11.154Z", answer: "Batch Wave 1 started", finalStatuses: { SUCCESS: 2 }, failedUsers: [] };
        assert.strictEqual((await p.diff("g", legacyGate, { batchName: "Wave 1", action: "migrate", trigger: "1", waitFor: { timeoutMinutes: 5 } })).changes, true, "one update to record the phase");
        const g = (await p.update("g", legacyGate, { batchName: "Wave 1", action: "migrate", trigger: "1", waitFor: { timeoutMinutes: 5 } })).outs;
        assert.deepStrictEqual([g.phase, g.performedAt, g.answer], ["done", legacyGate.performedAt, legacyGate.answer]);
        const legacyDeferred = { batchName: "Wave 1", action: "migrate", trigger: "1", notBefore: "2099-01-01T00:00:00Z", performedAt: "", answer: "deferred until 2099-01-01T00:00:00Z", deferredUntil: "2099-01-01T00:00:00Z" };
        const d = (await p.update("d", legacyDeferred, { batchName: "Wave 1", action: "migrate", trigger: "1", notBefore: "2099-01-01T00:00:00Z" })).outs;
        assert.strictEqual(d.phase, "deferred");
        assert.strictEqual(await starts(), 0, "nothing sent");
        // read keeps every input, waitFor, notBefore and after included.
        const r = await p.read("g", { ...g, notBefore: "2020-01-01T00:00:00Z", after: [{ run: "go0", phase: "done" }] });
        assert.deepStrictEqual(Object.keys(r.inputs).sort(), ["action", "after", "batchName", "notBefore", "trigger", "waitFor"]);
    });

    it("what an update may send (for the cost in plan-summary): a new trigger or a due deferred run; never a gate's look", () => {
        const base = { batchName: "Wave 1", action: "migrate" as const, trigger: "1" };
        const soon = new Date(Date.now() + 3_600_000).toISOString();
        assert.strictEqual(updateMaySend({ ...base, phase: "sent" }, { ...base, trigger: "2" }), true);
        assert.strictEqual(updateMaySend({ ...base, phase: "waiting" }, base), false);
        assert.strictEqual(updateMaySend({ ...base, phase: "failed" }, { ...base, waitFor: { maxFailed: 3 } }), false);
        assert.strictEqual(updateMaySend({ ...base, phase: "deferred" }, { ...base, notBefore: soon }), false);
        assert.strictEqual(updateMaySend({ ...base, phase: "deferred" }, { ...base, after: [{ run: "go1", phase: "waiting" }] }), false);
        assert.strictEqual(updateMaySend({ ...base, phase: "deferred" }, { ...base, after: [{ run: "go1", phase: "done" }] }), true);
        assert.strictEqual(updateMaySend({ ...base, phase: "deferred" }, { ...base, after: UNKNOWN }), true, "not known in preview: it may");
    });
});
