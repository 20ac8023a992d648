#!/usr/bin/env bash
# Instructions per address, counted by callgrind: a measure that does not
# move with the machine's load (the CPU-time rates of run.sh do), next to
# the same count for the WHATWG regex under PCRE2 with JIT.
#
#   bench/email/instructions.sh [BUILD_DIR [COUNT]]   (default: build, 100000)
#
# Each implementation runs alone over the corpus once (bench_email ... 1
# NAME); the run with "none" (reading the corpus only) is subtracted.
# Needs valgrind, libpcre2-dev and a build of mailsec.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=$(cd "${1:-$root/build}" && pwd)
count=${2:-100000}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

python3 "$here/gen_corpus.py" "$count" > "$work/corpus.txt"
cc -O2 -std=c17 -Wall -Wextra "$here/bench_email.c" -I"$root/include" -L"$build/lib" -lmailsec -lpcre2-8 \
    -Wl,-rpath,"$build/lib" -o "$work/bench_email"

# total instructions executed by one run of bench_email with ONLY=$1
instructions() {
    valgrind --tool=callgrind --callgrind-out-file="$work/cg.out" "$work/bench_email" "$work/corpus.txt" 1 "$1" \
        > /dev/null 2> "$work/cg.log"
    sed -n 's/^summary: //p' "$work/cg.out"
}

base=$(instructions none)
echo "corpus: $count addresses; instructions per address (callgrind, Ir)"
for name in mailsec_smtp mailsec_html5 pcre2_jit_whatwg; do
    ir=$(instructions "$name")
    awk -v n="$name" -v ir="$ir" -v base="$base" -v count="$count" \
        'BEGIN { r[n] = (ir - base) / count; printf "%-20s %8.1f\n", n, r[n] }'
done
