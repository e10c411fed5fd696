/**
 * examples/gitops/.github/workflows/migration.yml as GitHub would run it: actionlint (built from Go
 * modules by scripts/install-actionlint.sh and cached, like the engine) reports nothing, and the
 * workflow gets the official Pulumi CLI from pulumi/actions at the version of @pulumi/pulumi instead
 * of building it. Never skips: if actionlint cannot be built, the test fails.
 */
import * as assert from "assert";
import { execFile, execFileSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { parse } from "yaml";
import { REPO } from "./helpers/engine";

const WORKFLOW = path.join(REPO, "examples", "gitops", ".github", "workflows", "migration.yml");

interface Step { name?: string; uses?: string; run?: string; with?: Record<string, unknown>; env?: Record<string, string> }
interface Workflow {
    on: { workflow_dispatch?: { inputs?: Record<string, unknown> } };
    env: Record<string, string>;
    jobs: Record<string, { steps: Step[]; env?: Record<string, string>; environment?: string | { name: string } }>;
}

describe("gitops workflow (examples/gitops/.github/workflows/migration.yml)", function () {
    this.timeout(15 * 60 * 1000);
    let actionlint: string;

    before(() => {
        let out: string;
        try {
            out = execFileSync("bash", [path.join(REPO, "scripts", "install-actionlint.sh")], {
                cwd: REPO, encoding: "utf8", stdio: ["ignore", "pipe", "inherit"], timeout: 10 * 60 * 1000,
            });
        } catch (e) {
            throw new Error(`actionlint is not available and could not be built (scripts/install-actionlint.sh failed: ` +
                `${e instanceof Error ? e.message : String(e)}). This test does not skip.`);
        }
        actionlint = out.trim().split("\n").pop()!.trim();
    });

    it("passes actionlint", async () => {
        const r = await new Promise<{ code: number; out: string }>((resolve) => {
            execFile(actionlint, ["-no-color", WORKFLOW], { cwd: REPO }, (err, stdout, stderr) => {
                resolve({ code: err ? Number((err as { code?: unknown }).code ?? 1) : 0, out: stdout + stderr });
            });
        });
        assert.strictEqual(r.code, 0, `actionlint found problems:\n${r.out}`);
        assert.strictEqual(r.out.trim(), "");
    });

    it("installs the Pulumi CLI with pulumi/actions at @pulumi/pulumi's version; fast mode, --parallel 32 and recover kept", () => {
        const wf = parse(fs.readFileSync(WORKFLOW, "utf8")) as Workflow;
        const sdk = (JSON.parse(fs.readFileSync(path.join(REPO, "package-lock.json"), "utf8")) as {
            packages: Record<string, { version: string }>;
        }).packages["node_modules/@pulumi/pulumi"].version;
        for (const [name, job] of Object.entries(wf.jobs)) {
            const pulumi = job.steps.filter((s) => s.uses?.startsWith("pulumi/actions@"));
            assert.strictEqual(pulumi.length, 1, `job ${name} installs the CLI with pulumi/actions`);
            assert.strictEqual(String(pulumi[0].with?.["pulumi-version"]), sdk, `job ${name}: the CLI at the SDK's version`);
            assert.ok(!job.steps.some((s) => s.uses?.startsWith("actions/setup-go") || s.run?.includes("install-engine.sh")),
                `job ${name} does not build the CLI from Go modules`);
            assert.ok(job.steps.some((s) => /pulumi (preview|up) .*--parallel 32/.test(s.run ?? "")), `job ${name} runs with --parallel 32`);
        }
        assert.strictEqual(wf.env.PULUMI_SKIP_CHECKPOINTS, "true", "fast mode");
        assert.ok(wf.on.workflow_dispatch?.inputs?.recover, "the recover dispatch");
    });

    it("gives secrets only to the steps that use them, installs without dependencies' scripts, runs up in a protected environment", () => {
        const wf = parse(fs.readFileSync(WORKFLOW, "utf8")) as Workflow;
        const secretIn = (env: Record<string, string> | undefined) => Object.entries(env ?? {}).filter(([, v]) => /secrets\./.test(String(v))).map(([k]) => k);
        assert.deepStrictEqual(secretIn(wf.env), [], "no secret in the workflow's environment (every step would get it)");
        for (const [name, job] of Object.entries(wf.jobs)) {
            assert.deepStrictEqual(secretIn(job.env), [], `job ${name}: no secret in the job's environment`);
            for (const step of job.steps) {
                const run = step.run ?? "";
                const secrets = secretIn(step.env);
                // Only steps that call Cloudiway or open the state hold secrets: pulumi and the report.
                if (secrets.length) assert.match(run, /^(pulumi |npx --no -- cloudiway-migration report)/, `job ${name}: "${step.name ?? run}" holds ${secrets.join(", ")}`);
                if (/\bnpm (ci|install)\b/.test(run)) {
                    assert.match(run, /npm ci --ignore-scripts/, `job ${name}: npm ci runs no install scripts`);
                    assert.deepStrictEqual(secrets, [], `job ${name}: npm ci holds no secret`);
                }
            }
        }
        const env = wf.jobs.up.environment;
        assert.strictEqual(typeof env === "string" ? env : env?.name, "production", "the up job runs in the protected environment");
    });
});
