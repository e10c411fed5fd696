/**
 * The names this package's resources carry in Pulumi: their type token and where a URN holds the
 * type and the name. Every reader of a state, a preview or a URN (cli/, policy/, plan/) takes them
 * from here.
 */

/** The type token of this package's resources is `pulumi-nodejs:dynamic/cloudiway:<type>`. */
export const TYPE_PREFIX = "pulumi-nodejs:dynamic/cloudiway:";

/** The resource type of a type token ("MailUser"), or undefined when it is not one of this package's. */
export function typeOfToken(token: string): string | undefined {
    return token.startsWith(TYPE_PREFIX) ? token.slice(TYPE_PREFIX.length) : undefined;
}

/** The type token of a URN (its last type, past any parent's), e.g. `pulumi-nodejs:dynamic/cloudiway:MailUser`. */
export function tokenOfUrn(urn: string): string {
    return (urn.split("::")[2] ?? "").split("$").pop()!;
}

/** The resource type of a URN ("MailUser"), or its whole type token when it is not one of this package's. */
export function typeOfUrn(urn: string): string {
    const token = tokenOfUrn(urn);
    return typeOfToken(token) ?? token;
}

/** Whether a URN is one of this package's resources (of `type`, when given). */
export function isOurUrn(urn: string, type?: string): boolean {
    const t = typeOfToken(tokenOfUrn(urn));
    return t !== undefined && (type === undefined || t === type);
}

/** The name of a resource in its URN (its last part), e.g. a run's `run:Wave 1:migrate`. */
export function nameOfUrn(urn: string): string {
    return urn.split("::").pop() ?? urn;
}
