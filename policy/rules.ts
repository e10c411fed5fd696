/**
 * The guardrails' logic, without @pulumi/policy (policy/pack.ts serves it to the engine; the unit
 * tests feed it synthetic resources). A change is the stack's resources after it (what the policy
 * analyzer sees: the new state, in preview the declared inputs) and before it (the stack's last
 * checkpoint, `pulumi stack export`): the analyzer API shows only what stays, so deletes and
 * replacements are found by comparing the two, with each resource's own diff (its model's). Its cost
 * (licenses assigned and consumed, users deleted with what they lose) is campaign/cost.ts's, over the
 * steps this comparison makes.
 */
import { ChangeCost, FreshHoldings, Step, costOfPreview, losesSomething } from "../provider/campaign/cost";
import { diffProps } from "../provider/runtime/model";
import { isResourceType, models, ResourceType } from "../provider/models";
import { DeletionPolicy, parseDeletionPolicy } from "../provider/config";
import { hasSomethingToLose } from "../provider/campaign/retention";
import { UNKNOWN } from "../provider/runtime/model";
import { updateMaySend } from "../provider/campaign/schedule";
import { TYPE_PREFIX, nameOfUrn, typeOfToken } from "../provider/tokens";

type Props = Record<string, unknown>;

/** A resource after the change, as the analyzer gives it (AnalyzeStack: type, urn, props, dependencies). */
export interface NewResource { urn: string; type: string; props: Props; dependencies?: string[] }
/** A resource of the stack's last checkpoint (a `pulumi stack export` resource). */
export interface OldResource { urn: string; type: string; id?: string; inputs?: Props; outputs?: Props }

export interface Change {
    news: NewResource[];
    olds: OldResource[];
    /** The stack's cloudiway:deletionPolicy (else CLOUDIWAY_DELETION_POLICY, else retainMigrated). */
    stackDeletionPolicy?: string;
    /** When the change is applied (the run rules: a run without a later `notBefore` is sent then). */
    now: Date;
    /**
     * What the users the change deletes hold, read from Cloudiway now (policy/pack.ts, freshHoldings).
     * Without it the old state's outputs are used: as of the stack's last refresh or update.
     */
    fresh?: FreshHoldings;
}
export interface Violation { message: string; urn?: string }

export const RULES = ["no-license-burning-delete", "license-budget", "change-window", "gated-waves", "settings-before-migrate"] as const;
export type RuleName = (typeof RULES)[number];

const typeOf = typeOfToken;
export const nameOf = nameOfUrn;
const str = (v: unknown) => (typeof v === "string" && v !== UNKNOWN ? v : undefined);
const known = (v: unknown) => v !== undefined && v !== UNKNOWN;

const policyOf = (v: unknown): DeletionPolicy | undefined => parseDeletionPolicy(str(v));

/**
 * The provider's diff of a resource (its model's: its inputs but the create-only ones, those it
 * `replaces` replace), from the old state's inputs to the new props as the analyzer shows them: an
 * input not known yet (preview), or not given, is no change, and a missing input is what it means (a
 * model's absentMeans: no `kind` is "mail").
 */
function diffOf(type: ResourceType, olds: Props, news: Props): { changes?: boolean; replaces?: string[] } {
    const planned: Props = { ...olds };
    for (const [k, v] of Object.entries(news)) if (known(v)) planned[k] = v;
    const m = models[type];
    return diffProps<Props>(m.filled(olds), m.filled(planned), m.diffed, m.replaces);
}

/**
 * The change as `pulumi preview --json` steps (what campaign/cost.ts reads): create, update, replace
 * (the provider's diff: each model's inputs, those it `replaces` replace: MailUser.kind, MailBatch.name,
 * a run's target or action) and delete, each with the old state's id/inputs/outputs and the new props.
 */
export function stepsOf(c: Change): Step[] {
    const olds = new Map(c.olds.filter((r) => typeOf(r.type)).map((r) => [r.urn, r]));
    const steps: Step[] = [];
    const seen = new Set<string>();
    for (const n of c.news) {
        const t = typeOf(n.type);
        if (!t || !isResourceType(t)) continue;
        seen.add(n.urn);
        const o = olds.get(n.urn);
        const newState = { inputs: n.props, outputs: n.props };
        if (!o) { steps.push({ op: "create", urn: n.urn, newState }); continue; }
        const d = diffOf(t, o.inputs ?? {}, n.props);
        const op = d.replaces?.length ? "replace" : d.changes ? "update" : "same";
        steps.push({ op, urn: n.urn, oldState: { id: o.id, inputs: o.inputs, outputs: o.outputs }, newState });
    }
    for (const o of olds.values()) {
        if (seen.has(o.urn)) continue;
        steps.push({ op: "delete", urn: o.urn, oldState: { id: o.id, inputs: o.inputs, outputs: o.outputs } });
    }
    return steps;
}

