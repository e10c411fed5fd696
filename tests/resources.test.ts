/**
 * The provider methods (check/diff/create/read/update/delete) called directly, as
 * the dynamic provider process calls them, against the emulator in-process: the
 * rules that the engine tests exercise only through whole stacks, one by one.
 */
import * as assert from "assert";
import * as pulumi from "@pulumi/pulumi";
import { startEmulator } from "../emulator";
import { CloudiwayClient } from "../provider/client";
import { contextFor, implementations } from "../provider/resources/impl";
import { UNKNOWN } from "../provider/resources/common";
import * as fns from "../provider/functions";
import { emuResetStats, emuStats } from "./helpers/emu";
import { checked, held, present } from "./helpers/provider";

const KEY = "unit-key";
const SECRET = "Unit-S3cret-9191";

type Emu = Awaited<ReturnType<typeof startEmulator>>;

describe("provider methods against the emulator", function () {
    this.timeout(60_000);
    let emu: Emu;
    let client: CloudiwayClient;
    let ctx: ReturnType<typeof contextFor>;
    const user = implementations.MailUser, batch = implementations.MailBatch, member = implementations.BatchMembership;
    const settings = implementations.BatchGlobalSettings, run = implementations.MigrationRun;
    const ada = {
        firstName: "Ada", lastName: "Lovelace", sourceEmail: "ada@source.example", targetEmail: "ada@target.example",
        sourceConnectorName: "Gmail", targetConnectorName: "Office 365",
    };

    before(async () => {
        emu = await startEmulator({ port: 0, consumerKey: KEY, consumerSecret: SECRET, quiet: true });
        client = new CloudiwayClient({ apiUrl: emu.url, consumerKey: KEY, consumerSecret: SECRET });
        const config: Record<string, string> = { "cloudiway:apiUrl": emu.url, "cloudiway:consumerKey": KEY, "cloudiway:consumerSecret": SECRET };
        ctx = contextFor((k) => config[k]);
    });
    beforeEach(async () => {
        await fetch(`${emu.baseUrl}/_emulator/reset`, { method: "POST" });
        ctx.cache.clear();
    });
    after(async () => {
        await client?.close?.();
        await emu?.close();
    });

    describe("check", () => {
        it("one failure per bad property, each naming the resource and the property", async () => {
            const r = await user.check(ctx, undefined, { ...ada, sourceEmail: "nope", lastName: " ", sourceConnectorName: "Gmial", extra: 1 });
            const props = (r.failures ?? []).map((f) => f.property).sort();
            assert.deepStrictEqual(props, ["extra", "lastName", "sourceEmail"]);
            for (const f of r.failures!) assert.match(f.reason, new RegExp(`MailUser(\\.${f.property})?`));
            // Schema failures first; once the shape is right, the connector is checked against the API.
            const c = await user.check(ctx, undefined, { ...ada, sourceConnectorName: "Gmial" });
            assert.deepStrictEqual(c.failures!.map((f) => f.property), ["sourceConnectorName"]);
            assert.match(c.failures![0].reason, /did you mean "Gmail"/);
        });

        it("normalizes what a person types: case and spaces of emails, spaces of names", async () => {
            const r = await user.check(ctx, undefined, { ...ada, sourceEmail: "  Ada@Source.EXAMPLE ", firstName: " Ada " });
            assert.deepStrictEqual(r.failures, []);
            assert.strictEqual(r.inputs.sourceEmail, "ada@source.example");
            assert.strictEqual(r.inputs.firstName, "Ada");
        });

        it("unknown values (preview) pass through check untouched, and count as a change in diff", async () => {
            const news = { migrationTag: UNKNOWN, batchName: "Wave 1" };
            const r = await member.check(ctx, undefined, news);
            assert.deepStrictEqual(r.failures, []);
            assert.strictEqual(r.inputs.migrationTag, UNKNOWN);
            const olds = { migrationTag: "11111111-2222-3333-4444-555555555555", batchName: "Wave 1" };
            const d = await member.diff(ctx, olds.migrationTag, olds, checked(r));
            assert.strictEqual(d.changes, true);
            assert.deepStrictEqual(d.replaces, ["migrationTag"]);
            // Dates unknown: the fromDate <= toDate rule waits for the values.
            const s = await settings.check(ctx, undefined, { batchName: UNKNOWN, fromDate: UNKNOWN, toDate: "2001-01-01" });
            assert.deepStrictEqual(s.failures, []);
        });

        it("licensed true -> false is refused; dates must be ISO and ordered; a run needs exactly one target", async () => {
            const lic = await user.check(ctx, { ...ada, licensed: true }, { ...ada, licensed: false });
            assert.deepStrictEqual(lic.failures!.map((f) => f.property), ["licensed"]);
            const d = await settings.check(ctx, undefined, { batchName: "B", fromDate: "05/01/2015" });
            assert.match(d.failures![0].reason, /BatchGlobalSettings\.fromDate: must be a valid ISO date/);
            const o = await settings.check(ctx, undefined, { batchName: "B", fromDate: "2015-02-01", toDate: "2015-01-01" });
            assert.match(o.failures![0].reason, /is after toDate/);
            const both = await run.check(ctx, undefined, { batchName: "B", migrationTag: "x", action: "migrate", trigger: "1" });
            assert.match(both.failures![0].reason, /exactly one of batchName/);
            const neither = await run.check(ctx, undefined, { action: "migrate", trigger: "1" });
            assert.match(neither.failures![0].reason, /exactly one of batchName/);
        });
    });

    describe("diff", () => {
        it("only the properties that changed; replaces only where the API cannot update", async () => {
            const same = await user.diff(ctx, "t", held({ ...ada, migrationTag: "t", status: "SUCCESS" }), { ...ada });
            assert.strictEqual(same.changes, false);
            const d = await user.diff(ctx, "t", held({ ...ada }), { ...ada, lastName: "King" });
            assert.strictEqual(d.changes, true);
            assert.deepStrictEqual(d.replaces, []);
            assert.ok(d.stables!.includes("migrationTag"), "an in-place update keeps the tag known during preview");
            assert.deepStrictEqual((await user.diff(ctx, "t", held({ ...ada }), { ...ada, kind: "archive" })).replaces, ["kind"]);
            assert.deepStrictEqual((await batch.diff(ctx, "B", { name: "B" }, { name: "C" })).replaces, ["name"]);
            const move = await member.diff(ctx, "t", { migrationTag: "t", batchName: "A" }, { migrationTag: "t", batchName: "B" });
            assert.deepStrictEqual([move.changes, move.replaces], [true, []]);
            assert.deepStrictEqual((await member.diff(ctx, "t", { migrationTag: "t", batchName: "A" }, { migrationTag: "t", batchName: "A", kind: "archive" })).replaces, ["kind"]);
            const retrigger = await run.diff(ctx, "r", held({ batchName: "A", action: "migrate", trigger: "1" }), { batchName: "A", action: "migrate", trigger: "2" });
            assert.deepStrictEqual([retrigger.changes, retrigger.replaces], [true, []]);
        });
    });

    describe("read and delete of what is gone", () => {
        it("read of a missing object returns no id; delete of a missing object succeeds", async () => {
            const ghost = "11111111-2222-3333-4444-555555555555";
            assert.strictEqual((await user.read(ctx, ghost, held({ ...ada }))).id, undefined);
            assert.strictEqual((await batch.read(ctx, "No Such Wave", { name: "No Such Wave" })).id, undefined);
            assert.strictEqual((await member.read(ctx, ghost, { migrationTag: ghost, batchName: "No Such Wave" })).id, undefined);
            assert.strictEqual((await settings.read(ctx, "No Such Wave", { batchName: "No Such Wave" })).id, undefined);
            await emuResetStats(emu.baseUrl);
            await user.delete(ctx, ghost, held({ ...ada }));
            await batch.delete(ctx, "No Such Wave", { name: "No Such Wave" });
            await member.delete(ctx, ghost, { migrationTag: ghost, batchName: "No Such Wave" });
            await settings.delete(ctx, "No Such Wave", { batchName: "No Such Wave" });
            await run.delete(ctx, "r", held({ batchName: "No Such Wave", action: "migrate", trigger: "1" }));
            assert.strictEqual((await emuStats(emu.baseUrl)).byCall["POST /mailusers/create"] ?? 0, 0);
        });
    });

    describe("create, read, update, delete", () => {
        it("MailUser: create finds the tag; read of an untouched user equals its declaration; update in place", async () => {
            const c = await user.create(ctx, { ...ada });
            assert.match(c.id, /^[0-9a-f-]{36}$/);
            assert.strictEqual(c.outs.status, "NOTSTARTED");
            const r = await user.read(ctx, c.id, c.outs);
            assert.strictEqual(r.id, c.id);
            assert.strictEqual((await user.diff(ctx, c.id, present(r.props), present(r.inputs))).changes, false, "refresh then preview: no phantom diff");
            const u = await user.update(ctx, c.id, c.outs, { ...ada, lastName: "King" });
            assert.strictEqual(u.outs.lastName, "King");
            assert.strictEqual((await client.getUser("mail", c.id))!.lastName, "King");
            await user.delete(ctx, c.id, u.outs);
            assert.strictEqual(await client.getMigrationTag("mail", ada.sourceEmail, ada.targetEmail), undefined);
        });

        it("MailUser: an existing user is refused without adopt (named, with how to adopt) and adopted with it", async () => {
            const { migrationTag } = await client.createUser("mail", { ...ada, firstName: "Old", sourceConnectorName: "Zimbra" });
            await assert.rejects(user.create(ctx, { ...ada }), (e: Error) => {
                assert.match(e.message, new RegExp(migrationTag));
                assert.match(e.message, /adopt: true/);
                assert.match(e.message, /cloudiway:adoptExisting/);
                return true;
            });
            const c = await user.create(ctx, { ...ada, adopt: true });
            assert.strictEqual(c.id, migrationTag);
            assert.strictEqual((await client.getUser("mail", migrationTag))!.firstName, "Ada", "adoption brings the user to its declaration");
            const all = await client.getAllUsers("mail");
            assert.strictEqual(all.length, 1);
            assert.strictEqual(all[0].sourceConnectorName, "Gmail", "the connector too (2.3 does not show it; getall does)");
        });

        it("MailBatch: delete of a batch that still has users fails and names them; nothing is removed", async () => {
            await batch.create(ctx, { name: "Wave 1" });
            const { migrationTag } = await client.createUser("mail", ada);
            await client.addToBatch("mail", migrationTag, "Wave 1");
            ctx.cache.clear();
            await assert.rejects(batch.delete(ctx, "Wave 1", { name: "Wave 1" }),
                (e: Error) => /still has 1 user\(s\).*ada@source\.example/.test(e.message));
            assert.deepStrictEqual(await client.listBatches("mail"), ["Wave 1"]);
            assert.deepStrictEqual(await client.getUsersInBatch("mail", "Wave 1"), [migrationTag]);
        });

        it("BatchMembership: a move works whichever order the engine runs the old delete and the new create", async () => {
            await batch.create(ctx, { name: "A" });
            await batch.create(ctx, { name: "B" });
            const { id: tag } = await user.create(ctx, { ...ada });
            await member.create(ctx, { migrationTag: tag, batchName: "A" });
            // New membership first (the user is still in A), then the old one's delete.
            await member.create(ctx, { migrationTag: tag, batchName: "B" });
            await member.delete(ctx, tag, { migrationTag: tag, batchName: "A" });
            assert.deepStrictEqual(await client.getUsersInBatch("mail", "B"), [tag]);
            // And the other order: delete first, then create.
            await member.delete(ctx, tag, { migrationTag: tag, batchName: "B" });
            await member.create(ctx, { migrationTag: tag, batchName: "A" });
            assert.deepStrictEqual(await client.getUsersInBatch("mail", "A"), [tag]);
            assert.deepStrictEqual(await client.getUsersInBatch("mail", "B"), []);
        });

        it("BatchGlobalSettings: ISO dates in, the API's MM/dd/yyyy and yyyy-MM-ddT00:00:00 never show as a change", async () => {
            await batch.create(ctx, { name: "W" });
            const chk = await settings.check(ctx, undefined, { batchName: "W", fromDate: "2015-01-05", toDate: "2016-12-31", shouldMigrateTrash: true });
            const c = await settings.create(ctx, checked(chk));
            const r = await settings.read(ctx, c.id, c.outs);
            assert.strictEqual(r.inputs!.fromDate, "2015-01-05");
            assert.strictEqual((await settings.diff(ctx, c.id, c.outs, checked(await settings.check(ctx, c.outs, present(r.inputs))))).changes, false);
            const raw = await fetch(`${emu.url}/mailusers/getmailglobalsettingsbybatch?batchName=W&consumerKey=${KEY}&consumerSecret=${SECRET}`);
            assert.strictEqual(((await raw.json()) as any).response.fromDate, "2015-01-05T00:00:00");
        });
    });

    describe("functions", () => {
        before(() => {
            pulumi.runtime.setConfig("cloudiway:apiUrl", emu.url);
            pulumi.runtime.setConfig("cloudiway:consumerKey", KEY);
            pulumi.runtime.setConfig("cloudiway:consumerSecret", SECRET);
        });

        it("each function answers typed values from the API, for each kind", async () => {
            await client.createBatch("mail", "Wave F");
            const { migrationTag } = await client.createUser("mail", ada);
            await client.addToBatch("mail", migrationTag, "Wave F");
            await client.createBatch("archive", "Archive F");
            assert.deepStrictEqual(await fns.getBatches(), ["Wave F"]);
            assert.deepStrictEqual(await fns.getBatches({ kind: "archive" }), ["Archive F"]);
            assert.deepStrictEqual(await fns.getUsersInBatch("Wave F"), [migrationTag]);
            assert.strictEqual(await fns.getMigrationTag(ada.sourceEmail, ada.targetEmail), migrationTag);
            assert.strictEqual((await fns.getMailUser(migrationTag))!.lastName, "Lovelace");
            assert.strictEqual(await fns.getMigrationStatus(migrationTag), "NOTSTARTED");
            assert.deepStrictEqual(await fns.getMailHistory(migrationTag), []);
            assert.ok((await fns.getSourceConnectors()).some((c) => c.name === "Gmail" && typeof c.type === "string"));
            assert.ok((await fns.getTargetConnectors()).length > 0);
            const s = await fns.getBatchGlobalSettings("Wave F");
            assert.strictEqual(typeof s.shouldMigrateMails, "boolean");
            // Usable as outputs in a program.
            const status = await new Promise((resolve) => pulumi.output(fns.getMigrationStatus(migrationTag)).apply(resolve));
            assert.strictEqual(status, "NOTSTARTED");
        });
    });
});
