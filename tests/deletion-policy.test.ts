/**
 * The deletion policy at the level of the provider methods, against the emulator: a user that
 * leaves the stack is kept in Cloudiway when deleting it would lose something (retainMigrated,
 * the default), never deleted (retain), or deleted (delete); its membership and its batch follow.
 * The whole-stack version (real engine, plan files, destroy) is tests/engine-deletion-policy.test.ts.
 */
import * as assert from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { CloudiwayClient } from "../provider/client";
import { resolveSettings } from "../provider/config";
import { loadPlan } from "../provider/plan";
import { describeHoldings, hasSomethingToLose, holdingsOf } from "../provider/campaign/retention";
import { emuResetStats, emuState, emuStats } from "./helpers/emu";
import { held, implementations, person, providerFixture } from "./helpers/provider";

describe("deletion policy: a user with something to lose is not deleted by accident", function () {
    this.timeout(60_000);
    const fx = providerFixture({ emulatorPerTest: true, transitionMs: 0 });
    const user = implementations.MailUser, member = implementations.BatchMembership, batch = implementations.MailBatch;
    const ctxWith = (policy?: string) => fx.context(policy ? { "cloudiway:deletionPolicy": policy } : {});
    /** A user in batch W; `migrated`: one pass done (SUCCESS, licensed by the pass). */
    async function made(n: string, migrated: boolean): Promise<string> {
        const { [n]: migrationTag } = await fx.addUsers([n], "W");
        if (migrated) await fx.client.startUser("mail", migrationTag);
        return migrationTag;
    }
    const tags = async () => (await emuState(fx.emu.baseUrl)).mail.users.map((u: { sourceEmail: string }) => u.sourceEmail).sort();

    beforeEach(() => fx.client.createBatch("mail", "W"));

    it("retainMigrated reads the status and history at the delete, not the lists the refresh cached: a first pass begun since is kept", async () => {
        const ctx = ctxWith();
        ctx.cache.clear();
        const ada = await made("ada", false);
        // The refresh (or the preview of this up) read the lists: ada NOTSTARTED, in W.
        assert.strictEqual((await user.read(ctx, ada, held({ ...person("ada"), migrationTag: ada }))).props?.status, "NOTSTARTED");
        // Then ada's first pass begins, outside this provider process (the scheduled wave, a colleague in the portal).
        const outside = new CloudiwayClient({ apiUrl: fx.emu.url, consumerKey: "demo-key", consumerSecret: "demo-secret" });
        await fx.control.setLifecycle({ transitionMs: "manual" });
        await outside.startUser("mail", ada);
        await outside.close();
        await emuResetStats(fx.emu.baseUrl);
        await user.delete(ctx, ada, held({ ...person("ada"), migrationTag: ada }));
        const stats = await emuStats(fx.emu.baseUrl);
        assert.strictEqual(stats.mutating, 0, `kept: no delete call (${JSON.stringify(stats.byCall)})`);
        assert.deepStrictEqual(await tags(), ["ada@source.example"]);
    });

    it("retainMigrated reads the license fresh too when it decides: a user licensed in the portal since the lists were read is kept", async () => {
        const ctx = ctxWith();
        ctx.cache.clear();
        const bea = await made("bea", false);
        assert.strictEqual((await user.read(ctx, bea, held({ ...person("bea"), migrationTag: bea }))).props?.licenseAssigned, false);
        const outside = new CloudiwayClient({ apiUrl: fx.emu.url, consumerKey: "demo-key", consumerSecret: "demo-secret" });
        await outside.assignLicense("mail", bea); // a colleague, in the portal
        await outside.close();
        await user.delete(ctx, bea, held({ ...person("bea"), migrationTag: bea }));
        assert.deepStrictEqual(await tags(), ["bea@source.example"], "kept: its license would be lost");
    });

    it("retainMigrated (default): the migrated user is kept (no delete call), the untouched one is deleted", async () => {
        const ctx = ctxWith();
        const ada = await made("ada", true), bob = await made("bob", false);
        const h = (await holdingsOf(ctx, "mail", ada))!;
        assert.deepStrictEqual({ passes: h.passes, licensed: h.licensed, status: h.status }, { passes: 1, licensed: true, status: "SUCCESS" });
        assert.strictEqual(describeHoldings(h), "1 pass, licensed, status SUCCESS");
        assert.strictEqual(hasSomethingToLose((await holdingsOf(ctx, "mail", bob))!), false);
        await emuResetStats(fx.emu.baseUrl);
        await user.delete(ctx, ada, held({ ...person("ada"), migrationTag: ada }));
        assert.strictEqual((await emuStats(fx.emu.baseUrl)).mutating, 0, "no call that changes anything for the kept user");
        await user.delete(ctx, bob, held({ ...person("bob"), migrationTag: bob }));
        assert.deepStrictEqual(await tags(), ["ada@source.example"]);
        const history = await fx.client.getMailHistory("mail", ada);
        assert.strictEqual(history.length, 1, "the kept user keeps its history");
    });

    it("a license alone, or an audit, is something to lose", async () => {
        const ctx = ctxWith();
        const { migrationTag: lic } = await fx.client.createUser("mail", person("lic"));
        await fx.client.assignLicense("mail", lic);
        const { migrationTag: aud } = await fx.client.createUser("mail", person("aud"));
        await fx.client.auditUser("mail", aud);
        await user.delete(ctx, lic, held({ ...person("lic") }));
        await user.delete(ctx, aud, held({ ...person("aud") }));
        assert.deepStrictEqual(await tags(), ["aud@source.example", "lic@source.example"]);
    });

    it("retain never deletes; delete always does (per resource, or from cloudiway:deletionPolicy)", async () => {
        const ada = await made("ada", true), bob = await made("bob", false);
        await user.delete(ctxWith(), bob, held({ ...person("bob"), deletionPolicy: "retain" }));
        assert.deepStrictEqual(await tags(), ["ada@source.example", "bob@source.example"], "retain: the untouched user stays too");
        await user.delete(ctxWith("delete"), ada, held({ ...person("ada") }));
        assert.deepStrictEqual(await tags(), ["bob@source.example"], "the stack's delete policy deletes the migrated user");
        await user.delete(ctxWith("retain"), bob, held({ ...person("bob"), deletionPolicy: "delete" }));
        assert.deepStrictEqual(await tags(), [], "the resource's own policy wins over the stack's");
    });

    it("the kept user's membership stays, and its batch is kept; a batch with a user that is not kept still refuses", async () => {
        const ctx = ctxWith();
        const ada = await made("ada", true), bob = await made("bob", false);
        await member.delete(ctx, bob, held({ migrationTag: bob, batchName: "W" }));
        await member.delete(ctx, ada, held({ migrationTag: ada, batchName: "W" }));
        assert.deepStrictEqual(await fx.client.getUsersInBatch("mail", "W"), [ada], "the migrated user stays in its batch; the other leaves it");
        await user.delete(ctx, bob, held({ ...person("bob") }));
        await emuResetStats(fx.emu.baseUrl);
        await batch.delete(ctx, "W", held({ name: "W" }));
        assert.strictEqual((await emuStats(fx.emu.baseUrl)).mutating, 0);
        assert.deepStrictEqual(await fx.client.listBatches("mail"), ["W"], "a batch holding kept users is kept");
        // A user with nothing to lose (not this stack's) in the batch: the batch's delete refuses as before, naming it.
        const { migrationTag: eve } = await fx.client.createUser("mail", person("eve"));
        await fx.client.addToBatch("mail", eve, "W");
        ctx.cache.clear(); // made outside the provider: its list answers of this operation are old
        await assert.rejects(batch.delete(ctx, "W", held({ name: "W" })), (e: Error) =>
            /cannot be deleted: it holds 1 user\(s\) that no resource of this stack takes out of it in this run and that have nothing to lose: eve@source\.example/.test(e.message) &&
            !e.message.includes("ada@"));
        // deletionPolicy delete on a membership takes a migrated user out of its batch.
        await member.delete(ctx, ada, held({ migrationTag: ada, batchName: "W", deletionPolicy: "delete" }));
        assert.deepStrictEqual(await fx.client.getUsersInBatch("mail", "W"), [eve]);
    });

    it("one verdict per user: a user and membership kept by their own policy keep their batch under a stack default of delete, with a warning naming it", async () => {
        const ctx = ctxWith("delete");
        const ada = await made("ada", false); // nothing to lose: only its own "retain" keeps it
        const bob = await made("bob", true); // migrated, but the stack deletes it: its membership takes it out
        await member.delete(ctx, bob, held({ migrationTag: bob, batchName: "W" }));
        await member.delete(ctx, ada, held({ migrationTag: ada, batchName: "W", deletionPolicy: "retain" }));
        await user.delete(ctx, ada, held({ ...person("ada"), deletionPolicy: "retain" }));
        await user.delete(ctx, bob, held({ ...person("bob") }));
        const warned: string[] = [];
        const write = process.stderr.write;
        process.stderr.write = ((chunk: string) => { warned.push(String(chunk)); return true; }) as typeof process.stderr.write;
        try {
            await batch.delete(ctx, "W", held({ name: "W" }));
        } finally {
            process.stderr.write = write;
        }
        assert.deepStrictEqual(await fx.client.listBatches("mail"), ["W"], "the batch is kept");
        assert.deepStrictEqual(await tags(), ["ada@source.example"], "with the retained user; the other is deleted");
        assert.match(warned.join(""), /MailBatch "W" \(mail\) is kept in Cloudiway, not deleted: it holds 1 user\(s\) kept by their deletion policy \(ada@source\.example\)/);
    });

    it("bad input: an unknown policy fails check naming MailUser.deletionPolicy with no call; a bad stack config names cloudiway:deletionPolicy", async () => {
        await emuResetStats(fx.emu.baseUrl);
        const r = await user.check(ctxWith(), undefined, { ...person("ada"), deletionPolicy: "keep" });
        assert.deepStrictEqual(r.failures.map((f) => f.property), ["deletionPolicy"]);
        assert.match(r.failures[0].reason, /^MailUser\.deletionPolicy: must be one of "retainMigrated", "delete", "retain"/);
        assert.strictEqual((await emuStats(fx.emu.baseUrl)).total, 0, "no call");
        const m = await member.check(ctxWith(), undefined, { migrationTag: "c0d9b808-0000-4000-8000-000000000000", batchName: "W", deletionPolicy: 3 });
        assert.deepStrictEqual(m.failures.map((f) => f.property), ["deletionPolicy"]);
        assert.throws(() => resolveSettings((k) => (k === "cloudiway:deletionPolicy" ? "never" : undefined), {}), /cloudiway:deletionPolicy must be one of "retainMigrated", "delete", "retain" \(got "never"\)/);
        assert.strictEqual(resolveSettings(() => undefined, { CLOUDIWAY_DELETION_POLICY: "Delete" }).deletionPolicy, "delete");
        assert.strictEqual(resolveSettings(() => undefined, {}).deletionPolicy, "retainMigrated");
    });

    it("plan files: deletionPolicy under defaults and per user; a bad value is file:line", () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "cw-policy-plan-"));
        try {
            const file = path.join(dir, "plan.yaml");
            fs.writeFileSync(file, [
                "defaults:",
                "  sourceConnectorName: Gmail",
                "  targetConnectorName: Office 365",
                "  deletionPolicy: retain",
                "users:",
                "  - { firstName: A, lastName: A, sourceEmail: a@s.example, targetEmail: a@t.example }",
                "  - { firstName: B, lastName: B, sourceEmail: b@s.example, targetEmail: b@t.example, deletionPolicy: delete }",
                "",
            ].join("\n"));
            const plan = loadPlan(file);
            assert.deepStrictEqual(plan.users.map((u) => u.deletionPolicy), ["retain", "delete"]);
            // One case rule everywhere (config, resource, plan): any case is taken, the canonical spelling kept.
            fs.writeFileSync(file, fs.readFileSync(file, "utf8").replace("deletionPolicy: retain", "deletionPolicy: RETAIN").replace("deletionPolicy: delete", "deletionPolicy: Delete"));
            assert.deepStrictEqual(loadPlan(file).users.map((u) => u.deletionPolicy), ["retain", "delete"]);
            fs.writeFileSync(file, fs.readFileSync(file, "utf8").replace("deletionPolicy: Delete", "deletionPolicy: keepIt"));
            assert.throws(() => loadPlan(file), (e: Error) => /plan\.yaml:7: deletionPolicy must be one of "retainMigrated", "delete", "retain" \(got "keepIt"\)/.test(e.message));
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });
});
