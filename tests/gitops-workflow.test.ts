/**
 * examples/gitops/.github/workflows/migration.yml as GitHub would run it: actionlint (built from Go
 * modules by scripts/install-actionlint.sh and cached, like the engine) reports nothing, and the
 * workflow gets the official Pulumi CLI from pulumi/actions at the version of @pulumi/pulumi instead
 * of building it. Never skips: if actionlint cannot be built, the test fails.
 */
import * as assert from "assert";
import { execFile, execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { parse } from "yaml";
import { REPO } from "./helpers/engine";
import { RULES, minuteOfWeek, weekMinuteIn } from "../policy/rules";
import { DEFAULT_PARALLEL } from "../provider/config";

const WORKFLOW = path.join(REPO, "examples", "gitops", ".github", "workflows", "migration.yml");

interface Step { name?: string; uses?: string; run?: string; with?: Record<string, unknown>; env?: Record<string, string>; if?: string }
interface Workflow {
    on: { workflow_dispatch?: { inputs?: Record<string, unknown> } };
    env: Record<string, string>;
    jobs: Record<string, {
        steps: Step[]; env?: Record<string, string>; environment?: string | { name: string }; permissions?: Record<string, string>;
        needs?: string | string[]; if?: string; concurrency?: string; strategy?: { "fail-fast"?: boolean; matrix?: Record<string, unknown> }; outputs?: Record<string, string>;
    }>;
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

    it("installs the Pulumi CLI with pulumi/actions at package-lock's @pulumi/pulumi and Node.js at the project's, both read in one step; fast mode, PULUMI_PARALLEL at the project's default and recover kept", () => {
        const wf = parse(fs.readFileSync(WORKFLOW, "utf8")) as Workflow;
        const sdk = (JSON.parse(fs.readFileSync(path.join(REPO, "package-lock.json"), "utf8")) as {
            packages: Record<string, { version: string }>;
        }).packages["node_modules/@pulumi/pulumi"].version;
        const node = (JSON.parse(fs.readFileSync(path.join(REPO, "package.json"), "utf8")) as { devDependencies: Record<string, string> }).devDependencies.node;
        // The one step that reads the versions, run as the runner would (from the repository's root).
        const step = wf.jobs.shards.steps.find((s) => s.name === "versions");
        assert.ok(step?.run, "the shards job reads the versions");
        const outFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "gitops-versions-")), "output");
        try {
            execFileSync("bash", ["-euo", "pipefail", "-c", step!.run!], { cwd: REPO, env: { ...process.env, GITHUB_OUTPUT: outFile } });
            const outputs = Object.fromEntries(fs.readFileSync(outFile, "utf8").trim().split("\n").map((l) => l.split("=") as [string, string]));
            assert.deepStrictEqual(outputs, { node, pulumi: sdk });
        } finally {
            fs.rmSync(path.dirname(outFile), { recursive: true, force: true });
        }
        assert.strictEqual(wf.jobs.shards.outputs?.pulumi, "${{ steps.versions.outputs.pulumi }}");
        assert.strictEqual(wf.jobs.shards.outputs?.node, "${{ steps.versions.outputs.node }}");
        for (const [name, job] of Object.entries(wf.jobs)) {
            const setupNode = job.steps.filter((s) => s.uses?.startsWith("actions/setup-node@"));
            assert.strictEqual(setupNode.length, 1, `job ${name} sets up Node.js`);
            assert.strictEqual(String(setupNode[0].with?.["node-version"]),
                name === "shards" ? "${{ steps.versions.outputs.node }}" : "${{ needs.shards.outputs.node }}", `job ${name}: the project's Node.js`);
            // A job that never opens a stack (the shards' list: files and git only) needs no CLI.
            if (!job.steps.some((s) => /^\s*(pulumi |npx --no -- cloudiway-migration (drift|report))/m.test(s.run ?? ""))) continue;
            const pulumi = job.steps.filter((s) => s.uses?.startsWith("pulumi/actions@"));
            assert.strictEqual(pulumi.length, 1, `job ${name} installs the CLI with pulumi/actions`);
            assert.ok(([] as string[]).concat(job.needs ?? []).includes("shards"), `job ${name} needs the shards job's versions`);
            assert.strictEqual(String(pulumi[0].with?.["pulumi-version"]), "${{ needs.shards.outputs.pulumi }}", `job ${name}: the CLI at package-lock's SDK version`);
            assert.ok(!job.steps.some((s) => s.uses?.startsWith("actions/setup-go") || s.run?.includes("install-engine.sh")),
                `job ${name} does not build the CLI from Go modules`);
            assert.ok(!job.steps.some((s) => /--parallel\b/.test(s.run ?? "")), `job ${name}: --parallel comes from PULUMI_PARALLEL, in one place`);
        }
        assert.strictEqual(wf.env.PULUMI_SKIP_CHECKPOINTS, "true", "fast mode");
        assert.strictEqual(wf.env.PULUMI_PARALLEL, String(DEFAULT_PARALLEL), "every pulumi command at the project's --parallel (config.ts DEFAULT_PARALLEL)");
        assert.ok(wf.on.workflow_dispatch?.inputs?.recover, "the recover dispatch");
    });

    it("reads pulumi's exit codes in the preview and up steps: no stack (6) and credentials (3) said plainly, the code kept", () => {
        const wf = parse(fs.readFileSync(WORKFLOW, "utf8")) as Workflow;
        const steps = Object.values(wf.jobs).flatMap((j) => j.steps);
        const preview = steps.find((x) => x.name === "pulumi preview, with the guardrails");
        const up = steps.find((x) => x.name === "pulumi up");
        assert.ok(preview?.run && up?.run);
        // Each step's script as the runner runs it, with a `pulumi` on PATH that exits with the code given.
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "gitops-exit-"));
        try {
            fs.writeFileSync(path.join(dir, "pulumi"), "#!/bin/sh\nexit \"$FAKE_EXIT\"\n", { mode: 0o755 });
            const run = (script: string, code: number) => {
                const out = path.join(dir, "output");
                fs.writeFileSync(out, "");
                try {
                    const stdout = execFileSync("bash", ["-eo", "pipefail", "-c", script], {
                        cwd: dir, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"],
                        env: { ...process.env, PATH: `${dir}:${process.env.PATH}`, FAKE_EXIT: String(code), STACK: "prod-shard-2", RUNNER_TEMP: dir, GITHUB_OUTPUT: out, GITHUB_WORKSPACE: dir },
                    });
                    return { code: 0, stdout, output: fs.readFileSync(out, "utf8") };
                } catch (e) {
                    const x = e as { status: number; stdout: string };
                    return { code: x.status, stdout: x.stdout, output: fs.readFileSync(out, "utf8") };
                }
            };
            for (const code of [0, 1, 5]) {
                const r = run(preview!.run!, code);
                assert.deepStrictEqual([r.code, r.output.trim()], [0, `status=${code}`], `preview exit ${code}: recorded for the steps below`);
            }
            const missing = run(preview!.run!, 6);
            assert.strictEqual(missing.code, 6);
            assert.match(missing.stdout, /::error::shard prod-shard-2 has no stack in the state's backend yet: an admin creates it once \(pulumi stack init prod-shard-2\)/);
            assert.match(run(preview!.run!, 3).stdout, /::error::the state's backend refused the credentials/);
            assert.strictEqual(run(preview!.run!, 9).code, 9);
            assert.deepStrictEqual([run(up!.run!, 0).code, run(up!.run!, 0).stdout], [0, ""]);
            const upMissing = run(up!.run!, 6);
            assert.strictEqual(upMissing.code, 6);
            assert.match(upMissing.stdout, /::error::shard prod-shard-2 has no stack in the state's backend yet.*nothing of it was deployed/);
            const refused = run(up!.run!, 1);
            assert.strictEqual(refused.code, 1);
            assert.match(refused.stdout, /::error::pulumi up of shard prod-shard-2 ended with exit 1/);
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });

    it("runs the package's policy pack with policy.json on pull requests and ups (every rule known, the windows readable), and keeps the drift digest in one issue on the schedule", () => {
        const wf = parse(fs.readFileSync(WORKFLOW, "utf8")) as Workflow;
        const preview = wf.jobs.preview.steps.find((s) => /pulumi preview .*--json/s.test(s.run ?? ""));
        assert.ok(preview, "the pull request's preview");
        assert.match(preview!.run!, /--policy-pack "\$GITHUB_WORKSPACE\/node_modules\/pulumi-cloudiway\/policy" --policy-pack-config policy\.json/);
        assert.ok(wf.jobs.preview.steps.some((s) => s.if === "steps.preview.outputs.status != '0'" && /exit 1/.test(s.run ?? "")), "a refusal fails the job after the summary is posted");
        const up = wf.jobs.up.steps.find((s) => /pulumi up /.test(s.run ?? ""));
        assert.match(up!.run!, /--policy-pack "\$GITHUB_WORKSPACE\/node_modules\/pulumi-cloudiway\/policy" --policy-pack-config policy\.json/, "every up is judged too (a run is sent inside the windows)");
        const config = JSON.parse(fs.readFileSync(path.join(REPO, "examples", "gitops", "policy.json"), "utf8")) as Record<string, { windows?: { from: string; to: string }[]; timeZone?: string }>;
        assert.deepStrictEqual(Object.keys(config).sort(), [...RULES].sort(), "policy.json configures the five rules, by their names");
        for (const [i, w] of (config["change-window"].windows ?? []).entries()) {
            minuteOfWeek(w.from, `windows[${i}].from`);
            minuteOfWeek(w.to, `windows[${i}].to`);
        }
        weekMinuteIn(new Date(), config["change-window"].timeZone!);
        // The drift digest over every shard, once per scheduled run, after the shards' ups.
        const drift = wf.jobs.tenant.steps.find((s) => /cloudiway-migration drift "\$\{args\[@\]\}"/.test(s.run ?? ""));
        assert.ok(drift, "the drift digest");
        assert.match(drift!.run!, /args\+=\(--stack "\$s"\)/, "every shard given as --stack");
        assert.strictEqual(drift!.env?.STACKS, "${{ needs.shards.outputs.all }}");
        assert.strictEqual(drift!.if, "github.event_name == 'schedule'");
        assert.match(drift!.run!, /gh issue edit "\$number" --body-file/, "one issue, its body replaced");
        assert.strictEqual(wf.jobs.tenant.permissions?.issues, "write");
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
                if (secrets.length) assert.match(run, /^(pulumi |npx --no -- cloudiway-migration (report|drift))/m, `job ${name}: "${step.name ?? run}" holds ${secrets.join(", ")}`);
                // Matrix values and refs reach scripts through the environment, never spliced in (script injection).
                assert.doesNotMatch(run, /\$\{\{\s*(matrix\.|github\.(base_ref|head_ref))/, `job ${name}: "${step.name ?? run}" splices an expression into its script`);
                if (/\bnpm (ci|install)\b/.test(run)) {
                    assert.match(run, /npm ci --ignore-scripts/, `job ${name}: npm ci runs no install scripts`);
                    assert.deepStrictEqual(secrets, [], `job ${name}: npm ci holds no secret`);
                }
            }
        }
        for (const name of ["up", "tenant"]) {
            const env = wf.jobs[name].environment;
            assert.strictEqual(typeof env === "string" ? env : env?.name, "production", `the ${name} job runs in the protected environment`);
        }
    });

    it("gives every step that opens the state what its store needs (the run journal is kept beside the state with the same credential): the account, and Azure AD by OIDC or the SAS token", () => {
        const wf = parse(fs.readFileSync(WORKFLOW, "utf8")) as Workflow;
        assert.strictEqual(wf.env.AZURE_STORAGE_ACCOUNT, "${{ vars.AZURE_STORAGE_ACCOUNT }}");
        let opened = 0;
        for (const [name, job] of Object.entries(wf.jobs)) {
            job.steps.forEach((step, i) => {
                if (!/^\s*(pulumi (preview|up|cancel)|npx --no -- cloudiway-migration drift)\b/m.test(step.run ?? "")) return;
                opened++;
                const what = `job ${name}: "${step.name ?? step.run}"`;
                assert.strictEqual(step.env?.AZURE_STORAGE_SAS_TOKEN, "${{ secrets.AZURE_STORAGE_SAS_TOKEN }}", `${what}: the SAS token, when one is set`);
                const login = job.steps.slice(0, i).find((s) => s.uses?.startsWith("azure/login@"));
                assert.ok(login, `${what}: azure/login (OIDC) before it`);
                assert.deepStrictEqual(login!.with, { "client-id": "${{ vars.AZURE_CLIENT_ID }}", "tenant-id": "${{ vars.AZURE_TENANT_ID }}", "allow-no-subscriptions": true }, `${what}: OIDC, no secret`);
                assert.strictEqual(job.permissions?.["id-token"], "write", `${what}: the job may ask for an OIDC token`);
            });
        }
        assert.strictEqual(opened, 5, "preview, what the guardrails refused, cancel, up, drift");
    });

    it("runs the shards as a matrix, one runner each; a pull request previews only the shards its change touches", () => {
        const wf = parse(fs.readFileSync(WORKFLOW, "utf8")) as Workflow;
        const list = wf.jobs.shards.steps.find((s) => /cloudiway-migration shards plan\.yaml --list --json/.test(s.run ?? ""));
        assert.ok(list, "the shards job lists every shard from the committed stack config files");
        assert.match(list!.run!, /cloudiway-migration shards plan\.yaml --changed-since "origin\/\$BASE_REF" --json/, "and, on a pull request, the ones the change touches");
        assert.strictEqual(list!.env?.BASE_REF, "${{ github.base_ref }}", "the base branch through the environment, not spliced into the script");
        assert.ok(wf.jobs.shards.steps.some((s) => s.uses?.startsWith("actions/checkout@") && (s.with as { "fetch-depth"?: number } | undefined)?.["fetch-depth"] === 0), "the base branch is fetched");
        assert.deepStrictEqual(wf.jobs.preview.strategy?.matrix, { stack: "${{ fromJSON(needs.shards.outputs.changed) }}" });
        assert.match(wf.jobs.preview.if ?? "", /needs\.shards\.outputs\.changed != '\[\]'/, "no preview when no shard changed");
        assert.deepStrictEqual(wf.jobs.up.strategy?.matrix, { stack: "${{ fromJSON(needs.shards.outputs.all) }}" });
        for (const name of ["preview", "up"]) {
            assert.strictEqual(wf.jobs[name].strategy?.["fail-fast"], false, `${name}: a failed shard does not cancel the others`);
            assert.strictEqual(wf.jobs[name].needs, "shards");
            const run = wf.jobs[name].steps.find((s) => /pulumi (preview|up) /.test(s.run ?? ""))!;
            assert.match(run.run!, /--stack "\$STACK"/, `${name}: one shard per runner`);
            assert.strictEqual(run.env?.STACK, "${{ matrix.stack }}");
        }
        assert.strictEqual(wf.jobs.up.concurrency, "cloudiway-migration-${{ matrix.stack }}", "one up per shard at a time");
        assert.deepStrictEqual(wf.jobs.tenant.needs, ["shards", "up"]);
        // The shard stack config files the workflow reads are committed next to the project.
        const dir = path.dirname(path.dirname(path.dirname(WORKFLOW)));
        assert.deepStrictEqual(fs.readdirSync(dir).filter((f) => /^Pulumi\..+\.yaml$/.test(f)).sort(), ["Pulumi.prod-shard-1.yaml", "Pulumi.prod-shard-2.yaml"]);
    });
});
