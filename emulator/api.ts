/**
 * The vendor's API over HTTP: `/api/{mailusers|archivemailusers}/...`. Finds the route, lets the
 * fault middleware have its say, parses the JSON body, checks the credentials where the call's body
 * shape puts them, runs the route against the store (a mutating call inside `Store.atomically`),
 * logs the call and answers in the vendor's envelope, verbatim. No vendor rule here: the store decides.
 */
import { fail, ok } from "./envelope";
import { FaultInjector } from "./faults";
import { Incoming, Reply, vendor } from "./reply";
import { at, credentials, isObject, match } from "./routes";
import { Stats } from "./stats";
import { Kind, Store, VendorError } from "./store";

export interface ApiContext {
    store: Store;
    stats: Stats;
    faults: FaultInjector;
    consumerKey: string;
    consumerSecret: string;
    /** Resolves once the state after the call is on disk (a no-op without a data file). */
    persist(): Promise<void>;
}

const FAMILIES = new Map<string, Kind>([["mailusers", "mail"], ["archivemailusers", "archive"]]);
const GUIDISH = /^[0-9a-f-]{8,}$/i;
const asString = (v: unknown) => (typeof v === "string" ? v : undefined);

export async function serveApi(ctx: ApiContext, req: Incoming): Promise<Reply> {
    const { store, stats } = ctx;
    const { method, url } = req;
    const segments = url.pathname.split("/").filter(Boolean);
    const kind = FAMILIES.get((segments[1] ?? "").toLowerCase());
    if (segments[0]?.toLowerCase() !== "api" || !kind) return vendor(404, fail(`No such call: ${method} ${url.pathname}`));
    const found = match(method, segments.slice(2));
    // The call as logged: kind and call name in lower case, a tag segment as {tag}.
    const call = `/${segments[1].toLowerCase()}/${segments.slice(2).map((s, i) => (found && found.route.path.split("/")[i] === "{tag}" ? "{tag}" : s.toLowerCase())).join("/")}`;
    if (!found) return vendor(404, fail(`No such call: ${method} ${call}`));
    const { route, tag } = found;

    // Faults come before anything is read or changed (but see afterCommit).
    const fault = await ctx.faults.decide(method, route.mutating);
    if (fault.kind === "instead") {
        stats.record({ method, call, ok: false, fault: fault.fault }, route.mutating);
        return fault.reply;
    }

    if ("tooLarge" in req.body) return vendor(413, fail(`Request body too large (limit ${req.body.limit} bytes)`));
    let parsed: unknown = undefined;
    if (method === "POST" && req.body.text.trim() !== "") {
        try {
            parsed = JSON.parse(req.body.text);
        } catch {
            stats.record({ method, call, ok: false }, route.mutating);
            return vendor(400, fail("Malformed JSON body"));
        }
    }
    if (method === "POST" && route.shape !== "FLAT_OR_QUERY" && (parsed === null || typeof parsed !== "object")) {
        stats.record({ method, call, ok: false }, route.mutating);
        return vendor(200, fail("Invalid request: a JSON object body is required"));
    }
    if (store.immediate) store.tick(); // permission runs advance with requests when steps are immediate

    let answer: string;
    let okay = false;
    const batchName = asString(at(parsed, "batchName")) ?? asString(at(parsed, "batch", "batchName")) ?? url.searchParams.get("batchName") ?? undefined;
    const migrationTag = tag || asString(at(parsed, "migrationTag")) || asString(at(parsed, "auth", "migrationTag")) || undefined;
    try {
        const cred = credentials(route.shape, parsed, url.searchParams);
        if (cred.key !== ctx.consumerKey || cred.secret !== ctx.consumerSecret) {
            throw new VendorError("Authentication failed: invalid consumerKey or consumerSecret");
        }
        if (tag && !GUIDISH.test(tag)) throw new VendorError(`User not found: unknown migration tag '${tag}'`);
        const params = { tag, body: isObject(parsed) ? parsed : {}, query: url.searchParams };
        // Never half-applied: a refused call leaves the state as it was (the store undoes what it changed).
        const payload = route.mutating ? store.atomically(() => route.handle(store, kind, params)) : route.handle(store, kind, params);
        answer = ok(payload);
        okay = true;
    } catch (e) {
        if (!(e instanceof VendorError)) {
            // Not a refusal of the vendor: a 500 without the internal message (server.ts logs it).
            stats.record({ method, call, ok: false, batchName, migrationTag }, route.mutating);
            throw e;
        }
        answer = fail(ctx.faults.reword(e.message));
    }
    const afterCommit = fault.kind === "afterCommit";
    stats.record({ method, call, ok: okay, batchName, migrationTag, fault: afterCommit ? "reset-after-commit" : undefined }, route.mutating);
    if (okay && route.mutating) await ctx.persist();
    if (afterCommit) return { kind: "drop" };
    return vendor(200, answer);
}
