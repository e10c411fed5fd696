/**
 * The journal of this machine: how a create interrupted by a kill (SIGKILL, a lost CI
 * runner) recognizes its own orphan.
 *
 * A MailUser or MailBatch (a model that declares a create journal) is keyed by its natural key (source + target email;
 * batch name). When `pulumi up` dies after Cloudiway made the object but before
 * the engine saved its id, the state keeps a pending create; Pulumi tells the user
 * to run `pulumi refresh` and clear it (`--clear-pending-creates`), and the next
 * `up` creates again. The object is there: without this journal the create would
 * refuse ("already exists, set adopt"), and blind adoption would take over objects
 * that other people made. So, before a create sends anything, it writes an intent
 * record for the natural key (a small file under the Pulumi home, keyed by API URL
 * and consumer key, never the secret, and by the stack: another stack on the same
 * machine that declares the same object is refused, with the adopt hint); when a later create finds the object
 * existing and an earlier intent of this machine for it (with no id, or the same
 * id, younger than a week), it is ours: it is adopted.
 *
 * The record stays after a create succeeds (the engine may be killed after the
 * answer and before saving it) and is dropped as soon as the engine shows it has
 * the resource: at the resource's next diff, read or delete. A create refused
 * outright (a vendor refusal, our own "already exists") drops it too.
 *
 * A machine that did not run the interrupted `up` (an ephemeral CI runner) has no
 * record: then the create refuses and says how to adopt, and nothing is duplicated.
 * The folder is private (privateFs.ts): 0700, files 0600, a planted or foreign file is not evidence.
 * The records are read and written without blocking the process (a create awaits its intent record
 * before it sends anything): a provider serves up to the engine's --parallel calls at once.
 * MigrationRun sends have their own journal, kept with the stack's state (runJournal.ts).
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import type { CloudiwaySettings } from "../config";
import { stackOf } from "./inputs";
import { kindOf } from "../client/calls";
import { listPrivate, privateDir, readPrivateAsync, sha, writePrivateAsync } from "./privateFs";

export const JOURNAL_TTL_MS = 7 * 24 * 3600 * 1000;

export interface Entry {
    type: string; kind: string; key: string;
    /** When the first attempt began (kept across attempts: a MigrationRun compares it with the vendor's history). */
    startedAt: string;
    /** The id the create got (MailUser, MailBatch), or "performed" for an action. */
    id?: string;
    /** What a performed action answered (MigrationRun), returned again instead of performing it twice. */
    outs?: Record<string, unknown>;
}


export function journalDir(settings: Pick<CloudiwaySettings, "apiUrl" | "consumerKey">, env: NodeJS.ProcessEnv = process.env): string {
    const base = env.CLOUDIWAY_JOURNAL_DIR || path.join(env.PULUMI_HOME || path.join(os.homedir(), ".pulumi"), "cloudiway-creates");
    return path.join(base, sha(`${settings.apiUrl}\n${settings.consumerKey}`).slice(0, 16));
}

/**
 * What a resource's model declares of its journal (ModelSpec.journal): what an interrupted `up` must
 * not do twice, and the natural key of one such object or performance.
 */
export interface JournalSpec {
    /**
     * The natural key of the inputs (a user's source and target email; a batch's name; a run's target,
     * action and trigger), or undefined when they do not name one yet. Called with any value the
     * engine hands: it checks the types of what it reads.
     */
    key(props: Record<string, unknown>): string | undefined;
    /**
     * `create`: every create is journaled here, around the create (install() in impl.ts), so that a
     * create interrupted by a kill recognizes its orphan. `send`: the resource journals its own sends
     * (runJournal.ts), so that no runner sends one twice.
     */
    journals: "create" | "send";
}

/** A resource type as the journal sees it: its name and its model's journal (none: never journaled). */
export interface Journaled {
    type: string;
    journal?: JournalSpec;
}

/** The natural key of a resource's inputs (its model's JournalSpec.key), or undefined for types that have none. */
export function naturalKey(model: Journaled, value: unknown): string | undefined {
    if (typeof value !== "object" || value === null) return undefined;
    return model.journal?.key(value as Record<string, unknown>);
}

/** The journal key of a resource's inputs: its stack (the hidden input `__stack`) and its natural key. */
export function scopedKey(model: Journaled, value: unknown): string | undefined {
    const key = naturalKey(model, value);
    return key === undefined ? undefined : `${stackOf(value) ?? "-"}\n${key}`;
}

export class Journal {
    /** The record found when a create of this process began: evidence of an earlier, interrupted one. */
    private readonly prior = new Map<string, Entry | undefined>();

    /**
     * The journal's files, read once per process: `forget` runs at every diff and read of a resource,
     * and an unlink per call of a file that is not there cost 1.5 s of a 500-user preview.
     */
    private files: Set<string> | undefined;
    /**
     * What this process last wrote to (or read from) each file: a create's outcome record builds on its intent
     * without reading it back. With the listing above and the folder checked once, a new user's create costs
     * the journal two writes (intent, outcome) and no read: at --parallel 32 the file operations of 32 creates
     * queue on Node.js's four I/O threads, ahead of each create's request.
     */
    private readonly known = new Map<string, Entry>();
    /** The folder was found to be this user's private one (checked at the first write, again while it is not). */
    private trusted = false;

