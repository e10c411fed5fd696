/**
 * `cloudiway-migration up --all-shards [--jobs N] [--preview]`: every shard of the project (the
 * stacks whose config sets cloudiway-migration:batches) through the Automation API, N at a time,
 * each in its own LocalWorkspace. Stacks are selected one at a time (selecting or creating stacks in
 * parallel on one project is unsafe, pulumi/pulumi#8186); the ups then run side by side, each a
 * `pulumi up --stack <shard>` of its own. One `pulumi` command per shard is still the unit that the
 * recovery rules of "Large plans" cover: a failed or killed shard is named, the others finish, and its
 * next up converges.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { BATCHES_KEY, ShardSpec, readShardSpecs } from "../provider/plan/shards";
import { DEFAULT_PARALLEL } from "../provider/config";
import { PulumiOutcome, combinedExitCode, outcomeOf } from "./pulumiExit";

export const HELP = `Usage: cloudiway-migration up --all-shards [--jobs <n>] [--preview] [--expect-no-changes] [--stacks <a,b>] [--parallel <p>] [--cwd <dir>] [--logs <dir>] [--json]
                                [--policy-pack <dir> [--policy-pack-config <file>]] ...

Runs \`pulumi up\` (or \`pulumi preview\`) of every shard of the Pulumi project (every stack whose
config sets ${BATCHES_KEY}, read from Pulumi.<stack>.yaml; see "shards --init"), through the
Automation API, each in its own workspace, <n> at a time. Prints one line when a shard starts and one
when it ends (duration, changes), then a table. A shard that fails fails the command and is named;
the other shards still run to their end. The exit code is pulumi's own when every shard that did not
succeed ended the same way (7: changes under --expect-no-changes; 5: refused by a policy pack; 6: no such
stack in the backend; 3: credentials), else 1; 0 when every shard succeeded.

  --all-shards      required: the shards of the project
  --jobs <n>        shards at a time (default: the number of cores, ${os.availableParallelism()} here)
  --preview         \`pulumi preview\` instead of \`pulumi up\`
  --expect-no-changes  as pulumi's: a shard whose preview or up proposes a change fails (CHANGES) and
                    applies nothing; e.g. a scheduled check that the tenant still matches the plan
  --stacks <a,b>    only these shards (e.g. the ones "shards --changed-since" lists)
  --parallel <p>    the engine's --parallel for each shard (default ${DEFAULT_PARALLEL}, the client's pool: docs/large-plans-and-shards.md)
  --cwd <dir>       the Pulumi project directory (default: the current directory)
  --logs <dir>      write each shard's full output to <dir>/<stack>.log
  --json            print the results as JSON instead of the table
  --policy-pack <dir>          run this policy pack (e.g. node_modules/pulumi-cloudiway/policy), as
                               \`pulumi --policy-pack\`; repeatable. Each shard is first previewed with
                               the packs: a shard whose preview a mandatory rule refuses is not up
                               (it fails, naming the rules); the up runs the packs again
  --policy-pack-config <file>  the configuration of the pack given at the same place; repeatable
                               (none, or one per --policy-pack)

The Pulumi CLI is the one on PATH; backend, passphrase and credentials come from the environment, as
for pulumi itself. Each shard runs in fast mode (PULUMI_SKIP_CHECKPOINTS=true: the state is saved once
per run, docs/large-plans-and-shards.md) unless the environment sets PULUMI_SKIP_CHECKPOINTS itself.
`;

interface Options {
    jobs: number; preview: boolean; expectNoChanges: boolean; stacks?: string[]; parallel?: number; cwd: string; logs?: string; json: boolean;
    policyPacks: string[]; policyPackConfigs: string[];
}

function options(argv: string[]): Options | undefined {
    let all = false;
    const o: Options = { jobs: os.availableParallelism(), preview: false, expectNoChanges: false, parallel: DEFAULT_PARALLEL, cwd: process.cwd(), json: false, policyPacks: [], policyPackConfigs: [] };
    const value = (i: number, flag: string) => {
        const v = argv[i + 1];
        if (v === undefined || v.startsWith("--")) throw new Error(`${flag} needs a value (see --help)`);
        return v;
    };
    const whole = (v: string, flag: string) => {
        const n = Number(v);
        if (!Number.isInteger(n) || n < 1) throw new Error(`${flag} must be a whole number of 1 or more (got "${v}")`);
        return n;
    };
    for (let i = 0; i < argv.length; i++) {
        const a = argv[i];
        if (a === "--help" || a === "-h") return undefined;
        else if (a === "--all-shards") all = true;
        else if (a === "--preview") o.preview = true;
        else if (a === "--expect-no-changes") o.expectNoChanges = true;
        else if (a === "--json") o.json = true;
        else if (a === "--jobs") o.jobs = whole(value(i++, a), a);
        else if (a === "--parallel") o.parallel = whole(value(i++, a), a);
        else if (a === "--stacks") o.stacks = value(i++, a).split(",").map((s) => s.trim()).filter(Boolean);
        else if (a === "--cwd") o.cwd = path.resolve(value(i++, a));
        else if (a === "--logs") o.logs = path.resolve(value(i++, a));
        else if (a === "--policy-pack") o.policyPacks.push(path.resolve(value(i++, a)));
        else if (a === "--policy-pack-config") o.policyPackConfigs.push(path.resolve(value(i++, a)));
        else throw new Error(`unknown argument "${a}" (see --help)`);
    }
    if (!all) throw new Error("only --all-shards is supported (for one stack, run pulumi up --stack <name>); see --help");
    if (o.policyPackConfigs.length && o.policyPackConfigs.length !== o.policyPacks.length) {
        throw new Error(`--policy-pack-config: give one per --policy-pack (${o.policyPacks.length} pack(s), ${o.policyPackConfigs.length} config(s))`);
    }
    for (const d of o.policyPacks) if (!fs.existsSync(path.join(d, "PulumiPolicy.yaml"))) throw new Error(`--policy-pack ${d}: not a policy pack (no PulumiPolicy.yaml)`);
    for (const f of o.policyPackConfigs) if (!fs.existsSync(f)) throw new Error(`--policy-pack-config ${f}: no such file`);
    return o;
}

export interface ShardResult {
    stack: string;
    ok: boolean;
    /** How it ended (pulumiExit.ts): ok, changes (under --expect-no-changes), refused, stack-not-found, ..., failed. */
    outcome: PulumiOutcome;
    seconds: number;
    /** Operations by kind (create, update, delete, same, ...). */
    changes: Record<string, number>;
    error?: string;
    /** The mandatory policy rules whose refusal of the shard's preview kept it from its up. */
    refusedBy?: string[];
}

