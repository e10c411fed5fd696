/**
 * Plan files: the sample plan and a 200-row CSV parse; every kind of plan error
 * is reported with file:line, all together; the component maps a plan onto
 * resources with stable names and the right dependencies; the PR summary.
 */
import * as assert from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { PlanError, loadPlan, parseCsv } from "../provider/plan";
import { summarizePreview } from "../cli/plan-summary";
import { badBatches } from "./helpers/plans";

const REPO = path.resolve(__dirname, "..", "..");
const FIX = path.join(REPO, "tests", "fixtures", "plans");
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "cw-plan-"));
const write = (name: string, text: string) => { const f = path.join(tmp, name); fs.writeFileSync(f, text); return f; };
const problems = (f: string, opts = {}): string[] => {
    try {
        loadPlan(f, opts);
    } catch (e) {
        assert.ok(e instanceof PlanError, String(e));
        return e.problems;
    }
    assert.fail("the plan was accepted");
};

describe("plan files", () => {
    after(() => fs.rmSync(tmp, { recursive: true, force: true }));

    it("the sample plan: 24 users, 3 waves with settings, one migrate run", () => {
        const p = loadPlan(path.join(REPO, "plan.yaml"), { connectors: { source: ["Gmail"], target: ["Office 365"] } });
        assert.strictEqual(p.users.length, 24);
        assert.deepStrictEqual(p.batches.map((b) => b.name), ["Wave 1 - Pilot", "Wave 2 - Finance", "Wave 3 - Everyone else"]);
        assert.ok(p.batches.every((b) => b.settings?.shouldMigrateMails === true), "defaults.settings apply");
        assert.deepStrictEqual(p.batches[0].runs.map((r) => r.action), ["migrate"]);
        assert.strictEqual(p.batches[1].settings?.toDate, "2026-06-30");
    });

    it("a 200-row Cloudiway CSV (CRLF, extra column) referenced by a YAML plan", () => {
        const p = loadPlan(path.join(FIX, "waves-200.yaml"));
        assert.strictEqual(p.users.length, 200);
        assert.strictEqual(p.users.filter((u) => u.batch === "Wave 3").length, 50);
        assert.strictEqual(p.users[0].sourceConnectorName, "Gmail");
        assert.match(p.users[10].where, /waves-200\.csv:12$/);
    });

    it("a bare CSV plan declares its batches; ; delimiter, BOM and quotes", () => {
        const f = write("bare.csv", '\ufefffirstname;LASTNAME;SourceEmail;TargetEmail;BatchName\n"Ann; Jr";A;ann@s.example;ann@t.example;W1\nBob;"B ""the"" builder";bob@s.example;bob@t.example;W2\n');
        const p = loadPlan(f, { defaults: { sourceConnectorName: "Gmail", targetConnectorName: "Office 365" } });
        assert.deepStrictEqual(p.batches.map((b) => b.name), ["W1", "W2"]);
        assert.strictEqual(p.users[0].firstName, "Ann; Jr");
        assert.strictEqual(p.users[1].lastName, 'B "the" builder');
    });

    it("CSV errors: malformed rows, missing columns, bad emails — with their lines, all together", () => {
        const f = write("bad.csv", [
            "FirstName,LastName,SourceEmail,TargetEmail,SourceRecipientType,TargetRecipientType,BatchName",
            "Ann,A,ann@s.example,ann@t.example,Mailbox,Mailbox,W1",
            "Bob,B,bob@s.example,bob@t.example,Mailbox",
            "Cid,C,not-an-email,cid@t.example,Mailbox,Mailbox,W1",
            'Dee,"D,ann@s.example',
        ].join("\n"));
        const ps = problems(f, { defaults: { sourceConnectorName: "Gmail", targetConnectorName: "Office 365" } });
        assert.ok(ps.some((x) => /bad\.csv:3: malformed CSV row: 5 fields, the header has 7/.test(x)), ps.join("\n"));
        assert.ok(ps.some((x) => /bad\.csv:4: sourceEmail must be an email address like user@example\.com/.test(x)), ps.join("\n"));
        assert.ok(ps.some((x) => /bad\.csv:5: malformed CSV row: unterminated quoted field/.test(x)), ps.join("\n"));
        const h = write("nohdr.csv", "Name,Email\nA,a@b.c\n");
        assert.match(problems(h)[0], /nohdr\.csv:1: the header lacks column\(s\) firstname, lastname, sourceemail, targetemail/);
        assert.deepStrictEqual(parseCsv("a,b\n\n1,2\n").map((r) => r.line), [1, 3]);
    });

    it("YAML errors: duplicate user, a user in two batches, undeclared batch, unknown connector, bad email and dates, typos", () => {
        const f = write("bad.yaml", `defaults:
  sourceConnectorName: Gmail
  targetConnectorName: Office 365
${badBatches("{ firstName: Ann, lastName: A, sourceEmail: ann@s.example, targetEmail: ann@t.example }")}users:
  - { firstName: Cid, lastName: C, sourceEmail: cid@s.example, targetEmail: cid-at-t, batch: W9 }
  - { firstName: Dee, lastName: D, sourceEmail: dee@s.example, targetEmail: dee@t.example, sourceConnectorName: Lotus }
  - { firstName: Bob, lastName: B, sourceEmail: bob@s.example, targetEmail: bob@t.example, batch: W1 }
`);
        const ps = problems(f, { connectors: { source: ["Gmail", "IMAP"], target: ["Office 365"] } });
        const has = (re: RegExp) => assert.ok(ps.some((x) => re.test(x)), `${re}\n${ps.join("\n")}`);
        has(/bad\.yaml:6: fromDate must be a valid ISO date YYYY-MM-DD/);
        has(/bad\.yaml:6: unknown key "shouldMigrateMail"/);
        has(/bad\.yaml:10: batch "W2": fromDate 2021-01-01 is after toDate 2020-01-01/);
        has(/bad\.yaml:13: action must be one of "migrate", "audit", "stop", "permissions", "retry"/);
        has(/bad\.yaml:15: user ann@s\.example is in two batches: "W1" \(.*bad\.yaml:8\) and "W2"/);
        has(/bad\.yaml:17: targetEmail must be an email address/);
        has(/bad\.yaml:18: unknown source connector "Lotus"/);
        has(/bad\.yaml:19: duplicate user bob@s\.example \(first declared at .*bad\.yaml:9\)/);
        assert.ok(ps.length >= 8, "all problems reported together");
        const undeclared = write("undeclared.yaml", `defaults: { sourceConnectorName: Gmail, targetConnectorName: Office 365 }
users:
  - { firstName: Cid, lastName: C, sourceEmail: cid@s.example, targetEmail: cid@t.example, batch: W9 }
`);
        assert.match(problems(undeclared)[0], /undeclared\.yaml:3: batch "W9" is referenced but not declared/);
        const broken = write("broken.yaml", "batches:\n  - name: [unclosed\n");
        assert.match(problems(broken)[0], /broken\.yaml:\d+: YAML:/);
    });
});

