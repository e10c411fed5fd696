/**
 * The API's routes: parse the request in the document's body shape, call the
 * store, serialize. Both kinds (/mailusers, /archivemailusers); paths are
 * matched case-insensitively (the document writes getAllsourceconnectors); where
 * the document names two paths or verbs for one call, both are served.
 */
import { Kind, Settings, Store, User, VendorError, SETTING_KEYS } from "./store";

export type Shape = "QUERY" | "FLAT" | "AUTH" | "AUTH_TAG" | "NESTED" | "FLAT_OR_QUERY";

/** A parsed JSON body (an object; `{}` for a call without one). */
export type Body = Record<string, unknown>;
export const isObject = (v: unknown): v is Body => v !== null && typeof v === "object" && !Array.isArray(v);
/** The value at a path of nested objects (`at(body, "auth", "migrationTag")`), or undefined. */
export const at = (v: unknown, ...keys: string[]): unknown => keys.reduce<unknown>((o, k) => (isObject(o) ? o[k] : undefined), v);

export interface Route {
    method: "GET" | "POST";
    /** path pattern under the kind; `{tag}` matches a tag segment */
    path: string;
    shape: Shape;
    mutating: boolean;
    handle(store: Store, f: Kind, p: Params): unknown;
}
export interface Params { tag: string; body: Body; query: URLSearchParams }

const str = (v: unknown, name: string, where = "body"): string => {
    if (typeof v !== "string") throw new VendorError(`Invalid request: ${name} must be a string in the ${where}`);
    if (v.trim() === "") throw new VendorError(`Invalid request: ${name} must not be empty`);
    return v;
};
const q = (p: Params, name: string) => str(p.query.get(name) ?? undefined, name, "query string");
const batchName = (p: Params) => str(p.body.batchName, "batchName").trim();
const userFields = (b: Body) => ({
    firstName: str(b.firstName, "firstName"), lastName: str(b.lastName, "lastName"),
    sourceEmail: str(b.sourceEmail, "sourceEmail").trim(), targetEmail: str(b.targetEmail, "targetEmail").trim(),
    sourceConnectorName: str(b.sourceConnectorName, "sourceConnectorName"), targetConnectorName: str(b.targetConnectorName, "targetConnectorName"),
});
/** A user as 2.3 (get) shows it: the sample's five fields, in its order. */
const getView = (u: User) => ({
    firstName: u.firstName, lastName: u.lastName, sourceEmail: u.sourceEmail, targetEmail: u.targetEmail, migrationTag: u.migrationTag,
});

/**
 * A user as 2.1 (getall) shows it: `firstname` in lower case, as the document's sample, then the
 * sample's other fields in its order and (its "…") the connectors, batch, status and license.
 */
const getAllView = (u: User) => ({
    firstname: u.firstName, lastName: u.lastName, sourceEmail: u.sourceEmail, targetEmail: u.targetEmail,
    migrationTag: u.migrationTag, sourceConnectorName: u.sourceConnectorName, targetConnectorName: u.targetConnectorName,
    batchName: u.batchName, status: u.status, licensed: u.licensed,
});

/** MM/dd/yyyy (also M/d/yyyy) -> yyyy-MM-ddT00:00:00, as the API reads it back. */
export function vendorDateToIso(v: unknown, name: string): string | null {
    if (v === null || v === "") return null;
    if (typeof v !== "string") throw new VendorError(`Invalid ${name}: expected a date MM/dd/yyyy`);
    const m = /^(\d{1,2})\/(\d{1,2})\/(\d{4})$/.exec(v.trim());
    if (!m) throw new VendorError(`Invalid ${name} '${v}': expected a date MM/dd/yyyy`);
    const [mm, dd, yyyy] = [+m[1], +m[2], +m[3]];
    const d = new Date(Date.UTC(yyyy, mm - 1, dd));
    if (d.getUTCMonth() !== mm - 1 || d.getUTCDate() !== dd) throw new VendorError(`Invalid ${name} '${v}': no such date`);
    return `${String(yyyy).padStart(4, "0")}-${String(mm).padStart(2, "0")}-${String(dd).padStart(2, "0")}T00:00:00`;
}

