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
import { Emulator, startEmulator } from "../emulator";
import { REPO, TestStack, changes, skipIfEngineOptedOut } from "./helpers/engine";
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
let installing: Promise<{ dir: string; files: string[] }> | undefined;

/** Packs and installs once per test run; resolves to the install folder and the tarball's file list. */
function packedInstall(): Promise<{ dir: string; files: string[] }> {
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
        return { dir, files: info.files.map((f) => f.path) };
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
            for (const f of ["package.json", "dist/cli/index.js", "dist/provider/index.js", "dist/provider/runtime/impl.js", "dist/emulator/index.js",
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
});
