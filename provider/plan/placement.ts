/**
 * Where `shards --max-users N [--init] [--rebalance]` puts each batch when the project already has
 * shards (stacks whose Pulumi.<stack>.yaml sets cloudiway-migration:batches):
 *  - by default every batch stays in the stack whose list names it (its patterns, globs included),
 *    however large it grew (a warning), and only new batches are placed: first-fit decreasing into
 *    the existing shards with room (in stack order), then into new shards;
 *  - `--rebalance` packs the whole plan again (first-fit decreasing) and gives each new shard the name
 *    of the existing stack that already holds most of its users, so that as little as possible moves;
 *    the batches that change stack are listed as moves.
 * A moved batch is deleted from one stack and created in another: its runs are new resources there,
 * under another journal scope (MOVE_CONSEQUENCES). No Pulumi here: unit-tested without the engine.
 */
import type { Plan } from "./load";
import { Assignment, Shard, ShardSpec, assignShards, literalPattern, matchesAny, usersPerBatch } from "./shards";

export interface Move { batch: string; from: string; to: string; users: number; runs: string[] }
export interface Placement extends Assignment {
    /** The batches that change stack (only with rebalance). */
    moves: Move[];
    /** The stacks whose list --init has to write (new stacks, stacks that gain or lose batches). */
    changed: string[];
}
/** A shard as placed: its batches, and the patterns its list keeps (an existing shard keeps its own, globs included). */
export interface PlacedShard extends Shard { patterns?: string[] }

const NONE = "\u0000(no batch)";

/** What a move means, said once after the moves (the CLI prints it; docs/large-plans-and-shards.md, "Shards", says the same). */
export const MOVE_CONSEQUENCES = [
    "A moved batch is deleted from the stack it leaves and created in the stack it joins: its users, memberships and settings,",
    "and its runs, which become new resources in another stack with another journal scope. The moved batch's runs will be",
    "sent again at the first up of the stack they join (a new pass of every user of the batch), unless the same action is",
    "under way at Cloudiway at that moment (then it is not sent again). Run the stack a batch leaves first (each user's",
    "deletion policy keeps a user with something to lose), then the stack it joins with CLOUDIWAY_ADOPT_EXISTING=true for that up.",
];

/**
 * The shards of `plan` given the project's `existing` ones (readShardSpecs): kept in place (default)
 * or packed again (`rebalance`). With no existing shards this is assignShards.
 */
