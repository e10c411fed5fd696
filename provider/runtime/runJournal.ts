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
 * answer (killed between sending and the answer): the vendor decides where its facts can (users
 * running the action, or a pass that started after the intent), else the send is refused and the
 * operator says what happened (CLOUDIWAY_RUN_RECORDS). The record is removed once the engine holds
 * the run (its next diff, read or delete).
 * It fails closed: only a definite absence (a missing file, a 404) means "no record". A store that
 * cannot be read, or a record that does not parse, refuses the send (RunRecordUnreadable) and the
 * record is never overwritten, until the operator's word.
 * Keys: the stack (organization/project/stack), the API URL and consumer key (never the secret),
 * and the run's (target, action, trigger).
 */
import * as os from "os";
import * as path from "path";
import { DirStore, RecordStore, stateStoreFor } from "./stateStore";
import { sha } from "./privateFs";

export interface RunRecord {
    key: string;
    /** When the first attempt began (a pass that started after it shows that the send reached Cloudiway). */
    startedAt: string;
    /** What the send answered (performedAt, answer, started): returned again instead of sending twice. */
    outs?: Record<string, unknown>;
}

/**
 * The evidence of an earlier attempt could not be read: a store that failed or answered something
 * unexpected, or a record that does not parse. Nothing was sent; the record is left as it is. The
 * operator says what happened through CLOUDIWAY_RUN_RECORDS (see `operatorVerdict`).
 */
export class RunRecordUnreadable extends Error {
    constructor(readonly where: string, readonly record: string, readonly why: string) {
        super(`its send record ${where}/${record}.json ${why}`);
        this.name = "RunRecordUnreadable";
    }
}

/** The record of `key` in `text`, or why it is not one (a damaged record is never taken as "none"). */
function parse(text: string, key: string): RunRecord | string {
    let r: Partial<RunRecord>;
    try { r = JSON.parse(text) as Partial<RunRecord>; } catch { return "does not parse as JSON (damaged or half written)"; }
    if (typeof r !== "object" || r === null || Array.isArray(r)) return "is not a JSON object";
    if (r.key !== key) return "is the record of another run (its key differs)";
    if (typeof r.startedAt !== "string" || Number.isNaN(Date.parse(r.startedAt))) return "has no valid startedAt";
    if (r.outs !== undefined) {
        const o = r.outs as Record<string, unknown>;
        if (typeof o !== "object" || o === null || Array.isArray(o) || typeof o.performedAt !== "string" || typeof o.answer !== "string") return "has an answer without performedAt and answer";
    }
    return { key, startedAt: r.startedAt, ...(r.outs ? { outs: r.outs } : {}) };
}

/**
 * What the operator said of an earlier attempt whose outcome the records and the vendor cannot tell:
 * CLOUDIWAY_RUN_RECORDS="<record>=sent,<record>=unsent" (the record names the refusal printed).
 */
export function operatorVerdict(record: string, env: NodeJS.ProcessEnv = process.env): "sent" | "unsent" | undefined {
    for (const part of (env.CLOUDIWAY_RUN_RECORDS ?? "").split(",")) {
        const [name, verdict] = part.split("=").map((s) => s.trim());
        if (name === record && (verdict === "sent" || verdict === "unsent")) return verdict;
    }
    return undefined;
}

export class RunJournal {
    /** Names present in each store, listed once per process (forget runs at every diff and read). */
    private listed = new Map<RecordStore, Promise<Set<string>>>();
    /** The waits (ms, jittered) before each further try of an answer's write. */
    answerRetryMs: readonly number[] = [200, 1000, 3000];

    /**
     * `shared`: the stack's store (its failures fail the send: a run is not sent without a record
     * every runner can read); `local`: this machine's.
     */
    constructor(readonly scope: string, readonly shared: RecordStore | undefined, readonly local: RecordStore | undefined, private readonly now = () => Date.now()) {}

    /** The record's name in every store (a hash of the scope and key: never the key itself). */
    recordName(key: string) { return sha(`${this.scope}\n${key}`).slice(0, 40); }
    private name(key: string) { return `${this.recordName(key)}.json`; }
    private stores(): RecordStore[] { return [this.shared, this.local].filter((s): s is RecordStore => s !== undefined); }
    /** Where the records are, for messages. */
    get where(): string { return this.stores().map((s) => s.where).join(" and ") || "nowhere"; }

    /**
     * The record of an earlier attempt: one with an answer if any store has it, else an intent.
     * Undefined only when every store says, for certain, that it has none. A store that cannot be
     * read, or a record that does not parse, throws RunRecordUnreadable: never taken as "none".
     */
    async earlier(key: string): Promise<RunRecord | undefined> {
        const found: RunRecord[] = [];
        for (const s of this.stores()) {
            let text: string | undefined;
            try { text = await s.get(this.name(key)); } catch (e) {
                throw new RunRecordUnreadable(s.where, this.recordName(key), `could not be read: ${(e as Error).message}`);
            }
            if (text === undefined) continue;
            const r = parse(text, key);
            if (typeof r === "string") throw new RunRecordUnreadable(s.where, this.recordName(key), r);
            found.push(r);
        }
        return found.find((r) => r.outs) ?? found[0];
    }

    /** Writes `r` to the stack's store (its failure throws) and to this machine's (best effort). */
    private async write(r: RunRecord): Promise<void> {
        const text = JSON.stringify(r);
        if (this.shared) {
            try {
                await this.shared.put(this.name(r.key), text);
            } catch (e) {
                throw new Error(`the run's record could not be written to the stack's store (${this.shared.where}): ${(e as Error).message}`);
            }
        }
        try { await this.local?.put(this.name(r.key), text); } catch { /* the shared record serves */ }
    }

    /**
     * Before a send: the earlier attempt's record if there is one (left as it is), else a new
     * intent. Throws, before anything is sent, when the evidence cannot be read or the intent written.
     */
    async begin(key: string): Promise<RunRecord | undefined> {
        const prior = await this.earlier(key);
        if (!prior) await this.write({ key, startedAt: new Date(this.now()).toISOString() });
        return prior;
    }

    /** The operator's word on an attempt (operatorVerdict): the record is written anew with it. */
    async settle(key: string, verdict: "sent" | "unsent", outs: Record<string, unknown>): Promise<RunRecord> {
        const r: RunRecord = { key, startedAt: new Date(this.now()).toISOString(), ...(verdict === "sent" ? { outs } : {}) };
        await this.write(r);
        return r;
    }

    /** After a send: its answer (tried a few times: this record is what stops a second send). */
    async answered(key: string, startedAt: string, outs: Record<string, unknown>): Promise<void> {
        for (let i = 0; ; i++) {
            try {
                return await this.write({ key, startedAt, outs });
            } catch (e) {
                if (i >= this.answerRetryMs.length) throw e;
                await new Promise((r) => setTimeout(r, this.answerRetryMs[i] * (0.5 + Math.random() / 2)));
            }
        }
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
            try { await s.remove(name); } catch { /* stays; it holds the same run's answer */ }
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
