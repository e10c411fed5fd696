/**
 * The one transport: an undici Pool (keep-alive, a connection limit), timeouts,
 * the envelope, one retry policy, redaction. Resources never see HTTP.
 * Nothing here runs at module load: a Transport is made at call time (the
 * dynamic provider's serialized closure must not capture sockets or agents).
 */
import { Pool } from "undici";
import { z } from "zod";
import {
    CloudiwayApiError, CloudiwayError, CloudiwayHttpError, CloudiwayNetworkError, CloudiwayResponseError, RedactedRequest, apiErrorFor,
} from "./errors";
import { redactBody, redactText, redactUrl } from "./redact";
import { envelopeSchema } from "./schemas";

export interface RetryOptions {
    maxAttempts?: number;
    baseDelayMs?: number;
    maxDelayMs?: number;
}
export interface TransportOptions {
    apiUrl: string;
    consumerKey: string;
    consumerSecret: string;
    connections?: number;
    timeoutMs?: number;
    retry?: RetryOptions;
    logger?: (line: string) => void;
    userAgent?: string;
}

/**
 * `safe`: repeating the call cannot do harm (reads; idempotent writes).
 * `unsafe`: a repeat could act twice (start, audit: they cost licenses) — retried
 * only when the request provably did not reach the API.
 */
export type RetryMode = "safe" | "unsafe";

interface Attempt {
    attempt: number;
    status?: number;
    /** error code of a failed connection, if any */
    code?: string;
    /** true when the request may have been processed */
    maybeSent: boolean;
    retryAfterMs?: number;
    /** a `hasError` answer whose message says the failure is temporary ("retry later") */
    transientRefusal?: boolean;
}

/**
 * A `hasError` answer that says it is temporary: the API refused without acting,
 * like a 503. The document does not list its error messages; these are the usual wordings.
 */
export const TRANSIENT_REFUSAL = /temporar|try again|retry later|too many requests|server (is )?busy|service unavailable|timed? ?out/i;

/**
 * The retry rules, in order (after stripe-node's RequestSender._shouldRetry):
 * 1. Never beyond maxAttempts.
 * 2. 429 Too Many Requests: the API did nothing; always retry, after Retry-After.
 * 3. 503 Service Unavailable: not processed; retry (after Retry-After if given).
 * 4. 500/502/504: may or may not have been processed; retry safe calls only.
 * 5. Connection refused / DNS: never reached the API; retry.
 * 6. Reset, socket closed, timeout after sending: outcome unknown; retry safe calls only.
 * 7. Any other 4xx, and `hasError: true` answers: the vendor's refusal; never retry —
 *    except a refusal that says it is temporary (TRANSIENT_REFUSAL): nothing was done, retry like a 503.
 */
export function shouldRetry(a: Attempt, mode: RetryMode, maxAttempts: number): boolean {
    if (a.attempt >= maxAttempts) return false; // 1
    if (a.status === 429) return true; // 2
    if (a.status === 503) return true; // 3
    if (a.transientRefusal) return true; // 7, the temporary refusal
    if (a.status !== undefined && [500, 502, 504].includes(a.status)) return mode === "safe"; // 4
    if (a.status !== undefined) return false; // 7
    if (!a.maybeSent) return true; // 5
    return mode === "safe"; // 6
}

/** Capped exponential backoff with full jitter; a Retry-After wins, capped too. */
export function backoffMs(attempt: number, base: number, cap: number, retryAfterMs?: number, random = Math.random): number {
    if (retryAfterMs !== undefined && retryAfterMs >= 0) return Math.min(retryAfterMs, cap);
    const ceiling = Math.min(cap, base * 2 ** (attempt - 1));
    return Math.floor(random() * ceiling);
}

export function parseRetryAfter(v: string | string[] | undefined, now = Date.now()): number | undefined {
    const s = Array.isArray(v) ? v[0] : v;
    if (!s) return undefined;
    if (/^\d+(\.\d+)?$/.test(s.trim())) return Number(s) * 1000;
    const t = Date.parse(s);
    return Number.isNaN(t) ? undefined : Math.max(0, t - now);
}

