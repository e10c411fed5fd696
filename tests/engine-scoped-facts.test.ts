/**
 * Facts behind irreversible decisions are scoped and fresh, under the real engine:
 *  - the create journal is the stack's: a second stack on the same machine (same PULUMI_HOME, same
 *    API and key) that declares a user the first one just made refuses it with the adopt hint, and
 *    makes no mutating call;
 *  - the read cache keeps exactly the connector lists across writes: a batch named "Legacy connectors"
 *    whose members leave the stack is deleted in the same up.
 *  - the deletion policy reads the user at the delete: a user whose first pass starts between the
 *    refresh (`up --refresh`) and the delete is kept by retainMigrated.
 */
import * as assert from "assert";
import { startEmulator } from "../emulator";
import { TestStack, skipIfEngineOptedOut } from "./helpers/engine";
import { Emu, batchesOf, control, emuResetStats, emuState, emuStats, usersOf } from "./helpers/emu";

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
        await control(emu).reset();
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

    it("a user whose first pass starts between the refresh and the delete is kept by retainMigrated", async () => {
        await control(emu).reset();
        await control(emu).setLifecycle({ transitionMs: "manual" }); // a started pass stays SCHEDULED
        try {
            const s = await TestStack.create({ name: "fresh-facts", apiUrl: emu.url });
            stacks.push(s);
            s.setSpec({ resources: [ada({ deletionPolicy: "retainMigrated" })] });
            await s.up();
            const tag = (await s.resources()).get("ada").id;
            // The moment the refresh has read the list (ada NOTSTARTED), her first pass begins (the scheduled
            // wave, a colleague in the portal): right after that answer, before anything else is asked.
            const store = emu.store as unknown as { getAll(f: string): unknown[]; start(f: string, tag: string): void };
            const getAll = store.getAll.bind(store);
            let armed = true;
            store.getAll = (f: string) => {
                const answer = getAll(f);
                if (armed && f === "mail") { armed = false; setImmediate(() => store.start("mail", tag)); }
                return answer;
            };
            try {
                s.setSpec({ resources: [] });
                const r = await s.cli(["up", "--refresh", "--yes", "--skip-preview"], true);
                assert.strictEqual(r.code, 0, r.stdout + r.stderr);
                assert.strictEqual(armed, false, "the refresh read the list");
                assert.match(r.stdout + r.stderr, /is kept in Cloudiway, not deleted \(deletionPolicy retainMigrated: status SCHEDULED\)/);
                assert.deepStrictEqual(usersOf(await emuState(emu.baseUrl)).map((u: any) => [u.sourceEmail, u.status]), [["ada@source.example", "SCHEDULED"]]);
            } finally {
                store.getAll = getAll;
            }
        } finally {
            await control(emu).setLifecycle({ transitionMs: 0 });
        }
    });

    it('a batch named "Legacy connectors": after its members are removed, its delete succeeds in the same up', async () => {
        await control(emu).reset();
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
