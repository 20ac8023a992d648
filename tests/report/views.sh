#!/usr/bin/env bash
# The views over a store holding the most extreme rows it can hold:
#
#   views.sh MAILSEC_BINARY sqlite|pgsql
#
# The sample reports are ingested, then rows are written straight into the
# store with the database's own client, as an older mailsec (or a damaged
# file) could have left them: counts of 2^63 - 1 and -2^63, in every
# table a view sums (reports, aggregate records, TLS policies and failures,
# failure reports). Every view must answer (exit 0), never wrap negative,
# and show the saturated figure (docs/report.md): 9007199254740991 in JSON,
# "9007199254740991+" in the checklist. For PostgreSQL the store-pgsql
# fixture's server is used (MAILSEC_STORE_PG_INFO), in a database of our
# own; the views run as a role that may only SELECT, so they must open the
# store read-only.
set -uo pipefail

BIN=$1 MODE=$2
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
source tests/lib/store.sh
source tests/lib/testlib.sh
ROLE=
cleanup() {
    [[ -n $ROLE ]] && psql -q "$PG_URL" -c "DROP ROLE IF EXISTS $ROLE" >/dev/null 2>&1
}
on_exit cleanup

MAX=9223372036854775807 MIN=-9223372036854775808 SAT=9007199254740991

test_store "$MODE" views
case $MODE in
sqlite)
    READ_DB=$DB
    sql() { sqlite3 "$DB" "$1"; }
    ;;
pgsql)
    ROLE=mailsec_reader_$$
    sql() { psql -q -X -v ON_ERROR_STOP=1 "$DB" -c "$1" >/dev/null; }
    ;;
esac

"$BIN" report ingest --db "$DB" tests/data/reports/aggregate/rfc7489-outlook.xml \
    tests/data/reports/tlsrpt/rfc8460-example.json tests/data/reports/failure/rfc6591-message.eml \
    >"$WORK/ingest" 2>&1 || die "ingest of the samples failed: $(cat "$WORK/ingest")"

# The extreme rows: two aggregate reports for hostile.example (totals of
# 2^63 - 1 and -2^63, records of 2^63 - 1 three times and -2^63 once),
# two TLS policies and two failure rows at 2^63 - 1, two failure reports
# of 2^63 - 1 incidents.
sql "INSERT INTO reports (id, kind, org, report_id, domain, date_begin, date_end, records, messages, ingested_at)
     VALUES (901, 'aggregate', 'Hostile', 'h1', 'Hostile.Example', 1700000000, 1700086400, 3, $MAX, 1700100000),
            (902, 'aggregate', 'Hostile', 'h2', 'hostile.example', 1700086400, 1700172800, $MIN, $MIN, 1700100000),
            (903, 'tls', 'Hostile', 'h3', 'hostile.example', 1700000000, 1700086400, 2, $MAX, 1700100000),
            (904, 'failure', 'Hostile', 'h4', 'hostile.example', 1700000000, 1700000000, 1, $MAX, 1700100000),
            (905, 'failure', 'Hostile', 'h5', 'hostile.example', 1700000001, 1700000001, 1, $MAX, 1700100000)" ||
    die "could not insert the reports"
sql "INSERT INTO agg_records (report, seq, source_ip, count, disposition, dkim, spf, reasons, dkim_pass, spf_pass)
     VALUES (901, 0, '192.0.2.1', $MAX, 'none', 'pass', 'pass', NULL, 1, 1),
            (901, 1, '192.0.2.1', $MAX, 'none', 'pass', 'fail', 'forwarded', 1, 0),
            (901, 2, '192.0.2.2', $MAX, 'reject', 'fail', 'fail', NULL, 0, 0),
            (902, 0, '192.0.2.2', $MIN, 'reject', 'fail', 'fail', NULL, 0, 0)" ||
    die "could not insert the records"
sql "INSERT INTO tls_policies (id, report, policy_type, policy_domain, successful, failed)
     VALUES (901, 903, 'sts', 'hostile.example', $MAX, $MAX), (902, 903, 'sts', 'hostile.example', $MAX, $MIN)" ||
    die "could not insert the TLS policies"
sql "INSERT INTO tls_failures (policy, report, seq, result_type, receiving_mx_hostname, failed_sessions)
     VALUES (901, 903, 0, 'certificate-expired', 'mx.hostile.example', $MAX),
            (902, 903, 0, 'certificate-expired', 'mx.hostile.example', $MAX)" ||
    die "could not insert the TLS failures"
