#!/usr/bin/env bash
# A/B of `reelay serve` configurations or builds by throughput and CPU per status read: starts one `reelay serve` per
# argument (LABEL:VAR=value ...; the variables are set for that process only; a word dll=PATH runs that Reelay.Cli.dll
# instead, e.g. an older build), each with a completed sandbox job and its stdout read by `cat` (as a log collector reads
# it), then runs wrk rounds against them in turn and prints, per round and in total, requests per second and the CPU
# time per request of the serve process and of its stdout reader (from /proc/<pid>/stat). An argument "bare" adds the
# status read's baseline as a process of its own: bare Kestrel answering the first gateway's response body (see
# docs/benchmarks.md section 1). Identical configurations differ by a few per cent between processes: compare against that.
#   bench/ab-serve.sh "default:X=1" "no-request-line:Reelay__Logging__Requests=false"
#   bench/ab-serve.sh bare "before:dll=../older-checkout/bench/Reelay.Bench/bin/Release/net10.0/Reelay.Cli.dll" "after:X=1"
#   ROUNDS=6 DURATION=3 bench/ab-serve.sh ...        (defaults: 6 rounds of 3 s, after 12 s of warm-up each)
#   CONTENT_BYTES=229376 bench/ab-serve.sh ...      (GET /v1/videos/{id}/content instead, each job's video replaced by
#                                                     that many random bytes; "bare" does not apply)
#   PROFILE="before after" bench/ab-serve.sh ...     (also records `perf record -g` of those labels' processes for one
#                                                     more round each: perf-LABEL.data in the current folder; set
#                                                     DOTNET_PerfMapEnabled=1 DOTNET_EnableWriteXorExecute=0 on it)
# Needs wrk and a Release build (bench/run.sh builds one); the serve processes bind 127.0.0.1 on free ports.
set -uo pipefail
here=$PWD
cd "$(dirname "$0")/.."
dll=${DLL:-bench/Reelay.Bench/bin/Release/net10.0/Reelay.Cli.dll}
bench_dll=${BENCH_DLL:-bench/Reelay.Bench/bin/Release/net10.0/Reelay.Bench.dll}
[ -f "$dll" ] || { echo "Build first: dotnet build bench/Reelay.Bench -c Release" >&2; exit 1; }
rounds=${ROUNDS:-6}; duration=${DURATION:-3}; profile=${PROFILE:-}; content_bytes=${CONTENT_BYTES:-}
suffix=; [ -n "$content_bytes" ] && suffix=/content
key=rk_ab_$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')
declare -a urls ids labels dirs serves readers
cleanup() {
  for p in "${serves[@]:-}"; do [ -n "$p" ] && kill "$p" 2>/dev/null; done
  sleep 2
  for p in "${serves[@]:-}" "${readers[@]:-}"; do [ -n "$p" ] && kill -9 "$p" 2>/dev/null; done
  for d in "${dirs[@]:-}"; do [ -n "$d" ] && rm -rf "$d"; done
}
trap cleanup EXIT
bare=-
i=0
for spec in "$@"; do
  labels[$i]=${spec%%:*}
  dirs[$i]=$(mktemp -d)
  mkfifo "${dirs[$i]}/stdout"
  if [ "$spec" = bare ]; then bare=$i; i=$((i + 1)); continue; fi
  cat "${dirs[$i]}/stdout" >"${dirs[$i]}/log" &
  readers[$i]=$!
  vars=(); this=$dll
  [ "$spec" = "${spec#*:}" ] || for word in ${spec#*:}; do
    case $word in dll=*) this=${word#dll=} ;; *) vars+=("$word") ;; esac
  done
  env REELAY_ADMIN_KEY="$key" "${vars[@]}" dotnet "$this" serve --urls http://127.0.0.1:0 --data "${dirs[$i]}/data" >"${dirs[$i]}/stdout" 2>&1 &
  serves[$i]=$!
  i=$((i + 1))
done
ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
first=-
for j in $(seq 0 $((i - 1))); do
  [ "$j" = "$bare" ] && continue
  for _ in $(seq 1 240); do
    urls[$j]=$(grep -o 'Reelay is ready on http://127.0.0.1:[0-9]*' "${dirs[$j]}/log" | grep -o 'http.*')
    [ -n "${urls[$j]}" ] && break
    sleep 0.5
  done
  [ -n "${urls[$j]}" ] || { echo "${labels[$j]} did not start:" >&2; cat "${dirs[$j]}/log" >&2; exit 1; }
  ids[$j]=$(curl -s -H "Authorization: Bearer $key" -H 'Content-Type: application/json' \
    -d '{"model":"sandbox","prompt":"ab","seconds":"1","size":"64x64"}' "${urls[$j]}/v1/videos" | grep -o '"id":"[^"]*"' | head -1 | cut -d'"' -f4)
  [ "$first" = - ] && first=$j
done
for j in $(seq 0 $((i - 1))); do
  [ "$j" = "$bare" ] && continue
  for _ in $(seq 1 120); do curl -s -H "Authorization: Bearer $key" "${urls[$j]}/v1/videos/${ids[$j]}" | grep -q '"completed"' && break; sleep 0.5; done
  if [ -n "$content_bytes" ]; then
    # The same random bytes for every process; the store then answers with a weak (size and time) ETag.
    [ -f "${dirs[0]}/content" ] || head -c "$content_bytes" /dev/urandom >"${dirs[0]}/content"
    files=${dirs[$j]}/data/files
    video=$(find "$files" -path "$files/.sha256" -prune -o -name '*.mp4' -print | head -1)
    cp "${dirs[0]}/content" "$video"
    # Its checksum record too ("<sha256> <length> <mtime in .NET ticks>"), as the store writes it, so the ETag stays strong
    # and the store does not read the record from disk on every request.
    touch -d "@$(date +%s)" "$video"
    echo -n "$(sha256sum "$video" | cut -d' ' -f1) $content_bytes $(( $(stat -c %Y "$video") * 10000000 + 621355968000000000 ))" >"$files/.sha256/${video#"$files"/}.sha256"
  fi
done
if [ "$bare" != - ]; then
  [ "$first" != - ] || { echo "bare needs a gateway to copy its response from" >&2; exit 1; }
  curl -s -H "Authorization: Bearer $key" "${urls[$first]}/v1/videos/${ids[$first]}" >"${dirs[$bare]}/body.json"
  cat "${dirs[$bare]}/stdout" >"${dirs[$bare]}/log" &
  readers[$bare]=$!
  dotnet "$bench_dll" bare-kestrel '/v1/videos/{id}' "${dirs[$bare]}/body.json" 'application/json; charset=utf-8' >"${dirs[$bare]}/stdout" 2>&1 &
  serves[$bare]=$!
  for _ in $(seq 1 120); do
    urls[$bare]=$(grep -o 'Bare Kestrel is ready on http://127.0.0.1:[0-9]*' "${dirs[$bare]}/log" | grep -o 'http.*')
    [ -n "${urls[$bare]}" ] && break
    sleep 0.5
  done
  ids[$bare]=${ids[$first]}
fi
for j in $(seq 0 $((i - 1))); do
  echo "${labels[$j]}: pid ${serves[$j]}, ${urls[$j]}/v1/videos/${ids[$j]}$suffix"
  for _ in 1 2 3 4; do wrk -t2 -c32 -d3s -H "Authorization: Bearer $key" "${urls[$j]}/v1/videos/${ids[$j]}$suffix" >/dev/null; done
done
declare -A requests serve_ticks reader_ticks
for r in $(seq 1 "$rounds"); do
  line="round $r:"
  for j in $(seq 0 $((i - 1))); do
    s0=$(ticks "${serves[$j]}"); r0=$(ticks "${readers[$j]}")
    out=$(wrk -t2 -c32 -d"${duration}"s -H "Authorization: Bearer $key" "${urls[$j]}/v1/videos/${ids[$j]}$suffix")
    n=$(awk '/requests in/ {print $1}' <<<"$out")
    if grep -q 'Non-2xx' <<<"$out"; then echo "${labels[$j]}: non-2xx answers, the round is void" >&2; exit 1; fi
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
if [ -n "$profile" ]; then
  for j in $(seq 0 $((i - 1))); do
    [[ " $profile " == *" ${labels[$j]} "* ]] || continue
    perf record -F 999 -g -p "${serves[$j]}" -o "$here/perf-${labels[$j]}.data" -- sleep "$duration" 2>/dev/null &
    perf_pid=$!
    wrk -t2 -c32 -d"${duration}"s -H "Authorization: Bearer $key" "${urls[$j]}/v1/videos/${ids[$j]}$suffix" >/dev/null
    wait "$perf_pid"
    echo "$here/perf-${labels[$j]}.data (pid ${serves[$j]}): perf report -i $here/perf-${labels[$j]}.data --no-children --sort symbol"
  done
fi