/** "3 created, 1 updated" (nothing but `same`: "no changes"). */
function describeChanges(c: Record<string, number>): string {
    const words: Record<string, string> = { create: "created", update: "updated", delete: "deleted", replace: "replaced", "create-replacement": "created for replacement", "delete-replaced": "deleted after replacement" };
    const parts = Object.entries(c).filter(([k, n]) => k !== "same" && n > 0).map(([k, n]) => `${n} ${words[k] ?? k}`);
    return parts.length ? parts.join(", ") : "no changes";
}

/** The last lines of a failed shard's output: what the engine said about the failure. */
function tail(text: string, lines = 15): string {
    return text.trim().split("\n").slice(-lines).map((l) => `    ${l}`).join("\n");
}

export async function runShards(o: Options, say: (line: string) => void): Promise<ShardResult[]> {
    if (!fs.existsSync(path.join(o.cwd, "Pulumi.yaml"))) throw new Error(`${o.cwd} is not a Pulumi project (no Pulumi.yaml); give --cwd`);
    let shards: ShardSpec[] = readShardSpecs(o.cwd);
    if (!shards.length) throw new Error(`no stack of ${o.cwd} sets ${BATCHES_KEY} in its Pulumi.<stack>.yaml (run "cloudiway-migration shards <plan> --max-users <n> --init" first)`);
    if (o.stacks) {
        const unknown = o.stacks.filter((s) => !shards.some((x) => x.stack === s));
        if (unknown.length) throw new Error(`--stacks: ${unknown.join(", ")} not a shard of this project (shards: ${shards.map((s) => s.stack).join(", ")})`);
        shards = shards.filter((s) => o.stacks!.includes(s.stack));
    }
    if (o.logs) fs.mkdirSync(o.logs, { recursive: true });
    const { LocalWorkspace, Stack } = await import("@pulumi/pulumi/automation");
    const verb = o.preview ? "preview" : "up";
    // Selecting writes the project's workspace settings: one at a time.
    let selecting: Promise<unknown> = Promise.resolve();
    const selectOne = <T>(f: () => Promise<T>): Promise<T> => { const p = selecting.then(f); selecting = p.catch(() => undefined); return p; };
    const width = Math.max(...shards.map((s) => s.stack.length));

    const one = async (s: ShardSpec): Promise<ShardResult> => {
        const t0 = Date.now();
        let out = "";
        const collect = (text: string) => { out += text; };
        say(`[${s.stack.padEnd(width)}] ${verb} started`);
        try {
            // Fast mode unless the environment says otherwise (docs/campaign.md: what a killed run leaves, how to recover).
            const envVars = process.env.PULUMI_SKIP_CHECKPOINTS === undefined ? { PULUMI_SKIP_CHECKPOINTS: "true" } : undefined;
            const ws = await LocalWorkspace.create({ workDir: o.cwd, ...(envVars ? { envVars } : {}) });
            const stack = await selectOne(() => Stack.select(s.stack, ws));
            const packs = o.policyPacks.length ? { policyPacks: o.policyPacks, ...(o.policyPackConfigs.length ? { policyPackConfigs: o.policyPackConfigs } : {}) } : {};
            const opts = {
                ...(o.parallel ? { parallel: o.parallel } : {}), ...(o.expectNoChanges ? { expectNoChanges: true } : {}), ...packs, onOutput: collect, onError: collect,
            };
            let previewed: Record<string, number> | undefined;
            if (o.preview || o.policyPacks.length || o.expectNoChanges) {
                // With policy packs, the guardrails judge the shard's preview before its up: a refusal ends the shard here.
                // With --expect-no-changes, a preview that proposes a change ends it too: the Automation API's up
                // skips its own preview (--skip-preview), so pulumi would apply the change before saying so.
                try {
                    previewed = (await stack.preview(opts)).changeSummary;
                } catch (e) {
                    const exit = outcomeOf(exitCodeOf(e), `${out}\n${e instanceof Error ? e.message : String(e)}`);
                    if (o.preview || (exit.outcome !== "refused" && exit.outcome !== "changes")) throw e;
                    const refusedBy = exit.refusedBy ?? [];
                    const r: ShardResult = {
                        stack: s.stack, ok: false, outcome: exit.outcome, seconds: (Date.now() - t0) / 1000, changes: {},
                        ...(exit.outcome === "refused"
                            ? { refusedBy, error: `not up: its preview was refused by the policy pack${refusedBy.length ? ` (${refusedBy.join(", ")})` : ""}` }
                            : { error: "not up: its preview proposes changes where none were expected (--expect-no-changes); nothing was applied" }),
                    };
                    say(`[${s.stack.padEnd(width)}] ${verb} ${statusWord(r)} after ${r.seconds.toFixed(1)} s: ${r.error}\n${tail(out)}`);
                    return r;
                }
            }
            const changes = o.preview ? previewed! : ((await stack.up(opts)).summary.resourceChanges ?? {});
            const r: ShardResult = { stack: s.stack, ok: true, outcome: "ok", seconds: (Date.now() - t0) / 1000, changes: { ...changes } };
            say(`[${s.stack.padEnd(width)}] ${verb} finished in ${r.seconds.toFixed(1)} s: ${describeChanges(r.changes)}`);
            return r;
        } catch (e) {
            const message = e instanceof Error ? e.message : String(e);
            const exit = outcomeOf(exitCodeOf(e), `${out}\n${message}`);
            const r: ShardResult = {
                stack: s.stack, ok: false, outcome: exit.outcome, seconds: (Date.now() - t0) / 1000, changes: {},
                error: exit.outcome === "failed" ? lastLine(message) : exit.says, ...(exit.refusedBy?.length ? { refusedBy: exit.refusedBy } : {}),
            };
            say(`[${s.stack.padEnd(width)}] ${verb} ${statusWord(r)} after ${r.seconds.toFixed(1)} s: ${r.error}\n${tail(out || message)}`);
            return r;
        } finally {
            if (o.logs) fs.writeFileSync(path.join(o.logs, `${s.stack}.log`), out);
        }
    };

    const results: ShardResult[] = new Array<ShardResult>(shards.length);
    let next = 0;
    const worker = async () => {
        while (next < shards.length) {
            const i = next++;
            results[i] = await one(shards[i]);
        }
    };
    await Promise.all(Array.from({ length: Math.min(o.jobs, shards.length) }, worker));
    return results;
}

