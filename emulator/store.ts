/**
 * The emulator's store: all state and every vendor rule, no HTTP. Routes parse
 * and serialize; they never decide.
 *
 * Atomicity: a refused call changes nothing because the server runs every mutating
 * call inside `Store.atomically`, which keeps an undo log for that call (undo.ts): each user
 * the call looks up (and so may change) is copied once, before any change, and put
 * back on undo; every other change (a user or batch created or deleted, settings, the outbox
 * and links, a permission run, a consumed pass outcome) pushes its own undo entry.
 * Outside `atomically` (tick(), code calling the store directly) nothing is undone: most
 * methods check before they change anything, but a batch-wide call refused half-way
 * keeps what it did to the users before the refusal.
 *
 * The stepping of passes, audits, stops and permission runs over time is lifecycle.ts's
 * (`Lifecycle`); the store decides what may start and hands it the steps.
 *
 * No call costs in proportion to the whole tenant unless its answer does (getall,
 * getusersinbatch and the batch-wide calls): the undo of a write copies only the
 * records it touches, and the lifecycle looks only at users with steps to come.
 */
import { randomUUID } from "crypto";
import { AUDIT_STEPS, DEFAULT_PASS_STEPS, Lifecycle, MAX_PASS_STEPS, STOP_STEPS, passSteps } from "./lifecycle";
import { PassEnd, RUNNING } from "./statuses";
import { SelfServiceDesk } from "./selfserviceDesk";
import { PassOutcomes } from "./passOutcomes";
import { emptySelfService } from "./selfservice";
import type { Batch, Connector, HistoryPass, Kind, KindState, Settings, State, StoreHost, User } from "./types";
export type { Batch, Connector, HistoryPass, Kind, KindState, Settings, State, StoreHost, User } from "./types";
import { UndoLog } from "./undo";

/** Seeded connectors: one of each type the seeds name, and a self-service one. */
export const SEED_CONNECTORS: { source: Connector[]; target: Connector[] } = {
    source: [
        { name: "Gmail", type: "Gmail" },
        { name: "Zimbra", type: "Zimbra" },
        { name: "IMAP", type: "IMAP" },
        { name: "Office 365", type: "Office 365" },
        { name: "Exchange", type: "Exchange" },
        { name: "Zimbra Self Service", type: "Self Service" },
        { name: "IMAP Self Service", type: "Self Service" },
        { name: "Office 365 Self Service", type: "Self Service" },
    ],
    target: [
        { name: "Office 365", type: "Office 365" },
        { name: "Exchange Online", type: "Office 365" },
    ],
};

export const SETTING_KEYS = [
    "shouldMigrateMails", "shouldMigrateTrash", "shouldMigrateCalendars", "shouldMigrateContacts", "shouldMigrateNotes",
    "shouldMigrateTasks", "shouldMigrateJournals", "shouldConvertEmailAddresses", "shouldConvertX500",
] as const;
/** A new batch migrates the mailbox's usual content (the document gives no defaults). */
export const defaultSettings = (): Settings => ({
    shouldMigrateMails: true, shouldMigrateTrash: false, shouldMigrateCalendars: true, shouldMigrateContacts: true,
    shouldMigrateNotes: true, shouldMigrateTasks: true, shouldMigrateJournals: false,
    shouldConvertEmailAddresses: false, shouldConvertX500: false, fromDate: null, toDate: null,
});

/**
 * A record keyed by names that come from requests (batch names, tags, link tokens, outcome keys):
 * without a prototype, so `__proto__`, `constructor` and `toString` are ordinary keys, never
 * Object.prototype's. `from`'s own entries are copied (a data file's JSON keeps `__proto__` as one).
 */
export function record<T>(from?: Record<string, T>): Record<string, T> {
    const r = Object.create(null) as Record<string, T>;
    if (from) for (const [k, v] of Object.entries(from)) r[k] = v;
    return r;
}

