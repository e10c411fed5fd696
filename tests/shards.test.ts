/**
 * Shards of one plan, without the engine (provider/plan/shards.ts): batch lists as JSON or commas,
 * globs, the project's shards read from Pulumi.<stack>.yaml, which batches a stack deploys (with
 * their users and runs), a batch in no shard's list (or two) as file:line, the users with no batch,
 * first-fit-decreasing assignment, the batches a change touches; and MigrationPlan with an `after:`
 * that names another shard's batch (data entries of MigrationRunArgs.after).
 */
import * as assert from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { loadPlan } from "../provider/plan";
import { afterPending } from "../provider/resources/migrationRun";
import { placeShards } from "../provider/plan/placement";
import { moves } from "../cli/shards";
import {
    ShardSpec, assignShards, changedBatches, globToRegExp, literalPattern, matchesAny, parseBatchList, readShardSpecs, selectShard, shardConfig,
} from "../provider/plan/shards";

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "cw-shards-"));
const write = (name: string, text: string) => { const f = path.join(tmp, name); fs.mkdirSync(path.dirname(f), { recursive: true }); fs.writeFileSync(f, text); return f; };
const user = (n: string, extra = "") => `      - { firstName: ${n}, lastName: X, sourceEmail: ${n}@s.example, targetEmail: ${n}@t.example${extra} }`;

/** Wave 1 (3 users, gated run), Wave 2 (2 users, run after Wave 1), Wave 3 (1 user), one user with no batch. */
const PLAN = [
    "defaults: { sourceConnectorName: Gmail, targetConnectorName: Office 365 }",
    "batches:",
    "  - name: Wave 1",
    "    runs: [{ action: migrate, trigger: \"1\", waitFor: { maxFailed: 0 } }]",
    "    users:", user("ann"), user("ben"), user("cat"),
    "  - name: Wave 2",
    "    runs: [{ action: migrate, trigger: \"1\", after: Wave 1, waitFor: {} }]",
    "    users:", user("dan"), user("eve"),
    "  - name: Wave 3 - Rest",
    "    users:", user("fay"),
    "users:",
    "  - { firstName: gus, lastName: X, sourceEmail: gus@s.example, targetEmail: gus@t.example }",
    "",
].join("\n");

describe("shards: batch lists and globs", () => {
    it("takes a JSON list or names separated by commas; refuses a JSON list of non-strings", () => {
        assert.deepStrictEqual(parseBatchList('["Wave 1", "Wave 2*"]'), ["Wave 1", "Wave 2*"]);
        assert.deepStrictEqual(parseBatchList("Wave 1, Wave 2* ,,"), ["Wave 1", "Wave 2*"]);
        assert.deepStrictEqual(parseBatchList(["A", " B "]), ["A", "B"]);
        assert.deepStrictEqual(parseBatchList(""), []);
        assert.throws(() => parseBatchList("[1, 2]"), /must hold strings/);
        assert.throws(() => parseBatchList("[oops"), /not a JSON list/);
    });
    it("globs: * any run, ? one character, \\ literal; everything else literal; a literal pattern matches only its name", () => {
        assert.ok(globToRegExp("Wave 2*").test("Wave 2 - Finance"));
        assert.ok(globToRegExp("Wave ?").test("Wave 3"));
        assert.ok(!globToRegExp("Wave ?").test("Wave 10"));
        assert.ok(!globToRegExp("Wave 1").test("Wave 10"), "anchored");
        assert.ok(globToRegExp("a.b(c)[d]").test("a.b(c)[d]"));
        assert.ok(!globToRegExp("a.b").test("axb"));
        assert.ok(matchesAny([literalPattern("Star*")], "Star*"));
        assert.ok(!matchesAny([literalPattern("Star*")], "Stardust"));
        assert.ok(matchesAny(["x", "W*"], "Wave"));
    });
});

