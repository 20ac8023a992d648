#!/usr/bin/env bash
# report ingest - : standard input, closed, empty, or holding reports
# (docs/report-ingest.md, "Standard input"):
#
#   stdin.sh MAILSEC_BINARY
#
#   - closed (<&-): exit 2, "could not read standard input", nothing stored;
#   - empty and open (</dev/null): as an empty file, skipped, exit 0;
#   - a report: stored; a truncated zip piped in: the lost report failed,
#     exit 1.
# Run here rather than in tests/cli, whose cases always read /dev/null.
set -uo pipefail

BIN=$(realpath "$1")
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
source tests/lib/testlib.sh

"$BIN" report ingest --json --db "$WORK/r.db" - <&- >"$WORK/out" 2>"$WORK/err"
status=$?
if [[ $status == 2 ]]; then ok "closed stdin: exit 2"; else fail "closed stdin: exit $status, expected 2"; fi
if grep -qF -- "-: could not read standard input: Bad file descriptor" "$WORK/err"; then
    ok "closed stdin: stderr gives the reason"
else
    fail "closed stdin: stderr lacks the reason: $(cat "$WORK/err")"
fi
if json_true '.result == "unchecked" and (.error | contains("could not read standard input"))' "$WORK/out" >/dev/null; then
    ok "closed stdin: the JSON says unchecked"
else
    fail "closed stdin: the JSON does not say unchecked: $(cat "$WORK/out")"
fi

"$BIN" report ingest --json --db "$WORK/r.db" - </dev/null >"$WORK/out" 2>"$WORK/err"
status=$?
if [[ $status == 0 ]]; then ok "empty stdin: exit 0"; else fail "empty stdin: exit $status, expected 0"; fi
if json_true '.tally.skipped == 1 and .tally.failed == 0 and (.skipped[0].reason | startswith("not a report: empty"))' \
    "$WORK/out" >/dev/null; then
    ok "empty stdin: skipped as an empty file"
else
    fail "empty stdin: $(cat "$WORK/out")"
fi

"$BIN" report ingest --json --db "$WORK/r.db" - <tests/data/reports/edge/empty-org-name.xml >"$WORK/out" 2>"$WORK/err"
status=$?
if [[ $status == 0 ]]; then
    ok "a report on stdin: exit 0"
else
    fail "a report on stdin: exit $status, expected 0: $(cat "$WORK/err")"
fi
if json_true '.tally.reports_new == 1 and .tally.records == 1' "$WORK/out" >/dev/null; then
    ok "a report on stdin: stored"
else
    fail "a report on stdin: $(cat "$WORK/out")"
fi

cat tests/data/reports/edge/truncated.zip | "$BIN" report ingest --json --db "$WORK/r.db" - >"$WORK/out" 2>"$WORK/err"
status=$?
if [[ $status == 1 ]]; then
    ok "a truncated zip through a pipe: exit 1"
else
    fail "a truncated zip through a pipe: exit $status, expected 1"
fi
if json_true '.tally.reports_new == 1 and .tally.failed == 1 and .failed[0].origin == "-: rfc9990.xml"' \
    "$WORK/out" >/dev/null; then
    ok "a truncated zip through a pipe: the lost report failed"
else
    fail "a truncated zip through a pipe: $(cat "$WORK/out")"
fi

finish "report ingest -"
