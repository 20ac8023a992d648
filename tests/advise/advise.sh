#!/usr/bin/env bash
# dmarc advise over report stores that tell roll-out stories:
#
#   advise.sh MAILSEC_BINARY sqlite|pgsql
#
# story.py writes weeks of aggregate reports (google.com, Yahoo, Enterprise
# Outlook; the domains' own server, a newsletter service, a forwarder, a
# spoofer, a late CRM; the record changing step by step), `report ingest`
# stores them, and `dmarc advise` reads the record each story ends with from
# the DNS test bed (tests/dnsbed/zones/advisetest.example.zone). Each story's
# step, criteria figures and verdicts, blockers, next record and exit status
# are checked. For PostgreSQL the store-pgsql fixture's server is used
# (MAILSEC_STORE_PG_INFO), in a database of our own.
set -uo pipefail

BIN=$1 MODE=$2
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
source tests/lib/store.sh
source tests/lib/testlib.sh

source tests/lib/dnsbed.sh
DNS=(--resolver "$resolver" --trust-anchor "$anchor" --timeout 5)

test_store "$MODE" advise
/usr/bin/python3 tests/advise/story.py "$WORK/reports" || die "story.py failed"
"$BIN" report ingest --db "$DB" "$WORK/reports" >"$WORK/ingest" 2>&1 ||
    die "ingest failed: $(tail -5 "$WORK/ingest")"

# advise STATUS DOMAIN [OPTION...]: runs the command (JSON), which must
# exit with STATUS; keeps its output in $WORK/DOMAIN.json.
advise() {
    local want=$1 domain=$2 status
    shift 2
    "$BIN" dmarc advise --db "$DB" "${DNS[@]}" --json "$@" "$domain" >"$WORK/$domain.json" 2>"$WORK/$domain.err"
    status=$?
    if [[ $status == "$want" ]]; then ok "$domain $*: exit $want"; else fail "$domain $*: exit $status, expected $want"; fi
}
# check DOMAIN NAME JQ: the JQ expression holds of the domain's result.
check() {
    if json_true "$3" "$WORK/$1.json"; then
        ok "$1: $2"
    else
        fail "$1: $2 ($3); got: $(jq -c '.results[0] | del(.diagnostics)' "$WORK/$1.json" 2>/dev/null | head -c 3000) $(head -c 500 "$WORK/$1.err")"
    fi
}
R='.results[0]'
crit() { echo "($R.criteria[] | select(.name == \"$1\"))"; }

# Monitoring for a month, every legitimate source aligned: the next step.
D=ready.advisetest.example
advise 0 $D
check $D "monitor step, since a month" "$R.step.index == 1 and $R.step.name == \"monitor\" and ($R.step.since | type) == \"string\""
check $D "every criterion met" "[$R.criteria[].met] | all and length == 7"
check $D "three reporters, two needed" "$(crit reporters).value == 3 and $(crit reporters).target == 2 and ($(crit reporters).figures | contains(\"google.com\"))"
check $D "30 days at monitoring" "$(crit days).value == 30 and $(crit days).target == 14"
# 14 days x 3 reporters x (200 own + 60 newsletter + 8 forwarded + 15 spoofed)
check $D "messages of the window" "$(crit messages).value == 11886"
check $D "100% of legitimate mail passes" "$(crit pass-rate).value == 10000 and $(crit pass-rate).target == 9800"
check $D "failures are spoofing and forwarding" "$(crit failures).figures | contains(\"630 spoofing (1 sources), 336 forwarding (1 sources), 0 from\")"
check $D "no blockers" "$R.blockers == []"
check $D "next: quarantine 1%" "$R.action == \"next\" and $R.next.index == 2 and $R.next.name == \"quarantine 1%\""
check $D "the next record keeps rua" "$R.next.record == \"v=DMARC1; p=quarantine; pct=1; t=y; rua=mailto:dmarc@$D\""
check $D "the zone line" "$R.next.zone_line == \"_dmarc.$D. 3600 IN TXT \\\"v=DMARC1; p=quarantine; pct=1; t=y; rua=mailto:dmarc@$D\\\"\""
check $D "verdict ok" "$R.result == \"ok\" and .result == \"ok\""

