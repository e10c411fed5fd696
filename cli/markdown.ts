/**
 * The one escaping function of the pull-request comment (plan-summary and its cost section): every
 * user value — names, emails, batch names, triggers, diagnostics — goes through `mdText` before it
 * is put in a table cell or a list item, so that it can never leave it:
 *
 *  - bidirectional controls (U+061C, U+200E/F, U+202A–U+202E, U+2066–U+2069) are removed: text
 *    shown in another order than it is written cannot pass for something else;
 *  - line breaks and every other control character become spaces (a value is one line: a batch
 *    named "Wave 9\n<!--" cannot start a line, and so cannot open a comment that hides the rest);
 *  - HTML is text: `&`, `<`, `>` become entities (no `<img>`, no `<!--`, no `<details>`);
 *  - Markdown syntax is text: `\` `` ` `` `*` `_` `~` `[` `]` `|` `!` are backslash-escaped (no
 *    link, image, emphasis, code span or cell break), and a block marker at the start (`#`, `>`,
 *    `-`, `+`, `=`, `1.`) is escaped too (no heading or nested list inside a list item);
 *  - `@` mentions do not ping: a zero-width space follows every `@` that could start one (one at
 *    the start or after a character that is not an ASCII letter, digit or `_`: GitHub's rule), as
 *    dependency bots do in their pull requests (`@&#8203;org/team`); `ada@example.com` stays as it is.
 */

const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]+/gu;
const BIDI = /[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/gu;
const HTML: Record<string, string> = { "&": "&amp;", "<": "&lt;", ">": "&gt;" };

/** A user value as text of one Markdown table cell or list item. */
export function mdText(value: unknown): string {
    let s = String(value).replace(BIDI, "").replace(CONTROL, " ").replace(/ {2,}/g, " ").trim();
    s = s.replace(/[&<>]/g, (c) => HTML[c]);
    s = s.replace(/[\\`*_~[\]|!]/g, (c) => `\\${c}`);
    s = s.replace(/(?<![A-Za-z0-9_])@/g, "@&#8203;");
    // A block marker at the start of a list item's text (after "- ").
    s = s.replace(/^([#+=-])/, "\\$1").replace(/^(\d+)([.)])/, "$1\\$2");
    return s;
}
