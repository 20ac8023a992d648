#!/usr/bin/env bash
# bench/milter/run.sh MAILSEC [COUNT [CONCURRENCY]]: the milters themselves,
# driven over the milter protocol as Postfix drives them (bench/milter/mdrive.c,
# README.md "The milter"), on the same messages, two chains:
#   mailsec              mailsec milter
#   opendkim+opendmarc   OpenDKIM then OpenDMARC (Debian's packages), both
#                        asked at every step, as Postfix does with
#                        smtpd_milters = opendkim, opendmarc
# and two workloads:
#   outgoing  the client is a trusted relay (127.0.0.1): both chains sign
#             rsa-sha256 with the same 2048-bit key (selector rsa2048 of
#             dkimtest.example, relaxed/relaxed)
#   incoming  a message signed by a third party (dkimpy, selector rsa of
#             mgood.example), from 127.0.0.2, the address mgood.example's SPF
#             record allows, with mgood.example's DMARC record: both chains
#             verify DKIM, check SPF and DMARC and add their results
# One message per chain and workload is checked first (a DKIM-Signature that
# dkimpy verifies; dkim=pass, spf=pass, dmarc=pass in what the chain added).
# Then 50 warm-up messages and COUNT (default 2000) measured ones from
# CONCURRENCY (default 10) parallel clients, one milter connection per
# message (Postfix opens one per SMTP session). Printed per workload and
# chain: messages/s, latency percentiles, the milters' peak RSS (VmHWM,
# summed), their CPU time per message (utime + stime from /proc), the load
# average before and after; then mailsec's ratios to the other chain. First,
# the ceiling: the same runs against nullmilter (libmilter doing no work),
# one and two of them.
#
# The whole run happens in a private network and mount namespace (root:
# unshare): loopback only, NSD serving the DNS test bed's zones on
# 127.0.0.1:53, and /etc/resolv.conf (inside the namespace only) saying
# nameserver 127.0.0.1, so OpenDMARC and libspf2 (which ask the system
# resolver), OpenDKIM (Nameservers 127.0.0.1) and mailsec (resolver
# 127.0.0.1) all ask the same server at the same distance. Nothing outside
# the namespace changes.
#
# PROFILE=DIR: perf records the mailsec milter during its measured runs
# (DIR/perf-WORKLOAD.data, for perf report -i). TRANSPORT=inet: the milters
# listen on loopback TCP instead of unix sockets. PER_CONN=N: N messages per
# milter connection (an SMTP session sending N messages; ABORT between).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
src=$(cd "$here/../.." && pwd)

