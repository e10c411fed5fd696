#!/usr/bin/env bash
# npm test: build, make the engine available, build the API reference (npm run docs), then
#  1. the unit suites (every test not tagged @engine), in parallel (mocha --parallel, 2 jobs or
#     TEST_JOBS): each file runs in a worker process of its own, so every file must pass alone;
#  2. the engine suites (@engine: the real Pulumi CLI), serially in one mocha process, loading only
#     the files that declare them (describe "@engine ..." or describeEngine).
# The engine part runs even when the unit part failed (one CI run reports both); npm test fails if
# either failed. Under CI the engine tests never skip (tests/helpers/engine.ts).
set -uo pipefail
cd "$(dirname "$0")/.."

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

if [ "$unit" -ne 0 ] || [ "$engine" -ne 0 ]; then
    echo "npm test: unit suites exit $unit, engine suites exit $engine" >&2
    exit 1
fi
