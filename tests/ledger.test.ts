/**
 * The ledger (`report --ledger ledger.csv`): one row per user whose observation changed, so the
 * history outlives the vendor's purge; the HTML report draws each wave's progress over time from
 * it, looked at in headless Chromium (screenshot in test-output/).
 */
import * as assert from "assert";
import { execFile } from "child_process";
import { promisify } from "util";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { startEmulator } from "../emulator";
import { CloudiwayClient } from "../provider/client";
import { buildReport, renderHtml } from "../cli/report";
import { appendLedger, progressOverTime, readLedger } from "../cli/ledger";
import { REPO } from "./helpers/engine";
import { launchChromium, outputDir, skipBrowserTests } from "./helpers/browser";
import { control, type Emu } from "./helpers/emu";

describe("ledger: the history that outlives the vendor's purge", function () {
    this.timeout(120_000);
    let emu: Emu;
    let client: CloudiwayClient;
    let dir: string;
    const tags: string[] = [];

    before(async () => {
        emu = await startEmulator({ port: 0, transitionMs: 0, quiet: true });
        client = new CloudiwayClient({ apiUrl: emu.url, consumerKey: "demo-key", consumerSecret: "demo-secret" });
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "cw-ledger-"));
        for (const b of ["Wave 1", "Wave 2"]) await client.createBatch("mail", b);
        for (let i = 0; i < 6; i++) {
            const { migrationTag } = await client.createUser("mail", {
                firstName: `L${i}`, lastName: "Ledger", sourceEmail: `l${i}@source.example`, targetEmail: `l${i}@target.example`,
                sourceConnectorName: "Gmail", targetConnectorName: "Office 365",
            });
            tags.push(migrationTag);
            await client.addToBatch("mail", migrationTag, i < 3 ? "Wave 1" : "Wave 2");
        }
    });
    after(async () => {
        await client.close();
        await emu.close();
        fs.rmSync(dir, { recursive: true, force: true });
    });

    it("gains rows only for users whose observation changed; the chart shows each wave's progress", async () => {
        const file = path.join(dir, "ledger.csv");
        const observe = async (time: string) => appendLedger(file, (await buildReport(client, "mail")).users, time);
        assert.strictEqual((await observe("2026-11-30T08:00:00.000Z")).length, 6, "first observation: a row per user");
        assert.strictEqual((await observe("2026-11-30T09:00:00.000Z")).length, 0, "nothing changed: no row");
        await client.startUser("mail", tags[0]);
        const one = await observe("2026-11-30T10:00:00.000Z");
        assert.deepStrictEqual(one.map((r) => [r.sourceEmail, r.status, r.passes, r.licensed]), [["l0@source.example", "SUCCESS", 1, true]]);
        assert.ok(one[0].mailsTotal > 0 && one[0].mailsSuccess === one[0].mailsTotal, "the last pass's counts");
        await client.startBatch("mail", "Wave 1");
        const wave = await observe("2026-11-30T11:00:00.000Z");
        assert.deepStrictEqual(wave.map((r) => [r.sourceEmail, r.passes]).sort(), [["l0@source.example", 2], ["l1@source.example", 1], ["l2@source.example", 1]],
            "a delta pass changes l0's row too; wave 2 is unchanged");
        await client.startBatch("mail", "Wave 2");
        await observe("2026-11-30T12:00:00.000Z");
        const rows = readLedger(file);
        assert.strictEqual(rows.length, 6 + 1 + 3 + 3);
        assert.strictEqual(fs.readFileSync(file, "utf8").split("\n")[0], "time,kind,migrationTag,sourceEmail,batch,status,passes,mailsTotal,mailsSuccess,mailsFailure,calendarsTotal,calendarsSuccess,calendarsFailure,contactsTotal,contactsSuccess,contactsFailure,licensed,itemsRead,itemsFailure");
        const series = progressOverTime(rows);
        assert.deepStrictEqual(series.map((s) => [s.batch, s.points.map((p) => p.done)]), [["Wave 1", [0, 1, 3, 3]], ["Wave 2", [0, 0, 0, 3]]]);

        // The packaged command: --ledger and --json.
        // Asynchronous: the emulator answers from this very process.
        const { stdout: out } = await promisify(execFile)(process.execPath, [path.join(REPO, "dist", "cli", "index.js"), "report", "--api-url", emu.url, "--ledger", file, "--json", "--html", path.join(dir, "r.html")], {
            env: { ...process.env, CLOUDIWAY_CONSUMER_KEY: "demo-key", CLOUDIWAY_CONSUMER_SECRET: "demo-secret" }, encoding: "utf8",
        });
        const j = JSON.parse(out) as { appended: unknown[]; report: { users: unknown[] } };
        assert.deepStrictEqual([j.appended.length, j.report.users.length], [0, 6], "nothing changed since the last row");
        assert.ok(!out.includes("demo-secret") && !fs.readFileSync(file, "utf8").includes("demo-secret"));

        // The chart, as people look at it.
        const html = renderHtml(await buildReport(client, "mail"), rows);
        assert.strictEqual((html.match(/<path class="wave"/g) ?? []).length, 2, "one line per wave");
        if (skipBrowserTests()) { console.warn("BROWSER TEST SKIPPED: CLOUDIWAY_SKIP_BROWSER_TESTS=1"); return; }
        const browser = await launchChromium();
        try {
            const page = await browser.newPage({ viewport: { width: 1000, height: 800 } });
            await page.setContent(html);
            const box = await page.locator("svg#progress").boundingBox();
            assert.ok(box && box.width > 500 && box.height > 200, "the chart is drawn");
            const lengths = await page.$$eval("path.wave", (ps) => ps.map((p) => (p as unknown as { getTotalLength(): number }).getTotalLength()));
            assert.ok(lengths.length === 2 && lengths.every((l) => l > 100), `each wave's line has a length (${lengths})`);
            await page.screenshot({ path: path.join(outputDir("ledger", "progress chart"), "report.png"), fullPage: true });
        } finally {
            await browser.close();
        }
    });

    it("item counts: a pass that failed items gets a row with them; a ledger written before the item columns is still read and grows in its own columns", async () => {
        const file = path.join(dir, "items.csv");
        const observe = async (time: string) => appendLedger(file, (await buildReport(client, "mail")).users, time);
        await observe("2026-12-01T08:00:00.000Z");
        await control(emu).setItemFailures({ "l4@source.example": { mails: { failure: 3, read: 10 }, calendars: { failure: 0, read: 0 }, contacts: { failure: 0, read: 0 } } });
        await client.startUser("mail", tags[4]);
        const [row] = await observe("2026-12-01T09:00:00.000Z");
        assert.deepStrictEqual([row.sourceEmail, row.itemsRead, row.itemsFailure, row.mailsFailure], ["l4@source.example", 10, 3, 3]);
        assert.deepStrictEqual(readLedger(file).filter((r) => r.itemsFailure).map((r) => [r.sourceEmail, r.itemsRead, r.itemsFailure]), [["l4@source.example", 10, 3]]);

        // An older ledger: the same rows without the two item columns.
        const lines = fs.readFileSync(file, "utf8").trimEnd().split("\n").map((l) => l.split(",").slice(0, -2).join(","));
        const old = path.join(dir, "old.csv");
        fs.writeFileSync(old, lines.join("\n") + "\n");
        const rows = readLedger(old);
        assert.deepStrictEqual([rows.length, rows.every((r) => r.itemsRead === 0 && r.itemsFailure === 0)], [readLedger(file).length, true], "read, its item counts 0");
        assert.deepStrictEqual(appendLedger(old, (await buildReport(client, "mail")).users, "2026-12-01T10:00:00.000Z"), [], "nothing changed in its columns: no row");
        await client.startUser("mail", tags[5]);
        assert.strictEqual(appendLedger(old, (await buildReport(client, "mail")).users, "2026-12-01T11:00:00.000Z").length, 1);
        assert.strictEqual(fs.readFileSync(old, "utf8").split("\n")[0], lines[0], "its header kept");
        assert.strictEqual(readLedger(old).length, rows.length + 1, "the row appended in its columns reads back");
    });
});
