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
# Prints a table: the queries mailsec sent and the round trips they needed
# one after another, both as the relay saw them (medians over the runs; the
# tree walk should take one round, the report destinations a second), wall
# times and the ratio. A run that fails (exit status 2 or more) is counted
# as failed and left out of the medians.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
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

# The lookups `dmarc check` makes, one at a time: the walk's names, the TXT
# at the name itself, then the MX of the report destination.
sequential_walk() {
    local name=$1 labels n
    labels=$(awk -F. '{print NF}' <<<"$name")
    local names=("$name")
    n=$((labels >= 8 ? 7 : labels - 1))
    for ((l = n; l >= 1; l--)); do names+=("$(awk -F. -v l="$l" '{s=$(NF-l+1); for(i=NF-l+2;i<=NF;i++) s=s"."$i; print s}' <<<"$name")"); done
    for x in "${names[@]}"; do kdig @127.0.0.1 -p "$relay_port" +short "_dmarc.$x" TXT >/dev/null || return 2; done
    kdig @127.0.0.1 -p "$relay_port" +short "$name" TXT >/dev/null || return 2
    kdig @127.0.0.1 -p "$relay_port" +short example.com MX >/dev/null || return 2
}

# measure NAME: $runs runs of mailsec and of the sequential walk; sets
# ours, queries, rounds (medians of the runs that worked), seq, failed.
measure() {
    local name=$1 t mark
    local -a times=() qs=() rs=() seqs=()
    failed=0
    for _ in $(seq "$runs"); do
        mark=$(relay_lines "$work/relay.log")
        t=$(timed_run "$work/run.out" "$bin" dmarc check "${dns[@]}" "$name")
        if [[ $t == failed* ]]; then
            failed=$((failed + 1))
            echo "  $name: mailsec $t: $(head -c 300 "$work/run.out")" >&2
            continue
        fi
        times+=("$t")
        qs+=("$(relay_queries "$work/relay.log" "$mark")")
        rs+=("$(relay_rounds "$work/relay.log" "$mark" "$delay")")
        t=$(timed_run "$work/seq.out" sequential_walk "$name")
        [[ $t == failed* ]] || seqs+=("$t")
    done
    ours=$(printf '%s\n' "${times[@]}" | median)
    queries=$(printf '%s\n' "${qs[@]}" | median)
    rounds=$(printf '%s\n' "${rs[@]}" | median)
    seq=$(printf '%s\n' "${seqs[@]}" | median)
}

printf '%-30s %7s %7s %12s %14s %8s %7s\n' name queries rounds "mailsec ms" "sequential ms" ratio failed
for name in f.g.h.example.com a.b.c.d.e.f.g.h.example.com x.corp.example.com; do
    measure "$name"
    if [[ -z $ours ]]; then
        printf '%-30s %7s %7s %12s %14s %8s %7d\n' "$name" - - failed - - "$failed"
        continue
    fi
    printf '%-30s %7d %7d %12d %14s %8s %7d\n' "$name" "$queries" "$rounds" "$ours" "${seq:-failed}" \
        "$([[ -n $seq ]] && printf '%.2f' "$(echo "$seq / $ours" | bc -l)" || echo -)" "$failed"
done
echo "(delay ${delay} ms per answer; queries and rounds as the relay saw them, medians of the runs that worked;"
echo " each round costs at least ${delay} ms)"
