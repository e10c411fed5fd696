/**
 * What the engine hands a provider method beside the declared inputs: the value of an input that
 * preview does not know yet, and the hidden input `__stack` that scopes a resource's journals.
 */
import * as pulumi from "@pulumi/pulumi";

/** During preview, inputs that are not known yet reach check/diff as this string. */
export const UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9" as const;
export type Unknown = typeof UNKNOWN;

export function isUnknown(v: unknown): v is Unknown {
    return v === UNKNOWN;
}

/**
 * The stack a resource belongs to ("organization/project/stack"), as the resource classes pass it in
 * the hidden input `__stack` (dynamic providers are not told their URN). Journals are keyed by it.
 */
export const STACK_KEY = "__stack";
export function stackOf(props: unknown): string | undefined {
    const v = typeof props === "object" && props !== null ? (props as Record<string, unknown>)[STACK_KEY] : undefined;
    return typeof v === "string" && v && !isUnknown(v) ? v : undefined;
}
/** The hidden input the resource classes of journaled types add (see STACK_KEY). */
export function stackInput(): string | undefined {
    try {
        return `${pulumi.getOrganization()}/${pulumi.getProject()}/${pulumi.getStack()}`;
    } catch {
        return undefined; // outside a deployment (unit tests with mocks that name no organization)
    }
}
