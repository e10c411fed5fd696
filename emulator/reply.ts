/**
 * What a handler answers, before it is written to the socket: a response, or (fault injection) a
 * dropped connection or one left hanging. Handlers return a Reply; only server.ts touches sockets.
 */
import { CONTENT_TYPE } from "./envelope";

export type Reply =
    | { kind: "send"; status: number; body: string; headers: Record<string, string> }
    /** Destroy the connection without an answer (a "reset"). */
    | { kind: "drop" }
    /** Never answer; the connection is destroyed after a minute (a "timeout"). */
    | { kind: "hang" };

/** A request as the handlers see it: its body already read (or refused as too large). */
export interface Incoming {
    method: string;
    url: URL;
    body: { text: string } | { tooLarge: true; limit: number };
}

/** The vendor's content type (application/json;charset=UTF-8): for the vendor's envelope. */
export const vendor = (status: number, body: string, headers: Record<string, string> = {}): Reply =>
    ({ kind: "send", status, body, headers: { "content-type": CONTENT_TYPE, ...headers } });

/** Plain JSON: the control API's answers (not the vendor's envelope). */
export const json = (value: unknown, status = 200): Reply =>
    ({ kind: "send", status, body: JSON.stringify(value), headers: { "content-type": "application/json" } });

export const html = (status: number, body: string): Reply =>
    ({ kind: "send", status, body, headers: { "content-type": "text/html; charset=utf-8" } });

export const text = (status: number, body: string): Reply =>
    ({ kind: "send", status, body, headers: { "content-type": "text/plain" } });
