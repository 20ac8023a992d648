#!/usr/bin/env bash
# pages.sh MAILSEC: the /failures and /tls pages of `mailsec serve` over a
# store of 60,000 failure reports and 60,000 TLS reports (docs/serve.md):
# each page lists the newest 500 of its kind, newest first, says that
# there are more, and the server's peak memory stays bounded (64 MiB),
# whatever the store holds. The reports are one of each ingested, then
# copied with SQL under new identities (ingesting 120,000 files would take
# minutes; the pages read the same rows either way).
set -uo pipefail
bin=$1
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=serve_lib.sh
source "$here/serve_lib.sh"
COPIES=60000
RSS_LIMIT_KB=$((64 * 1024))

db=$WORK/reports.db
cp "$here/../fuzz/corpus/report_tlsrpt/google-style.json" "$WORK/tls.json"
"$bin" report ingest --db "$db" "$here/../data/reports/failure/rfc6591-message.eml" "$WORK/tls.json" \
    >"$WORK/ingest.out" 2>&1 || die "could not make the store: $(cat "$WORK/ingest.out")"
# Copies of each stored report under new identities, one day apart each,
# the newest beyond the originals'.
sqlite3 "$db" <<SQL || die "could not copy the reports"
BEGIN;
CREATE TEMP TABLE n AS WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < $COPIES)
  SELECT i FROM c;
INSERT INTO reports (kind, org, report_id, domain, date_begin, date_end, origin, records, messages, ingested_at)
  SELECT r.kind, r.org, r.report_id || '-copy-' || n.i, r.domain, 1800000000 + n.i * 86400,
         1800000000 + n.i * 86400 + 3600, r.origin, r.records, r.messages, r.ingested_at
  FROM reports r, n WHERE r.kind IN ('failure', 'tls');
INSERT INTO failure_reports (report, message_key, reported_domain, source_ip, arrival_time, auth_failure,
                             incidents, has_feedback_part, has_original_part)
  SELECT r.id, '<copy-' || r.id || '@x>', f.reported_domain, f.source_ip, r.date_begin, f.auth_failure,
         f.incidents, f.has_feedback_part, f.has_original_part
  FROM reports r JOIN reports o ON o.kind = 'failure' AND o.id <> r.id AND o.report_id NOT LIKE '%-copy-%'
  JOIN failure_reports f ON f.report = o.id WHERE r.kind = 'failure' AND r.report_id LIKE '%-copy-%';
INSERT INTO tls_policies (report, policy_type, policy_domain, policy_string, mx_host, successful, failed)
  SELECT r.id, p.policy_type, p.policy_domain, p.policy_string, p.mx_host, p.successful, p.failed
  FROM reports r JOIN reports o ON o.kind = 'tls' AND o.report_id NOT LIKE '%-copy-%'
  JOIN tls_policies p ON p.report = o.id WHERE r.kind = 'tls' AND r.report_id LIKE '%-copy-%';
COMMIT;
SQL
for kind in failure tls; do
    n=$(sqlite3 "$db" "SELECT COUNT(*) FROM reports WHERE kind = '$kind'")
    if ((n == COPIES + 1)); then
        ok "$kind reports in the store: $n"
    else
        fail "$kind reports in the store: $n, want $((COPIES + 1))"
    fi
done

serve_start "$bin" "$db" http || exit 1

# page PATH KIND: the page's report rows are the 500 newest of KIND.
page() {
    local path=$1 kind=$2 file=$WORK/page.html
    local code
    code=$(curl -s -m 120 -o "$file" -w '%{http_code}' "http://127.0.0.1:$port$path")
    [[ $code == 200 ]] || { fail "$path: HTTP $code"; return; }
    local want
    want=$(sqlite3 "$db" "SELECT GROUP_CONCAT(id, ' ') FROM (SELECT id FROM reports WHERE kind = '$kind'
                          ORDER BY date_begin DESC, id DESC LIMIT 500)")
    local got
    got=$(grep -o 'href="/report?id=[0-9]*"' "$file" | grep -o '[0-9]*' | tr '\n' ' ' | sed 's/ $//')
    [[ $got == "$want" ]] && ok "$path: the newest 500 $kind reports, newest first" ||
        fail "$path: rows $(echo "$got" | wc -w), first $(echo "$got" | cut -d' ' -f1-3), want first $(echo "$want" | cut -d' ' -f1-3)"
    grep -q "The newest 500 reports of this selection are shown" "$file" && ok "$path: says there are more" ||
        fail "$path: does not say there are more"
}
page /failures failure
page /tls tls
page "/failures?domain=example.com" failure

# (not judged under ASan, MAILSEC_TEST_NO_RSS: freed memory stays in its
# quarantine)
peak=$(awk '/^VmHWM:/ { print $2 }' "/proc/$pid/status")
if [[ -z ${MAILSEC_TEST_NO_RSS:-} ]]; then
    ((peak <= RSS_LIMIT_KB)) && ok "server peak RSS ${peak} kB (limit $RSS_LIMIT_KB)" ||
        fail "server peak RSS ${peak} kB, over $RSS_LIMIT_KB"
fi

serve_stop
finish "pages ($COPIES copies of each kind)"
