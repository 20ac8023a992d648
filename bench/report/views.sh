#!/usr/bin/env bash
# The report views on a big store (docs/store.md, "Rollups"):
#
#   bench/report/views.sh BUILD_DIR [RECORDS [BACKENDS]]
#
# Builds a store of RECORDS aggregate records (default 10000000) for each
# backend in BACKENDS (default "sqlite pgsql"), then times each view and
# its peak RSS (/usr/bin/time -f "%e %M"), ROUNDS times (default 3; the
# fastest counts): report summary, report sources (default --limit 20,
# with and without --domain, with a window of whole days), report sources
# --all to /dev/null, and the new read API's views through summary's
# window. Targets: summary and sources < 200 ms, every view <= 64 MiB.
#
# How the store is built: as the issue's spoofed domain sees it — reports
# of 500 records each, one a day per reporter over a year, for one domain;
# 90% of the records from a source IP of their own, 10% from 1,000
# legitimate senders. The rows are written with SQL straight into the
# tables of schema version 2 (reports, agg_records), in one statement
# each, then the store is opened by mailsec at the latest version: the
# migrations build the rollups from the records, as it does for a store written by
# the previous version (so its time is the migration's on that store,
# shown as "build rollups").
set -euo pipefail
BUILD=$(cd "${1:?BUILD_DIR}" && pwd)
RECORDS=${2:-10000000}
BACKENDS=${3:-sqlite pgsql}
ROUNDS=${ROUNDS:-3}
BIN=$BUILD/src/mailsec
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source "$HERE/db.sh"
WORK=$(mktemp -d)
trap 'db_stop_all; rm -rf "$WORK"' EXIT

PER_REPORT=500
REPORTS=$(((RECORDS + PER_REPORT - 1) / PER_REPORT))
DAY0=1672531200 # 2023-01-01

# The two INSERTs, in SQL both backends take; $SERIES is the backend's
# "table of integers 0 .. N-1" as a FROM item, with column i.
reports_sql() {
    echo "INSERT INTO reports (id, kind, org, report_id, domain, date_begin, date_end, p, pct,
              adkim, aspf, records, messages, ingested_at)
          SELECT i + 1, 'aggregate', 'reporter-' || (i % 50) || '.example', 'r' || i, 'example.com',
                 $DAY0 + (i / 50 % 365) * 86400, $DAY0 + (i / 50 % 365) * 86400 + 86399,
                 CASE WHEN i / 50 % 365 < 180 THEN 'none' ELSE 'quarantine' END, '100', 'r', 'r',
                 $PER_REPORT, 0, 0
          FROM $(series "$REPORTS")"
}
# Record n = i: report n / 500 + 1; 10% (n % 10 = 0) from 1,000 senders
# that pass, the rest from their own address in 10.0.0.0/8 and 100.64/10,
# failing (a spoofed domain).
records_sql() {
    echo "INSERT INTO agg_records (report, seq, source_ip, count, disposition, dkim, spf,
              header_from, spf_domain, dkim_domain, dkim_pass, spf_pass)
          SELECT i / $PER_REPORT + 1, i % $PER_REPORT,
                 CASE WHEN i % 10 = 0 THEN '192.0.2.' || (i / 10 % 250) || '.' || (i / 2500 % 4)
                      ELSE (10 + i / 16777216) || '.' || (i / 65536 % 256) || '.' || (i / 256 % 256)
                           || '.' || (i % 256) END,
                 1 + i % 7, CASE WHEN i % 10 = 0 THEN 'none' ELSE 'quarantine' END,
                 CASE WHEN i % 10 = 0 THEN 'pass' ELSE 'fail' END,
                 CASE WHEN i % 10 = 0 THEN 'pass' ELSE 'fail' END,
                 'example.com', CASE WHEN i % 10 = 0 THEN 'example.com' ELSE 'spoof' || (i % 97) || '.example' END,
                 CASE WHEN i % 10 = 0 THEN 'example.com' END,
                 CASE WHEN i % 10 = 0 THEN 1 ELSE 0 END, CASE WHEN i % 10 = 0 THEN 1 ELSE 0 END
          FROM $(series "$RECORDS")"
}

