/**
 * Messages from the dynamic provider to the engine's output (`pulumi up` shows them as
 * warnings). Pulumi's Node.js dynamic provider does not connect its own `pulumi.log` to the
 * engine, but it is started with the engine's address as its first argument: this opens the
 * engine's Log RPC on it. Outside a provider process (tests), or if the engine cannot be
 * reached, the message goes to stderr, which the engine also shows.
 */
import type * as grpcTypes from "@grpc/grpc-js";

type EngineClient = { log(req: unknown, cb: (err: Error | null) => void): void; close(): void };
let client: EngineClient | undefined | null;

function engine(): EngineClient | undefined {
    if (client !== undefined) return client ?? undefined;
    client = null;
    const addr = process.argv[2];
    if (!/dynamic-provider/.test(process.argv[1] ?? "") || !addr || !/^[\w.-]+:\d+$/.test(addr)) return undefined;
    try {
        // @grpc/grpc-js as @pulumi/pulumi resolves it (its dependency, not ours).
        const pulumiDir = require.resolve("@pulumi/pulumi");
        const grpc = require(require.resolve("@grpc/grpc-js", { paths: [pulumiDir] })) as typeof grpcTypes;
        const rpc = require("@pulumi/pulumi/proto/engine_grpc_pb") as { EngineClient: new (a: string, c: grpcTypes.ChannelCredentials) => EngineClient };
        client = new rpc.EngineClient(addr, grpc.credentials.createInsecure());
    } catch {
        client = null;
    }
    return client ?? undefined;
}

/** A warning in the engine's output (not tied to one resource: dynamic provider methods are not told their URN). */
export function warn(message: string): Promise<void> {
    return log("WARNING", message);
}

/** Progress in the engine's output (e.g. a gated run's counts by status). */
export function info(message: string): Promise<void> {
    return log("INFO", message);
}

async function log(severity: "INFO" | "WARNING", message: string): Promise<void> {
    const e = engine();
    if (e) {
        try {
            const pb = require("@pulumi/pulumi/proto/engine_pb") as {
                LogRequest: new () => { setSeverity(s: number): void; setMessage(m: string): void };
                LogSeverity: { WARNING: number; INFO: number };
            };
            const req = new pb.LogRequest();
            req.setSeverity(pb.LogSeverity[severity]);
            req.setMessage(message);
            await new Promise<void>((resolve, reject) => e.log(req, (err) => (err ? reject(err) : resolve())));
            return;
        } catch {
            // fall through to stderr
        }
    }
    process.stderr.write(`${severity.toLowerCase()}: ${message}\n`);
}
