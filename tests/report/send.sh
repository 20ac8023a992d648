#!/usr/bin/env bash
# report send end to end (docs/report.md), on one backend:
#
#   send.sh MAILSEC_BINARY SEND_RECORD_BINARY sqlite|pgsql
#
# Evaluations of three policy domains over two days are recorded through
# the API (send-record, send_evals.py), hostile ones among them. Then:
#   1. --dry-run --out DIR: one report per domain and day; each validates
#      against RFC 9990's schema (data/dmarc-2.0.xsd, xmllint) and,
#      ingested back, has the records and messages recorded; the
#      destinations of the DNS test bed's sendtest.example: in the domain
#      and authorised external ones would be sent, the unauthorised external
#      one and the one whose !1k limit the mail passes are skipped with the
#      reason; norua.sendtest.example has no destination; nothing recorded.
#   2. A run killed after sendmail took a message but before it answered,
#      then run again: every destination gets its report; the one killed
#      mid-way twice, with the same Message-ID and Report-ID (receivers see a
#      duplicate); ingesting every mail sent stores each report once.
#   3. A third run sends nothing (every report already sent).
set -uo pipefail
BIN=$1 RECORD=$2 MODE=$3
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cd "$HERE/../.."
source tests/lib/store.sh
WORK=$(mktemp -d)
SINK_PID=
cleanup() {
    [[ -n $SINK_PID ]] && kill "$SINK_PID" 2>/dev/null
    [[ -f $WORK/sink/stalled.pid ]] && kill "$(cat "$WORK/sink/stalled.pid")" 2>/dev/null
    store_drop
    rm -rf "$WORK"
}
trap cleanup EXIT
fail() { echo "FAIL - $*"; exit 1; }

INFO=${MAILSEC_DNSBED_INFO:?}
DNS=(--resolver "$(sed -n 's/^RESOLVER=//p' "$INFO")" --trust-anchor "$(sed -n 's/^TRUST_ANCHOR=//p' "$INFO")")
store_for "$MODE" send "$WORK" || fail "could not make a store for mode $MODE"
SEND=(report send --db "$DB" --org "Receiver Test" --from dmarc-reports@receiver.example "${DNS[@]}")

# ---- the evaluations ------------------------------------------------------
TODAY=$(($(date +%s) / 86400 * 86400))
DAY0=$((TODAY - 86400)) # yesterday: the default window reaches it
/usr/bin/python3 tests/report/send_evals.py "$DAY0" sendtest.example inbox.sendtest.example \
    norua.sendtest.example "$WORK/expected.json" >"$WORK/evals.jsonl" || fail "send_evals.py"
# hostile: 33 DKIM results (refused), a source that is no address (refused),
# a header From over the 255-byte limit (kept, cut), one without a policy
# domain (kept, never reported)
long=$(printf 'h%.0s' $(seq 300))
dkim33=$(printf '{"domain":"d.example","selector":"s","result":"pass"},%.0s' $(seq 33))
cat >"$WORK/hostile.jsonl" <<EOF
{"time": $((DAY0 + 5)), "source_ip": "192.0.2.99", "header_from": "sendtest.example", "policy_domain": "sendtest.example", "disposition": "none", "dkim_aligned": "pass", "spf_aligned": "fail", "dkim": [${dkim33%,}]}
{"time": $((DAY0 + 5)), "source_ip": "999.1.1.1", "header_from": "sendtest.example", "policy_domain": "sendtest.example", "disposition": "none", "dkim_aligned": "pass", "spf_aligned": "fail"}
{"time": $((DAY0 + 5)), "source_ip": "192.0.2.98", "header_from": "$long", "policy_domain": "inbox.sendtest.example", "disposition": "none", "dkim_aligned": "fail", "spf_aligned": "fail", "spf_domain": "helo.example", "spf_result": "none"}
{"time": $((DAY0 + 5)), "source_ip": "192.0.2.97", "header_from": "nopolicy.example", "disposition": "none", "dkim_aligned": "fail", "spf_aligned": "fail"}
EOF
out=$("$RECORD" "$DB" <"$WORK/evals.jsonl") || fail "send-record: $out"
out=$("$RECORD" "$DB" <"$WORK/hostile.jsonl" 2>"$WORK/hostile.err")
[[ $out == "recorded 2 refused 2" ]] || fail "hostile evaluations: $out $(cat "$WORK/hostile.err")"
grep -q "at most 32 DKIM results" "$WORK/hostile.err" || fail "no reason for 33 DKIM results: $(cat "$WORK/hostile.err")"
grep -q "not an IP address" "$WORK/hostile.err" || fail "no reason for a bad source: $(cat "$WORK/hostile.err")"
# the expected figures, with the long header From's message (its own record)
jq --arg k "inbox.sendtest.example $DAY0" '.[$k].records += 1 | .[$k].messages += 1' \
    "$WORK/expected.json" >"$WORK/expected2.json"

