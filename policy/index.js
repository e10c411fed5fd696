// The policy pack `cloudiway` of pulumi-cloudiway (compiled from policy/pack.ts). The CLI runs this
// folder: `pulumi preview --policy-pack node_modules/pulumi-cloudiway/policy`. @pulumi/policy reads
// the pack's version from package.json here; @pulumi/policy and @pulumi/pulumi resolve from the
// node_modules above (the project's), so nothing is installed in this folder.
require("../dist/policy/pack");
