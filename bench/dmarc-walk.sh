#!/usr/bin/env bash
# How much of `mailsec dmarc check` happens in parallel.
#
#   bench/dmarc-walk.sh [MAILSEC_BINARY] [DELAY_MS] [RUNS]
#
# Starts the DNS test bed (tests/dnsbed), puts bench/dnsdelay in front of it
# so every answer takes DELAY_MS (default 100), and times, for names of 3,
# 5 and 10 labels:
#   - mailsec dmarc check NAME (whole process, median of RUNS, default 5);
#   - the same lookups made one after another with kdig, as a postmaster
#     checking by hand (or a tool that walks sequentially) would.
# Prints a table: queries, round trips the work needs (the tree walk is one,
# the report destinations a second), wall times and the ratio.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
bin=${1:-$here/../build/src/mailsec}
delay=${2:-100}
runs=${3:-5}
work=$(mktemp -d)
cleanup() {
    [[ -n ${relay_pid:-} ]] && kill "$relay_pid" 2>/dev/null || true
    bash "$here/../tests/dnsbed/dnsbed.sh" stop "$work/info" >/dev/null 2>&1 || true
    rm -rf "$work"
}
trap cleanup EXIT

cc -O2 -o "$work/dnsdelay" "$here/dnsdelay.c"
bash "$here/../tests/dnsbed/dnsbed.sh" start "$work/info" >/dev/null
. "$work/info"
relay_port=$((PORT + 1))
"$work/dnsdelay" "$relay_port" "$PORT" "$delay" >"$work/relay.log" &
relay_pid=$!
sleep 0.3
dns=(--resolver "127.0.0.1@$relay_port" --trust-anchor "$TRUST_ANCHOR" --timeout 10)

ms_now() { date +%s%3N; }
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

time_runs() {   # command...: median wall ms over $runs runs
    for _ in $(seq "$runs"); do
        local t0 t1
        t0=$(ms_now); "$@" >/dev/null 2>&1 || true; t1=$(ms_now)
        echo $((t1 - t0))
    done | median
}

# The lookups `dmarc check` makes, one at a time: the walk's names, the TXT
# at the name itself, then the MX of the report destination.
sequential_walk() {
    local name=$1 labels n
    labels=$(awk -F. '{print NF}' <<<"$name")
    local names=("$name")
    n=$((labels >= 8 ? 7 : labels - 1))
    for ((l = n; l >= 1; l--)); do names+=("$(awk -F. -v l="$l" '{s=$(NF-l+1); for(i=NF-l+2;i<=NF;i++) s=s"."$i; print s}' <<<"$name")"); done
    for x in "${names[@]}"; do kdig @127.0.0.1 -p "$relay_port" +short "_dmarc.$x" TXT >/dev/null; done
    kdig @127.0.0.1 -p "$relay_port" +short "$name" TXT >/dev/null
    kdig @127.0.0.1 -p "$relay_port" +short example.com MX >/dev/null
}

printf '%-30s %7s %7s %12s %14s %8s\n' name queries rounds "mailsec ms" "sequential ms" ratio
for name in f.g.h.example.com a.b.c.d.e.f.g.h.example.com x.corp.example.com; do
    labels=$(awk -F. '{print NF}' <<<"$name")
    queries=$(( (labels >= 8 ? 8 : labels) + 2 ))
    ours=$(time_runs "$bin" dmarc check "${dns[@]}" "$name")
    seq=$(time_runs sequential_walk "$name")
    printf '%-30s %7d %7d %12d %14d %8.2f\n' "$name" "$queries" 2 "$ours" "$seq" \
        "$(echo "$seq / $ours" | bc -l)"
done
echo "(delay ${delay} ms per answer; 2 rounds = $((2 * delay)) ms is the floor for mailsec)"
