/**
 * The client: retry rules, Retry-After, backoff, envelope parsing and redaction
 * against small local servers; every call against the emulator, both kinds.
 */
import * as assert from "assert";
import * as http from "http";
import { AddressInfo } from "net";
import { startEmulator } from "../emulator";
import {
    CloudiwayApiError, CloudiwayClient, CloudiwayConflictError, CloudiwayHttpError, CloudiwayNetworkError, CloudiwayNotFoundError,
    Transport, backoffMs, historyDateToIso, isoToVendorDate, parseRetryAfter, redactBody, redactUrl, shouldRetry, statusName, vendorIsoToDate,
} from "../provider/client";
import { z } from "zod";
import type { Emu } from "./helpers/emu";

const SECRET = "Unit-S3cret-77";

async function server(handler: (req: http.IncomingMessage, res: http.ServerResponse, n: number) => void) {
    let n = 0;
    const s = http.createServer((req, res) => { n++; req.resume(); req.on("end", () => handler(req, res, n)); });
    await new Promise<void>((r) => s.listen(0, "127.0.0.1", () => r()));
    const url = `http://127.0.0.1:${(s.address() as AddressInfo).port}/api`;
    return { url, count: () => n, close: () => new Promise<void>((r) => { s.closeAllConnections(); s.close(() => r()); }) };
}
const transport = (url: string, extra: object = {}) =>
    new Transport({ apiUrl: url, consumerKey: "key", consumerSecret: SECRET, retry: { maxAttempts: 4, baseDelayMs: 5, maxDelayMs: 50 }, timeoutMs: 500, ...extra });

