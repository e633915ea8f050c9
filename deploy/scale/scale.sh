#!/usr/bin/env bash
# make scale: REPLICAS reference servers over one PostgreSQL database behind
# HAProxy, on this machine, until Ctrl-C or SIGTERM (then everything it
# started stops).
#
#   DB        the database (default: the local PostgreSQL, schema
#             interop_scale, created when psql is there)
#   REPLICAS  how many servers (default 3)
#   LB        HAProxy's address, the one clients use (default 127.0.0.1:8088)
#   PORT      the first replica's port; the others follow (default 8091)
#   BIN       the interop binary (default: bin/interop, built by make)
#
# The first replica loads the demo tenant (--demo); every replica builds its
# paging links on the load balancer's URL (--public-url).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
DB=${DB:-postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable&search_path=interop_scale}
REPLICAS=${REPLICAS:-3}
LB=${LB:-127.0.0.1:8088}
PORT=${PORT:-8091}
BIN=${BIN:-bin/interop}

command -v haproxy >/dev/null || { echo "scale: haproxy is not installed (apt-get install haproxy)" >&2; exit 1; }
command -v curl >/dev/null || { echo "scale: curl is not installed" >&2; exit 1; }
case $DB in postgres://*|postgresql://*) ;; *) echo "scale: DB must be a postgres:// URL (replicas share one database)" >&2; exit 2 ;; esac

# search_path=NAME as the URL's last parameter names a schema: create it.
schema=$(printf '%s' "$DB" | sed -n 's/.*[?&]search_path=\([A-Za-z_][A-Za-z0-9_]*\)$/\1/p')
if [ -n "$schema" ] && command -v psql >/dev/null; then
	base=${DB%[?&]search_path=*}
	psql "$base" -qc "CREATE SCHEMA IF NOT EXISTS $schema" >/dev/null
fi

tmp=$(mktemp -d)
pids=()
stop() {
	trap - EXIT INT TERM
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	rm -rf "$tmp"
}
trap stop EXIT
trap 'exit 0' INT TERM

if curl -s -o /dev/null "http://$LB/"; then
	echo "scale: $LB is taken (make run?)" >&2
	exit 1
fi
cfg=$tmp/haproxy.cfg
cp "$here/haproxy.cfg" "$cfg"
for i in $(seq "$REPLICAS"); do
	addr=127.0.0.1:$((PORT + i - 1))
	if curl -s -o /dev/null "http://$addr/healthz"; then
		echo "scale: $addr is taken" >&2
		exit 1
	fi
	demo=()
	[ "$i" = 1 ] && demo=(--demo)
	"$BIN" serve --db "$DB" --addr "$addr" --public-url "http://$LB" --log-level warn "${demo[@]}" &
	pids+=($!)
	printf '\tserver r%d %s\n' "$i" "$addr" >>"$cfg"
	# The first replica migrates the schema and loads the demo before the
	# others start (they would wait on its locks anyway).
	for _ in $(seq 120); do
		curl -sf -o /dev/null "http://$addr/readyz" && break
		kill -0 "${pids[-1]}" 2>/dev/null || { echo "scale: replica $i ($addr) did not start" >&2; exit 1; }
		sleep 0.5
	done
done

INTEROP_LB_ADDR=$LB haproxy -f "$cfg" -db &
pids+=($!)
for _ in $(seq 60); do
	curl -sf -o /dev/null "http://$LB/readyz" && break
	kill -0 "${pids[-1]}" 2>/dev/null || { echo "scale: haproxy did not start on $LB" >&2; exit 1; }
	sleep 0.5
done
echo "scale: $REPLICAS replicas behind HAProxy: base URL http://$LB/v2/interop/data (demo / demo-secret); Ctrl-C stops them"
wait -n "${pids[@]}"
echo "scale: a process ended; stopping the others" >&2
exit 1
