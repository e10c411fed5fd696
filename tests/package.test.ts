/**
 * The package as its users get it: `npm pack` of this repository, installed with
 * `npm install <tarball>` into a temp folder outside the repository (so nothing resolves
 * from the repository's node_modules). There: the `cloudiway-migration` bin and each
 * subcommand's --help through npx, and a Pulumi program (one MailBatch, one MailUser)
 * deployed by the real engine against the emulator — the dynamic provider loading
 * `pulumi-cloudiway/impl` through the package's `exports`.
 */
import * as assert from "assert";
import { ChildProcess, execFile, spawn } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { parse } from "yaml";
import { Emulator, startEmulator } from "../emulator";
import { REPO, TestStack, changes, engineBinDir, skipIfEngineOptedOut } from "./helpers/engine";
import { batchesOf, control, emuState, usersOf } from "./helpers/emu";

interface Run { code: number; stdout: string; stderr: string }

/**
 * The environment for npm in the temp folder: without the npm_* variables of an enclosing
 * `npm test` (its package, lifecycle and prefix would point npm back at this repository),
 * but with the user's cache, registry and npmrc.
 */
function npmEnv(): NodeJS.ProcessEnv {
    const env: NodeJS.ProcessEnv = {};
    for (const [k, v] of Object.entries(process.env)) {
        if (!/^npm_/i.test(k) || /^npm_config_(cache|registry|userconfig)$/i.test(k)) env[k] = v;
    }
    return env;
}

function run(cmd: string, args: string[], cwd: string, timeoutMs = 10 * 60 * 1000): Promise<Run> {
    return new Promise((resolve) => {
        execFile(cmd, args, { cwd, env: npmEnv(), timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
            const code = err ? (typeof (err as { code?: unknown }).code === "number" ? (err as { code: number }).code : 1) : 0;
            resolve({ code, stdout, stderr });
        });
    });
}

function ok(r: Run, what: string): Run {
    assert.strictEqual(r.code, 0, `${what} failed (${r.code}):\n${r.stdout}\n${r.stderr}`);
    return r;
}

/** `npx cloudiway-migration …`; `--no`: the installed bin only, never a package of that name fetched from the registry. */
const npx = (dir: string, args: string[]) => run("npx", ["--no", "--", "cloudiway-migration", ...args], dir, 60 * 1000);

let tmp: string | undefined;
let installing: Promise<{ dir: string; files: string[]; tarball: string }> | undefined;

/** Packs and installs once per test run; resolves to the install folder, the tarball's file list and its path. */
function packedInstall(): Promise<{ dir: string; files: string[]; tarball: string }> {
    installing ??= (async () => {
        tmp = fs.mkdtempSync(path.join(os.tmpdir(), "cw-package-"));
        // --ignore-scripts: `prepare` would compile dist/ again; the test command has just done it.
        const packed = ok(await run("npm", ["pack", "--ignore-scripts", "--json", "--pack-destination", tmp], REPO), "npm pack");
        const [info] = JSON.parse(packed.stdout) as { filename: string; files: { path: string }[] }[];
        const dir = path.join(tmp, "app");
        fs.mkdirSync(dir);
        fs.writeFileSync(path.join(dir, "package.json"), JSON.stringify({ name: "cw-package-test", private: true }, null, 2));
        // --prefer-offline: the dependencies come from npm's cache (filled by this repository's `npm ci`) when they are there.
        ok(await run("npm", ["install", path.join(tmp, info.filename), "--prefer-offline", "--no-audit", "--no-fund"], dir), "npm install <tarball>");
        return { dir, files: info.files.map((f) => f.path), tarball: path.join(tmp, info.filename) };
    })();
    return installing;
}

