/**
 * `npm run bench`: prints figures (never asserted by tests) and writes them as
 * JSON under bench/results/. Sections:
 *  - client: status reads through the client at concurrency 1, 16, 64 (req/s, p50, p99), and the
 *    emulator's own request rate (raw undici requests, no client);
 *  - writes: the emulator's cost per write as the tenant grows (5,000 creates, then memberships);
 *  - scale (scripts/bench-scale.ts): every pulumi operation on a whole tenant next to the naive
 *    script and a no-op dynamic-resource stack, per size and latency, and the scale targets met or missed;
 *  - shards (scripts/bench-shards.ts; only with --section shards, not in "all": 20,000 users by
 *    default): one stack of a shard's size next to the whole plan as shards, up --all-shards
 *    --jobs 1 and --jobs 2, per process CPU and peak RSS, and its checks met or missed;
 *  - memory (scripts/bench-memory.ts; only with --section memory): one 5,000-user stack's up,
 *    no-op preview and refreshes, peak RSS and CPU per process, for each variant of the environment.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { Pool } from "undici";
import { EmulatorControl, startEmulator } from "../emulator";
import { CloudiwayClient } from "../provider/client";
import { SCALE_USAGE, runScale, writeResult } from "./bench-scale";
import { SHARDS_USAGE, runShardsBench } from "./bench-shards";
import { MEMORY_USAGE, runMemoryBench } from "./bench-memory";

const USAGE = `Usage: npm run bench [-- --section all|client|writes|scale|shards|memory] [options]
("all" is client, writes and scale; shards and memory run only when named)
client section: --client-users 200 --seconds 3 --client-latency-ms 0
writes section: --write-users 5000
${SCALE_USAGE}
${SHARDS_USAGE}
${MEMORY_USAGE}`;

interface Row { section: string; case: string; requests: number; seconds: number; rps: number; p50ms: number; p99ms: number }

const arg = (name: string, dflt: number) => {
    const i = process.argv.indexOf(`--${name}`);
    return i >= 0 ? Number(process.argv[i + 1]) : dflt;
};

async function measure(section: string, label: string, concurrency: number, seconds: number, op: (i: number) => Promise<unknown>): Promise<Row> {
    const lat: number[] = [];
    const end = Date.now() + seconds * 1000;
    let n = 0;
    const started = Date.now();
    await Promise.all(Array.from({ length: concurrency }, async () => {
        while (Date.now() < end) {
            const t = process.hrtime.bigint();
            await op(n++);
            lat.push(Number(process.hrtime.bigint() - t) / 1e6);
        }
    }));
    const secs = (Date.now() - started) / 1000;
    lat.sort((a, b) => a - b);
    const q = (p: number) => Math.round(lat[Math.min(lat.length - 1, Math.floor(p * lat.length))] * 100) / 100;
    return { section, case: label, requests: lat.length, seconds: secs, rps: Math.round(lat.length / secs), p50ms: q(0.5), p99ms: q(0.99) };
}

async function main() {
    if (process.argv.includes("--help")) {
        console.log(USAGE);
        return;
    }
    const i = process.argv.indexOf("--section");
    const section = i >= 0 ? process.argv[i + 1] : "all";
    if (!["all", "client", "writes", "scale", "shards", "memory"].includes(section)) throw new Error(`--section must be all, client, writes, scale, shards or memory\n${USAGE}`);
    // The shards options are read by bench-shards.ts (everything but --section).
    const own = process.argv.slice(2).filter((a, j, all) => a !== "--section" && all[j - 1] !== "--section");
    if (section === "shards") return runShardsBench(own);
    if (section === "memory") return runMemoryBench(own);
    if (section === "all" || section === "client") await clientSection();
    if (section === "all" || section === "writes") await writesSection();
    // The scale options are read by bench-scale.ts (parseArgs ignores the ones it does not know).
    if (section === "all" || section === "scale") await runScale(process.argv.slice(2));
}

/**
 * The emulator's cost per write as the tenant grows: --write-users createUser calls (then as many
 * addToBatch) through the client, 16 at a time, in memory and with a data file. The ms per call of
 * the first and the last 1,000 show whether a write's cost depends on the number of users.
 */
