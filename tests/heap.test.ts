/**
 * The heap bound of a large stack's processes (provider/runtime/heap.ts): V8's heap growth is
 * bounded once a process has handled BOUND_AFTER resources or calls, once, by the percent the
 * environment gives. (What it does to peak RSS is measured by `npm run bench:memory`.)
 */
import * as assert from "assert";
import { DEFAULT_HEAP_GROWTH, HeapBound, BOUND_AFTER, heapGrowthPercent, processHeap } from "../provider/runtime/heap";
import { installed } from "./helpers/provider";
import * as pulumi from "@pulumi/pulumi";

describe("heap bound of a large stack (runtime/heap.ts)", () => {
    it("small stacks keep V8's default: nothing is set before the threshold, the flag once at it", () => {
        const flags: string[] = [];
        const bound = new HeapBound(5, (f) => flags.push(f), {});
        for (let i = 0; i < 4; i++) assert.strictEqual(bound.count(), undefined);
        assert.deepStrictEqual(flags, []);
        assert.strictEqual(bound.count(), DEFAULT_HEAP_GROWTH);
        for (let i = 0; i < 100; i++) bound.count();
        assert.deepStrictEqual(flags, [`--heap-growing-percent=${DEFAULT_HEAP_GROWTH}`]);
    });

    it("CLOUDIWAY_HEAP_GROWTH gives the percent; 0 leaves V8's own growth", () => {
        const flags: string[] = [];
        new HeapBound(1, (f) => flags.push(f), { CLOUDIWAY_HEAP_GROWTH: " 25 " }).count();
        new HeapBound(1, (f) => flags.push(f), { CLOUDIWAY_HEAP_GROWTH: "0" }).count();
        assert.deepStrictEqual(flags, ["--heap-growing-percent=25"]);
        assert.strictEqual(heapGrowthPercent({}), DEFAULT_HEAP_GROWTH);
        assert.strictEqual(heapGrowthPercent({ CLOUDIWAY_HEAP_GROWTH: "" }), DEFAULT_HEAP_GROWTH);
    });

    it("a value that is not a whole percent is an error naming the variable", () => {
        for (const bad of ["50%", "-1", "1.5", "401", "lots"]) {
            assert.throws(() => heapGrowthPercent({ CLOUDIWAY_HEAP_GROWTH: bad }), (e: Error) => /^CLOUDIWAY_HEAP_GROWTH must be a whole percent/.test(e.message) && e.message.includes(JSON.stringify(bad)), bad);
        }
    });

    it("a bad CLOUDIWAY_HEAP_GROWTH, read when the process starts, fails every call, from the first (not one arbitrary call)", () => {
        const flags: string[] = [];
        const bound = new HeapBound(100, (f) => flags.push(f), { CLOUDIWAY_HEAP_GROWTH: "lots" });
        for (let i = 0; i < 150; i++) assert.throws(() => bound.count(), /^Error: CLOUDIWAY_HEAP_GROWTH must be a whole percent .*got "lots"/, `call ${i + 1}`);
        assert.deepStrictEqual(flags, []);
    });

    it("the provider's methods count toward the process's bound (one per call)", async () => {
        const target = installed("MailBatch", { "cloudiway:apiUrl": "http://127.0.0.1:9", "cloudiway:consumerKey": "k", "cloudiway:consumerSecret": "s" });
        const before = processHeap.seen;
        await target.check({}, { name: "Wave 1" });
        await target.diff("Wave 1", { name: "Wave 1" }, { name: "Wave 1" });
        // Counted until the threshold, then the counter stops (the flag is set once).
        assert.strictEqual(processHeap.seen, Math.min(before + 2, BOUND_AFTER));
    });

    it("the program's resources of this package count toward the process's bound (one per resource)", async () => {
        pulumi.runtime.setMocks({ newResource: (a) => ({ id: `${a.name}-id`, state: a.inputs }), call: () => ({}) }, "project", "stack", false);
        const { MailBatch, BatchGlobalSettings } = await import("../provider");
        const before = processHeap.seen;
        new MailBatch("wave", { name: "Wave 1" });
        new BatchGlobalSettings("wave-settings", { batchName: "Wave 1" });
        assert.strictEqual(processHeap.seen, Math.min(before + 2, BOUND_AFTER));
    });
});
