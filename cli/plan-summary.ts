/**
 * PR summary: `npx cloudiway-migration plan-summary <preview.json> [--out summary.md]` turns
 * `pulumi preview --json` into Markdown. Migration actions (they cost licenses)
 * come first; then counts per resource type; users moved between batches;
 * settings changed field by field; diagnostics.
 */
import * as fs from "fs";
import { ChangeCost, DeletionPolicy, Step, costOfPreview, losesSomething, previewSchema } from "../provider/campaign/cost";
import { mdText } from "./markdown";
import { TYPE_PREFIX, nameOfUrn, typeOfUrn } from "../provider/tokens";

export const HELP = `Usage: cloudiway-migration plan-summary <preview.json | -> [<preview.json> ...] [--out <summary.md>] [--json]

Reads the output of \`pulumi preview --json\` and prints a Markdown summary for a pull request. It
opens with what the change costs: licenses it assigns, licenses migration runs consume (a first
pass or an audit of a user without one), users deleted in Cloudiway with what each loses, users
the deletion policy keeps. Then migration actions that will run, per resource type the counts of
create/update/replace/delete, users moved between batches, batch settings changed field by field.

  <preview.json>          the file \`pulumi preview --json\` wrote, or - for standard input. Several files
                          (the previews of several shards, or stacks of one tenant): one summary of
                          them all, the costs added up, the stacks named at the top
  --out <file>            write the output there (default: standard output)
  --json                  print the cost as JSON instead (for pipelines that gate on it, e.g. fail
                          a pull request that deletes a migrated user: .usersDeleted[].holdings)
  --deletion-policy <p>   the stack's cloudiway:deletionPolicy when the preview does not show it
                          (default: CLOUDIWAY_DELETION_POLICY, else retainMigrated)
`;

const typeOf = typeOfUrn;
const nameOf = nameOfUrn;
const OPS = ["create", "update", "replace", "delete"] as const;
const opOf = (op: string) => (op === "create-replacement" || op === "delete-replaced" || op === "replace" ? "replace" : op);
/** Every user value of the comment goes through the one escaping function (markdown.ts). */
const esc = mdText;

/** A run's gate in a few words: "at most 0 failed, items failed ≤ 2% per user, timeout 2880 min", or "none". */
function gateOf(w: unknown): string {
    if (typeof w !== "object" || w === null) return "none";
    const g = w as Record<string, unknown>;
    const num = (k: string) => (typeof g[k] === "number" ? g[k] : undefined);
    return [`at most ${num("maxFailed") ?? 0} failed`,
        ...(num("maxItemFailurePercent") !== undefined ? [`items failed ≤ ${num("maxItemFailurePercent")}% per user`] : []),
        ...(num("timeoutMinutes") !== undefined ? [`timeout ${num("timeoutMinutes")} min`] : [])].join(", ");
}

/** The Markdown opening of the summary. Every user value goes through mdText (markdown.ts). */
function costMarkdown(c: ChangeCost): string[] {
    const lines = ["### What this change costs", ""];
    const lost = c.usersDeleted.filter(losesSomething).length;
    lines.push(
        "| | |", "|---|---:|",
        `| licenses assigned (users made \`licensed\`) | ${c.licensesAssigned.length} |`,
        `| licenses consumed by migration runs (first pass or audit of a user without one) | ${c.licensesConsumedByRuns} |`,
        `| users deleted in Cloudiway | ${c.usersDeleted.length}${lost ? ` (**${lost} lose migration history or a license**)` : ""} |`,
        `| users kept in Cloudiway by the deletion policy | ${c.usersKept.length} |`,
        "",
    );
    if (c.licenseConsumingRuns.length) {
        lines.push("| run | action | target | users | without a license |", "|---|---|---|---:|---:|");
        for (const r of c.licenseConsumingRuns) lines.push(`| ${mdText(r.run)} | ${mdText(r.action)} | ${mdText(r.target)} | ${r.users} | ${r.usersWithoutLicense} |`);
        lines.push("");
    }
    for (const [title, list] of [["Users deleted", c.usersDeleted], ["Users kept (not deleted)", c.usersKept], ["Licenses assigned", c.licensesAssigned]] as const) {
        if (!list.length) continue;
        lines.push(`**${title}:**`, "");
        for (const u of list) lines.push(`- ${mdText(u.user)}: ${mdText(u.note)}`);
        lines.push("");
    }
    lines.push(`_Passes, status and license as of ${c.asOf}; the stack's deletion policy: ${mdText(c.deletionPolicy)}._`, "");
    return lines;
}

