#!/usr/bin/env bash
# A throwaway PostgreSQL server for the store's tests (tests/unit/store):
# initdb and pg_ctl from Debian's postgresql-15 package, on a random
# loopback high port, everything in a mktemp directory.
#
#   pgsql.sh start INFOFILE    initdb, start; writes INFOFILE
#   pgsql.sh stop INFOFILE     stop, remove everything (also after a
#                              failed start or failed tests: CTest runs it
#                              as the fixture's cleanup)
#
# INFOFILE keys: DIR, PORT, URL (postgresql://postgres@127.0.0.1:PORT/postgres,
# trust authentication), RUN_AS (the OS user of the server; empty for the
# current user). PostgreSQL refuses to run as root: then the server runs as
# the system user "postgres" (created by the postgresql-common package).
#
# Unlike tests/sql/pgsql.sh this needs no extension installed, so the
# server runs straight from its own directory. PG_BIN overrides where the
# server's programs are.
set -euo pipefail

ADDR=127.0.0.1
PORT_TRIES=20
SERVER_USER=postgres
PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}

die() { echo "store-pgsql: $*" >&2; exit 1; }

. "$(dirname "${BASH_SOURCE[0]}")/../lib/servers.sh"

as_server() {
    if [[ -n $RUN_AS ]]; then
        runuser -u "$RUN_AS" -- "$@"
    else
        "$@"
    fi
}

server_pid() { head -n 1 "$1/data/postmaster.pid" 2>/dev/null || true; }

stop_server() {
    local dir=$1 pid i
    pid=$(server_pid "$dir")
    [[ -n $pid ]] || return 0
    kill -INT "$pid" 2>/dev/null || return 0  # "fast" shutdown
    for ((i = 0; i < 100; i++)); do
        kill -0 "$pid" 2>/dev/null || return 0
        sleep 0.1
    done
    kill -9 "$pid" 2>/dev/null || true
}

# A random free port; another only when the server itself failed to bind.
start_server() {
    local dir=$1 try port
    for ((try = 0; try < PORT_TRIES; try++)); do
        port=$(random_port)
        port_is_free "$port" || continue
        if as_server "$PG_BIN/pg_ctl" -D "$dir/data" -l "$dir/postgres.log" -w -t 60 -s \
            -o "-p $port -c listen_addresses=$ADDR -k $dir -c fsync=off -c jit=off -c max_connections=200" \
            start </dev/null >>"$dir/pg_ctl.out" 2>&1; then
            echo "$port"
            return 0
        fi
        stop_server "$dir"
        grep -q 'could not bind\|Address already in use' "$dir/postgres.log" 2>/dev/null || return 1
    done
    return 1
}

abort_start() {
    [[ -n ${STARTING_DIR:-} ]] || return 0
    if [[ -f $STARTING_DIR/postgres.log || -f $STARTING_DIR/pg_ctl.out ]]; then
        echo "store-pgsql: the server did not start; its log:" >&2
        cat "$STARTING_DIR/postgres.log" "$STARTING_DIR/pg_ctl.out" >&2 2>/dev/null || true
    fi
    stop_server "$STARTING_DIR"
    rm -rf "$STARTING_DIR"
}

cmd_start() {
    local info=$1 port
    [[ -x $PG_BIN/initdb ]] || die "no $PG_BIN/initdb (install postgresql-15)"
    [[ -f $info ]] && cmd_stop "$info"
    RUN_AS=
    if ((EUID == 0)); then
        id "$SERVER_USER" >/dev/null 2>&1 ||
            die "running as root and there is no '$SERVER_USER' user to run PostgreSQL as"
        RUN_AS=$SERVER_USER
    fi
    STARTING_DIR=$(mktemp -d "${TMPDIR:-/tmp}/mailsec-store-pgsql.XXXXXX")
    trap abort_start EXIT
    trap 'exit 1' TERM INT HUP  # a timed-out start cleans up too
    if [[ -n $RUN_AS ]]; then
        chown "$RUN_AS" "$STARTING_DIR"
        runuser -u "$RUN_AS" -- test -w "$STARTING_DIR" ||
            die "user $RUN_AS cannot reach $STARTING_DIR (set TMPDIR to a directory it can traverse)"
    fi
    as_server "$PG_BIN/initdb" -D "$STARTING_DIR/data" -A trust -U postgres -E UTF8 \
        --locale=C.UTF-8 --no-sync >"$STARTING_DIR/initdb.log" 2>&1 ||
        die "initdb failed: $(cat "$STARTING_DIR/initdb.log")"
    port=$(start_server "$STARTING_DIR") || exit 1
    mkdir -p "$(dirname "$info")"
    printf 'DIR=%s\nPORT=%s\nURL=postgresql://postgres@%s:%s/postgres\nRUN_AS=%s\n' \
        "$STARTING_DIR" "$port" "$ADDR" "$port" "$RUN_AS" >"$info.tmp"
    mv "$info.tmp" "$info"
    trap - EXIT TERM INT HUP
    echo "store-pgsql: PostgreSQL on $ADDR:$port, directory $STARTING_DIR"
}

cmd_stop() {
    local info=$1 dir
    [[ -f $info ]] || return 0
    dir=$(sed -n 's/^DIR=//p' "$info")
    if [[ -n $dir && -d $dir ]]; then
        stop_server "$dir"
        rm -rf "$dir"
    fi
    rm -f "$info"
}

case ${1:-} in
    start) [[ $# -eq 2 ]] || die "usage: $0 start INFOFILE"; cmd_start "$2" ;;
    stop) [[ $# -eq 2 ]] || die "usage: $0 stop INFOFILE"; cmd_stop "$2" ;;
    *) die "usage: $0 start INFOFILE | stop INFOFILE" ;;
esac
