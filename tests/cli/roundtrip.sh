#!/usr/bin/env bash
# roundtrip.sh MAILSEC CASES: for each line "FLAGS | JQ" of CASES, generate a
# record with FLAGS, check it with `dmarc check --record`, and require exit
# status 0 (no errors) and JQ to hold on the check's first result.
set -uo pipefail
bin=$1 cases=$2
passed=0 failed=0
while IFS= read -r line; do
    [[ -z ${line// /} || $line == \#* ]] && continue
    flags=${line%%|*} expr=${line#*|}
    read -ra args <<<"$flags"
    record=$("$bin" dmarc generate --domain example.com "${args[@]}") || {
        echo "FAIL - generate refused: $flags"; failed=$((failed + 1)); continue; }
    out=$("$bin" dmarc check --json --domain example.com --record "$record")
    status=$?
    if [[ $status != 0 ]]; then
        echo "FAIL - check exit $status for \"$record\" ($flags)"
        jq -c '.results[0].diagnostics' <<<"$out"
        failed=$((failed + 1))
    elif [[ -z $out ]] || ! jq -e ".results[0] | $expr" <<<"$out" >/dev/null; then
        echo "FAIL - \"$record\": $expr"; failed=$((failed + 1))
    else
        echo "ok   - $flags -> $record"; passed=$((passed + 1))
    fi
done <"$cases"
echo "roundtrip: $passed passed, $failed failed"
((failed == 0 && passed > 0))
