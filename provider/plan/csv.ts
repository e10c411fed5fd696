/** The CSV files of a plan (Cloudiway's upload format): rows as RFC 4180 reads them; plan/load.ts reads the users from them. */
/** RFC 4180 rows with their line numbers; `;` or `,` detected from the header. */
export function parseCsv(text: string): { cells: string[]; line: number; error?: string }[] {
    if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    const firstLine = text.split(/\r?\n/, 1)[0];
    const delim = (firstLine.match(/;/g)?.length ?? 0) > (firstLine.match(/,/g)?.length ?? 0) ? ";" : ",";
    const rows: { cells: string[]; line: number; error?: string }[] = [];
    let i = 0, line = 1;
    while (i < text.length) {
        const start = line;
        const cells: string[] = [];
        let cell = "", quoted = false, error: string | undefined;
        for (;;) {
            if (i >= text.length) {
                if (quoted) error = "unterminated quoted field";
                cells.push(cell);
                break;
            }
            const ch = text[i];
            if (quoted) {
                if (ch === '"' && text[i + 1] === '"') { cell += '"'; i += 2; continue; }
                if (ch === '"') { quoted = false; i++; continue; }
                if (ch === "\n") line++;
                cell += ch; i++;
                continue;
            }
            if (ch === '"' && cell === "") { quoted = true; i++; continue; }
            if (ch === delim) { cells.push(cell); cell = ""; i++; continue; }
            if (ch === "\r" && text[i + 1] === "\n") { i++; continue; }
            if (ch === "\n") { cells.push(cell); i++; line++; break; }
            cell += ch; i++;
        }
        if (cells.length === 1 && cells[0].trim() === "" && !error) continue; // blank line
        rows.push({ cells, line: start, ...(error ? { error } : {}) });
    }
    return rows;
}
