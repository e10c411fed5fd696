/**
 * The demo: `npm ci && npm run demo`.
 * Gets the Pulumi engine, starts the emulator on a data file under .demo/, uses a
 * local file backend, deploys the sample plan (plan.yaml) with `pulumi up`, and
 * prints the status report. Everything persists in .demo/ (the stack's config
 * Pulumi.demo.yaml too, with its random port and encrypted secret: nothing is
 * written in the repository's root), so a second run's `up` changes nothing.
 */
import { execFileSync, spawn } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { parse, stringify } from "yaml";
import { startEmulator } from "../emulator";
import { CloudiwayClient } from "../provider/client";
import { DEFAULT_PARALLEL } from "../provider/config";
import { buildReport, renderHtml, renderTable } from "../cli/report";
import { outcomeOf } from "../cli/pulumiExit";

const HELP = `Usage: npm run demo [-- --fresh] [--plan <file>] [--dir <folder>]

Builds or reuses the Pulumi engine, starts the local Cloudiway emulator (data in <folder>/cloudiway.json),
deploys the plan (default plan.yaml) to the stack "demo" on a local file backend in <folder> (its config in
<folder>/project/Pulumi.demo.yaml, never in the repository), then
prints the status report and writes <folder>/report.html. Run it again: the second up changes nothing.

  --fresh          start from an empty emulator and an empty stack
  --plan <file>    another plan file (YAML or Cloudiway CSV)
  --dir <folder>   where the demo keeps its state (default .demo)
`;

const ROOT = path.resolve(__dirname, "..", "..");
/** The engine's parallelism the project recommends: the client pool's size (config.ts DEFAULT_PARALLEL). */
const PARALLEL = ["--parallel", String(DEFAULT_PARALLEL)];
const step = (msg: string) => console.log(`\n==> ${msg}`);

/**
 * The root project (Pulumi.yaml: name, config schema) run from <dir>/project, so that Pulumi writes the
 * demo stack's config (Pulumi.demo.yaml) there and not in the repository. Its index.js runs the root
 * program (dist/index.js); node_modules links to the repository's, so @pulumi/pulumi and this package
 * resolve from any --dir.
 */
function demoProject(dir: string): string {
    const project = path.join(dir, "project");
    fs.mkdirSync(project, { recursive: true });
    const spec = parse(fs.readFileSync(path.join(ROOT, "Pulumi.yaml"), "utf8")) as Record<string, unknown>;
    fs.writeFileSync(path.join(project, "Pulumi.yaml"), stringify({ ...spec, main: "index.js" }));
    fs.writeFileSync(path.join(project, "index.js"), `module.exports = require(${JSON.stringify(path.join(ROOT, "dist", "index.js"))});\n`);
    const modules = path.join(project, "node_modules");
    if (!fs.existsSync(modules)) fs.symlinkSync(path.join(ROOT, "node_modules"), modules, "dir");
    // A demo run before this layout kept its stack's config in the root: move it along with the state it
    // belongs to (its salt decrypts that state), only for the default folder.
    const old = path.join(ROOT, "Pulumi.demo.yaml");
    const config = path.join(project, "Pulumi.demo.yaml");
    const hadState = fs.existsSync(path.join(dir, "state", ".pulumi"));
    if (dir === path.join(ROOT, ".demo") && hadState && fs.existsSync(old) && !fs.existsSync(config)) fs.renameSync(old, config);
    return project;
}

