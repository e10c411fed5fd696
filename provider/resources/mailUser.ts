/**
 * MailUser: a user of a Cloudiway mail (or archive) migration.
 * Top to bottom: input schema, provider methods, resource class.
 */
import * as pulumi from "@pulumi/pulumi";
import { z } from "zod";
import { ArgsOf, InputsOf, OutputsOf, ResourceImpl, ResourceOutputs, defineModel, isUnknown, ModelResource, strictObject } from "../runtime/model";
import type { Context } from "../runtime/context";
import { adoptField, connectorNameField, deletionPolicyField, emailField, kindField, KIND_ABSENT, nameField, textRule } from "../runtime/fields";
import { Kind, MailUserRecord, kindOf } from "../client/calls";
import { connectorCheck, connectors, findUserRecord, goneNow, isVendorRefusal } from "../campaign/lookups";
import { isUnderWay } from "../client/status";
import { CloudiwayConflictError, CloudiwayNotFoundError } from "../client/errors";
import { announceKept, keepUser, noteKept } from "../campaign/retention";

// ---------------------------------------------------------------- model
const SEND_TO = ["source", "target", "both"] as const;
type SendTo = (typeof SEND_TO)[number];
const SEND_TO_MESSAGE = 'sendTo must be "source", "target" or "both"';
/**
 * Self-service migration (emulator-only call, see provider/client/calls.ts): the email with the
 * Self Service Link, to the source address, the target address or both; sent at create and
 * again when `sendTo` or `trigger` changes.
 */
const selfServiceField = strictObject({
        /** Who gets the Self Service Link (it may still be unknown in preview). */
        sendTo: z.custom<SendTo>((v) => typeof v === "string" && (isUnknown(v) || (SEND_TO as readonly string[]).includes(v)), { error: SEND_TO_MESSAGE }),
        /** Change it to send the mail again. */
        trigger: z.string({ error: "trigger must be a string" }).superRefine(textRule("trigger", "trigger ")).optional(),
}, 'must be an object like { sendTo: "source" | "target" | "both", trigger?: string }').optional();

/** Counts of a pass (the user's history, 2.12). */
export interface PassCounts {
    startDateTime: string;
    endDateTime: string;
    mails: { total: number; success: number; failure: number };
    calendars: { total: number; success: number; failure: number };
    contacts: { total: number; success: number; failure: number };
    alreadyMigrated: number;
}

export const mailUserModel = defineModel({
    type: "MailUser",
    inputs: {
        firstName: nameField,
        lastName: nameField,
        sourceEmail: emailField,
        targetEmail: emailField,
        sourceConnectorName: connectorNameField,
        targetConnectorName: connectorNameField,
        kind: kindField,
        /** false -> true assigns a license (once); true -> false is refused. */
        licensed: z.boolean({ error: "must be true or false" }).optional(),
        /**
         * Self-service migration: email the Self Service Link to the user's source address, target
         * address or both (the source connector must be of type "Self Service"). Sent once at create,
         * again when `sendTo` or `trigger` changes; `status` shows MAIL_SENT until the user acts.
         * The call is the local emulator's: the vendor's REST document has none for self-service.
         */
        selfService: selfServiceField,
        /** Take over an existing user with the same source + target instead of failing. */
        adopt: adoptField,
        /**
         * What leaving the stack (removed, replaced, destroyed) does in Cloudiway: "retainMigrated" (default:
         * kept when it has a license, a pass, an audit or any status but NOTSTARTED, with a warning),
         * "delete", or "retain" (never deleted). Default: stack config cloudiway:deletionPolicy.
         */
        deletionPolicy: deletionPolicyField,
    },
    outputs: {
        /** The user's id in Cloudiway (a GUID). */
        migrationTag: z.string(),
        /** Migration status name (appendix of the API document), e.g. NOTSTARTED, WORKING, SUCCESS. */
        status: z.string(),
        /** Number of migration passes in the user's history. */
        passes: z.number(),
        /** Counts of the last pass. */
        lastPass: z.custom<PassCounts>().optional(),
        /** Whether Cloudiway says the user holds a license (a pass or an audit assigns one too; known after a refresh). */
        licenseAssigned: z.boolean().optional(),
    },
    // `adopt` only matters at create; `kind` moves the user to the other kind (another API root).
    replaces: ["kind"],
    absentMeans: KIND_ABSENT,
    createOnly: ["adopt"],
    stableOutputs: ["migrationTag"],
    // A create interrupted by a kill recognizes its orphan by the user's source and target email (journal.ts).
    journal: {
        key: (p) => typeof p.sourceEmail === "string" && typeof p.targetEmail === "string"
            ? `${p.sourceEmail.trim().toLowerCase()}\n${p.targetEmail.trim().toLowerCase()}` : undefined,
        journals: "create",
    },
    // What the API holds of a user (2.3 / 2.6), each under its wire name: sent by create and update, read back (drift).
    stored: {
        firstName: "firstName", lastName: "lastName", sourceEmail: "sourceEmail", targetEmail: "targetEmail",
        sourceConnectorName: "sourceConnectorName", targetConnectorName: "targetConnectorName",
    },
});
export const mailUserSchema = mailUserModel.schema;
export type MailUserInputs = InputsOf<typeof mailUserModel>;
export type MailUserOutputs = OutputsOf<typeof mailUserModel>;
const stored = mailUserModel.stored;