/**
 * The sentence the document shows for 2.25, word for word: "1/5/2015 12:00:00 AM", "True"/"False",
 * and no clause for journals (the document's sample has none, though the call takes ShouldMigrateJournals).
 */
function settingsSentence(name: string, s: Settings): string {
    const d = (iso: string | null) => {
        if (!iso) return "";
        const [y, m, dd] = iso.slice(0, 10).split("-").map(Number);
        return `${m}/${dd}/${y} 12:00:00 AM`;
    };
    const b = (v: boolean) => (v ? "True" : "False");
    return `Global settings set to the users of Batch: ${name} as follows {From Date :${d(s.fromDate)}, To Date :${d(s.toDate)}, ` +
        `Migrate Emails : ${b(s.shouldMigrateMails)}, Migrate Trash : ${b(s.shouldMigrateTrash)}, Migrate Calendars : ${b(s.shouldMigrateCalendars)}, ` +
        `Migrate Contacts : ${b(s.shouldMigrateContacts)}, Migrate Notes : ${b(s.shouldMigrateNotes)}, Migrate Tasks : ${b(s.shouldMigrateTasks)}, ` +
        `Convert Email Addresses : ${b(s.shouldConvertEmailAddresses)}, Convert X500 Addresses : ${b(s.shouldConvertX500)}}`;
}

const PASCAL: Record<string, (typeof SETTING_KEYS)[number]> = {
    ShouldMigrateMails: "shouldMigrateMails", ShouldMigratedMails: "shouldMigrateMails", // the parameter table's misspelling
    ShouldMigrateTrash: "shouldMigrateTrash", ShouldMigrateCalendars: "shouldMigrateCalendars",
    ShouldMigrateContacts: "shouldMigrateContacts", ShouldMigrateTasks: "shouldMigrateTasks", ShouldMigrateNotes: "shouldMigrateNotes",
    ShouldMigrateJournals: "shouldMigrateJournals", ShouldConvertEmailAddresses: "shouldConvertEmailAddresses", ShouldConvertX500: "shouldConvertX500",
};
function settingsPatch(body: Body): Partial<Settings> {
    const patch: Partial<Settings> = {};
    for (const [k, v] of Object.entries(body)) {
        if (k === "batch") continue;
        if (k === "FromDate") patch.fromDate = vendorDateToIso(v, "FromDate");
        else if (k === "ToDate") patch.toDate = vendorDateToIso(v, "ToDate");
        else if (Object.hasOwn(PASCAL, k)) {
            if (typeof v !== "boolean") throw new VendorError(`Invalid ${k}: expected true or false`);
            patch[PASCAL[k]] = v;
        } else throw new VendorError(`Invalid request: unknown settings field '${k}'`);
    }
    const from = patch.fromDate, to = patch.toDate;
    if (from && to && from > to) throw new VendorError(`Invalid dates: FromDate is after ToDate`);
    return patch;
}

// FLAT bodies: the samples write `migrationTag`, the parameter table of 2.15 `MigrationTag`: both are taken.
const flatTag = (p: Params) => str(p.body.migrationTag ?? p.body.MigrationTag, "migrationTag").trim();
const authTag = (p: Params) => str(at(p.body, "auth", "migrationTag"), "auth.migrationTag").trim();

