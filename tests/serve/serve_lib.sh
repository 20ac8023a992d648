# What the serve tests share (sourced): tests/lib/testlib.sh and
# tests/lib/servers.sh, and `mailsec serve` started on a free loopback
# port, and stopped.
#
#   serve_start BIN DB SCHEME ARGS...  the server over the store DB, with
#                                      ARGS; sets pid, port and base
#                                      (SCHEME://127.0.0.1:PORT). Returns 1,
#                                      the failure said, when it does not
#                                      start (its stderr: $WORK/serve.err)
#   serve_stop                         SIGTERM; the server must exit 0 (under
#                                      ASan: no leak, no error at exit)
# A server still running when the script exits is stopped before what was
# set up before it (its store) is undone.

# shellcheck source=../lib/testlib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/testlib.sh"
# shellcheck source=../lib/servers.sh
source "$ROOT/tests/lib/servers.sh"

pid=
serve_stop_at_exit=

serve_start() {
    local bin=$1 db=$2 scheme=$3
    shift 3
    if [[ -z $serve_stop_at_exit ]]; then
        on_exit '[[ -n $pid ]] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null'
        serve_stop_at_exit=1
    fi
    port=$(free_port) || { fail "no free port"; return 1; }
    "$bin" serve --db "$db" --listen "127.0.0.1:$port" "$@" >"$WORK/serve.out" 2>"$WORK/serve.err" &
    pid=$!
    base=$scheme://127.0.0.1:$port
    for _ in $(seq 300); do
        grep -q "listening on" "$WORK/serve.out" 2>/dev/null && return 0
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    fail "the server did not start: $(cat "$WORK/serve.err")"
    return 1
}

serve_stop() {
    [[ -z $pid ]] && return
    kill "$pid" 2>/dev/null
    wait "$pid"
    local rc=$?
    pid=
    ((rc == 0)) || fail "the server exited $rc after SIGTERM: $(tail -c 600 "$WORK/serve.err")"
}
