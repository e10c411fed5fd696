/**
 * MailBatch: its provider methods called directly against the emulator in-process (diff,
 * delete of a batch that still has users, read and delete of what is gone), then its
 * lifecycle under the real Pulumi engine in both API kinds (tests/helpers/lifecycle.ts
 * has the fixture).
 */
import * as assert from "assert";
import { describeEngine, KINDS, Kind, kindView } from "../helpers/lifecycle";
import { describeProviderMethods, ada, implementations } from "../helpers/provider";

describe("MailBatch", () => {
    const batch = implementations.MailBatch;

    describeProviderMethods("batch-unit-key", "Batch-Unit-S3cret-9191", (fx) => {
        it("diff: a new name is a replace (the API cannot rename a batch)", async () => {
            assert.deepStrictEqual((await batch.diff(fx.ctx, "B", { name: "B" }, { name: "C" })).replaces, ["name"]);
        });

        it("delete of a batch that still has users fails and names them; nothing is removed", async () => {
            const { ctx, client } = fx;
            await batch.create(ctx, { name: "Wave 1" });
            const { migrationTag } = await client.createUser("mail", ada);
            await client.addToBatch("mail", migrationTag, "Wave 1");
            ctx.cache.clear();
            await assert.rejects(batch.delete(ctx, "Wave 1", { name: "Wave 1" }),
                (e: Error) => /cannot be deleted: it holds 1 user\(s\) .*ada@source\.example/.test(e.message));
            assert.deepStrictEqual(await client.listBatches("mail"), ["Wave 1"]);
            assert.deepStrictEqual(await client.getUsersInBatch("mail", "Wave 1"), [migrationTag]);
        });

        it("read of a missing batch returns no id; delete of a missing batch succeeds and changes nothing", async () => {
            assert.strictEqual((await batch.read(fx.ctx, "No Such Wave", { name: "No Such Wave" })).id, undefined);
            await fx.expectNoMutatingCall(() => batch.delete(fx.ctx, "No Such Wave", { name: "No Such Wave" }));
        });
    });

    describeEngine("lifecycle", "batch-engine-key", "Batch-Engine-S3cret-4242-zz", (fx) => {
        for (const kind of KINDS) {
            const { other, k, batches, label } = kindView(fx, kind);

            it(`MailBatch: lifecycle${label}`, async () => {
                const stack = await fx.newStack(`batch-${kind}`);
                let name = "Wave 1";
                let declared: Record<string, unknown> = k;
                const spec = () => ({ resources: [{ type: "MailBatch", name: "w1", args: { name, ...declared } }] });
                const names = async (f: Kind = kind) => (await batches(f)).map((b: any) => b.name);
                stack.setSpec(spec());
                await stack.up();
                assert.deepStrictEqual(await names(), ["Wave 1"]);
                assert.deepStrictEqual(await names(other), [], `only in the ${kind} kind`);
                await fx.expectEmptyPreview("after create");
                await fx.expectEmptyRefresh("after create");

                name = "Wave One";
                stack.setSpec(spec());
                await fx.expectOnly("replace", "w1", "rename");
                await stack.up();
                assert.deepStrictEqual(await names(), ["Wave One"]);
                await fx.expectEmptyPreview("after rename");

                await fx.client.deleteBatch(kind, "Wave One");
                await stack.refresh();
                assert.ok(!(await stack.resources()).has("w1"));
                await stack.up();
                assert.deepStrictEqual(await names(), ["Wave One"]);
                await fx.expectEmptyPreview("after re-create");

                // kind: another API kind, so a replacement.
                declared = { kind: other };
                stack.setSpec(spec());
                await fx.expectOnly("replace", "w1", "change kind");
                await stack.up();
                assert.deepStrictEqual([await names(kind), await names(other)], [[], ["Wave One"]]);
                await fx.expectEmptyPreview("after kind change");

                await stack.destroy();
                assert.strictEqual((await batches("mail")).length + (await batches("archive")).length, 0);
                fx.expectSecretInNoOutput(); // in what this lifecycle printed
            });
        }
    });
});
