/**
 * The inputs the API stores, declared once in a resource's model (`stored`: input -> wire name). From
 * that list come the body a create or an update sends, what read takes back from the API's record (so
 * drift is seen on every one of them), and whether an update has anything to send; the plan's keys,
 * MigrationPlan's args and export-plan's entries iterate it too. A new stored input is one line of
 * the model (see docs/contributing.md).
 */
import { z } from "zod";
import { wireText } from "../client/schemas";

/** The inputs of a shape whose values are text: only those can be stored (the API's fields are strings). */
export type TextKeys<S extends z.ZodRawShape> = { [K in keyof S & string]: z.output<S[K]> extends string | undefined ? K : never }[keyof S & string];
/** Stored inputs -> their wire names. */
export type StoredSpec<S extends z.ZodRawShape> = { readonly [K in TextKeys<S>]?: string };
/** The body of a create or update: each stored input's value under its wire name. */
export type WireBody<S extends z.ZodRawShape, W> = { [K in keyof W & keyof S as W[K] & string]: z.output<S[K]> };

export function storedFields<S extends z.ZodRawShape, const W extends StoredSpec<S>>(shape: S, wire: W) {
    type Key = keyof W & TextKeys<S>;
    /** Stored inputs' values (any of them may be unset). */
    type Values = { [K in Key]?: z.output<S[K]> };
    const keys = Object.keys(wire) as Key[];
    const wireOf = wire as Readonly<Record<string, string>>;
    const valueOf = (k: Key, record: { wire: Readonly<Record<string, string>> }): { value?: string; problem?: string } => {
        const raw = wireText(record, wireOf[k]);
        const rule = shape[k] as unknown as z.ZodType;
        if (raw === undefined || raw.trim() === "") {
            // An optional input the record leaves out or blank is no evidence (it stays as declared); a
            // required one that is blank or missing is read as blank, so a name cleared in the portal
            // shows as drift and is never taken as declared.
            if (rule.safeParse(undefined).success) return {};
            return { value: "", problem: rule.safeParse("").success ? undefined : "must not be empty" };
        }
        const parsed = rule.safeParse(raw);
        if (parsed.success && typeof parsed.data === "string") return { value: parsed.data };
        return { value: raw.trim(), problem: parsed.success ? undefined : parsed.error.issues[0]?.message };
    };
    return {
        /** The stored inputs, in their declared order. */
        keys,
        /** The wire name of a stored input. */
        wireName(k: Key): string {
            return wireOf[k];
        },
        /** The body of a create or update: every stored input that is set, under its wire name. */
        body(inputs: Values): WireBody<S, W> {
            const out: Record<string, unknown> = {};
            for (const k of keys) {
                const v = (inputs as Record<string, unknown>)[k];
                if (v !== undefined) out[wireOf[k]] = v;
            }
            return out as WireBody<S, W>;
        },
        /** Whether an update has anything to send: a stored input differs. */
        changed(olds: Values, news: Values): boolean {
            return keys.some((k) => (olds as Record<string, unknown>)[k] !== (news as Record<string, unknown>)[k]);
        },
        /**
         * One stored input as the API's record holds it, read by the input's own rule (an email
         * normalized, a name trimmed): `value` (undefined when the record leaves an optional input out or
         * blank; "" for a required one), and
         * `problem`, the rule's message when the value breaks it (the value is then the text trimmed).
         */
        valueOf,
        /** The stored inputs the API's record holds (each as valueOf reads it); those it leaves out are not set. */
        from(record: { wire: Readonly<Record<string, string>> }): Values {
            const out: Record<string, string> = {};
            for (const k of keys) {
                const { value } = valueOf(k, record);
                if (value !== undefined) out[k] = value;
            }
            return out as Values;
        },
    };
}
