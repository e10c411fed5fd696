/**
 * Records kept beside the stack's state, in the store the engine itself uses: a fast-mode `up`
 * (PULUMI_SKIP_CHECKPOINTS) that is killed after a MigrationRun was sent and before the engine
 * saved it leaves no trace in the state; the next `up` may run on another machine (a fresh CI
 * runner), after the passes ended, when Cloudiway no longer shows the action under way. The run
 * journal (runJournal.ts) therefore writes its records where every runner of the stack reads:
 *  - `file://<dir>` backends: `<dir>/.pulumi-cloudiway/` (a private 0700 folder, files 0600);
 *  - `azblob://<container>[/<path>]` backends: blobs under `[<path>/].pulumi-cloudiway/` in that
 *    container, with the credentials the engine takes (azureBlobStore.ts: key, SAS token,
 *    connection string, or Azure AD through DefaultAzureCredential);
 *  - any other backend (Pulumi Cloud, s3://, gs://): no shared store; the journal stays on the
 *    machine (under PULUMI_HOME) and the vendor is asked, as docs/campaign.md says.
 * The backend is the engine's: PULUMI_BACKEND_URL, else `backend.url` of the program's Pulumi.yaml
 * (the provider process runs in the program's folder), else the one `pulumi login` recorded in
 * PULUMI_HOME, else Pulumi Cloud. When the backend's store cannot be used (an azblob backend
 * without usable credentials), or the backend has none, the engine's output says so once per
 * command (a warning naming what to set; a note of what holds there).
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { parse } from "yaml";
import { AZURE_CREDENTIALS_HELP, azureStoreFor } from "./azureBlobStore";
import { info, warn } from "./engineLog";
import { distrust, listPrivate, privateDir, readOwnFile, sha, writePrivate } from "./privateFs";
import { STAT, procStat } from "./procStat";

export { AzureBlobStore } from "./azureBlobStore";

export type { RecordStore, StoreKind } from "./recordStore";
import type { RecordStore, StoreKind } from "./recordStore";

export class DirStore implements RecordStore {
    readonly kind = "file" as const;
    constructor(readonly dir: string) {}
    get where() { return `file://${this.dir}`; }
    /** The folder's state: absent (nothing was written), or an Error when it is not this user's private folder. */
    private check(what: string): "absent" | "ok" {
        const why = distrust(this.dir);
        if (why === "missing") return "absent";
        if (why) throw new Error(`${this.where}: ${what}: the folder ${why} (it must be this user's own, mode 700)`);
        return "ok";
    }
    async get(name: string) {
        if (this.check(`read ${name}`) === "absent") return undefined;
        try {
            return readOwnFile(path.join(this.dir, name));
        } catch (e) {
            throw new Error(`${this.where}: read ${name}: ${(e as Error).message}`);
        }
    }
    async put(name: string, text: string) {
        if (!privateDir(this.dir)) throw new Error(`${this.where}: write ${name}: the folder ${distrust(this.dir) ?? "cannot be made"} (it must be this user's own, mode 700)`);
        try {
            writePrivate(path.join(this.dir, name), text);
        } catch (e) {
            throw new Error(`${this.where}: write ${name}: ${(e as Error).message}`);
        }
    }
    async remove(name: string) {
        if (this.check(`remove ${name}`) === "absent") return;
        fs.rmSync(path.join(this.dir, name), { force: true });
    }
    async list() {
        if (this.check("list") === "absent") return [];
        return listPrivate(this.dir).filter((n) => !n.endsWith(".tmp"));
    }
}

/** The nearest Pulumi.yaml (or Pulumi.yml) at or above `dir`. */
function projectFile(dir: string): string | undefined {
    for (let d = path.resolve(dir); ; d = path.dirname(d)) {
        for (const f of ["Pulumi.yaml", "Pulumi.yml"]) if (fs.existsSync(path.join(d, f))) return path.join(d, f);
        if (path.dirname(d) === d) return undefined;
    }
}

/** `backend.url` of the project file at or above `cwd`, if it sets one. */
export function projectBackendUrl(cwd: string = process.cwd()): string | undefined {
    const file = projectFile(cwd);
    if (!file) return undefined;
    try {
        const doc = parse(fs.readFileSync(file, "utf8")) as { backend?: { url?: unknown } } | null;
        const url = doc?.backend?.url;
        return typeof url === "string" && url ? url : undefined;
    } catch {
        return undefined; // the engine itself refuses a project file it cannot read
    }
}

/**
 * The backend URL the engine uses: PULUMI_BACKEND_URL, else Pulumi.yaml's `backend.url` (the
 * program's, at or above `cwd`), else the one `pulumi login` recorded in PULUMI_HOME; undefined:
 * none of these (the engine then uses Pulumi Cloud).
 */
export function backendUrl(env: NodeJS.ProcessEnv = process.env, cwd: string = process.cwd()): string | undefined {
    if (env.PULUMI_BACKEND_URL) return env.PULUMI_BACKEND_URL;
    const project = projectBackendUrl(cwd);
    if (project) return project;
    const home = env.PULUMI_HOME || path.join(os.homedir(), ".pulumi");
    try {
        const creds = JSON.parse(fs.readFileSync(path.join(home, "credentials.json"), "utf8")) as { current?: unknown };
        return typeof creds.current === "string" && creds.current ? creds.current : undefined;
    } catch {
        return undefined;
    }
}

