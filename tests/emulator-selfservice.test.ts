/**
 * Self-service migration in the emulator (an emulator-only flow: the vendor's
 * REST document has no call for it): "Self Service" connectors, the email to the
 * source / target / both addresses (the outbox), MAIL_SENT, the form behind the
 * link (wrong credentials start nothing, right ones start the migration), the
 * admin's form, refusals, reset and persistence. Both kinds.
 */
import * as assert from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { startEmulator } from "../emulator";
import { sourceMailboxPassword, NO_REPLY } from "../emulator/selfservice";
import { CloudiwayClient } from "../provider/client";
import { control, emuOutbox as outbox } from "./helpers/emu";
import { providerFixture } from "./helpers/provider";

const KEY = "ss-key";
const SECRET = "ss-Secret-77x";

describe("emulator self-service (emulator only)", function () {
    const fx = providerFixture({ key: KEY, secret: SECRET });

    const person = (n: string, connector = "Zimbra Self Service") => ({
        firstName: n, lastName: "Test", sourceEmail: `${n.toLowerCase()}@source.example`, targetEmail: `${n.toLowerCase()}@target.example`,
        sourceConnectorName: connector, targetConnectorName: "Office 365",
    });
    const state = async () => fx.control.state();
    const statusOf = async (kind: "mail" | "archive", tag: string) => fx.client.getStatus(kind, tag);
    const submit = (link: string, username: string, password: string) =>
        fetch(link, { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, body: new URLSearchParams({ username, password }).toString() });

    for (const kind of ["mail", "archive"] as const) {
        describe(kind, () => {
            it("lists Self Service source connectors (Zimbra, IMAP, Office 365)", async () => {
                const self = (await fx.client.getSourceConnectors(kind)).filter((c) => c.type === "Self Service").map((c) => c.name);
                assert.deepStrictEqual(self, ["Zimbra Self Service", "IMAP Self Service", "Office 365 Self Service"]);
            });

            it("email to source, target and both: the outbox holds exactly those recipients; status MAIL_SENT", async () => {
                const tags: Record<string, string> = {};
                for (const [n, to] of [["Src", "source"], ["Tgt", "target"], ["Both", "both"]] as const) {
                    tags[n] = (await fx.client.createUser(kind, person(n, n === "Tgt" ? "IMAP Self Service" : "Zimbra Self Service"))).migrationTag;
                    const said = await fx.client.sendSelfServiceMail(kind, tags[n], to);
                    assert.match(said, /^Self service email sent to /);
                    assert.strictEqual(await statusOf(kind, tags[n]), "MAIL_SENT");
                }
                const mails = await outbox(fx.emu.baseUrl);
                assert.deepStrictEqual(mails.map((m) => [m.to, m.recipient, m.tag]), [
                    ["src@source.example", "source", tags.Src],
                    ["tgt@target.example", "target", tags.Tgt],
                    ["both@source.example", "source", tags.Both],
                    ["both@target.example", "target", tags.Both],
                ]);
                for (const m of mails) {
                    assert.strictEqual(m.from, NO_REPLY);
                    assert.strictEqual(m.kind, kind);
                    assert.match(m.link, new RegExp(`^${fx.emu.baseUrl}/selfservice/[0-9a-f]{32}$`));
                    assert.match(m.subject, /migration/i);
                    assert.ok(!Number.isNaN(Date.parse(m.time)));
                }
                assert.strictEqual(mails[2].link, mails[3].link, "one link per user");
                assert.notStrictEqual(mails[0].link, mails[1].link);
                // Sent again: one more mail, the same link.
                await fx.client.sendSelfServiceMail(kind, tags.Src, "source");
                const again = await outbox(fx.emu.baseUrl);
                assert.strictEqual(again.length, 5);
                assert.strictEqual(again[4].link, mails[0].link);
                // The other kind's outbox entries are not these users'.
                const other = kind === "mail" ? "archive" : "mail";
                assert.strictEqual((await state())[other].users.length, 0);
            });

            it("refuses a user whose source connector is not Self Service, and a bad sendTo; nothing is sent", async () => {
                const tag = (await fx.client.createUser(kind, person("Gina", "Gmail"))).migrationTag;
                await assert.rejects(fx.client.sendSelfServiceMail(kind, tag, "both"),
                    /source connector 'Gmail' \(type Gmail\): self-service needs a source connector whose authentication type is "Self Service"/);
                const ss = (await fx.client.createUser(kind, person("Sam"))).migrationTag;
                const raw = await fetch(`${fx.emu.url}/${kind === "mail" ? "mailusers" : "archivemailusers"}/sendselfservicemail`, {
                    method: "POST", headers: { "content-type": "application/json" },
                    body: JSON.stringify({ auth: { consumerKey: KEY, consumerSecret: SECRET, migrationTag: ss }, sendTo: "everyone" }),
                });
                const body = (await raw.json()) as any;
                assert.strictEqual(body.hasError, true);
                assert.match(body.response, /Invalid sendTo 'everyone'/);
                const wrongAuth = await fetch(`${fx.emu.url}/mailusers/sendselfservicemail`, {
                    method: "POST", headers: { "content-type": "application/json" },
                    body: JSON.stringify({ auth: { consumerKey: KEY, consumerSecret: "wrong", migrationTag: ss }, sendTo: "source" }),
                });
                assert.match(((await wrongAuth.json()) as any).response, /Authentication failed/);
                assert.deepStrictEqual(await outbox(fx.emu.baseUrl), []);
                assert.strictEqual(await statusOf(kind, tag), "NOTSTARTED");
                assert.strictEqual(await statusOf(kind, ss), "NOTSTARTED");
                // The admin's form is refused for that user too.
                const admin = await fetch(`${fx.emu.baseUrl}/selfservice/admin/${kind}/${tag}`);
                assert.strictEqual(admin.status, 404);
                assert.match(await admin.text(), /authentication type is &quot;Self Service&quot;/);
            });

            it("the link's form: wrong credentials start nothing; right ones start the migration (to SUCCESS)", async () => {
                const u = person("Ada");
                const tag = (await fx.client.createUser(kind, u)).migrationTag;
                await fx.client.sendSelfServiceMail(kind, tag, "target");
                const [mail] = await outbox(fx.emu.baseUrl);
                const form = await fetch(mail.link);
                assert.strictEqual(form.status, 200);
                assert.match(form.headers.get("content-type") ?? "", /text\/html/);
                const html = await form.text();
                assert.match(html, /<form method="post"/);
                assert.match(html, /name="username"/);
                assert.match(html, /type="password"/);
                assert.match(html, /ada@source\.example/);

                for (const [user, pw] of [[u.sourceEmail, "wrong"], ["someone@else.example", sourceMailboxPassword(u.sourceEmail)], [u.sourceEmail, ""]]) {
                    const r = await submit(mail.link, user, pw);
                    assert.strictEqual(r.status, 401);
                    assert.match(await r.text(), /id="error"[^>]*>The username or password of the source mailbox is incorrect/);
                }
                assert.strictEqual(await statusOf(kind, tag), "MAIL_SENT", "nothing started");
                assert.deepStrictEqual(await fx.client.getMailHistory(kind, tag), []);

                const ok = await submit(mail.link, " ADA@Source.Example ", sourceMailboxPassword(u.sourceEmail));
                assert.strictEqual(ok.status, 200);
                const done = await ok.text();
                assert.match(done, /id="confirmation"/);
                assert.match(done, /has started/);
                assert.strictEqual(await statusOf(kind, tag), "SUCCESS");
                const st = (await state())[kind].users[0];
                assert.deepStrictEqual(st.statusHistory, ["NOTSTARTED", "MAIL_SENT", "SCHEDULED", "WORKING", "SUCCESS"]);
                assert.strictEqual((await fx.client.getMailHistory(kind, tag)).length, 1, "one migration pass");
                assert.ok(!done.includes(sourceMailboxPassword(u.sourceEmail)), "the password is not echoed");
                assert.ok(!JSON.stringify(await state()).includes(sourceMailboxPassword(u.sourceEmail)), "nor kept");
            });

            it("the admin's View Self Service Form starts the migration without any mail", async () => {
                const u = person("Bob", "Office 365 Self Service");
                const tag = (await fx.client.createUser(kind, u)).migrationTag;
                const link = `${fx.emu.baseUrl}/selfservice/admin/${kind}/${tag}`;
                const form = await (await fetch(link)).text();
                assert.match(form, /Self Service Form \(admin\)/);
                assert.strictEqual((await submit(link, u.sourceEmail, "nope")).status, 401);
                assert.strictEqual(await statusOf(kind, tag), "NOTSTARTED");
                assert.strictEqual((await submit(link, u.sourceEmail, sourceMailboxPassword(u.sourceEmail))).status, 200);
                assert.strictEqual(await statusOf(kind, tag), "SUCCESS");
                assert.deepStrictEqual(await outbox(fx.emu.baseUrl), []);
            });
        });
    }

    it("an unknown link, or the link of a removed user, is refused", async () => {
        assert.strictEqual((await fetch(`${fx.emu.baseUrl}/selfservice/0123456789abcdef0123456789abcdef`)).status, 404);
        const tag = (await fx.client.createUser("mail", person("Gone"))).migrationTag;
        await fx.client.sendSelfServiceMail("mail", tag, "source");
        const [mail] = await outbox(fx.emu.baseUrl);
        await fx.client.deleteUser("mail", tag);
        const r = await submit(mail.link, "gone@source.example", sourceMailboxPassword("gone@source.example"));
        assert.strictEqual(r.status, 404);
        assert.match(await r.text(), /not valid/);
    });

    it("steps under a clock: the right submission schedules, then the passes follow", async () => {
        const slow = await startEmulator({ port: 0, consumerKey: KEY, consumerSecret: SECRET, transitionMs: 60_000, quiet: true });
        const c = new CloudiwayClient({ apiUrl: slow.url, consumerKey: KEY, consumerSecret: SECRET });
        try {
            const tag = (await c.createUser("mail", person("Eve"))).migrationTag;
            await c.sendSelfServiceMail("mail", tag, "source");
            const [mail] = await outbox(slow.baseUrl);
            await submit(mail.link, "eve@source.example", sourceMailboxPassword("eve@source.example"));
            assert.strictEqual(await c.getStatus("mail", tag), "SCHEDULED");
            // A second submission while it runs is refused, and so is another mail.
            const twice = await submit(mail.link, "eve@source.example", sourceMailboxPassword("eve@source.example"));
            assert.strictEqual(twice.status, 409);
            assert.match(await twice.text(), /already running \(SCHEDULED\)/);
            await assert.rejects(c.sendSelfServiceMail("mail", tag, "source"), /already running/);
            for (const s of ["WORKING", "SUCCESS"]) {
                await control(slow).tick();
                assert.strictEqual(await c.getStatus("mail", tag), s);
            }
        } finally {
            await c.close();
            await slow.close();
        }
    });

    it("reset empties the outbox; the outbox and links survive a restart on the data file", async () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "cw-ss-"));
        try {
            const file = path.join(dir, "data.json");
            let e = await startEmulator({ port: 0, consumerKey: KEY, consumerSecret: SECRET, dataFile: file, quiet: true });
            let c = new CloudiwayClient({ apiUrl: e.url, consumerKey: KEY, consumerSecret: SECRET });
            const tag = (await c.createUser("archive", person("Pat"))).migrationTag;
            await c.sendSelfServiceMail("archive", tag, "both");
            const before = await outbox(e.baseUrl);
            await c.close();
            await e.close();
            e = await startEmulator({ port: 0, consumerKey: KEY, consumerSecret: SECRET, dataFile: file, quiet: true });
            c = new CloudiwayClient({ apiUrl: e.url, consumerKey: KEY, consumerSecret: SECRET });
            const after = await outbox(e.baseUrl);
            assert.deepStrictEqual(after.map((m) => [m.to, m.tag, new URL(m.link).pathname]), before.map((m) => [m.to, m.tag, new URL(m.link).pathname]));
            const link = after[0].link;
            assert.strictEqual((await submit(link, "pat@source.example", sourceMailboxPassword("pat@source.example"))).status, 200);
            assert.strictEqual(await c.getStatus("archive", tag), "SUCCESS");
            await control(e).reset();
            assert.deepStrictEqual(await outbox(e.baseUrl), []);
            assert.strictEqual((await fetch(link)).status, 404, "links go with the reset");
            await c.close();
            await e.close();
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });
});
