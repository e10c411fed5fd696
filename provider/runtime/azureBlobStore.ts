/**
 * Run records as blobs of the container that holds an `azblob://` backend's state, through
 * @azure/storage-blob, with the credentials the engine's own azblob driver (gocloud.dev/blob/azureblob)
 * takes, in its order:
 *  1. AZURE_STORAGE_ACCOUNT + AZURE_STORAGE_KEY: Shared Key;
 *  2. AZURE_STORAGE_SAS_TOKEN: a SAS token (container or account), added to every request;
 *  3. AZURE_STORAGE_CONNECTION_STRING (or AZURE_STORAGEBLOB_CONNECTIONSTRING): its endpoint and key or SAS;
 *  4. else Azure AD through DefaultAzureCredential (@azure/identity): AZURE_CLIENT_ID / AZURE_TENANT_ID
 *     with AZURE_FEDERATED_TOKEN_FILE (workload identity, OIDC) or AZURE_CLIENT_SECRET / a certificate,
 *     a managed identity, or `az login` (which azure/login does in GitHub Actions).
 * The service address as gocloud makes it: the account from AZURE_STORAGE_ACCOUNT or the URL's
 * `storage_account`; `domain`, `protocol`, `cdn`, `localemu` from the URL, else AZURE_STORAGE_DOMAIN,
 * AZURE_STORAGE_PROTOCOL, AZURE_STORAGE_IS_CDN, AZURE_STORAGE_IS_LOCAL_EMULATOR; path-style
 * (`<protocol>://<domain>/<account>`, Azurite) with `localemu` or a domain that starts with
 * 127.0.0.1 or localhost. The SDK is loaded only when such a backend is used.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import type * as Blob from "@azure/storage-blob";
import type { AccessToken, GetTokenOptions, TokenCredential } from "@azure/identity";
import type { RecordStore, StoreKind } from "./recordStore";

/** The longest an Azure AD token may take (the credential chain can try several sources). */
export const TOKEN_TIMEOUT_MS = 20_000;


