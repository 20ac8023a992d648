#!/usr/bin/env bash
# A real MariaDB server for the SQL tests, with mailsec_email.so in its
# plugin directory, on a loopback high port in a temporary directory.
#
#   mariadb.sh start INFOFILE BUILD_DIR LIBMAILSEC
#                           install, mariadb-install-db, start (LIBMAILSEC:
#                           the built libmailsec.so.N, which the UDFs link)
#   mariadb.sh stop INFOFILE
#                           stop, remove everything
#
# `cmake --install --component mariadb` with DESTDIR puts the module and
# install.sql where a user gets them; the server runs with --plugin-dir set
# to the module's directory there, and libmailsec (copied to DIR/lib) on
# its LD_LIBRARY_PATH. Creating the functions is left to the tests
# (install.sql), so that step is tested too. The grant tables are real
# (UDFs are not loaded under --skip-grant-tables); root@localhost has no
# password, and as root the server runs with --user=root.
#
# INFOFILE keys: DIR, PORT, HOST (127.0.0.1), SOCKET, USER (root), CLIENT
# (the mariadb client), INSTALL_SQL, UNINSTALL_SQL.
set -euo pipefail

ADDR=127.0.0.1
PORT_TRIES=20
READY_TRIES=150         # x 0.2 s

die() { echo "mariadb: $*" >&2; exit 1; }

. "$(dirname "${BASH_SOURCE[0]}")/../lib/servers.sh"

find_tool() {
    local t
    for t in "$@"; do
        command -v "$t" 2>/dev/null && return 0
        [[ -x /usr/sbin/$t ]] && { echo "/usr/sbin/$t"; return 0; }
    done
    die "none of $* found (Debian package mariadb-server)"
}

# The DESTDIR install; sets PLUGIN_DIR, SHARE_DIR.
install_files() {
    local dir=$1 build=$2 lib=$3 root=$1/root
    DESTDIR=$root cmake --install "$build" --component mariadb >"$dir/install.log" 2>&1 ||
        die "cmake --install --component mariadb failed: $(cat "$dir/install.log")"
    PLUGIN_DIR=$(dirname "$(find "$root" -name mailsec_email.so -print -quit)")
    SHARE_DIR=$(dirname "$(find "$root" -name install.sql -print -quit)")
    [[ $PLUGIN_DIR != . && $SHARE_DIR != . ]] ||
        die "the mariadb component did not install mailsec_email.so and install.sql"
    mkdir -p "$dir/lib"
    cp -L "$lib" "$dir/lib/"
}

server_pid() { cat "$1/mariadbd.pid" 2>/dev/null || true; }

stop_server() { stop_pid "$(server_pid "$1")" TERM 15; }

# Starts mariadbd in the background, detached from CTest's pipes and
# process group; waits until it answers or has died.
start_once() {
    local dir=$1 port=$2 i pid
    rm -f "$dir/mariadbd.pid"
    setsid env LD_LIBRARY_PATH="$dir/lib" "$MARIADBD" --no-defaults --user="$(id -un)" \
        --datadir="$dir/data" --socket="$dir/mariadbd.sock" --port="$port" \
        --bind-address="$ADDR" --pid-file="$dir/mariadbd.pid" --log-error="$dir/mariadbd.log" \
        --plugin-dir="$PLUGIN_DIR" --skip-log-bin --innodb-buffer-pool-size=32M \
        --innodb-log-file-size=16M --character-set-server=utf8mb4 \
        </dev/null >>"$dir/mariadbd.out" 2>&1 &
    pid=$!
    for ((i = 0; i < READY_TRIES; i++)); do
        if "$ADMIN" --no-defaults --socket="$dir/mariadbd.sock" -u root ping >/dev/null 2>&1; then
            return 0
        fi
        kill -0 "$pid" 2>/dev/null || return 1
        sleep 0.2
    done
    return 2
}

start_server() {
    local dir=$1 try port rc
    for ((try = 0; try < PORT_TRIES; try++)); do
        port=$(random_port)
        port_is_free "$port" || continue
        rc=0
        start_once "$dir" "$port" || rc=$?
        if ((rc == 0)); then
            echo "$port"
            return 0
        fi
        stop_server "$dir"
        # Only a lost race for the port is worth another try.
        ((rc == 1)) && grep -q 'Address already in use\|Bind on TCP/IP port' "$dir/mariadbd.log" 2>/dev/null ||
            return 1
    done
    return 1
}

abort_start() {
    [[ -n ${STARTING_DIR:-} ]] || return 0
    if [[ -f $STARTING_DIR/mariadbd.log || -f $STARTING_DIR/install-db.log ]]; then
        echo "mariadb: the server did not start; its log:" >&2
        cat "$STARTING_DIR/install-db.log" "$STARTING_DIR/mariadbd.log" "$STARTING_DIR/mariadbd.out" \
            >&2 2>/dev/null || true
    fi
    stop_server "$STARTING_DIR"
    rm -rf "$STARTING_DIR"
}

cmd_start() {
    local info=$1 build=$2 lib=$3 port
    stop_from_info "$info" stop_server # a server left by an earlier run
    MARIADBD=$(find_tool mariadbd mysqld)
    ADMIN=$(find_tool mariadb-admin mysqladmin)
    INSTALL_DB=$(find_tool mariadb-install-db mysql_install_db)
    CLIENT=$(find_tool mariadb mysql)
    STARTING_DIR=$(mktemp -d "${TMPDIR:-/tmp}/mailsec-mariadb.XXXXXX")
    trap abort_start EXIT
    install_files "$STARTING_DIR" "$build" "$lib"
    "$INSTALL_DB" --no-defaults --user="$(id -un)" --datadir="$STARTING_DIR/data" \
        --auth-root-authentication-method=normal --skip-test-db \
        >"$STARTING_DIR/install-db.log" 2>&1 || die "mariadb-install-db failed"
    port=$(start_server "$STARTING_DIR") || exit 1
    mkdir -p "$(dirname "$info")"
    printf 'DIR=%s\nPORT=%s\nHOST=%s\nSOCKET=%s\nUSER=root\nCLIENT=%s\nINSTALL_SQL=%s\nUNINSTALL_SQL=%s\n' \
        "$STARTING_DIR" "$port" "$ADDR" "$STARTING_DIR/mariadbd.sock" "$CLIENT" \
        "$SHARE_DIR/install.sql" "$SHARE_DIR/uninstall.sql" >"$info.tmp"
    mv "$info.tmp" "$info"
    trap - EXIT
    echo "mariadb: MariaDB on $ADDR:$port, directory $STARTING_DIR"
}

case ${1:-} in
    start) [[ $# -eq 4 ]] || die "usage: $0 start INFOFILE BUILD_DIR LIBMAILSEC"; cmd_start "$2" "$3" "$4" ;;
    stop) [[ $# -eq 2 ]] || die "usage: $0 stop INFOFILE"; stop_from_info "$2" stop_server ;;
    *) die "usage: $0 start INFOFILE BUILD_DIR LIBMAILSEC | stop INFOFILE" ;;
esac
