/**
 * Records kept beside the stack's state, in the store the engine itself uses: a fast-mode `up`
 * (PULUMI_SKIP_CHECKPOINTS) that is killed after a MigrationRun was sent and before the engine
 * saved it leaves no trace in the state; the next `up` may run on another machine (a fresh CI
 * runner), after the passes ended, when Cloudiway no longer shows the action under way. The run
 * journal (runJournal.ts) therefore writes its records where every runner of the stack reads:
 *  - `file://<dir>` backends: `<dir>/.pulumi-cloudiway/` (a private 0700 folder, files 0600);
 *  - `azblob://<container>` backends: blobs under `.pulumi-cloudiway/` in that container, signed
 *    with the account key the engine uses (AZURE_STORAGE_ACCOUNT, AZURE_STORAGE_KEY), Azurite's
 *    `localemu`, `domain` and `protocol` URL parameters honoured;
 *  - any other backend (Pulumi Cloud, s3://, gs://): no shared store; the journal stays on the
 *    machine (under PULUMI_HOME) and the vendor is asked, as the README says.
 * The backend is PULUMI_BACKEND_URL, or the one `pulumi login` recorded in PULUMI_HOME.
 */
import { createHmac } from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { listPrivate, privateDir, readPrivate, sha, writePrivate } from "./privateFs";

/** A flat set of small named records. */
export interface RecordStore {
    /** Where, for messages: "file:///x/.pulumi-cloudiway" or "azblob://c/.pulumi-cloudiway". */
    readonly where: string;
    get(name: string): Promise<string | undefined>;
    put(name: string, text: string): Promise<void>;
    remove(name: string): Promise<void>;
    list(): Promise<string[]>;
}

export class DirStore implements RecordStore {
    constructor(readonly dir: string) {}
    get where() { return `file://${this.dir}`; }
    async get(name: string) { return readPrivate(path.join(this.dir, name)); }
    async put(name: string, text: string) {
        if (!privateDir(this.dir)) throw new Error(`${this.dir} is not a private folder of this user`);
        writePrivate(path.join(this.dir, name), text);
    }
    async remove(name: string) { fs.rmSync(path.join(this.dir, name), { force: true }); }
    async list() { return listPrivate(this.dir).filter((n) => !n.endsWith(".tmp")); }
}

/** Blobs of an Azure Storage container, with Shared Key requests (no SDK: four calls). */
export class AzureBlobStore implements RecordStore {
    private readonly base: string;
    private readonly canonicalBase: string;
    constructor(private readonly container: string, private readonly prefix: string, private readonly account: string, private readonly key: string, opts: { domain?: string; protocol?: string; localemu?: boolean }) {
        const protocol = opts.protocol === "http" ? "http" : "https";
        if (opts.localemu) {
            // Emulator (path-style) addresses: http://domain/account/container; signed as /account/account/container.
            this.base = `${protocol}://${opts.domain ?? "127.0.0.1:10000"}/${account}/${container}`;
            this.canonicalBase = `/${account}/${account}/${container}`;
        } else {
            this.base = `${protocol}://${account}.${opts.domain ?? "blob.core.windows.net"}/${container}`;
            this.canonicalBase = `/${account}/${container}`;
        }
    }
    get where() { return `azblob://${this.container}/${this.prefix}`; }

