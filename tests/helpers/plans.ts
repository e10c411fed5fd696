/**
 * Plan-file text the plan tests share.
 */

/**
 * A plan's `batches:` (from the line `batches:` on, 11 lines) with a problem in each part: W1's
 * fromDate 2020-02-30 and a misspelled setting (shouldMigrateMail), W1's users Ann and Bob, W2's
 * fromDate after its toDate and a run of an unknown action (explode); `w2User` is W2's one user
 * (a flow mapping).
 */
export function badBatches(w2User: string): string {
    return `batches:
  - name: W1
    settings: { fromDate: 2020-02-30, shouldMigrateMail: true }
    users:
      - { firstName: Ann, lastName: A, sourceEmail: ann@s.example, targetEmail: ann@t.example }
      - { firstName: Bob, lastName: B, sourceEmail: bob@s.example, targetEmail: bob@t.example }
  - name: W2
    settings: { fromDate: 2021-01-01, toDate: 2020-01-01 }
    runs:
      - { action: explode, trigger: "1" }
    users:
      - ${w2User}
`;
}
