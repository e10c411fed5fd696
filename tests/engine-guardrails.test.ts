/**
 * Guardrails and drift under the real engine, against the emulator:
 *  - the policy pack (policy/) run by `pulumi preview --policy-pack`: each rule fails a change that
 *    breaks it, naming the rule and the resource, and passes the same change within it; an advisory
 *    rule warns and the preview passes;
 *  - `cloudiway-migration drift`: a user added, a user moved, a batch's dates changed out of band and
 *    a declared user deleted in the tenant are all listed; the tenant and the state are unchanged,
 *    byte for byte, and the requests are those of a refresh.
 * One stack per describe, 2-3 users.
 */
import * as assert from "assert";
import { execFile } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { startEmulator } from "../emulator";
import { clientFor } from "../provider/client";
import { resolveSettings } from "../provider/config";
import { REPO, TestStack, skipIfEngineOptedOut } from "./helpers/engine";
import { control, Emu, emuResetStats, emuStats } from "./helpers/emu";
import type { DriftDigest } from "../cli/drift";
import { costOfPreview } from "../provider/campaign/cost";
import { summarizePreview } from "../cli/plan-summary";
import type { GlobalSettings } from "../provider/client/calls";

const PACK = path.join(REPO, "policy");
const SECRET = "Guard-S3cret-7171";
const KEY = "guard-key";

const person = (n: string) => ({
    type: "MailUser", name: n, args: {
        firstName: n, lastName: "Guard", sourceEmail: `${n}@source.example`, targetEmail: `${n}@target.example`,
        sourceConnectorName: "Gmail", targetConnectorName: "Office 365",
    },
});
const member = (n: string, batch: string) => ({ type: "BatchMembership", name: `${n}-m`, args: { migrationTag: { $out: `${n}.migrationTag` }, batchName: { $out: `${batch}.name` } } });

/** "Wed 13:05" for an instant, in UTC. */
function weekTime(d: Date): string {
    return `${["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"][d.getUTCDay()]} ${String(d.getUTCHours()).padStart(2, "0")}:${String(d.getUTCMinutes()).padStart(2, "0")}`;
}
const hours = (h: number) => new Date(Date.now() + h * 3600_000);

