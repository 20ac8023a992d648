#!/usr/bin/env bash
# The rollups the views read (docs/store.md) hold exactly the sums of the
# records stored:
#
#   rollups.sh MAILSEC_BINARY sqlite|pgsql
#
# The sample reports and a few of our own are ingested: two domains (one
# written in capitals), several days, a record with two DKIM and two SPF
# results (the second ones are kept in auth_more), override reasons (one
# report with more distinct reasons than SQLite keeps a report's rollups
# by day for in memory: SQL adds them), a
# report refused at its second record after its first was written (rolled
# back), one of 30,000 sources refused at its last record, every report
# again (duplicates) and one with other content (a conflicting duplicate).
# Then every rollup table must equal the sums computed from the records
# (rollup_check.sh), and the views must answer the same from the rollups
# as from the records (a window that is not on whole UTC days is computed
# from the records). Then the store is taken back to schema version 2 (the
# rollup tables dropped, as a store written by the previous version has
# it) and opened by a view, which migrates it first: the migration must build the same rollups,
# and the views must answer as before.
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/rollup_check.sh"

BIN=$1 MODE=$2
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
source tests/lib/store.sh
source tests/lib/testlib.sh

test_store "$MODE" rollups
case $MODE in
sqlite) sql() { sqlite3 "$DB" "$1"; } ;;
pgsql) sql() { psql -q -X -t -A -v ON_ERROR_STOP=1 "$DB" -c "$1"; } ;;
esac

/usr/bin/python3 - "$WORK" <<'PY' || die "could not write the reports"
import os, sys
work = sys.argv[1]
def record(ip, count, dkim=None, spf=None, disposition="none", reason=None):
    dkim = ((HF, "pass"),) if dkim is None else dkim
    spf = ((HF, "pass"),) if spf is None else spf
    auth = "".join(f"<dkim><domain>{d}</domain><result>{r}</result></dkim>" for d, r in dkim)
    auth += "".join(f"<spf><domain>{d}</domain><result>{r}</result></spf>" for d, r in spf)
    why = f"<reason><type>{reason}</type></reason>" if reason else ""
    ev_dkim = dkim[0][1] if dkim else "fail"
    ev_spf = spf[0][1] if spf else "fail"
    return f"""<record><row><source_ip>{ip}</source_ip><count>{count}</count><policy_evaluated>
<disposition>{disposition}</disposition><dkim>{ev_dkim}</dkim><spf>{ev_spf}</spf>{why}</policy_evaluated></row>
<identifiers><header_from>{HF}</header_from></identifiers><auth_results>{auth}</auth_results></record>"""
def report(org, rid, begin, domain, records, p="none"):
    global HF
    HF = domain.lower()
    body = "".join(record(*r[0], **r[1]) for r in records)
    return f"""<?xml version="1.0"?>
<feedback><report_metadata><org_name>{org}</org_name><email>r@{org}</email>
<report_id>{rid}</report_id><date_range><begin>{begin}</begin><end>{begin + 86399}</end></date_range>
</report_metadata><policy_published><domain>{domain}</domain><adkim>r</adkim><aspf>r</aspf>
<p>{p}</p><pct>100</pct></policy_published>{body}</feedback>
"""
day = 1700006400  # 2023-11-15 00:00 UTC
inbox = os.path.join(work, "in")
os.makedirs(inbox)
reports = {
    "a1": report("one.example", "a1", day + 3600, "rollup.example", [
        (("192.0.2.10", 40), dict(dkim=(("rollup.example", "pass"), ("second-signer.example", "pass")),
                                  spf=(("rollup.example", "pass"), ("bounce.example", "fail")))),
        (("198.51.100.7", 5), dict(dkim=(("rollup.example", "fail"),), spf=(("other.example", "pass"),),
                                   disposition="quarantine")),
        (("203.0.113.9", 3), dict(dkim=(("list.example", "pass"),), spf=(("list.example", "fail"),),
                                  disposition="reject", reason="mailing_list")),
    ]),
    "a2": report("two.example", "a2", day + 86400 + 7200, "Rollup.EXAMPLE", [
        (("192.0.2.10", 7), {}),
        (("203.0.113.9", 2), dict(dkim=(), spf=(("spoof.example", "fail"),), disposition="reject")),
    ], p="quarantine"),
    "a3": report("one.example", "a3", day - 86400 * 30, "second.example", [
        (("2001:db8::1", 11), {}),
    ]),
    # override reasons that are signs of forwarding and one that is not
    "f1": report("one.example", "f1", day + 900, "forward.example", [
        (("192.0.2.30", 6), dict(reason="forwarded")),
        (("192.0.2.30", 4), dict(dkim=(("forward.example", "pass"),), spf=(("forward.example", "fail"),),
                                 reason="local_policy")),
        # RFC 7489's tokens byte for byte, in both backends: not these
        (("192.0.2.31", 9), dict(reason="Mailing-List")),
        (("192.0.2.32", 2), dict(reason="Forwarded")),
    ]),
    # more distinct override reasons than the rollups by day of one report
    # kept in memory (rollup_mem.c): SQL adds that report's instead
    "m1": report("three.example", "m1", day + 300, "reasons.example", [
        (("10.20.1.1", 1 + i % 3), dict(reason=f"why_{i}")) for i in range(1100)]),
    # one source's records of a day disagreeing on the DKIM domain
    "n1": report("one.example", "n1", day + 600, "names.example", [
        (("192.0.2.20", 1), dict(dkim=(("first.example", "pass"),), spf=(("first.example", "pass"),))),
        (("192.0.2.20", 2), dict(dkim=(("second.example", "pass"),), spf=(("first.example", "pass"),))),
        (("192.0.2.20", 1), dict(dkim=(("first.example", "pass"),), spf=(("first.example", "pass"),))),
    ]),
}
for name, text in reports.items():
    open(os.path.join(inbox, name + ".xml"), "w").write(text)
