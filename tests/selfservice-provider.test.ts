/**
 * MailUser.selfService through the provider methods, as the dynamic provider
 * process calls them, against the emulator in-process: check (shape; refused for
 * a source connector that is not "Self Service"; no call when nothing it depends
 * on changed), diff (an update, never a replace), the mail sent once at create,
 * again only when sendTo or trigger changes, and read without a phantom diff.
 */
import * as assert from "assert";
import { startEmulator } from "../emulator";
import { contextFor, implementations } from "../provider/resources/impl";
import { UNKNOWN } from "../provider/resources/common";
import { held, present } from "./helpers/provider";
import { emuOutbox, emuResetStats, emuStats } from "./helpers/emu";

const KEY = "ss-unit-key";
const SECRET = "SS-Unit-S3cret-5151";
type Emu = Awaited<ReturnType<typeof startEmulator>>;

describe("MailUser.selfService provider methods", function () {
    this.timeout(60_000);
    let emu: Emu;
    let ctx: ReturnType<typeof contextFor>;
    const user = implementations.MailUser;
    const zoe = {
        firstName: "Zoe", lastName: "Self", sourceEmail: "zoe@source.example", targetEmail: "zoe@target.example",
        sourceConnectorName: "Zimbra Self Service", targetConnectorName: "Office 365",
    };

    before(async () => {
        emu = await startEmulator({ port: 0, consumerKey: KEY, consumerSecret: SECRET, quiet: true });
        const config: Record<string, string> = { "cloudiway:apiUrl": emu.url, "cloudiway:consumerKey": KEY, "cloudiway:consumerSecret": SECRET };
        ctx = contextFor((k) => config[k]);
    });
    beforeEach(async () => {
        await fetch(`${emu.baseUrl}/_emulator/reset`, { method: "POST" });
        ctx.cache.clear();
    });
    after(async () => { await emu?.close(); });

    it("check: a bad shape names MailUser.selfService; an unknown sendTo passes", async () => {
        for (const [bad, re] of [
            [{ sendTo: "everyone" }, /MailUser\.selfService: sendTo must be "source", "target" or "both"/],
            [{}, /MailUser\.selfService: sendTo must be "source", "target" or "both"/],
            [{ sendTo: "both", trigger: 3 }, /MailUser\.selfService: trigger must be a string/],
            [{ sendTo: "both", sendto: "x" }, /MailUser\.selfService: .*sendto/],
            ["both", /MailUser\.selfService: must be an object like/],
        ] as const) {
            const r = await user.check(ctx, undefined, { ...zoe, selfService: bad });
            assert.deepStrictEqual(r.failures!.map((f) => f.property), ["selfService"], JSON.stringify(bad));
            assert.match(r.failures![0].reason, re);
        }
        const unknown = await user.check(ctx, undefined, { ...zoe, selfService: { sendTo: UNKNOWN } });
        assert.deepStrictEqual(unknown.failures, []);
        const whole = await user.check(ctx, undefined, { ...zoe, selfService: UNKNOWN });
        assert.deepStrictEqual(whole.failures, []);
    });

    it("check: refused for a source connector that is not Self Service, in both families; no call when unchanged", async () => {
        for (const kind of ["mail", "archive"]) {
            const r = await user.check(ctx, undefined, { ...zoe, kind, sourceConnectorName: "Gmail", selfService: { sendTo: "source" } });
            assert.deepStrictEqual(r.failures!.map((f) => f.property), ["selfService"]);
            assert.match(r.failures![0].reason,
                new RegExp(`MailUser\\.selfService: the source connector "Gmail" is of type "Gmail", not "Self Service".*this ${kind} account has "Zimbra Self Service", "IMAP Self Service", "Office 365 Self Service"`));
            ctx.cache.clear();
        }
        const ok = await user.check(ctx, undefined, { ...zoe, selfService: { sendTo: "both" } });
        assert.deepStrictEqual(ok.failures, []);
        // An unchanged declaration (a preview of an unchanged stack) asks the API nothing.
        ctx.cache.clear();
        await emuResetStats(emu.baseUrl);
        const olds = { ...zoe, selfService: { sendTo: "both" } };
        const again = await user.check(ctx, olds, { ...zoe, selfService: { sendTo: "source", trigger: "2" } });
        assert.deepStrictEqual(again.failures, []);
        assert.strictEqual((await emuStats(emu.baseUrl)).total, 0);
        // Moving the user to a connector that is not self-service is caught.
        const moved = await user.check(ctx, olds, { ...zoe, sourceConnectorName: "IMAP", selfService: { sendTo: "both" } });
        assert.deepStrictEqual(moved.failures!.map((f) => f.property), ["selfService"]);
    });

    it("diff: selfService changes are updates, not replaces", async () => {
        const olds = { ...zoe, selfService: { sendTo: "source" } };
        for (const ss of [{ sendTo: "both" }, { sendTo: "source", trigger: "1" }, undefined]) {
            const d = await user.diff(ctx, "t", held({ ...olds, migrationTag: "t" }), { ...zoe, selfService: ss });
            assert.strictEqual(d.changes, true, JSON.stringify(ss));
            assert.deepStrictEqual(d.replaces, []);
        }
        const same = await user.diff(ctx, "t", held({ ...olds, migrationTag: "t" }), { ...zoe, selfService: { sendTo: "source" } });
        assert.strictEqual(same.changes, false);
    });

    it("create sends once; an unrelated update sends nothing; sendTo or trigger sends again; read shows no diff", async () => {
        const inputs = { ...zoe, selfService: { sendTo: "source" } };
        const created = await user.create(ctx, inputs);
        const tag = created.id;
        assert.strictEqual(created.outs.status, "MAIL_SENT");
        assert.deepStrictEqual((await emuOutbox(emu.baseUrl)).map((m) => m.to), ["zoe@source.example"]);

        const renamed = { ...inputs, firstName: "Zoey" };
        let u = await user.update(ctx, tag, created.outs, renamed);
        assert.strictEqual((await emuOutbox(emu.baseUrl)).length, 1, "an unrelated update sends no mail");
        assert.strictEqual(u.outs!.status, "MAIL_SENT");

        const both = { ...renamed, selfService: { sendTo: "both" } };
        u = await user.update(ctx, tag, u.outs, both);
        assert.deepStrictEqual((await emuOutbox(emu.baseUrl)).map((m) => m.to), ["zoe@source.example", "zoe@source.example", "zoe@target.example"]);

        const triggered = { ...both, selfService: { sendTo: "both", trigger: "reminder-1" } };
        u = await user.update(ctx, tag, u.outs, triggered);
        assert.strictEqual((await emuOutbox(emu.baseUrl)).length, 5);
        const same = await user.update(ctx, tag, u.outs, triggered);
        assert.strictEqual((await emuOutbox(emu.baseUrl)).length, 5, "re-applying the same declaration sends nothing");

        ctx.cache.clear();
        const r = await user.read(ctx, tag, same.outs);
        assert.strictEqual(present(r.props).status, "MAIL_SENT");
        assert.deepStrictEqual(present(r.inputs).selfService, { sendTo: "both", trigger: "reminder-1" });
        const d = await user.diff(ctx, tag, present(r.props), triggered);
        assert.strictEqual(d.changes, false, "no phantom diff after read");
        assert.strictEqual((await emuOutbox(emu.baseUrl)).length, 5, "read sends nothing");
    });

    it("create of a user whose connector is not self-service fails with the emulator's refusal, leaving no user", async () => {
        await assert.rejects(user.create(ctx, { ...zoe, sourceConnectorName: "Gmail", selfService: { sendTo: "target" } }),
            /self-service needs a source connector whose authentication type is "Self Service"/);
        const st = (await (await fetch(`${emu.baseUrl}/_emulator/state`)).json()) as any;
        assert.strictEqual(st.mail.users.length, 0, "the user made for it is removed again");
        assert.deepStrictEqual(await emuOutbox(emu.baseUrl), []);
    });
});
