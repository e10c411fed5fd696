/**
 * Runs in plan files: a gate (waitFor), a scheduled start (notBefore), `after: <batch>` (the run waits
 * for that batch's runs), and their errors as file:line before anything is applied.
 */
import * as assert from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { loadPlan } from "../provider/plan";

describe("plan files: waitFor, notBefore, after", () => {
    let dir: string;
    beforeEach(() => { dir = fs.mkdtempSync(path.join(os.tmpdir(), "cw-plan-runs-")); });
    afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));
    const write = (lines: string[]) => { const f = path.join(dir, "plan.yaml"); fs.writeFileSync(f, lines.join("\n") + "\n"); return f; };
    const head = ["defaults: { sourceConnectorName: Gmail, targetConnectorName: Office 365 }", "batches:"];

    it("reads a gate, a scheduled start and after:", () => {
        const plan = loadPlan(write([...head,
            "  - name: Wave 1",
            "    runs: [{ action: migrate, trigger: \"1\", waitFor: { timeoutMinutes: 2880, maxFailed: 2, blockMinutes: 0, maxItemFailurePercent: 2 } }, { action: retry, trigger: r1, waitFor: { maxItemFailurePercent: 2 } }]",
            "  - name: Wave 2",
            "    runs: [{ action: migrate, trigger: \"1\", after: Wave 1, notBefore: \"2026-12-05T18:00:00+01:00\" }]",
        ]));
        assert.deepStrictEqual(plan.batches[0].runs.map(({ where, ...r }) => r), [
            { action: "migrate", trigger: "1", waitFor: { timeoutMinutes: 2880, maxFailed: 2, blockMinutes: 0, maxItemFailurePercent: 2 } },
            { action: "retry", trigger: "r1", waitFor: { maxItemFailurePercent: 2 } },
        ]);
        assert.deepStrictEqual(plan.batches[1].runs.map(({ where, ...r }) => r), [{ action: "migrate", trigger: "1", after: "Wave 1", notBefore: "2026-12-05T18:00:00+01:00" }]);
    });

    it("refuses, as file:line, a time without offset, a bad waitFor, an undeclared after: and an after: that could never open", () => {
        const f = write([...head,
            "  - name: Wave 1",
            "    runs:",
            "      - { action: migrate, trigger: \"1\", notBefore: \"2026-12-05T18:00:00\" }",
            "      - { action: audit, trigger: \"1\", waitFor: { maxFailed: -1, blockMinutes: -5, maxItemFailurePercent: 101 } }",
            "      - { action: stop, trigger: \"1\", after: Wave 9, waitFor: { timeoutMinutes: 0, every: 3 } }",
            "  - name: Wave 2",
            "    runs: [{ action: migrate, trigger: \"1\", after: Wave 3 }]",
            "  - name: Wave 3",
            "    runs: [{ action: migrate, trigger: \"1\" }]",
        ]);
        assert.throws(() => loadPlan(f), (e: Error) => {
            for (const re of [
                /plan\.yaml:5: notBefore must be an ISO 8601 instant with an offset/,
                /plan\.yaml:6: waitFor\.maxFailed must be 0 or more/,
                /plan\.yaml:6: waitFor\.blockMinutes must be 0 or more/,
                /plan\.yaml:6: waitFor\.maxItemFailurePercent must be a number from 0 to 100/,
                /plan\.yaml:7: waitFor\.timeoutMinutes must be more than 0/,
                /plan\.yaml:7: after: batch "Wave 9" is not declared under batches:/,
                /plan\.yaml:7: .*every/,
                /plan\.yaml:9: after: batch "Wave 3" has no run with waitFor: a run after it would wait forever/,
            ]) assert.match(e.message, re);
            return true;
        });
    });
});
