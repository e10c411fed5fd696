/**
 * A plan project's program (the root project's index.ts and examples/gitops call it): deploys the
 * plan file named by the stack config `cloudiway-migration:planFile` (default plan.yaml). Connector
 * names are checked against the API before anything is declared, so a bad plan fails preview with
 * every problem listed as file:line.
 *
 * Shards (docs/large-plans-and-shards.md, "Shards"): with `cloudiway-migration:batches` set, the stack
 * deploys only the batches it names (names or globs), their users, memberships, settings and runs,
 * and the users with no batch if `cloudiway-migration:unbatched` is true. The other shards' lists
 * are read from the project's stack config files (Pulumi.<stack>.yaml): a batch in no list (or in
 * two) fails preview as file:line. A run `after:` a batch of another shard reads that shard's
 * exported `batches` output through a StackReference. Every stack exports, per batch it deploys,
 * its runs' phases: `batches: { "<batch>": { runs: [{ run, phase, progress, trigger, performedAt }] } }`.
 * Such a run counts as done only for the trigger this plan declares for it (MigrationRun's afterPending).
 */
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { getSourceConnectors, getTargetConnectors } from "../functions";
import type { AfterRunData } from "../resources/migrationRun";
import { MigrationPlan } from "./component";
import { PlanError, loadPlan } from "./load";
import { isTrue, parseBatchList, readShardSpecs, selectShard } from "./shards";
import { nameOfUrn } from "../tokens";
import type { Kind } from "../client/calls";

/** One batch's runs as a stack exports them (and another shard reads them). */
interface ExportedBatch { runs: { run: string; phase?: string; progress?: string; trigger?: string; performedAt?: string }[] }

/** Reported, then exit 32 ("failed, and said why"): the engine stops and registers nothing. */
async function fail(message: string): Promise<never> {
    // Not thrown: with @pulumi/pulumi 3.248 on Node 20 a program that throws keeps its process
    // growing for minutes (to gigabytes) before it ends; a logged error and exit 32 end it at once.
    await pulumi.log.error(message);
    process.exit(32);
}

export interface PlanProgramOptions {
    /** The project folder: plan files are relative to it, and the shards' Pulumi.<stack>.yaml are read there (default: the language host's root directory, else the current one). */
    root?: string;
}

/**
 * The program of a plan project (the root project, examples/gitops): deploys the plan file named by
 * `cloudiway-migration:planFile` (default plan.yaml), or, with `cloudiway-migration:batches`, the
 * shard of it that this stack deploys. Returns the stack's outputs: planFile, summary, batches.
 * A bad plan (or bad shards) is logged as file:line and the program exits 32.
 */
export async function planProgram(opts: PlanProgramOptions = {}): Promise<Record<string, unknown>> {
    const cfg = new pulumi.Config("cloudiway-migration");
    const root = opts.root ?? (process.env.PULUMI_NODEJS_ROOT_DIRECTORY || process.cwd());
    const file = path.resolve(root, cfg.get("planFile") ?? "plan.yaml");
    const kind = (cfg.get("kind") as Kind | undefined) ?? "mail";
    let connectors: { source: string[]; target: string[] } | undefined;
    try {
        connectors = {
            source: (await getSourceConnectors({ kind })).map((c) => c.name),
            target: (await getTargetConnectors({ kind })).map((c) => c.name),
        };
    } catch (e) {
        pulumi.log.warn(`connector names not checked: ${e instanceof Error ? e.message : String(e)}`);
    }
    let plan: ReturnType<typeof loadPlan>;
    try {
        plan = loadPlan(file, {
            connectors,
            defaults: { sourceConnectorName: cfg.get("sourceConnectorName"), targetConnectorName: cfg.get("targetConnectorName"), kind },
        });
    } catch (e) {
        if (!(e instanceof PlanError)) throw e;
        return fail(e.message);
    }
    const shard = cfg.get("batches");
    let deploy = plan;
    let externalAfter: ((batch: string) => pulumi.Input<AfterRunData>[]) | undefined;
    if (shard !== undefined) {
        const stack = pulumi.getStack();
        let patterns: string[];
        try { patterns = parseBatchList(shard); } catch (e) { return fail(e instanceof Error ? e.message : String(e)); }
        const sel = selectShard(plan, { stack, patterns, unbatched: isTrue(cfg.get("unbatched")), where: "stack config" }, readShardSpecs(root));
        for (const w of sel.warnings) pulumi.log.warn(w);
        if (sel.problems.length) {
            return fail(`The shards of the plan have ${sel.problems.length} problem(s); nothing was applied (the shards' lists are read from ${root}/Pulumi.<stack>.yaml):\n  ${sel.problems.join("\n  ")}`);
        }
        deploy = sel.plan;
        const whole = plan;
        const refs = new Map<string, pulumi.Output<Record<string, ExportedBatch>>>();
        const exportedBy = (other: string) => {
            let out = refs.get(other);
            if (!out) {
                const ref = new pulumi.StackReference(`shard:${other}`, { name: `${pulumi.getOrganization()}/${pulumi.getProject()}/${other}` });
                out = ref.getOutput("batches").apply((b: unknown) => (b && typeof b === "object" ? b : {}) as Record<string, ExportedBatch>);
                refs.set(other, out);
            }
            return out;
        };
        // A batch of another shard: its runs (as the plan declares them, with their triggers), each with the phase and
        // trigger that shard exported (none yet, or another trigger: not done).
        externalAfter = (batch) => {
            const other = sel.stackOf.get(batch)!;
            const runs = whole.batches.find((b) => b.name === batch)?.runs ?? [];
            return runs.map((r) => exportedBy(other).apply((all): AfterRunData => {
                const name = `run:${batch}:${r.action}`;
                const e = Object.prototype.hasOwnProperty.call(all, batch) ? all[batch]?.runs?.find((x) => x.run === name) : undefined;
                return {
                    run: `${other}/${name}`, declaredTrigger: r.trigger,
                    ...(e?.phase ? { phase: e.phase } : {}), ...(e?.progress ? { progress: e.progress } : {}),
                    ...(typeof e?.trigger === "string" ? { trigger: e.trigger } : {}),
                };
            }));
        };
    }
    // The program exports no output of a user: each MailUser object carries its migrationTag only (memory).
    const deployed = new MigrationPlan("plan", { plan: deploy, userOutputs: ["migrationTag"], ...(externalAfter ? { externalAfter } : {}) });
    const batches: Record<string, pulumi.Output<ExportedBatch>> = {};
    for (const [name, runs] of Object.entries(deployed.batchRuns)) {
        batches[name] = pulumi.all(runs.map((r) => pulumi.all([r.urn, r.phase, r.progress, r.trigger, r.performedAt]).apply(([urn, phase, progress, trigger, performedAt]) => ({
            run: nameOfUrn(urn), ...(phase ? { phase } : {}), ...(progress ? { progress } : {}),
            ...(trigger ? { trigger } : {}), ...(performedAt ? { performedAt } : {}),
        })))).apply((list) => ({ runs: list }));
    }
    return { planFile: path.relative(root, file), summary: deployed.summary, batches };
}
