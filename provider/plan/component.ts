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
import { MailUser } from "../resources/mailUser";
import { BatchMembership } from "../resources/batchMembership";
import { BatchGlobalSettings } from "../resources/batchGlobalSettings";
import { MigrationRun } from "../resources/migrationRun";
import { LoadOptions, Plan, loadPlan } from "./load";

export interface MigrationPlanArgs extends LoadOptions {
    /** A loaded plan, or the path of a plan file (YAML or Cloudiway CSV). */
    plan: Plan | string;
}

export class MigrationPlan extends pulumi.ComponentResource {
    readonly users: Record<string, MailUser> = {};
    readonly batches: Record<string, MailBatch> = {};
    readonly memberships: Record<string, BatchMembership> = {};
    readonly runs: MigrationRun[] = [];
    readonly summary: pulumi.Output<{ users: number; batches: number; runs: number }>;

    constructor(name: string, args: MigrationPlanArgs, opts?: pulumi.ComponentResourceOptions) {
        super("cloudiway:index:MigrationPlan", name, {}, opts);
        const plan = typeof args.plan === "string" ? loadPlan(args.plan, args) : args.plan;
        const kind = plan.kind;
        const adopt = plan.adoptExisting;
        const child = { parent: this };
        const withAdopt = adopt === undefined ? {} : { adopt };

        const settingsOf: Record<string, BatchGlobalSettings> = {};
        for (const b of plan.batches) {
            const batch = new MailBatch(`batch:${b.name}`, { name: b.name, kind, ...withAdopt }, child);
            this.batches[b.name] = batch;
            if (b.settings) {
                settingsOf[b.name] = new BatchGlobalSettings(`settings:${b.name}`, { ...b.settings, batchName: batch.name, kind }, child);
            }
        }
        const membersOf: Record<string, BatchMembership[]> = {};
        for (const u of plan.users) {
            const user = new MailUser(`user:${u.sourceEmail}`, {
                firstName: u.firstName, lastName: u.lastName, sourceEmail: u.sourceEmail, targetEmail: u.targetEmail,
                sourceConnectorName: u.sourceConnectorName, targetConnectorName: u.targetConnectorName, kind,
                ...(u.licensed === undefined ? {} : { licensed: u.licensed }), ...withAdopt,
                ...(u.deletionPolicy === undefined ? {} : { deletionPolicy: u.deletionPolicy }),
            }, child);
            this.users[u.sourceEmail] = user;
            if (u.batch) {
                const m = new BatchMembership(`membership:${u.sourceEmail}`, {
                    migrationTag: user.migrationTag, batchName: this.batches[u.batch].name, kind,
                    ...(u.deletionPolicy === undefined ? {} : { deletionPolicy: u.deletionPolicy }), // the user's policy
                }, child);
                this.memberships[u.sourceEmail] = m;
                (membersOf[u.batch] ??= []).push(m);
            }
            for (const r of u.runs) {
                this.runs.push(new MigrationRun(`run:${u.sourceEmail}:${r.action}`, {
                    migrationTag: user.migrationTag, action: r.action, trigger: r.trigger, kind,
                }, { ...child, dependsOn: this.memberships[u.sourceEmail] ? [this.memberships[u.sourceEmail]] : [] }));
            }
        }
        for (const b of plan.batches) {
            const deps: pulumi.Resource[] = [...(membersOf[b.name] ?? []), ...(settingsOf[b.name] ? [settingsOf[b.name]] : [])];
            for (const r of b.runs) {
                this.runs.push(new MigrationRun(`run:${b.name}:${r.action}`, {
                    batchName: this.batches[b.name].name, action: r.action, trigger: r.trigger, kind,
                }, { ...child, dependsOn: deps }));
            }
        }
        this.summary = pulumi.output({ users: plan.users.length, batches: plan.batches.length, runs: this.runs.length });
        this.registerOutputs({ summary: this.summary });
    }
}
