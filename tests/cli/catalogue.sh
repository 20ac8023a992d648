#!/usr/bin/env bash
# catalogue.sh MAILSEC SOURCE_DIR: every diagnostic code the library knows
#  - has a "### code" entry in docs/diagnostics.md, and the doc names no code
#    the library does not know;
#  - appears in some test's expectations (tests/cli/*.test, tests/data/,
#    tests/unit/), so no code goes untested.
set -uo pipefail
bin=$1 src=$2
codes=$("$bin" diag list --json | jq -r '.codes[].code' | sort)
documented=$(sed -n 's/^### \([a-z0-9.-]*\)[[:space:]]*$/\1/p' "$src/docs/diagnostics.md" | sort)
passed=0 failed=0
while read -r code; do
    if ! grep -qx -- "$code" <<<"$documented"; then
        echo "FAIL - $code is not in docs/diagnostics.md"; failed=$((failed + 1))
    elif ! grep -rqF -- "$code" "$src/tests/cli" "$src/tests/data" "$src/tests/unit" --include='*.test' --include='*.txt' --include='*.c'; then
        echo "FAIL - $code is in no test"; failed=$((failed + 1))
    else
        passed=$((passed + 1))
    fi
done <<<"$codes"
while read -r code; do
    [[ -z $code ]] && continue
    grep -qx -- "$code" <<<"$codes" || { echo "FAIL - docs/diagnostics.md names unknown code $code"; failed=$((failed + 1)); }
done <<<"$documented"
echo "catalogue: $passed passed, $failed failed"
((failed == 0 && passed > 0))
