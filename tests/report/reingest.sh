#!/usr/bin/env bash
# Ingesting reports stored already (docs/store.md, "Conflicting duplicates"):
#
#   reingest.sh MAILSEC_BINARY sqlite|pgsql
#
# A corpus in every wrapper (plain, gzip, zip, messages, an mbox) and one
# report larger than what is compared in memory (4 MiB) is ingested, then
# ingested again with two readers: every report a plain duplicate, nothing
# stored twice, nothing set aside. Each report is stored with the SHA-256 of
# what came (its gzip stream, or its document). A report found stored is
# compared by that digest instead of being parsed: with every stored content
# digest changed in the database, the same corpus is still no conflict,
# except the large report, which is parsed (its content digest now differs);
# with every stored original digest changed, each report is parsed and so a
# conflict; with none (a store from before), each is compared with its
# stored original byte for byte, and the corpus is no conflict again.
# A report of the same identity with other content is a conflicting
# duplicate; the same report re-encoded or in another wrapper a plain one;
# with garbage after its metadata, a duplicate too. For PostgreSQL the
# store-pgsql fixture's server is used (MAILSEC_STORE_PG_INFO).
set -uo pipefail
BIN=$1 MODE=$2
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
source tests/lib/json.sh
source tests/lib/store.sh
WORK=$(mktemp -d)
cleanup() {
    store_drop
    rm -rf "$WORK"
}
trap cleanup EXIT
fail() { echo "FAIL - $*"; exit 1; }

store_for "$MODE" reingest "$WORK" || fail "could not make a store for mode $MODE"
sql() {
    if [[ $MODE == sqlite ]]; then sqlite3 "$DB" "$1"; else psql -qtA "$DB" -c "$1"; fi
}

# ingest NAME PATH... [-- OPTION...]: the run's JSON in $WORK/NAME.json, its
# exit status in $status.
ingest() {
    local name=$1
    shift
    "$BIN" report ingest --json --db "$DB" "$@" >"$WORK/$name.json" 2>"$WORK/$name.err"
    status=$?
}
# tally NAME FIELD
tally() { jq ".tally.$2" "$WORK/$1.json"; }
expect_tally() { # NAME EXPR
    json_true ".tally | $2" "$WORK/$1.json" || fail "$1: tally not $2: $(jq -c .tally "$WORK/$1.json" 2>/dev/null) $(cat "$WORK/$1.err")"
}

files_line=$(/usr/bin/python3 bench/report/gen_corpus.py files "$WORK/corpus" --reports 120 --records 30 --seed 3) ||
    fail "could not make the corpus"
/usr/bin/python3 bench/report/gen_corpus.py mbox "$WORK/corpus/all.mbox" --reports 20 --records 30 --seed 4 >/dev/null ||
    fail "could not make the mbox"
/usr/bin/python3 bench/report/gen_corpus.py big "$WORK/corpus/big.xml.gz" --bytes 6M >/dev/null ||
    fail "could not make the large report"
want=$(($(cut -d' ' -f1 <<<"$files_line") + 20 + 1))

ingest first "$WORK/corpus"
((status == 0)) || fail "the first ingest exited $status: $(cat "$WORK/first.err")"
expect_tally first ".reports_new == $want and .failed == 0"
records=$(tally first records)
stored=$(sql "SELECT count(*) FROM reports")
((stored == want)) || fail "the store holds $stored reports, not $want"
[[ $(sql "SELECT count(*) FROM reports WHERE original_digest IS NULL") == 0 ]] ||
    fail "reports stored without their original's digest"

# Again, two readers: all duplicates, nothing stored, nothing set aside.
ingest again "$WORK/corpus" --jobs 2
((status == 0)) || fail "ingesting again exited $status: $(cat "$WORK/again.err")"
expect_tally again ".reports_new == 0 and .duplicates == $want and .conflicting == 0 and .failed == 0 and .records == 0"
[[ $(sql "SELECT count(*) FROM reports") == "$want" ]] || fail "ingesting again changed the number of reports"
[[ $(sql "SELECT count(*) FROM rejected") == 0 ]] || fail "ingesting again set something aside"
[[ $(sql "SELECT count(*) FROM conflicts") == 0 ]] || fail "ingesting again recorded a conflict"
[[ $(sql "SELECT sum(records) FROM reports") == "$records" ]] || fail "the stored records changed"

