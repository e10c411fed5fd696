/** The call log and counters of the vendor API (GET /_emulator/stats, GET /_emulator/calls). */
export interface CallRecord {
    seq: number; method: string; call: string; at: string; ok: boolean;
    batchName?: string; migrationTag?: string; fault?: string;
}

export class Stats {
    total = 0;
    /** Mutating calls that succeeded. */
    mutating = 0;
    byCall: Record<string, number> = {};
    calls: CallRecord[] = [];
    private seq = 0;
    record(r: Omit<CallRecord, "seq" | "at">, mutating: boolean) {
        this.total++;
        if (mutating && r.ok) this.mutating++;
        const k = `${r.method} ${r.call}`;
        this.byCall[k] = (this.byCall[k] ?? 0) + 1;
        this.calls.push({ seq: ++this.seq, at: new Date().toISOString(), ...r });
        if (this.calls.length > 100_000) this.calls.splice(0, 50_000);
    }
    reset() {
        this.total = 0; this.mutating = 0; this.byCall = {}; this.calls = [];
    }
    json() { return { total: this.total, mutating: this.mutating, byCall: this.byCall }; }
}
