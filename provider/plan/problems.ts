/**
 * What is wrong with a plan, as `file:line: message`: the plan loader (load.ts) gathers every problem
 * (Problems) and throws them together (PlanError), before anything is applied; a zod issue of an entry
 * is said in the words of its field (say).
 */
import { z } from "zod";
import { issueMessage } from "../runtime/model";

export class PlanError extends Error {
    constructor(readonly problems: string[]) {
        super(`The migration plan has ${problems.length} problem(s); nothing was applied:\n  ${problems.join("\n  ")}`);
        this.name = "PlanError";
    }
}

export class Problems {
    list: string[] = [];
    add(where: string, msg: string) { this.list.push(`${where}: ${msg}`); }
}

/** "sourceEmail must be ...", "waitFor.maxFailed must be ...", or the message alone (an unknown key). */
export function say(iss: z.core.$ZodIssue, root: unknown, label = (k: string) => k): string {
    const message = issueMessage(iss, root);
    const keys = iss.path.filter((k): k is string => typeof k === "string");
    if (iss.code === "unrecognized_keys" || !keys.length) return message;
    // The field's own message may already name its key ("maxFailed must be a whole number").
    if (message.startsWith(`${keys[keys.length - 1]} `)) return [...keys.slice(0, -1).map(label), message].join(".");
    return `${keys.map(label).join(".")} ${message}`;
}
