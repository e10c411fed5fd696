/**
 * The inputs the API stores, declared once in a model (`stored`), reach every place that must carry
 * them. For each stored input of each model that has some, with a value other than the one created:
 * the create sends it (the vendor holds it), read takes a change made in the portal back (drift), an
 * update of only that input sends an update, the plan loader takes the key, MigrationPlan passes it to
 * the resource, and export-plan writes it (and the plan it writes loads it back). Missing one place
 * fails here, for that input, naming it. The values are found, not listed: the first candidate the
 * resource's check accepts, so a new stored input is tested without a line here.
 */
import * as assert from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { stringify } from "yaml";
import { implementations } from "../provider/impl";
import { mailUserModel, MailUserInputs, MailUserOutputs } from "../provider/resources/mailUser";
import { mailBatchModel } from "../provider/resources/mailBatch";
import { batchMembershipModel } from "../provider/resources/batchMembership";
import { batchGlobalSettingsModel } from "../provider/resources/batchGlobalSettings";
import { migrationRunModel } from "../provider/resources/migrationRun";
import { wireText } from "../provider/client";
import { loadPlan, Plan } from "../provider/plan/load";
import { exportPlan } from "../cli/export-plan";
import { describeProviderMethods, ada, checked, ProviderFixture } from "./helpers/provider";
import { emuResetStats, emuStats } from "./helpers/emu";

describe("stored inputs: declared once, carried everywhere", () => {
    
    it("the models with stored inputs are the ones tested below (a model that starts to store some needs its cases here)", () => {
        const models = [mailUserModel, mailBatchModel, batchMembershipModel, batchGlobalSettingsModel, migrationRunModel];
        assert.deepStrictEqual(models.filter((m) => m.stored.keys.length).map((m) => m.type), ["MailUser"]);
        assert.ok(mailUserModel.stored.keys.length >= 6, "MailUser stores its names, emails and connectors");
    });

    describeProviderMethods("stored-fields-key", "Stored-Fields-S3cret-4242", (fx) => {
        const user = implementations.MailUser;
        const stored = mailUserModel.stored;
        type Key = (typeof stored.keys)[number];

        /** The first candidate that check accepts as `k` of `base` (and is not `not`). */
        async function valid(base: Record<string, unknown>, k: Key, not?: unknown): Promise<string> {
            const connectors = [...(await fx.client.getSourceConnectors("mail")), ...(await fx.client.getTargetConnectors("mail"))].map((c) => c.name);
            for (const c of ["Grace", "Hopper", "grace@changed.example", "hopper@changed.example", ...connectors]) {
                if (c === not) continue;
                const r = await user.check(fx.ctx, undefined, { ...base, [k]: c });
                if (!r.failures.length && (r.inputs as Record<string, unknown>)[k] === c) return c;
            }
            throw new Error(`no candidate value passes MailUser.${k}'s check`);
        }
        /** A user with every stored input set (a new one too), and `k` set to a value other than that user's. */
        async function inputsWith(k: Key): Promise<{ base: MailUserInputs; changed: MailUserInputs; value: string }> {
            const base: Record<string, unknown> = { ...ada };
            for (const s of stored.keys) if (base[s] === undefined) base[s] = await valid(base, s);
            const value = await valid(base, k, base[k]);
            return { base: checked(await user.check(fx.ctx, undefined, base)), changed: checked(await user.check(fx.ctx, undefined, { ...base, [k]: value })), value };
        }
        /** What the vendor holds of the user under `k`'s wire name. */
        async function vendorHolds(tag: string, k: Key): Promise<string | undefined> {
            const r = (await fx.client.getAllUsers("mail")).find((u) => u.migrationTag === tag);
            return r && wireText(r, stored.wireName(k));
        }
        async function created(inputs: MailUserInputs): Promise<{ id: string; outs: MailUserOutputs }> {
            const c = await user.create(fx.ctx, inputs);
            fx.ctx.cache.clear();
            return c;
        }

        for (const k of mailUserModel.stored.keys) {
            describe(`MailUser.${k} (wire name ${mailUserModel.stored.wireName(k)})`, () => {
                it("create sends it: the vendor holds the declared value", async () => {
                    const { changed, value } = await inputsWith(k);
                    const c = await created(changed);
                    assert.strictEqual(await vendorHolds(c.id, k), value);
                });

                it("read takes a change made in the portal back: drift is seen", async () => {
                    const { base, value } = await inputsWith(k);
                    const c = await created(base);
                    // The portal's edit: the vendor's record with this one value changed, every other as it is.
                    const body: Record<string, string> = {};
                    for (const s of stored.keys) body[stored.wireName(s)] = String((await vendorHolds(c.id, s)) ?? base[s]);
                    body[stored.wireName(k)] = value;
                    await fx.client.updateUser("mail", c.id, body as { sourceEmail: string; targetEmail: string });
                    fx.ctx.cache.clear();
                    const r = await user.read(fx.ctx, c.id, c.outs);
                    assert.strictEqual((r.inputs as Record<string, unknown> | undefined)?.[k], value, "read answers the vendor's value");
                    assert.strictEqual((await user.diff(fx.ctx, c.id, r.props!, base)).changes, true, "the declaration differs from what read saw");
                });

                it("cleared in the portal: a required input reads back blank (drift), an optional one stays as declared", async () => {
                    const { base } = await inputsWith(k);
                    const c = await created(base);
                    // The API refuses a blank value; the vendor's record can still hold one (a portal or CSV import).
                    (fx.emu.store.state.mail.users[c.id] as unknown as Record<string, unknown>)[stored.wireName(k)] = "";
                    fx.ctx.cache.clear();
                    const r = await user.read(fx.ctx, c.id, c.outs);
                    const required = !(mailUserModel.schema.shape[k] as { safeParse(v: unknown): { success: boolean } }).safeParse(undefined).success;
                    assert.strictEqual((r.inputs as Record<string, unknown> | undefined)?.[k], required ? "" : base[k]);
                    assert.strictEqual((await user.diff(fx.ctx, c.id, r.props!, base)).changes, required);
                });

                it("an update of only this input sends an update, and the vendor holds the new value", async () => {
                    const { base, changed, value } = await inputsWith(k);
                    const c = await created(base);
                    await emuResetStats(fx.emu.baseUrl);
                    await user.update(fx.ctx, c.id, c.outs, changed);
                    const stats = await emuStats(fx.emu.baseUrl);
                    assert.ok(Object.keys(stats.byCall).some((call) => /update/.test(call)), `an update was sent: ${JSON.stringify(stats.byCall)}`);
                    fx.ctx.cache.clear();
                    assert.strictEqual(await vendorHolds(c.id, k), value);
                });

                it("the plan loader takes the key, MigrationPlan passes it to the MailUser", async () => {
                    const { changed, value } = await inputsWith(k);
                    const plan = loadPlan(writePlan({ users: [{ ...storedOf(changed) }] }));
                    assert.strictEqual((plan.users[0] as Record<string, unknown>)[k], value, "the plan loader keeps it");
                    const inputs = await mailUserInputsOf(plan);
                    assert.strictEqual(inputs[k], value, "MigrationPlan hands it to the MailUser");
                });

                it("export-plan writes it, and the plan it writes loads it back", async () => {
                    const { changed, value } = await inputsWith(k);
                    await created(changed);
                    const { plan } = await exportPlan(fx.client, "mail");
                    const entry = (plan.users as Record<string, unknown>[] | undefined)?.[0] ?? {};
                    assert.strictEqual(entry[k] ?? (plan.defaults as Record<string, unknown>)[k], value, `export-plan writes ${k}`);
                    const back = loadPlan(writePlan(plan));
                    assert.strictEqual((back.users[0] as Record<string, unknown>)[k], value, "the exported plan loads it back");
                });
            });
        }
    });
});