# refused at its second record (a count above 2^32 - 1), after the first was written
os.makedirs(os.path.join(work, "poison"))
open(os.path.join(work, "poison", "p.xml"), "w").write(report("one.example", "p1", day, "rollup.example", [
    (("192.0.2.99", 1000), {}), (("192.0.2.99", 4294967296), {})]))
# a report too big for the sums kept in memory (written out within its own
# transaction, docs/store.md), refused at its last record: none of it stays
open(os.path.join(work, "poison", "big.xml"), "w").write(report("one.example", "p2", day, "rollup.example", [
    ((f"10.9.{i >> 8}.{i & 255}", 1), dict(dkim=((f"d{i}.example", "pass"),))) for i in range(30000)
] + [(("192.0.2.99", 4294967296), {})]))
# three ingests at once adding the same new sources in the same order
# (race.example, 198.18.K.0-9 in report K): each source counted once
for n in range(3):
    os.makedirs(os.path.join(work, f"race{n}"))
    for k in range(40):
        open(os.path.join(work, f"race{n}", f"r{k:02}.xml"), "w").write(report(
            f"race{n}.example", f"r{k}", day + k * 600, "race.example",
            [((f"198.18.{k}.{i}", 1 + n), {}) for i in range(10)]))
# two ingests at once, each of one report of crossing.example too big for
# the sums kept in memory (written out in parts), with the same 60,000
# sources in opposite halves' order: each one's first part locks rows
# the other's second part needs (docs/store.md, "Concurrent ingests")
half = [[f"10.{h + 20}.{i >> 8}.{i & 255}" for i in range(30000)] for h in range(2)]
for n in range(2):
    os.makedirs(os.path.join(work, f"cross{n}"))
    ips = half[n] + half[1 - n]
    open(os.path.join(work, f"cross{n}", "c.xml"), "w").write(report(
        f"cross{n}.example", "c", day, "crossing.example",
        [((ip, 1), dict(dkim=((f"d{i % 977}.example", "pass"),))) for i, ip in enumerate(ips)]))
# the same source and day in a later ingest, with a name of its own
os.makedirs(os.path.join(work, "later"))
open(os.path.join(work, "later", "n2.xml"), "w").write(report("two.example", "n2", day + 1200, "names.example", [
    (("192.0.2.20", 4), dict(dkim=(("third.example", "pass"), ("fourth.example", "pass")),
                             spf=(("first.example", "pass"),)))]))
# the same identity as a1 with other counts: a conflicting duplicate
os.makedirs(os.path.join(work, "conflict"))
open(os.path.join(work, "conflict", "a1.xml"), "w").write(reports["a1"].replace(">40<", ">41<"))
PY

