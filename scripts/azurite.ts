/**
 * Azurite (Microsoft's Azure Storage emulator, the `azurite` devDependency) as the shared blob store
 * that holds Pulumi state in the tests and the bench: `pulumi login azblob://<container>?localemu=true&…`,
 * as a CI runner keeps its state in a storage account. Started on a free port, with its data in a
 * temporary folder; `backendUrl(container)` creates the container (Pulumi's azblob backend does not)
 * and returns the URL; `env` carries the account and key gocloud reads, `sasEnv(container)` the
 * account and a SAS token of that container instead (no key).
 */
import { ChildProcess, spawn } from "child_process";
import * as fs from "fs";
import * as net from "net";
import * as os from "os";
import * as path from "path";
import { ContainerClient, ContainerSASPermissions, StorageSharedKeyCredential, generateBlobSASQueryParameters } from "@azure/storage-blob";

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
    /** A SAS token for one container (made with the account key, valid a day; default permissions read, add, create, write, delete, list). */
    sasToken(container: string, permissions?: string): string;
    /** AZURE_STORAGE_ACCOUNT and AZURE_STORAGE_SAS_TOKEN for one container: no key, as a runner given only a SAS. */
    sasEnv(container: string): Record<string, string>;
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

/** A client of a container of the emulator, with the account's key. */
function containerClient(a: { port: number; account: string; key: string }, container: string): ContainerClient {
    return new ContainerClient(`http://127.0.0.1:${a.port}/${a.account}/${container}`, new StorageSharedKeyCredential(a.account, a.key));
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
    const sasToken = (container: string, permissions = "racwdl") => generateBlobSASQueryParameters({
        containerName: container, permissions: ContainerSASPermissions.parse(permissions),
        startsOn: new Date(Date.now() - 5 * 60_000), expiresOn: new Date(Date.now() + 24 * 3600_000),
    }, new StorageSharedKeyCredential(a.account, a.key)).toString();
    return {
        ...a,
        env: { AZURE_STORAGE_ACCOUNT: AZURITE_ACCOUNT, AZURE_STORAGE_KEY: AZURITE_KEY },
        async backendUrl(container: string) {
            if (!/^[a-z0-9](?:[a-z0-9-]{1,61})[a-z0-9]$/.test(container)) throw new Error(`azurite: bad container name ${container}`);
            if (!made.has(container)) {
                await containerClient(a, container).createIfNotExists();
                made.add(container);
            }
            return `azblob://${container}?localemu=true&domain=127.0.0.1:${port}&protocol=http`;
        },
        async list(container: string) {
            const names: string[] = [];
            for await (const b of containerClient(a, container).listBlobsFlat()) names.push(b.name);
            return names;
        },
        sasToken,
        sasEnv(container: string) {
            return { AZURE_STORAGE_ACCOUNT: AZURITE_ACCOUNT, AZURE_STORAGE_SAS_TOKEN: sasToken(container) };
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
