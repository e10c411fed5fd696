/**
 * Free text at the boundary: what a name, a batch name, a connector name, a trigger or
 * an email may hold, shared by the provider's check (runtime/model.ts: `Resource.property`) and the plan
 * loader (plan/load.ts: `file:line`), so both refuse the same values with the same words.
 *
 *  - No control characters: C0 (U+0000–U+001F: newline, tab, ...), DEL, C1 (U+0080–U+009F) and the
 *    Unicode line and paragraph separators (U+2028, U+2029). A value with one would leave its line
 *    in every report, log and pull-request comment that shows it.
 *  - No bidirectional controls (U+061C, U+200E, U+200F, U+202A–U+202E, U+2066–U+2069): a batch
 *    named with a right-to-left override shows its characters in another order than they are
 *    (a "Trojan Source" name) in every report and comment. Right-to-left letters are fine.
 *  - Bounded lengths (docs/guardrails-and-drift.md, "Input limits and escaping", says where each comes from). Counted in
 *    characters (Unicode code points).
 *  - Emails are NFC-normalized (an "ë" typed as one character or as "e" + combining diaeresis is one
 *    mailbox) and may hold no zero-width or invisible formatting character (U+200B–U+200F,
 *    U+202A–U+202E, U+2060–U+2064, U+2066–U+2069, U+FEFF, U+00AD, U+180E): they would make two users
 *    for one mailbox.
 */

/** The length limits, in characters. */
export const TEXT_LIMITS = {
    /** A first or last name: Microsoft 365's givenName/surname (the migration's target) take at most 64. */
    name: 64,
    /** An email address: RFC 5321 (4.5.3.1.3) bounds a path to 256 octets, 254 without its angle brackets. */
    email: 254,
    /** A batch name: the vendor states none; this project's bound since the first release. */
    batchName: 256,
    /** A connector name: the vendor states none; the same bound as a batch name. */
    connectorName: 256,
    /** A MigrationRun's or a self-service trigger: a label to change, not data. */
    trigger: 256,
} as const;
export type TextKind = keyof typeof TEXT_LIMITS;

/** Any string input of a resource that no tighter rule bounds (check's safety net). */
export const FREE_TEXT_MAX = 256;

const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/u;
const BIDI = /[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/u;
const INVISIBLE = /[\u00ad\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]/u;
const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/u;

const codePoint = (c: string) => `U+${c.codePointAt(0)!.toString(16).toUpperCase().padStart(4, "0")}`;
/** Characters, as people count them (code points, not UTF-16 units). */
export const lengthOf = (s: string) => [...s].length;

/** Why `s` holds a control character ("contains a control character (U+000A) at character 7"), or undefined. */
export function controlProblem(s: string): string | undefined {
    const m = CONTROL.exec(s);
    if (!m) return undefined;
    return `must not contain control characters (line breaks, tabs, ...): ${codePoint(m[0])} at character ${lengthOf(s.slice(0, m.index)) + 1}`;
}

/** Why `s` holds a bidirectional control character, or undefined. */
export function bidiProblem(s: string): string | undefined {
    const m = BIDI.exec(s);
    if (!m) return undefined;
    return `must not contain bidirectional control characters (they reorder what is shown): ${codePoint(m[0])} at character ${lengthOf(s.slice(0, m.index)) + 1}`;
}

/** Why `s` is not acceptable free text of this kind, or undefined. `s` is already trimmed. */
export function textProblem(s: string, kind: TextKind | number): string | undefined {
    const control = controlProblem(s) ?? bidiProblem(s);
    if (control) return control;
    const max = typeof kind === "number" ? kind : TEXT_LIMITS[kind];
    const n = lengthOf(s);
    if (n > max) return `must be at most ${max} characters (got ${n})`;
    return undefined;
}

/** The one form of an email this project compares and sends: trimmed, NFC, lower case. */
export function normalizeEmail(s: string): string {
    return s.trim().normalize("NFC").toLowerCase();
}

/** Why `s` (normalized) is not an email address this project takes, or undefined. */
export function emailProblem(s: string): string | undefined {
    const control = controlProblem(s);
    if (control) return control;
    const inv = INVISIBLE.exec(s);
    if (inv) return `must not contain invisible characters (zero-width, direction marks, ...): ${codePoint(inv[0])} at character ${lengthOf(s.slice(0, inv.index)) + 1}`;
    if (!EMAIL.test(s)) return "must be an email address like user@example.com";
    const n = lengthOf(s);
    if (n > TEXT_LIMITS.email) return `must be at most ${TEXT_LIMITS.email} characters (got ${n})`;
    return undefined;
}
