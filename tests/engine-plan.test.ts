/**
 * Plans and examples under the real engine: the root project deploys the sample
 * plan and a 200-row CSV plan, a second preview is empty; moving one CSV row is
 * one membership update (in preview and in the Markdown summary); a bad plan
 * fails preview with file:line and applies nothing; export-plan round trip;
 * each example previews and goes up.
 */
import * as assert from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { stringify } from "yaml";
import { startEmulator } from "../emulator";
import { CloudiwayClient } from "../provider/client";
import { exportPlan } from "../cli/export-plan";
import { summarizePreview } from "../cli/plan-summary";
import { REPO, TestStack, changes, disposeStackAfterEach, skipIfEngineOptedOut } from "./helpers/engine";
import { batchesOf, control, Emu, emuResetStats, emuState, emuStats, usersOf } from "./helpers/emu";

const ROOT_PROGRAM = path.join(REPO, "dist", "index.js");

describe("@engine plans, examples and tenant adoption", function () {
    this.timeout(30 * 60 * 1000);
    let emu: Emu;
    let stack: TestStack | undefined;
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "cw-plans-"));

    before(async function () {
        skipIfEngineOptedOut(this);
        emu = await startEmulator({ port: 0, transitionMs: 0, quiet: true });
    });
    after(async () => { await emu?.close(); fs.rmSync(tmp, { recursive: true, force: true }); });
    // No destroy after each test: it asserted nothing (errors ignored), each test resets the emulator before its
    // stack and the stack's state goes with its folder (dispose). The destroys took ~55 s of this file's 5 min.
    disposeStackAfterEach(() => stack, () => { stack = undefined; }, { destroy: false, lines: 2 });
    async function planStack(name: string, planFile: string) {
        await control(emu).reset();
        stack = await TestStack.create({ name, apiUrl: emu.url, program: ROOT_PROGRAM, config: { "cloudiway-migration:planFile": planFile } });
        return stack;
    }

    it("the sample plan goes up; the second preview is empty", async () => {
        const s = await planStack("sample", path.join(REPO, "plan.yaml"));
        await s.up();
        const st = await emuState(emu.baseUrl);
        assert.strictEqual(usersOf(st).length, 24);
        // Batches are created concurrently: compare by name, not by creation order.
        const sizes = Object.fromEntries(batchesOf(st).map((b: any) => [b.name, b.users.length]));
        assert.deepStrictEqual(sizes, { "Wave 1 - Pilot": 6, "Wave 2 - Finance": 9, "Wave 3 - Everyone else": 9 });
        assert.deepStrictEqual(changes((await s.preview()).steps), []);
    });

    it("a 200-row CSV plan; moving one row is one membership update, in preview and in the summary", async () => {
        const csv = path.join(tmp, "waves-200.csv");
        const yamlFile = path.join(tmp, "waves.yaml");
        fs.copyFileSync(path.join(REPO, "tests", "fixtures", "plans", "waves-200.csv"), csv);
        fs.copyFileSync(path.join(REPO, "tests", "fixtures", "plans", "waves-200.yaml"), yamlFile);
        const s = await planStack("csv200", yamlFile);
        await s.up();
        assert.strictEqual(usersOf(await emuState(emu.baseUrl)).length, 200);
        await emuResetStats(emu.baseUrl);
        const empty = await s.preview();
        assert.deepStrictEqual(changes(empty.steps), []);

        fs.writeFileSync(csv, fs.readFileSync(csv, "utf8").replace("user007@target.example,Mailbox,Mailbox,Wave 4", "user007@target.example,Mailbox,Mailbox,Wave 2"));
        const moved = await s.preview();
        assert.deepStrictEqual(changes(moved.steps).map((c) => [c.op, c.name]), [["update", "membership:user007@source.example"]]);
        const md = summarizePreview(JSON.parse(moved.result.stdout));
        assert.match(md, /\| user007@source\.example \| Wave 4 \| Wave 2 \|/);
        assert.match(md, /\| BatchMembership \| 0 \| 1 \| 0 \| 0 \|/);
        await s.up();
        const u = usersOf(await emuState(emu.baseUrl)).find((x) => x.sourceEmail === "user007@source.example")!;
        assert.strictEqual(u.batchName, "Wave 2");
    });

    it("a bad plan fails preview with file:line for every problem; nothing applied", async () => {
        const bad = path.join(tmp, "bad.yaml");
        fs.writeFileSync(bad, `defaults: { sourceConnectorName: Gmial, targetConnectorName: Office 365 }
batches:
  - name: W1
    users:
      - { firstName: Ann, lastName: A, sourceEmail: ann@s.example, targetEmail: ann-at-t }
users:
  - { firstName: Bob, lastName: B, sourceEmail: bob@s.example, targetEmail: bob@t.example, batch: W7 }
`);
        const s = await planStack("badplan", bad);
        await emuResetStats(emu.baseUrl);
        const r = await s.cli(["up", "--yes"], true);
        assert.notStrictEqual(r.code, 0);
        const text = r.stdout + r.stderr;
        assert.match(text, /bad\.yaml:5: targetEmail must be an email address/);
        assert.match(text, /bad\.yaml:7: batch "W7" is referenced but not declared/);
        assert.match(text, /bad\.yaml:7: unknown source connector "Gmial"/);
        assert.strictEqual((await emuStats(emu.baseUrl)).mutating, 0);
    });

    it("export-plan round trip: a live tenant exported and adopted creates nothing, then previews empty", async () => {
        await control(emu).reset();
        const c = new CloudiwayClient({ apiUrl: emu.url, consumerKey: "demo-key", consumerSecret: "demo-secret" });
        await c.createBatch("mail", "Live A");
        await c.createBatch("mail", "Live B");
        for (let i = 0; i < 8; i++) {
            const { migrationTag } = await c.createUser("mail", {
                firstName: `Live${i}`, lastName: "User", sourceEmail: `live${i}@s.example`, targetEmail: `live${i}@t.example`,
                sourceConnectorName: i % 3 ? "Gmail" : "IMAP", targetConnectorName: "Office 365",
            });
            if (i < 6) await c.addToBatch("mail", migrationTag, i % 2 ? "Live A" : "Live B");
        }
        await c.setGlobalSettings("mail", "Live A", {
            shouldMigrateMails: true, shouldMigrateTrash: true, shouldMigrateCalendars: false, shouldMigrateContacts: true, shouldMigrateTasks: false,
            shouldMigrateNotes: true, shouldMigrateJournals: false, shouldConvertEmailAddresses: true, shouldConvertX500: false, fromDate: "2019-05-01", toDate: null,
        });
        const { plan } = await exportPlan(c, "mail");
        await c.close();
        const file = path.join(tmp, "tenant.yaml");
        fs.writeFileSync(file, stringify(plan));
        const before = JSON.stringify((await emuState(emu.baseUrl)).mail);
        stack = await TestStack.create({ name: "adopt-tenant", apiUrl: emu.url, program: ROOT_PROGRAM, config: { "cloudiway-migration:planFile": file } });
        await emuResetStats(emu.baseUrl);
        await stack.up();
        const byCall = (await emuStats(emu.baseUrl)).byCall;
        assert.strictEqual(byCall["POST /mailusers/create"] ?? 0, 0, "no user created");
        assert.strictEqual(byCall["POST /mailusers/createbatch"] ?? 0, 0, "no batch created");
        assert.strictEqual(byCall["POST /mailusers/update"] ?? 0, 0, "no user changed");
        // Nothing that is already so is written again (settings, memberships): 0 writes in all.
        assert.strictEqual((await emuStats(emu.baseUrl)).mutating, 0, `0 writes: ${JSON.stringify(byCall)}`);
        const after = (await emuState(emu.baseUrl)).mail;
        assert.deepStrictEqual(after.users.map((u: any) => [u.sourceEmail, u.batchName]).sort(), JSON.parse(before).users.map((u: any) => [u.sourceEmail, u.batchName]).sort());
        assert.deepStrictEqual(changes((await stack.preview()).steps), []);
    });

    /** What each example declares: its resources (by operation and type, Pulumi's own stack and providers aside), users and batches. */
    const EXAMPLES: Record<string, { planned: Record<string, number>; users: number; batches: string[] }> = {
        "quickstart": {
            planned: { "create MailBatch": 1, "create MailUser": 2, "create BatchMembership": 2, "create BatchGlobalSettings": 1, "create MigrationRun": 1 },
            users: 2, batches: ["Quickstart Wave"],
        },
        "csv-waves": {
            planned: { "create MigrationPlan": 1, "create MailBatch": 3, "create MailUser": 12, "create BatchMembership": 12 },
            users: 12, batches: ["Wave 1", "Wave 2", "Wave 3"],
        },
        "adopt-existing": {
            planned: { "create MailBatch": 1, "create MailUser": 2, "create BatchMembership": 2 },
            users: 2, batches: ["Legacy Wave"],
        },
        "gitops": {
            planned: { "create MigrationPlan": 1, "create MailBatch": 2, "create MailUser": 3, "create BatchMembership": 3, "create BatchGlobalSettings": 2, "create MigrationRun": 2 },
            users: 3, batches: ["GitOps Wave 1", "GitOps Wave 2"],
        },
    };
    /** "create MailUser" -> count, from the steps of a preview; the stack and providers (pulumi:*) left out. */
    const planned = (steps: any[]) => {
        const out: Record<string, number> = {};
        for (const c of changes(steps)) {
            const type = c.type.split("$").pop()!;
            if (type.startsWith("pulumi:")) continue;
            const key = `${c.op} ${type.split(":").pop()}`;
            out[key] = (out[key] ?? 0) + 1;
        }
        return out;
    };

    for (const [example, want] of Object.entries(EXAMPLES)) {
        it(`examples/${example}: preview and up`, async () => {
            await control(emu).reset();
            if (example === "adopt-existing") {
                const c = new CloudiwayClient({ apiUrl: emu.url, consumerKey: "demo-key", consumerSecret: "demo-secret" });
                await c.createBatch("mail", "Legacy Wave");
                for (const id of ["rosa", "nils"]) {
                    const { migrationTag } = await c.createUser("mail", { firstName: id, lastName: "x", sourceEmail: `${id}@legacy.example`, targetEmail: `${id}@new.example`, sourceConnectorName: "Exchange", targetConnectorName: "Office 365" });
                    await c.addToBatch("mail", migrationTag, "Legacy Wave");
                }
                await c.close();
            }
            stack = await TestStack.create({ name: example, apiUrl: emu.url, programDir: path.join(REPO, "examples", example) });
            const p = await stack.preview();
            assert.deepStrictEqual(planned(p.steps), want.planned, "the preview plans what the example declares");
            await emuResetStats(emu.baseUrl);
            await stack.up();
            const st = await emuState(emu.baseUrl);
            if (example === "adopt-existing") {
                assert.strictEqual((await emuStats(emu.baseUrl)).byCall["POST /mailusers/create"] ?? 0, 0);
                assert.strictEqual(usersOf(st).length, 2);
                assert.ok(usersOf(st).every((u: any) => u.firstName === "Rosa" || u.firstName === "Nils"), "declared names applied");
            }
            assert.strictEqual(usersOf(st).length, want.users, "the example's users");
            assert.deepStrictEqual(batchesOf(st).map((b: any) => b.name).sort(), want.batches, "the example's batches");
            assert.deepStrictEqual(changes((await stack.preview()).steps), []);
        });
    }
});
