#!/usr/bin/env bash
# Ingest is exactly once and loses nothing when killed:
#
#   kill.sh MAILSEC_BINARY sqlite          killed runs into one SQLite file
#   kill.sh MAILSEC_BINARY pgsql           the same into PostgreSQL
#   kill.sh MAILSEC_BINARY pgsql-parallel  three processes at once into PostgreSQL
#
# A corpus of reports in every wrapper (plain, gzip, zip, messages, one
# mbox) is made with bench/report/gen_corpus.py, which prints how many
# reports and records it wrote. Runs are killed with SIGKILL at random
# moments; a last run completes. The store must then hold exactly that many
# reports and records: none lost, none twice. For PostgreSQL the store-pgsql
# fixture's server is used (MAILSEC_STORE_PG_INFO), in a database of our own.
set -uo pipefail

BIN=$1 MODE=$2
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
WORK=$(mktemp -d)
DBNAME=
cleanup() {
    [[ -n $DBNAME ]] && psql -q "$PG_URL" -c "DROP DATABASE IF EXISTS $DBNAME" >/dev/null 2>&1
    rm -rf "$WORK"
}
trap cleanup EXIT
KILLS=${KILLS:-6}
REPORTS=${REPORTS:-1200}

fail() { echo "FAIL - $*"; exit 1; }

# The corpus: files of every kind, and an mbox of 40 more reports.
files_line=$(/usr/bin/python3 bench/report/gen_corpus.py files "$WORK/corpus" --reports "$REPORTS" --records 40 --seed 7) ||
    fail "could not make the corpus"
mbox_line=$(/usr/bin/python3 bench/report/gen_corpus.py mbox "$WORK/corpus/all.mbox" --reports 40 --records 40 --seed 8) ||
    fail "could not make the mbox"
want_reports=$(($(cut -d' ' -f1 <<<"$files_line") + $(cut -d' ' -f1 <<<"$mbox_line")))
want_records=$(($(cut -d' ' -f3 <<<"$files_line") + $(cut -d' ' -f3 <<<"$mbox_line")))

case $MODE in
sqlite)
    DB=$WORK/reports.db
    ;;
pgsql | pgsql-parallel)
    PG_INFO=${MAILSEC_STORE_PG_INFO:?MAILSEC_STORE_PG_INFO is not set}
    PG_URL=$(sed -n 's/^URL=//p' "$PG_INFO")
    DBNAME=mailsec_kill_$$
    psql -q "$PG_URL" -c "CREATE DATABASE $DBNAME" >/dev/null || fail "could not create a database"
    DB=${PG_URL%/*}/$DBNAME
    ;;
*) fail "unknown mode $MODE" ;;
esac

ingest() { "$BIN" report ingest --json --db "$DB" "$WORK/corpus" >"$WORK/out.$1" 2>"$WORK/err.$1"; }

# Killed runs: each is stopped somewhere between 0.05 and 0.6 s in. A run
# that finished before its kill proves nothing: at least one must have
# been cut short (no tally printed) for the test to count.
# (In pgsql-parallel mode nothing is killed: the three runs start from an
# empty database, so each report is contested.)
interrupted=0
[[ $MODE == pgsql-parallel ]] && KILLS=0
for ((i = 1; i <= KILLS; i++)); do
    ingest "k$i" &
    pid=$!
    sleep "$(awk -v r=$RANDOM 'BEGIN { printf "%.2f", 0.05 + (r % 55) / 100 }')"
    kill -KILL "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    [[ -s $WORK/out.k$i ]] || interrupted=$((interrupted + 1))
done
((interrupted > 0 || KILLS == 0)) || fail "no run was interrupted: make the corpus larger (REPORTS=)"

if [[ $MODE == pgsql-parallel ]]; then
    # Three at once over the same reports: each report is won by one.
    ingest p1 & p1=$!
    ingest p2 & p2=$!
    ingest p3 & p3=$!
    wait $p1 && wait $p2 && wait $p3 || fail "a parallel run failed: $(cat "$WORK"/err.p*)"
fi
ingest final || fail "the last run failed: $(cat "$WORK/err.final")"
jq -e '.tally.failed == 0' "$WORK/out.final" >/dev/null || fail "the last run set reports aside: $(cat "$WORK/out.final")"

got_reports=$("$BIN" report list --json --db "$DB" | jq '.results | length')
got_records=$("$BIN" report export --json --db "$DB" | jq '.records | length')
echo "wanted $want_reports reports and $want_records records; the store holds $got_reports and $got_records"
[[ $got_reports == "$want_reports" ]] || fail "reports: $got_reports, expected $want_reports"
[[ $got_records == "$want_records" ]] || fail "records: $got_records, expected $want_records"
if [[ $MODE == pgsql-parallel ]]; then
    # Every report was stored by exactly one of the three; the other two
    # saw it as a duplicate.
    new=$(jq -s 'map(.tally.reports_new) | add' "$WORK"/out.p*)
    dups=$(jq -s 'map(.tally.duplicates) | add' "$WORK"/out.p*)
    echo "the parallel runs stored $new reports as new and saw $dups duplicates"
    [[ $new == "$want_reports" && $dups == $((2 * want_reports)) ]] ||
        fail "expected $want_reports new and $((2 * want_reports)) duplicates"
    echo "ok   - $MODE: three runs at once, exactly $want_reports reports and $want_records records"
else
    echo "ok   - $MODE: $interrupted runs killed mid-way, then exactly $want_reports reports and $want_records records"
fi
echo "1 passed, 0 failed"
