#!/usr/bin/env bash
# MAILBED_BOUNDED=MAILSEC bounded.sh ARGS...: runs MAILSEC ARGS within
# bounds no check of the test beds comes near, so a check that runs away
# fails its case instead of hanging the suite or eating the machine's
# memory. run-test.sh has tests/cli/run.sh run every case of the bed's
# *.test files through it (in place of the binary).
#   - at most MAILBED_MAX_SECONDS (60) of wall time: then killed, exit 124;
#   - at most MAILBED_MAX_RSS_MB (256) of resident memory at its peak
#     (measured by GNU time; ASan builds use far more than plain ones):
#     over it, exit 125 and a message on stderr.
# Otherwise the command's own exit status.
set -uo pipefail
bin=${MAILBED_BOUNDED:?MAILBED_BOUNDED names the binary to run}
max_seconds=${MAILBED_MAX_SECONDS:-60}
max_rss_mb=${MAILBED_MAX_RSS_MB:-256}
peak=$(mktemp)
trap 'rm -f "$peak"' EXIT
/usr/bin/time -f '%M' -o "$peak" timeout -k 5 "$max_seconds" "$bin" "$@"
status=$?
# time's last line is the peak in KiB (a line before it notes a non-zero exit)
kib=$(tail -n 1 "$peak")
if [[ $kib =~ ^[0-9]+$ ]] && ((kib > max_rss_mb * 1024)); then
    echo "bounded.sh: $(basename "$bin") used $((kib / 1024)) MB of memory at its peak, more than $max_rss_mb MB" >&2
    exit 125
fi
((status == 124)) && echo "bounded.sh: $(basename "$bin") ran longer than $max_seconds s and was killed" >&2
exit "$status"
