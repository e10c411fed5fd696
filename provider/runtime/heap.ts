/**
 * The peak memory of a large stack's processes.
 *
 * V8 runs a full GC when the old generation reaches a limit, then sets the next limit at what
 * survived times a growing factor. The factor is dynamic: when the program allocates fast next to
 * the GC's speed, V8 lets it grow up to 4x. A Pulumi program that registers 10,100 resources does
 * exactly that. It holds under 1 GB (it runs to the end with `--max-old-space-size=1024`) but
 * peaked at 2.0 GB. The do-nothing dynamic stack of the same size peaked at 1.6 GB.
 *
 * Once this process has seen BOUND_AFTER of our resources (the program) or calls (the provider),
 * each full GC lets the old generation grow by at most CLOUDIWAY_HEAP_GROWTH percent (default 35)
 * over what survived (V8's `--heap-growing-percent`). The heap then stays near what it holds, and
 * the GC runs a few more times (docs/large-plans-and-shards.md, "Memory", has the figures, from `npm run bench:memory`).
 * `CLOUDIWAY_HEAP_GROWTH=0` turns it off. The demo's and the tests' small stacks stay below the
 * count and keep V8's default.
 *
 * V8 reads this flag at every full GC, so setting it after start takes effect. It must come before
 * the heap has grown: set at the 2,000th resource, a GC had already allowed the larger heap and the
 * 5,000-user program still peaked at 1,541 MB; at the 100th, before any full GC of a large heap,
 * the bench measures the figures in docs/large-plans-and-shards.md. The flag is the process's: programs and provider
 * processes of Pulumi exist for one stack's run.
 */
import * as v8 from "v8";

/** Resources (program) or calls (provider) after which the heap's growth is bounded. */
export const BOUND_AFTER = 100;
/**
 * 35: the root project's program at 5,000 users peaked at 1,355 / 1,279 MiB against 1,426 / 1,489 at 50%,
 * its CPU 31.1 / 29.3 s against 28.0 / 28.0 s, the up 1 s longer of 43 (side by side; docs/large-plans-and-shards.md).
 */
export const DEFAULT_HEAP_GROWTH = 35;
const MAX_HEAP_GROWTH = 400;

/** The percent from CLOUDIWAY_HEAP_GROWTH: undefined when off (0); an error naming the variable when not a percent. */
export function heapGrowthPercent(env: NodeJS.ProcessEnv = process.env): number | undefined {
    const raw = env.CLOUDIWAY_HEAP_GROWTH?.trim();
    if (raw === undefined || raw === "") return DEFAULT_HEAP_GROWTH;
    if (!/^\d+$/.test(raw) || Number(raw) > MAX_HEAP_GROWTH) {
        throw new Error(`CLOUDIWAY_HEAP_GROWTH must be a whole percent from 0 (V8's own growth) to ${MAX_HEAP_GROWTH}, got ${JSON.stringify(raw.slice(0, 40))}`);
    }
    return Number(raw) === 0 ? undefined : Number(raw);
}

/**
 * Counts what a process has handled and bounds its heap's growth once, at `threshold`. The
 * variable is read when the bound is made (at process start, for processHeap): a value that is not
 * a percent fails every call of the process, from the first, with the same error (never one
 * arbitrary call, then ignored).
 */
export class HeapBound {
    private counted = 0;
    private done = false;
    private readonly percent: number | undefined;
    private readonly problem: Error | undefined;
    constructor(
        private readonly threshold = BOUND_AFTER,
        private readonly setFlag: (flag: string) => void = (f) => v8.setFlagsFromString(f),
        env: NodeJS.ProcessEnv = process.env,
    ) {
        try {
            this.percent = heapGrowthPercent(env);
        } catch (e) {
            this.problem = e as Error;
        }
    }

    /** How many resources or calls this process has counted (up to the threshold). */
    get seen(): number { return this.counted; }

    /** One more resource or call. Returns the percent applied when this one crossed the threshold. */
    count(): number | undefined {
        if (this.problem) throw new Error(this.problem.message);
        if (this.done || ++this.counted < this.threshold) return undefined;
        this.done = true;
        if (this.percent !== undefined) this.setFlag(`--heap-growing-percent=${this.percent}`);
        return this.percent;
    }
}

/** This process's counter: the resource classes count in the program, the provider's methods in its process. */
export const processHeap = new HeapBound();
