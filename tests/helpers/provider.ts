/**
 * The one fixture of the tests that call the typed provider methods directly (as `install` does for
 * the engine), and helpers that type what a test hands a method. This is the only test file that
 * imports the provider's entry (install, contextFor, implementations): the others take it from here.
 */
import * as assert from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { EmulatorControl, startEmulator } from "../../emulator";
import type { CallRecord } from "../../emulator";
import { CloudiwayClient } from "../../provider/client";
import type { CheckResult, Planned } from "../../provider/runtime/model";
import type { Context } from "../../provider/runtime/context";
import { contextFor, implementations, install, ResourceType } from "../../provider/impl";
import { control, Emu, emuCalls, emuResetStats, emuStats } from "./emu";
import { FakeClock } from "./fakeClock";

export { implementations };
export type { ResourceType };

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

/** The mail user most provider-method tests declare. */
export const ada = {
    firstName: "Ada", lastName: "Lovelace", sourceEmail: "ada@source.example", targetEmail: "ada@target.example",
    sourceConnectorName: "Gmail", targetConnectorName: "Office 365",
};

/** A mail user named `n` with the connectors the emulator knows (sourceEmail `<n>@source.example`). */
export const person = (n: string, lastName = "Test") => ({
    firstName: n, lastName, sourceEmail: `${n}@source.example`, targetEmail: `${n}@target.example`,
    sourceConnectorName: "Gmail", targetConnectorName: "Office 365",
});

/** The error of a provider call that must fail (as the up that made it does). */
export function upError(p: Promise<unknown>): Promise<any> {
    return p.then(() => assert.fail("the up should fail"), (e) => e);
}

/** A resource type's provider methods as the engine calls them (through `install`), for tests. */
export type InstalledProvider = Record<"check" | "diff" | "create" | "read" | "update" | "delete", (...a: any[]) => Promise<any>>;

/** The provider of `type` installed as the dynamic provider process does it, with this configuration (no emulator needed). */
export function installed(type: ResourceType, config: Record<string, string>): InstalledProvider {
    const target: any = {};
    install(target, type, { config: new Map(Object.entries(config)) } as any);
    return target;
}

/** A provider context without credentials: check asks the API nothing. */
export function offlineContext(): Context {
    return contextFor(() => undefined);
}

/** The provider's context for this configuration (one per configuration and process, as in a provider process). */
export function contextOf(config: Record<string, string>): Context {
    return contextFor((k) => config[k]);
}

export interface ProviderFixtureOptions {
    /** The consumer key and secret the emulator accepts and the provider is configured with (default demo-key, demo-secret). */
    key?: string;
    secret?: string;
    /** The emulator's time per lifecycle step (0, the default: every step at the call; an hour or more: passes advance only when a test ticks). */
    transitionMs?: number;
    /** Provider configuration besides the API URL and credentials (e.g. `cloudiway:deletionPolicy`). */
    config?: Record<string, string>;
    /** A new emulator for each test (else one for the file, reset before each test). */
    emulatorPerTest?: boolean;
    /** A temporary folder for each test (`fx.dir`), named with this prefix, removed after it. */
    tempDir?: string;
    /** Use `fx.dir` as the machine's journal folder (CLOUDIWAY_JOURNAL_DIR) during each test. */
    journalInTempDir?: boolean;
    /** Environment variables a test may set: restored after each test. */
    env?: string[];
    /** A fake wall clock (`fx.clock`, moved by `advance`) in place of Date during each test. */
    fakeClock?: boolean;
}

/**
 * The emulator in-process, its control client, a client and the provider configured for it: what every
 * provider-method test file shares. `hooks()` registers the mocha hooks on the current suite (or use
 * `providerFixture`): the emulator started (for the file or for each test) and, for a file's emulator,
 * reset and the provider's read cache cleared before each test.
 */
export class ProviderFixture {
    emu!: Emu;
    control!: EmulatorControl;
    client!: CloudiwayClient;
    /** The provider's context for the fixture's configuration. */
    ctx!: Context;
    /** This test's temporary folder (with `tempDir`). */
    dir!: string;
    /** The wall clock the provider reads during a test (with `fakeClock`). */
    readonly clock = new FakeClock();
    readonly key: string;
    readonly secret: string;

    constructor(readonly opts: ProviderFixtureOptions = {}) {
        this.key = opts.key ?? "demo-key";
        this.secret = opts.secret ?? "demo-secret";
    }

    /** The provider configuration for this emulator, with `extra`. */
    config(extra: Record<string, string> = {}): Record<string, string> {
        return { "cloudiway:apiUrl": this.emu.url, "cloudiway:consumerKey": this.key, "cloudiway:consumerSecret": this.secret, ...this.opts.config, ...extra };
    }

    /** The provider's context with `extra` configuration, as a new provider process has it (its read cache empty). */
    context(extra: Record<string, string> = {}): Context {
        const ctx = contextOf(this.config(extra));
        ctx.cache.clear();
        return ctx;
    }

