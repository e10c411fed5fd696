/**
 * The four resources under the real Pulumi engine, against the emulator, as
 * terraform-plugin-testing runs a lifecycle: create, empty preview (0 API calls),
 * empty refresh, each input changed in turn, drift, deletion behind the stack's
 * back, destroy. Plus adoption, moves between batches, bad input, secrecy.
 */
import * as assert from "assert";
import { startEmulator } from "../emulator";
import { CloudiwayClient } from "../provider/client";
import { TestStack, changes, skipEngineTests } from "./helpers/engine";
import { batchesOf, emuResetStats, emuState, emuStats, usersOf } from "./helpers/emu";

const SECRET = "Engine-S3cret-4242-zz";
const KEY = "engine-key";

type Emu = Awaited<ReturnType<typeof startEmulator>>;

describe("@engine resources under the real Pulumi CLI", function () {
    this.timeout(20 * 60 * 1000);
    let emu: Emu;
    let stack: TestStack;
    let client: CloudiwayClient;
    const outputsSeen: string[] = [];

    before(async function () {
        if (skipEngineTests()) {
            console.warn("ENGINE TESTS SKIPPED: CLOUDIWAY_SKIP_ENGINE_TESTS=1");
            this.skip();
        }
        emu = await startEmulator({ port: 0, consumerKey: KEY, consumerSecret: SECRET, transitionMs: 0, quiet: true });
        client = new CloudiwayClient({ apiUrl: emu.url, consumerKey: KEY, consumerSecret: SECRET });
    });
    after(async () => {
        await client?.close?.();
        await emu?.close();
    });
    afterEach(async function () {
        if (stack) {
            outputsSeen.push(...stack.log);
            if (this.currentTest?.state === "failed") console.log(stack.log.slice(-3).join("\n"));
            await stack.destroy().catch(() => undefined);
            await stack.dispose();
        }
    });

    async function newStack(name: string, config?: Record<string, string>): Promise<TestStack> {
        await fetch(`${emu.baseUrl}/_emulator/reset`, { method: "POST" });
        stack = await TestStack.create({ name, apiUrl: emu.url, consumerKey: KEY, consumerSecret: SECRET, config });
        return stack;
    }

    async function expectEmptyPreview(what: string, resourceName?: string) {
        await emuResetStats(emu.baseUrl);
        const p = await stack.preview();
        assert.deepStrictEqual(changes(p.steps), [], `${what}: preview should show no changes`);
        const stats = await emuStats(emu.baseUrl);
        assert.strictEqual(stats.total, 0, `${what}: preview of an unchanged stack made API calls: ${JSON.stringify(stats.byCall)}${resourceName ? ` (${resourceName})` : ""}`);
    }

    async function expectEmptyRefresh(what: string) {
        const r = await stack.refresh();
        const changed = Object.entries(r.counts).filter(([op, n]) => op !== "same" && n > 0);
        assert.deepStrictEqual(changed, [], `${what}: refresh should record no changes`);
    }

    async function expectOnly(op: string, name: string, what: string) {
        const p = await stack.preview();
        assert.deepStrictEqual(changes(p.steps).map((c) => [c.op, c.name]), [[op, name]], `${what}: preview`);
    }

    const user = (over: Record<string, unknown> = {}) => ({
        firstName: "Ada", lastName: "Lovelace", sourceEmail: "ada@source.example", targetEmail: "ada@target.example",
        sourceConnectorName: "Gmail", targetConnectorName: "Office 365", ...over,
    });

    it("MailUser: lifecycle", async () => {
        await newStack("user");
        let args: Record<string, unknown> = user();
        const spec = () => ({ resources: [{ type: "MailUser", name: "ada", args }] });
        stack.setSpec(spec());
        await stack.up();
        let users = usersOf(await emuState(emu.baseUrl));
        assert.strictEqual(users.length, 1);
        assert.strictEqual(users[0].firstName, "Ada");
        assert.strictEqual(users[0].sourceConnectorName, "Gmail");
        const tag = users[0].migrationTag;

        await expectEmptyPreview("after create");
        await expectEmptyRefresh("after create");
        await expectEmptyPreview("after refresh");

        // Each input in turn.
        const steps: [string, unknown, string][] = [
            ["firstName", "Augusta", "update"],
            ["lastName", "King", "update"],
            ["sourceEmail", "augusta@source.example", "update"],
            ["targetEmail", "augusta@target.example", "update"],
            ["sourceConnectorName", "Zimbra", "update"],
            ["targetConnectorName", "Exchange Online", "update"],
            ["licensed", true, "update"],
        ];
        for (const [prop, value, op] of steps) {
            args = { ...args, [prop]: value };
            stack.setSpec(spec());
            await expectOnly(op, "ada", `change ${prop}`);
            await stack.up();
            users = usersOf(await emuState(emu.baseUrl));
            assert.strictEqual(users.length, 1, `change ${prop}: still one user`);
            assert.strictEqual(users[0].migrationTag, tag, `change ${prop}: updated in place`);
            if (prop === "licensed") assert.strictEqual(users[0].licensed, true);
            else assert.strictEqual(users[0][prop], value, `change ${prop}: emulator has it`);
            await expectEmptyPreview(`after change ${prop}`);
        }

        // Casing and whitespace the API may give back do not show as a change.
        args = { ...args, sourceEmail: "  Augusta@Source.Example ", firstName: " Augusta " };
        stack.setSpec(spec());
        await expectEmptyPreview("same values, other spelling");

        // Drift: changed behind the stack's back.
        await client.updateUser("mail", tag, {
            firstName: "Drifted", lastName: "King", sourceEmail: "augusta@source.example", targetEmail: "augusta@target.example",
            sourceConnectorName: "Zimbra", targetConnectorName: "Exchange Online",
        });
        const refreshed = await stack.refresh();
        assert.strictEqual(refreshed.counts.update, 1, "refresh records the drift");
        assert.strictEqual((await stack.resources()).get("ada").outputs.firstName, "Drifted");
        const p = await stack.preview();
        assert.deepStrictEqual(changes(p.steps).map((c) => [c.op, c.name]), [["update", "ada"]]);
        await stack.up();
        assert.strictEqual(usersOf(await emuState(emu.baseUrl))[0].firstName, "Augusta");
        await expectEmptyPreview("after restoring drift");

        // Deleted behind the stack's back.
        await client.deleteUser("mail", tag);
        await stack.refresh();
        assert.ok(!(await stack.resources()).has("ada"), "refresh drops the deleted user");
        await stack.up();
        users = usersOf(await emuState(emu.baseUrl));
        assert.strictEqual(users.length, 1, "up creates it again");
        await expectEmptyPreview("after re-create");

        // kind: another API family, so a replacement.
        args = { ...args, kind: "archive" };
        stack.setSpec(spec());
        await expectOnly("replace", "ada", "change kind");
        await stack.up();
        const st = await emuState(emu.baseUrl);
        assert.strictEqual(usersOf(st, "mail").length, 0);
        assert.strictEqual(usersOf(st, "archive").length, 1);
        await expectEmptyPreview("after kind change");

        await stack.destroy();
        const after = await emuState(emu.baseUrl);
        assert.strictEqual(usersOf(after, "mail").length + usersOf(after, "archive").length, 0, "destroy leaves no user");
    });

    it("MailBatch: lifecycle", async () => {
        await newStack("batch");
        let name = "Wave 1";
        const spec = () => ({ resources: [{ type: "MailBatch", name: "w1", args: { name } }] });
        stack.setSpec(spec());
        await stack.up();
        assert.deepStrictEqual(batchesOf(await emuState(emu.baseUrl)).map((b: any) => b.name), ["Wave 1"]);
        await expectEmptyPreview("after create");
        await expectEmptyRefresh("after create");

        name = "Wave One";
        stack.setSpec(spec());
        await expectOnly("replace", "w1", "rename");
        await stack.up();
        assert.deepStrictEqual(batchesOf(await emuState(emu.baseUrl)).map((b: any) => b.name), ["Wave One"]);
        await expectEmptyPreview("after rename");

        await client.deleteBatch("mail", "Wave One");
        await stack.refresh();
        assert.ok(!(await stack.resources()).has("w1"));
        await stack.up();
        assert.deepStrictEqual(batchesOf(await emuState(emu.baseUrl)).map((b: any) => b.name), ["Wave One"]);
        await expectEmptyPreview("after re-create");

        await stack.destroy();
        assert.strictEqual(batchesOf(await emuState(emu.baseUrl)).length, 0);
    });

    it("BatchMembership: lifecycle, drift, and a move between batches in one up", async () => {
        await newStack("membership");
        let batchOf = { ada: "w1", bob: "w1" } as Record<string, string>;
        const spec = () => ({
            resources: [
                { type: "MailBatch", name: "w1", args: { name: "Wave 1" } },
                { type: "MailBatch", name: "w2", args: { name: "Wave 2" } },
                { type: "MailUser", name: "ada", args: user() },
                { type: "MailUser", name: "bob", args: user({ firstName: "Bob", sourceEmail: "bob@source.example", targetEmail: "bob@target.example" }) },
                { type: "BatchMembership", name: "ada-m", args: { migrationTag: { $out: "ada.migrationTag" }, batchName: { $out: `${batchOf.ada}.name` } } },
                { type: "BatchMembership", name: "bob-m", args: { migrationTag: { $out: "bob.migrationTag" }, batchName: { $out: `${batchOf.bob}.name` } } },
            ],
        });
        stack.setSpec(spec());
        await stack.up();
        const where = async () => {
            const st = await emuState(emu.baseUrl);
            const out: Record<string, string | null> = {};
            for (const u of usersOf(st)) out[u.firstName] = u.batchName ?? null;
            return out;
        };
        assert.deepStrictEqual(await where(), { Ada: "Wave 1", Bob: "Wave 1" });
        await expectEmptyPreview("after create");
        await expectEmptyRefresh("after create");

        // Move Ada to Wave 2: one membership update.
        batchOf = { ...batchOf, ada: "w2" };
        stack.setSpec(spec());
        await expectOnly("update", "ada-m", "move");
        await stack.up();
        assert.deepStrictEqual(await where(), { Ada: "Wave 2", Bob: "Wave 1" });
        await expectEmptyPreview("after move");

        // Moved behind the stack's back: refresh sees it, up puts it back.
        const bobTag = usersOf(await emuState(emu.baseUrl)).find((u: any) => u.firstName === "Bob").migrationTag;
        await client.removeFromBatch("mail", bobTag);
        await client.addToBatch("mail", bobTag, "Wave 2");
        const r = await stack.refresh();
        assert.strictEqual(r.counts.update, 1);
        assert.strictEqual((await stack.resources()).get("bob-m").outputs.batchName, "Wave 2");
        await expectOnly("update", "bob-m", "drifted membership");
        await stack.up();
        assert.deepStrictEqual(await where(), { Ada: "Wave 2", Bob: "Wave 1" });

        // Removed behind the stack's back.
        await client.removeFromBatch("mail", bobTag);
        await stack.refresh();
        assert.ok(!(await stack.resources()).has("bob-m"));
        await stack.up();
        assert.deepStrictEqual(await where(), { Ada: "Wave 2", Bob: "Wave 1" });
        await expectEmptyPreview("after re-adding");

        // A move expressed as two membership resources (delete one, create another) in one up.
        const twoResources = {
            resources: [
                ...spec().resources.filter((r) => r.name !== "bob-m"),
                { type: "BatchMembership", name: "bob-in-w2", args: { migrationTag: { $out: "bob.migrationTag" }, batchName: { $out: "w2.name" } } },
            ],
        };
        stack.setSpec(twoResources);
        await stack.up();
        assert.deepStrictEqual(await where(), { Ada: "Wave 2", Bob: "Wave 2" });
        await expectEmptyPreview("after move by two resources");

        await stack.destroy();
        const st = await emuState(emu.baseUrl);
        assert.strictEqual(usersOf(st).length, 0);
        assert.strictEqual(batchesOf(st).length, 0);
    });

    it("BatchGlobalSettings: lifecycle with ISO dates", async () => {
        await newStack("settings");
        let settings: Record<string, unknown> = {
            batchName: { $out: "w1.name" }, shouldMigrateMails: true, shouldMigrateTrash: false, fromDate: "2015-01-05", toDate: "2017-01-05",
        };
        const spec = () => ({
            resources: [
                { type: "MailBatch", name: "w1", args: { name: "Wave 1" } },
                { type: "BatchGlobalSettings", name: "w1-settings", args: settings },
            ],
        });
        stack.setSpec(spec());
        await stack.up();
        const read = async () => batchesOf(await emuState(emu.baseUrl))[0].settings;
        let s = await read();
        assert.strictEqual(s.shouldMigrateMails, true);
        assert.match(String(s.fromDate), /^2015-01-05/);
        await expectEmptyPreview("after create");
        await expectEmptyRefresh("after create");
        await expectEmptyPreview("after refresh");

        const flags = ["shouldMigrateMails", "shouldMigrateTrash", "shouldMigrateCalendars", "shouldMigrateContacts", "shouldMigrateTasks",
            "shouldMigrateNotes", "shouldMigrateJournals", "shouldConvertEmailAddresses", "shouldConvertX500"];
        for (const f of flags) {
            const current = (await stack.resources()).get("w1-settings").outputs[f];
            settings = { ...settings, [f]: !current };
            stack.setSpec(spec());
            await expectOnly("update", "w1-settings", `flip ${f}`);
            await stack.up();
            assert.strictEqual((await read())[f], !current, `${f} applied`);
            await expectEmptyPreview(`after ${f}`);
        }
        for (const [f, v] of [["fromDate", "2016-02-29"], ["toDate", "2018-12-31"]] as const) {
            settings = { ...settings, [f]: v };
            stack.setSpec(spec());
            await expectOnly("update", "w1-settings", `change ${f}`);
            await stack.up();
            assert.match(String((await read())[f]), new RegExp(`^${v}`));
            await expectEmptyPreview(`after ${f}`);
        }

        // Drift.
        await client.setGlobalSettings("mail", "Wave 1", {
            shouldMigrateMails: true, shouldMigrateTrash: true, shouldMigrateCalendars: true, shouldMigrateContacts: true,
            shouldMigrateTasks: true, shouldMigrateNotes: true, shouldMigrateJournals: true, shouldConvertEmailAddresses: true,
            shouldConvertX500: true, fromDate: "2010-01-01", toDate: "2018-12-31",
        });
        const r = await stack.refresh();
        assert.strictEqual(r.counts.update, 1);
        await expectOnly("update", "w1-settings", "drifted settings");
        await stack.up();
        s = await read();
        assert.match(String(s.fromDate), /^2016-02-29/);
        await expectEmptyPreview("after restoring");

        // The batch deleted behind our back takes its settings with it.
        await client.deleteBatch("mail", "Wave 1");
        await stack.refresh();
        const left = await stack.resources();
        assert.ok(!left.has("w1-settings") && !left.has("w1"));
        await stack.up();
        assert.match(String((await read()).fromDate), /^2016-02-29/);
        await expectEmptyPreview("after re-create");

        await stack.destroy();
        assert.strictEqual(batchesOf(await emuState(emu.baseUrl)).length, 0);
    });

    it("adoption of existing users and batches, with and without adopt", async () => {
        await newStack("adopt");
        await client.createBatch("mail", "Existing Wave");
        const { migrationTag } = await client.createUser("mail", {
            firstName: "Grace", lastName: "Hopper", sourceEmail: "grace@source.example", targetEmail: "grace@target.example",
            sourceConnectorName: "Gmail", targetConnectorName: "Office 365",
        });
        const decl = (adopt?: boolean) => ({
            resources: [
                { type: "MailBatch", name: "wave", args: { name: "Existing Wave", ...(adopt === undefined ? {} : { adopt }) } },
                { type: "MailUser", name: "grace", args: user({ firstName: "Grace", lastName: "Hopper", sourceEmail: "grace@source.example", targetEmail: "grace@target.example", ...(adopt === undefined ? {} : { adopt }) }) },
            ],
        });
        stack.setSpec(decl());
        await emuResetStats(emu.baseUrl);
        const failed = await stack.cli(["up", "--yes", "--skip-preview"], true);
        assert.notStrictEqual(failed.code, 0, "up without adopt fails");
        const text = failed.stdout + failed.stderr;
        assert.match(text, /already exists/);
        assert.match(text, /adopt: true/);
        assert.match(text, /MailUser grace@source\.example -> grace@target\.example: a Cloudiway mail user with this source and target already exists/);
        assert.match(text, new RegExp(migrationTag), "the error names the existing user's tag");
        assert.strictEqual((await emuStats(emu.baseUrl)).byCall["POST /mailusers/create"] ?? 0, 0);

        stack.setSpec(decl(true));
        await stack.up();
        const st = await emuState(emu.baseUrl);
        assert.strictEqual(usersOf(st).length, 1, "adopted, not duplicated");
        assert.strictEqual((await stack.resources()).get("grace").id, migrationTag);
        await expectEmptyPreview("after adoption");
        await stack.cli(["state", "delete", "--yes", (await stack.resources()).get("grace").urn]);
        await stack.cli(["state", "delete", "--yes", (await stack.resources()).get("wave").urn]);

        // The stack-wide default instead of the input.
        await stack.cli(["config", "set", "cloudiway:adoptExisting", "true"]);
        stack.setSpec(decl());
        await stack.up();
        assert.strictEqual(usersOf(await emuState(emu.baseUrl)).length, 1);
        assert.strictEqual((await stack.resources()).get("grace").id, migrationTag);
    });

    it("bad input fails preview naming resource and property; nothing is applied", async () => {
        await newStack("bad");
        const cases: [string, any, RegExp[]][] = [
            ["broken", { type: "MailUser", name: "broken", args: user({ sourceEmail: "not-an-email", firstName: "  " }) },
                [/MailUser\.sourceEmail: must be an email address/, /MailUser\.firstName: must not be empty/]],
            ["bad-dates", { type: "BatchGlobalSettings", name: "bad-dates", args: { batchName: "Fine", fromDate: "2020-02-30", toDate: "2019-01-01" } },
                [/BatchGlobalSettings\.fromDate: must be a valid ISO date/]],
            ["reversed-dates", { type: "BatchGlobalSettings", name: "reversed-dates", args: { batchName: "Fine", fromDate: "2020-02-01", toDate: "2019-01-01" } },
                [/BatchGlobalSettings\.fromDate: 2020-02-01 is after toDate 2019-01-01/]],
            ["bad-connector", { type: "MailUser", name: "bad-connector", args: user({ sourceEmail: "c@source.example", sourceConnectorName: "Gmial" }) },
                [/MailUser\.sourceConnectorName: "Gmial" is not a source connector.*did you mean "Gmail"/]],
            ["bad-tag", { type: "BatchMembership", name: "bad-tag", args: { migrationTag: "nope", batchName: "Fine" } },
                [/BatchMembership\.migrationTag: must be a migration tag/]],
            ["bad-run", { type: "MigrationRun", name: "bad-run", args: { migrationTag: "11111111-2222-3333-4444-555555555555", action: "permissions", trigger: "1" } },
                [/MigrationRun\.action: "permissions" runs on a batch only/]],
            ["typo", { type: "MailBatch", name: "typo", args: { name: "X", adpot: true } },
                [/adpot/]],
        ];
        for (const [name, bad, patterns] of cases) {
            stack.setSpec({ resources: [{ type: "MailBatch", name: "ok-batch", args: { name: "Fine" } }, bad] });
            await emuResetStats(emu.baseUrl);
            const r = await stack.cli(["preview"], true);
            assert.notStrictEqual(r.code, 0, `${name}: preview fails`);
            const text = r.stdout + r.stderr;
            assert.match(text, new RegExp(`resource '${name}'`), `${name}: the resource is named`);
            for (const re of patterns) assert.match(text, re, name);
            const up = await stack.cli(["up", "--yes"], true);
            assert.notStrictEqual(up.code, 0);
            const stats = await emuStats(emu.baseUrl);
            assert.strictEqual(stats.mutating, 0, `${name}: nothing applied: ${JSON.stringify(stats.byCall)}`);
            const st = await emuState(emu.baseUrl);
            assert.strictEqual(usersOf(st).length + batchesOf(st).length, 0);
        }

        // licensed: true -> false is refused at preview, with no call made.
        stack.setSpec({ resources: [{ type: "MailUser", name: "lic", args: user({ licensed: true }) }] });
        await stack.up();
        stack.setSpec({ resources: [{ type: "MailUser", name: "lic", args: user({ licensed: false }) }] });
        await emuResetStats(emu.baseUrl);
        const lic = await stack.cli(["preview"], true);
        assert.notStrictEqual(lic.code, 0);
        assert.match(lic.stdout + lic.stderr, /MailUser\.licensed: a Cloudiway license cannot be taken back/);
        assert.strictEqual((await emuStats(emu.baseUrl)).total, 0);
    });

    it("secret nowhere in state, logs or output; __provider small and shared", async () => {
        const spec = {
            resources: [
                { type: "MailBatch", name: "w", args: { name: "S" } },
                { type: "MailUser", name: "u", args: user() },
                { type: "BatchMembership", name: "m", args: { migrationTag: { $out: "u.migrationTag" }, batchName: { $out: "w.name" } } },
                { type: "BatchGlobalSettings", name: "s", args: { batchName: { $out: "w.name" } } },
            ],
        };
        // 1. The secret as stack config (encrypted): state, output and logs at the default verbosity.
        await newStack("secret");
        stack.setSpec(spec);
        await stack.up();
        await stack.refresh();
        await stack.preview();
        assert.ok(!stack.log.join("\n").includes(SECRET), "secret in the output of pulumi");
        assert.ok(!JSON.stringify(await stack.exportState()).includes(SECRET), "secret in stack export");
        // With --show-secrets, the only place is Pulumi's own record of the stack config given to the
        // default pulumi-nodejs provider (encrypted in state, like Pulumi.<stack>.yaml): never a resource.
        const shown = JSON.parse((await stack.cli(["stack", "export", "--show-secrets"])).stdout);
        for (const r of shown.deployment.resources) {
            if (String(r.type).startsWith("pulumi:providers:")) continue;
            assert.ok(!JSON.stringify(r).includes(SECRET), `secret in the state of ${r.urn}`);
        }
        await stack.destroy();
        await stack.dispose();

        // 2. The secret from the environment: not even the engine's most verbose logs or a decrypted export have it.
        await fetch(`${emu.baseUrl}/_emulator/reset`, { method: "POST" });
        stack = await TestStack.create({ name: "secret-env", apiUrl: emu.url, consumerKey: KEY, consumerSecret: SECRET, credentialsFromEnv: true });
        stack.setSpec(spec);
        await stack.up(["--logtostderr", "-v=9"]);
        await stack.refresh(["--logtostderr", "-v=9"]);
        assert.ok(!(stack.log.join("\n") + outputsSeen.join("\n")).includes(SECRET), "secret in engine logs / output");
        assert.ok(!(await stack.cli(["stack", "export", "--show-secrets"])).stdout.includes(SECRET), "secret in the decrypted state");
        stack.log.length = 0; // that export is decrypted on purpose

        const resources = await stack.resources();
        const providers = new Map<string, number>();
        for (const [name, r] of resources) {
            const p = r.inputs.__provider as string;
            assert.strictEqual(r.outputs.__provider, p, `${name}: same provider in inputs and outputs`);
            providers.set(r.type, Buffer.byteLength(p));
        }
        for (const [type, bytes] of providers) {
            console.log(`      serialized __provider of ${type}: ${bytes} bytes`);
            assert.ok(bytes < 1024, `${type} __provider is ${bytes} bytes (limit 1 KB)`);
        }
    });
});
