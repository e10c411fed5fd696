/**
 * MigrationRun: its provider methods called directly against the emulator in-process
 * (check of its one target, diff of a new trigger, delete of a run on what is gone), and,
 * under the real Pulumi engine, a run of the archive kind. The runs of the mail kind
 * end to end (once per trigger, after memberships and settings; each action; licenses;
 * stop) are in engine-runs.test.ts; their recovery from kills in fast-recovery.test.ts.
 */
import * as assert from "assert";
import { usersOf } from "../helpers/emu";
import { describeEngine, userArgs } from "../helpers/lifecycle";
import { describeProviderMethods, held, implementations } from "../helpers/provider";

describe("MigrationRun", () => {
    const run = implementations.MigrationRun;

    describeProviderMethods("run-unit-key", "Run-Unit-S3cret-9191", (fx) => {
        it("check: a run needs exactly one target", async () => {
            const both = await run.check(fx.ctx, undefined, { batchName: "B", migrationTag: "x", action: "migrate", trigger: "1" });
            assert.match(both.failures![0].reason, /exactly one of batchName/);
            const neither = await run.check(fx.ctx, undefined, { action: "migrate", trigger: "1" });
            assert.match(neither.failures![0].reason, /exactly one of batchName/);
        });

        it("diff: a new trigger is an update, not a replace", async () => {
            const retrigger = await run.diff(fx.ctx, "r", held({ batchName: "A", action: "migrate", trigger: "1" }), { batchName: "A", action: "migrate", trigger: "2" });
            assert.deepStrictEqual([retrigger.changes, retrigger.replaces], [true, []]);
        });

        it("delete of a run on a missing batch succeeds and changes nothing", async () => {
            await fx.expectNoMutatingCall(() => run.delete(fx.ctx, "r", held({ batchName: "No Such Wave", action: "migrate", trigger: "1" })));
        });
    });

    describeEngine("archive kind", "archive-key", "Archive-S3cret-3131", (fx) => {
        it("a MigrationRun on an archive batch migrates the archive users only", async () => {
            const stack = await fx.newStack("archive-run");
            const k = { kind: "archive" };
            stack.setSpec({
                resources: [
                    { type: "MailBatch", name: "a1", args: { name: "Archive 1", ...k } },
                    { type: "MailUser", name: "ada", args: userArgs(k) },
                    { type: "MailUser", name: "ada-mail", args: userArgs() },
                    { type: "BatchMembership", name: "ada-m", args: { migrationTag: { $out: "ada.migrationTag" }, batchName: { $out: "a1.name" }, ...k } },
                    { type: "MigrationRun", name: "go", args: { batchName: { $out: "a1.name" }, action: "migrate", trigger: "1", ...k }, dependsOn: ["ada-m"] },
                ],
            });
            await stack.up();
            const st = await fx.state();
            assert.strictEqual(usersOf(st, "archive")[0].status, "SUCCESS");
            assert.strictEqual(usersOf(st, "mail")[0].status, "NOTSTARTED", "the mail kind's user with the same addresses is untouched");
            await stack.refresh();
            assert.strictEqual((await stack.resources()).get("ada").outputs.status, "SUCCESS");
            await fx.expectEmptyPreview("after the run");
        });
    });
});