export function placeShards(plan: Pick<Plan, "batches" | "users">, maxUsers: number, existing: readonly ShardSpec[], opts: { prefix?: string; rebalance?: boolean } = {}): Placement {
    const prefix = opts.prefix ?? "";
    const fresh = assignShards(plan, maxUsers, prefix);
    if (!existing.length) return { ...fresh, moves: [], changed: fresh.shards.map((s) => s.stack) };
    const size = usersPerBatch(plan);
    const loose = plan.users.filter((u) => !u.batch).length;
    const order = new Map(plan.batches.map((b, i) => [b.name, i]));
    const byPlanOrder = (names: string[]) => names.filter((n) => n !== NONE).sort((x, y) => order.get(x)! - order.get(y)!);
    const warnings: string[] = [];
    // Where each batch is now: the first shard (by stack name) whose list names it.
    const specs = [...existing].sort((a, b) => a.stack.localeCompare(b.stack));
    const ownerOf = new Map<string, string>();
    for (const b of plan.batches) {
        const owners = specs.filter((s) => matchesAny(s.patterns, b.name));
        if (owners.length > 1) warnings.push(`batch "${b.name}" is in the list of ${owners.length} stacks (${owners.map((s) => s.stack).join(", ")}): it is counted in ${owners[0].stack}; remove it from the others`);
        if (owners.length) ownerOf.set(b.name, owners[0].stack);
    }
    const looseOwner = specs.find((s) => s.unbatched)?.stack;
    if (loose && looseOwner) ownerOf.set(NONE, looseOwner);
    const names = new Set(specs.map((s) => s.stack));
    let next = 1;
    const newName = () => { while (names.has(`${prefix}shard-${next}`)) next++; const n = `${prefix}shard-${next}`; names.add(n); return n; };
    const runsOf = (batch: string) => {
        const own = plan.batches.find((b) => b.name === batch)?.runs.map((r) => r.action) ?? [];
        const perUser = plan.users.filter((u) => u.batch === batch).reduce((n, u) => n + (u.runs?.length ?? 0), 0);
        return perUser ? [...own, `${perUser} user run(s)`] : own;
    };

    if (opts.rebalance) {
        // Each packed shard takes the name of the stack that holds most of its users now (largest overlap first).
        const pairs: { bin: number; stack: string; users: number }[] = [];
        fresh.shards.forEach((s, bin) => {
            const held = new Map<string, number>();
            for (const b of [...s.batches, ...(s.unbatched ? [NONE] : [])]) {
                const o = ownerOf.get(b);
                if (o) held.set(o, (held.get(o) ?? 0) + (b === NONE ? loose : size.get(b) ?? 0));
            }
            for (const [stack, users] of held) pairs.push({ bin, stack, users });
        });
        pairs.sort((a, b) => b.users - a.users || a.bin - b.bin || a.stack.localeCompare(b.stack));
        const nameOf = new Map<number, string>();
        const taken = new Set<string>();
        for (const p of pairs) if (!nameOf.has(p.bin) && !taken.has(p.stack)) { nameOf.set(p.bin, p.stack); taken.add(p.stack); }
        const shards: PlacedShard[] = fresh.shards.map((s, bin) => ({ ...s, stack: nameOf.get(bin) ?? newName() }));
        for (const s of specs) {
            if (taken.has(s.stack)) continue;
            shards.push({ stack: s.stack, batches: [], users: 0, unbatched: false });
            warnings.push(`stack ${s.stack} keeps no batch: its next up deletes what it deployed (run it before the stacks its batches join), then remove the stack`);
        }
        const moves: Move[] = [];
        for (const s of shards) {
            for (const b of s.batches) {
                const from = ownerOf.get(b);
                if (from && from !== s.stack) moves.push({ batch: b, from, to: s.stack, users: size.get(b) ?? 0, runs: runsOf(b) });
            }
            if (s.unbatched && looseOwner && looseOwner !== s.stack) moves.push({ batch: "(users with no batch)", from: looseOwner, to: s.stack, users: loose, runs: [] });
        }
        const changed = shards.filter((s) => {
            const was = specs.find((x) => x.stack === s.stack);
            return !was || was.unbatched !== s.unbatched || plan.batches.some((b) => (ownerOf.get(b.name) === s.stack) !== s.batches.includes(b.name));
        }).map((s) => s.stack);
        return { shards: sortShards(shards), warnings: [...fresh.warnings, ...warnings], maxUsers, moves, changed };
    }

    // Kept in place: every existing shard with what its list names; only what no list names is placed.
    const shards: PlacedShard[] = specs.map((s) => {
        const mine = plan.batches.filter((b) => ownerOf.get(b.name) === s.stack).map((b) => b.name);
        const users = mine.reduce((n, b) => n + (size.get(b) ?? 0), 0) + (looseOwner === s.stack ? loose : 0);
        return { stack: s.stack, batches: mine, users, unbatched: s.unbatched, patterns: [...s.patterns] };
    });
    for (const b of plan.batches) {
        const n = size.get(b.name) ?? 0;
        const at = ownerOf.get(b.name);
        if (at && n > maxUsers) warnings.push(`batch "${b.name}" has ${n} users, more than --max-users ${maxUsers}: it stays in stack ${at} (only --rebalance moves a batch)`);
    }
    const items = [
        ...plan.batches.filter((b) => !ownerOf.has(b.name)).map((b) => ({ name: b.name, users: size.get(b.name) ?? 0 })),
        ...(loose && !looseOwner ? [{ name: NONE, users: loose }] : []),
    ].sort((a, b) => b.users - a.users);
    const changed = new Set<string>();
    for (const it of items) {
        const what = it.name === NONE ? "the users with no batch" : `batch "${it.name}"`;
        let bin = it.users > maxUsers ? undefined : shards.find((s) => s.users + it.users <= maxUsers);
        if (!bin) {
            if (it.users > maxUsers) warnings.push(`${what} has ${it.users} users, more than --max-users ${maxUsers}: it gets a shard of its own`);
            bin = { stack: newName(), batches: [], users: 0, unbatched: false, patterns: [] };
            shards.push(bin);
        }
        if (it.name === NONE) bin.unbatched = true; else { bin.batches.push(it.name); bin.patterns!.push(literalPattern(it.name)); }
        bin.users += it.users;
        changed.add(bin.stack);
    }
    for (const s of shards) {
        s.batches = byPlanOrder(s.batches);
        if (s.users > maxUsers && s.batches.length > 1) warnings.push(`stack ${s.stack} holds ${s.users} users, more than --max-users ${maxUsers}: its batches stay (--rebalance moves them)`);
    }
    return { shards: sortShards(shards), warnings, maxUsers, moves: [], changed: [...changed] };
}

function sortShards(shards: PlacedShard[]): PlacedShard[] {
    return shards.sort((a, b) => a.stack.localeCompare(b.stack, undefined, { numeric: true }));
}
