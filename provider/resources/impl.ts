/**
 * The provider implementation that the serialized shim (shim.ts) loads in the
 * dynamic provider process. `install` puts the methods of one resource type on
 * the shim object, bound to a context made from the stack configuration.
 */
import type * as pulumi from "@pulumi/pulumi";
import { CloudiwayClient } from "../client";
import { ConfigLookup, requireCredentials, resolveSettings } from "../config";
import { Context, ReadCache, ResourceImpl } from "./common";
import { mailUserImpl } from "./mailUser";
import { mailBatchImpl } from "./mailBatch";
import { batchMembershipImpl } from "./batchMembership";
import { batchGlobalSettingsImpl } from "./batchGlobalSettings";
import { migrationRunImpl } from "./migrationRun";

export const implementations: Record<string, ResourceImpl> = {
    MailUser: mailUserImpl,
    MailBatch: mailBatchImpl,
    BatchMembership: batchMembershipImpl,
    BatchGlobalSettings: batchGlobalSettingsImpl,
    MigrationRun: migrationRunImpl,
};

/** Client calls that only read; every other call clears the shared read cache. */
const READS = /^(get|list)/;

/** One context per provider process and configuration: one connection pool, one cache. */
const contexts = new Map<string, Context>();

export function contextFor(lookup: ConfigLookup): Context {
    const settings = resolveSettings(lookup);
    const key = JSON.stringify([settings.apiUrl, settings.consumerKey, settings.consumerSecret, settings.adoptExisting]);
    let ctx = contexts.get(key);
    if (!ctx) {
        const cache = new ReadCache();
        let client: CloudiwayClient | undefined;
        ctx = {
            settings,
            cache,
            client() {
                if (!client) {
                    requireCredentials(settings);
                    const raw = new CloudiwayClient({
                        apiUrl: settings.apiUrl,
                        consumerKey: settings.consumerKey,
                        consumerSecret: settings.consumerSecret,
                    });
                    client = new Proxy(raw, {
                        get(target, prop, receiver) {
                            const v = Reflect.get(target, prop, receiver);
                            if (typeof v !== "function" || typeof prop !== "string" || READS.test(prop)) return v;
                            return async (...args: unknown[]) => {
                                cache.clear();
                                try {
                                    return await v.apply(target, args);
                                } finally {
                                    cache.clear();
                                }
                            };
                        },
                    });
                }
                return client;
            },
        };
        contexts.set(key, ctx);
    }
    return ctx;
}

export function install(target: any, type: string, req: pulumi.dynamic.ConfigureRequest): void {
    const impl = implementations[type];
    if (!impl) throw new Error(`pulumi-cloudiway: unknown resource type ${type}`);
    const raw = req?.config;
    const lookup: ConfigLookup = (key) => {
        const v = raw?.get(key);
        return v === undefined || v === null ? undefined : String(v);
    };
    const ctx = contextFor(lookup);
    target.check = (olds: any, news: any) => impl.check(ctx, olds, news);
    target.diff = (id: string, olds: any, news: any) => impl.diff(ctx, id, olds, news);
    target.create = (inputs: any) => impl.create(ctx, inputs);
    target.read = (id: string, props: any) => impl.read(ctx, id, props);
    target.update = (id: string, olds: any, news: any) => impl.update(ctx, id, olds, news);
    target.delete = (id: string, props: any) => impl.delete(ctx, id, props);
}
