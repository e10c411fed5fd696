/**
 * Redaction: the consumer secret travels in GET query strings and POST bodies;
 * it never appears in a message, log line or stack.
 */
const SECRET_PARAM = /(consumerSecret=)[^&#\s]*/gi;
const KEY_PARAM = /(consumerKey=)([^&#\s]{0,3})[^&#\s]*/gi;

export function redactUrl(url: string): string {
    return url.replace(SECRET_PARAM, "$1[REDACTED]").replace(KEY_PARAM, "$1$2***");
}

export function redactBody(body: unknown): unknown {
    if (Array.isArray(body)) return body.map(redactBody);
    if (body && typeof body === "object") {
        const out: Record<string, unknown> = {};
        for (const [k, v] of Object.entries(body)) {
            if (/^consumerSecret$/i.test(k)) out[k] = "[REDACTED]";
            else if (/^consumerKey$/i.test(k) && typeof v === "string") out[k] = `${v.slice(0, 3)}***`;
            else out[k] = redactBody(v);
        }
        return out;
    }
    return body;
}

/** Last line of defence: removes every known secret from any text. */
export function redactText(text: string, secrets: readonly string[]): string {
    let out = redactUrl(text);
    for (const s of secrets) if (s && s.length >= 4) out = out.split(s).join("[REDACTED]");
    return out;
}
