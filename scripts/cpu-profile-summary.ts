/**
 * `node dist/scripts/cpu-profile-summary.js <dir-or-files...>`: where the CPU of Pulumi's processes
 * goes. Reads V8 CPU profiles (`.cpuprofile`, e.g. written by cpu-profile-hook.ts in every Node.js
 * process of a bench run; `<pid>-<n>.cpuprofile` pieces of one process are added up)
 * and prints, per process (the program or the dynamic provider, told by the code it ran), the self
 * time by where the code comes from: @pulumi/pulumi, gRPC, protobuf, this package, undici, zod, Node.js
 * itself, V8's garbage collector, and the rest. Figures only (a profile to read, not a test).
 */
import * as fs from "fs";
import * as path from "path";

interface CallFrame { functionName: string; url: string }
interface ProfileNode { id: number; callFrame: CallFrame }
interface CpuProfile { nodes: ProfileNode[]; samples: number[]; timeDeltas: number[]; startTime: number; endTime: number }

const BUCKETS: [string, (f: CallFrame) => boolean][] = [
    ["garbage collector", (f) => f.functionName === "(garbage collector)"],
    ["idle", (f) => f.functionName === "(idle)"],
    ["V8 / native (program)", (f) => f.functionName === "(program)"],
    ["source-map-support", (f) => /node_modules\/source-map-support\//.test(f.url)],
    ["@grpc/grpc-js", (f) => /node_modules\/@grpc\//.test(f.url)],
    ["google-protobuf", (f) => /node_modules\/google-protobuf\//.test(f.url)],
    ["@pulumi/pulumi", (f) => /node_modules\/@pulumi\/pulumi\//.test(f.url)],
    ["undici", (f) => /node_modules\/undici\//.test(f.url)],
    ["zod", (f) => /node_modules\/zod\//.test(f.url)],
    ["yaml", (f) => /node_modules\/yaml\//.test(f.url)],
    ["this package", (f) => /\/dist\/(provider|cli|emulator)\//.test(f.url) || /pulumi-cloudiway\/dist\//.test(f.url)],
    ["other node_modules", (f) => /node_modules\//.test(f.url)],
    ["Node.js core", (f) => f.url.startsWith("node:") || (f.url === "" && f.functionName !== "")],
];

function roleOf(p: CpuProfile): string {
    const urls = p.nodes.map((n) => n.callFrame.url);
    if (urls.some((u) => /cmd\/dynamic-provider\//.test(u))) return "provider";
    if (urls.some((u) => /cmd\/run\//.test(u))) return "program";
    return "other";
}

export function summarize(p: CpuProfile): { role: string; totalSeconds: number; buckets: Record<string, number> } {
    const byId = new Map(p.nodes.map((n) => [n.id, n]));
    const buckets: Record<string, number> = {};
    let total = 0;
    p.samples.forEach((id, i) => {
        const us = p.timeDeltas[i] ?? 0;
        const f = byId.get(id)?.callFrame ?? { functionName: "", url: "" };
        const b = BUCKETS.find(([, test]) => test(f))?.[0] ?? "rest";
        buckets[b] = (buckets[b] ?? 0) + us / 1e6;
        total += us / 1e6;
    });
    return { role: roleOf(p), totalSeconds: total, buckets };
}

/** Files named `<pid>-<n>.cpuprofile` (a process that writes its profile in pieces) are one process. */
function main(args: string[]) {
    const files = args.flatMap((a) => (fs.statSync(a).isDirectory() ? fs.readdirSync(a).filter((f) => f.endsWith(".cpuprofile")).sort().map((f) => path.join(a, f)) : [a]));
    if (!files.length) throw new Error("no .cpuprofile files given");
    const groups = new Map<string, string[]>();
    for (const f of files) {
        const key = /^(\d+)-\d+\.cpuprofile$/.exec(path.basename(f))?.[1] ?? f;
        groups.set(key, [...(groups.get(key) ?? []), f]);
    }
    const firstSeen = (fs_: string[]) => Math.min(...fs_.map((f) => fs.statSync(f).mtimeMs));
    for (const [key, fs_] of [...groups].sort((a, b) => firstSeen(a[1]) - firstSeen(b[1]))) {
        const parts = fs_.map((f) => summarize(JSON.parse(fs.readFileSync(f, "utf8")) as CpuProfile));
        const role = parts.find((x) => x.role !== "other")?.role ?? "other";
        const buckets: Record<string, number> = {};
        for (const x of parts) for (const [b, v] of Object.entries(x.buckets)) buckets[b] = (buckets[b] ?? 0) + v;
        const total = parts.reduce((n, x) => n + x.totalSeconds, 0);
        const busy = total - (buckets.idle ?? 0);
        console.log(`\n${key} (${fs_.length} file(s), first at ${new Date(firstSeen(fs_)).toISOString().slice(11, 19)}): ${role}, ${total.toFixed(1)} s profiled, ${busy.toFixed(1)} s not idle`);
        for (const [b, sec] of Object.entries(buckets).sort((x, y) => y[1] - x[1])) {
            if (b === "idle" || sec < 0.05) continue;
            console.log(`  ${b.padEnd(24)} ${sec.toFixed(1).padStart(7)} s  ${((100 * sec) / Math.max(busy, 1e-9)).toFixed(1).padStart(5)}%`);
        }
    }
}

if (require.main === module) {
    try { main(process.argv.slice(2)); } catch (e) { console.error(`cpu-profile-summary: ${e instanceof Error ? e.message : String(e)}`); process.exit(1); }
}
