/**
 * The drift digest without the engine: driftOf over a stack's exported resources against the
 * emulator (the provider's reads, nothing written), and its Markdown with hostile user values.
 */
import * as assert from "assert";
import { startEmulator } from "../emulator";
import { clientFor } from "../provider/client";
import { resolveSettings } from "../provider/config";
import { DriftDigest, StateResource, driftMarkdown, driftOf, mdCell, readContext } from "../cli/drift";
import { control, Emu, emuStats } from "./helpers/emu";
import { held, implementations } from "./helpers/provider";
import type { GlobalSettings } from "../provider/client/calls";

const T = "pulumi-nodejs:dynamic/cloudiway:";

describe("drift digest (no engine)", () => {
    describe("mdCell (plan-summary's mdText)", () => {
        it("keeps a value on one line and in its cell: newlines, ESC, NUL, pipes, Markdown and HTML are inert; bidi controls are removed", () => {
            assert.strictEqual(mdCell("a\nb\r\nc\td"), "a b c d");
            assert.strictEqual(mdCell("x\u001b[31m y\u0000z"), "x [31m y z".replace("[", "\\["));
            assert.strictEqual(mdCell("x | y"), "x \\| y");
            assert.strictEqual(mdCell("<img src=x onerror=alert(1)>"), "&lt;img src=x onerror=alert(1)&gt;");
            assert.strictEqual(mdCell("**bold** _it_ `code` [link](http://e) ~~s~~"), "\\*\\*bold\\*\\* \\_it\\_ \\`code\\` \\[link\\](http://e) \\~\\~s\\~\\~");
            assert.strictEqual(mdCell("Wave \u202eexe.fdp"), "Wave exe.fdp", "a right-to-left override is removed");
            assert.strictEqual(mdCell("a\\b & c"), "a\\\\b &amp; c");
        });
        it("makes @mentions inert (also after a dash) but leaves email addresses as they are; absent values are a dash", () => {
            assert.strictEqual(mdCell("@admins please"), "@&#8203;admins please");
            assert.strictEqual(mdCell("cc -@org/team"), "cc -@&#8203;org/team");
            assert.strictEqual(mdCell("ada@source.example"), "ada@source.example");
            assert.strictEqual(mdCell(undefined), "—");
            assert.strictEqual(mdCell(""), "—");
            assert.strictEqual(mdCell({ a: 1 }), "{\"a\":1}");
        });
    });

    describe("driftMarkdown", () => {
        it("a hostile user value stays in its row: every row of a table has the table's columns", () => {
            const d: DriftDigest = {
                stacks: ["prod"], at: "2026-11-30T12:00:00.000Z",
                drifted: [{ stack: "prod", resource: "w1-settings", type: "BatchGlobalSettings", id: "W1", field: "fromDate", inStack: "2020-01-01", inTenant: "2021-02-03" }],
                gone: [], unread: [],
                undeclared: {
                    users: [{ kind: "mail", sourceEmail: "evil|x\n# Title @admins <b>hi</b>", targetEmail: "t@target.example", migrationTag: "tag-1", status: "NOTSTARTED", licensed: false, batchName: "B | 1" }],
                    batches: [{ kind: "mail", name: "Stray\n| injected | row |", users: 0 }],
                    count: { users: 1, batches: 1 },
                },
            };
            const md = driftMarkdown(d);
            for (const table of md.split("\n\n").filter((b) => b.startsWith("|"))) {
                const rows = table.split("\n").filter((r) => r !== "");
                const cols = (r: string) => r.replace(/\\\|/g, "").split("|").length;
                for (const r of rows) assert.strictEqual(cols(r), cols(rows[0]), `row ${JSON.stringify(r)} keeps the table's columns`);
            }
            assert.doesNotMatch(md, /<b>|@admins|\n# Title/);
            assert.match(md, /### Users no stack declares: 1/);
            assert.match(md, /### Batches no stack declares: 1/);
        });
        it("no drift says so", () => {
            const md = driftMarkdown({ stacks: ["prod"], at: "t", drifted: [], gone: [], unread: [], undeclared: { users: [], batches: [], count: { users: 0, batches: 0 } } });
            assert.match(md, /No drift: the tenant is as the stack says\./);
        });
    });

    describe("driftOf against the emulator", () => {
        let emu: Emu;
        before(async () => { emu = await startEmulator({ port: 0, transitionMs: 0, quiet: true }); });
        after(async () => { await emu?.close(); });

        it("reads with the provider's reads only (no write) and finds the moved user, the changed dates, the gone user, the stray user and batch", async () => {
            const settings = resolveSettings((k) => ({ "cloudiway:apiUrl": emu.url, "cloudiway:consumerKey": "demo-key", "cloudiway:consumerSecret": "demo-secret" } as Record<string, string>)[k]);
            const c = clientFor(settings);
            const fields = (n: string) => ({ firstName: n, lastName: "D", sourceEmail: `${n}@source.example`, targetEmail: `${n}@target.example`, sourceConnectorName: "Gmail", targetConnectorName: "Office 365" });
            for (const b of ["W1", "W2", "Stray"]) await c.createBatch("mail", b);
            const tags: Record<string, string> = {};
            for (const n of ["ada", "bob", "zed"]) tags[n] = (await c.createUser("mail", fields(n))).migrationTag;
            await c.addToBatch("mail", tags.ada, "W1");
            await c.addToBatch("mail", tags.bob, "W2"); // declared in W1
            const s = await c.getGlobalSettings("mail", "W1");
            await c.setGlobalSettings("mail", "W1", { ...s, fromDate: "2021-02-03" } as GlobalSettings);
            const declared = { ...s, fromDate: "2020-01-01", batchName: "W1" };
            const r = (type: string, name: string, id: string, inputs: Record<string, unknown>): StateResource =>
                ({ urn: `urn:pulumi:prod::cw::${T}${type}::${name}`, type: `${T}${type}`, id, inputs, outputs: inputs });
            const resources = [
                r("MailBatch", "w1", "W1", { name: "W1" }), r("MailBatch", "w2", "W2", { name: "W2" }),
                r("BatchGlobalSettings", "w1-settings", "W1", declared),
                r("MailUser", "ada", tags.ada, fields("ada")), r("MailUser", "bob", tags.bob, fields("bob")),
                r("MailUser", "cy", "00000000-0000-0000-0000-00000000c0c0", fields("cy")), // deleted in the tenant
                r("BatchMembership", "ada-m", tags.ada, { migrationTag: tags.ada, batchName: "W1" }),
                r("BatchMembership", "bob-m", tags.bob, { migrationTag: tags.bob, batchName: "W1" }),
            ];
            const before = (await emuStats(emu.baseUrl)).mutating;
            const d = await driftOf(readContext(settings), [{ name: "prod", resources }]);
            assert.strictEqual((await emuStats(emu.baseUrl)).mutating, before, "no write");
            assert.deepStrictEqual(d.drifted.map((x) => [x.resource, x.field, x.inStack, x.inTenant]), [["bob-m", "batchName", "W1", "W2"], ["w1-settings", "fromDate", "2020-01-01", "2021-02-03"]]);
            assert.deepStrictEqual(d.gone.map((x) => [x.resource, x.what]), [["cy", "user cy@source.example -> cy@target.example"]]);
            assert.deepStrictEqual(d.undeclared.users.map((u) => u.sourceEmail), ["zed@source.example"]);
            assert.deepStrictEqual(d.undeclared.batches.map((b) => [b.name, b.users]), [["Stray", 0]]);
            assert.deepStrictEqual(d.undeclared.count, { users: 1, batches: 1 });
        });

        it("a vendor that says \"not found\" in words no list holds: a user missing from getall is gone (read drops it, drift lists it), a refusal of something present is not", async () => {
            const settings = resolveSettings((k) => ({ "cloudiway:apiUrl": emu.url, "cloudiway:consumerKey": "demo-key", "cloudiway:consumerSecret": "demo-secret" } as Record<string, string>)[k]);
            const c = clientFor(settings);
            const ctl = control(emu);
            await ctl.reset();
            await ctl.setFaults({ notFoundWording: "No user with migration tag {name}" });
            try {
                const fields = { firstName: "Al", lastName: "D", sourceEmail: "al@source.example", targetEmail: "al@target.example", sourceConnectorName: "Gmail", targetConnectorName: "Office 365" };
                await c.createBatch("mail", "W");
                const { migrationTag: al } = await c.createUser("mail", fields);
                await c.addToBatch("mail", al, "W");
                await c.removeFromBatch("mail", al);
                await c.deleteUser("mail", al);
                // The vendor's words, as the client sees them, are in no list: no CloudiwayNotFoundError.
                await assert.rejects(c.getUser("mail", al), (e: Error) => e.constructor.name === "CloudiwayApiError" && /No user with migration tag/.test(e.message));
                const r = (type: string, name: string, inputs: Record<string, unknown>): StateResource =>
                    ({ urn: `urn:pulumi:prod::cw::${T}${type}::${name}`, type: `${T}${type}`, id: al, inputs, outputs: inputs });
                const ctx = readContext(settings);
                assert.deepStrictEqual(await implementations.MailUser.read(ctx, al, held(fields)), {}, "read drops the gone user");
                const d = await driftOf(readContext(settings), [{ name: "prod", resources: [r("MailUser", "al", fields), r("BatchMembership", "al-m", { migrationTag: al, batchName: "W" })] }]);
                assert.deepStrictEqual(d.gone.map((x) => x.resource), ["al", "al-m"], "drift lists the user and its membership as gone");
                assert.deepStrictEqual(d.unread, []);
            } finally {
                await ctl.setFaults({ notFoundWording: null } as never);
            }
        });
    });
});
