/**
 * The engine tests' side of the engine harness (harness/engine.ts, shared with the benches): the
 * stack class under its tests' name, and what only mocha suites need. Never skips silently: if the
 * engine cannot be had, the tests fail (set CLOUDIWAY_SKIP_ENGINE_TESTS=1 to opt out explicitly on
 * a machine without Go; CI never sets it).
 */
import { EngineStack } from "../../harness/engine";
import { EmulatorOptions, startEmulator } from "../../emulator";
import type { Emu } from "./emu";

export { REPO, engineBinDir, EngineProject, EngineStack as TestStack } from "../../harness/engine";
export type { CliResult, StackOptions, StepSummary } from "../../harness/engine";
type TestStack = EngineStack;

export function skipEngineTests(): boolean {
    return process.env.CLOUDIWAY_SKIP_ENGINE_TESTS === "1" && !process.env.CI;
}

/**
 * For an engine suite's first `before`: skips the suite, with a warning, only when a person
 * opted out with CLOUDIWAY_SKIP_ENGINE_TESTS=1 outside CI. Never under CI.
 */
export function skipIfEngineOptedOut(ctx: Mocha.Context): void {
    if (!skipEngineTests()) return;
    console.warn("ENGINE TESTS SKIPPED: CLOUDIWAY_SKIP_ENGINE_TESTS=1");
    ctx.skip();
}

/**
 * The emulator of an engine suite (`.emu`), started by the suite's first `before` (unless the
 * engine tests are opted out) with `opts` (default: every lifecycle step at the call), closed after it.
 */
export function engineEmulator(opts: EmulatorOptions = {}): { emu: Emu } {
    const holder = {} as { emu: Emu };
    before(async function () {
        skipIfEngineOptedOut(this);
        holder.emu = await startEmulator({ port: 0, transitionMs: 0, quiet: true, ...opts });
    });
    after(async () => { await holder.emu?.close(); });
    return holder;
}

/** The operations of preview steps other than "same". */
export function changes(steps: any[]): { op: string; name: string; type: string; diffs?: string[] }[] {
    return steps
        .filter((s) => s.op !== "same")
        .map((s) => ({ op: s.op, name: String(s.urn).split("::").pop()!, type: String(s.urn).split("::")[2], diffs: s.diffs }));
}

/**
 * Registers an afterEach on the current mocha suite for a test file that keeps its stack in a
 * variable: if `get()` gives one, prints the last `lines` lines of its log (at most `maxChars`
 * characters) when the test failed, destroys it when `destroy` says so, disposes of it and
 * `release()`s it.
 */
export function disposeStackAfterEach(get: () => TestStack | undefined, release: () => void, opts: { destroy: boolean; lines: number; maxChars?: number }): void {
    afterEach(async function () {
        const stack = get();
        if (!stack) return;
        if (this.currentTest?.state === "failed") console.log(stack.log.slice(-opts.lines).join("\n").slice(-(opts.maxChars ?? Infinity)));
        if (opts.destroy) await stack.destroy().catch(() => undefined);
        await stack.dispose();
        release();
    });
}

/**
 * User `i` of a generated tenant as the spec program declares it (`<prefix><i>@source.example` ->
 * `@target.example`, Gmail -> Office 365), then its BatchMembership of `batch<i % batches>`.
 */
export function tenantUser(t: { prefix: string; batches: number }, i: number, firstName: string): any[] {
    return [
        {
            type: "MailUser", name: `user${i}`,
            args: {
                firstName, lastName: t.prefix, sourceEmail: `${t.prefix.toLowerCase()}${i}@source.example`,
                targetEmail: `${t.prefix.toLowerCase()}${i}@target.example`, sourceConnectorName: "Gmail", targetConnectorName: "Office 365",
            },
        },
        { type: "BatchMembership", name: `member${i}`, args: { migrationTag: { $out: `user${i}.migrationTag` }, batchName: { $out: `batch${i % t.batches}.name` } } },
    ];
}
