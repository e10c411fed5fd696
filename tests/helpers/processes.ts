/** The process helpers of the chaos tests: shared with the benches, in harness/processes.ts. */
export * from "../../harness/processes";
