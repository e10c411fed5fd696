/**
 * What a `pulumi` command's exit says (cli/pulumiExit.ts): the CLI's stable exit codes first, the text
 * where the code does not tell (a policy refusal exits 1 up to 3.276), and one code for many shards.
 */
import * as assert from "assert";
import { PULUMI_EXIT, combinedExitCode, outcomeOf, refusingRules } from "../cli/pulumiExit";

describe("pulumi exit codes", () => {
    it("the stable codes: 0 ok, 7 changes under --expect-no-changes, 6 no such stack, 3 credentials, 2 configuration, 8 cancelled", () => {
        assert.strictEqual(outcomeOf(0, "").outcome, "ok");
        assert.strictEqual(outcomeOf(7, "").outcome, "changes");
        assert.match(outcomeOf(7, "").says, /nothing was applied/);
        assert.strictEqual(outcomeOf(6, "").outcome, "stack-not-found");
        assert.match(outcomeOf(6, "").says, /pulumi stack init/);
        assert.strictEqual(outcomeOf(3, "").outcome, "authentication");
        assert.strictEqual(outcomeOf(2, "").outcome, "configuration");
        assert.strictEqual(outcomeOf(8, "").outcome, "cancelled");
        assert.deepStrictEqual(outcomeOf(1, "error: something else"), { outcome: "failed", says: "failed (exit 1)" });
        assert.strictEqual(outcomeOf(undefined, "").outcome, "failed");
    });

    it("a policy refusal exits 1 today: the mandatory rules named in the output make it \"refused\"; 5 is taken too, when the CLI wires it", () => {
        const text = "Policies:\n    ❌ cloudiway-guardrails@v0.1.0 (local: policy)\n        - [mandatory]  license-budget  (pulumi:pulumi:Stack: x)\n        - [mandatory]  change-window  (y)\n        - [mandatory]  license-budget  (z)\nerror: preview failed";
        assert.deepStrictEqual(refusingRules(text), ["license-budget", "change-window"]);
        const r = outcomeOf(1, text);
        assert.deepStrictEqual([r.outcome, r.refusedBy], ["refused", ["license-budget", "change-window"]]);
        assert.match(r.says, /refused by the policy pack \(license-budget, change-window\)/);
        assert.strictEqual(outcomeOf(PULUMI_EXIT.policyViolation, "").outcome, "refused");
        assert.strictEqual(outcomeOf(1, "- [advisory]  gated-waves  (w)").outcome, "failed", "an advisory rule refuses nothing");
    });

    it("an older CLI's --expect-no-changes failure (exit 1) is read from the engine's sentence", () => {
        assert.strictEqual(outcomeOf(1, "error: no changes were expected but changes were proposed").outcome, "changes");
        assert.strictEqual(outcomeOf(1, "error: no changes were expected for update but changes were proposed").outcome, "changes");
    });

    it("many commands: 0 when all succeeded, the shared stable code when the others all ended alike, else 1", () => {
        assert.strictEqual(combinedExitCode([]), 0);
        assert.strictEqual(combinedExitCode(["ok", "ok"]), 0);
        assert.strictEqual(combinedExitCode(["ok", "changes", "changes"]), 7);
        assert.strictEqual(combinedExitCode(["refused", "ok"]), 5);
        assert.strictEqual(combinedExitCode(["stack-not-found"]), 6);
        assert.strictEqual(combinedExitCode(["changes", "refused"]), 1, "two different ends: generic");
        assert.strictEqual(combinedExitCode(["failed", "ok"]), 1);
    });
});
