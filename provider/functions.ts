/**
 * Read-only functions for programs: typed, each with `kind?`, each a Promise
 * usable with `pulumi.output(...)`. They run in the program process with the
 * same configuration as the resources (stack config `cloudiway:*`, then the
 * environment).
 */
import * as pulumi from "@pulumi/pulumi";
import { CloudiwayClient, clientFor } from "./client";
import { resolveSettings } from "./config";
import type { Kind } from "./client/calls";

export interface KindArgs {
    kind?: Kind;
}

let shared: { key: string; client: CloudiwayClient } | undefined;
function client(): CloudiwayClient {
    const cfg = new pulumi.Config("cloudiway");
    const settings = resolveSettings((key) => cfg.get(key.slice("cloudiway:".length)));
    const key = JSON.stringify(settings);
    if (!shared || shared.key !== key) {
        shared = { key, client: clientFor(settings) };
    }
    return shared.client;
}
const k = (a?: KindArgs) => a?.kind ?? "mail";

export function getSourceConnectors(args?: KindArgs) { return client().getSourceConnectors(k(args)); }
export function getTargetConnectors(args?: KindArgs) { return client().getTargetConnectors(k(args)); }
export function getBatches(args?: KindArgs) { return client().listBatches(k(args)); }
export function getUsersInBatch(batchName: string, args?: KindArgs) { return client().getUsersInBatch(k(args), batchName); }
export function getMailUser(migrationTag: string, args?: KindArgs) { return client().getUser(k(args), migrationTag); }
export function getMigrationStatus(migrationTag: string, args?: KindArgs) { return client().getStatus(k(args), migrationTag); }
export function getMailHistory(migrationTag: string, args?: KindArgs) { return client().getMailHistory(k(args), migrationTag); }
export function getMigrationTag(sourceEmail: string, targetEmail: string, args?: KindArgs) {
    return client().getMigrationTag(k(args), sourceEmail, targetEmail);
}
export function getBatchGlobalSettings(batchName: string, args?: KindArgs) { return client().getGlobalSettings(k(args), batchName); }