export const ROUTES: Route[] = [
    // 2.1 .. 2.3
    // The 2.1 sample spells the first name `firstname` (2.3 spells it `firstName`): served as the sample shows.
    { method: "GET", path: "getall", shape: "QUERY", mutating: false, handle: (s, f) => s.getAll(f).map((u) => getAllView(u)) },
    // The sample answer has a leading space (" c0d9b808-..."): kept, clients trim.
    { method: "GET", path: "migrationtag", shape: "QUERY", mutating: false, handle: (s, f, p) => ` ${s.migrationTag(f, q(p, "sourceEmail"), q(p, "targetEmail"))}` },
    // 2.3 answers exactly the five fields of the document's sample (no connectors, unlike getall's "...").
    { method: "GET", path: "{tag}/get", shape: "QUERY", mutating: false, handle: (s, f, p) => getView(s.get(f, p.tag)) },
    { method: "POST", path: "{tag}/get", shape: "FLAT_OR_QUERY", mutating: false, handle: (s, f, p) => getView(s.get(f, p.tag)) },
    // 2.4 .. 2.9
    { method: "POST", path: "start", shape: "FLAT", mutating: true, handle: (s, f, p) => (s.start(f, flatTag(p)), "User scheduled") },
    { method: "POST", path: "stop", shape: "FLAT", mutating: true, handle: (s, f, p) => (s.stop(f, flatTag(p)), "User stopped") },
    { method: "POST", path: "audit", shape: "FLAT", mutating: true, handle: (s, f, p) => (s.audit(f, flatTag(p)), "Audit scheduled") },
    { method: "GET", path: "{tag}/status", shape: "QUERY", mutating: false, handle: (s, f, p) => s.status(f, p.tag) },
    { method: "GET", path: "{tag}/getmailhistory", shape: "QUERY", mutating: false, handle: (s, f, p) => s.history(f, p.tag) },
    { method: "POST", path: "license", shape: "FLAT", mutating: true, handle: (s, f, p) => (s.license(f, flatTag(p)), "License assigned") },
    { method: "POST", path: "{tag}/license", shape: "FLAT", mutating: true, handle: (s, f, p) => (s.license(f, p.body.migrationTag ? flatTag(p) : p.tag), "License assigned") },
    // 2.10 .. 2.12
    { method: "POST", path: "create", shape: "AUTH", mutating: true, handle: (s, f, p) => (s.create(f, userFields(p.body)), "User created") },
    { method: "POST", path: "delete", shape: "FLAT", mutating: true, handle: (s, f, p) => (s.delete(f, flatTag(p)), "User deleted") },
    { method: "POST", path: "update", shape: "AUTH_TAG", mutating: true, handle: (s, f, p) => (s.update(f, authTag(p), userFields(p.body)), "User updated") },
    // 2.13 .. 2.21
    { method: "GET", path: "batch", shape: "QUERY", mutating: false, handle: (s, f) => s.batchNames(f) },
    { method: "POST", path: "addtobatch", shape: "AUTH_TAG", mutating: true, handle: (s, f, p) => { const b = batchName(p); s.addToBatch(f, authTag(p), b); return `User added to batch ${b}`; } },
    { method: "POST", path: "removefrombatch", shape: "FLAT", mutating: true, handle: (s, f, p) => (s.removeFromBatch(f, flatTag(p)), "User removed from batch") },
    { method: "POST", path: "startbatch", shape: "AUTH", mutating: true, handle: (s, f, p) => { const b = batchName(p); s.startBatch(f, b); return `Batch ${b} started`; } },
    { method: "POST", path: "stopbatch", shape: "AUTH", mutating: true, handle: (s, f, p) => { const b = batchName(p); s.stopBatch(f, b); return `Batch ${b} stopped`; } },
    { method: "POST", path: "createbatch", shape: "AUTH", mutating: true, handle: (s, f, p) => { const b = batchName(p); s.createBatch(f, b); return `Batch ${b} created`; } },
    { method: "POST", path: "deletebatch", shape: "AUTH", mutating: true, handle: (s, f, p) => { const b = batchName(p); s.deleteBatch(f, b); return `Batch ${b} deleted`; } },
    { method: "POST", path: "batchaudit", shape: "AUTH", mutating: true, handle: (s, f, p) => { const b = batchName(p); s.auditBatch(f, b); return `Audit scheduled for users in Batch ${b}`; } },
    { method: "GET", path: "getusersinbatch", shape: "QUERY", mutating: false, handle: (s, f, p) => s.usersInBatch(f, q(p, "batchName").trim()) },
    // 2.22 .. 2.26
    { method: "GET", path: "getallsourceconnectors", shape: "QUERY", mutating: false, handle: (s) => s.state.connectors.source },
    { method: "GET", path: "getalltargetconnectors", shape: "QUERY", mutating: false, handle: (s) => s.state.connectors.target },
    { method: "POST", path: "startpermissionmigrationbybatch", shape: "AUTH", mutating: true, handle: (s, f, p) => { const b = batchName(p); s.startPermissions(f, b); return `Permissions migration of users in Batch '${b}' scheduled.`; } },
    ...["setmailglobalsettingsbybatch", "setglobalsettingsbybatch"].map((path): Route => ({
        method: "POST", path, shape: "NESTED", mutating: true,
        handle: (s, f, p) => {
            const b = str(at(p.body, "batch", "batchName"), "batch.batchName").trim();
            s.setSettings(f, b, settingsPatch(p.body));
            return settingsSentence(b, s.getSettings(f, b));
        },
    })),
    ...["getmailglobalsettingsbybatch", "getglobalsettingsbybatch"].map((path): Route => ({
        method: "GET", path, shape: "QUERY", mutating: false,
        handle: (s, f, p) => s.getSettings(f, q(p, "batchName").trim()),
    })),
    // EMULATOR ONLY, not in the vendor's REST document: "Send Self Service Email" of the
    // self-service article (emulator/selfservice.ts). AUTH with auth.migrationTag, plus sendTo.
    {
        method: "POST", path: "sendselfservicemail", shape: "AUTH_TAG", mutating: true,
        handle: (s, f, p) => `Self service email sent to ${s.selfService.sendMail(f, authTag(p), str(p.body.sendTo, "sendTo").trim()).join(" and ")}`,
    },
];

