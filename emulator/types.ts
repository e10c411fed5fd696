/**
 * The emulator's shared shapes: its state (users, batches, self-service, pass outcomes) and what the
 * parts of the store (lifecycle.ts, itemFailures.ts, passOutcomes.ts, the self-service desk) need of it.
 * The store (store.ts) holds the state and the vendor's rules; its parts import these shapes, never the store.
 */
import type { PassEnd } from "./statuses";

export type Kind = "mail" | "archive";

export interface Connector { name: string; type: string }

export interface Settings {
    shouldMigrateMails: boolean; shouldMigrateTrash: boolean; shouldMigrateCalendars: boolean;
    shouldMigrateContacts: boolean; shouldMigrateNotes: boolean; shouldMigrateTasks: boolean;
    shouldMigrateJournals: boolean; shouldConvertEmailAddresses: boolean; shouldConvertX500: boolean;
    /** ISO yyyy-MM-ddT00:00:00, as the API answers, or null. */
    fromDate: string | null; toDate: string | null;
}
export interface User {
    migrationTag: string;
    firstName: string; lastName: string; sourceEmail: string; targetEmail: string;
    sourceConnectorName: string; targetConnectorName: string;
    batchName: string | null;
    status: string;
    licensed: boolean;
    history: HistoryPass[];
    statusHistory: string[];
    /** Statuses still to come, one per lifecycle tick. */
    queue: string[];
    migrated: { msg: number; cal: number; con: number };
    passStart?: string;
}
export interface Batch { name: string; settings: Settings }
export interface KindState {
    users: Record<string, User>;
    batches: Record<string, Batch>;
    /** The batch whose permissions are being migrated (one at a time), and ticks left. */
    permissionRun: { batchName: string; ticksLeft: number } | null;
}
export interface State {
    mail: KindState; archive: KindState; connectors: { source: Connector[]; target: Connector[] };
    /** Emulator only (not in the vendor's REST document): see selfservice.ts. */
    selfService: SelfServiceState;
    /**
     * Emulator only (POST /_emulator/outcomes): how the next pass of a user ends, by migration tag
     * or source email (lower case). Taken when the pass starts.
     */
    outcomes: Record<Kind, Record<string, PassEnd>>;
    /** Emulator only (POST /_emulator/item-failures, itemFailures.ts): items a user's next pass fails. */
    itemFailures?: ItemFailureTables;
}

export interface HistoryPass {
    startDateTime: string; endDateTime: string;
    msgTotal: number; msgRead: number; msgSuccess: number; msgIgnored: number; msgFailure: number;
    calTotal: number; calRead: number; calSuccess: number; calIgnored: number; calFailure: number;
    conTotal: number; conRead: number; conSuccess: number; conIgnored: number; conFailure: number;
    msgAlreadyMigrated: number;
}


export interface OutboxMail {
    id: number;
    to: string;
    from: string;
    subject: string;
    /** Path of the link under the emulator's base URL (the outbox view makes it absolute). */
    path: string;
    tag: string;
    kind: Kind;
    /** Which address of the user this mail went to. */
    recipient: "source" | "target";
    time: string;
}

export interface SelfServiceState {
    outbox: OutboxMail[];
    /** token -> user; one link per user, the same in every mail it gets. */
    links: Record<string, { kind: Kind; tag: string }>;
    /** Accepted submissions (never the password). */
    submissions: { kind: Kind; tag: string; username: string; via: "link" | "admin"; time: string }[];
}

/** One kind of item: the failures, or { failure, read } (read: what the pass reads of that kind). */
export interface ItemFailure { failure: number; read?: number }
/** A user's next pass: per kind of item. */
export interface ItemPlan { mails?: ItemFailure; calendars?: ItemFailure; contacts?: ItemFailure }
export type ItemFailureTables = Record<Kind, Record<string, ItemPlan>>;
/** What the desk and the pass outcomes need of the store. */
export interface StoreHost {
    state(): State;
    /** The user of a tag (refused when unknown), saved for undo inside a write. */
    user(f: Kind, tag: string): User;
    /** Inside a write: how to take back the change about to be made. */
    onUndo(f: () => void): void;
    /** The vendor's start of a user's pass. */
    start(f: Kind, tag: string): void;
}

