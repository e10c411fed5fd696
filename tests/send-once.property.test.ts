/**
 * Send once, in order, fail closed: a stateful property test (fast-check commands) over MigrationRun's
 * provider methods, the emulator in-process, and a stack store that can fail.
 *
 * A model engine plays `pulumi up` over three runs: W1 migrate (gated), an audit of a user in no batch, and W2 migrate
 * `after` W1. Commands: ups; ups killed between the send and its answer, or after the answer and
 * before the state was saved (a fast-mode up: the state keeps nothing of that step, a fresh runner
 * follows); new triggers; store faults (reads, writes, records damaged); vendor faults (errors, and
 * calls applied then cut off); passes ending; a fresh runner; the operator saying what happened when
 * a send was refused for want of evidence. After every command:
 *  1. each (target, action, trigger) reached Cloudiway at most once;
 *  2. W2 was never sent before W1 was done for W1's declared trigger;
 *  3. no error said "nothing was sent" in a step during which Cloudiway accepted that step's action.
 * Counts are printed. Runs per property: CLOUDIWAY_PROPERTY_RUNS (default 40), seed FC_SEED (default fixed).
 */
import * as assert from "assert";
import fc from "fast-check";
import { Context, PartialFailure } from "../provider/runtime/context";
import { RunJournal } from "../provider/runtime/runJournal";
import type { RecordStore } from "../provider/runtime/stateStore";
import { naturalKey } from "../provider/runtime/journal";
import { migrationRunImpl, migrationRunModel, MigrationRunOutputs } from "../provider/resources/migrationRun";
import { UNDER_WAY, statusName } from "../provider/client/status";
import { emuCalls } from "./helpers/emu";
import { ProviderFixture, providerFixture } from "./helpers/provider";

const RUNS = Number(process.env.CLOUDIWAY_PROPERTY_RUNS || 40);
const SEED = process.env.FC_SEED ? Number(process.env.FC_SEED) : 20261206;
const STACK = "organization/cw-send-once/prod";

/** A stack's store (the state's folder or container) that can fail, be damaged, or hang a write (a kill). */
class FaultyStore implements RecordStore {
    readonly where = "mem://state/.pulumi-cloudiway";
    files = new Map<string, string>();
    failReads = false;
    failWrites = false;
    /** Only the writes of answers fail (the vendor accepted the action, then its record could not be written). */
    failAnswers = false;
    /** The next write of an answer never returns: the process is killed there. */
    killAtAnswer = false;
    killed?: () => void;
    async get(name: string) {
        if (this.failReads) throw new Error("HTTP 503 while reading");
        return this.files.get(name);
    }
    async put(name: string, text: string) {
        if (this.killAtAnswer && text.includes('"outs"')) {
            this.killAtAnswer = false;
            this.killed?.();
            return new Promise<void>(() => undefined); // never: the process is gone
        }
        if (this.failWrites || (this.failAnswers && text.includes('"outs"'))) throw new Error("HTTP 500 while writing");
        this.files.set(name, text);
    }
    async remove(name: string) { if (!this.failWrites) this.files.delete(name); }
    async list() { if (this.failReads) throw new Error("HTTP 503 while listing"); return [...this.files.keys()]; }
}
class MemStore extends FaultyStore {}

type RunName = "W1" | "audit" | "W2";
const ORDER: RunName[] = ["W1", "audit", "W2"];
const ACTION_CALL: Record<RunName, string> = { W1: "startbatch", audit: "audit", W2: "startbatch" };