/** The `pulumi` exit code an Automation API error carries (CommandError.commandResult.code). */
function exitCodeOf(e: unknown): number | undefined {
    const code = (e as { commandResult?: { code?: unknown } } | undefined)?.commandResult?.code;
    return typeof code === "number" ? code : undefined;
}

/** ok, CHANGES, REFUSED or FAILED: a shard's status in the table and its end line. */
function statusWord(r: ShardResult): string {
    return r.ok ? "ok" : r.outcome === "changes" ? "CHANGES" : r.outcome === "refused" ? "REFUSED" : "FAILED";
}

/** The engine's own summary line of an error, not the whole command line the Automation API repeats. */
function lastLine(message: string): string {
    const lines = message.split("\n").map((l) => l.trim()).filter(Boolean);
    const useful = lines.filter((l) => /error|failed|killed|signal/i.test(l) && !/^code:|^stdout:|^stderr:|^cmd:/i.test(l));
    return (useful[useful.length - 1] ?? lines[lines.length - 1] ?? "failed").slice(0, 300);
}

export function resultTable(results: ShardResult[], verb: string): string {
    const rows = results.map((r) => [r.stack, statusWord(r), `${r.seconds.toFixed(1)} s`, r.ok ? describeChanges(r.changes) : r.error ?? ""]);
    const head = ["shard", verb, "time", "changes"];
    const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
    const line = (r: string[]) => r.map((c, i) => (i === 3 ? c : c.padEnd(w[i]))).join("  ").trimEnd();
    return `${[line(head), line(w.map((n) => "-".repeat(n))), ...rows.map(line)].join("\n")}\n`;
}

export async function main(argv: string[]): Promise<void> {
    const o = options(argv);
    if (!o) { process.stdout.write(HELP); return; }
    const t0 = Date.now();
    const results = await runShards(o, (line) => process.stderr.write(`${line}\n`));
    const failed = results.filter((r) => !r.ok);
    if (o.json) process.stdout.write(`${JSON.stringify({ seconds: (Date.now() - t0) / 1000, jobs: o.jobs, results }, null, 2)}\n`);
    else process.stdout.write(`\n${resultTable(results, o.preview ? "preview" : "up")}${results.length} shard(s) in ${((Date.now() - t0) / 1000).toFixed(1)} s, ${o.jobs} at a time\n`);
    if (failed.length) {
        process.stderr.write(`cloudiway-migration up: ${failed.length} of ${results.length} shard(s) failed: ${failed.map((r) => `${r.stack} (${statusWord(r)})`).join(", ")}\n`);
        process.exitCode = combinedExitCode(results.map((r) => r.outcome));
    }
}
