/**
 * A local Cloudiway Mail REST API: `startEmulator({ port: 0 })` resolves to
 * `{ url, baseUrl, port, close() }`; the API is served under `<baseUrl>/api`,
 * the control API under `<baseUrl>/_emulator`.
 */
import * as http from "http";
import { AddressInfo, Socket } from "net";
import { CONTENT_TYPE, fail, ok } from "./envelope";
import { Faults, Stats, noFaults, parseFaults, prng } from "./control";
import { DataFile } from "./persist";
import { credentials, match } from "./routes";
import { Family, Store, VendorError } from "./store";
import { selfServicePage } from "./selfservicePages";

export { Store, VendorError, SEED_CONNECTORS } from "./store";
export { STATUSES, STATUS_NUMBER } from "./lifecycle";

export interface EmulatorOptions {
    port?: number;
    host?: string;
    dataFile?: string;
    consumerKey?: string;
    consumerSecret?: string;
    /** Time per lifecycle step; 0 (default) takes every step at the call. */
    transitionMs?: number;
    quiet?: boolean;
    /** Largest request body read; bigger ones are refused with 413. */
    maxBodyBytes?: number;
}

export interface Emulator {
    url: string;
    baseUrl: string;
    port: number;
    store: Store;
    stats: Stats;
    close(): Promise<void>;
}

const FAMILIES: Record<string, Family> = { mailusers: "mail", archivemailusers: "archive" };
const GUIDISH = /^[0-9a-f-]{8,}$/i;

