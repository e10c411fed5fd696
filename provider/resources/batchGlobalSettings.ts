/**
 * BatchGlobalSettings: what a batch migrates (mails, calendars, ...) and the date
 * window. Declared dates are ISO `YYYY-MM-DD`; the API takes `MM/dd/yyyy` and
 * answers `yyyy-MM-ddT00:00:00` — both are normalized so an untouched batch
 * compares equal to its declaration. Id: the batch name.
 * Top to bottom: schema, provider methods, resource class.
 */
import * as pulumi from "@pulumi/pulumi";
import { z } from "zod";
import { shimFor } from "./shim";
import { Context, ResourceImpl, adoptField, batchNameField, checkWith, diffProps, kindField, kindOf } from "./common";
import { CloudiwayResponseError } from "../client/errors";
import type { GlobalSettingsRead } from "../client/calls";
import { warn } from "./engineLog";
import { batchNames } from "./lookups";

// ---------------------------------------------------------------- schema
export const SETTING_FLAGS = [
    "shouldMigrateMails", "shouldMigrateTrash", "shouldMigrateCalendars", "shouldMigrateContacts",
    "shouldMigrateTasks", "shouldMigrateNotes", "shouldMigrateJournals",
    "shouldConvertEmailAddresses", "shouldConvertX500",
] as const;
export type SettingFlag = (typeof SETTING_FLAGS)[number];

/**
 * Omitted flags take these values: a full mailbox migration (mails, calendars,
 * contacts, tasks, notes, address conversion), without trash and journals.
 */
export const SETTING_DEFAULTS: Record<SettingFlag, boolean> = {
    shouldMigrateMails: true, shouldMigrateTrash: false, shouldMigrateCalendars: true, shouldMigrateContacts: true,
    shouldMigrateTasks: true, shouldMigrateNotes: true, shouldMigrateJournals: false,
    shouldConvertEmailAddresses: true, shouldConvertX500: true,
};

export function isIsoDate(s: string): boolean {
    const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(s);
    if (!m) return false;
    const d = new Date(Date.UTC(+m[1], +m[2] - 1, +m[3]));
    return d.getUTCFullYear() === +m[1] && d.getUTCMonth() === +m[2] - 1 && d.getUTCDate() === +m[3];
}
const isoDate = z.string({ error: "must be an ISO date string YYYY-MM-DD" }).trim()
    .refine(isIsoDate, { message: "must be a valid ISO date YYYY-MM-DD (e.g. 2024-01-31)" });

const flag = z.boolean({ error: "must be true or false" }).optional();
export const batchGlobalSettingsSchema = z.object({
    batchName: batchNameField,
    shouldMigrateMails: flag, shouldMigrateTrash: flag, shouldMigrateCalendars: flag, shouldMigrateContacts: flag,
    shouldMigrateTasks: flag, shouldMigrateNotes: flag, shouldMigrateJournals: flag,
    shouldConvertEmailAddresses: flag, shouldConvertX500: flag,
    fromDate: isoDate.optional(),
    toDate: isoDate.optional(),
    kind: kindField,
    /**
     * Take over the batch's settings as they are (default: cloudiway:adoptExisting): create reads
     * them first and writes only when they differ from the declaration (issue 18: deploying an
     * exported tenant writes nothing).
     */
    adopt: adoptField,
});
export type BatchGlobalSettingsInputs = z.infer<typeof batchGlobalSettingsSchema>;
const INPUTS = ["batchName", ...SETTING_FLAGS, "fromDate", "toDate", "kind"] as const;

