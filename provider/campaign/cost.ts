/**
 * What a change costs, from `pulumi preview --json` (the top of the pull-request summary, and
 * `plan-summary --json` for pipelines that gate on it; the policy pack's license and deletion rules):
 *  - licenses it assigns (users made `licensed`);
 *  - actions that consume licenses: a first migration pass, or an audit, of a user without one;
 *  - users it deletes, each with what it loses, and users the deletion policy keeps.
 * What a user has (passes, status, license) comes from Cloudiway read now when the caller read it
 * (the policy pack: FreshHoldings), else from the preview's old state: refreshed by the preview
 * itself (`pulumi preview --refresh`), or as of the stack's last refresh or update; `asOf` says
 * which. A user whose holdings cannot be known counts as having something to lose.
 */
import { z } from "zod";
import { Lossable, describeHoldings, hasSomethingToLose } from "./retention";
import { DeletionPolicy, parseDeletionPolicy } from "../config";
import { UNKNOWN } from "../runtime/inputs";
import { updateMaySend } from "./schedule";
import { TYPE_PREFIX, nameOfUrn, typeOfUrn } from "../tokens";

const props = z.record(z.string(), z.unknown());
export const stepSchema = z.object({
    op: z.string(),
    urn: z.string(),
    oldState: z.object({ id: z.string().optional(), inputs: props.optional(), outputs: props.optional() }).partial().nullish(),
    newState: z.object({ inputs: props.optional(), outputs: props.optional() }).partial().nullish(),
});
export const previewSchema = z.object({
    steps: z.array(stepSchema).default([]),
    config: z.record(z.string(), z.unknown()).optional(),
    diagnostics: z.array(z.object({ severity: z.string().optional(), message: z.unknown() }).loose()).default([]),
}).loose();
export type Step = z.infer<typeof stepSchema>;
type Props = Record<string, unknown>;

export type { DeletionPolicy };

export type UserHoldings = Lossable;
export interface UserCost {
    user: string; tag?: string; holdings?: UserHoldings; note: string;
    /** Why what the user holds is not known (then it counts as something to lose). */
    unknown?: string;
}
/** What users hold as read from Cloudiway now, by migration tag (a reason when it could not be read). */
export interface FreshHoldings { asOf: string; byTag: Map<string, UserHoldings | { unknown: string }> }
/** Whether deleting this user loses something: what it holds, or not known. */
export const losesSomething = (u: UserCost): boolean => u.unknown !== undefined || (!!u.holdings && hasSomethingToLose(u.holdings));
export interface ChangeCost {
    /** Users this change makes `licensed` (a license each). */
    licensesAssigned: UserCost[];
    /** Migration runs that will be performed and consume licenses, with the users whose first pass or audit it is. */
    licenseConsumingRuns: { run: string; action: string; target: string; users: number; usersWithoutLicense: number }[];
    /** Licenses those runs consume (users without one as of the last refresh, or new). */
    licensesConsumedByRuns: number;
    /** Users deleted in Cloudiway by this change, with what each loses. */
    usersDeleted: UserCost[];
    /** Users leaving the stack that the deletion policy keeps in Cloudiway. */
    usersKept: UserCost[];
    /** The stack's default policy as the summary read it. */
    deletionPolicy: DeletionPolicy;
    /** Where the users' passes, status and license come from. */
    asOf: string;
}

const TYPE = typeOfUrn;
const NAME = nameOfUrn;
const str = (v: unknown) => (typeof v === "string" ? v : undefined);

function holdingsOf(outputs: Props | undefined): UserHoldings | undefined {
    if (!outputs) return undefined;
    return {
        passes: typeof outputs.passes === "number" ? outputs.passes : 0,
        status: str(outputs.status) ?? "UNKNOWN",
        licensed: outputs.licenseAssigned === true || outputs.licensed === true,
    };
}
const userLabel = (p: Props | undefined, urn: string) =>
    p && str(p.sourceEmail) ? `${str(p.sourceEmail)} -> ${str(p.targetEmail)}` : NAME(urn);

/**
 * Whether the preview read Cloudiway before it compared (`pulumi preview --refresh`): its steps
 * then include the refresh's own ("refresh" steps, one per resource read).
 */
export function refreshedPreview(steps: Step[]): boolean {
    return steps.some((s) => s.op === "refresh");
}

