#!/usr/bin/env bash
# catalogue.sh MAILSEC SOURCE_DIR: every diagnostic code the library knows
#  - has a "### code" entry in docs/diagnostics.md, and the doc names no code
#    the library does not know (the library's texts are made from the doc's
#    entries, but only the codes a module's table names are in it: an entry
#    no module uses is caught here);
#  - appears, as a whole code, in some test's expectations, so no code goes
#    untested: the codes:, has:, jq: and err: lines of the *.test files (not
#    lacks:, run: or comments), the expected results in tests/data/*.txt,
#    and string literals in tests/unit/ (not comments). A code that is only a
#    part of a longer one ("spf-lookups" inside "spf-lookups-exceeded") or
#    appears only in a comment does not count.
set -uo pipefail
bin=$1 src=$2
codes=$("$bin" diag list --json | jq -r '.codes[].code' | sort)
documented=$(sed -n 's/^### \([a-z0-9.-]*\)[[:space:]]*$/\1/p' "$src/docs/diagnostics.md" | sort)
# Every expectation, one per line.
expectations=$(
    find "$src/tests" -name '*.test' -exec grep -hE '^(codes|has|jq|err):' {} +
    find "$src/tests/data" -name '*.txt' -exec grep -hv '^[[:space:]]*#' {} +
    find "$src/tests/unit" -name '*.c' -exec grep -hoE '"([^"\\]|\\.)*"' {} +
)
# A code stands whole when no code character touches it on either side.
has_whole_code() {
    local re=${1//./\\.}
    grep -qE -- "(^|[^a-z0-9.-])$re([^a-z0-9.-]|\$)" <<<"$expectations"
}
passed=0 failed=0
while read -r code; do
    if ! grep -qx -- "$code" <<<"$documented"; then
        echo "FAIL - $code is not in docs/diagnostics.md"; failed=$((failed + 1))
    elif ! has_whole_code "$code"; then
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