/** Finds the route of a request, or undefined. `{tag}` is any segment that is not a call name. */
export function match(method: string, segments: string[]): { route: Route; tag: string } | undefined {
    for (const r of ROUTES) {
        if (r.method !== method) continue;
        const parts = r.path.split("/");
        if (parts.length !== segments.length) continue;
        let tag = "";
        let okay = true;
        for (let i = 0; i < parts.length; i++) {
            if (parts[i] === "{tag}") tag = decodeURIComponent(segments[i]);
            else if (parts[i] !== segments[i].toLowerCase()) { okay = false; break; }
        }
        if (okay) return { route: r, tag };
    }
    return undefined;
}

/** The credentials of a request, taken from where its shape puts them; refuses a wrong shape. */
export function credentials(shape: Shape, body: unknown, query: URLSearchParams): { key: unknown; secret: unknown } {
    const isObj = isObject;
    switch (shape) {
        case "QUERY":
            return { key: query.get("consumerKey") ?? undefined, secret: query.get("consumerSecret") ?? undefined };
        case "FLAT_OR_QUERY":
            if (isObj(body) && "consumerKey" in body) return { key: body.consumerKey, secret: body.consumerSecret };
            return { key: query.get("consumerKey") ?? undefined, secret: query.get("consumerSecret") ?? undefined };
        case "FLAT":
            if (!isObj(body) || "auth" in body) throw new VendorError(`Invalid request body: expected {"consumerKey", "consumerSecret", "migrationTag"}`);
            return { key: body.consumerKey, secret: body.consumerSecret };
        case "AUTH":
        case "AUTH_TAG":
            if (!isObj(body) || !isObj(body.auth)) {
                throw new VendorError(`Invalid request body: expected {"auth": {"consumerKey", "consumerSecret"${shape === "AUTH_TAG" ? ', "migrationTag"' : ""}}, ...}`);
            }
            return { key: body.auth.consumerKey, secret: body.auth.consumerSecret };
        case "NESTED":
            if (!isObj(body) || !isObj(body.batch) || !isObj(body.batch.auth)) {
                throw new VendorError(`Invalid request body: expected settings fields and {"batch": {"auth": {"consumerKey", "consumerSecret"}, "batchName"}}`);
            }
            return { key: body.batch.auth.consumerKey, secret: body.batch.auth.consumerSecret };
    }
}