# A stricter threshold than 100% is impossible; a window with too few
# messages is not enough data.
advise 1 $D --min-messages 20000
check $D "too few messages: hold" "$R.action == \"hold\" and ($(crit messages).met | not) and $R.next == null"

# The newsletter service signs with its own domain, also for a subdomain;
# a CRM appeared five days ago.
D=blocked.advisetest.example
advise 1 $D
check $D "hold" "$R.action == \"hold\" and $R.next == null"
# own 200, newsletter 60 + 30 (subdomain), CRM 40 for 5 of the 14 days, 3 reporters:
# 8400 of 12780 pass
check $D "pass rate of legitimate mail" "$(crit pass-rate).met == false and $(crit pass-rate).value == 6572"
check $D "the CRM is new" "$(crit new-sources).met == false and $(crit new-sources).value == 1"
check $D "own sources fail" "$(crit failures).met == false and ($(crit failures).figures | contains(\"from the domain's own sources (2)\"))"
check $D "a subdomain's mail fails" "$(crit subdomains).met == false and ($(crit subdomains).figures | contains(\"news.$D\"))"
check $D "two blockers, the newsletter first" "($R.blockers | length) == 2 and $R.blockers[0].source_ip == \"198.18.0.20\" and $R.blockers[0].failing == 3780 and $R.blockers[0].class == \"unaligned\" and $R.blockers[0].new == false"
check $D "the newsletter's org and fix" "$R.blockers[0].org == \"newsletter.example\" and ($R.blockers[0].fix | contains(\"DKIM signs with d=newsletter.example: sign with d=$D\")) and ($R.blockers[0].fix | contains(\"SPF include\"))"
check $D "the CRM is new, by its rDNS" "$R.blockers[1].source_ip == \"198.18.0.50\" and $R.blockers[1].new == true and $R.blockers[1].rdns == \"out.crmservice.example\" and $R.blockers[1].failing == 600"
check $D "reasons name the criteria" "[$R.reasons[] | select(startswith(\"pass-rate:\"))] | length == 1"

# Three days from one small reporter.
D=young.advisetest.example
advise 1 $D
check $D "not enough reporters, no large provider" "$(crit reporters).met == false and $(crit reporters).value == 1 and ($(crit reporters).figures | contains(\"large mailbox providers: none\"))"
check $D "not enough days" "$(crit days).met == false and $(crit days).value == 3"
check $D "enough messages" "$(crit messages).met == true and $(crit messages).value == 600"
check $D "hold" "$R.action == \"hold\""
advise 1 $D --min-days 3 --min-reporters 1
check $D "--min-days 3: days met" "$(crit days).met == true and $(crit days).target == 3"
check $D "still no large provider" "$(crit reporters).met == false and $R.action == \"hold\""

# Quarantine 10% since five days; the newsletter's new server is not
# aligned and receivers quarantined its mail: step back to 5%.
D=stepback.advisetest.example
advise 1 $D
check $D "at quarantine 10%" "$R.step.index == 4 and $R.step.name == \"quarantine 10%\""
check $D "step back to quarantine 5%" "$R.action == \"step back\" and $R.next.index == 3 and $R.next.record == \"v=DMARC1; p=quarantine; pct=5; t=y; rua=mailto:dmarc@$D\""
check $D "the reason gives the figures" "$R.reasons[0] | contains(\"76.92% of 3900 messages from legitimate sources passed DMARC\")"
check $D "the new newsletter server blocks" "$R.blockers[0].source_ip == \"198.18.0.21\" and $R.blockers[0].new == true"

# p=reject with pct=50 and no t=y, without ever quarantining.
D=offplan.advisetest.example
advise 1 $D
check $D "treated as reject 50%" "$R.step.index == 12 and $R.step.name == \"reject 50%\""
check $D "departures: pct without t, quarantine skipped, rua not authorised" "[$R.departures[].code] | sort == [\"dmarc.advise-skipped-quarantine\", \"dmarc.pct-without-t\", \"dmarc.report-destination-unverified\"]"
check $D "hold, with the plan's record for the step" "$R.action == \"hold\" and $R.next.record == \"v=DMARC1; p=reject; pct=50; t=y; rua=mailto:dmarc@advisetest.example\""

