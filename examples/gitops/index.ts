import { planProgram } from "pulumi-cloudiway";

// The plan is data, reviewed like code: plan.yaml in this folder (or cloudiway-migration:planFile).
// Each stack is a shard of it: the batches named by its cloudiway-migration:batches (Pulumi.<stack>.yaml,
// committed here; docs/large-plans-and-shards.md, "Shards"). A stack without that key deploys the whole plan.
// Credentials come from CI secrets through the environment (CLOUDIWAY_CONSUMER_KEY / _SECRET).
export = () => planProgram({ root: __dirname });