const NOT_SENT = new Set(["ECONNREFUSED", "ENOTFOUND", "EAI_AGAIN", "UND_ERR_CONNECT_TIMEOUT", "EHOSTUNREACH", "ENETUNREACH"]);

/** The message of a failure, wherever the vendor put it. */
export function vendorMessage(env: Record<string, unknown>): string {
    for (const k of ["response", "error", "message", "errorMessage", "ErrorString"]) {
        const v = env[k];
        if (typeof v === "string" && v.trim()) return v.trim();
    }
    for (const [k, v] of Object.entries(env)) if (k !== "hasError" && typeof v === "string" && v.trim()) return v.trim();
    for (const [k, v] of Object.entries(env)) if (k !== "hasError" && v && typeof v === "object") return JSON.stringify(v).slice(0, 500);
    return "unspecified error (the API gave no message)";
}

export class Transport {
    private pool: Pool | undefined;
    private readonly origin: string;
    private readonly basePath: string;
    readonly opts: Required<Omit<TransportOptions, "logger" | "retry">> & { retry: Required<RetryOptions>; logger?: (l: string) => void };

    constructor(opts: TransportOptions) {
        const u = new URL(opts.apiUrl);
        this.origin = u.origin;
        this.basePath = u.pathname.replace(/\/+$/, "");
        this.opts = {
            apiUrl: opts.apiUrl, consumerKey: opts.consumerKey, consumerSecret: opts.consumerSecret,
            connections: opts.connections ?? 16, timeoutMs: opts.timeoutMs ?? 30_000,
            userAgent: opts.userAgent ?? "pulumi-cloudiway",
            retry: { maxAttempts: opts.retry?.maxAttempts ?? 6, baseDelayMs: opts.retry?.baseDelayMs ?? 200, maxDelayMs: opts.retry?.maxDelayMs ?? 10_000 },
            logger: opts.logger,
        };
    }

    private getPool(): Pool {
        if (!this.pool) {
            this.pool = new Pool(this.origin, {
                connections: this.opts.connections,
                keepAliveTimeout: 10_000,
                headersTimeout: this.opts.timeoutMs,
                bodyTimeout: this.opts.timeoutMs,
                connect: { timeout: Math.min(10_000, this.opts.timeoutMs) },
            });
        }
        return this.pool;
    }

    async close(): Promise<void> {
        const p = this.pool;
        this.pool = undefined;
        if (p) await p.close().catch(() => undefined);
    }

    private redact(s: string): string {
        return redactText(s, [this.opts.consumerSecret]);
    }
    private log(line: string) {
        this.opts.logger?.(this.redact(line));
    }

    get<T>(call: string, path: string, query: Record<string, string>, schema: z.ZodType<T>): Promise<T> {
        const qs = new URLSearchParams({ consumerKey: this.opts.consumerKey, consumerSecret: this.opts.consumerSecret, ...query });
        return this.request(call, "GET", `${this.basePath}${path}?${qs}`, undefined, schema, "safe");
    }

    post<T>(call: string, path: string, body: unknown, schema: z.ZodType<T>, mode: RetryMode): Promise<T> {
        return this.request(call, "POST", `${this.basePath}${path}`, body, schema, mode);
    }