describe("client: transport rules", () => {
    it("shouldRetry: 429/503 always, 5xx and unknown outcomes only when safe, refusals never", () => {
        const a = (o: object) => ({ attempt: 1, maybeSent: true, ...o });
        assert.strictEqual(shouldRetry(a({ status: 429 }), "unsafe", 6), true);
        assert.strictEqual(shouldRetry(a({ status: 503 }), "unsafe", 6), true);
        assert.strictEqual(shouldRetry(a({ status: 500 }), "safe", 6), true);
        assert.strictEqual(shouldRetry(a({ status: 500 }), "unsafe", 6), false);
        assert.strictEqual(shouldRetry(a({ status: 400 }), "safe", 6), false);
        assert.strictEqual(shouldRetry(a({ code: "ECONNREFUSED", maybeSent: false }), "unsafe", 6), true);
        assert.strictEqual(shouldRetry(a({ code: "ECONNRESET" }), "unsafe", 6), false);
        assert.strictEqual(shouldRetry(a({ code: "ECONNRESET" }), "safe", 6), true);
        assert.strictEqual(shouldRetry({ attempt: 6, status: 429, maybeSent: true }, "safe", 6), false);
    });
    it("backoff: exponential, capped, jittered; Retry-After wins (capped)", () => {
        assert.strictEqual(backoffMs(1, 100, 1000, undefined, () => 0.999), 99);
        assert.strictEqual(backoffMs(5, 100, 1000, undefined, () => 0.999), 999);
        assert.strictEqual(backoffMs(20, 100, 1000, undefined, () => 0.5), 500);
        assert.strictEqual(backoffMs(1, 100, 1000, 300), 300);
        assert.strictEqual(backoffMs(1, 100, 1000, 60_000), 1000);
        assert.strictEqual(parseRetryAfter("2"), 2000);
        assert.strictEqual(parseRetryAfter(new Date(Date.now() + 5000).toUTCString(), Date.now()) ! > 3000, true);
    });
    it("honours Retry-After on 429 and then succeeds", async () => {
        const times: number[] = [];
        const s = await server((_q, res, n) => {
            times.push(Date.now());
            if (n === 1) { res.writeHead(429, { "retry-after": "0.2" }); res.end("{}"); return; }
            res.end(JSON.stringify({ hasError: false, response: ["a"] }));
        });
        try {
            const t = transport(s.url, { retry: { maxAttempts: 3, baseDelayMs: 1, maxDelayMs: 5000 } });
            assert.deepStrictEqual(await t.get("x", "/mailusers/batch", {}, z.array(z.string())), ["a"]);
            assert.ok(times[1] - times[0] >= 180, `waited ${times[1] - times[0]} ms`);
            await t.close();
        } finally { await s.close(); }
    });
    it("does not repeat an unsafe POST after a 500; repeats a safe one", async () => {
        const s = await server((_q, res) => { res.writeHead(500); res.end("{}"); });
        try {
            const t = transport(s.url);
            await assert.rejects(t.post("start", "/mailusers/start", {}, z.string(), { mode: "unsafe" }), CloudiwayHttpError);
            assert.strictEqual(s.count(), 1);
            await assert.rejects(t.post("update", "/mailusers/update", {}, z.string(), { mode: "safe" }), CloudiwayHttpError);
            assert.strictEqual(s.count(), 1 + 4);
            await t.close();
        } finally { await s.close(); }
    });
    it("a timeout is a network error whose outcome is unknown", async () => {
        const s = await server(() => { /* never answers */ });
        try {
            const t = transport(s.url, { timeoutMs: 200, retry: { maxAttempts: 1 } });
            await assert.rejects(t.post("start", "/mailusers/start", {}, z.string(), { mode: "unsafe" }), (e: any) => e instanceof CloudiwayNetworkError && e.maybeApplied);
            await t.close();
        } finally { await s.close(); }
    });
    it("takes a failure's message from whatever string the envelope has, and classifies it", async () => {
        const bodies = [
            { hasError: true, response: "User not found: unknown migration tag 'x'" },
            { hasError: true, error: "Batch 'B' already exists" },
            { hasError: true, ErrorString: "Something odd" },
            { hasError: true, detail: { code: 7 } },
            { hasError: true },
        ];
        const s = await server((_q, res, n) => res.end(JSON.stringify(bodies[n - 1])));
        try {
            const t = transport(s.url);
            const get = () => t.get("c", "/mailusers/batch", {}, z.any());
            await assert.rejects(get(), (e: any) => e instanceof CloudiwayNotFoundError && /unknown migration tag/.test(e.message));
            await assert.rejects(get(), (e: any) => e instanceof CloudiwayConflictError && /already exists/.test(e.vendorMessage ?? ""));
            await assert.rejects(get(), (e: any) => e instanceof CloudiwayApiError && /Something odd/.test(e.message));
            await assert.rejects(get(), (e: any) => e instanceof CloudiwayApiError && /code/.test(e.message));
            await assert.rejects(get(), (e: any) => e instanceof CloudiwayApiError && /no message/.test(e.message));
            assert.strictEqual(s.count(), 5, "refusals are never retried");
            await t.close();
        } finally { await s.close(); }
    });
    it("redacts URLs, bodies, and error messages", async () => {
        assert.strictEqual(redactUrl(`http://h/api/x?consumerKey=abcdef&consumerSecret=${SECRET}&b=1`), "http://h/api/x?consumerKey=abc***&consumerSecret=[REDACTED]&b=1");
        assert.deepStrictEqual(redactBody({ batch: { auth: { consumerKey: "abcdef", consumerSecret: SECRET } } }), { batch: { auth: { consumerKey: "abc***", consumerSecret: "[REDACTED]" } } });
        const s = await server((req, res) => res.end(JSON.stringify({ hasError: true, response: `bad secret ${SECRET} in ${req.url}` })));
        try {
            const t = transport(s.url);
            const err: any = await t.get("c", "/mailusers/batch", {}, z.any()).then(() => assert.fail("a hasError answer must fail the call"), (e) => e);
            assert.ok(err instanceof CloudiwayApiError, `a CloudiwayApiError, not ${err}`);
            assert.match(err.message, /hasError\): bad secret \[REDACTED\] in \//, "the vendor's message is kept, the secret replaced");
            const everything = `${err.message}\n${err.stack}\n${JSON.stringify(err)}\n${require("util").inspect(err, { depth: 9 })}`;
            assert.ok(!everything.includes(SECRET), everything);
            await t.close();
        } finally { await s.close(); }
    });
    it("date helpers: ISO <-> MM/dd/yyyy, ISO datetime, history dd/MM/yyyy", () => {
        assert.strictEqual(isoToVendorDate("2015-01-05"), "01/05/2015");
        assert.strictEqual(vendorIsoToDate("2015-01-05T00:00:00"), "2015-01-05");
        assert.strictEqual(vendorIsoToDate(null), null);
        assert.strictEqual(historyDateToIso("23/10/2018 14:45:00"), "2018-10-23T14:45:00Z");
        assert.strictEqual(statusName(15), "MAIL_SENT");
        assert.strictEqual(statusName("working"), "WORKING");
    });
});

