/** ReadCache: list answers shared by the resources of one operation. */
import type { Kind } from "../client/calls";
import type { SharedReads } from "./sharedReads";

/** The read cache's keys of the connector lists (lookups.ts): `<kind>:sourceconnectors`, `<kind>:targetconnectors`. */
export function connectorListKey(kind: Kind, side: "source" | "target"): string {
    return `${kind}:${side}connectors`;
}
function isConnectorListKey(k: string): boolean {
    return k === "mail:sourceconnectors" || k === "mail:targetconnectors" || k === "archive:sourceconnectors" || k === "archive:targetconnectors";
}

/**
 * Shares list answers (getall, batch, getusersinbatch, settings) between the
 * resources of one operation: concurrent reads of a refresh ask the API once.
 * Any mutation clears it, so a read after a write sees the write. The provider
 * process lives for one operation; the time limit only bounds how stale a long
 * read-only operation (a refresh of thousands of resources) can be, and is
 * longer than such a refresh takes (one answer per list for the whole refresh).
 * With `shared` (the provider process of a `pulumi` command, see sharedReads.ts),
 * answers read with `share: true` (plain JSON) also serve the command's other
 * provider process: the update after its preview.
 */
export class ReadCache {
    private entries = new Map<string, { at: number; value: Promise<unknown> }>();
    constructor(private ttlMs = 10 * 60 * 1000, private shared?: SharedReads) {}
    get<T>(key: string, load: () => Promise<T>, opts: { share?: boolean } = {}): Promise<T> {
        const now = Date.now();
        const hit = this.entries.get(key);
        if (hit && now - hit.at < this.ttlMs) return hit.value as Promise<T>;
        const shared = opts.share ? this.shared : undefined;
        const found = shared?.get(key) as T | undefined;
        const value = found !== undefined ? Promise.resolve(found) : load();
        this.entries.set(key, { at: now, value });
        value.then((v) => { if (found === undefined && shared && this.entries.get(key)?.value === value) shared.put(key, v); }, () => this.entries.delete(key));
        return value;
    }
    /** After a mutation. The connector lists (exactly those keys) stay: no call of this provider changes them. */
    clear(): void {
        const keep = isConnectorListKey;
        for (const k of this.entries.keys()) if (!keep(k)) this.entries.delete(k);
        this.shared?.invalidate(keep);
    }
}
