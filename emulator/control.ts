/**
 * The control API (not Cloudiway's), under /_emulator: one route table. Answers are plain JSON
 * (not the vendor's envelope); a request the emulator cannot take is answered 400 `{ "error" }`,
 * an unknown one 404 `{ "error" }`. Control calls are not in the call log or the stats.
 */
import { Clock } from "./clock";
import { itemFailures, setItemFailures } from "./itemFailures";
import { ControlError, FaultInjector } from "./faults";
import { MAX_PASS_STEPS } from "./lifecycle";
import { Incoming, Reply, json } from "./reply";
import { Stats } from "./stats";
import { PASS_ENDS, PassEnd } from "./statuses";
import { Batch, Kind, KindState, SEED_CONNECTORS, Store, User, record } from "./store";

// Kept here for the tests that take the fault PRNG from the control API's module.
export { prng, FAULT_KINDS, ControlError } from "./faults";
export type { Faults, FaultKind } from "./faults";

export interface ControlContext {
    store: Store;
    stats: Stats;
    faults: FaultInjector;
    clock: Clock;
    /** What POST /_emulator/reset goes back to: the options the emulator was started with. */
    defaults: { transitionMs: number; passSteps: number };
    /** The emulator's base URL (the outbox's links are made absolute with it). */
    baseUrl(): string;
    /** Resolves once the state is on disk (a no-op without a data file). */
    persist(): Promise<void>;
}

// ------------------------------------------------------------------ the answers' types
// What each control call answers (controlClient.ts checks them): one type per answer.

/** GET /_emulator: one control call. */
export interface ControlRouteInfo { method: "GET" | "POST"; path: string; summary: string }
/** GET /_emulator/stats. */
export interface StatsView { total: number; mutating: number; byCall: Record<string, number> }
/** A user in GET /_emulator/state: the record, with its steps to come as `pending`. */
export type UserView = Omit<User, "queue"> & { pending: string[] };
/** A batch in GET /_emulator/state, with the tags of its users. */
export type BatchView = Batch & { users: string[] };
export interface FamilyView { users: UserView[]; batches: BatchView[]; permissionRun: KindState["permissionRun"] }
/** GET /_emulator/state: the whole tenant. */
export interface StateView { mail: FamilyView; archive: FamilyView; connectors: typeof SEED_CONNECTORS }
/** A mail in GET /_emulator/outbox (self-service, emulator only); `link` is absolute. */
export interface OutboxView {
    id: number; to: string; from: string; subject: string; link: string;
    tag: string; kind: Kind; recipient: "source" | "target"; time: string;
}
/** GET/POST /_emulator/lifecycle. */
export interface LifecycleView { transitionMs: number | "manual"; passSteps: number; busy: boolean }
/** POST /_emulator/lifecycle's body: fields left out are kept. */
export interface LifecycleSettings { transitionMs?: number | "manual"; passSteps?: number }
/** POST /_emulator/tick. */
export interface TickView { ok: true; busy: boolean }
/** GET/POST /_emulator/outcomes: the pass ends set and not taken yet, per kind, by key. */
export type OutcomesView = Record<Kind, Record<string, PassEnd>>;
/** POST /_emulator/outcomes's body. */
export interface OutcomesRequest { kind?: Kind; users: Record<string, PassEnd | null> }
/** POST /_emulator/reset and /stats/reset. */
export interface OkView { ok: true }

export interface ControlRoute {
    method: "GET" | "POST";
    /** Under /_emulator. */
    path: string;
    summary: string;
    handle(ctx: ControlContext, body: unknown): unknown;
}

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === "object" && !Array.isArray(v);

/** GET/POST /_emulator/lifecycle: the time per step and the steps of a pass. */
function lifecycleView(ctx: ControlContext): LifecycleView {
    const ms = ctx.clock.transitionMs;
    return { transitionMs: Number.isFinite(ms) ? ms : "manual", passSteps: ctx.store.passSteps, busy: ctx.store.busy() };
}

