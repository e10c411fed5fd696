#!/usr/bin/env bash
# npm test: build, make the engine available, build the API reference (npm run docs), then
#  1. the unit suites (every test not tagged @engine), in parallel (mocha --parallel, 2 jobs or
#     TEST_JOBS): each file runs in a worker process of its own, so every file must pass alone;
#  2. the engine suites (@engine: the real Pulumi CLI), serially in one mocha process, loading only
#     the files that declare them (describe "@engine ..." or describeEngine).
#  3. the engine suites of the resources and the campaign again, on the oldest Pulumi CLI the package
#     supports (the lower bound of its @pulumi/pulumi range, a second cached engine) with the SDK of
#     package-lock.json: a program on the newest SDK driven by the oldest CLI is what a user who
#     upgrades the package but not the CLI runs.
# The engine parts run even when the unit part failed (one CI run reports all); npm test fails if
# any failed. Under CI the engine tests never skip (tests/helpers/engine.ts).
set -uo pipefail
cd "$(dirname "$0")/.."

# npm puts node_modules/.bin first on PATH: the project's own Node.js (the `node` dev dependency),
# whatever the system's is. The engine's language host and the dynamic provider run that `node` too.
echo "npm test: node $(node --version) ($(command -v node))"
if [ "$(node -p 'process.versions.node.split(".")[0]')" -lt 22 ]; then
    echo "npm test: Node.js 22 or newer is needed (run it through npm: npm test)" >&2
    exit 1
fi

npx tsc -p tsconfig.json || exit 1
bash scripts/install-engine.sh > /dev/null || exit 1
# The API reference builds from the doc comments of the package's exports (docs/api/, not committed):
# a broken entry point or {@link} fails here, in a few seconds.
docs_out=$(npm run --silent docs 2>&1) || { echo "$docs_out" >&2; echo "npm test: npm run docs failed" >&2; exit 1; }

npx mocha --parallel --jobs "${TEST_JOBS:-2}" "dist/tests/**/*.test.js" --grep @engine --invert
unit=$?

mapfile -t engine_files < <(find dist/tests -name '*.test.js' -print0 | xargs -0 grep -lE '@engine|describeEngine' | sort)
if [ "${#engine_files[@]}" -eq 0 ]; then
    echo "npm test: no engine test files found under dist/tests" >&2
    exit 1
fi
npx mocha "${engine_files[@]}" --grep @engine
engine=$?

oldest="$(node -p 'require("./package.json").dependencies["@pulumi/pulumi"].replace(/^\^/, "")')"
oldest_files=(dist/tests/engine-resources.test.js dist/tests/engine-campaign.test.js)
if oldest_bin="$(bash scripts/install-engine.sh "$oldest" | tail -1)"; then
    echo "npm test: ${oldest_files[*]} on the oldest supported CLI, $("$oldest_bin/pulumi" version)"
    PULUMI_CLOUDIWAY_ENGINE_BIN="$oldest_bin" npx mocha "${oldest_files[@]}" --grep @engine
    old=$?
else
    old=1
fi

if [ "$unit" -ne 0 ] || [ "$engine" -ne 0 ] || [ "$old" -ne 0 ]; then
    echo "npm test: unit suites exit $unit, engine suites exit $engine, oldest CLI's engine suites exit $old" >&2
    exit 1
fi
