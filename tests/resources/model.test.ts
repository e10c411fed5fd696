/**
 * One model per resource (runtime/model.ts, defineModel): for every resource type, `read` after
 * `create` returns every declared input, and an import-like round trip (read's inputs checked
 * again, then diffed against read's outputs) loses nothing and shows no change. Both kinds.
 */
import * as assert from "assert";
import { mailUserModel } from "../../provider/resources/mailUser";
import { mailBatchModel } from "../../provider/resources/mailBatch";
import { batchMembershipModel } from "../../provider/resources/batchMembership";
import { batchGlobalSettingsModel } from "../../provider/resources/batchGlobalSettings";
import { migrationRunModel } from "../../provider/resources/migrationRun";
import { SETTING_FLAGS } from "../../provider/client/settings";
import type { ResourceImpl } from "../../provider/runtime/model";
import { KINDS, Kind } from "../../provider/client/calls";
import { describeProviderMethods, implementations, ResourceType } from "../helpers/provider";

const MODELS = {
    MailUser: mailUserModel, MailBatch: mailBatchModel, BatchMembership: batchMembershipModel,
    BatchGlobalSettings: batchGlobalSettingsModel, MigrationRun: migrationRunModel,
} satisfies Record<ResourceType, { inputKeys: readonly string[] }>;

/** Declarations of each type that, together, set every declared input (a run has a batch or a user). */
function everyInput(kind: Kind, tag: string): Record<ResourceType, Record<string, unknown>[]> {
    return {
        MailUser: [{
            firstName: "Ada", lastName: "Lovelace", sourceEmail: `ada.${kind}@source.example`, targetEmail: `ada.${kind}@target.example`,
            sourceConnectorName: "Gmail", targetConnectorName: "Office 365", kind, licensed: true,
            selfService: { sendTo: "source", trigger: "1" }, adopt: false, deletionPolicy: "retain",
        }],
        MailBatch: [{ name: `Wave ${kind}`, kind, adopt: false }],
        BatchMembership: [{ migrationTag: tag, batchName: `Wave ${kind}`, kind, deletionPolicy: "delete", adopt: false }],
        BatchGlobalSettings: [{
            batchName: `Wave ${kind}`, ...Object.fromEntries(SETTING_FLAGS.map((f, i) => [f, i % 2 === 0])),
            fromDate: "2015-01-05", toDate: "2016-12-31", kind, adopt: false,
        }],
        MigrationRun: [{
            batchName: `Wave ${kind}`, action: "audit", trigger: "1", kind, waitFor: { maxFailed: 1, timeoutMinutes: 60, blockMinutes: 0 },
            notBefore: "2020-01-01T00:00:00Z", after: [{ run: "pilot", phase: "done", progress: "1 of 1 done (SUCCESS 1)" }],
        }, { migrationTag: tag, action: "stop", trigger: "1", kind }],
    };
}

describe("one model per resource: read after create returns every declared input", () => {
    describeProviderMethods("model-unit-key", "Model-Unit-S3cret-4242", (fx) => {
        for (const kind of KINDS) {
            it(`${kind}: every type, every input; check(read) then diff(read) shows no change`, async () => {
                const order: ResourceType[] = ["MailUser", "MailBatch", "BatchMembership", "BatchGlobalSettings", "MigrationRun"];
                let tag = "";
                // Self-service needs a Self Service source connector: the emulator's has one of that type.
                const selfServiceConnector = kind === "mail" ? "Zimbra Self Service" : "IMAP Self Service";
                for (const type of order) {
                    const impl = implementations[type] as ResourceImpl<object, object>;
                    const cases = everyInput(kind, tag)[type];
                    // Every key the model declares is set here: a new input must be added to this test. A stored input
                    // the API keeps (the model's `stored`) may be left to tests/stored-fields.test.ts, which sets each one.
                    const keys = [...new Set(cases.flatMap((d) => Object.keys(d)))].sort();
                    const stored: readonly string[] = MODELS[type].stored.keys;
                    const expected = MODELS[type].inputKeys.filter((k) => keys.includes(k) || !stored.includes(k));
                    assert.deepStrictEqual(keys, [...expected].sort(), `${type}: the test sets every declared input`);
                    for (const declared of cases) {
                    if (type === "MailUser") declared.sourceConnectorName = selfServiceConnector;
                    const c = await impl.check(fx.ctx, undefined, declared);
                    assert.deepStrictEqual(c.failures, [], type);
                    const created = await impl.create(fx.ctx, c.inputs);
                    if (type === "MailUser") tag = (created.outs as { migrationTag: string }).migrationTag;
                    fx.ctx.cache.clear();
                    const r = await impl.read(fx.ctx, created.id, created.outs);
                    assert.strictEqual(r.id, created.id, `${type}: read finds what create made`);
                    // Every declared input comes back, with the value check gave it.
                    assert.deepStrictEqual(r.inputs, c.inputs, `${type}: read's inputs are every declared input`);
                    // The round trip: what read answered, checked again and diffed, is no change.
                    const again = await impl.check(fx.ctx, r.inputs, r.inputs);
                    assert.deepStrictEqual(again.failures, [], `${type}: read's inputs pass check`);
                    const d = await impl.diff(fx.ctx, created.id, r.props!, again.inputs);
                    assert.strictEqual(d.changes, false, `${type}: no change after the round trip (${JSON.stringify(d)})`);
                    }
                }
            });
        }
    });
});

describe("an input left out is what it means (absentMeans): no kind is \"mail\"", () => {
    for (const [type, model] of Object.entries(MODELS)) {
        it(`${type}: kind "mail" and no kind are the same declaration; "archive" replaces either`, () => {
            const base = everyInput("mail", "tag-1")[type as ResourceType][0];
            const { kind: _, ...noKind } = base;
            const d = (olds: object, news: object) => model.diff(olds as never, news as never);
            assert.deepStrictEqual(model.absentMeans, { kind: "mail" });
            assert.strictEqual(d(base, noKind).changes, false, "a program that stops giving kind: \"mail\" changes nothing");
            assert.strictEqual(d(noKind, base).changes, false, "nor one that starts giving it");
            assert.strictEqual(d({ ...noKind, kind: null }, base).changes, false, "a null kind is no kind");
            for (const olds of [base, noKind]) {
                const r = d(olds, { ...noKind, kind: "archive" });
                assert.strictEqual(r.changes, true);
                assert.deepStrictEqual(r.replaces, ["kind"], "another kind is another API root: replaced");
            }
            assert.deepStrictEqual(d({ ...noKind, kind: "archive" }, noKind).replaces, ["kind"], "archive to no kind (mail) replaces");
        });
    }
});