describe("shards: the project's stack config files", () => {
    it("reads every Pulumi.<stack>.yaml that sets cloudiway-migration:batches (a string or a YAML list) and unbatched", () => {
        const dir = path.join(tmp, "project");
        write("project/Pulumi.yaml", "name: cloudiway-migration\nruntime: nodejs\n");
        write("project/Pulumi.prod-shard-1.yaml", "config:\n  cloudiway-migration:batches: '[\"Wave 1\"]'\n  cloudiway-migration:unbatched: \"true\"\n");
        write("project/Pulumi.prod-shard-2.yaml", "config:\n  cloudiway-migration:batches: Wave 2*, Wave 3*\n");
        write("project/Pulumi.prod-shard-3.yaml", "config:\n  cloudiway-migration:batches:\n    - Wave 9\n");
        write("project/Pulumi.dev.yaml", "config:\n  cloudiway:apiUrl: http://x\n");
        assert.deepStrictEqual(readShardSpecs(dir), [
            { stack: "prod-shard-1", patterns: ["Wave 1"], unbatched: true, where: "Pulumi.prod-shard-1.yaml" },
            { stack: "prod-shard-2", patterns: ["Wave 2*", "Wave 3*"], unbatched: false, where: "Pulumi.prod-shard-2.yaml" },
            { stack: "prod-shard-3", patterns: ["Wave 9"], unbatched: false, where: "Pulumi.prod-shard-3.yaml" },
        ]);
        assert.deepStrictEqual(readShardSpecs(path.join(tmp, "nowhere")), []);
    });
});

