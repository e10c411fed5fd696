/**
 * When a MigrationRun is due: its phase as the state holds it, what defers it (its `notBefore`, the
 * runs of its `after`), and whether an update may send it. resources/migrationRun.ts moves a run on
 * with these; the cost of a change (cost.ts) asks the same question of a preview.
 */
import { isUnknown } from "../runtime/inputs";

export const RUN_PHASES = ["deferred", "sent", "waiting", "done", "failed"] as const;
export type RunPhase = (typeof RUN_PHASES)[number];

/** What a run's state says of where it stands (its outputs; older states have no phase). */
export interface RunState {
    phase?: string;
    performedAt?: string;
    deferredUntil?: string;
    waitFor?: unknown;
    trigger?: string;
}

/** A run of `after`, as data: its name, phase and progress, and the triggers they are for (see afterPending). */
export interface AfterRunReport {
    run: string;
    phase?: string;
    progress?: string;
    trigger?: string;
    declaredTrigger?: string;
}

/** The inputs that decide when a run is due (planned: any may still be unknown). */
export interface RunTiming {
    trigger?: unknown;
    notBefore?: unknown;
    after?: unknown;
}

/** The phase of a run as the state holds it; states written before phases are read by their fields. */
export function phaseOf(o: RunState): RunPhase {
    if (o.phase && (RUN_PHASES as readonly string[]).includes(o.phase)) return o.phase as RunPhase;
    if (o.deferredUntil !== undefined || !o.performedAt) return "deferred";
    // A gate that failed never reached the state before phases: a recorded gated run had opened.
    return o.waitFor ? "done" : "sent";
}

/**
 * Why the run may not be sent now: its `notBefore` has not come, or a run of its `after` is not
 * done. Undefined when it may be sent (or, in preview, when that is not known yet).
 */
export function deferral(v: RunTiming): { message: string; until?: string; waitingFor?: string[] } | undefined {
    if (typeof v.notBefore === "string" && !isUnknown(v.notBefore) && Date.parse(v.notBefore) > Date.now()) {
        return { message: `deferred until ${v.notBefore}`, until: v.notBefore };
    }
    if (Array.isArray(v.after)) {
        const pending = (v.after as AfterRunReport[]).flatMap((a) => { const why = afterPending(a); return why ? [{ run: a.run, why }] : []; });
        if (pending.length) {
            return {
                message: pending.map((a) => `waiting for ${a.run}: ${a.why}`).join("; "),
                waitingFor: pending.map((a) => a.run),
            };
        }
    }
    return undefined;
}

/**
 * Whether an update from `olds` (the state's outputs) to `news` (planned inputs, unknowns allowed) may
 * send the action: a new trigger, or a deferred run whose time and predecessors have come (or are not
 * known yet, during preview). A waiting or failed gate's update only looks. For cost estimates.
 */
export function updateMaySend(olds: RunState, news: RunTiming & Record<string, unknown>): boolean {
    if (olds.trigger !== news.trigger) return true;
    return phaseOf(olds) === "deferred" && !deferral(news);
}

/**
 * Why a run of `after` is not done (undefined: it is). Done is phase `done`, and, when a trigger is
 * declared for it (a run of another stack: the plan's trigger), for that trigger: a `done` of an
 * earlier pass, or a report without a trigger, is not done. E.g. "4 of 6 done (SUCCESS 4, WORKING 2)".
 */
export function afterPending(a: AfterRunReport): string | undefined {
    if (a.declaredTrigger !== undefined && a.phase !== undefined) {
        if (a.trigger === undefined) {
            return `its stack reported phase ${a.phase} with no trigger (an export of an older version), so it does not show the pass of trigger "${a.declaredTrigger}"; run that stack's up with this version first`;
        }
        if (a.trigger !== a.declaredTrigger) {
            return `its stack reported phase ${a.phase} for trigger "${a.trigger}", not for the declared trigger "${a.declaredTrigger}" (that pass is not recorded there yet)`;
        }
    }
    switch (a.phase) {
        case "done": return undefined;
        case "waiting": return a.progress ?? "not looked at yet";
        case "failed": return `its gate failed (${a.progress ?? "no look recorded"})`;
        case "sent": return "sent without waitFor, so it is never done; give it waitFor";
        case undefined: return "not recorded yet";
        default: return a.phase;
    }
}
