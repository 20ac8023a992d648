#!/usr/bin/env bash
# One hostile report must not poison the store (docs/report.md):
#
#   poison.sh MAILSEC_BINARY sqlite|pgsql
#
# A folder holds a poison report first, then 3,000 good ones. The poison is
# one the store itself must refuse if nothing before it does: a record
# count of 2^63 (SQLite stored it as a negative number) and, for
# PostgreSQL, an org name of 4,000 incompressible characters, too long for
# the identity index (the server refused the row and the whole run
# stopped). Every good report is stored, the poison counted as failed and
# set aside (exit 1); a second run does the same, the set-aside report
# still one row of `rejected` (seen twice). Then the same report identity
# with other content (count 1, then 999) is a conflicting duplicate: kept
# as first stored, recorded in `conflicts`, exit 1; the first again,
# re-encoded (a byte-order mark, other white space), is a plain duplicate.
# The rollups (rollup_check.sh) count what was stored, nothing else.
set -uo pipefail

BIN=$1 MODE=$2
source "$(dirname "${BASH_SOURCE[0]}")/../lib/store.sh"
source "$(dirname "${BASH_SOURCE[0]}")/../lib/testlib.sh"

test_store "$MODE" poison
case $MODE in
sqlite) sql() { sqlite3 "$DB" "$1"; } ;;
pgsql) sql() { psql -q -X -t -A -v ON_ERROR_STOP=1 "$DB" -c "$1"; } ;;
esac

python3 - "$WORK" "$MODE" <<'PY' || die "could not write the reports"
import os, random, sys
work, mode = sys.argv[1], sys.argv[2]
def report(org, rid, count, domain="example.com"):
    return f"""<?xml version="1.0"?>
<feedback><report_metadata><org_name>{org}</org_name><email>r@reporter.example</email>
<report_id>{rid}</report_id><date_range><begin>1700000000</begin><end>1700086399</end></date_range>
</report_metadata><policy_published><domain>{domain}</domain><adkim>r</adkim><aspf>r</aspf>
<p>none</p><sp>none</sp><pct>100</pct></policy_published>
<record><row><source_ip>192.0.2.1</source_ip><count>{count}</count><policy_evaluated>
<disposition>none</disposition><dkim>pass</dkim><spf>pass</spf></policy_evaluated></row>
<identifiers><header_from>{domain}</header_from></identifiers><auth_results><spf>
<domain>{domain}</domain><result>pass</result></spf></auth_results></record></feedback>
"""
inbox = os.path.join(work, "in")
os.makedirs(inbox)
rng = random.Random(7)
org = "".join(rng.choice("abcdefghijklmnopqrstuvwxyz0123456789") for _ in range(4000))
poison = report(org, "poison", 9223372036854775808) if mode == "pgsql" else report("poison.example", "poison", 9223372036854775808)
open(os.path.join(inbox, "0000-poison.xml"), "w").write(poison)
for i in range(3000):
    open(os.path.join(inbox, f"{i + 1:04d}-good.xml"), "w").write(report("good.example", f"good-{i}", i + 1))
os.makedirs(os.path.join(work, "c1"))
os.makedirs(os.path.join(work, "c2"))
open(os.path.join(work, "c1", "r.xml"), "w").write(report("conflict.example", "same-id", 1))
open(os.path.join(work, "c2", "r.xml"), "w").write(report("conflict.example", "same-id", 999))
os.makedirs(os.path.join(work, "c3"))  # the first again, re-encoded: a plain duplicate
open(os.path.join(work, "c3", "r.xml"), "w").write("\ufeff  " + report("conflict.example", "same-id", 1).replace("><", ">\n  <"))
PY

