/**
 * The lifecycle clock: when the store's steps are taken. transitionMs 0: every step at the call
 * (the store is "immediate"); otherwise one step for everything under way every transitionMs, and
 * on POST /_emulator/tick. A transitionMs too large for a timer (over 2^31-1 ms; Infinity, which
 * the control API writes "manual") means steps are taken only on POST /_emulator/tick.
 */
import { Store } from "./store";

const MAX_TIMER_MS = 2_147_483_647;

export class Clock {
    private timer: NodeJS.Timeout | undefined;
    private ms = 0;

    /** `afterTick` runs after each timed tick (to persist the state). */
    constructor(private readonly store: Store, transitionMs: number, private readonly afterTick: () => void) {
        this.set(transitionMs, false);
    }

    get transitionMs(): number { return this.ms; }

    /** Whether a timer takes the steps (false: immediate, or only POST /_emulator/tick). */
    get timed(): boolean { return this.timer !== undefined; }

    /**
     * Sets the time per step. With `finish`, going to 0 finishes at once what is under way (as if
     * each step's time had passed), so that "immediate" holds for every user from then on.
     */
    set(transitionMs: number, finish = true) {
        if (typeof transitionMs !== "number" || Number.isNaN(transitionMs) || transitionMs < 0) {
            throw new RangeError("transitionMs must be a number >= 0");
        }
        this.stop();
        this.ms = transitionMs;
        this.store.immediate = transitionMs === 0;
        if (transitionMs === 0) {
            if (finish) for (let i = 0; i < 100_000 && this.store.busy(); i++) this.store.tick();
        } else if (transitionMs <= MAX_TIMER_MS) {
            this.timer = setInterval(() => {
                if (this.store.busy()) { this.store.tick(); this.afterTick(); }
            }, transitionMs);
            this.timer.unref();
        }
    }

    /** One step for everything under way (POST /_emulator/tick). */
    tick() { this.store.tick(); }

    stop() {
        if (this.timer) clearInterval(this.timer);
        this.timer = undefined;
    }
}
