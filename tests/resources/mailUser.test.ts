/**
 * MailUser: its provider methods called directly against the emulator in-process (check,
 * diff, create/read/update/delete, read and delete of what is gone), then its lifecycle
 * under the real Pulumi engine in both API kinds (tests/helpers/lifecycle.ts has the
 * fixture). Its selfService input: mailUser.selfService.test.ts; licenses and runs under
 * the engine: engine-runs.test.ts; adoption across types: engine-resources.test.ts.
 */
import * as assert from "assert";
import { changes } from "../helpers/engine";
import { describeEngine, KINDS, kindView, userArgs } from "../helpers/lifecycle";
import { describeProviderMethods, ada, held, present, implementations } from "../helpers/provider";
import { emuResetStats, emuStats } from "../helpers/emu";

describe("MailUser", () => {
    const user = implementations.MailUser;

    describeProviderMethods("user-unit-key", "User-Unit-S3cret-9191", (fx) => {
        it("check: one failure per bad property, each naming the resource and the property", async () => {
            const { ctx } = fx;
            const r = await user.check(ctx, undefined, { ...ada, sourceEmail: "nope", lastName: " ", sourceConnectorName: "Gmial", extra: 1 });
            const props = (r.failures ?? []).map((f) => f.property).sort();
            assert.deepStrictEqual(props, ["extra", "lastName", "sourceEmail"]);
            for (const f of r.failures!) assert.match(f.reason, new RegExp(`MailUser(\\.${f.property})?`));
            // Schema failures first; once the shape is right, the connector is checked against the API.
            const c = await user.check(ctx, undefined, { ...ada, sourceConnectorName: "Gmial" });
            assert.deepStrictEqual(c.failures!.map((f) => f.property), ["sourceConnectorName"]);
            assert.match(c.failures![0].reason, /did you mean "Gmail"/);
        });

        it("check: normalizes what a person types: case and spaces of emails, spaces of names", async () => {
            const r = await user.check(fx.ctx, undefined, { ...ada, sourceEmail: "  Ada@Source.EXAMPLE ", firstName: " Ada " });
            assert.deepStrictEqual(r.failures, []);
            assert.strictEqual(r.inputs.sourceEmail, "ada@source.example");
            assert.strictEqual(r.inputs.firstName, "Ada");
        });

        it("check: licensed true -> false is refused", async () => {
            const lic = await user.check(fx.ctx, { ...ada, licensed: true }, { ...ada, licensed: false });
            assert.deepStrictEqual(lic.failures!.map((f) => f.property), ["licensed"]);
        });

        it("diff: only the properties that changed; a replace only for kind, which the API cannot update", async () => {
            const { ctx } = fx;
            const same = await user.diff(ctx, "t", held({ ...ada, migrationTag: "t", status: "SUCCESS" }), { ...ada });
            assert.strictEqual(same.changes, false);
            const d = await user.diff(ctx, "t", held({ ...ada }), { ...ada, lastName: "King" });
            assert.strictEqual(d.changes, true);
            assert.deepStrictEqual(d.replaces, []);
            assert.ok(d.stables!.includes("migrationTag"), "an in-place update keeps the tag known during preview");
            assert.deepStrictEqual((await user.diff(ctx, "t", held({ ...ada }), { ...ada, kind: "archive" })).replaces, ["kind"]);
        });

        it("create finds the tag; read of an untouched user equals its declaration; update in place", async () => {
            const { ctx, client } = fx;
            const c = await user.create(ctx, { ...ada });
            assert.match(c.id, /^[0-9a-f-]{36}$/);
            assert.strictEqual(c.outs.status, "NOTSTARTED");
            const r = await user.read(ctx, c.id, c.outs);
            assert.strictEqual(r.id, c.id);
            assert.strictEqual((await user.diff(ctx, c.id, present(r.props), present(r.inputs))).changes, false, "refresh then preview: no phantom diff");
            const u = await user.update(ctx, c.id, c.outs, { ...ada, lastName: "King" });
            assert.strictEqual(u.outs.lastName, "King");
            assert.strictEqual((await client.getUser("mail", c.id))!.lastName, "King");
            await user.delete(ctx, c.id, u.outs);
            assert.strictEqual(await client.getMigrationTag("mail", ada.sourceEmail, ada.targetEmail), undefined);
        });

        it("create: an existing user is refused without adopt (named, with how to adopt) and adopted with it", async () => {
            const { ctx, client } = fx;
            const { migrationTag } = await client.createUser("mail", { ...ada, firstName: "Old", sourceConnectorName: "Zimbra" });
            await assert.rejects(user.create(ctx, { ...ada }), (e: Error) => {
                assert.match(e.message, new RegExp(migrationTag));
                assert.match(e.message, /adopt: true/);
                assert.match(e.message, /cloudiway:adoptExisting/);
                return true;
            });
            const c = await user.create(ctx, { ...ada, adopt: true });
            assert.strictEqual(c.id, migrationTag);
            assert.strictEqual((await client.getUser("mail", migrationTag))!.firstName, "Ada", "adoption brings the user to its declaration");
            const all = await client.getAllUsers("mail");
            assert.strictEqual(all.length, 1);
            assert.strictEqual(all[0].sourceConnectorName, "Gmail", "the connector too (2.3 does not show it; getall does)");
        });

        it("create of a new user: two requests, the create then one look-up of its tag", async () => {
            await emuResetStats(fx.emu.baseUrl);
            const c = await user.create(fx.ctx, { ...ada });
            const stats = await emuStats(fx.emu.baseUrl);
            assert.deepStrictEqual(stats.byCall, { "POST /mailusers/create": 1, "GET /mailusers/migrationtag": 1 });
            assert.strictEqual(stats.total, 2);
            assert.strictEqual(c.id, await fx.client.getMigrationTag("mail", ada.sourceEmail, ada.targetEmail));
        });

        it("create whose answer was lost: the user found is ours when it is as just created, else it was there before and is refused", async () => {
            const { ctx, client } = fx;
            const real = ctx.client();
            // The create's answer is lost and the retry's look-up finds the user (what createUser then reports).
            const lost = (mutate: (v: typeof ada) => typeof ada) => Object.assign(Object.create(real), {
                createUser: async (k: "mail", v: typeof ada) => ({ ...(await real.createUser(k, mutate(v))), lostAnswer: true }),
            });
            const withClient = (c: unknown) => Object.assign(Object.create(ctx), { client: () => c });
            const made = await user.create(withClient(lost((v) => v)), { ...ada });
            assert.strictEqual(made.id, await client.getMigrationTag("mail", ada.sourceEmail, ada.targetEmail), "ours: kept");
            await user.delete(ctx, made.id, made.outs);
            // A user with other names was there before the create: not taken without adopt.
            await assert.rejects(user.create(withClient(lost((v) => ({ ...v, firstName: "Someone" }))), { ...ada }), /already exists .*adopt: true/s);
        });

        it("read of a missing user returns no id; delete of a missing user succeeds and changes nothing", async () => {
            const ghost = "11111111-2222-3333-4444-555555555555";
            assert.strictEqual((await user.read(fx.ctx, ghost, held({ ...ada }))).id, undefined);
            const stats = await fx.expectNoMutatingCall(() => user.delete(fx.ctx, ghost, held({ ...ada })));
            assert.strictEqual(stats.byCall["POST /mailusers/create"] ?? 0, 0);
        });
    });

    describeEngine("lifecycle", "user-engine-key", "User-Engine-S3cret-4242-zz", (fx) => {
        for (const kind of KINDS) {
            const { other, k, users, label } = kindView(fx, kind);

            it(`MailUser: lifecycle${label}`, async () => {
                const stack = await fx.newStack(`user-${kind}`);
                let args: Record<string, unknown> = userArgs(k);
                const spec = () => ({ resources: [{ type: "MailUser", name: "ada", args }] });
                stack.setSpec(spec());
                await stack.up();
                let list = await users();
                assert.strictEqual(list.length, 1);
                assert.strictEqual(list[0].firstName, "Ada");
                assert.strictEqual(list[0].sourceConnectorName, "Gmail");
                assert.strictEqual((await users(other)).length, 0, `only in the ${kind} kind`);
                const tag = list[0].migrationTag;

                await fx.expectEmptyPreview("after create");
                await fx.expectEmptyRefresh("after create");
                await fx.expectEmptyPreview("after refresh");

                // Each input in turn.
                const steps: [string, unknown, string][] = [
                    ["firstName", "Augusta", "update"],
                    ["lastName", "King", "update"],
                    ["sourceEmail", "augusta@source.example", "update"],
                    ["targetEmail", "augusta@target.example", "update"],
                    ["sourceConnectorName", "Zimbra", "update"],
                    ["targetConnectorName", "Exchange Online", "update"],
                    ["licensed", true, "update"],
                    // Not an API field: what leaving the stack does. "delete" here, so that the kind change and the
                    // destroy below delete this licensed user (the default keeps it: tests/engine-deletion-policy.test.ts).
                    ["deletionPolicy", "delete", "update"],
                ];
                for (const [prop, value, op] of steps) {
                    args = { ...args, [prop]: value };
                    stack.setSpec(spec());
                    await fx.expectOnly(op, "ada", `change ${prop}`);
                    await stack.up();
                    list = await users();
                    assert.strictEqual(list.length, 1, `change ${prop}: still one user`);
                    assert.strictEqual(list[0].migrationTag, tag, `change ${prop}: updated in place`);
                    if (prop === "licensed") assert.strictEqual(list[0].licensed, true);
                    else if (prop === "deletionPolicy") assert.strictEqual((await stack.resources()).get("ada").outputs.deletionPolicy, "delete");
                    else assert.strictEqual(list[0][prop as keyof (typeof list)[0]], value, `change ${prop}: emulator has it`);
                    await fx.expectEmptyPreview(`after change ${prop}`);
                }

                // Casing and whitespace the API may give back do not show as a change.
                args = { ...args, sourceEmail: "  Augusta@Source.Example ", firstName: " Augusta " };
                stack.setSpec(spec());
                await fx.expectEmptyPreview("same values, other spelling");

                // Drift: changed behind the stack's back.
                await fx.client.updateUser(kind, tag, {
                    firstName: "Drifted", lastName: "King", sourceEmail: "augusta@source.example", targetEmail: "augusta@target.example",
                    sourceConnectorName: "Zimbra", targetConnectorName: "Exchange Online",
                });
                const refreshed = await stack.refresh();
                assert.strictEqual(refreshed.counts.update, 1, "refresh records the drift");
                assert.strictEqual((await stack.resources()).get("ada").outputs.firstName, "Drifted");
                const p = await stack.preview();
                assert.deepStrictEqual(changes(p.steps).map((c) => [c.op, c.name]), [["update", "ada"]]);
                await stack.up();
                assert.strictEqual((await users())[0].firstName, "Augusta");
                await fx.expectEmptyPreview("after restoring drift");

                // Deleted behind the stack's back.
                await fx.client.deleteUser(kind, tag);
                await stack.refresh();
                assert.ok(!(await stack.resources()).has("ada"), "refresh drops the deleted user");
                await stack.up();
                assert.strictEqual((await users()).length, 1, "up creates it again");
                await fx.expectEmptyPreview("after re-create");

                // kind: another API kind, so a replacement.
                args = { ...args, kind: other };
                stack.setSpec(spec());
                await fx.expectOnly("replace", "ada", "change kind");
                await stack.up();
                assert.strictEqual((await users(kind)).length, 0);
                assert.strictEqual((await users(other)).length, 1);
                await fx.expectEmptyPreview("after kind change");

                await stack.destroy();
                assert.strictEqual((await users("mail")).length + (await users("archive")).length, 0, "destroy leaves no user");
                fx.expectSecretInNoOutput(); // in what this lifecycle printed
            });
        }
    });
});
