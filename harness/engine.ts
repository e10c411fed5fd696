/**
 * The engine harness shared by the engine tests (tests/helpers/engine.ts) and the benches
 * (scripts/bench-scale.ts): the real Pulumi CLI (built by scripts/install-engine.sh) driving a
 * throwaway project inside the repository (so `pulumi-cloudiway` resolves), one stack per
 * `EngineStack`, on a local file backend of its own or a shared one (Azurite). Nothing here knows
 * mocha: the tests' skip and cleanup hooks are in tests/helpers/engine.ts.
 */
import { execFile, execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

/** The repository (this file runs as dist/harness/engine.js). */
export const REPO = path.resolve(__dirname, "..", "..");

let engineBin: string | undefined;
export function engineBinDir(): string {
    if (engineBin) return engineBin;
    if (process.env.PULUMI_CLOUDIWAY_ENGINE_BIN) return (engineBin = process.env.PULUMI_CLOUDIWAY_ENGINE_BIN);
    let out: string;
    try {
        out = execFileSync("bash", [path.join(REPO, "scripts", "install-engine.sh")], {
            cwd: REPO, encoding: "utf8", stdio: ["ignore", "pipe", "inherit"], timeout: 60 * 60 * 1000,
        });
    } catch (e) {
        throw new Error(`The Pulumi engine is not available and could not be built (scripts/install-engine.sh failed: ${e instanceof Error ? e.message : String(e)}). ` +
            `Engine tests do not skip; see scripts/engine/README.md.`);
    }
    const lines = out.trim().split("\n");
    engineBin = lines[lines.length - 1].trim();
    process.env.PULUMI_CLOUDIWAY_ENGINE_BIN = engineBin;
    return engineBin;
}

export interface StepSummary {
    create: number; update: number; replace: number; delete: number; same: number; read: number;
    [op: string]: number;
}

export interface CliResult {
    code: number;
    stdout: string;
    stderr: string;
}

export interface StackOptions {
    name: string;
    apiUrl: string;
    consumerKey?: string;
    consumerSecret?: string;
    config?: Record<string, string>;
    /** Program directory to use instead of the spec program (e.g. an example). */
    programDir?: string;
    /** A module the throwaway project runs instead of the spec program (e.g. the root project's dist/index.js). */
    program?: string;
    /** Added to the environment; a key set to undefined is removed from it. */
    env?: NodeJS.ProcessEnv;
    /** Credentials from the environment (CLOUDIWAY_CONSUMER_*) instead of stack config. */
    credentialsFromEnv?: boolean;
    /** Pulumi's backend (e.g. `azblob://…` on Azurite, with its account in `env`); default a file backend of the stack's own. */
    backendUrl?: string;
    /** The project's name in Pulumi.yaml (default `cw-<name>`). */
    project?: string;
    /** The longest a pulumi command may run (default 30 minutes). */
    timeoutMs?: number;
    /** The repository tree whose package the throwaway project resolves (default this one; a bench compares another checkout). */
    root?: string;
    /** The folder of the `pulumi` CLI to run (default engineBinDir(): the cached engine of install-engine.sh). */
    engineBin?: string;
}

/**
 * A throwaway project inside the repository (so the package resolves), with a PULUMI_HOME and a file
 * backend of its own, and the commands run in it (`exec`, `pulumi`); its stacks are the caller's
 * (e.g. those `cloudiway-migration shards --init` makes). `env` values left undefined are removed
 * from the environment.
 */
export class EngineProject {
    readonly dir: string;
    readonly home: string;
    readonly specFile: string;
    readonly log: string[] = [];
    env: NodeJS.ProcessEnv;
    readonly backendUrl: string;

    constructor(readonly opts: StackOptions) {
        const root = fs.mkdtempSync(path.join(os.tmpdir(), `cw-${opts.name}-`));
        this.home = root;
        if (opts.programDir) {
            this.dir = opts.programDir;
        } else {
            this.dir = path.join(opts.root ?? REPO, ".test-stacks", `${opts.name}-${path.basename(root)}`);
            fs.mkdirSync(this.dir, { recursive: true });
            fs.writeFileSync(path.join(this.dir, "Pulumi.yaml"), `name: ${opts.project ?? `cw-${opts.name}`}\nruntime:\n  name: nodejs\n  options:\n    typescript: false\nmain: index.js\n`);
            fs.writeFileSync(path.join(this.dir, "index.js"),
                `module.exports = require(${JSON.stringify(opts.program ?? path.join(REPO, "dist", "tests", "fixtures", "specProgram.js"))});\n`);
        }
        this.specFile = path.join(root, "spec.json");
        fs.mkdirSync(path.join(root, "state"), { recursive: true });
        this.backendUrl = opts.backendUrl ?? `file://${path.join(root, "state")}`;
        this.env = {
            ...process.env,
            PATH: `${opts.engineBin ?? engineBinDir()}${path.delimiter}${process.env.PATH}`,
            PULUMI_HOME: path.join(root, "home"),
            PULUMI_BACKEND_URL: this.backendUrl,
            PULUMI_CONFIG_PASSPHRASE: "test-passphrase",
            PULUMI_SKIP_UPDATE_CHECK: "1",
            PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "1",
            PULUMI_AUTOMATION_API_SKIP_VERSION_CHECK: "1",
            CLOUDIWAY_TEST_SPEC: this.specFile,
            // Credentials come from stack config only, so the environment cannot hide a config bug.
            CLOUDIWAY_API_URL: "", CLOUDIWAY_CONSUMER_KEY: "", CLOUDIWAY_CONSUMER_SECRET: "",
            ...(opts.credentialsFromEnv ? { CLOUDIWAY_CONSUMER_KEY: opts.consumerKey ?? "demo-key", CLOUDIWAY_CONSUMER_SECRET: opts.consumerSecret ?? "demo-secret" } : {}),
            ...opts.env,
        };
        for (const [k, v] of Object.entries(this.env)) if (v === undefined) delete this.env[k];
    }

    /**
     * Runs `cmd args` in the project (logged, a `--secret` value hidden); rejects on a non-zero exit
     * unless `allowFailure`. `onSpawn` is given the pid of the process (to sample its process tree);
     * `shown` names the command in the log and the error (default `cmd args`).
     */
    exec(cmd: string, args: string[], o: { allowFailure?: boolean; onSpawn?: (pid: number) => void; shown?: string[] } = {}): Promise<CliResult> {
        return new Promise((resolve, reject) => {
            const child = execFile(cmd, args,
            { cwd: this.dir, env: this.env, maxBuffer: 256 * 1024 * 1024, timeout: this.opts.timeoutMs ?? 30 * 60 * 1000 },
            (err, stdout, stderr) => {
                const code: unknown = err ? (err.code ?? 1) : 0;
                const named = o.shown ?? [path.basename(cmd), ...args];
                const shown = named.includes("--secret") ? [...named.slice(0, -1), "[secret]"] : named;
                this.log.push(`$ ${shown.join(" ")}\n${stdout}\n${stderr}`);
                if (err && !o.allowFailure) {
                    reject(new Error(`${shown.join(" ")} failed (${code}):\n${stdout}\n${stderr}`));
                } else {
                    resolve({ code: typeof code === "number" ? code : 1, stdout, stderr });
                }
            });
            if (o.onSpawn && child.pid) o.onSpawn(child.pid);
        });
    }

    /** `pulumi <args> --non-interactive` in the project (no stack implied). */
    pulumi(args: string[], allowFailure = false): Promise<CliResult> {
        return this.exec("pulumi", [...args, "--non-interactive"], { allowFailure, shown: ["pulumi", ...args] });
    }

    /** Removes the project folder (unless it is the caller's `programDir`) and its home, state and logs. */
    async dispose(): Promise<void> {
        if (!this.opts.programDir) fs.rmSync(this.dir, { recursive: true, force: true });
        else fs.rmSync(path.join(this.dir, "Pulumi.test.yaml"), { force: true });
        fs.rmSync(this.home, { recursive: true, force: true });
    }
}

/**
 * One stack (named "test") of a throwaway project (EngineProject): the stack's config set at
 * `create`, and the pulumi commands on it.
 */
export class EngineStack extends EngineProject {
    private constructor(opts: StackOptions) {
        super(opts);
    }

    static async create(opts: StackOptions): Promise<EngineStack> {
        const s = new EngineStack(opts);
        await s.cli(["login", s.backendUrl]);
        await s.cli(["stack", "init", "test"]);
        await s.cli(["config", "set", "cloudiway:apiUrl", opts.apiUrl]);
        if (!opts.credentialsFromEnv) {
            await s.cli(["config", "set", "cloudiway:consumerKey", opts.consumerKey ?? "demo-key"]);
            await s.cli(["config", "set", "--secret", "cloudiway:consumerSecret", opts.consumerSecret ?? "demo-secret"]);
        }
        for (const [k, v] of Object.entries(opts.config ?? {})) await s.cli(["config", "set", k, v]);
        return s;
    }

    /**
     * From now on, run as another machine would (an ephemeral CI runner): a new, empty PULUMI_HOME
     * (no credentials, plugins or create journal of the earlier runs), logged in to the same backend.
     */
    async freshRunner(): Promise<string> {
        const home = fs.mkdtempSync(path.join(this.home, "runner-"));
        this.env = { ...this.env, PULUMI_HOME: home };
        await this.cli(["login", this.backendUrl]);
        return home;
    }

    setSpec(spec: unknown): void {
        fs.writeFileSync(this.specFile, JSON.stringify(spec, null, 2));
    }

    /**
     * Runs `pulumi <args>` on the stack; rejects on a non-zero exit unless allowFailure. `onSpawn`
     * is given the pid of the `pulumi` process (to sample its process tree).
     */
    cli(args: string[], allowFailure = false, onSpawn?: (pid: number) => void): Promise<CliResult> {
        const noStack = args[0] === "login" || (args[0] === "stack" && args[1] === "init");
        const full = noStack ? [...args, "--non-interactive"] : [...args, "--non-interactive", "--stack", "test"];
        return this.exec("pulumi", full, { allowFailure, onSpawn, shown: ["pulumi", ...args] });
    }

    /** `pulumi preview --json`: the steps and a count per operation. */
    async preview(extra: string[] = []): Promise<{ steps: any[]; counts: StepSummary; result: CliResult }> {
        const result = await this.cli(["preview", "--json", ...extra], true);
        let parsed: any;
        try {
            parsed = JSON.parse(result.stdout);
        } catch {
            throw new Error(`pulumi preview failed (${result.code}):\n${result.stdout}\n${result.stderr}`);
        }
        if (result.code !== 0) {
            const err = new Error(`pulumi preview failed (${result.code}):\n${result.stdout}\n${result.stderr}`) as any;
            err.diagnostics = parsed.diagnostics;
            err.result = result;
            throw err;
        }
        const steps = (parsed.steps ?? []).filter((s: any) => !String(s.urn).includes("pulumi:pulumi:Stack"));
        return { steps, counts: countOps(parsed.changeSummary ?? {}), result };
    }

    up(extra: string[] = []): Promise<CliResult> {
        return this.cli(["up", "--yes", "--skip-preview", ...extra]);
    }

    /** `pulumi refresh`; returns the counts of the operations it recorded. */
    async refresh(extra: string[] = []): Promise<{ counts: StepSummary; result: CliResult }> {
        const result = await this.cli(["refresh", "--yes", "--skip-preview", ...extra]);
        return { counts: await this.lastUpdateCounts(), result };
    }

    destroy(extra: string[] = []): Promise<CliResult> {
        return this.cli(["destroy", "--yes", "--skip-preview", ...extra]);
    }

    async lastUpdateCounts(): Promise<StepSummary> {
        const h = await this.cli(["stack", "history", "--json"]);
        const last = JSON.parse(h.stdout)[0];
        return countOps(last?.resourceChanges ?? {});
    }

    async exportState(): Promise<any> {
        return JSON.parse((await this.cli(["stack", "export", "--show-secrets=false"])).stdout);
    }

    /** Resources of the stack state by name (the dynamic ones only). */
    async resources(): Promise<Map<string, any>> {
        const state = await this.exportState();
        const out = new Map<string, any>();
        for (const r of state.deployment.resources ?? []) {
            if (String(r.type).startsWith("pulumi-nodejs:dynamic/")) out.set(String(r.urn).split("::").pop()!, r);
        }
        return out;
    }

    /** Removes the stack and its state from the backend without touching the API (`pulumi stack rm --force`). */
    async remove(): Promise<void> {
        await this.cli(["stack", "rm", "--yes", "--force"]);
    }

}

function countOps(summary: Record<string, number>): StepSummary {
    const c: StepSummary = { create: 0, update: 0, replace: 0, delete: 0, same: 0, read: 0 };
    for (const [k, v] of Object.entries(summary)) c[k] = (c[k] ?? 0) + Number(v);
    return c;
}
