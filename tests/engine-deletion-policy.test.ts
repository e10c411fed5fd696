/**
 * The deletion policy under the real engine: removing a migrated user from the plan, changing its
 * kind (a replacement), or destroying the stack never deletes what it has been through in
 * Cloudiway (retainMigrated, the default), and says so in the engine's output; users with nothing
 * to lose are deleted as before; `cloudiway:deletionPolicy delete` deletes everything.
 */
import * as assert from "assert";
import * as path from "path";
import { startEmulator } from "../emulator";
import { REPO, TestStack, skipIfEngineOptedOut } from "./helpers/engine";
import { batchesOf, control, Emu, emuState, usersOf } from "./helpers/emu";
import { costOfPreview } from "../provider/campaign/cost";
import { summarizePreview } from "../cli/plan-summary";
import type { StateView } from "../emulator";

const ROOT_PROGRAM = path.join(REPO, "dist", "index.js");
const SECRET = "Policy-S3cret-4242";

describe("@engine deletion policy: never burn a license by accident", function () {
    this.timeout(20 * 60 * 1000);
    let emu: Emu;
    let stack: TestStack | undefined;
    const printed: string[] = [];

    before(async function () {
        skipIfEngineOptedOut(this);
        emu = await startEmulator({ port: 0, consumerKey: "policy-key", consumerSecret: SECRET, transitionMs: 0, quiet: true });
    });
    after(async () => {
        await emu?.close();
        for (const line of printed) assert.ok(!line.includes(SECRET), "the secret is in no output of these runs");
    });
    afterEach(async function () {
        if (!stack) return;
        printed.push(...stack.log);
        if (this.currentTest?.state === "failed") console.log(stack.log.slice(-3).join("\n"));
        await stack.dispose();
        stack = undefined;
    });
    async function newStack(name: string, opts: { program?: string; config?: Record<string, string> } = {}): Promise<TestStack> {
        await control(emu).reset();
        stack = await TestStack.create({ name, apiUrl: emu.url, consumerKey: "policy-key", consumerSecret: SECRET, ...opts });
        return stack;
    }
    const person = (n: string, extra: Record<string, unknown> = {}) => ({
        type: "MailUser", name: n, args: {
            firstName: n, lastName: "Policy", sourceEmail: `${n}@source.example`, targetEmail: `${n}@target.example`,
            sourceConnectorName: "Gmail", targetConnectorName: "Office 365", ...extra,
        },
    });
    /** plan-summary of the stack's preview (`--json` of a destroy preview with `destroy`): the cost, the Markdown; the secret in neither. */
    async function summary(s: TestStack, destroy = false) {
        const r = destroy ? await s.cli(["destroy", "--preview-only", "--json"]) : (await s.preview()).result;
        const json = JSON.parse(r.stdout);
        const cost = costOfPreview(json), md = summarizePreview(json);
        printed.push(md, JSON.stringify(cost));
        assert.ok(!md.includes(SECRET) && !JSON.stringify(cost).includes(SECRET));
        return { cost, md };
    }
    const user = (st: StateView, n: string, kind: "mail" | "archive" = "mail") => usersOf(st, kind).find((u) => u.sourceEmail === `${n}@source.example`)!;

    it("a migrated user and an untouched one leave the plan: the migrated one stays with its history and license, named in a warning; the other is deleted", async () => {
        const s = await newStack("policy-remove");
        s.setSpec({ resources: [
            { type: "MailBatch", name: "w", args: { name: "Wave P" } },
            person("ada"), person("bob"),
            { type: "BatchMembership", name: "ada-m", args: { migrationTag: { $out: "ada.migrationTag" }, batchName: { $out: "w.name" } } },
            { type: "BatchMembership", name: "bob-m", args: { migrationTag: { $out: "bob.migrationTag" }, batchName: { $out: "w.name" } } },
            { type: "MigrationRun", name: "ada-go", args: { migrationTag: { $out: "ada.migrationTag" }, action: "migrate", trigger: "1" }, dependsOn: ["ada-m"] },
        ] });
        const first = await summary(s);
        assert.strictEqual(first.cost.licensesConsumedByRuns, 1, "the first pass of ada (a new user) consumes a license");
        assert.deepStrictEqual([first.cost.licensesAssigned.length, first.cost.usersDeleted.length, first.cost.usersKept.length], [0, 0, 0]);
        await s.up();
        const before = await emuState(emu.baseUrl);
        assert.strictEqual(user(before, "ada").status, "SUCCESS");
        assert.strictEqual(user(before, "ada").history.length, 1);
        await s.refresh(); // the state learns of the pass: the summary reads it from there
        // Both rows leave the plan (and everything that hangs on them); the batch stays declared.
        s.setSpec({ resources: [{ type: "MailBatch", name: "w", args: { name: "Wave P" } }] });
        const { cost, md } = await summary(s);
        assert.deepStrictEqual(cost.usersKept.map((u) => [u.user, u.note]), [["ada@source.example -> ada@target.example", "removed from the plan; kept by deletionPolicy retainMigrated: 1 pass, licensed, status SUCCESS"]]);
        assert.deepStrictEqual(cost.usersDeleted.map((u) => [u.user, u.note]), [["bob@source.example -> bob@target.example", "removed from the plan; loses nothing (never started, no license)"]]);
        assert.match(md, /^## Cloudiway migration plan\n\n### What this change costs/);
        assert.match(md, /\| users kept in Cloudiway by the deletion policy \| 1 \|/);
        assert.match(md, /as of the stack's state as of its last refresh or update/);
        const up = await s.up();
        const out = up.stdout + up.stderr;
        assert.match(out, /MailUser ada@source\.example -> ada@target\.example .*is kept in Cloudiway, not deleted \(deletionPolicy retainMigrated: 1 pass, licensed, status SUCCESS\)/);
        assert.doesNotMatch(out, /MailUser bob@source\.example -> .* is kept/);
        assert.match(out, /BatchMembership: ada@source\.example .* stays in batch "Wave P"/);
        const after = await emuState(emu.baseUrl);
        assert.ok(user(after, "ada"), "the migrated user is still in Cloudiway");
        assert.strictEqual(user(after, "ada").history.length, 1, "with its history");
        assert.strictEqual(user(after, "ada").licensed, true, "and its license");
        assert.strictEqual(user(after, "ada").batchName, "Wave P", "in its batch (documented: a kept user's membership stays)");
        assert.strictEqual(user(after, "bob"), undefined, "the untouched user is deleted");
        assert.strictEqual((await s.resources()).has("ada"), false, "the stack no longer manages it");
    });

    it("a migrated user moved to the archive kind: the mail user is kept, the archive user is made", async () => {
        const s = await newStack("policy-kind");
        s.setSpec({ resources: [
            person("cy"),
            { type: "MigrationRun", name: "cy-go", args: { migrationTag: { $out: "cy.migrationTag" }, action: "migrate", trigger: "1" } },
        ] });
        await s.up();
        await s.refresh();
        s.setSpec({ resources: [person("cy", { kind: "archive" })] }); // a replacement into the other kind
        const { cost } = await summary(s);
        assert.deepStrictEqual(cost.usersKept.map((u) => u.note), ["replaced; kept by deletionPolicy retainMigrated: 1 pass, licensed, status SUCCESS"]);
        const up = await s.up();
        assert.match(up.stdout + up.stderr, /MailUser cy@source\.example -> cy@target\.example \(mail, .*\) is kept in Cloudiway/);
        const st = await emuState(emu.baseUrl);
        assert.strictEqual(user(st, "cy", "mail")?.history.length, 1, "the mail user is kept, with its pass");
        assert.strictEqual(user(st, "cy", "archive")?.status, "NOTSTARTED", "the archive user is made");
    });

    it("pulumi destroy of the sample plan after wave 1 ran keeps wave 1's users and batch and removes the rest", async () => {
        const s = await newStack("policy-destroy", { program: ROOT_PROGRAM, config: { "cloudiway-migration:planFile": path.join(REPO, "plan.yaml") } });
        const planned = await summary(s);
        assert.strictEqual(planned.cost.licensesConsumedByRuns, 6, "wave 1's run: the first pass of its 6 users");
        await s.up();
        await s.refresh();
        const { cost } = await summary(s, true);
        assert.deepStrictEqual([cost.usersKept.length, cost.usersDeleted.length], [6, 18], "destroy: wave 1 kept, the 18 others deleted");
        assert.ok(cost.usersDeleted.every((u) => /loses nothing/.test(u.note)));
        const destroyed = await s.destroy();
        const st = await emuState(emu.baseUrl);
        assert.deepStrictEqual(usersOf(st).map((u: any) => u.batchName).sort(), Array(6).fill("Wave 1 - Pilot"), "wave 1's 6 users are kept, in their batch");
        assert.ok(usersOf(st).every((u: any) => u.history.length === 1 && u.licensed), "with their pass and license");
        assert.deepStrictEqual(batchesOf(st).map((b: any) => b.name), ["Wave 1 - Pilot"], "their batch is kept; waves 2 and 3 are deleted");
        assert.match(destroyed.stdout + destroyed.stderr, /MailBatch "Wave 1 - Pilot" \(mail\) is kept in Cloudiway/);
    });

    it("users and memberships with deletionPolicy retain under a stack default of delete: their batches leave the stack (up, then destroy), exit 0, kept with a warning", async () => {
        const s = await newStack("policy-own-verdict", { config: { "cloudiway:deletionPolicy": "delete" } });
        const wave = (w: string, n: string) => [
            { type: "MailBatch", name: w, args: { name: `Wave ${w}` } },
            person(n, { deletionPolicy: "retain" }),
            { type: "BatchMembership", name: `${n}-m`, args: { migrationTag: { $out: `${n}.migrationTag` }, batchName: { $out: `${w}.name` }, deletionPolicy: "retain" } },
        ];
        s.setSpec({ resources: [...wave("A", "ann"), ...wave("B", "ben")] });
        await s.up();
        s.setSpec({ resources: wave("B", "ben") }); // wave A leaves the plan: `up` removes it
        const up = await s.up(); // exits 0, or cli() throws
        assert.match(up.stdout + up.stderr, /MailBatch "Wave A" \(mail\) is kept in Cloudiway, not deleted: it holds 1 user\(s\) kept by their deletion policy \(ann@source\.example\)/);
        const destroyed = await s.destroy();
        assert.match(destroyed.stdout + destroyed.stderr, /MailBatch "Wave B" \(mail\) is kept in Cloudiway/);
        const st = await emuState(emu.baseUrl);
        assert.deepStrictEqual(batchesOf(st).map((b: any) => b.name).sort(), ["Wave A", "Wave B"], "both batches stay in Cloudiway");
        assert.deepStrictEqual([user(st, "ann")?.batchName, user(st, "ben")?.batchName], ["Wave A", "Wave B"], "with their users in them");
    });

    it("with cloudiway:deletionPolicy delete, the same destroy removes everything", async () => {
        const s = await newStack("policy-destroy-all", { program: ROOT_PROGRAM, config: { "cloudiway-migration:planFile": path.join(REPO, "plan.yaml"), "cloudiway:deletionPolicy": "delete" } });
        await s.up();
        assert.ok(usersOf(await emuState(emu.baseUrl)).some((u: any) => u.history.length === 1), "wave 1 ran");
        await s.refresh();
        const { cost, md } = await summary(s, true);
        assert.deepStrictEqual([cost.usersKept.length, cost.usersDeleted.length, cost.deletionPolicy], [0, 24, "delete"]);
        assert.strictEqual(cost.usersDeleted.filter((u) => /loses 1 pass, licensed, status SUCCESS/.test(u.note)).length, 6);
        assert.match(md, /\| users deleted in Cloudiway \| 24 \(\*\*6 lose migration history or a license\*\*\) \|/);
        await s.destroy();
        const st = await emuState(emu.baseUrl);
        assert.deepStrictEqual([usersOf(st).length, batchesOf(st).length], [0, 0]);
    });
});
