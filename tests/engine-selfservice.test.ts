/**
 * Self-service migration end to end (an emulator-only flow: the vendor's REST
 * document has no call for it): a stack declares users with `selfService`, the
 * real Pulumi engine applies it, the emulator's outbox holds the mails, a headless
 * Chromium (Debian's chromium, via playwright-core) opens the link and submits the
 * source mailbox's credentials — wrong ones first — and `pulumi refresh` sees the
 * migration reach SUCCESS. Screenshots go to test-output/engine-selfservice/.
 */
import * as assert from "assert";
import type { Browser } from "playwright-core";
import { sourceMailboxPassword } from "../emulator/selfservice";
import { emuOutbox, emuResetStats, emuStats, usersOf } from "./helpers/emu";
import { EngineFixture } from "./helpers/lifecycle";
import { launchChromium, outputDir, skipBrowserTests } from "./helpers/browser";

const SUITE = "engine-selfservice";

describe("@engine self-service migration (emulator only): outbox, browser form, refresh", function () {
    this.timeout(20 * 60 * 1000);
    const SECRET = "SS-Engine-S3cret-8080";
    const fx = new EngineFixture("ss-engine-key", SECRET);
    fx.hooks();
    let browser: Browser | undefined;
    after(async () => { await browser?.close(); });

    const zoe = (over: Record<string, unknown> = {}) => ({
        firstName: "Zoe", lastName: "Self", sourceEmail: "zoe@source.example", targetEmail: "zoe@target.example",
        sourceConnectorName: "Zimbra Self Service", targetConnectorName: "Office 365", ...over,
    });

    it("the user opens the emailed link in a browser: wrong credentials start nothing, right ones do; refresh sees SUCCESS", async function () {
        if (skipBrowserTests()) {
            console.warn("BROWSER TEST SKIPPED: CLOUDIWAY_SKIP_BROWSER_TESTS=1");
            this.skip();
        }
        browser = await launchChromium();
        const shots = outputDir(SUITE, "link-form");
        const stack = await fx.newStack("selfservice");
        stack.setSpec({
            resources: [
                { type: "MailUser", name: "zoe", args: zoe({ selfService: { sendTo: "source" } }) },
                // The admin-assisted way ("View Self Service Form"), for an archive user: no mail.
                { type: "MailUser", name: "bob", args: zoe({ firstName: "Bob", sourceEmail: "bob@source.example", targetEmail: "bob@target.example", sourceConnectorName: "IMAP Self Service", kind: "archive" }) },
            ],
        });
        await stack.up();
        const mails = await emuOutbox(fx.emu.baseUrl);
        assert.deepStrictEqual(mails.map((m) => [m.to, m.from, m.kind]), [["zoe@source.example", "noreply@cloudiway.com", "mail"]]);
        let res = await stack.resources();
        assert.strictEqual(res.get("zoe").outputs.status, "MAIL_SENT");
        assert.deepStrictEqual(res.get("zoe").outputs.selfService, { sendTo: "source" });
        assert.strictEqual(res.get("bob").outputs.status, "NOTSTARTED");
        await fx.expectEmptyPreview("after up");
        await fx.expectEmptyRefresh("before the user acts");
        assert.strictEqual((await stack.resources()).get("zoe").outputs.status, "MAIL_SENT", "MAIL_SENT until the user acts");

        // The user clicks the link.
        const page = await browser.newPage({ viewport: { width: 900, height: 720 } });
        await page.goto(mails[0].link);
        assert.strictEqual(await page.inputValue("#username"), "zoe@source.example", "the username is offered");
        await page.screenshot({ path: `${shots}/1-form.png`, fullPage: true });
        await page.fill("#password", "not-my-password");
        await page.click("#start");
        await page.waitForSelector("#error");
        assert.match(await page.textContent("#error") ?? "", /username or password of the source mailbox is incorrect/);
        await page.screenshot({ path: `${shots}/2-wrong-credentials.png`, fullPage: true });
        let st = await fx.state();
        assert.strictEqual(usersOf(st, "mail")[0].status, "MAIL_SENT", "wrong credentials start nothing");
        assert.strictEqual(usersOf(st, "mail")[0].history.length, 0);

        await page.fill("#password", sourceMailboxPassword("zoe@source.example"));
        await page.click("#start");
        await page.waitForSelector("#confirmation");
        assert.match(await page.textContent("#confirmation") ?? "", /has started/);
        await page.screenshot({ path: `${shots}/3-confirmation.png`, fullPage: true });

        // The admin's form for Bob (archive kind).
        const admin = await browser.newPage({ viewport: { width: 900, height: 720 } });
        await admin.goto(`${fx.emu.baseUrl}/selfservice/admin/archive/${res.get("bob").id}`);
        assert.match(await admin.textContent("h1") ?? "", /Self Service Form \(admin\)/);
        await admin.screenshot({ path: `${shots}/4-admin-form.png`, fullPage: true });
        await admin.fill("#password", sourceMailboxPassword("bob@source.example"));
        await admin.click("#start");
        await admin.waitForSelector("#confirmation");

        st = await fx.state();
        assert.deepStrictEqual(usersOf(st, "mail")[0].statusHistory, ["NOTSTARTED", "MAIL_SENT", "SCHEDULED", "WORKING", "SUCCESS"]);
        await stack.refresh();
        res = await stack.resources();
        assert.strictEqual(res.get("zoe").outputs.status, "SUCCESS");
        assert.strictEqual(res.get("zoe").outputs.passes, 1);
        assert.strictEqual(res.get("bob").outputs.status, "SUCCESS");
        await fx.expectEmptyPreview("after the migration");
        await stack.up();
        assert.strictEqual((await emuOutbox(fx.emu.baseUrl)).length, 1, "an unchanged up sends no mail");
    });

    it("email to source, target and both: the outbox holds exactly the expected recipients; sendTo/trigger changes send again", async () => {
        const stack = await fx.newStack("selfservice-outbox");
        const sendTo: Record<string, Record<string, unknown>> = {
            src: { sendTo: "source" }, tgt: { sendTo: "target" }, both: { sendTo: "both", trigger: "1" },
        };
        const person = (n: string, extra: Record<string, unknown> = {}) =>
            zoe({ firstName: n, sourceEmail: `${n}@source.example`, targetEmail: `${n}@target.example`, selfService: sendTo[n], ...extra });
        const spec = () => ({
            resources: [
                { type: "MailUser", name: "src", args: person("src") },
                { type: "MailUser", name: "tgt", args: person("tgt", { sourceConnectorName: "Office 365 Self Service" }) },
                { type: "MailUser", name: "both", args: person("both", { kind: "archive" }) },
            ],
        });
        stack.setSpec(spec());
        await stack.up();
        const recipients = async () => (await emuOutbox(fx.emu.baseUrl)).map((m) => `${m.kind}:${m.to}`).sort();
        assert.deepStrictEqual(await recipients(),
            ["archive:both@source.example", "archive:both@target.example", "mail:src@source.example", "mail:tgt@target.example"]);
        for (const [name, r] of await stack.resources()) assert.strictEqual(r.outputs.status, "MAIL_SENT", name);
        await fx.expectEmptyPreview("after up");

        // A new trigger: that user's mail goes again, as an update.
        sendTo.both = { sendTo: "both", trigger: "2" };
        stack.setSpec(spec());
        await fx.expectOnly("update", "both", "new trigger");
        await stack.up();
        assert.deepStrictEqual(await recipients(), ["archive:both@source.example", "archive:both@source.example",
            "archive:both@target.example", "archive:both@target.example", "mail:src@source.example", "mail:tgt@target.example"]);

        // sendTo changed: to the new recipients, once.
        sendTo.src = { sendTo: "target" };
        stack.setSpec(spec());
        await fx.expectOnly("update", "src", "new sendTo");
        await emuResetStats(fx.emu.baseUrl);
        await stack.up();
        const out = await emuOutbox(fx.emu.baseUrl);
        assert.strictEqual(out.length, 7);
        assert.strictEqual(out[6].to, "src@target.example");
        assert.strictEqual((await emuStats(fx.emu.baseUrl)).byCall["POST /mailusers/sendselfservicemail"], 1);
        await fx.expectEmptyPreview("after the changes");
        assert.ok(!stack.log.join("\n").includes(SECRET), "the consumer secret in pulumi's output");
        assert.ok(!JSON.stringify(await stack.exportState()).includes(SECRET), "the consumer secret in the state");
    });

    it("selfService on a user whose source connector is not Self Service fails preview naming MailUser.selfService; nothing applied", async () => {
        const stack = await fx.newStack("selfservice-bad");
        stack.setSpec({ resources: [{ type: "MailUser", name: "gmail-user", args: zoe({ sourceConnectorName: "Gmail", selfService: { sendTo: "both" } }) }] });
        await emuResetStats(fx.emu.baseUrl);
        const r = await stack.cli(["preview"], true);
        assert.notStrictEqual(r.code, 0);
        const text = r.stdout + r.stderr;
        assert.match(text, /resource 'gmail-user'/);
        assert.match(text, /MailUser\.selfService: the source connector "Gmail" is of type "Gmail", not "Self Service"/);
        const up = await stack.cli(["up", "--yes"], true);
        assert.notStrictEqual(up.code, 0);
        assert.strictEqual((await emuStats(fx.emu.baseUrl)).mutating, 0);
        assert.deepStrictEqual(await emuOutbox(fx.emu.baseUrl), []);
        assert.strictEqual(usersOf(await fx.state(), "mail").length, 0);
    });
});
