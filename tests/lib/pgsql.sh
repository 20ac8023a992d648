#!/usr/bin/env bash
# A throwaway PostgreSQL server (Debian's postgresql-15) on a random
# loopback high port, everything in one mktemp directory: for the store's
# tests, the SQL extension's tests and the report benchmarks.
#
#   pgsql.sh start [--durable] INFOFILE [BUILD_DIR PG_CONFIG LIBMAILSEC]
#                          initdb, start; writes INFOFILE
#   pgsql.sh stop INFOFILE stop, remove everything (also after a failed
#                          start or failed tests: CTest runs it as the
#                          fixture's cleanup)
#
# With BUILD_DIR, PG_CONFIG and LIBMAILSEC (the built libmailsec.so.N, which
# the module links), the email extension is installed the way a user
# installs it. It must land in the server's own directories (pkglibdir,
# sharedir/extension), which we must not touch; PostgreSQL finds those
# relative to its binary, so the script builds a private tree: DIR/root
# receives `cmake --install --component postgresql` with DESTDIR (exactly
# the files a user installs), and DIR/root/<bindir> gets copies of postgres,
# pg_ctl and initdb; everything else the server reads from share/ and lib/
# is a symlink to the real installation. libmailsec is copied to DIR/lib,
# on the server's LD_LIBRARY_PATH. Without them the server runs straight
# from PG_BIN (default /usr/lib/postgresql/15/bin).
#
# Tests run with fsync=off (their data is thrown away); --durable keeps
# the server's defaults, for benchmarks that must pay for durable commits.
#
# PostgreSQL refuses to run as root: then the server runs as the system
# user "postgres" (created by the postgresql-common package).
#
# INFOFILE keys: DIR, PORT, HOST (127.0.0.1), USER (the superuser
# "postgres", trust authentication), URL (postgresql://postgres@HOST:PORT/
# postgres), PSQL (the client), RUN_AS (the OS user of the server; empty
# for the current user).
set -euo pipefail

ADDR=127.0.0.1
PORT_TRIES=20
SERVER_USER=postgres
PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}

die() { echo "pgsql: $*" >&2; exit 1; }

. "$(dirname "${BASH_SOURCE[0]}")/servers.sh"

# Runs a command as the server's OS user.
as_server() {
    if [[ -n $RUN_AS ]]; then
        runuser -u "$RUN_AS" -- "$@"
    else
        "$@"
    fi
}

