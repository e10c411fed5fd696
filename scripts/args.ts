/** The dev scripts (bench) parse arguments like the shipped commands: one parser, in cli/args.ts. */
export { parseArgs } from "../cli/args";
