/**
 * The models of this package's resources (defineModel), by type: the one list of its resource types.
 * What is specific to a type (its inputs, which replace, its journal) is read from its model here by
 * the provider entry (impl.ts) and by the readers of a preview (the policy pack).
 */
import { mailUserModel } from "./resources/mailUser";
import { mailBatchModel } from "./resources/mailBatch";
import { batchMembershipModel } from "./resources/batchMembership";
import { batchGlobalSettingsModel } from "./resources/batchGlobalSettings";
import { migrationRunModel } from "./resources/migrationRun";

export const models = {
    MailUser: mailUserModel,
    MailBatch: mailBatchModel,
    BatchMembership: batchMembershipModel,
    BatchGlobalSettings: batchGlobalSettingsModel,
    MigrationRun: migrationRunModel,
} as const;

/** The resource types of this package (the type tokens are `pulumi-nodejs:dynamic/cloudiway:<type>`). */
export type ResourceType = keyof typeof models;

/** Whether `t` names one of this package's resource types. */
export function isResourceType(t: string): t is ResourceType {
    return Object.prototype.hasOwnProperty.call(models, t);
}
