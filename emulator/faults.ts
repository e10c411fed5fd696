/**
 * The fault middleware: decides, for each vendor API request, whether it meets a fault (set by
 * POST /_emulator/faults), and what the client then sees. Faults come before the store is read or
 * changed, except for half of the "reset" faults on mutating POSTs (`afterCommit`): the call is
 * applied, then the connection dropped — the hard case for a client, an answer lost after the write.
 */
import { fail } from "./envelope";
import { Reply, vendor } from "./reply";

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
    /**
     * The words of every "not found" refusal, instead of the emulator's own (`{name}`: the tag or
     * batch name it is about), to stand for a vendor wording no client list holds. Not random:
     * every such refusal, whatever errorRate says. Empty or null: the emulator's own words again.
     */
    notFoundWording?: string;
}
export const noFaults = (): Faults => ({ latencyMs: 0, errorRate: 0, kinds: [...FAULT_KINDS], retryAfterSeconds: 1, afterCommit: "half" });

/** Thrown for a control request the emulator cannot take: answered 400 with `{ "error": message }`. */
export class ControlError extends Error {}

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === "object" && !Array.isArray(v);
const isFaultKind = (k: unknown): k is FaultKind => FAULT_KINDS.some((x) => x === k);

/** A POST /_emulator/faults body applied over the current faults (fields left out are kept). */
export function parseFaults(body: unknown, current: Faults): Faults {
    if (!isObject(body)) throw new ControlError("faults: expected a JSON object");
    const next = { ...current };
    if (body.latencyMs !== undefined) {
        if (typeof body.latencyMs !== "number" || body.latencyMs < 0) throw new ControlError("faults: latencyMs must be a number >= 0");
        next.latencyMs = body.latencyMs;
    }
    if (body.errorRate !== undefined) {
        if (typeof body.errorRate !== "number" || body.errorRate < 0 || body.errorRate > 1) throw new ControlError("faults: errorRate must be within 0..1");
        next.errorRate = body.errorRate;
    }
    if (body.kinds !== undefined) {
        const kinds = body.kinds;
        if (!Array.isArray(kinds) || !kinds.every(isFaultKind)) {
            throw new ControlError(`faults: kinds must be a list of ${FAULT_KINDS.join(", ")}`);
        }
        next.kinds = kinds;
    }
    if (body.retryAfterSeconds !== undefined) next.retryAfterSeconds = Number(body.retryAfterSeconds);
    if (body.afterCommit !== undefined) {
        const a = body.afterCommit;
        if (a !== true && a !== false && a !== "half") throw new ControlError(`faults: afterCommit must be true, false or "half"`);
        next.afterCommit = a;
    }
    if (body.seed !== undefined) next.seed = Number(body.seed);
    if (body.notFoundWording !== undefined) {
        const w = body.notFoundWording;
        if (w !== null && typeof w !== "string") throw new ControlError("faults: notFoundWording must be a string (or null)");
        if (w) next.notFoundWording = w;
        else delete next.notFoundWording;
    }
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

/** What the middleware decided for one request. */
export type FaultDecision =
    /** No fault: serve the call. */
    | { kind: "none" }
    /** Answer with `reply` instead of serving the call; `fault` names it for the call log. */
    | { kind: "instead"; fault: FaultKind; reply: Reply }
    /** Serve the call (it is applied), then drop the connection instead of answering. */
    | { kind: "afterCommit" };

export class FaultInjector {
    private current: Faults = noFaults();
    private random: () => number = Math.random;

    get settings(): Faults { return this.current; }

    /** Applies a POST /_emulator/faults body; a `seed` restarts the seeded sequence. */
    set(body: unknown): Faults {
        this.current = parseFaults(body, this.current);
        this.random = this.current.seed !== undefined ? prng(this.current.seed) : Math.random;
        return this.current;
    }

    reset() {
        this.current = noFaults();
        this.random = Math.random;
    }

    /** A refusal's words as the client sees them: a "not found" in the wording set, if one is. */
    reword(message: string): string {
        const w = this.current.notFoundWording;
        if (!w || !/not found/i.test(message)) return message;
        const name = /'([^']*)'/.exec(message)?.[1] ?? "";
        return w.split("{name}").join(name);
    }

    /** Waits out the latency, then draws the request's fault (if any). */
    async decide(method: string, mutating: boolean): Promise<FaultDecision> {
        const f = this.current;
        if (f.latencyMs > 0) await new Promise((r) => setTimeout(r, f.latencyMs));
        if (!(f.errorRate > 0 && f.kinds.length && this.random() < f.errorRate)) return { kind: "none" };
        const fault = f.kinds[Math.floor(this.random() * f.kinds.length)];
        if (fault === "reset" && method === "POST" && mutating &&
            (f.afterCommit === true || (f.afterCommit === "half" && this.random() < 0.5))) {
            return { kind: "afterCommit" };
        }
        return { kind: "instead", fault, reply: faultReply(fault, f.retryAfterSeconds) };
    }
}

function faultReply(fault: FaultKind, retryAfterSeconds: number): Reply {
    switch (fault) {
        case "500": return vendor(500, fail("Internal server error (injected)"));
        case "503": return vendor(503, fail("Service unavailable (injected)"), { "retry-after": String(retryAfterSeconds) });
        case "429": return vendor(429, fail("Too many requests (injected)"), { "retry-after": String(retryAfterSeconds) });
        case "hasError": return vendor(200, fail("Temporary failure, please retry later (injected)"));
        case "reset": return { kind: "drop" };
        case "timeout": return { kind: "hang" };
    }
}
