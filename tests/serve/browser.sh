#!/usr/bin/env bash
# browser.sh MAILSEC BACKEND OUTDIR: `mailsec serve` over a store (sqlite
# or pgsql) holding ten days of reports and hostile ones (hostile.py),
# every page loaded in a real headless Chromium (cdp.py: no console error,
# no CSP violation, payloads shown as text and never run, screenshots in
# OUTDIR); /api/VIEW equal to `mailsec report VIEW --json`; and the pages
# answering while `report ingest` writes to the store.
set -uo pipefail
bin=$1 backend=$2 outdir=$3
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../lib/store.sh
source "$here/../lib/store.sh"
command -v chromium >/dev/null || { echo "SKIP - chromium is not installed"; exit 77; }

# shellcheck source=serve_lib.sh
source "$here/serve_lib.sh"
test_store "$backend" serve
/usr/bin/python3 "$here/hostile.py" "$WORK/reports" || exit 1
"$bin" report ingest --db "$DB" "$WORK/reports" >"$WORK/ingest.out" 2>&1
rc=$?
((rc <= 1)) || die "ingest exit $rc: $(cat "$WORK/ingest.out")"

serve_start "$bin" "$DB" http || exit 1
grep -q "listening on $base/" "$WORK/serve.out" || die "the server says it listens elsewhere: $(cat "$WORK/serve.out")"

# The ids the pages link to.
"$bin" report list --json --db "$DB" >"$WORK/list.json"
failure_id=$(jq -r '[.results[] | select(.kind == "failure")][0].id' "$WORK/list.json")
hostile_id=$(jq -r '[.results[] | select(.kind == "aggregate" and (.org | contains("EvilOrg")))][0].id' "$WORK/list.json")
tls_id=$(jq -r '[.results[] | select(.kind == "tls")][0].id' "$WORK/list.json")

# The pages, and the text each must show (payload markers as text).
P=$WORK/payloads.json
cp "$WORK/reports/payloads.json" "$P"
jq -n --slurpfile p "$P" --arg f "$failure_id" --arg h "$hostile_id" --arg t "$tls_id" '$p[0] as $p | [
  {name: "overview", path: "/", charts: 2, text: ["example.com", "Receiver Inc.", ($p.org | .[0:40])]},
  {name: "domain", path: "/domain?domain=example.com", charts: 3,
   text: ["p=quarantine", "p=reject", "198.51.100.7", "spoofing", $p.spf_domain, $p.dkim_domain]},
  {name: "domain-window", path: "/domain?domain=example.com&since=2023-11-19&until=2023-11-21", charts: 3,
   text: ["p=quarantine"]},
  {name: "source", path: "/source?domain=example.com&ip=198.51.100.7", charts: 1,
   text: ["spoofing", "155: 0 aligned, 0 unaligned, 155 failing"]},
  {name: "source-hostile", path: "/source?domain=example.com&ip=198.51.100.66", charts: 1,
   text: [$p.header_from, $p.dkim_domain, $p.spf_domain]},
  {name: "failures", path: "/failures", text: ["198.51.100.7", "dmarc"]},
  {name: "failure-report", path: ("/report?id=" + $f), text: [$p.subject, "window.__pwned=13"]},
  {name: "hostile-report", path: ("/report?id=" + $h), text: [$p.report_id, $p.header_from, "\\u202e"]},
  {name: "tls", path: "/tls", charts: 2, text: ["certificate-expired", $p.tls_mx, $p.tls_org]},
  {name: "tls-report", path: ("/report?id=" + $t), text: [$p.tls_org]},
  {name: "not-found", path: "/nowhere", status: 404, text: ["No such page."]},
  {name: "bad-date", path: "/?since=<script>", status: 400, text: ["since is not a date"]}
]' >"$WORK/pages.json"
# cdp.py prints a line for each page, counted here as one check.
if /usr/bin/python3 "$here/cdp.py" "$base" "$outdir" "$WORK/pages.json"; then
    ok "every page in Chromium as it should be"
else
    fail "pages in Chromium: see above"
fi

# /api/VIEW is the document `mailsec report VIEW --json` prints.
for view in summary sources list failures tls "show?id=$hostile_id"; do
    name=${view%%\?*}
    args=(--db "$DB")
    [[ $name == sources ]] && args+=(--no-rdns)
    [[ $name == show ]] && args+=("$hostile_id")
    "$bin" report "$name" --json "${args[@]}" | jq -S . >"$WORK/cli.json"
    curl -fsS "$base/api/$view" | jq -S . >"$WORK/api.json"
    if [[ -s $WORK/api.json ]] && cmp -s "$WORK/cli.json" "$WORK/api.json"; then
        ok "/api/$view equals report $name --json"
    else
        fail "/api/$view differs from report $name --json"; diff "$WORK/cli.json" "$WORK/api.json" | head -20
    fi
done
if curl -fsS "$base/api/summary?domain=example.com&since=2023-11-19" | jq -e '.results | length == 1' >/dev/null; then
    ok "/api/summary takes the selection"
else
    fail "/api/summary?domain=...&since=..."
fi

# The store is read while an ingest writes to it: every request answers.
/usr/bin/python3 "$here/hostile.py" "$WORK/bulk" 300
"$bin" report ingest --db "$DB" "$WORK/bulk" >"$WORK/bulk.out" 2>&1 &
ingest=$!
codes=()
while kill -0 "$ingest" 2>/dev/null; do
    codes+=("$(curl -s -o /dev/null -w '%{http_code}' "$base/domain?domain=bulk.example")")
done
if wait "$ingest"; then ok "the bulk ingest"; else fail "the bulk ingest failed: $(tail -3 "$WORK/bulk.out")"; fi
bad=$(printf '%s\n' "${codes[@]}" | grep -vc '^200$')
if ((bad == 0)); then
    ok "${#codes[@]} pages answered 200 during the ingest"
else
    fail "$bad of ${#codes[@]} pages during the ingest were not 200: $(printf '%s ' "${codes[@]}" | head -c 300)"
fi
messages=$(curl -fsS "$base/api/summary?domain=bulk.example" | jq '.results[0].messages')
if [[ $messages == 3000 ]]; then
    ok "the ingested reports are all shown after it"
else
    fail "bulk.example shows $messages messages, expected 3000"
fi

if curl -fsS "$base/domain?domain=bulk.example" | grep -q "And 230 other sources sending"; then
    ok "a domain's page lists the top 20 of 250 sources and sums the others"
else
    fail "the domain page does not sum the sources beyond the top 20"
fi

serve_stop
finish "browser ($backend)"
