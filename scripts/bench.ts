/**
 * `npm run bench`: prints figures (never asserted by tests) and writes them as
 * JSON under bench/results/. Sections:
 *  - client: status reads through the client at concurrency 1, 16, 64 (req/s, p50, p99);
 *  - emulator: the emulator's own request rate (raw undici requests, no client);
 *  - scale (scripts/bench-scale.ts): `pulumi up` of a whole tenant next to the naive script, no-op
 *    dynamic resources and the floor of API round trips; requests per resource; state; RSS.
 */
const USAGE = `Usage: npm run bench [-- --section all|client|scale] [--users 1000[,5000]] [--batches 10] [--latency-ms 20]
                       [--client-users 200] [--seconds 3] [--client-latency-ms 0]
  client/emulator section: status reads through the client and raw requests (--client-* options)
  scale section: pulumi up of --users users in --batches batches against the emulator with --latency-ms
                 injected latency (default 20 ms), next to the naive script, no-op resources and the floor;
                 5,000 users is opt-in (--users 1000,5000); --skip-checkpoints runs the engine with
                 PULUMI_SKIP_CHECKPOINTS=1 (state saved once, at the end) to show what checkpoints cost.`;
import * as fs from "fs";
import * as path from "path";
import { Pool } from "undici";
import { startEmulator } from "../emulator";
import { CloudiwayClient } from "../provider/client";
import { scaleBench, scaleTable, writeResult } from "./bench-scale";

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
    if (!["all", "client", "scale"].includes(section)) throw new Error(`--section must be all, client or scale\n${USAGE}`);
    if (section !== "scale") await clientSection();
    if (section !== "client") {
        const j = process.argv.indexOf("--users");
        for (const users of (j >= 0 ? process.argv[j + 1] : "1000").split(",").map(Number)) {
            const skipCheckpoints = process.argv.includes("--skip-checkpoints");
            const r = await scaleBench({ users, batches: arg("batches", 10), latencyMs: arg("latency-ms", 20), skipCheckpoints }, (s) => console.error(`bench: ${s}`));
            console.log(`\n${scaleTable(r)}`);
            console.log(`\nwrote ${path.relative(process.cwd(), writeResult(`scale-${users}${skipCheckpoints ? "-nocheckpoints" : ""}`, r))}`);
        }
    }
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
        await fetch(`${emu.baseUrl}/_emulator/faults`, { method: "POST", body: JSON.stringify({ latencyMs }) });
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
