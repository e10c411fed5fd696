/**
 * A fake wall clock: `Date.now()` and `new Date()` run `offset` ms ahead of the real clock until
 * `restore()`. Timers are untouched (the emulator's passes are ticked by hand anyway).
 */
export class FakeClock {
    private readonly RealDate = Date;
    private offset = 0;
    install(): void {
        const Real = this.RealDate;
        // eslint-disable-next-line @typescript-eslint/no-this-alias
        const clock = this;
        class Shifted extends Real {
            constructor(...a: any[]) {
                if (a.length === 0) super(Real.now() + clock.offset);
                else super(...(a as [any]));
            }
            static now(): number { return Real.now() + clock.offset; }
        }
        (globalThis as any).Date = Shifted;
    }
    /** Moves the clock forward. */
    advance(minutes: number): void { this.offset += minutes * 60_000; }
    restore(): void {
        (globalThis as any).Date = this.RealDate;
        this.offset = 0;
    }
}
