/**
 * A local Cloudiway Mail REST API: `startEmulator({ port: 0 })` resolves to
 * `{ url, baseUrl, port, store, stats, close() }`; the API is served under `<baseUrl>/api`,
 * the control API under `<baseUrl>/_emulator`.
 *
 * Layout: store.ts (state and the vendor's rules, no HTTP), undo.ts (the undo log that makes a
 * refused write change nothing), lifecycle.ts (the steps of a pass and their stepping over time),
 * routes.ts (the vendor's calls: parse and serialize), api.ts (auth, envelope, call log), faults.ts
 * (the fault middleware), control.ts (the control API's route table), controlClient.ts (a typed
 * client of it), clock.ts (when lifecycle steps are taken), server.ts (HTTP), and this file, which
 * puts them together.
 */
import { serveApi } from "./api";
import { Clock } from "./clock";
import { serveControl } from "./control";
import { FaultInjector } from "./faults";
import { DEFAULT_PASS_STEPS } from "./lifecycle";
import { DataFile } from "./persist";
import { serveSelfService } from "./selfserviceHttp";
import { listen } from "./server";
import { Stats } from "./stats";
import { Store } from "./store";

export { Store, VendorError, SEED_CONNECTORS } from "./store";
export type { Kind } from "./store";
export { STATUSES, STATUS_NUMBER, PASS_ENDS } from "./statuses";
export type { Status, PassEnd } from "./statuses";
export { Stats } from "./stats";
export type { CallRecord } from "./stats";
export { EmulatorControl, ControlCallError } from "./controlClient";
export type { FaultsRequest } from "./controlClient";
export type {
    ControlRouteInfo, StatsView, StateView, FamilyView, UserView, BatchView, OutboxView, LifecycleView, LifecycleSettings, TickView,
    OutcomesView, OutcomesRequest,
} from "./control";
export type { Faults, FaultKind } from "./faults";

export interface EmulatorOptions {
    port?: number;
    host?: string;
    dataFile?: string;
    consumerKey?: string;
    consumerSecret?: string;
    /** Time per lifecycle step; 0 (default) takes every step at the call. */
    transitionMs?: number;
    /** Lifecycle steps (ticks) a migration pass takes: SCHEDULED, WORKING (passSteps - 1 times), its end. Default 2. */
    passSteps?: number;
    quiet?: boolean;
    /** Largest request body read; bigger ones are refused with 413. */
    maxBodyBytes?: number;
}

export interface Emulator {
    url: string;
    baseUrl: string;
    port: number;
    store: Store;
    stats: Stats;
    close(): Promise<void>;
}

export async function startEmulator(opts: EmulatorOptions = {}): Promise<Emulator> {
    const host = opts.host ?? "127.0.0.1";
    const defaults = { transitionMs: opts.transitionMs ?? 0, passSteps: opts.passSteps ?? DEFAULT_PASS_STEPS };
    const store = new Store(undefined, defaults.transitionMs === 0);
    store.setPassSteps(defaults.passSteps);
    const data = opts.dataFile ? new DataFile(opts.dataFile, () => store.state) : undefined;
    if (data) {
        store.state = data.load();
        store.reindex();
    }
    const persist = async () => { if (data) await data.save(); };
    const stats = new Stats();
    const faults = new FaultInjector();
    const clock = new Clock(store, defaults.transitionMs, () => { void persist().catch(() => undefined); });
    let baseUrl = ""; // known once listening; links in the outbox are made absolute with it

    const control = { store, stats, faults, clock, defaults, persist, baseUrl: () => baseUrl };
    const api = {
        store, stats, faults, persist,
        consumerKey: opts.consumerKey ?? "demo-key", consumerSecret: opts.consumerSecret ?? "demo-secret",
    };
    const server = await listen({
        control: (req) => serveControl(control, req),
        api: (req) => serveApi(api, req),
        selfService: async (req) => {
            const { reply, changed } = serveSelfService(store, req);
            if (changed) await persist();
            return reply;
        },
    }, { port: opts.port ?? 0, host, maxBodyBytes: opts.maxBodyBytes ?? 256 * 1024, quiet: opts.quiet ?? false });
    baseUrl = `http://${host}:${server.port}`;
    return {
        url: `${baseUrl}/api`, baseUrl, port: server.port, store, stats,
        async close() {
            clock.stop();
            await server.close();
            if (data) await data.flush();
        },
    };
}
