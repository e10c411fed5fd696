/**
 * Request counts a large plan relies on, under the real Pulumi CLI in fast mode
 * (PULUMI_SKIP_CHECKPOINTS=true): a refresh reads each list once — also the plain
 * `pulumi refresh --yes`, whose preview and update run in two provider processes — and a
 * no-op preview or up makes no request. A refresh in mid-migration (every user's pass under way)
 * reads no user's history. (Times and sizes are the bench's: `npm run bench`.)
 */
import * as assert from "assert";
import { startEmulator } from "../emulator";
import { CloudiwayClient } from "../provider/client";
import { TestStack, skipIfEngineOptedOut } from "./helpers/engine";
import { Emu, emuFaults, emuResetStats, emuStats } from "./helpers/emu";

describe("@engine scale: request counts of a 50-user plan in fast mode", function () {
    this.timeout(10 * 60 * 1000);
    let emu: Emu;
    let stack: TestStack | undefined;
    const users = 50, batches = 5;

    before(async function () {
        skipIfEngineOptedOut(this);
        // A pass advances only when the test ticks the emulator: a started one stays under way (mid-migration).
        emu = await startEmulator({ port: 0, transitionMs: 3_600_000, quiet: true });
        stack = await TestStack.create({ name: "scale", apiUrl: emu.url, env: { PULUMI_SKIP_CHECKPOINTS: "true" } });
        const resources: any[] = [];
        for (let b = 0; b < batches; b++) {
            resources.push({ type: "MailBatch", name: `batch${b}`, args: { name: `Scale ${b}` } });
            resources.push({ type: "BatchGlobalSettings", name: `settings${b}`, args: { batchName: { $out: `batch${b}.name` }, shouldMigrateMails: true } });
        }
        for (let i = 0; i < users; i++) {
            resources.push({ type: "MailUser", name: `user${i}`, args: {
                firstName: `Scale${i}`, lastName: "User", sourceEmail: `scale${i}@source.example`, targetEmail: `scale${i}@target.example`,
                sourceConnectorName: "Gmail", targetConnectorName: "Office 365",
            } });
            resources.push({ type: "BatchMembership", name: `member${i}`, args: { migrationTag: { $out: `user${i}.migrationTag` }, batchName: { $out: `batch${i % batches}.name` } } });
        }
        stack.setSpec({ resources });
        await stack.up(["--parallel", "32"]);
    });
    after(async () => {
        await stack?.dispose();
        await emu?.close();
    });

    async function requests(args: string[]): Promise<{ total: number; byCall: Record<string, number> }> {
        await emuResetStats(emu.baseUrl);
        await stack!.cli(args);
        return emuStats(emu.baseUrl);
    }

    it("no-op preview and no-op up: 0 requests", async () => {
        assert.strictEqual((await requests(["preview"])).total, 0);
        assert.strictEqual((await requests(["up", "--yes"])).total, 0);
    });

    it("refresh in mid-migration: 2 + 2 x batches requests, with or without its preview (each list read once per command)", async () => {
        // Every user's status changes: their batches start (NOTSTARTED -> SCHEDULED).
        const client = new CloudiwayClient({ apiUrl: emu.url, consumerKey: "demo-key", consumerSecret: "demo-secret" });
        for (let b = 0; b < batches; b++) await client.startBatch("mail", `Scale ${b}`);
        await client.close();
        await emuFaults(emu.baseUrl, { latencyMs: 20 }); // reads overlap, as they do against the real service
        const plain = await requests(["refresh", "--yes"]);
        const skip = await requests(["refresh", "--yes", "--skip-preview"]);
        await emuFaults(emu.baseUrl, { latencyMs: 0 });
        console.log(`      refresh --yes: ${plain.total} requests ${JSON.stringify(plain.byCall)}; --skip-preview: ${skip.total}`);
        assert.strictEqual(plain.total, 2 + 2 * batches, "pulumi refresh --yes (preview, then update)");
        assert.strictEqual(skip.total, 2 + 2 * batches, "pulumi refresh --yes --skip-preview");
        const st = await stack!.resources();
        for (let i = 0; i < users; i++) assert.strictEqual(st.get(`user${i}`)?.outputs?.status, "SCHEDULED", `user${i}: the refresh recorded the new status`);
    });
});
