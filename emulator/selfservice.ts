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
 * - "View Self Service Form" for the admin: `/selfservice/admin/<family>/<tag>`.
 *
 * The simulated source mailboxes: the username is the user's source address,
 * the password is `sourceMailboxPassword(sourceEmail)` = "pw:" + the source
 * address in lower case (e.g. "pw:ada@source.example"). Nothing keeps a submitted
 * password: only that (and when) the credentials were given.
 *
 * Rules and state live here and in the store; the HTTP side (index.ts) only
 * parses forms and writes the pages rendered below.
 */
import { randomUUID } from "crypto";

export const SELF_SERVICE_TYPE = "Self Service";
export const NO_REPLY = "noreply@cloudiway.com";
export type SendTo = "source" | "target" | "both";
export const SEND_TO: readonly SendTo[] = ["source", "target", "both"];

export interface OutboxMail {
    id: number;
    to: string;
    from: string;
    subject: string;
    /** Path of the link under the emulator's base URL (the outbox view makes it absolute). */
    path: string;
    tag: string;
    family: "mail" | "archive";
    /** Which address of the user this mail went to. */
    recipient: "source" | "target";
    time: string;
}

export interface SelfServiceState {
    outbox: OutboxMail[];
    /** token -> user; one link per user, the same in every mail it gets. */
    links: Record<string, { family: "mail" | "archive"; tag: string }>;
    /** Accepted submissions (never the password). */
    submissions: { family: "mail" | "archive"; tag: string; username: string; via: "link" | "admin"; time: string }[];
}

export const emptySelfService = (): SelfServiceState => ({ outbox: [], links: {}, submissions: [] });

/** The password of a simulated source mailbox (documented in README.md). */
export function sourceMailboxPassword(sourceEmail: string): string {
    return `pw:${sourceEmail.trim().toLowerCase()}`;
}

export function newToken(): string {
    return randomUUID().replace(/-/g, "");
}

// ---------------------------------------------------------------- pages
const esc = (s: string) => s.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!);

const STYLE = `
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;background:#eef2f7;margin:0;color:#1d2733}
header{background:#0b4f8a;color:#fff;padding:14px 28px;font-size:20px;font-weight:600;letter-spacing:.3px}
header small{font-weight:400;opacity:.8;margin-left:10px;font-size:13px}
main{max-width:460px;margin:40px auto;background:#fff;border-radius:10px;box-shadow:0 2px 12px rgba(0,0,0,.08);padding:28px 32px}
h1{font-size:20px;margin:0 0 6px}
p.who{color:#4a5868;margin:0 0 20px;font-size:14px;line-height:1.5}
label{display:block;font-size:13px;font-weight:600;margin:14px 0 6px}
input[type=text],input[type=password]{width:100%;box-sizing:border-box;padding:9px 10px;border:1px solid #b9c4d0;border-radius:6px;font-size:14px}
button{margin-top:22px;width:100%;padding:11px;border:0;border-radius:6px;background:#0b6fc2;color:#fff;font-size:15px;font-weight:600;cursor:pointer}
.error{background:#fdecec;border:1px solid #f3b4b4;color:#a11d1d;padding:10px 12px;border-radius:6px;font-size:14px;margin-bottom:6px}
.done{background:#e8f6ec;border:1px solid #a9dcb7;color:#1d6b35;padding:12px;border-radius:6px;font-size:14px}
footer{text-align:center;color:#7a8794;font-size:12px;margin-top:18px}`;

function page(title: string, body: string): string {
    return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${esc(title)}</title>` +
        `<meta name="viewport" content="width=device-width,initial-scale=1"><style>${STYLE}</style></head>` +
        `<body><header>Cloudiway<small>Self Service Migration (local emulator)</small></header><main>${body}</main>` +
        `<footer>Served by the pulumi-cloudiway emulator — not Cloudiway.</footer></body></html>`;
}

export interface FormUser { firstName: string; lastName: string; sourceEmail: string; targetEmail: string }

export function renderForm(u: FormUser, opts: { admin: boolean; error?: string; username?: string }): string {
    const heading = opts.admin ? "Self Service Form (admin)" : "Migrate your mailbox";
    return page("Cloudiway Self Service", `<h1>${heading}</h1>` +
        `<p class="who">${esc(`${u.firstName} ${u.lastName}`)}: <b>${esc(u.sourceEmail)}</b> &rarr; <b>${esc(u.targetEmail)}</b><br>` +
        `Enter the username and password of the <b>source</b> mailbox to start the migration.</p>` +
        (opts.error ? `<div class="error" id="error" role="alert">${esc(opts.error)}</div>` : "") +
        `<form method="post" id="selfservice">` +
        `<label for="username">Source mailbox username</label>` +
        `<input type="text" id="username" name="username" autocomplete="username" value="${esc(opts.username ?? u.sourceEmail)}">` +
        `<label for="password">Source mailbox password</label>` +
        `<input type="password" id="password" name="password" autocomplete="current-password">` +
        `<button type="submit" id="start">${opts.admin ? "Start the migration" : "Start my migration"}</button></form>`);
}

export function renderDone(u: FormUser, status: string): string {
    return page("Cloudiway Self Service", `<h1>Migration started</h1>` +
        `<div class="done" id="confirmation" role="status">Thank you. The migration of <b>${esc(u.sourceEmail)}</b> to ` +
        `<b>${esc(u.targetEmail)}</b> has started. You can close this page.</div>` +
        `<p class="who" style="margin-top:16px">Status: <span id="status">${esc(status)}</span></p>`);
}

export function renderInvalid(message: string): string {
    return page("Cloudiway Self Service", `<h1>Link not valid</h1><div class="error" id="error" role="alert">${esc(message)}</div>`);
}
