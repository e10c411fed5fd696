/**
 * A typed client of the emulator's control API (control.ts), for tests, the benches and anyone
 * rehearsing a plan against the emulator: one method per control route, typed with the emulator's
 * own types.
 *
 * Every answer is checked: a control call the emulator refuses (a status other than 200) throws a
 * `ControlCallError` naming the route, the status and the body; an answer of the wrong shape
 * throws one too (status 200, and what is wrong). So a test never goes on after a silent no-op.
 *
 *     const ctl = new EmulatorControl(emu);          // or new EmulatorControl("http://127.0.0.1:8080")
 *     await ctl.reset();
 *     await ctl.setFaults({ errorRate: 0.2, kinds: ["503"], seed: 1 });
 *     const { total } = await ctl.stats();
 */
import type {
    ControlRouteInfo, LifecycleSettings, LifecycleView, OkView, OutboxView, OutcomesRequest, OutcomesView, StateView, StatsView, TickView,
} from "./control";
import type { Faults } from "./faults";
import type { CallRecord } from "./stats";
import type { ItemFailureTables, Kind } from "./types";
import type { PassEnd } from "./statuses";
import type { ItemFailuresRequest } from "./itemFailures";

/** A control call refused by the emulator, or answered in a shape the client does not know. */
export class ControlCallError extends Error {
    constructor(
        /** e.g. "POST /_emulator/faults". */
        readonly route: string,
        /** The HTTP status (200 when the answer's shape was wrong). */
        readonly status: number,
        /** The answer's body as text. */
        readonly body: string,
        problem = `HTTP ${status}`,
    ) {
        super(`emulator control ${route}: ${problem}: ${body.length > 2000 ? `${body.slice(0, 2000)}...` : body}`);
        this.name = "ControlCallError";
    }
}

/** The body of POST /_emulator/faults: fields left out are kept. */
export type FaultsRequest = Partial<Faults>;

// ------------------------------------------------------------------ shape checks
// Each returns what is wrong with `v` (at `at`), or undefined when it has the expected shape.
type Check = (v: unknown, at: string) => string | undefined;

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === "object" && !Array.isArray(v);
const typed = (t: "string" | "number" | "boolean"): Check => (v, at) => (typeof v === t ? undefined : `${at} is not a ${t}`);
const str = typed("string"), num = typed("number"), bool = typed("boolean");
const literal = (x: unknown): Check => (v, at) => (v === x ? undefined : `${at} is not ${JSON.stringify(x)}`);
const nullable = (c: Check): Check => (v, at) => (v === null ? undefined : c(v, at));
const oneOf = (...cs: Check[]): Check => (v, at) => (cs.some((c) => c(v, at) === undefined) ? undefined : `${at} has an unexpected value`);
const optional = (c: Check): Check => (v, at) => (v === undefined ? undefined : c(v, at));
const arrayOf = (c: Check): Check => (v, at) => {
    if (!Array.isArray(v)) return `${at} is not a list`;
    for (let i = 0; i < v.length; i++) {
        const p = c(v[i], `${at}[${i}]`);
        if (p) return p;
    }
    return undefined;
};
const recordOf = (c: Check): Check => (v, at) => {
    if (!isObject(v)) return `${at} is not an object`;
    for (const [k, x] of Object.entries(v)) {
        const p = c(x, `${at}[${JSON.stringify(k)}]`);
        if (p) return p;
    }
    return undefined;
};
const object = (fields: Record<string, Check>): Check => (v, at) => {
    if (!isObject(v)) return `${at} is not an object`;
    for (const [k, c] of Object.entries(fields)) {
        const p = c(v[k], `${at}.${k}`);
        if (p) return p;
    }
    return undefined;
};

const ok = object({ ok: literal(true) });
const stats = object({ total: num, mutating: num, byCall: recordOf(num) });
const callRecord = object({
    seq: num, method: str, call: str, at: str, ok: bool,
    batchName: optional(str), migrationTag: optional(str), fault: optional(str),
});
const faults = object({
    latencyMs: num, errorRate: num, kinds: arrayOf(str), retryAfterSeconds: num,
    afterCommit: oneOf(bool, literal("half")), seed: optional(num), notFoundWording: optional(str),
});
const counts = object({ msg: num, cal: num, con: num });
const user = object({
    migrationTag: str, firstName: str, lastName: str, sourceEmail: str, targetEmail: str,
    sourceConnectorName: str, targetConnectorName: str, batchName: nullable(str), status: str, licensed: bool,
    history: arrayOf(object({ startDateTime: str, endDateTime: str, msgTotal: num, msgSuccess: num, msgFailure: num })),
    statusHistory: arrayOf(str), pending: arrayOf(str), migrated: counts, passStart: optional(str),
});
const batch = object({ name: str, settings: object({ shouldMigrateMails: bool, fromDate: nullable(str), toDate: nullable(str) }), users: arrayOf(str) });
const kind = object({ users: arrayOf(user), batches: arrayOf(batch), permissionRun: nullable(object({ batchName: str, ticksLeft: num })) });
const connector = object({ name: str, type: str });
const state = object({ mail: kind, archive: kind, connectors: object({ source: arrayOf(connector), target: arrayOf(connector) }) });
const outbox = arrayOf(object({
    id: num, to: str, from: str, subject: str, link: str, tag: str,
    kind: oneOf(literal("mail"), literal("archive")), recipient: oneOf(literal("source"), literal("target")), time: str,
}));
const lifecycle = object({ transitionMs: oneOf(num, literal("manual")), passSteps: num, busy: bool });
const tick = object({ ok: literal(true), busy: bool });
const outcomes = object({ mail: recordOf(str), archive: recordOf(str) });
const itemFailureTables = object({ mail: recordOf(object({})), archive: recordOf(object({})) });
const routes = arrayOf(object({ method: oneOf(literal("GET"), literal("POST")), path: str, summary: str }));

