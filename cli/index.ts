#!/usr/bin/env node
/**
 * The package's one command, `cloudiway-migration <command> [args]`: the tools admins run in
 * pipelines. One module per command in this folder, each with its own `--help`; a command's
 * module is loaded only when it runs. In this repository `npm run <command> -- [args]` runs the same.
 */
import * as fs from "fs";
import * as path from "path";

interface Command {
    summary: string;
    load: () => Promise<{ main(argv: string[]): Promise<void> }>;
}

const COMMANDS: Record<string, Command> = {
    report: { summary: "batches x statuses with per-pass counts, and an HTML page with bars", load: () => import("./report") },
    "plan-summary": { summary: "`pulumi preview --json` as Markdown for a pull request (MigrationRuns first)", load: () => import("./plan-summary") },
    "export-plan": { summary: "a live tenant as a plan file with adoptExisting: true", load: () => import("./export-plan") },
    drift: { summary: "what differs between a stack and the tenant, and what no stack declares, as Markdown", load: () => import("./drift") },
    shards: { summary: "splits a plan into shards (stacks of whole batches); --init creates them; --changed-since: the shards a change touches", load: () => import("./shards") },
    up: { summary: "up --all-shards: every shard's pulumi up (or --preview) side by side, N at a time", load: () => import("./up") },
    emulator: { summary: "a local Cloudiway Mail REST API, for rehearsals and tests", load: () => import("./emulator") },
};

const HELP = `Usage: cloudiway-migration <command> [args]

Commands:
${Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(14)}${c.summary}`).join("\n")}

  cloudiway-migration <command> --help   that command's options
  cloudiway-migration --version          the package's version
`;

/** The version in the package's own package.json (dist/cli/ is two levels below it). */
function version(): string {
    return (JSON.parse(fs.readFileSync(path.join(__dirname, "..", "..", "package.json"), "utf8")) as { version: string }).version;
}

export async function run(argv: string[]): Promise<void> {
    const [name, ...rest] = argv;
    if (name === undefined || name === "--help" || name === "-h" || name === "help") {
        // `help <command>` is that command's --help; no command at all is a usage error.
        if (name === "help" && rest[0] && COMMANDS[rest[0]]) return (await COMMANDS[rest[0]].load()).main(["--help"]);
        process.stdout.write(HELP);
        if (name === undefined) process.exitCode = 2;
        return;
    }
    if (name === "--version" || name === "-v") {
        console.log(version());
        return;
    }
    const command = COMMANDS[name];
    if (!command) {
        process.stderr.write(`cloudiway-migration: unknown command "${name}"\n\n${HELP}`);
        process.exitCode = 2;
        return;
    }
    try {
        await (await command.load()).main(rest);
    } catch (e) {
        console.error(`cloudiway-migration ${name}: ${e instanceof Error ? e.message : String(e)}`);
        process.exitCode = 1;
    }
}

if (require.main === module) void run(process.argv.slice(2));
