import * as pulumi from "@pulumi/pulumi";
import { MigrationPlan } from "pulumi-cloudiway";

// waves.csv is Cloudiway's own upload format: FirstName, LastName, SourceEmail, TargetEmail,
// SourceRecipientType, TargetRecipientType, BatchName. Each BatchName becomes a MailBatch;
// moving a row to another wave is one BatchMembership update.
const config = new pulumi.Config();
const plan = new MigrationPlan("waves", {
    plan: `${__dirname}/${config.get("csv") ?? "waves.csv"}`,
    defaults: { sourceConnectorName: config.get("sourceConnector") ?? "Zimbra", targetConnectorName: config.get("targetConnector") ?? "Office 365" },
});
export const summary = plan.summary;
