/**
 * EMULATOR ONLY (not in the vendor's REST document): serves the self-service pages over HTTP —
 * the Self Service Link `/selfservice/<token>` and the admin's "View Self Service Form"
 * `/selfservice/admin/<mail|archive>/<tag>`. GET shows the form; POST
 * (application/x-www-form-urlencoded: username, password) submits it. Parse, call the store, pick
 * the status and the page (selfserviceRender.ts): the rules are in the store.
 */
import { Kind, Store, User, VendorError } from "./store";
import { renderDone, renderForm, renderInvalid } from "./selfserviceRender";
import { Incoming, Reply, html, text } from "./reply";

const FAMILY = new Map<string, Kind>([["mail", "mail"], ["mailusers", "mail"], ["archive", "archive"], ["archivemailusers", "archive"]]);

export const isSelfServicePath = (pathname: string) => pathname === "/selfservice" || pathname.startsWith("/selfservice/");

/** Serves one request under /selfservice; `changed` says whether the store was written (to persist). */
export function serveSelfService(store: Store, req: Incoming): { reply: Reply; changed: boolean } {
    if ("tooLarge" in req.body) return { reply: text(413, "Request body too large"), changed: false };
    const page = selfServicePage(store, req.method, req.url.pathname, req.body.text);
    return { reply: html(page.status, page.html), changed: page.changed };
}

interface Page { status: number; html: string; changed: boolean }

function selfServicePage(store: Store, method: string, pathname: string, form: string): Page {
    const parts = pathname.split("/").filter(Boolean).map((p) => decodeURIComponent(p)); // ["selfservice", ...]
    let kind: Kind;
    let user: User;
    let via: "link" | "admin";
    try {
        if (parts.length === 2) {
            ({ kind, user } = store.selfService.link(parts[1]));
            via = "link";
        } else if (parts.length === 4 && parts[1] === "admin" && FAMILY.has(parts[2].toLowerCase())) {
            kind = FAMILY.get(parts[2].toLowerCase())!;
            user = store.selfService.form(kind, parts[3]);
            via = "admin";
        } else {
            return { status: 404, html: renderInvalid("No such page"), changed: false };
        }
    } catch (e) {
        if (e instanceof VendorError) return { status: 404, html: renderInvalid(e.message), changed: false };
        throw e;
    }
    const admin = via === "admin";
    if (method === "GET") return { status: 200, html: renderForm(user, { admin }), changed: false };
    if (method !== "POST") return { status: 405, html: renderInvalid(`${method} is not allowed here`), changed: false };
    const fields = new URLSearchParams(form);
    const username = fields.get("username") ?? "";
    const password = fields.get("password") ?? "";
    try {
        const u = store.atomically(() => store.selfService.submit(kind, user.migrationTag, username, password, via));
        return { status: 200, html: renderDone(u, u.status), changed: true };
    } catch (e) {
        if (e instanceof VendorError) {
            // Wrong credentials: 401; anything else the store refuses (a migration already running): 409.
            const status = /username or password/.test(e.message) ? 401 : 409;
            return { status, html: renderForm(user, { admin, error: e.message, username }), changed: false };
        }
        throw e;
    }
}
