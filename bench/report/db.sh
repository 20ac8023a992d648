# shellcheck shell=bash
# Real database servers for the report benchmarks (sourced, not run):
# MariaDB and PostgreSQL from Debian, each in its own directory under
# mktemp, on a random free loopback high port, with the servers' default
# settings (durable commits) apart from the directories. The caller stops
# them in its EXIT trap: db_stop_all. A start that fails says why on
# stderr and returns 1.
#
#   mariadb_start       sets MARIADB_PORT; database "dmarc", user "dmarc"
#                       with password "dmarc" on 127.0.0.1
#   mariadb_sql SQL     runs SQL on that database, prints the result (tab separated, no header)
#   pgsql_start         sets PGSQL_PORT, PGSQL_URL; database "bench", superuser
#                       "postgres", trust authentication on 127.0.0.1
#   pgsql_sql SQL       the same for PostgreSQL
#   pgsql_recreate      drops database "bench" and creates it empty
#   db_stop_all         stops whichever was started and removes its files
#   cpu_seconds PID     the CPU time (user + system) a process and the children
#                       it has reaped (PostgreSQL's backends) have used so far
#   mariadb_pid, pgsql_pid  the servers' main processes
#
# PostgreSQL refuses to run as root: then it runs as the system user
# "postgres" (package postgresql-common), which gets the directory
# (tests/lib/pgsql.sh).

DB_ADDR=127.0.0.1
DB_PORT_TRIES=20
DB_READY_TRIES=300 # x 0.2 s
PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}

. "$(dirname "${BASH_SOURCE[0]}")/../../tests/lib/servers.sh"

MARIADB_DIR=
PGSQL_DIR=

db_error() { echo "db: $*" >&2; }

# --- MariaDB ---------------------------------------------------------------

MARIADB_PID=

# The server we started ($! of setsid, which execs it), else its pid file.
mariadb_pid() {
    if [[ -n $MARIADB_PID ]]; then
        echo "$MARIADB_PID"
    else
        cat "$MARIADB_DIR/mariadbd.pid" 2>/dev/null || true
    fi
}

mariadb_stop() {
    [[ -n $MARIADB_DIR ]] || return 0
    local pid i
    pid=$(mariadb_pid)
    if [[ -n $pid ]] && kill "$pid" 2>/dev/null; then
        for ((i = 0; i < 300; i++)); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        kill -9 "$pid" 2>/dev/null || true
    fi
    rm -rf "$MARIADB_DIR" || true
    MARIADB_DIR=
    MARIADB_PID=
}

# 0 ready, 1 died (perhaps the port was taken), 2 never answered.
mariadb_try_port() {
    local port=$1 pid i
    rm -f "$MARIADB_DIR/mariadbd.pid"
    setsid /usr/sbin/mariadbd --no-defaults --user="$(id -un)" --datadir="$MARIADB_DIR/data" \
        --socket="$MARIADB_DIR/mariadbd.sock" --port="$port" --bind-address="$DB_ADDR" \
        --pid-file="$MARIADB_DIR/mariadbd.pid" --log-error="$MARIADB_DIR/mariadbd.log" \
        --skip-log-bin --character-set-server=utf8mb4 </dev/null >>"$MARIADB_DIR/mariadbd.out" 2>&1 &
    pid=$!
    MARIADB_PID=$pid
    for ((i = 0; i < DB_READY_TRIES; i++)); do
        mariadb-admin --no-defaults --socket="$MARIADB_DIR/mariadbd.sock" -u root ping >/dev/null 2>&1 && return 0
        kill -0 "$pid" 2>/dev/null || return 1
        sleep 0.2
    done
    return 2
}

