#!/usr/bin/env bash
# `report sources` over a window with a time of day, which is computed
# from the records (docs/report.md, "Speed"), holds one page of sources at
# a time, however many the window has:
#
#   window_pages.sh MAILSEC_BINARY sqlite|pgsql
#
# Two reports begin at 01:00 UTC, each record from its own address (a
# spoofed domain's day): 150,000 records for pages.example, 9,000 for
# small.example. The same reports are selected by a window of whole days
# (read from the rollups) and by one opening at 00:00:01 (computed from
# the records): --limit 4100 (a page of 4,096 and part of the next) over
# pages.example and --all over small.example (three pages) must give the
# same sources in the same order, with their names, and --limit 20 over
# pages.example's records must stay within 40 MiB of peak RSS (holding
# every source took 80 MiB).
set -uo pipefail

BIN=$1 MODE=$2
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
source tests/lib/store.sh
source tests/lib/testlib.sh

test_store "$MODE" pages
RECORDS=150000 SMALL=9000
/usr/bin/python3 - "$WORK" "$RECORDS" "$SMALL" <<'PY' || die "could not write the reports"
import sys
work, big, small = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
begin = 1700010000  # 2023-11-15 01:00 UTC
for domain, n in (("pages.example", big), ("small.example", small)):
    with open(f"{work}/{domain}.xml", "w") as f:
        f.write(f"""<?xml version="1.0"?>
<feedback><report_metadata><org_name>big.example</org_name><email>r@big.example</email>
<report_id>{domain}</report_id><date_range><begin>{begin}</begin><end>{begin + 86399}</end></date_range>
</report_metadata><policy_published><domain>{domain}</domain><p>none</p></policy_published>
""")
        for i in range(n):
            ip = f"10.{i >> 16 & 255}.{i >> 8 & 255}.{i & 255}"
            count = 1 + i % 5 if i % 1000 else 1000 + i  # a few big senders, many ties below
            spf = f"spoof{i % 7}.example"
            f.write(f"<record><row><source_ip>{ip}</source_ip><count>{count}</count><policy_evaluated>"
                    f"<disposition>none</disposition><dkim>fail</dkim><spf>fail</spf></policy_evaluated></row>"
                    f"<identifiers><header_from>{domain}</header_from></identifiers><auth_results>"
                    f"<spf><domain>{spf}</domain><result>fail</result></spf></auth_results></record>\n")
        f.write("</feedback>\n")
PY
"$BIN" report ingest --json --db "$DB" "$WORK/pages.example.xml" "$WORK/small.example.xml" >"$WORK/ingest" 2>&1
json_true ".tally.records == $RECORDS + $SMALL" "$WORK/ingest" >/dev/null ||
    die "ingest: $(head -c 400 "$WORK/ingest")"

days=(--since 2023-11-15 --until 2023-11-15)
records=(--since 2023-11-15T00:00:01Z --until 2023-11-15T23:59:59Z)
for limit in all 4100; do
    opt=(--limit "$limit" --domain pages.example)
    want=4100
    [[ $limit == all ]] && opt=(--all --domain small.example) want=$SMALL
    if "$BIN" report sources --no-rdns --json --db "$DB" "${opt[@]}" "${days[@]}" >"$WORK/days.$limit" 2>&1; then
        ok "sources ${opt[*]} (days)"
    else
        fail "sources ${opt[*]} (days): $(head -c 300 "$WORK/days.$limit")"
    fi
    if "$BIN" report sources --no-rdns --json --db "$DB" "${opt[@]}" "${records[@]}" >"$WORK/records.$limit" 2>&1; then
        ok "sources ${opt[*]} (records)"
    else
        fail "sources ${opt[*]} (records): $(head -c 300 "$WORK/records.$limit")"
    fi
    if jq -e --argjson n "$want" '.results | length == $n' "$WORK/records.$limit" >/dev/null; then
        ok "sources ${opt[*]} (records): $want sources"
    else
        fail "sources ${opt[*]} (records): $(jq '.results | length' "$WORK/records.$limit" 2>&1) sources, want $want"
    fi
    if cmp -s <(jq -c '.results' "$WORK/days.$limit") <(jq -c '.results' "$WORK/records.$limit"); then
        ok "sources ${opt[*]}: the records and the rollups agree"
    else
        fail "sources ${opt[*]}: the records and the rollups differ: $(diff <(jq -c '.results[]' "$WORK/days.$limit") \
            <(jq -c '.results[]' "$WORK/records.$limit") | head -6)"
    fi
done
if jq -e '.results[0] | .source_ip == "10.2.70.8" and .messages == 150000 and .spf_domains == ["spoof5.example"]' \
    "$WORK/records.4100" >/dev/null; then
    ok "the first source: 10.2.70.8, 150000 messages"
else
    fail "the first source: $(jq -c '.results[0]' "$WORK/records.4100")"
fi
if jq -e '.others.sources == 145900' "$WORK/records.4100" >/dev/null; then
    ok "the others: 145900 sources"
else
    fail "the others: $(jq -c '.others' "$WORK/records.4100")"
fi

if /usr/bin/time -o "$WORK/time" -f %M "$BIN" report sources --no-rdns --json --db "$DB" --domain pages.example \
    "${records[@]}" >"$WORK/top" 2>&1; then
    ok "sources --limit 20 (records)"
else
    fail "sources --limit 20 (records): $(head -c 300 "$WORK/top")"
fi
if jq -e '.results | length == 20' "$WORK/top" >/dev/null; then
    ok "sources --limit 20: 20 sources"
else
    fail "sources --limit 20: $(head -c 300 "$WORK/top")"
fi
rss=$(tail -1 "$WORK/time")
# not judged under ASan (MAILSEC_TEST_NO_RSS): freed memory stays in its quarantine
if [[ -z ${MAILSEC_TEST_NO_RSS:-} ]]; then
    if ((rss <= 40 * 1024)); then
        ok "sources --limit 20 over the records: peak RSS $((rss / 1024)) MiB"
    else
        fail "sources --limit 20 over the records: peak RSS $((rss / 1024)) MiB, want at most 40"
    fi
fi

finish "window pages ($MODE; peak RSS $((rss / 1024)) MiB)"
