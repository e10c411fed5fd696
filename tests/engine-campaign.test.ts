/**
 * Running the campaign from the plan, under the real engine against the emulator (passes that take
 * seconds, chosen users forced to end in ONERROR through the control API):
 *  - gates: wave 2's start is sent only after every wave-1 user left the running statuses; with two
 *    wave-1 users in ONERROR and maxFailed 0 the up fails naming both and wave 2 is not started;
 *    with maxFailed 2 it goes on;
 *  - retry starts exactly the failed users, once each;
 *  - notBefore: an hour ahead, preview and up send nothing; once the time has come, preview says
 *    it will run and up sends it once; a third up sends nothing; a time without offset fails preview.
 */
import * as assert from "assert";
import { startEmulator } from "../emulator";
import { TestStack, changes, disposeStackAfterEach, skipIfEngineOptedOut } from "./helpers/engine";
import { Emu, emuCalls, emuResetStats, emuStats, emuState, usersOf } from "./helpers/emu";

describe("@engine campaign: wave gates, retry of failed users, scheduled starts", function () {
    this.timeout(20 * 60 * 1000);
    let emu: Emu;
    let stack: TestStack | undefined;

    before(async function () {
        skipIfEngineOptedOut(this);
        emu = await startEmulator({ port: 0, transitionMs: 0, quiet: true });
    });
    after(async () => { await emu?.close(); });
    disposeStackAfterEach(() => stack, () => { stack = undefined; }, { destroy: false, lines: 3 });

    const control = async (path: string, body: unknown) => {
        const r = await fetch(`${emu.baseUrl}/_emulator/${path}`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
        assert.strictEqual(r.status, 200, `control ${path}: ${await r.text()}`);
    };
    /** A fresh tenant whose passes take about `seconds` (3 lifecycle steps). */
    async function newStack(name: string, seconds: number): Promise<TestStack> {
        await fetch(`${emu.baseUrl}/_emulator/reset`, { method: "POST" });
        await control("lifecycle", { transitionMs: Math.round((seconds * 1000) / 3), passSteps: 3 });
        stack = await TestStack.create({ name, apiUrl: emu.url, config: { "cloudiway:waitPollSeconds": "1" } });
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
    /** Two waves; wave 1's run gated by `waitFor`, wave 2's run after it. */
    const waves = (waitFor: Record<string, unknown>, extra: any[] = []) => ({ resources: [
        { type: "MailBatch", name: "w1", args: { name: "Wave 1" } },
        { type: "MailBatch", name: "w2", args: { name: "Wave 2" } },
        ...W1.map(person), ...W2.map(person),
        ...W1.map((n) => member(n, "w1")), ...W2.map((n) => member(n, "w2")),
        { type: "MigrationRun", name: "go1", args: { batchName: { $out: "w1.name" }, action: "migrate", trigger: "1", waitFor }, dependsOn: W1.map((n) => `${n}-m`) },
        { type: "MigrationRun", name: "go2", args: { batchName: { $out: "w2.name" }, action: "migrate", trigger: "1" }, dependsOn: ["go1", ...W2.map((n) => `${n}-m`)] },
        ...extra,
    ] });
    const starts = async (batch: string) => (await emuCalls(emu.baseUrl)).filter((c) => c.call === "/mailusers/startbatch" && c.ok && c.batchName === batch);
    /** dd/MM/yyyy HH:mm:ss (UTC) -> ms */
    const historyMs = (s: string) => { const m = /^(\d\d)\/(\d\d)\/(\d{4}) (\d\d):(\d\d):(\d\d)$/.exec(s)!; return Date.UTC(+m[3], +m[2] - 1, +m[1], +m[4], +m[5], +m[6]); };

    it("wave 2 starts only after every wave-1 user left the running statuses", async () => {
        const s = await newStack("gate-open", 4);
        s.setSpec(waves({ timeoutMinutes: 5 }));
        const up = await s.up();
        const [start2] = await starts("Wave 2");
        assert.ok(start2, "wave 2 was started");
        const st = await emuState(emu.baseUrl);
        const w1 = usersOf(st).filter((u: any) => W1.includes(u.firstName));
        assert.deepStrictEqual(w1.map((u: any) => u.status), ["SUCCESS", "SUCCESS", "SUCCESS"]);
        const lastEnd = Math.max(...w1.map((u: any) => historyMs(u.history[0].endDateTime)));
        const [start1] = await starts("Wave 1");
        assert.ok(Date.parse(start2.at) - Date.parse(start1.at) >= 3000, `wave 2 was sent ${Date.parse(start2.at) - Date.parse(start1.at)} ms after wave 1: it waited for the ~4 s pass`);
        assert.ok(Math.floor(Date.parse(start2.at) / 1000) * 1000 >= lastEnd, `wave 2 start ${start2.at} is not before wave 1's last pass ended (${new Date(lastEnd).toISOString()})`);
        assert.match(up.stdout + up.stderr, /MigrationRun \(batch Wave 1, migrate, trigger 1\): 3 of 3 done \(SUCCESS 3\)/, "progress through the engine");
        const go1 = (await s.resources()).get("go1").outputs;
        assert.deepStrictEqual([go1.finalStatuses, go1.failedUsers], [{ SUCCESS: 3 }, []]);
    });

    it("two wave-1 users in ONERROR: maxFailed 0 fails naming both and wave 2 is not started; maxFailed 2 goes on; retry starts exactly those two, once", async () => {
        const s = await newStack("gate-fail", 2);
        const spec = waves({ timeoutMinutes: 5, maxFailed: 0 });
        s.setSpec({ resources: spec.resources.filter((r) => r.type !== "MigrationRun") }); // the tenant first
        await s.up();
        await control("outcomes", { users: { "ann@source.example": "ONERROR", "cat@source.example": "ONERROR" } });
        s.setSpec(waves({ timeoutMinutes: 5, maxFailed: 0 }));
        const failed = await s.cli(["up", "--yes", "--skip-preview"], true);
        assert.notStrictEqual(failed.code, 0, "the up fails");
        assert.match(failed.stdout + failed.stderr, /2 user\(s\) ended badly, more than maxFailed 0: ann@source\.example \(ONERROR\), cat@source\.example \(ONERROR\)/);
        assert.deepStrictEqual(await starts("Wave 2"), [], "wave 2 is not started");
        assert.strictEqual((await starts("Wave 1")).length, 1);

        // maxFailed 2: the next up does not start wave 1 again (its run was performed), opens the gate and goes on.
        s.setSpec(waves({ timeoutMinutes: 5, maxFailed: 2 }));
        await s.up();
        assert.strictEqual((await starts("Wave 1")).length, 1, "wave 1 is not started a second time");
        assert.strictEqual((await starts("Wave 2")).length, 1, "wave 2 goes on");
        const go1 = (await s.resources()).get("go1").outputs;
        assert.deepStrictEqual([go1.finalStatuses, go1.failedUsers], [{ ONERROR: 2, SUCCESS: 1 }, ["ann@source.example", "cat@source.example"]]);

        // retry: exactly the failed users, one start each; the others are not touched.
        await emuResetStats(emu.baseUrl);
        s.setSpec(waves({ timeoutMinutes: 5, maxFailed: 2 }, [
            { type: "MigrationRun", name: "again1", args: { batchName: { $out: "w1.name" }, action: "retry", trigger: "r1", waitFor: { timeoutMinutes: 5 } }, dependsOn: ["go1"] },
        ]));
        await s.up();
        const calls = await emuCalls(emu.baseUrl);
        const st = await emuState(emu.baseUrl);
        const tagOf = (n: string) => usersOf(st).find((u: any) => u.firstName === n).migrationTag;
        const started = calls.filter((c) => c.call === "/mailusers/start" && c.ok).map((c) => c.migrationTag).sort();
        assert.deepStrictEqual(started, [tagOf("ann"), tagOf("cat")].sort(), "retry starts exactly the failed users, once each");
        assert.deepStrictEqual(calls.filter((c) => c.call === "/mailusers/startbatch"), [], "no batch start");
        assert.deepStrictEqual(usersOf(st).filter((u: any) => W1.includes(u.firstName)).map((u: any) => u.status), ["SUCCESS", "SUCCESS", "SUCCESS"]);
        const again = (await s.resources()).get("again1").outputs;
        assert.deepStrictEqual([again.started, again.finalStatuses], [2, { SUCCESS: 3 }]);
        await emuResetStats(emu.baseUrl);
        await s.up();
        assert.strictEqual((await emuStats(emu.baseUrl)).mutating, 0, "an unchanged up retries nothing");
    });

    it("notBefore: an hour ahead sends nothing; once the time has come preview says so and up sends it once; a third up sends nothing", async () => {
        const s = await newStack("not-before", 1);
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
