/**
 * Self-service migration (seeds/self-service-migration.txt) — EMULATOR ONLY:
 * the vendor's REST document has no call for any of this. The emulator
 * implements the flow so that stacks using it can be rehearsed:
 *
 * - a source connector whose authentication type is "Self Service";
 * - `POST /{mailusers|archivemailusers}/sendselfservicemail` (AUTH body with
 *   auth.migrationTag, plus `sendTo`: "source" | "target" | "both") puts one
 *   mail per recipient in the outbox (`GET /_emulator/outbox`), from the
 *   no-reply sender, with the user's Self Service Link; the status becomes MAIL_SENT;
 * - the link (`/selfservice/<token>`) opens a form for the source mailbox's
 *   username and password; a right submission starts the migration, a wrong one
 *   shows an error and starts nothing;
 * - "View Self Service Form" for the admin: `/selfservice/admin/<kind>/<tag>`.
 *
 * The simulated source mailboxes: the username is the user's source address,
 * the password is `sourceMailboxPassword(sourceEmail)` = "pw:" + the source
 * address in lower case (e.g. "pw:ada@source.example"). Nothing keeps a submitted
 * password: only that (and when) the credentials were given.
 *
 * Here: the flow's constants and state (outbox, links, submissions) and the simulated passwords.
 * The rules are in the store (store.ts); the pages are rendered by selfserviceRender.ts and served
 * by selfserviceHttp.ts.
 */
import { randomUUID } from "crypto";
import type { SelfServiceState } from "./types";

export const SELF_SERVICE_TYPE = "Self Service";
export const NO_REPLY = "noreply@cloudiway.com";
export type SendTo = "source" | "target" | "both";
export const SEND_TO: readonly SendTo[] = ["source", "target", "both"];

/** `links` has no prototype: a token from a URL is an ordinary key (store.ts, record). */
export const emptySelfService = (): SelfServiceState => ({ outbox: [], links: Object.create(null) as SelfServiceState["links"], submissions: [] });

/** The password of a simulated source mailbox (documented in docs/emulator.md). */
export function sourceMailboxPassword(sourceEmail: string): string {
    return `pw:${sourceEmail.trim().toLowerCase()}`;
}

export function newToken(): string {
    return randomUUID().replace(/-/g, "");
}
