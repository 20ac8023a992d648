#!/usr/bin/env bash
# dmarc advise --publish against the real Knot DNS of the knotbed fixture:
#
#   publish.sh MAILSEC_BINARY
#
# The record is read through the DNS test bed (NSD, whose publish.example
# zone says what the domain publishes: tests/dnsbed/zones/publish.example.zone)
# and the update goes to Knot (tests/knotbed), which first gets the same
# record with knsupdate. A month of clean monitoring reports (story.py) make
# the advice "next": Knot must then hold the quarantine 1% record. In the
# race case Knot's record was changed meanwhile: the prerequisite fails,
# Knot keeps the other administrator's record. What Knot holds is read with
# kdig straight from it.
set -uo pipefail

BIN=$1
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
source tests/lib/testlib.sh

source tests/lib/dnsbed.sh
source tests/lib/knot.sh
SERVER=$(knot_val SERVER) KEY=$(knot_val KEY)
DNS=(--resolver "$resolver" --trust-anchor "$anchor" --timeout 5)

DB=$WORK/reports.db
for d in advise advise-race; do
    /usr/bin/python3 tests/advise/story.py "$WORK/reports" "" "$d.publish.example" || die "story.py failed"
done
"$BIN" report ingest --db "$DB" "$WORK/reports" >"$WORK/ingest" 2>&1 || die "ingest failed: $(tail -5 "$WORK/ingest")"

# The next step goes to Knot, replacing the record read.
D=advise.publish.example
OLD="v=DMARC1; p=none; rua=mailto:dmarc@$D"
NEW="v=DMARC1; p=quarantine; pct=1; t=y; rua=mailto:dmarc@$D"
knot_set "_dmarc.$D" "$OLD" || die "$knot_error"
"$BIN" dmarc advise --db "$DB" "${DNS[@]}" --json --publish --server "$SERVER" --tsig-key "$KEY" \
    --zone publish.example "$D" >"$WORK/out" 2>"$WORK/err"
status=$?
# Published, but the resolver (NSD) still serves the old record: 1.
if [[ $status == 1 ]]; then
    ok "$D: exit 1 (published, not served by the resolver)"
else
    fail "$D: exit $status, expected 1 (published, not served by the resolver): $(head -c 500 "$WORK/err")"
fi
if json_true ".results[0].action == \"next\" and .results[0].publish.new == \"$NEW\" and .results[0].publish.old == [\"$OLD\"]" "$WORK/out"; then
    ok "$D: JSON: the next step replaces the record read"
else
    fail "$D: JSON: $(jq -c '.results[0] | {action, publish}' "$WORK/out" 2>/dev/null | head -c 1500)"
fi
if [[ $(txt_at "_dmarc.$D") == "\"$NEW\"" ]]; then
    ok "$D: Knot holds the quarantine 1% record"
else
    fail "$D: Knot holds [$(txt_at "_dmarc.$D")], expected the quarantine 1% record"
fi

# Someone changed the record after the resolver's answer: nothing is overwritten.
D=advise-race.publish.example
THEIRS="v=DMARC1; p=none; rua=mailto:other@$D"
knot_set "_dmarc.$D" "$THEIRS" || die "$knot_error"
"$BIN" dmarc advise --db "$DB" "${DNS[@]}" --json --publish --server "$SERVER" --tsig-key "$KEY" \
    --zone publish.example "$D" >"$WORK/out" 2>"$WORK/err"
status=$?
if [[ $status == 1 ]]; then
    ok "$D: exit 1 (the prerequisite failed)"
else
    fail "$D: exit $status, expected 1 (the prerequisite failed)"
fi
if json_true '.results[0].action == "next" and .results[0].publish != null' "$WORK/out"; then
    ok "$D: JSON: the next step, its update tried"
else
    fail "$D: JSON: $(jq -c '.results[0] | {action, publish}' "$WORK/out" 2>/dev/null | head -c 1500)"
fi
if [[ $(txt_at "_dmarc.$D") == "\"$THEIRS\"" ]]; then
    ok "$D: Knot keeps the other administrator's record"
else
    fail "$D: Knot holds [$(txt_at "_dmarc.$D")], expected the other administrator's record"
fi

finish "dmarc advise --publish against Knot"