# DIR/root: the DESTDIR install plus the server mirrored around it; sets
# BIN, PSQL and LIBDIR to what the server runs from.
make_tree() {
    local dir=$1 build=$2 pg_config=$3 lib=$4 root=$1/root bindir sharedir pkglibdir f
    bindir=$("$pg_config" --bindir)
    sharedir=$("$pg_config" --sharedir)
    pkglibdir=$("$pg_config" --pkglibdir)
    DESTDIR=$root cmake --install "$build" --component postgresql >"$dir/install.log" 2>&1 ||
        die "cmake --install --component postgresql failed: $(cat "$dir/install.log")"
    [[ -f $root$pkglibdir/email.so && -f $root$sharedir/extension/email.control ]] ||
        die "the postgresql component did not install into $pkglibdir and $sharedir/extension"
    # Copies, not links: PostgreSQL resolves symlinks to find its own path.
    mkdir -p "$root$bindir"
    cp "$bindir/postgres" "$bindir/pg_ctl" "$bindir/initdb" "$root$bindir/"
    for f in "$sharedir"/* "$sharedir"/extension/* "$pkglibdir"/*; do
        [[ $f == "$sharedir/extension" ]] && continue
        local target=$root$f
        [[ -e $target ]] || ln -s "$f" "$target"
    done
    BIN=$root$bindir
    PSQL=$bindir/psql
    LIBDIR=$dir/lib
    mkdir -p "$LIBDIR"
    cp -L "$lib" "$LIBDIR/"
}

server_pid() { head -n 1 "$1/data/postmaster.pid" 2>/dev/null || true; }

stop_server() { stop_pid "$(server_pid "$1")" INT 30; } # SIGINT: "fast" shutdown

# Start on a random free port; another port only when the server itself
# failed to start (the port was taken between our check and its bind).
start_server() {
    local dir=$1 try port settings="-c max_connections=200"
    [[ -n $DURABLE ]] || settings+=" -c fsync=off -c jit=off"
    for ((try = 0; try < PORT_TRIES; try++)); do
        port=$(random_port)
        port_is_free "$port" || continue
        if as_server env LD_LIBRARY_PATH="$LIBDIR" "$BIN/pg_ctl" -D "$dir/data" -l "$dir/postgres.log" \
            -w -t 60 -s -o "-p $port -c listen_addresses=$ADDR -k $dir $settings" \
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
        echo "pgsql: the server did not start; its log:" >&2
        cat "$STARTING_DIR/postgres.log" "$STARTING_DIR/pg_ctl.out" >&2 2>/dev/null || true
    fi
    stop_server "$STARTING_DIR"
    rm -rf "$STARTING_DIR"
}

# cmd_start INFOFILE [BUILD_DIR PG_CONFIG LIBMAILSEC]
cmd_start() {
    local info=$1 port sync=--no-sync
    stop_from_info "$info" stop_server # a server left by an earlier run
    [[ -z $DURABLE ]] || sync=
    RUN_AS=
    if ((EUID == 0)); then
        id "$SERVER_USER" >/dev/null 2>&1 ||
            die "running as root and there is no '$SERVER_USER' user to run PostgreSQL as"
        RUN_AS=$SERVER_USER
    fi
    STARTING_DIR=$(mktemp -d "${TMPDIR:-/tmp}/mailsec-pgsql.XXXXXX")
    trap abort_start EXIT
    trap 'exit 1' TERM INT HUP  # a timed-out start cleans up too
    BIN=$PG_BIN PSQL=$PG_BIN/psql LIBDIR=
    if (($# == 4)); then
        make_tree "$STARTING_DIR" "$2" "$3" "$4"
    else
        [[ -x $PG_BIN/initdb ]] || die "no $PG_BIN/initdb (install postgresql-15)"
    fi
    if [[ -n $RUN_AS ]]; then
        chown -R "$RUN_AS" "$STARTING_DIR"
        runuser -u "$RUN_AS" -- test -w "$STARTING_DIR" ||
            die "user $RUN_AS cannot reach $STARTING_DIR (set TMPDIR to a directory it can traverse)"
    fi
    as_server "$BIN/initdb" -D "$STARTING_DIR/data" -A trust -U postgres -E UTF8 \
        --locale=C.UTF-8 $sync >"$STARTING_DIR/initdb.log" 2>&1 ||
        die "initdb failed: $(cat "$STARTING_DIR/initdb.log")"
    port=$(start_server "$STARTING_DIR") || exit 1
    mkdir -p "$(dirname "$info")"
    printf 'DIR=%s\nPORT=%s\nHOST=%s\nUSER=postgres\nURL=postgresql://postgres@%s:%s/postgres\nPSQL=%s\nRUN_AS=%s\n' \
        "$STARTING_DIR" "$port" "$ADDR" "$ADDR" "$port" "$PSQL" "$RUN_AS" >"$info.tmp"
    mv "$info.tmp" "$info"
    trap - EXIT TERM INT HUP
    echo "pgsql: PostgreSQL on $ADDR:$port, directory $STARTING_DIR"
}

usage="usage: $0 start [--durable] INFOFILE [BUILD_DIR PG_CONFIG LIBMAILSEC] | stop INFOFILE"
DURABLE=
case ${1:-} in
    start)
        shift
        [[ ${1:-} == --durable ]] && { DURABLE=1; shift; }
        [[ $# -eq 1 || $# -eq 4 ]] || die "$usage"
        cmd_start "$@" ;;
    stop) [[ $# -eq 2 ]] || die "$usage"; stop_from_info "$2" stop_server ;;
    *) die "$usage" ;;
esac
