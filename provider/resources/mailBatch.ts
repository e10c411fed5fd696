/**
 * MailBatch: a named batch (wave) of users. There is no rename call, so a new
 * name replaces the batch. Top to bottom: schema, provider methods, resource class.
 */
import * as pulumi from "@pulumi/pulumi";
import { ArgsOf, InputsOf, ResourceImpl, ResourceOutputs, defineModel, ModelResource } from "../runtime/model";
import { adoptField, batchNameField, kindField, KIND_ABSENT } from "../runtime/fields";
import { kindOf } from "../client/calls";
import { allUsers, batchNames, usersInBatch } from "../campaign/lookups";
import { announceKept, keepUser, keptByOwnPolicy } from "../campaign/retention";
import type { DeletionPolicy } from "../config";

// ---------------------------------------------------------------- model
export const mailBatchModel = defineModel({
    type: "MailBatch",
    inputs: {
        /** The batch name (changing it replaces the batch: the API has no rename). */
        name: batchNameField,
        kind: kindField,
        /** Take over an existing batch with the same name instead of failing. */
        adopt: adoptField,
    },
    outputs: {},
    replaces: ["name", "kind"],
    absentMeans: KIND_ABSENT,
    createOnly: ["adopt"],
    // A create interrupted by a kill recognizes its orphan by the batch's name (journal.ts).
    journal: { key: (p) => (typeof p.name === "string" ? p.name.trim() : undefined), journals: "create" },
});
export const mailBatchSchema = mailBatchModel.schema;
export type MailBatchInputs = InputsOf<typeof mailBatchModel>;

// ---------------------------------------------------------------- provider
export const mailBatchImpl: ResourceImpl<MailBatchInputs> = {
    async check(_ctx, _olds, news) {
        return mailBatchModel.check(news);
    },

    async diff(_ctx, _id, olds, news) {
        return mailBatchModel.diff(olds, news);
    },

    async create(ctx, inputs) {
        const kind = kindOf(inputs);
        const existing = await batchNames(ctx, kind);
        if (existing.includes(inputs.name)) {
            // Adopted when asked to, or when it is the orphan of this stack's own interrupted create (journal.ts).
            if (!(inputs.adopt ?? ctx.settings.adoptExisting) && !ctx.journal?.isOrphan(mailBatchModel, inputs)) {
                throw new Error(
                    `MailBatch "${inputs.name}": a Cloudiway ${kind} batch with this name already exists. To manage it with ` +
                    `this stack, set \`adopt: true\` on the resource or run \`pulumi config set cloudiway:adoptExisting true\`.`,
                );
            }
        } else {
            await ctx.client().createBatch(kind, inputs.name);
        }
        return { id: inputs.name, outs: { ...inputs } };
    },

    async read(ctx, id, props) {
        const kind = kindOf(props);
        const names = await batchNames(ctx, kind);
        if (!names.includes(id)) return {};
        const inputs: MailBatchInputs = { ...mailBatchModel.inputsOf(props), name: id };
        return { id, props: { ...inputs }, inputs };
    },

    async update(_ctx, _id, _olds, news) {
        // Only `adopt` can change in place, and it matters at create only.
        return { outs: { ...news } };
    },

    async delete(ctx, id, props) {
        const kind = kindOf(props);
        const names = await batchNames(ctx, kind);
        if (!names.includes(id)) return; // already gone
        const tags = await usersInBatch(ctx, kind, id);
        if (tags.length > 0) {
            // One verdict per user: a user whose own membership or MailUser kept it in this operation stays
            // kept. The others are users no resource of this stack takes out of the batch now (never declared
            // here, or kept in an earlier run): the batch is kept for those with something to lose (or all,
            // under a stack default of "retain"); a user with nothing to lose in it makes the delete refuse.
            const unowned: DeletionPolicy = ctx.settings.deletionPolicy === "retain" ? "retain" : "retainMigrated";
            const verdicts = await Promise.all(tags.map(async (t) => {
                const own = keptByOwnPolicy(ctx, kind, t);
                return own ? { tag: t, keep: true, who: t } : { tag: t, ...(await keepUser(ctx, kind, t, unowned)) };
            }));
            const lost = verdicts.filter((v) => !v.keep);
            if (lost.length === 0) {
                const users = await allUsers(ctx, kind);
                const who = tags.map((t) => users.get(t)?.sourceEmail ?? t);
                await announceKept(`MailBatch "${id}" (${kind}) is kept in Cloudiway, not deleted: it holds ${tags.length} user(s) kept by ` +
                    `their deletion policy (${who.slice(0, 5).join(", ")}${who.length > 5 ? ", ..." : ""}).`);
                return;
            }
            const users = await allUsers(ctx, kind);
            const who = lost.map(({ tag }) => {
                const u = users.get(tag);
                return u ? `${u.sourceEmail} (${tag})` : tag;
            });
            throw new Error(
                `MailBatch "${id}" (${kind}) cannot be deleted: it holds ${lost.length} user(s) that no resource of this stack takes out ` +
                `of it in this run and that have nothing to lose: ${who.join(", ")}. Remove them from the batch (or declare their ` +
                `BatchMembership in this stack, or give them deletionPolicy "retain") and run again.`,
            );
        }
        await ctx.client().deleteBatch(kind, id);
    },
};

// ---------------------------------------------------------------- resource
export type MailBatchArgs = ArgsOf<MailBatchInputs>;

export class MailBatch extends ModelResource {
    constructor(name: string, args: MailBatchArgs, opts?: pulumi.CustomResourceOptions) {
        super("MailBatch", name, mailBatchModel.props(args), opts);
    }
}
export interface MailBatch extends ResourceOutputs<MailBatchInputs> {}
