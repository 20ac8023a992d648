#!/usr/bin/env bash
# Ingest is exactly once and loses nothing when killed:
#
#   kill.sh MAILSEC_BINARY sqlite          killed runs into one SQLite file
#   kill.sh MAILSEC_BINARY pgsql           the same into PostgreSQL
#   kill.sh MAILSEC_BINARY pgsql-parallel  three processes at once into PostgreSQL
#
# A corpus of reports in every wrapper (plain, gzip, zip, messages, one
# mbox) is made with bench/report/gen_corpus.py, which prints how many
# reports and records it wrote and the messages their counts add up to.
# Runs are killed with SIGKILL at random moments (KILL_SEED=N repeats the
# moments of a logged run); before the last run, which completes, the store
# must hold some of the reports but not all (the kills fell mid-way). The
# store must then hold exactly the corpus's reports, records and messages:
# none lost, none twice, no count changed. For PostgreSQL the store-pgsql
# fixture's server is used (MAILSEC_STORE_PG_INFO), in a database of our own.
set -uo pipefail

BIN=$1 MODE=$2
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
source tests/lib/store.sh
source tests/lib/testlib.sh
KILLS=${KILLS:-6}
# Large enough that a whole run takes several times the quarter of a second
# after which SQLite commits a group of reports (and the commit's time): at
# 1,200 (a run of 0.7 s once ingest got faster) all six kills of a round,
# in the first half of a run, fell before the first commit one try in
# eight; at 2,400, once ingest got faster again (0.95 s), about one in
# ten. At 4,800 (about 1.9 s) the first commit comes at a fifth of a run,
# and all six kills fall before it about once in a thousand rounds.
REPORTS=${REPORTS:-4800}

# The corpus: files of every kind, and an mbox of 40 more reports.
files_line=$(/usr/bin/python3 bench/report/gen_corpus.py files "$WORK/corpus" --reports "$REPORTS" --records 40 --seed 7) ||
    die "could not make the corpus"
mbox_line=$(/usr/bin/python3 bench/report/gen_corpus.py mbox "$WORK/corpus/all.mbox" --reports 40 --records 40 --seed 8) ||
    die "could not make the mbox"
want_reports=$(($(cut -d' ' -f1 <<<"$files_line") + $(cut -d' ' -f1 <<<"$mbox_line")))
want_records=$(($(cut -d' ' -f3 <<<"$files_line") + $(cut -d' ' -f3 <<<"$mbox_line")))
want_messages=$(($(cut -d' ' -f5 <<<"$files_line") + $(cut -d' ' -f5 <<<"$mbox_line")))
((want_messages > want_records)) || die "the corpus's counts are not all 1: $files_line; $mbox_line"

test_store "$MODE" kill

ingest() { "$BIN" report ingest --json --db "$DB" "$WORK/corpus" >"$WORK/out.$1" 2>"$WORK/err.$1"; }
# The same in the background, $! being mailsec itself: `ingest NAME &` would
# put a subshell there, and killing that leaves mailsec running.
ingest_in_background() { "$BIN" report ingest --json --db "$DB" "$WORK/corpus" >"$WORK/out.$1" 2>"$WORK/err.$1" & }

# The reports the store holds (0 while there is no store yet).
stored_reports() {
    local n
    n=$("$BIN" report list --json --db "$DB" 2>/dev/null | jq '.results | length' 2>/dev/null)
    echo "${n:-0}"
}

# The kill moments come from bash's RANDOM, seeded: the seed is logged.
KILL_SEED=${KILL_SEED:-$(od -An -N2 -tu2 /dev/urandom | tr -d ' ')}
RANDOM=$KILL_SEED
echo "kill seed: $KILL_SEED (KILL_SEED=$KILL_SEED repeats these kill moments)"

# An empty store again (a round of kills that left nothing to do).
empty_store() {
    if [[ $MODE == sqlite ]]; then
        rm -f "$DB" "$DB-wal" "$DB-shm" "$DB-journal"
    else
        psql -q "$PG_URL" -c "DROP DATABASE $DBNAME" -c "CREATE DATABASE $DBNAME" >/dev/null ||
            die "could not empty the database"
    fi
}

