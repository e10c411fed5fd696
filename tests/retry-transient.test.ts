/**
 * A `hasError` answer that says it is temporary ("please retry later") is the API declining
 * without acting, like a 503: retried, for every kind of call. Any other refusal is final.
 * Config of the provider's retries and timeouts: stack config, then environment, validated.
 */
import * as assert from "assert";
import * as http from "http";
import { AddressInfo } from "net";
import { z } from "zod";
import { Transport } from "../provider/client/transport";
import { VENDOR_MESSAGES } from "../provider/client/retry";
import { CloudiwayApiError } from "../provider/client/errors";
import { DEFAULT_CONNECTIONS, DEFAULT_MAX_ATTEMPTS, resolveSettings } from "../provider/config";

async function server(answers: unknown[]) {
    let n = 0;
    const s = http.createServer((req, res) => {
        req.resume();
        req.on("end", () => res.end(JSON.stringify(answers[Math.min(n++, answers.length - 1)])));
    });
    await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
    return { url: `http://127.0.0.1:${(s.address() as AddressInfo).port}/api`, count: () => n, close: () => new Promise((r) => s.close(r)) };
}

describe("temporary refusals and retry configuration", () => {
    const t = (url: string) => new Transport({ apiUrl: url, consumerKey: "k", consumerSecret: "s", retry: { maxAttempts: 5, baseDelayMs: 1, maxDelayMs: 5 } });

    it("a temporary hasError is retried, for unsafe calls too; the answer after it is returned", async () => {
        const s = await server([
            { hasError: true, response: "Temporary failure, please retry later" },
            { hasError: true, error: "Service unavailable, try again" },
            { hasError: false, response: "User scheduled" },
        ]);
        const tr = t(s.url);
        try {
            assert.strictEqual(await tr.post("start", "/mailusers/start", {}, z.string(), { mode: "unsafe" }), "User scheduled");
            assert.strictEqual(s.count(), 3);
        } finally { await tr.close(); await s.close(); }
    });

    it("other refusals are final, and a temporary one gives up after maxAttempts", async () => {
        const s = await server([{ hasError: true, response: "Batch 'X' already exists" }]);
        const tr = t(s.url);
        try {
            await assert.rejects(tr.post("createbatch", "/mailusers/createbatch", {}, z.string(), { mode: "safe" }), CloudiwayApiError);
            assert.strictEqual(s.count(), 1);
        } finally { await tr.close(); await s.close(); }
        const busy = await server([{ hasError: true, response: "Temporary failure, please retry later" }]);
        const tb = t(busy.url);
        try {
            await assert.rejects(tb.get("batch", "/mailusers/batch", {}, z.any()), (e: any) => e instanceof CloudiwayApiError && /retry later/.test(e.message));
            assert.strictEqual(busy.count(), 5);
        } finally { await tb.close(); await busy.close(); }
        assert.ok(!VENDOR_MESSAGES.temporary.test("User not found: unknown migration tag 'x'"));
        assert.ok(!VENDOR_MESSAGES.temporary.test("Authentication failed: invalid consumerKey or consumerSecret"));
    });

    it("requestTimeoutMs, maxAttempts, connections: config, then environment, then defaults; bad values named", () => {
        const cfg = (m: Record<string, string>) => (k: string) => m[k];
        const d = resolveSettings(cfg({}), {});
        assert.deepStrictEqual([d.requestTimeoutMs, d.maxAttempts, d.connections], [30000, DEFAULT_MAX_ATTEMPTS, DEFAULT_CONNECTIONS]);
        const e = resolveSettings(cfg({ "cloudiway:maxAttempts": "3" }), { CLOUDIWAY_MAX_ATTEMPTS: "7", CLOUDIWAY_REQUEST_TIMEOUT_MS: "2000", CLOUDIWAY_CONNECTIONS: "4" });
        assert.deepStrictEqual([e.requestTimeoutMs, e.maxAttempts, e.connections], [2000, 3, 4]);
        assert.throws(() => resolveSettings(cfg({ "cloudiway:requestTimeoutMs": "soon" }), {}), /cloudiway:requestTimeoutMs must be a whole number >= 1 \(got "soon"\)/);
    });
});
