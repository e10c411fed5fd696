import * as pulumi from "@pulumi/pulumi";

/**
 * The serialized dynamic provider.
 *
 * Pulumi serializes the provider object into every resource's state (twice: in
 * inputs and outputs) and, in the dynamic provider process, deserializes it and
 * calls `configure` first, before any other method. This shim has only
 * `configure`: it `require()`s the installed implementation and installs
 * check/diff/create/read/update/delete on itself. So:
 *  - `__provider` stays a few hundred bytes, the same for every resource of a type;
 *  - nothing is captured (no client, agent, schema, credentials);
 *  - refresh and destroy always run the installed code, and upgrading the package
 *    does not rewrite `__provider` (a changed `__provider` makes Pulumi replace).
 *
 * The implementation is found by package name from the program's working
 * directory (inside this repository, scripts/link-self.js links the package
 * into its own node_modules).
 */
const shims = new Map<string, pulumi.dynamic.ResourceProvider>();

export function shimFor(type: string): pulumi.dynamic.ResourceProvider {
    let shim = shims.get(type);
    if (!shim) {
        shim = {
            async configure(req: pulumi.dynamic.ConfigureRequest) {
                require("pulumi-cloudiway/impl").install(this, type, req);
            },
        } as pulumi.dynamic.ResourceProvider;
        shims.set(type, shim);
    }
    return shim;
}
