/**
 * The emulator's control API (not Cloudiway's), route by route: stats, call log, reset, faults,
 * state, tick, and the pass controls — outcomes (chosen users end their next pass in ONERROR,
 * STOP, ...) and the lifecycle (passSteps, transitionMs) — including what they leave in the data file.
 */
import * as assert from "assert";
import * as fs from "fs";
import * as http from "http";
import * as os from "os";
import * as path from "path";
import { ControlCallError, EmulatorControl, startEmulator } from "../emulator";
import type { HistoryPass } from "../emulator/types";
import type { Emu } from "./helpers/emu";

const KEY = "ctl-key";
const SECRET = "ctl-secret";

/** A small vendor-API client: the documented shapes, by hand. */
function vendorApi(emu: Emu, fam = "mailusers") {
    const qs = (extra: Record<string, string> = {}) => new URLSearchParams({ consumerKey: KEY, consumerSecret: SECRET, ...extra }).toString();
    const get = async (p: string, extra: Record<string, string> = {}) => {
        const j = (await (await fetch(`${emu.url}/${fam}${p}?${qs(extra)}`)).json()) as any;
        assert.strictEqual(j.hasError, false, JSON.stringify(j));
        return j.response;
    };
    const post = async (p: string, body: object) =>
        (await (await fetch(`${emu.url}/${fam}${p}`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) })).json()) as any;
    const auth = { consumerKey: KEY, consumerSecret: SECRET };
    return {
        async user(name: string, batchName?: string): Promise<string> {
            const u = { firstName: name, lastName: "Test", sourceEmail: `${name.toLowerCase()}@source.example`, targetEmail: `${name.toLowerCase()}@target.example`, sourceConnectorName: "Gmail", targetConnectorName: "Office 365" };
            assert.strictEqual((await post("/create", { auth, ...u })).hasError, false);
            const tag = String(await get("/migrationtag", { sourceEmail: u.sourceEmail, targetEmail: u.targetEmail })).trim();
            if (batchName) assert.strictEqual((await post("/addtobatch", { auth: { ...auth, migrationTag: tag }, batchName })).hasError, false);
            return tag;
        },
        batch: (batchName: string) => post("/createbatch", { auth, batchName }),
        startBatch: (batchName: string) => post("/startbatch", { auth, batchName }),
        start: (migrationTag: string) => post("/start", { ...auth, migrationTag }),
        status: async (tag: string): Promise<string> => get(`/${tag}/status`),
        history: async (tag: string): Promise<HistoryPass[]> => get(`/${tag}/getmailhistory`),
    };
}

const control = (emu: Emu) => new EmulatorControl(emu);

/**
 * The control API's HTTP surface itself, for what the typed client never sends: unknown routes, a
 * wrong method, malformed JSON, bodies of the wrong shape. Answers the status and the JSON body.
 */
async function rawControl(emu: Emu, method: "GET" | "POST", p: string, body?: unknown): Promise<{ status: number; json: { error?: unknown } }> {
    const r = await fetch(`${emu.baseUrl}/_emulator${p}`, { method, ...(body === undefined ? {} : { headers: { "content-type": "application/json" } }), body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body) });
    return { status: r.status, json: (await r.json()) as { error?: unknown } };
}

