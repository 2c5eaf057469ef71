#!/usr/bin/env bash
# A throwaway PostgreSQL cluster on loopback for tests and benchmarks.
#
#   scripts/pg-cluster.sh start DIR   initdb into DIR/data (as the `postgres` user when run as
#                                     root: the server refuses to run as root), start it on a
#                                     free loopback port, print its URL on stdout
#   scripts/pg-cluster.sh stop DIR    stop it (fast shutdown) — the directory stays for logs
#   scripts/pg-cluster.sh restart DIR stop, then start on the same port (fault tests)
#
# The URL is also written to DIR/url. Nothing is left running by `stop`.
set -euo pipefail
cmd=${1:?usage: pg-cluster.sh start|stop|restart DIR}
dir=${2:?usage: pg-cluster.sh start|stop|restart DIR}
bindir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
[ -n "$bindir" ] || { echo "pg-cluster: PostgreSQL is not installed (scripts/setup.sh installs it)" >&2; exit 1; }
as_owner() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}
free_port() {
  python3 - <<'PY'
import socket
s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()
PY
}
start() {
  mkdir -p "$dir"
  [ "$(id -u)" -eq 0 ] && chown postgres "$dir"
  if [ ! -f "$dir/data/PG_VERSION" ]; then
    as_owner "$bindir/initdb" -D "$dir/data" --auth=trust -U postgres -E UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 \
      || { cat "$dir/initdb.log" >&2; exit 1; }
    # A self-signed certificate, so clients can be tested with sslmode=require (plain
    # connections stay allowed).
    as_owner openssl req -new -x509 -days 30 -nodes -subj "/CN=127.0.0.1" -newkey rsa:2048 \
      -keyout "$dir/data/server.key" -out "$dir/data/server.crt" >/dev/null 2>&1
    as_owner chmod 600 "$dir/data/server.key"
    echo "ssl = on" | as_owner tee -a "$dir/data/postgresql.conf" >/dev/null
  fi
  local port
  port=$(cat "$dir/port" 2>/dev/null || free_port)
  as_owner "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
    -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c max_connections=200 -c fsync=on -c synchronous_commit=on" start >/dev/null \
    || { cat "$dir/server.log" >&2; exit 1; }
  echo "$port" | as_owner tee "$dir/port" >/dev/null
  echo "postgres://postgres@127.0.0.1:$port/postgres" | as_owner tee "$dir/url"
}
stop() {
  [ -f "$dir/data/postmaster.pid" ] || return 0
  as_owner "$bindir/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null
}
case "$cmd" in
  start) start ;;
  stop) stop ;;
  restart) stop; start ;;
  *) echo "usage: pg-cluster.sh start|stop|restart DIR" >&2; exit 2 ;;
esac