describe("package: `npm pack` installed in a temp folder", function () {
    this.timeout(20 * 60 * 1000);

    after(() => {
        if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
    });

    describe("the cloudiway-migration bin", function () {
        let dir: string;
        before(async function () {
            ({ dir } = await packedInstall());
        });

        it("ships the bin, the provider, its implementation entry and the emulator, and no dev scripts or tests", async () => {
            const { files } = await packedInstall();
            for (const f of ["package.json", "dist/cli/index.js", "dist/provider/index.js", "dist/provider/impl.js", "dist/emulator/index.js",
                "policy/PulumiPolicy.yaml", "policy/package.json", "policy/index.js", "dist/policy/pack.js",
                "README.md", "docs/getting-started.md", "docs/configuration.md"]) {
                assert.ok(files.includes(f), `${f} is in the package`);
            }
            const extra = files.filter((f) => /^dist\/(scripts|tests)\//.test(f) || f === "impl.js" || /^Pulumi\./.test(f) || /^docs\/api\//.test(f));
            assert.deepStrictEqual(extra, [], "no dev scripts, tests, root impl.js, stack files or generated API reference in the package");
            const installed = path.join(dir, "node_modules", "pulumi-cloudiway");
            assert.ok(fs.existsSync(path.join(dir, "node_modules", ".bin", "cloudiway-migration")), "npm linked the bin");
            assert.match(fs.readFileSync(path.join(installed, "dist", "cli", "index.js"), "utf8"), /^#!\/usr\/bin\/env node\n/);
        });

        it("`npx cloudiway-migration --help` lists the seven commands", async () => {
            const r = ok(await npx(dir, ["--help"]), "cloudiway-migration --help");
            assert.match(r.stdout, /^Usage: cloudiway-migration <command>/);
            for (const c of ["report", "plan-summary", "export-plan", "drift", "emulator", "shards", "up"]) assert.match(r.stdout, new RegExp(`^  ${c} `, "m"));
        });

        for (const command of ["report", "plan-summary", "export-plan", "drift", "emulator", "shards", "up"]) {
            it(`\`npx cloudiway-migration ${command} --help\` prints its usage`, async () => {
                const r = ok(await npx(dir, [command, "--help"]), `cloudiway-migration ${command} --help`);
                assert.match(r.stdout, new RegExp(`^Usage: cloudiway-migration ${command} `));
            });
        }

        it("no command, or an unknown one, is a usage error (exit 2)", async () => {
            assert.strictEqual((await npx(dir, [])).code, 2);
            const r = await npx(dir, ["nope"]);
            assert.strictEqual(r.code, 2);
            assert.match(r.stderr, /unknown command "nope"/);
        });

        it("plan-summary turns a preview's JSON into Markdown", async () => {
            const preview = path.join(dir, "preview.json");
            fs.writeFileSync(preview, JSON.stringify({ steps: [] }));
            const r = ok(await npx(dir, ["plan-summary", preview]), "plan-summary");
            assert.match(r.stdout, /^## Cloudiway migration plan/);
            assert.match(r.stdout, /Migration actions that will run[^\n]*\n\nNone\./);
        });

        it("emulator serves the API until SIGTERM, then exits 0", async () => {
            // The bin npx runs, started directly: npx itself dies of the signal it forwards, hiding the exit code.
            const child: ChildProcess = spawn(path.join(dir, "node_modules", ".bin", "cloudiway-migration"), ["emulator", "--port", "0"], {
                cwd: dir, env: npmEnv(), stdio: ["ignore", "pipe", "pipe"],
            });
            const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
            try {
                const url = await new Promise<string>((resolve, reject) => {
                    let out = "";
                    child.stdout!.on("data", (d) => {
                        out += d;
                        const m = out.match(/^(http:\/\/\S+)\n/m);
                        if (m) resolve(m[1]);
                    });
                    child.on("exit", (code) => reject(new Error(`emulator exited (${code}) before printing its URL: ${out}`)));
                });
                assert.match(url, /^http:\/\/127\.0\.0\.1:\d+\/api$/);
                assert.strictEqual(typeof (await control(url).stats()).total, "number", "the control API answers");
            } finally {
                child.kill("SIGTERM");
            }
            assert.strictEqual(await exited, 0, "exits 0 on SIGTERM");
        });
    });

    it("a program on package-lock's @pulumi/pulumi that installs the package holds one copy of @pulumi/pulumi (the package takes a range)", async () => {
        const { tarball } = await packedInstall();
        const sdk = (JSON.parse(fs.readFileSync(path.join(REPO, "package-lock.json"), "utf8")) as {
            packages: Record<string, { version: string }>;
        }).packages["node_modules/@pulumi/pulumi"].version;
        const dir = path.join(tmp!, "program");
        fs.mkdirSync(dir);
        fs.writeFileSync(path.join(dir, "package.json"), JSON.stringify({ name: "cw-one-sdk", private: true }, null, 2));
        ok(await run("npm", ["install", `@pulumi/pulumi@${sdk}`, tarball, "--prefer-offline", "--no-audit", "--no-fund"], dir), "npm install");
        const copies: string[] = [];
        const walk = (d: string): void => {
            for (const e of fs.readdirSync(d, { withFileTypes: true })) {
                if (!e.isDirectory()) continue;
                const p = path.join(d, e.name);
                if (p.endsWith(path.join("node_modules", "@pulumi", "pulumi"))) copies.push(path.relative(dir, p));
                walk(p);
            }
        };
        walk(path.join(dir, "node_modules"));
        assert.deepStrictEqual(copies, [path.join("node_modules", "@pulumi", "pulumi")], "one copy of @pulumi/pulumi");
        assert.strictEqual(JSON.parse(fs.readFileSync(path.join(dir, copies[0], "package.json"), "utf8")).version, sdk);
    });

    describe("@engine a Pulumi program in the install folder", function () {
        let dir: string;
        let emu: Emulator | undefined;
        let stack: TestStack | undefined;

        before(async function () {
            skipIfEngineOptedOut(this);
            ({ dir } = await packedInstall());
            emu = await startEmulator({ port: 0, quiet: true });
        });
        after(async () => {
            await stack?.dispose();
            await emu?.close();
        });

        it("deploys one MailBatch and one MailUser against the emulator, then previews no changes and destroys", async () => {
            fs.writeFileSync(path.join(dir, "Pulumi.yaml"), "name: cw-package\nruntime:\n  name: nodejs\n  options:\n    typescript: false\nmain: index.js\n");
            fs.writeFileSync(path.join(dir, "index.js"), `const cw = require("pulumi-cloudiway");
const wave = new cw.MailBatch("wave", { name: "Package Wave" });
const ada = new cw.MailUser("ada", {
    firstName: "Ada", lastName: "Lovelace", sourceEmail: "ada@source.example", targetEmail: "ada@target.example",
    sourceConnectorName: "Gmail", targetConnectorName: "Office 365",
});
exports.batch = wave.name;
exports.tag = ada.migrationTag;
`);
            stack = await TestStack.create({ name: "package", apiUrl: emu!.url, programDir: dir });
            await stack.up();
            const state = await emuState(emu!.baseUrl);
            assert.deepStrictEqual(batchesOf(state).map((b: { name: string }) => b.name), ["Package Wave"]);
            assert.deepStrictEqual(usersOf(state).map((u: { sourceEmail: string }) => u.sourceEmail), ["ada@source.example"]);
            const resources = await stack.resources();
            assert.deepStrictEqual([...resources.keys()].sort(), ["ada", "wave"]);
            // The state names the implementation by package name only: the installed package's `exports` resolve it.
            assert.match(JSON.stringify(resources.get("ada").inputs.__provider), /pulumi-cloudiway\/impl/);
            const { steps } = await stack.preview();
            assert.deepStrictEqual(changes(steps), [], "a second preview changes nothing");
            // The policy pack of the installed package, from its folder in node_modules (nothing installed there):
            // licensing ada is over a budget of 0, and within a budget of 1.
            fs.writeFileSync(path.join(dir, "index.js"), fs.readFileSync(path.join(dir, "index.js"), "utf8").replace('targetConnectorName: "Office 365",', 'targetConnectorName: "Office 365", licensed: true,'));
            const budget = (max: number) => {
                const file = path.join(dir, `budget-${max}.json`);
                fs.writeFileSync(file, JSON.stringify({ "license-budget": { max } }));
                return stack!.cli(["preview", "--policy-pack", "node_modules/pulumi-cloudiway/policy", "--policy-pack-config", file], true);
            };
            const over = await budget(0);
            assert.notStrictEqual(over.code, 0, over.stdout);
            assert.match(over.stdout, /\[mandatory\]\s+license-budget[\s\S]*This change uses 1 licenses, over the budget of 0: 1 assigned \(ada@source\.example -> ada@target\.example\)/);
            const within = await budget(1);
            assert.strictEqual(within.code, 0, within.stdout + within.stderr);
            assert.match(within.stdout, /cloudiway@v\d+\.\d+\.\d+ \(local: node_modules\/pulumi-cloudiway\/policy\)/, "the pack ran");
            await stack.destroy();
            assert.strictEqual((await stack.resources()).size, 0);
        });
    });
    describe("@engine `pulumi new` from the package's template", function () {
        let emu: Emulator | undefined;
        before(async function () {
            skipIfEngineOptedOut(this);
            emu = await startEmulator({ port: 0, transitionMs: 0, quiet: true });
        });
        after(async () => {
            await emu?.close();
        });

        it("pulumi new (config asked: API URL, key, secret as a secret), npm install, pulumi up deploys the plan; the next preview is empty", async () => {
            const { dir: installed, tarball } = await packedInstall();
            const root = path.join(tmp!, "from-template");
            const project = path.join(root, "migration");
            fs.mkdirSync(path.join(root, "state"), { recursive: true });
            const env = {
                ...npmEnv(), PATH: `${engineBinDir()}${path.delimiter}${process.env.PATH}`, PULUMI_HOME: path.join(root, "home"),
                PULUMI_BACKEND_URL: `file://${path.join(root, "state")}`, PULUMI_CONFIG_PASSPHRASE: "test-passphrase",
                PULUMI_SKIP_UPDATE_CHECK: "1", PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "1",
                CLOUDIWAY_API_URL: "", CLOUDIWAY_CONSUMER_KEY: "", CLOUDIWAY_CONSUMER_SECRET: "",
            };
            const pulumi = (args: string[], cwd: string, stdin?: string) => new Promise<Run>((resolve) => {
                const child = execFile("pulumi", [...args, "--non-interactive"], { cwd, env, maxBuffer: 64 * 1024 * 1024, timeout: 10 * 60 * 1000 }, (err, stdout, stderr) => {
                    resolve({ code: err ? Number((err as { code?: unknown }).code ?? 1) : 0, stdout, stderr });
                });
                child.stdin!.end(stdin ?? "");
            });
            // The template as the installed package ships it: it asks for the URL, the key and the secret (as a secret).
            const template = path.join(installed, "node_modules", "pulumi-cloudiway", "templates", "cloudiway-migration");
            const asked = (parse(fs.readFileSync(path.join(template, "Pulumi.yaml"), "utf8")) as { template: { config: Record<string, { secret?: boolean }> } }).template.config;
            assert.deepStrictEqual(Object.keys(asked), ["cloudiway:apiUrl", "cloudiway:consumerKey", "cloudiway:consumerSecret"]);
            assert.strictEqual(asked["cloudiway:consumerSecret"].secret, true);
            // --yes answers the prompts from --config; a value given with --config is kept in plain text, so the
            // secret is set as a secret (from standard input, never on a command line), as the README says.
            ok(await pulumi(["new", template, "--dir", project, "--name", "cw-template", "--stack", "dev", "--yes",
                "--config", `cloudiway:apiUrl=${emu!.url}`, "--config", "cloudiway:consumerKey=demo-key"], root), "pulumi new");
            ok(await pulumi(["config", "set", "--secret", "cloudiway:consumerSecret"], project, "demo-secret"), "pulumi config set --secret");
            const stackConfig = fs.readFileSync(path.join(project, "Pulumi.dev.yaml"), "utf8");
            assert.match(stackConfig, /cloudiway:consumerSecret:\s+secure: /, "the secret is kept encrypted");
            assert.doesNotMatch(stackConfig, /demo-secret/);
            assert.strictEqual(JSON.parse(fs.readFileSync(path.join(project, "package.json"), "utf8")).name, "cw-template");
            ok(await run("npm", ["install", tarball, "--prefer-offline", "--no-audit", "--no-fund"], project), "npm install");
            ok(await pulumi(["up", "--yes", "--skip-preview"], project), "pulumi up");
            const state = await emuState(emu!.baseUrl);
            assert.deepStrictEqual(batchesOf(state).map((b: { name: string }) => b.name).sort(), ["Wave 1 - Pilot", "Wave 2 - Everyone else"]);
            assert.strictEqual(usersOf(state).length, 4);
            // --expect-no-changes: a change would fail the preview (exit 7 since pulumi 3.2xx).
            const again = await pulumi(["preview", "--expect-no-changes", "--diff"], project);
            assert.strictEqual(again.code, 0, `the next preview changes nothing:\n${again.stdout}\n${again.stderr}`);
        });
    });
});
