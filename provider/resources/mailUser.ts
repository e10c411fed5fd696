/**
 * MailUser: a user of a Cloudiway mail (or archive) migration.
 * Top to bottom: input schema, provider methods, resource class.
 */
import * as pulumi from "@pulumi/pulumi";
import { z } from "zod";
import { shimFor } from "./shim";
import {
    Context, ResourceImpl, adoptField, checkWith, diffProps, emailField, isUnknown, kindField, kindOf, nameField,
} from "./common";
import { connectorCheck, findUserRecord } from "./lookups";

// ---------------------------------------------------------------- schema
export const mailUserSchema = z.object({
    firstName: nameField,
    lastName: nameField,
    sourceEmail: emailField,
    targetEmail: emailField,
    sourceConnectorName: nameField,
    targetConnectorName: nameField,
    kind: kindField,
    licensed: z.boolean({ error: "must be true or false" }).optional(),
    adopt: adoptField,
});
export type MailUserInputs = z.infer<typeof mailUserSchema>;

const USER_FIELDS = ["firstName", "lastName", "sourceEmail", "targetEmail", "sourceConnectorName", "targetConnectorName"] as const;
const INPUTS = [...USER_FIELDS, "kind", "licensed"] as const;

export interface MailUserOutputs extends MailUserInputs {
    migrationTag: string;
    status: string;
    passes: number;
    lastPass?: PassCounts;
    /** Whether Cloudiway says the user holds a license (a pass or an audit assigns one too). */
    licenseAssigned?: boolean;
}
export interface PassCounts {
    startDateTime: string;
    endDateTime: string;
    mails: { total: number; success: number; failure: number };
    calendars: { total: number; success: number; failure: number };
    contacts: { total: number; success: number; failure: number };
    alreadyMigrated: number;
}

