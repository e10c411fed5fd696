/**
 * The deletion promise as a model-based (stateful) property test (fast-check `commands` /
 * `asyncModelRun`): random sequences of plan edits — add, move and remove users and batches, change
 * the deletion policy per user (its membership follows, as plan files give it) and for the stack,
 * run a batch's passes — and out-of-band changes (a license assigned, a user deleted in the portal),
 * each applied as one operation through the provider methods (a new Context each, as a new engine
 * operation) to an in-process emulator. After every step:
 *  1. no user with a pass, a license or a status past NOTSTARTED is deleted unless its own policy
 *     (else the stack's) says `delete`;
 *  2. no provider method fails (in particular no error names a user as not removed by this stack
 *     when the stack declares or removed it: every batch in this test holds only declared users, or
 *     users kept by their own policy);
 *  3. the emulator holds exactly what the plan declares plus what the policies kept (users, their
 *     batches, batches), as the model predicts it.
 * Simplification: the provider's verdicts of one test run live in this one process (the engine starts
 * one provider process per operation; a batch deleted in a later operation than its kept members is
 * judged again there, which tests/deletion-policy.test.ts covers).
 * CLOUDIWAY_PROPERTY_RUNS: runs per property (default 200); FC_SEED replays a run (default seed fixed).
 */
import * as assert from "assert";
import fc from "fast-check";
import type { Context } from "../provider/runtime/context";
import { batchesOf, emuState, usersOf } from "./helpers/emu";
import { held, implementations, person as personOf, ProviderFixture, providerFixture } from "./helpers/provider";

type Policy = "retainMigrated" | "delete" | "retain";
const POLICIES: Policy[] = ["retainMigrated", "delete", "retain"];
const NAMES = ["u0", "u1", "u2", "u3", "u4"];
const BATCHES = ["B0", "B1", "B2"];
const RUNS = Number(process.env.CLOUDIWAY_PROPERTY_RUNS || 200);
const SEED = process.env.FC_SEED ? Number(process.env.FC_SEED) : 27;

interface Model {
    stack: Policy;
    declared: Map<string, { batch?: string; policy?: Policy }>;
    batches: Set<string>;
    /** What the emulator should hold: users by name (their batch, whether they have something to lose), batches. */
    emu: Map<string, { batch?: string; touched: boolean }>;
    emuBatches: Set<string>;
}
interface Real {
    fx: ProviderFixture;
    stack: Policy;
    tags: Map<string, string>;
    users: Map<string, Record<string, unknown>>;
    members: Map<string, Record<string, unknown>>;
}
const counts: Record<string, number> = {};
const count = (k: string) => { counts[k] = (counts[k] ?? 0) + 1; };

const { MailUser: user, BatchMembership: member, MailBatch: batch } = implementations;
/** The context of one operation: the provider's per-process context, its list answers forgotten (a new process). */
const ctxOf = (r: Real): Context => r.fx.context({ "cloudiway:deletionPolicy": r.stack });
const person = (n: string) => personOf(n, "Model");
/** A provider call that must not fail (invariant 2). */
async function must<T>(what: string, p: Promise<T>): Promise<T> {
    try {
        return await p;
    } catch (e) {
        throw new Error(`invariant 2: ${what} failed: ${(e as Error).message}`);
    }
}
const policyOf = (m: Model, n: string) => m.declared.get(n)?.policy ?? m.stack;

/** Removing a user from the plan: its membership, then the user (the engine's order: dependents first). */
async function removeUser(m: Model, r: Real, ctx: Context, n: string): Promise<void> {
    const tag = r.tags.get(n)!;
    const before = m.emu.get(n), policy = policyOf(m, n);
    const mp = r.members.get(n);
    if (mp) await must(`BatchMembership ${n} delete`, member.delete(ctx, tag, held(mp)));
    await must(`MailUser ${n} delete`, user.delete(ctx, tag, held(r.users.get(n)!)));
    r.members.delete(n); r.users.delete(n);
    m.declared.delete(n);
    if (!before) return;
    const kept = policy === "retain" || (policy === "retainMigrated" && before.touched);
    if (!kept) m.emu.delete(n);
    count(kept ? "users kept" : before.touched ? "users with something to lose deleted under delete" : "users deleted");
    if (before.touched && policy !== "delete") {
        const still = usersOf(await emuState(r.fx.emu.baseUrl)).some((u) => u.sourceEmail === `${n}@source.example`);
        assert.ok(still, `invariant 1: ${n} (something to lose, policy ${policy}) was deleted`);
    }
}

