/**
 * The model of a resource, declared once (defineModel): its zod input schema, its output fields, which
 * inputs replace and which matter at create only. From it come the Args type of its class, its input
 * keys, its check and diff, what its read() returns, and the plan file's keys (plan/load.ts). After
 * terraform-plugin-framework's one model struct and pulumi-go-provider's inferred Args and State.
 */
import * as pulumi from "@pulumi/pulumi";
import { z } from "zod";
import { FREE_TEXT_MAX, textProblem } from "../text";
import type { Context } from "./context";
import { shimFor } from "./shim";
import { processHeap } from "./heap";
import { StoredSpec, TextKeys, storedFields } from "./stored";
import { leanPromiseTraces, leanStacks } from "./traces";
import { isUnknown, STACK_KEY, stackInput, UNKNOWN, type Unknown } from "./inputs";
import type { JournalSpec } from "./journal";

export { UNKNOWN, Unknown, isUnknown, STACK_KEY, stackOf, stackInput } from "./inputs";

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
 * The words of one zod issue, the same for a resource's check (`Resource.property: ...`) and the plan
 * loader (`file:line: property ...`): a value that is missing "is required", a key nobody declared is
 * "unknown" with the keys that are known; otherwise the field rule's own message.
 */
export function issueMessage(iss: z.core.$ZodIssue, root: unknown): string {
    if (iss.code === "invalid_type" && valueAt(root, iss.path) === undefined) return `is required: ${iss.message}`;
    return iss.message;
}
function valueAt(root: unknown, path: readonly PropertyKey[]): unknown {
    let v = root;
    for (const k of path) v = typeof v === "object" && v !== null ? (v as Record<PropertyKey, unknown>)[k] : undefined;
    return v;
}

