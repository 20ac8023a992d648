#!/usr/bin/env bash
# Address lists from the command line, as users run them: the whole
# `mailsec email check` process (start-up, reading, checking, writing the
# output to /dev/null) on one generated list, each output side by side in
# one run, and a long list for memory.
#
#   bench/email/cli.sh [BUILD_DIR [COUNT [BIG]]]   (default: build, 1000000, 20000000)
#
# Rates are addresses per CPU second of the process (user + system; the
# machine may be shared), best of 3. BIG lines (default 20 M; 100 M needs
# some 3 GB of disk) are checked once with --format csv for peak memory.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=$(cd "${1:-$root/build}" && pwd)
count=${2:-1000000}
big=${3:-20000000}
mailsec=$build/src/mailsec
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

python3 "$here/gen_corpus.py" "$count" > "$work/list.txt"
# the same addresses as a CSV column, every row quoted where RFC 4180 needs it
/usr/bin/python3 "$here/list_to_csv.py" "$work/list.txt" > "$work/list.csv"

# cpu seconds of one run (user + system), best of 3
cpu() {
    local best=
    for _ in 1 2 3; do
        /usr/bin/time -f '%U %S' -o "$work/t" "$mailsec" email check "$@" > /dev/null 2>&1 || true
        local t
        t=$(tail -1 "$work/t" | awk '{ print $1 + $2 }')
        best=$(awk -v a="${best:-$t}" -v b="$t" 'BEGIN { print (b < a ? b : a) }')
    done
    echo "$best"
}

echo "list: $count addresses ($(wc -c < "$work/list.txt") bytes), gen_corpus.py; load: $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-44s %12s %14s %10s\n' "mailsec email check ..." "cpu s" "addresses/s" "vs -q"
q=$(cpu -q --file "$work/list.txt")
for args in "-q --file LIST" "--format csv --file LIST" "--csv CSV --column email" "--file LIST" "--json --file LIST"; do
    real=${args//LIST/$work/list.txt}
    real=${real//CSV/$work/list.csv}
    # shellcheck disable=SC2086
    t=$(cpu $real)
    awk -v n="$count" -v t="$t" -v q="$q" -v a="$args" \
        'BEGIN { printf "%-44s %12.3f %14.0f %9.2fx\n", a, t, n / t, t / q }'
done

# memory: a long list streamed (peak resident set)
awk -v big="$big" 'BEGIN { while (n < big) { while ((getline l < ARGV[1]) > 0 && n < big) { print l; n++ } close(ARGV[1]) } }' \
    "$work/list.txt" > "$work/big.txt"
/usr/bin/time -f '%M %U %S' -o "$work/t" "$mailsec" email check --format csv --file "$work/big.txt" > /dev/null 2>&1 || true
read -r rss u s < <(tail -1 "$work/t")
awk -v n="$big" -v rss="$rss" -v t="$(awk -v u="$u" -v s="$s" 'BEGIN { print u + s }')" \
    'BEGIN { printf "\n%d addresses, --format csv: peak RSS %.1f MiB, %.0f addresses/s\n", n, rss / 1024, n / t }'