# ---- 1. a dry run writing the files -----------------------------------------
mkdir "$WORK/out"
"$BIN" "${SEND[@]}" --dry-run --out "$WORK/out" --json >"$WORK/dry.json" 2>"$WORK/dry.err"
status=$?
[[ $status == 1 ]] || fail "dry run: exit $status, expected 1 (skipped destinations): $(cat "$WORK/dry.err")"
jq -e '.result == "problems" and .sent == 0 and .failed == 0' "$WORK/dry.json" >/dev/null ||
    fail "dry run document: $(cat "$WORK/dry.json")"
for day in $((DAY0 - 86400)) "$DAY0"; do
    d=$(date -u -d "@$day" +%F)
    q() { jq -r --arg d "$d" --arg dest "$1" --arg dom "$2" \
        '[.results[] | select(.day == $d and .domain == $dom and .destination == $dest) | .outcome] | join(",")' \
        "$WORK/dry.json"; }
    [[ $(q mailto:dmarc@sendtest.example sendtest.example) == would-send ]] || fail "in-domain destination, $d"
    [[ $(q mailto:agg@nomx.example.net sendtest.example) == would-send ]] || fail "authorised external destination, $d"
    [[ $(q mailto:agg@reports.example.net sendtest.example) == skipped ]] || fail "unauthorised external destination, $d"
    [[ $(q 'mailto:small@sendtest.example' sendtest.example) == skipped ]] || fail "!1k destination, $d"
    [[ $(q mailto:reports@sendtest.example inbox.sendtest.example) == would-send ]] || fail "inbox destination, $d"
    jq -e --arg d "$d" '[.results[] | select(.day == $d and .domain == "norua.sendtest.example"
        and .outcome == "no-destination")] | length == 1' "$WORK/dry.json" >/dev/null || fail "norua, $d"
done
jq -e '[.results[] | select(.destination == "mailto:agg@reports.example.net")][0].reason
    | contains("sendtest.example._report._dmarc.reports.example.net")' "$WORK/dry.json" >/dev/null ||
    fail "the unauthorised destination's reason: $(cat "$WORK/dry.json")"
jq -e '[.results[] | select(.destination == "mailto:small@sendtest.example")][0].reason
    | contains("1024")' "$WORK/dry.json" >/dev/null || fail "the size limit's reason"
