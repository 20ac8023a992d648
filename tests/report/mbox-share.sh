#!/usr/bin/env bash
# One mbox shared by several readers stores what one reader stores:
#
#   mbox-share.sh MAILSEC_BINARY
#
# mbox_share_corpus.py writes an mbox of 300 reports with the hard cases
# between them (a duplicate and a conflicting copy, ">From " quoting, a
# "From " line in a text that cuts its message in two, a part that cannot
# be parsed as a message, a truncated attachment, no report, a failure and
# a TLS report, a report of 60,000 records) and says, for every message of
# the mbox, where its "From " line is and what becomes of it. The mbox is
# ingested with --jobs 1, 2 and 4 into stores of their own. Checked:
#  - every message's fate and origin ("message N (byte B)") is the one
#    expected: the cut is right (a splitter that cuts elsewhere fails here);
#  - the stores are the same, row for row, report ids included (stored in
#    the mbox's order whatever the readers: the first copy of a report is
#    the one kept, the later one the duplicate or conflict);
#  - the tallies and the lists of reports set aside and skipped are the
#    same (those lists in the order the readers finish, so compared sorted).
set -uo pipefail

BIN=$1
source "$(dirname "${BASH_SOURCE[0]}")/../lib/testlib.sh"
command -v sqlite3 >/dev/null || die "sqlite3 is needed"

/usr/bin/python3 "$ROOT/tests/report/mbox_share_corpus.py" "$WORK/all.mbox" "$WORK/expect" ||
    die "could not make the mbox"

# What a store holds, in id order, without the times of the run.
dump() {
    sqlite3 "$1" <<'SQL'
.mode list
SELECT 'report', id, kind, org, report_id, domain, date_begin, date_end, origin, origin_file, records, messages, digest
  FROM reports ORDER BY id;
SELECT 'record', * FROM agg_records ORDER BY report, seq;
SELECT 'raw', report, seq, length(bytes), hex(substr(bytes, 1, 64)) FROM raw ORDER BY report, seq;
SELECT 'rejected', origin, kind, input_key, reason, seen_count FROM rejected ORDER BY id;
SELECT 'conflict', report, digest, origin, seen_count FROM conflicts ORDER BY report, digest;
SELECT 'failure', * FROM failure_reports ORDER BY report;
SELECT 'tls', * FROM tls_policies ORDER BY id;
SQL
}

for jobs in 1 2 4; do
    "$BIN" report ingest --json --jobs "$jobs" --db "sqlite:$WORK/j$jobs.db" "$WORK/all.mbox" >"$WORK/out$jobs" 2>"$WORK/err$jobs"
    status=$?
    [[ $status == 1 ]] || die "--jobs $jobs: exit status $status, not 1 (reports set aside): $(head -3 "$WORK/err$jobs")"
    dump "$WORK/j$jobs.db" >"$WORK/dump$jobs" || die "--jobs $jobs: cannot read the store"
    jq -S '.tally | del(.seconds)' "$WORK/out$jobs" >"$WORK/tally$jobs" || die "--jobs $jobs: no JSON tally"
    jq -c '.failed[], .skipped[]' "$WORK/out$jobs" | sort >"$WORK/lines$jobs"
done

# The fates, against what the corpus says.
want_new=$(grep -c ' new$' "$WORK/expect")
got_new=$(jq '.tally.reports_new' "$WORK/out1")
[[ $got_new == "$want_new" ]] && ok "--jobs 1: $got_new reports stored" ||
    fail "--jobs 1: $got_new reports stored, not $want_new"
for fate in duplicate conflict failed skipped; do
    want=$(awk -v f=$fate '$3 == f { printf "message %d (byte %d)\n", $1, $2 }' "$WORK/expect")
    case $fate in
    duplicate | conflict)
        # the later copy's origin: a conflict's is recorded, a duplicate's is in no row
        [[ $fate == conflict ]] || continue
        got=$(sqlite3 "$WORK/j1.db" "SELECT origin FROM conflicts" | sed 's/^.*\.mbox: //; s/: part.*//') ;;
    failed) got=$(jq -r '.failed[].origin' "$WORK/out1" | sed 's/^.*\.mbox: //; s/: part.*//' | sort -t' ' -k2n) ;;
    skipped) got=$(jq -r '.skipped[].origin' "$WORK/out1" | sed 's/^.*\.mbox: //' | sort -t' ' -k2n) ;;
    esac
    [[ $got == "$want" ]] && ok "$fate: $(tr '\n' ';' <<<"$want")" ||
        fail "$fate: got [$(tr '\n' ';' <<<"$got")], want [$(tr '\n' ';' <<<"$want")]"
done
got=$(sqlite3 "$WORK/j1.db" "SELECT origin FROM reports WHERE kind = 'aggregate' ORDER BY id" |
    sed -n 's/^.*\.mbox: message \([0-9]*\) (byte \([0-9]*\)).*/\1 \2/p')
want=$(awk '$3 == "new" { print $1, $2 }' "$WORK/expect" | grep -v -F -x -f <(
    sqlite3 "$WORK/j1.db" "SELECT origin FROM reports WHERE kind != 'aggregate'" |
        sed -n 's/^.*\.mbox: message \([0-9]*\) (byte \([0-9]*\)).*/\1 \2/p'))
[[ -n $got && $got == "$want" ]] && ok "the aggregate reports stored are the expected messages, in the mbox's order" ||
    fail "the aggregate reports stored are not the expected messages in order: $(diff <(echo "$want") <(echo "$got") | head -5)"

# Several readers: the same store, tally and lines.
for jobs in 2 4; do
    if cmp -s "$WORK/dump1" "$WORK/dump$jobs"; then
        ok "--jobs $jobs: the store equals --jobs 1's ($(wc -l <"$WORK/dump1") rows)"
    else
        fail "--jobs $jobs: the store differs from --jobs 1's: $(diff "$WORK/dump1" "$WORK/dump$jobs" | head -5 | cut -c1-200)"
    fi
    cmp -s "$WORK/tally1" "$WORK/tally$jobs" && ok "--jobs $jobs: the same tally" ||
        fail "--jobs $jobs: another tally: $(diff "$WORK/tally1" "$WORK/tally$jobs" | tr '\n' ' ')"
    [[ -s $WORK/lines1 ]] && cmp -s "$WORK/lines1" "$WORK/lines$jobs" && ok "--jobs $jobs: the same reports set aside and skipped" ||
        fail "--jobs $jobs: other reports set aside or skipped: $(diff "$WORK/lines1" "$WORK/lines$jobs" | head -4)"
done

finish mbox-share
