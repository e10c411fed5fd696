export { loadPlan, parseCsv, Plan, PlanBatch, PlanUser, PlanRun, PlanError, LoadOptions } from "./load";
export { MigrationPlan, MigrationPlanArgs } from "./component";
export {
    BATCHES_KEY, UNBATCHED_KEY, PLAN_FILE_KEY, ShardSpec, Selection, Shard, Assignment,
    parseBatchList, globToRegExp, literalPattern, matchesAny, readShardSpecs, selectShard, assignShards, shardConfig, changedBatches, usersPerBatch, isTrue,
} from "./shards";
export { planProgram, PlanProgramOptions } from "./program";
