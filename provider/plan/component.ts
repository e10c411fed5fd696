/**
 * MigrationPlan: a plan (see load.ts) as Pulumi resources. Names are stable by
 * natural key, so moving a user to another wave is an update of its membership:
 *   batch:<name>, settings:<batch>, user:<sourceEmail>, membership:<sourceEmail>,
 *   run:<batch>:<action>, run:<sourceEmail>:<action>.
 * A batch's runs depend on its memberships and settings, so a wave starts only
 * once it is complete.
 */
import * as pulumi from "@pulumi/pulumi";
import { MailBatch } from "../resources/mailBatch";
import { MailUser, MailUserOutputs, mailUserModel } from "../resources/mailUser";
import { BatchMembership } from "../resources/batchMembership";
import { BatchGlobalSettings } from "../resources/batchGlobalSettings";
import { AfterRunData, MigrationRun } from "../resources/migrationRun";
import { LoadOptions, Plan, PlanUser, loadPlan } from "./load";

/** A plan user's inputs the API stores (the model's `stored`), those it sets. */
function storedOf(u: PlanUser) {
    type Key = (typeof mailUserModel.stored.keys)[number];
    const out: Partial<Pick<PlanUser, Key>> = {};
    for (const k of mailUserModel.stored.keys) if (u[k] !== undefined) Object.assign(out, { [k]: u[k] });
    return out as Pick<PlanUser, Key>;
}

export interface MigrationPlanArgs extends LoadOptions {
    /** A loaded plan, or the path of a plan file (YAML or Cloudiway CSV). */
    plan: Plan | string;
    /**
     * The runs of a batch that another stack deploys (a shard of the same plan), for an `after:`
     * that names it: data entries of MigrationRunArgs.after (e.g. read through a StackReference).
     * Without it, an `after:` naming a batch the plan does not hold is an error.
     */
    externalAfter?: (batch: string) => pulumi.Input<AfterRunData>[];
    /**
     * The outputs each MailUser object of the plan has (default: all; `migrationTag` always). The others
     * stay in the state. The root project's program reads none of them and asks for `migrationTag`
     * only: at 5,000 users its peak memory is a few hundred MB lower (docs/large-plans-and-shards.md).
     */
    userOutputs?: readonly (keyof MailUserOutputs & string)[];
}

export class MigrationPlan extends pulumi.ComponentResource {
    readonly users: Record<string, MailUser> = {};
    readonly batches: Record<string, MailBatch> = {};
    readonly memberships: Record<string, BatchMembership> = {};
    readonly runs: MigrationRun[] = [];
    /** The runs of each batch (`run:<batch>:<action>`), for the stack's per-batch outputs. */
    readonly batchRuns: Record<string, MigrationRun[]> = Object.create(null) as Record<string, MigrationRun[]>;
    readonly summary: pulumi.Output<{ users: number; batches: number; runs: number }>;

