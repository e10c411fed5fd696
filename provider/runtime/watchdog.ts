/**
 * The dynamic provider process exits soon after the engine that started it is gone.
 *
 * When `pulumi up` is killed (SIGKILL, a lost runner), nothing tells its plugins: the
 * Node.js dynamic provider's gRPC server would go on serving nobody, and a provider in a
 * wait or retry loop would go on calling the API after the admin stopped the run. The
 * engine is the provider's parent process; when it dies the provider is re-parented, so a
 * change of `process.ppid` (read live from the OS) means the engine is gone.
 */
let watching = false;

export function exitWithEngine(everyMs = 1000): void {
    if (watching) return;
    watching = true;
    const engine = process.ppid;
    const timer = setInterval(() => {
        if (process.ppid === engine) return;
        process.stderr.write(`pulumi-cloudiway: the Pulumi engine (pid ${engine}) is gone; the provider exits\n`);
        process.exit(1);
    }, everyMs);
    timer.unref();
}
