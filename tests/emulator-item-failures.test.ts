/**
 * The emulator's control of item failures (POST /_emulator/item-failures, emulator only): a user's
 * next pass ends as it would (SUCCESS) but fails the items set, by kind, in its history (2.8).
 */
import * as assert from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { ControlCallError, EmulatorControl, startEmulator } from "../emulator";
import { CloudiwayClient } from "../provider/client";

describe("emulator control: item failures of a user's next pass", function () {
    this.timeout(30_000);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "cw-emu-items-"));
    after(() => fs.rmSync(dir, { recursive: true, force: true }));

    async function withEmulator(dataFile: string | undefined, f: (c: CloudiwayClient, ctl: EmulatorControl) => Promise<void>) {
        const emu = await startEmulator({ port: 0, transitionMs: 0, quiet: true, ...(dataFile ? { dataFile } : {}) });
        const c = new CloudiwayClient({ apiUrl: emu.url, consumerKey: "demo-key", consumerSecret: "demo-secret" });
        try { await f(c, new EmulatorControl(emu)); } finally { await c.close(); await emu.close(); }
    }
    const user = async (c: CloudiwayClient, n: string) => (await c.createUser("mail", {
        firstName: n, lastName: "T", sourceEmail: `${n}@source.example`, targetEmail: `${n}@target.example`, sourceConnectorName: "Gmail", targetConnectorName: "Office 365",
    })).migrationTag;

    it("the next pass ends SUCCESS with the failures set (and the reads, when given); taken by that pass; the others untouched", async () => {
        await withEmulator(undefined, async (c, ctl) => {
            const [ann, bob] = [await user(c, "ann"), await user(c, "bob")];
            const set = await ctl.setItemFailures({ "ANN@source.example": { mails: { failure: 3, read: 10 }, contacts: 2 } });
            assert.deepStrictEqual(set.mail, { "ann@source.example": { mails: { failure: 3, read: 10 }, contacts: { failure: 2 } } });
            await c.startUser("mail", ann);
            await c.startUser("mail", bob);
            assert.strictEqual(await c.getStatus("mail", ann), "SUCCESS", "the pass ends SUCCESS, items lost");
            const [p] = await c.getMailHistory("mail", ann);
            assert.deepStrictEqual([p.msgRead, p.msgSuccess, p.msgFailure, p.msgTotal], [10, 7, 3, 10]);
            assert.deepStrictEqual([p.conFailure, p.conSuccess], [2, p.conRead - 2]);
            assert.strictEqual((await c.getMailHistory("mail", bob))[0].msgFailure, 0);
            assert.deepStrictEqual((await ctl.itemFailures()).mail, {}, "taken by the pass");
            await c.startUser("mail", ann);
            assert.strictEqual((await c.getMailHistory("mail", ann))[1].conFailure, 0, "the pass after that is as usual");
        });
    });

    it("refuses a bad description (400, nothing set); kept in the data file until taken", async () => {
        const file = path.join(dir, "data.json");
        await withEmulator(file, async (_c, ctl) => {
            for (const bad of [{ who: { mails: -1 } }, { who: { letters: 1 } }, { who: { mails: { failure: 5, read: 2 } } }, { who: 3 }]) {
                await assert.rejects(ctl.setItemFailures(bad as never), (e) => e instanceof ControlCallError && e.status === 400, JSON.stringify(bad));
            }
            assert.deepStrictEqual(await ctl.itemFailures(), { mail: {}, archive: {} });
            await ctl.setItemFailures({ "cy@source.example": { calendars: 1 } }, "archive");
        });
        await withEmulator(file, async (_c, ctl) => {
            assert.deepStrictEqual((await ctl.itemFailures()).archive, { "cy@source.example": { calendars: { failure: 1 } } });
        });
    });
});