// ---------------------------------------------------------------- provider
export const mailUserImpl: ResourceImpl<MailUserInputs, MailUserOutputs> = {
    async check(ctx, olds, news) {
        const result = mailUserModel.check(news, (v, unknown) => {
            const failures: pulumi.dynamic.CheckFailure[] = [];
            if (olds && olds.licensed === true && v.licensed === false && !unknown.has("licensed")) {
                failures.push({
                    property: "licensed",
                    reason: "MailUser.licensed: a Cloudiway license cannot be taken back once assigned; keep `licensed: true` (or remove the user)",
                });
            }
            return failures;
        });
        if (result.failures && result.failures.length) return result;
        const inputs = result.inputs as MailUserInputs;
        const kind = kindOf(inputs);
        // Asked of the API only for names new to this resource (or a new kind), so an
        // unchanged stack previews without a single call.
        const fresh = (p: "sourceConnectorName" | "targetConnectorName") =>
            olds && olds[p] === inputs[p] && kindOf(olds) === kind ? undefined : inputs[p];
        const connectorFailures = await connectorCheck(ctx, kind, "MailUser", {
            sourceConnectorName: fresh("sourceConnectorName"),
            targetConnectorName: fresh("targetConnectorName"),
        });
        // Self-service needs a "Self Service" source connector; asked only when something it depends on is new.
        const selfServiceFailures = inputs.selfService && !(olds?.selfService && fresh("sourceConnectorName") === undefined)
            ? await selfServiceCheck(ctx, kind, inputs.sourceConnectorName)
            : [];
        return { inputs: result.inputs, failures: [...connectorFailures, ...selfServiceFailures] };
    },

    async diff(_ctx, _id, olds, news) {
        // `adopt` only matters at create; `kind` moves the user to the other kind (another API root).
        return mailUserModel.diff(olds, news);
    },

    async create(ctx, inputs) {
        const kind = kindOf(inputs);
        const client = ctx.client();
        const fields = stored.body(inputs);
        const adoptAsked = inputs.adopt ?? ctx.settings.adoptExisting;
        // Adopting (an exported tenant, a recovery on a fresh runner): the user is expected to be there, so it
        // is looked up first and nothing is written for it. Otherwise create first, then the one look-up of its
        // tag (createUser): two round trips for a new user; "already exists" goes the adopt/refuse way.
        let existing = adoptAsked ? await client.getMigrationTag(kind, inputs.sourceEmail, inputs.targetEmail) : undefined;
        let tag: string;
        if (existing) {
            tag = existing;
        } else {
            try {
                const made = await client.createUser(kind, fields);
                tag = made.migrationTag;
                // An attempt's answer was lost and a retry found the user: ours only if it is as a create of
                // these fields leaves it (not started, the same fields); else it was there before.
                if (made.lostAnswer && !(await asJustCreated(ctx, kind, tag, inputs))) existing = tag;
            } catch (e) {
                if (!(e instanceof CloudiwayConflictError)) throw e;
                existing = await client.getMigrationTag(kind, inputs.sourceEmail, inputs.targetEmail);
                if (!existing) throw e;
                tag = existing;
            }
        }
        let adoptedLicensed = false;
        if (existing) {
            // Adopted when asked to, or when it is the orphan of this stack's own interrupted create (journal.ts).
            const adopt = adoptAsked || !!ctx.journal?.isOrphan(mailUserModel, inputs, existing);
            if (!adopt) {
                throw new Error(
                    `MailUser ${inputs.sourceEmail} -> ${inputs.targetEmail}: a Cloudiway ${kind} user with this source and target ` +
                    `already exists (migration tag ${existing}). To manage it with this stack, set \`adopt: true\` on the ` +
                    `resource or run \`pulumi config set cloudiway:adoptExisting true\` (pulumi import does not work for dynamic resources).`,
                );
            }
            const current = await findUserRecord(ctx, kind, tag); // getall has the connectors; 2.3 does not
            adoptedLicensed = current?.licensed === true;
            if (!current || !asDeclared(current, inputs)) {
                await client.updateUser(kind, tag, fields);
            }
        }
        try {
            // Adopted and licensed already: nothing to write.
            if (inputs.licensed && !(existing && adoptedLicensed)) await client.assignLicense(kind, tag);
            if (inputs.selfService) await client.sendSelfServiceMail(kind, tag, inputs.selfService.sendTo );
        } catch (e) {
            // Nothing half-applied: a user we just made without its license (or its mail) is removed again.
            if (!existing) await client.deleteUser(kind, tag).catch(() => undefined);
            throw e;
        }
        // A user just made has not started (unless its self-service mail was sent): no need to ask.
        const outs = await observe(ctx, kind, tag, inputs, existing || inputs.selfService ? undefined : "NOTSTARTED");
        return { id: tag, outs };
    },

    async read(ctx, id, props) {
        const kind = kindOf(props);
        const record = await findUserRecord(ctx, kind, id);
        if (!record) return {};
        // Every stored input as the API holds it (one it leaves out stays as declared): a change in the portal shows as drift.
        const declared: MailUserInputs = { ...mailUserModel.inputsOf(props), ...stored.from(record) };
        // `licensed` stays as declared: a migration pass or an audit licenses a user too, and that
        // must not show as a change to declare. What the API says is the `licenseAssigned` output.
        const outs = await observe(ctx, kind, id, declared, record.status, props);
        if (record.licensed !== undefined) outs.licenseAssigned = record.licensed;
        return { id, props: outs, inputs: declared };
    },

    async update(ctx, id, olds, news) {
        const kind = kindOf(news);
        const client = ctx.client();
        const ss = news.selfService;
        const sendMail = !!ss && (!olds.selfService || olds.selfService.sendTo !== ss.sendTo || olds.selfService.trigger !== ss.trigger);
        if (!stored.changed(olds, news) && !(news.licensed && !olds.licensed) && !sendMail) {
            // Only what matters to this provider changed (deletionPolicy, adopt): nothing to send.
            const outs: MailUserOutputs = { ...olds, ...mailUserModel.inputsOf(news) };
            // Removed inputs go (an undefined value does not serialize: "Unexpected struct type").
            for (const k of ["deletionPolicy", "adopt"] as const) if (news[k] === undefined) delete outs[k];
            return { outs };
        }
        if (stored.changed(olds, news)) {
            await client.updateUser(kind, id, stored.body(news));
        }
        if (news.licensed && !olds.licensed) {
            await client.assignLicense(kind, id);
        }
        // The self-service mail goes again only when what it is about changed: sendTo or trigger.
        if (ss && sendMail) {
            await client.sendSelfServiceMail(kind, id, ss.sendTo );
        }
        return { outs: await observe(ctx, kind, id, news) };
    },

    async delete(ctx, id, props) {
        const kind = kindOf(props);
        const client = ctx.client();
        // The deletion policy: a user with something to lose is kept in Cloudiway (retention.ts).
        const policy = props.deletionPolicy ?? ctx.settings.deletionPolicy;
        const verdict = await keepUser(ctx, kind, id, policy, props.licensed === true);
        if (verdict.keep) {
            noteKept(ctx, kind, id, `its MailUser's ${verdict.why}`);
            await announceKept(`MailUser ${props.sourceEmail} -> ${props.targetEmail} (${kind}, ${id}) is kept in Cloudiway, not deleted ` +
                `(${verdict.why}). Deleting it would lose its migration history; set deletionPolicy "delete" to delete it.`);
            return;
        }
        if (policy === "retainMigrated" && !verdict.holdings) return; // already gone
        try {
            await client.deleteUser(kind, id);
        } catch (e) {
            if (e instanceof CloudiwayNotFoundError) return; // already gone
            if (isVendorRefusal(e) && (await goneNow(ctx, kind, id))) return; // gone, in words we do not know
            throw e;
        }
    },
};

