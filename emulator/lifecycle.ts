/**
 * The simulated migration of a user: the steps of a pass, of an audit, of a stop and of a
 * permissions run (the tables), the history pass a migration pass leaves (2.8's fields), and the
 * stepping (`Lifecycle`): each user's queue of statuses to come, one taken per tick.
 *
 * The state stays in the store (each user's `queue`, each kind's `permissionRun`); the vendor's
 * rules (what may start when) too. `Lifecycle` only advances what the store scheduled.
 */
import { PassEnd, Status } from "./statuses";
import type { HistoryPass, Kind, State, User } from "./types";
import type { UndoLog } from "./undo";
import { applyItemFailures } from "./itemFailures";

export const PERMISSION_STEPS: readonly Status[] = ["MAILPERMISSIONS_SCHEDULED", "MAILPERMISSIONS_WORKING", "MAILPERMISSIONS_DONE"];
export const AUDIT_STEPS: readonly Status[] = ["AUDIT_WORKING", "AUDIT_DONE"];
export const STOP_STEPS: readonly Status[] = ["STOPPING", "STOP"];

/** A pass's length by default: SCHEDULED at the call, WORKING after one tick, the end after two. */
export const DEFAULT_PASS_STEPS = 2;
export const MAX_PASS_STEPS = 1000;

/**
 * The statuses of one migration pass of `steps` ticks: SCHEDULED (taken at the call), WORKING
 * (steps - 1 times), then `end`. The default (2, SUCCESS) is SCHEDULED, WORKING, SUCCESS.
 */
export function passSteps(end: PassEnd, steps: number = DEFAULT_PASS_STEPS): Status[] {
    return ["SCHEDULED", ...Array<Status>(Math.max(0, steps - 1)).fill("WORKING"), end];
}

export interface Counts { msg: number; cal: number; con: number }

/** A deterministic mailbox per user, from its tag: what a first pass finds. */
export function simulatedMailbox(tag: string): Counts {
    let h = 2166136261;
    for (const c of tag) h = Math.imul(h ^ c.charCodeAt(0), 16777619) >>> 0;
    return { msg: 50 + (h % 450), cal: 5 + ((h >>> 9) % 45), con: 10 + ((h >>> 17) % 90) };
}

/** What switches off a kind of item for a pass (the batch's settings). */
export interface PassSettings { shouldMigrateMails: boolean; shouldMigrateCalendars: boolean; shouldMigrateContacts: boolean }

/**
 * The history pass a migration pass ends with. A first pass reads the whole mailbox, a later one
 * what arrived since (a few items) plus what the previous pass failed to migrate. A failed pass
 * (ONERROR) fails a tenth of what it reads, rounded up; the others succeed. `migrated` is what
 * earlier passes migrated (msgAlreadyMigrated); the caller adds the pass's successes to it.
 */
export function historyPass(
    tag: string, earlier: readonly HistoryPass[], migrated: Counts, settings: PassSettings | undefined,
    failed: boolean, startDateTime: string, end: Date,
): HistoryPass {
    const n = earlier.length, last = earlier[n - 1];
    const grow = n === 0 ? simulatedMailbox(tag) : {
        msg: (n * 3) % 7 + 1 + last.msgFailure, cal: last.calFailure, con: n % 2 + last.conFailure,
    };
    const msg = settings && !settings.shouldMigrateMails ? 0 : grow.msg;
    const cal = settings && !settings.shouldMigrateCalendars ? 0 : grow.cal;
    const con = settings && !settings.shouldMigrateContacts ? 0 : grow.con;
    const fail = (total: number) => (failed ? Math.ceil(total / 10) : 0);
    const [mf, cf, nf] = [fail(msg), fail(cal), fail(con)];
    return {
        startDateTime, endDateTime: historyDate(end),
        msgTotal: msg, msgRead: msg, msgSuccess: msg - mf, msgIgnored: 0, msgFailure: mf,
        calTotal: cal, calRead: cal, calSuccess: cal - cf, calIgnored: 0, calFailure: cf,
        conTotal: con, conRead: con, conSuccess: con - nf, conIgnored: 0, conFailure: nf,
        msgAlreadyMigrated: migrated.msg,
    };
}

const pad = (n: number) => String(n).padStart(2, "0");
/** History dates as the document prints them: dd/MM/yyyy HH:mm:ss (UTC). */
export function historyDate(d: Date): string {
    return `${pad(d.getUTCDate())}/${pad(d.getUTCMonth() + 1)}/${d.getUTCFullYear()} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}`;
}

/** What the stepping reads of the store. */
export interface LifecycleHost {
    /** The tenant (replaced on reset and on load: read it each time). */
    state(): State;
    /** The undo log of the write under way, if any: every step inside a write can be taken back. */
    readonly undo: UndoLog;
    /** Every step is taken at the call (the clock's transitionMs 0), not one per tick. */
    immediate(): boolean;
}

const FAMILIES: readonly Kind[] = ["mail", "archive"];

