/**
 * The policy pack `cloudiway` (policy/index.js loads this): the guardrails of policy/rules.ts as
 * stack policies. Run it with
 *
 *     pulumi preview --policy-pack node_modules/pulumi-cloudiway/policy [--policy-pack-config policy.json]
 *
 * The analyzer API gives a policy the stack as it will be after the change, never what the change
 * deletes: the pack reads the stack as it is now with `pulumi stack export` (once per run, before it
 * judges anything: the same `pulumi` as the CLI that runs it; CLOUDIWAY_POLICY_STACK names the
 * stack when the URN's `organization/<project>/<stack>` does not, e.g. on Pulumi Cloud).
 */
import { execFile } from "child_process";
import { PolicyPack, StackValidationArgs, StackValidationPolicy, EnforcementLevel } from "@pulumi/policy";
import {
    Change, NewResource, OldResource, RuleName, Violation, WEEK_TIME, DEFAULT_MIN_USERS,
    changeWindow, gatedWaves, licenseBudget, noLicenseBurningDelete, settingsBeforeMigrate,
} from "./rules";
import { UNKNOWN } from "../provider/runtime/model";
import { costOf } from "./rules";
import type { FreshHoldings } from "../provider/campaign/cost";
import { readContext } from "../provider/runtime/context";
import { resolveSettings } from "../provider/config";
import { holdingsOf } from "../provider/campaign/retention";
import type { Kind } from "../provider/client/calls";

/** `urn:pulumi:<stack>::<project>::...` */
function stackOf(urn: string): { stack: string; project: string } | undefined {
    const m = /^urn:pulumi:([^:]+)::([^:]+)::/.exec(urn);
    return m ? { stack: m[1], project: m[2] } : undefined;
}

function exportStack(name: string): Promise<{ deployment?: { resources?: unknown[] } } | undefined> {
    return new Promise((resolve, reject) => {
        execFile("pulumi", ["stack", "export", "--stack", name, "--non-interactive"], { maxBuffer: 512 * 1024 * 1024, timeout: 5 * 60 * 1000 },
            (err, stdout, stderr) => {
                if (err) return reject(new Error(`pulumi stack export --stack ${name} failed: ${(stderr || err.message).trim()}`));
                try { resolve(JSON.parse(stdout)); } catch (e) { reject(new Error(`pulumi stack export --stack ${name}: not JSON (${(e as Error).message})`)); }
            });
    });
}

let olds: Promise<OldResource[]> | undefined;
/** The stack's resources before the change (its last checkpoint), read once per run of the pack. */
function oldResources(urn: string): Promise<OldResource[]> {
    olds ??= (async () => {
        const s = stackOf(urn);
        const names = process.env.CLOUDIWAY_POLICY_STACK ? [process.env.CLOUDIWAY_POLICY_STACK]
            : s ? [`organization/${s.project}/${s.stack}`, s.stack] : [];
        if (!names.length) throw new Error(`cannot tell the stack from the URN ${urn}: set CLOUDIWAY_POLICY_STACK`);
        let last: Error | undefined;
        for (const name of names) {
            try {
                const state = await exportStack(name);
                return (state?.deployment?.resources ?? []) as OldResource[]; // the checkpoint's resources, as Pulumi writes them
            } catch (e) { last = e as Error; }
        }
        throw last!;
    })();
    return olds;
}

/** The stack's deletion policy: the provider configuration (stack config), else the environment. */
function stackDeletionPolicy(args: StackValidationArgs, old: OldResource[]): string | undefined {
    const fromProps = (p: unknown) => {
        const v = (plain(p) as Record<string, unknown> | undefined)?.["cloudiway:deletionPolicy"];
        return typeof v === "string" && v !== UNKNOWN ? v : undefined;
    };
    for (const r of args.resources) { const v = fromProps(r.provider?.props); if (v) return v; }
    for (const r of old) if (r.type.startsWith("pulumi:providers:")) { const v = fromProps(r.inputs); if (v) return v; }
    return process.env.CLOUDIWAY_DELETION_POLICY || undefined;
}

/**
 * A plain copy of a resource's props. @pulumi/policy's props throw on reading a value not known
 * during preview (an output of a resource not made yet): those become the provider's unknown
 * sentinel, which the rules read as "not known".
 */
function plain(v: unknown): unknown {
    if (v === null || typeof v !== "object") return v;
    if (Array.isArray(v)) return v.map((_, i) => { try { return plain(v[i]); } catch { return UNKNOWN; } });
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(v)) {
        try { out[k] = plain((v as Record<string, unknown>)[k]); } catch { out[k] = UNKNOWN; }
    }
    return out;
}

async function changeOf(args: StackValidationArgs): Promise<Change> {
    const news: NewResource[] = args.resources.map((r) => ({ urn: r.urn, type: r.type, props: plain(r.props) as Record<string, unknown>, dependencies: r.dependencies.map((d) => d.urn) }));
    const first = args.resources[0]?.urn;
    const old = first ? await oldResources(first) : [];
    return { news, olds: old, stackDeletionPolicy: stackDeletionPolicy(args, old), now: new Date() };
}

