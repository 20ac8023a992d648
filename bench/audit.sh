#!/usr/bin/env bash
# How parallel `mailsec audit` is, and how fast over many domains.
#
#   bench/audit.sh [MAILSEC_BINARY] [DOMAINS] [DELAY_MS] [CONCURRENCY]
#
# Generates DOMAINS (default 1000) test domains, each with MX (one host with
# A and AAAA), SPF "v=spf1 mx -all", DMARC with a report address, TLS-RPT
# and a DKIM key, serves them from NSD (tests/dnsbed) behind bench/dnsdelay
# holding every answer DELAY_MS (default 50), and measures:
#   1. one audit: median wall time of 5 runs, the queries it sends, the sum of
#      their latencies, and the dependency depth in round trips, as the relay
#      saw them (queries that waited for an answer come a round later; the
#      zone's data needs 3: SPF's TXT -> MX -> A, MX's MX -> A/AAAA, DMARC's
#      walk -> destination MX);
#   2. all DOMAINS with --concurrency CONCURRENCY (default 50): audits per
#      second and queries per audit.
# A run that fails (exit status 2 or more) is reported as failed and left
# out of the times.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
bin=${1:-$here/../build/src/mailsec}
count=${2:-1000}
delay=${3:-50}
concurrency=${4:-50}
work=$(mktemp -d)
relay_pid=
cleanup() {
    [[ -n $relay_pid ]] && kill "$relay_pid" 2>/dev/null || true
    MAILSEC_DNSBED_ZONES=$work/zones bash "$here/../tests/dnsbed/dnsbed.sh" stop "$work/info" >/dev/null 2>&1 || true
    rm -rf "$work"
}
trap cleanup EXIT

mkdir -p "$work/zones"
cp "$here/../tests/dnsbed/zones/example.zone" "$work/zones/"
{
    printf '$TTL 300\n@ SOA ns1.bench.example. h.bench.example. 1 3600 600 86400 60\n@ NS ns1\nns1 A 127.0.0.1\n'
    for i in $(seq "$count"); do
        printf 'd%d MX 10 mail.d%d\nmail.d%d A 192.0.2.1\nmail.d%d AAAA 2001:db8::1\n' "$i" "$i" "$i" "$i"
        printf 'd%d TXT "v=spf1 mx -all"\n_dmarc.d%d TXT "v=DMARC1; p=reject; rua=mailto:dmarc@d%d.bench.example"\n' "$i" "$i" "$i"
        printf '_smtp._tls.d%d TXT "v=TLSRPTv1; rua=mailto:tls@d%d.bench.example"\n' "$i" "$i"
        printf 's1._domainkey.d%d TXT "v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo="\n' "$i"
    done
} >"$work/zones/bench.example.zone"
seq "$count" | sed 's/^/d/; s/$/.bench.example/' >"$work/domains.txt"
: >"$work/zones/signing.conf"

cc -O2 -o "$work/dnsdelay" "$here/dnsdelay.c"
MAILSEC_DNSBED_ZONES=$work/zones bash "$here/../tests/dnsbed/dnsbed.sh" start "$work/info" >/dev/null
. "$work/info"
relay_port=$((PORT + 1))

"$work/dnsdelay" "$relay_port" "$PORT" "$delay" >"$work/relay.log" &
relay_pid=$!
sleep 0.2
dns=(--resolver "127.0.0.1@$relay_port" --trust-anchor /dev/null --timeout 10 --selector s1)

# One audit, 5 times: wall time, and the queries and rounds the relay saw.
times=() queries=() rounds=() failed=0
for _ in 1 2 3 4 5; do
    mark=$(relay_lines "$work/relay.log")
    t=$(timed_run "$work/one.json" "$bin" audit "${dns[@]}" --json d1.bench.example)
    if [[ $t == failed* ]]; then
        failed=$((failed + 1))
        echo "one audit $t: $(head -c 300 "$work/one.json")" >&2
        continue
    fi
    times+=("$t")
    queries+=("$(relay_queries "$work/relay.log" "$mark")")
    rounds+=("$(relay_rounds "$work/relay.log" "$mark" "$delay")")
done
single=$(printf '%s\n' "${times[@]}" | median)
single_queries=$(printf '%s\n' "${queries[@]}" | median)
depth=$(printf '%s\n' "${rounds[@]}" | median)
times=()
for _ in 1 2 3 4 5; do
    times+=("$(timed_run /dev/null "$bin" --version)")
done
startup=$(printf '%s\n' "${times[@]}" | grep -v failed | median)

mark=$(relay_lines "$work/relay.log")
all=$(timed_run "$work/all.csv" "$bin" audit "${dns[@]}" --concurrency "$concurrency" --format csv -f "$work/domains.txt")
all_queries=$(relay_queries "$work/relay.log" "$mark")
rows=$(grep -c '^"d' "$work/all.csv" || true)

echo "one audit (delay ${delay} ms per answer)"
if [[ -z $single ]]; then
    echo "  failed: all 5 runs"
else
    printf '  wall time (median of %d)     %6d ms\n' $((5 - failed)) "$single"
    ((failed == 0)) || printf '  failed runs (left out)       %6d\n' "$failed"
    printf '  queries                      %6d\n' "$single_queries"
    printf '  sum of their latencies       %6d ms\n' $((single_queries * delay))
    printf '  dependency depth (observed)  %6d round trips = %d ms\n' "$depth" $((depth * delay))
    printf '  process start-up (--version) %6d ms\n' "$startup"
    ((depth > 0)) &&
        printf '  (wall - start-up) / depth    %6.2f\n' "$(echo "($single - $startup) / ($depth * $delay)" | bc -l)"
    printf '  sum of latencies / wall      %6.2f (parallelism)\n' "$(echo "$single_queries * $delay / $single" | bc -l)"
fi
echo "$count audits, --concurrency $concurrency"
if [[ $all == failed* ]]; then
    echo "  $all: $(head -c 300 "$work/all.csv")"
else
    printf '  wall time                    %6d ms\n' "$all"
    printf '  audits per second            %6.1f\n' "$(echo "$count * 1000 / $all" | bc -l)"
    printf '  queries per audit            %6.1f\n' "$(echo "$all_queries / $count" | bc -l)"
    printf '  CSV rows (findings)          %6d\n' "$rows"
fi