/** The preview's JSON (parsed with zod at this boundary) as Markdown. */
export function summarizePreview(raw: unknown, defaultPolicy?: DeletionPolicy): string {
    const json = previewSchema.parse(raw ?? {});
    const steps: Step[] = json.steps.filter((s) => s.urn.includes(TYPE_PREFIX));
    const lines: string[] = ["## Cloudiway migration plan", ""];
    lines.push(...costMarkdown(costOfPreview(raw, defaultPolicy)));

    // 1. Actions that will run.
    const runs = steps.filter((s) => typeOf(s.urn) === "MigrationRun" && ["create", "update", "replace", "create-replacement"].includes(s.op));
    lines.push("### Migration actions that will run (they cost licenses)", "");
    if (!runs.length) lines.push("None.", "");
    else {
        lines.push("| run | action | target | trigger | why | gate |", "|---|---|---|---|---|---|");
        const seen = new Set<string>();
        for (const s of runs) {
            if (seen.has(s.urn)) continue;
            seen.add(s.urn);
            const n = s.newState?.inputs ?? {};
            const target = n.batchName ? `batch ${n.batchName}` : `user ${n.migrationTag ?? "(new user)"}`;
            const why = s.op === "create" ? "new run" : s.op === "update" ? `trigger ${s.oldState?.inputs?.trigger} → ${n.trigger}` : "replaced";
            lines.push(`| ${esc(nameOf(s.urn))} | **${esc(n.action)}** | ${esc(target)} | ${esc(n.trigger)} | ${esc(why)} | ${esc(gateOf(n.waitFor))} |`);
        }
        lines.push("");
    }

    // 2. Counts per type.
    const counts = new Map<string, Record<string, number>>();
    const counted = new Set<string>();
    for (const s of steps) {
        const op = opOf(s.op);
        if (!(OPS as readonly string[]).includes(op)) continue;
        const k = `${s.urn}|${op}`;
        if (counted.has(k)) continue;
        counted.add(k);
        const t = typeOf(s.urn);
        const c = counts.get(t) ?? { create: 0, update: 0, replace: 0, delete: 0 };
        c[op]++;
        counts.set(t, c);
    }
    lines.push("### Changes by resource type", "");
    if (!counts.size) lines.push("No changes.", "");
    else {
        lines.push("| type | create | update | replace | delete |", "|---|---:|---:|---:|---:|");
        for (const [t, c] of [...counts.entries()].sort()) lines.push(`| ${esc(t)} | ${c.create} | ${c.update} | ${c.replace} | ${c.delete} |`);
        lines.push("");
    }

    // 3. Users moved between batches.
    const moves = steps.filter((s) => typeOf(s.urn) === "BatchMembership" && s.op === "update" &&
        s.oldState?.inputs?.batchName !== s.newState?.inputs?.batchName);
    if (moves.length) {
        lines.push("### Users moved between batches", "", "| user | from | to |", "|---|---|---|");
        for (const s of moves) lines.push(`| ${esc(nameOf(s.urn).replace(/^membership:/, ""))} | ${esc(s.oldState?.inputs?.batchName)} | ${esc(s.newState?.inputs?.batchName)} |`);
        lines.push("");
    }

    // 4. Settings field by field.
    const settings = steps.filter((s) => typeOf(s.urn) === "BatchGlobalSettings" && s.op === "update");
    if (settings.length) {
        lines.push("### Batch settings changed", "", "| batch | setting | from | to |", "|---|---|---|---|");
        for (const s of settings) {
            const o = s.oldState?.inputs ?? {}, n = s.newState?.inputs ?? {};
            for (const k of [...new Set([...Object.keys(o), ...Object.keys(n)])].sort()) {
                if (k === "__provider" || JSON.stringify(o[k]) === JSON.stringify(n[k])) continue;
                lines.push(`| ${esc(n.batchName ?? o.batchName)} | ${esc(k)} | ${esc(o[k] ?? "—")} | ${esc(n[k] ?? "—")} |`);
            }
        }
        lines.push("");
    }

    const errors = json.diagnostics.filter((d) => d.severity === "error");
    if (errors.length) {
        lines.push("### Errors", "");
        for (const d of errors) lines.push(`- ${esc(d.message)}`);
        lines.push("");
    }
    return lines.join("\n");
}