/** A backend URL for messages: scheme, host and path only (no query, no user info). */
export function showBackend(url: string | undefined): string {
    if (!url) return "Pulumi Cloud (no backend set: https://api.pulumi.com)";
    try {
        const u = new URL(url);
        return `${u.protocol}//${u.host}${u.pathname === "/" ? "" : u.pathname}`;
    } catch {
        return url.split("?")[0];
    }
}

export interface StoreChoice {
    /** The backend, as shown in messages (showBackend). */
    backend: string;
    kind: StoreKind;
    store?: RecordStore;
    /** What the engine's output should say once per command about this choice. */
    note?: { severity: "warning" | "info"; message: string };
}

/** What a backend without a usable store means for the sends (the guarantee docs/campaign.md states). */
const LOCAL_ONLY = "a MigrationRun's sends are journaled on this machine only (under PULUMI_HOME): send-once rests on the stack's state " +
    "and on Cloudiway's view of the target (an action still under way is not sent again), so a fresh runner that recovers a killed " +
    "fast-mode up after the passes ended cannot see the send";

/**
 * Which store keeps the records of `scope` for this process's backend, and what to say about it.
 * Pure but for reading the backend's settings; nothing is logged (stateStoreFor does that).
 */
export function chooseStateStore(scope: string, env: NodeJS.ProcessEnv = process.env, cwd: string = process.cwd(), onTokenFailure?: (e: Error) => void): StoreChoice {
    const url = backendUrl(env, cwd);
    const backend = showBackend(url);
    if (url?.startsWith("file://")) {
        let dir = url.slice("file://".length).split("?")[0];
        if (dir === "~" || dir.startsWith("~/")) dir = path.join(os.homedir(), dir.slice(1));
        return { backend, kind: "file", store: new DirStore(path.join(path.resolve(cwd, dir), ".pulumi-cloudiway", scope)) };
    }
    if (url?.startsWith("azblob://")) {
        let u: URL;
        try { u = new URL(url); } catch { return { backend, kind: "none", note: { severity: "warning", message: `the backend ${backend} is not a URL: ${LOCAL_ONLY}` } }; }
        const c = azureStoreFor(u, `.pulumi-cloudiway/${scope}`, env, onTokenFailure);
        if (c.store) return { backend, kind: c.kind, store: c.store };
        return {
            backend, kind: "none",
            note: { severity: "warning", message: `the run journal cannot be kept beside the state in ${backend}: ${c.problem}. Set ${AZURE_CREDENTIALS_HELP}. Until then ${LOCAL_ONLY}.` },
        };
    }
    return { backend, kind: "none", note: { severity: "info", message: `the backend ${backend} has no store this provider can write: ${LOCAL_ONLY}. A file:// or azblob:// backend keeps the journal beside the state.` } };
}

/** Notes already given by this process. */
const said = new Set<string>();

/**
 * Says `message` in the engine's output once per `pulumi` command: the provider processes of one
 * command (its preview's and its update's) are children of the same `pulumi` process, so a marker
 * named by that process (pid and start time) in a private folder tells the later ones it was said.
 * Where that cannot be told, once per process. Returns whether it was said now.
 */
export function sayOncePerCommand(severity: "warning" | "info", message: string, base = path.join(os.tmpdir(), `pulumi-cloudiway-notes-${process.getuid?.() ?? "u"}`)): boolean {
    const key = sha(message).slice(0, 24);
    if (said.has(key)) return false;
    said.add(key);
    const started = procStat(process.ppid)?.[STAT.starttime];
    if (started && privateDir(base)) {
        for (const n of listPrivate(base)) {
            const m = /^(\d+)-(\d+)-/.exec(n);
            if (m && procStat(Number(m[1]))?.[STAT.starttime] !== m[2]) fs.rmSync(path.join(base, n), { force: true });
        }
        try {
            fs.closeSync(fs.openSync(path.join(base, `${process.ppid}-${started}-${key}`), fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL | fs.constants.O_NOFOLLOW, 0o600));
        } catch (e) {
            if ((e as NodeJS.ErrnoException).code === "EEXIST") return false;
        }
    }
    void (severity === "warning" ? warn(message) : info(message)).catch(() => undefined);
    return true;
}

/**
 * The shared store of a stack's records under `scope` (a folder-safe name), or undefined when the
 * backend has none we can use (see above; the engine's output then says why, once per command).
 */
export function stateStoreFor(scope: string, env: NodeJS.ProcessEnv = process.env): RecordStore | undefined {
    const c = chooseStateStore(scope, env, process.cwd(), (e) => {
        sayOncePerCommand("warning", `the run journal beside the state in ${showBackend(backendUrl(env))} cannot be used: ${e.message}. ` +
            `Set ${AZURE_CREDENTIALS_HELP}. A send that cannot read or write its record there is refused.`);
    });
    if (c.note) sayOncePerCommand(c.note.severity, c.note.message);
    return c.store;
}

/** The kind of store this process's backend gives the run journal (for messages and reports). */
export function stateStoreKind(env: NodeJS.ProcessEnv = process.env, cwd: string = process.cwd()): { backend: string; kind: StoreKind } {
    const c = chooseStateStore("-", env, cwd);
    return { backend: c.backend, kind: c.kind };
}