/** `selfService` on a user whose source connector is not of type "Self Service" is refused. */
async function selfServiceCheck(ctx: Context, kind: Kind, sourceConnectorName: string): Promise<pulumi.dynamic.CheckFailure[]> {
    if (isUnknown(sourceConnectorName) || !ctx.settings.consumerKey || !ctx.settings.consumerSecret) return [];
    let list: { name: string; type: string }[];
    try {
        list = await connectors(ctx, kind, "source");
    } catch {
        return []; // the API cannot be asked now; create will tell
    }
    const c = list.find((x) => x.name === sourceConnectorName);
    if (!c || c.type === "Self Service") return []; // an unknown name is connectorCheck's to report
    const selfService = list.filter((x) => x.type === "Self Service").map((x) => `"${x.name}"`);
    return [{
        property: "selfService",
        reason: `MailUser.selfService: the source connector "${c.name}" is of type "${c.type}", not "Self Service"; self-service ` +
            `emails need a source connector whose authentication type is "Self Service" ` +
            (selfService.length ? `(this ${kind} account has ${selfService.join(", ")})` : `(this ${kind} account has none)`),
    }];
}

/**
 * Whether the user with this tag is as a create of `fields` has just left it: not started, no license,
 * every field it shows equal. Told apart from a user that was there before the create, when the
 * create's answer was lost (a record it cannot read is no evidence: false).
 */