async function main() {
    const argv = process.argv.slice(2);
    if (argv.includes("--help") || argv.includes("-h")) {
        process.stdout.write(HELP);
        return;
    }
    const opt = (name: string) => { const i = argv.indexOf(name); return i >= 0 ? argv[i + 1] : undefined; };
    const dir = path.resolve(ROOT, opt("--dir") ?? ".demo");
    const plan = path.resolve(ROOT, opt("--plan") ?? "plan.yaml");
    if (argv.includes("--fresh")) fs.rmSync(dir, { recursive: true, force: true });
    fs.mkdirSync(path.join(dir, "state"), { recursive: true });
    const project = demoProject(dir);

    step("Getting the Pulumi engine (built from Go modules the first time, then cached)");
    const out = execFileSync("bash", [path.join(ROOT, "scripts", "install-engine.sh")], { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] });
    const bin = out.trim().split("\n").pop()!.trim();
    console.log(`engine: ${bin}`);

    step("Starting the Cloudiway emulator");
    const emu = await startEmulator({ port: 0, dataFile: path.join(dir, "cloudiway.json"), transitionMs: 50, quiet: true });
    console.log(`emulator: ${emu.url} (data: ${path.relative(ROOT, path.join(dir, "cloudiway.json"))})`);
    const env = {
        ...process.env,
        PATH: `${bin}${path.delimiter}${process.env.PATH}`,
        PULUMI_HOME: path.join(dir, "pulumi-home"),
        PULUMI_BACKEND_URL: `file://${path.join(dir, "state")}`,
        PULUMI_CONFIG_PASSPHRASE: process.env.PULUMI_CONFIG_PASSPHRASE ?? "demo-passphrase",
        PULUMI_SKIP_UPDATE_CHECK: "1",
        PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "1",
        // Fast mode (docs/large-plans-and-shards.md): the state is written once per run; a killed run is recovered by the next up.
        PULUMI_SKIP_CHECKPOINTS: "true",
    };
    // Asynchronous: the emulator answers from this very process, so its event loop must keep running.
    const pulumi = (args: string[], quiet = false) => new Promise<string>((resolve, reject) => {
        const child = spawn("pulumi", [...args, "--non-interactive"], { cwd: project, env, stdio: quiet ? "pipe" : "inherit" });
        let out = "", err = "";
        child.stdout?.on("data", (d) => (out += d));
        child.stderr?.on("data", (d) => (err += d));
        child.on("error", reject);
        // pulumi's stable exit code says what went wrong (7: the preview after the up found changes: a perpetual diff).
        child.on("exit", (code) => code === 0 ? resolve(out)
            : reject(new Error(`pulumi ${args.join(" ")}: ${outcomeOf(code ?? undefined, `${out}\n${err}`).says}${quiet ? `:\n${out}\n${err}` : ""}`)));
    });
    try {
        step("Stack `demo` on a local file backend");
        const stacks = await pulumi(["stack", "ls", "--json"], true);
        if (!JSON.parse(stacks).some((s: any) => s.name === "demo")) await pulumi(["stack", "init", "demo"], true);
        await pulumi(["stack", "select", "demo"], true);
        await pulumi(["config", "set", "cloudiway:apiUrl", emu.url], true);
        await pulumi(["config", "set", "cloudiway:consumerKey", "demo-key"], true);
        await pulumi(["config", "set", "--secret", "cloudiway:consumerSecret", "demo-secret"], true);
        // The emulator's passes take a second or two: the wave's gate looks every second (a real pass takes hours).
        await pulumi(["config", "set", "cloudiway:waitPollSeconds", "1"], true);
        // Absolute: the program resolves it against the repository, Pulumi's own language host against the project.
        await pulumi(["config", "set", "cloudiway-migration:planFile", plan], true);

        step(`pulumi up of ${path.relative(ROOT, plan)}`);
        await pulumi(["up", "--yes", ...PARALLEL]);

        step("Waiting for the migration passes to finish");
        const client = new CloudiwayClient({ apiUrl: emu.url, consumerKey: "demo-key", consumerSecret: "demo-secret" });
        for (let i = 0; i < 100; i++) {
            const users = await client.getAllUsers("mail");
            const busy = users.filter((u: any) => /SCHEDULED|WORKING|STOPPING|PENDING/.test(String(u.status ?? ""))).length;
            process.stdout.write(`\r${users.length - busy}/${users.length} users settled`);
            if (!busy) break;
            await new Promise((r) => setTimeout(r, 200));
        }
        console.log("");

        step("Status report");
        const report = await buildReport(client, "mail");
        console.log(renderTable(report));
        fs.writeFileSync(path.join(dir, "report.html"), renderHtml(report));
        console.log(`\nHTML report: ${path.join(dir, "report.html")}`);
        await client.close?.();

        step("pulumi preview (should show no changes)");
        await pulumi(["preview", "--expect-no-changes", ...PARALLEL]);
        console.log("\nDone. Run `npm run demo` again: the second `up` changes nothing.");
    } finally {
        await emu.close();
    }
}

main().catch((e) => {
    console.error(`demo: ${e instanceof Error ? e.message : String(e)}`);
    process.exit(1);
});