/** What the change costs (campaign/cost.ts), with the stack's deletion policy. */
export function costOf(c: Change): ChangeCost {
    return costOfPreview({ steps: stepsOf(c) }, policyOf(c.stackDeletionPolicy) ?? "retainMigrated", c.fresh);
}

function userLabel(urn: string, p: Props | undefined): string {
    const emails = p && str(p.sourceEmail) ? ` (${str(p.sourceEmail)} -> ${str(p.targetEmail) ?? "?"})` : "";
    return `MailUser ${nameOf(urn)}${emails}`;
}
function runLabel(urn: string, p: Props): string {
    const target = str(p.batchName) ? `batch ${str(p.batchName)}` : `user ${str(p.migrationTag) ?? "(new user)"}`;
    return `MigrationRun ${nameOf(urn)} (${target}, ${str(p.action) ?? "?"}, trigger ${str(p.trigger) ?? "?"})`;
}

/** no-license-burning-delete: a user with something to lose, deleted or replaced under deletionPolicy "delete". */
export function noLicenseBurningDelete(c: Change): Violation[] {
    const steps = stepsOf(c);
    const cost = costOf(c);
    const out: Violation[] = [];
    for (const u of cost.usersDeleted) {
        if (!losesSomething(u)) continue;
        const s = steps.find((x) => x.oldState?.id === u.tag && x.urn.includes(`${TYPE_PREFIX}MailUser::`));
        const urn = s?.urn ?? "";
        const how = s?.op === "replace" ? "replaced (a change of kind)" : "removed from the stack";
        out.push({
            urn: urn || undefined,
            message: `${userLabel(urn, s?.oldState?.outputs ?? s?.oldState?.inputs)} is ${how} under deletionPolicy "delete": ` +
                `Cloudiway would delete it and it would lose ${u.note.replace(/^.*?; loses /, "")} (${c.fresh ? "read from Cloudiway now" : "as of the stack's last refresh"}); made again it counts as a new user ` +
                `(a new license, everything migrated again). Keep it in the plan, or set its deletionPolicy to "retainMigrated" or "retain".`,
        });
    }
    return out;
}

export interface BudgetConfig { max?: number }
/** license-budget: licenses assigned plus licenses consumed by the change's runs stay within `max`. */
export function licenseBudget(c: Change, cfg: BudgetConfig): Violation[] {
    if (cfg.max === undefined) return [];
    const cost = costOf(c);
    const used = cost.licensesAssigned.length + cost.licensesConsumedByRuns;
    if (used <= cfg.max) return [];
    const parts: string[] = [];
    if (cost.licensesAssigned.length) parts.push(`${cost.licensesAssigned.length} assigned (${cost.licensesAssigned.map((u) => u.user).join(", ")})`);
    const runs = cost.licenseConsumingRuns.filter((r) => r.usersWithoutLicense > 0);
    if (runs.length) parts.push(`${cost.licensesConsumedByRuns} consumed by ${runs.map((r) => `MigrationRun ${r.run} (${r.action}, ${r.target}: ${r.usersWithoutLicense} user${r.usersWithoutLicense === 1 ? "" : "s"} without a license)`).join(", ")}`);
    return [{ message: `This change uses ${used} licenses, over the budget of ${cfg.max}: ${parts.join("; ")}. Split it, or raise license-budget.max.` }];
}

/** The runs this change sends: new, replaced, trigger changed, or deferred before and still declared. */
function runsSent(c: Change): { urn: string; props: Props; sendsAt: Date; dependencies: string[] }[] {
    const out: { urn: string; props: Props; sendsAt: Date; dependencies: string[] }[] = [];
    const byUrn = new Map(c.news.map((n) => [n.urn, n]));
    for (const s of stepsOf(c)) {
        if (!s.urn.includes(`${TYPE_PREFIX}MigrationRun::`) || !s.newState?.inputs) continue;
        const n = s.newState.inputs;
        // An update sends only for a new trigger or a deferred run that is due; a gate's look sends nothing.
        const sends = s.op === "create" || s.op === "replace" || (s.op === "update" && updateMaySend(s.oldState?.outputs ?? {}, n));
        if (!sends) continue;
        const notBefore = str(n.notBefore) ? new Date(str(n.notBefore)!) : undefined;
        const sendsAt = notBefore && !Number.isNaN(notBefore.getTime()) && notBefore > c.now ? notBefore : c.now;
        out.push({ urn: s.urn, props: n, sendsAt, dependencies: byUrn.get(s.urn)?.dependencies ?? [] });
    }
    return out;
}

// ------------------------------------------------------------------ change windows
export interface Window { from: string; to: string }
export interface WindowConfig { windows?: Window[]; timeZone?: string }
const DAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
export const WEEK_TIME = /^(Mon|Tue|Wed|Thu|Fri|Sat|Sun) ([01]\d|2[0-3]):([0-5]\d)$/;

