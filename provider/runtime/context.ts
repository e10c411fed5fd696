/**
 * What every provider method receives (Context), and the one error a method throws after it did
 * something (PartialFailure), and the read-only context of drift and the policy pack (readContext).
 */
import { CloudiwaySettings } from "../config";
import { CloudiwayClient, clientFor } from "../client";
import type { Journal } from "./journal";
import type { RunJournal } from "./runJournal";
import { ReadCache } from "./readCache";

/** What every provider method receives: settings and a client, made at call time. */
export interface Context {
    settings: CloudiwaySettings;
    client(): CloudiwayClient;
    /** Shared answers of list calls within one operation (see ReadCache). */
    cache: ReadCache;
    /** Intents of creates, to recognize the orphan of an interrupted one (see journal.ts). */
    journal?: Journal;
    /** The journal of MigrationRun sends of a stack, so that no runner sends one twice (see runJournal.ts). */
    runs?: (stack: string | undefined) => RunJournal;
}

/**
 * A create or update that did something and then failed (a MigrationRun whose gate failed after its
 * send): install() hands the engine the id and outputs with the error (the dynamic provider's
 * ErrorResourceInitFailed), so the state keeps the resource, even in fast mode.
 */
export class PartialFailure extends Error {
    constructor(message: string, readonly id: string, readonly outs: object) {
        super(message);
        this.name = "PartialFailure";
    }
}

/** A context for reads only (drift, the policy pack's fresh facts): the provider's client and one list cache, no journal. */
export function readContext(settings: CloudiwaySettings): Context {
    let client: CloudiwayClient | undefined;
    const cache = new ReadCache();
    return { settings, cache, client: () => (client ??= clientFor(settings, { onWrite: () => cache.clear() })) };
}