    /** The provider of `type` as a provider process has it (installed, configured for this emulator). */
    provider(type: ResourceType, extra: Record<string, string> = {}): InstalledProvider {
        return installed(type, this.config(extra));
    }

    /**
     * The provider of `type` as the next `up`'s provider process has it. Every `pulumi` command starts
     * a new process with an empty read cache; here one process stands for several ups, so the cache of
     * list answers is emptied before each call (diff excepted: within one command it follows a check
     * that just read).
     */
    nextUp(type: ResourceType, extra: Record<string, string> = {}): InstalledProvider {
        const target = this.provider(type, extra);
        const ctx = contextOf(this.config(extra));
        const fresh = (m: keyof InstalledProvider) => (...a: any[]) => { ctx.cache.clear(); return target[m](...a); };
        return { check: fresh("check"), diff: target.diff, create: fresh("create"), read: fresh("read"), update: fresh("update"), delete: fresh("delete") };
    }

    /** The calls the emulator answered without error named `call` (its route, e.g. /mailusers/startbatch), optionally for one batch. */
    async okCalls(call: string, batchName?: string): Promise<CallRecord[]> {
        return (await emuCalls(this.emu.baseUrl)).filter((c) => c.call === call && c.ok && (batchName === undefined || c.batchName === batchName));
    }

    /** Ticks the emulator until every pass under way ended. */
    async passesEnd(): Promise<void> {
        for (let i = 0; i < 10; i++) await this.control.tick();
    }

    /** Creates the mail users `names` (`person`), each added to `batch` when given; their migration tags by name. */
    async addUsers(names: string[], batch?: string): Promise<Record<string, string>> {
        const tags: Record<string, string> = {};
        for (const n of names) {
            tags[n] = (await this.client.createUser("mail", person(n))).migrationTag;
            if (batch !== undefined) await this.client.addToBatch("mail", tags[n], batch);
        }
        return tags;
    }

    /** Runs `act` and asserts it made no mutating call (one that changed the emulator's state); returns the calls' stats. */
    async expectNoMutatingCall(act: () => Promise<unknown>): Promise<Awaited<ReturnType<typeof emuStats>>> {
        await emuResetStats(this.emu.baseUrl);
        await act();
        const stats = await emuStats(this.emu.baseUrl);
        assert.strictEqual(stats.mutating, 0, `no mutating call: ${JSON.stringify(stats.byCall)}`);
        return stats;
    }

    private async start(): Promise<void> {
        this.emu = await startEmulator({ port: 0, consumerKey: this.key, consumerSecret: this.secret, transitionMs: this.opts.transitionMs, quiet: true });
        this.control = control(this.emu);
        this.client = new CloudiwayClient({ apiUrl: this.emu.url, consumerKey: this.key, consumerSecret: this.secret });
        this.ctx = contextOf(this.config());
    }

    /** Closes the client and the emulator. */
    async close(): Promise<void> {
        await this.client?.close?.();
        await this.emu?.close();
    }

    /** Registers the fixture's hooks on the current mocha suite. */
    hooks(): void {
        const o = this.opts;
        const names = [...(o.env ?? []), ...(o.journalInTempDir ? ["CLOUDIWAY_JOURNAL_DIR"] : [])];
        const saved = Object.fromEntries(names.map((k) => [k, process.env[k]]));
        if (!o.emulatorPerTest) {
            before(() => this.start());
            after(() => this.close());
        }
        beforeEach(async () => {
            if (o.emulatorPerTest) await this.start();
            else await this.control.reset();
            this.ctx.cache.clear();
            if (o.tempDir !== undefined || o.journalInTempDir) this.dir = fs.mkdtempSync(path.join(os.tmpdir(), o.tempDir ?? "cw-provider-"));
            if (o.journalInTempDir) process.env.CLOUDIWAY_JOURNAL_DIR = this.dir;
            if (o.fakeClock) this.clock.install();
        });
        afterEach(async () => {
            if (o.fakeClock) this.clock.restore();
            for (const [k, v] of Object.entries(saved)) if (v === undefined) delete process.env[k]; else process.env[k] = v;
            if (this.dir) fs.rmSync(this.dir, { recursive: true, force: true });
            if (o.emulatorPerTest) await this.close();
        });
    }
}

/** A ProviderFixture whose hooks are registered on the current mocha suite. */
export function providerFixture(opts: ProviderFixtureOptions = {}): ProviderFixture {
    const fx = new ProviderFixture(opts);
    fx.hooks();
    return fx;
}

/** A describe "provider methods against the emulator" with its own ProviderFixture, for the tests `body` declares. */
export function describeProviderMethods(key: string, secret: string, body: (fx: ProviderFixture) => void): void {
    describe("provider methods against the emulator", function () {
        this.timeout(60_000);
        body(providerFixture({ key, secret }));
    });
}
