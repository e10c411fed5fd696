/** `--name value` pairs, `--flag` alone (then "1"), and `--help` of the project's small command-line tools. */
export function parseArgs(argv: string[]): Record<string, string> {
    const out: Record<string, string> = {};
    for (let i = 0; i < argv.length; i++) {
        const a = argv[i];
        if (a === "--help" || a === "-h") out.help = "1";
        else if (a.startsWith("--")) out[a.slice(2)] = argv[i + 1] === undefined || argv[i + 1].startsWith("--") ? "1" : argv[++i];
    }
    return out;
}
