/** The vendor's envelope, verbatim: every answer is HTTP 200 JSON with hasError. */
export const CONTENT_TYPE = "application/json;charset=UTF-8";

export function ok(response: unknown): string {
    return JSON.stringify({ hasError: false, response });
}

/**
 * The document prints failures as the malformed `{"hasError":True": ErrorString}`;
 * we send the message as `response` (where success puts its payload) and, for
 * clients that look for it there, as `error` too.
 */
export function fail(message: string): string {
    return JSON.stringify({ hasError: true, response: message, error: message });
}
