/**
 * The journal of this machine (provider/runtime/journal.ts): an object found existing at create is
 * adopted only when this machine began a create of it that never reached the engine's state.
 */
import * as assert from "assert";
import * as fs from "fs";
import * as http from "http";
import * as os from "os";
import * as path from "path";
import { Journal, JOURNAL_TTL_MS, journalDir, naturalKey } from "../provider/runtime/journal";
import { mailUserModel } from "../provider/resources/mailUser";
import { migrationRunModel } from "../provider/resources/migrationRun";
import { ada, installed } from "./helpers/provider";

describe("create journal", () => {
    let dir: string;
    beforeEach(() => { dir = fs.mkdtempSync(path.join(os.tmpdir(), "cw-journal-")); });
    afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

    const key = naturalKey(mailUserModel, { sourceEmail: " Ada@S.example ", targetEmail: "ada@t.example" })!;

    it("a create killed after it began marks the object as its own orphan for the next process", async () => {
        await new Journal(dir).begin("MailUser", "mail", key); // the killed process: begin, never end
        const next = new Journal(dir);
        assert.strictEqual(next.interrupted("MailUser", "mail", key, "tag-1"), false, "only a create that began looks");
        await next.begin("MailUser", "mail", key);
        assert.strictEqual(next.interrupted("MailUser", "mail", key, "tag-1"), true);
        assert.strictEqual(next.interrupted("MailUser", "archive", key, "tag-1"), false, "another kind is another object");
        assert.strictEqual(next.interrupted("MailBatch", "mail", key), false);
    });

    it("a create that got its id recognizes only that id; the record goes once the engine has the resource", async () => {
        const j = new Journal(dir);
        await j.begin("MailUser", "mail", key);
        await j.end("MailUser", "mail", key, { id: "tag-1" }); // answered, but the engine may not have saved it
        const next = new Journal(dir);
        await next.begin("MailUser", "mail", key);
        assert.strictEqual(next.interrupted("MailUser", "mail", key, "tag-1"), true);
        assert.strictEqual(next.interrupted("MailUser", "mail", key, "tag-2"), false, "someone else's object");
        await next.end("MailUser", "mail", key, { id: "tag-1" });
        next.forget("MailUser", "mail", key); // diff/read/delete: the state has it
        const later = new Journal(dir);
        await later.begin("MailUser", "mail", key);
        assert.strictEqual(later.interrupted("MailUser", "mail", key, "tag-1"), false);
    });

    it("a refused create leaves no record (or puts back the earlier one); an uncertain one keeps it", async () => {
        const j = new Journal(dir);
        await j.begin("MailBatch", "mail", "W1");
        await j.end("MailBatch", "mail", "W1", { refused: true });
        assert.deepStrictEqual(fs.readdirSync(dir), []);
        await j.begin("MailBatch", "mail", "W1");
        await j.end("MailBatch", "mail", "W1", { uncertain: true });
        const next = new Journal(dir);
        await next.begin("MailBatch", "mail", "W1");
        assert.strictEqual(next.interrupted("MailBatch", "mail", "W1"), true);
        await next.end("MailBatch", "mail", "W1", { refused: true });
        const again = new Journal(dir);
        await again.begin("MailBatch", "mail", "W1");
        assert.strictEqual(again.interrupted("MailBatch", "mail", "W1"), true, "the earlier intent was put back");
    });

    it("an intent older than the time limit is not evidence", async () => {
        let now = Date.parse("2026-01-01T00:00:00Z");
        new Journal(dir, () => now).begin("MailUser", "mail", key);
        now += JOURNAL_TTL_MS + 1000;
        const next = new Journal(dir, () => now);
        await next.begin("MailUser", "mail", key);
        assert.strictEqual(next.interrupted("MailUser", "mail", key, "tag-1"), false);
    });

    it("lives under the Pulumi home, keyed by API URL and consumer key, never the secret", () => {
        const d = journalDir({ apiUrl: "https://x.example/api", consumerKey: "k" }, { PULUMI_HOME: "/p" });
        assert.match(d, /^\/p\/cloudiway-creates\/[0-9a-f]{16}$/);
        assert.notStrictEqual(d, journalDir({ apiUrl: "https://x.example/api", consumerKey: "k2" }, { PULUMI_HOME: "/p" }));
        assert.strictEqual(journalDir({ apiUrl: "u", consumerKey: "k" }, { CLOUDIWAY_JOURNAL_DIR: "/j" }).startsWith("/j/"), true);
        assert.strictEqual(naturalKey(migrationRunModel, { batchName: "x" }), undefined);
    });

    it("a MailUser create: its intent record is on disk before the API hears of it, its id after the answer", async () => {
        // An API that looks at the journal (a folder per API URL and key, under CLOUDIWAY_JOURNAL_DIR) when the
        // create arrives, and answers the tag's look-up.
        const records = () => fs.readdirSync(dir).flatMap((sub) => fs.readdirSync(path.join(dir, sub)).map((n) => JSON.parse(fs.readFileSync(path.join(dir, sub, n), "utf8"))));
        const seenAtCreate: any[][] = [];
        const server = http.createServer((req, res) => {
            const answer = (response: unknown) => { res.writeHead(200, { "content-type": "application/json" }); res.end(JSON.stringify({ hasError: false, response })); };
            req.resume().on("end", () => {
                if (req.url?.startsWith("/mailusers/create")) {
                    seenAtCreate.push(records());
                    return answer("User created");
                }
                if (req.url?.startsWith("/mailusers/migrationtag")) return answer("tag-ada");
                res.writeHead(404).end();
            });
        });
        await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
        const saved = process.env.CLOUDIWAY_JOURNAL_DIR;
        process.env.CLOUDIWAY_JOURNAL_DIR = dir;
        try {
            const url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
            const target = installed("MailUser", { "cloudiway:apiUrl": url, "cloudiway:consumerKey": "demo-key", "cloudiway:consumerSecret": "demo-secret" });
            const r = await target.create({ ...ada, __stack: "organization/p/prod" });
            assert.strictEqual(r.id, "tag-ada");
            assert.strictEqual(seenAtCreate.length, 1);
            assert.deepStrictEqual(seenAtCreate[0].map((e) => [e.type, e.id]), [["MailUser", undefined]], "the intent was written before the create was sent");
            assert.deepStrictEqual(records().map((e) => e.id), ["tag-ada"], "the id is recorded once the create answered");
        } finally {
            if (saved === undefined) delete process.env.CLOUDIWAY_JOURNAL_DIR; else process.env.CLOUDIWAY_JOURNAL_DIR = saved;
            await new Promise((r) => server.close(r));
        }
    });
});