/** The cost of the change a preview shows. `defaultPolicy`: the stack's, when the preview's config does not say. */
export function costOfPreview(raw: unknown, defaultPolicy?: DeletionPolicy, fresh?: FreshHoldings): ChangeCost {
    const json = previewSchema.parse(raw ?? {});
    const steps = json.steps.filter((s) => s.urn.includes(TYPE_PREFIX));
    const stackPolicy = parseDeletionPolicy(json.config?.["cloudiway:deletionPolicy"]) ?? defaultPolicy ?? "retainMigrated";
    const cost: ChangeCost = {
        licensesAssigned: [], licenseConsumingRuns: [], licensesConsumedByRuns: 0, usersDeleted: [], usersKept: [],
        deletionPolicy: stackPolicy,
        asOf: fresh ? fresh.asOf : refreshedPreview(steps) ? "Cloudiway as this preview's refresh read it (fresh)"
            : "the stack's state as of its last refresh or update (not refreshed by this preview: run `pulumi preview --refresh` for fresh facts)",
    };
    const of = (t: string) => steps.filter((s) => TYPE(s.urn) === t);
    const seen = new Set<string>();
    const once = (s: Step, what: string) => { const k = `${what}|${s.urn}`; if (seen.has(k)) return false; seen.add(k); return true; };

    // Users as the state knows them (by migration tag), and whether each stays.
    const usersByTag = new Map<string, { outputs?: Props; inputs?: Props }>();
    for (const s of of("MailUser")) if (s.oldState?.id) usersByTag.set(s.oldState.id, { outputs: s.oldState.outputs, inputs: s.oldState.inputs });

    // 1. Licenses assigned: created licensed, or licensed false -> true.
    for (const s of of("MailUser")) {
        const n = s.newState?.inputs, o = s.oldState?.outputs;
        if (!n || n.licensed !== true || !["create", "update", "create-replacement", "replace"].includes(s.op) || !once(s, "lic")) continue;
        const had = o ? o.licenseAssigned === true || (s.op === "update" && o.licensed === true) : false;
        if (!had) cost.licensesAssigned.push({ user: userLabel(n, s.urn), tag: s.oldState?.id, note: s.op === "update" ? "licensed: false -> true" : "a new licensed user" });
    }

    // 2. Runs that consume licenses: migrate (a first pass) and audit, for users without a license.
    const memberships = of("BatchMembership").filter((s) => s.op !== "delete" && s.op !== "delete-replaced");
    for (const s of of("MigrationRun")) {
        if (!["create", "update", "replace", "create-replacement"].includes(s.op) || !once(s, "run")) continue;
        const n = s.newState?.inputs ?? {};
        const action = str(n.action) ?? "?";
        if (action !== "migrate" && action !== "audit") continue;
        if (s.op === "update" && !updateMaySend(s.oldState?.outputs ?? {}, n)) continue; // a gate looked at again: nothing sent
        const tags: (string | undefined)[] = [];
        if (str(n.batchName)) {
            for (const m of memberships) if (m.newState?.inputs?.batchName === n.batchName) tags.push(str(m.newState?.inputs?.migrationTag));
        } else {
            tags.push(str(n.migrationTag));
        }
        // A user unknown to the state (new, or its tag not known before the up) has no license yet.
        const without = tags.filter((t) => {
            const u = t && t !== UNKNOWN ? usersByTag.get(t) : undefined;
            const h = holdingsOf(u?.outputs);
            return !h || !(h.licensed || h.passes > 0);
        }).length;
        const target = str(n.batchName) ? `batch ${n.batchName}` : `user ${n.migrationTag && n.migrationTag !== UNKNOWN ? n.migrationTag : "(new user)"}`;
        cost.licenseConsumingRuns.push({ run: NAME(s.urn), action, target, users: tags.length, usersWithoutLicense: without });
        cost.licensesConsumedByRuns += without;
    }

    // 3. Users leaving the stack (removed, replaced, destroyed): deleted or kept, by their policy.
    for (const s of of("MailUser")) {
        if (!["delete", "delete-replaced", "replace"].includes(s.op) || !s.oldState || !once(s, "del")) continue;
        const o = s.oldState.outputs ?? s.oldState.inputs ?? {};
        const read = s.oldState.id ? fresh?.byTag.get(s.oldState.id) : undefined;
        const h = read ? ("unknown" in read ? undefined : read) : fresh ? undefined : holdingsOf(s.oldState.outputs);
        const unknown = read && "unknown" in read ? read.unknown : h ? undefined : fresh ? "not read" : "not in the stack's state";
        const policy = parseDeletionPolicy(s.oldState.inputs?.deletionPolicy) ?? stackPolicy;
        const entry: UserCost = { user: userLabel(o, s.urn), tag: s.oldState.id, holdings: h, note: "", ...(unknown ? { unknown } : {}) };
        const why = s.op === "delete" ? "removed from the plan" : "replaced";
        const what = unknown ? `what it holds cannot be known (${unknown}): counted as something to lose` : h && hasSomethingToLose(h) ? describeHoldings(h) : undefined;
        if (policy === "retain" || (policy === "retainMigrated" && what)) {
            entry.note = `${why}; kept by deletionPolicy ${policy}${what ? `: ${what}` : ""}`;
            cost.usersKept.push(entry);
        } else {
            entry.note = `${why}; loses ${what ?? "nothing (never started, no license)"}`;
            cost.usersDeleted.push(entry);
        }
    }
    return cost;
}