// ---------------------------------------------------------------- provider
export const mailUserImpl: ResourceImpl = {
    async check(ctx, olds, news) {
        const result = checkWith("MailUser", mailUserSchema, news, (v, unknown) => {
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
        return { inputs: result.inputs, failures: connectorFailures };
    },

    async diff(_ctx, _id, olds, news) {
        // `adopt` only matters at create; `kind` moves the user to another API family.
        return diffProps(olds, news, INPUTS, ["kind"], [], ["migrationTag"]);
    },

    async create(ctx, inputs: MailUserInputs) {
        const kind = kindOf(inputs);
        const client = ctx.client();
        const fields = userFields(inputs);
        const existing = await client.getMigrationTag(kind, inputs.sourceEmail, inputs.targetEmail);
        let tag: string;
        if (existing) {
            const adopt = inputs.adopt ?? ctx.settings.adoptExisting;
            if (!adopt) {
                throw new Error(
                    `MailUser ${inputs.sourceEmail} -> ${inputs.targetEmail}: a Cloudiway ${kind} user with this source and target ` +
                    `already exists (migration tag ${existing}). To manage it with this stack, set \`adopt: true\` on the ` +
                    `resource or run \`pulumi config set cloudiway:adoptExisting true\` (pulumi import does not work for dynamic resources).`,
                );
            }
            tag = existing;
            const current = await client.getUser(kind, tag);
            if (!current || USER_FIELDS.some((f) => current[f] !== undefined && normalizeField(f, current[f]) !== fields[f])) {
                await client.updateUser(kind, tag, fields);
            }
        } else {
            tag = (await client.createUser(kind, fields)).migrationTag;
        }
        if (inputs.licensed) {
            try {
                await client.assignLicense(kind, tag);
            } catch (e) {
                // Nothing half-applied: a user we just made without its license is removed again.
                if (!existing) await client.deleteUser(kind, tag).catch(() => undefined);
                throw e;
            }
        }
        // A user just made has not started: no need to ask.
        const outs = await observe(ctx, kind, tag, inputs, existing ? undefined : "NOTSTARTED");
        return { id: tag, outs };
    },

    async read(ctx, id, props) {
        const kind = kindOf(props);
        const record = await findUserRecord(ctx, kind, id);
        if (!record) return {};
        const declared: MailUserInputs = {
            ...pickInputs(props),
            firstName: record.firstName.trim(),
            lastName: record.lastName.trim(),
            sourceEmail: record.sourceEmail.trim().toLowerCase(),
            targetEmail: record.targetEmail.trim().toLowerCase(),
            sourceConnectorName: record.sourceConnectorName?.trim() || props.sourceConnectorName,
            targetConnectorName: record.targetConnectorName?.trim() || props.targetConnectorName,
        };
        // `licensed` stays as declared: a migration pass or an audit licenses a user too, and that
        // must not show as a change to declare. What the API says is the `licenseAssigned` output.
        const outs = await observe(ctx, kind, id, declared, record.status);
        if (record.licensed !== undefined) outs.licenseAssigned = record.licensed;
        return { id, props: outs, inputs: declared };
    },

    async update(ctx, id, olds, news: MailUserInputs) {
        const kind = kindOf(news);
        const client = ctx.client();
        if (USER_FIELDS.some((f) => olds[f] !== news[f])) {
            await client.updateUser(kind, id, userFields(news));
        }
        if (news.licensed && !olds.licensed) {
            await client.assignLicense(kind, id);
        }
        return { outs: await observe(ctx, kind, id, news) };
    },

    async delete(ctx, id, props) {
        const kind = kindOf(props);
        const client = ctx.client();
        try {
            await client.deleteUser(kind, id);
        } catch (e: any) {
            if (e?.name === "CloudiwayNotFoundError") return; // already gone
            throw e;
        }
    },
};

function userFields(v: MailUserInputs) {
    return {
        firstName: v.firstName,
        lastName: v.lastName,
        sourceEmail: v.sourceEmail,
        targetEmail: v.targetEmail,
        sourceConnectorName: v.sourceConnectorName,
        targetConnectorName: v.targetConnectorName,
    };
}

function normalizeField(f: string, v: string): string {
    return f.endsWith("Email") ? v.trim().toLowerCase() : v.trim();
}

function pickInputs(props: any): MailUserInputs {
    const out: any = {};
    for (const k of [...INPUTS, "adopt"]) if (props[k] !== undefined && !isUnknown(props[k])) out[k] = props[k];
    return out;
}

/** Outputs: the declared inputs plus what a person watching the migration wants. */
async function observe(ctx: Context, kind: "mail" | "archive", tag: string, inputs: MailUserInputs, knownStatus?: string): Promise<MailUserOutputs> {
    const client = ctx.client();
    const status = knownStatus ?? (await client.getStatus(kind, tag));
    let passes = 0;
    let lastPass: PassCounts | undefined;
    if (status !== "NOTSTARTED") {
        const history = await client.getMailHistory(kind, tag);
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
    const outs: MailUserOutputs = { ...pickInputs(inputs), migrationTag: tag, status, passes };
    if (lastPass) outs.lastPass = lastPass;
    return outs;
}

// ---------------------------------------------------------------- resource
export interface MailUserArgs {
    firstName: pulumi.Input<string>;
    lastName: pulumi.Input<string>;
    sourceEmail: pulumi.Input<string>;
    targetEmail: pulumi.Input<string>;
    sourceConnectorName: pulumi.Input<string>;
    targetConnectorName: pulumi.Input<string>;
    /** "mail" (default) uses /mailusers, "archive" uses /archivemailusers. */
    kind?: pulumi.Input<"mail" | "archive">;
    /** false -> true assigns a license (once); true -> false is refused. */
    licensed?: pulumi.Input<boolean>;
    /** Take over an existing user with the same source + target instead of failing. */
    adopt?: pulumi.Input<boolean>;
}

export class MailUser extends pulumi.dynamic.Resource {
    declare public readonly firstName: pulumi.Output<string>;
    declare public readonly lastName: pulumi.Output<string>;
    declare public readonly sourceEmail: pulumi.Output<string>;
    declare public readonly targetEmail: pulumi.Output<string>;
    declare public readonly sourceConnectorName: pulumi.Output<string>;
    declare public readonly targetConnectorName: pulumi.Output<string>;
    declare public readonly kind: pulumi.Output<"mail" | "archive" | undefined>;
    declare public readonly licensed: pulumi.Output<boolean | undefined>;
    /** The user's id in Cloudiway (a GUID). */
    declare public readonly migrationTag: pulumi.Output<string>;
    /** Migration status name (appendix of the API document), e.g. NOTSTARTED, WORKING, SUCCESS. */
    declare public readonly status: pulumi.Output<string>;
    /** Number of migration passes in the user's history. */
    declare public readonly passes: pulumi.Output<number>;
    /** Counts of the last pass. */
    declare public readonly lastPass: pulumi.Output<PassCounts | undefined>;
    /** Whether Cloudiway says the user holds a license (known after a refresh). */
    declare public readonly licenseAssigned: pulumi.Output<boolean | undefined>;

    constructor(name: string, args: MailUserArgs, opts?: pulumi.CustomResourceOptions) {
        super(shimFor("MailUser"), name, { migrationTag: undefined, status: undefined, passes: undefined, lastPass: undefined, licenseAssigned: undefined, ...args }, opts, "cloudiway", "MailUser");
    }
}