describe("@engine guardrails: the policy pack under pulumi preview", function () {
    this.timeout(15 * 60 * 1000);
    let emu: Emu;
    let stack: TestStack;
    const printed: string[] = [];

    before(async function () {
        skipIfEngineOptedOut(this);
        emu = await startEmulator({ port: 0, consumerKey: KEY, consumerSecret: SECRET, transitionMs: 0, quiet: true });
        stack = await TestStack.create({ name: "guard-policy", apiUrl: emu.url, consumerKey: KEY, consumerSecret: SECRET });
    });
    after(async () => {
        if (stack) {
            printed.push(...stack.log);
            await stack.dispose();
        }
        await emu?.close();
        for (const line of printed) assert.ok(!line.includes(SECRET), "the secret is in no output of these runs");
    });
    afterEach(function () {
        if (this.currentTest?.state === "failed") console.log(stack.log.slice(-1).join("\n"));
    });

    /** Batch W (with settings unless `settings: false`), ada and bob in it, and a migrate run of W. */
    function plan(opts: { settings?: boolean; run?: Record<string, unknown>; users?: string[] } = {}) {
        const users = opts.users ?? ["ada", "bob"];
        return { resources: [
            { type: "MailBatch", name: "w", args: { name: "Wave G" } },
            ...(opts.settings === false ? [] : [{ type: "BatchGlobalSettings", name: "w-settings", args: { batchName: { $out: "w.name" }, fromDate: "2020-01-01" } }]),
            ...users.flatMap((n) => [person(n), member(n, "w")]),
            { type: "MigrationRun", name: "go", args: { batchName: { $out: "w.name" }, action: "migrate", trigger: "1", waitFor: { timeoutMinutes: 5 }, ...opts.run },
                dependsOn: [...users.map((n) => `${n}-m`), ...(opts.settings === false ? [] : ["w-settings"])] },
        ] };
    }
    const window = { windows: [{ from: weekTime(hours(-1)), to: weekTime(hours(2)) }], timeZone: "UTC" };   // now is inside
    const within = {
        "license-budget": { max: 2 },
        "change-window": window,
        "gated-waves": { enforcementLevel: "mandatory", minUsers: 2 },
        "settings-before-migrate": { enforcementLevel: "mandatory" },
    };
    /** `pulumi preview --policy-pack policy/` with that configuration (none: the pack's defaults). */
    async function preview(config?: Record<string, unknown>) {
        const args = ["preview", "--policy-pack", PACK];
        if (config) {
            const file = path.join(stack.home, `policy-${Date.now()}.json`);
            fs.writeFileSync(file, JSON.stringify(config));
            args.push("--policy-pack-config", file);
        }
        const r = await stack.cli(args, true);
        return { code: r.code, out: r.stdout + r.stderr };
    }
    const resource = (type: string, name: string) => new RegExp(`\\(pulumi-nodejs:dynamic/cloudiway:${type}: ${name}\\)`);
    function failsWith(r: { code: number; out: string }, rule: string, names: RegExp[]) {
        assert.notStrictEqual(r.code, 0, `the preview fails:\n${r.out}`);
        assert.match(r.out, new RegExp(`\\[mandatory\\]\\s+${rule}\\b`), `rule ${rule} is named`);
        for (const n of names) assert.match(r.out, n);
    }
    function passes(r: { code: number; out: string }) {
        assert.strictEqual(r.code, 0, `the preview passes:\n${r.out}`);
        assert.doesNotMatch(r.out, /\[mandatory\]/);
    }

    it("a plan within every rule passes; the same plan over the license budget fails, naming the run and the licenses", async () => {
        stack.setSpec(plan());
        passes(await preview(within));
        const r = await preview({ ...within, "license-budget": { max: 1 } });
        failsWith(r, "license-budget", [/This change uses 2 licenses, over the budget of 1: 2 consumed by MigrationRun go \(migrate, batch Wave G: 2 users without a license\)/]);
    });

    it("change-window: a run sent now, outside the windows, fails naming it; with a notBefore inside a window it passes", async () => {
        const later = { windows: [{ from: weekTime(hours(3)), to: weekTime(hours(5)) }], timeZone: "UTC" };
        stack.setSpec(plan());
        failsWith(await preview({ ...within, "change-window": later }), "change-window",
            [resource("MigrationRun", "go"), /MigrationRun go \(batch Wave G, migrate, trigger 1\) would be sent now .* outside the change windows/]);
        const inside = new Date(Math.ceil(hours(4).getTime() / 60_000) * 60_000).toISOString().replace(/\.000Z$/, "Z");
        stack.setSpec(plan({ run: { notBefore: inside } }));
        passes(await preview({ ...within, "change-window": later }));
        // A configuration the rules cannot read is refused before anything runs, naming the rule and the field.
        const bad = await preview({ "change-window": { windows: [{ from: "Fry 18:00", to: "Mon 06:00" }] }, "license-budget": { max: -1 } });
        assert.notStrictEqual(bad.code, 0);
        assert.match(bad.out, /validating policy config: cloudiway \S+\s+change-window: windows\.0\.from: Does not match pattern/);
        assert.match(bad.out, /license-budget: max: Must be greater than or equal to 0/);
    });

    it("gated-waves: a migrate run of more than minUsers users without waitFor fails naming it; with waitFor it passes", async () => {
        stack.setSpec(plan({ users: ["ada", "bob", "cy"], run: { waitFor: undefined } }));
        failsWith(await preview({ ...within, "license-budget": { max: 3 } }), "gated-waves",
            [resource("MigrationRun", "go"), /migrates 3 users \(more than 2\) without waitFor/]);
        stack.setSpec(plan({ users: ["ada", "bob", "cy"] }));
        passes(await preview({ ...within, "license-budget": { max: 3 } }));
    });

    it("settings-before-migrate: mandatory, a batch without settings fails naming its run; advisory (the default), it warns and passes", async () => {
        stack.setSpec(plan({ settings: false }));
        failsWith(await preview(within), "settings-before-migrate", [resource("MigrationRun", "go"), /migrates batch Wave G, which has no BatchGlobalSettings/]);
        const advisory = await preview();
        assert.strictEqual(advisory.code, 0, `an advisory rule does not fail the preview:\n${advisory.out}`);
        assert.match(advisory.out, /\[advisory\]\s+settings-before-migrate\s+\(pulumi-nodejs:dynamic\/cloudiway:MigrationRun: go\)/);
    });

    it("no-license-burning-delete on fresh facts: migrated users removed under deletionPolicy delete with no refresh in the flow; the pack refuses naming each, the summary lists what each loses", async () => {
        stack.setSpec(plan());
        await stack.up(); // the run migrates ada and bob; the state still holds them as created (NOTSTARTED): nothing refreshes
        await stack.cli(["config", "set", "cloudiway:deletionPolicy", "delete"]);
        stack.setSpec(plan({ users: [] }));
        const lose = (n: string) => new RegExp(`MailUser ${n} \\(${n}@source\\.example -> ${n}@target\\.example\\) is removed from the stack under deletionPolicy "delete": Cloudiway would delete it and it would lose 1 pass, licensed, status SUCCESS \\(read from Cloudiway now\\)`);
        failsWith(await preview(), "no-license-burning-delete", [lose("ada"), lose("bob")]);
        // The pull request's summary, of the workflow's `pulumi preview --refresh --json`.
        const json = JSON.parse((await stack.preview(["--refresh"])).result.stdout);
        const cost = costOfPreview(json), md = summarizePreview(json);
        assert.deepStrictEqual(cost.usersDeleted.map((u) => [u.user, u.note]).sort(), ["ada", "bob"].map((n) => [`${n}@source.example -> ${n}@target.example`, "removed from the plan; loses 1 pass, licensed, status SUCCESS"]));
        assert.match(md, /\| users deleted in Cloudiway \| 2 \(\*\*2 lose migration history or a license\*\*\) \|/);
        assert.match(md, /as of Cloudiway as this preview's refresh read it \(fresh\)/);
        // Without --refresh the summary says its facts are the state's, and not fresh.
        assert.match(summarizePreview(JSON.parse((await stack.preview()).result.stdout)), /not refreshed by this preview/);
        await stack.cli(["config", "rm", "cloudiway:deletionPolicy"]);
        passes(await preview());
    });
});

describe("@engine drift digest: cloudiway-migration drift", function () {
    this.timeout(15 * 60 * 1000);
    let emu: Emu;
    let stack: TestStack;

    before(async function () {
        skipIfEngineOptedOut(this);
        emu = await startEmulator({ port: 0, consumerKey: KEY, consumerSecret: SECRET, transitionMs: 0, quiet: true });
        stack = await TestStack.create({ name: "guard-drift", apiUrl: emu.url, consumerKey: KEY, consumerSecret: SECRET });
    });
    after(async () => {
        await stack?.dispose();
        await emu?.close();
    });
    afterEach(function () {
        if (this.currentTest?.state === "failed") console.log(stack.log.slice(-2).join("\n"));
    });

    function drift(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
        return new Promise((resolve) => {
            execFile("node", [path.join(REPO, "dist", "cli", "index.js"), "drift", "--stack", "test", ...args], { cwd: stack.dir, env: stack.env, timeout: 5 * 60 * 1000 },
                (err, stdout, stderr) => resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr }));
        });
    }
    /** Every file of the stack's file backend, by path: the state, its history, its locks. */
    function backendFiles(): Map<string, string> {
        const out = new Map<string, string>();
        const walk = (d: string) => {
            for (const e of fs.readdirSync(d, { withFileTypes: true })) {
                const p = path.join(d, e.name);
                if (e.isDirectory()) walk(p); else out.set(path.relative(stack.home, p), fs.readFileSync(p).toString("base64"));
            }
        };
        walk(path.join(stack.home, "state"));
        return out;
    }

    it("lists a user added, a user moved, a batch's dates changed and a declared user deleted out of band; changes nothing; costs a refresh's requests", async () => {
        stack.setSpec({ resources: [
            { type: "MailBatch", name: "w1", args: { name: "Wave D1" } },
            { type: "MailBatch", name: "w2", args: { name: "Wave D2" } },
            { type: "BatchGlobalSettings", name: "w1-settings", args: { batchName: { $out: "w1.name" }, fromDate: "2020-01-01", toDate: "2026-06-30" } },
            person("ada"), member("ada", "w1"), person("bob"), member("bob", "w1"), person("cy"), member("cy", "w2"),
        ] });
        await stack.up();
        const clean = await drift([]);
        assert.strictEqual(clean.code, 0, clean.stderr);
        assert.match(clean.stdout, /No drift: the tenant is as the stack says\./, "right after the up, nothing differs");

        // Out of band, as an admin in Cloudiway's portal would.
        const client = clientFor(resolveSettings((k) => ({ "cloudiway:apiUrl": emu.url, "cloudiway:consumerKey": KEY, "cloudiway:consumerSecret": SECRET } as Record<string, string>)[k]));
        const tags = Object.fromEntries([...(await stack.resources())].filter(([, r]) => r.type.endsWith(":MailUser")).map(([n, r]) => [n, r.id]));
        await client.createUser("mail", { firstName: "Zed", lastName: "Stray", sourceEmail: "zed@source.example", targetEmail: "zed@target.example", sourceConnectorName: "Gmail", targetConnectorName: "Office 365" });
        await client.removeFromBatch("mail", tags.bob);
        await client.addToBatch("mail", tags.bob, "Wave D2");
        const settings = await client.getGlobalSettings("mail", "Wave D1");
        await client.setGlobalSettings("mail", "Wave D1", { ...settings, fromDate: "2021-02-03" } as GlobalSettings);
        await client.removeFromBatch("mail", tags.cy);
        await client.deleteUser("mail", tags.cy);

        const tenantBefore = JSON.stringify(await control(emu).state());
        const filesBefore = backendFiles();
        await emuResetStats(emu.baseUrl);
        const md = await drift([]);
        assert.strictEqual(md.code, 0, md.stderr);
        const driftCalls = (await emuStats(emu.baseUrl));
        const json = await drift(["--json"]);
        assert.strictEqual(json.code, 0, json.stderr);

        // Nothing changed: the tenant (no write call at all) and every file of the backend.
        assert.strictEqual(driftCalls.mutating, 0, "no call that changes the tenant");
        assert.strictEqual(JSON.stringify(await control(emu).state()), tenantBefore, "the tenant is byte-for-byte the same");
        assert.deepStrictEqual(backendFiles(), filesBefore, "the state (every file of the backend) is byte-for-byte the same");

        const d = JSON.parse(json.stdout) as DriftDigest;
        assert.deepStrictEqual(d.drifted.map((x) => [x.resource, x.field, x.inStack, x.inTenant]), [
            ["bob-m", "batchName", "Wave D1", "Wave D2"],
            ["w1-settings", "fromDate", "2020-01-01", "2021-02-03"],
        ], "the user moved and the batch's dates changed, field by field; nothing else differs");
        assert.deepStrictEqual(d.gone.map((x) => [x.resource, x.type]), [["cy", "MailUser"], ["cy-m", "BatchMembership"]], "the declared user deleted in the tenant, and its membership");
        assert.deepStrictEqual(d.undeclared.users.map((u) => [u.sourceEmail, u.status, u.licensed, u.batchName]), [["zed@source.example", "NOTSTARTED", false, null]]);
        assert.deepStrictEqual(d.undeclared.count, { users: 1, batches: 0 });

        assert.match(md.stdout, /^## Cloudiway drift: stack test\n/);
        assert.match(md.stdout, /\| resources that differ from the tenant \| 2 \(2 fields\) \|/);
        assert.match(md.stdout, /\| bob-m \| BatchMembership \| batchName \| Wave D1 \| Wave D2 \|/);
        assert.match(md.stdout, /\| w1-settings \| BatchGlobalSettings \| fromDate \| 2020-01-01 \| 2021-02-03 \|/);
        assert.match(md.stdout, /\| cy \| MailUser \| user cy@source\.example -&gt; cy@target\.example \|/);
        assert.match(md.stdout, /### Users no stack declares: 1\n\n.*\n.*\n\| zed@source\.example -&gt; zed@target\.example \| mail \| NOTSTARTED \| no \| — \|/);
        for (const out of [md.stdout, md.stderr, json.stdout, json.stderr]) assert.ok(!out.includes(SECRET), "the secret is in no output");

        // The requests of a refresh: the same calls, as many (`pulumi refresh --preview-only` reads the same objects).
        await emuResetStats(emu.baseUrl);
        await stack.cli(["refresh", "--preview-only"]);
        const refreshCalls = await emuStats(emu.baseUrl);
        assert.deepStrictEqual(driftCalls.byCall, refreshCalls.byCall, "drift makes the requests of a refresh");
        assert.strictEqual(JSON.stringify(await control(emu).state()), tenantBefore);
    });

    it("a vendor answering \"not found\" in words no list holds (an emulator fault): drift lists the gone user, refresh drops it, the next preview makes it again", async () => {
        // The state of the test above: cy deleted out of band, not refreshed since.
        await control(emu).setFaults({ notFoundWording: "No user with migration tag {name}" });
        const json = await drift(["--json"]);
        assert.strictEqual(json.code, 0, json.stderr);
        const d = JSON.parse(json.stdout) as DriftDigest;
        assert.deepStrictEqual(d.gone.map((x) => x.resource), ["cy", "cy-m"]);
        await stack.refresh(); // exits 0, or cli() throws
        const held = await stack.resources();
        assert.ok(!held.has("cy") && held.has("ada"), "the refresh dropped the gone user only");
        const { steps } = await stack.preview();
        assert.deepStrictEqual(steps.filter((x: any) => x.op === "create").map((x: any) => x.urn.split("::").pop()).sort(), ["cy", "cy-m"], "the next preview makes it again");
        await control(emu).setFaults({ notFoundWording: "" });
    });

    it("bad input gets a clear error: an unknown stack, an unknown argument", async () => {
        const r = await drift(["--stack", "nope"]);
        assert.strictEqual(r.code, 1);
        assert.match(r.stderr, /^cloudiway-migration drift: pulumi stack export --stack nope failed: .*no stack named 'nope'/is);
        const bad = await drift(["--since", "yesterday"]);
        assert.strictEqual(bad.code, 1);
        assert.match(bad.stderr, /unknown argument "--since"/);
    });
});