"$BIN" report ingest --db "$DB" tests/data/reports/aggregate "$WORK/in" >"$WORK/out" 2>&1
status=$?
if [[ $status == 1 ]]; then
    ok "ingest of the samples: exit 1 (some are bad)"
else
    fail "ingest of the samples: want exit 1 (some are bad): $(tail -5 "$WORK/out")"
fi
"$BIN" report ingest --json --db "$DB" "$WORK/poison" >"$WORK/out" 2>&1
if json_true '.tally.failed == 2 and .tally.reports_new == 0' "$WORK/out" >/dev/null; then
    ok "the poison reports were refused"
else
    fail "the poison reports were not refused: $(jq -c .tally "$WORK/out" 2>&1)"
fi
"$BIN" report ingest --json --db "$DB" tests/data/reports/aggregate "$WORK/in" >"$WORK/out" 2>&1
if json_true '.tally.reports_new == 0 and .tally.duplicates > 3' "$WORK/out" >/dev/null; then
    ok "the second ingest: duplicates only"
else
    fail "the second ingest: $(jq -c .tally "$WORK/out" 2>&1)"
fi
"$BIN" report ingest --json --db "$DB" "$WORK/later" >"$WORK/out" 2>&1
if json_true '.tally.reports_new == 1' "$WORK/out" >/dev/null; then
    ok "the later report stored"
else
    fail "the later report: $(jq -c .tally "$WORK/out" 2>&1)"
fi
"$BIN" report ingest --json --db "$DB" "$WORK/conflict" >"$WORK/out" 2>&1
if json_true '.tally.conflicting == 1' "$WORK/out" >/dev/null; then
    ok "the conflicting duplicate counted"
else
    fail "the conflicting duplicate: $(jq -c .tally "$WORK/out" 2>&1)"
fi

pids=()
for n in 0 1 2; do
    "$BIN" report ingest --json --db "$DB" "$WORK/race$n" >"$WORK/race$n.out" 2>&1 &
    pids+=($!)
done
for n in 0 1 2; do
    if wait "${pids[$n]}"; then
        ok "concurrent ingest $n"
    else
        fail "concurrent ingest $n: $(tail -3 "$WORK/race$n.out")"
    fi
done
pids=()
for n in 0 1; do
    "$BIN" report ingest --json --db "$DB" "$WORK/cross$n" >"$WORK/cross$n.out" 2>&1 &
    pids+=($!)
done
for n in 0 1; do
    if wait "${pids[$n]}"; then
        ok "concurrent ingest of a report in parts $n"
    else
        fail "concurrent ingest of a report in parts $n: $(grep -m1 -i -o '"[^"]*deadlock[^"]*"' "$WORK/cross$n.out" ||
            tail -3 "$WORK/cross$n.out")"
    fi
done
if [[ $(sql "SELECT sources FROM rollup_domain_sources WHERE domain = 'crossing.example'") == 60000 ]]; then
    ok "crossing.example: 60000 sources counted"
else
    fail "crossing.example: $(sql "SELECT sources FROM rollup_domain_sources WHERE domain = 'crossing.example'") sources counted, want 60000"
fi
if [[ $(sql "SELECT sources FROM rollup_domain_sources WHERE domain = 'race.example'") == 400 ]]; then
    ok "race.example: 400 sources counted"
else
    fail "race.example: $(sql "SELECT sources FROM rollup_domain_sources WHERE domain = 'race.example'") sources counted, want 400"
fi

check_rollups
# Migration 7 (docs/store.md): SQLite keeps a source seen on one day in
# its totals row alone, with the day; a source with more days has a row
# for each (its first made from the totals when the second came) and no
# day on its totals. PostgreSQL writes every source's rows of the day.
one_day=$(sql "SELECT COUNT(*) FROM rollup_source_totals WHERE day IS NOT NULL")
in_both=$(sql "SELECT COUNT(*) FROM rollup_source_totals t WHERE t.day IS NOT NULL AND EXISTS
                   (SELECT 1 FROM rollup_sources s WHERE s.source_ip = t.source_ip AND s.domain = t.domain)")
days_of() { # OP N: sources with OP N rows in rollup_sources
    sql "SELECT COUNT(*) FROM (SELECT source_ip FROM rollup_sources GROUP BY source_ip, domain
             HAVING COUNT(*) $1 $2) o"
}
if [[ $MODE == sqlite ]]; then
    if [[ $one_day -gt 0 && $in_both == 0 && $(days_of = 1) == 0 && $(days_of '>=' 2) -gt 0 ]]; then
        ok "sources seen on one day: their totals row alone ($one_day); the others: a row a day ($(days_of '>=' 2))"
    else
        fail "one row for a source seen on one day: $one_day with a day, $in_both also with rows of the day," \
            "$(days_of = 1) with one row of the day, $(days_of '>=' 2) with several"
    fi
