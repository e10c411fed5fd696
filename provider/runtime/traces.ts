/**
 * Lean stack traces while this package's resources register: what @pulumi/pulumi's per-resource and
 * per-promise traces would cost a large program, and how the resource classes (ModelResource in
 * model.ts) avoid it.
 */

/**
 * What a resource costs the program: @pulumi/pulumi captures a stack trace for every property of
 * every resource (debuggablePromise, for its leak report) and one of unlimited depth for the
 * resource's source position (Resource.callsites), each formatted by source-map-support, which maps
 * every frame through the source maps. A profile of a no-op preview of 1,000 users spent a third of
 * the program's CPU there (docs/large-plans-and-shards.md). While a resource of this package registers, those
 * traces are taken without source maps (V8's own frame text: positions in the .js files, which for
 * these resources point into this package anyway) and the per-property ones not at all. Returns the
 * function that puts things back; the resource classes call it around `super()`.
 */
export function leanStacks(): () => void {
    const limit = Error.stackTraceLimit;
    const prepare = Error.prepareStackTrace;
    Error.stackTraceLimit = 0; // debuggablePromise's traces (Resource.callsites sets its own limit)
    Error.prepareStackTrace = plainTrace;
    return () => {
        Error.stackTraceLimit = limit;
        Error.prepareStackTrace = prepare;
    };
}
/** Frames kept for a resource's recorded stack trace: the resource classes' own and the program's first few. */
const LEAN_FRAMES = 12;

/** V8's own text of a trace (no source maps), LEAN_FRAMES frames. */
function plainTrace(err: unknown, frames: NodeJS.CallSite[]): string {
    const head = !(err instanceof Error) ? "Error" : err.message ? `${err.name}: ${err.message}` : err.name;
    return [head, ...frames.slice(0, LEAN_FRAMES).map((f) => `    at ${f.toString()}`)].join("\n");
}

/** Marks the formatter leanPromiseTraces installed. */
const LEAN_WRAPPER = Symbol("cloudiway.leanPromiseTraces");
/**
 * The rest of @pulumi/pulumi's per-promise traces: after a resource registers, its serialization, its
 * RPC and every `pulumi.log` call make promises whose trace (debuggablePromise, kept for the report
 * of leaked promises) source-map-support formats through the source maps, outside any constructor
 * leanStacks covers. A CPU profile of a shard's program (docs/large-plans-and-shards.md, "Shards") still spent 8% there.
 * Once a program has registered resources of this package, a trace taken by debuggablePromise is
 * V8's own text (as in leanStacks); every other error keeps the program's formatter and its
 * source-mapped trace. Installed over the formatter in place (none: nothing to do), unless it is already
 * this one: called at every resource, it costs a property read.
 */
export function leanPromiseTraces(): void {
    const prepare = Error.prepareStackTrace;
    if (!prepare || prepare === plainTrace || (prepare as { [LEAN_WRAPPER]?: true })[LEAN_WRAPPER]) return;
    Error.prepareStackTrace = Object.assign(
        (err: Error, frames: NodeJS.CallSite[]) => (frames[0]?.getFunctionName() === "debuggablePromise" ? plainTrace(err, frames) : prepare(err, frames)),
        { [LEAN_WRAPPER]: true as const },
    );
}
