/**
 * BatchGlobalSettings: its provider methods called directly against the emulator in-process
 * (check of dates, with unknowns, the API's date formats, read and delete of what is gone),
 * then its lifecycle under the real Pulumi engine in both API kinds
 * (tests/helpers/lifecycle.ts has the fixture).
 */
import * as assert from "assert";
import { UNKNOWN } from "../../provider/runtime/model";
import { describeEngine, KINDS, kindView } from "../helpers/lifecycle";
import { describeProviderMethods, checked, present, implementations } from "../helpers/provider";

describe("BatchGlobalSettings", () => {
    describeProviderMethods("settings-unit-key", "Settings-Unit-S3cret-9191", (fx) => {
        const settings = implementations.BatchGlobalSettings;

        it("check: dates must be ISO and ordered", async () => {
            const d = await settings.check(fx.ctx, undefined, { batchName: "B", fromDate: "05/01/2015" });
            assert.match(d.failures![0].reason, /BatchGlobalSettings\.fromDate: must be a valid ISO date/);
            const o = await settings.check(fx.ctx, undefined, { batchName: "B", fromDate: "2015-02-01", toDate: "2015-01-01" });
            assert.match(o.failures![0].reason, /is after toDate/);
        });

        it("check: unknown values (preview) pass; the fromDate <= toDate rule waits for the values", async () => {
            const s = await settings.check(fx.ctx, undefined, { batchName: UNKNOWN, fromDate: UNKNOWN, toDate: "2001-01-01" });
            assert.deepStrictEqual(s.failures, []);
        });

        it("read of a missing batch's settings returns no id; delete of them succeeds and changes nothing", async () => {
            assert.strictEqual((await settings.read(fx.ctx, "No Such Wave", { batchName: "No Such Wave" })).id, undefined);
            await fx.expectNoMutatingCall(() => settings.delete(fx.ctx, "No Such Wave", { batchName: "No Such Wave" }));
        });

        it("ISO dates in, the API's MM/dd/yyyy and yyyy-MM-ddT00:00:00 never show as a change", async () => {
            const { ctx, emu, key, secret } = fx;
            await implementations.MailBatch.create(ctx, { name: "W" });
            const chk = await settings.check(ctx, undefined, { batchName: "W", fromDate: "2015-01-05", toDate: "2016-12-31", shouldMigrateTrash: true });
            const c = await settings.create(ctx, checked(chk));
            const r = await settings.read(ctx, c.id, c.outs);
            assert.strictEqual(r.inputs!.fromDate, "2015-01-05");
            assert.strictEqual((await settings.diff(ctx, c.id, c.outs, checked(await settings.check(ctx, c.outs, present(r.inputs))))).changes, false);
            const raw = await fetch(`${emu.url}/mailusers/getmailglobalsettingsbybatch?batchName=W&consumerKey=${key}&consumerSecret=${secret}`);
            assert.strictEqual(((await raw.json()) as any).response.fromDate, "2015-01-05T00:00:00");
        });
    });

    describeEngine("lifecycle", "settings-engine-key", "Settings-Engine-S3cret-4242-zz", (fx) => {
        for (const kind of KINDS) {
            const { other, k, batches, label } = kindView(fx, kind);

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
                assert.strictEqual((await batches(other)).length, 0, `only in the ${kind} kind`);
                await fx.expectEmptyPreview("after create");
                await fx.expectEmptyRefresh("after create");
                await fx.expectEmptyPreview("after refresh");

                const flags = ["shouldMigrateMails", "shouldMigrateTrash", "shouldMigrateCalendars", "shouldMigrateContacts", "shouldMigrateTasks",
                    "shouldMigrateNotes", "shouldMigrateJournals", "shouldConvertEmailAddresses", "shouldConvertX500"] as const;
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
                fx.expectSecretInNoOutput(); // in what this lifecycle printed
            });
        }
    });
});