elif [[ $one_day == 0 ]]; then
    ok "PostgreSQL: no totals carry a day"
else
    fail "PostgreSQL: $one_day totals carry a day"
fi
if [[ $(sql "SELECT COUNT(*) FROM rollup_source_days WHERE source_ip = '192.0.2.99'") == 0 ]]; then
    ok "the rolled-back report is not in the rollups"
else
    fail "the rolled-back report is in the rollups"
fi
if [[ $(sql "SELECT messages FROM rollup_source_totals WHERE source_ip = '192.0.2.10'") == 47 ]]; then
    ok "192.0.2.10: 47 messages, the conflicting duplicate not counted"
else
    fail "192.0.2.10: $(sql "SELECT messages FROM rollup_source_totals WHERE source_ip = '192.0.2.10'"), want 47 (40 + 7: the conflicting duplicate not counted)"
fi
names_of() { # SOURCE KIND: its names, sorted
    rollup_names | awk -F'|' -v ip="$1" -v kind="$2" '$1 == ip && $4 == kind { print $5 }' | LC_ALL=C sort -u
}
if [[ $(names_of 192.0.2.10 dkim) == $'rollup.example\nsecond-signer.example' ]]; then
    ok "the DKIM domains of 192.0.2.10, the second included"
else
    fail "the second DKIM domain is missing from the names: $(names_of 192.0.2.10 dkim)"
fi
if [[ $(names_of 192.0.2.20 dkim) == $'first.example\nfourth.example\nsecond.example\nthird.example' ]]; then
    ok "the DKIM domains of 192.0.2.20"
else
    fail "the DKIM domains of 192.0.2.20: $(names_of 192.0.2.20 dkim)"
fi
# one report's records naming first.example twice: its line once
if [[ $(rollup_names | grep -c '^192\.0\.2\.20|.*|dkim|first\.example$') == 1 ]]; then
    ok "192.0.2.20: first.example once"
else
    fail "192.0.2.20: first.example $(rollup_names | grep -c '^192\.0\.2\.20|.*|dkim|first\.example$') times, want once"
fi
if [[ $(sql "SELECT COUNT(*) FROM rollup_source_days WHERE source_ip = '192.0.2.20'") == 1 ]]; then
    ok "192.0.2.20: one row for its day"
else
    fail "192.0.2.20: one row for its day, want 1: $(sql "SELECT COUNT(*) FROM rollup_source_days WHERE source_ip = '192.0.2.20'")"
fi

