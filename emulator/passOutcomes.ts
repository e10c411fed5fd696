/**
 * Pass outcomes (EMULATOR ONLY, POST /_emulator/outcomes): how chosen users' next pass ends, kept in
 * the store's state and taken, inside the write that starts the pass, by that pass.
 */
import type { Kind, StoreHost, User } from "./types";
import { PASS_ENDS, PassEnd } from "./statuses";

export class PassOutcomes {
    constructor(private readonly host: Pick<StoreHost, "state" | "onUndo">) {}

    /** The outcomes not taken yet, per kind, by the key they were set with. */
    all(): Record<Kind, Record<string, PassEnd>> { return this.host.state().outcomes; }

    /**
     * Sets (or, with null, clears) the end of the next pass of each named user: `who` is a migration
     * tag or a source email (case and spaces ignored); the user need not exist yet.
     */
    set(f: Kind, outcomes: Record<string, PassEnd | null>) {
        const table = this.host.state().outcomes[f];
        for (const [who, end] of Object.entries(outcomes)) {
            const k = who.trim().toLowerCase();
            if (!k) throw new RangeError("outcomes: a user key must be a migration tag or a source email");
            if (end !== null && !PASS_ENDS.includes(end)) throw new RangeError(`outcomes: '${end}' is not one of ${PASS_ENDS.join(", ")}`);
            if (end === null) delete table[k];
            else table[k] = end;
        }
    }

    /** The end set for the user's next pass, taken (by tag first, then by source email); undone with the write. */
    take(f: Kind, u: User): PassEnd | undefined {
        const table = this.host.state().outcomes[f];
        for (const k of [u.migrationTag.toLowerCase(), u.sourceEmail.trim().toLowerCase()]) {
            const end = table[k];
            if (end === undefined) continue;
            this.host.onUndo(() => { table[k] = end; });
            delete table[k];
            return end;
        }
        return undefined;
    }
}
