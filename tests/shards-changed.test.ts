/**
 * `cloudiway-migration shards <plan> --changed-since <ref>` in a git repository (no engine): a
 * change to one wave lists only that wave's shard; a change to a CSV the plan names lists the shards
 * of the batches its rows are in; a shard whose stack config file changed is listed; a plan that did
 * not exist at the ref lists every shard, and so does a plan-wide key or a project file that changed.
 */
import * as assert from "assert";
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { changedShards } from "../cli/shards";

const CLI = path.resolve(__dirname, "..", "cli", "index.js");
const user = (n: string) => `      - { firstName: ${n}, lastName: X, sourceEmail: ${n}@s.example, targetEmail: ${n}@t.example }`;
const PLAN = [
    "defaults: { sourceConnectorName: Gmail, targetConnectorName: Office 365 }",
    "csv: users.csv",
    "batches:",
    "  - name: Wave 1", "    users:", user("ann"), user("ben"),
    "  - name: Wave 2", "    users:", user("dan"),
    "  - name: Wave 3", "    users:", user("fay"),
    "",
].join("\n");
const CSV = "FirstName,LastName,SourceEmail,TargetEmail,BatchName\nGus,X,gus@s.example,gus@t.example,Wave 3\n";

describe("shards --changed-since: the shards a change touches", () => {
    const repo = fs.mkdtempSync(path.join(os.tmpdir(), "cw-changed-"));
    const dir = path.join(repo, "migration");
    const git = (...args: string[]) => execFileSync("git", args, { cwd: repo, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
    const write = (f: string, text: string) => fs.writeFileSync(path.join(dir, f), text);
    before(() => {
        fs.mkdirSync(dir);
        write("Pulumi.yaml", "name: cloudiway-migration\nruntime: nodejs\n");
        write("plan.yaml", PLAN);
        write("users.csv", CSV);
        write("Pulumi.s-1.yaml", "config:\n  cloudiway-migration:batches: '[\"Wave 1\"]'\n");
        write("Pulumi.s-2.yaml", "config:\n  cloudiway-migration:batches: '[\"Wave 2\"]'\n");
        write("Pulumi.s-3.yaml", "config:\n  cloudiway-migration:batches: Wave 3*\n");
        write("index.ts", "export = require(\"pulumi-cloudiway/plan\").planProgram();\n");
        write("README.md", "notes\n");
        fs.writeFileSync(path.join(repo, "package.json"), "{\"name\": \"m\"}\n");
        git("init", "-q", "-b", "main");
        git("-c", "user.name=t", "-c", "user.email=t@x", "add", "-A");
        git("-c", "user.name=t", "-c", "user.email=t@x", "commit", "-qm", "base");
    });
    after(() => fs.rmSync(repo, { recursive: true, force: true }));
    afterEach(() => { git("checkout", "-q", "--", "."); });

    it("nothing changed: no shard", () => {
        assert.deepStrictEqual(changedShards(dir, path.join(dir, "plan.yaml"), "main").stacks, []);
    });

    it("a change to one wave lists only that wave's shard (and --json says which batches)", () => {
        write("plan.yaml", PLAN.replace("firstName: dan, lastName: X", "firstName: dan, lastName: Y"));
        const r = changedShards(dir, path.join(dir, "plan.yaml"), "main");
        assert.deepStrictEqual([r.stacks, r.batches], [["s-2"], ["Wave 2"]]);
        const out = JSON.parse(execFileSync(process.execPath, [CLI, "shards", "plan.yaml", "--changed-since", "main", "--json"], { cwd: dir, encoding: "utf8" })) as { stacks: string[]; shards: { stack: string; batches: string[] }[] };
        assert.deepStrictEqual(out.shards, [{ stack: "s-2", batches: ["Wave 2"] }]);
    });

    it("a user moved between waves lists both shards; a row of the CSV lists its batch's shard", () => {
        write("plan.yaml", PLAN.replace(`${user("dan")}\n`, "").replace(user("ben"), `${user("ben")}\n${user("dan")}`));
        assert.deepStrictEqual(changedShards(dir, path.join(dir, "plan.yaml"), "main").stacks, ["s-1", "s-2"]);
        git("checkout", "-q", "--", ".");
        write("users.csv", CSV.replace("Gus,X", "Gus,Z"));
        assert.deepStrictEqual(changedShards(dir, path.join(dir, "plan.yaml"), "main").stacks, ["s-3"]);
    });

    it("a plan-wide key that changed (kind, adoptExisting, defaults) lists every shard, saying why", () => {
        write("plan.yaml", `kind: archive\n${PLAN}`);
        const r = changedShards(dir, path.join(dir, "plan.yaml"), "main");
        assert.deepStrictEqual([r.stacks, r.planWide, r.batches], [["s-1", "s-2", "s-3"], ["kind"], []]);
        assert.match(r.notes.join("\n"), /plan-wide key\(s\) of plan\.yaml changed since main \(kind\): every shard is listed/);
        write("plan.yaml", PLAN.replace("targetConnectorName: Office 365", "targetConnectorName: Office 365 B"));
        assert.deepStrictEqual(changedShards(dir, path.join(dir, "plan.yaml"), "main").planWide, ["defaults"]);
        write("plan.yaml", `adoptExisting: true\n${PLAN}`);
        assert.deepStrictEqual(changedShards(dir, path.join(dir, "plan.yaml"), "main").stacks, ["s-1", "s-2", "s-3"]);
    });

    it("a project file that changed (Pulumi.yaml, the program, the policy config, package.json above) lists every shard; a README does not", () => {
        for (const [file, text] of [["Pulumi.yaml", "name: cloudiway-migration\nruntime: nodejs\nmain: index.ts\n"], ["index.ts", "// changed\n"], ["policy.json", "{}\n"]]) {
            git("checkout", "-q", "--", ".");
            write(file, text);
            if (file === "policy.json") git("add", "migration/policy.json");
            const r = changedShards(dir, path.join(dir, "plan.yaml"), "main");
            assert.deepStrictEqual([r.stacks, r.projectFiles], [["s-1", "s-2", "s-3"], [`migration/${file}`]], file);
            if (file === "policy.json") { git("rm", "-q", "--cached", "migration/policy.json"); fs.rmSync(path.join(dir, file)); }
        }
        git("checkout", "-q", "--", ".");
        fs.writeFileSync(path.join(repo, "package.json"), "{\"name\": \"m\", \"dependencies\": {\"pulumi-cloudiway\": \"2.0.0\"}}\n");
        assert.deepStrictEqual(changedShards(dir, path.join(dir, "plan.yaml"), "main").projectFiles, ["package.json"]);
        git("checkout", "-q", "--", ".");
        write("README.md", "other notes\n");
        assert.deepStrictEqual(changedShards(dir, path.join(dir, "plan.yaml"), "main").stacks, []);
    });

    it("a shard whose stack config file changed is listed; a plan not at the ref lists every shard", () => {
        write("Pulumi.s-1.yaml", "config:\n  cloudiway-migration:batches: '[\"Wave 1\", \"Wave 9\"]'\n");
        const r = changedShards(dir, path.join(dir, "plan.yaml"), "main");
        assert.deepStrictEqual(r.stacks, ["s-1"]);
        assert.match(r.notes.join("\n"), /Pulumi\.s-1\.yaml changed since main/);
        git("checkout", "-q", "--", ".");
        fs.copyFileSync(path.join(dir, "plan.yaml"), path.join(dir, "plan2.yaml"));
        try {
            const all = changedShards(dir, path.join(dir, "plan2.yaml"), "main");
            assert.deepStrictEqual(all.stacks, ["s-1", "s-2", "s-3"]);
            assert.match(all.notes.join("\n"), /plan2\.yaml did not exist at main/);
        } finally {
            fs.rmSync(path.join(dir, "plan2.yaml"));
        }
    });
});