/** A zod object that refuses unknown keys, saying which keys it knows (`typeMessage`: when it is not an object). */
export function strictObject<S extends z.ZodRawShape>(shape: S, typeMessage = "must be an object") {
    const keys = Object.keys(shape);
    return z.strictObject(shape, {
        error: (iss) => iss.code === "unrecognized_keys"
            ? `unknown key${iss.keys.length > 1 ? "s" : ""} ${iss.keys.map((k) => `"${k}"`).join(", ")} (expected one of: ${keys.join(", ")})`
            : iss.code === "invalid_type" ? typeMessage : undefined,
    });
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
    const parsed = strictObject(shape).safeParse(known);
    const textFailures = freeTextFailures(resource, known);
    if (!parsed.success || textFailures.length) {
        const failures: pulumi.dynamic.CheckFailure[] = [...textFailures];
        // One failure per property (the first word of each issue's path), its reasons joined.
        const byProperty = new Map<string, string[]>();
        for (const iss of parsed.success ? [] : parsed.error.issues) {
            const property = iss.code === "unrecognized_keys" && iss.path.length === 0 ? iss.keys[0] : String(iss.path[0] ?? "");
            if (textFailures.some((f) => f.property === property)) continue;
            byProperty.set(property, [...(byProperty.get(property) ?? []), issueMessage(iss, known)]);
        }
        for (const [property, reasons] of byProperty) {
            const unknownKey = !Object.prototype.hasOwnProperty.call(schema.shape, property);
            failures.push({ property, reason: `${resource}${unknownKey ? "" : `.${property}`}: ${reasons.join("; ")}` });
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

/**
 * check's safety net for free text: every string input of every resource, and the strings
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


// ---------------------------------------------------------------- the model of a resource
/** The declaration of a resource type: everything else about its shape is derived from it. */
export interface ModelSpec<S extends z.ZodRawShape, OS extends z.ZodRawShape, W extends StoredSpec<S> = {}> {
    /** The type token's last part, and the name in messages (`MailUser.lastName: ...`). */
    type: string;
    /** The inputs, as zod fields: the rule and the message of each, its type, and its doc comment. */
    inputs: S;
    /** What the resource adds to its inputs as outputs (types; the rules are the API's). */
    outputs: OS;
    /** Inputs the API cannot change in place: a change replaces the resource. */
    replaces: readonly (keyof S & string)[];
    /** Inputs that matter at create only (adopt): never a change. */
    createOnly?: readonly (keyof S & string)[];
    /**
     * What an input left out means (KIND_ABSENT: no kind is "mail"): diff compares a missing value as
     * this one, so a program may leave out a default without a change or a replace.
     */
    absentMeans?: { readonly [K in keyof S & string]?: unknown };
    /** Outputs an in-place update never changes (kept known during preview). */
    stableOutputs?: readonly (keyof OS & string)[];
    /**
     * The inputs the API stores, each with its wire name (stored.ts): the create and update body, what
     * read compares (drift), the plan's keys and export-plan's entries come from this list.
     */
    stored?: W & { readonly [K in Exclude<keyof W, TextKeys<S>>]: never };
    /**
     * Its journal, for a type whose object or action an interrupted `up` must not make twice: the
     * natural key of one object or one performance, and what is journaled (see JournalSpec). Such a
     * type carries the hidden input `__stack` (its journals are kept per stack).
     */
    journal?: JournalSpec;
}

export function defineModel<S extends z.ZodRawShape, OS extends z.ZodRawShape, const W extends StoredSpec<S> = {}>(spec: ModelSpec<S, OS, W>) {
    const schema = z.object(spec.inputs);
    const outputSchema = z.object(spec.outputs);
    type I = z.infer<typeof schema>;
    const inputKeys = Object.keys(spec.inputs) as (keyof I & string)[];
    const outputKeys = Object.keys(spec.outputs) as (keyof OS & string)[];
    const createOnly: readonly string[] = spec.createOnly ?? [];
    const diffed = inputKeys.filter((k) => !createOnly.includes(k));
    const absentMeans: Readonly<Record<string, unknown>> = spec.absentMeans ?? {};
    /** Every input left out that has a meaning (absentMeans) set to it: what diff compares. */
    const filled = <P extends object>(p: P): P => {
        const out = { ...p } as Record<string, unknown>;
        for (const [k, v] of Object.entries(absentMeans)) if (out[k] === undefined || out[k] === null) out[k] = v;
        return out as P;
    };
    return {
        type: spec.type, schema, outputSchema, inputKeys, outputKeys, diffed,
        replaces: spec.replaces as readonly (keyof I & string)[],
        absentMeans,
        filled,
        /** The inputs the API stores, by wire name (stored.ts). */
        stored: storedFields<S, W>(spec.inputs, (spec.stored ?? {}) as W),
        journal: spec.journal,
        /** check: the schema's rules (`extra`: rules across fields). */
        check(news: unknown, extra?: (value: I, unknownKeys: Set<string>) => pulumi.dynamic.CheckFailure[]): CheckResult<I> {
            return checkWith(spec.type, schema, news, extra);
        },
        /** diff: every declared input but the create-only ones (one left out as what it means: absentMeans); the replacing ones replace. */
        diff(olds: Partial<I>, news: Planned<I> | Partial<I>): pulumi.dynamic.DiffResult {
            return diffProps<I>(filled(olds), filled(news), diffed, spec.replaces as readonly (keyof I & string)[], [], spec.stableOutputs ?? []);
        },
        /** The declared inputs among outputs (or planned inputs): every one that is set and known. What read() returns. */
        inputsOf(props: object): I {
            const out: Record<string, unknown> = {};
            for (const k of inputKeys) {
                const v = (props as Record<string, unknown>)[k];
                if (v !== undefined && !isUnknown(v)) out[k] = v;
            }
            return out as I; // the keys of I that are set, each known
        },
        /**
         * What the resource class hands the engine: the outputs the object is to have (every one unless
         * `outputs` names some; unknown until the create), the args, the stack. An output left out is
         * still in the state (the provider returns it; refresh, drift and `pulumi stack export` see it),
         * only not a property of the program's object: each property costs a large program memory.
         */
        props(args: object, outputs: readonly (keyof OS & string)[] = outputKeys): Record<string, unknown> {
            const outs: Record<string, unknown> = {};
            for (const k of outputs) outs[k] = undefined;
            return spec.journal ? { ...outs, ...args, [STACK_KEY]: stackInput() } : { ...outs, ...args };
        },
    };
}

/** A resource's inputs and outputs, from its model. */
export type InputsOf<M extends { schema: z.ZodObject }> = z.infer<M["schema"]>;
export type OutputsOf<M extends { schema: z.ZodObject; outputSchema: z.ZodObject }> = z.infer<M["schema"]> & z.infer<M["outputSchema"]>;

type Primitive = string | number | boolean | null | undefined;
/** A value the program may give as a plain value, a promise or an Output, at every level. */
export type DeepInput<T> = [T] extends [Primitive] ? pulumi.Input<T>
    : [T] extends [readonly (infer E)[]] ? pulumi.Input<DeepInput<E>[]>
    : pulumi.Input<{ [K in keyof T]: DeepInput<T[K]> }>;
/** The Args interface of a resource class: its inputs, each an Input. */
export type ArgsOf<I> = { [K in keyof I]: DeepInput<I[K]> };
/** The output properties of a resource class (merged into the class by an interface of the same name). */
export type ResourceOutputs<O> = { readonly [K in keyof O]-?: pulumi.Output<O[K]> };

/**
 * The base of the five resource classes: registers `type` through the serialized shim (shim.ts),
 * with lean stack traces (leanStacks). The type token is `pulumi-nodejs:dynamic/cloudiway:<type>`.
 */
export abstract class ModelResource extends pulumi.dynamic.Resource {
    protected constructor(type: string, name: string, props: Record<string, unknown>, opts?: pulumi.CustomResourceOptions) {
        processHeap.count(); // a large plan's program bounds its heap's growth (heap.ts)
        leanPromiseTraces();
        const restore = leanStacks();
        try {
            super(shimFor(type), name, props, opts, "cloudiway", type);
        } finally {
            restore();
        }
    }
}