    constructor(name: string, args: MigrationPlanArgs, opts?: pulumi.ComponentResourceOptions) {
        super("cloudiway:index:MigrationPlan", name, {}, opts);
        const plan = typeof args.plan === "string" ? loadPlan(args.plan, args) : args.plan;
        // "mail" is what no kind means (KIND_ABSENT): left out, it is one program property less per resource.
        const kind = plan.kind === "mail" ? {} : { kind: plan.kind };
        const adopt = plan.adoptExisting;
        const child = { parent: this };
        const withAdopt = adopt === undefined ? {} : { adopt };

        // An `after:` naming a batch this plan does not hold (a shard's plan) needs externalAfter: checked before anything is declared.
        const held = new Set(plan.batches.map((b) => b.name));
        const away = [...plan.batches.flatMap((b) => b.runs), ...plan.users.flatMap((u) => u.runs)].find((r) => r.after && !held.has(r.after));
        if (away && !args.externalAfter) throw new Error(`plan: a run is after batch "${away.after}", which this plan does not deploy (give MigrationPlanArgs.externalAfter)`);

        const settingsOf: Record<string, BatchGlobalSettings> = {};
        for (const b of plan.batches) {
            const batch = new MailBatch(`batch:${b.name}`, { name: b.name, ...kind, ...withAdopt }, child);
            this.batches[b.name] = batch;
            if (b.settings) {
                settingsOf[b.name] = new BatchGlobalSettings(`settings:${b.name}`, { ...b.settings, batchName: batch.name, ...kind, ...withAdopt }, child);
            }
        }
        const membersOf: Record<string, BatchMembership[]> = {};
        for (const u of plan.users) {
            const user = new MailUser(`user:${u.sourceEmail}`, {
                ...storedOf(u), ...kind,
                ...(u.licensed === undefined ? {} : { licensed: u.licensed }), ...withAdopt,
                ...(u.deletionPolicy === undefined ? {} : { deletionPolicy: u.deletionPolicy }),
            }, child, args.userOutputs);
            this.users[u.sourceEmail] = user;
            if (u.batch) {
                const m = new BatchMembership(`membership:${u.sourceEmail}`, {
                    migrationTag: user.migrationTag, batchName: this.batches[u.batch].name, ...kind,
                    ...(u.deletionPolicy === undefined ? {} : { deletionPolicy: u.deletionPolicy }), // the user's policy
                    ...withAdopt,
                }, child);
                this.memberships[u.sourceEmail] = m;
                (membersOf[u.batch] ??= []).push(m);
            }
        }
        // Batch runs; `after: <batch>` makes a run wait until that batch's runs are done (MigrationRunArgs.after).
        const batchRuns = this.batchRuns;
        for (const b of plan.batches) batchRuns[b.name] = [];
        const afterOf = (batch: string): (MigrationRun | pulumi.Input<AfterRunData>)[] => {
            if (Object.prototype.hasOwnProperty.call(batchRuns, batch)) return batchRuns[batch];
            return args.externalAfter!(batch);
        };
        const pending = plan.batches.flatMap((b) => b.runs.map((r) => ({ b, r })));
        const make = ({ b, r }: (typeof pending)[number]) => {
            const deps: pulumi.Resource[] = [...(membersOf[b.name] ?? []), ...(settingsOf[b.name] ? [settingsOf[b.name]] : [])];
            const m = new MigrationRun(`run:${b.name}:${r.action}`, {
                batchName: this.batches[b.name].name, action: r.action, trigger: r.trigger, ...kind,
                ...(r.waitFor ? { waitFor: r.waitFor } : {}), ...(r.notBefore ? { notBefore: r.notBefore } : {}),
                ...(r.after ? { after: afterOf(r.after) } : {}),
            }, { ...child, dependsOn: deps });
            batchRuns[b.name].push(m);
            this.runs.push(m);
        };
        // Runs whose `after` batch has all its runs made go first, so the dependency exists; a cycle is refused.
        while (pending.length) {
            const i = pending.findIndex((p) => !p.r.after || !pending.some((x) => x !== p && x.b.name === p.r.after));
            if (i < 0) throw new Error(`plan: the runs' "after:" form a cycle (${pending.map(({ b, r }) => `${b.name} after ${r.after}`).join(", ")})`);
            make(pending.splice(i, 1)[0]);
        }
        // User runs, after their membership (and the runs of their `after` batch).
        for (const u of plan.users) {
            for (const r of u.runs) {
                const deps: pulumi.Resource[] = this.memberships[u.sourceEmail] ? [this.memberships[u.sourceEmail]] : [];
                this.runs.push(new MigrationRun(`run:${u.sourceEmail}:${r.action}`, {
                    migrationTag: this.users[u.sourceEmail].migrationTag, action: r.action, trigger: r.trigger, ...kind,
                    ...(r.waitFor ? { waitFor: r.waitFor } : {}), ...(r.notBefore ? { notBefore: r.notBefore } : {}),
                    ...(r.after ? { after: afterOf(r.after) } : {}),
                }, { ...child, dependsOn: deps }));
            }
        }
        this.summary = pulumi.output({ users: plan.users.length, batches: plan.batches.length, runs: this.runs.length });
        this.registerOutputs({ summary: this.summary });
    }
}