export async function startEmulator(opts: EmulatorOptions = {}): Promise<Emulator> {
    const key = opts.consumerKey ?? "demo-key";
    const secret = opts.consumerSecret ?? "demo-secret";
    const transitionMs = opts.transitionMs ?? 0;
    const maxBody = opts.maxBodyBytes ?? 256 * 1024;
    const store = new Store(undefined, transitionMs === 0);
    const data = opts.dataFile ? new DataFile(opts.dataFile, () => store.state) : undefined;
    if (data) {
        store.state = data.load();
        store.reindex();
    }
    const stats = new Stats();
    let faults: Faults = noFaults();
    let random = Math.random;
    const sockets = new Set<Socket>();
    const hanging = new Set<http.ServerResponse>();

    const persist = async () => { if (data) await data.save(); };
    let baseUrl = ""; // known once listening; links in the outbox are made absolute with it
    const timer = transitionMs > 0
        ? setInterval(() => { if (store.busy()) { store.tick(); void persist().catch(() => undefined); } }, transitionMs)
        : undefined;
    timer?.unref();

    const send = (res: http.ServerResponse, status: number, body: string, headers: Record<string, string> = {}) => {
        if (res.writableEnded || res.destroyed) return;
        res.writeHead(status, { "content-type": CONTENT_TYPE, "content-length": Buffer.byteLength(body), ...headers });
        res.end(body);
    };
    const sendJson = (res: http.ServerResponse, value: unknown, status = 200) => send(res, status, JSON.stringify(value), { "content-type": "application/json" });

    async function readBody(req: http.IncomingMessage): Promise<{ text: string } | { tooLarge: true }> {
        const chunks: Buffer[] = [];
        let size = 0;
        for await (const c of req) {
            size += (c as Buffer).length;
            if (size > maxBody) return { tooLarge: true };
            chunks.push(c as Buffer);
        }
        return { text: Buffer.concat(chunks).toString("utf8") };
    }

    async function control(req: http.IncomingMessage, res: http.ServerResponse, path: string, text: string) {
        const route = `${req.method} ${path}`;
        switch (route) {
            case "GET /_emulator/stats": return sendJson(res, stats.json());
            case "GET /_emulator/calls": return sendJson(res, stats.calls);
            case "POST /_emulator/stats/reset": stats.reset(); return sendJson(res, { ok: true });
            case "POST /_emulator/reset":
                store.reset(); stats.reset(); faults = noFaults(); random = Math.random;
                await persist();
                return sendJson(res, { ok: true });
            case "GET /_emulator/faults": return sendJson(res, faults);
            case "POST /_emulator/faults":
                try {
                    faults = parseFaults(text ? JSON.parse(text) : {}, faults);
                    random = faults.seed !== undefined ? prng(faults.seed) : Math.random;
                    return sendJson(res, faults);
                } catch (e: any) {
                    return sendJson(res, { error: e.message }, 400);
                }
            case "GET /_emulator/state": {
                const view = (f: Family) => ({
                    users: Object.values(store.state[f].users).map(({ queue, ...u }) => ({ ...u, pending: queue })),
                    batches: Object.values(store.state[f].batches).map((b) => ({ ...b, users: store.usersInBatch(f, b.name) })),
                    permissionRun: store.state[f].permissionRun,
                });
                return sendJson(res, { mail: view("mail"), archive: view("archive"), connectors: store.state.connectors });
            }
            // Emulator only: the self-service mails "sent" (selfservice.ts), oldest first.
            case "GET /_emulator/outbox":
                return sendJson(res, store.state.selfService.outbox.map(({ path, ...m }) => ({
                    id: m.id, to: m.to, from: m.from, subject: m.subject, link: `${baseUrl}${path}`,
                    tag: m.tag, family: m.family, recipient: m.recipient, time: m.time,
                })));
            case "POST /_emulator/tick": store.tick(); await persist(); return sendJson(res, { ok: true, busy: store.busy() });
            default: return sendJson(res, { error: `unknown control call ${route}` }, 404);
        }
    }

    async function handle(req: http.IncomingMessage, res: http.ServerResponse) {
        const url = new URL(req.url ?? "/", "http://emulator");
        const body = await readBody(req);
        if (url.pathname.startsWith("/_emulator/")) return control(req, res, url.pathname, "text" in body ? body.text : "");
        if (url.pathname === "/selfservice" || url.pathname.startsWith("/selfservice/")) {
            // Emulator only: the self-service form (selfservicePages.ts), HTML for a browser.
            if ("tooLarge" in body) return send(res, 413, "Request body too large", { "content-type": "text/plain" });
            const page = selfServicePage(store, req.method ?? "GET", url.pathname, body.text);
            if (page.changed) await persist();
            return send(res, page.status, page.html, { "content-type": "text/html; charset=utf-8" });
        }

        const segments = url.pathname.split("/").filter(Boolean);
        const family = FAMILIES[(segments[1] ?? "").toLowerCase()];
        const method = req.method ?? "GET";
        if (segments[0]?.toLowerCase() !== "api" || !family) return send(res, 404, fail(`No such call: ${method} ${url.pathname}`));
        const found = match(method, segments.slice(2));
        const callName = `/${segments[1].toLowerCase()}/${segments.slice(2).map((s, i) => (found && found.route.path.split("/")[i] === "{tag}" ? "{tag}" : s.toLowerCase())).join("/")}`;
        if (!found) return send(res, 404, fail(`No such call: ${method} ${callName}`));
        const { route, tag } = found;

        // Faults come before anything is read or changed (but see afterCommit).
        if (faults.latencyMs > 0) await new Promise((r) => setTimeout(r, faults.latencyMs));
        let fault: string | undefined;
        if (faults.errorRate > 0 && faults.kinds.length && random() < faults.errorRate) {
            fault = faults.kinds[Math.floor(random() * faults.kinds.length)];
        }
        const commitThenReset = fault === "reset" && method === "POST" && route.mutating &&
            (faults.afterCommit === true || (faults.afterCommit === "half" && random() < 0.5));
        if (fault && !commitThenReset) {
            stats.record({ method, call: callName, ok: false, fault }, route.mutating);
            switch (fault) {
                case "500": return send(res, 500, fail("Internal server error (injected)"));
                case "503": return send(res, 503, fail("Service unavailable (injected)"), { "retry-after": String(faults.retryAfterSeconds) });
                case "429": return send(res, 429, fail("Too many requests (injected)"), { "retry-after": String(faults.retryAfterSeconds) });
                case "hasError": return send(res, 200, fail("Temporary failure, please retry later (injected)"));
                case "reset": req.socket.destroy(); return;
                case "timeout":
                    hanging.add(res);
                    setTimeout(() => { hanging.delete(res); req.socket.destroy(); }, 60_000).unref();
                    return;
            }
        }

        if ("tooLarge" in body) return send(res, 413, fail(`Request body too large (limit ${maxBody} bytes)`));
        let parsed: any = undefined;
        if (method === "POST" && body.text.trim() !== "") {
            try {
                parsed = JSON.parse(body.text);
            } catch {
                stats.record({ method, call: callName, ok: false }, route.mutating);
                return send(res, 400, fail("Malformed JSON body"));
            }
        }
        if (method === "POST" && route.shape !== "FLAT_OR_QUERY" && (parsed === undefined || parsed === null || typeof parsed !== "object")) {
            stats.record({ method, call: callName, ok: false }, route.mutating);
            return send(res, 200, fail("Invalid request: a JSON object body is required"));
        }
        if (store.immediate) store.tick(); // permission runs advance with requests when steps are immediate

        let answer: string;
        let okay = false;
        const batchName = parsed?.batchName ?? parsed?.batch?.batchName ?? url.searchParams.get("batchName") ?? undefined;
        const migrationTag = tag || parsed?.migrationTag || parsed?.auth?.migrationTag || undefined;
        try {
            const cred = credentials(route.shape, method, parsed, url.searchParams);
            if (cred.key !== key || cred.secret !== secret) throw new VendorError("Authentication failed: invalid consumerKey or consumerSecret");
            if (tag && !GUIDISH.test(tag)) throw new VendorError(`User not found: unknown migration tag '${tag}'`);
            const params = { tag, body: parsed ?? {}, query: url.searchParams };
            // Never half-applied: a refused call leaves the state as it was (the store undoes what it changed).
            const payload = route.mutating ? store.atomically(() => route.handle(store, family, params)) : route.handle(store, family, params);
            answer = ok(payload);
            okay = true;
        } catch (e) {
            if (!(e instanceof VendorError)) {
                answer = fail(`Internal error: ${(e as Error).message}`);
            } else {
                answer = fail(e.message);
            }
        }
        stats.record({ method, call: callName, ok: okay, batchName: typeof batchName === "string" ? batchName : undefined, migrationTag: typeof migrationTag === "string" ? migrationTag : undefined, fault: commitThenReset ? "reset-after-commit" : undefined }, route.mutating);
        if (okay && route.mutating) await persist();
        if (commitThenReset) { req.socket.destroy(); return; }
        send(res, 200, answer);
    }

    const server = http.createServer((req, res) => {
        handle(req, res).catch((e) => {
            if (!opts.quiet) console.error(`emulator: ${e?.message ?? e}`);
            send(res, 500, fail("Internal error"));
        });
    });
    server.keepAliveTimeout = 30_000;
    server.on("connection", (s) => { sockets.add(s); s.on("close", () => sockets.delete(s)); });
    server.on("clientError", (_e, socket) => { try { socket.end("HTTP/1.1 400 Bad Request\r\n\r\n"); } catch { /* gone */ } });
    await new Promise<void>((resolve, reject) => {
        server.once("error", reject);
        server.listen(opts.port ?? 0, opts.host ?? "127.0.0.1", () => resolve());
    });
    const port = (server.address() as AddressInfo).port;
    baseUrl = `http://${opts.host ?? "127.0.0.1"}:${port}`;
    return {
        url: `${baseUrl}/api`, baseUrl, port, store, stats,
        async close() {
            if (timer) clearInterval(timer);
            for (const r of hanging) r.destroy();
            await new Promise<void>((resolve) => { server.close(() => resolve()); for (const s of sockets) s.destroy(); });
            if (data) await data.flush();
        },
    };
}