describe("emulator control API", function () {
    this.timeout(30_000);
    let emu: Emu;
    let ctl: EmulatorControl;
    let api: ReturnType<typeof vendorApi>;
    before(async () => {
        emu = await startEmulator({ port: 0, consumerKey: KEY, consumerSecret: SECRET, quiet: true });
        ctl = control(emu);
        api = vendorApi(emu);
    });
    after(async () => emu.close());
    beforeEach(async () => { await ctl.reset(); });

    describe("routes", () => {
        it("GET /_emulator lists every control call", async () => {
            const list = await ctl.routes();
            const names = list.map((r) => `${r.method} ${r.path}`);
            for (const n of ["GET /_emulator/stats", "POST /_emulator/stats/reset", "GET /_emulator/calls", "POST /_emulator/reset",
                "GET /_emulator/faults", "POST /_emulator/faults", "GET /_emulator/state", "GET /_emulator/outbox", "POST /_emulator/tick",
                "GET /_emulator/lifecycle", "POST /_emulator/lifecycle", "GET /_emulator/outcomes", "POST /_emulator/outcomes"]) {
                assert.ok(names.includes(n), `${n} in ${names.join(", ")}`);
            }
            assert.ok(list.every((r) => typeof r.summary === "string" && r.summary.length > 0));
            assert.deepStrictEqual((await rawControl(emu, "GET", "/")).json, list, "a trailing slash is the same call");
        });

        it("stats and the call log count vendor calls only; POST /_emulator/stats/reset zeroes them", async () => {
            await api.batch("S1");
            await api.batch("S1"); // refused: counted, not a successful write
            await api.user("Sam");
            const stats = await ctl.stats();
            assert.deepStrictEqual(Object.keys(stats), ["total", "mutating", "byCall"]);
            assert.strictEqual(stats.total, 4);
            assert.strictEqual(stats.mutating, 2);
            assert.strictEqual(stats.byCall["POST /mailusers/createbatch"], 2);
            const calls = await ctl.calls();
            assert.deepStrictEqual(calls.map((c) => [c.seq, c.method, c.call, c.ok]), [
                [1, "POST", "/mailusers/createbatch", true], [2, "POST", "/mailusers/createbatch", false],
                [3, "POST", "/mailusers/create", true], [4, "GET", "/mailusers/migrationtag", true],
            ]);
            assert.strictEqual(calls[0].batchName, "S1");
            assert.ok(!Number.isNaN(Date.parse(calls[0].at)));
            assert.deepStrictEqual((await rawControl(emu, "POST", "/stats/reset")).json, { ok: true });
            await ctl.resetStats();
            assert.deepStrictEqual(await ctl.stats(), { total: 0, mutating: 0, byCall: {} });
            assert.deepStrictEqual(await ctl.calls(), []);
            assert.strictEqual((await ctl.state()).mail.batches.length, 1, "the stats reset leaves the tenant alone");
        });

        it("GET /_emulator/faults shows what POST set; reset clears faults, tenant and stats", async () => {
            const set = await ctl.setFaults({ latencyMs: 5, errorRate: 0.25, kinds: ["503"], seed: 3 });
            assert.deepStrictEqual(await ctl.faults(), set);
            assert.strictEqual(set.errorRate, 0.25);
            assert.deepStrictEqual(set.kinds, ["503"]);
            await ctl.setFaults({ errorRate: 0 });
            await api.user("Rae");
            await ctl.setFaults({ errorRate: 0.5 });
            assert.deepStrictEqual((await rawControl(emu, "POST", "/reset")).json, { ok: true });
            const f = await ctl.faults();
            assert.strictEqual(f.errorRate, 0);
            assert.strictEqual(f.latencyMs, 0);
            assert.strictEqual((await ctl.state()).mail.users.length, 0);
            assert.strictEqual((await ctl.stats()).total, 0);
        });

        it("unknown calls are 404, bad bodies 400 with { error }", async () => {
            const unknown = await rawControl(emu, "GET", "/nope");
            assert.strictEqual(unknown.status, 404);
            assert.match(String(unknown.json.error), /unknown control call GET \/_emulator\/nope/);
            assert.strictEqual((await rawControl(emu, "GET", "/tick")).status, 404, "tick is a POST");
            for (const [p, body] of [["/faults", "{"], ["/outcomes", "{"], ["/lifecycle", "[1"], ["/faults", { afterCommit: "sometimes" }]] as const) {
                const r = await rawControl(emu, "POST", p, body);
                assert.strictEqual(r.status, 400, `${p} ${JSON.stringify(body)}`);
                assert.strictEqual(typeof r.json.error, "string");
            }
        });

        it("the typed client throws on a refused control call, naming the route, the status and the body; nothing changes", async () => {
            const refused = async (call: Promise<unknown>, route: string, error: RegExp) => {
                await assert.rejects(call, (e) => {
                    assert.ok(e instanceof ControlCallError, String(e));
                    assert.strictEqual(e.route, route);
                    assert.strictEqual(e.status, 400);
                    assert.match(e.body, error);
                    assert.ok(e.message.includes(route) && e.message.includes("HTTP 400") && e.message.includes(e.body), e.message);
                    return true;
                });
            };
            await refused(ctl.setFaults({ errorRate: 3 }), "POST /_emulator/faults", /errorRate must be within 0\.\.1/);
            await refused(ctl.setLifecycle({ passSteps: 0 }), "POST /_emulator/lifecycle", /passSteps must be an integer/);
            await refused(ctl.setOutcomes({ " ": "ONERROR" }), "POST /_emulator/outcomes", /a user key must be/);
            assert.strictEqual((await ctl.faults()).errorRate, 0);
            assert.deepStrictEqual(await ctl.lifecycle(), { transitionMs: 0, passSteps: 2, busy: false });
            assert.deepStrictEqual(await ctl.outcomes(), { mail: {}, archive: {} });
        });

        it("the typed client throws on an answer of the wrong shape, and when nothing answers", async () => {
            // A stand-in that answers 200 with what the emulator would never send.
            const answers: Record<string, string> = {
                "/_emulator/stats": JSON.stringify({ total: 1, mutating: 0, byCall: { "GET /x": "one" } }),
                "/_emulator/tick": JSON.stringify({ ok: true }),
                "/_emulator/state": "<html>not JSON</html>",
                "/_emulator/outbox": JSON.stringify({ mails: [] }),
            };
            const fake = http.createServer((req, res) => { res.writeHead(200, { "content-type": "application/json" }); res.end(answers[req.url ?? ""] ?? "{}"); });
            await new Promise<void>((r) => fake.listen(0, "127.0.0.1", () => r()));
            const port = (fake.address() as { port: number }).port;
            const other = new EmulatorControl(`http://127.0.0.1:${port}/api`);
            try {
                await assert.rejects(other.stats(), /GET \/_emulator\/stats: unexpected answer \(answer\.byCall\["GET \/x"\] is not a number\)/);
                await assert.rejects(other.tick(), /POST \/_emulator\/tick: unexpected answer \(answer\.busy is not a boolean\)/);
                await assert.rejects(other.state(), /GET \/_emulator\/state: the answer is not JSON: <html>/);
                await assert.rejects(other.outbox(), /GET \/_emulator\/outbox: unexpected answer \(answer is not a list\)/);
                await assert.rejects(other.reset(), /POST \/_emulator\/reset: unexpected answer \(answer\.ok is not true\)/);
            } finally {
                await new Promise((r) => fake.close(r));
            }
            await assert.rejects(other.stats(), /GET \/_emulator\/stats: no answer from http:\/\/127\.0\.0\.1:\d+/);
        });

        it("POST /_emulator/tick answers whether anything is still under way", async () => {
            assert.deepStrictEqual(await ctl.tick(), { ok: true, busy: false });
        });
    });

    describe("pass outcomes", () => {
        it("chosen users end their next pass in ONERROR with failures in the history; the others SUCCESS; a later pass succeeds", async () => {
            await api.batch("W1");
            const ada = await api.user("Ada", "W1");
            const bob = await api.user("Bob", "W1");
            const cy = await api.user("Cy", "W1");
            const set = await ctl.setOutcomes({ "ADA@source.example ": "ONERROR", [bob]: "ONERROR" });
            assert.deepStrictEqual(set, { mail: { "ada@source.example": "ONERROR", [bob]: "ONERROR" }, archive: {} });
            assert.deepStrictEqual(await ctl.outcomes(), set);
            assert.strictEqual((await api.startBatch("W1")).hasError, false);
            assert.deepStrictEqual([await api.status(ada), await api.status(bob), await api.status(cy)], ["ONERROR", "ONERROR", "SUCCESS"]);
            assert.deepStrictEqual(await ctl.outcomes(), { mail: {}, archive: {} }, "an outcome is taken by the pass it ends");

            const [failed] = await api.history(ada);
            assert.ok(failed.msgFailure > 0, JSON.stringify(failed));
            assert.strictEqual(failed.msgSuccess + failed.msgFailure, failed.msgRead);
            assert.strictEqual(failed.calSuccess + failed.calFailure, failed.calRead);
            assert.strictEqual(failed.conSuccess + failed.conFailure, failed.conRead);
            const [fine] = await api.history(cy);
            assert.deepStrictEqual([fine.msgFailure, fine.calFailure, fine.conFailure], [0, 0, 0]);
            assert.strictEqual(fine.msgSuccess, fine.msgTotal);
            const state = await ctl.state();
            assert.deepStrictEqual(state.mail.users.find((u) => u.migrationTag === ada)?.statusHistory, ["NOTSTARTED", "SCHEDULED", "WORKING", "ONERROR"]);

            // The retry: no outcome set, so SUCCESS; it takes again what the failed pass could not migrate.
            assert.strictEqual((await api.start(ada)).hasError, false);
            assert.strictEqual(await api.status(ada), "SUCCESS");
            const [, retry] = await api.history(ada);
            assert.strictEqual(retry.msgFailure, 0);
            assert.ok(retry.msgTotal > failed.msgFailure, "the failed items are read again");
            assert.strictEqual(retry.msgAlreadyMigrated, failed.msgSuccess, "only what succeeded counts as migrated");
        });

        it("STOP and the other pass ends; the archive kind apart; null clears an outcome", async () => {
            const arch = vendorApi(emu, "archivemailusers");
            const dee = await arch.user("Dee");
            const eve = await arch.user("Eve");
            const fay = await arch.user("Fay");
            const gus = await api.user("Gus"); // a mail user with the same kind of key is not touched
            await ctl.setOutcomes({ [dee]: "STOP", "eve@source.example": "LICENSE_EXCEEDED", "fay@source.example": "ONERROR" }, "archive");
            const after = await ctl.setOutcomes({ "fay@source.example": null }, "archive");
            assert.deepStrictEqual(after.archive, { [dee]: "STOP", "eve@source.example": "LICENSE_EXCEEDED" });
            for (const t of [dee, eve, fay]) await arch.start(t);
            await api.start(gus);
            assert.deepStrictEqual([await arch.status(dee), await arch.status(eve), await arch.status(fay), await api.status(gus)], ["STOP", "LICENSE_EXCEEDED", "SUCCESS", "SUCCESS"]);
            assert.deepStrictEqual(await arch.history(dee), [], "a stopped pass leaves no history pass");
            assert.strictEqual((await arch.start(dee)).hasError, false, "a stopped user can be started again");
            assert.strictEqual(await arch.status(dee), "SUCCESS");
        });

        it("an outcome can be set before the user exists (by source email)", async () => {
            await ctl.setOutcomes({ "hal@source.example": "ONERROR" });
            const hal = await api.user("Hal");
            await api.start(hal);
            assert.strictEqual(await api.status(hal), "ONERROR");
        });

        it("a refused start takes no outcome (the write is undone)", async () => {
            await ctl.setLifecycle({ transitionMs: "manual" });
            await api.batch("W2");
            const ivy = await api.user("Ivy", "W2");
            const jon = await api.user("Jon", "W2");
            await api.start(jon); // running: the batch start meets it after Ivy
            await ctl.setOutcomes({ [ivy]: "ONERROR" });
            const r = await api.startBatch("W2");
            assert.strictEqual(r.hasError, true);
            assert.match(r.response, /already running/);
            assert.strictEqual(await api.status(ivy), "NOTSTARTED");
            assert.deepStrictEqual((await ctl.outcomes()).mail, { [ivy]: "ONERROR" });
        });

        it("refuses a bad outcome description", async () => {
            for (const body of [{}, { users: [] }, { users: { "a@b.c": "BROKEN" } }, { users: { "a@b.c": "WORKING" } }, { kind: "files", users: {} }, { users: { " ": "ONERROR" } }]) {
                const r = await rawControl(emu, "POST", "/outcomes", body);
                assert.strictEqual(r.status, 400, JSON.stringify(body));
                assert.strictEqual(typeof r.json.error, "string");
            }
            assert.deepStrictEqual(await ctl.outcomes(), { mail: {}, archive: {} });
        });
    });

    describe("pass length", () => {
        /** A new user whose pass of `passSteps` steps was started with the lifecycle ticked by hand, then ticked once; its tag. */
        async function startedAndTicked(name: string, passSteps: number): Promise<string> {
            await ctl.setLifecycle({ transitionMs: "manual", passSteps });
            const tag = await api.user(name);
            await api.start(tag);
            await ctl.tick();
            return tag;
        }

        it("by default a pass is SCHEDULED at the call, WORKING after one tick, SUCCESS after two", async () => {
            assert.deepStrictEqual(await ctl.lifecycle(), { transitionMs: 0, passSteps: 2, busy: false });
            await ctl.setLifecycle({ transitionMs: "manual" });
            const kim = await api.user("Kim");
            await api.start(kim);
            const seen = [await api.status(kim)];
            for (let i = 0; i < 2; i++) { await ctl.tick(); seen.push(await api.status(kim)); }
            assert.deepStrictEqual(seen, ["SCHEDULED", "WORKING", "SUCCESS"]);
        });

        it("a pass of N steps takes N ticks, whatever its end", async () => {
            assert.deepStrictEqual(await ctl.setLifecycle({ transitionMs: "manual", passSteps: 5 }), { transitionMs: "manual", passSteps: 5, busy: false });
            const lee = await api.user("Lee");
            const max = await api.user("Max");
            await ctl.setOutcomes({ [max]: "ONERROR" });
            await api.start(lee);
            await api.start(max);
            const ticks = { lee: 0, max: 0 };
            for (let i = 1; i <= 10; i++) {
                const t = await ctl.tick();
                if (!ticks.lee && (await api.status(lee)) === "SUCCESS") ticks.lee = i;
                if (!ticks.max && (await api.status(max)) === "ONERROR") ticks.max = i;
                if (!t.busy) break;
                assert.strictEqual(await api.status(lee), "WORKING", `tick ${i}`);
            }
            assert.deepStrictEqual(ticks, { lee: 5, max: 5 });
            const u = (await ctl.state()).mail.users.find((x) => x.migrationTag === lee);
            assert.deepStrictEqual(u?.statusHistory, ["NOTSTARTED", "SCHEDULED", "WORKING", "SUCCESS"], "one WORKING in the status history");
            assert.strictEqual((await api.history(max))[0].msgFailure > 0, true);
        });

        it("a pass of one step goes from SCHEDULED to its end", async () => {
            const ned = await startedAndTicked("Ned", 1);
            assert.strictEqual(await api.status(ned), "SUCCESS");
            assert.strictEqual((await api.history(ned)).length, 1);
        });

        it("going back to transitionMs 0 finishes the passes under way; reset restores the start options", async () => {
            const ola = await startedAndTicked("Ola", 4);
            assert.strictEqual(await api.status(ola), "WORKING");
            assert.deepStrictEqual(await ctl.setLifecycle({ transitionMs: 0 }), { transitionMs: 0, passSteps: 4, busy: false });
            assert.strictEqual(await api.status(ola), "SUCCESS");
            await ctl.setLifecycle({ transitionMs: 250, passSteps: 3 });
            await ctl.setOutcomes({ "x@y.z": "STOP" });
            await ctl.reset();
            assert.deepStrictEqual(await ctl.lifecycle(), { transitionMs: 0, passSteps: 2, busy: false });
            assert.deepStrictEqual(await ctl.outcomes(), { mail: {}, archive: {} });
        });

        it("refuses a bad lifecycle description", async () => {
            for (const body of [{ passSteps: 0 }, { passSteps: 2.5 }, { passSteps: 5000 }, { transitionMs: -1 }, { transitionMs: "soon" }, { steps: 3 }, [1]]) {
                const r = await rawControl(emu, "POST", "/lifecycle", body);
                assert.strictEqual(r.status, 400, JSON.stringify(body));
            }
            assert.deepStrictEqual(await ctl.lifecycle(), { transitionMs: 0, passSteps: 2, busy: false });
        });
    });
});