type Cmd = fc.AsyncCommand<Model, Real>;
const cmd = (label: string, check: (m: Readonly<Model>) => boolean, run: (m: Model, r: Real, ctx: Context) => Promise<void>): Cmd => ({
    check, toString: () => label,
    async run(m, r) {
        count(label.split("(")[0]);
        await run(m, r, ctxOf(r));
        await matches(m, r);
    },
});

const addUser = (n: string, b: string | undefined, policy: Policy | undefined) => cmd(`addUser(${n}, ${b ?? "-"}, ${policy ?? "-"})`,
    (m) => !m.declared.has(n) && (b === undefined || m.batches.has(b)),
    async (m, r, ctx) => {
        const inputs = { ...person(n), adopt: true, ...(policy ? { deletionPolicy: policy } : {}) };
        const made = await must(`MailUser ${n} create`, user.create(ctx, held(inputs)));
        r.tags.set(n, made.id); r.users.set(n, { ...made.outs });
        if (b) {
            const mp = { migrationTag: made.id, batchName: b, adopt: true, ...(policy ? { deletionPolicy: policy } : {}) };
            await must(`BatchMembership ${n} create`, member.create(ctx, held(mp)));
            r.members.set(n, mp);
        }
        m.declared.set(n, { batch: b, policy });
        const was = m.emu.get(n); // a kept user taken back (adopt)
        m.emu.set(n, { batch: b ?? was?.batch, touched: was?.touched ?? false });
    });
const removeUserCmd = (n: string) => cmd(`removeUser(${n})`, (m) => m.declared.has(n), (m, r, ctx) => removeUser(m, r, ctx, n));
const moveUser = (n: string, b: string) => cmd(`moveUser(${n}, ${b})`,
    (m) => !!m.declared.get(n)?.batch && m.declared.get(n)!.batch !== b && m.batches.has(b) && m.emu.has(n),
    async (m, r, ctx) => {
        const olds = r.members.get(n)!, news = { ...olds, batchName: b };
        await must(`BatchMembership ${n} update`, member.update(ctx, r.tags.get(n)!, held(olds), held(news)));
        r.members.set(n, news);
        m.declared.get(n)!.batch = b; m.emu.get(n)!.batch = b;
    });
const setPolicy = (n: string, p: Policy) => cmd(`setPolicy(${n}, ${p})`, (m) => m.declared.has(n), async (m, r, ctx) => {
    const tag = r.tags.get(n)!;
    const uo = r.users.get(n)!, un = { ...uo, deletionPolicy: p };
    r.users.set(n, (await must(`MailUser ${n} update`, user.update(ctx, tag, held(uo), held(un)))).outs as Record<string, unknown>);
    const mo = r.members.get(n);
    if (mo) { await must(`BatchMembership ${n} update`, member.update(ctx, tag, held(mo), held({ ...mo, deletionPolicy: p }))); r.members.set(n, { ...mo, deletionPolicy: p }); }
    m.declared.get(n)!.policy = p;
});
const setStack = (p: Policy) => cmd(`setStackPolicy(${p})`, (m) => m.stack !== p, async (m, r) => { m.stack = p; r.stack = p; });
const addBatch = (b: string) => cmd(`addBatch(${b})`, (m) => !m.batches.has(b), async (m, _r, ctx) => {
    await must(`MailBatch ${b} create`, batch.create(ctx, held({ name: b, adopt: true })));
    m.batches.add(b); m.emuBatches.add(b);
});
const removeBatch = (b: string) => cmd(`removeBatch(${b})`, (m) => m.batches.has(b), async (m, r, ctx) => {
    // The wave leaves the plan with its users: their memberships and users first, then the batch.
    for (const [n, u] of [...m.declared]) if (u.batch === b) await removeUser(m, r, ctx, n);
    await must(`MailBatch ${b} delete`, batch.delete(ctx, b, held({ name: b })));
    m.batches.delete(b);
    if (![...m.emu.values()].some((u) => u.batch === b)) m.emuBatches.delete(b);
    else count("batches kept");
});
const runBatch = (b: string) => cmd(`runBatch(${b})`, (m) => m.batches.has(b) && [...m.emu.values()].some((u) => u.batch === b), async (m, r) => {
    await r.fx.client.startBatch("mail", b);
    for (const u of m.emu.values()) if (u.batch === b) u.touched = true;
});
const licenseOutOfBand = (n: string) => cmd(`licenseOutOfBand(${n})`, (m) => m.emu.has(n) && m.declared.has(n), async (m, r) => {
    await r.fx.client.assignLicense("mail", r.tags.get(n)!);
    m.emu.get(n)!.touched = true;
});
const deleteOutOfBand = (n: string) => cmd(`deleteOutOfBand(${n})`, (m) => m.emu.has(n) && m.declared.has(n), async (m, r) => {
    const tag = r.tags.get(n)!;
    if (m.emu.get(n)!.batch) await r.fx.client.removeFromBatch("mail", tag);
    await r.fx.client.deleteUser("mail", tag);
    m.emu.delete(n);
});