/** The emulator's control API under `<baseUrl>/_emulator`. */
export class EmulatorControl {
    /** The emulator's origin, e.g. http://127.0.0.1:8080 (its API is under /api). */
    readonly baseUrl: string;

    /** `target`: a running emulator (startEmulator's answer), its base URL, or its API URL. */
    constructor(target: string | { baseUrl: string }) {
        this.baseUrl = new URL(typeof target === "string" ? target : target.baseUrl).origin;
    }

    /** GET /_emulator: the control calls, with a summary each. */
    routes(): Promise<ControlRouteInfo[]> { return this.call("GET", "", routes); }
    /** GET /_emulator/stats: counters of the vendor API (total, mutating: successful writes, byCall). */
    stats(): Promise<StatsView> { return this.call("GET", "/stats", stats); }
    /** POST /_emulator/stats/reset: zeroes the counters and empties the call log. */
    async resetStats(): Promise<void> { await this.call<OkView>("POST", "/stats/reset", ok); }
    /** GET /_emulator/calls: the call log of the vendor API, oldest first. */
    calls(): Promise<CallRecord[]> { return this.call("GET", "/calls", arrayOf(callRecord)); }
    /** POST /_emulator/reset: empty tenant, no faults, no outcomes, stats zeroed, lifecycle as started. */
    async reset(): Promise<void> { await this.call<OkView>("POST", "/reset", ok); }
    /** GET /_emulator/faults: the faults injected. */
    faults(): Promise<Faults> { return this.call("GET", "/faults", faults); }
    /** POST /_emulator/faults: sets faults (fields left out are kept); answers them all. */
    setFaults(f: FaultsRequest): Promise<Faults> { return this.call("POST", "/faults", faults, f); }
    /** GET /_emulator/state: the whole tenant (users with their pending steps, batches with their users, connectors). */
    state(): Promise<StateView> { return this.call("GET", "/state", state); }
    /** GET /_emulator/outbox: the self-service mails sent, oldest first. */
    outbox(): Promise<OutboxView[]> { return this.call("GET", "/outbox", outbox); }
    /** POST /_emulator/tick: one lifecycle step for everything under way; `busy`: something still is. */
    tick(): Promise<TickView> { return this.call("POST", "/tick", tick); }
    /** POST /_emulator/tick until nothing is under way (at most `max` ticks); answers the ticks taken. */
    async settle(max = 1000): Promise<number> {
        for (let i = 1; i <= max; i++) if (!(await this.tick()).busy) return i;
        throw new Error(`emulator control: still busy after ${max} ticks`);
    }
    /** GET /_emulator/lifecycle: transitionMs (or "manual"), passSteps, busy. */
    lifecycle(): Promise<LifecycleView> { return this.call("GET", "/lifecycle", lifecycle); }
    /** POST /_emulator/lifecycle: sets transitionMs (a number >= 0, or "manual": steps only on tick) and passSteps. */
    setLifecycle(l: LifecycleSettings): Promise<LifecycleView> { return this.call("POST", "/lifecycle", lifecycle, l); }
    /** GET /_emulator/outcomes: the pass ends set and not taken yet. */
    outcomes(): Promise<OutcomesView> { return this.call("GET", "/outcomes", outcomes); }
    /**
     * POST /_emulator/outcomes: how the next pass of each named user ends (`who`: a migration tag or
     * a source email; null clears). Answers every outcome not taken yet.
     */
    setOutcomes(users: Record<string, PassEnd | null>, kind?: Kind): Promise<OutcomesView> {
        const body: OutcomesRequest = kind ? { kind, users } : { users };
        return this.call("POST", "/outcomes", outcomes, body);
    }

    /** GET /_emulator/item-failures: the item failures set for next passes and not taken yet. */
    itemFailures(): Promise<ItemFailureTables> { return this.call("GET", "/item-failures", itemFailureTables); }
    /**
     * POST /_emulator/item-failures: how many items of each kind (mails, calendars, contacts) the next
     * pass of each named user fails (a number, or { failure, read? }); null clears. Answers them all.
     */
    setItemFailures(users: ItemFailuresRequest["users"], kind?: Kind): Promise<ItemFailureTables> {
        const body: ItemFailuresRequest = kind ? { kind, users } : { users };
        return this.call("POST", "/item-failures", itemFailureTables, body);
    }

    /** One control call: refused (not 200) or of the wrong shape, it throws a ControlCallError. */
    private async call<T>(method: "GET" | "POST", path: string, check: Check, body?: unknown): Promise<T> {
        const route = `${method} /_emulator${path}`;
        let res: Response;
        try {
            res = await fetch(`${this.baseUrl}/_emulator${path}`, {
                method,
                ...(method === "POST" ? { headers: { "content-type": "application/json" }, body: JSON.stringify(body ?? {}) } : {}),
            });
        } catch (e) {
            throw new Error(`emulator control ${route}: no answer from ${this.baseUrl} (${e instanceof Error ? e.message : String(e)})`);
        }
        const text = await res.text();
        if (res.status !== 200) throw new ControlCallError(route, res.status, text);
        let json: unknown;
        try {
            json = JSON.parse(text);
        } catch {
            throw new ControlCallError(route, res.status, text, "the answer is not JSON");
        }
        const problem = check(json, "answer");
        if (problem) throw new ControlCallError(route, res.status, text, `unexpected answer (${problem})`);
        return json as T;
    }
}