describe("MigrationPlan component", () => {
    const registered: { type: string; name: string; inputs: any }[] = [];
    before(() => {
        pulumi.runtime.setMocks({
            newResource: (a) => {
                registered.push({ type: a.type, name: a.name, inputs: a.inputs });
                return { id: `${a.name}-id`, state: { ...a.inputs, migrationTag: a.type.endsWith(":MailUser") ? "11111111-2222-3333-4444-555555555555" : undefined } };
            },
            call: () => ({}),
        }, "project", "stack", false);
    });

    it("maps batches, settings, users, memberships and runs with stable names", async () => {
        const { MigrationPlan } = await import("../provider/plan");
        const plan = new MigrationPlan("plan", { plan: path.join(REPO, "plan.yaml") });
        await new Promise<void>((resolve) => plan.summary.apply(() => resolve()));
        await new Promise((r) => setTimeout(r, 200));
        const names = (t: string) => registered.filter((r) => r.type.endsWith(`:${t}`)).map((r) => r.name);
        assert.strictEqual(names("MailBatch").length, 3);
        assert.strictEqual(names("MailUser").length, 24);
        assert.strictEqual(names("BatchMembership").length, 24);
        assert.strictEqual(names("BatchGlobalSettings").length, 3);
        assert.deepStrictEqual(names("MigrationRun"), ["run:Wave 1 - Pilot:migrate"]);
        assert.ok(names("MailUser").includes("user:ada.lovelace@example-source.com"));
        assert.ok(names("BatchMembership").includes("membership:ada.lovelace@example-source.com"));
        const m = registered.find((r) => r.name === "membership:ada.lovelace@example-source.com")!;
        assert.strictEqual(m.inputs.batchName, "Wave 1 - Pilot");
        const s = registered.find((r) => r.name === "settings:Wave 2 - Finance")!;
        assert.strictEqual(s.inputs.fromDate, "2018-01-01");
        assert.strictEqual(s.inputs.shouldMigrateNotes, false);
        assert.ok(names("MailUser").every((n) => !n.includes("::")));
    });
});

