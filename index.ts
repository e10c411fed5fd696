/**
 * The root project `cloudiway-migration`: deploys the plan file named by the stack config
 * `cloudiway-migration:planFile` (default plan.yaml), or the shard of it named by
 * `cloudiway-migration:batches` (provider/plan/program.ts; docs/large-plans-and-shards.md, "Shards").
 */
import * as path from "path";
import { planProgram } from "./provider";

// Relative to the project (the program itself runs from dist/).
export = () => planProgram({ root: process.env.PULUMI_NODEJS_ROOT_DIRECTORY || path.resolve(__dirname, "..") });
