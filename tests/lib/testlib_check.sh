#!/usr/bin/env bash
# The test scripts' shared library (testlib.sh) keeps a test honest: a
# failed check fails the script (exit 1) and a die stops it there, a script
# whose checks pass exits 0 and one where no check ran fails, and the work
# directory is removed, after the script's own on_exit commands (the last
# added first), however it ends.
set -uo pipefail
LIB=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/testlib.sh
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT
bad=0

# case_of NAME WANT_STATUS WANT_OUTPUT BODY: runs BODY after sourcing testlib.sh;
# its exit status must be WANT_STATUS, and its output hold WANT_OUTPUT.
case_of() {
    local name=$1 want=$2 text=$3 body=$4
    bash -c "source '$LIB'; echo \"\$WORK\" >'$OUT/work'; $body" >"$OUT/out" 2>&1
    local status=$?
    if [[ $status != "$want" ]] || ! grep -qF -- "$text" "$OUT/out"; then
        echo "FAIL - $name: exit $status (want $want): $(head -c 500 "$OUT/out")"
        bad=1
    elif [[ -e $(cat "$OUT/work") ]]; then
        echo "FAIL - $name: the work directory $(cat "$OUT/work") is left"
        bad=1
    else
        echo "ok   - $name"
    fi
}

case_of "checks that pass" 0 "t: 2 passed, 0 failed" 'ok a; ok b; finish t'
case_of "a failed check fails the script" 1 "t: 1 passed, 1 failed" 'ok a; fail "b broke"; finish t'
case_of "a failure says what" 1 "FAIL - b broke" 'fail "b broke"; ok c; finish t'
case_of "die stops at once" 1 "FAIL - no store" 'die "no store"; ok never; finish t'
case_of "on_exit runs, the last added first, before WORK goes" 0 "second first" \
    'on_exit "echo first >>\$WORK/log; cat \$WORK/log"; on_exit "echo -n \"second \" >\$WORK/log"; ok a; finish t'
case_of "a script where no check ran fails" 1 "FAIL - t: no check ran" 'finish t'
case_of "json_true comes with it" 0 "t: 1 passed" \
    'echo "{\"a\": 1}" >"$WORK/j"; json_true ".a == 1" "$WORK/j" && ok j; finish t'
((bad == 0)) && echo "ok - testlib.sh"
exit $bad
