import * as pulumi from "@pulumi/pulumi";
import { MigrationPlan } from "pulumi-cloudiway";

// The plan is data, reviewed like code: plan.yaml in this folder.
// Credentials come from CI secrets through the environment (CLOUDIWAY_CONSUMER_KEY / _SECRET).
const config = new pulumi.Config();
const plan = new MigrationPlan("plan", { plan: `${__dirname}/${config.get("planFile") ?? "plan.yaml"}` });
export const summary = plan.summary;
