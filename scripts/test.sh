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
#
#   scripts/test.sh [--require-conformance] [--parts 1,2,3] [--only REGEX]
#
# Each part ends with the tests CTest skipped; the run ends with everything
# left out (tests skipped, tests configure did not register, and why).
# A conformance suite (SPF, is_email) that reports "skipped" fails the run
# when its directory ($MAILSEC_CONFORMANCE_DIR, else ../shared/conformance)
# exists, and always with --require-conformance or when CI=true.
# --parts runs only the parts named; --only runs only the tests whose names
# match REGEX (ctest -R); MAILSEC_BUILD_DIR (default build) names the build
# directories (build, build-asan, build-fuzz).
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=$(nproc)

require_conformance=0
[[ ${CI:-} == true ]] && require_conformance=1
parts=1,2,3 only=
while (($#)); do
    case $1 in
    --require-conformance) require_conformance=1 ;;
    --parts) parts=${2:?--parts needs a list}; shift ;;
    --only) only=${2:?--only needs a regex}; shift ;;
    *) echo "usage: $0 [--require-conformance] [--parts 1,2,3] [--only REGEX]" >&2; exit 2 ;;
    esac
    shift
done
build=${MAILSEC_BUILD_DIR:-build}
conformance_dir=${MAILSEC_CONFORMANCE_DIR:-$PWD/../shared/conformance}
conformance_tests='^(spf-conformance|unit-email-isemail|sql-[a-z]+-isemail)$'

left_out=()  # "part: what (why)", listed at the end
problems=()  # what makes the run fail although ctest passed

# Configure, showing what configure says about what it found and left out
# (the compiler probing is noise); its "Left out:" lines are kept for the end.
configure() {
    local dir=$1 part=$2 log
    shift 2
    log=$(mktemp)
    if ! cmake -S . -B "$dir" "$@" >"$log" 2>&1; then
        cat "$log"
        rm -f "$log"
        return 1
    fi
    grep -vE '^-- (The [A-Z]+ compiler|Detecting|Check for working|Performing Test|Looking for|Configuring done|Generating done|Build files)' "$log" || true
    local line
    while IFS= read -r line; do
        left_out+=("$part: ${line#*Left out: }")
    done < <(grep 'Left out: ' "$log" || true)
    rm -f "$log"
}

# The tests ctest skipped in its last run (from its summary), one a line.
skipped_tests() {
    sed -n 's/^[[:space:]]*[0-9]* - \(.*\) (Skipped)$/\1/p' "$1"
}

run_suite() {
    local dir=$1 part=$2 log
    shift 2
    configure "$dir" "$part" "$@"
    cmake --build "$dir" -j"$jobs"
    log=$(mktemp)
    local status=0
    ctest --test-dir "$dir" --output-on-failure -j"$jobs" ${only:+-R "$only"} | tee "$log" || status=$?
    local skipped name
    skipped=$(skipped_tests "$log")
    # LeakSanitizer's own stop-the-world tracer sometimes crashes at exit
    # ("Tracer caught signal 11", google/sanitizers#1353): a fault of the
    # sanitizer, not of the test. Then, and only then, the failed tests run
    # once more, and the run says so.
    if ((status != 0)) && grep -q 'Tracer caught signal' "$log" &&
        grep -q 'LeakSanitizer has encountered a fatal error' "$log"; then
        echo "== $part: LeakSanitizer's tracer crashed; the failed tests once more"
        status=0
        ctest --test-dir "$dir" --output-on-failure --rerun-failed -j"$jobs" || status=$?
        left_out+=("$part: the failed tests ran twice, after LeakSanitizer's tracer crashed")
    fi
    rm -f "$log"
    echo "== $part: skipped by ctest: ${skipped:-none}" | paste -sd' '
    while IFS= read -r name; do
        [[ -z $name ]] && continue
        left_out+=("$part: test $name (skipped when run; its output above says why)")
        if [[ $name =~ $conformance_tests ]]; then
            if [[ -d $conformance_dir ]]; then
                problems+=("$part: $name was skipped although $conformance_dir exists")
            elif ((require_conformance)); then
                problems+=("$part: $name was skipped and the conformance suites are required (no $conformance_dir)")
            fi
        fi
    done <<<"$skipped"
    return "$status"
}

wants() { [[ ,$parts, == *,$1,* ]]; }

if wants 1; then
    echo "== 1/3 Test suite"
    run_suite "$build" "1/3" -DMAILSEC_WERROR=ON

    # The conformance suites again, verbosely: their per-case results and tallies
    # belong in the output (they report "skipped" when ../shared is absent).
    echo "== Conformance suites, case by case"
    ctest --test-dir "$build" -R '^(spf-conformance|unit-email-isemail)$' --verbose |
        sed -n 's/^[0-9]*: //p'
fi

if wants 2; then
    echo "== 2/3 Test suite under ASan + UBSan"
    export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
    run_suite "$build-asan" "2/3" -DCMAKE_BUILD_TYPE=Debug -DMAILSEC_WERROR=ON -DMAILSEC_SANITIZE=ON
fi

if wants 3; then
    echo "== 3/3 Fuzz harnesses, ${MAILSEC_FUZZ_SECONDS:-30} s each"
    CC=clang run_suite "$build-fuzz" "3/3" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DMAILSEC_FUZZ=ON \
        -DMAILSEC_WERROR=ON -DMAILSEC_SANITIZE=ON -DMAILSEC_TESTS=OFF -DBUILD_SHARED_LIBS=OFF \
        -DMAILSEC_FUZZ_SECONDS="${MAILSEC_FUZZ_SECONDS:-30}"
fi

echo "== Left out"
if ((${#left_out[@]})); then
    printf '   %s\n' "${left_out[@]}"
else
    echo "   nothing"
fi
if ((${#problems[@]})); then
    echo "== FAILED"
    printf '   %s\n' "${problems[@]}"
    exit 1
fi
echo "== All tests passed"
