#!/usr/bin/env node
/**
 * `node dist/emulator/cli.js [args]`: the same as `cloudiway-migration emulator [args]` (cli/emulator.ts),
 * kept for what starts the emulator by this path (tests/chaos.test.ts, tests/emulator-persistence.test.ts).
 */
import { run } from "../cli";

void run(["emulator", ...process.argv.slice(2)]);
