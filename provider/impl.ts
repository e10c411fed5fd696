/**
 * The provider implementation that the serialized shim (shim.ts) loads in the
 * dynamic provider process. `install` puts the methods of one resource type on
 * the shim object, bound to a context made from the stack configuration.
 */
import type * as pulumi from "@pulumi/pulumi";
import { CloudiwayClient, clientFor } from "./client";
import { ConfigLookup, resolveSettings } from "./config";
import { Context, PartialFailure } from "./runtime/context";
import { ReadCache } from "./runtime/readCache";
import { ResourceImpl, STACK_KEY, stackOf } from "./runtime/model";
import { mailUserImpl } from "./resources/mailUser";
import { mailBatchImpl } from "./resources/mailBatch";
import { batchMembershipImpl } from "./resources/batchMembership";
import { batchGlobalSettingsImpl } from "./resources/batchGlobalSettings";
import { migrationRunImpl } from "./resources/migrationRun";
import { Journal, journalDir, scopedKey } from "./runtime/journal";
import { kindOf } from "./client/calls";
import { isResourceType, models, ResourceType } from "./models";
import { RunJournal, runJournalFor } from "./runtime/runJournal";
import { CloudiwayApiError, CloudiwayError } from "./client/errors";
import { exitWithEngine } from "./runtime/watchdog";
import { SharedReads } from "./runtime/sharedReads";
import { processHeap } from "./runtime/heap";

export type { ResourceType } from "./models";

/** Each type's typed implementation (tests call them directly, typed). */
export const implementations = {
    MailUser: mailUserImpl,
    MailBatch: mailBatchImpl,
    BatchMembership: batchMembershipImpl,
    BatchGlobalSettings: batchGlobalSettingsImpl,
    MigrationRun: migrationRunImpl,
} satisfies Record<ResourceType, ResourceImpl<object, object>>;

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
        const runJournals = new Map<string, RunJournal>();
        ctx = {
            settings,
            cache,
            journal: new Journal(journalDir(settings)),
            runs(stack) {
                // Records of sends, per stack, in the stack's own store (file or Azure blob backend) and on this machine.
                // (Keyed by where it lives too: a provider process's environment does not change, a test's does.)
                const e = process.env;
                const key = [stack, e.CLOUDIWAY_JOURNAL_DIR, e.PULUMI_HOME, e.PULUMI_BACKEND_URL].join("\n");
                let j = runJournals.get(key);
                if (!j) runJournals.set(key, (j = runJournalFor(settings.apiUrl, settings.consumerKey ?? "", stack)));
                return j;
            },
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

/** A provider method that first counts its call toward the heap bound of a large stack's provider (heap.ts). */
function counted<A extends unknown[], R>(method: (...args: A) => R): (...args: A) => R {
    return (...args: A) => {
        processHeap.count();
        return method(...args);
    };
}

/** The engine's property bags are objects; anything else is taken as empty. */
function record(v: unknown): object {
    return typeof v === "object" && v !== null ? v : {};
}

/**
 * A PartialFailure (a run whose gate failed after its send) as the dynamic provider hands it to the
 * engine: an error with the id and the outputs (ErrorResourceInitFailed), so the state keeps the
 * resource. The outputs carry `__provider` as every output of a dynamic resource must.
 */
function partial(props: unknown): (e: unknown) => never {
    return (e: unknown) => {
        if (e instanceof PartialFailure) {
            const stack = stackOf(props);
            throw Object.assign(new Error(e.message), {
                id: e.id, reasons: [e.message],
                properties: { ...e.outs, ...(stack ? { [STACK_KEY]: stack } : {}), __provider: (record(props) as { __provider?: unknown }).__provider },
            });
        }
        throw e;
    };
}

/** Outputs keep the hidden `__stack` input (journals are keyed by it, also at read and delete). */
function withStack<R extends { outs?: unknown }>(inputs: unknown, r: R): R {
    const stack = stackOf(inputs);
    return stack && typeof r.outs === "object" && r.outs !== null ? { ...r, outs: { ...r.outs, [STACK_KEY]: stack } } : r;
}

/**
 * Puts the methods of `type` on the shim (shim.ts) the engine calls: the untyped edge of the provider.
 * Pulumi's ResourceProvider methods take `any`; here they become `unknown` and go to the typed
 * implementation. Around them: the create journal (journal.ts), partial failures, and the engine watchdog.
 */
export function install(target: pulumi.dynamic.ResourceProvider, type: string, req: pulumi.dynamic.ConfigureRequest): void {
    if (!isResourceType(type)) throw new Error(`pulumi-cloudiway: unknown resource type ${type}`);
    // What the engine hands a method is what this type's own check/create/read answered.
    const impl: ResourceImpl<object, object> = implementations[type];
    const raw = req?.config;
    const lookup: ConfigLookup = (key) => {
        const v = raw?.get(key);
        return v === undefined || v === null ? undefined : String(v);
    };
    // In the dynamic provider process (@pulumi/pulumi/cmd/dynamic-provider), which must not outlive its engine.
    if (inProviderProcess()) exitWithEngine();
    const ctx = contextFor(lookup);
    const journal = ctx.journal!;
    // Creates are journaled here when the model says so (MailUser, MailBatch); a MigrationRun journals its own sends (runJournal.ts).
    const model = models[type];
    const createJournaled = model.journal?.journals === "create";
    /** The engine holds this resource: its create journal record has served. */
    const held = (props: unknown) => {
        const key = createJournaled ? scopedKey(model, props) : undefined;
        if (key !== undefined) journal.forget(type, kindOf(props), key);
    };
    /** Runs a create between the journal's intent and outcome records. */
    const journaled = async <R extends { id?: string; outs: unknown }>(props: unknown, send: () => Promise<R>): Promise<R> => {
        const key = createJournaled ? scopedKey(model, props) : undefined;
        if (key === undefined) return send();
        const kind = kindOf(props);
        await journal.begin(type, kind, key); // the intent is on disk before anything is sent
        let r: R;
        try {
            r = await send();
        } catch (e) {
            const refused = e instanceof CloudiwayApiError || !(e instanceof CloudiwayError);
            await journal.end(type, kind, key, refused ? { refused: true } : { uncertain: true });
            throw e;
        }
        await journal.end(type, kind, key, { id: r.id ?? "created" });
        return r;
    };
    target.check = counted((olds: unknown, news: unknown) => impl.check(ctx, olds === undefined || olds === null ? undefined : record(olds), news));
    target.diff = counted((id: string, olds: unknown, news: unknown) => { held(olds); return impl.diff(ctx, id, record(olds), record(news)); });
    target.create = counted((inputs: unknown) => journaled(inputs, () => impl.create(ctx, record(inputs))).then((r) => withStack(inputs, r), partial(inputs)));
    target.read = counted((id: string, props: unknown) => { held(props); return impl.read(ctx, id, record(props)); });
    target.update = counted((id: string, olds: unknown, news: unknown) => impl.update(ctx, id, record(olds), record(news)).then((r) => withStack(news, r), partial(news)));
    target.delete = counted(async (id: string, props: unknown) => { await impl.delete(ctx, id, record(props)); held(props); });
}
