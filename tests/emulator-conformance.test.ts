/**
 * The emulator against the vendor's document: every documented request, sent
 * as documented (query auth on GETs; FLAT, AUTH and NESTED BATCH bodies), gets
 * the documented answer shape; the vendor's rules; bad input refused with the
 * state unchanged; wrong credentials refused on every call.
 */
import * as assert from "assert";
import { startEmulator, STATUSES, STATUS_NUMBER } from "../emulator";
import { MIGRATION_STATUSES } from "../provider/client/status";
import type { Emu } from "./helpers/emu";
import { control } from "./helpers/emu";

const KEY = "myConsumerKey";
const SECRET = "myConsumerSecret-Zq9";

describe("emulator conformance to the API document", function () {
    let emu: Emu;
    before(async () => { emu = await startEmulator({ port: 0, consumerKey: KEY, consumerSecret: SECRET }); });
    after(async () => emu.close());
    beforeEach(async () => { await control(emu).reset(); });

    const qs = (extra: Record<string, string> = {}) => new URLSearchParams({ consumerKey: KEY, consumerSecret: SECRET, ...extra }).toString();
    async function get(path: string, extra: Record<string, string> = {}) {
        const r = await fetch(`${emu.url}${path}?${qs(extra)}`);
        assert.strictEqual(r.status, 200);
        assert.match(r.headers.get("content-type") ?? "", /application\/json;charset=UTF-8/);
        return r.json() as Promise<any>;
    }
    async function post(path: string, body: unknown, raw = false) {
        const r = await fetch(`${emu.url}${path}`, { method: "POST", headers: { "content-type": "application/json" }, body: raw ? (body as string) : JSON.stringify(body) });
        return { status: r.status, json: (await r.json()) as any };
    }
    const flat = (migrationTag: string) => ({ consumerKey: KEY, consumerSecret: SECRET, migrationTag });
    const auth = (extra: Record<string, unknown> = {}) => ({ auth: { consumerKey: KEY, consumerSecret: SECRET, ...extra } });
    const state = async () => control(emu).state();
    const john = { firstName: "John", lastName: "Doe", sourceEmail: "source@source.com", targetEmail: "target@target.com", sourceConnectorName: "Gmail", targetConnectorName: "Office 365" };

    for (const fam of ["mailusers", "archivemailusers"]) {
        describe(`/${fam}`, () => {
            async function createJohn(): Promise<string> {
                const c = await post(`/${fam}/create`, { ...auth(), ...john });
                assert.deepStrictEqual(c.json, { hasError: false, response: "User created" }, "2.10 answers without the tag");
                const t = await get(`/${fam}/migrationtag`, { sourceEmail: john.sourceEmail, targetEmail: john.targetEmail });
                assert.strictEqual(t.hasError, false);
                assert.match(t.response, /^ [0-9a-f-]{36}$/, "2.2: the tag, with the sample's leading space");
                return t.response.trim();
            }

            it("2.1-2.3, 2.10-2.12: users", async () => {
                const tag = await createJohn();
                const all = await get(`/${fam}/getall`);
                assert.strictEqual(all.hasError, false);
                assert.strictEqual(all.response.length, 1);
                assert.strictEqual(all.response[0].lastName, "Doe");
                assert.strictEqual(all.response[0].firstname, "John", "2.1's sample spells it firstname");
                const g1 = await get(`/${fam}/${tag}/get`);
                assert.deepStrictEqual(Object.keys(g1.response), ["firstName", "lastName", "sourceEmail", "targetEmail", "migrationTag"], "2.3: the sample's five fields");
                const g2 = await post(`/${fam}/${tag}/get`, { consumerKey: KEY, consumerSecret: SECRET });
                assert.deepStrictEqual(g2.json.response, g1.response, "2.3 by POST too (the detail's verb)");
                const u = await post(`/${fam}/update`, { ...auth({ migrationTag: tag }), ...john, firstName: "Johnny" });
                assert.deepStrictEqual(u.json, { hasError: false, response: "User updated" });
                assert.strictEqual((await get(`/${fam}/${tag}/get`)).response.firstName, "Johnny");
                const d = await post(`/${fam}/delete`, flat(tag));
                assert.deepStrictEqual(d.json, { hasError: false, response: "User deleted" });
                assert.strictEqual((await get(`/${fam}/getall`)).response.length, 0);
            });

            it("2.4-2.9: start, stop, audit, status, history, license (both paths)", async () => {
                const tag = await createJohn();
                assert.strictEqual((await get(`/${fam}/${tag}/status`)).response, "NOTSTARTED");
                assert.deepStrictEqual((await post(`/${fam}/license`, flat(tag))).json, { hasError: false, response: "License assigned" });
                assert.deepStrictEqual((await post(`/${fam}/${tag}/license`, flat(tag))).json, { hasError: false, response: "License assigned" });
                assert.deepStrictEqual((await post(`/${fam}/start`, flat(tag))).json, { hasError: false, response: "User scheduled" });
                assert.strictEqual((await get(`/${fam}/${tag}/status`)).response, "SUCCESS");
                const h = (await get(`/${fam}/${tag}/getmailhistory`)).response;
                assert.strictEqual(h.length, 1);
                assert.deepStrictEqual(Object.keys(h[0]), ["startDateTime", "endDateTime", "msgTotal", "msgRead", "msgSuccess", "msgIgnored", "msgFailure",
                    "calTotal", "calRead", "calSuccess", "calIgnored", "calFailure", "conTotal", "conRead", "conSuccess", "conIgnored", "conFailure", "msgAlreadyMigrated"]);
                assert.match(h[0].startDateTime, /^\d{2}\/\d{2}\/\d{4} \d{2}:\d{2}:\d{2}$/, "dd/MM/yyyy HH:mm:ss");
                assert.deepStrictEqual((await post(`/${fam}/stop`, flat(tag))).json, { hasError: false, response: "User stopped" });
                assert.deepStrictEqual((await post(`/${fam}/audit`, flat(tag))).json, { hasError: false, response: "Audit scheduled" });
                assert.strictEqual((await get(`/${fam}/${tag}/status`)).response, "AUDIT_DONE");
            });

            it("2.13-2.21: batches", async () => {
                const tag = await createJohn();
                assert.deepStrictEqual((await post(`/${fam}/createbatch`, { ...auth(), batchName: "MailBatch1" })).json, { hasError: false, response: "Batch MailBatch1 created" });
                assert.deepStrictEqual((await get(`/${fam}/batch`)).response, ["MailBatch1"]);
                assert.deepStrictEqual((await post(`/${fam}/addtobatch`, { ...auth({ migrationTag: tag }), batchName: "MailBatch1" })).json, { hasError: false, response: "User added to batch MailBatch1" });
                assert.deepStrictEqual((await get(`/${fam}/getusersinbatch`, { batchName: "MailBatch1" })).response, [tag]);
                assert.deepStrictEqual((await post(`/${fam}/startbatch`, { ...auth(), batchName: "MailBatch1" })).json, { hasError: false, response: "Batch MailBatch1 started" });
                assert.deepStrictEqual((await post(`/${fam}/stopbatch`, { ...auth(), batchName: "MailBatch1" })).json, { hasError: false, response: "Batch MailBatch1 stopped" });
                assert.deepStrictEqual((await post(`/${fam}/batchaudit`, { ...auth(), batchName: "MailBatch1" })).json, { hasError: false, response: "Audit scheduled for users in Batch MailBatch1" });
                assert.deepStrictEqual((await post(`/${fam}/removefrombatch`, flat(tag))).json, { hasError: false, response: "User removed from batch" });
                // 2.15's parameter table spells it MigrationTag: taken too.
                await post(`/${fam}/addtobatch`, { ...auth({ migrationTag: tag }), batchName: "MailBatch1" });
                assert.deepStrictEqual((await post(`/${fam}/removefrombatch`, { consumerKey: KEY, consumerSecret: SECRET, MigrationTag: tag })).json,
                    { hasError: false, response: "User removed from batch" });
                assert.deepStrictEqual((await post(`/${fam}/deletebatch`, { ...auth(), batchName: "MailBatch1" })).json, { hasError: false, response: "Batch MailBatch1 deleted" });
                assert.deepStrictEqual((await get(`/${fam}/batch`)).response, []);
            });

            it("2.22-2.26: connectors, permissions, settings (both paths, three date formats)", async () => {
                for (const side of ["getallsourceconnectors", "getAllsourceconnectors", "getalltargetconnectors"]) {
                    const c = (await get(`/${fam}/${side}`)).response;
                    assert.ok(c.length > 0 && c.every((x: any) => typeof x.name === "string" && typeof x.type === "string"));
                }
                const types = (await get(`/${fam}/getallsourceconnectors`)).response.map((c: any) => c.type);
                for (const t of ["Zimbra", "IMAP", "Office 365", "Gmail", "Exchange", "Self Service"]) assert.ok(types.includes(t), t);
                await post(`/${fam}/createbatch`, { ...auth(), batchName: "MyBatchName" });
                const p = await post(`/${fam}/startpermissionmigrationbybatch`, { ...auth(), batchName: "MyBatchName" });
                assert.deepStrictEqual(p.json, { hasError: false, response: "Permissions migration of users in Batch 'MyBatchName' scheduled." });
                const body = {
                    FromDate: "01/05/2015", ToDate: "01/05/2017", ShouldMigrateMails: true, ShouldMigrateTrash: false, ShouldMigrateCalendars: false,
                    ShouldMigrateContacts: false, ShouldMigrateTasks: false, ShouldMigrateNotes: true, ShouldConvertEmailAddresses: false, ShouldConvertX500: false,
                    batch: { ...auth(), batchName: "MyBatchName" },
                };
                for (const path of ["setmailglobalsettingsbybatch", "setglobalsettingsbybatch"]) {
                    const s = await post(`/${fam}/${path}`, body);
                    assert.strictEqual(s.json.hasError, false);
                    assert.strictEqual(s.json.response, "Global settings set to the users of Batch: MyBatchName as follows {From Date :1/5/2015 12:00:00 AM, " +
                        "To Date :1/5/2017 12:00:00 AM, Migrate Emails : True, Migrate Trash : False, Migrate Calendars : False, Migrate Contacts : False, " +
                        "Migrate Notes : True, Migrate Tasks : False, Convert Email Addresses : False, Convert X500 Addresses : False}", "2.25: the sample's sentence");
                }
                for (const path of ["getmailglobalsettingsbybatch", "getglobalsettingsbybatch"]) {
                    const r = (await get(`/${fam}/${path}`, { batchName: "MyBatchName" })).response;
                    assert.strictEqual(r.fromDate, "2015-01-05T00:00:00", "MM/dd/yyyy in, ISO out");
                    assert.strictEqual(r.toDate, "2017-01-05T00:00:00");
                    assert.strictEqual(r.shouldMigrateMails, true);
                    assert.strictEqual(r.shouldMigrateNotes, true);
                    assert.strictEqual(r.shouldMigrateCalendars, false);
                }
                // the parameter table's misspelling is accepted too
                await post(`/${fam}/setmailglobalsettingsbybatch`, { ShouldMigratedMails: false, batch: { ...auth(), batchName: "MyBatchName" } });
                assert.strictEqual((await get(`/${fam}/getmailglobalsettingsbybatch`, { batchName: "MyBatchName" })).response.shouldMigrateMails, false);
            });
        });
    }

    it("mail and archive kinds hold separate users and batches", async () => {
        await post("/mailusers/create", { ...auth(), ...john });
        await post("/archivemailusers/createbatch", { ...auth(), batchName: "A" });
        assert.strictEqual((await get("/archivemailusers/getall")).response.length, 0);
        assert.deepStrictEqual((await get("/mailusers/batch")).response, []);
    });

    describe("vendor rules", () => {
        let tag: string;
        beforeEach(async () => {
            await post("/mailusers/create", { ...auth(), ...john });
            tag = (await get("/mailusers/migrationtag", { sourceEmail: john.sourceEmail, targetEmail: john.targetEmail })).response.trim();
            await post("/mailusers/createbatch", { ...auth(), batchName: "B1" });
            await post("/mailusers/createbatch", { ...auth(), batchName: "B2" });
        });
        const refused = async (p: Promise<{ json: any }>, re: RegExp) => {
            const { json } = await p;
            assert.strictEqual(json.hasError, true, JSON.stringify(json));
            assert.match(json.response, re);
        };
        it("a second user with the same source + target is refused (case and spaces ignored)", async () => {
            await refused(post("/mailusers/create", { ...auth(), ...john, sourceEmail: " SOURCE@source.com" }), /already exists/);
        });
        it("a user is in at most one batch", async () => {
            await post("/mailusers/addtobatch", { ...auth({ migrationTag: tag }), batchName: "B1" });
            await refused(post("/mailusers/addtobatch", { ...auth({ migrationTag: tag }), batchName: "B2" }), /already in batch 'B1'/);
            assert.strictEqual((await post("/mailusers/addtobatch", { ...auth({ migrationTag: tag }), batchName: "B1" })).json.hasError, false, "re-adding is fine");
        });
        it("batch names are unique; unknown tag, batch and connector are refused", async () => {
            await refused(post("/mailusers/createbatch", { ...auth(), batchName: "B1" }), /already exists/);
            await refused(post("/mailusers/start", flat("11111111-2222-3333-4444-555555555555")), /not found/);
            await refused(post("/mailusers/addtobatch", { ...auth({ migrationTag: tag }), batchName: "Nope" }), /Batch 'Nope' not found/);
            await refused(post("/mailusers/create", { ...auth(), ...john, sourceEmail: "x@y.com", sourceConnectorName: "Lotus" }), /Unknown source connector 'Lotus'/);
            const g = await get("/mailusers/getusersinbatch", { batchName: "Nope" });
            assert.strictEqual(g.hasError, true);
        });
        it("a batch with users cannot be deleted", async () => {
            await post("/mailusers/addtobatch", { ...auth({ migrationTag: tag }), batchName: "B1" });
            await refused(post("/mailusers/deletebatch", { ...auth(), batchName: "B1" }), /still has 1 user/);
        });
        it("permissions migration runs one batch at a time", async () => {
            await post("/mailusers/addtobatch", { ...auth({ migrationTag: tag }), batchName: "B1" });
            assert.strictEqual((await post("/mailusers/startpermissionmigrationbybatch", { ...auth(), batchName: "B1" })).json.hasError, false);
            await refused(post("/mailusers/startpermissionmigrationbybatch", { ...auth(), batchName: "B2" }), /already running for Batch 'B1'/);
            for (let i = 0; i < 3; i++) await control(emu).tick();
            assert.strictEqual((await post("/mailusers/startpermissionmigrationbybatch", { ...auth(), batchName: "B2" })).json.hasError, false);
            const u = (await state()).mail.users[0];
            assert.ok(u.statusHistory.includes("MAILPERMISSIONS_WORKING") && u.status === "MAILPERMISSIONS_DONE");
        });
        it("status names and numbers are the appendix's, in the emulator's table and in the client's", () => {
            const appendix = APPENDIX.trim().split(/\s*\n\s*/).map((l) => l.split(" ")).map(([n, name]) => [Number(n), name] as const);
            assert.strictEqual(appendix.length, 56);
            assert.deepStrictEqual(appendix.map(([n]) => n), [...Array(56).keys()]);
            const names = appendix.map(([, name]) => name);
            assert.deepStrictEqual([...STATUSES], names, "the emulator's table (emulator/statuses.ts)");
            assert.deepStrictEqual([...MIGRATION_STATUSES], names, "the client's table (provider/client/status.ts)");
            for (const [n, name] of appendix) assert.strictEqual(STATUS_NUMBER[name as keyof typeof STATUS_NUMBER], n, name);
            assert.strictEqual(STATUS_NUMBER.SHEDULEDINAGENT, 9);
            assert.strictEqual(STATUS_NUMBER.MAILPERMISSIONS_DONE, 38);
        });
    });

    describe("bad input: refused, never a crash, state unchanged", () => {
        const cases: [string, string, unknown, boolean?][] = [
            ["malformed JSON", "/mailusers/create", '{"auth": {', true],
            ["missing field", "/mailusers/create", { auth: { consumerKey: KEY, consumerSecret: SECRET }, firstName: "A" }],
            ["mistyped field", "/mailusers/create", { auth: { consumerKey: KEY, consumerSecret: SECRET }, ...john, firstName: 42 }],
            ["empty string", "/mailusers/create", { auth: { consumerKey: KEY, consumerSecret: SECRET }, ...john, lastName: "" }],
            ["bad email", "/mailusers/create", { auth: { consumerKey: KEY, consumerSecret: SECRET }, ...john, sourceEmail: "nope" }],
            ["FLAT shape where AUTH is required", "/mailusers/createbatch", { consumerKey: KEY, consumerSecret: SECRET, batchName: "X" }],
            ["AUTH shape where FLAT is required", "/mailusers/start", { auth: { consumerKey: KEY, consumerSecret: SECRET, migrationTag: "x" } }],
            ["settings without the nested batch", "/mailusers/setmailglobalsettingsbybatch", { ShouldMigrateMails: true, auth: { consumerKey: KEY, consumerSecret: SECRET }, batchName: "B" }],
            ["impossible date", "/mailusers/setmailglobalsettingsbybatch", { FromDate: "02/30/2020", batch: { auth: { consumerKey: KEY, consumerSecret: SECRET }, batchName: "B" } }],
            ["unknown settings field", "/mailusers/setmailglobalsettingsbybatch", { ShouldMigrateEverything: true, batch: { auth: { consumerKey: KEY, consumerSecret: SECRET }, batchName: "B" } }],
            ["a JSON array body", "/mailusers/createbatch", [1, 2, 3]],
            ["a 1 MB body", "/mailusers/createbatch", JSON.stringify({ auth: { consumerKey: KEY, consumerSecret: SECRET }, batchName: "x".repeat(1024 * 1024) }), true],
        ];
        for (const [name, path, body, raw] of cases) {
            it(name, async () => {
                await post("/mailusers/createbatch", { ...auth(), batchName: "B" });
                const before = JSON.stringify(await state());
                const r = await fetch(`${emu.url}${path}`, { method: "POST", headers: { "content-type": "application/json" }, body: raw ? (body as string) : JSON.stringify(body) });
                assert.ok(r.status === 200 || (r.status >= 400 && r.status < 500), `status ${r.status}`);
                const json = (await r.json()) as any;
                assert.strictEqual(json.hasError, true);
                assert.ok(typeof json.response === "string" && json.response.length > 5);
                assert.strictEqual(JSON.stringify(await state()), before, "state unchanged");
            });
        }
    });

    it("wrong credentials are refused on every call, and no answer echoes the secret", async () => {
        await post("/mailusers/create", { ...auth(), ...john });
        const tag = (await get("/mailusers/migrationtag", { sourceEmail: john.sourceEmail, targetEmail: john.targetEmail })).response.trim();
        await post("/mailusers/createbatch", { ...auth(), batchName: "B" });
        const before = JSON.stringify(await state());
        const bad = { consumerKey: KEY, consumerSecret: "wrong" };
        const gets = ["getall", "migrationtag", `${tag}/get`, `${tag}/status`, `${tag}/getmailhistory`, "batch", "getusersinbatch",
            "getallsourceconnectors", "getalltargetconnectors", "getmailglobalsettingsbybatch", "getglobalsettingsbybatch"];
        for (const g of gets) {
            const r = await fetch(`${emu.url}/mailusers/${g}?${new URLSearchParams({ ...bad, sourceEmail: john.sourceEmail, targetEmail: john.targetEmail, batchName: "B" })}`);
            const text = await r.text();
            assert.strictEqual(JSON.parse(text).hasError, true, g);
            assert.match(JSON.parse(text).response, /Authentication failed/, g);
            assert.ok(!text.includes(SECRET));
        }
        const flats = ["start", "stop", "audit", "license", `${tag}/license`, "delete", "removefrombatch", `${tag}/get`];
        for (const p of flats) {
            const r = await post(`/mailusers/${p}`, { ...bad, migrationTag: tag });
            assert.strictEqual(r.json.hasError, true, p);
            assert.match(r.json.response, /Authentication failed/, p);
        }
        const auths = ["create", "update", "addtobatch", "startbatch", "stopbatch", "createbatch", "deletebatch", "batchaudit", "startpermissionmigrationbybatch"];
        for (const p of auths) {
            const r = await post(`/mailusers/${p}`, { auth: { ...bad, migrationTag: tag }, ...john, batchName: "B" });
            assert.strictEqual(r.json.hasError, true, p);
            assert.match(r.json.response, /Authentication failed/, p);
        }
        for (const p of ["setmailglobalsettingsbybatch", "setglobalsettingsbybatch"]) {
            const r = await post(`/mailusers/${p}`, { ShouldMigrateMails: false, batch: { auth: bad, batchName: "B" } });
            assert.match(r.json.response, /Authentication failed/, p);
        }
        assert.strictEqual(JSON.stringify(await state()), before);
        const stats = await control(emu).stats();
        assert.ok(Object.keys(stats.byCall).length >= 26, "every call was tried");
    });
});

