export { loadPlan, parseCsv, Plan, PlanBatch, PlanUser, PlanRun, PlanError, LoadOptions } from "./load";
export { MigrationPlan, MigrationPlanArgs } from "./component";
