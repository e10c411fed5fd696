import * as pulumi from "@pulumi/pulumi";
import * as cw from "pulumi-cloudiway";

// One wave, two users, what the wave migrates, and a first pass.
const wave = new cw.MailBatch("wave-1", { name: "Quickstart Wave" });

const people = [
    { first: "Ada", last: "Lovelace", user: "ada" },
    { first: "Alan", last: "Turing", user: "alan" },
];
const memberships = people.map((p) => {
    const user = new cw.MailUser(p.user, {
        firstName: p.first,
        lastName: p.last,
        sourceEmail: `${p.user}@source.example`,
        targetEmail: `${p.user}@target.example`,
        sourceConnectorName: "Gmail",
        targetConnectorName: "Office 365",
    });
    return new cw.BatchMembership(`${p.user}-in-wave-1`, { migrationTag: user.migrationTag, batchName: wave.name });
});

const settings = new cw.BatchGlobalSettings("wave-1-settings", {
    batchName: wave.name,
    shouldMigrateMails: true,
    shouldMigrateCalendars: true,
    shouldMigrateContacts: true,
    fromDate: "2020-01-01",
});

// Costs licenses in the real service: runs once, and again only when `trigger` changes.
const config = new pulumi.Config();
const run = new cw.MigrationRun("wave-1-first-pass", {
    batchName: wave.name,
    action: "migrate",
    trigger: config.get("passTrigger") ?? "first-pass",
}, { dependsOn: [...memberships, settings] });

export const batch = wave.name;
export const performedAt = run.performedAt;
export const sourceConnectors = pulumi.output(cw.getSourceConnectors()).apply((cs) => cs.map((c) => c.name));
