/**
 * What the engine tests share: `EngineFixture` (the emulator + stack + assertions every
 * engine test file uses), `describeEngine` (an @engine suite with its fixture), `kind`
 * (one API kind as a lifecycle test sees it) and `userArgs`. The lifecycle tests themselves, as terraform-plugin-testing runs one, are
 * in tests/resources/<resource>.test.ts, each run for both kinds: create (the emulator
 * has it, in that kind only), empty preview (0 API calls), empty refresh, each input
 * changed in turn (exactly that update/replace, applied, then an empty preview), drift
 * brought in by refresh and restored by up, deletion behind the stack's back (refresh
 * drops it, up recreates it), destroy.
 */
import * as assert from "assert";
import { startEmulator } from "../../emulator";
import { CloudiwayClient, Kind } from "../../provider/client";
import { TestStack, changes, skipIfEngineOptedOut } from "./engine";
import { batchesOf, control, Emu, emuResetStats, emuState, emuStats, usersOf } from "./emu";

export type { Kind };
/** Both API kinds, in the order the lifecycle tests run them. */
export const KINDS: readonly Kind[] = ["mail", "archive"];

export class EngineFixture {
    emu!: Emu;
    client!: CloudiwayClient;
    stack: TestStack | undefined;
    /** Every line pulumi printed in this file's tests (for secret scans). */
    readonly outputsSeen: string[] = [];

    constructor(readonly key: string, readonly secret: string) {}

    /** Registers before/after/afterEach on the current mocha suite. */
    hooks(): void {
        // eslint-disable-next-line @typescript-eslint/no-this-alias
        const fx = this;
        before(async function () {
            skipIfEngineOptedOut(this);
            fx.emu = await startEmulator({ port: 0, consumerKey: fx.key, consumerSecret: fx.secret, transitionMs: 0, quiet: true });
            fx.client = new CloudiwayClient({ apiUrl: fx.emu.url, consumerKey: fx.key, consumerSecret: fx.secret });
        });
        after(async () => {
            await fx.client?.close?.();
            await fx.emu?.close();
        });
        afterEach(async function () {
            const stack = fx.stack;
            if (!stack) return;
            fx.stack = undefined;
            fx.outputsSeen.push(...stack.log);
            if (this.currentTest?.state === "failed") console.log(stack.log.slice(-3).join("\n"));
            await stack.destroy().catch(() => undefined);
            await stack.dispose();
        });
    }

    get s(): TestStack {
        if (!this.stack) throw new Error("no stack: call newStack first");
        return this.stack;
    }

    async newStack(name: string, config?: Record<string, string>): Promise<TestStack> {
        await control(this.emu).reset();
        this.stack = await TestStack.create({ name, apiUrl: this.emu.url, consumerKey: this.key, consumerSecret: this.secret, config });
        return this.stack;
    }

    state(): Promise<any> { return emuState(this.emu.baseUrl); }

    async expectEmptyPreview(what: string, resourceName?: string): Promise<void> {
        await emuResetStats(this.emu.baseUrl);
        const p = await this.s.preview();
        assert.deepStrictEqual(changes(p.steps), [], `${what}: preview should show no changes`);
        const stats = await emuStats(this.emu.baseUrl);
        assert.strictEqual(stats.total, 0, `${what}: preview of an unchanged stack made API calls: ${JSON.stringify(stats.byCall)}${resourceName ? ` (${resourceName})` : ""}`);
    }

    async expectEmptyRefresh(what: string): Promise<void> {
        const r = await this.s.refresh();
        const changed = Object.entries(r.counts).filter(([op, n]) => op !== "same" && n > 0);
        assert.deepStrictEqual(changed, [], `${what}: refresh should record no changes`);
    }

    /**
     * The secret is in no line pulumi printed for this test's stack (at the default verbosity;
     * engine-resources.test.ts checks the most verbose logs). Called at the end of a test, so that it
     * checks what that test ran, whatever ran before it.
     */
    expectSecretInNoOutput(): void {
        const log = this.s.log;
        assert.ok(log.length > 0, "pulumi printed nothing for this stack: nothing was checked");
        assert.ok(!log.join("\n").includes(this.secret), "secret in the output of pulumi");
    }

    async expectOnly(op: string, name: string, what: string): Promise<void> {
        const p = await this.s.preview();
        assert.deepStrictEqual(changes(p.steps).map((c) => [c.op, c.name]), [[op, name]], `${what}: preview`);
    }
}

export const userArgs = (over: Record<string, unknown> = {}) => ({
    firstName: "Ada", lastName: "Lovelace", sourceEmail: "ada@source.example", targetEmail: "ada@target.example",
    sourceConnectorName: "Gmail", targetConnectorName: "Office 365", ...over,
});

/** One API kind as a lifecycle test sees it: the other kind, `kind` as a program declares it, the emulator's objects of a kind, the title suffix. */
export function kindView(fx: EngineFixture, kind: Kind) {
    const other: Kind = kind === "mail" ? "archive" : "mail";
    /** `kind` as a program declares it: the mail kind is the default and is left out. */
    const k: Record<string, unknown> = kind === "mail" ? {} : { kind };
    const users = async (f: Kind = kind) => usersOf(await fx.state(), f);
    const batches = async (f: Kind = kind) => batchesOf(await fx.state(), f);
    const label = kind === "mail" ? "" : ` (${kind})`;
    return { other, k, users, batches, label };
}

/** A describe "@engine <title> under the real Pulumi CLI" with its own EngineFixture (emulator, client, a stack per test), for the tests `body` declares. */
export function describeEngine(title: string, key: string, secret: string, body: (fx: EngineFixture) => void): void {
    describe(`@engine ${title} under the real Pulumi CLI`, function () {
        this.timeout(20 * 60 * 1000);
        const fx = new EngineFixture(key, secret);
        fx.hooks();
        body(fx);
    });
}
