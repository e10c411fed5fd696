/**
 * The emulator's self-service desk (EMULATOR ONLY: the vendor's REST document has no call for
 * self-service; selfservice.ts has its rules and texts): the mail with a Self Service Link, the link,
 * the form and its submission. Part of the store (store.ts): it works on the store's state, inside its
 * writes (undo entries), through the narrow host the store gives it.
 */
import type { Kind, StoreHost, User } from "./types";
import { VendorError } from "./vendorError";
import { RUNNING } from "./statuses";
import { NO_REPLY, SELF_SERVICE_TYPE, SEND_TO, SendTo, newToken, sourceMailboxPassword } from "./selfservice";

export class SelfServiceDesk {
    constructor(private readonly host: StoreHost) {}

    /** Refuses a user whose source connector is not a "Self Service" connector. */
    private userOf(f: Kind, tag: string): User {
        const u = this.host.user(f, tag);
        const c = this.host.state().connectors.source.find((x) => x.name === u.sourceConnectorName);
        if (!c || c.type !== SELF_SERVICE_TYPE) {
            throw new VendorError(
                `User '${u.migrationTag}' has source connector '${u.sourceConnectorName}'` + (c ? ` (type ${c.type})` : "") +
                `: self-service needs a source connector whose authentication type is "${SELF_SERVICE_TYPE}"`,
            );
        }
        return u;
    }

    /** "Send Self Service Email": one mail per recipient, from the no-reply sender; status MAIL_SENT. */
    sendMail(f: Kind, tag: string, sendTo: string): string[] {
        if (!SEND_TO.includes(sendTo as SendTo)) throw new VendorError(`Invalid sendTo '${sendTo}': expected "source", "target" or "both"`);
        const u = this.userOf(f, tag);
        if (RUNNING.has(u.status)) throw new VendorError(`Migration of user '${u.migrationTag}' is already running (${u.status})`);
        const ss = this.host.state().selfService;
        let token = Object.keys(ss.links).find((t) => ss.links[t].kind === f && ss.links[t].tag === u.migrationTag);
        if (!token) {
            const t = token = newToken();
            this.host.onUndo(() => { delete ss.links[t]; });
            ss.links[token] = { kind: f, tag: u.migrationTag };
        }
        const sent = ss.outbox.length;
        this.host.onUndo(() => { ss.outbox.length = sent; });
        const recipients = (sendTo === "both" ? ["source", "target"] : [sendTo]) as ("source" | "target")[];
        const time = new Date().toISOString();
        for (const r of recipients) {
            ss.outbox.push({
                id: ss.outbox.length + 1,
                to: r === "source" ? u.sourceEmail : u.targetEmail,
                from: NO_REPLY,
                subject: `Cloudiway: start the migration of your mailbox ${u.sourceEmail}`,
                path: `/selfservice/${token}`,
                tag: u.migrationTag, kind: f, recipient: r, time,
            });
        }
        u.status = "MAIL_SENT";
        u.statusHistory.push("MAIL_SENT");
        return recipients.map((r) => (r === "source" ? u.sourceEmail : u.targetEmail));
    }

    /** The user a Self Service Link is for; refused when the link is unknown or its user gone. */
    link(token: string): { kind: Kind; user: User } {
        const link = this.host.state().selfService.links[token];
        const u = link && this.host.state()[link.kind].users[link.tag];
        if (!link || !u) throw new VendorError("This Self Service Link is not valid (unknown link, or its user was removed)");
        return { kind: link.kind, user: this.userOf(link.kind, link.tag) };
    }

    /** "View Self Service Form": the same form for the admin, for a self-service user. */
    form(f: Kind, tag: string): User { return this.userOf(f, tag); }

    /** The form's submission: the right source credentials start the migration; wrong ones change nothing. */
    submit(f: Kind, tag: string, username: string, password: string, via: "link" | "admin"): User {
        const u = this.userOf(f, tag);
        if (username.trim().toLowerCase() !== u.sourceEmail.trim().toLowerCase() || password !== sourceMailboxPassword(u.sourceEmail)) {
            throw new VendorError("The username or password of the source mailbox is incorrect. Nothing was started.");
        }
        this.host.start(f, tag);
        const submissions = this.host.state().selfService.submissions, n = submissions.length;
        this.host.onUndo(() => { submissions.length = n; });
        submissions.push({ kind: f, tag: u.migrationTag, username: username.trim(), via, time: new Date().toISOString() });
        return u;
    }
}
