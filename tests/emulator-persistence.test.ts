/**
 * Persistence: every acknowledged write is on disk before the answer, so a
 * kill -9 and a restart on the same data file lose nothing; concurrent writes
 * never corrupt the file.
 */
import * as assert from "assert";
import { ChildProcess, spawn } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { CloudiwayClient } from "../provider/client";
import { DataFile } from "../emulator/persist";

/** The emulator as `cloudiway-migration emulator` runs it. */
const CLI = path.resolve(__dirname, "..", "cli", "index.js");

function launch(dataFile: string): Promise<{ child: ChildProcess; url: string }> {
    return new Promise((resolve, reject) => {
        const child = spawn(process.execPath, [CLI, "emulator", "--port", "0", "--data", dataFile, "--transition-ms", "0"], { stdio: ["ignore", "pipe", "pipe"] });
        let out = "";
        child.stdout!.on("data", (d) => {
            out += d;
            const m = /(http:\/\/127\.0\.0\.1:\d+\/api)/.exec(out);
            if (m) resolve({ child, url: m[1] });
        });
        child.on("exit", (code) => reject(new Error(`emulator exited ${code}: ${out}`)));
    });
}
const killed = (c: ChildProcess) => new Promise<void>((r) => { c.once("exit", () => r()); c.kill("SIGKILL"); });

describe("emulator persistence", function () {
    this.timeout(60_000);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "cw-persist-"));
    after(() => fs.rmSync(dir, { recursive: true, force: true }));

    it("kill -9 and restart on the same data file loses no acknowledged write", async () => {
        const file = path.join(dir, "data.json");
        let { child, url } = await launch(file);
        let c = new CloudiwayClient({ apiUrl: url, consumerKey: "demo-key", consumerSecret: "demo-secret" });
        const tags: string[] = [];
        await c.createBatch("mail", "Wave K");
        for (let i = 0; i < 10; i++) {
            const { migrationTag } = await c.createUser("mail", {
                firstName: `U${i}`, lastName: "K", sourceEmail: `u${i}@s.example`, targetEmail: `u${i}@t.example`, sourceConnectorName: "Gmail", targetConnectorName: "Office 365",
            });
            tags.push(migrationTag);
            await c.addToBatch("mail", migrationTag, "Wave K");
        }
        await c.setGlobalSettings("mail", "Wave K", {
            shouldMigrateMails: true, shouldMigrateTrash: true, shouldMigrateCalendars: false, shouldMigrateContacts: true, shouldMigrateTasks: false,
            shouldMigrateNotes: false, shouldMigrateJournals: true, shouldConvertEmailAddresses: false, shouldConvertX500: true, fromDate: "2019-03-04", toDate: "2021-12-31",
        });
        await c.startUser("mail", tags[0]);
        await c.createBatch("archive", "Archive K");
        await c.close();
        await killed(child); // no graceful shutdown

        ({ child, url } = await launch(file));
        c = new CloudiwayClient({ apiUrl: url, consumerKey: "demo-key", consumerSecret: "demo-secret" });
        try {
            assert.deepStrictEqual((await c.getUsersInBatch("mail", "Wave K")).sort(), [...tags].sort());
            const s = await c.getGlobalSettings("mail", "Wave K");
            assert.strictEqual(s.fromDate, "2019-03-04");
            assert.strictEqual(s.shouldMigrateJournals, true);
            assert.strictEqual(await c.getStatus("mail", tags[0]), "SUCCESS");
            assert.strictEqual((await c.getMailHistory("mail", tags[0])).length, 1);
            assert.deepStrictEqual(await c.listBatches("archive"), ["Archive K"]);
            assert.strictEqual(await c.getMigrationTag("mail", "u3@s.example", "u3@t.example"), tags[3]);
        } finally {
            await c.close();
            await killed(child);
        }
    });

    it("a data file of an emulator that said \"family\" for the kind is read with \"kind\"", () => {
        const file = path.join(dir, "old.json");
        fs.writeFileSync(file, JSON.stringify({
            selfService: {
                outbox: [{ to: "a@s.example", from: "noreply@cloudiway.com", subject: "s", path: "/selfservice/t1", tag: "T1", family: "archive", recipient: "source", time: "2026-01-01T00:00:00Z" }],
                links: { t1: { family: "archive", tag: "T1" } },
                submissions: [{ family: "archive", tag: "T1", username: "a", via: "link", time: "2026-01-01T00:00:00Z" }],
            },
        }));
        const ss = new DataFile(file, () => { throw new Error("not saved here"); }).load().selfService;
        assert.deepStrictEqual([ss.links.t1, ss.outbox[0].kind, ss.submissions[0].kind], [{ kind: "archive", tag: "T1" }, "archive", "archive"]);
        assert.ok(!("family" in ss.links.t1) && !("family" in ss.outbox[0]));
    });

    it("50 concurrent writes leave a data file that parses and holds them all", async () => {
        const file = path.join(dir, "concurrent.json");
        const { child, url } = await launch(file);
        const c = new CloudiwayClient({ apiUrl: url, consumerKey: "demo-key", consumerSecret: "demo-secret", connections: 50 });
        try {
            await Promise.all(Array.from({ length: 50 }, (_, i) => c.createBatch("mail", `B${i}`)));
            const onDisk = JSON.parse(fs.readFileSync(file, "utf8"));
            assert.strictEqual(Object.keys(onDisk.mail.batches).length, 50);
            assert.strictEqual((await c.listBatches("mail")).length, 50);
            assert.deepStrictEqual(fs.readdirSync(dir).filter((f) => f.endsWith(".tmp")), [], "no temp files left behind");
        } finally {
            await c.close();
            await killed(child);
        }
    });
});
