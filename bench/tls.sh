#!/usr/bin/env bash
# bench/tls.sh [BIN]: `mailsec tls check` on all eight ports of the local
# mail test bed (tests/mailbed: Postfix 25/587/465, Dovecot 143/993/110/995/
# 4190 on high ports) in one run, against `openssl s_client` once per port
# in sequence (-starttls where the port needs it), which is what the seed's
# manual check does. Prints wall times and the ratio; judges nothing.
#
# Two mailsec rows: the full check (per port: the main session, the
# STARTTLS injection test, one handshake per TLS version 1.0-1.3, i.e. up to
# six connections) and --no-versions --no-injection (one session per port,
# the same work as s_client). Needs root (the bed starts Postfix).
#
# Each mailsec time is the median of BENCH_RUNS runs (default 5): on a
# small shared machine one run says more about the neighbours than about
# mailsec. The s_client row is one sequence, as before.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
BIN=${1:-$HERE/../build/src/mailsec}
[[ -x $BIN ]] || { echo "bench/tls.sh: no mailsec at $BIN (give the binary as the first argument)" >&2; exit 2; }

WORK=$(mktemp -d)
INFO=$WORK/mailbed.info
cleanup() { bash "$HERE/../tests/mailbed/mailbed.sh" stop "$INFO" >/dev/null 2>&1 || true; rm -rf "$WORK"; }
trap cleanup EXIT
bash "$HERE/../tests/mailbed/mailbed.sh" start "$INFO" >/dev/null
while IFS='=' read -r key value; do
    [[ $key =~ ^[A-Z0-9_]+$ ]] && printf -v "$key" '%s' "$value"
done <"$INFO"

# port/mode pairs as mailsec takes them, and s_client's -starttls for each
PORTS=("$SMTP_PORT/smtp" "$SUBMISSION_PORT/smtp" "$SMTPS_PORT/tls" "$IMAP_PORT/imap"
       "$IMAPS_PORT/tls" "$POP3_PORT/pop3" "$POP3S_PORT/tls" "$SIEVE_PORT/sieve")
ARGS=()
for p in "${PORTS[@]}"; do ARGS+=(--port "$p"); done

now() { date +%s.%N; }
elapsed() { echo "$2 - $1" | bc; }
RUNS=${BENCH_RUNS:-5}
# median_time OUT ARGS...: the median wall time of RUNS runs of mailsec
# ARGS; the last run's stdout goes to OUT
median_time() {
    local out=$1 t0 t1
    shift
    for _ in $(seq "$RUNS"); do
        t0=$(now)
        "$BIN" "$@" >"$out" || true
        t1=$(now)
        elapsed "$t0" "$t1"
    done | sort -n | awk '{ t[NR] = $1 } END { print t[int((NR + 1) / 2)] }'
}

# one warm-up of everything (Dovecot's login processes, the page cache)
"$BIN" tls check 127.0.0.1 --servername "$SERVERNAME" --ca "$CA" "${ARGS[@]}" --json >/dev/null || true

full=$(median_time "$WORK/full.json" tls check 127.0.0.1 --servername "$SERVERNAME" --ca "$CA" "${ARGS[@]}" --json)
light=$(median_time "$WORK/light.json" tls check 127.0.0.1 --servername "$SERVERNAME" --ca "$CA" "${ARGS[@]}" \
    --no-versions --no-injection --json)

# each port checked alone, one process each: the slowest is the target
slowest_alone=0 slowest_alone_port=
for p in "${PORTS[@]}"; do
    t=$(median_time /dev/null tls check 127.0.0.1 --servername "$SERVERNAME" --ca "$CA" --port "$p" --json)
    if (($(echo "$t > $slowest_alone" | bc))); then slowest_alone=$t slowest_alone_port=$p; fi
done

t0=$(now)
for p in "${PORTS[@]}"; do
    port=${p%/*} mode=${p#*/}
    starttls=()
    [[ $mode != tls ]] && starttls=(-starttls "$mode")
    timeout 20 openssl s_client -connect "127.0.0.1:$port" -servername "$SERVERNAME" -CAfile "$CA" \
        "${starttls[@]}" </dev/null >/dev/null 2>&1 || true
done
t1=$(now)
sclient=$(elapsed "$t0" "$t1")

slowest=$(jq '[.results[0].ports[].seconds] | max' "$WORK/full.json")
slowest_light=$(jq '[.results[0].ports[].seconds] | max' "$WORK/light.json")
tls_ports=$(jq '[.results[0].ports[] | select(.state == "tls")] | length' "$WORK/full.json")

echo "mailsec tls check: 8 ports of the local Postfix + Dovecot ($tls_ports with TLS), median of $RUNS runs"
printf '%-52s %8s s\n' "mailsec, full check (all ports at once)" "$(printf '%.3f' "$full")"
printf '%-52s %8s s\n' "  its slowest port alone (from the JSON)" "$(printf '%.3f' "$slowest")"
printf '%-52s %8s s\n' "mailsec --no-versions --no-injection" "$(printf '%.3f' "$light")"
printf '%-52s %8s s\n' "  its slowest port alone" "$(printf '%.3f' "$slowest_light")"
printf '%-52s %8s s\n' "openssl s_client, once per port, in sequence" "$(printf '%.3f' "$sclient")"
printf '%-52s %8s\n' "ratio s_client / mailsec full" "$(echo "scale=2; $sclient / $full" | bc)"
printf '%-52s %8s\n' "ratio s_client / mailsec one session per port" "$(echo "scale=2; $sclient / $light" | bc)"
printf '%-52s %8s s\n' "mailsec, full check of the slowest port alone ($slowest_alone_port)" "$(printf '%.3f' "$slowest_alone")"
printf '%-52s %8s\n' "ratio mailsec full, 8 ports / slowest port alone" "$(echo "scale=2; $full / $slowest_alone" | bc)"
echo
echo "per port (full check): port mode seconds"
jq -r '.results[0].ports[] | "  \(.port) \(.mode) \(.seconds * 1000 | floor) ms"' "$WORK/full.json"
