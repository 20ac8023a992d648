#!/usr/bin/env bash
# report sources --limit / --all (docs/report.md):
#
#   sources.sh MAILSEC_BINARY
#
# A store of 60 sources: 30 of them named in the reverse DNS cache under
# three organisations (big.example, mid.example, small.example), the rest
# without a name, each sending a different number of messages. Then:
#   - the default shows the 20 sending most, grouped by organisation (the
#     groups by their messages, no name last), and sums the other 40 on one
#     line ("others" in JSON), their figures adding up to the whole;
#   - --limit 25 and 45 the same with 25 and 45 (three groups); --limit 0
#     and --limit x are refused, and --limit with another view;
#   - --all lists every source by messages, as a valid JSON document and
#     as text;
#   - on 200,000 sources (rows written with SQL, the rollups built by the
#     migration), --all and the default keep their peak RSS under 64 MiB
#     (not judged under ASan, MAILSEC_TEST_NO_RSS: freed memory stays
#     resident in its quarantine).
set -uo pipefail

BIN=$1
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
source tests/lib/testlib.sh
DB=$WORK/reports.db

# Source k (1..60) sends 1000 + k messages: 198.51.100.k. Sources 1-10 are
# mail-k.big.example, 11-20 mx-k.mid.example, 21-30 out-k.small.example.
/usr/bin/python3 - "$WORK" <<'PY' || die "could not write the report"
import sys
records = "".join(f"""<record><row><source_ip>198.51.100.{k}</source_ip><count>{1000 + k}</count>
<policy_evaluated><disposition>none</disposition><dkim>{'pass' if k % 2 else 'fail'}</dkim><spf>fail</spf>
</policy_evaluated></row><identifiers><header_from>example.com</header_from></identifiers><auth_results>
<spf><domain>example.com</domain><result>fail</result></spf></auth_results></record>""" for k in range(1, 61))
open(sys.argv[1] + "/r.xml", "w").write(f"""<?xml version="1.0"?><feedback><report_metadata>
<org_name>r.example</org_name><email>r@r.example</email><report_id>1</report_id>
<date_range><begin>1700006400</begin><end>1700092799</end></date_range></report_metadata>
<policy_published><domain>example.com</domain><p>none</p></policy_published>{records}</feedback>""")
PY
"$BIN" report ingest --db "$DB" "$WORK/r.xml" >"$WORK/out" 2>&1 || die "ingest: $(cat "$WORK/out")"
values=
for k in $(seq 1 30); do
    org=$(((k - 1) / 10))
    name=(mail-$k.big.example mx-$k.mid.example out-$k.small.example)
    values+="${values:+,}('198.51.100.$k', '${name[$org]}', 4000000000)"
done
sqlite3 "$DB" "INSERT INTO rdns (ip, name, fetched) VALUES $values" || die "could not fill the rDNS cache"

view() { "$BIN" report sources --no-rdns --db "$DB" "$@" >"$WORK/out" 2>"$WORK/err"; status=$?; }
expect() {
    if json_true "$1" "$WORK/out" >/dev/null; then
        ok "$name: $1"
    else
        fail "$name: jq false: $1: $(head -c 400 "$WORK/out")"
    fi
}
# exits_with STATUS [DETAIL]: the last view exited with STATUS.
exits_with() {
    if [[ $status == "$1" ]]; then ok "$name: exit $1"; else fail "$name: exit $status, expected $1${2:+: $2}"; fi
}

TOTAL=$((60 * 1000 + 60 * 61 / 2))
name="default"
view --json
exits_with 0 "$(cat "$WORK/err")"
# the 20 sending most are 41..60, all without a name
expect '(.results | length) == 20 and ([.results[].source_ip] == [range(60; 40; -1) | "198.51.100.\(.)"])'
expect ".others.sources == 40 and (.others.messages + ([.results[].messages] | add)) == $TOTAL"
expect '(.others.aligned + .others.unaligned + .others.failing) == .others.messages'