/**
 * Advances users through their statuses. No call costs in proportion to the whole tenant: tick()
 * and busy() look only at the users with steps to come.
 */
export class Lifecycle {
    /**
     * Users whose `queue` may hold steps to come, with their kind: every user with a non-empty
     * queue is in it (it may also hold users whose queue has run out, or that were deleted; tick()
     * drops those). tick() and busy() look at these only, so a request in immediate mode, which
     * ticks first, does not cost a pass over every user.
     */
    private readonly queued = new Map<User, Kind>();

    constructor(private readonly host: LifecycleHost) {}

    /** Forgets every queued user (the state was replaced). */
    clear(): void { this.queued.clear(); }

    /** The user's queue was just filled (or loaded): tick() must look at it. */
    track(f: Kind, u: User): void { if (u.queue.length) this.queued.set(u, f); }

    /** Replaces the user's steps to come with `steps`, and takes the first (all of them when immediate). */
    schedule(f: Kind, u: User, steps: readonly string[]): void {
        this.host.undo.save(u);
        u.queue = [...steps];
        this.track(f, u);
        if (this.host.immediate()) while (u.queue.length) this.step(f, u);
        else this.step(f, u);
    }

    /**
     * Starts the permissions run of `batchName` over `users` (the store has checked that no other
     * run is under way): its first step (MAILPERMISSIONS_SCHEDULED) is taken at once.
     */
    startPermissionRun(f: Kind, batchName: string, users: readonly User[]): void {
        this.savePermissionRun(f);
        this.host.state()[f].permissionRun = { batchName, ticksLeft: PERMISSION_STEPS.length };
        for (const u of users) {
            this.host.undo.save(u);
            u.queue = [...PERMISSION_STEPS];
            this.track(f, u);
        }
        this.advancePermissions(f);
    }

    /** One lifecycle step for everything under way. */
    tick(): void {
        for (const f of FAMILIES) {
            for (const u of this.queuedUsers(f)) {
                if (!u.queue[0].startsWith("MAILPERMISSIONS")) this.step(f, u);
            }
            this.advancePermissions(f);
        }
    }

    /** Whether anything is under way (a user with steps to come, or a permissions run). */
    busy(): boolean {
        for (const f of FAMILIES) {
            if (this.host.state()[f].permissionRun) return true;
            if (this.queuedUsers(f).length) return true;
        }
        return false;
    }

    private step(f: Kind, u: User): void {
        if (!u.queue.length) return;
        this.host.undo.save(u);
        const next = u.queue.shift()!;
        const stillWorking = next === "WORKING" && u.status === "WORKING"; // a longer pass: one WORKING in the history
        u.status = next;
        if (!stillWorking) {
            u.statusHistory.push(next);
            if (next === "WORKING") u.passStart = historyDate(new Date());
        }
        // A pass that ends in SUCCESS or ONERROR is recorded in the history; a stopped or refused one is not.
        if (next === "SUCCESS" || next === "ONERROR") this.recordPass(f, u, next === "ONERROR");
    }

    private recordPass(f: Kind, u: User, failed: boolean): void {
        const s = u.batchName ? this.host.state()[f].batches[u.batchName]?.settings : undefined;
        const now = new Date();
        const pass = applyItemFailures(this.host.state(), f, u, historyPass(u.migrationTag, u.history, u.migrated, s, failed, u.passStart ?? historyDate(now), now), this.host.undo);
        u.migrated = { msg: u.migrated.msg + pass.msgSuccess, cal: u.migrated.cal + pass.calSuccess, con: u.migrated.con + pass.conSuccess };
        u.history.push(pass);
    }

    private savePermissionRun(f: Kind): void {
        const fam = this.host.state()[f], run = fam.permissionRun;
        const copy = run ? { ...run } : null;
        this.host.undo.push(() => { fam.permissionRun = copy; });
    }

    private advancePermissions(f: Kind): void {
        const fam = this.host.state()[f], run = fam.permissionRun;
        if (!run || run.ticksLeft <= 0) return;
        this.savePermissionRun(f);
        run.ticksLeft--;
        for (const u of this.queuedUsers(f)) {
            if (u.batchName === run.batchName && u.queue[0].startsWith("MAILPERMISSIONS")) this.step(f, u);
        }
        if (run.ticksLeft <= 0) fam.permissionRun = null;
    }

    /**
     * The kind's users with steps to come (dropping from `queued` those without, or deleted).
     * Each user's steps depend on no other user, so visiting them in this order rather than the
     * tenant's changes nothing.
     */
    private queuedUsers(f: Kind): User[] {
        const out: User[] = [];
        const users = this.host.state()[f].users;
        for (const [u, uf] of this.queued) {
            if (uf !== f) continue;
            if (users[u.migrationTag] === u && u.queue.length) out.push(u);
            // Not inside a write: its undo could give the user its steps back.
            else if (!this.host.undo.active) this.queued.delete(u);
        }
        return out;
    }
}
