# What every test script shares (sourced, not run): a work directory of its
# own, removed however the script ends, and the counting of its checks.
#
#   WORK           a new temporary directory, removed when the script exits
#   on_exit CMD    runs CMD (as eval does) when the script exits, before WORK
#                  is removed; what was added last runs first (a server
#                  stopped before the store it writes to is dropped)
#   ok WHAT        a check passed: "ok   - WHAT"
#   fail WHY       a check failed: "FAIL - WHY"; the script goes on
#   die WHY        a failure after which nothing can be checked: exit 1 now
#   finish LABEL   the verdict: "LABEL: P passed, F failed"; exit status 1
#                  when a check failed, 0 otherwise; when no check ran
#                  (none passed, none failed) "FAIL - LABEL: no check ran"
#                  and exit status 1, as a script whose checks were all
#                  skipped by mistake must not pass
#   ROOT           the source tree (absolute)
#
# Every check counts once, as ok or as fail:
#   if CONDITION; then ok "what holds"; else fail "what was found"; fi
# json.sh comes with it (json_true).

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
source "$ROOT/tests/lib/json.sh"
WORK=$(mktemp -d) || { echo "FAIL - cannot make a temporary directory"; exit 1; }
passed=0 failed=0
_testlib_on_exit=()

on_exit() { _testlib_on_exit=("$1" "${_testlib_on_exit[@]}"); }

_testlib_exit() {
    local cmd
    for cmd in "${_testlib_on_exit[@]}"; do
        eval "$cmd"
    done
    rm -rf "$WORK"
}
trap _testlib_exit EXIT

ok() { echo "ok   - $*"; passed=$((passed + 1)); }
fail() { echo "FAIL - $*"; failed=$((failed + 1)); }
die() { echo "FAIL - $*"; exit 1; }

finish() {
    if ((passed + failed == 0)); then
        echo "FAIL - $1: no check ran"
        exit 1
    fi
    echo "$1: $passed passed, $failed failed"
    exit $((failed > 0))
}
