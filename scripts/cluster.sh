#!/usr/bin/env bash
# Several Reelay nodes as one gateway, on this machine (called by ./run.sh cluster; see docs/scale-out.md):
#   a private PostgreSQL cluster in a temporary folder (initdb/pg_ctl, loopback only, a random password),
#   N `reelay serve` nodes (3 by default) on loopback sharing that database and one results folder,
#   and a round-robin nginx front (Debian's nginx, a private instance with its own configuration).
# It prints where to point a client and stops everything (and deletes the folder) on Ctrl-C.
#   scripts/cluster.sh [--nodes N] [--port FRONT_PORT] [--keep]
# Every `reelay serve` setting can be passed as an environment variable (e.g. Reelay__Providers__...): each node gets it.
set -euo pipefail
cd "$(dirname "$0")/.."

nodes=3
front_port=8080
keep=0
while [ $# -gt 0 ]; do
  case "$1" in
    --nodes) nodes="$2"; shift 2 ;;
    --port) front_port="$2"; shift 2 ;;
    --keep) keep=1; shift ;;
    *) echo "usage: scripts/cluster.sh [--nodes N] [--port FRONT_PORT] [--keep]" >&2; exit 2 ;;
  esac
done
[[ "$nodes" =~ ^[1-9][0-9]?$ ]] || { echo "--nodes must be 1 to 99" >&2; exit 2; }

scripts/prereqs.sh cluster
cli=src/Reelay.Cli/bin/Release/net10.0/Reelay.Cli.dll
[ -f "$cli" ] || dotnet build src/Reelay.Cli/Reelay.Cli.csproj -c Release -nologo -v quiet -tl:off

initdb_path="$(compgen -G '/usr/lib/postgresql/*/bin/initdb' | sort -V | tail -1 || true)"
[ -n "$initdb_path" ] || initdb_path="$(command -v initdb)"
pg_bin="$(dirname "$initdb_path")"
nginx="$(PATH="$PATH:/usr/local/sbin:/usr/sbin:/sbin" command -v nginx)"
as_postgres=()
[ "$(id -u)" -ne 0 ] || as_postgres=(runuser -u postgres --) # PostgreSQL refuses to run as root

port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
free_port() {
  local p
  while :; do p=$((20000 + RANDOM % 40000)); port_in_use "$p" || { echo "$p"; return; }; done
}
port_in_use "$front_port" && { echo "reelay: port $front_port is in use; pick another with --port" >&2; exit 1; }

dir="$(mktemp -d /tmp/reelay-cluster.XXXXXX)"
chmod 755 "$dir"
pids=()
node_ports=()
pg_started=0
cleanup() {
  trap - INT TERM EXIT
  echo; echo "Stopping the cluster..."
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  [ "$pg_started" -eq 0 ] || "${as_postgres[@]}" "$pg_bin/pg_ctl" -D "$dir/pg/data" -m fast -w stop >/dev/null 2>&1 || true
  if [ "$keep" -eq 1 ]; then echo "Kept $dir (logs: $dir/*.log)"; else rm -rf "$dir"; fi
}
trap cleanup INT TERM EXIT

# PostgreSQL: its own folder (owned by postgres when we are root), loopback on a free port, scram passwords.
mkdir -p "$dir/pg"
password="$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')"
echo "$password" >"$dir/pg/pwfile"
[ "$(id -u)" -ne 0 ] || chown -R postgres:postgres "$dir/pg"
"${as_postgres[@]}" "$pg_bin/initdb" -D "$dir/pg/data" -U reelay --pwfile "$dir/pg/pwfile" --auth-local=trust --auth-host=scram-sha-256 \
  -E UTF8 --no-locale >"$dir/initdb.log" 2>&1 || { cat "$dir/initdb.log" >&2; exit 1; }
rm -f "$dir/pg/pwfile"
pg_port="$(free_port)"
cat >>"$dir/pg/data/postgresql.conf" <<CONF
# Reelay cluster on one machine: loopback only, on a port chosen at start.
listen_addresses = '127.0.0.1'
port = $pg_port
unix_socket_directories = '$dir/pg'
max_connections = 300
CONF
"${as_postgres[@]}" "$pg_bin/pg_ctl" -D "$dir/pg/data" -l "$dir/pg/server.log" -w -t 60 start >/dev/null
pg_started=1
"${as_postgres[@]}" "$pg_bin/createdb" -h "$dir/pg" -p "$pg_port" -U reelay reelay
connection="Host=127.0.0.1;Port=$pg_port;Username=reelay;Password=$password;Database=reelay"