mariadb_start() {
    MARIADB_DIR=$(mktemp -d "${TMPDIR:-/tmp}/bench-mariadb.XXXXXX")
    local try rc
    mariadb-install-db --no-defaults --user="$(id -un)" --datadir="$MARIADB_DIR/data" \
        --auth-root-authentication-method=normal --skip-test-db >"$MARIADB_DIR/install-db.log" 2>&1 ||
        { db_error "mariadb-install-db failed: $(cat "$MARIADB_DIR/install-db.log")"; return 1; }
    for ((try = 0; try < DB_PORT_TRIES; try++)); do
        MARIADB_PORT=$(random_port)
        port_is_free "$MARIADB_PORT" || continue
        rc=0
        mariadb_try_port "$MARIADB_PORT" || rc=$?
        ((rc == 0)) && break
        kill "$MARIADB_PID" 2>/dev/null || true
        wait "$MARIADB_PID" 2>/dev/null || true
        MARIADB_PID=
        # Only a lost race for the port is worth another try.
        if ((rc != 1)) || ! grep -q 'Address already in use\|Bind on TCP/IP port' "$MARIADB_DIR/mariadbd.log"; then
            { db_error "mariadbd did not start: $(cat "$MARIADB_DIR/mariadbd.log")"; return 1; }
        fi
    done
    ((rc == 0)) || { db_error "mariadbd found no free port"; return 1; }
    mariadb --no-defaults --socket="$MARIADB_DIR/mariadbd.sock" -u root <<'SQL' ||
CREATE DATABASE dmarc;
CREATE USER 'dmarc'@'127.0.0.1' IDENTIFIED BY 'dmarc';
CREATE USER 'dmarc'@'localhost' IDENTIFIED BY 'dmarc';
GRANT ALL ON dmarc.* TO 'dmarc'@'127.0.0.1';
GRANT ALL ON dmarc.* TO 'dmarc'@'localhost';
SQL
        { db_error "could not create the database"; return 1; }
}

mariadb_sql() {
    mariadb --no-defaults --socket="$MARIADB_DIR/mariadbd.sock" -u root --batch --skip-column-names dmarc -e "$1"
}

# --- PostgreSQL ------------------------------------------------------------

# The server comes from tests/lib/pgsql.sh --durable (the tests' throwaway
# server with PostgreSQL's default, durable commit settings).
PGSQL_SCRIPT=$(dirname "${BASH_SOURCE[0]}")/../../tests/lib/pgsql.sh
PGSQL_INFO=

pgsql_pid() { head -n 1 "$PGSQL_DIR/data/postmaster.pid" 2>/dev/null || true; }

pgsql_stop() {
    [[ -n $PGSQL_INFO ]] || return 0
    bash "$PGSQL_SCRIPT" stop "$PGSQL_INFO" || true
    rm -rf "$(dirname "$PGSQL_INFO")"
    PGSQL_INFO='' PGSQL_DIR=''
}

pgsql_start() {
    PGSQL_INFO=$(mktemp -d "${TMPDIR:-/tmp}/bench-pgsql.XXXXXX")/pgsql.info
    bash "$PGSQL_SCRIPT" start --durable "$PGSQL_INFO" >/dev/null || { db_error "PostgreSQL did not start"; return 1; }
    PGSQL_DIR=$(sed -n 's/^DIR=//p' "$PGSQL_INFO")
    PGSQL_PORT=$(sed -n 's/^PORT=//p' "$PGSQL_INFO")
    "$PG_BIN/psql" -h "$DB_ADDR" -p "$PGSQL_PORT" -U postgres -q -c 'CREATE DATABASE bench' postgres ||
        { db_error "could not create the database"; return 1; }
    # shellcheck disable=SC2034 # for the caller
    PGSQL_URL="postgresql://postgres@$DB_ADDR:$PGSQL_PORT/bench"
}

pgsql_recreate() {
    "$PG_BIN/psql" -h "$DB_ADDR" -p "$PGSQL_PORT" -U postgres -q -c 'DROP DATABASE IF EXISTS bench' \
        -c 'CREATE DATABASE bench' postgres
}

pgsql_sql() {
    "$PG_BIN/psql" -h "$DB_ADDR" -p "$PGSQL_PORT" -U postgres -qAt -c "$1" bench
}

cpu_seconds() {
    # Fields 14-17 of proc(5): utime stime cutime cstime (12-15 once "pid (comm) " is cut).
    awk -v tck="$(getconf CLK_TCK)" '{ sub(/^.*\) /, ""); print ($12 + $13 + $14 + $15) / tck }' "/proc/$1/stat"
}

db_stop_all() {
    mariadb_stop
    pgsql_stop
}