    private async request<T>(call: string, method: "GET" | "POST", path: string, body: unknown, schema: z.ZodType<T>, mode: RetryMode): Promise<T> {
        const request: RedactedRequest = { method, url: redactUrl(`${this.origin}${path}`), ...(body === undefined ? {} : { body: redactBody(body) }) };
        const payload = body === undefined ? undefined : JSON.stringify(body);
        const { maxAttempts, baseDelayMs, maxDelayMs } = this.opts.retry;
        let uncertain = false;
        for (let attempt = 1; ; attempt++) {
            const started = Date.now();
            let a: Attempt;
            let failure: CloudiwayError;
            try {
                const res = await this.getPool().request({
                    method, path,
                    headers: { "content-type": "application/json", accept: "application/json", "user-agent": this.opts.userAgent },
                    body: payload,
                    headersTimeout: this.opts.timeoutMs,
                    bodyTimeout: this.opts.timeoutMs,
                });
                const text = await res.body.text();
                this.log(`${method} ${request.url} -> ${res.statusCode} (${Date.now() - started} ms, attempt ${attempt})`);
                if (res.statusCode >= 200 && res.statusCode < 300) {
                    try {
                        return this.parse(call, request, res.statusCode, text, schema);
                    } catch (e) {
                        if (e instanceof CloudiwayError) e.afterUncertainAttempt = uncertain;
                        if (!(e instanceof CloudiwayApiError) || !TRANSIENT_REFUSAL.test(e.vendorMessage ?? "")) throw e;
                        a = { attempt, status: undefined, maybeSent: false, transientRefusal: true };
                        if (!shouldRetry(a, mode, maxAttempts)) throw e;
                        const wait = backoffMs(attempt, baseDelayMs, maxDelayMs);
                        this.log(`retrying ${call} in ${wait} ms (temporary refusal)`);
                        await new Promise((r) => setTimeout(r, wait));
                        continue;
                    }
                }
                let vendor: string | undefined;
                try { vendor = vendorMessage(JSON.parse(text)); } catch { vendor = text.slice(0, 200) || undefined; }
                a = { attempt, status: res.statusCode, maybeSent: true, retryAfterMs: parseRetryAfter(res.headers["retry-after"] as any) };
                failure = new CloudiwayHttpError(this.redact(`Cloudiway ${call} failed (HTTP ${res.statusCode})${vendor ? `: ${vendor}` : ""}`), {
                    call, status: res.statusCode, vendorMessage: vendor && this.redact(vendor), request,
                });
            } catch (e: any) {
                if (e instanceof CloudiwayError) throw e;
                const code = String(e?.code ?? e?.cause?.code ?? e?.name ?? "ERROR");
                const maybeSent = !NOT_SENT.has(code);
                this.log(`${method} ${request.url} -> ${code} (${Date.now() - started} ms, attempt ${attempt})`);
                a = { attempt, code, maybeSent };
                // The undici error is not kept as `cause`: it may carry the request, secret included.
                failure = new CloudiwayNetworkError(this.redact(`Cloudiway ${call} failed: ${code}${maybeSent ? " (the outcome is unknown)" : ""}`), {
                    call, request, maybeApplied: maybeSent,
                });
            }
            failure.afterUncertainAttempt = uncertain;
            if (!shouldRetry(a, mode, maxAttempts)) throw failure;
            if (a.maybeSent && a.status !== 429 && a.status !== 503) uncertain = true;
            const wait = backoffMs(attempt, baseDelayMs, maxDelayMs, a.retryAfterMs);
            this.log(`retrying ${call} in ${wait} ms`);
            await new Promise((r) => setTimeout(r, wait));
        }
    }

    private parse<T>(call: string, request: RedactedRequest, status: number, text: string, schema: z.ZodType<T>): T {
        let json: unknown;
        try {
            json = JSON.parse(text);
        } catch {
            throw new CloudiwayResponseError(this.redact(`Cloudiway ${call}: the answer is not JSON: ${text.slice(0, 120)}`), { call, status, request });
        }
        const env = envelopeSchema.safeParse(json);
        if (!env.success) {
            throw new CloudiwayResponseError(`Cloudiway ${call}: the answer has no "hasError" envelope`, { call, status, request });
        }
        if (env.data.hasError) {
            const vendor = this.redact(vendorMessage(env.data as Record<string, unknown>));
            throw apiErrorFor(`Cloudiway ${call} failed (HTTP ${status}, hasError): ${vendor}`, { call, status, vendorMessage: vendor, request });
        }
        const parsed = schema.safeParse(env.data.response);
        if (!parsed.success) {
            const issues = parsed.error.issues.slice(0, 3).map((i) => `${i.path.join(".") || "response"}: ${i.message}`).join("; ");
            throw new CloudiwayResponseError(this.redact(`Cloudiway ${call}: unexpected answer (${issues})`), { call, status, request });
        }
        return parsed.data;
    }
}
