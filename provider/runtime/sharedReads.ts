/**
 * List answers shared by the provider processes of one `pulumi` command.
 *
 * `pulumi refresh --yes` (and `up --refresh`) runs a preview and then the update, each with a
 * provider process of its own: the in-process ReadCache alone reads every list twice (a refresh
 * of 50 users in 5 batches made 24 requests instead of 12). The provider processes of one command
 * are children of the same `pulumi` process, so their list answers are shared through a small
 * folder keyed by that process (pid and start time), the API URL and the consumer key (never the
 * secret). The update then applies exactly what its preview observed. Any write of any of these
 * processes removes the shared answers (as it clears the in-process cache), answers older than the
 * cache's time limit are not used, and folders of `pulumi` processes that are gone are removed.
 * The folder decides what the deletion policy sees, so it is trusted only when it is this user's
 * own 0700 folder (no symlink), its files 0600 and this user's (privateFs.ts); a folder another
 * local user planted at the predictable path turns the sharing off, and a planted or corrupt entry
 * is ignored and read again from the API.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { listPrivate, privateDir, readPrivate, sha, writePrivate } from "./privateFs";
import { STAT, procStat } from "./procStat";


/** The start time of a process (clock ticks since boot), or undefined. */
function startTime(pid: number): string | undefined {
    return procStat(pid)?.[STAT.starttime];
}

export class SharedReads {
    /** Whether this process put answers in the folder since it last emptied it. */
    private wrote = false;
    /** Whether this process has emptied the folder once (a write of this command's earlier process may have filled it). */
    private emptied = false;

    private constructor(readonly dir: string, private readonly ttlMs: number) {}

    /** For the provider process of a `pulumi` command (its parent), or undefined where /proc cannot tell. */
    static forCommand(apiUrl: string, consumerKey: string, ttlMs: number, base = path.join(os.tmpdir(), `pulumi-cloudiway-reads-${process.getuid?.() ?? "u"}`)): SharedReads | undefined {
        const parent = process.ppid;
        const started = startTime(parent);
        if (!started) return undefined;
        if (!privateDir(base)) return undefined; // not this user's own folder: share nothing, trust nothing
        SharedReads.sweep(base);
        return new SharedReads(path.join(base, `${parent}-${started}-${sha(`${apiUrl}\n${consumerKey}`).slice(0, 16)}`), ttlMs);
    }

    /** Removes the folders of commands that are over (their process is gone or is another one now). */
    private static sweep(base: string): void {
        for (const n of listPrivate(base)) {
            const m = /^(\d+)-(\d+)-/.exec(n);
            if (m && startTime(Number(m[1])) !== m[2]) fs.rmSync(path.join(base, n), { recursive: true, force: true });
        }
    }

    private file(key: string): string {
        return path.join(this.dir, `${sha(key).slice(0, 32)}.json`);
    }

    get(key: string): unknown {
        const text = readPrivate(this.file(key));
        if (text === undefined || !privateDir(this.dir)) return undefined;
        try {
            const e = JSON.parse(text) as { at?: unknown; key?: unknown; value?: unknown };
            return e.key === key && typeof e.at === "number" && Date.now() - e.at < this.ttlMs && e.value !== null ? e.value : undefined;
        } catch {
            return undefined;
        }
    }

    put(key: string, value: unknown): void {
        try {
            if (!privateDir(this.dir)) return;
            writePrivate(this.file(key), JSON.stringify({ at: Date.now(), key, value }));
            this.wrote = true;
        } catch {
            // Only the sharing is lost: the next process asks the API.
        }
    }

    /** Before and after a write: no process of this command may use answers from before it. */
    invalidate(keep: (key: string) => boolean): void {
        if (this.emptied && !this.wrote) return;
        for (const n of listPrivate(this.dir)) {
            const f = path.join(this.dir, n);
            let key: string | undefined;
            try { key = (JSON.parse(readPrivate(f) ?? "") as { key: string }).key; } catch { /* partial or foreign: remove */ }
            if (key === undefined || !keep(key)) fs.rmSync(f, { force: true });
        }
        this.emptied = true;
        this.wrote = false;
    }
}
