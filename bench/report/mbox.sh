#!/usr/bin/env bash
# mbox.sh BUILD_DIR [REPORTS [RECORDS]]: `mailsec report ingest` of one
# large mbox (gen_corpus.py mbox: REPORTS messages, default 20000, each an
# aggregate report of RECORDS records on average, default 20) into a fresh
# SQLite store with one reader (--jobs 1) and with two (--jobs 2), side by
# side: the two alternate, ROUNDS rounds each (default 3), so a change of
# the machine's load falls on both. Prints wall and CPU (user + system)
# seconds of every run, the fastest of each, and the ratio one reader /
# two readers: the target is >= 1.6 on two cores. Every run must store
# every report, once.
set -uo pipefail
BUILD=${1:?usage: mbox.sh BUILD_DIR [REPORTS [RECORDS]]}
REPORTS=${2:-20000}
RECORDS=${3:-20}
ROUNDS=${ROUNDS:-3}
BIN=$BUILD/src/mailsec
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
[[ -x $BIN ]] || { echo "mbox.sh: $BIN is not built" >&2; exit 2; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

/usr/bin/python3 "$here/gen_corpus.py" mbox "$work/all.mbox" --reports "$REPORTS" --records "$RECORDS" >/dev/null
echo "mbox: gen_corpus.py mbox --reports $REPORTS --records $RECORDS: $(du -h "$work/all.mbox" | cut -f1)"
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg), $(nproc) CPUs"

# run JOBS: one ingest into a fresh store; prints "wall cpu"
run() {
    rm -f "$work/r.db"*
    /usr/bin/time -f '%e %U %S' -o "$work/time" \
        "$BIN" report ingest --json --jobs "$1" --db "sqlite:$work/r.db" "$work/all.mbox" >"$work/out.json"
    local status=$?
    ((status < 2)) || { echo "mbox.sh: ingest failed ($status)" >&2; exit 2; }
    [[ $(jq '.tally.reports_new' "$work/out.json") == "$REPORTS" ]] ||
        { echo "mbox.sh: --jobs $1 did not store $REPORTS reports" >&2; exit 2; }
    awk '{printf "%s %.2f\n", $1, $2 + $3}' "$work/time"
}

best1= best2=
printf '%-8s %-10s %8s %8s\n' round readers "wall s" "cpu s"
for ((round = 1; round <= ROUNDS; round++)); do
    one=$(run 1)
    two=$(run 2)
    printf '%-8s %-10s %8s %8s\n' "$round" 1 $one "$round" 2 $two
    [[ -z $best1 || ${one%% *} < ${best1%% *} ]] && best1=$one
    [[ -z $best2 || ${two%% *} < ${best2%% *} ]] && best2=$two
done
echo "load average after:  $(cut -d' ' -f1-3 /proc/loadavg)"
echo "fastest: one reader ${best1% *} s wall (${best1#* } s CPU), two readers ${best2% *} s wall (${best2#* } s CPU)"
echo "ratio (one reader / two readers, wall): $(bc -l <<<"scale=2; ${best1%% *} / ${best2%% *}")"
