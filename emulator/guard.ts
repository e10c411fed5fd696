/**
 * What the emulator takes from whom — the emulator's reading, not the vendor's document,
 * which says nothing of it (docs/emulator.md, "The emulator's reading"). The emulator listens on the loopback
 * interface and holds public demo credentials, so a web page open in the user's browser must not
 * be able to drive it:
 *
 *  - Host: only a loopback name (`127.0.0.0/8`, `localhost`, `[::1]`) or the host the emulator was
 *    started on, with or without a port (a DNS-rebinding page sends its own name): else 403.
 *  - Origin: when a request carries one (browsers do, on every POST), it must be the emulator's
 *    own origin (an allowed host and the emulator's port): else 403.
 *  - Writes (POST) to the API and the control API: `Content-Type: application/json` (a browser
 *    sends that cross-origin only after a preflight, which the emulator does not grant). A POST
 *    with no body and no Content-Type (`curl -X POST .../_emulator/reset`) is taken from a client
 *    that sends no Origin. Else 415. The self-service form keeps its own POST
 *    (application/x-www-form-urlencoded), from the emulator's own origin.
 *  - Percent-encoding in the path or the query that does not decode: 400.
 */

export interface Headers { host?: string; origin?: string; contentType?: string }
export type Area = "api" | "control" | "selfService";
export interface Refusal { status: number; message: string }

const LOOPBACK = (h: string) => h === "localhost" || h.endsWith(".localhost") || h === "[::1]" || h === "::1" || /^127(\.\d{1,3}){3}$/.test(h);

/** The hostname of a Host header (without its port), lower case. */
function hostnameOf(host: string): string {
    const h = host.trim().toLowerCase();
    if (h.startsWith("[")) return h.slice(0, h.indexOf("]") + 1);
    return h.replace(/:\d*$/, "");
}

export function hostAllowed(host: string | undefined, listeningOn: string): boolean {
    if (!host) return false;
    const h = hostnameOf(host);
    const own = listeningOn.toLowerCase();
    return LOOPBACK(h) || (own !== "0.0.0.0" && own !== "::" && (h === own || h === `[${own}]`));
}

/** Whether a path or query decodes (a `%` not followed by two hex digits, or bytes that are not UTF-8, do not). */
export function decodes(rawUrl: string): boolean {
    const q = rawUrl.indexOf("?");
    const pathPart = q < 0 ? rawUrl : rawUrl.slice(0, q);
    const parts = [...pathPart.split("/"), ...(q < 0 ? [] : rawUrl.slice(q + 1).split(/[&=]/))];
    try {
        for (const p of parts) decodeURIComponent(p.replace(/\+/g, " "));
        return true;
    } catch {
        return false;
    }
}

/** Why the request is refused, or undefined. */
export function refusal(
    req: { method: string; rawUrl: string; headers: Headers; bodyEmpty: boolean }, area: Area, listening: { host: string; port: number },
): Refusal | undefined {
    if (!hostAllowed(req.headers.host, listening.host)) {
        return { status: 403, message: `Host ${JSON.stringify(req.headers.host ?? "")} is not allowed: the emulator answers requests for a loopback host (127.0.0.1, localhost) only` };
    }
    const origin = req.headers.origin;
    if (origin !== undefined) {
        let ok = false;
        try {
            const u = new URL(origin);
            ok = (u.protocol === "http:" || u.protocol === "https:") && hostAllowed(u.host, listening.host) &&
                Number(u.port || (u.protocol === "https:" ? 443 : 80)) === listening.port;
        } catch { /* "null" or garbage */ }
        if (!ok) return { status: 403, message: `Origin ${JSON.stringify(origin)} is not allowed: only the emulator's own pages may send requests from a browser` };
    }
    if (!decodes(req.rawUrl)) return { status: 400, message: "Bad request: malformed percent-encoding in the path or the query" };
    if (req.method === "POST" && area !== "selfService") {
        const type = (req.headers.contentType ?? "").split(";")[0].trim().toLowerCase();
        const bare = req.headers.contentType === undefined && req.bodyEmpty && origin === undefined;
        if (type !== "application/json" && !bare) {
            return { status: 415, message: `Unsupported Content-Type ${JSON.stringify(req.headers.contentType ?? "")}: a write must send application/json` };
        }
    }
    return undefined;
}
