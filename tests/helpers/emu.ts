/** Small helpers over the emulator's control API for tests, and the one emulator fixture type. */
import type { startEmulator } from "../../emulator";

/** A running emulator, as startEmulator gives it: every test file's fixture type. */
export type Emu = Awaited<ReturnType<typeof startEmulator>>;

export async function emuState(baseUrl: string): Promise<any> {
    return (await fetch(`${baseUrl}/_emulator/state`)).json();
}
export async function emuStats(baseUrl: string): Promise<{ total: number; mutating: number; byCall: Record<string, number> }> {
    return (await fetch(`${baseUrl}/_emulator/stats`)).json() as any;
}
export async function emuResetStats(baseUrl: string): Promise<void> {
    await fetch(`${baseUrl}/_emulator/stats/reset`, { method: "POST" });
}
export async function emuCalls(baseUrl: string): Promise<any[]> {
    return (await fetch(`${baseUrl}/_emulator/calls`)).json() as any;
}
export async function emuFaults(baseUrl: string, faults: Record<string, unknown>): Promise<void> {
    await fetch(`${baseUrl}/_emulator/faults`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(faults) });
}
export function usersOf(state: any, kind: "mail" | "archive" = "mail"): any[] {
    return state[kind].users;
}
export function batchesOf(state: any, kind: "mail" | "archive" = "mail"): any[] {
    return state[kind].batches;
}
/** The self-service mails the emulator "sent" (emulator only): to, from, subject, link, tag, family, recipient, time. */
export async function emuOutbox(baseUrl: string): Promise<any[]> {
    return (await fetch(`${baseUrl}/_emulator/outbox`)).json() as any;
}

/** POST to the emulator's control API with a JSON body; fails the test when the control call is refused. */
export async function emuControl(baseUrl: string, path: string, body: unknown = {}): Promise<any> {
    const r = await fetch(`${baseUrl}/_emulator/${path}`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
    const text = await r.text();
    if (r.status !== 200) throw new Error(`emulator control ${path}: HTTP ${r.status} ${text}`);
    return text ? JSON.parse(text) : undefined;
}