/** Invariant 3: the emulator holds what the model says, no more, no less. */
async function matches(m: Model, r: Real): Promise<void> {
    const st = await emuState(r.fx.emu.baseUrl);
    const got = new Map(usersOf(st).map((u) => [u.sourceEmail.split("@")[0], u.batchName ?? undefined]));
    const want = new Map([...m.emu].map(([n, u]) => [n, u.batch]));
    assert.deepStrictEqual([...got].sort(), [...want].sort(), "invariant 3: the emulator's users and their batches are the plan's plus the kept ones");
    assert.deepStrictEqual(batchesOf(st).map((b) => b.name).sort(), [...m.emuBatches].sort(), "invariant 3: the emulator's batches are the plan's plus the kept ones");
}

const name = fc.constantFrom(...NAMES), batchName = fc.constantFrom(...BATCHES), policy = fc.constantFrom(...POLICIES);
const add = fc.tuple(name, fc.option(batchName, { nil: undefined, freq: 4 }), fc.option(policy, { nil: undefined })).map(([n, b, p]) => addUser(n, b, p));
const commands = [
    add, add, add, batchName.map(addBatch), batchName.map(runBatch), name.map(removeUserCmd), batchName.map(removeBatch),
    name.map(removeUserCmd),
    fc.tuple(name, batchName).map(([n, b]) => moveUser(n, b)),
    fc.tuple(name, policy).map(([n, p]) => setPolicy(n, p)),
    policy.map(setStack),
    batchName.map(addBatch),
    batchName.map(removeBatch),
    batchName.map(runBatch),
    name.map(licenseOutOfBand),
    name.map(deleteOutOfBand),
];

describe("the deletion promise, model-based (fast-check commands)", function () {
    this.timeout(5 * 60_000);
    const fx = providerFixture({ transitionMs: 0 });
    after(() => {
        console.log(`\n  deletion model (fast-check ${fc.__version}, seed ${SEED}, ${RUNS} runs): ` +
            Object.entries(counts).sort().map(([k, v]) => `${k}: ${v}`).join("; "));
    });

    it("random plan edits, runs and out-of-band changes never delete what a policy keeps, never fail, and leave the tenant as declared", async () => {
        await fc.assert(fc.asyncProperty(fc.commands(commands, { maxCommands: 30, size: "max" }), async (cmds) => {
            await fx.control.reset();
            count("runs");
            const model: Model = { stack: "retainMigrated", declared: new Map(), batches: new Set(), emu: new Map(), emuBatches: new Set() };
            const real: Real = { fx, stack: "retainMigrated", tags: new Map(), users: new Map(), members: new Map() };
            await fc.asyncModelRun(() => ({ model, real }), cmds);
        }), { numRuns: RUNS, seed: SEED });
        assert.ok((counts["users kept"] ?? 0) > 0 && (counts["batches kept"] ?? 0) > 0, `the runs kept users and batches: ${JSON.stringify(counts)}`);
    });
});