    private async request(method: string, blob: string | undefined, query: Record<string, string>, body?: string): Promise<{ status: number; text: string }> {
        const date = new Date().toUTCString();
        const version = "2021-08-06";
        const headers: Record<string, string> = { "x-ms-date": date, "x-ms-version": version };
        const length = body === undefined ? "" : String(Buffer.byteLength(body));
        const type = body === undefined ? "" : "application/json";
        if (body !== undefined) { headers["x-ms-blob-type"] = "BlockBlob"; headers["content-type"] = type; }
        const canonicalHeaders = Object.keys(headers).filter((h) => h.startsWith("x-ms-")).sort().map((h) => `${h}:${headers[h]}\n`).join("");
        const canonicalQuery = Object.keys(query).sort().map((k) => `\n${k.toLowerCase()}:${query[k]}`).join("");
        const resource = blob === undefined ? this.canonicalBase : `${this.canonicalBase}/${blob}`;
        const toSign = [method, "", "", length === "0" ? "" : length, "", type, "", "", "", "", "", "", canonicalHeaders + resource + canonicalQuery].join("\n");
        headers.authorization = `SharedKey ${this.account}:${createHmac("sha256", Buffer.from(this.key, "base64")).update(toSign, "utf8").digest("base64")}`;
        const qs = new URLSearchParams(query).toString();
        const url = `${blob === undefined ? this.base : `${this.base}/${blob.split("/").map(encodeURIComponent).join("/")}`}${qs ? `?${qs}` : ""}`;
        const r = await fetch(url, { method, headers, body, signal: AbortSignal.timeout(30_000) });
        return { status: r.status, text: await r.text() };
    }
    private blob(name: string) { return `${this.prefix}/${name}`; }

    async get(name: string) {
        const r = await this.request("GET", this.blob(name), {});
        if (r.status === 404) return undefined;
        if (r.status !== 200) throw new Error(`${this.where}: read ${name}: HTTP ${r.status}`);
        return r.text;
    }
    async put(name: string, text: string) {
        const r = await this.request("PUT", this.blob(name), {}, text);
        if (r.status !== 201) throw new Error(`${this.where}: write ${name}: HTTP ${r.status}`);
    }
    async remove(name: string) {
        const r = await this.request("DELETE", this.blob(name), {});
        if (r.status !== 202 && r.status !== 404) throw new Error(`${this.where}: remove ${name}: HTTP ${r.status}`);
    }
    async list() {
        const r = await this.request("GET", undefined, { comp: "list", restype: "container", prefix: `${this.prefix}/` });
        if (r.status !== 200) throw new Error(`${this.where}: list: HTTP ${r.status}`);
        return [...r.text.matchAll(/<Name>([^<]*)<\/Name>/g)].map((m) => m[1].slice(this.prefix.length + 1));
    }
}

/** The backend URL the engine uses: PULUMI_BACKEND_URL, else the one `pulumi login` recorded. */
export function backendUrl(env: NodeJS.ProcessEnv = process.env): string | undefined {
    if (env.PULUMI_BACKEND_URL) return env.PULUMI_BACKEND_URL;
    const home = env.PULUMI_HOME || path.join(os.homedir(), ".pulumi");
    try {
        const creds = JSON.parse(fs.readFileSync(path.join(home, "credentials.json"), "utf8")) as { current?: unknown };
        return typeof creds.current === "string" ? creds.current : undefined;
    } catch {
        return undefined;
    }
}

/**
 * The shared store of a stack's records under `scope` (a folder-safe name), or undefined when the
 * backend has none we can write (see above).
 */
export function stateStoreFor(scope: string, env: NodeJS.ProcessEnv = process.env): RecordStore | undefined {
    const url = backendUrl(env);
    if (!url) return undefined;
    if (url.startsWith("file://")) {
        let dir = url.slice("file://".length).split("?")[0];
        if (dir === "~" || dir.startsWith("~/")) dir = path.join(os.homedir(), dir.slice(1));
        return new DirStore(path.join(path.resolve(dir), ".pulumi-cloudiway", scope));
    }
    if (url.startsWith("azblob://")) {
        const u = new URL(url);
        const account = env.AZURE_STORAGE_ACCOUNT, key = env.AZURE_STORAGE_KEY;
        if (!account || !key) return undefined;
        return new AzureBlobStore(u.hostname, `.pulumi-cloudiway/${scope}`, account, key, {
            domain: u.searchParams.get("domain") ?? undefined,
            protocol: u.searchParams.get("protocol") ?? undefined,
            localemu: u.searchParams.get("localemu") === "true",
        });
    }
    return undefined;
}

