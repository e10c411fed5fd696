/**
 * MailUser.selfService through the provider methods, as the dynamic provider
 * process calls them, against the emulator in-process: check (shape; refused for
 * a source connector that is not "Self Service"; no call when nothing it depends
 * on changed), diff (an update, never a replace), the mail sent once at create,
 * again only when sendTo or trigger changes, and read without a phantom diff.
 * The rest of MailUser: mailUser.test.ts; self-service under the engine:
 * engine-selfservice.test.ts.
 */
import * as assert from "assert";
import { UNKNOWN } from "../../provider/runtime/model";
import { describeProviderMethods, held, present, implementations } from "../helpers/provider";
import { control, emuOutbox, emuResetStats, emuStats } from "../helpers/emu";

describe("MailUser.selfService", () => describeProviderMethods("ss-unit-key", "SS-Unit-S3cret-5151", (fx) => {
    const user = implementations.MailUser;
    const zoe = {
        firstName: "Zoe", lastName: "Self", sourceEmail: "zoe@source.example", targetEmail: "zoe@target.example",
        sourceConnectorName: "Zimbra Self Service", targetConnectorName: "Office 365",
    };

    it("check: a bad shape names MailUser.selfService; an unknown sendTo passes", async () => {
        for (const [bad, re] of [
            [{ sendTo: "everyone" }, /MailUser\.selfService: sendTo must be "source", "target" or "both"/],
            [{}, /MailUser\.selfService: sendTo must be "source", "target" or "both"/],
            [{ sendTo: "both" as const, trigger: 3 }, /MailUser\.selfService: trigger must be a string/],
            [{ sendTo: "both", sendto: "x" }, /MailUser\.selfService: .*sendto/],
            ["both", /MailUser\.selfService: must be an object like/],
        ] as const) {
            const r = await user.check(fx.ctx, undefined, { ...zoe, selfService: bad });
            assert.deepStrictEqual(r.failures!.map((f) => f.property), ["selfService"], JSON.stringify(bad));
            assert.match(r.failures![0].reason, re);
        }
        const unknown = await user.check(fx.ctx, undefined, { ...zoe, selfService: { sendTo: UNKNOWN } });
        assert.deepStrictEqual(unknown.failures, []);
        const whole = await user.check(fx.ctx, undefined, { ...zoe, selfService: UNKNOWN });
        assert.deepStrictEqual(whole.failures, []);
    });

    it("check: refused for a source connector that is not Self Service, in both kinds; no call when unchanged", async () => {
        for (const kind of ["mail", "archive"]) {
            const r = await user.check(fx.ctx, undefined, { ...zoe, kind, sourceConnectorName: "Gmail", selfService: { sendTo: "source" as const } });
            assert.deepStrictEqual(r.failures!.map((f) => f.property), ["selfService"]);
            assert.match(r.failures![0].reason,
                new RegExp(`MailUser\\.selfService: the source connector "Gmail" is of type "Gmail", not "Self Service".*this ${kind} account has "Zimbra Self Service", "IMAP Self Service", "Office 365 Self Service"`));
            fx.ctx.cache.clear();
        }
        const ok = await user.check(fx.ctx, undefined, { ...zoe, selfService: { sendTo: "both" as const } });
        assert.deepStrictEqual(ok.failures, []);
        // An unchanged declaration (a preview of an unchanged stack) asks the API nothing.
        fx.ctx.cache.clear();
        await emuResetStats(fx.emu.baseUrl);
        const olds = { ...zoe, selfService: { sendTo: "both" as const } };
        const again = await user.check(fx.ctx, olds, { ...zoe, selfService: { sendTo: "source" as const, trigger: "2" } });
        assert.deepStrictEqual(again.failures, []);
        assert.strictEqual((await emuStats(fx.emu.baseUrl)).total, 0);
        // Moving the user to a connector that is not self-service is caught.
        const moved = await user.check(fx.ctx, olds, { ...zoe, sourceConnectorName: "IMAP", selfService: { sendTo: "both" as const } });
        assert.deepStrictEqual(moved.failures!.map((f) => f.property), ["selfService"]);
    });

    it("diff: selfService changes are updates, not replaces", async () => {
        const olds = { ...zoe, selfService: { sendTo: "source" as const } };
        for (const ss of [{ sendTo: "both" as const }, { sendTo: "source" as const, trigger: "1" }, undefined]) {
            const d = await user.diff(fx.ctx, "t", held({ ...olds, migrationTag: "t" }), { ...zoe, selfService: ss });
            assert.strictEqual(d.changes, true, JSON.stringify(ss));
            assert.deepStrictEqual(d.replaces, []);
        }
        const same = await user.diff(fx.ctx, "t", held({ ...olds, migrationTag: "t" }), { ...zoe, selfService: { sendTo: "source" as const } });
        assert.strictEqual(same.changes, false);
    });

    it("create sends once; an unrelated update sends nothing; sendTo or trigger sends again; read shows no diff", async () => {
        const inputs = { ...zoe, selfService: { sendTo: "source" as const } };
        const created = await user.create(fx.ctx, inputs);
        const tag = created.id;
        assert.strictEqual(created.outs.status, "MAIL_SENT");
        assert.deepStrictEqual((await emuOutbox(fx.emu.baseUrl)).map((m) => m.to), ["zoe@source.example"]);

        const renamed = { ...inputs, firstName: "Zoey" };
        let u = await user.update(fx.ctx, tag, created.outs, renamed);
        assert.strictEqual((await emuOutbox(fx.emu.baseUrl)).length, 1, "an unrelated update sends no mail");
        assert.strictEqual(u.outs!.status, "MAIL_SENT");

        const both = { ...renamed, selfService: { sendTo: "both" as const } };
        u = await user.update(fx.ctx, tag, u.outs, both);
        assert.deepStrictEqual((await emuOutbox(fx.emu.baseUrl)).map((m) => m.to), ["zoe@source.example", "zoe@source.example", "zoe@target.example"]);

        const triggered = { ...both, selfService: { sendTo: "both" as const, trigger: "reminder-1" } };
        u = await user.update(fx.ctx, tag, u.outs, triggered);
        assert.strictEqual((await emuOutbox(fx.emu.baseUrl)).length, 5);
        const same = await user.update(fx.ctx, tag, u.outs, triggered);
        assert.strictEqual((await emuOutbox(fx.emu.baseUrl)).length, 5, "re-applying the same declaration sends nothing");

        fx.ctx.cache.clear();
        const r = await user.read(fx.ctx, tag, same.outs);
        assert.strictEqual(present(r.props).status, "MAIL_SENT");
        assert.deepStrictEqual(present(r.inputs).selfService, { sendTo: "both" as const, trigger: "reminder-1" });
        const d = await user.diff(fx.ctx, tag, present(r.props), triggered);
        assert.strictEqual(d.changes, false, "no phantom diff after read");
        assert.strictEqual((await emuOutbox(fx.emu.baseUrl)).length, 5, "read sends nothing");
    });

    it("create of a user whose connector is not self-service fails with the emulator's refusal, leaving no user", async () => {
        await assert.rejects(user.create(fx.ctx, { ...zoe, sourceConnectorName: "Gmail", selfService: { sendTo: "target" as const } }),
            /self-service needs a source connector whose authentication type is "Self Service"/);
        const st = await control(fx.emu).state();
        assert.strictEqual(st.mail.users.length, 0, "the user made for it is removed again");
        assert.deepStrictEqual(await emuOutbox(fx.emu.baseUrl), []);
    });
}));
