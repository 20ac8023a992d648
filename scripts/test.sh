#!/usr/bin/env bash
# The README's second command: the whole test suite, three times over.
#   1. the normal build (build/): unit, conformance, CLI and SQL tests, against
#      real servers the tests start (NSD, nginx, PostgreSQL, MariaDB); then the
#      conformance suites' per-case results printed
#   2. the same tests built with AddressSanitizer + UndefinedBehaviorSanitizer
#      (build-asan/)
#   3. every libFuzzer harness for MAILSEC_FUZZ_SECONDS seconds each
#      (default 30), built with clang (build-fuzz/)
# Needs the packages scripts/bootstrap.sh installs. Exit status 0 only if
# every part passed.
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=$(nproc)

run_suite() {
    local dir=$1
    shift
    cmake -S . -B "$dir" "$@" >/dev/null
    cmake --build "$dir" -j"$jobs"
    ctest --test-dir "$dir" --output-on-failure -j"$jobs"
}

echo "== 1/3 Test suite"
run_suite build -DMAILSEC_WERROR=ON

# The conformance suites again, verbosely: their per-case results and tallies
# belong in the output (they report "skipped" when ../shared is absent).
echo "== Conformance suites, case by case"
ctest --test-dir build -R '^(spf-conformance|unit-email-isemail)$' --verbose |
    sed -n 's/^[0-9]*: //p'

echo "== 2/3 Test suite under ASan + UBSan"
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
run_suite build-asan -DCMAKE_BUILD_TYPE=Debug -DMAILSEC_WERROR=ON -DMAILSEC_SANITIZE=ON

echo "== 3/3 Fuzz harnesses, ${MAILSEC_FUZZ_SECONDS:-30} s each"
CC=clang run_suite build-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo -DMAILSEC_FUZZ=ON \
    -DMAILSEC_WERROR=ON -DMAILSEC_SANITIZE=ON -DMAILSEC_TESTS=OFF -DBUILD_SHARED_LIBS=OFF \
    -DMAILSEC_FUZZ_SECONDS="${MAILSEC_FUZZ_SECONDS:-30}"
echo "== All tests passed"
