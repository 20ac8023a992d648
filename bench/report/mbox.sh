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
#
# THREADS=1 adds one run of each under `perf record -e task-clock` and
# prints each thread's CPU seconds: the writer (SQLite) and the readers
# (walk and parse), and the parse side's ratio, one reader's CPU over the
# busier of two readers' (what the wall clock ratio would be were the
# writer not the limit). STORE_DIR puts the stores elsewhere (/dev/shm:
# no fsync waits).
set -uo pipefail
BUILD=${1:?usage: mbox.sh BUILD_DIR [REPORTS [RECORDS]]}
REPORTS=${2:-20000}
RECORDS=${3:-20}
ROUNDS=${ROUNDS:-3}
BIN=$BUILD/src/mailsec
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
[[ -x $BIN ]] || { echo "mbox.sh: $BIN is not built" >&2; exit 2; }
work=$(mktemp -d)
store=$(mktemp -d "${STORE_DIR:-$work}/mbox-store.XXXXXX")
trap 'rm -rf "$work" "$store"' EXIT

/usr/bin/python3 "$here/gen_corpus.py" mbox "$work/all.mbox" --reports "$REPORTS" --records "$RECORDS" >/dev/null
echo "mbox: gen_corpus.py mbox --reports $REPORTS --records $RECORDS: $(du -h "$work/all.mbox" | cut -f1)"
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg), $(nproc) CPUs"

# run JOBS: one ingest into a fresh store; prints "wall cpu"
run() {
    rm -f "$store/r.db"*
    /usr/bin/time -f '%e %U %S' -o "$work/time" \
        "$BIN" report ingest --json --jobs "$1" --db "sqlite:$store/r.db" "$work/all.mbox" >"$work/out.json"
    local status=$?
    ((status < 2)) || { echo "mbox.sh: ingest failed ($status)" >&2; exit 2; }
    [[ $(jq '.tally.reports_new' "$work/out.json") == "$REPORTS" ]] ||
        { echo "mbox.sh: --jobs $1 did not store $REPORTS reports" >&2; exit 2; }
    awk '{printf "%s %.2f\n", $1, $2 + $3}' "$work/time"
}

# faster "WALL CPU" "WALL CPU": whether the first run's wall time is the
# shorter (the second may be empty); numbers, not strings, are compared
faster() { [[ -z $2 ]] || awk -v a="${1%% *}" -v b="${2%% *}" 'BEGIN { exit !(a < b) }'; }

best1= best2=
printf '%-8s %-10s %8s %8s\n' round readers "wall s" "cpu s"
for ((round = 1; round <= ROUNDS; round++)); do
    one=$(run 1)
    two=$(run 2)
    printf '%-8s %-10s %8s %8s\n' "$round" 1 $one "$round" 2 $two
    faster "$one" "$best1" && best1=$one
    faster "$two" "$best2" && best2=$two
done
echo "load average after:  $(cut -d' ' -f1-3 /proc/loadavg)"
echo "fastest: one reader ${best1% *} s wall (${best1#* } s CPU), two readers ${best2% *} s wall (${best2#* } s CPU)"
echo "ratio (one reader / two readers, wall): $(bc -l <<<"scale=2; ${best1%% *} / ${best2%% *}")"

# threads JOBS: one ingest under perf; prints "writer reader-seconds..."
# (the writer is the first thread the process makes; the main thread and
# the others read).
threads() {
    rm -f "$store/r.db"*
    perf record -q -e task-clock -o "$work/perf.data" \
        "$BIN" report ingest --json --jobs "$1" --db "sqlite:$store/r.db" "$work/all.mbox" >/dev/null 2>&1 ||
        { echo "mbox.sh: perf record failed" >&2; exit 2; }
    perf report -i "$work/perf.data" --sort pid --stdio -F period,pid 2>/dev/null |
        awk '$2 ~ /^[0-9]+:/ { split($2, t, ":"); print t[1], $1 / 1e9 }' | sort -n |
        awk 'NR == 1 { main = $2; next } NR == 2 { writer = $2; next } { rest = rest " " $2 }
             END { printf "%.2f %.2f%s\n", writer, main, rest }'
}
if [[ ${THREADS:-0} == 1 ]]; then
    command -v perf >/dev/null || { echo "mbox.sh: THREADS=1 needs perf" >&2; exit 2; }
    t1=$(threads 1) t2=$(threads 2)
    echo "CPU seconds by thread, one reader: writer ${t1%% *}, reader ${t1#* }"
    echo "CPU seconds by thread, two readers: writer ${t2%% *}, readers ${t2#* }"
    r1=${t1#* } r2=${t2#* }
    busier=$(tr ' ' '\n' <<<"$r2" | sort -g | tail -1)
    echo "parse side (one reader's CPU / the busier of two readers'): $(bc -l <<<"scale=2; $r1 / $busier")"
fi
