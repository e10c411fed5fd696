/** Fault injection of the emulator's control API: each kind is observable, and faults come before the store. */
import * as assert from "assert";
import * as http from "http";
import { ControlCallError, startEmulator } from "../emulator";
import type { FaultsRequest } from "../emulator";
import type { Emu } from "./helpers/emu";
import { control } from "./helpers/emu";

const GET = "/api/mailusers/batch?consumerKey=demo-key&consumerSecret=demo-secret";

function request(emu: Emu, path: string, timeoutMs = 3000): Promise<{ status?: number; headers?: http.IncomingHttpHeaders; body?: string; error?: string }> {
    return new Promise((resolve) => {
        const req = http.get(`${emu.baseUrl}${path}`, { agent: false }, (res) => {
            let body = "";
            res.on("data", (d) => (body += d));
            res.on("end", () => resolve({ status: res.statusCode, headers: res.headers, body }));
            res.on("error", (e: any) => resolve({ error: e.code ?? e.message }));
        });
        req.setTimeout(timeoutMs, () => { req.destroy(); resolve({ error: "TIMEOUT" }); });
        req.on("error", (e: any) => resolve({ error: e.code ?? e.message }));
    });
}
const faults = (emu: Emu, f: FaultsRequest) => control(emu).setFaults(f);

describe("emulator fault injection", function () {
    this.timeout(30_000);
    let emu: Emu;
    before(async () => { emu = await startEmulator({ port: 0, quiet: true }); });
    after(async () => emu.close());
    afterEach(async () => { await faults(emu, { errorRate: 0, latencyMs: 0 }); });

    for (const [kind, check] of [
        ["500", (r: any) => r.status === 500 && JSON.parse(r.body).hasError === true],
        ["503", (r: any) => r.status === 503 && r.headers["retry-after"] === "2"],
        ["429", (r: any) => r.status === 429 && r.headers["retry-after"] === "2"],
        ["hasError", (r: any) => r.status === 200 && JSON.parse(r.body).hasError === true],
        ["reset", (r: any) => r.error === "ECONNRESET" || r.error === "socket hang up"],
        ["timeout", (r: any) => r.error === "TIMEOUT"],
    ] as const) {
        it(`${kind}`, async () => {
            await faults(emu, { errorRate: 1, kinds: [kind], retryAfterSeconds: 2 });
            const r = await request(emu, GET, 500);
            assert.ok(check(r), JSON.stringify(r));
        });
    }

    it("latency", async () => {
        await faults(emu, { latencyMs: 150 });
        const t = Date.now();
        const r = await request(emu, GET);
        assert.strictEqual(r.status, 200);
        assert.ok(Date.now() - t >= 140);
    });

    it("a fault before the store leaves the state unchanged; seeded runs repeat", async () => {
        await faults(emu, { errorRate: 1, kinds: ["500"] });
        const res = await fetch(`${emu.url}/mailusers/createbatch`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ auth: { consumerKey: "demo-key", consumerSecret: "demo-secret" }, batchName: "F" }) });
        assert.strictEqual(res.status, 500);
        await faults(emu, { errorRate: 0 });
        const st = await control(emu).state();
        assert.strictEqual(st.mail.batches.length, 0);
        const run = async () => {
            await faults(emu, { errorRate: 0.5, kinds: ["500", "503"], seed: 7 });
            const out: number[] = [];
            for (let i = 0; i < 10; i++) out.push((await request(emu, GET)).status!);
            return out;
        };
        assert.deepStrictEqual(await run(), await run());
    });

    it("refuses a bad fault description", async () => {
        await assert.rejects(control(emu).setFaults({ errorRate: 3 }), (e) => e instanceof ControlCallError && e.status === 400 && /errorRate/.test(e.body));
    });
});
