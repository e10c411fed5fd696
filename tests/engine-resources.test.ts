/**
 * What is not about one resource under the real Pulumi engine, against the emulator:
 * adoption of existing users and batches, bad input of every type failing preview,
 * the secret nowhere in state, logs or output. Each resource's own lifecycle (create,
 * empty preview, each input changed in turn, drift, deletion behind the stack's back,
 * destroy, in both API kinds) is in tests/resources/<resource>.test.ts.
 */
import * as assert from "assert";
import { TestStack } from "./helpers/engine";
import { batchesOf, control, emuResetStats, emuState, emuStats, usersOf } from "./helpers/emu";
import { EngineFixture, userArgs } from "./helpers/lifecycle";

const SECRET = "Engine-S3cret-4242-zz";
const KEY = "engine-key";

describe("@engine resources under the real Pulumi CLI", function () {
    this.timeout(20 * 60 * 1000);
    const fx = new EngineFixture(KEY, SECRET);
    fx.hooks();

    it("adoption of existing users and batches, with and without adopt", async () => {
        await fx.newStack("adopt");
        await fx.client.createBatch("mail", "Existing Wave");
        const { migrationTag } = await fx.client.createUser("mail", {
            firstName: "Grace", lastName: "Hopper", sourceEmail: "grace@source.example", targetEmail: "grace@target.example",
            sourceConnectorName: "Gmail", targetConnectorName: "Office 365",
        });
        const decl = (adopt?: boolean) => ({
            resources: [
                { type: "MailBatch", name: "wave", args: { name: "Existing Wave", ...(adopt === undefined ? {} : { adopt }) } },
                { type: "MailUser", name: "grace", args: userArgs({ firstName: "Grace", lastName: "Hopper", sourceEmail: "grace@source.example", targetEmail: "grace@target.example", ...(adopt === undefined ? {} : { adopt }) }) },
            ],
        });
        fx.s.setSpec(decl());
        await emuResetStats(fx.emu.baseUrl);
        // --continue-on-error: each refusal is reported, whichever fails first (the engine stops starting
        // new steps at the first error, so without it the user's create may never begin).
        const failed = await fx.s.cli(["up", "--yes", "--skip-preview", "--continue-on-error"], true);
        assert.notStrictEqual(failed.code, 0, "up without adopt fails");
        const text = failed.stdout + failed.stderr;
        assert.match(text, /already exists/);
        assert.match(text, /adopt: true/);
        assert.match(text, /MailUser grace@source\.example -> grace@target\.example: a Cloudiway mail user with this source and target already exists/);
        assert.match(text, new RegExp(migrationTag), "the error names the existing user's tag");
        // The user's create is sent first and refused ("already exists"): nothing made or changed.
        const refused = await emuStats(fx.emu.baseUrl);
        assert.strictEqual(refused.mutating, 0, `nothing applied: ${JSON.stringify(refused.byCall)}`);
        assert.strictEqual(usersOf(await emuState(fx.emu.baseUrl)).length, 1, "no second user");

        fx.s.setSpec(decl(true));
        await fx.s.up();
        const st = await emuState(fx.emu.baseUrl);
        assert.strictEqual(usersOf(st).length, 1, "adopted, not duplicated");
        assert.strictEqual((await fx.s.resources()).get("grace").id, migrationTag);
        await fx.expectEmptyPreview("after adoption");
        await fx.s.cli(["state", "delete", "--yes", (await fx.s.resources()).get("grace").urn]);
        await fx.s.cli(["state", "delete", "--yes", (await fx.s.resources()).get("wave").urn]);

        // The stack-wide default instead of the input.
        await fx.s.cli(["config", "set", "cloudiway:adoptExisting", "true"]);
        fx.s.setSpec(decl());
        await fx.s.up();
        assert.strictEqual(usersOf(await emuState(fx.emu.baseUrl)).length, 1);
        assert.strictEqual((await fx.s.resources()).get("grace").id, migrationTag);
    });

    it("bad input fails preview naming resource and property; nothing is applied", async () => {
        await fx.newStack("bad");
        const cases: [string, any, RegExp[]][] = [
            ["broken", { type: "MailUser", name: "broken", args: userArgs({ sourceEmail: "not-an-email", firstName: "  " }) },
                [/MailUser\.sourceEmail: must be an email address/, /MailUser\.firstName: must not be empty/]],
            ["bad-dates", { type: "BatchGlobalSettings", name: "bad-dates", args: { batchName: "Fine", fromDate: "2020-02-30", toDate: "2019-01-01" } },
                [/BatchGlobalSettings\.fromDate: must be a valid ISO date/]],
            ["reversed-dates", { type: "BatchGlobalSettings", name: "reversed-dates", args: { batchName: "Fine", fromDate: "2020-02-01", toDate: "2019-01-01" } },
                [/BatchGlobalSettings\.fromDate: 2020-02-01 is after toDate 2019-01-01/]],
            ["bad-connector", { type: "MailUser", name: "bad-connector", args: userArgs({ sourceEmail: "c@source.example", sourceConnectorName: "Gmial" }) },
                [/MailUser\.sourceConnectorName: "Gmial" is not a source connector.*did you mean "Gmail"/]],
            ["bad-tag", { type: "BatchMembership", name: "bad-tag", args: { migrationTag: "nope", batchName: "Fine" } },
                [/BatchMembership\.migrationTag: must be a migration tag/]],
            ["bad-run", { type: "MigrationRun", name: "bad-run", args: { migrationTag: "11111111-2222-3333-4444-555555555555", action: "permissions", trigger: "1" } },
                [/MigrationRun\.action: "permissions" runs on a batch only/]],
            ["typo", { type: "MailBatch", name: "typo", args: { name: "X", adpot: true } },
                [/adpot/]],
        ];
        for (const [name, bad, patterns] of cases) {
            fx.s.setSpec({ resources: [{ type: "MailBatch", name: "ok-batch", args: { name: "Fine" } }, bad] });
            await emuResetStats(fx.emu.baseUrl);
            const r = await fx.s.cli(["preview"], true);
            assert.notStrictEqual(r.code, 0, `${name}: preview fails`);
            const text = r.stdout + r.stderr;
            assert.match(text, new RegExp(`resource '${name}'`), `${name}: the resource is named`);
            for (const re of patterns) assert.match(text, re, name);
            const up = await fx.s.cli(["up", "--yes"], true);
            assert.notStrictEqual(up.code, 0);
            const stats = await emuStats(fx.emu.baseUrl);
            assert.strictEqual(stats.mutating, 0, `${name}: nothing applied: ${JSON.stringify(stats.byCall)}`);
            const st = await emuState(fx.emu.baseUrl);
            assert.strictEqual(usersOf(st).length + batchesOf(st).length, 0);
        }

        // licensed: true -> false is refused at preview, with no call made.
        fx.s.setSpec({ resources: [{ type: "MailUser", name: "lic", args: userArgs({ licensed: true }) }] });
        await fx.s.up();
        fx.s.setSpec({ resources: [{ type: "MailUser", name: "lic", args: userArgs({ licensed: false }) }] });
        await emuResetStats(fx.emu.baseUrl);
        const lic = await fx.s.cli(["preview"], true);
        assert.notStrictEqual(lic.code, 0);
        assert.match(lic.stdout + lic.stderr, /MailUser\.licensed: a Cloudiway license cannot be taken back/);
        assert.strictEqual((await emuStats(fx.emu.baseUrl)).total, 0);
    });

    it("secret nowhere in state, logs or output; __provider small and shared", async () => {
        const spec = {
            resources: [
                { type: "MailBatch", name: "w", args: { name: "S" } },
                { type: "MailUser", name: "u", args: userArgs() },
                { type: "BatchMembership", name: "m", args: { migrationTag: { $out: "u.migrationTag" }, batchName: { $out: "w.name" } } },
                { type: "BatchGlobalSettings", name: "s", args: { batchName: { $out: "w.name" } } },
            ],
        };
        // 1. The secret as stack config (encrypted): state, output and logs at the default verbosity.
        await fx.newStack("secret");
        fx.s.setSpec(spec);
        await fx.s.up();
        await fx.s.refresh();
        await fx.s.preview();
        assert.ok(!fx.s.log.join("\n").includes(SECRET), "secret in the output of pulumi");
        assert.ok(!JSON.stringify(await fx.s.exportState()).includes(SECRET), "secret in stack export");
        // With --show-secrets, the only place is Pulumi's own record of the stack config given to the
        // default pulumi-nodejs provider (encrypted in state, like Pulumi.<stack>.yaml): never a resource.
        const shown = JSON.parse((await fx.s.cli(["stack", "export", "--show-secrets"])).stdout);
        for (const r of shown.deployment.resources) {
            if (String(r.type).startsWith("pulumi:providers:")) continue;
            assert.ok(!JSON.stringify(r).includes(SECRET), `secret in the state of ${r.urn}`);
        }
        await fx.s.destroy();
        await fx.s.dispose();

        // 2. The secret from the environment: not even the engine's most verbose logs or a decrypted export have it.
        await control(fx.emu).reset();
        fx.stack = await TestStack.create({ name: "secret-env", apiUrl: fx.emu.url, consumerKey: KEY, consumerSecret: SECRET, credentialsFromEnv: true });
        fx.s.setSpec(spec);
        await fx.s.up(["--logtostderr", "-v=9"]);
        await fx.s.refresh(["--logtostderr", "-v=9"]);
        assert.ok(!(fx.s.log.join("\n") + fx.outputsSeen.join("\n")).includes(SECRET), "secret in engine logs / output");
        assert.ok(!(await fx.s.cli(["stack", "export", "--show-secrets"])).stdout.includes(SECRET), "secret in the decrypted state");
        fx.s.log.length = 0; // that export is decrypted on purpose

        const resources = await fx.s.resources();
        const providers = new Map<string, number>();
        for (const [name, r] of resources) {
            const p = r.inputs.__provider as string;
            assert.strictEqual(r.outputs.__provider, p, `${name}: same provider in inputs and outputs`);
            providers.set(r.type, Buffer.byteLength(p));
        }
        for (const [type, bytes] of providers) {
            console.log(`      serialized __provider of ${type}: ${bytes} bytes`);
            assert.ok(bytes < 1024, `${type} __provider is ${bytes} bytes (limit 1 KB)`);
        }
    });
});
