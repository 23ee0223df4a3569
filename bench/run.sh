#!/usr/bin/env bash
# Reelay's benchmarks, each a ratio against a baseline measured in the same run (see docs/benchmarks.md):
#   1. status read   GET /v1/videos/{id} on a real gateway vs a bare Kestrel endpoint (and nginx when installed), with wrk
#   2. submit        JobEngine.SubmitAsync vs SqliteJobStore.InsertAsync alone, at p99
#   3. memory        engine memory per queued and per running job
#   4. upstream      1,000 jobs at once against the ModelVerse EMULATOR: all complete, poll lateness p99, request rate
#   5. kill          only when named (bench/run.sh kill): `reelay serve` SIGKILLed mid-burst and restarted, against the
#                    OpenAI-compatible, Vidu and ModelVerse EMULATORS: unknown outcomes, lost jobs, duplicate submissions
#   6. content       GET /v1/videos/{id}/content, 224 KiB and 13 MiB, on Reelay and on Reelay behind nginx with
#                    Reelay:Content:Offload=x-accel-redirect, vs nginx serving the same file alone, with wrk
#   7. engine        only when named (bench/run.sh engine): 100,000 queued + 10,000 running jobs against the ModelVerse
#                    EMULATOR at 1,000 requests/s: all complete, poll lateness p99, memory per job, queue_position cost
#                    (smaller: bench/run.sh engine --engine-queued 10000 --engine-running 1000)
#   8. callbacks     only when named (bench/run.sh callbacks): jobs against the Seedance EMULATOR, from upstream completion
#                    to the client's webhook, with provider callbacks and with polling alone (p50/p99)
#   9. cluster       only when named (bench/run.sh cluster): 3 nodes on one private PostgreSQL against the ModelVerse
#                    EMULATOR: poll lateness with 10,000 jobs over the nodes, status reads of 3 nodes vs 1, takeover time
#                    after SIGKILL, p50 and max over 5 kills (smaller: bench/run.sh cluster --cluster-jobs 300 --cluster-kills 2)
# Installs wrk and nginx (and ffmpeg, for the sandbox job the status read needs) when missing, builds Release, runs each
# benchmark in its own process and ends with a summary table.
# Exits 0 whether the targets are met or not: it is a measurement, not a test. Only a failed build exits 1.
#   bench/run.sh                                    all but kill, engine, callbacks and cluster
#   bench/run.sh status|submit|memory|upstream|content|kill|engine|callbacks|cluster [options]     one of them; options: --duration, --rounds, --submits, --jobs, --upstream-jobs, --kill-upstream, --engine-queued, --serve, ...
set -uo pipefail
cd "$(dirname "$0")/.."

scripts/prereqs.sh run || exit 1
if ! command -v wrk >/dev/null 2>&1; then
  echo "Installing: wrk"
  sudo_cmd=()
  [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
  { "${sudo_cmd[@]}" apt-get update -qq && DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends wrk >/dev/null; } \
    || echo "Could not install wrk; the status read benchmark will be skipped." >&2
fi

if ! PATH="$PATH:/usr/local/sbin:/usr/sbin:/sbin" command -v nginx >/dev/null 2>&1; then
  echo "Installing: nginx (a baseline; the bench runs its own private instances, the package's service is not needed)"
  sudo_cmd=()
  [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
  { "${sudo_cmd[@]}" apt-get update -qq && DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends nginx >/dev/null; } \
    || echo "Could not install nginx; its baselines (and the content benchmark) will be left out." >&2
fi

dotnet build bench/Reelay.Bench/Reelay.Bench.csproj -c Release -nologo -v quiet -clp:ErrorsOnly || exit 1
bench=(dotnet bench/Reelay.Bench/bin/Release/net10.0/Reelay.Bench.dll)

log="$(mktemp)"
trap 'rm -f "$log"' EXIT

cpu="$(grep -m1 'model name' /proc/cpuinfo 2>/dev/null | cut -d: -f2 | sed 's/^ *//')"
memory="$(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo 2>/dev/null)"
echo "Machine: $(nproc) cores${cpu:+ ($cpu)}, ${memory:-? GiB} RAM, $(uname -sr), .NET $(dotnet --version)"
command -v wrk >/dev/null 2>&1 && echo "wrk: $(wrk --version 2>&1 | head -1 | cut -d' ' -f1-2)"
nginx="$(PATH="$PATH:/usr/local/sbin:/usr/sbin:/sbin" command -v nginx)"
if [ -n "$nginx" ]; then echo "nginx: $("$nginx" -v 2>&1 | cut -d/ -f2) (its baseline is included)"; else echo "nginx: not installed (its baseline is left out)"; fi

started=$SECONDS
if [ $# -gt 0 ]; then
  "${bench[@]}" "$@" 2>&1 | tee -a "$log"
else
  for benchmark in status submit memory upstream content; do
    "${bench[@]}" "$benchmark" 2>&1 | tee -a "$log"
  done
fi

echo
echo "== Summary ($((SECONDS - started)) s) =="
echo "| benchmark | measured | baseline | ratio | target | result |"
echo "|---|---|---|---|---|---|"
grep '^RESULT |' "$log" | sed 's/^RESULT |/|/; s/$/ |/'
exit 0
