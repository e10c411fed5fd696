/**
 * The field rules the resources share (and the plan loader, through the resources' schemas): each
 * rule has one home and one message.
 */
import { z } from "zod";
import { KINDS } from "../client/calls";
import { DELETION_POLICIES, parseDeletionPolicy } from "../config";
import { TextKind, emailProblem, normalizeEmail, textProblem } from "../text";

// Free text (provider/text.ts): no control characters, bounded lengths, emails NFC and without
// invisible characters.
/** A zod refinement: the text rules of `kind`; `label` prefixes the message (a field inside an object input). */
export const textRule = (kind: TextKind, label = "") => (s: string, ctx: z.RefinementCtx) => {
    const problem = textProblem(s, kind);
    if (problem) ctx.addIssue({ code: "custom", message: `${label}${problem}` });
};
export const emailField = z
    .string({ error: "must be a string (an email address)" })
    .transform(normalizeEmail)
    .superRefine((s, ctx) => {
        const problem = emailProblem(s);
        if (problem) ctx.addIssue({ code: "custom", message: problem });
    });
/** A person's name (MailUser's first and last name). */
export const nameField = z
    .string({ error: "must be a string" })
    .trim()
    .min(1, { message: "must not be empty" })
    .superRefine(textRule("name"));
/** sourceConnectorName, targetConnectorName. */
export const connectorNameField = z
    .string({ error: "must be a string (a connector name)" })
    .trim()
    .min(1, { message: "must not be empty" })
    .superRefine(textRule("connectorName"));
/** A trigger (MigrationRun.trigger, MailUser.selfService.trigger): changing it performs again. */
export const triggerField = z
    .string({ error: "must be a string (change it to run the action again)" })
    .min(1, { message: "must not be empty" })
    .superRefine(textRule("trigger"));
/** "mail" (default) uses /mailusers, "archive" uses /archivemailusers. */
export const kindField = z.enum(KINDS, { error: `must be ${KINDS.map((k) => `"${k}"`).join(" or ")}` }).optional();
/** kindField left out is "mail" (kindOf): a diff from `kind: "mail"` to no kind, or back, is no change (ModelSpec.absentMeans). */
export const KIND_ABSENT = { kind: "mail" } as const;
export const adoptField = z.boolean({ error: "must be true or false" }).optional();
/** A deletion policy (config.ts): any case is taken ("Delete"), the canonical spelling is kept. */
export const deletionPolicyField = z.preprocess(
    (v) => (typeof v === "string" ? parseDeletionPolicy(v) ?? v : v),
    z.enum(DELETION_POLICIES, { error: (iss) => `must be one of ${DELETION_POLICIES.map((p) => `"${p}"`).join(", ")} (got ${JSON.stringify(iss.input) ?? "nothing"})` }),
).optional();
export const batchNameField = z
    .string({ error: "must be a string (a batch name)" })
    .trim()
    .min(1, { message: "must not be empty" })
    .superRefine(textRule("batchName"));

