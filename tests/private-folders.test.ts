/**
 * The journals and the shared list answers decide what is sent and what is deleted; their folders are
 * at predictable paths (a shared /tmp, PULUMI_HOME). A second local user is simulated by a folder or a
 * file planted before the first run (owned by another uid when the tests run as root, else open to
 * others' writes): it is refused or ignored, and nothing it holds is served or taken as evidence.
 * What this process writes is private: folders 0700, files 0600.
 */
import * as assert from "assert";
import { createHash } from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { ReadCache } from "../provider/runtime/readCache";
import { SharedReads } from "../provider/runtime/sharedReads";
import { Journal, scopedKey } from "../provider/runtime/journal";
import { mailUserModel } from "../provider/resources/mailUser";
import { distrust, readPrivate } from "../provider/runtime/privateFs";

const ROOT = process.getuid?.() === 0;
/** As another local user would leave it: theirs (as root: uid 65534), or writable by anyone. */
function planted(p: string, mode: number): void {
    if (ROOT) fs.chownSync(p, 65534, 65534);
    fs.chmodSync(p, mode);
}

describe("folders another local user could plant: refused or ignored, never trusted", () => {
    let tmp: string;
    beforeEach(() => { tmp = fs.mkdtempSync(path.join(os.tmpdir(), "cw-private-")); });
    afterEach(() => fs.rmSync(tmp, { recursive: true, force: true }));

    it("a planted shared-reads folder with a planted getall answer: the sharing is off and the API is asked", async () => {
        // Where this command's answers would go, worked out as the provider does.
        const mine = SharedReads.forCommand("https://a.example/api", "k", 60_000, path.join(tmp, "mine"))!;
        const name = path.basename(mine.dir);
        const base = path.join(tmp, "planted");
        fs.mkdirSync(path.join(base, name), { recursive: true });
        const lie = JSON.stringify({ at: Date.now(), key: "mail:getall", value: [{ migrationTag: "t1", status: "NOTSTARTED" }] });
        const file = path.join(base, name, `${createHash("sha256").update("mail:getall").digest("hex").slice(0, 32)}.json`);
        fs.writeFileSync(file, lie);
        planted(file, 0o666); planted(path.join(base, name), 0o777); planted(base, 0o777);
        assert.strictEqual(SharedReads.forCommand("https://a.example/api", "k", 60_000, base), undefined, "the planted folder is not used");
        let loads = 0;
        const cache = new ReadCache(60_000, SharedReads.forCommand("https://a.example/api", "k", 60_000, base));
        const got = await cache.get("mail:getall", async () => { loads++; return [{ migrationTag: "t1", status: "SUCCESS" }]; }, { share: true });
        assert.deepStrictEqual([loads, got], [1, [{ migrationTag: "t1", status: "SUCCESS" }]], "the answer comes from the API");
        assert.strictEqual(fs.readFileSync(file, "utf8"), lie, "and nothing is written into the planted folder");
    });

    it("a symbolic link at the folder's path is refused", () => {
        const target = path.join(tmp, "elsewhere");
        fs.mkdirSync(target, { mode: 0o700 });
        const link = path.join(tmp, "reads");
        fs.symlinkSync(target, link);
        assert.match(String(distrust(link)), /symbolic link/);
        assert.strictEqual(SharedReads.forCommand("u", "k", 60_000, link), undefined);
    });

    it("in this user's own folder, a planted or corrupt entry is read again from the API", async () => {
        const shared = SharedReads.forCommand("u", "k", 60_000, path.join(tmp, "reads"))!;
        shared.put("mail:batch", ["Wave 1"]);
        const file = path.join(shared.dir, fs.readdirSync(shared.dir)[0]);
        assert.strictEqual(fs.statSync(shared.dir).mode & 0o777, 0o700);
        assert.strictEqual(fs.statSync(file).mode & 0o777, 0o600);
        assert.deepStrictEqual(shared.get("mail:batch"), ["Wave 1"]);
        planted(file, 0o666); // another user's now (or writable by anyone)
        assert.strictEqual(shared.get("mail:batch"), undefined, "a foreign entry is not served");
        fs.rmSync(file);
        fs.writeFileSync(file, "{ not json", { mode: 0o600 });
        assert.strictEqual(shared.get("mail:batch"), undefined, "a corrupt entry is not served");
    });

    it("the create journal: its folder 0700 and files 0600; a planted record is no evidence of an orphan", async () => {
        const dir = path.join(tmp, "creates");
        const user = { sourceEmail: "ada@source.example", targetEmail: "ada@target.example", __stack: "organization/p/prod" };
        const key = scopedKey(mailUserModel, user)!;
        const j = new Journal(dir);
        await j.begin("MailUser", "mail", key);
        assert.strictEqual(fs.statSync(dir).mode & 0o777, 0o700);
        const [name] = fs.readdirSync(dir);
        assert.strictEqual(fs.statSync(path.join(dir, name)).mode & 0o777, 0o600);
        assert.ok(readPrivate(path.join(dir, name)));
        // A record planted by another user for the same key, in a journal folder it made.
        const other = path.join(tmp, "creates-planted");
        fs.mkdirSync(other);
        fs.writeFileSync(path.join(other, name), fs.readFileSync(path.join(dir, name)));
        planted(path.join(other, name), 0o666); planted(other, 0o777);
        const next = new Journal(other);
        await next.begin("MailUser", "mail", key);
        assert.strictEqual(next.isOrphan(mailUserModel, user, "some-tag"), false, "the planted record is not evidence: the create refuses instead of adopting");
        // The same record in this user's own folder is evidence (the control case).
        const again = new Journal(dir);
        await again.begin("MailUser", "mail", key);
        assert.strictEqual(again.isOrphan(mailUserModel, user, "some-tag"), true);
    });
});
