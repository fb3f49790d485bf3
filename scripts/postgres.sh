#!/usr/bin/env bash
# A private PostgreSQL for tests and for trying the two-node setup: its own data folder, its own
# port on 127.0.0.1, trust authentication for the local user `hotline`. Never touches the system's
# clusters. Usage: scripts/postgres.sh start|stop|url   (PGDATA defaults to /tmp/hotline-pg).
set -euo pipefail
PGDATA=${HOTLINE_PGDATA:-/tmp/hotline-pg}
PGPORT=${HOTLINE_PGPORT:-54329}
BIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
URL="postgresql://hotline@127.0.0.1:${PGPORT}/postgres"

as_pg() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

case "${1:-start}" in
  start)
    [ -n "$BIN" ] || { echo "postgres.sh: PostgreSQL is not installed (scripts/setup.sh installs it)" >&2; exit 1; }
    if [ ! -f "$PGDATA/PG_VERSION" ]; then
      mkdir -p "$PGDATA"
      [ "$(id -u)" = 0 ] && chown postgres:postgres "$PGDATA"
      as_pg "$BIN/initdb" -D "$PGDATA" -U hotline --auth=trust -E UTF8 --locale=C.UTF-8 >/dev/null
    fi
    if ! as_pg "$BIN/pg_ctl" -D "$PGDATA" status >/dev/null 2>&1; then
      as_pg "$BIN/pg_ctl" -D "$PGDATA" -l "$PGDATA/server.log" -w \
        -o "-c listen_addresses=127.0.0.1 -p $PGPORT -k $PGDATA -c max_connections=200 -c fsync=off" start >/dev/null
    fi
    echo "$URL"
    ;;
  stop)
    [ -n "$BIN" ] && as_pg "$BIN/pg_ctl" -D "$PGDATA" -m fast stop >/dev/null 2>&1 || true
    ;;
  url)
    echo "$URL"
    ;;
  *)
    echo "usage: $0 start|stop|url" >&2; exit 2;;
esac
