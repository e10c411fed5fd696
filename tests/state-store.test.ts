/**
 * The stores the run journal keeps beside the state (provider/runtime/stateStore.ts,
 * azureBlobStore.ts), on Azurite with a key and with a SAS token only: records written, read,
 * listed and removed; a missing record reads as absent and nothing else does (bad credentials, an
 * unreachable service, a folder that is not this user's throw, with no secret in the message); the
 * backend is found as the engine finds it; a backend without a usable store is said once per command.
 */
import * as assert from "assert";
import { execFile } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { ContainerSASPermissions, StorageSharedKeyCredential, generateBlobSASQueryParameters } from "@azure/storage-blob";
import { BoundedCredential } from "../provider/runtime/azureBlobStore";
import { DirStore, RecordStore, backendUrl, chooseStateStore } from "../provider/runtime/stateStore";
import { Azurite, startAzurite } from "../scripts/azurite";

/** Another valid-looking key (not the account's). */
const WRONG_KEY = Buffer.alloc(64, 7).toString("base64");

async function roundTrip(s: RecordStore): Promise<void> {
    assert.strictEqual(await s.get("a.json"), undefined, "a record never written reads as absent");
    assert.deepStrictEqual(await s.list(), []);
    await s.put("a.json", '{"x":1}');
    await s.put("b.json", '{"y":2}');
    assert.strictEqual(await s.get("a.json"), '{"x":1}');
    await s.put("a.json", '{"x":3}');
    assert.strictEqual(await s.get("a.json"), '{"x":3}', "a record is replaced");
    assert.deepStrictEqual((await s.list()).sort(), ["a.json", "b.json"]);
    await s.remove("a.json");
    await s.remove("a.json"); // removing what is gone succeeds
    assert.strictEqual(await s.get("a.json"), undefined);
    assert.deepStrictEqual(await s.list(), ["b.json"]);
}

/** Asserts `p` rejects with a message that says where and matches `what`, and holds none of `secrets`. */
async function rejectsWithout(p: Promise<unknown>, what: RegExp, secrets: string[]): Promise<string> {
    let msg = "";
    await assert.rejects(p, (e: Error) => { msg = e.message; return true; });
    assert.match(msg, what);
    for (const s of secrets) assert.ok(!msg.includes(s), `the message holds a secret: ${msg}`);
    assert.doesNotMatch(msg, /sig=(?!\[redacted\])/, msg);
    return msg;
}

