/**
 * The provider implementation that the serialized shim (shim.ts) loads in the
 * dynamic provider process. `install` puts the methods of one resource type on
 * the shim object, bound to a context made from the stack configuration.
 */
import type * as pulumi from "@pulumi/pulumi";
import { CloudiwayClient, clientFor } from "../client";
import { ConfigLookup, resolveSettings } from "../config";
import { Context, ReadCache, ResourceImpl } from "./common";
import { mailUserImpl } from "./mailUser";
import { mailBatchImpl } from "./mailBatch";
import { batchMembershipImpl } from "./batchMembership";
import { batchGlobalSettingsImpl } from "./batchGlobalSettings";
import { migrationRunImpl } from "./migrationRun";
import { CreateJournal, journalDir, naturalKey } from "./journal";
import { CloudiwayApiError, CloudiwayError } from "../client/errors";
import { exitWithEngine } from "./watchdog";
import { SharedReads } from "./sharedReads";

export const implementations: Record<string, ResourceImpl> = {
    MailUser: mailUserImpl,
    MailBatch: mailBatchImpl,
    BatchMembership: batchMembershipImpl,
    BatchGlobalSettings: batchGlobalSettingsImpl,
    MigrationRun: migrationRunImpl,
};

/** Whether this is the dynamic provider process (@pulumi/pulumi/cmd/dynamic-provider), not a program or a test. */
function inProviderProcess(): boolean {
    return /dynamic-provider/.test(process.argv[1] ?? "");
}

/** One context per provider process and configuration: one connection pool, one cache. */
const contexts = new Map<string, Context>();

export function contextFor(lookup: ConfigLookup): Context {
    const settings = resolveSettings(lookup);
    const key = JSON.stringify(settings);
    let ctx = contexts.get(key);
    if (!ctx) {
        // The provider process of a `pulumi` command shares list answers with the command's other one (sharedReads.ts).
        const cache = new ReadCache(undefined, inProviderProcess() ? SharedReads.forCommand(settings.apiUrl, settings.consumerKey ?? "", 10 * 60 * 1000) : undefined);
        let client: CloudiwayClient | undefined;
        ctx = {
            settings,
            cache,
            journal: new CreateJournal(journalDir(settings)),
            client() {
                // The transport fires onWrite before and after every call that may change something: a read after a write sees it.
                client ??= clientFor(settings, { onWrite: () => cache.clear() });
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
    // In the dynamic provider process (@pulumi/pulumi/cmd/dynamic-provider), which must not outlive its engine.
    if (inProviderProcess()) exitWithEngine();
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
    /** Runs a create (or an action's update) between the journal's intent and outcome records. */
    const journaled = async <R extends { id?: string; outs?: any }>(props: any, send: () => Promise<R>): Promise<R> => {
        const key = naturalKey(type, props);
        if (key === undefined) return send();
        const kind = kindOf(props);
        journal.begin(type, kind, key);
        try {
            const r = await send();
            // An action's answer is kept, so that a run killed before the engine saved it is not performed again.
            journal.end(type, kind, key, { id: r.id ?? "performed", ...(type === "MigrationRun" ? { outs: r.outs } : {}) });
            return r;
        } catch (e) {
            const refused = e instanceof CloudiwayApiError || !(e instanceof CloudiwayError);
            journal.end(type, kind, key, refused ? { refused: true } : { uncertain: true });
            throw e;
        }
    };
    target.create = (inputs: any) => journaled(inputs, () => impl.create(ctx, inputs));
    target.read = (id: string, props: any) => { held(props); return impl.read(ctx, id, props); };
    target.update = (id: string, olds: any, news: any) =>
        // An update that performs an action again (a MigrationRun's new trigger) is journaled like a create.
        naturalKey(type, news) !== naturalKey(type, olds) && type === "MigrationRun"
            ? journaled(news, () => impl.update(ctx, id, olds, news))
            : impl.update(ctx, id, olds, news);
    target.delete = async (id: string, props: any) => { await impl.delete(ctx, id, props); held(props); };
}