name="--limit 25"
view --json --limit 25
expect '(.results | length) == 25 and .others.sources == 35'
name="--limit 45: groups"
view --json --limit 45
# 16..60: mid.example (16..20), small.example (21..30), then no name (31..60)
expect '[.results[].group] | unique == [null, "mid.example", "small.example"]'
expect '[.results[] | .group] == ([range(10) | "small.example"] + [range(5) | "mid.example"] + [range(30) | null])'
expect '[.results[] | select(.group == "small.example") | .source_ip] == [range(30; 20; -1) | "198.51.100.\(.)"]'
expect ".others.sources == 15 and (.others.messages + ([.results[].messages] | add)) == $TOTAL"
name="--limit 45, text"
view --limit 45
exits_with 0
if grep -q "^small.example" "$WORK/out" && grep -q "^mid.example" "$WORK/out" && grep -q "^Without reverse DNS" "$WORK/out"; then
    ok "$name: the group headings"
else
    fail "$name: the group headings: $(head -5 "$WORK/out")"
fi
if grep -q "^15 other sources" "$WORK/out"; then
    ok "$name: a line for the others"
else
    fail "$name: no line for the others: $(tail -3 "$WORK/out")"
fi
if [[ $(grep -n "^small.example" "$WORK/out" | cut -d: -f1) -lt $(grep -n "^mid.example" "$WORK/out" | cut -d: -f1) ]]; then
    ok "$name: small.example (10,255 messages) comes before mid.example (5,090)"
else
    fail "$name: small.example (10,255 messages) comes after mid.example (5,090)"
fi

for bad in 0 x -3 100001; do
    name="--limit $bad"
    view --limit "$bad"
    exits_with 2 "a usage error"
done

"$BIN" report summary --limit 5 --db "$DB" >"$WORK/out" 2>&1
status=$? name="summary --limit"
exits_with 2 "a usage error: $(head -2 "$WORK/out")"

name="--all"
view --all --json
exits_with 0 "$(cat "$WORK/err")"
expect '(.results | length) == 60 and .result == "ok" and ([.results[].messages] == ([.results[].messages] | sort | reverse))'
expect '[.results[] | select(.source_ip == "198.51.100.5") | .group] == ["big.example"]'
view --all
if [[ $(grep -c "198.51.100" "$WORK/out") == 60 ]]; then
    ok "--all, text: 60 sources"
else
    fail "--all, text: $(grep -c "198.51.100" "$WORK/out") sources, want 60"
fi

# 200,000 sources: peak memory stays bounded (64 MiB) whatever the store holds.
N=200000
sqlite3 "$DB" "DELETE FROM rdns;
    INSERT INTO reports (id, kind, org, report_id, domain, date_begin, date_end, records, messages, ingested_at)
      VALUES (1000, 'aggregate', 'big.example', 'big', 'example.com', 1700092800, 1700179199, $N, $N, 0);
    INSERT INTO agg_records (report, seq, source_ip, count, disposition, dkim, spf, header_from, dkim_pass, spf_pass)
      WITH RECURSIVE s(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM s WHERE i < $N - 1)
      SELECT 1000, i, '10.' || (i / 65536) || '.' || (i / 256 % 256) || '.' || (i % 256), 1, 'none', 'fail',
             'fail', 'example.com', 0, 0 FROM s;
    $(cat tests/lib/schema_v2.sql)" || die "could not write the big store"
"$BIN" report ingest --db "$DB" /dev/null >"$WORK/out" 2>&1 || die "the migration failed: $(cat "$WORK/out")"
for args in "--all --json" "--json" "--all"; do
    /usr/bin/time -o "$WORK/time" -f "%M" "$BIN" report sources --no-rdns --db "$DB" $args >"$WORK/out" 2>"$WORK/err"
    status=$?
    rss=$(tail -1 "$WORK/time")
    name="sources $args on $N sources"
    exits_with 0
    if [[ -z ${MAILSEC_TEST_NO_RSS:-} ]]; then
        if ((rss <= 65536)); then ok "$name: peak RSS $rss KiB"; else fail "$name: peak RSS $rss KiB, over 64 MiB"; fi
    fi
done
"$BIN" report sources --no-rdns --db "$DB" --json >"$WORK/out" 2>&1
if json_true ".others.sources == $((N + 40)) and (.results | length) == 20" "$WORK/out" >/dev/null; then
    ok "default on $N sources: 20 shown, the others summed"
else
    fail "default on $N sources: $(jq -c .others "$WORK/out")"
fi

finish "report sources --limit / --all"