/** The stack of a preview, from its steps' URNs (`urn:pulumi:<stack>::...`). */
function stackOfPreview(raw: unknown): string | undefined {
    const urn = previewSchema.safeParse(raw ?? {}).data?.steps[0]?.urn;
    return urn ? /^urn:pulumi:([^:]+)::/.exec(urn)?.[1] : undefined;
}

/**
 * Several previews (the shards of one plan) as one: their steps and diagnostics together (URNs
 * differ by stack), the first's config. Shards that disagree on cloudiway:deletionPolicy are named in
 * `warnings`: each user's own policy is in its step, only the stacks' default is taken from the first.
 */
export function mergePreviews(raws: unknown[]): { merged: Record<string, unknown>; stacks: string[]; warnings: string[] } {
    const parsed = raws.map((r) => previewSchema.parse(r ?? {}));
    const policies = new Set(parsed.map((p) => JSON.stringify(p.config?.["cloudiway:deletionPolicy"] ?? null)));
    const stacks = raws.map((r, i) => stackOfPreview(r) ?? `preview ${i + 1}`);
    return {
        merged: { steps: parsed.flatMap((p) => p.steps), diagnostics: parsed.flatMap((p) => p.diagnostics), ...(parsed[0]?.config ? { config: parsed[0].config } : {}) },
        stacks,
        warnings: policies.size > 1 ? [`the stacks' cloudiway:deletionPolicy differ (${[...policies].join(", ")}): the cost takes ${stacks[0]}'s as the default`] : [],
    };
}

/** The Markdown summary of several previews: one summary, the stacks named under its title. */
export function summarizePreviews(raws: unknown[], defaultPolicy?: DeletionPolicy): string {
    if (raws.length === 1) return summarizePreview(raws[0], defaultPolicy);
    const { merged, stacks } = mergePreviews(raws);
    const md = summarizePreview(merged, defaultPolicy).split("\n");
    md.splice(1, 0, "", `Previews of ${stacks.length} stacks: ${stacks.map((s) => esc(s)).join(", ")}.`);
    return md.join("\n");
}

/** `cloudiway-migration plan-summary <preview.json | -> [more.json ...] [--out <file>]` (cli/index.ts dispatches here). */
export async function main(argv: string[]): Promise<void> {
    if (argv.includes("--help") || argv.includes("-h") || !argv.length) {
        process.stdout.write(HELP);
        if (!argv.length) process.exitCode = 2;
        return;
    }
    const files = argv.filter((a, i) => !a.startsWith("--") && argv[i - 1] !== "--out" && argv[i - 1] !== "--deletion-policy");
    const raws: unknown[] = files.map((file) => JSON.parse(fs.readFileSync(file === "-" ? 0 : file, "utf8")));
    const p = argv.indexOf("--deletion-policy");
    const policy = (p >= 0 ? argv[p + 1] : process.env.CLOUDIWAY_DELETION_POLICY) as DeletionPolicy | undefined;
    const { merged, warnings } = raws.length > 1 ? mergePreviews(raws) : { merged: raws[0], warnings: [] };
    for (const w of warnings) process.stderr.write(`warning: ${w}\n`);
    const out = argv.includes("--json") ? JSON.stringify(costOfPreview(merged, policy), null, 2) : summarizePreviews(raws, policy);
    const outIdx = argv.indexOf("--out");
    if (outIdx >= 0) fs.writeFileSync(argv[outIdx + 1], out);
    else process.stdout.write(out + "\n");
}
