/**
 * The docs a newcomer reads: README.md is a front page (at most 250 lines), and every relative link
 * and #anchor in README.md and docs/*.md leads somewhere (the file or folder exists; the anchor is a
 * heading of that Markdown file, slugged as GitHub slugs it). Links to the web are not followed.
 */
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { execFileSync } from "child_process";

const ROOT = path.resolve(__dirname, "..", "..");
const README_MAX_LINES = 250;

/** The Markdown files checked: the README and every guide in docs/ (not docs/api, which is generated). */
export function docFiles(root: string): string[] {
    const docs = path.join(root, "docs");
    const guides = fs.existsSync(docs) ? fs.readdirSync(docs).filter((f) => f.endsWith(".md")).sort().map((f) => path.join(docs, f)) : [];
    return [path.join(root, "README.md"), ...guides];
}

/** The text without fenced code blocks (their lines kept empty, so line numbers stay right). */
function withoutFences(text: string): string[] {
    let fence: string | undefined;
    return text.split("\n").map((line) => {
        const m = /^ {0,3}(`{3,}|~{3,})/.exec(line);
        if (fence) {
            if (m && m[1][0] === fence[0] && m[1].length >= fence.length) fence = undefined;
            return "";
        }
        if (m) { fence = m[1]; return ""; }
        return line;
    });
}

/** GitHub's anchor for a heading's text (github-slugger): lower case, punctuation dropped, spaces to hyphens. */
export function githubSlug(heading: string): string {
    const text = heading
        .replace(/!?\[([^\]]*)\]\([^)]*\)/g, "$1")   // a link's text only
        .replace(/<[^>]+>/g, "");                    // HTML tags
    return text.trim().toLowerCase().replace(/[^\p{L}\p{M}\p{N}\p{Pc} -]/gu, "").replace(/ /g, "-");
}

/** The anchors of a Markdown file: its headings' slugs, a repeated one numbered -1, -2, ... as GitHub does. */
export function anchorsOf(text: string): Set<string> {
    const seen = new Map<string, number>();
    const anchors = new Set<string>();
    for (const line of withoutFences(text)) {
        const m = /^ {0,3}#{1,6}\s+(.*?)\s*#*\s*$/.exec(line);
        if (!m) continue;
        const base = githubSlug(m[1]);
        const n = seen.get(base) ?? 0;
        seen.set(base, n + 1);
        anchors.add(n === 0 ? base : `${base}-${n}`);
    }
    return anchors;
}

export interface Link { file: string; line: number; target: string }

/** Every inline link and image target outside code (fenced blocks and `code spans`). */
export function linksOf(file: string, text: string): Link[] {
    const links: Link[] = [];
    withoutFences(text).forEach((raw, i) => {
        const line = raw.replace(/(`+)[^`]*?\1/g, "");
        for (const m of line.matchAll(/!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)) {
            links.push({ file, line: i + 1, target: m[1] });
        }
    });
    return links;
}

/** What is wrong with one link, or undefined when it resolves. */
export function brokenLink(link: Link, read: (file: string) => string | undefined, exists: (p: string) => boolean): string | undefined {
    if (/^[a-z][a-z0-9+.-]*:/i.test(link.target)) return undefined;   // https:, mailto:: not followed
    const hash = link.target.indexOf("#");
    const rel = decodeURIComponent(hash >= 0 ? link.target.slice(0, hash) : link.target);
    const anchor = hash >= 0 ? decodeURIComponent(link.target.slice(hash + 1)) : undefined;
    const target = rel === "" ? link.file : path.resolve(path.dirname(link.file), rel);
    if (!exists(target)) return `${rel} does not exist (in a clean clone: is it committed?)`;
    if (anchor === undefined) return undefined;
    if (!target.endsWith(".md")) return `#${anchor} points into ${rel}, not a Markdown file`;
    const text = read(target);
    if (text === undefined) return `${rel} cannot be read`;
    return anchorsOf(text).has(anchor) ? undefined : `#${anchor} is no heading of ${path.relative(ROOT, target)}`;
}

describe("docs", () => {
    const files = docFiles(ROOT);
    const read = (f: string) => { try { return fs.readFileSync(f, "utf8"); } catch { return undefined; } };

    it(`README.md is a front page of at most ${README_MAX_LINES} lines`, () => {
        const lines = fs.readFileSync(path.join(ROOT, "README.md"), "utf8").replace(/\n$/, "").split("\n").length;
        assert.ok(lines <= README_MAX_LINES, `README.md has ${lines} lines (at most ${README_MAX_LINES}: move the rest to a guide in docs/)`);
    });

    it("the guides a newcomer looks for are in docs/", () => {
        for (const guide of ["getting-started", "campaign", "large-plans-and-shards", "guardrails-and-drift", "configuration", "emulator", "contributing"]) {
            assert.ok(fs.existsSync(path.join(ROOT, "docs", `${guide}.md`)), `docs/${guide}.md exists`);
        }
    });

    // What a clean clone has: a file committed (or staged), not one only this checkout holds (an ignored
    // bench result, a build output); a folder holding such a file. Outside a git checkout, what exists.
    const tracked = (() => {
        try {
            return new Set(execFileSync("git", ["ls-files", "-z"], { cwd: ROOT, encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).split("\0").filter(Boolean));
        } catch {
            return undefined;
        }
    })();
    const inClone = (p: string): boolean => {
        if (!fs.existsSync(p)) return false;
        if (!tracked) return true;
        const rel = path.relative(ROOT, p).split(path.sep).join("/");
        return rel === "" || tracked.has(rel) || [...tracked].some((f) => f.startsWith(`${rel}/`));
    };

    it("every relative link and #anchor in README.md and docs/*.md resolves in a clean clone (the target is committed)", () => {
        const broken: string[] = [];
        let checked = 0;
        for (const file of files) {
            for (const link of linksOf(file, fs.readFileSync(file, "utf8"))) {
                checked++;
                const why = brokenLink(link, read, inClone);
                if (why) broken.push(`${path.relative(ROOT, file)}:${link.line}: (${link.target}) ${why}`);
            }
        }
        assert.ok(checked > 20, `links were found (${checked})`);
        assert.deepStrictEqual(broken, [], "broken links");
    });

    it("contributing.md's worked example (a stored input on MailUser) applies to today's tree and touches only the model and the emulator", () => {
        const text = fs.readFileSync(path.join(ROOT, "docs", "contributing.md"), "utf8");
        const diff = /### Worked example[^\n]*\n[\s\S]*?```diff\n([\s\S]*?)```/.exec(text)?.[1];
        assert.ok(diff, "the worked example has a diff block");
        const files = [...diff.matchAll(/^\+\+\+ b\/(\S+)$/gm)].map((m) => m[1]);
        assert.ok(files.includes("provider/resources/mailUser.ts"), `the model is in the diff (${files.join(", ")})`);
        assert.deepStrictEqual(files.filter((f) => f !== "provider/resources/mailUser.ts" && !f.startsWith("emulator/")), [], "only the model and the emulator");
        // git apply --check: the diff still applies (its context lines match the sources), and changes nothing.
        execFileSync("git", ["apply", "--check", "-"], { cwd: ROOT, input: diff, stdio: ["pipe", "pipe", "pipe"] });
    });

    it("the checker itself: a missing file, a missing anchor, GitHub's slugs", () => {
        const file = path.join(ROOT, "docs", "x.md");
        const text = "# Title\n## Running the campaign: every `up` is short\n## Self-service (emulator only)\n## Title\n```\n## not a heading\n```\n";
        const readX = (f: string) => (f === file ? text : undefined);
        const exists = (p: string) => p === file;
        const check = (target: string) => brokenLink({ file, line: 1, target }, readX, exists);
        assert.strictEqual(check("#running-the-campaign-every-up-is-short"), undefined);
        assert.strictEqual(check("#self-service-emulator-only"), undefined);
        assert.strictEqual(check("#title-1"), undefined);
        assert.match(check("#not-a-heading") ?? "", /no heading/);
        assert.match(check("missing.md") ?? "", /does not exist/);
        assert.strictEqual(check("https://example.com/#anything"), undefined);
        assert.deepStrictEqual(linksOf(file, "see [a](a.md) and `[b](b.md)`\n```\n[c](c.md)\n```\n").map((l) => l.target), ["a.md"]);
    });
});
