/**
 * The run journal: what keeps a MigrationRun from being sent twice when the engine's record of the
 * send is lost. The engine records a run (its phase, its send time) in the stack's state; that
 * record is lost only when a fast-mode `up` (PULUMI_SKIP_CHECKPOINTS) is killed between the send
 * and the engine's save. For that gap, before a run is sent, an intent record for (stack, target,
 * action, trigger) is written, and the answer after:
 *  - in the stack's own store (stateStore.ts: the file or Azure blob backend), so a fresh runner
 *    that recovers the stack finds it, even after the passes ended and Cloudiway no longer shows
 *    the action under way;
 *  - and on this machine (under PULUMI_HOME), for backends without such a store.
 * A record with an answer: the run is not sent again, its answer is returned. An intent without an
 * answer (killed between sending and the answer): the vendor decides (users running the action, or
 * a pass that started after the intent). The record is removed once the engine holds the run (its
 * next diff, read or delete).
 * Keys: the stack (organization/project/stack), the API URL and consumer key (never the secret),
 * and the run's (target, action, trigger).
 */
import * as os from "os";
import * as path from "path";
import { DirStore, RecordStore, stateStoreFor } from "../runtime/stateStore";
import { sha } from "../runtime/privateFs";

export const RUN_JOURNAL_TTL_MS = 30 * 24 * 3600 * 1000;

export interface RunRecord {
    key: string;
    /** When the first attempt began (a pass that started after it shows that the send reached Cloudiway). */
    startedAt: string;
    /** What the send answered (performedAt, answer, started): returned again instead of sending twice. */
    outs?: Record<string, unknown>;
}

function parse(text: string | undefined, key: string): RunRecord | undefined {
    if (text === undefined) return undefined;
    try {
        const r = JSON.parse(text) as Partial<RunRecord>;
        if (r.key !== key || typeof r.startedAt !== "string" || Number.isNaN(Date.parse(r.startedAt))) return undefined;
        if (r.outs !== undefined && (typeof r.outs !== "object" || r.outs === null || Array.isArray(r.outs))) return undefined;
        return { key, startedAt: r.startedAt, ...(r.outs ? { outs: r.outs } : {}) };
    } catch {
        return undefined; // corrupt: not evidence
    }
}

export class RunJournal {
    /** Names present in each store, listed once per process (forget runs at every diff and read). */
    private listed = new Map<RecordStore, Promise<Set<string>>>();

    /**
     * `shared`: the stack's store (its failures fail the send: a run is not sent without a record
     * every runner can read); `local`: this machine's (best effort).
     */
    constructor(readonly scope: string, readonly shared: RecordStore | undefined, readonly local: RecordStore | undefined, private readonly now = () => Date.now()) {}

    private name(key: string) { return `${sha(`${this.scope}\n${key}`).slice(0, 40)}.json`; }
    private stores(): RecordStore[] { return [this.shared, this.local].filter((s): s is RecordStore => s !== undefined); }

    /** The fresh record of an earlier attempt, from the stack's store first. */
    async earlier(key: string): Promise<RunRecord | undefined> {
        for (const s of this.stores()) {
            let text: string | undefined;
            try { text = await s.get(this.name(key)); } catch { continue; }
            const r = parse(text, key);
            if (r && this.now() - Date.parse(r.startedAt) <= RUN_JOURNAL_TTL_MS) return r;
        }
        return undefined;
    }

    private async write(r: RunRecord): Promise<void> {
        const text = JSON.stringify(r);
        if (this.shared) {
            try {
                await this.shared.put(this.name(r.key), text);
            } catch (e) {
                throw new Error(`the run journal could not be written to the stack's store (${this.shared.where}): ${(e as Error).message}; nothing was sent`);
            }
        }
        try { await this.local?.put(this.name(r.key), text); } catch { /* the shared record serves */ }
    }

    /** Before a send: the earlier attempt's record if there is one (left as it is), else a new intent. */
    async begin(key: string): Promise<RunRecord | undefined> {
        const prior = await this.earlier(key);
        if (!prior) await this.write({ key, startedAt: new Date(this.now()).toISOString() });
        return prior;
    }

    /** After a send: its answer. */
    async answered(key: string, outs: Record<string, unknown>): Promise<void> {
        const cur = await this.earlier(key);
        await this.write({ key, startedAt: cur?.startedAt ?? new Date(this.now()).toISOString(), outs });
    }

    /** A send refused outright (nothing happened): the intent goes (or the earlier record is put back). */
    async refused(key: string, prior: RunRecord | undefined): Promise<void> {
        if (prior) await this.write(prior);
        else await this.forget(key, true);
    }

    /** The engine holds the run: no record is needed. `force` skips the per-process listing. */
    async forget(key: string, force = false): Promise<void> {
        const name = this.name(key);
        for (const s of this.stores()) {
            if (!force) {
                let names = this.listed.get(s);
                if (!names) { names = s.list().then((l) => new Set(l), () => new Set<string>()); this.listed.set(s, names); }
                if (!(await names).has(name)) continue;
                (await names).delete(name);
            }
            try { await s.remove(name); } catch { /* stays until its TTL */ }
        }
    }
}

/** This machine's run journal folder (a private folder under PULUMI_HOME). */
export function localRunStore(env: NodeJS.ProcessEnv = process.env): RecordStore {
    const base = env.CLOUDIWAY_JOURNAL_DIR || path.join(env.PULUMI_HOME || path.join(os.homedir(), ".pulumi"), "cloudiway-journal");
    return new DirStore(path.join(base, "runs"));
}

/**
 * The run journal of a stack (`organization/project/stack`, or none outside a deployment) for an API
 * account: in the stack's store (stateStore.ts) when its backend has one, and on this machine.
 */
export function runJournalFor(apiUrl: string, consumerKey: string, stack: string | undefined, env: NodeJS.ProcessEnv = process.env): RunJournal {
    const scope = `${sha(`${apiUrl}\n${consumerKey}`).slice(0, 16)}/${(stack ?? "-").split("/").map(encodeURIComponent).join("/")}`;
    return new RunJournal(scope, stack ? stateStoreFor(scope, env) : undefined, localRunStore(env));
}
