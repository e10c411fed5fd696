/**
 * Shards of one plan under the real engine (docs/large-plans-and-shards.md, "Shards"): stacks of one root
 * project (name cloudiway-migration, the program dist/index.js), each deploying the batches its
 * cloudiway-migration:batches names.
 *  - A cross-shard gate: wave 2 (shard B) `after: Wave 1` (shard A) is deferred until A's run is
 *    done, read through A's exported `batches`, then sent exactly once; when both waves get a new
 *    trigger and B runs first, B waits for A's new pass (A's "done" of the old one does not count);
 *    a batch in no shard's list fails preview as file:line.
 *  - `shards --init` then `up --all-shards --jobs 2`: every user exists once; a second run changes nothing.
 *  - A change to one wave (in git) lists only that wave's shard, and only it is previewed.
 *  - A shard whose up is killed (SIGKILL of its `pulumi`) fails the command, named; the others finish;
 *    its next up converges (fast mode, same machine: `pulumi cancel` if locked, then up again).
 */
import * as assert from "assert";
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { EngineProject, REPO, engineEmulator } from "./helpers/engine";
import { control as emuControl, emuCalls, emuFaults, emuState, usersOf } from "./helpers/emu";
import { descendants } from "./helpers/processes";

const CLI = path.join(REPO, "dist", "cli", "index.js");
interface Run { code: number; out: string; stdout: string }

/**
 * The root project (dist/index.js) in a throwaway folder of the harness (harness/engine.ts): its
 * own backend and home, the API and credentials from the environment. Its commands never reject:
 * a test asserts their exit.
 */
class Project {
    private readonly project: EngineProject;
    constructor(name: string, apiUrl: string, extraEnv: Record<string, string> = {}) {
        this.project = new EngineProject({
            name, apiUrl, program: path.join(REPO, "dist", "index.js"), project: "cloudiway-migration", credentialsFromEnv: true, timeoutMs: 20 * 60 * 1000,
            env: { CLOUDIWAY_API_URL: apiUrl, CLOUDIWAY_WAIT_POLL_SECONDS: "1", ...extraEnv },
        });
    }
    get dir(): string { return this.project.dir; }
    get root(): string { return this.project.home; }
    get log(): string[] { return this.project.log; }
    private async run(cmd: string, args: string[]): Promise<Run> {
        const r = await this.project.exec(cmd, args, { allowFailure: true });
        return { code: r.code, out: r.stdout + r.stderr, stdout: r.stdout };
    }
    pulumi(args: string[]): Promise<Run> { return this.run("pulumi", [...args, "--non-interactive"]); }
    cli(args: string[]): Promise<Run> { return this.run(process.execPath, [CLI, ...args]); }
    async must(p: Promise<Run>): Promise<string> { const r = await p; assert.strictEqual(r.code, 0, r.out); return r.out; }
    async login() { await this.must(this.pulumi(["login", this.project.backendUrl])); }
    async stack(name: string, config: Record<string, string>) {
        await this.must(this.pulumi(["stack", "init", name]));
        for (const [k, v] of Object.entries(config)) await this.must(this.pulumi(["config", "set", "--stack", name, k, v]));
    }
    up(stack: string) { return this.pulumi(["up", "--yes", "--skip-preview", "--stack", stack]); }
    async outputs(stack: string): Promise<Record<string, unknown>> {
        return JSON.parse(await this.must(this.pulumi(["stack", "output", "--json", "--stack", stack]))) as Record<string, unknown>;
    }
    async phase(stack: string, run: string): Promise<string | undefined> {
        const state = JSON.parse(await this.must(this.pulumi(["stack", "export", "--stack", stack]))) as { deployment: { resources?: { urn: string; outputs?: { phase?: string } }[] } };
        return (state.deployment.resources ?? []).find((r) => r.urn.endsWith(`::${run}`))?.outputs?.phase;
    }
    dispose(): Promise<void> { return this.project.dispose(); }
}

const user = (n: string) => `      - { firstName: ${n}, lastName: Shard, sourceEmail: ${n}@source.example, targetEmail: ${n}@target.example }`;

