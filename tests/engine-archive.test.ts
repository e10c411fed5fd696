/**
 * Archive migration (/archivemailusers) end to end through `kind: "archive"`:
 * the same resource lifecycles as the mail family (tests/helpers/lifecycle.ts),
 * each asserting that the emulator has the objects in the archive family only.
 * A MigrationRun of an archive batch is in engine-runs' territory: here a pass
 * is started once to show the archive family's users migrate on their own.
 */
import * as assert from "assert";
import { EngineFixture, defineLifecycleTests, userArgs } from "./helpers/lifecycle";
import { usersOf } from "./helpers/emu";

describe("@engine archive family under the real Pulumi CLI", function () {
    this.timeout(20 * 60 * 1000);
    const fx = new EngineFixture("archive-key", "Archive-S3cret-3131");
    fx.hooks();

    defineLifecycleTests(fx, "archive");

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
        assert.strictEqual(usersOf(st, "mail")[0].status, "NOTSTARTED", "the mail family's user with the same addresses is untouched");
        await stack.refresh();
        assert.strictEqual((await stack.resources()).get("ada").outputs.status, "SUCCESS");
        await fx.expectEmptyPreview("after the run");
    });
});
