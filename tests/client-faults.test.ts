/**
 * The client under injected faults: with 30% of requests failing (500, 503 and
 * 429 with Retry-After, connection resets before and after the write, timeouts),
 * 200 users are created, batched and read back with 0 duplicates and 0 errors
 * surfaced to the caller; the secret is in no error and no log line.
 */
import * as assert from "assert";
import * as util from "util";
import { startEmulator } from "../emulator";
import { CloudiwayClient } from "../provider/client";
import { control } from "./helpers/emu";

const SECRET = "S3cr3t-XYZ-987";

describe("client under 30% injected faults", function () {
    this.timeout(300_000);
    it("200 users created, batched and read back: 0 duplicates, 0 errors, secret nowhere", async () => {
        const emu = await startEmulator({ port: 0, consumerKey: "fault-key", consumerSecret: SECRET });
        const logs: string[] = [];
        const errors: string[] = [];
        const c = new CloudiwayClient({
            apiUrl: emu.url, consumerKey: "fault-key", consumerSecret: SECRET, connections: 16, timeoutMs: 1500,
            retry: { maxAttempts: 12, baseDelayMs: 20, maxDelayMs: 300 }, logger: (l) => logs.push(l),
        });
        const capture = async <T>(p: Promise<T>): Promise<T> => {
            try {
                return await p;
            } catch (e: any) {
                errors.push(`${e.message}\n${e.stack}\n${util.inspect(e, { depth: 9 })}\n${JSON.stringify(e)}`);
                throw e;
            }
        };
        try {
            for (const b of ["F1", "F2", "F3", "F4"]) await c.createBatch("mail", b);
            await control(emu).setFaults({ errorRate: 0.3, kinds: ["500", "503", "429", "reset", "timeout"], retryAfterSeconds: 0.05, seed: 42 });
            const users = Array.from({ length: 200 }, (_, i) => ({
                firstName: `User${i}`, lastName: "Fault", sourceEmail: `user${i}@source.example`, targetEmail: `user${i}@target.example`,
                sourceConnectorName: "Gmail", targetConnectorName: "Office 365",
            }));
            const queue = users.map((u, i) => ({ u, i }));
            const tags = new Map<number, string>();
            const worker = async () => {
                for (let job = queue.shift(); job; job = queue.shift()) {
                    const { migrationTag } = await capture(c.createUser("mail", job.u));
                    tags.set(job.i, migrationTag);
                    await capture(c.addToBatch("mail", migrationTag, `F${(job.i % 4) + 1}`));
                }
            };
            await Promise.all(Array.from({ length: 16 }, worker));
            const all = await capture(c.getAllUsers("mail"));
            for (const b of ["F1", "F2", "F3", "F4"]) assert.strictEqual((await capture(c.getUsersInBatch("mail", b))).length, 50);

            await control(emu).setFaults({ errorRate: 0 });
            const state = await control(emu).state();
            assert.strictEqual(state.mail.users.length, 200, "0 duplicates");
            assert.strictEqual(new Set(state.mail.users.map((u: any) => u.sourceEmail)).size, 200);
            assert.strictEqual(all.length, 200);
            assert.deepStrictEqual(errors, [], "no error reached the caller");
            const stats = await control(emu).stats();
            const faults = (await control(emu).calls()).filter((x) => x.fault).length;
            console.log(`      ${stats.total} requests, ${faults} faults injected, ${logs.filter((l) => l.startsWith("retrying")).length} retries`);
            assert.ok(faults > 50, "faults were injected");
            const everything = logs.join("\n") + errors.join("\n");
            assert.ok(logs.length > 0);
            assert.ok(!everything.includes(SECRET), "the secret appears in a log line");
        } finally {
            await c.close();
            await emu.close();
        }
    });

    it("errors that do reach the caller never carry the secret", async () => {
        const emu = await startEmulator({ port: 0, consumerKey: "k", consumerSecret: SECRET });
        const logs: string[] = [];
        const c = new CloudiwayClient({ apiUrl: emu.url, consumerKey: "k", consumerSecret: SECRET, timeoutMs: 300, retry: { maxAttempts: 2, baseDelayMs: 1, maxDelayMs: 5 }, logger: (l) => logs.push(l) });
        const texts: string[] = [];
        try {
            await control(emu).setFaults({ errorRate: 1, kinds: ["500", "reset", "timeout", "hasError", "429"] });
            for (let i = 0; i < 15; i++) {
                for (const call of [() => c.listBatches("mail"), () => c.startUser("mail", "11111111-2222-3333-4444-555555555555"), () => c.createBatch("mail", "X")]) {
                    const e: any = await call().then(() => undefined, (x) => x);
                    assert.ok(e, "fails");
                    texts.push(`${e.message}\n${e.stack}\n${util.inspect(e, { depth: 9 })}\n${JSON.stringify(e)}`);
                }
            }
            const everything = texts.join("\n") + logs.join("\n");
            assert.ok(/consumerSecret=\[REDACTED\]/.test(everything), "URLs are shown redacted");
            assert.ok(!everything.includes(SECRET));
        } finally {
            await c.close();
            await emu.close();
        }
    });
});
