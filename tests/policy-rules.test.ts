/**
 * The guardrails' rules (policy/rules.ts) on synthetic changes, without the engine: what the
 * stack will hold (the analyzer's resources) and what it holds now (a stack export's resources).
 */
import * as assert from "assert";
import { costOfPreview } from "../provider/campaign/cost";
import * as fs from "fs";
import * as path from "path";
import {
    Change, NewResource, OldResource, changeWindow, gatedWaves, insideWindows, licenseBudget, minuteOfWeek,
    noLicenseBurningDelete, settingsBeforeMigrate, stepsOf,
} from "../policy/rules";
import { UNKNOWN } from "../provider/runtime/model";
import { REPO } from "./helpers/engine";

const T = "pulumi-nodejs:dynamic/cloudiway:";
const urn = (type: string, name: string) => `urn:pulumi:prod::cw::${T}${type}::${name}`;
const userArgs = (n: string, extra: Record<string, unknown> = {}) => ({
    firstName: n, lastName: "Rule", sourceEmail: `${n}@source.example`, targetEmail: `${n}@target.example`,
    sourceConnectorName: "Gmail", targetConnectorName: "Office 365", ...extra,
});
const fresh = (type: string, name: string, props: Record<string, unknown>, dependencies: string[] = []): NewResource =>
    ({ urn: urn(type, name), type: `${T}${type}`, props, dependencies });
/** A user of the last checkpoint: its tag, inputs and what the last refresh saw (passes, status, license). */
const oldUser = (n: string, seen: { passes?: number; status?: string; licenseAssigned?: boolean }, extra: Record<string, unknown> = {}): OldResource => ({
    urn: urn("MailUser", n), type: `${T}MailUser`, id: `tag-${n}`, inputs: userArgs(n, extra),
    outputs: { ...userArgs(n, extra), migrationTag: `tag-${n}`, passes: seen.passes ?? 0, status: seen.status ?? "NOTSTARTED", licenseAssigned: seen.licenseAssigned ?? false },
});
const old = (type: string, name: string, inputs: Record<string, unknown>, outputs: Record<string, unknown> = inputs, id = name): OldResource =>
    ({ urn: urn(type, name), type: `${T}${type}`, id, inputs, outputs });
const change = (news: NewResource[], olds: OldResource[], extra: Partial<Change> = {}): Change =>
    ({ news, olds, now: new Date("2026-12-02T12:00:00Z"), ...extra }); // a Wednesday

