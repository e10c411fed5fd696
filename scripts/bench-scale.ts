/**
 * `npm run bench:scale -- [--users 1000] [--batches 10] [--latency-ms 20]`: prints a table and writes
 * JSON under bench/results/. Side by side in one run, against the emulator with injected latency:
 *  (a) the naive sequential script an admin would write (the same API calls in a loop),
 *  (b) `pulumi up` of as many no-op dynamic resources (Pulumi's own cost),
 *  (c) `pulumi up` of the plan through this provider,
 * then API requests of a no-op preview, a no-op up and a refresh, and state bytes per MailUser.
 * A figure, not a test.
 */
import { spawn } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { startEmulator } from "../emulator";
import { CloudiwayClient } from "../provider/client";
import { parseArgs } from "./args";

const ROOT = path.resolve(__dirname, "..", "..");

function run(cmd: string, args: string[], cwd: string, env: NodeJS.ProcessEnv): Promise<string> {
    return new Promise((resolve, reject) => {
        const c = spawn(cmd, args, { cwd, env, stdio: ["ignore", "pipe", "pipe"] });
        let out = "", err = "";
        c.stdout.on("data", (d) => (out += d));
        c.stderr.on("data", (d) => (err += d));
        c.on("exit", (code) => (code === 0 ? resolve(out) : reject(new Error(`${cmd} ${args.join(" ")}: ${code}\n${out.slice(-2000)}\n${err.slice(-2000)}`))));
    });
}
const seconds = async (f: () => Promise<unknown>) => { const t = Date.now(); await f(); return (Date.now() - t) / 1000; };

