import * as pulumi from "@pulumi/pulumi";
import { z } from "zod";
import type { Kind } from "../client/calls";
import { DELETION_POLICIES } from "../config";
import { CloudiwaySettings } from "../config";
import type { CloudiwayClient } from "../client";
import type { CreateJournal } from "./journal";
import type { RunJournal } from "./runJournal";
import type { SharedReads } from "./sharedReads";
import { FREE_TEXT_MAX, TextKind, emailProblem, normalizeEmail, textProblem } from "../text";

/** What every provider method receives: settings and a client, made at call time. */
export interface Context {
    settings: CloudiwaySettings;
    client(): CloudiwayClient;
    /** Shared answers of list calls within one operation (see ReadCache). */
    cache: ReadCache;
    /** Intents of creates, to recognize the orphan of an interrupted one (see journal.ts). */
    journal?: CreateJournal;
    /** The journal of MigrationRun sends of a stack, so that no runner sends one twice (see runJournal.ts). */
    runs?: (stack: string | undefined) => RunJournal;
}

/**
 * The stack a resource belongs to ("organization/project/stack"), as the resource classes pass it in
 * the hidden input `__stack` (dynamic providers are not told their URN). Journals are keyed by it.
 */
export const STACK_KEY = "__stack";
export function stackOf(props: unknown): string | undefined {
    const v = typeof props === "object" && props !== null ? (props as Record<string, unknown>)[STACK_KEY] : undefined;
    return typeof v === "string" && v && !isUnknown(v) ? v : undefined;
}
/** The hidden input every resource class adds (see STACK_KEY). */
export function stackInput(): string | undefined {
    try {
        return `${pulumi.getOrganization()}/${pulumi.getProject()}/${pulumi.getStack()}`;
    } catch {
        return undefined; // outside a deployment (unit tests with mocks that name no organization)
    }
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

export type { Kind } from "../client/calls";

/** During preview, inputs that are not known yet reach check/diff as this string. */
export const UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9" as const;
export type Unknown = typeof UNKNOWN;

export function isUnknown(v: unknown): v is Unknown {
    return v === UNKNOWN;
}

/** Inputs as preview may have them: any of them may still be unknown. */
export type Planned<I> = { [K in keyof I]: I[K] | Unknown };

/** What check answers: the typed inputs (unknowns kept), or the failures, each naming the property. */
export interface CheckResult<I> {
    inputs: Planned<I> | Record<string, unknown>;
    failures: pulumi.dynamic.CheckFailure[];
}
export interface ReadResult<I, O> {
    /** No id: the object is gone. */
    id?: string;
    props?: O;
    inputs?: I;
}

/**
 * The provider methods of one resource type, typed by its inputs `I` and outputs `O` (after
 * terraform-plugin-framework's typed model and pulumi-go-provider's infer.CreateRequest[Args]).
 * `check` is the one place where the engine's untyped values become typed inputs; the engine
 * then hands every other method what check answered (and what create/update/read answered as
 * outputs), so those take typed values. The untyped edge is `install` (impl.ts).
 */
export interface ResourceImpl<I, O = I> {
    check(ctx: Context, olds: Partial<I> | undefined, news: unknown): Promise<CheckResult<I>>;
    diff(ctx: Context, id: string, olds: O, news: Planned<I>): Promise<pulumi.dynamic.DiffResult>;
    create(ctx: Context, inputs: I): Promise<{ id: string; outs: O }>;
    read(ctx: Context, id: string, props: O): Promise<ReadResult<I, O>>;
    update(ctx: Context, id: string, olds: O, news: I): Promise<{ outs: O }>;
    delete(ctx: Context, id: string, props: O): Promise<void>;
}

function isRecord(v: unknown): v is Record<string, unknown> {
    return typeof v === "object" && v !== null && !Array.isArray(v);
}

/**
 * Validates `news` with a zod schema whose fields may be unknown during preview:
 * unknown fields are removed before parsing and put back afterwards, so they pass
 * through check untouched. Every failing property gets one CheckFailure.
 */
export function checkWith<S extends z.ZodObject>(
    resource: string,
    schema: S,
    news: unknown,
    extra?: (value: z.infer<S>, unknownKeys: Set<string>) => pulumi.dynamic.CheckFailure[],
): CheckResult<z.infer<S>> {
    const given = isRecord(news) ? news : {};
    const unknownKeys = new Set(Object.keys(given).filter((k) => isUnknown(given[k])));
    const known: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(given)) {
        if (k === "__provider" || k === STACK_KEY || unknownKeys.has(k)) continue;
        known[k] = v;
    }
    // Fields that are unknown are optional for this parse.
    const shape: Record<string, z.ZodType> = {};
    for (const [k, v] of Object.entries(schema.shape as Record<string, z.ZodType>)) {
        shape[k] = unknownKeys.has(k) ? z.unknown().optional() : v;
    }
    const parsed = z.object(shape).strict().safeParse(known);
    const textFailures = freeTextFailures(resource, known);
    if (!parsed.success || textFailures.length) {
        const flat = parsed.success ? { fieldErrors: {}, formErrors: [] as string[] } : z.flattenError(parsed.error);
        const failures: pulumi.dynamic.CheckFailure[] = [...textFailures];
        for (const [property, reasons] of Object.entries(flat.fieldErrors as Record<string, string[] | undefined>)) {
            if (textFailures.some((f) => f.property === property)) continue; // one failure per property
            failures.push({ property, reason: `${resource}.${property}: ${(reasons ?? []).join("; ")}` });
        }
        for (const reason of flat.formErrors) {
            const m = /Unrecognized key[s]?: (.*)/.exec(reason);
            failures.push({ property: m ? m[1].replace(/"/g, "").split(",")[0].trim() : "", reason: `${resource}: ${reason}` });
        }
        return { inputs: given, failures };
    }
    const value = parsed.data as z.infer<S>;
    const failures = extra ? extra(value, unknownKeys) : [];
    const inputs: Record<string, unknown> = { ...value };
    for (const k of unknownKeys) inputs[k] = UNKNOWN;
    if (given.__provider !== undefined) inputs.__provider = given.__provider;
    if (given[STACK_KEY] !== undefined) inputs[STACK_KEY] = given[STACK_KEY];
    return { inputs: inputs as Planned<z.infer<S>>, failures };
}

/**
 * Exact diff over declared input properties: only those that changed, `replaces`
 * for those the API cannot update. An unknown new value counts as a change.
 */
export function diffProps<I extends object>(
    olds: Partial<I>,
    news: Planned<I> | Partial<I>,
    props: readonly (keyof I & string)[],
    replaceProps: readonly (keyof I & string)[],
    ignore: readonly (keyof I & string)[] = [],
    /** Outputs an in-place update never changes (e.g. the migration tag): kept known during preview. */
    stableOutputs: readonly string[] = [],
): pulumi.dynamic.DiffResult {
    const changed: string[] = [];
    for (const p of props) {
        if (ignore.includes(p)) continue;
        if (!sameValue(olds[p], (news as Partial<Record<string, unknown>>)[p])) changed.push(p);
    }
    const replaces = changed.filter((p) => (replaceProps as readonly string[]).includes(p));
    return {
        changes: changed.length > 0,
        replaces,
        stables: [...props.filter((p) => !changed.includes(p)), ...(replaces.length ? [] : stableOutputs)],
        deleteBeforeReplace: false,
    };
}

export function sameValue(a: unknown, b: unknown): boolean {
    if (isUnknown(b)) return false;
    if (a === undefined || a === null) return b === undefined || b === null;
    if (typeof a === "object" || typeof b === "object") return JSON.stringify(a) === JSON.stringify(b);
    return a === b;
}

// ---- field rules shared by resources ----
// Free text (provider/text.ts): no control characters, bounded lengths, emails NFC and without
// invisible characters. The same rules as the plan loader's.
/** A zod refinement: the text rules of `kind`; `label` prefixes the message (a field inside an object input). */
export const textRule = (kind: TextKind, label = "") => (s: string, ctx: z.RefinementCtx) => {
    const problem = textProblem(s, kind);
    if (problem) ctx.addIssue({ code: "custom", message: `${label}${problem}` });
};
export const emailField = z
    .string({ error: "must be a string (an email address)" })
    .transform(normalizeEmail)
    .superRefine((s, ctx) => {
        const problem = emailProblem(s);
        if (problem) ctx.addIssue({ code: "custom", message: problem });
    });
/** firstName, lastName. */
export const nameField = z
    .string({ error: "must be a string" })
    .trim()
    .min(1, { message: "must not be empty" })
    .superRefine(textRule("name"));
/** sourceConnectorName, targetConnectorName. */
export const connectorNameField = z
    .string({ error: "must be a string (a connector name)" })
    .trim()
    .min(1, { message: "must not be empty" })
    .superRefine(textRule("connectorName"));
/** A trigger (MigrationRun.trigger, MailUser.selfService.trigger): changing it performs again. */
export const triggerField = z
    .string({ error: "must be a string (change it to run the action again)" })
    .min(1, { message: "must not be empty" })
    .superRefine(textRule("trigger"));
export const kindField = z.enum(["mail", "archive"], { error: 'must be "mail" or "archive"' }).optional();
export const adoptField = z.boolean({ error: "must be true or false" }).optional();
export const deletionPolicyField = z.enum(DELETION_POLICIES, { error: `must be one of ${DELETION_POLICIES.map((p) => `"${p}"`).join(", ")}` }).optional();
export const batchNameField = z
    .string({ error: "must be a string (a batch name)" })
    .trim()
    .min(1, { message: "must not be empty" })
    .superRefine(textRule("batchName"));

/**
 * check's safety net for free text (issue 18): every string input of every resource, and the strings
 * of an object input (MailUser.selfService), holds no control character and at most FREE_TEXT_MAX
 * characters, whether or not its own field rule says so (MigrationRun.trigger). One failure per
 * property, naming `Resource.property`.
 */
export function freeTextFailures(resource: string, known: Record<string, unknown>): pulumi.dynamic.CheckFailure[] {
    const failures: pulumi.dynamic.CheckFailure[] = [];
    for (const [k, v] of Object.entries(known)) {
        const strings: [string, string][] = typeof v === "string" ? [[k, v]]
            : isRecord(v) ? Object.entries(v).filter((e): e is [string, string] => typeof e[1] === "string").map(([kk, vv]) => [`${k}.${kk}`, vv])
            : [];
        for (const [name, s] of strings) {
            const problem = isUnknown(s) ? undefined : textProblem(s, FREE_TEXT_MAX);
            if (problem) { failures.push({ property: k, reason: `${resource}.${name}: ${problem}` }); break; }
        }
    }
    return failures;
}

/** The read cache's keys of the connector lists (lookups.ts): `<kind>:sourceconnectors`, `<kind>:targetconnectors`. */
export function connectorListKey(kind: Kind, side: "source" | "target"): string {
    return `${kind}:${side}connectors`;
}
function isConnectorListKey(k: string): boolean {
    return k === "mail:sourceconnectors" || k === "mail:targetconnectors" || k === "archive:sourceconnectors" || k === "archive:targetconnectors";
}

export function kindOf(props: { kind?: unknown }): Kind {
    return props.kind === "archive" ? "archive" : "mail";
}

/**
 * Shares list answers (getall, batch, getusersinbatch, settings) between the
 * resources of one operation: concurrent reads of a refresh ask the API once.
 * Any mutation clears it, so a read after a write sees the write. The provider
 * process lives for one operation; the time limit only bounds how stale a long
 * read-only operation (a refresh of thousands of resources) can be, and is
 * longer than such a refresh takes (one answer per list for the whole refresh).
 * With `shared` (the provider process of a `pulumi` command, see sharedReads.ts),
 * answers read with `share: true` (plain JSON) also serve the command's other
 * provider process: the update after its preview.
 */
export class ReadCache {
    private entries = new Map<string, { at: number; value: Promise<unknown> }>();
    constructor(private ttlMs = 10 * 60 * 1000, private shared?: SharedReads) {}
    get<T>(key: string, load: () => Promise<T>, opts: { share?: boolean } = {}): Promise<T> {
        const now = Date.now();
        const hit = this.entries.get(key);
        if (hit && now - hit.at < this.ttlMs) return hit.value as Promise<T>;
        const shared = opts.share ? this.shared : undefined;
        const found = shared?.get(key) as T | undefined;
        const value = found !== undefined ? Promise.resolve(found) : load();
        this.entries.set(key, { at: now, value });
        value.then((v) => { if (found === undefined && shared && this.entries.get(key)?.value === value) shared.put(key, v); }, () => this.entries.delete(key));
        return value;
    }
    /** After a mutation. The connector lists (exactly those keys) stay: no call of this provider changes them. */
    clear(): void {
        const keep = isConnectorListKey;
        for (const k of this.entries.keys()) if (!keep(k)) this.entries.delete(k);
        this.shared?.invalidate(keep);
    }
}