async function setLifecycle(ctx: ControlContext, body: unknown): Promise<LifecycleView> {
    if (!isObject(body)) throw new ControlError("lifecycle: expected a JSON object");
    const { transitionMs, passSteps } = body;
    for (const k of Object.keys(body)) {
        if (k !== "transitionMs" && k !== "passSteps") throw new ControlError(`lifecycle: unknown field '${k}' (transitionMs, passSteps)`);
    }
    if (passSteps !== undefined && (typeof passSteps !== "number" || !Number.isInteger(passSteps) || passSteps < 1 || passSteps > MAX_PASS_STEPS)) {
        throw new ControlError(`lifecycle: passSteps must be an integer within 1..${MAX_PASS_STEPS}`);
    }
    if (transitionMs !== undefined && transitionMs !== "manual" && (typeof transitionMs !== "number" || !(transitionMs >= 0))) {
        throw new ControlError(`lifecycle: transitionMs must be a number >= 0 or "manual"`);
    }
    if (typeof passSteps === "number") ctx.store.setPassSteps(passSteps);
    if (transitionMs !== undefined) ctx.clock.set(transitionMs === "manual" ? Infinity : Number(transitionMs));
    await ctx.persist(); // going to 0 may have finished passes under way
    return lifecycleView(ctx);
}

const isPassEnd = (v: unknown): v is PassEnd => PASS_ENDS.some((e) => e === v);

async function setOutcomes(ctx: ControlContext, body: unknown): Promise<OutcomesView> {
    if (!isObject(body)) throw new ControlError("outcomes: expected a JSON object");
    const kind = body.kind ?? "mail";
    if (kind !== "mail" && kind !== "archive") throw new ControlError(`outcomes: kind must be "mail" or "archive"`);
    const users = body.users;
    if (!isObject(users)) throw new ControlError(`outcomes: expected "users": {"<sourceEmail or migrationTag>": "${PASS_ENDS.join('" | "')}" | null}`);
    const outcomes = record<PassEnd | null>(); // keys from the request: no prototype
    for (const [who, end] of Object.entries(users)) {
        if (who.trim() === "") throw new ControlError("outcomes: a user key must be a source email or a migration tag");
        if (end !== null && !isPassEnd(end)) throw new ControlError(`outcomes: ${JSON.stringify(end)} for '${who}' is not one of ${PASS_ENDS.join(", ")} (or null)`);
        outcomes[who] = end;
    }
    ctx.store.passOutcomes.set(kind satisfies Kind, outcomes);
    await ctx.persist();
    return ctx.store.passOutcomes.all();
}

function stateView(store: Store): StateView {
    const view = (f: Kind): FamilyView => ({
        users: Object.values(store.state[f].users).map(({ queue, ...u }) => ({ ...u, pending: queue })),
        batches: Object.values(store.state[f].batches).map((b) => ({ ...b, users: store.usersInBatch(f, b.name) })),
        permissionRun: store.state[f].permissionRun,
    });
    return { mail: view("mail"), archive: view("archive"), connectors: store.state.connectors };
}

