#!/usr/bin/env bash
# Installs the test prerequisites and runs every test: the .NET suites, then real clients (the openai npm package)
# against a real Reelay. Ends with one summary line: "tests: N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")"
scripts/prereqs.sh test || exit 1

results="$(mktemp -d)"
trap 'rm -rf "$results"' EXIT
status=0

dotnet build Reelay.slnx -c Release -nologo -v quiet -tl:off "-clp:ErrorsOnly;NoSummary" || exit 1
# The .NET storage tests start s3rver from tests/js/node_modules, so install the npm packages first.
(cd tests/js && npm ci --no-audit --no-fund --loglevel=error) || exit 1

for project in tests/*/*.Tests.csproj; do
  name="$(basename "$project" .csproj)"
  # A test that hangs is stopped after 10 minutes and named, instead of holding CI until its time limit.
  dotnet test "$project" -c Release --no-build -nologo --blame-hang-timeout 10m --blame-hang-dump-type none --logger "trx;LogFileName=$name.trx" --results-directory "$results" 2>&1 | tee "$results/$name.log" || status=1
done

(cd tests/js && node --test --test-reporter=spec --test-reporter-destination=stdout --test-reporter=tap --test-reporter-destination="$results/js.tap" ./*.test.mjs) || status=1

passed=0; failed=0
for trx in "$results"/*.trx; do
  [ -f "$trx" ] || continue
  p=$(grep -o 'passed="[0-9]*"' "$trx" | head -1 | tr -dc 0-9); f=$(grep -o 'failed="[0-9]*"' "$trx" | head -1 | tr -dc 0-9)
  passed=$((passed + ${p:-0})); failed=$((failed + ${f:-0}))
done
if [ -f "$results/js.tap" ]; then
  p=$(grep -E '^# pass ' "$results/js.tap" | tail -1 | tr -dc 0-9); f=$(grep -E '^# fail ' "$results/js.tap" | tail -1 | tr -dc 0-9)
  passed=$((passed + ${p:-0})); failed=$((failed + ${f:-0}))
fi
[ "$failed" -eq 0 ] || status=1
echo "tests: $passed passed, $failed failed"
exit $status
