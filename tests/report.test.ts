/** The status report: batches x statuses with per-pass counts, as a table and as HTML bars. */
import * as assert from "assert";
import { startEmulator } from "../emulator";
import { CloudiwayClient } from "../provider/client";
import { buildReport, renderHtml, renderTable } from "../cli/report";
import { EmulatorControl } from "../emulator/controlClient";

describe("status report", () => {
    it("counts users per batch and status, and sums pass counts", async () => {
        const emu = await startEmulator({ port: 0 });
        const c = new CloudiwayClient({ apiUrl: emu.url, consumerKey: "demo-key", consumerSecret: "demo-secret" });
        try {
            await c.createBatch("mail", "R1");
            await c.createBatch("mail", "R2");
            const tags: string[] = [];
            for (let i = 0; i < 5; i++) {
                tags.push((await c.createUser("mail", { firstName: `R${i}`, lastName: "x", sourceEmail: `r${i}@s.example`, targetEmail: `r${i}@t.example`, sourceConnectorName: "Gmail", targetConnectorName: "Office 365" })).migrationTag);
            }
            for (const t of tags.slice(0, 3)) await c.addToBatch("mail", t, "R1");
            await c.addToBatch("mail", tags[3], "R2");
            await c.startBatch("mail", "R1");
            await c.startBatch("mail", "R1"); // a delta pass
            const r = await buildReport(c, "mail");
            const r1 = r.rows.find((x) => x.batch === "R1")!;
            assert.deepStrictEqual(r1.statuses, { SUCCESS: 3 });
            assert.strictEqual(r1.passes, 6);
            let mails = 0;
            for (const t of tags.slice(0, 3)) for (const p of await c.getMailHistory("mail", t)) mails += p.msgTotal;
            assert.strictEqual(r1.mails.total, mails);
            assert.deepStrictEqual(r.rows.find((x) => x.batch === "R2")!.statuses, { NOTSTARTED: 1 });
            assert.deepStrictEqual(r.rows.find((x) => x.batch === "(no batch)")!.statuses, { NOTSTARTED: 1 });
            const table = renderTable(r);
            assert.match(table.split("\n")[0], /batch\s+users\s+NOTSTARTED\s+SUCCESS\s+passes/);
            assert.match(table, /R1\s+3\s+0\s+3\s+6/);
            const html = renderHtml(r);
            assert.match(html, /<div class="seg" title="SUCCESS: 3" style="width:100\.00%/);
            assert.ok(!html.includes("demo-secret"));

            // Items: a pass that ends SUCCESS with 3 of 10 mails failed, per wave and per user, over the threshold first.
            await new EmulatorControl(emu).setItemFailures({ "r3@s.example": { mails: { failure: 3, read: 10 }, calendars: { failure: 0, read: 0 }, contacts: { failure: 0, read: 0 } } });
            await c.startBatch("mail", "R2");
            const withItems = await buildReport(c, "mail");
            assert.deepStrictEqual(withItems.rows.find((x) => x.batch === "R2")!.items, { read: 10, success: 7, failure: 3, failurePercent: 30 });
            assert.strictEqual(withItems.rows.find((x) => x.batch === "R1")!.items!.failure, 0);
            const t2 = renderTable(withItems, 5);
            assert.match(t2.split("\n")[0], /items failed$/);
            assert.match(t2, /R2 .* 3\/10 \(30%\)/);
            assert.match(t2, /over 5% first, marked !\):\n! r3@s\.example \(R2\): 3 of 10 items failed \(30%\)/);
            const h2 = renderHtml(withItems, [], [], 5);
            assert.match(h2, /<h2>Failed items per wave<\/h2><table id="items">.*data-batch="R2".*3 of 10 items failed \(30%\)/s);
            assert.match(h2, /<tr class="over"><th>r3@s\.example<\/th><td>R2<\/td><td>10<\/td><td>3<\/td><td>30%<\/td><\/tr>/);
        } finally {
            await c.close();
            await emu.close();
        }
    });
});