/** `text` with every secret in `secrets` and anything shaped like a signature, key or token replaced. */
export function redact(text: string, secrets: (string | undefined)[] = []): string {
    let out = text;
    for (const s of secrets) if (s && s.length >= 4) out = out.split(s).join("[redacted]");
    return out
        .replace(/\bsig=[^&\s"'<]+/gi, "sig=[redacted]")
        .replace(/\b(AccountKey|SharedAccessSignature|AccessKey)=[^;\s"']+/gi, (_m, k: string) => `${k}=[redacted]`)
        .replace(/\bBearer\s+[\w.~+/=-]{20,}/gi, "Bearer [redacted]")
        .replace(/("?(?:access_token|client_secret|assertion)"?\s*[:=]\s*"?)[^"\s,&]+/gi, "$1[redacted]");
}

const firstLine = (s: string) => s.split("\n")[0].trim();

/** Blobs under `prefix/` in one container. `get` is undefined only for BlobNotFound / ContainerNotFound. */
export class AzureBlobStore implements RecordStore {
    constructor(
        private readonly client: Blob.ContainerClient,
        readonly container: string,
        readonly prefix: string,
        readonly kind: StoreKind,
        /** The service address, for messages (never with a SAS). */
        private readonly endpoint: string,
        private readonly secrets: (string | undefined)[],
    ) {}
    get where() { return `azblob://${this.container}/${this.prefix}`; }
    private blob(name: string) { return this.client.getBlockBlobClient(`${this.prefix}/${name}`); }

    private fail(what: string, e: unknown): Error {
        const err = e as { statusCode?: number; code?: string; details?: { errorCode?: string }; message?: string; name?: string };
        const code = err.details?.errorCode ?? err.code;
        const status = err.statusCode ? `HTTP ${err.statusCode}${code ? ` ${code}` : ""}` : (code ?? err.name ?? "error");
        const msg = firstLine(String(err.message ?? e));
        return new Error(redact(`${this.where} (${this.kind} at ${this.endpoint}): ${what}: ${status}${msg ? `: ${msg}` : ""}`, this.secrets));
    }

    async get(name: string): Promise<string | undefined> {
        try {
            const r = await this.blob(name).download(0);
            return await streamText(r.readableStreamBody);
        } catch (e) {
            const err = e as { statusCode?: number; code?: string; details?: { errorCode?: string } };
            const code = err.details?.errorCode ?? err.code;
            if (err.statusCode === 404 && (code === "BlobNotFound" || code === "ContainerNotFound")) return undefined;
            throw this.fail(`read ${name}`, e);
        }
    }
    async put(name: string, text: string): Promise<void> {
        try {
            await this.blob(name).upload(text, Buffer.byteLength(text), { blobHTTPHeaders: { blobContentType: "application/json" } });
        } catch (e) {
            throw this.fail(`write ${name}`, e);
        }
    }
    async remove(name: string): Promise<void> {
        try {
            await this.blob(name).deleteIfExists();
        } catch (e) {
            throw this.fail(`remove ${name}`, e);
        }
    }
    async list(): Promise<string[]> {
        const out: string[] = [];
        try {
            for await (const b of this.client.listBlobsFlat({ prefix: `${this.prefix}/` })) out.push(b.name.slice(this.prefix.length + 1));
        } catch (e) {
            const err = e as { statusCode?: number; code?: string; details?: { errorCode?: string } };
            if (err.statusCode === 404 && (err.details?.errorCode ?? err.code) === "ContainerNotFound") return [];
            throw this.fail("list", e);
        }
        return out;
    }
}

async function streamText(s: NodeJS.ReadableStream | undefined): Promise<string> {
    if (!s) return "";
    const chunks: Buffer[] = [];
    for await (const c of s) chunks.push(typeof c === "string" ? Buffer.from(c) : (c as Buffer));
    return Buffer.concat(chunks).toString("utf8");
}

/**
 * Whether DefaultAzureCredential has anything to try, judged without a network call: an identity
 * variable, a managed identity endpoint, or an `az login` profile. (A managed identity reached only
 * through the VM's metadata endpoint, with no variable, is not probed: set AZURE_CLIENT_ID for it.)
 */
export function identityHint(env: NodeJS.ProcessEnv): string | undefined {
    for (const v of ["AZURE_FEDERATED_TOKEN_FILE", "AZURE_CLIENT_SECRET", "AZURE_CLIENT_CERTIFICATE_PATH", "AZURE_CLIENT_ID", "AZURE_TENANT_ID",
        "IDENTITY_ENDPOINT", "MSI_ENDPOINT", "IMDS_ENDPOINT", "AZURE_TOKEN_CREDENTIALS"]) {
        if (env[v]) return v;
    }
    const dir = env.AZURE_CONFIG_DIR || path.join(env.HOME || os.homedir(), ".azure");
    try {
        const profile = JSON.parse(fs.readFileSync(path.join(dir, "azureProfile.json"), "utf8").replace(/^\uFEFF/, "")) as { subscriptions?: unknown[] };
        if (Array.isArray(profile.subscriptions) && profile.subscriptions.length > 0) return "az login";
    } catch { /* no az profile */ }
    return undefined;
}

/**
 * DefaultAzureCredential with each token request bounded by `timeoutMs`; after a failure, later
 * requests of this process fail at once (no second wait), and `onFailure` is told once.
 */
export class BoundedCredential implements TokenCredential {
    private failed: Error | undefined;
    constructor(private readonly inner: TokenCredential, private readonly timeoutMs: number, private readonly onFailure: (e: Error) => void) {}
    async getToken(scopes: string | string[], options?: GetTokenOptions): Promise<AccessToken | null> {
        if (this.failed) throw this.failed;
        const ac = new AbortController();
        let timer: NodeJS.Timeout | undefined;
        try {
            const timeout = new Promise<never>((_r, reject) => {
                timer = setTimeout(() => { ac.abort(); reject(new Error(`no Azure AD token within ${this.timeoutMs / 1000} s`)); }, this.timeoutMs);
                timer.unref();
            });
            const t = await Promise.race([this.inner.getToken(scopes, { ...options, abortSignal: ac.signal }), timeout]);
            if (!t) throw new Error("no Azure AD token (the credential chain gave none)");
            return t;
        } catch (e) {
            this.failed = new Error(`no Azure AD token for Azure Storage: ${firstLine((e as Error).message ?? String(e))}`);
            this.onFailure(this.failed);
            throw this.failed;
        } finally {
            if (timer) clearTimeout(timer);
        }
    }
}

/** One Azure AD credential per process: its tokens are cached, and a failure is waited for once. */
let identity: BoundedCredential | undefined;

export interface AzureChoice {
    kind: StoreKind;
    store?: AzureBlobStore;
    /** Why there is no store (what to set), when there is none. */
    problem?: string;
}

const truthy = (v: string | null | undefined) => v !== null && v !== undefined && /^(1|t|true)$/i.test(v);

/** What to set, for messages. */
export const AZURE_CREDENTIALS_HELP = "AZURE_STORAGE_ACCOUNT with AZURE_STORAGE_KEY or AZURE_STORAGE_SAS_TOKEN, " +
    "or an Azure AD identity with the Storage Blob Data Contributor role on the container (AZURE_CLIENT_ID and AZURE_TENANT_ID " +
    "with AZURE_FEDERATED_TOKEN_FILE or AZURE_CLIENT_SECRET, a managed identity, or az login, e.g. azure/login in GitHub Actions)";

/**
 * The store for `azblob://<container>[/<path>]?<params>` (records under `<path>/<prefix>`), or
 * why there is none. `onTokenFailure` is told when Azure AD gives no token (once per process).
 */
export function azureStoreFor(url: URL, prefix: string, env: NodeJS.ProcessEnv, onTokenFailure: (e: Error) => void = () => undefined): AzureChoice {
    const container = url.hostname;
    const sub = decodeURIComponent(url.pathname).replace(/^\/+|\/+$/g, "");
    const fullPrefix = sub ? `${sub}/${prefix}` : prefix;
    const q = url.searchParams;
    const known = new Set(["domain", "protocol", "cdn", "localemu", "storage_account"]);
    const unknown = [...q.keys()].filter((k) => !known.has(k));
    if (unknown.length) return { kind: "none", problem: `the backend URL has parameters the engine does not know (${unknown.join(", ")})` };
    const account = q.get("storage_account") || env.AZURE_STORAGE_ACCOUNT || "";
    const key = env.AZURE_STORAGE_KEY || "";
    const sas = (env.AZURE_STORAGE_SAS_TOKEN || "").replace(/^\?/, "");
    const conn = env.AZURE_STORAGE_CONNECTION_STRING || env.AZURE_STORAGEBLOB_CONNECTIONSTRING || "";
    const secrets = [key, sas, conn];
    const opts: Blob.StoragePipelineOptions = { retryOptions: { maxTries: 3, tryTimeoutInMs: 30_000, retryDelayInMs: 500, maxRetryDelayInMs: 4000 } };

    // The service address (gocloud's NewServiceURL).
    const domain = q.get("domain") || env.AZURE_STORAGE_DOMAIN || "blob.core.windows.net";
    const protocol = q.get("protocol") || env.AZURE_STORAGE_PROTOCOL || "https";
    if (protocol !== "http" && protocol !== "https") return { kind: "none", problem: `the backend URL's protocol is ${JSON.stringify(protocol)}, not http or https` };
    const emulator = q.has("localemu") ? truthy(q.get("localemu")) : truthy(env.AZURE_STORAGE_IS_LOCAL_EMULATOR);
    const cdn = q.has("cdn") ? truthy(q.get("cdn")) : truthy(env.AZURE_STORAGE_IS_CDN);
    const service = emulator || domain.startsWith("127.0.0.1") || domain.startsWith("localhost")
        ? `${protocol}://${domain}/${account}` : cdn ? `${protocol}://${domain}` : `${protocol}://${account}.${domain}`;
    const containerUrl = `${service}/${encodeURIComponent(container)}`;

    const sdk = () => require("@azure/storage-blob") as typeof Blob;
    if (env.AZURE_STORAGE_ACCOUNT && key) {
        const b = sdk();
        let cred: Blob.StorageSharedKeyCredential;
        try { cred = new b.StorageSharedKeyCredential(env.AZURE_STORAGE_ACCOUNT, key); } catch (e) {
            return { kind: "azblob-key", problem: redact(`AZURE_STORAGE_KEY is not a usable key: ${firstLine((e as Error).message)}`, secrets) };
        }
        return { kind: "azblob-key", store: new AzureBlobStore(new b.ContainerClient(containerUrl, cred, opts), container, fullPrefix, "azblob-key", service, secrets) };
    }
    if (!account && !conn) return { kind: "none", problem: "AZURE_STORAGE_ACCOUNT is not set (nor storage_account in the backend URL)" };
    if (sas) {
        const b = sdk();
        return { kind: "azblob-sas", store: new AzureBlobStore(new b.ContainerClient(`${containerUrl}?${sas}`, new b.AnonymousCredential(), opts), container, fullPrefix, "azblob-sas", service, secrets) };
    }
    if (conn) {
        const b = sdk();
        try {
            const client = new b.ContainerClient(conn, container, opts);
            return { kind: "azblob-connection-string", store: new AzureBlobStore(client, container, fullPrefix, "azblob-connection-string", client.url.split("?")[0], secrets) };
        } catch (e) {
            return { kind: "azblob-connection-string", problem: redact(`AZURE_STORAGE_CONNECTION_STRING is not usable: ${firstLine((e as Error).message)}`, secrets) };
        }
    }
    const hint = identityHint(env);
    if (!hint) return { kind: "none", problem: `no storage key, SAS token or Azure AD identity for the account ${account}` };
    const b = sdk();
    if (!identity) {
        const { DefaultAzureCredential } = require("@azure/identity") as typeof import("@azure/identity");
        identity = new BoundedCredential(new DefaultAzureCredential({ processTimeoutInMs: TOKEN_TIMEOUT_MS }), TOKEN_TIMEOUT_MS, onTokenFailure);
    }
    const cred = identity;
    return { kind: "azblob-identity", store: new AzureBlobStore(new b.ContainerClient(containerUrl, cred, opts), container, fullPrefix, "azblob-identity", service, secrets) };
}
