#!/usr/bin/env bash
# Runs mailsec on the bundled example data: every record in
# examples/records.txt is checked and explained, then a record is generated
# and a roll-out planned. No network needed.
set -uo pipefail
bin=${1:-build/src/mailsec}
cd "$(dirname "$0")/.."

while IFS='|' read -r domain record; do
    [[ -z $domain || $domain == \#* ]] && continue
    echo
    echo "\$ mailsec dmarc check --domain $domain --record '$record'"
    "$bin" dmarc check --domain "$domain" --record "$record"
    echo "(exit status $?)"
done < examples/records.txt

echo
echo "\$ mailsec dmarc generate --domain example.com --policy quarantine --pct 25 --testing y --rua mailto:dmarc@example.com --format zone"
"$bin" dmarc generate --domain example.com --policy quarantine --pct 25 --testing y \
    --rua mailto:dmarc@example.com --format zone || exit 1
echo
echo "\$ mailsec dmarc plan --domain example.com --rua mailto:dmarc@example.com   (first steps)"
# the whole plan is 13 steps; the first three show its shape (taking the
# output whole first, so cutting it short cannot break the pipe)
plan=$("$bin" dmarc plan --domain example.com --rua mailto:dmarc@example.com) || exit 1
printf '%s\n' "$plan" | sed -n 1,24p

echo
echo "\$ mailsec report ingest --db DB examples/reports    (an XML report; an mbox with a gzip'd aggregate and a TLS report)"
db=$(mktemp -d)
trap 'rm -rf "$db"' EXIT
"$bin" report ingest --db "$db/reports.db" examples/reports || exit 1
echo
echo "\$ mailsec report summary --db DB"
"$bin" report summary --db "$db/reports.db" || exit 1
echo
echo "\$ mailsec report sources --no-rdns --db DB --domain example.org"
"$bin" report sources --no-rdns --db "$db/reports.db" --domain example.org || exit 1
