/**
 * MigrationRun, licenses and status under the real engine: actions happen only
 * as declared, in dependency order, once per trigger.
 */
import * as assert from "assert";
import { startEmulator } from "../emulator";
import { TestStack, changes, disposeStackAfterEach, engineEmulator } from "./helpers/engine";
import { control, emuCalls, emuResetStats, emuState, emuStats, usersOf } from "./helpers/emu";

const person = (n: string) => ({
    firstName: n, lastName: "Tester", sourceEmail: `${n.toLowerCase()}@source.example`, targetEmail: `${n.toLowerCase()}@target.example`,
    sourceConnectorName: "Gmail", targetConnectorName: "Office 365",
});

/** A batch with users, memberships, settings and runs, as the plan component would declare it. */
function waveSpec(batch: string, names: string[], runs: { action: string; trigger: string }[], prefix = batch.toLowerCase().replace(/\W/g, "")) {
    const resources: any[] = [{ type: "MailBatch", name: `${prefix}-b`, args: { name: batch } }];
    const deps: string[] = [];
    for (const n of names) {
        resources.push({ type: "MailUser", name: `${prefix}-${n}`, args: person(n) });
        resources.push({ type: "BatchMembership", name: `${prefix}-${n}-m`, args: { migrationTag: { $out: `${prefix}-${n}.migrationTag` }, batchName: { $out: `${prefix}-b.name` } } });
        deps.push(`${prefix}-${n}-m`);
    }
    resources.push({ type: "BatchGlobalSettings", name: `${prefix}-s`, args: { batchName: { $out: `${prefix}-b.name` }, fromDate: "2020-01-01" } });
    deps.push(`${prefix}-s`);
    for (const r of runs) {
        resources.push({ type: "MigrationRun", name: `${prefix}-${r.action}`, args: { batchName: { $out: `${prefix}-b.name` }, action: r.action, trigger: r.trigger }, dependsOn: deps });
    }
    return resources;
}