sql "INSERT INTO failure_reports (report, message_key, reported_domain, source_ip, auth_failure, arrival_time,
                                  incidents, has_feedback_part, has_original_part)
     VALUES (904, 'hostile-1', 'hostile.example', '192.0.2.9', 'dmarc', 1700000000, $MAX, 1, 0),
            (905, 'hostile-2', 'hostile.example', '192.0.2.9', 'dmarc', 1700000001, $MAX, 1, 0)" ||
    die "could not insert the failure reports"

# The views read the rollups (docs/store.md), which a store written by an
# older mailsec does not have: its first opening by this version builds
# them from the rows stored, these included. Taken back to schema version
# 2, the store is migrated again.
sql "$(cat tests/lib/schema_v2.sql)" || die "could not take the store back to version 2"
"$BIN" report ingest --db "$DB" /dev/null >"$WORK/migrate" 2>&1 || die "the migration failed: $(cat "$WORK/migrate")"

if [[ $MODE == pgsql ]]; then
    # The views need no more than SELECT.
    sql "CREATE ROLE $ROLE LOGIN; GRANT SELECT ON ALL TABLES IN SCHEMA public TO $ROLE" ||
        die "could not make the reading role"
    READ_DB=${DB/postgres@/$ROLE@}
fi

# view NAME ARGS...: runs a view (`mailsec report ARGS`) on the store,
# which must exit 0; its output in $WORK/out, its messages in $WORK/err,
# its exit status in $status. NAME names it in the failures of the checks
# that follow.
view() {
    name=$1
    shift
    "$BIN" report "$@" --db "$READ_DB" >"$WORK/out" 2>"$WORK/err"
    status=$?
    exits_with 0 "$(head -c 300 "$WORK/err")"
}
# exits_with STATUS [DETAIL]: the last view exited with STATUS.
exits_with() {
    if [[ $status == "$1" ]]; then ok "$name: exit $1"; else fail "$name: exit $status, expected $1${2:+: $2}"; fi
}
# expect TEXT: what the last view printed, checked by jq -e.
expect() {
    if json_true "$1" "$WORK/out"; then
        ok "$name: $1"
    else
        fail "$name: jq false: $1 (exit $status; $(head -c 300 "$WORK/err"); $(head -c 600 "$WORK/out"))"
    fi
}
# shows TEXT: the last view printed TEXT.
shows() {
    if grep -qF "$1" "$WORK/out"; then ok "$name: shows \"$1\""; else fail "$name: no \"$1\" in: $(cat "$WORK/out")"; fi
}
# No figure in the output is negative.
no_negative() {
    if grep -qE '(^|[^0-9A-Za-z_.:-])-[0-9]' "$WORK/out"; then
        fail "$name: a negative figure: $(grep -E -- '-[0-9]' "$WORK/out" | head -3)"
    else
        ok "$name: no negative figure"
    fi
}

view "summary --json" summary --json --domain hostile.example
expect ".result == \"ok\" and (.results | length) == 1"
expect ".results[0].messages == $SAT and .results[0].dmarc_pass == $SAT and .results[0].dkim_aligned == $SAT"
expect ".results[0].spf_aligned == $SAT and .results[0].dispositions.none == $SAT and .results[0].dispositions.reject == $SAT"
expect ".results[0].overrides.forwarded == $SAT and .results[0].reporters.Hostile == $SAT"
expect ".results[0].reports == 2"

view "summary" summary --domain hostile.example
shows "Messages     $SAT+"
no_negative

view "summary of every domain" summary --json
expect "(.results | length) == 2 and ([.results[] | select(.domain == \"example.org\")][0].messages == 16)"

view "sources --json" sources --json --no-rdns
expect "[.results[] | select(.source_ip == \"192.0.2.1\")][0].messages == $SAT"
expect "[.results[] | select(.source_ip == \"192.0.2.2\")][0] | .messages == $SAT and .failing == $SAT and .aligned == 0"

view "list --json" list --json --domain hostile.example
expect "[.results[].messages] == [$SAT, $SAT, $SAT, $SAT, $SAT]"
expect "[.results[] | select(.id == 902)][0].records == $SAT"

view "list" list --domain hostile.example
no_negative
shows "$SAT+ messages"

