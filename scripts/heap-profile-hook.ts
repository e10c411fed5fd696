/**
 * Preload for sampled heap profiles of Pulumi's Node.js processes (the engine starts the program and the
 * provider itself, so flags cannot be passed to them):
 *   HEAP_PROF_DIR=/tmp/heap NODE_OPTIONS="--require $PWD/dist/scripts/heap-profile-hook.js" npm run bench:memory -- ...
 * Samples allocations through an inspector session (V8's sampling heap profiler: objects still alive
 * when the profile is taken, with the stack that allocated them) and writes the profile every 10 s as
 * HEAP_PROF_DIR/<pid>-<n>.heapprofile (Chrome DevTools reads them; the largest is near the process's peak).
 * A development tool only: nothing in the package loads it.
 */
import * as fs from "fs";
import * as inspector from "inspector";
import * as path from "path";

const dir = process.env.HEAP_PROF_DIR;
if (dir) {
    let n = 0;
    const session = new inspector.Session();
    session.connect();
    session.post("HeapProfiler.enable");
    session.post("HeapProfiler.startSampling", { samplingInterval: 64 * 1024 });
    const flush = () => session.post("HeapProfiler.getSamplingProfile", (err, r) => {
        if (!err && r?.profile) fs.writeFileSync(path.join(dir, `${process.pid}-${String(n++).padStart(4, "0")}.heapprofile`), JSON.stringify(r.profile));
    });
    setInterval(flush, 10_000).unref();
    process.on("exit", flush);
}