describe("MigrationPlan userOutputs: what each MailUser object carries", () => {
    before(() => {
        pulumi.runtime.setMocks({
            newResource: (a) => ({ id: `${a.name}-id`, state: { ...a.inputs, ...(a.type.endsWith(":MailUser") ? { migrationTag: `tag-${a.name}`, status: "NOTSTARTED", passes: 0 } : {}) } }),
            call: () => ({}),
        }, "project", "stack", false);
    });
    const value = <T>(o: pulumi.Output<T>) => new Promise<T>((resolve) => o.apply((v) => { resolve(v); return v; }));

    it("by default every output; with [\"migrationTag\"] only the tag (memberships and runs still get it), the other outputs undefined on the object", async () => {
        const { MigrationPlan } = await import("../provider/plan");
        const full = new MigrationPlan("full", { plan: path.join(REPO, "plan.yaml") });
        const lean = new MigrationPlan("lean", { plan: path.join(REPO, "plan.yaml"), userOutputs: ["migrationTag"] });
        const email = "ada.lovelace@example-source.com";
        assert.ok(pulumi.Output.isInstance(full.users[email].status), "the default object has status");
        assert.strictEqual(await value(full.users[email].status), "NOTSTARTED");
        assert.strictEqual(lean.users[email].status, undefined, "status is not on the lean object");
        assert.strictEqual(lean.users[email].licenseAssigned, undefined);
        assert.strictEqual(await value(lean.users[email].migrationTag), `tag-user:${email}`);
        assert.strictEqual(await value(lean.memberships[email].migrationTag), `tag-user:${email}`, "the membership gets the tag");
        const none = new MigrationPlan("none", { plan: path.join(REPO, "plan.yaml"), userOutputs: [] });
        assert.strictEqual(await value(none.users[email].migrationTag), `tag-user:${email}`, "migrationTag is always kept");
    });

    it("a mail plan gives no kind (no kind is \"mail\": one property less per object), an archive plan gives kind on every object", async () => {
        const { MigrationPlan } = await import("../provider/plan");
        const { loadPlan } = await import("../provider/plan/load");
        const mail = new MigrationPlan("mailplan", { plan: path.join(REPO, "plan.yaml") });
        const email = "ada.lovelace@example-source.com";
        for (const o of [mail.users[email], mail.memberships[email], ...Object.values(mail.batches), ...mail.runs]) {
            assert.strictEqual((o as unknown as { kind?: unknown }).kind, undefined, "no kind property on a mail plan's objects");
        }
        const archive = new MigrationPlan("archiveplan", { plan: { ...loadPlan(path.join(REPO, "plan.yaml")), kind: "archive" } });
        const objects = [archive.users[email], archive.memberships[email], ...Object.values(archive.batches), ...archive.runs];
        assert.ok(objects.length > 3);
        for (const o of objects) assert.strictEqual(await value((o as unknown as { kind: pulumi.Output<string> }).kind), "archive");
    });
});

describe("plan-summary", () => {
    const dyn = (t: string, n: string) => `urn:pulumi:dev::cloudiway-migration::cloudiway:index:MigrationPlan$pulumi-nodejs:dynamic/cloudiway:${t}::${n}`;
    const preview = {
        steps: [
            { op: "same", urn: dyn("MailBatch", "batch:W1") },
            { op: "create", urn: dyn("MailUser", "user:new@s.example"), newState: { inputs: { sourceEmail: "new@s.example" } } },
            { op: "update", urn: dyn("BatchMembership", "membership:ann@s.example"), oldState: { inputs: { batchName: "Wave 1" } }, newState: { inputs: { batchName: "Wave 2" } } },
            { op: "update", urn: dyn("BatchGlobalSettings", "settings:Wave 2"), oldState: { inputs: { batchName: "Wave 2", fromDate: "2020-01-01", shouldMigrateTrash: false } }, newState: { inputs: { batchName: "Wave 2", fromDate: "2021-01-01", shouldMigrateTrash: true } } },
            { op: "create", urn: dyn("MigrationRun", "run:Wave 2:migrate"), newState: { inputs: { batchName: "Wave 2", action: "migrate", trigger: "go", waitFor: { maxItemFailurePercent: 2, timeoutMinutes: 2880 } } } },
            { op: "update", urn: dyn("MigrationRun", "run:Wave 1:migrate"), oldState: { inputs: { trigger: "1" } }, newState: { inputs: { batchName: "Wave 1", action: "migrate", trigger: "2" } } },
        ],
    };
    it("lists runs first, counts per type, moves and settings field by field", () => {
        const md = summarizePreview(preview);
        assert.ok(md.indexOf("Migration actions that will run") < md.indexOf("Changes by resource type"));
        assert.match(md, /\| run:Wave 2:migrate \| \*\*migrate\*\* \| batch Wave 2 \| go \| new run \| at most 0 failed, items failed ≤ 2% per user, timeout 2880 min \|/);
        assert.match(md, /\| run:Wave 1:migrate \| \*\*migrate\*\* \| batch Wave 1 \| 2 \| trigger 1 → 2 \| none \|/);
        assert.match(md, /\| BatchMembership \| 0 \| 1 \| 0 \| 0 \|/);
        assert.match(md, /\| MailUser \| 1 \| 0 \| 0 \| 0 \|/);
        assert.match(md, /\| ann@s\.example \| Wave 1 \| Wave 2 \|/);
        assert.match(md, /\| Wave 2 \| fromDate \| 2020-01-01 \| 2021-01-01 \|/);
        assert.match(md, /\| Wave 2 \| shouldMigrateTrash \| false \| true \|/);
    });
    it("an empty preview says so", () => {
        const md = summarizePreview({ steps: [{ op: "same", urn: dyn("MailBatch", "batch:W1") }] });
        assert.match(md, /None\./);
        assert.match(md, /No changes\./);
    });
});
