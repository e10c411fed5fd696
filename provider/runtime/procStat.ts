/**
 * /proc/<pid>/stat, read once here for every user (sharedReads.ts: a process's start time; the
 * engine harness: parent, state, CPU time): its fields after the command name, which may itself
 * hold spaces and parentheses. Field n of proc(5) is `fields[n - 3]`; undefined when the process
 * is gone or /proc cannot tell (not Linux).
 */
import * as fs from "fs";

export function procStat(pid: number | string): string[] | undefined {
    let stat: string;
    try {
        stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    } catch {
        return undefined;
    }
    const close = stat.lastIndexOf(")");
    return close < 0 ? undefined : stat.slice(close + 2).split(" ");
}

/** proc(5)'s numbering: state (3), ppid (4), utime (14), stime (15), starttime (22). */
export const STAT = { state: 0, ppid: 1, utime: 11, stime: 12, starttime: 19 } as const;
