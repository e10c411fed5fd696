/**
 * BatchGlobalSettings: what a batch migrates (mails, calendars, ...) and the date
 * window. Declared dates are ISO `YYYY-MM-DD`; the API takes `MM/dd/yyyy` and
 * answers `yyyy-MM-ddT00:00:00` — both are normalized so an untouched batch
 * compares equal to its declaration. Id: the batch name.
 * Top to bottom: schema, provider methods, resource class.
 */
import * as pulumi from "@pulumi/pulumi";
import { z } from "zod";
import { ArgsOf, InputsOf, ResourceImpl, ResourceOutputs, defineModel, ModelResource } from "../runtime/model";
import type { Context } from "../runtime/context";
import { adoptField, batchNameField, kindField, KIND_ABSENT } from "../runtime/fields";
import { kindOf } from "../client/calls";
import { CloudiwayResponseError } from "../client/errors";
import { GlobalSettingsRead, SETTING_DEFAULTS, SETTING_FLAGS, SettingFlag } from "../client/calls";
import { warn } from "../runtime/engineLog";
import { batchNames } from "../campaign/lookups";
export { SETTING_DEFAULTS, SETTING_FLAGS, SettingFlag };

// ---------------------------------------------------------------- model
export function isIsoDate(s: string): boolean {
    const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(s);
    if (!m) return false;
    const d = new Date(Date.UTC(+m[1], +m[2] - 1, +m[3]));
    return d.getUTCFullYear() === +m[1] && d.getUTCMonth() === +m[2] - 1 && d.getUTCDate() === +m[3];
}
const isoDate = z.string({ error: "must be an ISO date string YYYY-MM-DD" }).trim()
    .refine(isIsoDate, { message: "must be a valid ISO date YYYY-MM-DD (e.g. 2024-01-31)" });

const flag = z.boolean({ error: "must be true or false" }).optional();
/** The flags as fields (omitted: SETTING_DEFAULTS). */
const flags = Object.fromEntries(SETTING_FLAGS.map((f) => [f, flag])) as Record<SettingFlag, typeof flag>;

export const batchGlobalSettingsModel = defineModel({
    type: "BatchGlobalSettings",
    inputs: {
        /** The batch (MailBatch.name). */
        batchName: batchNameField,
        ...flags,
        /** ISO date YYYY-MM-DD: migrate items from this date. */
        fromDate: isoDate.optional(),
        /** ISO date YYYY-MM-DD: migrate items up to this date. */
        toDate: isoDate.optional(),
        kind: kindField,
        /**
         * Take over the batch's settings as they are (default: cloudiway:adoptExisting): create reads
         * them first and writes only when they differ from the declaration (deploying an exported
         * tenant writes nothing).
         */
        adopt: adoptField,
    },
    outputs: {},
    replaces: ["batchName", "kind"],
    absentMeans: KIND_ABSENT,
    createOnly: ["adopt"],
});
export const batchGlobalSettingsSchema = batchGlobalSettingsModel.schema;

/** The rule across the two dates (the plan loader says it too): "2021-01-01 is after toDate 2020-01-01". */
export function dateWindowProblem(v: { fromDate?: string; toDate?: string }): string | undefined {
    return v.fromDate && v.toDate && v.fromDate > v.toDate ? `${v.fromDate} is after toDate ${v.toDate}` : undefined;
}
export type BatchGlobalSettingsInputs = InputsOf<typeof batchGlobalSettingsModel>;

// ---------------------------------------------------------------- provider
export const batchGlobalSettingsImpl: ResourceImpl<BatchGlobalSettingsInputs> = {
    async check(_ctx, _olds, news) {
        const result = batchGlobalSettingsModel.check(news, (v, unknown) => {
            const problem = unknown.has("fromDate") || unknown.has("toDate") ? undefined : dateWindowProblem(v);
            return problem ? [{ property: "fromDate", reason: `BatchGlobalSettings.fromDate: ${problem}` }] : [];
        });
        if (result.failures?.length) return result;
        const inputs: Record<string, unknown> = { ...result.inputs };
        for (const f of SETTING_FLAGS) if (inputs[f] === undefined) inputs[f] = SETTING_DEFAULTS[f];
        return { inputs, failures: [] };
    },

    async diff(_ctx, _id, olds, news) {
        return batchGlobalSettingsModel.diff(olds, news);
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
        // What the API says, over what the state holds of the rest (kind, adopt).
        const { fromDate: _f, toDate: _t, ...kept } = batchGlobalSettingsModel.inputsOf(props);
        void _f; void _t;
        for (const f of SETTING_FLAGS) delete kept[f];
        const inputs: BatchGlobalSettingsInputs = { ...kept, batchName: id };
        for (const f of SETTING_FLAGS) if (s[f] !== undefined) inputs[f] = s[f];
        if (s.fromDate) inputs.fromDate = s.fromDate;
        if (s.toDate) inputs.toDate = s.toDate;
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
export type BatchGlobalSettingsArgs = ArgsOf<BatchGlobalSettingsInputs>;

export class BatchGlobalSettings extends ModelResource {
    constructor(name: string, args: BatchGlobalSettingsArgs, opts?: pulumi.CustomResourceOptions) {
        super("BatchGlobalSettings", name, batchGlobalSettingsModel.props(args), opts);
    }
}
export interface BatchGlobalSettings extends ResourceOutputs<BatchGlobalSettingsInputs> {}