async function main() {
    const a = parseArgs(process.argv.slice(2));
    if (a.help) { console.log("Usage: npm run bench:scale -- [--users 1000] [--batches 10] [--latency-ms 20]"); return; }
    const users = Number(a.users ?? 1000), batches = Number(a.batches ?? 10), latencyMs = Number(a["latency-ms"] ?? 20);
    const bin = (await run("bash", [path.join(ROOT, "scripts", "install-engine.sh")], ROOT, process.env)).trim().split("\n").pop()!;
    const emu = await startEmulator({ port: 0, quiet: true });
    const work = fs.mkdtempSync(path.join(ROOT, ".test-stacks", "bench-"));
    const env = {
        ...process.env, PATH: `${bin}${path.delimiter}${process.env.PATH}`, PULUMI_HOME: path.join(work, "home"),
        PULUMI_BACKEND_URL: `file://${work}`, PULUMI_CONFIG_PASSPHRASE: "bench", PULUMI_SKIP_UPDATE_CHECK: "1",
        PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "1", CLOUDIWAY_CONSUMER_KEY: "demo-key", CLOUDIWAY_CONSUMER_SECRET: "demo-secret",
    };
    const stats = async () => (await (await fetch(`${emu.baseUrl}/_emulator/stats`)).json()) as any;
    const resetStats = () => fetch(`${emu.baseUrl}/_emulator/stats/reset`, { method: "POST" });
    const person = (i: number) => ({
        firstName: `Scale${i}`, lastName: "User", sourceEmail: `scale${i}@source.example`, targetEmail: `scale${i}@target.example`,
        sourceConnectorName: "Gmail", targetConnectorName: "Office 365",
    });
    const result: Record<string, unknown> = { users, batches, latencyMs, node: process.version };
    try {
        await fetch(`${emu.baseUrl}/_emulator/faults`, { method: "POST", body: JSON.stringify({ latencyMs }) });
        // (a) naive sequential script
        const client = new CloudiwayClient({ apiUrl: emu.url, consumerKey: "demo-key", consumerSecret: "demo-secret" });
        result.naiveSeconds = await seconds(async () => {
            for (let b = 0; b < batches; b++) {
                await client.createBatch("mail", `Scale ${b}`);
                await client.setGlobalSettings("mail", `Scale ${b}`, {
                    shouldMigrateMails: true, shouldMigrateTrash: false, shouldMigrateCalendars: true, shouldMigrateContacts: true, shouldMigrateTasks: true,
                    shouldMigrateNotes: true, shouldMigrateJournals: false, shouldConvertEmailAddresses: true, shouldConvertX500: true, fromDate: null, toDate: null,
                });
            }
            for (let i = 0; i < users; i++) {
                const { migrationTag } = await client.createUser("mail", person(i));
                await client.addToBatch("mail", migrationTag, `Scale ${i % batches}`);
            }
        });
        result.naiveRequests = (await stats()).total;
        await client.close();
        await fetch(`${emu.baseUrl}/_emulator/reset`, { method: "POST" });
        await fetch(`${emu.baseUrl}/_emulator/faults`, { method: "POST", body: JSON.stringify({ latencyMs }) });

        // (b) no-op dynamic resources
        const noop = path.join(work, "noop");
        fs.mkdirSync(noop);
        fs.writeFileSync(path.join(noop, "Pulumi.yaml"), "name: noop\nruntime:\n  name: nodejs\n  options:\n    typescript: false\nmain: index.js\n");
        fs.writeFileSync(path.join(noop, "index.js"), `const pulumi = require("@pulumi/pulumi");
const provider = { async create(inputs) { return { id: String(Math.random()), outs: inputs }; } };
for (let i = 0; i < ${users * 2 + batches * 2}; i++) new pulumi.dynamic.Resource(provider, "r" + i, { i });\n`);
        await run("pulumi", ["stack", "init", "bench", "--non-interactive"], noop, env);
        result.noopSeconds = await seconds(() => run("pulumi", ["up", "--yes", "--skip-preview", "--non-interactive"], noop, env));

        // (c) the provider, through the root project and a generated plan
        const planFile = path.join(work, "plan.yaml");
        const lines = ["defaults: { sourceConnectorName: Gmail, targetConnectorName: Office 365 }", "batches:"];
        for (let b = 0; b < batches; b++) {
            lines.push(`  - name: Scale ${b}`, "    settings: { shouldMigrateMails: true }", "    users:");
            for (let i = b; i < users; i += batches) {
                const p = person(i);
                lines.push(`      - { firstName: ${p.firstName}, lastName: ${p.lastName}, sourceEmail: ${p.sourceEmail}, targetEmail: ${p.targetEmail} }`);
            }
        }
        fs.writeFileSync(planFile, lines.join("\n") + "\n");
        const proj = path.join(work, "plan");
        fs.mkdirSync(proj);
        fs.writeFileSync(path.join(proj, "Pulumi.yaml"), "name: cloudiway-migration\nruntime:\n  name: nodejs\n  options:\n    typescript: false\nmain: index.js\n");
        fs.writeFileSync(path.join(proj, "index.js"), `module.exports = require(${JSON.stringify(path.join(ROOT, "dist", "index.js"))});\n`);
        const p = (args: string[]) => run("pulumi", [...args, "--non-interactive", "--stack", "bench"], proj, env);
        await run("pulumi", ["stack", "init", "bench", "--non-interactive"], proj, env);
        await p(["config", "set", "cloudiway:apiUrl", emu.url]);
        await p(["config", "set", "cloudiway-migration:planFile", planFile]);
        await resetStats();
        result.providerUpSeconds = await seconds(() => p(["up", "--yes", "--skip-preview"]));
        result.providerUpRequests = (await stats()).total;
        for (const [name, args] of [["noopPreview", ["preview"]], ["noopUp", ["up", "--yes", "--skip-preview"]], ["refresh", ["refresh", "--yes", "--skip-preview"]]] as const) {
            await resetStats();
            const t = await seconds(() => p([...args]));
            const s = await stats();
            result[`${name}Seconds`] = t;
            result[`${name}Requests`] = s.total;
            result[`${name}Mutating`] = s.mutating;
        }
        const state = JSON.parse(await p(["stack", "export"]));
        const mailUsers = state.deployment.resources.filter((r: any) => String(r.type).endsWith(":MailUser"));
        result.stateBytesPerMailUser = Math.round(mailUsers.reduce((n: number, r: any) => n + JSON.stringify(r).length, 0) / Math.max(1, mailUsers.length));
        result.providerBytes = Buffer.byteLength(mailUsers[0]?.inputs?.__provider ?? "");
        result.upVsNaive = Number(((result.providerUpSeconds as number) / (result.naiveSeconds as number)).toFixed(2));
        result.upVsNoop = Number(((result.providerUpSeconds as number) / (result.noopSeconds as number)).toFixed(2));
    } finally {
        await emu.close();
        fs.rmSync(work, { recursive: true, force: true });
    }
    console.log(`\nbench:scale — ${users} users, ${batches} batches, ${latencyMs} ms injected latency\n`);
    for (const [k, v] of Object.entries(result)) console.log(`${k.padEnd(24)} ${v}`);
    const dir = path.join(ROOT, "bench", "results");
    fs.mkdirSync(dir, { recursive: true });
    const file = path.join(dir, `scale-${users}-${new Date().toISOString().replace(/[:.]/g, "-")}.json`);
    fs.writeFileSync(file, JSON.stringify(result, null, 2));
    console.log(`\nwrote ${path.relative(process.cwd(), file)}`);
}

main().catch((e) => { console.error(`bench:scale: ${e?.message ?? e}`); process.exit(1); });
