/**
 * The HTTP server: reads each request's body (up to a limit), hands the request to the handler
 * that owns its path, and writes the Reply — the only place that touches sockets (including the
 * fault middleware's dropped and hanging connections). Paths: `/_emulator...` the control API
 * (control.ts), `/selfservice/...` the self-service pages (selfserviceHttp.ts), the rest the
 * vendor's API (api.ts).
 */
import * as http from "http";
import { AddressInfo, Socket } from "net";
import { fail } from "./envelope";
import { Area, refusal } from "./guard";
import { Incoming, Reply, json, text, vendor } from "./reply";

export interface Handlers {
    control(req: Incoming): Promise<Reply>;
    selfService(req: Incoming): Promise<Reply>;
    api(req: Incoming): Promise<Reply>;
}

export interface Listening {
    port: number;
    close(): Promise<void>;
}

export async function listen(
    handlers: Handlers, opts: { port: number; host: string; maxBodyBytes: number; quiet: boolean },
): Promise<Listening> {
    const sockets = new Set<Socket>();
    const hanging = new Set<http.ServerResponse>();

    async function readBody(req: http.IncomingMessage): Promise<Incoming["body"]> {
        const chunks: Buffer[] = [];
        let size = 0;
        for await (const c of req) {
            const chunk = c as Buffer; // an IncomingMessage without setEncoding yields Buffers
            size += chunk.length;
            if (size > opts.maxBodyBytes) return { tooLarge: true, limit: opts.maxBodyBytes };
            chunks.push(chunk);
        }
        return { text: Buffer.concat(chunks).toString("utf8") };
    }

    function write(req: http.IncomingMessage, res: http.ServerResponse, reply: Reply) {
        if (res.writableEnded || res.destroyed) return;
        switch (reply.kind) {
            case "send":
                res.writeHead(reply.status, { ...reply.headers, "content-length": Buffer.byteLength(reply.body) });
                res.end(reply.body);
                return;
            case "drop":
                req.socket.destroy();
                return;
            case "hang":
                hanging.add(res);
                setTimeout(() => { hanging.delete(res); req.socket.destroy(); }, 60_000).unref();
                return;
        }
    }

    async function handle(req: http.IncomingMessage, res: http.ServerResponse) {
        const url = new URL(req.url ?? "/", "http://emulator");
        const incoming: Incoming = { method: req.method ?? "GET", url, body: await readBody(req) };
        const p = url.pathname;
        const area: Area = p === "/_emulator" || p.startsWith("/_emulator/") ? "control"
            : p === "/selfservice" || p.startsWith("/selfservice/") ? "selfService"
            : "api";
        // Who may ask (guard.ts): loopback Host, the emulator's own Origin, JSON for writes, decodable URLs.
        const header = (name: string) => { const v = req.headers[name]; return Array.isArray(v) ? v.join(",") : v; };
        const refused = refusal({
            method: incoming.method, rawUrl: req.url ?? "/",
            headers: { host: header("host"), origin: header("origin"), contentType: header("content-type") },
            bodyEmpty: "text" in incoming.body && incoming.body.text === "",
        }, area, { host: opts.host, port: (server.address() as AddressInfo).port });
        if (refused) {
            write(req, res, area === "api" ? vendor(refused.status, fail(refused.message))
                : area === "control" ? json({ error: refused.message }, refused.status)
                : text(refused.status, refused.message));
            return;
        }
        write(req, res, await handlers[area](incoming));
    }

    const server = http.createServer((req, res) => {
        handle(req, res).catch((e: unknown) => {
            // The message stays here: an answer never carries an internal error's text.
            if (!opts.quiet) console.error(`emulator: ${e instanceof Error ? e.message : String(e)}`);
            write(req, res, vendor(500, fail("Internal error")));
        });
    });
    server.keepAliveTimeout = 30_000;
    server.on("connection", (s) => { sockets.add(s); s.on("close", () => sockets.delete(s)); });
    server.on("clientError", (_e, socket) => { try { socket.end("HTTP/1.1 400 Bad Request\r\n\r\n"); } catch { /* gone */ } });
    await new Promise<void>((resolve, reject) => {
        server.once("error", reject);
        server.listen(opts.port, opts.host, () => resolve());
    });
    return {
        port: (server.address() as AddressInfo).port,
        async close() {
            for (const r of hanging) r.destroy();
            await new Promise<void>((resolve) => { server.close(() => resolve()); for (const s of sockets) s.destroy(); });
        },
    };
}
