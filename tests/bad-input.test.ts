/**
 * Bad input at scale: more than 30 distinct mistakes, across the five resources and the plan
 * files, each rejected by `pulumi preview` with the resource and property (or file:line) named,
 * and nothing applied (the emulator records 0 mutating calls, even when `up` is tried).
 * The engine stops a preview at the first invalid resource, so resources get a preview each;
 * a plan reports all its problems at once, so plan mistakes share previews.
 */
import * as assert from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { startEmulator } from "../emulator";
import { TestStack, REPO, skipIfEngineOptedOut } from "./helpers/engine";
import { batchesOf, control, Emu, emuResetStats, emuState, emuStats, usersOf } from "./helpers/emu";
import { badBatches } from "./helpers/plans";

const TAG = "11111111-2222-3333-4444-555555555555";
const user = (over: Record<string, unknown> = {}) => ({
    firstName: "Ada", lastName: "Lovelace", sourceEmail: "ada@source.example", targetEmail: "ada@target.example",
    sourceConnectorName: "Gmail", targetConnectorName: "Office 365", ...over,
});
const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

/** [resource name, type, args, what the message must say after "<Type>.<property>"]. */
const RESOURCE_CASES: [string, string, Record<string, unknown>, string, RegExp][] = [
    ["u-source-email", "MailUser", user({ sourceEmail: "not-an-email" }), "sourceEmail", /must be an email address/],
    ["u-target-email", "MailUser", user({ targetEmail: "ada@" }), "targetEmail", /must be an email address/],
    ["u-first-blank", "MailUser", user({ firstName: "   " }), "firstName", /must not be empty/],
    ["u-first-number", "MailUser", user({ firstName: 42 }), "firstName", /must be a string/],
    ["u-last-missing", "MailUser", (() => { const u: any = user(); delete u.lastName; return u; })(), "lastName", /must be a string/],
    ["u-source-connector", "MailUser", user({ sourceEmail: "c1@source.example", sourceConnectorName: "Gmial" }), "sourceConnectorName", /"Gmial" is not a source connector.*did you mean "Gmail"/],
    ["u-target-connector", "MailUser", user({ sourceEmail: "c2@source.example", targetConnectorName: "Lotus Notes" }), "targetConnectorName", /"Lotus Notes" is not a target connector/],
    ["u-kind", "MailUser", user({ kind: "imap" }), "kind", /must be "mail" or "archive"/],
    ["u-licensed", "MailUser", user({ licensed: "yes" }), "licensed", /must be true or false/],
    ["u-adopt", "MailUser", user({ adopt: "true" }), "adopt", /must be true or false/],
    ["u-typo", "MailUser", user({ sourceEmial: "x@y.example" }), "", /unknown key "sourceEmial" \(expected one of: firstName, /],
    ["b-empty", "MailBatch", { name: " " }, "name", /must not be empty/],
    ["b-long", "MailBatch", { name: "W".repeat(300) }, "name", /at most 256 characters/],
    ["b-kind", "MailBatch", { name: "K", kind: "pst" }, "kind", /must be "mail" or "archive"/],
    ["b-typo", "MailBatch", { name: "T", adpot: true }, "", /unknown key "adpot" \(expected one of: name, kind, adopt\)/],
    ["m-tag", "BatchMembership", { migrationTag: "nope", batchName: "Fine" }, "migrationTag", /must be a migration tag/],
    ["m-batch-empty", "BatchMembership", { migrationTag: TAG, batchName: "" }, "batchName", /must not be empty/],
    ["m-batch-missing", "BatchMembership", { migrationTag: TAG }, "batchName", /must be a string \(a batch name\)/],
    ["s-from-invalid", "BatchGlobalSettings", { batchName: "Fine", fromDate: "2020-02-30" }, "fromDate", /must be a valid ISO date/],
    ["s-to-format", "BatchGlobalSettings", { batchName: "Fine", toDate: "01/05/2020" }, "toDate", /must be a valid ISO date/],
    ["s-reversed", "BatchGlobalSettings", { batchName: "Fine", fromDate: "2021-01-01", toDate: "2020-01-01" }, "fromDate", /2021-01-01 is after toDate 2020-01-01/],
    ["s-flag", "BatchGlobalSettings", { batchName: "Fine", shouldMigrateMails: "yes" }, "shouldMigrateMails", /must be true or false/],
    ["s-unknown-flag", "BatchGlobalSettings", { batchName: "Fine", shouldMigrateSpam: true }, "", /unknown key "shouldMigrateSpam"/],
    ["s-batch-missing", "BatchGlobalSettings", { shouldMigrateMails: true }, "batchName", /must be a string/],
    ["r-both", "MigrationRun", { batchName: "Fine", migrationTag: TAG, action: "migrate", trigger: "1" }, "", /set exactly one of batchName .* or migrationTag/],
    ["r-neither", "MigrationRun", { action: "migrate", trigger: "1" }, "", /set exactly one of batchName .* or migrationTag/],
    ["r-action", "MigrationRun", { batchName: "Fine", action: "restart", trigger: "1" }, "action", /must be one of "migrate", "audit", "stop", "permissions"/],
    ["r-permissions-user", "MigrationRun", { migrationTag: TAG, action: "permissions", trigger: "1" }, "action", /"permissions" runs on a batch only/],
    ["r-trigger-empty", "MigrationRun", { batchName: "Fine", action: "audit", trigger: "" }, "trigger", /must not be empty/],
    ["r-trigger-number", "MigrationRun", { batchName: "Fine", action: "audit", trigger: 1 }, "trigger", /must be a string/],
];

describe("@engine bad input at scale: rejected at preview, named, nothing applied", function () {
    this.timeout(20 * 60 * 1000);
    let emu: Emu;
    const stacks: TestStack[] = [];
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "cw-bad-"));

    before(async function () {
        skipIfEngineOptedOut(this);
        emu = await startEmulator({ port: 0, transitionMs: 0, quiet: true });
    });
    after(async () => {
        for (const s of stacks) await s.dispose();
        await emu?.close();
        fs.rmSync(tmp, { recursive: true, force: true });
    });

    async function expectNothingApplied(s: TestStack, what: string) {
        const up = await s.cli(["up", "--yes", "--skip-preview"], true);
        assert.notStrictEqual(up.code, 0, `${what}: up must fail too`);
        const stats = await emuStats(emu.baseUrl);
        assert.strictEqual(stats.mutating, 0, `${what}: nothing applied: ${JSON.stringify(stats.byCall)}`);
        const st = await emuState(emu.baseUrl);
        assert.strictEqual(usersOf(st).length + batchesOf(st).length, 0, `${what}: the emulator is empty`);
    }

    it(`${RESOURCE_CASES.length} bad resources: each rejected at preview with resource and property named; nothing applied, even by up --continue-on-error`, async () => {
        await control(emu).reset();
        const s = await TestStack.create({ name: "bad-resources", apiUrl: emu.url });
        stacks.push(s);
        assert.ok(new Set(RESOURCE_CASES.map((c) => c[0])).size === RESOURCE_CASES.length);
        // The engine's line: resource 'NAME'[: property PROP value {...}] has a problem: Type.PROP: reason
        const named = ([name, type, , prop, reason]: (typeof RESOURCE_CASES)[number]) =>
            new RegExp(`resource '${escape(name)}'[^\\n]* has a problem: ${escape(type)}${prop ? `\\.${prop}` : ""}:?[^\\n]*${reason.source}`);
        // pulumi preview stops at the first invalid resource: one preview per case.
        const missing: string[] = [];
        for (const c of RESOURCE_CASES) {
            s.setSpec({ resources: [{ type: c[1], name: c[0], args: c[2] }] });
            await emuResetStats(emu.baseUrl);
            const r = await s.cli(["preview"], true);
            if (r.code === 0) missing.push(`${c[0]}: preview succeeded`);
            else if (!named(c).test(r.stdout + r.stderr)) missing.push(`${c[0]}: ${named(c)}\n${(r.stdout + r.stderr).slice(-1500)}`);
            const stats = await emuStats(emu.baseUrl);
            if (stats.mutating !== 0) missing.push(`${c[0]}: ${stats.mutating} mutating calls`);
        }
        assert.deepStrictEqual(missing, [], "every case rejected at preview, named with resource and property, nothing applied");

        // All of them at once: up (with --continue-on-error, even) fails and applies nothing.
        // (The engine stops at the first invalid resource; it names that one.)
        s.setSpec({ resources: RESOURCE_CASES.map(([name, type, args]) => ({ type, name, args })) });
        await emuResetStats(emu.baseUrl);
        const up = await s.cli(["up", "--yes", "--skip-preview", "--continue-on-error"], true);
        assert.notStrictEqual(up.code, 0);
        assert.ok(RESOURCE_CASES.some((c) => named(c).test(up.stdout + up.stderr)), "an invalid resource is named");
        assert.strictEqual((await emuStats(emu.baseUrl)).mutating, 0);
        const st = await emuState(emu.baseUrl);
        assert.strictEqual(usersOf(st).length + batchesOf(st).length, 0);
    });

    it("a license cannot be taken back: refused at preview with no call made", async () => {
        await control(emu).reset();
        const s = await TestStack.create({ name: "bad-license", apiUrl: emu.url });
        stacks.push(s);
        s.setSpec({ resources: [{ type: "MailUser", name: "lic", args: user({ licensed: true }) }] });
        await s.up();
        s.setSpec({ resources: [{ type: "MailUser", name: "lic", args: user({ licensed: false }) }] });
        await emuResetStats(emu.baseUrl);
        const r = await s.cli(["preview"], true);
        assert.notStrictEqual(r.code, 0);
        assert.match(r.stdout + r.stderr, /resource 'lic': property licensed value \{false\} has a problem: MailUser\.licensed: a Cloudiway license cannot be taken back/);
        assert.strictEqual((await emuStats(emu.baseUrl)).total, 0);
        await s.destroy();
    });

    const PLAN_CASES: [string, RegExp][] = [
        ["unknown top-level key", /bad\.yaml:2: unknown key "batchs"/],
        ["unknown settings key", /bad\.yaml:6: unknown key "shouldMigrateMail"/],
        ["invalid ISO date", /bad\.yaml:6: fromDate must be a valid ISO date YYYY-MM-DD/],
        ["fromDate after toDate", /bad\.yaml:10: batch "W2": fromDate 2021-01-01 is after toDate 2020-01-01/],
        ["unknown run action", /bad\.yaml:13: action must be one of "migrate", "audit", "stop", "permissions", "retry"/],
        ["a user in two batches", /bad\.yaml:17: user ann@s\.example is in two batches: "W1"/],
        ["bad target email", /bad\.yaml:19: targetEmail must be an email address/],
        ["undeclared batch", /bad\.yaml:18: batch "W9" is referenced but not declared/],
        ["unknown source connector", /bad\.yaml:20: unknown source connector "Lotus"/],
        ["duplicate user", /bad\.yaml:21: duplicate user bob@s\.example \(first declared at .*bad\.yaml:9\)/],
        ["empty first name", /bad\.yaml:22: .*firstName/],
        ["malformed CSV row", /bad\.csv:3: malformed CSV row: 5 fields, the header has 7/],
        ["bad email in CSV", /bad\.csv:4: sourceEmail must be an email address/],
        ["unterminated CSV quote", /bad\.csv:5: malformed CSV row: unterminated quoted field/],
    ];

    it(`a plan with ${PLAN_CASES.length} problems (YAML + CSV): every one as file:line at preview`, async () => {
        fs.writeFileSync(path.join(tmp, "bad.csv"), [
            "FirstName,LastName,SourceEmail,TargetEmail,SourceRecipientType,TargetRecipientType,BatchName",
            "Eve,E,eve@s.example,eve@t.example,Mailbox,Mailbox,W1",
            "Fay,F,fay@s.example,fay@t.example,Mailbox",
            "Gus,G,not-an-email,gus@t.example,Mailbox,Mailbox,W1",
            'Hal,"H,hal@s.example',
        ].join("\n") + "\n");
        const plan = path.join(tmp, "bad.yaml");
        fs.writeFileSync(plan, `defaults: { sourceConnectorName: Gmail, targetConnectorName: Office 365 }
batchs: []
csv: [bad.csv]
${badBatches("{ firstName: Ivy, lastName: I, sourceEmail: ivy@s.example, targetEmail: ivy@t.example }")}users:
  - { firstName: Ann, lastName: A, sourceEmail: ann@s.example, targetEmail: ann@t.example, batch: W2 }
  - { firstName: Jo, lastName: J, sourceEmail: jo@s.example, targetEmail: jo@t.example, batch: W9 }
  - { firstName: Cid, lastName: C, sourceEmail: cid@s.example, targetEmail: cid-at-t }
  - { firstName: Dee, lastName: D, sourceEmail: dee@s.example, targetEmail: dee@t.example, sourceConnectorName: Lotus }
  - { firstName: Bob, lastName: B, sourceEmail: bob@s.example, targetEmail: bob@t.example, batch: W1 }
  - { firstName: "", lastName: K, sourceEmail: kim@s.example, targetEmail: kim@t.example }
`);
        await control(emu).reset();
        const s = await TestStack.create({ name: "bad-plan", apiUrl: emu.url, program: path.join(REPO, "dist", "index.js"), config: { "cloudiway-migration:planFile": plan } });
        stacks.push(s);
        await emuResetStats(emu.baseUrl);
        const r = await s.cli(["preview"], true);
        assert.notStrictEqual(r.code, 0);
        const text = r.stdout + r.stderr;
        const missing = PLAN_CASES.filter(([, re]) => !re.test(text)).map(([what, re]) => `${what}: ${re}`);
        assert.deepStrictEqual(missing, [], `every problem as file:line:\n${text.slice(-6000)}`);
        await expectNothingApplied(s, "bad plan");
    });

    it("plan files that cannot be read: YAML syntax, a missing CSV column, a missing file — file:line, nothing applied", async () => {
        const cases: [string, string, RegExp][] = [
            ["syntax.yaml", "batches:\n  - name: [unclosed\n", /syntax\.yaml:\d+: YAML:/],
            ["nohdr.csv", "Name,Email\nA,a@b.example\n", /nohdr\.csv:1: the header lacks column\(s\) firstname, lastname, sourceemail, targetemail/],
            ["missing.yaml", "", /missing\.yaml: the plan file does not exist/],
        ];
        await control(emu).reset();
        const s = await TestStack.create({
            name: "bad-files", apiUrl: emu.url, program: path.join(REPO, "dist", "index.js"),
            config: { "cloudiway-migration:sourceConnectorName": "Gmail", "cloudiway-migration:targetConnectorName": "Office 365" },
        });
        stacks.push(s);
        for (const [file, text, re] of cases) {
            const f = path.join(tmp, file);
            if (text) fs.writeFileSync(f, text);
            await s.cli(["config", "set", "cloudiway-migration:planFile", f]);
            await emuResetStats(emu.baseUrl);
            const r = await s.cli(["preview"], true);
            assert.notStrictEqual(r.code, 0, file);
            assert.match(r.stdout + r.stderr, re, file);
            assert.strictEqual((await emuStats(emu.baseUrl)).mutating, 0, file);
        }
        await expectNothingApplied(s, "unreadable plans");
    });
});