describe("client: every call against the emulator", () => {
    let emu: Emu;
    let c: CloudiwayClient;
    before(async () => {
        emu = await startEmulator({ port: 0, consumerKey: "k", consumerSecret: SECRET });
        c = new CloudiwayClient({ apiUrl: emu.url, consumerKey: "k", consumerSecret: SECRET });
    });
    after(async () => { await c.close(); await emu.close(); });

    for (const kind of ["mail", "archive"] as const) {
        it(`${kind}: users, batches, actions, settings, connectors`, async () => {
            const fields = { firstName: "Ada", lastName: "L", sourceEmail: `ada.${kind}@s.example`, targetEmail: `ada.${kind}@t.example`, sourceConnectorName: "IMAP", targetConnectorName: "Office 365" };
            const { migrationTag: tag } = await c.createUser(kind, fields);
            assert.strictEqual(await c.getMigrationTag(kind, fields.sourceEmail, fields.targetEmail), tag);
            assert.strictEqual(await c.getMigrationTag(kind, "no@s.example", "no@t.example"), undefined);
            assert.strictEqual((await c.getUser(kind, tag))!.firstName, "Ada");
            assert.strictEqual(await c.getUser(kind, "11111111-2222-3333-4444-555555555555"), undefined);
            await c.updateUser(kind, tag, { ...fields, lastName: "Lovelace" });
            assert.strictEqual((await c.getAllUsers(kind)).find((u) => u.migrationTag === tag)!.lastName, "Lovelace");
            await c.assignLicense(kind, tag);
            await c.createBatch(kind, "CB");
            assert.ok((await c.listBatches(kind)).includes("CB"));
            await c.addToBatch(kind, tag, "CB");
            assert.deepStrictEqual(await c.getUsersInBatch(kind, "CB"), [tag]);
            await c.setGlobalSettings(kind, "CB", {
                shouldMigrateMails: true, shouldMigrateTrash: false, shouldMigrateCalendars: true, shouldMigrateContacts: false, shouldMigrateTasks: true,
                shouldMigrateNotes: false, shouldMigrateJournals: false, shouldConvertEmailAddresses: true, shouldConvertX500: false, fromDate: "2020-02-29", toDate: null,
            });
            const s = await c.getGlobalSettings(kind, "CB");
            assert.strictEqual(s.fromDate, "2020-02-29");
            assert.strictEqual(s.shouldMigrateContacts, false);
            assert.match(await c.auditUser(kind, tag), /Audit scheduled/);
            assert.match(await c.startUser(kind, tag), /User scheduled/);
            assert.strictEqual(await c.getStatus(kind, tag), "SUCCESS");
            const h = await c.getMailHistory(kind, tag);
            assert.strictEqual(h.length, 1);
            assert.match(h[0].startIso, /^\d{4}-\d{2}-\d{2}T/);
            assert.match(await c.stopUser(kind, tag), /User stopped/);
            assert.match(await c.startBatch(kind, "CB"), /Batch CB started/);
            assert.match(await c.stopBatch(kind, "CB"), /Batch CB stopped/);
            assert.match(await c.auditBatch(kind, "CB"), /Audit scheduled for users in Batch CB/);
            assert.match(await c.startPermissionMigrationByBatch(kind, "CB"), /Permissions migration of users in Batch 'CB' scheduled/);
            assert.ok((await c.getSourceConnectors(kind)).some((x) => x.type === "Self Service"));
            assert.ok((await c.getTargetConnectors(kind)).length > 0);
            await c.removeFromBatch(kind, tag);
            await c.deleteBatch(kind, "CB");
            await c.deleteUser(kind, tag);
            assert.strictEqual(await c.getUser(kind, tag), undefined);
            await assert.rejects(c.deleteUser(kind, tag), CloudiwayNotFoundError);
        });
    }
});