# One report, and its variants under the same identity.
report() { # COUNT [REPORT_ID]
    cat <<EOF
<?xml version="1.0" encoding="UTF-8"?>
<feedback>
  <report_metadata><org_name>acme.example</org_name><email>d@acme.example</email><report_id>${2:-reingest-1}</report_id><date_range><begin>1700000000</begin><end>1700086400</end></date_range></report_metadata>
  <policy_published><domain>reingest.example</domain><p>none</p></policy_published>
  <record><row><source_ip>192.0.2.1</source_ip><count>$1</count><policy_evaluated><disposition>none</disposition><dkim>pass</dkim><spf>pass</spf></policy_evaluated></row><identifiers><header_from>reingest.example</header_from></identifiers><auth_results><spf><domain>reingest.example</domain><result>pass</result></spf></auth_results></record>
</feedback>
EOF
}
mkdir -p "$WORK"/{one,other,reencoded,gzipped,garbage}
report 1 >"$WORK/one/r.xml"
report 999 >"$WORK/other/r.xml"
report 1 | sed 's/></>\n  </g' >"$WORK/reencoded/r.xml"
report 1 | gzip -9 >"$WORK/gzipped/r.xml.gz"
report 1 | sed '/<record>/,$d' >"$WORK/garbage/r.xml"
printf '<record><<< not XML\n' >>"$WORK/garbage/r.xml"

ingest one "$WORK/one"
expect_tally one ".reports_new == 1"
ingest other "$WORK/other"
((status == 1)) || fail "a conflicting duplicate exited $status, not 1"
expect_tally other ".duplicates == 1 and .conflicting == 1"
[[ $(sql "SELECT count(*) FROM conflicts") == 1 ]] || fail "the conflict was not recorded"
for variant in reencoded gzipped garbage one; do
    ingest "$variant" "$WORK/$variant"
    ((status == 0)) || fail "$variant exited $status: $(cat "$WORK/$variant.err")"
    expect_tally "$variant" ".duplicates == 1 and .conflicting == 0 and .failed == 0"
done
[[ $(sql "SELECT count(*) FROM conflicts") == 1 ]] || fail "a plain duplicate was recorded as a conflict"

# Stored as the gzip stream it came in, and compared as one: the same file
# again is a plain duplicate, another gzip stream of the same identity (its
# first bytes the same) a conflicting one.
mkdir -p "$WORK"/{gzone,gzother}
report 1 reingest-gz | gzip -9 >"$WORK/gzone/r.xml.gz"
report 999 reingest-gz | gzip -9 >"$WORK/gzother/r.xml.gz"
ingest gzone "$WORK/gzone"
expect_tally gzone ".reports_new == 1"
# what came: the gzip stream of one, the document of the other
for sent in gzone/r.xml.gz one/r.xml; do
    id=$(basename "$(dirname "$sent")")
    [[ $id == gzone ]] && id=reingest-gz || id=reingest-1
    [[ $(sql "SELECT original_digest FROM reports WHERE report_id = '$id'") == $(sha256sum <"$WORK/$sent" | cut -d' ' -f1) ]] ||
        fail "$sent: the stored original digest is not the SHA-256 of the file"
done
ingest gzother "$WORK/gzother"
((status == 1)) || fail "a conflicting gzip duplicate exited $status, not 1"
expect_tally gzother ".duplicates == 1 and .conflicting == 1"
ingest gzone-again "$WORK/gzone"
((status == 0)) || fail "the same gzip file again exited $status: $(cat "$WORK/gzone-again.err")"
expect_tally gzone-again ".duplicates == 1 and .conflicting == 0 and .failed == 0"
[[ $(sql "SELECT count(*) FROM conflicts") == 2 ]] || fail "the gzip streams: $(sql "SELECT count(*) FROM conflicts") conflicts, not 2"

# Compared, not parsed: every stored content digest changed, the corpus is
# still no conflict, but for the large report, too large to compare.
sql "UPDATE reports SET digest = 'changed' WHERE kind = 'aggregate'" >/dev/null
ingest tampered "$WORK/corpus" --jobs 2
((status == 1)) || fail "the tampered store's run exited $status, not 1: $(cat "$WORK/tampered.err")"
expect_tally tampered ".duplicates == $want and .conflicting == 1 and .failed == 0"
[[ $(sql "SELECT count(*) FROM conflicts c JOIN reports r ON r.id = c.report WHERE r.records > 10000") == 1 ]] ||
    fail "the conflict is not the large report's"

# Compared by the original's digest: each one changed, every report differs
# from its stored one, is parsed, and conflicts with the changed content
# digest. Then a store from before the digests (none stored): each report is
# compared with its stored original, and again only the large one conflicts.
sql "UPDATE reports SET original_digest = repeat('0', 64) WHERE kind = 'aggregate'" >/dev/null 2>&1 ||
    sql "UPDATE reports SET original_digest = hex(zeroblob(32)) WHERE kind = 'aggregate'" >/dev/null
ingest changed "$WORK/corpus" --jobs 2
((status == 1)) || fail "the store with changed original digests: the run exited $status, not 1"
expect_tally changed ".duplicates == $want and .conflicting == $want and .failed == 0"
sql "UPDATE reports SET original_digest = NULL" >/dev/null
ingest before "$WORK/corpus" --jobs 2
((status == 1)) || fail "the store without original digests: the run exited $status, not 1: $(cat "$WORK/before.err")"
expect_tally before ".duplicates == $want and .conflicting == 1 and .failed == 0"
echo "ok - $want reports ingested again as duplicates ($MODE)"
