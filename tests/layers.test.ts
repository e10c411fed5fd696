/**
 * The layers docs/contributing.md draws are the ones the imports draw: each folder of provider/ imports
 * only the folders below it, the emulator (the vendor's side) imports nothing of the package or the
 * CLI, and no source file reaches itself through its imports (type imports included). Read from the
 * TypeScript sources, so a new import that runs back up fails here, naming the file and the import.
 */
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";

const ROOT = path.resolve(__dirname, "..", "..");
const SOURCES = ["provider", "cli", "emulator", "policy", "harness"];

function sourceFiles(dir: string): string[] {
    const out: string[] = [];
    for (const e of fs.readdirSync(path.join(ROOT, dir), { withFileTypes: true })) {
        const rel = path.join(dir, e.name);
        if (e.isDirectory()) out.push(...sourceFiles(rel));
        else if (e.name.endsWith(".ts") && !e.name.endsWith(".d.ts")) out.push(rel);
    }
    return out;
}

/** The files of this repository a source file imports (static, dynamic, re-export, type-only), as repo-relative paths. */
function importsOf(file: string): string[] {
    const text = fs.readFileSync(path.join(ROOT, file), "utf8");
    const out: string[] = [];
    const re = /(?:\bfrom\s+|\bimport\s*\(\s*|\brequire\s*\(\s*|^\s*import\s+)["'](\.{1,2}\/[^"']+)["']/gm;
    for (const m of text.matchAll(re)) {
        const base = path.normalize(path.join(path.dirname(file), m[1]));
        const hit = [`${base}.ts`, path.join(base, "index.ts")].find((f) => fs.existsSync(path.join(ROOT, f)));
        if (hit) out.push(hit);
    }
    return out;
}

const files = SOURCES.flatMap(sourceFiles);
const graph = new Map(files.map((f) => [f, importsOf(f)]));

/** Imports of files under `from` that land under any of `forbidden`. */
function crossings(from: string, forbidden: string[]): string[] {
    const out: string[] = [];
    for (const [f, deps] of graph) {
        if (!f.startsWith(from + path.sep)) continue;
        for (const d of deps) if (forbidden.some((x) => d === x || d.startsWith(x + path.sep))) out.push(`${f} imports ${d}`);
    }
    return out;
}

describe("layers: imports run one way", () => {
    it("reads the sources (the graph is not empty, and it sees a known import)", () => {
        assert.ok(files.length > 50, `${files.length} source files`);
        assert.ok(graph.get(path.join("provider", "impl.ts"))?.some((d) => d.startsWith(path.join("provider", "resources"))), "provider/impl.ts installs the resources");
    });

    const P = (...p: string[]) => path.join("provider", ...p);
    const rules: [string, string[]][] = [
        [P("client"), [P("runtime"), P("resources"), P("campaign"), P("plan"), P("impl.ts"), P("models.ts"), "cli", "policy", "emulator"]],
        [P("runtime"), [P("resources"), P("campaign"), P("plan"), P("impl.ts"), P("models.ts"), "cli", "policy", "emulator"]],
        [P("campaign"), [P("resources"), P("plan"), P("impl.ts"), P("models.ts"), "cli", "policy", "emulator"]],
        [P("resources"), [P("plan"), P("impl.ts"), "cli", "policy", "emulator"]],
        [P("plan"), ["cli", "policy", "emulator"]],
        ["emulator", ["provider", "cli", "policy", "harness"]],
        ["policy", ["cli", "emulator", "harness"]],
    ];
    for (const [from, forbidden] of rules) {
        it(`${from}/ imports none of ${forbidden.join(", ")}`, () => {
            assert.deepStrictEqual(crossings(from, forbidden), []);
        });
    }

    it("no circles: no source file reaches itself through its imports", () => {
        // Tarjan's strongly connected components; any component of more than one file is a circle.
        let index = 0;
        const idx = new Map<string, number>(), low = new Map<string, number>(), on = new Set<string>(), stack: string[] = [];
        const circles: string[][] = [];
        const visit = (v: string): void => {
            idx.set(v, index); low.set(v, index); index++; stack.push(v); on.add(v);
            for (const w of graph.get(v) ?? []) {
                if (!graph.has(w)) continue;
                if (!idx.has(w)) { visit(w); low.set(v, Math.min(low.get(v)!, low.get(w)!)); }
                else if (on.has(w)) low.set(v, Math.min(low.get(v)!, idx.get(w)!));
            }
            if (low.get(v) === idx.get(v)) {
                const c: string[] = [];
                let w: string;
                do { w = stack.pop()!; on.delete(w); c.push(w); } while (w !== v);
                if (c.length > 1) circles.push(c.sort());
            }
        };
        for (const f of graph.keys()) if (!idx.has(f)) visit(f);
        assert.deepStrictEqual(circles, []);
    });
});
