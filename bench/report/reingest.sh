#!/usr/bin/env bash
# reingest.sh BUILD_DIR [REPORTS [RECORDS]]: `mailsec report ingest` of a
# corpus into a fresh SQLite store (the first ingest), then of the same
# corpus again into that store (every report a duplicate), side by side in
# one run: wall and CPU time, reports/s and the ratio. The corpus is
# gen_corpus.py files (REPORTS reports, default 2000, RECORDS records each
# on average, default 50), as it comes: mixed wrappers (gzip, zip, plain
# XML, mail). ROUNDS rounds (default 3), the fastest of each kind counts.
# A report found stored is compared with the stored original, not parsed
# (docs/store.md): the target is ingesting again at >= 10 times the speed
# of the first ingest.
set -uo pipefail
BUILD=${1:?usage: reingest.sh BUILD_DIR [REPORTS [RECORDS]]}
REPORTS=${2:-2000}
RECORDS=${3:-50}
ROUNDS=${ROUNDS:-3}
BIN=$BUILD/src/mailsec
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
[[ -x $BIN ]] || { echo "reingest.sh: $BIN is not built" >&2; exit 2; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

/usr/bin/python3 "$here/gen_corpus.py" files "$work/corpus" --reports "$REPORTS" --records "$RECORDS" >/dev/null
echo "corpus: gen_corpus.py files --reports $REPORTS --records $RECORDS: $(du -sh "$work/corpus" | cut -f1)," \
    "$(find "$work/corpus" -type f | wc -l) files"
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg), $(nproc) CPUs"

# ingest DB OUT: one run; prints "wall cpu" in seconds, its JSON in OUT
# The wall clock from the shell's clock (microseconds: time(1)'s %e is in
# hundredths, a tenth of an ingest again); the CPU time from time(1).
ingest() {
    local began=$EPOCHREALTIME
    /usr/bin/time -f '%U %S' -o "$work/time" "$BIN" report ingest --json --db "sqlite:$1" "$work/corpus" >"$2"
    local status=$? ended=$EPOCHREALTIME
    ((status < 2)) || { echo "reingest.sh: ingest failed ($status)" >&2; exit 2; }
    awk -v wall="$(bc -l <<<"$ended - $began")" '{printf "%.3f %.2f\n", wall, $1 + $2}' "$work/time"
}

best_first= best_again=
for ((round = 1; round <= ROUNDS; round++)); do
    rm -f "$work/r.db"*
    first=$(ingest "$work/r.db" "$work/first.json")
    again=$(ingest "$work/r.db" "$work/again.json")
    [[ -z $best_first ]] || (($(bc -l <<<"${first%% *} < ${best_first%% *}"))) && best_first=$first
    [[ -z $best_again ]] || (($(bc -l <<<"${again%% *} < ${best_again%% *}"))) && best_again=$again
done
echo "load average after:  $(cut -d' ' -f1-3 /proc/loadavg)"
new=$(jq '.tally.reports_new' "$work/first.json")
dup=$(jq '.tally.duplicates' "$work/again.json")
[[ $(jq '.tally.conflicting + .tally.failed' "$work/again.json") == 0 ]] ||
    { echo "reingest.sh: ingesting again found conflicts or failures" >&2; exit 2; }
printf '%-22s %8s %8s %10s %s\n' run "wall s" "cpu s" reports/s tally
printf '%-22s %8s %8s %10.0f %s\n' "first ingest" ${best_first} "$(bc -l <<<"$new / ${best_first%% *}")" "$new new"
printf '%-22s %8s %8s %10.0f %s\n' "ingest again" ${best_again} "$(bc -l <<<"$dup / ${best_again%% *}")" "$dup duplicates"
echo "ratio (first / again): wall $(bc -l <<<"scale=2; ${best_first%% *} / ${best_again%% *}")," \
    "CPU $(bc -l <<<"scale=2; ${best_first##* } / ${best_again##* }")"
