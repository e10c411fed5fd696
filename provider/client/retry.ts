/**
 * The one retry and idempotency policy of the client (after stripe-node's
 * RequestSender._shouldRetry): which failures are retried, how long to wait, and
 * what a call may do after an attempt whose outcome is unknown. The transport
 * applies it; calls only declare their `Idempotency`. The vendor's messages that
 * the policy (and the error classes) recognise are in one table, VENDOR_MESSAGES.
 */

/**
 * The vendor's `hasError` wordings this client relies on, the one list of them, with where each
 * came from. The document (cloudiway-api.md) lists no error messages: a wording is a hint, never the
 * only evidence. Whether a user, batch or membership is gone is decided by its absence from a
 * complete list (getall, batch, getusersinbatch) plus a refusal of the by-name read in any words
 * (campaign/lookups.ts: isVendorRefusal, goneNow); a refusal in words not listed here is reported
 * with the vendor's own text.
 */
export const VENDOR_MESSAGES = {
    /**
     * A refusal that says it is temporary: the API did nothing, retried like a 503 (rule 7).
     * Source: none in the document; the usual gateway and throttling wordings ("try again",
     * "Too many requests", "Service unavailable", "timed out").
     */
    temporary: /temporar|try again|retry later|too many requests|server (is )?busy|service unavailable|timed? ?out/i,
    /**
     * The user or batch does not exist: CloudiwayNotFoundError. Source: none in the document;
     * "not found" / "does not exist" are the usual REST wordings, "unknown migration tag" and
     * "no such user|batch" the emulator's (emulator/store.ts), modelled on them. Unknown wordings
     * are handled by the evidence above, not by adding guesses here.
     */
    notFound: /not found|does not exist|unknown migration tag|no such (user|batch)/i,
    /**
     * It exists already, is in another batch, or is already running: CloudiwayConflictError.
     * Source: none in the document; the emulator's wordings (emulator/store.ts: "already exists", "already in batch").
     */
    conflict: /already/i,
    /** removefrombatch of a user in no batch. Source: the emulator's wording (no example in the document). */
    notInBatch: /not in a batch/i,
} as const;

/**
 * What repeating a call may do:
 *  - `safe`: nothing more (reads; writes whose repeat has the same effect: update, addtobatch, license);
 *  - `unsafe`: it could act twice (start, audit: they cost licenses; a second self-service mail);
 *  - `checked`: it could act twice, but its effect can be looked up (create: migrationtag by source
 *    and target), so after an uncertain attempt the call looks first and sends again only if the
 *    effect is not there (rule 8).
 */
export type RetryMode = "safe" | "unsafe" | "checked";

/** How a call declares itself to the policy. */
export interface Idempotency<T> {
    mode: RetryMode;
    /** `checked` calls: after an uncertain attempt, the call's effect if it is there (then it is the answer), else undefined. */
    lookUp?: () => Promise<T | undefined>;
    /**
     * A refusal that, after an uncertain attempt, says that attempt did the work ("already exists" after
     * a lost create-batch answer, "not found" after a lost delete): the call succeeded (rule 9), with `value`.
     */
    doneWhen?: { refusal: RegExp | ((e: Error) => boolean); value: T };
}

/** One attempt's outcome, as the policy sees it. */
export interface Attempt {
    attempt: number;
    status?: number;
    /** error code of a failed connection, if any */
    code?: string;
    /** true when the request may have been processed */
    maybeSent: boolean;
    retryAfterMs?: number;
    /** a `hasError` answer whose message says the failure is temporary (VENDOR_MESSAGES.temporary) */
    transientRefusal?: boolean;
}

/**
 * The retry rules, in order:
 * 1. Never beyond maxAttempts.
 * 2. 429 Too Many Requests: the API did nothing; always retry, after Retry-After.
 * 3. 503 Service Unavailable: not processed; retry (after Retry-After if given).
 * 4. 500/502/504: may or may not have been processed; retry safe calls (and checked ones, rule 8).
 * 5. Connection refused / DNS: never reached the API; retry.
 * 6. Reset, socket closed, timeout after sending: outcome unknown; retry safe calls (and checked ones, rule 8).
 * 7. Any other 4xx, and `hasError: true` answers: the vendor's refusal; never retry —
 *    except a refusal that says it is temporary (VENDOR_MESSAGES.temporary): nothing was done, retry like a 503.
 * 8. (transport) A checked call looks its effect up before it is sent again after an unknown outcome.
 * 9. (transport) After an unknown outcome, a refusal that says the work is done (`doneWhen`) is success.
 */
export function shouldRetry(a: Attempt, mode: RetryMode, maxAttempts: number): boolean {
    const repeatable = mode !== "unsafe";
    if (a.attempt >= maxAttempts) return false; // 1
    if (a.status === 429) return true; // 2
    if (a.status === 503) return true; // 3
    if (a.transientRefusal) return true; // 7, the temporary refusal
    if (a.status !== undefined && [500, 502, 504].includes(a.status)) return repeatable; // 4
    if (a.status !== undefined) return false; // 7
    if (!a.maybeSent) return true; // 5
    return repeatable; // 6
}

/** Whether the attempt may have been applied: after it, a repeat is no longer certainly the first. */
export function outcomeUnknown(a: Attempt): boolean {
    return a.maybeSent && a.status !== 429 && a.status !== 503 && !a.transientRefusal;
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

/** Connection errors that prove the request never reached the API (rule 5). */
export const NOT_SENT = new Set(["ECONNREFUSED", "ENOTFOUND", "EAI_AGAIN", "UND_ERR_CONNECT_TIMEOUT", "EHOSTUNREACH", "ENETUNREACH"]);

/**
 * Waiting for a refusal to go away (e.g. "a permissions migration is already running"): the
 * same capped backoff, until a deadline. `again(e)` says whether the refusal is one to wait out.
 */
export async function waitOut<T>(send: () => Promise<T>, again: (e: unknown) => boolean, deadlineMs: number, baseMs = 250, capMs = 5000): Promise<T> {
    for (let attempt = 1; ; attempt++) {
        try {
            return await send();
        } catch (e) {
            const wait = backoffMs(attempt, baseMs, capMs, undefined, () => 1);
            if (!again(e) || Date.now() + wait > deadlineMs) throw e;
            await new Promise((r) => setTimeout(r, wait));
        }
    }
}
