/**
 * Tenant to plan: reads a live Cloudiway tenant (getall, batch, getusersinbatch,
 * settings) and writes a plan file that, applied with adoptExisting, takes the
 * tenant over with 0 creates and 0 changes in the first preview.
 *
 *   npx cloudiway-migration export-plan --out plan.yaml [--api-url <url>] [--kind mail|archive]
 */
import * as fs from "fs";
import * as path from "path";
import { stringify } from "yaml";
import { CloudiwayClient, CloudiwayResponseError, clientFor } from "../provider/client";
import { parseArgs } from "./args";
import { resolveSettings } from "../provider/config";
import { textProblem } from "../provider/text";
import { mailUserModel } from "../provider/resources/mailUser";
import type { Kind } from "../provider/client/calls";

export const HELP = `Usage: cloudiway-migration export-plan --out <plan.yaml> [--api-url <url>] [--kind mail|archive]

Reads the users, batches, memberships and batch settings of a Cloudiway tenant and writes
a plan file (see provider/plan/README.md) with adoptExisting: true, so that deploying it
adopts what exists: the first preview shows no creates of new objects and no changes.

  --out <file>      where to write the plan (required)
  --api-url <url>   the API (default: CLOUDIWAY_API_URL, else the real service)
  --kind <k>        mail (default) or archive
Credentials: CLOUDIWAY_CONSUMER_KEY / CLOUDIWAY_CONSUMER_SECRET.
`;

const stored = mailUserModel.stored;

/**
 * An odd answer for one object (a user record, a batch's members or settings) never aborts the
 * export: the object is left out, or its settings, and `warnings` names it.
 */
export async function exportPlan(client: CloudiwayClient, kind: Kind, progress: (msg: string) => void = () => undefined) {
    const warnings: string[] = [];
    progress("reading users (getall)...");
    const { users, odd } = await client.getAllUsersChecked(kind);
    for (const o of odd) warnings.push(`getall: ${o}: left out of the plan`);
    progress(`${users.length} users; reading batches...`);
    const batchNames = await client.listBatches(kind);
    const batchOfTag = new Map<string, string>();
    const batches: { name: string; settings?: Record<string, unknown>; users: Record<string, unknown>[] }[] = [];
    let i = 0;
    const oddAnswer = (e: unknown) => e instanceof CloudiwayResponseError;
    for (const name of batchNames) {
        progress(`batch ${++i}/${batchNames.length}: ${JSON.stringify(name)}`);
        const nameProblem = textProblem(name.trim(), "batchName");
        if (nameProblem) warnings.push(`batch ${JSON.stringify(name)}: its name ${nameProblem} (the plan will refuse it: rename it in Cloudiway)`);
        try {
            for (const tag of await client.getUsersInBatch(kind, name)) batchOfTag.set(tag.trim(), name);
        } catch (e) {
            if (!oddAnswer(e)) throw e;
            warnings.push(`batch "${name}": ${(e as Error).message}; its users are exported without a batch`);
        }
        // Settings never set answer {} (or fields missing or null): the batch is written without them.
        const settings: Record<string, unknown> = {};
        try {
            const s = await client.getGlobalSettings(kind, name);
            for (const [k, v] of Object.entries(s)) if (v !== null && v !== undefined) settings[k] = v;
        } catch (e) {
            if (!oddAnswer(e)) throw e;
            warnings.push(`batch "${name}": ${(e as Error).message}; exported without settings`);
        }
        batches.push({ name, ...(Object.keys(settings).length ? { settings } : {}), users: [] });
    }
    const byName = new Map(batches.map((b) => [b.name, b]));
    const loose: Record<string, unknown>[] = [];
    const srcCount = new Map<string, number>();
    const tgtCount = new Map<string, number>();
    for (const u of users) {
        if (u.sourceConnectorName) srcCount.set(u.sourceConnectorName, (srcCount.get(u.sourceConnectorName) ?? 0) + 1);
        if (u.targetConnectorName) tgtCount.set(u.targetConnectorName, (tgtCount.get(u.targetConnectorName) ?? 0) + 1);
    }
    const most = (m: Map<string, number>) => [...m.entries()].sort((a, b) => b[1] - a[1])[0]?.[0];
    const defaults: Record<string, unknown> = {};
    const defSrc = most(srcCount);
    const defTgt = most(tgtCount);
    if (defSrc) defaults.sourceConnectorName = defSrc;
    if (defTgt) defaults.targetConnectorName = defTgt;
    for (const u of users) {
        const tag = String(u.migrationTag ?? "").trim();
        // Every input the API stores (the model's `stored`) but the connectors, which go under defaults: when shared.
        // A value the plan loader will refuse is written as it is, and named now (the input's own rule).
        const entry: Record<string, unknown> = {};
        const problems: [string, string][] = [];
        for (const k of stored.keys) {
            if (k === "sourceConnectorName" || k === "targetConnectorName") continue;
            const { value, problem } = stored.valueOf(k, u);
            if (value === undefined) {
                const field = mailUserModel.schema.shape[k];
                if (field.safeParse(undefined).success) continue; // optional, and not set in Cloudiway
                entry[k] = ""; // required, and blank in Cloudiway
                problems.push([k, field.safeParse("").error?.issues[0]?.message ?? "is blank"]);
                continue;
            }
            entry[k] = value;
            if (problem) problems.push([k, problem]);
        }
        if (problems.length) warnings.push(`user ${tag || JSON.stringify(entry.sourceEmail)}: ${problems.map(([k, p]) => `${k} ${p}`).join("; ")} (the plan will refuse it: correct it in Cloudiway or in the plan)`);
        if (u.sourceConnectorName && u.sourceConnectorName !== defSrc) entry.sourceConnectorName = u.sourceConnectorName;
        if (u.targetConnectorName && u.targetConnectorName !== defTgt) entry.targetConnectorName = u.targetConnectorName;
        if (u.licensed === true) entry.licensed = true;
        const b = batchOfTag.get(tag);
        const batch = b === undefined ? undefined : byName.get(b);
        if (batch) batch.users.push(entry);
        else loose.push(entry);
    }
    const plan: Record<string, unknown> = { kind, adoptExisting: true, defaults, batches };
    if (loose.length) plan.users = loose;
    return { plan, users: users.length, batches: batches.length, warnings };
}


/** `cloudiway-migration export-plan [args]` (cli/index.ts dispatches here). */
export async function main(argv: string[]): Promise<void> {
    const args = parseArgs(argv);
    if (args.help || !args.out) {
        process.stdout.write(HELP);
        if (!args.help) process.exitCode = 2;
        return;
    }
    const settings = resolveSettings((key) => (key === "cloudiway:apiUrl" ? args["api-url"] : undefined));
    // The provider's client: the same timeout, attempts and connections (stack config, then environment).
    const client = clientFor(settings);
    try {
        const kind = args.kind === "archive" ? "archive" : "mail";
        const { plan, users, batches, warnings } = await exportPlan(client, kind, (m) => process.stderr.write(`export-plan: ${m}\n`));
        for (const w of warnings) process.stderr.write(`export-plan: warning: ${w}\n`);
        const out = path.resolve(args.out);
        fs.writeFileSync(out, `# Exported from ${settings.apiUrl} on ${new Date().toISOString()}\n` + stringify(plan));
        console.log(`Wrote ${out}: ${users} users, ${batches} batches (adoptExisting: true)`);
    } finally {
        await client.close?.();
    }
}
