/**
 * zod schemas of every payload: responses are parsed at the boundary and no
 * `any` crosses it. Tolerant where the document is inconsistent (firstName or
 * firstname; the tag with a leading space; JSON strings for action sentences).
 */
import { z } from "zod";
import { SETTING_FLAGS, SettingFlag } from "./settings";

/** `{"hasError": bool, ...}`: a failure's message may be anywhere (the document prints `{"hasError":True": ErrorString}`). */
export const envelopeSchema = z.object({ hasError: z.boolean(), response: z.unknown().optional() }).passthrough();

const trimmed = z.string().transform((s) => s.trim());

export const userRecordSchema = z
    .object({
        firstName: z.string().optional(),
        firstname: z.string().optional(),
        lastName: z.string().optional(),
        lastname: z.string().optional(),
        sourceEmail: z.string(),
        targetEmail: z.string(),
        migrationTag: trimmed.optional(),
        sourceConnectorName: z.string().nullish(),
        targetConnectorName: z.string().nullish(),
        batchName: z.string().nullish(),
        status: z.union([z.string(), z.number()]).nullish(),
        licensed: z.boolean().nullish(),
    })
    .passthrough()
    .transform((u) => ({
        /** Every text value of the answer under its wire name: a model's stored inputs are read from here (wireText). */
        wire: wireTexts(u),
        firstName: u.firstName ?? u.firstname ?? "",
        lastName: u.lastName ?? u.lastname ?? "",
        sourceEmail: u.sourceEmail,
        targetEmail: u.targetEmail,
        migrationTag: u.migrationTag ?? "",
        sourceConnectorName: u.sourceConnectorName ?? undefined,
        targetConnectorName: u.targetConnectorName ?? undefined,
        batchName: u.batchName ?? null,
        status: u.status === null || u.status === undefined ? undefined : String(u.status),
        licensed: u.licensed ?? undefined,
    }));
export type MailUserRecord = z.infer<typeof userRecordSchema>;

function wireTexts(u: Record<string, unknown>): Record<string, string> {
    const out: Record<string, string> = {};
    for (const [k, v] of Object.entries(u)) if (typeof v === "string") out[k] = v;
    return out;
}
/**
 * The text a record holds under a wire name, in the answer's spelling or another case of it (the
 * document writes a name in camel case in one call and in lower case in another); undefined when the
 * answer leaves it out.
 */
export function wireText(record: { wire: Readonly<Record<string, string>> }, name: string): string | undefined {
    if (Object.prototype.hasOwnProperty.call(record.wire, name)) return record.wire[name];
    const lower = name.toLowerCase();
    const k = Object.keys(record.wire).find((x) => x.toLowerCase() === lower);
    return k === undefined ? undefined : record.wire[k];
}

export const userListSchema = z.array(userRecordSchema);
/**
 * getall, one record at a time: a record without the documented shape is set aside (named by its
 * place, tag or source email) instead of spoiling the whole list.
 */
export const userListCheckedSchema = z.array(z.unknown()).transform((items) => {
    const users: MailUserRecord[] = [];
    const odd: string[] = [];
    items.forEach((item, i) => {
        const r = userRecordSchema.safeParse(item);
        if (r.success) { users.push(r.data); return; }
        const o = (typeof item === "object" && item !== null ? item : {}) as Record<string, unknown>;
        const name = [o.migrationTag, o.sourceEmail].filter((v) => typeof v === "string").map((v) => String(v).trim()).join(", ");
        odd.push(`record ${i + 1}${name ? ` (${name})` : ""}: ${r.error.issues.slice(0, 2).map((x) => `${x.path.join(".") || "record"}: ${x.message}`).join("; ")}`);
    });
    return { users, odd };
});
export const tagSchema = trimmed;
export const sentenceSchema = z.union([z.string(), z.number(), z.boolean()]).transform((v) => String(v));
export const stringListSchema = z.array(trimmed);
export const connectorListSchema = z.array(z.object({ name: z.string(), type: z.string() }).passthrough().transform((c) => ({ name: c.name, type: c.type })));
export type Connector = z.infer<typeof connectorListSchema>[number];
export const statusSchema = z.union([z.string(), z.number()]);

const count = z.number().int().nonnegative().catch(0);
export const historyPassSchema = z.object({
    startDateTime: z.string(), endDateTime: z.string(),
    msgTotal: count, msgRead: count, msgSuccess: count, msgIgnored: count, msgFailure: count,
    calTotal: count, calRead: count, calSuccess: count, calIgnored: count, calFailure: count,
    conTotal: count, conRead: count, conSuccess: count, conIgnored: count, conFailure: count,
    msgAlreadyMigrated: count,
}).passthrough();
export const historySchema = z.array(historyPassSchema);
export type RawHistoryPass = z.infer<typeof historyPassSchema>;

/**
 * 2.26's answer. The seed shows only a full one; a field that is missing or null means "not set"
 * (a batch whose settings were never set answers `{}`): read as undefined, never a failure.
 */
const flag = z.boolean().nullish().transform((v) => v ?? undefined);
export const settingsReadSchema = z.object({
    ...(Object.fromEntries(SETTING_FLAGS.map((f) => [f, flag])) as Record<SettingFlag, typeof flag>),
    fromDate: z.string().nullish(), toDate: z.string().nullish(),
}).passthrough();

/** Emulator only (no such call in the vendor's document): who gets the self-service email. */
export const selfServiceSendToSchema = z.enum(["source", "target", "both"]);
export type SelfServiceSendTo = z.infer<typeof selfServiceSendToSchema>;