export const emptyState = (): State => ({
    mail: { users: record(), batches: record(), permissionRun: null },
    archive: { users: record(), batches: record(), permissionRun: null },
    connectors: JSON.parse(JSON.stringify(SEED_CONNECTORS)),
    selfService: emptySelfService(),
    outcomes: { mail: record(), archive: record() },
});

export { VendorError } from "./vendorError";
import { VendorError } from "./vendorError";

export interface UserFields {
    firstName: string; lastName: string; sourceEmail: string; targetEmail: string;
    sourceConnectorName: string; targetConnectorName: string;
}

const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
const key = (s: string, t: string) => `${s.trim().toLowerCase()}\n${t.trim().toLowerCase()}`;

export class Store {
    state: State;
    /** (kind, source+target) -> tag */
    private index = new Map<string, string>();
    /** The undo log of the write under way (see `atomically`). */
    private readonly undo = new UndoLog();
    /** Takes the steps this store schedules (a user's queue, a permission run). */
    private readonly lifecycle = new Lifecycle({ state: () => this.state, undo: this.undo, immediate: () => this.immediate });
    /** Lifecycle steps (ticks) a migration pass takes: SCHEDULED at the call, WORKING, ..., its end. */
    passSteps = DEFAULT_PASS_STEPS;
    /** immediate: every lifecycle step is taken at the call. */
    constructor(state: State = emptyState(), public immediate = true) {
        this.state = state;
        this.reindex();
    }

    /** Rebuilds what is derived from `state` (after it was replaced, e.g. loaded from the data file). */
    reindex() {
        this.index.clear();
        this.lifecycle.clear();
        for (const f of ["mail", "archive"] as Kind[]) {
            for (const u of Object.values(this.state[f].users)) {
                this.index.set(`${f}\n${key(u.sourceEmail, u.targetEmail)}`, u.migrationTag);
                this.lifecycle.track(f, u);
            }
        }
    }

    reset() {
        this.state = emptyState();
        this.index.clear();
        this.lifecycle.clear();
    }

    /**
     * Runs one write so that a refusal (or any error) half-way leaves the state as it was: each record
     * is copied just before the write first changes it (copy-on-write), and put back if `fn` throws.
     * The cost is that of the records touched, not of the tenant. Not re-entrant: an inner call joins
     * the outer write.
     */
    atomically<T>(fn: () => T): T { return this.undo.run(fn); }

    /** Inside a write: how to take back the change about to be made. */
    private onUndo(f: () => void) { this.undo.push(f); }

    private fam(f: Kind) { return this.state[f]; }

    private user(f: Kind, tag: string): User {
        const u = this.fam(f).users[String(tag).trim()];
        if (!u) throw new VendorError(`User not found: unknown migration tag '${tag}'`);
        this.undo.save(u); // inside a write, any user looked up may be changed next
        return u;
    }
    private batch(f: Kind, name: string): Batch {
        const b = this.fam(f).batches[name];
        if (!b) throw new VendorError(`Batch '${name}' not found`);
        return b;
    }

    // ---------------------------------------------------------------- users
    getAll(f: Kind): User[] { return Object.values(this.fam(f).users); }

    migrationTag(f: Kind, sourceEmail: string, targetEmail: string): string {
        const tag = this.index.get(`${f}\n${key(sourceEmail, targetEmail)}`);
        if (!tag) throw new VendorError(`User not found for sourceEmail '${sourceEmail}' and targetEmail '${targetEmail}'`);
        return tag;
    }

    get(f: Kind, tag: string): User { return this.user(f, tag); }

    private validateFields(f: Kind, v: UserFields) {
        for (const k of ["firstName", "lastName", "sourceEmail", "targetEmail", "sourceConnectorName", "targetConnectorName"] as const) {
            if (typeof v[k] !== "string" || v[k].trim() === "") throw new VendorError(`Invalid ${k}: a non-empty string is required`);
        }
        if (!EMAIL.test(v.sourceEmail.trim())) throw new VendorError(`Invalid sourceEmail '${v.sourceEmail}'`);
        if (!EMAIL.test(v.targetEmail.trim())) throw new VendorError(`Invalid targetEmail '${v.targetEmail}'`);
        if (!this.state.connectors.source.some((c) => c.name === v.sourceConnectorName)) {
            throw new VendorError(`Unknown source connector '${v.sourceConnectorName}'`);
        }
        if (!this.state.connectors.target.some((c) => c.name === v.targetConnectorName)) {
            throw new VendorError(`Unknown target connector '${v.targetConnectorName}'`);
        }
    }

