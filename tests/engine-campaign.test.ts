/**
 * Running the campaign from the plan, under the real engine against the emulator, as the pipeline
 * runs it: each `up` short, on a fresh runner (a new PULUMI_HOME), the state on Azurite, fast mode,
 * `blockMinutes` 0, and passes that last several ups (they advance only when the test ticks the
 * emulator, as hours pass between scheduled ups):
 *  - no up waits for the passes; wave 2 (after: [wave 1's run]) is sent exactly once, by the up that
 *    finds wave 1's gate done; a failed gate fails each up naming the users and is never sent again;
 *    raising maxFailed lets wave 2 go;
 *  - the gate's deadline works across ups; `after` works with `notBefore`; the preview of a waiting
 *    run says it will check;
 *  - retry starts exactly the failed users, once each;
 *  - notBefore: an hour ahead sends nothing; once the time has come preview says so and up sends it
 *    once; a third up sends nothing; a time without offset fails preview.
 */
import * as assert from "assert";
import { startEmulator } from "../emulator";
import { Azurite, startAzurite } from "../scripts/azurite";
import { TestStack, changes, disposeStackAfterEach, skipIfEngineOptedOut } from "./helpers/engine";
import { Emu, emuCalls, control, emuResetStats, emuStats, emuState, usersOf } from "./helpers/emu";

