/**
 * One error hierarchy (after stripe-node's Error.ts and octokit's RequestError):
 * the call name, the HTTP status, the vendor's message, and the request — its
 * URL and body always redacted.
 */
import { VENDOR_MESSAGES } from "./retry";
export interface RedactedRequest {
    method: string;
    url: string;
    body?: unknown;
}

export class CloudiwayError extends Error {
    readonly call: string;
    readonly status?: number;
    readonly vendorMessage?: string;
    readonly request: RedactedRequest;
    constructor(message: string, opts: { call: string; status?: number; vendorMessage?: string; request: RedactedRequest }) {
        super(message);
        this.name = new.target.name;
        this.call = opts.call;
        this.status = opts.status;
        this.vendorMessage = opts.vendorMessage;
        this.request = opts.request;
    }
}
/** The API answered `hasError: true`: the vendor refused the call. */
export class CloudiwayApiError extends CloudiwayError {}
/** The API says the user / batch does not exist. */
export class CloudiwayNotFoundError extends CloudiwayApiError {}
/** The API says it exists already, is in another batch, or is already running. */
export class CloudiwayConflictError extends CloudiwayApiError {}
/** A non-2xx HTTP answer. */
export class CloudiwayHttpError extends CloudiwayError {}
/** No answer: connection refused or reset, or a timeout. */
export class CloudiwayNetworkError extends CloudiwayError {
    /** Whether the request may have reached the server (its outcome is unknown). */
    readonly maybeApplied: boolean;
    constructor(message: string, opts: ConstructorParameters<typeof CloudiwayError>[1] & { maybeApplied: boolean }) {
        super(message, opts);
        this.maybeApplied = opts.maybeApplied;
    }
}
/** An answer that does not have the documented shape. */
export class CloudiwayResponseError extends CloudiwayError {}

/** Chooses the error class of a vendor refusal from its message (the patterns: retry.ts, VENDOR_MESSAGES). */
export function apiErrorFor(message: string, opts: ConstructorParameters<typeof CloudiwayError>[1]): CloudiwayApiError {
    const vendor = opts.vendorMessage ?? "";
    if (VENDOR_MESSAGES.notFound.test(vendor)) return new CloudiwayNotFoundError(message, opts);
    if (VENDOR_MESSAGES.conflict.test(vendor)) return new CloudiwayConflictError(message, opts);
    return new CloudiwayApiError(message, opts);
}
