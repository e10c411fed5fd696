/**
 * Send once, fail closed, under the real Pulumi CLI: a fast-mode `up` SIGKILLed right after its
 * MigrationRun reached Cloudiway (the state keeps nothing of it), the passes ended, the run's record
 * beside the state damaged (half written), and a fresh runner: its `up` does not send the wave again;
 * it fails saying why and how to go on, and the operator's word (CLOUDIWAY_RUN_RECORDS) ends it
 * without a send. tests/send-once.test.ts has the provider-level cases.
 */
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { startEmulator } from "../emulator";
import { TestStack, changes, disposeStackAfterEach, skipIfEngineOptedOut, tenantUser } from "./helpers/engine";
import { control, Emu, emuCalls } from "./helpers/emu";
import { killEngineWhen } from "./helpers/processes";

const FAST = { PULUMI_SKIP_CHECKPOINTS: "true" };

describe("@engine send once, fail closed: a damaged record beside the state on a fresh runner", function () {
    this.timeout(10 * 60 * 1000);
    let stack: TestStack | undefined;
    let emu: Emu | undefined;
    before(function () { skipIfEngineOptedOut(this); });
    after(async () => { await emu?.close(); });
    disposeStackAfterEach(() => stack, () => { stack = undefined; }, { destroy: false, lines: 5, maxChars: 8000 });

    it("does not send the wave again: the up fails naming the record and how to go on; the operator's word ends it without a send", async () => {
        emu = await startEmulator({ port: 0, transitionMs: 3_600_000, quiet: true }); // passes advance only when ticked
        const t = { prefix: "Once", batches: 1 };
        stack = await TestStack.create({ name: "send-once", apiUrl: emu.url, env: FAST });
        stack.setSpec({
            resources: [
                { type: "MailBatch", name: "batch0", args: { name: "Once 0" } },
                ...tenantUser(t, 0, "Ada"), ...tenantUser(t, 1, "Bob"),
                { type: "MigrationRun", name: "run0", args: { batchName: { $out: "batch0.name" }, action: "migrate", trigger: "wave-1" }, dependsOn: ["member0", "member1"] },
            ],
        });
        const starts = async () => (await emuCalls(emu!.baseUrl)).filter((c) => c.call === "/mailusers/startbatch" && c.ok).length;
        const k = await killEngineWhen(stack, async () => (await starts()) >= 1);
        assert.ok(k.killed, "the up was killed after the start reached Cloudiway");
        assert.strictEqual(await starts(), 1);
        for (let i = 0; i < 10; i++) await control(emu).tick(); // the passes end: nothing is under way any more

        const records: string[] = [];
        const walk = (d: string) => { for (const e of fs.readdirSync(d, { withFileTypes: true })) { const f = path.join(d, e.name); if (e.isDirectory()) walk(f); else if (f.endsWith(".json")) records.push(f); } };
        walk(path.join(stack.backendUrl.slice("file://".length), ".pulumi-cloudiway"));
        assert.strictEqual(records.length, 1, `one run record beside the state: ${records.join(", ")}`);
        fs.writeFileSync(records[0], '{"key":"Once'); // a half-written record

        await stack.freshRunner();
        stack.env = { ...stack.env, CLOUDIWAY_ADOPT_EXISTING: "true" }; // for the users and the batch the killed up made
        let r = await stack.cli(["up", "--yes", "--skip-preview"], true);
        if (r.code !== 0 && /locked/.test(r.stdout + r.stderr)) {
            await stack.cli(["cancel", "--yes"]);
            r = await stack.cli(["up", "--yes", "--skip-preview"], true);
        }
        const out = r.stdout + r.stderr;
        assert.notStrictEqual(r.code, 0, "the up fails");
        assert.match(out, /nothing was sent: its send record file:\/\/.*\.json does not parse as JSON/);
        const name = /CLOUDIWAY_RUN_RECORDS=([0-9a-f]+)=sent/.exec(out)?.[1];
        assert.ok(name, `the refusal names the record and the operator's word: ${out}`);
        assert.strictEqual(await starts(), 1, "the wave was not sent again");
        assert.strictEqual(fs.readFileSync(records[0], "utf8"), '{"key":"Once', "the damaged record is left as it is");

        stack.env = { ...stack.env, CLOUDIWAY_RUN_RECORDS: `${name}=sent` };
        r = await stack.cli(["up", "--yes", "--skip-preview"], true);
        assert.strictEqual(r.code, 0, `the up with the operator's word: ${r.stdout}\n${r.stderr}`);
        assert.strictEqual(await starts(), 1, "still sent once");
        delete stack.env.CLOUDIWAY_RUN_RECORDS; delete stack.env.CLOUDIWAY_ADOPT_EXISTING;
        const p = await stack.preview();
        assert.deepStrictEqual(changes(p.steps), [], "the next preview shows no change");
    });
});