# Each view from the rollups and from the records: the same answer.
# A window opening one second before a whole day that no report begins
# in is computed from the records.
views() { # OUT_PREFIX [options...]
    local out=$1
    shift
    if "$BIN" report summary --json --db "$DB" "$@" >"$out.summary" 2>&1; then
        ok "summary $*"
    else
        fail "summary $*: $(head -3 "$out.summary")"
    fi
    if "$BIN" report sources --no-rdns --json --db "$DB" "$@" >"$out.sources" 2>&1; then
        ok "sources $*"
    else
        fail "sources $*: $(head -3 "$out.sources")"
    fi
    if jq -e '.results | length > 0' "$out.summary" >/dev/null; then
        ok "summary $*: results"
    else
        fail "summary $*: no results"
    fi
    # one source shown: the others are counted (from the count kept per
    # domain, or the window's rows)
    if "$BIN" report sources --no-rdns --json --limit 1 --db "$DB" "$@" >"$out.others" 2>&1; then
        ok "sources --limit 1 $*"
    else
        fail "sources --limit 1 $*: $(head -3 "$out.others")"
    fi
    if jq -e '.others.sources >= 1' "$out.others" >/dev/null; then
        ok "sources --limit 1 $*: the others counted"
    else
        fail "sources --limit 1 $*: no others: $(head -c 300 "$out.others")"
    fi
}
views "$WORK/all"
views "$WORK/all-records" --since 1
views "$WORK/day" --since 2023-11-15 --until 2023-11-15
views "$WORK/day-records" --since 1700006399 --until 1700092801
views "$WORK/domain" --domain ROLLUP.example --since 2023-11-01
views "$WORK/domain-records" --domain ROLLUP.example --since 1698796799
views "$WORK/whole" --domain ROLLUP.example
views "$WORK/whole-records" --domain ROLLUP.example --since 1
for pair in all day domain whole; do
    for view in summary sources others; do
        if cmp -s "$WORK/$pair.$view" "$WORK/$pair-records.$view"; then
            ok "$view $pair: the rollups and the records agree"
        else
            fail "$view $pair: the rollups and the records differ: $(diff "$WORK/$pair.$view" "$WORK/$pair-records.$view" | head -8)"
        fi
    done
done
if jq -e '.results[] | select(.source_ip == "192.0.2.10") | .dkim_domains == ["rollup.example", "second-signer.example"]
       and .spf_domains == ["bounce.example", "rollup.example"]' "$WORK/all.sources" >/dev/null; then
    ok "sources: the names of 192.0.2.10"
else
    fail "sources: the names of 192.0.2.10: $(jq -c '.results[] | select(.source_ip == "192.0.2.10")' "$WORK/all.sources")"
fi
if jq -e '.results[] | select(.source_ip == "192.0.2.20") | .messages == 8 and .spf_domains == ["first.example"]
       and .dkim_domains == ["first.example", "fourth.example", "second.example", "third.example"]
       and .header_from == ["names.example"]' "$WORK/all.sources" >/dev/null; then
    ok "sources: the names of 192.0.2.20"
else
    fail "sources: the names of 192.0.2.20: $(jq -c '.results[] | select(.source_ip == "192.0.2.20")' "$WORK/all.sources")"
fi
# rollup.example's sources: 192.0.2.10, 198.51.100.7, 203.0.113.9
for view in domain whole; do
    if jq -e '.others.sources == 2' "$WORK/$view.others" >/dev/null; then
        ok "sources --limit 1 of rollup.example ($view): 2 others"
    else
        fail "sources --limit 1 of rollup.example ($view): want 2 others: $(jq -c .others "$WORK/$view.others")"
    fi
done
if jq -e '.results[] | select(.domain == "rollup.example") | .messages == 57 and .reports == 2
       and .dispositions.reject == 5 and .dispositions.quarantine == 5' "$WORK/domain.summary" >/dev/null; then
    ok "summary of rollup.example"
else
    fail "summary of rollup.example: $(jq -c .results "$WORK/domain.summary")"
fi

# Back to schema version 2, then the migrations: 3 builds the rollups
# from the records, 4 counts each domain's sources, 6 puts the names of
# migration 3's rollup_source_names on the rows of rollup_sources.
latest=$(sql "SELECT MAX(version) FROM schema_version")
sql "$(cat tests/lib/schema_v2.sql)" >/dev/null || die "could not take the store back to version 2"
# a view opens the store for writing first when it can, to migrate it
views "$WORK/migrated"
views "$WORK/migrated-whole" --domain ROLLUP.example
if [[ $(sql "SELECT MAX(version) FROM schema_version") == "$latest" ]]; then
    ok "migrated to version $latest"
else
    fail "not migrated to version $latest"
fi
check_rollups
for view in summary sources others; do
    if cmp -s "$WORK/all.$view" "$WORK/migrated.$view"; then
        ok "$view after the migration is the same"
    else
        fail "$view after the migration differs: $(diff "$WORK/all.$view" "$WORK/migrated.$view" | head -8)"
    fi
    if cmp -s "$WORK/whole.$view" "$WORK/migrated-whole.$view"; then
        ok "$view --domain after the migration is the same"
    else
        fail "$view --domain after the migration differs: $(diff "$WORK/whole.$view" "$WORK/migrated-whole.$view" | head -8)"
    fi
done

finish "rollups ($MODE)"