    create(f: Kind, v: UserFields): string {
        this.validateFields(f, v);
        const k = `${f}\n${key(v.sourceEmail, v.targetEmail)}`;
        if (this.index.has(k)) {
            throw new VendorError(`User already exists with sourceEmail '${v.sourceEmail}' and targetEmail '${v.targetEmail}'`);
        }
        const tag = randomUUID();
        const users = this.fam(f).users;
        this.onUndo(() => { delete users[tag]; this.index.delete(k); });
        users[tag] = {
            migrationTag: tag,
            firstName: v.firstName, lastName: v.lastName, sourceEmail: v.sourceEmail, targetEmail: v.targetEmail,
            sourceConnectorName: v.sourceConnectorName, targetConnectorName: v.targetConnectorName,
            batchName: null, status: "NOTSTARTED", licensed: false, history: [], statusHistory: ["NOTSTARTED"], queue: [],
            migrated: { msg: 0, cal: 0, con: 0 },
        };
        this.index.set(k, tag);
        return tag;
    }

    update(f: Kind, tag: string, v: UserFields) {
        const u = this.user(f, tag);
        this.validateFields(f, v);
        const oldKey = `${f}\n${key(u.sourceEmail, u.targetEmail)}`;
        const newKey = `${f}\n${key(v.sourceEmail, v.targetEmail)}`;
        if (newKey !== oldKey && this.index.has(newKey)) {
            throw new VendorError(`User already exists with sourceEmail '${v.sourceEmail}' and targetEmail '${v.targetEmail}'`);
        }
        Object.assign(u, {
            firstName: v.firstName, lastName: v.lastName, sourceEmail: v.sourceEmail, targetEmail: v.targetEmail,
            sourceConnectorName: v.sourceConnectorName, targetConnectorName: v.targetConnectorName,
        });
        this.onUndo(() => { this.index.delete(newKey); this.index.set(oldKey, tag); });
        this.index.delete(oldKey);
        this.index.set(newKey, tag);
    }

    delete(f: Kind, tag: string) {
        const u = this.user(f, tag);
        const users = this.fam(f).users, k = `${f}\n${key(u.sourceEmail, u.targetEmail)}`;
        // Put back last in the tenant's order (getall's order): a delete is the last change of every call
        // that makes one, so this undo runs only after an internal error.
        this.onUndo(() => { users[u.migrationTag] = u; this.index.set(k, u.migrationTag); });
        delete users[u.migrationTag];
        this.index.delete(k);
    }

    license(f: Kind, tag: string) {
        this.user(f, tag).licensed = true;
    }

    start(f: Kind, tag: string) {
        const u = this.user(f, tag);
        if (RUNNING.has(u.status)) throw new VendorError(`Migration of user '${tag}' is already running (${u.status})`);
        u.licensed = true; // a pass uses the user's license
        this.lifecycle.schedule(f, u, passSteps(this.passOutcomes.take(f, u) ?? "SUCCESS", this.passSteps));
    }

    stop(f: Kind, tag: string) {
        const u = this.user(f, tag);
        if (RUNNING.has(u.status) || u.queue.length) this.lifecycle.schedule(f, u, [...STOP_STEPS]);
    }

    audit(f: Kind, tag: string) {
        const u = this.user(f, tag);
        if (RUNNING.has(u.status)) throw new VendorError(`Migration of user '${tag}' is already running (${u.status})`);
        u.licensed = true; // an audit uses the user's license
        this.lifecycle.schedule(f, u, [...AUDIT_STEPS]);
    }

    status(f: Kind, tag: string): string { return this.user(f, tag).status; }
    history(f: Kind, tag: string): HistoryPass[] { return this.user(f, tag).history; }