describe("shards: which batches a stack deploys", () => {
    const file = write("plan.yaml", PLAN);
    const plan = loadPlan(file);
    const A: ShardSpec = { stack: "a", patterns: ["Wave 1"], unbatched: true, where: "Pulumi.a.yaml" };
    const B: ShardSpec = { stack: "b", patterns: ["Wave 2", "Wave 3*"], unbatched: false, where: "Pulumi.b.yaml" };

    it("a shard deploys its batches with their users and runs; the unbatched shard the users with no batch", () => {
        const a = selectShard(plan, A, [A, B]);
        assert.deepStrictEqual(a.problems, []);
        assert.deepStrictEqual(a.plan.batches.map((b) => b.name), ["Wave 1"]);
        assert.deepStrictEqual(a.plan.users.map((u) => u.firstName).sort(), ["ann", "ben", "cat", "gus"]);
        const b = selectShard(plan, B, [A, B]);
        assert.deepStrictEqual(b.plan.batches.map((x) => x.name), ["Wave 2", "Wave 3 - Rest"]);
        assert.deepStrictEqual(b.plan.users.map((u) => u.firstName).sort(), ["dan", "eve", "fay"]);
        assert.deepStrictEqual(b.plan.batches[0].runs.map((r) => r.after), ["Wave 1"]);
        assert.deepStrictEqual([...b.stackOf], [["Wave 1", "a"], ["Wave 2", "b"], ["Wave 3 - Rest", "b"]]);
    });

    it("the running stack's own config replaces its file's; a pattern matching nothing is a warning", () => {
        const stale: ShardSpec = { ...B, patterns: ["Wave 2"] };
        const b = selectShard(plan, { ...B, patterns: [...B.patterns, "Wave 7"], where: "stack config" }, [A, stale]);
        assert.deepStrictEqual(b.problems, []);
        assert.match(b.warnings.join("\n"), /"Wave 7" matches no batch of plan\.yaml/);
    });

    it("a batch in no shard's list is a problem at the batch's file:line; a batch in two lists too", () => {
        const r = selectShard(plan, { ...B, patterns: ["Wave 2"] }, [A]);
        assert.deepStrictEqual(r.problems.length, 1);
        assert.match(r.problems[0], /plan\.yaml:14: batch "Wave 3 - Rest" is in no shard's cloudiway-migration:batches \(a: "Wave 1" \+ users with no batch; b: "Wave 2"\)/);
        const two = selectShard(plan, { ...B, patterns: ["Wave*"] }, [A]);
        assert.match(two.problems.join("\n"), /plan\.yaml:3: batch "Wave 1" is in the cloudiway-migration:batches of 2 shards/);
    });

    it("users with no batch need exactly one shard with unbatched", () => {
        const none = selectShard(plan, B, [{ ...A, unbatched: false }]);
        assert.match(none.problems.join("\n"), /plan\.yaml:18: 1 user\(s\) are in no batch and no shard takes them: set cloudiway-migration:unbatched true on one shard/);
        const both = selectShard(plan, { ...B, unbatched: true }, [A]);
        assert.match(both.problems.join("\n"), /cloudiway-migration:unbatched is true on 2 shards \(a in Pulumi\.a\.yaml, b in Pulumi\.b\.yaml\): set it on exactly one/);
    });
});

describe("shards: assignment (first-fit decreasing, whole batches)", () => {
    const u = (batch: string | undefined) => ({ batch });
    const mk = (sizes: Record<string, number>, loose = 0) => ({
        batches: Object.keys(sizes).map((name) => ({ name, runs: [], where: "p:1" })),
        users: [...Object.entries(sizes).flatMap(([b, n]) => Array.from({ length: n }, () => u(b))), ...Array.from({ length: loose }, () => u(undefined))],
    }) as unknown as Parameters<typeof assignShards>[0];

    it("packs whole batches into as few shards as fit, largest first; each lists its batches in the plan's order", () => {
        const a = assignShards(mk({ W1: 3000, W2: 2000, W3: 2500, W4: 1500, W5: 1000 }), 5000, "prod-");
        assert.deepStrictEqual(a.shards.map((s) => [s.stack, s.batches, s.users]), [
            ["prod-shard-1", ["W1", "W2"], 5000],
            ["prod-shard-2", ["W3", "W4", "W5"], 5000],
        ]);
        assert.deepStrictEqual(a.warnings, []);
    });

    it("a batch larger than max-users gets a shard of its own, with a warning; the users with no batch are one more item", () => {
        const a = assignShards(mk({ Big: 7000, W2: 100 }, 50), 5000);
        assert.deepStrictEqual(a.shards.map((s) => [s.stack, s.batches, s.users, s.unbatched]), [
            ["shard-1", ["Big"], 7000, false],
            ["shard-2", ["W2"], 150, true],
        ]);
        assert.match(a.warnings[0], /batch "Big" has 7000 users, more than --max-users 5000: it gets a shard of its own/);
        assert.throws(() => assignShards(mk({ W: 1 }), 0), /--max-users must be a whole number of 1 or more/);
    });

    it("the config --init sets: exact names (glob characters escaped), unbatched, planFile", () => {
        assert.deepStrictEqual(shardConfig({ stack: "s", batches: ["W*1", "W2"], users: 3, unbatched: true }, "plan.yaml"), {
            "cloudiway-migration:batches": JSON.stringify(["W\\*1", "W2"]),
            "cloudiway-migration:unbatched": "true",
            "cloudiway-migration:planFile": "plan.yaml",
        });
        assert.ok(matchesAny(parseBatchList(JSON.stringify(["W\\*1"])), "W*1"));
    });
});

describe("shards: existing shards stay where they are; only --rebalance moves a batch", () => {
    const mk = (sizes: Record<string, number>, loose = 0) => ({
        batches: Object.keys(sizes).map((name) => ({ name, runs: name === "W2" ? [{ action: "migrate", trigger: "1" }] : [], where: "p:1" })),
        users: [...Object.entries(sizes).flatMap(([b, n]) => Array.from({ length: n }, () => ({ batch: b }))), ...Array.from({ length: loose }, () => ({ batch: undefined }))],
    }) as unknown as Parameters<typeof placeShards>[0];
    const spec = (stack: string, patterns: string[], unbatched = false): ShardSpec => ({ stack, patterns, unbatched, where: `Pulumi.${stack}.yaml` });
    // As `shards --max-users 5000` split it first: shard-1 W1+W2 (3000+2000), shard-2 W3+W4 (2500+1500) and the users with no batch.
    const existing = [spec("shard-1", ["W1", "W2"]), spec("shard-2", ["W3", "W4"], true)];

    it("a batch that grew past --max-users stays, with a warning; nothing moves; a new batch goes first-fit into a shard with room, then a new shard", () => {
        const grown = mk({ W1: 5200, W2: 2000, W3: 2500, W4: 1500, W5: 900, W6: 1200 }, 100);
        const a = placeShards(grown, 5000, existing, { prefix: "" });
        assert.deepStrictEqual(a.shards.map((s) => [s.stack, s.batches, s.users, s.unbatched]), [
            ["shard-1", ["W1", "W2"], 7200, false],
            ["shard-2", ["W3", "W4", "W5"], 5000, true],
            ["shard-3", ["W6"], 1200, false],
        ]);
        assert.deepStrictEqual(a.moves, []);
        assert.deepStrictEqual(a.changed.sort(), ["shard-2", "shard-3"], "shard-1 is not rewritten");
        assert.match(a.warnings.join("\n"), /batch "W1" has 5200 users, more than --max-users 5000: it stays in stack shard-1 \(only --rebalance moves a batch\)/);
        assert.match(a.warnings.join("\n"), /stack shard-1 holds 7200 users/);
        // The lists --init writes: an existing shard keeps its own patterns (globs too) and gains the new names.
        const globbed = placeShards(mk({ "W1": 10, "W2a": 10, "W2b": 10 }), 50, [spec("g", ["W1", "W2*"])]);
        assert.deepStrictEqual([globbed.shards.map((s) => [s.stack, s.batches]), globbed.changed], [[["g", ["W1", "W2a", "W2b"]]], []]);
        assert.deepStrictEqual(shardConfig(a.shards[1])["cloudiway-migration:batches"], JSON.stringify(["W3", "W4", "W5"]));
        assert.deepStrictEqual(moves(a, true), "");
    });

    it("--rebalance packs again, keeps each shard's name where most of its users are, and says what moves and what it means for the runs", () => {
        const grown = mk({ W1: 5200, W2: 2000, W3: 2500, W4: 1500 }, 100);
        const a = placeShards(grown, 5000, existing, { rebalance: true });
        assert.deepStrictEqual(a.shards.map((s) => [s.stack, s.batches]), [["shard-1", ["W1"]], ["shard-2", ["W2", "W3"]], ["shard-3", ["W4"]]]);
        assert.deepStrictEqual(a.moves.map((m) => [m.batch, m.from, m.to]), [["W2", "shard-1", "shard-2"], ["W4", "shard-2", "shard-3"]]);
        const text = moves(a, false);
        assert.match(text, /2 batch\(es\) move \(not applied: add --init\):/);
        assert.match(text, /batch "W2" \(2000 users, runs: migrate\): shard-1 -> shard-2/);
        assert.match(text, /new resources in another stack with another journal scope\. The moved batch's runs will be\s+sent again/);
    });

    it("the command: after one batch grew, shards --max-users keeps every batch in its stack (as Pulumi.<stack>.yaml says); --rebalance prints the moves", () => {
        const users = (names: string[]) => ["    users:", ...names.map((n) => user(n))];
        const plan = [
            "defaults: { sourceConnectorName: Gmail, targetConnectorName: Office 365 }", "batches:",
            "  - name: W1", ...users(["a1", "a2", "a3", "a4", "a5", "a6"]),
            "  - name: W2", "    runs: [{ action: migrate, trigger: \"1\" }]", ...users(["b1", "b2"]),
            "  - name: W3", ...users(["c1"]), "",
        ].join("\n");
        write("cli/Pulumi.yaml", "name: cloudiway-migration\nruntime: nodejs\n");
        write("cli/Pulumi.s-1.yaml", "config:\n  cloudiway-migration:batches: '[\"W1\", \"W2\"]'\n");
        write("cli/Pulumi.s-2.yaml", "config:\n  cloudiway-migration:batches: '[\"W3\"]'\n");
        write("cli/plan.yaml", plan);
        const cli = (...args: string[]) => spawnSync(process.execPath, [path.resolve(__dirname, "..", "cli", "index.js"), "shards", "plan.yaml", "--max-users", "5", ...args], { cwd: path.join(tmp, "cli"), encoding: "utf8" });
        const kept = cli("--json");
        assert.strictEqual(kept.status, 0, kept.stderr);
        const out = JSON.parse(kept.stdout) as { shards: { stack: string; batches: string[] }[]; moves: unknown[] };
        assert.deepStrictEqual([out.shards.map((x) => [x.stack, x.batches]), out.moves], [[["s-1", ["W1", "W2"]], ["s-2", ["W3"]]], []]);
        assert.match(kept.stderr, /warning: batch "W1" has 6 users, more than --max-users 5: it stays in stack s-1/);
        const moved = cli("--rebalance");
        assert.strictEqual(moved.status, 0, moved.stderr);
        assert.match(moved.stdout, /1 batch\(es\) move \(not applied: add --init\):\n {2}batch "W2" \(2 users, runs: migrate\): s-1 -> s-2\n/);
        assert.match(moved.stdout, /The moved batch's runs will be\s+sent again/);
    });
});

describe("shards: the batches a change touches", () => {
    const base = loadPlan(write("base.yaml", PLAN));
    it("a user changed in one wave touches that wave only; a move touches both; a run's trigger its batch; a loose user the unbatched shard", () => {
        const one = loadPlan(write("one.yaml", PLAN.replace("firstName: dan, lastName: X", "firstName: dan, lastName: Y")));
        assert.deepStrictEqual([...changedBatches(base, one).batches], ["Wave 2"]);
        assert.strictEqual(changedBatches(base, one).unbatched, false);
        const run = loadPlan(write("run.yaml", PLAN.replace('trigger: "1", waitFor: { maxFailed: 0 }', 'trigger: "2", waitFor: { maxFailed: 0 }')));
        assert.deepStrictEqual([...changedBatches(base, run).batches], ["Wave 1"]);
        const moved = loadPlan(write("moved.yaml", PLAN.replace(user("fay") + "\n", "").replace(user("eve"), `${user("eve")}\n${user("fay")}`)));
        assert.deepStrictEqual([...changedBatches(base, moved).batches].sort(), ["Wave 2", "Wave 3 - Rest"]);
        const loose = loadPlan(write("loose.yaml", PLAN.replace("firstName: gus, lastName: X", "firstName: gus, lastName: Z")));
        assert.deepStrictEqual([[...changedBatches(base, loose).batches], changedBatches(base, loose).unbatched], [[], true]);
        assert.deepStrictEqual([...changedBatches(base, base).batches], []);
    });
});

describe("shards: a run of another shard is done only for the trigger the plan declares", () => {
    const run = "a/run:Wave 1:migrate";
    it("done for the declared trigger is done; done of another trigger, or with no trigger reported, is not (fail closed)", () => {
        assert.strictEqual(afterPending({ run, phase: "done", trigger: "2", declaredTrigger: "2" }), undefined);
        assert.match(afterPending({ run, phase: "done", trigger: "1", declaredTrigger: "2" }) ?? "", /reported phase done for trigger "1", not for the declared trigger "2"/);
        assert.match(afterPending({ run, phase: "done", declaredTrigger: "2" }) ?? "", /reported phase done with no trigger \(an export of an older version\).*run that stack's up with this version first/);
        assert.match(afterPending({ run, phase: "waiting", progress: "1 of 2 done", trigger: "2", declaredTrigger: "2" }) ?? "", /^1 of 2 done$/);
        assert.strictEqual(afterPending({ run, declaredTrigger: "2" }), "not recorded yet");
        assert.strictEqual(afterPending({ run, phase: "done" }), undefined, "no declared trigger (a local run, or data without one): the phase alone");
    });
});

describe("shards: MigrationPlan with an after: in another shard", () => {
    const registered: { type: string; name: string; inputs: Record<string, unknown> }[] = [];
    before(() => {
        pulumi.runtime.setMocks({
            newResource: (a) => {
                registered.push({ type: a.type, name: a.name, inputs: a.inputs as Record<string, unknown> });
                return { id: `${a.name}-id`, state: { ...a.inputs, migrationTag: a.type.endsWith(":MailUser") ? "11111111-2222-3333-4444-555555555555" : undefined } };
            },
            call: () => ({}),
        }, "cloudiway-migration", "b", false);
    });
    after(() => fs.rmSync(tmp, { recursive: true, force: true }));

    it("deploys only the shard's batches; its run's after is the data given for the other shard's batch; a missing resolver is an error", async () => {
        const { MigrationPlan } = await import("../provider/plan");
        const plan = loadPlan(path.join(tmp, "plan.yaml"));
        const B: ShardSpec = { stack: "b", patterns: ["Wave 2", "Wave 3*"], unbatched: false, where: "x" };
        const sel = selectShard(plan, B, [{ stack: "a", patterns: ["Wave 1"], unbatched: true, where: "y" }]);
        assert.throws(() => new MigrationPlan("nope", { plan: sel.plan }), /a run is after batch "Wave 1", which this plan does not deploy/);
        registered.length = 0;
        const asked: string[] = [];
        const mp = new MigrationPlan("plan", {
            plan: sel.plan,
            externalAfter: (batch) => { asked.push(batch); return [pulumi.output({ run: "a/run:Wave 1:migrate", phase: "waiting", progress: "1 of 3 done" })]; },
        });
        await new Promise<void>((resolve) => mp.summary.apply(() => resolve()));
        await new Promise((r) => setTimeout(r, 200));
        assert.deepStrictEqual(asked, ["Wave 1"]);
        const names = (t: string) => registered.filter((r) => r.type.endsWith(`:${t}`)).map((r) => r.name).sort();
        assert.deepStrictEqual(names("MailBatch"), ["batch:Wave 2", "batch:Wave 3 - Rest"]);
        assert.deepStrictEqual(names("MailUser"), ["user:dan@s.example", "user:eve@s.example", "user:fay@s.example"]);
        const run = registered.find((r) => r.name === "run:Wave 2:migrate")!;
        assert.deepStrictEqual(run.inputs.after, [{ run: "a/run:Wave 1:migrate", phase: "waiting", progress: "1 of 3 done" }]);
        assert.deepStrictEqual(Object.keys(mp.batchRuns).sort(), ["Wave 2", "Wave 3 - Rest"]);
    });
});
