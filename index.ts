/**
 * The root project `cloudiway-migration`: deploys the plan file named by the
 * stack config `cloudiway-migration:planFile` (default plan.yaml). Connector
 * names are checked against the API before anything is declared, so a bad plan
 * fails preview with every problem listed as file:line.
 */
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { MigrationPlan, PlanError, getSourceConnectors, getTargetConnectors, loadPlan } from "./provider";

export = async () => {
    const cfg = new pulumi.Config("cloudiway-migration");
    // Relative to the project (the program itself runs from dist/).
    const root = process.env.PULUMI_NODEJS_ROOT_DIRECTORY || path.resolve(__dirname, "..");
    const file = path.resolve(root, cfg.get("planFile") ?? "plan.yaml");
    const kind = (cfg.get("kind") as "mail" | "archive" | undefined) ?? "mail";
    let connectors: { source: string[]; target: string[] } | undefined;
    try {
        connectors = {
            source: (await getSourceConnectors({ kind })).map((c) => c.name),
            target: (await getTargetConnectors({ kind })).map((c) => c.name),
        };
    } catch (e) {
        pulumi.log.warn(`connector names not checked: ${e instanceof Error ? e.message : String(e)}`);
    }
    let plan: ReturnType<typeof loadPlan>;
    try {
        plan = loadPlan(file, {
            connectors,
            defaults: { sourceConnectorName: cfg.get("sourceConnectorName"), targetConnectorName: cfg.get("targetConnectorName"), kind },
        });
    } catch (e) {
        if (!(e instanceof PlanError)) throw e;
        // Reported, then exit 32 ("failed, and said why"): the engine stops and registers nothing.
        // Not thrown: with @pulumi/pulumi 3.248 on Node 20 a program that throws keeps its process
        // growing for minutes (to gigabytes) before it ends; a logged error and exit 32 end it at once.
        await pulumi.log.error(e.message);
        process.exit(32);
    }
    const deployed = new MigrationPlan("plan", { plan });
    return { planFile: path.relative(root, file), summary: deployed.summary };
};