describe("@engine campaign: gates judged at each up, from any runner; retry of failed users; scheduled starts", function () {
    this.timeout(20 * 60 * 1000);
    let emu: Emu;
    let azurite: Azurite | undefined;
    let stack: TestStack | undefined;

    before(async function () {
        skipIfEngineOptedOut(this);
        emu = await startEmulator({ port: 0, transitionMs: 0, quiet: true });
        azurite = await startAzurite({ quiet: true });
    });
    after(async () => { await emu?.close(); await azurite?.close(); });
    disposeStackAfterEach(() => stack, () => { stack = undefined; }, { destroy: false, lines: 3 });

    /** A fresh tenant whose passes take `passSteps` ticks of the test (or, with seconds, run on their own). */
    async function newStack(name: string, opts: { seconds?: number; azure?: boolean } = {}): Promise<TestStack> {
        await control(emu).reset();
        await control(emu).setLifecycle(opts.seconds === undefined ? { transitionMs: "manual", passSteps: 3 } : { transitionMs: Math.round((opts.seconds * 1000) / 3), passSteps: 3 });
        stack = await TestStack.create({
            name, apiUrl: emu.url, config: { "cloudiway:waitPollSeconds": "1" },
            ...(opts.azure ? { backendUrl: await azurite!.backendUrl(name.toLowerCase()), env: { PULUMI_SKIP_CHECKPOINTS: "true", ...azurite!.env } } : {}),
        });
        return stack;
    }
    const person = (n: string) => ({
        type: "MailUser", name: n, args: {
            firstName: n, lastName: "Wave", sourceEmail: `${n}@source.example`, targetEmail: `${n}@target.example`,
            sourceConnectorName: "Gmail", targetConnectorName: "Office 365",
        },
    });
    const member = (n: string, batch: string) => ({ type: "BatchMembership", name: `${n}-m`, args: { migrationTag: { $out: `${n}.migrationTag` }, batchName: { $out: `${batch}.name` } } });
    const W1 = ["ann", "ben", "cat"], W2 = ["dan", "eve"];
    /** Two waves; wave 1's run gated by `waitFor`, wave 2's run after it (a gate, not only an order). */
    const waves = (waitFor: Record<string, unknown>, extra: any[] = [], go2: Record<string, unknown> = {}) => ({ resources: [
        { type: "MailBatch", name: "w1", args: { name: "Wave 1" } },
        { type: "MailBatch", name: "w2", args: { name: "Wave 2" } },
        ...W1.map(person), ...W2.map(person),
        ...W1.map((n) => member(n, "w1")), ...W2.map((n) => member(n, "w2")),
        { type: "MigrationRun", name: "go1", args: { batchName: { $out: "w1.name" }, action: "migrate", trigger: "1", waitFor }, dependsOn: W1.map((n) => `${n}-m`) },
        { type: "MigrationRun", name: "go2", args: { batchName: { $out: "w2.name" }, action: "migrate", trigger: "1", waitFor: {}, after: ["go1"], ...go2 }, dependsOn: W2.map((n) => `${n}-m`) },
        ...extra,
    ] });
    const starts = async (batch: string) => (await emuCalls(emu.baseUrl)).filter((c) => c.call === "/mailusers/startbatch" && c.ok && c.batchName === batch);
    const ticks = async (n: number) => { for (let i = 0; i < n; i++) await control(emu).tick(); };
    const statuses = async (names: string[]) => usersOf(await emuState(emu.baseUrl)).filter((u: any) => names.includes(u.firstName)).map((u: any) => u.status).sort();
    const phases = async (s: TestStack) => { const r = await s.resources(); return [r.get("go1").outputs.phase, r.get("go2").outputs.phase]; };

    it("two gated waves as the scheduled workflow runs them: fresh runner per up, state on Azurite, fast mode, blockMinutes 0", async () => {
        const s = await newStack("campaign-runners", { azure: true });
        await control(emu).setOutcomes({ "cat@source.example": "ONERROR" }, "mail");
        // ben's pass ends SUCCESS but loses 3 of its 10 mails.
        await control(emu).setItemFailures({ "ben@source.example": { mails: { failure: 3, read: 10 }, calendars: { failure: 0, read: 0 }, contacts: { failure: 0, read: 0 } } });
        s.setSpec(waves({ maxFailed: 0, timeoutMinutes: 600, maxItemFailurePercent: 5 }));
        const up = async () => { await s.freshRunner(); return s.cli(["up", "--yes", "--skip-preview"], true); };

        // Up 1: everything made, wave 1 sent; the up does not wait for its passes.
        let r = await up();
        assert.strictEqual(r.code, 0, r.stdout + r.stderr);
        assert.deepStrictEqual(await statuses(W1), ["SCHEDULED", "SCHEDULED", "SCHEDULED"], "the up ended while wave 1's passes had not begun");
        assert.deepStrictEqual(await phases(s), ["waiting", "deferred"]);
        assert.match(r.stdout + r.stderr, /waiting for go1: 0 of 3 done \(SCHEDULED 3\)/);
        assert.deepStrictEqual([(await starts("Wave 1")).length, (await starts("Wave 2")).length], [1, 0]);

        // A preview on a pull request (another runner): the waiting gate will be checked.
        await s.freshRunner();
        const p = await s.preview();
        assert.match(p.result.stdout + p.result.stderr, /MigrationRun \(batch Wave 1, migrate, trigger 1\): the gate will be checked, at most 5% of each user's items failed/);
        assert.deepStrictEqual(changes(p.steps).filter((c) => c.name === "go1").map((c) => c.op), ["update"]);

        // Up 2, the passes under way: still waiting, nothing sent.
        await ticks(1);
        r = await up();
        assert.strictEqual(r.code, 0, r.stdout + r.stderr);
        assert.deepStrictEqual(await phases(s), ["waiting", "deferred"]);
        assert.match((await s.resources()).get("go1").outputs.progress, /^0 of 3 done \(WORKING 3\)$/);

        // Up 3, the passes over, cat in error, ben over 5% of items failed: the gate fails, naming both; wave 2 is not sent. The run stays in the stack.
        await ticks(5);
        r = await up();
        assert.notStrictEqual(r.code, 0, "a failed gate fails the up");
        assert.match(r.stdout + r.stderr, /2 user\(s\) ended badly \(1 over waitFor\.maxItemFailurePercent 5\), more than maxFailed 0: ben@source\.example: 3 of 10 items failed \(30%\), cat@source\.example \(ONERROR\)/);
        assert.deepStrictEqual(await phases(s), ["failed", "deferred"], "the failed run is in the state (fast mode, fresh runner)");
        const cat = usersOf(await emuState(emu.baseUrl)).find((u) => u.firstName === "cat")!.history[0];
        const failedItems = (await s.resources()).get("go1").outputs.items;
        assert.strictEqual(failedItems.failure, 3 + cat.msgFailure + cat.calFailure + cat.conFailure, "the state's items: ben's 3 and cat's");
        // Up 4, another runner: fails again, sends nothing again.
        r = await up();
        assert.notStrictEqual(r.code, 0);
        assert.match(r.stdout + r.stderr, /cat@source\.example \(ONERROR\)/);
        assert.deepStrictEqual([(await starts("Wave 1")).length, (await starts("Wave 2")).length], [1, 0], "wave 1 never sent again, wave 2 not sent");

        // maxFailed 1 and 50% of items: the next up finds the gate done and sends wave 2, once.
        s.setSpec(waves({ maxFailed: 1, timeoutMinutes: 600, maxItemFailurePercent: 50 }));
        r = await up();
        assert.strictEqual(r.code, 0, r.stdout + r.stderr);
        assert.deepStrictEqual(await phases(s), ["done", "waiting"]);
        assert.deepStrictEqual([(await starts("Wave 1")).length, (await starts("Wave 2")).length], [1, 1]);
        const go1 = (await s.resources()).get("go1").outputs;
        assert.deepStrictEqual([go1.finalStatuses, go1.failedUsers], [{ ONERROR: 1, SUCCESS: 2 }, ["cat@source.example"]]);

        // Wave 2's passes end: done; nothing is left to do, and nothing was sent twice.
        await ticks(6);
        r = await up();
        assert.strictEqual(r.code, 0, r.stdout + r.stderr);
        assert.deepStrictEqual(await phases(s), ["done", "done"]);
        await s.freshRunner();
        assert.deepStrictEqual(changes((await s.preview()).steps), [], "a finished campaign previews no change");
        assert.deepStrictEqual([(await starts("Wave 1")).length, (await starts("Wave 2")).length], [1, 1]);
    });

    it("the deadline counts from the send across ups; after works with notBefore", async () => {
        const s = await newStack("campaign-deadline");
        // Wave 1's deadline is 3 s after its send; its passes never end here (manual lifecycle, no ticks).
        const soon = new Date(Date.now() + 60_000).toISOString();
        s.setSpec(waves({ timeoutMinutes: 0.05 }, [], { notBefore: soon }));
        let r = await s.cli(["up", "--yes", "--skip-preview"], true);
        assert.strictEqual(r.code, 0, r.stdout + r.stderr);
        assert.deepStrictEqual(await phases(s), ["waiting", "deferred"]);
        await new Promise((res) => setTimeout(res, 3500));
        r = await s.cli(["up", "--yes", "--skip-preview"], true);
        assert.notStrictEqual(r.code, 0);
        assert.match(r.stdout + r.stderr, /still running 0\.05 minute\(s\) after it was sent \(waitFor\.timeoutMinutes\): 3 user\(s\) not done: ann@source\.example \(SCHEDULED\), ben@source\.example \(SCHEDULED\), cat@source\.example \(SCHEDULED\)/);
        assert.deepStrictEqual(await phases(s), ["failed", "deferred"]);

        // Wave 1's gate opens (passes over, a longer deadline), but wave 2's notBefore is a minute ahead: still deferred.
        await ticks(6);
        const later = new Date(Date.now() + 8_000).toISOString();
        s.setSpec(waves({ timeoutMinutes: 600 }, [], { notBefore: later }));
        r = await s.cli(["up", "--yes", "--skip-preview"], true);
        assert.strictEqual(r.code, 0, r.stdout + r.stderr);
        assert.deepStrictEqual(await phases(s), ["done", "deferred"]);
        assert.strictEqual((await s.resources()).get("go2").outputs.deferredUntil, later);
        assert.strictEqual((await starts("Wave 2")).length, 0);
        while (Date.now() < Date.parse(later) + 500) await new Promise((res) => setTimeout(res, 500));
        await s.up();
        assert.deepStrictEqual(await phases(s), ["done", "waiting"]);
        assert.deepStrictEqual([(await starts("Wave 1")).length, (await starts("Wave 2")).length], [1, 1]);
    });

    it("retry starts exactly the failed users, once each; an unchanged up retries nothing", async () => {
        const s = await newStack("campaign-retry", { seconds: 1 });
        const spec = waves({ maxFailed: 2, blockMinutes: 2 });
        s.setSpec({ resources: spec.resources.filter((r) => r.type !== "MigrationRun") }); // the tenant first
        await s.up();
        await control(emu).setOutcomes({ "ann@source.example": "ONERROR", "cat@source.example": "ONERROR" }, "mail");
        s.setSpec(waves({ maxFailed: 2, blockMinutes: 2 }, [], { waitFor: { blockMinutes: 2 } }));
        await s.up(); // blockMinutes: this up waits for both waves (a laptop's way)
        assert.deepStrictEqual(await phases(s), ["done", "done"]);
        const go1 = (await s.resources()).get("go1").outputs;
        assert.deepStrictEqual([go1.finalStatuses, go1.failedUsers], [{ ONERROR: 2, SUCCESS: 1 }, ["ann@source.example", "cat@source.example"]]);

        await emuResetStats(emu.baseUrl);
        s.setSpec(waves({ maxFailed: 2, blockMinutes: 2 }, [
            { type: "MigrationRun", name: "again1", args: { batchName: { $out: "w1.name" }, action: "retry", trigger: "r1", waitFor: { blockMinutes: 2 } }, dependsOn: ["go1"] },
        ], { waitFor: { blockMinutes: 2 } }));
        await s.up();
        const calls = await emuCalls(emu.baseUrl);
        const st = await emuState(emu.baseUrl);
        const tagOf = (n: string) => usersOf(st).find((u) => u.firstName === n)!.migrationTag;
        const started = calls.filter((c) => c.call === "/mailusers/start" && c.ok).map((c) => c.migrationTag).sort();
        assert.deepStrictEqual(started, [tagOf("ann"), tagOf("cat")].sort(), "retry starts exactly the failed users, once each");
        assert.deepStrictEqual(calls.filter((c) => c.call === "/mailusers/startbatch"), [], "no batch start");
        assert.deepStrictEqual(await statuses(W1), ["SUCCESS", "SUCCESS", "SUCCESS"]);
        const again = (await s.resources()).get("again1").outputs;
        assert.deepStrictEqual([again.started, again.finalStatuses, again.phase], [2, { SUCCESS: 3 }, "done"]);
        await emuResetStats(emu.baseUrl);
        await s.up();
        assert.strictEqual((await emuStats(emu.baseUrl)).mutating, 0, "an unchanged up retries nothing");
    });

    it("notBefore: an hour ahead sends nothing; once the time has come preview says so and up sends it once; a third up sends nothing", async () => {
        const s = await newStack("not-before", { seconds: 1 });
        const run = (notBefore: string) => ({ type: "MigrationRun", name: "later", args: { batchName: { $out: "w.name" }, action: "migrate", trigger: "final", notBefore }, dependsOn: ["ann-m"] });
        const base = [{ type: "MailBatch", name: "w", args: { name: "Wave N" } }, person("ann"), member("ann", "w")];
        // A time without offset, or not a date: refused at preview, naming the property, nothing applied.
        s.setSpec({ resources: [...base, run("2026-12-05T18:00:00")] });
        await assert.rejects(s.preview(), /MigrationRun\.notBefore: must be an ISO 8601 instant with an offset/);
        s.setSpec({ resources: [...base, run("soon")] });
        await assert.rejects(s.preview(), /MigrationRun\.notBefore/);
        assert.strictEqual((await emuStats(emu.baseUrl)).mutating, 0);

        const inAnHour = new Date(Date.now() + 3600_000).toISOString();
        s.setSpec({ resources: [...base, run(inAnHour)] });
        const p = await s.preview();
        assert.match(p.result.stdout + p.result.stderr, new RegExp(`deferred until ${inAnHour.replace(/[.]/g, "\\.")}`), "preview says the run is deferred");
        await s.up();
        assert.deepStrictEqual(await starts("Wave N"), [], "up sends nothing before notBefore");
        assert.strictEqual((await s.resources()).get("later").outputs.deferredUntil, inAnHour);
        await emuResetStats(emu.baseUrl);
        assert.deepStrictEqual(changes((await s.preview()).steps), [], "still deferred: nothing to do");
        assert.strictEqual((await emuStats(emu.baseUrl)).total, 0, "a no-op preview makes no call");

        // The time comes (12 s from now): preview says the run will happen, the first up sends it once.
        const soon = new Date(Date.now() + 12_000).toISOString();
        s.setSpec({ resources: [...base, run(soon)] });
        await s.up();
        assert.deepStrictEqual(await starts("Wave N"), [], "moved to 12 s ahead: still nothing sent");
        while (Date.now() < Date.parse(soon) + 500) await new Promise((r) => setTimeout(r, 500));
        assert.deepStrictEqual(changes((await s.preview()).steps).map((c) => [c.op, c.name]), [["update", "later"]], "preview: it will run now");
        await s.up();
        assert.strictEqual((await starts("Wave N")).length, 1, "the first up at or after notBefore sends it once");
        const outs = (await s.resources()).get("later").outputs;
        assert.strictEqual(outs.deferredUntil, undefined);
        assert.match(outs.answer, /started/i);
        await s.up();
        assert.strictEqual((await starts("Wave N")).length, 1, "a third up sends nothing");
        assert.deepStrictEqual(changes((await s.preview()).steps), []);
    });
});
