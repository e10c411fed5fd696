/**
 * plan-summary over several previews (the shards of one plan): one summary, the costs added up, the
 * stacks named; the command takes several files; shards that disagree on the default deletion policy
 * are warned about.
 */
import * as assert from "assert";
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { mergePreviews, summarizePreviews } from "../cli/plan-summary";
import { costOfPreview } from "../provider/campaign/cost";

const urn = (stack: string, t: string, n: string) => `urn:pulumi:${stack}::cloudiway-migration::cloudiway:index:MigrationPlan$pulumi-nodejs:dynamic/cloudiway:${t}::${n}`;
const newUser = (stack: string, email: string) => ({
    op: "create", urn: urn(stack, "MailUser", `user:${email}`),
    newState: { inputs: { sourceEmail: email, targetEmail: email.replace("@s.", "@t."), licensed: true } },
});
const preview = (stack: string, steps: unknown[], policy?: string) => ({ steps, diagnostics: [], ...(policy ? { config: { "cloudiway:deletionPolicy": policy } } : {}) });

describe("plan-summary over the previews of several shards", () => {
    const a = preview("prod-shard-1", [newUser("prod-shard-1", "ann@s.example"), { op: "update", urn: urn("prod-shard-1", "BatchMembership", "membership:ben@s.example"), oldState: { inputs: { batchName: "Wave 1" } }, newState: { inputs: { batchName: "Wave 1b" } } }]);
    const b = preview("prod-shard-2", [newUser("prod-shard-2", "dan@s.example"), newUser("prod-shard-2", "eve@s.example")]);

    it("one summary: the stacks named under the title, the costs and counts of both", () => {
        const md = summarizePreviews([a, b]);
        assert.match(md, /^## Cloudiway migration plan\n\nPreviews of 2 stacks: prod-shard-1, prod-shard-2\./);
        assert.match(md, /\| licenses assigned \(users made `licensed`\) \| 3 \|/);
        assert.match(md, /\| MailUser \| 3 \| 0 \| 0 \| 0 \|/);
        assert.match(md, /\| BatchMembership \| 0 \| 1 \| 0 \| 0 \|/);
        assert.strictEqual(costOfPreview(mergePreviews([a, b]).merged).licensesAssigned.length, 3);
        assert.doesNotMatch(summarizePreviews([a]), /Previews of/, "one preview: as before");
    });

    it("the command takes several files; shards with different default deletion policies are warned about", () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "cw-sum-"));
        try {
            fs.writeFileSync(path.join(dir, "a.json"), JSON.stringify(a));
            fs.writeFileSync(path.join(dir, "b.json"), JSON.stringify({ ...b, config: { "cloudiway:deletionPolicy": "delete" } }));
            const cli = path.resolve(__dirname, "..", "cli", "index.js");
            const md = execFileSync(process.execPath, [cli, "plan-summary", "a.json", "b.json"], { cwd: dir, encoding: "utf8" });
            assert.match(md, /Previews of 2 stacks: prod-shard-1, prod-shard-2\./);
            const json = JSON.parse(execFileSync(process.execPath, [cli, "plan-summary", "a.json", "b.json", "--json"], { cwd: dir, encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] })) as { licensesAssigned: unknown[] };
            assert.strictEqual(json.licensesAssigned.length, 3);
            assert.match(mergePreviews([a, { ...b, config: { "cloudiway:deletionPolicy": "delete" } }]).warnings.join(""), /cloudiway:deletionPolicy differ/);
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });
});
