/**
 * The journal of this machine (provider/runtime/journal.ts): an object found existing at create is
 * adopted only when this machine began a create of it that never reached the engine's state.
 */
import * as assert from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { Journal, JOURNAL_TTL_MS, journalDir, naturalKey } from "../provider/runtime/journal";
import { mailUserModel } from "../provider/resources/mailUser";
import { migrationRunModel } from "../provider/resources/migrationRun";

describe("create journal", () => {
    let dir: string;
    beforeEach(() => { dir = fs.mkdtempSync(path.join(os.tmpdir(), "cw-journal-")); });
    afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

    const key = naturalKey(mailUserModel, { sourceEmail: " Ada@S.example ", targetEmail: "ada@t.example" })!;

    it("a create killed after it began marks the object as its own orphan for the next process", () => {
        new Journal(dir).begin("MailUser", "mail", key); // the killed process: begin, never end
        const next = new Journal(dir);
        assert.strictEqual(next.interrupted("MailUser", "mail", key, "tag-1"), false, "only a create that began looks");
        next.begin("MailUser", "mail", key);
        assert.strictEqual(next.interrupted("MailUser", "mail", key, "tag-1"), true);
        assert.strictEqual(next.interrupted("MailUser", "archive", key, "tag-1"), false, "another kind is another object");
        assert.strictEqual(next.interrupted("MailBatch", "mail", key), false);
    });

    it("a create that got its id recognizes only that id; the record goes once the engine has the resource", () => {
        const j = new Journal(dir);
        j.begin("MailUser", "mail", key);
        j.end("MailUser", "mail", key, { id: "tag-1" }); // answered, but the engine may not have saved it
        const next = new Journal(dir);
        next.begin("MailUser", "mail", key);
        assert.strictEqual(next.interrupted("MailUser", "mail", key, "tag-1"), true);
        assert.strictEqual(next.interrupted("MailUser", "mail", key, "tag-2"), false, "someone else's object");
        next.end("MailUser", "mail", key, { id: "tag-1" });
        next.forget("MailUser", "mail", key); // diff/read/delete: the state has it
        const later = new Journal(dir);
        later.begin("MailUser", "mail", key);
        assert.strictEqual(later.interrupted("MailUser", "mail", key, "tag-1"), false);
    });

    it("a refused create leaves no record (or puts back the earlier one); an uncertain one keeps it", () => {
        const j = new Journal(dir);
        j.begin("MailBatch", "mail", "W1");
        j.end("MailBatch", "mail", "W1", { refused: true });
        assert.deepStrictEqual(fs.readdirSync(dir), []);
        j.begin("MailBatch", "mail", "W1");
        j.end("MailBatch", "mail", "W1", { uncertain: true });
        const next = new Journal(dir);
        next.begin("MailBatch", "mail", "W1");
        assert.strictEqual(next.interrupted("MailBatch", "mail", "W1"), true);
        next.end("MailBatch", "mail", "W1", { refused: true });
        const again = new Journal(dir);
        again.begin("MailBatch", "mail", "W1");
        assert.strictEqual(again.interrupted("MailBatch", "mail", "W1"), true, "the earlier intent was put back");
    });

    it("an intent older than the time limit is not evidence", () => {
        let now = Date.parse("2026-01-01T00:00:00Z");
        new Journal(dir, () => now).begin("MailUser", "mail", key);
        now += JOURNAL_TTL_MS + 1000;
        const next = new Journal(dir, () => now);
        next.begin("MailUser", "mail", key);
        assert.strictEqual(next.interrupted("MailUser", "mail", key, "tag-1"), false);
    });

    it("lives under the Pulumi home, keyed by API URL and consumer key, never the secret", () => {
        const d = journalDir({ apiUrl: "https://x.example/api", consumerKey: "k" }, { PULUMI_HOME: "/p" });
        assert.match(d, /^\/p\/cloudiway-creates\/[0-9a-f]{16}$/);
        assert.notStrictEqual(d, journalDir({ apiUrl: "https://x.example/api", consumerKey: "k2" }, { PULUMI_HOME: "/p" }));
        assert.strictEqual(journalDir({ apiUrl: "u", consumerKey: "k" }, { CLOUDIWAY_JOURNAL_DIR: "/j" }).startsWith("/j/"), true);
        assert.strictEqual(naturalKey(migrationRunModel, { batchName: "x" }), undefined);
    });
});