for run in 1 2; do
    "$BIN" report ingest --json --db "$DB" "$WORK/in" >"$WORK/out" 2>"$WORK/err"
    status=$?
    if [[ $status == 1 ]]; then ok "run $run: exit 1"; else fail "run $run: exit $status, want 1: $(cat "$WORK/err")"; fi
    want_new=$([[ $run == 1 ]] && echo 3000 || echo 0)
    want_dup=$([[ $run == 1 ]] && echo 0 || echo 3000)
    if json_true ".tally.reports_new == $want_new and .tally.duplicates == $want_dup and .tally.failed == 1
           and (.failed[0].origin | test(\"0000-poison\"))" "$WORK/out" >/dev/null; then
        ok "run $run: $want_new new, $want_dup duplicates, the poison failed"
    else
        fail "run $run: tally $(jq -c '.tally, .failed' "$WORK/out" 2>&1 | head -c 600)"
    fi
done
if [[ $(sql "SELECT COUNT(*) FROM reports WHERE org = 'good.example'") == 3000 ]]; then
    ok "good reports stored: 3000"
else
    fail "good reports stored: $(sql "SELECT COUNT(*) FROM reports WHERE org = 'good.example'")"
fi
if [[ $(sql "SELECT COUNT(*) FROM reports WHERE report_id = 'poison'") == 0 ]]; then
    ok "the poison was not stored"
else
    fail "the poison was stored"
fi
if [[ $(sql "SELECT COUNT(*) || ' ' || MAX(seen_count) FROM rejected") == "1 2" ]]; then
    ok "rejected rows: one, seen twice"
else
    fail "rejected rows: $(sql "SELECT COUNT(*) || ' ' || MAX(seen_count) FROM rejected")"
fi
if [[ $(sql "SELECT COUNT(*) FROM agg_records WHERE count < 0") == 0 ]]; then
    ok "no count wrapped negative"
else
    fail "a count wrapped negative"
fi

if "$BIN" report ingest --db "$DB" "$WORK/c1" >"$WORK/out" 2>&1; then
    ok "first of the conflicting pair stored"
else
    fail "first of the conflicting pair: $(cat "$WORK/out")"
fi
"$BIN" report ingest --json --db "$DB" "$WORK/c2" >"$WORK/out" 2>"$WORK/err"
status=$?
if [[ $status == 1 ]]; then ok "conflicting duplicate: exit 1"; else fail "conflicting duplicate: exit $status, want 1"; fi
if json_true '.tally.conflicting == 1 and .tally.duplicates == 1 and .tally.reports_new == 0' "$WORK/out" >/dev/null; then
    ok "conflicting duplicate: counted as one"
else
    fail "conflicting duplicate: tally $(jq -c .tally "$WORK/out" 2>&1)"
fi
"$BIN" report ingest --db "$DB" "$WORK/c2" >"$WORK/out" 2>&1
if grep -q "conflicting duplicate" "$WORK/out"; then
    ok "the checklist says conflicting duplicate"
else
    fail "the checklist does not say so: $(cat "$WORK/out")"
fi
if [[ $(sql "SELECT messages FROM reports WHERE org = 'conflict.example'") == 1 ]]; then
    ok "the first was kept"
else
    fail "the first was not kept"
fi
if [[ $(sql "SELECT COUNT(*) || ' ' || MAX(seen_count) FROM conflicts") == "1 2" ]]; then
    ok "conflicts: one, seen twice"
else
    fail "conflicts: $(sql "SELECT COUNT(*) || ' ' || MAX(seen_count) FROM conflicts")"
fi
for same in c1 c3; do
    "$BIN" report ingest --json --db "$DB" "$WORK/$same" >"$WORK/out" 2>&1
    status=$?
    if [[ $status == 0 ]]; then
        ok "$same: the same content again: exit 0"
    else
        fail "$same: the same content again: exit $status, want 0"
    fi
    if json_true '.tally.duplicates == 1 and .tally.conflicting == 0' "$WORK/out" >/dev/null; then
        ok "$same: the same content again is a plain duplicate"
    else
        fail "$same: the same content again is a plain duplicate: $(jq -c .tally "$WORK/out" 2>&1)"
    fi
done

# The rollups the views read hold the good reports and the first of the
# conflicting pair, never the poison (rolled back) nor a duplicate.
source "$(dirname "${BASH_SOURCE[0]}")/rollup_check.sh"
check_rollups
if [[ $(sql "SELECT messages FROM rollup_days WHERE domain = 'example.com'") == 4501501 ]]; then
    ok "rollup of example.com: 4501501 messages"
else
    fail "rollup of example.com: $(sql "SELECT messages FROM rollup_days WHERE domain = 'example.com'"), want 4501501 (1 + ... + 3000, and 1)"
fi

finish "poison ($MODE)"
