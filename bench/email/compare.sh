#!/usr/bin/env bash
# Two builds side by side, before and after a change, in one run:
#   - the library: bench_email on the corpora of gen_mix.py (0 %, 20 %,
#     50 % non-ASCII) and gen_corpus.py, each build in turn, ROUNDS times,
#     the best per CPU second kept (the WHATWG regex under PCRE2 JIT runs in
#     each, so each row has its own ratio);
#   - the command: `mailsec email check` on LINES addresses of
#     gen_corpus.py, each output (as cli.sh) for each build in turn, CPU
#     seconds (user + system) best of 3.
#
#   bench/email/compare.sh BEFORE_BUILD AFTER_BUILD [COUNT [ROUNDS [LINES]]]
#   (default: 1000000 addresses per corpus, 3 rounds, 5000000 lines)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
before=$(cd "$1" && pwd)
after=$(cd "$2" && pwd)
count=${3:-1000000}
rounds=${4:-3}
lines=${5:-5000000}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

for b in before after; do
    dir=${!b}
    cc -O2 -std=c17 -Wall -Wextra "$here/bench_email.c" -I"$root/include" -L"$dir/lib" -lmailsec -lpcre2-8 \
        -Wl,-rpath,"$dir/lib" -o "$work/bench_$b"
done
for pct in 0 20 50; do
    /usr/bin/python3 "$here/gen_mix.py" "$pct" "$count" > "$work/mix$pct.txt"
done
python3 "$here/gen_corpus.py" "$count" > "$work/corpus.txt"

echo "load: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "library, addresses per CPU second, best of $rounds (each build in turn)"
: > "$work/lib.txt"
for _ in $(seq "$rounds"); do
    for corpus in mix0 mix20 mix50 corpus; do
        for b in before after; do
            "$work/bench_$b" "$work/$corpus.txt" 3 2>/dev/null | sed "s/^/$corpus $b /" >> "$work/lib.txt"
        done
    done
done
awk '
$3 !~ /_first$|agree/ { k = $1 " " $2 " " $3; if ($4 > best[k]) best[k] = $4 }
END {
  printf "%-8s %-7s %10s %10s %10s %10s %12s %12s\n", "corpus", "build", "smtp", "html5", "intl", "regex", "smtp/regex", "html5/regex"
  split("mix0 mix20 mix50 corpus", cs, " ")
  for (c = 1; c <= 4; c++) for (b = 0; b < 2; b++) {
    p = cs[c] " " (b ? "after" : "before") " "
    printf "%-8s %-7s %9.2fM %9.2fM %9.2fM %9.2fM %11.2fx %11.2fx\n", cs[c], (b ? "after" : "before"),
      best[p "mailsec_smtp"] / 1e6, best[p "mailsec_html5"] / 1e6, best[p "mailsec_intl"] / 1e6,
      best[p "pcre2_jit_whatwg"] / 1e6, best[p "mailsec_smtp"] / best[p "pcre2_jit_whatwg"],
      best[p "mailsec_html5"] / best[p "pcre2_jit_whatwg"]
  }
}' "$work/lib.txt"

# the command on a long list and the same list as a CSV column
python3 "$here/gen_corpus.py" "$lines" > "$work/list.txt"
/usr/bin/python3 "$here/list_to_csv.py" "$work/list.txt" > "$work/list.csv"
cpu() { # cpu seconds (user + system) of one run of BUILD's mailsec email check ARGS...
    local dir=$1
    shift
    /usr/bin/time -f '%U %S' -o "$work/t" "$dir/src/mailsec" email check "$@" > /dev/null 2>&1 || true
    tail -1 "$work/t" | awk '{ print $1 + $2 }'
}
echo
echo "mailsec email check on $lines addresses, CPU seconds best of 3 (each build in turn); load: $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-28s %10s %10s %12s %12s %10s\n' "" "before s" "after s" "before /s" "after /s" "after/-q"
q=
for args in "-q --file LIST" "--format csv --file LIST" "--csv CSV --column email" "--file LIST" "--json --file LIST"; do
    real=${args//LIST/$work/list.txt}
    real=${real//CSV/$work/list.csv}
    tb=99 ta=99
    for _ in 1 2 3; do
        # shellcheck disable=SC2086
        t=$(cpu "$before" $real); tb=$(awk -v a="$tb" -v b="$t" 'BEGIN { print (b < a ? b : a) }')
        # shellcheck disable=SC2086
        t=$(cpu "$after" $real); ta=$(awk -v a="$ta" -v b="$t" 'BEGIN { print (b < a ? b : a) }')
    done
    q=${q:-$ta}
    awk -v a="$args" -v tb="$tb" -v ta="$ta" -v n="$lines" -v q="$q" \
        'BEGIN { printf "%-28s %10.2f %10.2f %11.2fM %11.2fM %9.2fx\n", a, tb, ta, n / tb / 1e6, n / ta / 1e6, ta / q }'
done
