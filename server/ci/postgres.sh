#!/usr/bin/env bash
# Runs the pprl-server tests against a throwaway PostgreSQL server: initdb in a temporary
# directory, start it on a free loopback port (as a non-root user when run as root, which
# PostgreSQL refuses), export PPRL_TEST_POSTGRES_URL, run the tests, stop it, remove it.
#
#   server/ci/postgres.sh [extra cargo test arguments]
#   PPRL_PG_SCRIPTS="anonlink load browser" PPRL_BIN=target/debug/pprl server/ci/postgres.sh
#
# Each test creates its own database on that server. Needs initdb, pg_ctl and postgres in
# PATH or in /usr/lib/postgresql/*/bin (Debian's `postgresql` package).
set -euo pipefail

find_bin() {
    if command -v "$1" >/dev/null 2>&1; then command -v "$1"; return; fi
    local c
    for c in /usr/lib/postgresql/*/bin/"$1"; do
        if [ -x "$c" ]; then echo "$c"; return; fi
    done
    echo "postgres.sh: $1 not found (install Debian's postgresql package)" >&2
    exit 1
}
INITDB=$(find_bin initdb)
PG_CTL=$(find_bin pg_ctl)

TMP=$(mktemp -d "${TMPDIR:-/tmp}/pprl-pg.XXXXXX")
AS=()
if [ "$(id -u)" = 0 ]; then
    user=postgres
    id "$user" >/dev/null 2>&1 || user=nobody
    chown "$user" "$TMP"
    AS=(runuser -u "$user" --)
fi

PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')

stop() {
    "${AS[@]}" "$PG_CTL" -D "$TMP/data" -m fast stop >/dev/null 2>&1 || true
    rm -rf "$TMP"
}
trap stop EXIT

"${AS[@]}" "$INITDB" -D "$TMP/data" -U pprl --auth=trust -E UTF8 --no-instructions >"$TMP/initdb.log"
mkdir -p "$TMP/sock" && [ ${#AS[@]} -eq 0 ] || chown "${AS[2]}" "$TMP/sock"
"${AS[@]}" "$PG_CTL" -D "$TMP/data" -l "$TMP/server.log" -w start \
    -o "-c listen_addresses=127.0.0.1 -p $PORT -k $TMP/sock -c fsync=off -c max_connections=200" >/dev/null

export PPRL_TEST_POSTGRES_URL="postgres://pprl@127.0.0.1:$PORT/postgres"
echo "postgres.sh: PostgreSQL on 127.0.0.1:$PORT ($("${AS[@]}" "$(dirname "$PG_CTL")/postgres" --version))"
cd "$(dirname "$0")/../.."
if [ "${PPRL_PG_SCRIPTS:-}" = "" ]; then
    cargo test -p pprl-server --test server "$@"
    exit 0
fi
# PPRL_PG_SCRIPTS="anonlink load browser" with PPRL_BIN: instead of the cargo tests, run those
# server/ci scripts against `pprl serve --database` on this server, each in a fresh database.
CREATEDB=$(find_bin createdb)
for s in $PPRL_PG_SCRIPTS; do
    db="pprl_ci_${s}_$$"
    "$CREATEDB" -h 127.0.0.1 -p "$PORT" -U pprl "$db"
    echo "postgres.sh: server/ci/$s.sh against database $db"
    PPRL_SERVE_DATABASE="postgres://pprl@127.0.0.1:$PORT/$db" bash "server/ci/$s.sh" "$PPRL_BIN"
done
