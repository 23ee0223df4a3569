#!/usr/bin/env bash
# Installs what Reelay needs on a Debian/Ubuntu machine, only when missing.
#   scripts/prereqs.sh run    ffmpeg and a font for the sandbox renderer
#   scripts/prereqs.sh test   the above, plus Node.js/npm for the client-compatibility tests, Chromium for the
#                             dashboard's browser tests (Debian's chromium, driven by Playwright; never downloaded by it),
#                             Prometheus (the server and promtool) for the /metrics scrape tests and nginx for the
#                             X-Accel-Redirect test, PostgreSQL for the PostgreSQL store tests (the tests run private
#                             instances; the packages' services are not used)
#   scripts/prereqs.sh cluster  the run prerequisites, plus PostgreSQL and nginx for ./run.sh cluster (private instances)
set -euo pipefail
mode="${1:-run}"

need=()
command -v ffmpeg >/dev/null 2>&1 || need+=(ffmpeg)
command -v ffprobe >/dev/null 2>&1 || need+=(ffmpeg)
[ -f /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ] || need+=(fonts-dejavu-core)
if [ "$mode" = "cluster" ]; then
  [ -x /usr/sbin/nginx ] || command -v nginx >/dev/null 2>&1 || need+=(nginx)
  compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null || command -v initdb >/dev/null 2>&1 || need+=(postgresql)
  command -v curl >/dev/null 2>&1 || need+=(curl)
fi
if [ "$mode" = "test" ]; then
  command -v node >/dev/null 2>&1 || need+=(nodejs)
  command -v npm >/dev/null 2>&1 || need+=(npm)
  [ -x /usr/bin/chromium ] || need+=(chromium)
  command -v promtool >/dev/null 2>&1 || need+=(prometheus)
  command -v prometheus >/dev/null 2>&1 || need+=(prometheus)
  [ -x /usr/sbin/nginx ] || command -v nginx >/dev/null 2>&1 || need+=(nginx)
  # The PostgreSQL store tests start a private cluster with initdb/pg_ctl (never the package's own service).
  compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null || command -v initdb >/dev/null 2>&1 || need+=(postgresql)
fi

if [ ${#need[@]} -gt 0 ]; then
  mapfile -t need < <(printf '%s\n' "${need[@]}" | sort -u)
  echo "Installing: ${need[*]}"
  sudo_cmd=()
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null 2>&1 || { echo "Please install as root: apt-get install -y ${need[*]}" >&2; exit 1; }
    sudo_cmd=(sudo)
  fi
  "${sudo_cmd[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

command -v dotnet >/dev/null 2>&1 || { echo "The .NET 10 SDK is required: https://dotnet.microsoft.com/download" >&2; exit 1; }
