/**
 * Azurite (Microsoft's Azure Storage emulator, the `azurite` devDependency) as the shared blob store
 * that holds Pulumi state in the tests and the bench: `pulumi login azblob://<container>?localemu=true&…`,
 * as a CI runner keeps its state in a storage account. Started on a free port, with its data in a
 * temporary folder; `backendUrl(container)` creates the container (Pulumi's azblob backend does not)
 * and returns the URL; `env` carries the account and key gocloud reads.
 */
import { ChildProcess, spawn } from "child_process";
import { createHmac } from "crypto";
import * as fs from "fs";
import * as net from "net";
import * as os from "os";
import * as path from "path";

/** Azurite's well-known development account (public, documented by Microsoft: not a secret). */
export const AZURITE_ACCOUNT = "devstoreaccount1";
export const AZURITE_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

export interface Azurite {
    port: number;
    account: string;
    key: string;
    /** AZURE_STORAGE_ACCOUNT and AZURE_STORAGE_KEY, for the pulumi process. */
    env: Record<string, string>;
    /** Creates the container if needed; the `azblob://` URL of Pulumi's backend for it. */
    backendUrl(container: string): Promise<string>;
    /** The blob names in a container (to look at what Pulumi wrote). */
    list(container: string): Promise<string[]>;
    close(): Promise<void>;
}

function freePort(): Promise<number> {
    return new Promise((resolve, reject) => {
        const s = net.createServer();
        s.listen(0, "127.0.0.1", () => { const port = (s.address() as net.AddressInfo).port; s.close(() => resolve(port)); });
        s.on("error", reject);
    });
}

function azuriteBin(): string {
    // node_modules/azurite/dist/src/blob/main.js is what node_modules/.bin/azurite-blob runs.
    return require.resolve("azurite/dist/src/blob/main.js");
}

/** A request to the blob service signed with the account's Shared Key (the one call we need: create container, list). */
async function signed(a: { port: number; account: string; key: string }, method: string, resource: string, query: Record<string, string>): Promise<Response> {
    const date = new Date().toUTCString();
    const version = "2021-08-06";
    const canonicalHeaders = `x-ms-date:${date}\nx-ms-version:${version}\n`;
    const canonicalQuery = Object.keys(query).sort().map((k) => `\n${k.toLowerCase()}:${query[k]}`).join("");
    // Emulator (path-style) addresses repeat the account: /account/account/container.
    const canonicalResource = `/${a.account}/${a.account}/${resource}${canonicalQuery}`;
    const contentLength = ""; // a zero Content-Length is signed as empty (versions since 2015-02-21)
    const toSign = [method, "", "", contentLength, "", "", "", "", "", "", "", "", canonicalHeaders + canonicalResource].join("\n");
    const signature = createHmac("sha256", Buffer.from(a.key, "base64")).update(toSign, "utf8").digest("base64");
    const qs = new URLSearchParams(query).toString();
    return fetch(`http://127.0.0.1:${a.port}/${a.account}/${resource}${qs ? `?${qs}` : ""}`, {
        method,
        headers: { "x-ms-date": date, "x-ms-version": version, authorization: `SharedKey ${a.account}:${signature}`},
    });
}

export async function startAzurite(opts: { quiet?: boolean } = {}): Promise<Azurite> {
    const port = await freePort();
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "cw-azurite-"));
    const child: ChildProcess = spawn(process.execPath, [azuriteBin(), "--blobHost", "127.0.0.1", "--blobPort", String(port),
        "--location", dir, "--silent", "--skipApiVersionCheck", "--disableTelemetry", "--loose"], { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    await new Promise<void>((resolve, reject) => {
        const onData = (d: Buffer) => { out += d; if (/successfully listens|listening at/i.test(out)) resolve(); };
        child.stdout!.on("data", onData);
        child.stderr!.on("data", onData);
        child.on("exit", (code) => reject(new Error(`azurite exited (${code}) before it listened: ${out}`)));
        setTimeout(() => reject(new Error(`azurite did not listen within 30 s: ${out}`)), 30_000).unref();
    });
    if (!opts.quiet) child.stdout!.pipe(process.stderr);
    const a = { port, account: AZURITE_ACCOUNT, key: AZURITE_KEY };
    const made = new Set<string>();
    return {
        ...a,
        env: { AZURE_STORAGE_ACCOUNT: AZURITE_ACCOUNT, AZURE_STORAGE_KEY: AZURITE_KEY },
        async backendUrl(container: string) {
            if (!/^[a-z0-9](?:[a-z0-9-]{1,61})[a-z0-9]$/.test(container)) throw new Error(`azurite: bad container name ${container}`);
            if (!made.has(container)) {
                const r = await signed(a, "PUT", container, { restype: "container" });
                if (r.status !== 201 && r.status !== 409) throw new Error(`azurite: create container ${container}: ${r.status} ${await r.text()}`);
                made.add(container);
            }
            return `azblob://${container}?localemu=true&domain=127.0.0.1:${port}&protocol=http`;
        },
        async list(container: string) {
            const r = await signed(a, "GET", container, { comp: "list", restype: "container" });
            const xml = await r.text();
            if (r.status !== 200) throw new Error(`azurite: list ${container}: ${r.status} ${xml}`);
            return [...xml.matchAll(/<Name>([^<]*)<\/Name>/g)].map((m) => m[1]);
        },
        async close() {
            if (child.exitCode === null) {
                child.kill("SIGTERM");
                await new Promise((r) => { child.once("exit", r); setTimeout(r, 5000).unref(); });
            }
            fs.rmSync(dir, { recursive: true, force: true });
        },
    };
}
