#!/usr/bin/env bash
# A/B of `reelay serve` configurations by throughput and CPU per status read: starts one `reelay serve` per argument
# (LABEL:VAR=value ...; the variables are set for that process only), each with a completed sandbox job and its stdout
# read by `cat` (as a log collector reads it), then runs wrk rounds against them in turn and prints, per round and in
# total, requests per second and the CPU time per request of the serve process and of its stdout reader (from
# /proc/<pid>/stat). Identical configurations differ by a few per cent between processes: compare against that.
#   bench/ab-serve.sh "default:X=1" "no-request-line:Reelay__Logging__Requests=false"
#   ROUNDS=6 DURATION=3 bench/ab-serve.sh ...        (defaults: 6 rounds of 3 s, after 12 s of warm-up each)
# Needs wrk and a Release build (bench/run.sh builds one); the serve processes bind 127.0.0.1 on free ports.
set -uo pipefail
cd "$(dirname "$0")/.."
dll=${DLL:-bench/Reelay.Bench/bin/Release/net10.0/Reelay.Cli.dll}
[ -f "$dll" ] || { echo "Build first: dotnet build bench/Reelay.Bench -c Release" >&2; exit 1; }
rounds=${ROUNDS:-6}; duration=${DURATION:-3}
key=rk_ab_$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')
declare -a urls ids labels dirs serves readers
cleanup() {
  for p in "${serves[@]:-}"; do [ -n "$p" ] && kill "$p" 2>/dev/null; done
  sleep 2
  for p in "${serves[@]:-}" "${readers[@]:-}"; do [ -n "$p" ] && kill -9 "$p" 2>/dev/null; done
  for d in "${dirs[@]:-}"; do [ -n "$d" ] && rm -rf "$d"; done
}
trap cleanup EXIT
i=0
for spec in "$@"; do
  labels[$i]=${spec%%:*}
  dirs[$i]=$(mktemp -d)
  mkfifo "${dirs[$i]}/stdout"
  cat "${dirs[$i]}/stdout" >"${dirs[$i]}/log" &
  readers[$i]=$!
  # shellcheck disable=SC2086
  env REELAY_ADMIN_KEY="$key" ${spec#*:} dotnet "$dll" serve --urls http://127.0.0.1:0 --data "${dirs[$i]}/data" >"${dirs[$i]}/stdout" 2>&1 &
  serves[$i]=$!
  i=$((i + 1))
done
ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
for j in $(seq 0 $((i - 1))); do
  for _ in $(seq 1 240); do
    urls[$j]=$(grep -o 'Reelay is ready on http://127.0.0.1:[0-9]*' "${dirs[$j]}/log" | grep -o 'http.*')
    [ -n "${urls[$j]}" ] && break
    sleep 0.5
  done
  ids[$j]=$(curl -s -H "Authorization: Bearer $key" -H 'Content-Type: application/json' \
    -d '{"model":"sandbox","prompt":"ab","seconds":"1","size":"64x64"}' "${urls[$j]}/v1/videos" | grep -o '"id":"[^"]*"' | head -1 | cut -d'"' -f4)
done
for j in $(seq 0 $((i - 1))); do
  for _ in $(seq 1 120); do curl -s -H "Authorization: Bearer $key" "${urls[$j]}/v1/videos/${ids[$j]}" | grep -q '"completed"' && break; sleep 0.5; done
  for _ in 1 2 3 4; do wrk -t2 -c32 -d3s -H "Authorization: Bearer $key" "${urls[$j]}/v1/videos/${ids[$j]}" >/dev/null; done
done
declare -A requests serve_ticks reader_ticks
for r in $(seq 1 "$rounds"); do
  line="round $r:"
  for j in $(seq 0 $((i - 1))); do
    s0=$(ticks "${serves[$j]}"); r0=$(ticks "${readers[$j]}")
    n=$(wrk -t2 -c32 -d"${duration}"s -H "Authorization: Bearer $key" "${urls[$j]}/v1/videos/${ids[$j]}" | awk '/requests in/ {print $1}')
    s1=$(ticks "${serves[$j]}"); r1=$(ticks "${readers[$j]}")
    requests[$j]=$(( ${requests[$j]:-0} + n )); serve_ticks[$j]=$(( ${serve_ticks[$j]:-0} + s1 - s0 )); reader_ticks[$j]=$(( ${reader_ticks[$j]:-0} + r1 - r0 ))
    line+=" ${labels[$j]}=$((n / duration))/s"
  done
  echo "$line"
done
hz=$(getconf CLK_TCK)
for j in $(seq 0 $((i - 1))); do
  awk -v l="${labels[$j]}" -v n="${requests[$j]}" -v s="${serve_ticks[$j]}" -v r="${reader_ticks[$j]}" -v hz="$hz" -v d=$((rounds * duration)) \
    'BEGIN { printf "%s: %d req/s, serve %.1f us/request, stdout reader %.2f us/request\n", l, n / d, s / hz * 1e6 / n, r / hz * 1e6 / n }'
done
