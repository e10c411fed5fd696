/**
 * The data file: JSON of the whole state, written atomically (temp file, fsync,
 * rename, fsync of the folder). Group commit: writes asked for while one is in
 * flight are covered by the next single write; `save()` resolves only when a
 * write that started after the call has reached the disk, so an answer sent
 * after it is never lost to a kill -9.
 */
import * as fs from "fs";
import * as path from "path";
import { Kind, KindState, State, emptyState, record } from "./store";

export class DataFile {
    private writing: Promise<void> | null = null;
    private pending: { promise: Promise<void>; resolve: () => void; reject: (e: unknown) => void } | null = null;
    private seq = 0;

    constructor(readonly file: string, private snapshot: () => State) {}

    load(): State {
        try {
            const text = fs.readFileSync(this.file, "utf8");
            // A file written by an older emulator may lack the newer parts: they start empty.
            const s = JSON.parse(text) as Partial<State>;
            const base = emptyState();
            // Records keyed by request values get no prototype again (store.ts, record).
            const fam = (f: KindState | undefined, b: KindState): KindState =>
                f ? { ...f, users: record(f.users), batches: record(f.batches) } : b;
            return {
                mail: fam(s.mail, base.mail), archive: fam(s.archive, base.archive), connectors: s.connectors ?? base.connectors,
                selfService: renamedKinds({ ...base.selfService, ...s.selfService, links: record(s.selfService?.links) }),
                outcomes: { mail: record(s.outcomes?.mail), archive: record(s.outcomes?.archive) },
                ...(s.itemFailures ? { itemFailures: { mail: record(s.itemFailures.mail), archive: record(s.itemFailures.archive) } } : {}),
            };
        } catch (e) {
            const err = e as NodeJS.ErrnoException;
            if (err.code === "ENOENT") return emptyState();
            throw new Error(`emulator: cannot read data file ${this.file}: ${err.message}`);
        }
    }

    save(): Promise<void> {
        let next = this.pending;
        if (!next) {
            let resolve!: () => void, reject!: (e: unknown) => void;
            const promise = new Promise<void>((res, rej) => { resolve = res; reject = rej; });
            next = this.pending = { promise, resolve, reject };
            this.kick();
        }
        return next.promise;
    }

    private kick() {
        if (this.writing || !this.pending) return;
        const batch = this.pending;
        this.pending = null;
        const text = JSON.stringify(this.snapshot());
        this.writing = this.write(text).then(batch.resolve, batch.reject).finally(() => {
            this.writing = null;
            this.kick();
        });
    }

    private async write(text: string) {
        const dir = path.dirname(this.file);
        await fs.promises.mkdir(dir, { recursive: true });
        const tmp = `${this.file}.${process.pid}.${++this.seq}.tmp`;
        const fh = await fs.promises.open(tmp, "w");
        try {
            await fh.writeFile(text);
            await fh.sync();
        } finally {
            await fh.close();
        }
        await fs.promises.rename(tmp, this.file);
        const d = await fs.promises.open(dir, "r");
        try { await d.sync(); } catch { /* some filesystems refuse a directory fsync */ } finally { await d.close(); }
    }

    async flush(): Promise<void> {
        while (this.writing || this.pending) await (this.pending?.promise ?? this.writing);
    }
}

/**
 * Files written before the emulator said "kind" (as the provider does) name it "family" in the
 * self-service links, submissions and mails: read as `kind`.
 */
function renamedKinds(ss: State["selfService"]): State["selfService"] {
    const fix = <T extends { kind: Kind }>(v: T): T => {
        const { family, ...rest } = v as T & { family?: unknown };
        return family === "mail" || family === "archive" ? { ...(rest as unknown as T), kind: v.kind ?? family } : v;
    };
    const links = record(ss.links);
    for (const k of Object.keys(links)) links[k] = fix(links[k]);
    return { ...ss, links, submissions: (ss.submissions ?? []).map(fix), outbox: (ss.outbox ?? []).map(fix) };
}