view "show --json" show --json 901
expect ".results[0].messages == $SAT and ([.results[0].records[].count] == [$SAT, $SAT, $SAT])"
view "$name" show --json 902
expect ".results[0].records[0].count == $SAT"

view "show (TLS)" show 903
no_negative
shows "$SAT+ sessions ok, $SAT+ failed"

view "export" export --domain hostile.example
no_negative
if [[ $(grep -c ",$SAT," "$WORK/out") == 4 ]]; then
    ok "$name: counts saturated"
else
    fail "$name: counts not saturated: $(cat "$WORK/out")"
fi

view "export --json" export --json --domain hostile.example
expect ".result == \"ok\" and [.records[].count] == [$SAT, $SAT, $SAT, $SAT]"

view "tls --json" tls --json --domain hostile.example
expect ".results[0].successful == $SAT and .results[0].failed == $SAT and .results[0].failures[0].sessions == $SAT"

view "tls" tls --domain hostile.example
no_negative
shows "TLS sessions: $SAT+"

view "failures --json" failures --json --domain hostile.example
expect ".results[0].incidents == $SAT and .results[0].reports == 2"

view "failures" failures --domain hostile.example
shows "$SAT+ incidents in 2 reports"

# Spreadsheet formulas a reporter put in its report: quoted in CSV.
sql "INSERT INTO reports (id, kind, org, report_id, domain, date_begin, date_end, records, messages, ingested_at)
     VALUES (906, 'aggregate', '=HYPERLINK(\"http://evil.example\",\"x\")', '+1+1', 'formula.example',
             1700000000, 1700086400, 1, 1, 1700100000)" || die "could not insert the formula report"
sql "INSERT INTO agg_records (report, seq, source_ip, count, disposition, dkim, spf, envelope_to, header_from,
                             dkim_domain, dkim_pass, spf_pass)
     VALUES (906, 0, '192.0.2.3', 1, 'none', 'pass', 'pass', '@SUM(A1)', '-2+3', '$(printf '\t')cmd', 1, 1)" ||
    die "could not insert the formula record"
view "export guards formulas" export --domain formula.example
row=$(sed -n 2p "$WORK/out")
want="906,\"'=HYPERLINK(\"\"http://evil.example\"\",\"\"x\"\")\",'+1+1,formula.example,1700000000,1700086400,192.0.2.3,1,none,pass,pass,,'@SUM(A1),,'-2+3,'$(printf '\t')cmd,"
if [[ $row == "$want"* ]]; then ok "$name: every formula quoted"; else fail "$name: got $row"; fi
view "export --csv-raw" export --csv-raw --domain formula.example
row=$(sed -n 2p "$WORK/out")
want="906,\"=HYPERLINK(\"\"http://evil.example\"\",\"\"x\"\")\",+1+1,formula.example,1700000000,1700086400,192.0.2.3,1,none,pass,pass,,@SUM(A1),,-2+3,$(printf '\t')cmd,"
if [[ $row == "$want"* ]]; then ok "$name: the fields as stored"; else fail "$name: got $row"; fi

# A view that cannot be computed (here a table is missing) is exit 2, and
# its JSON says so.
if [[ $MODE == sqlite ]]; then
    cp "$DB" "$WORK/broken.db"
    sqlite3 "$WORK/broken.db" "DROP TABLE agg_records; DROP TABLE rollup_days; DROP TABLE rollup_sources;
                               DROP TABLE rollup_source_totals" || die "could not break the copy"
    for v in summary sources list tls failures; do
        name="$v --json on a broken store"
        "$BIN" report $v --json --no-rdns --db "$WORK/broken.db" >"$WORK/out" 2>"$WORK/err"
        status=$?
        [[ $v == list || $v == tls || $v == failures ]] && { exits_with 0; continue; }
        exits_with 2
        if [[ -s $WORK/out ]]; then ok "$name: JSON printed"; else fail "$name: no JSON"; fi
        expect '.result == "unchecked" and .results == [] and (.error | test("rollup_days|rollup_sources"))'
    done
    name="export --json on a broken store"
    "$BIN" report export --json --db "$WORK/broken.db" >"$WORK/out" 2>"$WORK/err"
    status=$?
    exits_with 2
    if [[ -s $WORK/out ]]; then ok "$name: JSON printed"; else fail "$name: no JSON"; fi
    expect '.result == "unchecked" and .records == [] and (.error | contains("agg_records"))'
fi

finish "views ($MODE): every view saturates"
