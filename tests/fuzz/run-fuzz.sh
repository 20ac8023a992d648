#!/usr/bin/env bash
# run-fuzz.sh HARNESS CORPUS_DIR SECONDS: fuzz for SECONDS starting from a
# scratch copy of the seed corpus. Fails on any crash, leak, sanitizer
# report or time-out; the reproducer is kept in the build directory.
set -euo pipefail
harness=$1 corpus=$2 seconds=$3
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
cp -r "$corpus"/. "$scratch"/
"$harness" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
    -print_final_stats=1 -artifact_prefix="$(pwd)/" "$scratch"
