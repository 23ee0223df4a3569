#!/usr/bin/env bash
# Runs Reelay on its embedded default (SQLite and result files under ./data, the sandbox provider).
#   ./run.sh                      serve on http://127.0.0.1:8080
#   ./run.sh serve --urls URL     serve elsewhere
#   ./run.sh demo                 render a sample image-to-video job end to end and print the MP4's path
#   ./run.sh cluster [--nodes N]  three nodes (or N) on a private PostgreSQL behind a round-robin nginx (scripts/cluster.sh)
#   ./run.sh <any reelay command> e.g. ./run.sh models, ./run.sh generate --prompt "..."
set -euo pipefail
cd "$(dirname "$0")"
scripts/prereqs.sh run
build_log="$(mktemp)"
if ! dotnet build src/Reelay.Cli/Reelay.Cli.csproj -c Release -nologo -v quiet -tl:off >"$build_log" 2>&1; then
  cat "$build_log" >&2; rm -f "$build_log"; exit 1
fi
rm -f "$build_log"
if [ "${1:-}" = cluster ]; then
  shift
  exec scripts/cluster.sh "$@"
fi
[ $# -gt 0 ] || set -- serve
exec dotnet src/Reelay.Cli/bin/Release/net10.0/Reelay.Cli.dll "$@"
