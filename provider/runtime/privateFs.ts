/**
 * Files only their owner can touch: the journals and the shared list answers decide what is sent and
 * what is deleted, so another local user must not be able to plant or change them.
 *  - A folder is used only when it is a real folder (lstat: no symlink), owned by this user, and
 *    closed to group and others (0700); one that does not exist is made so. Anything else is refused:
 *    the caller then works without it (asks the API, or keeps no journal), and never trusts it.
 *  - Files are written through a temporary file created with O_EXCL and O_NOFOLLOW, mode 0600, then
 *    renamed into place; they are read with O_NOFOLLOW and only when owned by this user and not
 *    writable by group or others. A planted, foreign or corrupt file reads as missing.
 */
import { createHash } from "crypto";
import * as fs from "fs";

const uid = () => (typeof process.getuid === "function" ? process.getuid() : -1);

/** Why `dir` cannot be trusted, or undefined when it is this user's own 0700 folder. */
export function distrust(dir: string): string | undefined {
    let st: fs.Stats;
    try { st = fs.lstatSync(dir); } catch { return "missing"; }
    if (st.isSymbolicLink()) return "is a symbolic link";
    if (!st.isDirectory()) return "is not a folder";
    if (uid() >= 0 && st.uid !== uid()) return `is owned by uid ${st.uid}, not ${uid()}`;
    if ((st.mode & 0o077) !== 0) return `has mode ${(st.mode & 0o777).toString(8)}, not 700`;
    return undefined;
}

/**
 * Makes `dir` (and missing parents, each 0700) or checks the one there. Returns false when the
 * folder is not this user's private one: the caller must not use it.
 */
export function privateDir(dir: string): boolean {
    try {
        fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    } catch {
        return false;
    }
    return distrust(dir) === undefined;
}

/** Writes `text` to `file` (in a private folder) atomically, 0600, never through a link. */
export function writePrivate(file: string, text: string): void {
    const tmp = `${file}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
    const fd = fs.openSync(tmp, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL | fs.constants.O_NOFOLLOW, 0o600);
    try {
        fs.writeSync(fd, text);
    } finally {
        fs.closeSync(fd);
    }
    try {
        fs.renameSync(tmp, file);
    } catch (e) {
        fs.rmSync(tmp, { force: true });
        throw e;
    }
}

/**
 * writePrivate without blocking the process: a provider serves many calls at once, and a create's
 * journal record written synchronously held every other call's answer while the file system worked.
 */
export async function writePrivateAsync(file: string, text: string): Promise<void> {
    const tmp = `${file}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
    const fh = await fs.promises.open(tmp, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL | fs.constants.O_NOFOLLOW, 0o600);
    try {
        await fh.writeFile(text);
    } finally {
        await fh.close();
    }
    try {
        await fs.promises.rename(tmp, file);
    } catch (e) {
        await fs.promises.rm(tmp, { force: true });
        throw e;
    }
}

/** readPrivate without blocking the process. */
export async function readPrivateAsync(file: string): Promise<string | undefined> {
    let fh: fs.promises.FileHandle;
    try {
        fh = await fs.promises.open(file, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW);
    } catch {
        return undefined;
    }
    try {
        const st = await fh.stat();
        if (!st.isFile() || (uid() >= 0 && st.uid !== uid()) || (st.mode & 0o022) !== 0) return undefined;
        return await fh.readFile("utf8");
    } catch {
        return undefined;
    } finally {
        await fh.close();
    }
}

/** The text of `file` when it is this user's own regular file, closed to others' writes; else undefined. */
export function readPrivate(file: string): string | undefined {
    let fd: number;
    try {
        fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW);
    } catch {
        return undefined;
    }
    try {
        const st = fs.fstatSync(fd);
        if (!st.isFile() || (uid() >= 0 && st.uid !== uid()) || (st.mode & 0o022) !== 0) return undefined;
        return fs.readFileSync(fd, "utf8");
    } catch {
        return undefined;
    } finally {
        fs.closeSync(fd);
    }
}

/**
 * Like readPrivate, for evidence that must fail closed: undefined only when the file does not
 * exist; a file that cannot be read or trusted (a link, another user's, writable by others, an
 * I/O error) throws, saying why.
 */
export function readOwnFile(file: string): string | undefined {
    let fd: number;
    try {
        fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW);
    } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code === "ENOENT") return undefined;
        throw new Error(code === "ELOOP" ? "is a symbolic link" : `cannot be opened (${code ?? (e as Error).message})`);
    }
    try {
        const st = fs.fstatSync(fd);
        if (!st.isFile()) throw new Error("is not a regular file");
        if (uid() >= 0 && st.uid !== uid()) throw new Error(`is owned by uid ${st.uid}, not ${uid()}`);
        if ((st.mode & 0o022) !== 0) throw new Error(`has mode ${(st.mode & 0o777).toString(8)} (writable by others)`);
        return fs.readFileSync(fd, "utf8");
    } finally {
        fs.closeSync(fd);
    }
}

/** The names in a private folder (none when it is not one). */
export function listPrivate(dir: string): string[] {
    if (distrust(dir) !== undefined) return [];
    try { return fs.readdirSync(dir); } catch { return []; }
}

/** The hex SHA-256 of a key: how the journals and the shared reads name their files (never the key itself). */
export const sha = (s: string) => createHash("sha256").update(s).digest("hex");
