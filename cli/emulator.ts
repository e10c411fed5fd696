/** `cloudiway-migration emulator --port <p> --data <file>`: a local Cloudiway; prints its API base URL. */
import { startEmulator } from "../emulator";
import { parseArgs } from "./args";

export const HELP = `Usage: cloudiway-migration emulator [--port <p>] [--data <file>] [--consumer-key <k>] [--consumer-secret <s>] [--transition-ms <n>] [--pass-steps <n>]

Serves the Cloudiway Mail REST API (/mailusers and /archivemailusers) under http://127.0.0.1:<p>/api
and prints that URL. State persists in the data file (written atomically before each answer).
Control API (not Cloudiway's): GET /_emulator/stats, GET /_emulator/calls, POST /_emulator/reset,
POST /_emulator/faults, GET /_emulator/state, POST /_emulator/tick, GET /_emulator/outbox,
GET /_emulator (the list), GET|POST /_emulator/lifecycle ({transitionMs, passSteps}),
GET|POST /_emulator/outcomes ({kind?, users: {"<email or tag>": "ONERROR"|"STOP"|"SUCCESS"|...}}:
how chosen users' next pass ends).
Emulator only, not in the vendor's REST document: self-service migration (POST .../sendselfservicemail,
the form at /selfservice/<token> and /selfservice/admin/<mail|archive>/<tag>; the source mailbox
password is "pw:" + the source address in lower case). See docs/emulator.md.

  --port <p>             port (default 8080; 0 = any free port)
  --data <file>          data file (default: memory only)
  --consumer-key <k>     default demo-key
  --consumer-secret <s>  default demo-secret
  --transition-ms <n>    time per migration step (default 1500; 0 = immediate)
  --pass-steps <n>       steps a migration pass takes (default 2)
`;

/** Runs until SIGINT or SIGTERM (cli/index.ts dispatches here). */
export async function main(argv: string[]): Promise<void> {
    const args = parseArgs(argv);
    if (args.help) {
        process.stdout.write(HELP);
        return;
    }
    const emu = await startEmulator({
        port: Number(args.port ?? 8080),
        dataFile: args.data,
        consumerKey: args["consumer-key"],
        consumerSecret: args["consumer-secret"],
        transitionMs: Number(args["transition-ms"] ?? 1500),
        passSteps: args["pass-steps"] ? Number(args["pass-steps"]) : undefined,
    });
    console.log(emu.url);
    const stop = () => { emu.close().then(() => process.exit(0), () => process.exit(1)); };
    process.on("SIGTERM", stop);
    process.on("SIGINT", stop);
}
