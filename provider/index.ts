/** pulumi-cloudiway: Cloudiway mail migration as Pulumi resources. */
export { MailUser, MailUserArgs, MailUserOutputs, PassCounts } from "./resources/mailUser";
export { MailBatch, MailBatchArgs } from "./resources/mailBatch";
export { BatchMembership, BatchMembershipArgs } from "./resources/batchMembership";
export { BatchGlobalSettings, BatchGlobalSettingsArgs, SETTING_DEFAULTS, SETTING_FLAGS } from "./resources/batchGlobalSettings";
export { MigrationRun, MigrationRunArgs, AfterRunData, MigrationAction, MIGRATION_ACTIONS } from "./resources/migrationRun";
export { UNKNOWN } from "./runtime/model";
export * from "./functions";
export { MigrationPlan, MigrationPlanArgs, loadPlan, PlanError, Plan, ShardSpec, parseBatchList, readShardSpecs, selectShard, planProgram, PlanProgramOptions } from "./plan";
