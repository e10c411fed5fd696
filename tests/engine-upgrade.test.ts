/**
 * The users' real upgrade path: a stack deployed by the earlier release (0.1.0, recorded before
 * MigrationRun phases as tests/fixtures/upgrade: its state, its emulator tenant and its declaration,
 * with a gate done, a run sent after it, a run deferred to 2099 and an archive audit) is taken over by
 * this code. Its first preview shows at most updates (the runs' new `phase` output), never a create,
 * replace or delete; its up sends no action and changes nothing in Cloudiway; the second preview
 * shows no change.
 */
import * as assert from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { startEmulator } from "../emulator";
import { REPO, TestStack, changes, disposeStackAfterEach, skipIfEngineOptedOut } from "./helpers/engine";
import { Emu, emuResetStats, emuStats } from "./helpers/emu";

const FIXTURE = path.join(REPO, "tests", "fixtures", "upgrade");

describe("@engine upgrade: a stack deployed by 0.1.0 is taken over without a resend or a replace", function () {
    this.timeout(10 * 60 * 1000);
    let emu: Emu | undefined;
    let stack: TestStack | undefined;
    let dir: string;
    before(function () { skipIfEngineOptedOut(this); });
    disposeStackAfterEach(() => stack, () => { stack = undefined; }, { destroy: false, lines: 3 });
    afterEach(async () => { await emu?.close(); emu = undefined; fs.rmSync(dir, { recursive: true, force: true }); });

    it("first preview: only updates of MigrationRuns (their phase); up sends nothing; second preview: no change", async () => {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "cw-upgrade-"));
        const tenant = path.join(dir, "tenant.json");
        fs.copyFileSync(path.join(FIXTURE, "tenant.json"), tenant);
        emu = await startEmulator({ port: 0, transitionMs: 0, quiet: true, dataFile: tenant });
        // The same project and stack names as the recording (the URNs), a new backend and machine.
        stack = await TestStack.create({ name: "upgrade-record", apiUrl: emu.url, config: { "cloudiway:waitPollSeconds": "1" } });
        stack.setSpec(JSON.parse(fs.readFileSync(path.join(FIXTURE, "spec.json"), "utf8")));
        const imported = path.join(dir, "state.json");
        fs.copyFileSync(path.join(FIXTURE, "state.json"), imported);
        await stack.cli(["stack", "import", "--file", imported]);
        const before = await stack.resources();
        assert.deepStrictEqual([...before.values()].filter((r) => /MigrationRun/.test(r.type)).map((r) => r.outputs.phase), [undefined, undefined, undefined, undefined], "a state from before phases");

        await emuResetStats(emu.baseUrl);
        const first = await stack.preview();
        const ops = changes(first.steps);
        assert.deepStrictEqual(ops.filter((c) => c.op !== "update"), [], `no create, replace or delete: ${JSON.stringify(ops)}`);
        assert.deepStrictEqual(ops.map((c) => c.name).sort(), ["audit-a1", "go1", "go2", "go3"], "the runs record their phase");
        assert.strictEqual((await emuStats(emu.baseUrl)).mutating, 0);

        await stack.up();
        const stats = await emuStats(emu.baseUrl);
        assert.strictEqual(stats.mutating, 0, `the up changed nothing in Cloudiway: ${JSON.stringify(stats.byCall)}`);
        const runs = await stack.resources();
        const phase = (n: string) => runs.get(n).outputs.phase;
        assert.deepStrictEqual([phase("go1"), phase("go2"), phase("go3"), phase("audit-a1")], ["done", "sent", "deferred", "sent"]);
        assert.strictEqual(runs.get("go1").outputs.performedAt, before.get("go1").outputs.performedAt, "the recorded send is kept");
        for (const [name, r] of before) assert.strictEqual(runs.get(name).id, r.id, `${name} kept its id`);

        assert.deepStrictEqual(changes((await stack.preview()).steps), [], "the second preview shows no change");
    });
});