describe("state stores: the run journal's records beside the state", function () {
    this.timeout(120_000);
    let az: Azurite;
    let url: string;
    before(async () => {
        az = await startAzurite({ quiet: true });
        url = await az.backendUrl("state");
    });
    after(async () => { await az?.close(); });

    let scope = "scope-1/org%2Fp%2Fs";
    beforeEach(function () { scope = `${this.currentTest!.title.slice(0, 12).replace(/\W/g, "-")}/org%2Fp%2Fs`; });
    const choose = (env: Record<string, string>, u = url) => chooseStateStore(scope, { PULUMI_BACKEND_URL: u, HOME: os.tmpdir(), AZURE_CONFIG_DIR: "/nonexistent", ...env }, os.tmpdir());

    it("with the account key: put, get, list, remove; records under .pulumi-cloudiway/ of the container, or of the backend's folder", async () => {
        const c = choose(az.env);
        assert.strictEqual(c.kind, "azblob-key");
        assert.strictEqual(c.note, undefined);
        await roundTrip(c.store!);
        assert.deepStrictEqual((await az.list("state")).filter((n) => n.startsWith(".pulumi-cloudiway/")), [`.pulumi-cloudiway/${scope}/b.json`]);
        // azblob://state/team-a: the engine keeps the state under team-a/, the records go beside it.
        const sub = choose(az.env, url.replace("azblob://state?", "azblob://state/team-a?"));
        await sub.store!.put("c.json", "{}");
        assert.ok((await az.list("state")).includes(`team-a/.pulumi-cloudiway/${scope}/c.json`));
    });

    it("with a SAS token only (no key): put, get, list, remove", async () => {
        const env = az.sasEnv("state");
        assert.strictEqual(env.AZURE_STORAGE_KEY, undefined);
        const c = choose(env);
        assert.strictEqual(c.kind, "azblob-sas");
        await roundTrip(c.store!);
        // A token given with its leading "?" works too.
        assert.strictEqual(await choose({ ...env, AZURE_STORAGE_SAS_TOKEN: `?${env.AZURE_STORAGE_SAS_TOKEN}` }).store!.get("b.json"), '{"y":2}');
    });

    it("a container that does not exist: get is absent, list empty", async () => {
        const c = choose(az.env, url.replace("azblob://state?", "azblob://nowhere?"));
        assert.strictEqual(await c.store!.get("a.json"), undefined);
        assert.deepStrictEqual(await c.store!.list(), []);
    });

    it("bad credentials throw (never 'absent'), saying where and what, with no key or signature in the message", async () => {
        await choose(az.env).store!.put("held.json", "{}");
        const badKey = choose({ ...az.env, AZURE_STORAGE_KEY: WRONG_KEY }).store!;
        const m1 = await rejectsWithout(badKey.get("held.json"), /azblob:\/\/state\/\.pulumi-cloudiway\/.*read held\.json: HTTP 403/, [WRONG_KEY, az.key]);
        assert.match(m1, /azblob-key at http:\/\/127\.0\.0\.1:\d+\/devstoreaccount1/);
        await rejectsWithout(badKey.get("never.json"), /HTTP 403/, [WRONG_KEY]); // even for a missing record
        await rejectsWithout(badKey.put("x.json", "{}"), /write x\.json: HTTP 403/, [WRONG_KEY]);
        await rejectsWithout(badKey.list(), /list: HTTP 403/, [WRONG_KEY]);
        // A SAS token signed with another key, and one for another container.
        const forged = generateBlobSASQueryParameters({ containerName: "state", permissions: ContainerSASPermissions.parse("racwdl"), expiresOn: new Date(Date.now() + 3600_000) },
            new StorageSharedKeyCredential(az.account, WRONG_KEY)).toString();
        const sig = new URLSearchParams(forged).get("sig")!;
        await rejectsWithout(choose({ AZURE_STORAGE_ACCOUNT: az.account, AZURE_STORAGE_SAS_TOKEN: forged }).store!.get("held.json"), /read held\.json: HTTP 403/, [forged, sig]);
        const other = az.sasToken("another");
        await rejectsWithout(choose({ AZURE_STORAGE_ACCOUNT: az.account, AZURE_STORAGE_SAS_TOKEN: other }).store!.get("held.json"), /HTTP 403/, [other, new URLSearchParams(other).get("sig")!]);
    });

    it("a service that cannot be reached throws", async () => {
        const c = choose(az.env, "azblob://state?localemu=true&domain=127.0.0.1:9&protocol=http");
        await rejectsWithout(c.store!.get("a.json"), /azblob:\/\/state\/.*read a\.json: .*(ECONNREFUSED|connect)/i, [az.key]);
    });

    it("no usable credentials: no store, and a warning that names what to set", () => {
        const none = choose({ AZURE_STORAGE_ACCOUNT: az.account });
        assert.strictEqual(none.store, undefined);
        assert.strictEqual(none.note?.severity, "warning");
        assert.match(none.note!.message, /AZURE_STORAGE_KEY or AZURE_STORAGE_SAS_TOKEN/);
        assert.match(none.note!.message, /AZURE_CLIENT_ID/);
        assert.match(none.note!.message, /az login/);
        assert.match(choose({}).note!.message, /AZURE_STORAGE_ACCOUNT is not set/);
        assert.strictEqual(choose({ AZURE_STORAGE_KEY: az.key }).store, undefined, "a key without its account is not used (as the engine)");
    });

    it("an Azure AD identity that gives no token: the store throws without the secret, and says so once", async () => {
        const secret = "not-a-real-client-secret-value";
        const saved = { ...process.env };
        Object.assign(process.env, { AZURE_TOKEN_CREDENTIALS: "EnvironmentCredential", AZURE_TENANT_ID: "00000000-0000-0000-0000-000000000000", AZURE_CLIENT_ID: "00000000-0000-0000-0000-000000000001", AZURE_CLIENT_SECRET: secret, AZURE_AUTHORITY_HOST: "http://127.0.0.1:9" });
        try {
            const failures: string[] = [];
            // Bearer tokens go over https only: the address is never reached, the token fails first.
            const c = chooseStateStore("s", { ...process.env, PULUMI_BACKEND_URL: "azblob://state?localemu=true&domain=127.0.0.1:9&protocol=https", AZURE_STORAGE_ACCOUNT: az.account, AZURE_STORAGE_KEY: "" }, os.tmpdir(), (e) => failures.push(e.message));
            assert.strictEqual(c.kind, "azblob-identity");
            await rejectsWithout(c.store!.get("a.json"), /read a\.json: .*no Azure AD token/, [secret]);
            await rejectsWithout(c.store!.put("a.json", "{}"), /no Azure AD token/, [secret]);
            assert.strictEqual(failures.length, 1, "told once");
        } finally {
            for (const k of Object.keys(process.env)) if (!(k in saved)) delete process.env[k];
            Object.assign(process.env, saved);
        }
    });

    it("a token request that hangs is cut at the bound, and not waited for again", async () => {
        const told: string[] = [];
        const cred = new BoundedCredential({ getToken: () => new Promise(() => undefined) }, 200, (e) => told.push(e.message));
        await assert.rejects(cred.getToken("scope"), /no Azure AD token within 0\.2 s/);
        const t = Date.now();
        await assert.rejects(cred.getToken("scope"), /no Azure AD token/);
        assert.ok(Date.now() - t < 100, "the second request fails at once");
        assert.strictEqual(told.length, 1);
    });
});