// ---------------------------------------------------------------- provider
export const batchGlobalSettingsImpl: ResourceImpl<BatchGlobalSettingsInputs> = {
    async check(_ctx, _olds, news) {
        const result = checkWith("BatchGlobalSettings", batchGlobalSettingsSchema, news, (v, unknown) =>
            v.fromDate && v.toDate && !unknown.has("fromDate") && !unknown.has("toDate") && v.fromDate > v.toDate
                ? [{ property: "fromDate", reason: `BatchGlobalSettings.fromDate: ${v.fromDate} is after toDate ${v.toDate}` }]
                : [],
        );
        if (result.failures?.length) return result;
        const inputs: Record<string, unknown> = { ...result.inputs };
        for (const f of SETTING_FLAGS) if (inputs[f] === undefined) inputs[f] = SETTING_DEFAULTS[f];
        return { inputs, failures: [] };
    },

    async diff(_ctx, _id, olds, news) {
        return diffProps(olds, news, INPUTS, ["batchName", "kind"]);
    },

    async create(ctx, inputs) {
        // Adopting: nothing is written when the batch's settings are already as declared.
        if (inputs.adopt ?? ctx.settings.adoptExisting) {
            const kind = kindOf(inputs);
            const current = await ctx.client().getGlobalSettings(kind, inputs.batchName).catch(() => undefined);
            if (current && sameSettings(current, inputs)) return { id: inputs.batchName, outs: { ...inputs } };
        }
        await write(ctx, inputs);
        return { id: inputs.batchName, outs: { ...inputs } };
    },

    async read(ctx, id, props) {
        const kind = kindOf(props);
        if (!(await batchNames(ctx, kind)).includes(id)) return {};
        let s: GlobalSettingsRead;
        try {
            s = await ctx.cache.get(`${kind}:settings:${id}`, () => ctx.client().getGlobalSettings(kind, id), { share: true });
        } catch (e) {
            // An odd answer for one batch does not abort the refresh: named in a warning, kept as last known.
            if (!(e instanceof CloudiwayResponseError)) throw e;
            await warn(`BatchGlobalSettings "${id}" (${kind}): ${e.message}; kept as last known, not refreshed`);
            return { id, props: { ...props }, inputs: { ...props } };
        }
        // A flag the API leaves unset (missing or null) is left out: it shows as drift from the declaration.
        const inputs: BatchGlobalSettingsInputs = { batchName: id };
        for (const f of SETTING_FLAGS) if (s[f] !== undefined) inputs[f] = s[f];
        if (s.fromDate) inputs.fromDate = s.fromDate;
        if (s.toDate) inputs.toDate = s.toDate;
        if (props.kind !== undefined) inputs.kind = props.kind;
        if (props.adopt !== undefined) inputs.adopt = props.adopt;
        return { id, props: { ...inputs }, inputs };
    },

    async update(ctx, _id, _olds, news) {
        await write(ctx, news);
        return { outs: { ...news } };
    },

    async delete() {
        // The API has no call to unset settings: they stay on the batch and go with it.
    },
};

/** Whether what the API answered is what `v` declares (omitted flags: their defaults; unset ones never match). */
export function sameSettings(current: GlobalSettingsRead, v: BatchGlobalSettingsInputs): boolean {
    return SETTING_FLAGS.every((f) => current[f] === (v[f] ?? SETTING_DEFAULTS[f])) &&
        (current.fromDate ?? null) === (v.fromDate ?? null) && (current.toDate ?? null) === (v.toDate ?? null);
}

async function write(ctx: Context, v: BatchGlobalSettingsInputs): Promise<void> {
    const flags = Object.fromEntries(SETTING_FLAGS.map((f) => [f, v[f] ?? SETTING_DEFAULTS[f]])) as Record<SettingFlag, boolean>;
    await ctx.client().setGlobalSettings(kindOf(v), v.batchName, { ...flags, fromDate: v.fromDate ?? null, toDate: v.toDate ?? null });
}

// ---------------------------------------------------------------- resource
export interface BatchGlobalSettingsArgs {
    /** The batch (MailBatch.name). */
    batchName: pulumi.Input<string>;
    shouldMigrateMails?: pulumi.Input<boolean>;
    shouldMigrateTrash?: pulumi.Input<boolean>;
    shouldMigrateCalendars?: pulumi.Input<boolean>;
    shouldMigrateContacts?: pulumi.Input<boolean>;
    shouldMigrateTasks?: pulumi.Input<boolean>;
    shouldMigrateNotes?: pulumi.Input<boolean>;
    shouldMigrateJournals?: pulumi.Input<boolean>;
    shouldConvertEmailAddresses?: pulumi.Input<boolean>;
    shouldConvertX500?: pulumi.Input<boolean>;
    /** ISO date YYYY-MM-DD: migrate items from this date. */
    fromDate?: pulumi.Input<string>;
    /** ISO date YYYY-MM-DD: migrate items up to this date. */
    toDate?: pulumi.Input<string>;
    kind?: pulumi.Input<"mail" | "archive">;
    /** Take over the batch's settings: create writes them only when they differ (default: cloudiway:adoptExisting). */
    adopt?: pulumi.Input<boolean>;
}

export class BatchGlobalSettings extends pulumi.dynamic.Resource {
    declare public readonly batchName: pulumi.Output<string>;
    declare public readonly shouldMigrateMails: pulumi.Output<boolean>;
    declare public readonly shouldMigrateTrash: pulumi.Output<boolean>;
    declare public readonly shouldMigrateCalendars: pulumi.Output<boolean>;
    declare public readonly shouldMigrateContacts: pulumi.Output<boolean>;
    declare public readonly shouldMigrateTasks: pulumi.Output<boolean>;
    declare public readonly shouldMigrateNotes: pulumi.Output<boolean>;
    declare public readonly shouldMigrateJournals: pulumi.Output<boolean>;
    declare public readonly shouldConvertEmailAddresses: pulumi.Output<boolean>;
    declare public readonly shouldConvertX500: pulumi.Output<boolean>;
    declare public readonly fromDate: pulumi.Output<string | undefined>;
    declare public readonly toDate: pulumi.Output<string | undefined>;

    constructor(name: string, args: BatchGlobalSettingsArgs, opts?: pulumi.CustomResourceOptions) {
        super(shimFor("BatchGlobalSettings"), name, { ...args }, opts, "cloudiway", "BatchGlobalSettings");
    }
}
