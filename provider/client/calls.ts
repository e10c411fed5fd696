/**
 * One typed function per call of the Cloudiway Mail REST API, both families
 * (`kind` "mail" -> /mailusers, "archive" -> /archivemailusers), in the body
 * shapes of the document: FLAT {consumerKey, consumerSecret, migrationTag};
 * AUTH {auth: {consumerKey, consumerSecret[, migrationTag]}, ...}; NESTED BATCH
 * (settings at the top level, {batch: {auth, batchName}}).
 */
import { z } from "zod";
import { historyDateToIso, isoToVendorDate, vendorIsoToDate } from "./dates";
import { CloudiwayConflictError, CloudiwayNotFoundError, CloudiwayResponseError } from "./errors";
import { Idempotency, VENDOR_MESSAGES } from "./retry";
import { statusName } from "./status";
import {
    MailUserRecord, RawHistoryPass, SelfServiceSendTo, connectorListSchema, historySchema, selfServiceSendToSchema, sentenceSchema,
    settingsReadSchema, statusSchema, stringListSchema, tagSchema, userListCheckedSchema, userRecordSchema,
} from "./schemas";
import { Transport, TransportOptions } from "./transport";
import { GlobalSettings, GlobalSettingsRead, SETTING_FLAGS, SettingFlag, vendorName } from "./settings";
export { SETTING_DEFAULTS, SETTING_FLAGS, SettingFlag } from "./settings";

/** The API's two kinds of migration: "mail" uses /mailusers, "archive" /archivemailusers. The one word for it: kind. */
export const KINDS = ["mail", "archive"] as const;
export type Kind = (typeof KINDS)[number];
/** The kind of any value the engine holds (its `kind`, default mail). */
export function kindOf(props: unknown): Kind {
    return typeof props === "object" && props !== null && (props as { kind?: unknown }).kind === "archive" ? "archive" : "mail";
}
export type { MailUserRecord, SelfServiceSendTo } from "./schemas";
export { wireText } from "./schemas";

/**
 * The body of a create or update: the inputs the API stores, by their wire names (a model's `stored`);
 * the two emails are also the keys the API finds a user by (2.2).
 */
export interface UserFields {
    readonly sourceEmail: string;
    readonly targetEmail: string;
    readonly [wire: string]: string | undefined;
}
export interface HistoryPass extends RawHistoryPass {
    /** startDateTime/endDateTime as ISO (the API writes dd/MM/yyyy HH:mm:ss) */
    startIso: string;
    endIso: string;
}
export type { GlobalSettings, GlobalSettingsRead } from "./settings";

const root = (k: Kind) => (k === "archive" ? "/archivemailusers" : "/mailusers");
const enc = encodeURIComponent;

/** The policies of the calls (retry.ts): what a repeat may do. */
const SAFE: Idempotency<string> = { mode: "safe" };
const UNSAFE: Idempotency<string> = { mode: "unsafe" };
/** A safe write whose repeat, after a lost answer, gets a refusal that says the first attempt did it. */
const doneWhen = (refusal: RegExp | ((e: Error) => boolean)): Idempotency<string> =>
    ({ mode: "safe", doneWhen: { refusal, value: "done (an earlier attempt whose answer was lost did it)" } });

/** What createUser's post answers when an earlier attempt's answer was lost and its effect was found. */
const LOST_CREATE_ANSWER = "created by an earlier attempt whose answer was lost";

export class CloudiwayClient {
    readonly transport: Transport;

    constructor(opts: TransportOptions | { transport: Transport }) {
        this.transport = "transport" in opts ? opts.transport : new Transport(opts);
    }
    close(): Promise<void> { return this.transport.close(); }

    private get key() { return this.transport.opts.consumerKey; }
    private get secret() { return this.transport.opts.consumerSecret; }
    private flat(tag: string) { return { consumerKey: this.key, consumerSecret: this.secret, migrationTag: tag }; }
    private auth(extra: Record<string, unknown> = {}) { return { consumerKey: this.key, consumerSecret: this.secret, ...extra }; }
    private get<T>(k: Kind, call: string, path: string, query: Record<string, string>, schema: z.ZodType<T>) {
        return this.transport.get(`${root(k).slice(1)}.${call}`, `${root(k)}${path}`, query, schema);
    }
    private post<T>(k: Kind, call: string, path: string, body: unknown, schema: z.ZodType<T>, policy: Idempotency<T>) {
        return this.transport.post(`${root(k).slice(1)}.${call}`, `${root(k)}${path}`, body, schema, policy);
    }

    // 2.1 GET /getall. A record without the documented shape is left out (getAllUsersChecked names it):
    // one odd user never spoils the list, and a resource whose record it was asks for it by tag.
    async getAllUsers(k: Kind): Promise<MailUserRecord[]> { return (await this.getAllUsersChecked(k)).users; }
    getAllUsersChecked(k: Kind): Promise<{ users: MailUserRecord[]; odd: string[] }> {
        return this.get(k, "getall", "/getall", {}, userListCheckedSchema);
    }