/**
 * What each user the change would delete holds, read from Cloudiway now (read-only: getall, then
 * each user's status and history), so the guardrail never judges on a state older than the change
 * (the gitops workflow does not refresh before its preview). Credentials as for the provider: the
 * stack's provider configuration, else CLOUDIWAY_* variables. A user that cannot be read is "not
 * known", which the rule counts as something to lose.
 */
async function freshHoldings(args: StackValidationArgs, c: Change): Promise<FreshHoldings> {
    const at = new Date().toISOString();
    const byTag: FreshHoldings["byTag"] = new Map();
    const leaving = costOf(c).usersDeleted.filter((u) => u.tag);
    if (!leaving.length) return { asOf: `Cloudiway, read by the policy pack at ${at}`, byTag };
    const kindOf = new Map(c.olds.filter((r) => r.id).map((r) => [r.id!, ((r.outputs ?? r.inputs)?.kind === "archive" ? "archive" : "mail") as Kind]));
    let config: Record<string, unknown> = {};
    for (const r of args.resources) {
        const p = plain(r.provider?.props) as Record<string, unknown> | undefined;
        if (p && Object.keys(p).some((k) => k.startsWith("cloudiway:"))) { config = p; break; }
    }
    const lookup = (k: string) => { const v = config[k]; return typeof v === "string" && v !== UNKNOWN ? v : undefined; };
    let ctx: ReturnType<typeof readContext> | undefined, why = "";
    try {
        const settings = resolveSettings(lookup);
        if (!settings.consumerKey || !settings.consumerSecret) why = "no Cloudiway credentials (cloudiway:consumerKey/consumerSecret or CLOUDIWAY_CONSUMER_KEY/SECRET)";
        else ctx = readContext(settings);
    } catch (e) {
        why = (e as Error).message;
    }
    await Promise.all(leaving.map(async (u) => {
        if (!ctx) { byTag.set(u.tag!, { unknown: why }); return; }
        try {
            const h = await holdingsOf(ctx, kindOf.get(u.tag!) ?? "mail", u.tag!);
            // Gone from Cloudiway: nothing to lose there.
            byTag.set(u.tag!, h ?? { status: "NOTSTARTED", passes: 0, licensed: false });
        } catch (e) {
            byTag.set(u.tag!, { unknown: `Cloudiway could not be read: ${(e as Error).message}` });
        }
    }));
    if (ctx) await ctx.client().close().catch(() => undefined);
    return { asOf: `Cloudiway, read by the policy pack at ${at}`, byTag };
}

function rule(name: RuleName, description: string, enforcementLevel: EnforcementLevel, judge: (c: Change, cfg: Record<string, unknown>) => Violation[],
    configSchema?: StackValidationPolicy["configSchema"]): StackValidationPolicy {
    return {
        name, description, enforcementLevel, configSchema,
        validateStack: async (args, reportViolation) => {
            let violations: Violation[];
            try {
                const c = await changeOf(args);
                if (name === "no-license-burning-delete") c.fresh = await freshHoldings(args, c);
                violations = judge(c, args.getConfig());
            } catch (e) {
                // A pack that cannot judge says why and fails closed (at the rule's level).
                reportViolation(`${name} could not judge this change: ${(e as Error).message}`);
                return;
            }
            for (const v of violations) reportViolation(v.message, v.urn);
        },
    };
}

const windowSchema = {
    type: "object" as const,
    properties: {
        from: { type: "string" as const, pattern: WEEK_TIME.source, description: 'e.g. "Fri 18:00"' },
        to: { type: "string" as const, pattern: WEEK_TIME.source, description: 'e.g. "Mon 06:00"' },
    },
    required: ["from", "to"],
    additionalProperties: false,
};

new PolicyPack("cloudiway", {
    policies: [
        rule("no-license-burning-delete",
            "A user with something to lose (a license, a pass, an audit, any status but NOTSTARTED) is not deleted or replaced under deletionPolicy \"delete\".",
            "mandatory", noLicenseBurningDelete),
        rule("license-budget",
            "Licenses assigned plus licenses consumed by the change's migration runs stay within max.",
            "mandatory", licenseBudget,
            { properties: { max: { type: "integer", minimum: 0, description: "licenses one change may use" } } }),
        rule("change-window",
            "A MigrationRun is sent only inside the change windows (a notBefore inside one passes).",
            "mandatory", changeWindow,
            { properties: {
                windows: { type: "array", items: windowSchema, description: 'e.g. [{"from": "Fri 18:00", "to": "Mon 06:00"}]' },
                timeZone: { type: "string", description: "IANA time zone of the windows, default UTC" },
            } }),
        rule("gated-waves",
            "A migrate run of a batch with more than minUsers users has waitFor.",
            "advisory", gatedWaves,
            { properties: { minUsers: { type: "integer", minimum: 0, default: DEFAULT_MIN_USERS } } }),
        rule("settings-before-migrate",
            "A batch with a migrate run has its BatchGlobalSettings.",
            "advisory", settingsBeforeMigrate),
    ],
});