/** The appendix of the vendor's document ("List of statuses"), as printed: number, name (misspellings kept). */
const APPENDIX = `
    0 UNKNOWN
    1 NOTSTARTED
    2 WORKING
    3 ONERROR
    4 SUCCESS
    5 STOP
    6 PENDING
    7 SCHEDULED
    8 STOPPING
    9 SHEDULEDINAGENT
    10 WORKINGINAGENT
    11 PRE_PROCESSING
    12 PRE_PROCESSING_ERROR
    13 PRE_PROCESSING_PENDING
    14 PRE_PROCESSING_WORKING
    15 MAIL_SENT
    16 AUDIT
    17 AUDIT_ERROR
    18 AUDIT_DONE
    19 AUDIT_WORKING
    20 GET_SITES
    21 GET_SITES_ERROR
    22 GET_SITES_DONE
    23 GET_SITES_WORKING
    24 LICENSE_EXCEEDED
    25 GET_GROUPS_WORKING
    26 GET_GROUPS_DONE
    27 GET_GROUPS
    28 GET_GROUPS_ERROR
    29 ARCHIVESCHEDULED
    30 EXPORTINPROGRESS
    31 GET_SITES_AGENT
    32 AUDIT_SITES_AGENT
    33 SCHEDULED_SITES_AGENT
    34 WAITING_ROOT_SITE
    35 MAILPERMISSIONS_ERROR
    36 MAILPERMISSIONS_SCHEDULED
    37 MAILPERMISSIONS_WORKING
    38 MAILPERMISSIONS_DONE
    39 CALENDARPOSTPROCESS_ERROR
    40 CALENDARPOSTPROCESS_SCHEDULED
    41 CALENDARPOSTPROCESS_WORKING
    42 CALENDARPOSTPROCESS_DONE
    43 SHAREDMBXPREPROC_ERROR
    44 SHAREDMBXPREPROC_SCHEDULED
    45 SHAREDMBXPREPROC_WORKING
    46 SHAREDMBXPREPROC_DONE
    47 SCHEDULED_FILES_AGENT
    48 MAILROOMEQUIPEMENT_ERROR
    49 MAILROOMEQUIPEMENT_SCHEDULED
    50 MAILROOMEQUIPEMENT_WORKING
    51 MAILROOMEQUIPEMENT_DONE
    52 GETEXCHANGEGUIDS_ERROR
    53 GETEXCHANGEGUIDS_SCHEDULED
    54 GETEXCHANGEGUIDS_WORKING
    55 GETEXCHANGEGUIDS_DONE
`;
