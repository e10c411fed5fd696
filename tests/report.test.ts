/** The status report: batches x statuses with per-pass counts, as a table and as HTML bars. */
import * as assert from "assert";
import { startEmulator } from "../emulator";
import { CloudiwayClient } from "../provider/client";
import { buildReport, renderHtml, renderTable } from "../cli/report";

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
        } finally {
            await c.close();
            await emu.close();
        }
    });
});
