#!/usr/bin/env bash
# bench/serve.sh [BIN] [DOMAINS] [DAYS] [SECONDS]: the dashboard under load.
# Makes a SQLite store of DOMAINS domains x DAYS days of aggregate reports
# (one report a day per domain, 20 records each; defaults 20 x 90), starts
# `mailsec serve` on a loopback high port, and runs wrk with 50 concurrent
# connections for SECONDS (default 10) on the overview page, then on one
# domain's page: requests per second and latency percentiles (wrk
# --latency). Loopback only; bounded by SECONDS. Prints the machine's load
# average before and after, since other work on it shows in the numbers.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bin=${1:-$root/build/src/mailsec}
domains=${2:-20} days=${3:-90} seconds=${4:-10}
# shellcheck source=../tests/lib/servers.sh
source "$root/tests/lib/servers.sh"
command -v wrk >/dev/null || { echo "wrk is not installed (scripts/deps.txt, bench line)"; exit 1; }
work=$(mktemp -d)
pid=
trap '[[ -n $pid ]] && kill "$pid" 2>/dev/null; rm -rf "$work"' EXIT

/usr/bin/python3 - "$work/reports" "$domains" "$days" <<'PY'
import os, sys
out, domains, days = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
os.makedirs(out)
start = 1700006400
for d in range(domains):
    for day in range(days):
        begin = start + day * 86400
        recs = "".join(
            f"<record><row><source_ip>198.51.{d}.{r}</source_ip><count>{10 + r}</count><policy_evaluated>"
            f"<disposition>none</disposition><dkim>{'pass' if r % 7 else 'fail'}</dkim><spf>{'pass' if r % 5 else 'fail'}</spf>"
            f"</policy_evaluated></row><identifiers><header_from>d{d}.example</header_from></identifiers>"
            f"<auth_results><spf><domain>d{d}.example</domain><result>pass</result></spf></auth_results></record>"
            for r in range(20))
        with open(f"{out}/d{d}-{day}.xml", "w") as f:
            f.write(f"<feedback><report_metadata><org_name>Reporter {day % 3}</org_name><email>r@x.example</email>"
                    f"<report_id>d{d}-{day}</report_id><date_range><begin>{begin}</begin><end>{begin + 86399}</end>"
                    f"</date_range></report_metadata><policy_published><domain>d{d}.example</domain>"
                    f"<p>{'none' if day < days // 2 else 'quarantine'}</p></policy_published>{recs}</feedback>")
PY
"$bin" report ingest --db "$work/reports.db" "$work/reports" >/dev/null
echo "store: $domains domains x $days days, $((domains * days)) reports, $((domains * days * 20)) records (SQLite)"

port=$(free_port)
"$bin" serve --db "$work/reports.db" --listen "127.0.0.1:$port" >"$work/serve.out" 2>&1 &
pid=$!
for _ in $(seq 100); do grep -q listening "$work/serve.out" && break; sleep 0.1; done
base=http://127.0.0.1:$port
echo "machine: $(nproc) CPUs, load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
for path in / "/domain?domain=d0.example"; do
    size=$(curl -fsS "$base$path" | wc -c)
    echo
    echo "== $path ($size bytes), 50 connections, ${seconds}s"
    wrk -t2 -c50 -d"${seconds}s" --latency --timeout 10s "$base$path" |
        grep -E 'Requests/sec|Latency|50%|75%|90%|99%|requests in|Non-2xx|Socket errors'
done
echo
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