# kill_round: up to KILLS runs, each stopped at a random moment between 5%
# and 50% of a whole run's time, until two thirds of the corpus are stored.
# Sets killed, interrupted (the runs cut short: no tally printed) and
# before_last (the reports stored after the round).
kill_round() {
    local i pid
    killed=0 interrupted=0
    for ((i = 1; i <= KILLS; i++)); do
        ingest_in_background "k$i"
        pid=$!
        sleep "$(awk -v r=$RANDOM -v t="$whole_ms" 'BEGIN { printf "%.3f", t * (5 + r % 46) / 100000 }')"
        kill -KILL "$pid" 2>/dev/null
        wait "$pid" 2>/dev/null
        killed=$i
        [[ -s $WORK/out.k$i ]] || interrupted=$((interrupted + 1))
        before_last=$(stored_reports)
        ((before_last * 3 >= want_reports * 2)) && break
    done
}

# Killed runs. A whole run is timed first, into the store under test (then
# emptied), for the kill moments: the backends' speeds differ, and differ
# again under the sanitizers. The last run must still have work to do: a round of
# kills that stored everything (the machine ran faster than timed) is
# started again on an empty store, up to three rounds. A run that finished
# before its kill proves nothing: at least one must have been cut short.
# (In pgsql-parallel mode nothing is killed: the three runs start from an
# empty database, so each report is contested.)
interrupted=0 before_last=0
[[ $MODE == pgsql-parallel ]] && KILLS=0
if ((KILLS > 0)); then
    t0=$EPOCHREALTIME
    ingest timing || die "the timing run failed: $(cat "$WORK/err.timing")"
    whole_ms=$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%d", (b - a) * 1000 }')
    echo "a whole run takes $whole_ms ms"
    empty_store
    for round in 1 2 3; do
        kill_round
        echo "round $round: $killed runs killed, $interrupted of them before their tally;" \
            "$before_last of $want_reports reports stored"
        ((before_last < want_reports)) && break
        empty_store
    done
fi
((interrupted > 0 || KILLS == 0)) || die "no run was interrupted: make the corpus larger (REPORTS=)"
if ((KILLS > 0)); then
    ((before_last > 0 && before_last < want_reports)) ||
        die "not killed mid-way: $before_last of $want_reports reports stored before the last run (change REPORTS= or KILL_SEED=)"
fi

if [[ $MODE == pgsql-parallel ]]; then
    # Three at once over the same reports: each report is won by one.
    ingest p1 & p1=$!
    ingest p2 & p2=$!
    ingest p3 & p3=$!
    wait $p1 && wait $p2 && wait $p3 || die "a parallel run failed: $(cat "$WORK"/err.p*)"
fi
ingest final || die "the last run failed: $(cat "$WORK/err.final")"
json_true '.tally.failed == 0' "$WORK/out.final" >/dev/null || die "the last run set reports aside: $(cat "$WORK/out.final")"

got_reports=$("$BIN" report list --json --db "$DB" | jq '.results | length')
"$BIN" report export --json --db "$DB" >"$WORK/export.json" || die "report export failed"
got_records=$(jq '.records | length' "$WORK/export.json")
got_messages=$(jq '[.records[].count] | add // 0' "$WORK/export.json")
echo "wanted $want_reports reports, $want_records records, $want_messages messages;" \
    "the store holds $got_reports, $got_records, $got_messages"
[[ $got_reports == "$want_reports" ]] || die "reports: $got_reports, expected $want_reports"
[[ $got_records == "$want_records" ]] || die "records: $got_records, expected $want_records"
[[ $got_messages == "$want_messages" ]] || die "messages: $got_messages, expected $want_messages"
if [[ $MODE == pgsql-parallel ]]; then
    # Every report was stored by exactly one of the three; the other two
    # saw it as a duplicate.
    new=$(jq -s 'map(.tally.reports_new) | add' "$WORK"/out.p*)
    dups=$(jq -s 'map(.tally.duplicates) | add' "$WORK"/out.p*)
    echo "the parallel runs stored $new reports as new and saw $dups duplicates"
    [[ $new == "$want_reports" && $dups == $((2 * want_reports)) ]] ||
        die "expected $want_reports new and $((2 * want_reports)) duplicates"
    ok "$MODE: three runs at once, exactly $want_reports reports, $want_records records, $want_messages messages"
else
    ok "$MODE: $interrupted runs killed mid-way ($before_last of $want_reports reports stored)," \
        "then exactly $want_reports reports, $want_records records, $want_messages messages"
fi
finish "ingest killed ($MODE)"