n=$(find "$WORK/out" -name '*.xml.gz' | wc -l)
[[ $n == 6 ]] || fail "expected 6 report files (3 domains, 2 days), found $n"
for f in "$WORK/out"/*.xml.gz; do
    base=$(basename "$f")
    [[ $base =~ ^receiver\.example![a-z.]+![0-9]+![0-9]+![0-9]{8}\.xml\.gz$ ]] || fail "file name $base"
    zcat "$f" >"$WORK/report.xml" || fail "$base is not gzip"
    xmllint --noout --schema tests/report/data/dmarc-2.0.xsd "$WORK/report.xml" 2>"$WORK/xmllint.err" ||
        fail "$base does not validate: $(cat "$WORK/xmllint.err")"
done
grep -q "<header_from>$(printf 'h%.0s' $(seq 255))</header_from>" <(zcat "$WORK"/out/*'!inbox.sendtest.example!'*"!$(date -u -d "@$DAY0" +%Y%m%d).xml.gz") ||
    fail "the long header From is not cut at 255 bytes"
# nothing recorded by a dry run: the real run below sends everything

# ingested back: the records and messages recorded
check_ingested() { # STORE WHAT
    "$BIN" report list --json --db "$1" >"$WORK/list.json" || fail "$2: report list"
    jq -e --slurpfile want "$WORK/expected2.json" '
        ([.results[] | {key: "\(.domain) \(.begin)", value: {records, messages}}] | from_entries) == $want[0]' \
        "$WORK/list.json" >/dev/null ||
        fail "$2: stored reports differ from what was recorded: $(jq -c '[.results[] | [.domain, .begin, .records, .messages]]' "$WORK/list.json") want $(cat "$WORK/expected2.json")"
    jq -e '[.results[] | .org == "Receiver Test"] | all' "$WORK/list.json" >/dev/null || fail "$2: org"
}
"$BIN" report ingest --db "$WORK/back.db" "$WORK/out" >/dev/null || fail "ingest of the files"
check_ingested "$WORK/back.db" "the files"

# ---- 2. killed between the hand-over and the answer, then run again ----------
mkdir "$WORK/sink"
cp tests/report/send-sink.sh "$WORK/sendmail"
chmod +x "$WORK/sendmail"
export SEND_SINK=$WORK/sink
touch "$WORK/sink/stall"
"$BIN" "${SEND[@]}" --sendmail "$WORK/sendmail" >"$WORK/run1.out" 2>&1 &
SINK_PID=$!
for _ in $(seq 300); do
    [[ -f $WORK/sink/stalled.pid ]] && break
    sleep 0.1
done
[[ -f $WORK/sink/stalled.pid ]] || fail "the first run never handed a message over: $(cat "$WORK/run1.out")"
kill -9 "$SINK_PID"
{ wait "$SINK_PID"; } 2>/dev/null
SINK_PID=
kill "$(cat "$WORK/sink/stalled.pid")" 2>/dev/null
rm "$WORK/sink/stall" "$WORK/sink/stalled.pid"
[[ $(find "$WORK/sink" -name '*.eml' | wc -l) == 1 ]] || fail "the killed run handed over more than one message"

"$BIN" "${SEND[@]}" --sendmail "$WORK/sendmail" --json >"$WORK/run2.json" 2>"$WORK/run2.err"
status=$?
[[ $status == 1 ]] || fail "second run: exit $status: $(cat "$WORK/run2.err")"
# 2 days x (2 sendtest.example destinations + 1 inbox) = 6 sent
jq -e '.sent == 6 and .failed == 0' "$WORK/run2.json" >/dev/null || fail "second run: $(jq -c '[.sent, .failed]' "$WORK/run2.json")"
[[ $(find "$WORK/sink" -name '*.eml' | wc -l) == 7 ]] || fail "expected 7 messages (6 + the one sent again)"
first=$WORK/sink/000.eml
to=$(sed -n 's/^To: //p' "$first" | tr -d '\r')
again=$(grep -l "^To: $to" "$WORK"/sink/00[1-9].eml | head -n1)
[[ -n $again ]] || fail "the report the killed run handed over was not sent again"
for h in Message-ID Subject; do
    [[ $(grep "^$h:" "$first") == $(grep "^$h:" "$again") ]] || fail "$h differs between the send and the resend"
done
grep -q '^Subject: Report Domain: [a-z.]* Submitter: receiver.example Report-ID: <[0-9]\{8\}\.[a-z.]*>' "$first" ||
    fail "subject: $(grep '^Subject:' "$first")"
grep -q '^Content-Type: application/gzip; name="receiver.example!' "$first" || fail "attachment"
grep -q -- "-oi -t -f dmarc-reports@receiver.example" "$WORK/sink/000.args" || fail "sendmail arguments: $(cat "$WORK/sink/000.args")"
for m in "$WORK"/sink/*.eml; do
    grep -q "^To: mailto:\|^To: .*reports.example.net\|^To: small@" "$m" && fail "$m went where it must not"
done
"$BIN" report ingest --json --db "$WORK/mailed.db" "$WORK/sink" >"$WORK/ingest.json" || fail "ingest of the mails"
# 4 reports (2 days x 2 domains with destinations) in 7 mails: the
# duplicates are the second destination's copy and the resend
jq -e '.tally.reports_new == 4 and .tally.duplicates == 3 and .tally.conflicting == 0' "$WORK/ingest.json" >/dev/null ||
    fail "the mails ingested: $(jq -c .tally "$WORK/ingest.json")"
expected_reports=$(jq 'with_entries(select(.key | startswith("norua") | not))' "$WORK/expected2.json")
echo "$expected_reports" >"$WORK/expected2.json"
check_ingested "$WORK/mailed.db" "the mails"

# ---- 3. once: a run again sends nothing ---------------------------------------
"$BIN" "${SEND[@]}" --sendmail "$WORK/sendmail" --json >"$WORK/run3.json" 2>&1
jq -e '.sent == 0 and ([.results[] | select(.outcome == "already-sent")] | length) == 6' "$WORK/run3.json" >/dev/null ||
    fail "third run: $(cat "$WORK/run3.json")"
[[ $(find "$WORK/sink" -name '*.eml' | wc -l) == 7 ]] || fail "the third run sent mail"
echo "PASS - report send ($MODE)"