    // ---------------------------------------------------------------- batches
    batchNames(f: Kind): string[] { return Object.keys(this.fam(f).batches); }

    createBatch(f: Kind, name: string) {
        const batches = this.fam(f).batches;
        if (batches[name]) throw new VendorError(`Batch '${name}' already exists`);
        this.onUndo(() => { delete batches[name]; });
        batches[name] = { name, settings: defaultSettings() };
    }

    /** A batch that still has users is refused: the vendor would leave them orphaned. */
    deleteBatch(f: Kind, name: string) {
        const b = this.batch(f, name);
        const n = this.usersInBatch(f, name).length;
        if (n > 0) throw new VendorError(`Batch '${name}' still has ${n} user(s): remove them from the batch first`);
        const batches = this.fam(f).batches;
        this.onUndo(() => { batches[name] = b; });
        delete batches[name];
    }

    usersInBatch(f: Kind, name: string): string[] {
        this.batch(f, name);
        return Object.values(this.fam(f).users).filter((u) => u.batchName === name).map((u) => u.migrationTag);
    }

    addToBatch(f: Kind, tag: string, name: string) {
        const u = this.user(f, tag);
        this.batch(f, name);
        if (u.batchName && u.batchName !== name) {
            throw new VendorError(`User '${tag}' is already in batch '${u.batchName}': remove it from that batch first`);
        }
        u.batchName = name;
    }

    removeFromBatch(f: Kind, tag: string) {
        const u = this.user(f, tag);
        if (!u.batchName) throw new VendorError(`User '${tag}' is not in a batch`);
        u.batchName = null;
    }

    startBatch(f: Kind, name: string) { for (const t of this.usersInBatch(f, name)) this.start(f, t); }
    stopBatch(f: Kind, name: string) { for (const t of this.usersInBatch(f, name)) this.stop(f, t); }
    auditBatch(f: Kind, name: string) { for (const t of this.usersInBatch(f, name)) this.audit(f, t); }

    /**
     * One batch at a time: refused while another batch's permission run is under
     * way. A run lasts PERMISSION_STEPS ticks (in immediate mode, a tick is taken
     * at each later request, so the exclusivity is observable).
     */
    startPermissions(f: Kind, name: string) {
        const tags = this.usersInBatch(f, name);
        const run = this.fam(f).permissionRun;
        if (run && run.ticksLeft > 0) {
            throw new VendorError(`A permissions migration is already running for Batch '${run.batchName}': only one batch at a time`);
        }
        this.lifecycle.startPermissionRun(f, name, tags.map((t) => this.user(f, t))); // first step at once: MAILPERMISSIONS_SCHEDULED
    }

    setSettings(f: Kind, name: string, patch: Partial<Settings>) {
        const b = this.batch(f, name);
        const old = b.settings;
        this.onUndo(() => { b.settings = old; });
        b.settings = { ...b.settings, ...patch };
    }
    getSettings(f: Kind, name: string): Settings { return this.batch(f, name).settings; }

    // ---------------------------------------------------------------- emulator only
    // Self-service (selfserviceDesk.ts) and pass outcomes (passOutcomes.ts) work on this store's state, inside its writes.
    private readonly host: StoreHost = {
        state: () => this.state, user: (f, tag) => this.user(f, tag), onUndo: (fn) => this.onUndo(fn), start: (f, tag) => this.start(f, tag),
    };
    readonly selfService = new SelfServiceDesk(this.host);
    readonly passOutcomes = new PassOutcomes(this.host);

    /** Changes the pass length for passes started from now on. */
    setPassSteps(n: number) {
        if (!Number.isInteger(n) || n < 1 || n > MAX_PASS_STEPS) throw new RangeError(`passSteps must be an integer within 1..${MAX_PASS_STEPS}`);
        this.passSteps = n;
    }

    // ---------------------------------------------------------------- lifecycle
    /** One lifecycle step for everything under way. */
    tick() { this.lifecycle.tick(); }

    /** Whether anything is under way. */
    busy(): boolean { return this.lifecycle.busy(); }
}