async function asJustCreated(ctx: Context, kind: Kind, tag: string, inputs: MailUserInputs): Promise<boolean> {
    const record = await findUserRecord(ctx, kind, tag);
    if (!record || record.status !== "NOTSTARTED" || record.licensed === true) return false;
    return asDeclared(record, inputs);
}

/** Whether every stored input the record shows is as declared. */
function asDeclared(record: MailUserRecord, inputs: MailUserInputs): boolean {
    const have = stored.from(record);
    return stored.keys.every((k) => have[k] === undefined || have[k] === inputs[k]);
}

/**
 * Outputs: the declared inputs plus what a person watching the migration wants. The status comes
 * from the list (getall) where the caller has it. The pass counts need the user's own history call:
 * a refresh skips it while the user's pass (or audit, stop) is under way — its counts are not final
 * yet, and the last observed ones (`before`) are kept — and for a user that never started. A
 * refresh in mid-migration thus costs the lists only (2 + 2 x batches requests).
 */
async function observe(ctx: Context, kind: Kind, tag: string, inputs: MailUserInputs, knownStatus?: string, before?: Partial<MailUserOutputs>): Promise<MailUserOutputs> {
    const client = ctx.client();
    const status = knownStatus ?? (await client.getStatus(kind, tag));
    let passes = 0;
    let lastPass: PassCounts | undefined;
    if (before && isUnderWay(status)) {
        passes = typeof before.passes === "number" ? before.passes : 0;
        lastPass = before.lastPass;
    } else if (status !== "NOTSTARTED") {
        // Shared by the provider processes of one command (the preview and the update of a refresh).
        const history = await ctx.cache.get(`${kind}:history:${tag}`, () => client.getMailHistory(kind, tag), { share: true });
        passes = history.length;
        const p = history[history.length - 1];
        if (p) {
            lastPass = {
                startDateTime: p.startDateTime,
                endDateTime: p.endDateTime,
                mails: { total: p.msgTotal, success: p.msgSuccess, failure: p.msgFailure },
                calendars: { total: p.calTotal, success: p.calSuccess, failure: p.calFailure },
                contacts: { total: p.conTotal, success: p.conSuccess, failure: p.conFailure },
                alreadyMigrated: p.msgAlreadyMigrated,
            };
        }
    }
    const outs: MailUserOutputs = { ...mailUserModel.inputsOf(inputs), migrationTag: tag, status, passes };
    if (lastPass) outs.lastPass = lastPass;
    return outs;
}

// ---------------------------------------------------------------- resource
export type MailUserArgs = ArgsOf<MailUserInputs>;

export class MailUser extends ModelResource {
    /**
     * @param outputs The outputs this object has as properties (default: all). The others stay in the
     * state, only not on the object (it reads them as undefined): each property of each resource costs
     * a large program memory. `migrationTag` is always kept.
     */
    constructor(name: string, args: MailUserArgs, opts?: pulumi.CustomResourceOptions, outputs?: readonly (keyof MailUserOutputs & string)[]) {
        const kept = outputs && mailUserModel.outputKeys.filter((k) => k === "migrationTag" || outputs.includes(k));
        super("MailUser", name, mailUserModel.props(args, kept), opts);
    }
}
export interface MailUser extends ResourceOutputs<MailUserOutputs> {}
