/**
 * The undo log of one write: how a refused call changes nothing.
 *
 * The server runs every mutating call inside `run`. While it runs, each change pushes how to take
 * it back (`push`), and each record about to be changed in place is copied once, before its first
 * change (`save`: copy-on-write). When the call throws (a VendorError half-way, e.g. a batch call
 * that meets a running user, or an internal error) the entries run newest first. Outside `run`
 * (timed lifecycle steps, code calling the store directly) nothing is recorded and nothing undone.
 *
 * The cost is that of the records a write touches, never that of the tenant.
 */
export class UndoLog {
    /** The undo entries of the write under way, newest last; null outside a write. */
    private entries: (() => void)[] | null = null;
    /** Records the write under way has saved already (one copy each is enough). */
    private readonly saved = new Set<object>();

    /** Whether a write is under way (its undo could still give records their old values back). */
    get active(): boolean { return this.entries !== null; }

    /**
     * Runs one write so that an error half-way leaves everything as it was. Not re-entrant: an
     * inner call joins the outer write.
     */
    run<T>(fn: () => T): T {
        if (this.entries) return fn();
        const entries: (() => void)[] = [];
        this.entries = entries;
        try {
            return fn();
        } catch (e) {
            for (let i = entries.length - 1; i >= 0; i--) entries[i]();
            throw e;
        } finally {
            this.entries = null;
            this.saved.clear();
        }
    }

    /** Inside a write: how to take back the change about to be made (ignored outside a write). */
    push(undo: () => void): void { this.entries?.push(undo); }

    /**
     * Inside a write: a copy of `record` as it is now, put back in place (the same object) on undo;
     * fields the write adds are removed again. Once per record and write.
     */
    save(record: object): void {
        if (!this.entries || this.saved.has(record)) return;
        this.saved.add(record);
        const copy = structuredClone(record) as Record<string, unknown>;
        this.entries.push(() => {
            const live = record as Record<string, unknown>;
            for (const k of Object.keys(live)) if (!(k in copy)) delete live[k]; // e.g. a passStart set by the write
            Object.assign(live, copy);
        });
    }
}
