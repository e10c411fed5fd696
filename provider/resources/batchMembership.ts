/**
 * BatchMembership: which batch a user is in. A user is in at most one batch;
 * moving a user is an update of `batchName`. Id: the migration tag.
 * Top to bottom: schema, provider methods, resource class.
 */
import * as pulumi from "@pulumi/pulumi";
import { z } from "zod";
import { ArgsOf, InputsOf, ResourceImpl, ResourceOutputs, defineModel, ModelResource } from "../runtime/model";
import type { Context } from "../runtime/context";
import { adoptField, batchNameField, deletionPolicyField, kindField, KIND_ABSENT } from "../runtime/fields";
import { Kind, kindOf } from "../client/calls";
import { batchNames, isVendorRefusal, membershipIndex, usersInBatch } from "../campaign/lookups";
import { CloudiwayConflictError, CloudiwayNotFoundError } from "../client/errors";
import { announceKept, keepUser, noteKept } from "../campaign/retention";

// ---------------------------------------------------------------- model
const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
export const batchMembershipModel = defineModel({
    type: "BatchMembership",
    inputs: {
        /** The user's migration tag (MailUser.migrationTag). */
        migrationTag: z.string({ error: "must be a string (a migration tag)" }).trim()
            .refine((s) => GUID.test(s), { message: "must be a migration tag (a GUID), e.g. MailUser.migrationTag" }),
        /** The batch (MailBatch.name). Changing it moves the user. */
        batchName: batchNameField,
        kind: kindField,
        /**
         * When the membership leaves the stack while its user has something to lose (retention.ts), the
         * user stays in its batch unless this (or cloudiway:deletionPolicy) is "delete". The plan files
         * give each membership its user's policy.
         */
        deletionPolicy: deletionPolicyField,
        /** Take over a membership already in place: create adds nothing then (default: cloudiway:adoptExisting). */
        adopt: adoptField,
    },
    outputs: {},
    replaces: ["migrationTag", "kind"],
    absentMeans: KIND_ABSENT,
    createOnly: ["adopt"],
});
export const batchMembershipSchema = batchMembershipModel.schema;
export type BatchMembershipInputs = InputsOf<typeof batchMembershipModel>;

// ---------------------------------------------------------------- provider
export const batchMembershipImpl: ResourceImpl<BatchMembershipInputs> = {
    async check(_ctx, _olds, news) {
        return batchMembershipModel.check(news);
    },

    async diff(_ctx, _id, olds, news) {
        return batchMembershipModel.diff(olds, news);
    },

    async create(ctx, inputs) {
        const kind = kindOf(inputs);
        // Adopting: a user already in its batch is not added again (an exported tenant deploys with 0 writes).
        const inPlace = (inputs.adopt ?? ctx.settings.adoptExisting) &&
            (await usersInBatch(ctx, kind, inputs.batchName).catch(() => [] as string[])).includes(inputs.migrationTag);
        if (!inPlace) await placeUser(ctx, kind, inputs.migrationTag, inputs.batchName);
        return { id: inputs.migrationTag, outs: { ...inputs } };
    },

    async read(ctx, id, props) {
        const kind = kindOf(props);
        let batchName: string | undefined;
        if (props.batchName && (await batchNames(ctx, kind)).includes(props.batchName) &&
            (await usersInBatch(ctx, kind, props.batchName)).includes(id)) {
            batchName = props.batchName;
        } else {
            batchName = (await membershipIndex(ctx, kind)).get(id); // moved behind our back?
        }
        if (!batchName) return {};
        const inputs: BatchMembershipInputs = { ...batchMembershipModel.inputsOf(props), migrationTag: id, batchName };
        return { id, props: { ...inputs }, inputs };
    },

    async update(ctx, id, olds, news) {
        if (olds.batchName !== news.batchName) await placeUser(ctx, kindOf(news), id, news.batchName);
        return { outs: { ...news } };
    },

    async delete(ctx, id, props) {
        const kind = kindOf(props);
        // Only if the user is still in *this* batch: when a user moves between two
        // membership resources, the new one may already have run (any order works).
        if (!(await batchNames(ctx, kind)).includes(props.batchName)) return;
        if (!(await usersInBatch(ctx, kind, props.batchName)).includes(id)) return;
        // A user the deletion policy keeps stays in its batch (and the batch with it: MailBatch.delete).
        const verdict = await keepUser(ctx, kind, id, props.deletionPolicy ?? ctx.settings.deletionPolicy);
        if (verdict.keep) {
            noteKept(ctx, kind, id, `its BatchMembership's ${verdict.why}`);
            const who = verdict.holdings ? `${verdict.holdings.sourceEmail} (${id})` : id;
            await announceKept(`BatchMembership: ${who} stays in batch "${props.batchName}" (${verdict.why}); ` +
                `set deletionPolicy "delete" on the membership to take it out of the batch.`);
            return;
        }
        try {
            await ctx.client().removeFromBatch(kind, id);
        } catch (e) {
            if (e instanceof CloudiwayNotFoundError) return;
            // Refused in words we do not know: done if the user is in no batch now (or gone).
            if (isVendorRefusal(e) && (ctx.cache.clear(), !(await membershipIndex(ctx, kind)).has(id))) return;
            throw e;
        }
    },
};

/**
 * Puts the user in `batchName`. The API refuses a user already in another batch:
 * then the user is taken out of that batch and added again. If adding fails after
 * the removal, the user goes back where it was, so nothing is half-applied.
 */
async function placeUser(ctx: Context, kind: Kind, tag: string, batchName: string): Promise<void> {
    const client = ctx.client();
    try {
        await client.addToBatch(kind, tag, batchName); // the common case: one call
        return;
    } catch (e) {
        if (!(e instanceof CloudiwayConflictError)) throw e; // refused for another reason
    }
    const current = (await membershipIndex(ctx, kind)).get(tag);
    if (current === batchName) return;
    if (current !== undefined) await client.removeFromBatch(kind, tag);
    try {
        await client.addToBatch(kind, tag, batchName);
    } catch (e) {
        if (current !== undefined) await client.addToBatch(kind, tag, current).catch(() => undefined);
        throw e;
    }
}

// ---------------------------------------------------------------- resource
export type BatchMembershipArgs = ArgsOf<BatchMembershipInputs>;

export class BatchMembership extends ModelResource {
    constructor(name: string, args: BatchMembershipArgs, opts?: pulumi.CustomResourceOptions) {
        super("BatchMembership", name, batchMembershipModel.props(args), opts);
    }
}
export interface BatchMembership extends ResourceOutputs<BatchMembershipInputs> {}