describe("emulator pass controls from the start options and the data file", function () {
    this.timeout(30_000);

    it("startEmulator({ passSteps, transitionMs }): each step transitionMs apart", async () => {
        const emu = await startEmulator({ port: 0, consumerKey: KEY, consumerSecret: SECRET, transitionMs: 40, passSteps: 4, quiet: true });
        try {
            const api = vendorApi(emu);
            assert.deepStrictEqual(await control(emu).lifecycle(), { transitionMs: 40, passSteps: 4, busy: false });
            const pia = await api.user("Pia");
            const t0 = Date.now();
            await api.start(pia);
            while ((await api.status(pia)) !== "SUCCESS") {
                assert.ok(Date.now() - t0 < 10_000, "the pass ends");
                await new Promise((r) => setTimeout(r, 10));
            }
            assert.ok(Date.now() - t0 >= 3 * 40, `4 steps 40 ms apart took ${Date.now() - t0} ms`);
        } finally {
            await emu.close();
        }
    });

    it("outcomes not taken yet survive a restart on the data file", async () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "cw-ctl-"));
        const file = path.join(dir, "data.json");
        try {
            let emu = await startEmulator({ port: 0, consumerKey: KEY, consumerSecret: SECRET, dataFile: file, quiet: true });
            const quinn = await vendorApi(emu).user("Quinn");
            await control(emu).setOutcomes({ [quinn]: "ONERROR", "later@source.example": "STOP" });
            await emu.close();
            emu = await startEmulator({ port: 0, consumerKey: KEY, consumerSecret: SECRET, dataFile: file, quiet: true });
            try {
                assert.deepStrictEqual((await control(emu).outcomes()).mail, { [quinn]: "ONERROR", "later@source.example": "STOP" });
                const api = vendorApi(emu);
                await api.start(quinn);
                assert.strictEqual(await api.status(quinn), "ONERROR");
            } finally {
                await emu.close();
            }
            // A data file from before outcomes existed still loads.
            const old = JSON.parse(fs.readFileSync(file, "utf8"));
            delete old.outcomes;
            fs.writeFileSync(file, JSON.stringify(old));
            emu = await startEmulator({ port: 0, consumerKey: KEY, consumerSecret: SECRET, dataFile: file, quiet: true });
            try {
                assert.deepStrictEqual(await control(emu).outcomes(), { mail: {}, archive: {} });
                assert.strictEqual(await vendorApi(emu).status(quinn), "ONERROR");
            } finally {
                await emu.close();
            }
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });
});
