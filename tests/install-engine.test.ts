/**
 * scripts/install-engine.sh picks the engine of the version it is asked for (`install-engine.sh 3.248.0`,
 * the oldest supported CLI that npm test runs the resources' and campaign's engine tests on): a `pulumi`
 * on PATH only when it is that version, else that version's own folder of the cache, beside the others.
 * Fake CLIs (shell scripts that print a version) stand in for the real builds; nothing is built.
 */
import * as assert from "assert";
import { execFile } from "child_process";
import { createHash } from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { REPO } from "./helpers/engine";

const SCRIPT = path.join(REPO, "scripts", "install-engine.sh");

function fakeCli(file: string, version: string): void {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, `#!/bin/sh\necho v${version}\n`, { mode: 0o755 });
}

function run(args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number; stdout: string; stderr: string }> {
    return new Promise((resolve) => {
        execFile("bash", [SCRIPT, ...args], { cwd: REPO, env }, (err, stdout, stderr) => {
            resolve({ code: err ? Number((err as { code?: unknown }).code ?? 1) : 0, stdout, stderr });
        });
    });
}

describe("install-engine.sh: the engine of the version asked for", function () {
    this.timeout(60 * 1000);
    let tmp: string;
    let env: NodeJS.ProcessEnv;
    let onPath: string;
    let oldest: string;

    before(() => {
        tmp = fs.mkdtempSync(path.join(os.tmpdir(), "cw-install-engine-"));
        // A complete engine of the newest version on PATH.
        onPath = path.join(tmp, "path");
        fakeCli(path.join(onPath, "pulumi"), "3.276.0");
        for (const f of ["pulumi-language-nodejs", "pulumi-resource-pulumi-nodejs"]) fakeCli(path.join(onPath, f), "0");
        // The oldest version's CLI in the cache (as the script leaves a build of a version other than
        // go.mod's: its marker names the version), and our language host's folder for it.
        const cache = path.join(tmp, "cache");
        fakeCli(path.join(cache, "engine-v3.248.0", "bin", "pulumi"), "3.248.0");
        fs.writeFileSync(path.join(cache, "engine-v3.248.0", "bin", ".source-cli"), "v3.248.0\n");
        const engine = path.join(REPO, "scripts", "engine");
        const sources = [path.join(engine, "go.mod"), ...fs.readdirSync(path.join(engine, "langhost")).filter((f) => f.endsWith(".go")).sort().map((f) => path.join(engine, "langhost", f))];
        const hash = createHash("sha256").update(Buffer.concat(sources.map((f) => fs.readFileSync(f)))).digest("hex").slice(0, 16);
        oldest = path.join(cache, "engine-v3.248.0", `lang-${hash}`);
        fakeCli(path.join(oldest, "pulumi-language-nodejs"), "0");
        env = { ...process.env, PATH: `${onPath}${path.delimiter}${process.env.PATH}`, PULUMI_CLOUDIWAY_ENGINE_CACHE: cache, PULUMI_CLOUDIWAY_ENGINE_VERSION: "" };
    });
    after(() => fs.rmSync(tmp, { recursive: true, force: true }));

    it("without a version, or asked for the one on PATH: the pulumi on PATH", async () => {
        for (const args of [[], ["3.276.0"], ["v3.276.0"]]) {
            const r = await run(args, env);
            assert.strictEqual(r.code, 0, r.stderr);
            assert.strictEqual(r.stdout.trim().split("\n").pop(), onPath, `install-engine.sh ${args.join(" ")}`);
        }
    });

    it("asked for another version (argument or PULUMI_CLOUDIWAY_ENGINE_VERSION): that version's folder of the cache, its CLI linked in", async () => {
        for (const [args, extra] of [[["3.248.0"], {}], [[], { PULUMI_CLOUDIWAY_ENGINE_VERSION: "3.248.0" }]] as const) {
            const r = await run([...args], { ...env, ...extra });
            assert.strictEqual(r.code, 0, r.stderr);
            const dir = r.stdout.trim().split("\n").pop()!;
            assert.strictEqual(dir, oldest);
            assert.strictEqual(fs.readFileSync(path.join(dir, "pulumi"), "utf8"), "#!/bin/sh\necho v3.248.0\n");
            assert.ok(fs.existsSync(path.join(dir, "pulumi-resource-pulumi-nodejs")), "the dynamic provider shim");
        }
    });

    it("refuses what is not a pulumi v3 release, naming it", async () => {
        const r = await run(["3.x"], env);
        assert.strictEqual(r.code, 1);
        assert.match(r.stderr, /not a pulumi v3 release: 3\.x/);
        assert.strictEqual(r.stdout, "");
    });
});