async function writesSection() {
    const users = arg("write-users", 5000);
    const rows: Record<string, string | number>[] = [];
    for (const dataFile of [undefined, path.join(fs.mkdtempSync(path.join(os.tmpdir(), "cw-bench-")), "data.json")]) {
        const emu = await startEmulator({ port: 0, quiet: true, dataFile });
        const client = new CloudiwayClient({ apiUrl: emu.url, consumerKey: "demo-key", consumerSecret: "demo-secret", connections: 16 });
        try {
            await client.createBatch("mail", "W");
            const tags: string[] = new Array(users);
            const perCall = async (label: string, op: (i: number) => Promise<void>) => {
                const doneAt: number[] = new Array(users);
                const t0 = Date.now();
                let next = 0;
                await Promise.all(Array.from({ length: 16 }, async () => { for (let i = next++; i < users; i = next++) { await op(i); doneAt[i] = Date.now(); } }));
                const secs = (Date.now() - t0) / 1000;
                // ms per call over a window of 1,000 completions: the first and the last.
                const sorted = [...doneAt].sort((a, b) => a - b), w = Math.min(1000, users - 1);
                const first = (sorted[w] - t0) / w, last = (sorted[users - 1] - sorted[users - 1 - w]) / w;
                rows.push({ store: dataFile ? "data file" : "in memory", calls: `${users} x ${label}`, seconds: secs.toFixed(1), "ms/call first 1000": first.toFixed(2), "ms/call last 1000": last.toFixed(2) });
            };
            await perCall("createUser", async (i) => {
                tags[i] = (await client.createUser("mail", {
                    firstName: `W${i}`, lastName: "Write", sourceEmail: `w${i}@s.example`, targetEmail: `w${i}@t.example`, sourceConnectorName: "Gmail", targetConnectorName: "Office 365",
                })).migrationTag;
            });
            await perCall("addToBatch", async (i) => { await client.addToBatch("mail", tags[i], "W"); });
        } finally {
            await client.close();
            await emu.close();
            if (dataFile) fs.rmSync(path.dirname(dataFile), { recursive: true, force: true });
        }
    }
    console.log(`\nemulator writes: ${users} users, 16 at a time, no injected latency\n`);
    const head = Object.keys(rows[0]);
    const w = head.map((h) => Math.max(h.length, ...rows.map((r) => String(r[h]).length)));
    for (const line of [head, w.map((x) => "-".repeat(x)), ...rows.map((r) => head.map((h) => String(r[h])))]) console.log(line.map((c, i) => (i < 2 ? c.padEnd(w[i]) : c.padStart(w[i]))).join("  "));
    console.log(`\nwrote ${path.relative(process.cwd(), writeResult("writes", { node: process.version, users, rows }))}`);
}

async function clientSection() {
    const users = arg("client-users", 200);
    const seconds = arg("seconds", 3);
    const latencyMs = arg("client-latency-ms", 0);
    const emu = await startEmulator({ port: 0, quiet: true });
    const client = new CloudiwayClient({ apiUrl: emu.url, consumerKey: "demo-key", consumerSecret: "demo-secret", connections: 64 });
    const rows: Row[] = [];
    try {
        const tags: string[] = [];
        for (let i = 0; i < users; i++) {
            tags.push((await client.createUser("mail", {
                firstName: `B${i}`, lastName: "Bench", sourceEmail: `b${i}@s.example`, targetEmail: `b${i}@t.example`,
                sourceConnectorName: "Gmail", targetConnectorName: "Office 365",
            })).migrationTag);
        }
        await new EmulatorControl(emu).setFaults({ latencyMs });
        for (const c of [1, 16, 64]) {
            rows.push(await measure("client", `status reads, concurrency ${c}`, c, seconds, (i) => client.getStatus("mail", tags[i % tags.length])));
        }
        const pool = new Pool(emu.baseUrl, { connections: 64 });
        for (const c of [1, 64]) {
            rows.push(await measure("emulator", `raw GET status, concurrency ${c}`, c, seconds, async (i) => {
                const r = await pool.request({ method: "GET", path: `/api/mailusers/${tags[i % tags.length]}/status?consumerKey=demo-key&consumerSecret=demo-secret` });
                await r.body.text();
            }));
        }
        await pool.close();
    } finally {
        await client.close();
        await emu.close();
    }
    console.log(`\nbench: ${users} users, ${seconds}s per case, injected latency ${latencyMs} ms\n`);
    const head = ["section", "case", "requests", "req/s", "p50 ms", "p99 ms"];
    const body = rows.map((r) => [r.section, r.case, String(r.requests), String(r.rps), String(r.p50ms), String(r.p99ms)]);
    const w = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
    for (const line of [head, w.map((x) => "-".repeat(x)), ...body]) console.log(line.map((c, i) => (i < 2 ? c.padEnd(w[i]) : c.padStart(w[i]))).join("  "));
    const dir = path.resolve(__dirname, "..", "..", "bench", "results");
    fs.mkdirSync(dir, { recursive: true });
    const file = path.join(dir, `client-${new Date().toISOString().replace(/[:.]/g, "-")}.json`);
    fs.writeFileSync(file, JSON.stringify({ node: process.version, users, seconds, latencyMs, rows }, null, 2));
    console.log(`\nwrote ${path.relative(process.cwd(), file)}`);
}

main().catch((e) => { console.error(`bench: ${e?.message ?? e}`); process.exit(1); });