describe("state stores: the backend, as the engine finds it", () => {
    let dir: string;
    beforeEach(() => { dir = fs.mkdtempSync(path.join(os.tmpdir(), "cw-backend-")); });
    afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

    it("PULUMI_BACKEND_URL, then Pulumi.yaml's backend.url (from a folder below the project too), then the login in PULUMI_HOME", () => {
        const home = path.join(dir, "home");
        fs.mkdirSync(home);
        fs.writeFileSync(path.join(home, "credentials.json"), JSON.stringify({ current: "file:///from-login" }));
        const project = path.join(dir, "project");
        fs.mkdirSync(path.join(project, "src"), { recursive: true });
        fs.writeFileSync(path.join(project, "Pulumi.yaml"), "name: p\nruntime: nodejs\nbackend:\n  url: azblob://from-project\n");
        assert.strictEqual(backendUrl({ PULUMI_BACKEND_URL: "file:///from-env", PULUMI_HOME: home }, project), "file:///from-env");
        assert.strictEqual(backendUrl({ PULUMI_HOME: home }, path.join(project, "src")), "azblob://from-project");
        assert.strictEqual(backendUrl({ PULUMI_HOME: home }, dir), "file:///from-login");
        assert.strictEqual(backendUrl({ PULUMI_HOME: path.join(dir, "nohome") }, dir), undefined);
        // A file backend named in Pulumi.yaml keeps the records beside its state.
        fs.writeFileSync(path.join(project, "Pulumi.yaml"), `name: p\nruntime: nodejs\nbackend:\n  url: file://${path.join(dir, "state")}\n`);
        const c = chooseStateStore("s", { PULUMI_HOME: home }, project);
        assert.strictEqual(c.kind, "file");
        assert.strictEqual((c.store as DirStore).dir, path.join(dir, "state", ".pulumi-cloudiway", "s"));
    });

    it("Pulumi Cloud, s3, gs: no store, and a note of what holds there", () => {
        for (const [u, shown] of [[undefined, /Pulumi Cloud/], ["https://api.pulumi.com", /https:\/\/api\.pulumi\.com/], ["s3://bucket?region=x", /s3:\/\/bucket(?!\?)/], ["gs://b/p", /gs:\/\/b\/p/]] as const) {
            const c = chooseStateStore("s", { PULUMI_HOME: path.join(dir, "nohome"), ...(u ? { PULUMI_BACKEND_URL: u } : {}) }, dir);
            assert.strictEqual(c.store, undefined);
            assert.strictEqual(c.kind, "none");
            assert.strictEqual(c.note?.severity, "info");
            assert.match(c.note!.message, shown);
            assert.match(c.note!.message, /journaled on this machine only/);
            assert.doesNotMatch(c.note!.message, /region=/);
        }
    });

    it("a file store reads a missing record as absent, and refuses a folder or file that is not this user's own", async () => {
        const s = new DirStore(path.join(dir, "records"));
        assert.strictEqual(await s.get("a.json"), undefined, "no folder yet");
        await s.put("a.json", "{}");
        assert.strictEqual(await s.get("b.json"), undefined);
        fs.chmodSync(path.join(dir, "records", "a.json"), 0o666);
        await assert.rejects(s.get("a.json"), /records: read a\.json: has mode 666/);
        fs.chmodSync(path.join(dir, "records"), 0o755);
        await assert.rejects(s.get("b.json"), /read b\.json: the folder has mode 755/);
        await assert.rejects(s.list(), /has mode 755/);
    });

    it("said once per pulumi command: the command's second provider process does not repeat it", async () => {
        const base = path.join(dir, "notes");
        const script = `const { sayOncePerCommand } = require(${JSON.stringify(path.join(__dirname, "..", "provider", "runtime", "stateStore.js"))});` +
            `sayOncePerCommand("warning", "the same note", ${JSON.stringify(base)}); sayOncePerCommand("warning", "the same note", ${JSON.stringify(base)});`;
        const run = () => new Promise<string>((resolve, reject) => execFile(process.execPath, ["-e", script], (err, _out, stderr) => (err ? reject(err) : resolve(stderr))));
        const first = await run(); // two processes of one command (both children of this one)
        const second = await run();
        assert.strictEqual((first + second).split("warning: the same note").length - 1, 1, first + second);
    });
});
