/**
 * For tests that call the typed provider methods directly (as install does for the engine):
 * the emulator fixture they share, and helpers that type what a test hands a method.
 */
import * as assert from "assert";
import { startEmulator } from "../../emulator";
import { CloudiwayClient } from "../../provider/client";
import type { CheckResult, Planned } from "../../provider/runtime/model";
import { contextFor, install } from "../../provider/runtime/impl";
import { control, Emu, emuResetStats, emuStats } from "./emu";

/**
 * A resource as the engine holds it in state, given by a test with only the properties the method
 * reads; typed as what the method takes (T comes from where it is passed).
 */
export function held<T>(v: object): T {
    return v as T;
}

/** check's answer without failures: the (planned) inputs the engine then hands diff and create. */
export function checked<I>(r: CheckResult<I>): I & Planned<I> {
    if (r.failures.length) throw new Error(`check failed: ${r.failures.map((f) => f.reason).join("; ")}`);
    return r.inputs as I & Planned<I>;
}

/** What read or create answered, which must be there. */
export function present<T>(v: T | undefined, what = "value"): T {
    if (v === undefined) throw new Error(`expected a ${what}`);
    return v;
}

/**
 * The emulator in-process, a client and a provider context configured for it: what every
 * provider-method test file shares. `hooks()` registers before/beforeEach/after on the current
 * mocha suite: the emulator is reset and the context's read cache cleared before each test.
 */
export class ProviderFixture {
    emu!: Emu;
    client!: CloudiwayClient;
    ctx!: ReturnType<typeof contextFor>;

    constructor(readonly key: string, readonly secret: string) {}

    hooks(): void {
        // eslint-disable-next-line @typescript-eslint/no-this-alias
        const fx = this;
        before(async () => {
            fx.emu = await startEmulator({ port: 0, consumerKey: fx.key, consumerSecret: fx.secret, quiet: true });
            fx.client = new CloudiwayClient({ apiUrl: fx.emu.url, consumerKey: fx.key, consumerSecret: fx.secret });
            const config: Record<string, string> = { "cloudiway:apiUrl": fx.emu.url, "cloudiway:consumerKey": fx.key, "cloudiway:consumerSecret": fx.secret };
            fx.ctx = contextFor((k) => config[k]);
        });
        beforeEach(async () => {
            await control(fx.emu).reset();
            fx.ctx.cache.clear();
        });
        after(async () => {
            await fx.client?.close?.();
            await fx.emu?.close();
        });
    }

    /** Runs `act` and asserts it made no mutating call (one that changed the emulator's state); returns the calls' stats. */
    async expectNoMutatingCall(act: () => Promise<unknown>): Promise<Awaited<ReturnType<typeof emuStats>>> {
        await emuResetStats(this.emu.baseUrl);
        await act();
        const stats = await emuStats(this.emu.baseUrl);
        assert.strictEqual(stats.mutating, 0, `no mutating call: ${JSON.stringify(stats.byCall)}`);
        return stats;
    }
}

/** A describe "provider methods against the emulator" with its own ProviderFixture, for the tests `body` declares. */
export function describeProviderMethods(key: string, secret: string, body: (fx: ProviderFixture) => void): void {
    describe("provider methods against the emulator", function () {
        this.timeout(60_000);
        const fx = new ProviderFixture(key, secret);
        fx.hooks();
        body(fx);
    });
}

/** The mail user most provider-method tests declare. */
export const ada = {
    firstName: "Ada", lastName: "Lovelace", sourceEmail: "ada@source.example", targetEmail: "ada@target.example",
    sourceConnectorName: "Gmail", targetConnectorName: "Office 365",
};

/** A resource type's provider methods as the engine calls them (through `install`), for tests. */
export type InstalledProvider = Record<"check" | "diff" | "create" | "read" | "update" | "delete", (...a: any[]) => Promise<any>>;

/**
 * The provider of `type` as the next `up`'s provider process has it, configured for the emulator at
 * `apiUrl` (plus `extra` config). Every `pulumi` command starts a new process with an empty read
 * cache; here one process stands for several ups, so the cache of list answers is emptied before
 * each call (diff excepted: within one command it follows a check that just read).
 */
export function nextUpProvider(type: string, apiUrl: string, extra: Record<string, string> = {}): InstalledProvider {
    const config: Record<string, string> = { "cloudiway:apiUrl": apiUrl, "cloudiway:consumerKey": "demo-key", "cloudiway:consumerSecret": "demo-secret", ...extra };
    const target: any = {};
    install(target, type, { config: new Map(Object.entries(config)) } as any);
    const ctx = contextFor((k) => config[k]);
    const nextUp = (m: string) => (...a: any[]) => { ctx.cache.clear(); return target[m](...a); };
    return { check: nextUp("check"), diff: target.diff, create: nextUp("create"), read: nextUp("read"), update: nextUp("update"), delete: nextUp("delete") };
}