/** "Fri 18:00" -> minutes since Monday 00:00. */
export function minuteOfWeek(s: string, where: string): number {
    const m = WEEK_TIME.exec(String(s).trim());
    if (!m) throw new Error(`change-window: ${where} "${s}" is not a day and a time like "Fri 18:00" (Mon..Sun, 24-hour HH:MM)`);
    return DAYS.indexOf(m[1]) * 1440 + Number(m[2]) * 60 + Number(m[3]);
}

/** The minute of the week of an instant in a time zone (IANA name, e.g. "Europe/Paris"; default UTC). */
export function weekMinuteIn(d: Date, timeZone: string): number {
    let parts: Intl.DateTimeFormatPart[];
    try {
        parts = new Intl.DateTimeFormat("en-US", { timeZone, weekday: "short", hour: "2-digit", minute: "2-digit", hourCycle: "h23" }).formatToParts(d);
    } catch {
        throw new Error(`change-window: timeZone "${timeZone}" is not a time zone name (IANA, e.g. "Europe/Paris" or "UTC")`);
    }
    const get = (t: string) => parts.find((p) => p.type === t)?.value ?? "";
    return DAYS.indexOf(get("weekday")) * 1440 + Number(get("hour")) * 60 + Number(get("minute"));
}

/** Whether an instant is inside one of the windows (a window may wrap past Sunday, e.g. Fri 18:00 to Mon 06:00). */
export function insideWindows(d: Date, cfg: Required<WindowConfig>): boolean {
    const t = weekMinuteIn(d, cfg.timeZone);
    return cfg.windows.some((w, i) => {
        const from = minuteOfWeek(w.from, `windows[${i}].from`), to = minuteOfWeek(w.to, `windows[${i}].to`);
        return from <= to ? t >= from && t < to : t >= from || t < to;
    });
}

/** change-window: a run is sent only inside the windows (a `notBefore` inside one passes). */
export function changeWindow(c: Change, cfg: WindowConfig): Violation[] {
    if (!cfg.windows?.length) return [];
    const full = { windows: cfg.windows, timeZone: cfg.timeZone ?? "UTC" };
    const described = full.windows.map((w) => `${w.from} to ${w.to}`).join(", ");
    const out: Violation[] = [];
    for (const r of runsSent(c)) {
        if (insideWindows(r.sendsAt, full)) continue;
        const when = r.sendsAt === c.now ? `now (${c.now.toISOString()})` : `at its notBefore ${str(r.props.notBefore)}`;
        out.push({
            urn: r.urn,
            message: `${runLabel(r.urn, r.props)} would be sent ${when}, outside the change windows (${described}, ${full.timeZone}). ` +
                `Set its notBefore to a time inside a window, or apply the change inside one.`,
        });
    }
    return out;
}

/** The users of each batch after the change (by its memberships). */
function usersPerBatch(c: Change): Map<string, number> {
    const m = new Map<string, number>();
    for (const n of c.news) {
        if (typeOf(n.type) !== "BatchMembership") continue;
        const b = str(n.props.batchName);
        if (b !== undefined) m.set(b, (m.get(b) ?? 0) + 1);
    }
    return m;
}

export interface GateConfig { minUsers?: number }
export const DEFAULT_MIN_USERS = 50;
/** gated-waves: a migrate run of a batch of more than `minUsers` users has `waitFor`. */
export function gatedWaves(c: Change, cfg: GateConfig): Violation[] {
    const min = cfg.minUsers ?? DEFAULT_MIN_USERS;
    const users = usersPerBatch(c);
    const out: Violation[] = [];
    for (const r of runsSent(c)) {
        const b = str(r.props.batchName);
        if (r.props.action !== "migrate" || b === undefined || r.props.waitFor) continue;
        const n = users.get(b) ?? 0;
        if (n <= min) continue;
        out.push({
            urn: r.urn,
            message: `${runLabel(r.urn, r.props)} migrates ${n} users (more than ${min}) without waitFor: give it ` +
                `waitFor: { timeoutMinutes, maxFailed, maxItemFailurePercent } so the next wave waits for this one and its failures (and lost items) are counted.`,
        });
    }
    return out;
}

/** settings-before-migrate: a batch with a migrate run has its BatchGlobalSettings. */
export function settingsBeforeMigrate(c: Change): Violation[] {
    const settings = new Set(c.news.filter((n) => typeOf(n.type) === "BatchGlobalSettings").map((n) => str(n.props.batchName)));
    const out: Violation[] = [];
    for (const r of runsSent(c)) {
        const b = str(r.props.batchName);
        if (r.props.action !== "migrate" || b === undefined || settings.has(b)) continue;
        out.push({
            urn: r.urn,
            message: `${runLabel(r.urn, r.props)} migrates batch ${b}, which has no BatchGlobalSettings in the stack: ` +
                `declare them (what to migrate, fromDate/toDate), or the batch migrates with whatever its settings are in Cloudiway.`,
        });
    }
    return out;
}