function storedOf(inputs: MailUserInputs): Record<string, unknown> {
    return Object.fromEntries(mailUserModel.stored.keys.filter((k) => inputs[k] !== undefined).map((k) => [k, inputs[k]]));
}

let dir: string | undefined;
function writePlan(plan: object): string {
    dir ??= fs.mkdtempSync(path.join(os.tmpdir(), "stored-fields-"));
    const file = path.join(dir, `plan-${Math.random().toString(36).slice(2)}.yaml`);
    fs.writeFileSync(file, stringify(plan));
    return file;
}

/** The inputs MigrationPlan gives its one MailUser, under Pulumi's mocks. */
async function mailUserInputsOf(plan: Plan): Promise<Record<string, unknown>> {
    const users: Record<string, unknown>[] = [];
    // Mocks whose answers only matter for the MailUser registration: its inputs are what is read.
    pulumi.runtime.setMocks({
        newResource: (a) => {
            if (a.type.endsWith(":MailUser")) users.push(a.inputs);
            return { id: `${a.name}-id`, state: a.inputs };
        },
        call: () => ({}),
    }, "project", "stack", false);
    const { MigrationPlan } = await import("../provider/plan");
    const p = new MigrationPlan("plan", { plan });
    // The MailUser's id is known once its registration (the mock's newResource) is done.
    await Promise.all(Object.values(p.users).map((u) => new Promise<void>((resolve) => u.id.apply(() => resolve()))));
    assert.strictEqual(users.length, 1, "one MailUser registered");
    return users[0];
}