    // 2.2 GET /migrationtag — undefined when the API says there is no such user.
    async getMigrationTag(k: Kind, sourceEmail: string, targetEmail: string): Promise<string | undefined> {
        try {
            const tag = await this.get(k, "migrationtag", "/migrationtag", { sourceEmail, targetEmail }, tagSchema);
            return tag || undefined;
        } catch (e) {
            if (e instanceof CloudiwayNotFoundError) return undefined;
            throw e;
        }
    }

    // 2.3 /{tag}/get: the summary says GET, the detail POST; we use GET with query
    // auth, like every other read (safe to retry, and the emulator serves both).
    async getUser(k: Kind, tag: string): Promise<MailUserRecord | undefined> {
        try {
            const u = await this.get(k, "get", `/${enc(tag)}/get`, {}, userRecordSchema);
            return { ...u, migrationTag: u.migrationTag || tag };
        } catch (e) {
            if (e instanceof CloudiwayNotFoundError) return undefined;
            throw e;
        }
    }

    // 2.4 - 2.6: a start or an audit uses a license: never repeated after an uncertain failure.
    startUser(k: Kind, tag: string) { return this.post(k, "start", "/start", this.flat(tag), sentenceSchema, UNSAFE); }
    stopUser(k: Kind, tag: string) { return this.post(k, "stop", "/stop", this.flat(tag), sentenceSchema, SAFE); }
    auditUser(k: Kind, tag: string) { return this.post(k, "audit", "/audit", this.flat(tag), sentenceSchema, UNSAFE); }

    // 2.7
    async getStatus(k: Kind, tag: string): Promise<string> {
        return statusName(await this.get(k, "status", `/${enc(tag)}/status`, {}, statusSchema));
    }

    // 2.8
    async getMailHistory(k: Kind, tag: string): Promise<HistoryPass[]> {
        const passes = await this.get(k, "getmailhistory", `/${enc(tag)}/getmailhistory`, {}, historySchema);
        return passes.map((p) => ({ ...p, startIso: historyDateToIso(p.startDateTime), endIso: historyDateToIso(p.endDateTime) }));
    }

    // 2.9 POST /license (the detail's example path; the heading says /{tag}/license). Idempotent.
    assignLicense(k: Kind, tag: string) { return this.post(k, "license", "/license", this.flat(tag), sentenceSchema, SAFE); }

    // 2.10 create + 2.2 lookup. Never makes a second user: create answers no tag, and after an
    // attempt whose outcome is unknown the transport looks the user up before sending again (rule 8).
    // `lostAnswer`: an attempt's answer was lost and the user was found after it; that attempt made
    // it, unless it was there before the create (which only the caller can judge).
    async createUser(k: Kind, v: UserFields): Promise<{ migrationTag: string; lostAnswer: boolean }> {
        let tag: string | undefined;
        const lookUp = async () => (tag = await this.getMigrationTag(k, v.sourceEmail, v.targetEmail));
        const answer = await this.post(k, "create", "/create", { auth: this.auth(), ...v }, sentenceSchema, {
            mode: "checked",
            lookUp: async () => ((await lookUp()) ? LOST_CREATE_ANSWER : undefined),
            // "already exists" after a lost answer: that attempt made it (rule 9).
            doneWhen: { refusal: (e) => e instanceof CloudiwayConflictError, value: LOST_CREATE_ANSWER },
        });
        if (tag || (await lookUp())) return { migrationTag: tag!, lostAnswer: answer === LOST_CREATE_ANSWER };
        throw new CloudiwayResponseError(`Cloudiway ${root(k).slice(1)}.create: the user was created but migrationtag does not find it`, {
            call: `${root(k).slice(1)}.create`, request: { method: "GET", url: "migrationtag" },
        });
    }

    // 2.11
    deleteUser(k: Kind, tag: string) {
        return this.post(k, "delete", "/delete", this.flat(tag), sentenceSchema, doneWhen((e) => e instanceof CloudiwayNotFoundError));
    }

    // 2.12: AUTH with the tag inside auth. Idempotent.
    updateUser(k: Kind, tag: string, v: UserFields) {
        return this.post(k, "update", "/update", { auth: this.auth({ migrationTag: tag }), ...v }, sentenceSchema, SAFE);
    }

    // 2.13
    listBatches(k: Kind): Promise<string[]> { return this.get(k, "batch", "/batch", {}, stringListSchema); }

