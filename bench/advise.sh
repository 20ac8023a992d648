#!/usr/bin/env bash
# `mailsec dmarc advise` on a big store: wall time and peak RSS.
#
#   bench/advise.sh [BIN] [RECORDS] [SOURCES]
#
# Builds a SQLite store of RECORDS aggregate records (default 10,000,000)
# for one domain of the DNS test bed (ready.advisetest.example, whose record
# the test bed publishes): 90 days, four reporters a day, the records spread
# over SOURCES distinct sending IPs (default 20,000): 85% the domain's own
# mail, aligned; 5% a service signing for its own domain, From a subdomain;
# 10% spoofed. The rows are written with SQL straight into the tables of
# schema version 2 (reports, agg_records), then `mailsec report ingest`
# opens the store at the latest version: the migration builds the rollups
# from the records, as bench/report/views.sh does (writing 10 million
# records through `report ingest` takes hours on a loaded machine; the
# store is the same). Then BENCH_RUNS runs (default 5) of `dmarc advise
# --no-rdns` (the reverse DNS is not what is measured), the median wall time
# and the peak RSS (/usr/bin/time -f %M) printed. The target: under one
# second on 10 million records, 64 MiB. The store is kept in BENCH_DIR when
# set (to run again without generating).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
. bench/lib.sh

BIN=${1:-build/src/mailsec}
RECORDS=${2:-10000000}
SOURCES=${3:-20000}
RUNS=${BENCH_RUNS:-5}
DIR=${BENCH_DIR:-$(mktemp -d)}
DOMAIN=ready.advisetest.example
BED=$DIR/dnsbed.info
DB=$DIR/reports.db
cleanup() {
    bash tests/dnsbed/dnsbed.sh stop "$BED" >/dev/null 2>&1 || true
    [[ -n ${BENCH_DIR:-} ]] || rm -rf "$DIR"
}
trap cleanup EXIT

DAYS=90
REPORTS=$((DAYS * 4))
PER_REPORT=$(((RECORDS + REPORTS - 1) / REPORTS))
series() { echo "(WITH RECURSIVE s(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM s WHERE i < $1 - 1) SELECT i FROM s)"; }

# Report r (0 ..): day r / 4 of the 90 before today, reporter r % 4.
reports_sql() {
    local day0=$(($(date +%s) / 86400 * 86400 - DAYS * 86400))
    echo "INSERT INTO reports (id, kind, org, report_id, domain, date_begin, date_end, p,
              records, messages, ingested_at)
          SELECT i + 1, 'aggregate',
                 CASE i % 4 WHEN 0 THEN 'google.com' WHEN 1 THEN 'Yahoo'
                            WHEN 2 THEN 'Enterprise Outlook' ELSE 'mail.ru' END,
                 'r' || i, '$DOMAIN', $day0 + (i / 4) * 86400, $day0 + (i / 4) * 86400 + 86399,
                 'none', $PER_REPORT, 0, 0
          FROM $(series "$REPORTS")"
}
# Record i: report i / PER_REPORT + 1, source i % SOURCES; the source's
# kind by its number: % 20 < 17 own, 17 the service, else spoofing.
records_sql() {
    echo "INSERT INTO agg_records (report, seq, source_ip, count, disposition, dkim, spf,
              header_from, dkim_domain, dkim_result, spf_domain, spf_result, dkim_pass, spf_pass)
          SELECT i / $PER_REPORT + 1, i % $PER_REPORT,
                 '10.' || (i % $SOURCES / 65536 % 256) || '.' || (i % $SOURCES / 256 % 256) || '.' || (i % $SOURCES % 256),
                 1 + i % 7, 'none',
                 CASE WHEN i % $SOURCES % 20 < 17 THEN 'pass' ELSE 'fail' END,
                 CASE WHEN i % $SOURCES % 20 < 17 THEN 'pass' ELSE 'fail' END,
                 CASE WHEN i % $SOURCES % 20 = 17 THEN 'news.$DOMAIN' ELSE '$DOMAIN' END,
                 CASE WHEN i % $SOURCES % 20 = 17 THEN 'esp.example' ELSE '$DOMAIN' END,
                 CASE WHEN i % $SOURCES % 20 <= 17 THEN 'pass' ELSE 'fail' END,
                 CASE WHEN i % $SOURCES % 20 = 17 THEN 'esp.example' ELSE '$DOMAIN' END,
                 CASE WHEN i % $SOURCES % 20 <= 17 THEN 'pass' ELSE 'fail' END,
                 CASE WHEN i % $SOURCES % 20 <= 17 THEN 1 ELSE 0 END,
                 CASE WHEN i % $SOURCES % 20 <= 17 THEN 1 ELSE 0 END
          FROM $(series "$RECORDS")"
}

echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg) ($(nproc) CPUs)"
if [[ ! -f $DB ]]; then
    t0=$(ms_now)
    # schema version 2: what mailsec makes, taken back before the rollups
    "$BIN" report ingest --db "$DB" /dev/null >/dev/null
    sqlite3 "$DB" "$(cat tests/lib/schema_v2.sql)
        $(reports_sql); $(records_sql);
        UPDATE reports SET messages = (SELECT SUM(count) FROM agg_records a WHERE a.report = reports.id);"
    t1=$(ms_now)
    "$BIN" report ingest --db "$DB" /dev/null >"$DIR/ingest.log" 2>&1 ||
        { echo "the migration failed: $(tail -3 "$DIR/ingest.log")"; exit 1; }
    t2=$(ms_now)
    echo "store: $RECORDS records over $SOURCES sources written (SQL) in $(((t1 - t0) / 1000)) s, rollups built in $(((t2 - t1) / 1000)) s"
    echo "rollup rows: $(sqlite3 "$DB" "SELECT (SELECT COUNT(*) FROM rollup_sources) || ' source-days, '
        || (SELECT COUNT(*) FROM rollup_sources WHERE names <> '') || ' with names'")"
fi
echo "store size: $(du -h "$DB" | cut -f1)"

bash tests/dnsbed/dnsbed.sh start "$BED" >/dev/null
DNS=(--resolver "$(sed -n 's/^RESOLVER=//p' "$BED")" --trust-anchor "$(sed -n 's/^TRUST_ANCHOR=//p' "$BED")")
times=()
for ((i = 0; i < RUNS; i++)); do
    times+=("$(timed_run "$DIR/advise.out" "$BIN" dmarc advise --db "$DB" "${DNS[@]}" --no-rdns --json "$DOMAIN")")
done
rss=$( (/usr/bin/time -f %M "$BIN" dmarc advise --db "$DB" "${DNS[@]}" --no-rdns --json "$DOMAIN" 2>&1 >/dev/null || true) | tail -1)
echo "dmarc advise: runs (ms) ${times[*]}; median $(printf '%s\n' "${times[@]}" | grep -v failed | median) ms; peak RSS ${rss} KiB"
echo "advice: $(jq -c '.results[0] | {action, step: .step.name, messages: ([.criteria[] | select(.name == "messages")][0].value), blockers: .blockers_total}' "$DIR/advise.out")"
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
