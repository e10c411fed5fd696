/**
 * The functions (getBatches, getMailUser, getMigrationStatus...) a program calls, against the
 * emulator in-process: typed values from the API for each kind, usable as outputs.
 */
import * as assert from "assert";
import * as pulumi from "@pulumi/pulumi";
import * as fns from "../provider/functions";
import { providerFixture, ada } from "./helpers/provider";

describe("functions against the emulator", function () {
    this.timeout(60_000);
    const fx = providerFixture({ key: "unit-key", secret: "Unit-S3cret-9191" });
    before(() => {
        pulumi.runtime.setConfig("cloudiway:apiUrl", fx.emu.url);
        pulumi.runtime.setConfig("cloudiway:consumerKey", fx.key);
        pulumi.runtime.setConfig("cloudiway:consumerSecret", fx.secret);
    });

    it("each function answers typed values from the API, for each kind", async () => {
        const { client } = fx;
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
