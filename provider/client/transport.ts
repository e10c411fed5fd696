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
import { Attempt, Idempotency, NOT_SENT, VENDOR_MESSAGES, backoffMs, outcomeUnknown, parseRetryAfter, shouldRetry } from "./retry";
import { envelopeSchema } from "./schemas";
import { DEFAULT_CONNECTIONS, DEFAULT_MAX_ATTEMPTS, DEFAULT_REQUEST_TIMEOUT_MS } from "../config";

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
    /** Fired before and after every call that may change something (every POST): e.g. to clear a read cache. */
    onWrite?: () => void;
}

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
    readonly opts: Required<Omit<TransportOptions, "logger" | "retry" | "onWrite">> & { retry: Required<RetryOptions>; logger?: (l: string) => void; onWrite?: () => void };

    constructor(opts: TransportOptions) {
        const u = new URL(opts.apiUrl);
        this.origin = u.origin;
        this.basePath = u.pathname.replace(/\/+$/, "");
        this.opts = {
            apiUrl: opts.apiUrl, consumerKey: opts.consumerKey, consumerSecret: opts.consumerSecret,
            connections: opts.connections ?? DEFAULT_CONNECTIONS, timeoutMs: opts.timeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS,
            userAgent: opts.userAgent ?? "pulumi-cloudiway",
            retry: { maxAttempts: opts.retry?.maxAttempts ?? DEFAULT_MAX_ATTEMPTS, baseDelayMs: opts.retry?.baseDelayMs ?? 200, maxDelayMs: opts.retry?.maxDelayMs ?? 10_000 },
            logger: opts.logger,
            onWrite: opts.onWrite,
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
        return this.request(call, "GET", `${this.basePath}${path}?${qs}`, undefined, schema, { mode: "safe" });
    }

    /** A call that may change something: the onWrite hook fires before and after it, whatever its outcome. */
    async post<T>(call: string, path: string, body: unknown, schema: z.ZodType<T>, policy: Idempotency<T>): Promise<T> {
        this.opts.onWrite?.();
        try {
            return await this.request(call, "POST", `${this.basePath}${path}`, body, schema, policy);
        } finally {
            this.opts.onWrite?.();
        }
    }

    /** One call, attempts and waits included, by the rules of retry.ts. */
    private async request<T>(call: string, method: "GET" | "POST", path: string, body: unknown, schema: z.ZodType<T>, policy: Idempotency<T>): Promise<T> {
        const mode = policy.mode;
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
                        if (e instanceof CloudiwayApiError && uncertain && policy.doneWhen && refusalMatches(policy.doneWhen.refusal, e)) {
                            this.log(`${call}: ${e.vendorMessage}: an earlier attempt whose answer was lost did it (rule 9)`);
                            return policy.doneWhen.value;
                        }
                        if (!(e instanceof CloudiwayApiError) || !VENDOR_MESSAGES.temporary.test(e.vendorMessage ?? "")) throw e;
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
                a = { attempt, status: res.statusCode, maybeSent: true, retryAfterMs: parseRetryAfter(res.headers["retry-after"]) };
                failure = new CloudiwayHttpError(this.redact(`Cloudiway ${call} failed (HTTP ${res.statusCode})${vendor ? `: ${vendor}` : ""}`), {
                    call, status: res.statusCode, vendorMessage: vendor && this.redact(vendor), request,
                });
            } catch (e) {
                if (e instanceof CloudiwayError) throw e;
                const code = errorCode(e);
                const maybeSent = !NOT_SENT.has(code);
                this.log(`${method} ${request.url} -> ${code} (${Date.now() - started} ms, attempt ${attempt})`);
                a = { attempt, code, maybeSent };
                // The undici error is not kept as `cause`: it may carry the request, secret included.
                failure = new CloudiwayNetworkError(this.redact(`Cloudiway ${call} failed: ${code}${maybeSent ? " (the outcome is unknown)" : ""}`), {
                    call, request, maybeApplied: maybeSent,
                });
            }
            if (!shouldRetry(a, mode, maxAttempts)) throw failure;
            if (outcomeUnknown(a)) uncertain = true;
            const wait = backoffMs(attempt, baseDelayMs, maxDelayMs, a.retryAfterMs);
            this.log(`retrying ${call} in ${wait} ms`);
            await new Promise((r) => setTimeout(r, wait));
            if (uncertain && mode === "checked" && policy.lookUp) {
                // Rule 8: the earlier attempt may have done it; look before sending again.
                const found = await policy.lookUp();
                if (found !== undefined) return found;
            }
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

function refusalMatches(refusal: RegExp | ((e: Error) => boolean), e: CloudiwayApiError): boolean {
    return refusal instanceof RegExp ? refusal.test(e.vendorMessage ?? "") : refusal(e);
}

/** The code of a connection failure (undici puts it on the error or its cause). */
function errorCode(e: unknown): string {
    const o = (typeof e === "object" && e !== null ? e : {}) as { code?: unknown; name?: unknown; cause?: { code?: unknown } };
    return String(o.code ?? o.cause?.code ?? o.name ?? "ERROR");
}