describe("@engine shards: one plan as stacks side by side", function () {
    this.timeout(30 * 60 * 1000);
    const fx = engineEmulator();
    let project: Project | undefined;
    afterEach(function () {
        if (this.currentTest?.state === "failed" && project) console.log(project.log.slice(-6).join("\n").slice(-20000));
        project?.dispose();
        project = undefined;
    });
    const control = () => emuControl(fx.emu);
    const starts = async (batch: string) => (await emuCalls(fx.emu.baseUrl)).filter((c) => c.call === "/mailusers/startbatch" && c.ok && c.batchName === batch).length;

    it("a cross-shard gate: wave 2 in shard B waits for wave 1 in shard A, read through A's outputs, then is sent once", async () => {
        await control().reset();
        await control().setLifecycle({ transitionMs: "manual", passSteps: 3 });
        const p = (project = new Project("shards-gate", fx.emu.url));
        const plan = [
            "defaults: { sourceConnectorName: Gmail, targetConnectorName: Office 365 }",
            "batches:",
            "  - name: Wave 1",
            "    runs: [{ action: migrate, trigger: \"1\", waitFor: { maxFailed: 0 } }]",
            "    users:", user("ann"), user("ben"),
            "  - name: Wave 2",
            "    runs: [{ action: migrate, trigger: \"1\", after: Wave 1, waitFor: {} }]",
            "    users:", user("dan"), user("eve"),
            "",
        ].join("\n");
        fs.writeFileSync(path.join(p.dir, "plan.yaml"), plan);
        await p.login();
        await p.stack("shard-a", { "cloudiway-migration:batches": "Wave 1" });
        await p.stack("shard-b", { "cloudiway-migration:batches": '["Wave 2"]' });

        // B first: A has exported nothing yet, so wave 2 is deferred and nothing is sent for it.
        let out = await p.must(p.up("shard-b"));
        assert.match(out, /waiting for shard-a\/run:Wave 1:migrate: not recorded yet/);
        assert.strictEqual(await p.phase("shard-b", "run:Wave 2:migrate"), "deferred");
        assert.deepStrictEqual([await starts("Wave 1"), await starts("Wave 2")], [0, 0]);
        assert.deepStrictEqual(usersOf(await emuState(fx.emu.baseUrl)).map((u: { firstName: string }) => u.firstName).sort(), ["dan", "eve"], "B deploys only its wave's users");

        // A: wave 1 sent, waiting; its output says so.
        await p.must(p.up("shard-a"));
        assert.deepStrictEqual([await starts("Wave 1"), await starts("Wave 2")], [1, 0]);
        const batches = (await p.outputs("shard-a")).batches as Record<string, { runs: { run: string; phase: string }[] }>;
        assert.deepStrictEqual(Object.keys(batches), ["Wave 1"]);
        assert.deepStrictEqual(batches["Wave 1"].runs.map((r) => [r.run, r.phase]), [["run:Wave 1:migrate", "waiting"]]);
        // B again: still deferred (A's run is waiting), nothing sent.
        out = await p.must(p.up("shard-b"));
        assert.match(out, /waiting for shard-a\/run:Wave 1:migrate: 0 of 2 done/);
        assert.strictEqual(await starts("Wave 2"), 0);

        // The passes end; A's next up finds its gate done.
        for (let i = 0; i < 6; i++) await control().tick();
        await p.must(p.up("shard-a"));
        assert.strictEqual(await p.phase("shard-a", "run:Wave 1:migrate"), "done");
        // B's preview shows the run's update (its after now done); B's up sends wave 2, once; another up sends nothing.
        const preview = await p.must(p.pulumi(["preview", "--stack", "shard-b"]));
        assert.match(preview, /MigrationRun run:Wave 2:migrate update/);
        await p.must(p.up("shard-b"));
        assert.deepStrictEqual([await starts("Wave 1"), await starts("Wave 2")], [1, 1]);
        assert.strictEqual(await p.phase("shard-b", "run:Wave 2:migrate"), "waiting");
        await p.must(p.up("shard-b"));
        await p.must(p.up("shard-a"));
        assert.deepStrictEqual([await starts("Wave 1"), await starts("Wave 2")], [1, 1], "nothing sent twice");
        const exported = ((await p.outputs("shard-a")).batches as Record<string, { runs: Record<string, string>[] }>)["Wave 1"].runs[0];
        assert.deepStrictEqual([exported.trigger, typeof exported.performedAt], ["1", "string"], "the export carries the run's trigger and performedAt");

        // A merge gives both waves a new trigger; B (a matrix may run it first) must not take A's "done" of the old pass.
        for (let i = 0; i < 6; i++) await control().tick();
        const plan2 = plan.replace(/trigger: "1"/g, 'trigger: "2"');
        fs.writeFileSync(path.join(p.dir, "plan.yaml"), plan2);
        out = await p.must(p.up("shard-b"));
        assert.match(out, /waiting for shard-a\/run:Wave 1:migrate: its stack reported phase done for trigger "1", not for the declared trigger "2"/);
        assert.strictEqual(await p.phase("shard-b", "run:Wave 2:migrate"), "deferred");
        assert.deepStrictEqual([await starts("Wave 1"), await starts("Wave 2")], [1, 1], "B defers its new pass");
        await p.must(p.up("shard-a"));
        out = await p.must(p.up("shard-b"));
        assert.match(out, /waiting for shard-a\/run:Wave 1:migrate: 0 of 2 done/);
        assert.deepStrictEqual([await starts("Wave 1"), await starts("Wave 2")], [2, 1], "A's new pass sent; B's still deferred");
        for (let i = 0; i < 6; i++) await control().tick();
        await p.must(p.up("shard-a"));
        await p.must(p.up("shard-b"));
        assert.deepStrictEqual([await starts("Wave 1"), await starts("Wave 2")], [2, 2], "B's new pass goes once A's new pass is done");

        // A batch in no shard's list: preview fails naming it as file:line, and applies nothing.
        fs.writeFileSync(path.join(p.dir, "plan.yaml"), `${plan2}  - name: Wave 3\n    users:\n${user("fay")}\n`);
        const bad = await p.pulumi(["preview", "--stack", "shard-b"]);
        assert.notStrictEqual(bad.code, 0);
        assert.match(bad.out, /plan\.yaml:13: batch "Wave 3" is in no shard's cloudiway-migration:batches \(shard-a: "Wave 1"; shard-b: "Wave 2"\)/);
    });

    /** 3 waves of 4, 3, 3 users and 1 user with no batch; --max-users 5 makes 3 shards. */
    const bigPlan = () => [
        "defaults: { sourceConnectorName: Gmail, targetConnectorName: Office 365 }",
        "batches:",
        "  - name: Wave A", "    users:", ...["a1", "a2", "a3", "a4"].map(user),
        "  - name: Wave B", "    settings: { fromDate: 2021-01-01 }", "    users:", ...["b1", "b2", "b3"].map(user),
        "  - name: Wave C", "    users:", ...["c1", "c2", "c3"].map(user),
        "users:", "  - { firstName: z1, lastName: Shard, sourceEmail: z1@source.example, targetEmail: z1@target.example }",
        "",
    ].join("\n");
    const ALL = ["a1", "a2", "a3", "a4", "b1", "b2", "b3", "c1", "c2", "c3", "z1"];
    async function assertEveryUserOnce(what: string) {
        const users = usersOf(await emuState(fx.emu.baseUrl)) as { firstName: string; batchName?: string }[];
        assert.deepStrictEqual(users.map((u) => u.firstName).sort(), ALL, `${what}: every user exists once`);
        for (const u of users) assert.strictEqual(u.batchName ?? "", u.firstName === "z1" ? "" : `Wave ${u.firstName[0].toUpperCase()}`, `${what}: ${u.firstName}'s batch`);
    }

    it("shards --init then up --all-shards --jobs 2: every user once; a second run changes nothing", async () => {
        await control().reset();
        await control().setLifecycle({ transitionMs: 0 });
        const p = (project = new Project("shards-all", fx.emu.url));
        fs.writeFileSync(path.join(p.dir, "plan.yaml"), bigPlan());
        await p.login();
        const init = await p.cli(["shards", "plan.yaml", "--max-users", "5", "--prefix", "t-", "--init", "--json"]);
        assert.strictEqual(init.code, 0, init.out);
        const assignment = JSON.parse(init.stdout) as { stacks: string[]; shards: { stack: string; batches: string[]; unbatched: boolean }[] };
        assert.deepStrictEqual(assignment.shards.map((s) => [s.stack, s.batches, s.unbatched]), [
            ["t-shard-1", ["Wave A"], true], ["t-shard-2", ["Wave B"], false], ["t-shard-3", ["Wave C"], false],
        ]);
        const listed = JSON.parse(await p.must(p.pulumi(["stack", "ls", "--json"]))) as { name: string }[];
        assert.deepStrictEqual(listed.map((s) => s.name).sort(), assignment.stacks.slice().sort());

        const first = await p.cli(["up", "--all-shards", "--jobs", "2"]);
        assert.strictEqual(first.code, 0, first.out);
        for (const s of assignment.stacks) {
            assert.match(first.out, new RegExp(`\\[${s}\\s*\\] up started`));
            assert.match(first.out, new RegExp(`\\[${s}\\s*\\] up finished in [\\d.]+ s: \\d+ created`));
        }
        assert.match(first.out, /shard\s+up\s+time\s+changes/);
        await assertEveryUserOnce("after the first up --all-shards");

        const again = await p.cli(["up", "--all-shards", "--jobs", "2", "--json"]);
        assert.strictEqual(again.code, 0, again.out);
        const results = (JSON.parse(again.stdout) as { results: { stack: string; ok: boolean; changes: Record<string, number> }[] }).results;
        for (const r of results) {
            assert.ok(r.ok, r.stack);
            assert.deepStrictEqual(Object.keys(r.changes).filter((k) => k !== "same" && r.changes[k] > 0), [], `${r.stack} changes nothing`);
        }
        await assertEveryUserOnce("after the second");
        const preview = await p.cli(["up", "--all-shards", "--preview"]);
        assert.strictEqual(preview.code, 0, preview.out);
        assert.match(preview.out, /preview finished in [\d.]+ s: no changes/);
        const unchanged = await p.cli(["up", "--all-shards", "--preview", "--expect-no-changes", "--json"]);
        assert.strictEqual(unchanged.code, 0, `--expect-no-changes on a converged tenant: ${unchanged.out}`);
        assert.ok((JSON.parse(unchanged.stdout) as { results: { outcome: string }[] }).results.every((r) => r.outcome === "ok"));

        // Wave C grows past --max-users: --init again keeps every batch in its stack and rewrites no stack's list.
        const files = () => assignment.stacks.map((s) => fs.readFileSync(path.join(p.dir, `Pulumi.${s}.yaml`), "utf8"));
        const before = files();
        fs.writeFileSync(path.join(p.dir, "plan.yaml"), bigPlan().replace(user("c3"), ["c3", "c4", "c5", "c6"].map(user).join("\n")));
        const again2 = await p.cli(["shards", "plan.yaml", "--max-users", "5", "--prefix", "t-", "--init", "--json"]);
        assert.strictEqual(again2.code, 0, again2.out);
        const kept = JSON.parse(again2.stdout) as { shards: { stack: string; batches: string[] }[]; moves: unknown[] };
        assert.deepStrictEqual([kept.shards.map((s) => [s.stack, s.batches]), kept.moves], [[["t-shard-1", ["Wave A"]], ["t-shard-2", ["Wave B"]], ["t-shard-3", ["Wave C"]]], []]);
        assert.match(again2.out, /batch "Wave C" has 6 users, more than --max-users 5: it stays in stack t-shard-3/);
        assert.deepStrictEqual(files(), before, "no stack's list rewritten");
    });

    it("a change to one wave: shards --changed-since lists only its shard, and up --all-shards --preview --stacks previews only it", async () => {
        await control().reset();
        await control().setLifecycle({ transitionMs: 0 });
        const p = (project = new Project("shards-pr", fx.emu.url));
        fs.writeFileSync(path.join(p.dir, "plan.yaml"), bigPlan());
        const git = (...args: string[]) => execFileSync("git", ["-c", "user.name=t", "-c", "user.email=t@x", ...args], { cwd: p.dir, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
        git("init", "-q", "-b", "main");
        await p.login();
        await p.must(p.cli(["shards", "plan.yaml", "--max-users", "5", "--prefix", "t-", "--init"]));
        const up = await p.cli(["up", "--all-shards", "--jobs", "2"]);
        assert.strictEqual(up.code, 0, up.out);
        git("add", "-A");
        git("commit", "-qm", "base");

        // The pull request: one user of Wave B renamed.
        fs.writeFileSync(path.join(p.dir, "plan.yaml"), bigPlan().replace("firstName: b2, lastName: Shard", "firstName: b2, lastName: Renamed"));
        const listed = await p.cli(["shards", "plan.yaml", "--changed-since", "main", "--json"]);
        assert.strictEqual(listed.code, 0, listed.out);
        const changed = JSON.parse(listed.stdout) as { stacks: string[]; batches: string[] };
        assert.deepStrictEqual([changed.stacks, changed.batches], [["t-shard-2"], ["Wave B"]]);
        const preview = await p.cli(["up", "--all-shards", "--preview", "--stacks", changed.stacks.join(","), "--json"]);
        assert.strictEqual(preview.code, 0, preview.out);
        const results = (JSON.parse(preview.stdout) as { results: { stack: string; ok: boolean; changes: Record<string, number> }[] }).results;
        assert.deepStrictEqual(results.map((r) => [r.stack, r.ok, r.changes.update ?? 0]), [["t-shard-2", true, 1]], "only that shard is previewed: the one user's update");
        assert.doesNotMatch(preview.out, /t-shard-1|t-shard-3/);
        // The same change under --expect-no-changes: pulumi's exit 7 for that shard, and the command's.
        const expect = await p.cli(["up", "--all-shards", "--expect-no-changes", "--jobs", "2", "--json"]);
        assert.strictEqual(expect.code, 7, expect.out);
        const outcomes = (JSON.parse(expect.stdout) as { results: { stack: string; outcome: string }[] }).results;
        assert.deepStrictEqual(outcomes.map((r) => [r.stack, r.outcome]), [["t-shard-1", "ok"], ["t-shard-2", "changes"], ["t-shard-3", "ok"]]);
        assert.match(expect.out, /\[t-shard-2\s*\] up CHANGES after [\d.]+ s: not up: its preview proposes changes where none were expected \(--expect-no-changes\); nothing was applied/);
        const previewOnly = await p.cli(["up", "--all-shards", "--preview", "--expect-no-changes", "--stacks", "t-shard-2"]);
        assert.strictEqual(previewOnly.code, 7, previewOnly.out);
        assert.match(previewOnly.out, /\[t-shard-2\s*\] preview CHANGES after [\d.]+ s: changes were proposed where none were expected/);
        const renamed = (usersOf(await emuState(fx.emu.baseUrl)) as { firstName: string; lastName: string }[]).find((u) => u.firstName === "b2");
        assert.strictEqual(renamed?.lastName, "Shard", "an up under --expect-no-changes that proposes a change applies nothing");

        // The same pull request also migrates Wave B: up --all-shards with the policy pack and a license
        // budget of 0 refuses that shard before its up (none of its sends, not even the rename); the others are up.
        fs.writeFileSync(path.join(p.dir, "plan.yaml"), fs.readFileSync(path.join(p.dir, "plan.yaml"), "utf8")
            .replace("    settings: { fromDate: 2021-01-01 }", "    settings: { fromDate: 2021-01-01 }\n    runs: [{ action: migrate, trigger: \"1\" }]"));
        fs.writeFileSync(path.join(p.root, "policy.json"), JSON.stringify({ "license-budget": { max: 0 } }));
        const guarded = await p.cli(["up", "--all-shards", "--jobs", "2", "--json", "--policy-pack", path.join(REPO, "policy"), "--policy-pack-config", path.join(p.root, "policy.json")]);
        assert.strictEqual(guarded.code, 5, `only refusals: pulumi's policy-violation code (${guarded.out})`);
        const ups = (JSON.parse(guarded.stdout) as { results: { stack: string; ok: boolean; refusedBy?: string[] }[] }).results;
        assert.deepStrictEqual(ups.map((r) => [r.stack, r.ok, r.refusedBy ?? []]), [["t-shard-1", true, []], ["t-shard-2", false, ["license-budget"]], ["t-shard-3", true, []]]);
        assert.match(guarded.out, /\[t-shard-2\s*\] up REFUSED after [\d.]+ s: not up: its preview was refused by the policy pack \(license-budget\)/);
        assert.strictEqual(await starts("Wave B"), 0, "no send of the refused shard");
        const b2 = (usersOf(await emuState(fx.emu.baseUrl)) as { firstName: string; lastName: string }[]).find((u) => u.firstName === "b2");
        assert.strictEqual(b2?.lastName, "Shard", "nothing of the refused shard's change is applied");
        const bad = await p.cli(["up", "--all-shards", "--policy-pack", path.join(REPO, "policy"), "--policy-pack-config", "a.json", "--policy-pack-config", "b.json"]);
        assert.match(bad.out, /--policy-pack-config: give one per --policy-pack \(1 pack\(s\), 2 config\(s\)\)/);
    });

    it("a shard killed mid-up fails the command, named; the others finish; its next up converges", async () => {
        await control().reset();
        await control().setLifecycle({ transitionMs: 0 });
        await emuFaults(fx.emu.baseUrl, { latencyMs: 400 });
        const p = (project = new Project("shards-kill", fx.emu.url, { PULUMI_SKIP_CHECKPOINTS: "true" }));
        try {
            fs.writeFileSync(path.join(p.dir, "plan.yaml"), bigPlan());
            await p.login();
            await p.must(p.cli(["shards", "plan.yaml", "--max-users", "5", "--prefix", "k-", "--init"]));
            const victim = "k-shard-1";
            const running = p.cli(["up", "--all-shards", "--jobs", "2"]);
            // SIGKILL the victim's `pulumi up` once it has created a user (its language host and provider exit on their own).
            let killed = false;
            const t0 = Date.now();
            while (!killed && Date.now() - t0 < 5 * 60 * 1000) {
                const creates = (await emuCalls(fx.emu.baseUrl)).filter((c) => c.call === "/mailusers/create" && c.ok).length;
                const engine = descendants(process.pid).find((d) => / up --yes --skip-preview/.test(d.cmd) && d.cmd.includes(`--stack ${victim}`) && /pulumi\s/.test(d.cmd.split(" ")[0] + " "));
                if (engine && creates >= 1) { process.kill(engine.pid, "SIGKILL"); killed = true; break; }
                await new Promise((r) => setTimeout(r, 50));
            }
            const r = await running;
            assert.ok(killed, `the victim's up was found and killed:\n${r.out}`);
            assert.strictEqual(r.code, 1, r.out);
            assert.match(r.out, new RegExp(`\\[${victim}\\s*\\] up FAILED after`));
            assert.match(r.out, new RegExp(`1 of 3 shard\\(s\\) failed: ${victim}`));
            for (const other of ["k-shard-2", "k-shard-3"]) assert.match(r.out, new RegExp(`\\[${other}\\s*\\] up finished`), `${other} finished`);

            // Recovery as in docs/campaign.md, "How to recover" (same machine, fast mode): cancel the lock if any, then up again.
            await emuFaults(fx.emu.baseUrl, { latencyMs: 0 });
            await p.pulumi(["cancel", "--yes", "--stack", victim]);
            const next = await p.cli(["up", "--all-shards", "--jobs", "2"]);
            assert.strictEqual(next.code, 0, next.out);
            await assertEveryUserOnce("after the recovery");
            const creates = (await emuCalls(fx.emu.baseUrl)).filter((c) => c.call === "/mailusers/create" && c.ok).length;
            assert.strictEqual(creates, ALL.length, "no user created twice");
        } finally {
            await emuFaults(fx.emu.baseUrl, { latencyMs: 0 });
        }
    });
});