# What every node shares: the database (which also holds the generated content URL and callback keys), the results
# folder and the admin key.
export REELAY_ADMIN_KEY="${REELAY_ADMIN_KEY:-rk_cluster_$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')}"
mkdir -p "$dir/results"
front="http://127.0.0.1:$front_port"

# Each node applies the schema migrations at start, one at a time (they take an advisory lock).
upstreams=""
for i in $(seq 1 "$nodes"); do
  port="$(free_port)"
  mkdir -p "$dir/node$i"
  Reelay__Store__Provider=postgres Reelay__Store__ConnectionString="$connection" \
  Reelay__Engine__NodeId="node$i" Reelay__DataDirectory="$dir/node$i" Reelay__Storage__LocalPath="$dir/results" \
  Reelay__PublicBaseUrl="$front" \
    dotnet "$cli" serve --urls "http://127.0.0.1:$port" >"$dir/node$i.log" 2>&1 &
  pids+=($!)
  upstreams+="    server 127.0.0.1:$port max_fails=1 fail_timeout=5s;"$'\n'
  node_ports+=("$port")
done

for i in $(seq 1 "$nodes"); do
  port="${node_ports[$((i - 1))]}"
  for _ in $(seq 1 120); do
    curl -fsS "http://127.0.0.1:$port/readyz" >/dev/null 2>&1 && break
    kill -0 "${pids[$((i - 1))]}" 2>/dev/null || { echo "node$i did not start:" >&2; cat "$dir/node$i.log" >&2; exit 1; }
    sleep 0.5
  done
done

# The front: round robin; SSE streams are passed through unbuffered; a node that stops answering is skipped.
mkdir -p "$dir/nginx/tmp"
user=""
[ "$(id -u)" -ne 0 ] || user="user root;"
cat >"$dir/nginx/nginx.conf" <<CONF
$user
daemon off;
worker_processes 1;
pid $dir/nginx/nginx.pid;
error_log $dir/nginx/error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path $dir/nginx/tmp/body;
  proxy_temp_path $dir/nginx/tmp/proxy;
  fastcgi_temp_path $dir/nginx/tmp/fastcgi;
  uwsgi_temp_path $dir/nginx/tmp/uwsgi;
  scgi_temp_path $dir/nginx/tmp/scgi;
  upstream reelay {
$upstreams  }
  server {
    listen 127.0.0.1:$front_port;
    client_max_body_size 64m;
    location / {
      proxy_pass http://reelay;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host \$http_host;
      proxy_buffering off;
      proxy_read_timeout 1h;
      proxy_next_upstream error timeout http_502 http_503;
    }
  }
}
CONF
"$nginx" -p "$dir/nginx" -c "$dir/nginx/nginx.conf" >"$dir/nginx.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 50); do port_in_use "$front_port" && break; sleep 0.1; done

cat <<INFO

Reelay cluster: $nodes nodes on one PostgreSQL, behind a round-robin nginx.
  Point a client at:  $front   (e.g. OpenAI: baseURL $front/v1)
  Admin key:          $REELAY_ADMIN_KEY
  Dashboard:          $front/dashboard
  Nodes:              $(for i in $(seq 1 "$nodes"); do printf 'node%s http://127.0.0.1:%s (pid %s)  ' "$i" "${node_ports[$((i - 1))]}" "${pids[$((i - 1))]}"; done)
  PostgreSQL:         127.0.0.1:$pg_port (database reelay, user reelay)
  Folder:             $dir (logs: node*.log, pg/server.log)
Try: curl -s $front/v1/videos -H "Authorization: Bearer \$REELAY_ADMIN_KEY" -H 'Content-Type: application/json' \\
       -d '{"model":"sandbox","prompt":"A lighthouse at dawn","seconds":"4","size":"640x360"}'
Kill a node (kill -9 <pid>) to watch another take its jobs over. Ctrl-C stops everything.
INFO
wait "${pids[@]}"
