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
#      their latencies, and the dependency depth in round trips (3: SPF's
#      TXT -> MX -> A, MX's MX -> A/AAAA, DMARC's walk -> destination MX);
#   2. all DOMAINS with --concurrency CONCURRENCY (default 50): audits per
#      second and queries per audit.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
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

start_relay() {
    "$work/dnsdelay" "$relay_port" "$PORT" "$delay" >"$work/relay.log" &
    relay_pid=$!
    sleep 0.2
}
stop_relay() {   # prints the relay's query count
    kill "$relay_pid"; wait "$relay_pid" 2>/dev/null || true; relay_pid=
    sed -n 's/^dnsdelay: \([0-9]*\) queries/\1/p' "$work/relay.log"
}
ms_now() { date +%s%3N; }
dns=(--resolver "127.0.0.1@$relay_port" --trust-anchor /dev/null --timeout 10 --selector s1)

start_relay
"$bin" audit "${dns[@]}" --json d1.bench.example >/dev/null || true
single_queries=$(stop_relay)
start_relay
times=()
for _ in 1 2 3 4 5; do
    t0=$(ms_now); "$bin" audit "${dns[@]}" --json d1.bench.example >/dev/null || true; t1=$(ms_now)
    times+=($((t1 - t0)))
done
stop_relay >/dev/null
single=$(printf '%s\n' "${times[@]}" | sort -n | sed -n 3p)
times=()
for _ in 1 2 3 4 5; do
    t0=$(ms_now); "$bin" --version >/dev/null; t1=$(ms_now)
    times+=($((t1 - t0)))
done
startup=$(printf '%s\n' "${times[@]}" | sort -n | sed -n 3p)

start_relay
t0=$(ms_now)
"$bin" audit "${dns[@]}" --concurrency "$concurrency" --format csv -f "$work/domains.txt" >"$work/all.csv" || true
t1=$(ms_now)
all_queries=$(stop_relay)
rows=$(grep -c '^"d' "$work/all.csv" || true)

echo "one audit (delay ${delay} ms per answer)"
printf '  wall time (median of 5)      %6d ms\n' "$single"
printf '  queries                      %6d\n' "$single_queries"
printf '  sum of their latencies       %6d ms\n' $((single_queries * delay))
printf '  dependency depth             %6d round trips = %d ms\n' 3 $((3 * delay))
printf '  process start-up (--version) %6d ms\n' "$startup"
printf '  (wall - start-up) / depth    %6.2f\n' "$(echo "($single - $startup) / (3 * $delay)" | bc -l)"
printf '  sum of latencies / wall      %6.2f (parallelism)\n' "$(echo "$single_queries * $delay / $single" | bc -l)"
echo "$count audits, --concurrency $concurrency"
printf '  wall time                    %6d ms\n' $((t1 - t0))
printf '  audits per second            %6.1f\n' "$(echo "$count * 1000 / ($t1 - $t0)" | bc -l)"
printf '  queries per audit            %6.1f\n' "$(echo "$all_queries / $count" | bc -l)"
printf '  CSV rows (findings)          %6d\n' "$rows"