describe("policy rules (no engine)", () => {
    describe("stepsOf", () => {
        it("outputs that are no inputs (status, passes) are no change; a new kind replaces; a missing resource is deleted", () => {
            const steps = stepsOf(change(
                [fresh("MailUser", "ada", userArgs("ada")), fresh("MailUser", "bob", userArgs("bob", { kind: "archive" }))],
                [oldUser("ada", { passes: 2, status: "SUCCESS" }), oldUser("bob", {}), oldUser("cy", {})],
            ));
            assert.deepStrictEqual(steps.map((s) => [s.urn.split("::").pop(), s.op]), [["ada", "same"], ["bob", "replace"], ["cy", "delete"]]);
        });
    });

    describe("no-license-burning-delete", () => {
        const migrated = oldUser("ada", { passes: 1, status: "SUCCESS", licenseAssigned: true });
        it("a migrated user removed under the stack's deletionPolicy delete is a violation naming it and what it loses", () => {
            const v = noLicenseBurningDelete(change([], [migrated, oldUser("bob", {})], { stackDeletionPolicy: "delete" }));
            assert.strictEqual(v.length, 1, "bob has nothing to lose: no violation for him");
            assert.strictEqual(v[0].urn, urn("MailUser", "ada"));
            assert.match(v[0].message, /^MailUser ada \(ada@source\.example -> ada@target\.example\) is removed from the stack under deletionPolicy "delete": .*lose 1 pass, licensed, status SUCCESS/);
        });
        it("the same removal under retainMigrated (the default) or retain passes: the provider keeps the user", () => {
            assert.deepStrictEqual(noLicenseBurningDelete(change([], [migrated])), []);
            assert.deepStrictEqual(noLicenseBurningDelete(change([], [migrated], { stackDeletionPolicy: "retain" })), []);
        });
        it("a replacement (kind mail -> archive) of an audited user whose own deletionPolicy is delete is a violation", () => {
            const audited = oldUser("cy", { status: "AUDIT_DONE" }, { deletionPolicy: "delete" });
            const v = noLicenseBurningDelete(change([fresh("MailUser", "cy", userArgs("cy", { deletionPolicy: "delete", kind: "archive" }))], [audited]));
            assert.strictEqual(v.length, 1);
            assert.match(v[0].message, /MailUser cy .* is replaced \(a change of kind\) under deletionPolicy "delete": .*status AUDIT_DONE/);
        });
    });

    describe("no-license-burning-delete on fresh facts", () => {
        // The state saw both users at create (NOTSTARTED, no pass): what Cloudiway says now is what counts.
        const stale = [oldUser("ada", {}), oldUser("bob", {}), oldUser("cy", {})];
        const freshNow = (byTag: [string, { passes: number; status: string; licensed: boolean } | { unknown: string }][]) =>
            ({ asOf: "Cloudiway, read by the policy pack at t", byTag: new Map(byTag) });
        it("a user migrated since the state was written is refused, naming it; a user whose holdings cannot be read is refused too, saying why", () => {
            const v = noLicenseBurningDelete(change([], stale, { stackDeletionPolicy: "delete", fresh: freshNow([
                ["tag-ada", { passes: 2, status: "SUCCESS", licensed: true }],
                ["tag-bob", { passes: 0, status: "NOTSTARTED", licensed: false }],
                ["tag-cy", { unknown: "Cloudiway could not be read: HTTP 503" }],
            ]) }));
            assert.deepStrictEqual(v.map((x) => x.urn), [urn("MailUser", "ada"), urn("MailUser", "cy")], "bob has nothing to lose now either");
            assert.match(v[0].message, /lose 2 passes, licensed, status SUCCESS \(read from Cloudiway now\)/);
            assert.match(v[1].message, /what it holds cannot be known \(Cloudiway could not be read: HTTP 503\): counted as something to lose/);
        });
        it("the PR summary's cost: a user not in the state's outputs counts as having something to lose; the summary says how fresh its facts are", () => {
            const steps = [
                { op: "delete", urn: urn("MailUser", "dan"), oldState: { id: "tag-dan", inputs: userArgs("dan") } }, // no outputs
            ];
            const cost = costOfPreview({ steps, config: { "cloudiway:deletionPolicy": "delete" } });
            assert.deepStrictEqual(cost.usersDeleted.map((u) => u.note), ["removed from the plan; loses what it holds cannot be known (not in the stack's state): counted as something to lose"]);
            assert.match(cost.asOf, /not refreshed by this preview: run `pulumi preview --refresh`/);
            assert.match(costOfPreview({ steps: [...steps, { op: "refresh", urn: urn("MailUser", "dan") }] }).asOf, /as this preview's refresh read it \(fresh\)/);
        });
    });

    describe("license-budget", () => {
        // Two new licensed users, and a migrate run of a batch of three new users (tags not known yet).
        const news = [
            fresh("MailUser", "a", userArgs("a", { licensed: true })), fresh("MailUser", "b", userArgs("b", { licensed: true })),
            fresh("MailBatch", "w", { name: "W" }),
            ...["x", "y", "z"].map((n) => fresh("BatchMembership", `${n}-m`, { migrationTag: UNKNOWN, batchName: "W" })),
            fresh("MigrationRun", "go", { batchName: "W", action: "migrate", trigger: "1" }),
        ];
        it("2 assigned + 3 consumed is over a max of 4: one violation that names the users and the run", () => {
            const v = licenseBudget(change(news, []), { max: 4 });
            assert.strictEqual(v.length, 1);
            assert.match(v[0].message, /uses 5 licenses, over the budget of 4: 2 assigned \(a@source\.example -> a@target\.example, b@source\.example -> b@target\.example\); 3 consumed by MigrationRun go \(migrate, batch W: 3 users without a license\)/);
        });
        it("within max 5, or with no max, it passes", () => {
            assert.deepStrictEqual(licenseBudget(change(news, []), { max: 5 }), []);
            assert.deepStrictEqual(licenseBudget(change(news, []), {}), []);
        });
        it("a run already performed (same trigger) consumes nothing again", () => {
            const olds = [old("MigrationRun", "go", { batchName: "W", action: "migrate", trigger: "1" })];
            assert.deepStrictEqual(licenseBudget(change(news.filter((n) => !n.urn.includes("MailUser")), olds), { max: 0 }), []);
        });
    });

    describe("change-window", () => {
        const cfg = { windows: [{ from: "Fri 18:00", to: "Mon 06:00" }], timeZone: "Europe/Paris" };
        const run = (props: Record<string, unknown> = {}) => fresh("MigrationRun", "go", { batchName: "W", action: "migrate", trigger: "1", ...props });
        it("knows a window that wraps past Sunday, in its time zone", () => {
            const inside = (iso: string) => insideWindows(new Date(iso), cfg);
            assert.strictEqual(inside("2026-12-04T16:59:00Z"), false, "Fri 17:59 in Paris");
            assert.strictEqual(inside("2026-12-04T17:00:00Z"), true, "Fri 18:00 in Paris");
            assert.strictEqual(inside("2026-12-06T23:00:00Z"), true, "Mon 00:00 in Paris");
            assert.strictEqual(inside("2026-12-07T05:00:00Z"), false, "Mon 06:00 in Paris: the end is outside");
        });
        it("a run sent now (a Wednesday) is a violation naming it; the same run with a notBefore inside the window passes", () => {
            const v = changeWindow(change([run()], []), cfg);
            assert.strictEqual(v.length, 1);
            assert.strictEqual(v[0].urn, urn("MigrationRun", "go"));
            assert.match(v[0].message, /^MigrationRun go \(batch W, migrate, trigger 1\) would be sent now \(2026-12-02T12:00:00\.000Z\), outside the change windows \(Fri 18:00 to Mon 06:00, Europe\/Paris\)/);
            assert.deepStrictEqual(changeWindow(change([run({ notBefore: "2026-12-05T10:00:00Z" })], []), cfg), []);
            const late = changeWindow(change([run({ notBefore: "2026-12-07T08:00:00+01:00" })], []), cfg);
            assert.match(late[0].message, /would be sent at its notBefore 2026-12-07T08:00:00\+01:00, outside/);
        });
        it("inside the window, or for a run not sent again (same trigger), it passes; a new trigger sends it again", () => {
            assert.deepStrictEqual(changeWindow(change([run()], [], { now: new Date("2026-12-05T09:00:00Z") }), cfg), []);
            const performed = [old("MigrationRun", "go", { batchName: "W", action: "migrate", trigger: "1" })];
            assert.deepStrictEqual(changeWindow(change([run()], performed), cfg), []);
            assert.strictEqual(changeWindow(change([run({ trigger: "2" })], performed), cfg).length, 1);
        });
        it("bad configuration is said plainly", () => {
            assert.throws(() => minuteOfWeek("Fry 18:00", "windows[0].from"), /change-window: windows\[0\]\.from "Fry 18:00" is not a day and a time like "Fri 18:00"/);
            assert.throws(() => changeWindow(change([run()], []), { ...cfg, timeZone: "Mars/Olympus" }), /timeZone "Mars\/Olympus" is not a time zone name/);
        });
    });

    describe("gated-waves and settings-before-migrate", () => {
        const members = ["x", "y", "z"].map((n) => fresh("BatchMembership", `${n}-m`, { migrationTag: `tag-${n}`, batchName: "W" }));
        const run = (props: Record<string, unknown> = {}) => fresh("MigrationRun", "go", { batchName: "W", action: "migrate", trigger: "1", ...props });
        it("a migrate run of 3 users without waitFor is a violation over minUsers 2, not over 3; with waitFor it passes", () => {
            const v = gatedWaves(change([...members, run()], []), { minUsers: 2 });
            assert.strictEqual(v.length, 1);
            assert.match(v[0].message, /^MigrationRun go \(batch W, migrate, trigger 1\) migrates 3 users \(more than 2\) without waitFor/);
            assert.deepStrictEqual(gatedWaves(change([...members, run()], []), { minUsers: 3 }), []);
            assert.deepStrictEqual(gatedWaves(change([...members, run({ waitFor: { timeoutMinutes: 60 } })], []), { minUsers: 2 }), []);
            assert.deepStrictEqual(gatedWaves(change([...members, run({ waitFor: { maxItemFailurePercent: 2 } })], []), { minUsers: 2 }), [], "a gate on items alone is a gate");
            assert.match(v[0].message, /waitFor: \{ timeoutMinutes, maxFailed, maxItemFailurePercent \}/);
            assert.deepStrictEqual(gatedWaves(change([...members, run({ action: "audit" })], []), { minUsers: 2 }), [], "an audit is no wave");
        });
        it("a migrate run of a batch without BatchGlobalSettings is a violation naming run and batch; with them it passes", () => {
            const v = settingsBeforeMigrate(change([...members, run()], []));
            assert.strictEqual(v.length, 1);
            assert.match(v[0].message, /^MigrationRun go \(batch W, migrate, trigger 1\) migrates batch W, which has no BatchGlobalSettings/);
            assert.deepStrictEqual(settingsBeforeMigrate(change([...members, fresh("BatchGlobalSettings", "s", { batchName: "W" }), run()], [])), []);
        });
    });

    describe("the pack's folder", () => {
        it("is a Node.js policy pack whose version is the package's and whose entry loads the compiled pack", () => {
            const dir = path.join(REPO, "policy");
            assert.match(fs.readFileSync(path.join(dir, "PulumiPolicy.yaml"), "utf8"), /^runtime: nodejs$/m);
            const own = JSON.parse(fs.readFileSync(path.join(dir, "package.json"), "utf8"));
            assert.strictEqual(own.version, JSON.parse(fs.readFileSync(path.join(REPO, "package.json"), "utf8")).version);
            assert.match(fs.readFileSync(path.join(dir, own.main), "utf8"), /require\("\.\.\/dist\/policy\/pack"\)/);
            assert.ok(fs.existsSync(path.join(REPO, "dist", "policy", "pack.js")));
        });
    });
});
