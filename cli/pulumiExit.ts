/**
 * What a `pulumi` command's exit said. Since 3.227 the CLI's exit codes are a contract ("stable once
 * released", pkg/cmd/pulumi/cmd/exit_codes.go): 2 configuration, 3 authentication, 6 stack not found,
 * 7 changes proposed under `--expect-no-changes`, 8 cancelled. 5 (policy violation) is declared, but up
 * to 3.276 `ExitCodeFor` does not map a policy refusal to it ("TODO: Wire policy ..."): a refusal exits 1,
 * and only the text says which mandatory rule refused. So the code is read first and the text after.
 */

/** The CLI's exit codes this package acts on (the names of exit_codes.go). */
export const PULUMI_EXIT = {
    success: 0, error: 1, configuration: 2, authentication: 3, policyViolation: 5, stackNotFound: 6, noChanges: 7, cancelled: 8,
} as const;

export type PulumiOutcome = "ok" | "changes" | "refused" | "stack-not-found" | "authentication" | "configuration" | "cancelled" | "failed";

export interface PulumiExit {
    outcome: PulumiOutcome;
    /** The mandatory policy rules that refused (outcome "refused"). */
    refusedBy?: string[];
    /** One sentence for a person: what happened and what to do. */
    says: string;
}

/** The mandatory rules a policy pack's refusal names in the command's output (`[mandatory]  rule-name`). */
export function refusingRules(text: string): string[] {
    return [...new Set([...text.matchAll(/\[mandatory\]\s+([\w-]+)/g)].map((m) => m[1]))];
}

/**
 * The outcome of one `pulumi` command from its exit code (undefined: none, e.g. killed) and its output.
 * A refusal by a mandatory rule wins over the code (it exits 1 today, 5 when the CLI wires it).
 */
export function outcomeOf(code: number | undefined, text: string): PulumiExit {
    if (code === PULUMI_EXIT.success) return { outcome: "ok", says: "succeeded" };
    const refusedBy = refusingRules(text);
    if (refusedBy.length || code === PULUMI_EXIT.policyViolation) {
        return { outcome: "refused", refusedBy, says: `refused by the policy pack${refusedBy.length ? ` (${refusedBy.join(", ")})` : ""}` };
    }
    // Before the code existed (or through a wrapper that lost it) the engine's sentence says the same.
    if (code === PULUMI_EXIT.noChanges || /no changes were expected (for \S+ )?but changes were proposed/.test(text)) {
        return { outcome: "changes", says: "changes were proposed where none were expected (--expect-no-changes); nothing was applied" };
    }
    switch (code) {
        case PULUMI_EXIT.stackNotFound: return { outcome: "stack-not-found", says: "the stack does not exist in this backend (create it once: pulumi stack init <stack>)" };
        case PULUMI_EXIT.authentication: return { outcome: "authentication", says: "the backend refused the credentials" };
        case PULUMI_EXIT.configuration: return { outcome: "configuration", says: "the command's flags or the stack's configuration are invalid" };
        case PULUMI_EXIT.cancelled: return { outcome: "cancelled", says: "cancelled" };
        default: return { outcome: "failed", says: code === undefined ? "ended without an exit code (killed?)" : `failed (exit ${code})` };
    }
}

/**
 * The exit code of a command that ran several `pulumi` commands (up --all-shards): 0 when each
 * succeeded; when every one that did not shares a stable outcome, that outcome's code (7: only
 * changes under --expect-no-changes; 5: only policy refusals; 6: only missing stacks); else 1.
 */
export function combinedExitCode(outcomes: PulumiOutcome[]): number {
    const bad = [...new Set(outcomes.filter((o) => o !== "ok"))];
    if (!bad.length) return PULUMI_EXIT.success;
    if (bad.length > 1) return PULUMI_EXIT.error;
    const codes: Partial<Record<PulumiOutcome, number>> = {
        changes: PULUMI_EXIT.noChanges, refused: PULUMI_EXIT.policyViolation, "stack-not-found": PULUMI_EXIT.stackNotFound,
        authentication: PULUMI_EXIT.authentication, configuration: PULUMI_EXIT.configuration, cancelled: PULUMI_EXIT.cancelled,
    };
    return codes[bad[0]] ?? PULUMI_EXIT.error;
}