interface Real {
    /** The emulator, its client, and the provider's context (`fx.ctx`) that every runner starts from. */
    fx: ProviderFixture;
    tag: string; // the audited user's tag
    shared: FaultyStore;
    local: MemStore;
    ctx: Context;
    /** The engine's state: each run's outputs as last saved. */
    state: Map<RunName, MigrationRunOutputs>;
    /** What the plan declares: each run's trigger. */
    trigger: Map<RunName, number>;
    /** Sends per (run, trigger) that Cloudiway applied. */
    sent: Map<string, number>;
    /** Record names of every (run, trigger) seen, for the operator. */
    names: Map<string, string>;
    /** Refusals that named a record, since the last operator command. */
    refusedRecords: Set<string>;
    /** The operator's word for the next up (CLOUDIWAY_RUN_RECORDS). */
    verdicts: string[];
    seenCalls: number;
}
interface Model { step: number }

const counts = { sequences: 0, commands: 0, sends: 0, refusals: 0, partialFailures: 0, kills: 0, operator: 0 };

function inputsOf(r: Real, run: RunName): Record<string, unknown> {
    const t = String(r.trigger.get(run));
    const base = run === "audit" ? { migrationTag: r.tag, action: "audit" } : { batchName: run === "W1" ? "Wave 1" : "Wave 2", action: "migrate" };
    const w1 = r.state.get("W1");
    return {
        ...base, trigger: t, kind: "mail", __stack: STACK,
        ...(run === "W1" ? { waitFor: { timeoutMinutes: 600 } } : {}),
        ...(run === "W2" ? { after: [{ run: "W1", ...(w1?.phase ? { phase: w1.phase } : {}), ...(w1?.progress ? { progress: w1.progress } : {}) }] } : {}),
    };
}
const sendKey = (r: Real, run: RunName) => `${run}#${r.trigger.get(run)}`;

/** The action calls Cloudiway applied since the last look, per run (a reset after commit counts: it was applied). */
async function appliedSince(r: Real): Promise<Map<RunName, number>> {
    const calls = (await emuCalls(r.fx.emu.baseUrl)).filter((c) => c.seq > r.seenCalls);
    if (calls.length) r.seenCalls = Math.max(...calls.map((c) => c.seq));
    const out = new Map<RunName, number>();
    for (const c of calls) {
        if (!c.ok) continue;
        for (const run of ORDER) {
            const target = run === "audit" ? c.migrationTag === r.tag : c.batchName === (run === "W1" ? "Wave 1" : "Wave 2");
            if (c.call.endsWith(`/${ACTION_CALL[run]}`) && target) out.set(run, (out.get(run) ?? 0) + 1);
        }
    }
    return out;
}

function freshRunner(r: Real): void {
    r.local = new MemStore();
    r.fx.ctx.cache.clear();
    const journal = new RunJournal("scope", r.shared, r.local);
    journal.answerRetryMs = [0, 0];
    r.ctx = { ...r.fx.ctx, runs: () => journal };
}

type Kill = "beforeAnswer" | "afterAnswer" | undefined;

/**
 * One `pulumi up` of the model engine: check, then diff and create/update per run in order; a run
 * whose step failed skips what depends on it (W2 depends on W1). `kill` ends the process at the first send.
 */
