/**
 * The resource lifecycle under the real Pulumi engine, as terraform-plugin-testing
 * runs one, for either API family (`kind` "mail": /mailusers, "archive":
 * /archivemailusers): create (the emulator has it, in that family only), empty
 * preview (0 API calls), empty refresh, each input changed in turn (exactly that
 * update/replace, applied, then an empty preview), drift brought in by refresh and
 * restored by up, deletion behind the stack's back (refresh drops it, up recreates
 * it), destroy. `EngineFixture` is the emulator + stack + assertions every engine
 * test file shares.
 */
import * as assert from "assert";
import { startEmulator } from "../../emulator";
import { CloudiwayClient } from "../../provider/client";
import { TestStack, changes, skipIfEngineOptedOut } from "./engine";
import { batchesOf, emuResetStats, emuState, emuStats, usersOf } from "./emu";

export type Kind = "mail" | "archive";
type Emu = Awaited<ReturnType<typeof startEmulator>>;

export class EngineFixture {
    emu!: Emu;
    client!: CloudiwayClient;
    stack: TestStack | undefined;
    /** Every line pulumi printed in this file's tests (for secret scans). */
    readonly outputsSeen: string[] = [];

    constructor(readonly key: string, readonly secret: string) {}

    /** Registers before/after/afterEach on the current mocha suite. */
    hooks(): void {
        // eslint-disable-next-line @typescript-eslint/no-this-alias
        const fx = this;
        before(async function () {
            skipIfEngineOptedOut(this);
            fx.emu = await startEmulator({ port: 0, consumerKey: fx.key, consumerSecret: fx.secret, transitionMs: 0, quiet: true });
            fx.client = new CloudiwayClient({ apiUrl: fx.emu.url, consumerKey: fx.key, consumerSecret: fx.secret });
        });
        after(async () => {
            await fx.client?.close?.();
            await fx.emu?.close();
        });
        afterEach(async function () {
            const stack = fx.stack;
            if (!stack) return;
            fx.stack = undefined;
            fx.outputsSeen.push(...stack.log);
            if (this.currentTest?.state === "failed") console.log(stack.log.slice(-3).join("\n"));
            await stack.destroy().catch(() => undefined);
            await stack.dispose();
        });
    }

    get s(): TestStack {
        if (!this.stack) throw new Error("no stack: call newStack first");
        return this.stack;
    }

    async newStack(name: string, config?: Record<string, string>): Promise<TestStack> {
        await fetch(`${this.emu.baseUrl}/_emulator/reset`, { method: "POST" });
        this.stack = await TestStack.create({ name, apiUrl: this.emu.url, consumerKey: this.key, consumerSecret: this.secret, config });
        return this.stack;
    }

    state(): Promise<any> { return emuState(this.emu.baseUrl); }

    async expectEmptyPreview(what: string, resourceName?: string): Promise<void> {
        await emuResetStats(this.emu.baseUrl);
        const p = await this.s.preview();
        assert.deepStrictEqual(changes(p.steps), [], `${what}: preview should show no changes`);
        const stats = await emuStats(this.emu.baseUrl);
        assert.strictEqual(stats.total, 0, `${what}: preview of an unchanged stack made API calls: ${JSON.stringify(stats.byCall)}${resourceName ? ` (${resourceName})` : ""}`);
    }

    async expectEmptyRefresh(what: string): Promise<void> {
        const r = await this.s.refresh();
        const changed = Object.entries(r.counts).filter(([op, n]) => op !== "same" && n > 0);
        assert.deepStrictEqual(changed, [], `${what}: refresh should record no changes`);
    }

    async expectOnly(op: string, name: string, what: string): Promise<void> {
        const p = await this.s.preview();
        assert.deepStrictEqual(changes(p.steps).map((c) => [c.op, c.name]), [[op, name]], `${what}: preview`);
    }
}

export const userArgs = (over: Record<string, unknown> = {}) => ({
    firstName: "Ada", lastName: "Lovelace", sourceEmail: "ada@source.example", targetEmail: "ada@target.example",
    sourceConnectorName: "Gmail", targetConnectorName: "Office 365", ...over,
});