    constructor(readonly dir: string, private readonly now = () => Date.now()) {}

    private present(): Set<string> {
        if (!this.files) {
            this.files = new Set(listPrivate(this.dir).map((n) => path.join(this.dir, n)));
        }
        return this.files;
    }

    private file(type: string, kind: string, key: string): string {
        return path.join(this.dir, `${sha(`${type}\n${kind}\n${key}`).slice(0, 32)}.json`);
    }
    /** The record in `file`, if any: only a file listed when this process first looked, or written since, is read. */
    private async read(file: string): Promise<Entry | undefined> {
        if (this.known.has(file)) return this.known.get(file);
        if (!this.present().has(file)) return undefined;
        const text = await readPrivateAsync(file);
        if (text === undefined) return undefined;
        try {
            const e = JSON.parse(text) as Partial<Entry>;
            // A corrupt or odd record is not evidence.
            return typeof e.type === "string" && typeof e.key === "string" && typeof e.startedAt === "string" && !Number.isNaN(Date.parse(e.startedAt)) ? (e as Entry) : undefined;
        } catch {
            return undefined;
        }
    }
    private async write(file: string, e: Entry): Promise<void> {
        try {
            this.trusted ||= privateDir(this.dir);
            if (!this.trusted) return; // not this user's private folder: no journal (creates still refuse duplicates)
            this.present(); // listed before the first write of this process
            await writePrivateAsync(file, JSON.stringify(e));
            this.present().add(file);
            this.known.set(file, e);
        } catch {
            // A journal that cannot be written only loses the orphan recognition: the create still refuses duplicates.
        }
    }

    /**
     * Before a create (or an action) sends anything. A fresh earlier record stays as it is (its
     * start time and outcome are the evidence a later attempt needs); otherwise a new intent is written.
     */
    async begin(type: string, kind: string, key: string): Promise<void> {
        const file = this.file(type, kind, key);
        const prior = this.fresh(await this.read(file));
        this.prior.set(`${type}\n${kind}\n${key}`, prior);
        if (!prior) await this.write(file, { type, kind, key, startedAt: new Date(this.now()).toISOString() });
    }

    /** The record an earlier, interrupted attempt left (as found by `begin`), if younger than the TTL. */
    earlier(type: string, kind: string, key: string): Entry | undefined {
        return this.prior.get(`${type}\n${kind}\n${key}`);
    }

    private fresh(e: Entry | undefined): Entry | undefined {
        return e && this.now() - Date.parse(e.startedAt) <= JOURNAL_TTL_MS ? e : undefined;
    }

    /** For a resource's inputs (the key made by naturalKey, the one place that makes it): whether the object found is its orphan. */
    isOrphan(model: Journaled, props: object, existingId?: string): boolean {
        const key = scopedKey(model, props);
        return key !== undefined && this.interrupted(model.type, kindOf(props), key, existingId);
    }

    /** For a resource's inputs: the record of an earlier, interrupted attempt (see `earlier`). */
    earlierOf(model: Journaled, props: object): Entry | undefined {
        const key = scopedKey(model, props);
        return key === undefined ? undefined : this.earlier(model.type, kindOf(props), key);
    }

    /** Whether an object found existing at create is the orphan of an interrupted create of this journal. */
    interrupted(type: string, kind: string, key: string, existingId?: string): boolean {
        const e = this.fresh(this.prior.get(`${type}\n${kind}\n${key}`));
        if (!e) return false;
        return e.id === undefined || existingId === undefined || e.id === existingId;
    }

    /** After a create: success records the id; a definite refusal removes the record (or puts the earlier one back). */
    async end(type: string, kind: string, key: string, outcome: { id: string; outs?: Record<string, unknown> } | { refused: true } | { uncertain: true }): Promise<void> {
        const file = this.file(type, kind, key);
        const k = `${type}\n${kind}\n${key}`;
        const prior = this.prior.get(k);
        this.prior.delete(k);
        if ("id" in outcome) {
            const cur = await this.read(file);
            await this.write(file, { ...(cur ?? { type, kind, key, startedAt: new Date(this.now()).toISOString() }), id: outcome.id, ...(outcome.outs ? { outs: outcome.outs } : {}) });
        } else if ("refused" in outcome) {
            if (prior) await this.write(file, prior);
            else this.forget(type, kind, key);
        }
        // uncertain: the record stays, the object may exist
    }

    /** The engine has the resource (diff, read, delete): no orphan to recognize. */
    forget(type: string, kind: string, key: string): void {
        const file = this.file(type, kind, key);
        if (!this.present().has(file)) return;
        try {
            fs.rmSync(file, { force: true });
            this.present().delete(file);
            this.known.delete(file);
        } catch {
            // nothing to do
        }
    }
}