async function up(r: Real, kill: Kill): Promise<void> {
    process.env.CLOUDIWAY_RUN_RECORDS = r.verdicts.join(",");
    r.verdicts = [];
    try {
        const failed = new Set<RunName>();
        for (const run of ORDER) {
            if (run === "W2" && failed.has("W1")) continue; // its dependency failed: the engine skips it
            const raw = inputsOf(r, run);
            r.names.set(sendKey(r, run), (r.ctx.runs!(STACK)).recordName(naturalKey(migrationRunModel, raw)!));
            const checked = await migrationRunImpl.check(r.ctx, undefined, raw);
            assert.deepStrictEqual(checked.failures, [], "check");
            const news = checked.inputs as any;
            const olds = r.state.get(run);
            let killed = false;
            r.shared.killAtAnswer = kill === "beforeAnswer";
            const hung = new Promise<"killed">((res) => { r.shared.killed = () => { killed = true; res("killed"); }; });
            let step: Promise<{ outs: MigrationRunOutputs } | "none">;
            if (!olds) step = migrationRunImpl.create(r.ctx, news).then((c) => ({ outs: c.outs }));
            else {
                const d = await migrationRunImpl.diff(r.ctx, "id", olds, news);
                step = d.changes ? migrationRunImpl.update!(r.ctx, "id", olds, news).then((u) => ({ outs: u.outs as MigrationRunOutputs })) : Promise.resolve("none");
            }
            let result: Awaited<typeof step> | "killed" | Error;
            try { result = await Promise.race([step, hung]); } catch (e) { result = e as Error; }
            r.shared.killAtAnswer = false;
            const applied = (await appliedSince(r)).get(run) ?? 0;
            if (applied) { r.sent.set(sendKey(r, run), (r.sent.get(sendKey(r, run)) ?? 0) + applied); counts.sends += applied; }
            // Invariant 2: W2 only after W1 is done for its declared trigger.
            if (run === "W2" && applied) {
                const w1 = r.state.get("W1");
                assert.ok(w1?.phase === "done" && w1.trigger === String(r.trigger.get("W1")), `W2 sent while W1 is ${w1?.phase} for trigger ${w1?.trigger} (declared ${r.trigger.get("W1")})`);
                assert.strictEqual(r.sent.get(sendKey(r, "W1")), 1, `W2 sent before Cloudiway had W1's trigger ${r.trigger.get("W1")}`);
                for (const tag of await r.fx.client.getUsersInBatch("mail", "Wave 1")) {
                    const status = await r.fx.client.getStatus("mail", tag);
                    assert.ok(status !== "NOTSTARTED" && !UNDER_WAY.migrate.has(statusName(status)), `W2 sent while a user of W1 is ${status}`);
                }
            }
            if (result === "killed" || killed) { counts.kills++; freshRunner(r); return; }
            if (result instanceof Error) {
                failed.add(run);
                // Invariant 3: never "nothing was sent" when this step's action was applied.
                if (applied) assert.doesNotMatch(result.message, /nothing was sent/, `${run}: applied, yet the error says nothing was sent: ${result.message}`);
                if (result instanceof PartialFailure) { counts.partialFailures++; r.state.set(run, result.outs as MigrationRunOutputs); }
                const named = /CLOUDIWAY_RUN_RECORDS=([0-9a-f]+)=/.exec(result.message);
                if (named) { counts.refusals++; r.refusedRecords.add(named[1]); }
                continue;
            }
            if (result !== "none") {
                if (kill === "afterAnswer" && applied) { counts.kills++; freshRunner(r); return; } // answered, never saved
                r.state.set(run, result.outs);
            }
        }
    } finally {
        delete process.env.CLOUDIWAY_RUN_RECORDS;
    }
}

/** Invariant 1, after every command. */
function atMostOnce(r: Real): void {
    for (const [k, n] of r.sent) assert.ok(n <= 1, `${k} reached Cloudiway ${n} times`);
}

const cmd = (name: string, act: (r: Real) => Promise<void>): fc.AsyncCommand<Model, Real> => ({
    check: () => true,
    async run(m, r) { m.step++; counts.commands++; await act(r); atMostOnce(r); },
    toString: () => name,
});

