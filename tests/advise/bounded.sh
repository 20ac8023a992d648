#!/usr/bin/env bash
# dmarc advise on a window of 200,000 distinct sources, every one a
# service authenticated for another domain (a blocker): the figures are
# exact, the blockers shown are the 100 failing most, and the peak memory
# stays bounded (64 MiB) whatever the store holds.
#
#   bounded.sh MAILSEC_BINARY
#
# The store is written with SQL (a report of yesterday for
# ready.advisetest.example, whose record the DNS test bed publishes), its
# rollups built by the store's own migration, as tests/report/sources.sh
# does.
set -uo pipefail

BIN=$1
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
source tests/lib/testlib.sh

source tests/lib/dnsbed.sh
DNS=(--resolver "$resolver" --trust-anchor "$anchor" --timeout 5)
D=ready.advisetest.example
DB=$WORK/reports.db
N=200000

"$BIN" report ingest --db "$DB" /dev/null >"$WORK/out" 2>&1 || die "could not make the store: $(cat "$WORK/out")"
begin=$(($(date +%s) / 86400 * 86400 - 86400))
# Source i sends 1 + i % 50 messages, signed and SPF-passed for
# esp.example, From one of 40 subdomains for every other source.
sqlite3 "$DB" "
    INSERT INTO reports (id, kind, org, report_id, domain, date_begin, date_end, records, messages, ingested_at, p)
      VALUES (1, 'aggregate', 'google.com', 'big', '$D', $begin, $begin + 86399, $N, 0, 0, 'none');
    INSERT INTO agg_records (report, seq, source_ip, count, disposition, dkim, spf, header_from,
                             dkim_domain, dkim_result, spf_domain, spf_result, dkim_pass, spf_pass)
      WITH RECURSIVE s(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM s WHERE i < $N - 1)
      SELECT 1, i, '10.' || (i / 65536) || '.' || (i / 256 % 256) || '.' || (i % 256), 1 + i % 50,
             'none', 'fail', 'fail', CASE WHEN i % 2 = 0 THEN '$D' ELSE 'news' || (i / 2 % 40) || '.$D' END,
             'esp.example', 'pass', 'esp.example', 'pass', 1, 1 FROM s;
    UPDATE reports SET messages = (SELECT SUM(count) FROM agg_records WHERE report = 1) WHERE id = 1;
    $(cat tests/lib/schema_v2.sql)" || die "could not write the big store"
"$BIN" report ingest --db "$DB" /dev/null >"$WORK/out" 2>&1 || die "the migration failed: $(cat "$WORK/out")"

/usr/bin/time -o "$WORK/time" -f "%M %e" "$BIN" dmarc advise --db "$DB" "${DNS[@]}" --no-rdns --json "$D" \
    >"$WORK/advise.json" 2>"$WORK/err"
status=$?
read -r rss secs < <(tail -1 "$WORK/time")
if [[ $status == 1 ]]; then ok "exit 1 (hold)"; else fail "exit $status, expected 1 (hold): $(head -c 500 "$WORK/err")"; fi
echo "dmarc advise on $N sources: peak RSS $rss KiB, $secs s"
if [[ -z ${MAILSEC_TEST_NO_RSS:-} ]]; then
    if ((rss <= 65536)); then ok "peak RSS $rss KiB, within 64 MiB"; else fail "peak RSS $rss KiB, over 64 MiB"; fi
fi

R='.results[0]'
crit() { echo "($R.criteria[] | select(.name == \"$1\"))"; }
check() {
    if json_true "$2" "$WORK/advise.json"; then
        ok "$1"
    else
        fail "$1 ($2); got: $(jq -c "$R | del(.diagnostics) | .blockers |= .[:2]" "$WORK/advise.json" 2>/dev/null | head -c 3000)"
    fi
}
# sum over i < N of 1 + i % 50
messages=$((N + N / 50 * 1225))
check "every message counted" "$(crit messages).value == $messages"
check "none of it passes" "$(crit pass-rate).value == 0 and ($(crit pass-rate).met | not)"
check "every source is new" "$(crit new-sources).value == $N"
check "every source's mail fails as the domain's own" "$(crit failures).value == $messages and ($(crit failures).figures | contains(\"from the domain's own sources ($N)\"))"
check "subdomains: 40, each once, the senders counted" "$(crit subdomains).value == $((N / 2)) and ($(crit subdomains).figures | startswith(\"40 subdomains seen (news0.$D, news1.$D, news10.$D,\"))"
check "100 blockers shown of $N" "($R.blockers | length) == 100 and $R.blockers_total == $N"
check "the blockers failing most, in order" "[$R.blockers[].failing] | all(. == 50)"
check "by address among equals" "[$R.blockers[].source_ip] == ([$R.blockers[].source_ip] | sort)"
check "the fix names the service's domain" "$R.blockers[0].fix | contains(\"DKIM signs with d=esp.example\")"
check "hold, with the count" "$R.action == \"hold\" and ([$R.reasons[] | select(contains(\"$N legitimate sources fail DMARC\"))] | length) == 1"

# The checklist says how many are not shown.
"$BIN" dmarc advise --db "$DB" "${DNS[@]}" --no-rdns "$D" >"$WORK/text" 2>&1
if grep -q "\.\.\. and $((N - 100)) more (the 100 failing most are shown)" "$WORK/text"; then
    ok "checklist: the count of the blockers not shown"
else
    fail "checklist: no count of the blockers not shown: $(grep -A2 -m1 'Blockers' "$WORK/text")"
fi

finish "dmarc advise on $N sources"
