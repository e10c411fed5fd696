/**
 * The control API (not Cloudiway's): stats, call log, reset, faults, state, tick.
 * Faults are decided here and applied by the server before (or, for half of
 * the "reset" faults on POSTs, after) the store is touched: the hard case for
 * a client is an answer lost after the write happened.
 */
export const FAULT_KINDS = ["500", "503", "429", "reset", "timeout", "hasError"] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

export interface Faults {
    latencyMs: number;
    errorRate: number;
    kinds: FaultKind[];
    retryAfterSeconds: number;
    /** For "reset" on a POST: apply the call, then drop the connection (default: half the time). */
    afterCommit: boolean | "half";
    seed?: number;
}
export const noFaults = (): Faults => ({ latencyMs: 0, errorRate: 0, kinds: [...FAULT_KINDS], retryAfterSeconds: 1, afterCommit: "half" });

export function parseFaults(body: any, current: Faults): Faults {
    if (body === null || typeof body !== "object") throw new Error("faults: expected a JSON object");
    const next = { ...current };
    if (body.latencyMs !== undefined) {
        if (typeof body.latencyMs !== "number" || body.latencyMs < 0) throw new Error("faults: latencyMs must be a number >= 0");
        next.latencyMs = body.latencyMs;
    }
    if (body.errorRate !== undefined) {
        if (typeof body.errorRate !== "number" || body.errorRate < 0 || body.errorRate > 1) throw new Error("faults: errorRate must be within 0..1");
        next.errorRate = body.errorRate;
    }
    if (body.kinds !== undefined) {
        if (!Array.isArray(body.kinds) || body.kinds.some((k: unknown) => !FAULT_KINDS.includes(k as FaultKind))) {
            throw new Error(`faults: kinds must be a list of ${FAULT_KINDS.join(", ")}`);
        }
        next.kinds = body.kinds;
    }
    if (body.retryAfterSeconds !== undefined) next.retryAfterSeconds = Number(body.retryAfterSeconds);
    if (body.afterCommit !== undefined) next.afterCommit = body.afterCommit;
    if (body.seed !== undefined) next.seed = Number(body.seed);
    return next;
}

/** A small seeded PRNG (mulberry32) so a fault run can be repeated. */
export function prng(seed: number): () => number {
    let a = seed >>> 0;
    return () => {
        a = (a + 0x6d2b79f5) >>> 0;
        let t = a;
        t = Math.imul(t ^ (t >>> 15), t | 1);
        t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
        return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
}

export interface CallRecord {
    seq: number; method: string; call: string; at: string; ok: boolean;
    batchName?: string; migrationTag?: string; fault?: string;
}

export class Stats {
    total = 0;
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
