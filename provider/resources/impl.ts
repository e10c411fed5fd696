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
import { CreateJournal, journalDir, naturalKey } from "./journal";
import { CloudiwayApiError, CloudiwayError } from "../client/errors";

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
    const key = JSON.stringify(settings);
    let ctx = contexts.get(key);
    if (!ctx) {
        const cache = new ReadCache();
        let client: CloudiwayClient | undefined;
        ctx = {
            settings,
            cache,
            journal: new CreateJournal(journalDir(settings)),
            client() {
                if (!client) {
                    requireCredentials(settings);
                    const raw = new CloudiwayClient({
                        apiUrl: settings.apiUrl,
                        consumerKey: settings.consumerKey,
                        consumerSecret: settings.consumerSecret,
                        timeoutMs: settings.requestTimeoutMs,
                        connections: settings.connections,
                        retry: { maxAttempts: settings.maxAttempts },
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
    const journal = ctx.journal!;
    const kindOf = (p: any) => (p?.kind === "archive" ? "archive" : "mail");
    /** The engine holds this resource: its create journal record has served. */
    const held = (props: any) => {
        const key = naturalKey(type, props);
        if (key !== undefined) journal.forget(type, kindOf(props), key);
    };
    target.check = (olds: any, news: any) => impl.check(ctx, olds, news);
    target.diff = (id: string, olds: any, news: any) => { held(olds); return impl.diff(ctx, id, olds, news); };
    target.create = async (inputs: any) => {
        const key = naturalKey(type, inputs);
        if (key === undefined) return impl.create(ctx, inputs);
        const kind = kindOf(inputs);
        journal.begin(type, kind, key);
        try {
            const r = await impl.create(ctx, inputs);
            journal.end(type, kind, key, { id: r.id });
            return r;
        } catch (e) {
            const refused = e instanceof CloudiwayApiError || !(e instanceof CloudiwayError);
            journal.end(type, kind, key, refused ? { refused: true } : { uncertain: true });
            throw e;
        }
    };
    target.read = (id: string, props: any) => { held(props); return impl.read(ctx, id, props); };
    target.update = (id: string, olds: any, news: any) => impl.update(ctx, id, olds, news);
    target.delete = async (id: string, props: any) => { await impl.delete(ctx, id, props); held(props); };
}
