/**
 * The one way to make a client from settings (stack config, then environment: config.ts): every
 * caller — the provider, the functions, the report and export-plan tools — gets the same timeout,
 * attempts and connections.
 */
import { CloudiwaySettings, requireCredentials } from "../config";
import { CloudiwayClient } from "./calls";

export interface ClientHooks {
    /** Fired before and after every call that may change something (every POST): e.g. to clear a read cache. */
    onWrite?: () => void;
    logger?: (line: string) => void;
}

export function clientFor(settings: CloudiwaySettings, hooks: ClientHooks = {}): CloudiwayClient {
    requireCredentials(settings);
    return new CloudiwayClient({
        apiUrl: settings.apiUrl,
        consumerKey: settings.consumerKey,
        consumerSecret: settings.consumerSecret,
        timeoutMs: settings.requestTimeoutMs,
        connections: settings.connections,
        retry: { maxAttempts: settings.maxAttempts },
        onWrite: hooks.onWrite,
        logger: hooks.logger,
    });
}
