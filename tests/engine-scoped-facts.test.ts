/**
 * Facts behind irreversible decisions are scoped and fresh, under the real engine:
 *  - the create journal is the stack's: a second stack on the same machine (same PULUMI_HOME, same
 *    API and key) that declares a user the first one just made refuses it with the adopt hint, and
 *    makes no mutating call;
 *  - the read cache keeps exactly the connector lists across writes: a batch named "Legacy connectors"
 *    whose members leave the stack is deleted in the same up.
 * (A user whose first pass starts between the refresh and the delete is kept: deletion-policy.test.ts.)
 */
import * as assert from "assert";
import { startEmulator } from "../emulator";
import { TestStack, skipIfEngineOptedOut } from "./helpers/engine";
import { Emu, batchesOf, emuControl, emuResetStats, emuState, emuStats, usersOf } from "./helpers/emu";

describe("@engine scoped and fresh facts: journals by stack, exact connector-list cache keys", function () {
    this.timeout(10 * 60 * 1000);
    let emu: Emu;
    const stacks: TestStack[] = [];
    before(async function () {
        skipIfEngineOptedOut(this);
        emu = await startEmulator({ port: 0, transitionMs: 0, quiet: true });
    });
    after(async () => { await emu?.close(); });
    afterEach(async function () {
        if (this.currentTest?.state === "failed") for (const s of stacks) console.log(s.log.slice(-3).join("\n").slice(-6000));
        for (const s of stacks.splice(0)) await s.dispose();
    });

    const ada = (extra: Record<string, unknown> = {}) => ({ type: "MailUser", name: "ada", args: {
        firstName: "Ada", lastName: "Lovelace", sourceEmail: "ada@source.example", targetEmail: "ada@target.example",
        sourceConnectorName: "Gmail", targetConnectorName: "Office 365", deletionPolicy: "delete", ...extra } });

    it("a second stack on the same machine refuses a user the first one made, with the adopt hint and no mutating call", async () => {
        await emuControl(emu.baseUrl, "reset", {});
        const a = await TestStack.create({ name: "scope-a", apiUrl: emu.url });
        stacks.push(a);
        a.setSpec({ resources: [ada()] });
        await a.up();
        // Same machine: the same PULUMI_HOME (and so the same create journal folder), another stack and backend.
        const b = await TestStack.create({ name: "scope-b", apiUrl: emu.url, env: { PULUMI_HOME: String(a.env.PULUMI_HOME) } });
        stacks.push(b);
        b.setSpec({ resources: [ada()] });
        await emuResetStats(emu.baseUrl);
        const r = await b.cli(["up", "--yes", "--skip-preview"], true);
        assert.notStrictEqual(r.code, 0, "the second stack's up fails");
        assert.match(r.stdout + r.stderr, /already exists \(migration tag [0-9a-f-]+\)\. To manage it with this stack, set `adopt: true`/);
        assert.strictEqual((await emuStats(emu.baseUrl)).mutating, 0, "no mutating call");
        assert.strictEqual(usersOf(await emuState(emu.baseUrl)).length, 1);
        assert.strictEqual((await b.resources()).size, 0, "the second stack holds nothing");
    });

    it('a batch named "Legacy connectors": after its members are removed, its delete succeeds in the same up', async () => {
        await emuControl(emu.baseUrl, "reset", {});
        const s = await TestStack.create({ name: "legacy-connectors", apiUrl: emu.url });
        stacks.push(s);
        const batch = { type: "MailBatch", name: "legacy", args: { name: "Legacy connectors" } };
        const m = { type: "BatchMembership", name: "ada-m", args: { migrationTag: { $out: "ada.migrationTag" }, batchName: { $out: "legacy.name" }, deletionPolicy: "delete" } };
        s.setSpec({ resources: [batch, ada(), m] });
        await s.up();
        assert.deepStrictEqual(batchesOf(await emuState(emu.baseUrl)).map((b: any) => b.name), ["Legacy connectors"]);
        s.setSpec({ resources: [] });
        const r = await s.cli(["up", "--yes"], true); // with its preview: the member list is read before the membership goes
        assert.strictEqual(r.code, 0, r.stdout + r.stderr);
        const st = await emuState(emu.baseUrl);
        assert.deepStrictEqual([batchesOf(st).length, usersOf(st).length], [0, 0], "the batch and its user are gone");
    });
});
