/**
 * leanPromiseTraces (provider/runtime/traces.ts): @pulumi/pulumi's per-promise traces skip the
 * program's (source-mapping) formatter; every other error keeps it.
 */
import * as assert from "assert";
import { leanPromiseTraces } from "../provider/runtime/traces";

describe("lean promise traces", () => {
    const original = Error.prepareStackTrace;
    after(() => { Error.prepareStackTrace = original; });

    it("a trace taken by debuggablePromise is V8's own text; any other error goes through the program's formatter", () => {
        let formatted = 0;
        Error.prepareStackTrace = (err: Error) => { formatted++; return `formatted: ${err.message}`; };
        leanPromiseTraces();
        leanPromiseTraces(); // at every resource: installed once over a formatter
        // The shape of @pulumi/pulumi's runtime/debuggable.js: the Error is made in debuggablePromise itself.
        function debuggablePromise(): string | undefined { return new Error().stack; }
        const trace = debuggablePromise();
        assert.strictEqual(formatted, 0, "the promise's trace did not go through the formatter");
        assert.match(trace ?? "", /^Error\n {4}at debuggablePromise \(.*lean-traces\.test\.js:\d+:\d+\)/);
        assert.ok((trace ?? "").split("\n").length <= 13, "at most 12 frames");
        function somethingElse(): string | undefined { return new Error("boom").stack; }
        assert.strictEqual(somethingElse(), "formatted: boom");
        assert.strictEqual(formatted, 1);
    });
});