    // 2.14: adding a user to the batch it is in is accepted again. Idempotent.
    addToBatch(k: Kind, tag: string, batchName: string) {
        return this.post(k, "addtobatch", "/addtobatch", { auth: this.auth({ migrationTag: tag }), batchName }, sentenceSchema, SAFE);
    }
    // 2.15
    removeFromBatch(k: Kind, tag: string) {
        return this.post(k, "removefrombatch", "/removefrombatch", this.flat(tag), sentenceSchema, doneWhen(VENDOR_MESSAGES.notInBatch));
    }
    // 2.16 - 2.20
    startBatch(k: Kind, batchName: string) { return this.post(k, "startbatch", "/startbatch", { auth: this.auth(), batchName }, sentenceSchema, UNSAFE); }
    stopBatch(k: Kind, batchName: string) { return this.post(k, "stopbatch", "/stopbatch", { auth: this.auth(), batchName }, sentenceSchema, SAFE); }
    createBatch(k: Kind, batchName: string) {
        return this.post(k, "createbatch", "/createbatch", { auth: this.auth(), batchName }, sentenceSchema, doneWhen((e) => e instanceof CloudiwayConflictError));
    }
    deleteBatch(k: Kind, batchName: string) {
        return this.post(k, "deletebatch", "/deletebatch", { auth: this.auth(), batchName }, sentenceSchema, doneWhen((e) => e instanceof CloudiwayNotFoundError));
    }
    auditBatch(k: Kind, batchName: string) { return this.post(k, "batchaudit", "/batchaudit", { auth: this.auth(), batchName }, sentenceSchema, UNSAFE); }

    // 2.21
    getUsersInBatch(k: Kind, batchName: string): Promise<string[]> {
        return this.get(k, "getusersinbatch", "/getusersinbatch", { batchName }, stringListSchema);
    }
    // 2.22, 2.23
    getSourceConnectors(k: Kind) { return this.get(k, "getallsourceconnectors", "/getallsourceconnectors", {}, connectorListSchema); }
    getTargetConnectors(k: Kind) { return this.get(k, "getalltargetconnectors", "/getalltargetconnectors", {}, connectorListSchema); }

    // 2.24: one batch at a time in the service; a refusal is a CloudiwayConflictError.
    startPermissionMigrationByBatch(k: Kind, batchName: string) {
        return this.post(k, "startpermissionmigrationbybatch", "/startpermissionmigrationbybatch", { auth: this.auth(), batchName }, sentenceSchema, UNSAFE);
    }

    // 2.25: the detail's path /setmailglobalsettingsbybatch (the summary's
    // /setglobalsettingsbybatch is an alias). Dates go as MM/dd/yyyy; a null date is sent as null.
    setGlobalSettings(k: Kind, batchName: string, s: GlobalSettings) {
        const body = {
            FromDate: s.fromDate ? isoToVendorDate(s.fromDate) : null,
            ToDate: s.toDate ? isoToVendorDate(s.toDate) : null,
            ...Object.fromEntries(SETTING_FLAGS.map((f) => [vendorName(f), s[f]])),
            batch: { auth: this.auth(), batchName },
        };
        return this.post(k, "setmailglobalsettingsbybatch", "/setmailglobalsettingsbybatch", body, sentenceSchema, SAFE);
    }

    // 2.26 (detail path; the summary's /getglobalsettingsbybatch is an alias). Dates normalized to ISO YYYY-MM-DD.
    // A flag the answer leaves out (or null) is undefined: not set (a batch never set answers {}).
    async getGlobalSettings(k: Kind, batchName: string): Promise<GlobalSettingsRead> {
        const s = await this.get(k, "getmailglobalsettingsbybatch", "/getmailglobalsettingsbybatch", { batchName }, settingsReadSchema);
        const flags = Object.fromEntries(SETTING_FLAGS.map((f) => [f, s[f] ?? undefined])) as Record<SettingFlag, boolean | undefined>;
        return {
            ...flags,
            fromDate: this.settingsDate(k, "fromDate", s.fromDate), toDate: this.settingsDate(k, "toDate", s.toDate),
        };
    }
    /** A date of 2.26's answer as ISO YYYY-MM-DD; one that is not a date is an unexpected answer (not a crash). */
    private settingsDate(k: Kind, field: string, v: string | null | undefined): string | null {
        try {
            return vendorIsoToDate(v);
        } catch {
            const call = `${root(k).slice(1)}.getmailglobalsettingsbybatch`;
            throw new CloudiwayResponseError(`Cloudiway ${call}: unexpected answer (${field}: not a date)`, { call, request: { method: "GET", url: "getmailglobalsettingsbybatch" } });
        }
    }

    // EMULATOR ONLY — not in the vendor's REST document, which has no call for self-service.
    // "Send Self Service Email" (seeds/self-service-migration.txt) as the local emulator serves
    // it: POST /sendselfservicemail, AUTH with auth.migrationTag, plus sendTo ("source", "target"
    // or "both"); the user's status becomes MAIL_SENT. The vendor's API has no such path: against
    // a real tenant this call fails. Never repeated after an uncertain failure (a second mail).
    sendSelfServiceMail(k: Kind, tag: string, sendTo: SelfServiceSendTo) {
        const to = selfServiceSendToSchema.parse(sendTo);
        return this.post(k, "sendselfservicemail", "/sendselfservicemail", { auth: this.auth({ migrationTag: tag }), sendTo: to }, sentenceSchema, UNSAFE);
    }
}
