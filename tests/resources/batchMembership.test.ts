/**
 * BatchMembership: its provider methods called directly against the emulator in-process
 * (check and diff with unknowns, diff, a move in either order, read and delete of what is
 * gone), then its lifecycle under the real Pulumi engine in both API kinds
 * (tests/helpers/lifecycle.ts has the fixture).
 */
import * as assert from "assert";
import { UNKNOWN } from "../../provider/runtime/model";
import { describeEngine, KINDS, kindView, userArgs } from "../helpers/lifecycle";
import { describeProviderMethods, ada, checked, implementations } from "../helpers/provider";

describe("BatchMembership", () => {
    const member = implementations.BatchMembership;

    describeProviderMethods("member-unit-key", "Member-Unit-S3cret-9191", (fx) => {
        it("check: unknown values (preview) pass through check untouched, and count as a change in diff", async () => {
            const { ctx } = fx;
            const news = { migrationTag: UNKNOWN, batchName: "Wave 1" };
            const r = await member.check(ctx, undefined, news);
            assert.deepStrictEqual(r.failures, []);
            assert.strictEqual(r.inputs.migrationTag, UNKNOWN);
            const olds = { migrationTag: "11111111-2222-3333-4444-555555555555", batchName: "Wave 1" };
            const d = await member.diff(ctx, olds.migrationTag, olds, checked(r));
            assert.strictEqual(d.changes, true);
            assert.deepStrictEqual(d.replaces, ["migrationTag"]);
        });

        it("diff: a move to another batch is an update; another kind is a replace", async () => {
            const { ctx } = fx;
            const move = await member.diff(ctx, "t", { migrationTag: "t", batchName: "A" }, { migrationTag: "t", batchName: "B" });
            assert.deepStrictEqual([move.changes, move.replaces], [true, []]);
            assert.deepStrictEqual((await member.diff(ctx, "t", { migrationTag: "t", batchName: "A" }, { migrationTag: "t", batchName: "A", kind: "archive" })).replaces, ["kind"]);
        });

        it("a move works whichever order the engine runs the old delete and the new create", async () => {
            const { ctx, client } = fx;
            const batch = implementations.MailBatch, user = implementations.MailUser;
            await batch.create(ctx, { name: "A" });
            await batch.create(ctx, { name: "B" });
            const { id: tag } = await user.create(ctx, { ...ada });
            await member.create(ctx, { migrationTag: tag, batchName: "A" });
            // New membership first (the user is still in A), then the old one's delete.
            await member.create(ctx, { migrationTag: tag, batchName: "B" });
            await member.delete(ctx, tag, { migrationTag: tag, batchName: "A" });
            assert.deepStrictEqual(await client.getUsersInBatch("mail", "B"), [tag]);
            // And the other order: delete first, then create.
            await member.delete(ctx, tag, { migrationTag: tag, batchName: "B" });
            await member.create(ctx, { migrationTag: tag, batchName: "A" });
            assert.deepStrictEqual(await client.getUsersInBatch("mail", "A"), [tag]);
            assert.deepStrictEqual(await client.getUsersInBatch("mail", "B"), []);
        });

        it("read of a missing membership returns no id; delete of a missing membership succeeds and changes nothing", async () => {
            const ghost = "11111111-2222-3333-4444-555555555555";
            assert.strictEqual((await member.read(fx.ctx, ghost, { migrationTag: ghost, batchName: "No Such Wave" })).id, undefined);
            await fx.expectNoMutatingCall(() => member.delete(fx.ctx, ghost, { migrationTag: ghost, batchName: "No Such Wave" }));
        });
    });

    describeEngine("lifecycle", "member-engine-key", "Member-Engine-S3cret-4242-zz", (fx) => {
        for (const kind of KINDS) {
            const { other, k, users, batches, label } = kindView(fx, kind);

            it(`BatchMembership: lifecycle, drift, and a move between batches in one up${label}`, async () => {
                const stack = await fx.newStack(`membership-${kind}`);
                let batchOf = { ada: "w1", bob: "w1" } as Record<string, string>;
                const spec = () => ({
                    resources: [
                        { type: "MailBatch", name: "w1", args: { name: "Wave 1", ...k } },
                        { type: "MailBatch", name: "w2", args: { name: "Wave 2", ...k } },
                        { type: "MailUser", name: "ada", args: userArgs(k) },
                        { type: "MailUser", name: "bob", args: userArgs({ firstName: "Bob", sourceEmail: "bob@source.example", targetEmail: "bob@target.example", ...k }) },
                        { type: "BatchMembership", name: "ada-m", args: { migrationTag: { $out: "ada.migrationTag" }, batchName: { $out: `${batchOf.ada}.name` }, ...k } },
                        { type: "BatchMembership", name: "bob-m", args: { migrationTag: { $out: "bob.migrationTag" }, batchName: { $out: `${batchOf.bob}.name` }, ...k } },
                    ],
                });
                stack.setSpec(spec());
                await stack.up();
                const where = async () => {
                    const out: Record<string, string | null> = {};
                    for (const u of await users()) out[u.firstName] = u.batchName ?? null;
                    return out;
                };
                assert.deepStrictEqual(await where(), { Ada: "Wave 1", Bob: "Wave 1" });
                assert.strictEqual((await users(other)).length + (await batches(other)).length, 0, `only in the ${kind} kind`);
                await fx.expectEmptyPreview("after create");
                await fx.expectEmptyRefresh("after create");

                // Move Ada to Wave 2: one membership update.
                batchOf = { ...batchOf, ada: "w2" };
                stack.setSpec(spec());
                await fx.expectOnly("update", "ada-m", "move");
                await stack.up();
                assert.deepStrictEqual(await where(), { Ada: "Wave 2", Bob: "Wave 1" });
                await fx.expectEmptyPreview("after move");

                // Moved behind the stack's back: refresh sees it, up puts it back.
                const bobTag = (await users()).find((u) => u.firstName === "Bob")!.migrationTag;
                await fx.client.removeFromBatch(kind, bobTag);
                await fx.client.addToBatch(kind, bobTag, "Wave 2");
                const r = await stack.refresh();
                assert.strictEqual(r.counts.update, 1);
                assert.strictEqual((await stack.resources()).get("bob-m").outputs.batchName, "Wave 2");
                await fx.expectOnly("update", "bob-m", "drifted membership");
                await stack.up();
                assert.deepStrictEqual(await where(), { Ada: "Wave 2", Bob: "Wave 1" });

                // Removed behind the stack's back.
                await fx.client.removeFromBatch(kind, bobTag);
                await stack.refresh();
                assert.ok(!(await stack.resources()).has("bob-m"));
                await stack.up();
                assert.deepStrictEqual(await where(), { Ada: "Wave 2", Bob: "Wave 1" });
                await fx.expectEmptyPreview("after re-adding");

                // A move expressed as two membership resources (delete one, create another) in one up.
                const twoResources = {
                    resources: [
                        ...spec().resources.filter((x) => x.name !== "bob-m"),
                        { type: "BatchMembership", name: "bob-in-w2", args: { migrationTag: { $out: "bob.migrationTag" }, batchName: { $out: "w2.name" }, ...k } },
                    ],
                };
                stack.setSpec(twoResources);
                await stack.up();
                assert.deepStrictEqual(await where(), { Ada: "Wave 2", Bob: "Wave 2" });
                await fx.expectEmptyPreview("after move by two resources");

                await stack.destroy();
                assert.strictEqual((await users()).length, 0);
                assert.strictEqual((await batches()).length, 0);
                fx.expectSecretInNoOutput(); // in what this lifecycle printed
            });
        }
    });
});