describe("@engine migration runs, licenses and status", function () {
    this.timeout(20 * 60 * 1000);
    const fx = engineEmulator();
    let stack: TestStack | undefined;
    // No destroy after each test: it asserted nothing (errors ignored); each test resets the emulator before its stack
    // (the stop test has an emulator of its own) and the stack's state goes with its folder (dispose).
    disposeStackAfterEach(() => stack, () => { stack = undefined; }, { destroy: false, lines: 3 });
    async function newStack(name: string) {
        await control(fx.emu).reset();
        stack = await TestStack.create({ name, apiUrl: fx.emu.url });
        return stack;
    }

    it("a batch run starts once, after memberships and settings; again only on a new trigger", async () => {
        const s = await newStack("runs");
        s.setSpec({ resources: waveSpec("Wave 1", ["Ann", "Ben", "Cid"], [{ action: "migrate", trigger: "1" }]) });
        const p = await s.preview();
        assert.ok(changes(p.steps).some((c) => c.op === "create" && c.name === "wave1-migrate"), "preview lists the run");
        await s.up();

        const calls = await emuCalls(fx.emu.baseUrl);
        const idx = (pred: (c: any) => boolean) => calls.map((c, i) => (pred(c) ? i : -1)).filter((i) => i >= 0);
        const starts = idx((c) => /startbatch$/.test(c.call));
        const adds = idx((c) => /addtobatch$/.test(c.call));
        const settings = idx((c) => /set(mail)?globalsettingsbybatch$/.test(c.call));
        assert.strictEqual(starts.length, 1, "exactly one startbatch");
        assert.strictEqual(adds.length, 3);
        assert.strictEqual(settings.length, 1);
        assert.ok(Math.max(...adds, ...settings) < starts[0], "startbatch came after the 3 addtobatch and the settings call");

        let users = usersOf(await emuState(fx.emu.baseUrl));
        assert.deepStrictEqual(users.map((u: any) => u.status), ["SUCCESS", "SUCCESS", "SUCCESS"]);
        assert.ok(users.every((u: any) => u.history.length === 1));

        // Unchanged stack: nothing performed.
        await emuResetStats(fx.emu.baseUrl);
        await s.up();
        assert.strictEqual((await emuStats(fx.emu.baseUrl)).mutating, 0, "re-applying performs nothing");

        // After the pass, refresh brings status and counts into state, and preview stays empty.
        await s.refresh();
        const res = await s.resources();
        const ann = res.get("wave1-Ann").outputs;
        assert.strictEqual(ann.status, "SUCCESS");
        assert.strictEqual(ann.passes, 1);
        assert.ok(ann.lastPass.mails.total > 0);
        await emuResetStats(fx.emu.baseUrl);
        assert.deepStrictEqual(changes((await s.preview()).steps), []);
        assert.strictEqual((await emuStats(fx.emu.baseUrl)).total, 0);

        // A new trigger: exactly one more start, and a delta pass.
        s.setSpec({ resources: waveSpec("Wave 1", ["Ann", "Ben", "Cid"], [{ action: "migrate", trigger: "2" }]) });
        assert.deepStrictEqual(changes((await s.preview()).steps).map((c) => [c.op, c.name]), [["update", "wave1-migrate"]]);
        await emuResetStats(fx.emu.baseUrl);
        await s.up();
        const byCall = (await emuStats(fx.emu.baseUrl)).byCall;
        assert.strictEqual(byCall["POST /mailusers/startbatch"], 1);
        users = usersOf(await emuState(fx.emu.baseUrl));
        assert.ok(users.every((u: any) => u.history.length === 2 && u.history[1].msgAlreadyMigrated > 0), "a delta pass");

        // Deleting the run performs nothing.
        s.setSpec({ resources: waveSpec("Wave 1", ["Ann", "Ben", "Cid"], []) });
        await emuResetStats(fx.emu.baseUrl);
        await s.up();
        const after = await emuStats(fx.emu.baseUrl);
        assert.strictEqual(after.mutating, 0, `removing a run performs nothing: ${JSON.stringify(after.byCall)}`);
    });

    it("each action on a user and on a batch", async () => {
        const s = await newStack("actions");
        const base = waveSpec("Wave A", ["Dee", "Eve"], []);
        const userRun = (action: string, trigger: string) => ({ type: "MigrationRun", name: `dee-${action}`, args: { migrationTag: { $out: "wavea-Dee.migrationTag" }, action, trigger } });
        const batchRun = (action: string, trigger: string) => ({ type: "MigrationRun", name: `wave-${action}`, args: { batchName: { $out: "wavea-b.name" }, action, trigger }, dependsOn: ["wavea-Dee-m", "wavea-Eve-m", "wavea-s"] });
        const steps: [any, string, (u: any[]) => void][] = [
            [userRun("audit", "1"), "POST /mailusers/audit", (u) => assert.strictEqual(u.find((x) => x.firstName === "Dee").status, "AUDIT_DONE")],
            [userRun("migrate", "1"), "POST /mailusers/start", (u) => assert.strictEqual(u.find((x) => x.firstName === "Dee").status, "SUCCESS")],
            [userRun("stop", "1"), "POST /mailusers/stop", () => undefined],
            [batchRun("audit", "1"), "POST /mailusers/batchaudit", (u) => assert.ok(u.every((x) => x.status === "AUDIT_DONE"))],
            [batchRun("migrate", "1"), "POST /mailusers/startbatch", (u) => assert.ok(u.every((x) => x.status === "SUCCESS"))],
            [batchRun("stop", "1"), "POST /mailusers/stopbatch", () => undefined],
            [batchRun("permissions", "1"), "POST /mailusers/startpermissionmigrationbybatch", () => undefined],
        ];
        for (const [run, call, verify] of steps) {
            s.setSpec({ resources: [...base, run] });
            await emuResetStats(fx.emu.baseUrl);
            await s.up();
            const stats = await emuStats(fx.emu.baseUrl);
            assert.strictEqual(stats.byCall[call], 1, `${run.name}: one ${call} (${JSON.stringify(stats.byCall)})`);
            verify(usersOf(await emuState(fx.emu.baseUrl)));
        }
    });

    it("two permission runs on two batches in one up both succeed", async () => {
        const s = await newStack("perms");
        s.setSpec({
            resources: [
                ...waveSpec("Perm 1", ["Fay", "Gus"], [{ action: "permissions", trigger: "1" }], "p1"),
                ...waveSpec("Perm 2", ["Hal", "Ivy"], [{ action: "permissions", trigger: "1" }], "p2"),
            ],
        });
        await s.up();
        const calls = (await emuCalls(fx.emu.baseUrl)).filter((c: any) => /startpermissionmigrationbybatch$/.test(c.call));
        assert.deepStrictEqual(calls.filter((c: any) => c.ok).map((c: any) => c.batchName).sort(), ["Perm 1", "Perm 2"]);
    });

    it("licensed: false -> true assigns one license; never re-assigned", async () => {
        const s = await newStack("license");
        s.setSpec({ resources: [{ type: "MailUser", name: "kim", args: person("Kim") }] });
        await s.up();
        assert.strictEqual(usersOf(await emuState(fx.emu.baseUrl))[0].licensed, false);
        s.setSpec({ resources: [{ type: "MailUser", name: "kim", args: { ...person("Kim"), licensed: true } }] });
        await emuResetStats(fx.emu.baseUrl);
        await s.up();
        assert.strictEqual((await emuStats(fx.emu.baseUrl)).byCall["POST /mailusers/license"], 1);
        assert.strictEqual(usersOf(await emuState(fx.emu.baseUrl))[0].licensed, true);
        await emuResetStats(fx.emu.baseUrl);
        await s.refresh();
        await s.up();
        assert.strictEqual((await emuStats(fx.emu.baseUrl)).byCall["POST /mailusers/license"] ?? 0, 0, "never re-assigned");
        assert.deepStrictEqual(changes((await s.preview()).steps), []);
    });

    it("stop while WORKING reaches STOP (lifecycle stepped by hand)", async () => {
        const slow = await startEmulator({ port: 0, transitionMs: 3_600_000, quiet: true });
        const tick = () => control(slow).tick();
        const s = (stack = await TestStack.create({ name: "stop", apiUrl: slow.url }));
        try {
            const base = [{ type: "MailUser", name: "zoe", args: person("Zoe") }];
            const run = (action: string) => ({ type: "MigrationRun", name: `zoe-${action}`, args: { migrationTag: { $out: "zoe.migrationTag" }, action, trigger: "1" } });
            s.setSpec({ resources: [...base, run("migrate")] });
            await s.up();
            let u = usersOf(await emuState(slow.baseUrl))[0];
            assert.strictEqual(u.status, "SCHEDULED");
            await tick();
            assert.strictEqual(usersOf(await emuState(slow.baseUrl))[0].status, "WORKING");
            s.setSpec({ resources: [...base, run("migrate"), run("stop")] });
            await s.up();
            assert.strictEqual(usersOf(await emuState(slow.baseUrl))[0].status, "STOPPING");
            await tick();
            u = usersOf(await emuState(slow.baseUrl))[0];
            assert.strictEqual(u.status, "STOP");
            assert.deepStrictEqual(u.statusHistory, ["NOTSTARTED", "SCHEDULED", "WORKING", "STOPPING", "STOP"]);
            assert.strictEqual(u.history.length, 0, "a stopped pass records no SUCCESS pass");
            await s.refresh();
            assert.strictEqual((await s.resources()).get("zoe").outputs.status, "STOP");
            assert.deepStrictEqual(changes((await s.preview()).steps), [], "status is an output, never a change to declare");
            await s.destroy();
        } finally {
            await s.dispose();
            stack = undefined;
            await slow.close();
        }
    });
});
