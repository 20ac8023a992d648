#!/usr/bin/env bash
# `mailsec dmarc advise` on a big store: wall time and peak RSS.
#
#   bench/advise.sh [BIN] [RECORDS] [SOURCES]
#
# Builds a SQLite store of RECORDS aggregate records (default 10,000,000)
# for one domain of the DNS test bed (ready.advisetest.example, whose record
# the test bed publishes): 90 days, four reporters a day, the records spread
# over SOURCES distinct sending IPs (default 20,000), written as gzip'd
# reports and stored with `mailsec report ingest`, the way users fill a
# store. Then BENCH_RUNS runs (default 5) of `dmarc advise --no-rdns` (the
# reverse DNS is not what is measured), the median wall time and the peak
# RSS (/usr/bin/time -f %M) printed. The target: under one second on 10
# million records. The store is kept in BENCH_DIR when set (to run again
# without generating: the generation of 10 million records takes minutes).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
. bench/lib.sh

BIN=${1:-build/src/mailsec}
RECORDS=${2:-10000000}
SOURCES=${3:-20000}
RUNS=${BENCH_RUNS:-5}
DIR=${BENCH_DIR:-$(mktemp -d)}
DOMAIN=ready.advisetest.example
BED=$DIR/dnsbed.info
cleanup() {
    bash tests/dnsbed/dnsbed.sh stop "$BED" >/dev/null 2>&1 || true
    [[ -n ${BENCH_DIR:-} ]] || rm -rf "$DIR"
}
trap cleanup EXIT

echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg) ($(nproc) CPUs)"
if [[ ! -f $DIR/reports.db ]]; then
    t0=$(ms_now)
    /usr/bin/python3 - "$DIR/reports" "$DOMAIN" "$RECORDS" "$SOURCES" <<'EOF'
import gzip, os, sys, time
out, domain, records, sources = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
os.makedirs(out, exist_ok=True)
DAY, DAYS = 86400, 90
reporters = ["google.com", "Yahoo", "Enterprise Outlook", "mail.ru"]
today = int(time.time()) // DAY * DAY
per_report = max(1, records // (DAYS * len(reporters)))
ip_n = 0
for back in range(DAYS, 0, -1):
    begin = today - back * DAY
    for org in reporters:
        rid = "%s-%d" % (org.split()[0].lower(), begin)
        with gzip.open(os.path.join(out, rid + ".xml.gz"), "wt", compresslevel=1) as f:
            f.write('<?xml version="1.0"?><feedback><report_metadata><org_name>%s</org_name>'
                    '<email>d@r.example</email><report_id>%s</report_id><date_range><begin>%d</begin>'
                    '<end>%d</end></date_range></report_metadata><policy_published><domain>%s</domain>'
                    '<p>none</p></policy_published>' % (org, rid, begin, begin + DAY - 1, domain))
            for i in range(per_report):
                ip_n = (ip_n + 1) % sources
                ip = "10.%d.%d.%d" % (ip_n >> 16 & 255, ip_n >> 8 & 255, ip_n & 255)
                kind = ip_n % 20
                if kind < 17:   # the domain's own, aligned
                    ev, auth = ("pass", "pass"), (domain, "pass", domain, "pass")
                elif kind < 18: # a service signing with its own domain
                    ev, auth = ("fail", "fail"), ("esp.example", "pass", "esp.example", "pass")
                else:           # spoofing
                    ev, auth = ("fail", "fail"), (domain, "fail", domain, "fail")
                f.write('<record><row><source_ip>%s</source_ip><count>%d</count><policy_evaluated>'
                        '<disposition>none</disposition><dkim>%s</dkim><spf>%s</spf></policy_evaluated></row>'
                        '<identifiers><header_from>%s</header_from></identifiers><auth_results><dkim>'
                        '<domain>%s</domain><result>%s</result></dkim><spf><domain>%s</domain><result>%s'
                        '</result></spf></auth_results></record>'
                        % (ip, 1 + i % 7, ev[0], ev[1], domain, *auth))
            f.write("</feedback>\n")
EOF
    t1=$(ms_now)
    "$BIN" report ingest --db "$DIR/reports.db" "$DIR/reports" >"$DIR/ingest.log" 2>&1 ||
        { echo "ingest failed: $(tail -3 "$DIR/ingest.log")"; exit 1; }
    t2=$(ms_now)
    rm -rf "$DIR/reports"
    echo "store: $RECORDS records over $SOURCES sources generated in $(((t1 - t0) / 1000)) s, ingested in $(((t2 - t1) / 1000)) s"
fi
echo "store size: $(du -h "$DIR/reports.db" | cut -f1)"

bash tests/dnsbed/dnsbed.sh start "$BED" >/dev/null
DNS=(--resolver "$(sed -n 's/^RESOLVER=//p' "$BED")" --trust-anchor "$(sed -n 's/^TRUST_ANCHOR=//p' "$BED")")
times=()
for ((i = 0; i < RUNS; i++)); do
    times+=("$(timed_run "$DIR/advise.out" "$BIN" dmarc advise --db "$DIR/reports.db" "${DNS[@]}" --no-rdns --json "$DOMAIN")")
done
rss=$( (/usr/bin/time -f %M "$BIN" dmarc advise --db "$DIR/reports.db" "${DNS[@]}" --no-rdns --json "$DOMAIN" 2>&1 >/dev/null || true) | tail -1)
echo "dmarc advise: runs (ms) ${times[*]}; median $(printf '%s\n' "${times[@]}" | grep -v failed | median) ms; peak RSS ${rss} KiB"
echo "advice: $(jq -c '.results[0] | {action, step: .step.name, messages: ([.criteria[] | select(.name == "messages")][0].value), blockers: (.blockers | length)}' "$DIR/advise.out")"
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