/** The lifecycle tests of MailUser, MailBatch, BatchMembership and BatchGlobalSettings in one family. */
export function defineLifecycleTests(fx: EngineFixture, kind: Kind): void {
    const other: Kind = kind === "mail" ? "archive" : "mail";
    /** `kind` as a program declares it: the mail family is the default and is left out. */
    const k: Record<string, unknown> = kind === "mail" ? {} : { kind };
    const users = async (f: Kind = kind) => usersOf(await fx.state(), f);
    const batches = async (f: Kind = kind) => batchesOf(await fx.state(), f);
    const label = kind === "mail" ? "" : ` (${kind})`;

    it(`MailUser: lifecycle${label}`, async () => {
        const stack = await fx.newStack(`user-${kind}`);
        let args: Record<string, unknown> = userArgs(k);
        const spec = () => ({ resources: [{ type: "MailUser", name: "ada", args }] });
        stack.setSpec(spec());
        await stack.up();
        let list = await users();
        assert.strictEqual(list.length, 1);
        assert.strictEqual(list[0].firstName, "Ada");
        assert.strictEqual(list[0].sourceConnectorName, "Gmail");
        assert.strictEqual((await users(other)).length, 0, `only in the ${kind} family`);
        const tag = list[0].migrationTag;

        await fx.expectEmptyPreview("after create");
        await fx.expectEmptyRefresh("after create");
        await fx.expectEmptyPreview("after refresh");

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
            await fx.expectOnly(op, "ada", `change ${prop}`);
            await stack.up();
            list = await users();
            assert.strictEqual(list.length, 1, `change ${prop}: still one user`);
            assert.strictEqual(list[0].migrationTag, tag, `change ${prop}: updated in place`);
            if (prop === "licensed") assert.strictEqual(list[0].licensed, true);
            else assert.strictEqual(list[0][prop], value, `change ${prop}: emulator has it`);
            await fx.expectEmptyPreview(`after change ${prop}`);
        }

        // Casing and whitespace the API may give back do not show as a change.
        args = { ...args, sourceEmail: "  Augusta@Source.Example ", firstName: " Augusta " };
        stack.setSpec(spec());
        await fx.expectEmptyPreview("same values, other spelling");

        // Drift: changed behind the stack's back.
        await fx.client.updateUser(kind, tag, {
            firstName: "Drifted", lastName: "King", sourceEmail: "augusta@source.example", targetEmail: "augusta@target.example",
            sourceConnectorName: "Zimbra", targetConnectorName: "Exchange Online",
        });
        const refreshed = await stack.refresh();
        assert.strictEqual(refreshed.counts.update, 1, "refresh records the drift");
        assert.strictEqual((await stack.resources()).get("ada").outputs.firstName, "Drifted");
        const p = await stack.preview();
        assert.deepStrictEqual(changes(p.steps).map((c) => [c.op, c.name]), [["update", "ada"]]);
        await stack.up();
        assert.strictEqual((await users())[0].firstName, "Augusta");
        await fx.expectEmptyPreview("after restoring drift");

        // Deleted behind the stack's back.
        await fx.client.deleteUser(kind, tag);
        await stack.refresh();
        assert.ok(!(await stack.resources()).has("ada"), "refresh drops the deleted user");
        await stack.up();
        assert.strictEqual((await users()).length, 1, "up creates it again");
        await fx.expectEmptyPreview("after re-create");

        // kind: another API family, so a replacement.
        args = { ...args, kind: other };
        stack.setSpec(spec());
        await fx.expectOnly("replace", "ada", "change kind");
        await stack.up();
        assert.strictEqual((await users(kind)).length, 0);
        assert.strictEqual((await users(other)).length, 1);
        await fx.expectEmptyPreview("after kind change");

        await stack.destroy();
        assert.strictEqual((await users("mail")).length + (await users("archive")).length, 0, "destroy leaves no user");
    });

    it(`MailBatch: lifecycle${label}`, async () => {
        const stack = await fx.newStack(`batch-${kind}`);
        let name = "Wave 1";
        let family: Record<string, unknown> = k;
        const spec = () => ({ resources: [{ type: "MailBatch", name: "w1", args: { name, ...family } }] });
        const names = async (f: Kind = kind) => (await batches(f)).map((b: any) => b.name);
        stack.setSpec(spec());
        await stack.up();
        assert.deepStrictEqual(await names(), ["Wave 1"]);
        assert.deepStrictEqual(await names(other), [], `only in the ${kind} family`);
        await fx.expectEmptyPreview("after create");
        await fx.expectEmptyRefresh("after create");

        name = "Wave One";
        stack.setSpec(spec());
        await fx.expectOnly("replace", "w1", "rename");
        await stack.up();
        assert.deepStrictEqual(await names(), ["Wave One"]);
        await fx.expectEmptyPreview("after rename");

        await fx.client.deleteBatch(kind, "Wave One");
        await stack.refresh();
        assert.ok(!(await stack.resources()).has("w1"));
        await stack.up();
        assert.deepStrictEqual(await names(), ["Wave One"]);
        await fx.expectEmptyPreview("after re-create");

        // kind: another API family, so a replacement.
        family = { kind: other };
        stack.setSpec(spec());
        await fx.expectOnly("replace", "w1", "change kind");
        await stack.up();
        assert.deepStrictEqual([await names(kind), await names(other)], [[], ["Wave One"]]);
        await fx.expectEmptyPreview("after kind change");

        await stack.destroy();
        assert.strictEqual((await batches("mail")).length + (await batches("archive")).length, 0);
    });

    it(`BatchMembership: lifecycle, drift, and a move between batches in one up${label}`, async () => {
        const stack = await fx.newStack(`membership-${kind}`);
        let batchOf = { ada: "w1", bob: "w1" } as Record<string, string>;
        const spec = () => ({
            resources: [
                { type: "MailBatch", name: "w1", args: { name: "Wave 1", ...k } },
                { type: "MailBatch", name: "w2", args: { name: "Wave 2", ...k } },
                { type: "MailUser", name: "ada", args: userArgs(k) },
                { type: "MailUser", name: "bob", args: userArgs({ firstName: "Bob", sourceEmail: "bob@source.example", targetEmail: "bob@target.example", ...k }) },
                { type: "BatchMembership", name: "ada-m", args: { migrationTag: { $out: "ada.migrationTag" }, batchName: { $out: `${batchOf.ada}.name` }, ...k } },
                { type: "BatchMembership", name: "bob-m", args: { migrationTag: { $out: "bob.migrationTag" }, batchName: { $out: `${batchOf.bob}.name` }, ...k } },
            ],
        });
        stack.setSpec(spec());
        await stack.up();
        const where = async () => {
            const out: Record<string, string | null> = {};
            for (const u of await users()) out[u.firstName] = u.batchName ?? null;
            return out;
        };
        assert.deepStrictEqual(await where(), { Ada: "Wave 1", Bob: "Wave 1" });
        assert.strictEqual((await users(other)).length + (await batches(other)).length, 0, `only in the ${kind} family`);
        await fx.expectEmptyPreview("after create");
        await fx.expectEmptyRefresh("after create");

        // Move Ada to Wave 2: one membership update.
        batchOf = { ...batchOf, ada: "w2" };
        stack.setSpec(spec());
        await fx.expectOnly("update", "ada-m", "move");
        await stack.up();
        assert.deepStrictEqual(await where(), { Ada: "Wave 2", Bob: "Wave 1" });
        await fx.expectEmptyPreview("after move");

        // Moved behind the stack's back: refresh sees it, up puts it back.
        const bobTag = (await users()).find((u: any) => u.firstName === "Bob").migrationTag;
        await fx.client.removeFromBatch(kind, bobTag);
        await fx.client.addToBatch(kind, bobTag, "Wave 2");
        const r = await stack.refresh();
        assert.strictEqual(r.counts.update, 1);
        assert.strictEqual((await stack.resources()).get("bob-m").outputs.batchName, "Wave 2");
        await fx.expectOnly("update", "bob-m", "drifted membership");
        await stack.up();
        assert.deepStrictEqual(await where(), { Ada: "Wave 2", Bob: "Wave 1" });

        // Removed behind the stack's back.
        await fx.client.removeFromBatch(kind, bobTag);
        await stack.refresh();
        assert.ok(!(await stack.resources()).has("bob-m"));
        await stack.up();
        assert.deepStrictEqual(await where(), { Ada: "Wave 2", Bob: "Wave 1" });
        await fx.expectEmptyPreview("after re-adding");

        // A move expressed as two membership resources (delete one, create another) in one up.
        const twoResources = {
            resources: [
                ...spec().resources.filter((x) => x.name !== "bob-m"),
                { type: "BatchMembership", name: "bob-in-w2", args: { migrationTag: { $out: "bob.migrationTag" }, batchName: { $out: "w2.name" }, ...k } },
            ],
        };
        stack.setSpec(twoResources);
        await stack.up();
        assert.deepStrictEqual(await where(), { Ada: "Wave 2", Bob: "Wave 2" });
        await fx.expectEmptyPreview("after move by two resources");

        await stack.destroy();
        assert.strictEqual((await users()).length, 0);
        assert.strictEqual((await batches()).length, 0);
    });

    it(`BatchGlobalSettings: lifecycle with ISO dates${label}`, async () => {
        const stack = await fx.newStack(`settings-${kind}`);
        let settings: Record<string, unknown> = {
            batchName: { $out: "w1.name" }, shouldMigrateMails: true, shouldMigrateTrash: false, fromDate: "2015-01-05", toDate: "2017-01-05", ...k,
        };
        const spec = () => ({
            resources: [
                { type: "MailBatch", name: "w1", args: { name: "Wave 1", ...k } },
                { type: "BatchGlobalSettings", name: "w1-settings", args: settings },
            ],
        });
        stack.setSpec(spec());
        await stack.up();
        const read = async () => (await batches())[0].settings;
        let s = await read();
        assert.strictEqual(s.shouldMigrateMails, true);
        assert.match(String(s.fromDate), /^2015-01-05/);
        assert.strictEqual((await batches(other)).length, 0, `only in the ${kind} family`);
        await fx.expectEmptyPreview("after create");
        await fx.expectEmptyRefresh("after create");
        await fx.expectEmptyPreview("after refresh");

        const flags = ["shouldMigrateMails", "shouldMigrateTrash", "shouldMigrateCalendars", "shouldMigrateContacts", "shouldMigrateTasks",
            "shouldMigrateNotes", "shouldMigrateJournals", "shouldConvertEmailAddresses", "shouldConvertX500"];
        for (const f of flags) {
            const current = (await stack.resources()).get("w1-settings").outputs[f];
            settings = { ...settings, [f]: !current };
            stack.setSpec(spec());
            await fx.expectOnly("update", "w1-settings", `flip ${f}`);
            await stack.up();
            assert.strictEqual((await read())[f], !current, `${f} applied`);
            await fx.expectEmptyPreview(`after ${f}`);
        }
        for (const [f, v] of [["fromDate", "2016-02-29"], ["toDate", "2018-12-31"]] as const) {
            settings = { ...settings, [f]: v };
            stack.setSpec(spec());
            await fx.expectOnly("update", "w1-settings", `change ${f}`);
            await stack.up();
            assert.match(String((await read())[f]), new RegExp(`^${v}`));
            await fx.expectEmptyPreview(`after ${f}`);
        }

        // Drift.
        await fx.client.setGlobalSettings(kind, "Wave 1", {
            shouldMigrateMails: true, shouldMigrateTrash: true, shouldMigrateCalendars: true, shouldMigrateContacts: true,
            shouldMigrateTasks: true, shouldMigrateNotes: true, shouldMigrateJournals: true, shouldConvertEmailAddresses: true,
            shouldConvertX500: true, fromDate: "2010-01-01", toDate: "2018-12-31",
        });
        const r = await stack.refresh();
        assert.strictEqual(r.counts.update, 1);
        await fx.expectOnly("update", "w1-settings", "drifted settings");
        await stack.up();
        s = await read();
        assert.match(String(s.fromDate), /^2016-02-29/);
        await fx.expectEmptyPreview("after restoring");

        // The batch deleted behind our back takes its settings with it.
        await fx.client.deleteBatch(kind, "Wave 1");
        await stack.refresh();
        const left = await stack.resources();
        assert.ok(!left.has("w1-settings") && !left.has("w1"));
        await stack.up();
        assert.match(String((await read()).fromDate), /^2016-02-29/);
        await fx.expectEmptyPreview("after re-create");

        await stack.destroy();
        assert.strictEqual((await batches()).length, 0);
    });
}
