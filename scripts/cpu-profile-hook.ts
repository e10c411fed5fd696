/**
 * Preload for CPU profiles of Pulumi's Node.js processes (Node.js refuses `--cpu-prof` in NODE_OPTIONS,
 * and the engine starts the program and the provider itself):
 *   PROF_DIR=/tmp/prof NODE_OPTIONS="--require $PWD/dist/scripts/cpu-profile-hook.js" npm run bench:shards -- ...
 * Samples the process's CPU through an inspector session and writes the profile every 5 s and at exit
 * (a provider process may be killed), as PROF_DIR/<pid>-<n>.cpuprofile; cpu-profile-summary.ts reads them.
 * A development tool only: nothing in the package loads it.
 */
import * as fs from "fs";
import * as inspector from "inspector";
import * as path from "path";

const dir = process.env.PROF_DIR;
if (dir) {
    let n = 0;
    const session = new inspector.Session();
    session.connect();
    session.post("Profiler.enable");
    session.post("Profiler.setSamplingInterval", { interval: 2000 });
    session.post("Profiler.start");
    const flush = (restart: boolean) => session.post("Profiler.stop", (err, r) => {
        if (!err && r?.profile) fs.writeFileSync(path.join(dir, `${process.pid}-${String(n++).padStart(4, "0")}.cpuprofile`), JSON.stringify(r.profile));
        if (restart) session.post("Profiler.start");
    });
    setInterval(() => flush(true), 5000).unref();
    process.on("exit", () => flush(false));
}
