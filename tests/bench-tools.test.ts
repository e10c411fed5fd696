/**
 * The bench's own readings, which the notes and docs/large-plans-and-shards.md quote: the machine's busy CPU from
 * /proc/stat, a variant's environment, and the CPU profile buckets.
 */
import * as assert from "assert";
import { machineBusySeconds } from "../scripts/bench-shards";
import { binned, envOf, setupOf } from "../scripts/bench-memory";
import { summarize } from "../scripts/cpu-profile-summary";

describe("bench readings", () => {
    it("machine busy CPU: every /proc/stat state but idle and iowait, in seconds (USER_HZ 100)", () => {
        // user nice system idle iowait irq softirq steal guest guest_nice
        const stat = "cpu  1000 200 300 5000 700 10 20 30 999 999\ncpu0 1 1 1 1 1 1 1 1 0 0\n";
        assert.strictEqual(machineBusySeconds(stat), (1000 + 200 + 300 + 10 + 20 + 30) / 100);
        assert.ok(machineBusySeconds() > 0);
    });

    it("a variant's environment: NAME=value pairs, a value with spaces runs to the next NAME=", () => {
        assert.deepStrictEqual(envOf("NODE_OPTIONS=--max-old-space-size=1024 --max-semi-space-size=64 CLOUDIWAY_HEAP_GROWTH=0"),
            { NODE_OPTIONS: "--max-old-space-size=1024 --max-semi-space-size=64", CLOUDIWAY_HEAP_GROWTH: "0" });
        assert.deepStrictEqual(envOf(""), {});
        assert.deepStrictEqual(envOf("CLOUDIWAY_HEAP_GROWTH="), { CLOUDIWAY_HEAP_GROWTH: "" });
    });

    it("a variant's BENCH_* keys are the bench's (checkout, CLI, program), never passed to the processes", () => {
        const s = setupOf("BENCH_TREE=/tmp/sdk BENCH_ENGINE_BIN=/e/bin BENCH_ROOT=1 CLOUDIWAY_HEAP_GROWTH=0");
        assert.deepStrictEqual(s, { tree: "/tmp/sdk", engineBin: "/e/bin", noop: false, root: true, parallel: undefined, env: { CLOUDIWAY_HEAP_GROWTH: "0" } });
        assert.deepStrictEqual(setupOf(""), { tree: undefined, engineBin: undefined, noop: false, root: false, parallel: undefined, env: {} });
        assert.strictEqual(setupOf("BENCH_PARALLEL=32 X=1").parallel, 32);
        assert.deepStrictEqual(setupOf("BENCH_PARALLEL=32 X=1").env, { X: "1" });
        assert.throws(() => setupOf("BENCH_PARALLEL=0"), /BENCH_PARALLEL must be a whole number > 0/);
        assert.strictEqual(setupOf("BENCH_NOOP=0").noop, false);
        assert.throws(() => setupOf("BENCH_NOOP=1 BENCH_ROOT=1"), /one program per variant/);
    });

    it("the timeline: calls answered per 250 ms from the command's start, by call", () => {
        const t0 = Date.parse("2026-12-06T10:00:00.000Z");
        const at = (ms: number) => new Date(t0 + ms).toISOString();
        const t = binned([
            { method: "POST", call: "/mailusers/create", at: at(10) },
            { method: "POST", call: "/mailusers/create", at: at(249) },
            { method: "GET", call: "/mailusers/migrationtag", at: at(250) },
            { method: "POST", call: "/mailusers/addtobatch", at: at(1000) },
        ], t0);
        assert.deepStrictEqual(t, [
            { fromMs: 0, byCall: { "POST /mailusers/create": 2 } },
            { fromMs: 250, byCall: { "GET /mailusers/migrationtag": 1 } },
            { fromMs: 1000, byCall: { "POST /mailusers/addtobatch": 1 } },
        ]);
    });

    it("a CPU profile's self time by origin, and the process told by the code it ran", () => {
        const frame = (functionName: string, url: string) => ({ functionName, url });
        const s = summarize({
            nodes: [
                { id: 1, callFrame: frame("(root)", "") },
                { id: 2, callFrame: frame("main", "file:///x/node_modules/@pulumi/pulumi/cmd/run/run.js") },
                { id: 3, callFrame: frame("(garbage collector)", "") },
                { id: 4, callFrame: frame("check", "/repo/dist/provider/runtime/model.js") },
                { id: 5, callFrame: frame("serialize", "/x/node_modules/google-protobuf/google-protobuf.js") },
            ],
            samples: [2, 3, 3, 4, 5], timeDeltas: [1e6, 2e6, 1e6, 5e5, 25e4], startTime: 0, endTime: 0,
        });
        assert.strictEqual(s.role, "program");
        assert.deepStrictEqual(s.buckets, { "@pulumi/pulumi": 1, "garbage collector": 3, "this package": 0.5, "google-protobuf": 0.25 });
        assert.strictEqual(s.totalSeconds, 4.75);
    });
});