if [[ ${1:-} != --in-namespace ]]; then
    [[ $# -ge 1 ]] || { echo "usage: $0 MAILSEC [COUNT [CONCURRENCY]]" >&2; exit 2; }
    [[ $(id -u) == 0 ]] || { echo "bench/milter: needs root (a private network namespace)" >&2; exit 2; }
    exec unshare --net --mount -- "$0" --in-namespace "$(realpath "$1")" "${@:2}"
fi
shift
. "$src/tests/lib/servers.sh"
. "$here/common.sh"
mailsec=$1
count=${2:-2000}
conc=${3:-10}
PER_CONN=${PER_CONN:-1}      # messages per milter connection (per SMTP session)
TRANSPORT=${TRANSPORT:-unix}  # the milters' sockets: unix (Debian's default) or inet (loopback TCP)
ADDR=127.0.0.1
WARMUP=50
py=/usr/bin/python3
keys=$src/tests/data/dkim/keys

require cc nsd /usr/sbin/opendkim /usr/sbin/opendmarc $py dkimverify

work=$(mktemp -d /tmp/mailsec-bench-mdrive.XXXXXX)
chmod 755 "$work"
pids=()
cleanup() {
    for p in "${pids[@]}"; do stop_pid "$p" TERM 5; done
    stop_nsd "$work/dns"
    [[ -n ${KEEP:-} ]] || rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 2' INT TERM HUP   # so that the EXIT trap stops the servers

# --- the namespace: loopback, NSD on port 53, the resolver configuration
ip link set lo up
mkdir -p "$work/dns"
# every zone of the bed, unsigned: DMARC's tree walk (RFC 9989) asks the
# parents too (example., for mgood.example)
nsd_server_conf "$work/dns" 53 "$src/tests/dnsbed/zones" 1
# no response rate limiting: every query comes from 127.0.0.1, and NSD's
# default (200 a second) would drop answers and time the resolvers out
sed -i 's/^server:$/server:\n\trrl-ratelimit: 0/' "$work/dns/nsd.conf"
for zone in "$src"/tests/dnsbed/zones/*.zone; do
    zone=$(basename "$zone" .zone)
    printf 'zone:\n\tname: "%s"\n\tzonefile: "%s.zone"\n' "$zone" "$zone" >>"$work/dns/nsd.conf"
done
launch_nsd "$work/dns"
for _ in $(seq 50); do
    kdig @$ADDR +short +timeout=1 +retry=0 SOA mgood.example 2>/dev/null | grep -q . && break
    sleep 0.2
done
echo "nameserver $ADDR" >"$work/resolv.conf"
mount --bind "$work/resolv.conf" /etc/resolv.conf

# --- the tools and the messages
cc -O2 -std=c17 -pthread "$here/mdrive.c" -o "$work/mdrive"
cc -O2 -std=c17 -pthread "$here/nullmilter.c" -lmilter -o "$work/nullmilter"
# OpenDKIM refuses a key others may read: both chains sign with a 0600 copy
key=$work/rsa2048.pem
install -m 600 "$keys/rsa2048.pem" "$key"

bench_message alice@dkimtest.example >"$work/outgoing.eml"
bench_message alice@mgood.example |
    "$py" "$src/tests/dkim/dkimpy-sign.py" --canon relaxed/relaxed rsa mgood.example "$keys/rsa2048.pem" \
        >"$work/incoming.eml"

# sock NAME: a new socket for a milter, as libmilter and mdrive write it
# (a unix socket left by a milter stopped before is removed: wait_sock
# would take it for the new one)
sock() {
    if [[ $TRANSPORT == inet ]]; then
        echo "inet:$(free_port)@$ADDR"
    else
        rm -f "$work/$1.sock"
        echo "unix:$work/$1.sock"
    fi
}

# wait_sock SPEC: until the milter listens there
wait_sock() {
    local p=${1#inet:}
    for _ in $(seq 100); do
        if [[ $1 == unix:* ]]; then
            [[ -S ${1#unix:} ]] && return 0
        else
            (exec 3<>"/dev/tcp/$ADDR/${p%@*}") 2>/dev/null && return 0
        fi
        sleep 0.1
    done
    echo "bench/milter: nothing listens on $1" >&2
    exit 2
}

# the CPU time (clock ticks, user + system, every thread) of PIDS, summed
cpu_ticks() {
    local total=0 p
    for p in "$@"; do
        # fields 14 and 15 of /proc/PID/stat, counted after the ")" that
        # ends the command name
        total=$((total + $(sed 's/.*) //' "/proc/$p/stat" | awk '{print $12 + $13}')))
    done
    echo "$total"
}
tick_ms=$((1000 / $(getconf CLK_TCK)))

load() { cut -d' ' -f1 /proc/loadavg; }

# workload: the mdrive options of a workload (client, envelope, message)
drive_args() {
    case $1 in
        outgoing) echo "-i 127.0.0.1 -H client.bench.example -f alice@dkimtest.example -r bob@bench.example $work/outgoing.eml" ;;
        incoming) echo "-i 127.0.0.2 -H mail.mgood.example -f bounce@mgood.example -r bob@bench.example $work/incoming.eml" ;;
    esac
}

# check WORKLOAD CHAIN SOCKETS...: one message through the chain, and what
# it added is what the workload needs
check() {
    local workload=$1 chain=$2 out=$work/check-$1-$2.eml
    shift 2
    local r
    # shellcheck disable=SC2046
    r=$("$work/mdrive" -n 1 -c 1 -o "$out" $(drive_args "$workload") "$@") || true
    if [[ ! -f $out ]]; then
        echo "bench/milter: $chain did not accept the $workload message: $r" >&2
        cat "$work"/*.log >&2
        exit 2
    fi
    local flat
    flat=$(tr -d '\r' <"$out" | sed -e ':a' -e 'N' -e '$!ba' -e 's/\n[ \t]\+/ /g')
    case $workload in
        outgoing)
            if ! grep -q '^DKIM-Signature:.* s=rsa2048' <<<"$flat" || ! dkimverify <"$out" >/dev/null 2>&1; then
                echo "bench/milter: $chain: no DKIM-Signature that dkimpy verifies" >&2
                cat "$out" >&2
                exit 2
            fi ;;
        incoming)
            local want
            for want in 'dkim=pass' 'spf=pass' 'dmarc=pass'; do
                grep -qi "^Authentication-Results:.*$want" <<<"$flat" ||
                    { echo "bench/milter: $chain: no $want in what it added" >&2; cat "$out" >&2; exit 2; }
            done ;;
    esac
}

# measure WORKLOAD CHAIN "PIDS" SOCKETS...: warm-up, then the measured run;
# one line of results, kept in $work/result-WORKLOAD-CHAIN for the ratios
measure() {
    local workload=$1 chain=$2 mpids=$3
    shift 3
    # shellcheck disable=SC2046
    "$work/mdrive" -n "$WARMUP" -c "$conc" $(drive_args "$workload") "$@" >/dev/null
    local before_load before_cpu r after_cpu
    before_load=$(load)
    # shellcheck disable=SC2086
    before_cpu=$(cpu_ticks $mpids)
    local perf_pid=
    if [[ -n ${PROFILE:-} && $chain == mailsec ]]; then
        perf record -q -g -p "$mpids" -o "$PROFILE/perf-$workload.data" 2>/dev/null &
        perf_pid=$!
        sleep 1
    fi
    # shellcheck disable=SC2046
    r=$("$work/mdrive" -n "$count" -c "$conc" -m "$PER_CONN" $(drive_args "$workload") "$@") ||
        echo "bench/milter: $workload $chain: some messages failed" >&2
    if [[ -n $perf_pid ]]; then
        kill -INT "$perf_pid"
        wait "$perf_pid" || true
    fi
    # shellcheck disable=SC2086
    after_cpu=$(cpu_ticks $mpids)
    local rss cpu_ms
    # shellcheck disable=SC2086
    rss=$(peak_rss $mpids)
    cpu_ms=$(((after_cpu - before_cpu) * tick_ms))
    jq -c --arg w "$workload" --arg c "$chain" --argjson rss "$rss" --argjson cpu "$cpu_ms" \
        --arg l0 "$before_load" --arg l1 "$(load)" --argjson n "$count" \
        '{workload: $w, chain: $c, msgs_per_s, p50_ms, p90_ms, p99_ms, max_ms, failed,
          rss_kb: $rss, cpu_ms_per_msg: (($cpu / $n * 1000 | round) / 1000), load: "\($l0) -> \($l1)",
          replies, actions}' <<<"$r" | tee "$work/result-$workload-$chain"
}

echo "bench/milter: $count messages per run, $conc parallel clients, $PER_CONN per connection, $TRANSPORT sockets, $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg)"

# --- the ceiling: libmilter doing nothing, one and two in a chain
n1=$(sock null1); n2=$(sock null2)
"$work/nullmilter" "$n1" & pids+=($!); null1=$!
"$work/nullmilter" "$n2" & pids+=($!); null2=$!
wait_sock "$n1"; wait_sock "$n2"
measure outgoing null "$null1" "$n1"
measure outgoing null+null "$null1 $null2" "$n1" "$n2"
stop_pid "$null1" TERM 5; stop_pid "$null2" TERM 5

# --- the chains, each started afresh per workload (its own peak RSS)
: >"$work/empty-anchors"   # the bed's zones are unsigned: no DNSSEC anchor
cat >"$work/milter.conf" <<CONF
authserv-id mx.bench.example
sign dkimtest.example rsa2048 $key
relay 127.0.0.1
resolver $ADDR
trust-anchor $work/empty-anchors
CONF
start_mailsec() {
    msock=$(sock mailsec)
    "$mailsec" milter --socket "$msock" --config "$work/milter.conf" 2>>"$work/milter.log" </dev/null &
    pids+=($!)
    mpid=$!
    wait_sock "$msock"
}

cat >"$work/opendmarc.conf" <<CONF
Syslog false
AuthservID mx.bench.example
TrustedAuthservIDs mx.bench.example
IgnoreHosts $work/ignore-hosts
SPFSelfValidate true
Socket %DSOCK%
PidFile $work/opendmarc.pid
Background false
UserID root
CONF
echo 127.0.0.1/32 >"$work/ignore-hosts"
start_others() {
    ksock=$(sock opendkim)
    dsock=$(sock opendmarc)
    opendkim_conf "$work/opendkim.conf" "$key" "$ksock" 127.0.0.1/32 "$work/opendkim.pid" \
        "AuthservID mx.bench.example" "Nameservers $ADDR"
    sed "s|%DSOCK%|$dsock|" "$work/opendmarc.conf" >"$work/opendmarc-run.conf"
    /usr/sbin/opendkim -x "$work/opendkim.conf" 2>>"$work/opendkim.log" &
    pids+=($!)
    kpid=$!
    /usr/sbin/opendmarc -c "$work/opendmarc-run.conf" 2>>"$work/opendmarc.log" &
    pids+=($!)
    dpid=$!
    wait_sock "$ksock"
    wait_sock "$dsock"
}

for workload in outgoing incoming; do
    start_mailsec
    check "$workload" mailsec "$msock"
    measure "$workload" mailsec "$mpid" "$msock"
    stop_pid "$mpid" TERM 5

    start_others
    check "$workload" opendkim+opendmarc "$ksock" "$dsock"
    measure "$workload" opendkim+opendmarc "$kpid $dpid" "$ksock" "$dsock"
    stop_pid "$kpid" TERM 5
    stop_pid "$dpid" TERM 5
done

# --- mailsec's ratios to the other chain
for workload in outgoing incoming; do
    jq -rn --slurpfile m "$work/result-$workload-mailsec" --slurpfile o "$work/result-$workload-opendkim+opendmarc" \
        --arg w "$workload" '$m[0] as $m | $o[0] as $o |
        "\($w): mailsec / opendkim+opendmarc: throughput \($m.msgs_per_s / $o.msgs_per_s * 100 | round / 100)x, " +
        "p50 latency \($m.p50_ms / $o.p50_ms * 100 | round / 100)x, " +
        "CPU per message \(if $o.cpu_ms_per_msg > 0 then ($m.cpu_ms_per_msg / $o.cpu_ms_per_msg * 100 | round / 100) else "n/a" end)x, " +
        "peak RSS \($m.rss_kb / $o.rss_kb * 100 | round / 100)x"'
done
echo "bench/milter: load at the end $(cut -d' ' -f1-3 /proc/loadavg)"