# At reject for twenty days, clean: the end of the plan.
D=done.advisetest.example
advise 0 $D
check $D "at reject all since twenty days" "$R.step.index == 13 and $(crit days).value == 20 and $(crit days).target == 7"
check $D "done, nothing to publish" "$R.action == \"done\" and $R.next == null and $R.departures == []"

# Reports, but no record: start with the plan.
D=nodmarc.advisetest.example
advise 1 $D
check $D "start" "$R.action == \"start\" and $R.step.index == null and ($R.reasons[0] | contains(\"mailsec dmarc plan\"))"

# --publish --dry-run: the update replacing exactly the record read with
# the next step's; nothing sent (the server named does not exist). A story
# that holds publishes nothing.
echo "advise-test:hmac-sha256:$(head -c 32 /dev/urandom | base64)" >"$WORK/key"
PUBLISH=(--publish --dry-run --server 127.0.0.1:9 --tsig-key "$WORK/key" --zone advisetest.example)
D=ready.advisetest.example
advise 0 $D "${PUBLISH[@]}"
check $D "dry run of the next record" "$R.publish.outcome == \"dry-run\" and $R.publish.old == [\"v=DMARC1; p=none; rua=mailto:dmarc@$D\"] and $R.publish.new == $R.next.record"
check $D "the prerequisite is the record read" "$R.publish.update | contains(\"prereq yxrrset _dmarc.$D. IN TXT \\\"v=DMARC1; p=none; rua=mailto:dmarc@$D\\\"\")"
D=blocked.advisetest.example
advise 1 $D "${PUBLISH[@]}"
check $D "hold: nothing published" "$R.action == \"hold\" and $R.publish == null"
"$BIN" dmarc advise --db "$DB" "${DNS[@]}" --publish --all >"$WORK/pub-all" 2>&1
status=$?
if [[ $status == 2 ]] && grep -q -- "--publish takes exactly one domain" "$WORK/pub-all"; then
    ok "--publish --all: a usage error"
else
    fail "--publish --all: exit $status: $(head -c 500 "$WORK/pub-all")"
fi

# A resolver that does not answer: could not check (2).
"$BIN" dmarc advise --db "$DB" --resolver 127.0.0.1@9 --timeout 1 --json ready.advisetest.example >"$WORK/dead.json" 2>"$WORK/dead.err"
status=$?
if [[ $status == 2 ]]; then ok "no DNS answer: exit 2"; else fail "no DNS answer: exit $status, expected 2"; fi
if json_true '.results[0].result == "unchecked" and .result == "unchecked"' "$WORK/dead.json"; then
    ok "no DNS answer: unchecked"
else
    fail "no DNS answer: not unchecked: $(cat "$WORK/dead.json")"
fi

# Every domain in the store (none named): one result each, the worst status.
"$BIN" dmarc advise --db "$DB" "${DNS[@]}" --json >"$WORK/all.json" 2>"$WORK/all.err"
status=$?
if [[ $status == 1 ]]; then ok "all domains: exit 1"; else fail "all domains: exit $status, expected 1"; fi
if json_true '[.results[].domain] | length == 7 and index("ready.advisetest.example") != null' "$WORK/all.json"; then
    ok "all domains: one result each"
else
    fail "all domains: $(jq -c '[.results[] | {domain, action}]' "$WORK/all.json" 2>/dev/null) $(head -c 500 "$WORK/all.err")"
fi

# The checklist says the same in words.
"$BIN" dmarc advise --db "$DB" "${DNS[@]}" blocked.advisetest.example >"$WORK/text" 2>&1
if grep -qE "step +1 of 13: monitor \(since " "$WORK/text"; then
    ok "checklist: the step line"
else
    fail "checklist: no step line: $(head -c 2000 "$WORK/text")"
fi
if grep -q "198.18.0.20 o1.mailer.newsletter.example org newsletter.example: unaligned, 3780 of 3780 messages fail DMARC" "$WORK/text"; then
    ok "checklist: the newsletter blocker"
else
    fail "checklist: no newsletter blocker: $(head -c 3000 "$WORK/text")"
fi
if grep -q "Next: hold" "$WORK/text"; then ok "checklist: hold"; else fail "checklist: no hold"; fi

finish "dmarc advise stories ($MODE)"
