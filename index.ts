/**
 * The root project `cloudiway-migration`: deploys the plan file named by the
 * stack config `cloudiway-migration:planFile` (default plan.yaml). Connector
 * names are checked against the API before anything is declared, so a bad plan
 * fails preview with every problem listed as file:line.
 */
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { MigrationPlan, getSourceConnectors, getTargetConnectors, loadPlan } from "./provider";

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
    const plan = loadPlan(file, {
        connectors,
        defaults: { sourceConnectorName: cfg.get("sourceConnectorName"), targetConnectorName: cfg.get("targetConnectorName"), kind },
    });
    const deployed = new MigrationPlan("plan", { plan });
    return { planFile: path.relative(root, file), summary: deployed.summary };
};