const plainUp = fc.constant(cmd("up", (r) => up(r, undefined)));
const commands = [
    plainUp, plainUp, plainUp, // ups are most of what happens

    fc.constant(cmd("up killed between a send and its answer", (r) => up(r, "beforeAnswer"))),
    fc.constant(cmd("up killed after the answer, before the state was saved", (r) => up(r, "afterAnswer"))),
    fc.constantFrom<RunName>(...ORDER).map((run) => cmd(`new trigger for ${run}`, async (r) => { r.trigger.set(run, r.trigger.get(run)! + 1); })),
    fc.constant(cmd("passes end", async (r) => { for (let i = 0; i < 6; i++) await r.fx.control.tick(); })),
    fc.constant(cmd("fresh runner", async (r) => freshRunner(r))),
    fc.constantFrom("reads", "writes", "both").map((what) => cmd(`store fails (${what})`, async (r) => {
        r.shared.failReads = what !== "writes"; r.shared.failWrites = what !== "reads";
    })),
    fc.constant(cmd("store fails to write answers", async (r) => { r.shared.failAnswers = true; })),
    fc.constant(cmd("store healed", async (r) => { r.shared.failReads = false; r.shared.failWrites = false; r.shared.failAnswers = false; })),
    fc.constant(cmd("records damaged (half written)", async (r) => {
        for (const k of r.shared.files.keys()) r.shared.files.set(k, r.shared.files.get(k)!.slice(0, 9));
    })),
    fc.constantFrom("500", "reset").map((kind) => cmd(`vendor faults (${kind})`, async (r) => {
        await r.fx.control.setFaults({ errorRate: 0.5, kinds: [kind as "500" | "reset"], afterCommit: true, seed: 7 });
    })),
    fc.constant(cmd("vendor healed", async (r) => { await r.fx.control.setFaults({ errorRate: 0 }); })),
    fc.constant(cmd("operator says what happened", async (r) => {
        // The operator checks Cloudiway (here: what the emulator applied) for each record a refusal named.
        for (const name of r.refusedRecords) {
            const key = [...r.names].find(([, n]) => n === name)?.[0];
            if (!key) continue;
            counts.operator++;
            r.verdicts.push(`${name}=${(r.sent.get(key) ?? 0) > 0 ? "sent" : "unsent"}`);
        }
        r.refusedRecords.clear();
    })),
];

describe("send once, in order, fail closed (stateful property test over the provider methods, the emulator and a failing store)", function () {
    this.timeout(30 * 60_000);
    const fx = providerFixture({ key: "k", secret: "s", transitionMs: 3_600_000, config: { "cloudiway:waitPollSeconds": "1", "cloudiway:maxAttempts": "3" } });
    after(() => console.log(`send-once property: ${JSON.stringify(counts)} (runs ${RUNS}, seed ${SEED})`));

    it("holds every invariant after every command", async () => {
        const details = await fc.check(fc.asyncProperty(fc.commands(commands, { size: "+1", maxCommands: 30 }), async (cmds) => {
            counts.sequences++;
            await fx.control.reset();
            await fx.control.setFaults({ errorRate: 0 });
            await fx.client.createBatch("mail", "Wave 1");
            await fx.client.createBatch("mail", "Wave 2");
            const users = { ...await fx.addUsers(["ada", "bob"], "Wave 1"), ...await fx.addUsers(["cy"], "Wave 2"), ...await fx.addUsers(["dee"]) }; // dee, in no batch, is audited alone
            const real: Real = {
                fx, tag: users.dee, shared: new FaultyStore(), local: new MemStore(), ctx: fx.ctx,
                state: new Map(), trigger: new Map(ORDER.map((r) => [r, 1])), sent: new Map(), names: new Map(),
                refusedRecords: new Set(), verdicts: [], seenCalls: 0,
            };
            real.seenCalls = Math.max(0, ...(await emuCalls(fx.emu.baseUrl)).map((c) => c.seq));
            freshRunner(real);
            await fc.asyncModelRun(() => ({ model: { step: 0 }, real }), cmds);
        }), { numRuns: RUNS, seed: SEED });
        if (details.failed) {
            const cause = details.errorInstance instanceof Error ? details.errorInstance.message : String(details.errorInstance);
            throw new Error(`${fc.defaultReportMessage(details) ?? "failed"}\n${cause}`);
        }
        assert.strictEqual(details.numRuns, RUNS);
        assert.ok(counts.sends > 0 && counts.kills > 0 && counts.refusals > 0, `the faults were met: ${JSON.stringify(counts)}`);
    });
});
