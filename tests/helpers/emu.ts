/**
 * The one emulator fixture type, and shorthands over the emulator's typed control client
 * (EmulatorControl, emulator/controlClient.ts): every answer is checked, and a refused control
 * call throws an Error naming the route, the status and the body.
 */
import { EmulatorControl } from "../../emulator";
import type { CallRecord, FaultsRequest, OutboxView, StateView, StatsView, UserView, BatchView, startEmulator } from "../../emulator";

/** A running emulator, as startEmulator gives it: every test file's fixture type. */
export type Emu = Awaited<ReturnType<typeof startEmulator>>;

/** The control client of a running emulator (or of the emulator at a base or API URL). */
export function control(emu: Emu | string): EmulatorControl {
    return new EmulatorControl(emu);
}

export async function emuState(baseUrl: string): Promise<StateView> {
    return control(baseUrl).state();
}
export async function emuStats(baseUrl: string): Promise<StatsView> {
    return control(baseUrl).stats();
}
export async function emuResetStats(baseUrl: string): Promise<void> {
    await control(baseUrl).resetStats();
}
export async function emuCalls(baseUrl: string): Promise<CallRecord[]> {
    return control(baseUrl).calls();
}
export async function emuFaults(baseUrl: string, faults: FaultsRequest): Promise<void> {
    await control(baseUrl).setFaults(faults);
}
export function usersOf(state: StateView, kind: "mail" | "archive" = "mail"): UserView[] {
    return state[kind].users;
}
export function batchesOf(state: StateView, kind: "mail" | "archive" = "mail"): BatchView[] {
    return state[kind].batches;
}
/** The self-service mails the emulator "sent" (emulator only): to, from, subject, link, tag, kind, recipient, time. */
export async function emuOutbox(baseUrl: string): Promise<OutboxView[]> {
    return control(baseUrl).outbox();
}
