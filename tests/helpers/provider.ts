/**
 * For tests that call the typed provider methods directly (as install does for the engine).
 */
import type { CheckResult, Planned } from "../../provider/resources/common";

/**
 * A resource as the engine holds it in state, given by a test with only the properties the method
 * reads; typed as what the method takes (T comes from where it is passed).
 */
export function held<T>(v: object): T {
    return v as T;
}

/** check's answer without failures: the (planned) inputs the engine then hands diff and create. */
export function checked<I>(r: CheckResult<I>): I & Planned<I> {
    if (r.failures.length) throw new Error(`check failed: ${r.failures.map((f) => f.reason).join("; ")}`);
    return r.inputs as I & Planned<I>;
}

/** What read or create answered, which must be there. */
export function present<T>(v: T | undefined, what = "value"): T {
    if (v === undefined) throw new Error(`expected a ${what}`);
    return v;
}
