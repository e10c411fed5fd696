import * as cw from "pulumi-cloudiway";

// These objects already exist in the tenant (made in Cloudiway's portal or by a script).
// `pulumi import` does not work for dynamic resources; `adopt: true` takes them over by natural
// key (a user by source + target email, a batch by name). Without it, `up` fails and names the
// existing object. For a whole tenant: `npm run export-plan -- --out plan.yaml`.
const wave = new cw.MailBatch("legacy-wave", { name: "Legacy Wave", adopt: true });
const people = [
    { first: "Rosa", last: "Parks", id: "rosa" },
    { first: "Nils", last: "Bohr", id: "nils" },
];
for (const p of people) {
    const user = new cw.MailUser(p.id, {
        firstName: p.first, lastName: p.last,
        sourceEmail: `${p.id}@legacy.example`, targetEmail: `${p.id}@new.example`,
        sourceConnectorName: "Exchange", targetConnectorName: "Office 365",
        adopt: true,
    });
    new cw.BatchMembership(`${p.id}-legacy`, { migrationTag: user.migrationTag, batchName: wave.name });
}
export const batch = wave.name;