seconds() { date +%s.%N; }
elapsed() { echo "$(seconds) - $1" | bc; }

# build BACKEND: the store's --db URL in $DB, its size in $SIZE
build() {
    local t
    case $1 in
    sqlite)
        DB=$WORK/views.db
        rm -f "$DB"*
        series() { echo "(WITH RECURSIVE s(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM s WHERE i < $1 - 1) SELECT i FROM s)"; }
        run_sql() { sqlite3 "$DB" "$1"; }
        ;;
    pgsql)
        pgsql_start >/dev/null
        pgsql_recreate
        DB=$PGSQL_URL
        series() { echo "generate_series(0, $1 - 1) AS s(i)"; }
        run_sql() { pgsql_sql "$1" >/dev/null; }
        ;;
    esac
    # schema version 2: what mailsec makes, taken back before the rollups
    "$BIN" report ingest --db "$DB" /dev/null >/dev/null
    run_sql "$(cat "$HERE/../../tests/lib/schema_v2.sql")"
    t=$(seconds)
    run_sql "$(reports_sql)"
    run_sql "$(records_sql)"
    run_sql "UPDATE reports SET messages = (SELECT SUM(count) FROM agg_records a WHERE a.report = reports.id)"
    echo "  rows written (SQL)   $(elapsed "$t") s"
    t=$(seconds)
    "$BIN" report ingest --db "$DB" /dev/null >/dev/null
    echo "  build rollups        $(elapsed "$t") s (the migrations from version 2)"
    case $1 in
    sqlite) SIZE="$(du -h "$DB" | cut -f1)" ;;
    pgsql) SIZE="$(pgsql_sql "SELECT pg_size_pretty(pg_database_size('bench'))" | tr -d ' ')" ;;
    esac
    echo "  store size           $SIZE"
    if [[ $1 == sqlite ]]; then
        echo "  rollup rows          $(sqlite3 "$DB" "SELECT (SELECT COUNT(*) FROM rollup_days) || ' days, '
            || (SELECT COUNT(*) FROM rollup_sources) || ' source-days, '
            || (SELECT COUNT(*) FROM rollup_source_totals) || ' sources'")"
    fi
}

# measure LABEL ARGS...: the fastest of ROUNDS runs, its peak RSS
measure() {
    local label=$1 best= rss= line
    shift
    for ((round = 0; round < ROUNDS; round++)); do
        if [[ $1 == --version ]]; then
            /usr/bin/time -o "$WORK/time" -f "%e %M" "$BIN" --version >/dev/null 2>&1 || true
        else
            /usr/bin/time -o "$WORK/time" -f "%e %M" "$BIN" report "$@" --db "$DB" >/dev/null 2>&1 || true
        fi
        line=$(tail -1 "$WORK/time")
        local s=${line% *} m=${line#* }
        if [[ -z $best ]] || (($(echo "$s < $best" | bc))); then best=$s rss=$m; fi
    done
    printf '  %-44s %7.0f ms  %6.1f MiB\n' "$label" "$(echo "$best * 1000" | bc)" "$(echo "$rss / 1024" | bc -l)"
}

echo "views bench: $RECORDS records in $REPORTS reports, $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg)"
for backend in $BACKENDS; do
    echo "$backend:"
    build "$backend"
    measure "start-up alone (mailsec --version)" --version
    measure "report summary" summary
    measure "report summary --json" summary --json
    measure "report sources (--limit 20)" sources --no-rdns
    measure "report sources --domain example.com" sources --no-rdns --domain example.com
    measure "report sources --since/--until (a month)" sources --no-rdns --since 2023-03-01 --until 2023-03-31
    measure "report summary --since/--until (a month)" summary --since 2023-03-01 --until 2023-03-31
    measure "report sources --all --json (to /dev/null)" sources --no-rdns --all --json
done
echo "load at the end $(cut -d' ' -f1-3 /proc/loadavg)"
