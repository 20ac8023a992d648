#!/usr/bin/env bash
# Two readers never wait for each other through the writer:
#
#   mbox-handover.sh MAILSEC_BINARY [MIXED_RUNS]
#
# A reader whose walk has ended waits for an mbox to help with; before it
# waits it must hand the writer everything it queued, or the writer, kept
# on that reader's open report, never serves the other reader, who waits
# for the writer in turn (a hang).
#  - staged (3 runs): reader 0 reads an aggregate report from a named pipe
#    that stops in the middle (the writer has taken its beginning and waits
#    for the rest); reader 1 then reads TLS reports, whose storing waits for
#    the writer; the pipe then gives the report's last record and end and
#    reader 0's walk is over. Every run ends, within 60 s, with the four
#    reports stored.
#  - mixed (MIXED_RUNS runs, default 20): a directory of plain and gzip'd
#    aggregate reports, TLS reports, a failure report, a shared mbox and one
#    report far larger than the rest (one reader ends long before the other),
#    in another order each run. Every run ends within 60 s, stores every
#    report and record exactly once, and the mbox's reports in its order.
set -uo pipefail

BIN=$1
MIXED_RUNS=${2:-20}
source "$(dirname "${BASH_SOURCE[0]}")/../lib/testlib.sh"
command -v sqlite3 >/dev/null || die "sqlite3 is needed"
CORPUS=$ROOT/tests/report/mbox_handover_corpus.py

# ingest DB PATH...: --jobs 2 under a 60 s limit; the JSON in $WORK/out,
# the exit status in $status (124: it hung)
ingest() {
    local db=$1
    shift
    timeout 60 "$BIN" report ingest --json --jobs 2 --db "sqlite:$db" "$@" >"$WORK/out" 2>"$WORK/err"
    status=$?
}

# check LABEL DB REPORTS RECORDS: what one run stored, once each
check() {
    local label=$1 db=$2 reports=$3 records=$4
    if [[ $status == 124 ]]; then
        fail "$label: hung (killed after 60 s)"
        return 1
    fi
    [[ $status == 0 ]] || { fail "$label: exit status $status: $(head -c 300 "$WORK/err")"; return 1; }
    local tally stored
    tally=$(jq -r '.tally | "\(.reports_new) \(.records) \(.duplicates) \(.failed)"' "$WORK/out")
    [[ $tally == "$reports $records 0 0" ]] ||
        { fail "$label: tally new/records/duplicates/failed $tally, not $reports $records 0 0"; return 1; }
    stored=$(sqlite3 "$db" "SELECT count(*), count(DISTINCT report_id) FROM reports")
    [[ $stored == "$reports|$reports" ]] || { fail "$label: the store holds $stored reports (rows|ids), not $reports"; return 1; }
    return 0
}

# ---- staged: the hand-over at the end of a walk ----
/usr/bin/python3 "$CORPUS" staged "$WORK/staged" >"$WORK/staged.want" || die "could not make the staged inputs"
read -r want_reports want_records <"$WORK/staged.want"
staged_ok=0
for run in 1 2 3; do
    d=$WORK/staged$run
    mkdir "$d" && mkfifo "$d/0-agg.xml" "$d/1-tls.mbox" || die "cannot make the pipes"
    (
        exec 3>"$d/0-agg.xml" # opened once reader 0 opens it
        cat "$WORK/staged/agg.head" >&3
        sleep 1 # the writer takes the report's beginning and waits for the rest
        cat "$WORK/staged/tls.mbox" >"$d/1-tls.mbox"
        sleep 2 # reader 1 waits for the writer to store its TLS reports
        cat "$WORK/staged/agg.tail" >&3
    ) &
    feeder=$!
    ingest "$d/r.db" "$d/0-agg.xml" "$d/1-tls.mbox"
    kill "$feeder" 2>/dev/null
    wait "$feeder" 2>/dev/null
    check "staged run $run" "$d/r.db" "$want_reports" "$want_records" && staged_ok=$((staged_ok + 1))
done
[[ $staged_ok == 3 ]] && ok "staged: 3 runs of 3 ended, $want_reports reports and $want_records records stored each time"

# ---- mixed: many orders of many kinds of input ----
mixed_ok=0
for ((seed = 1; seed <= MIXED_RUNS; seed++)); do
    d=$WORK/mixed$seed
    /usr/bin/python3 "$CORPUS" mixed "$d" --seed "$seed" >"$WORK/mixed.want" || die "could not make corpus $seed"
    read -r want_reports want_records <"$WORK/mixed.want"
    ingest "$WORK/m$seed.db" "$d"
    if check "mixed run $seed" "$WORK/m$seed.db" "$want_reports" "$want_records"; then
        # the mbox's reports stored in its order
        order=$(sqlite3 "$WORK/m$seed.db" "SELECT origin FROM reports WHERE origin LIKE '%shared.mbox: message %' ORDER BY id" |
            sed -n 's/.*shared\.mbox: message \([0-9]*\) .*/\1/p')
        if [[ -n $order && $order == "$(sort -n <<<"$order")" ]]; then
            mixed_ok=$((mixed_ok + 1))
        else
            fail "mixed run $seed: the mbox's reports are not stored in its order: $(tr '\n' ' ' <<<"$order" | head -c 200)"
        fi
    fi
    rm -rf "$d" "$WORK/m$seed.db"*
done
[[ $mixed_ok == "$MIXED_RUNS" ]] &&
    ok "mixed: $MIXED_RUNS runs of $MIXED_RUNS ended, every report stored once, the mbox's in its order"

finish mbox-handover