export const CONTROL_ROUTES: ControlRoute[] = [
    { method: "GET", path: "", summary: "this list of control calls", handle: () => CONTROL_ROUTES.map(({ method, path, summary }) => ({ method, path: `/_emulator${path}`, summary })) },
    { method: "GET", path: "/stats", summary: "counters of the vendor API: total, mutating (successful writes), byCall", handle: (c) => c.stats.json() },
    { method: "POST", path: "/stats/reset", summary: "zero the counters and empty the call log", handle: (c) => { c.stats.reset(); return { ok: true }; } },
    { method: "GET", path: "/calls", summary: "the call log, oldest first: seq, method, call, at, ok, batchName, migrationTag, fault", handle: (c) => c.stats.calls },
    {
        method: "POST", path: "/reset", summary: "empty tenant, no faults, no outcomes, stats zeroed, lifecycle as started",
        handle: async (c) => {
            c.store.reset(); c.stats.reset(); c.faults.reset();
            c.store.setPassSteps(c.defaults.passSteps);
            if (c.clock.transitionMs !== c.defaults.transitionMs) c.clock.set(c.defaults.transitionMs);
            await c.persist();
            return { ok: true };
        },
    },
    { method: "GET", path: "/faults", summary: "the faults injected", handle: (c) => c.faults.settings },
    {
        method: "POST", path: "/faults", summary: "set faults: latencyMs, errorRate, kinds, retryAfterSeconds, afterCommit, seed",
        handle: (c, body) => c.faults.set(body ?? {}),
    },
    { method: "GET", path: "/state", summary: "the whole tenant: users (with pending steps), batches, permission runs, connectors", handle: (c) => stateView(c.store) },
    {
        // Emulator only: the self-service mails "sent" (selfservice.ts), oldest first.
        method: "GET", path: "/outbox", summary: "the self-service mails sent, oldest first",
        handle: (c) => c.store.state.selfService.outbox.map(({ path, ...m }): OutboxView => ({
            id: m.id, to: m.to, from: m.from, subject: m.subject, link: `${c.baseUrl()}${path}`,
            tag: m.tag, kind: m.kind, recipient: m.recipient, time: m.time,
        })),
    },
    {
        method: "POST", path: "/tick", summary: "one lifecycle step for everything under way; answers whether anything is still under way",
        handle: async (c) => { c.clock.tick(); await c.persist(); return { ok: true, busy: c.store.busy() }; },
    },
    { method: "GET", path: "/lifecycle", summary: "transitionMs (or \"manual\"), passSteps, busy", handle: (c) => lifecycleView(c) },
    { method: "POST", path: "/lifecycle", summary: "set transitionMs (number >= 0, or \"manual\": only on tick) and passSteps (ticks a pass takes)", handle: setLifecycle },
    { method: "GET", path: "/outcomes", summary: "the pass outcomes set and not taken yet, per kind", handle: (c) => c.store.passOutcomes.all() },
    { method: "POST", path: "/outcomes", summary: "make the next pass of named users end in ONERROR, STOP, ...: {kind?, users: {who: end}}", handle: setOutcomes },
    { method: "GET", path: "/item-failures", summary: "the item failures set for next passes and not taken yet, per kind", handle: (c) => itemFailures(c.store.state) },
    {
        method: "POST", path: "/item-failures", summary: "make the next pass of named users fail items: {kind?, users: {who: {mails?, calendars?, contacts?: n | {failure, read?}} | null}}",
        handle: async (c, body) => { const t = setItemFailures(c.store.state, body); await c.persist(); return t; },
    },
];

/** Serves one request under /_emulator. */
export async function serveControl(ctx: ControlContext, req: Incoming): Promise<Reply> {
    const path = req.url.pathname.replace(/^\/_emulator/, "").replace(/\/$/, "");
    const route = CONTROL_ROUTES.find((r) => r.method === req.method && r.path === path);
    if (!route) return json({ error: `unknown control call ${req.method} ${req.url.pathname}` }, 404);
    if ("tooLarge" in req.body) return json({ error: `request body too large (limit ${req.body.limit} bytes)` }, 413);
    try {
        let body: unknown = undefined;
        if (req.method === "POST" && req.body.text.trim() !== "") {
            try {
                body = JSON.parse(req.body.text);
            } catch {
                throw new ControlError("malformed JSON body");
            }
        }
        return json(await route.handle(ctx, body));
    } catch (e) {
        // RangeError: a value the store or the clock refuses (passSteps, transitionMs, an outcome).
        if (e instanceof ControlError || e instanceof RangeError) return json({ error: e.message }, 400);
        throw e;
    }
}
