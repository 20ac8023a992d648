#!/usr/bin/env bash
# bench/tls.sh [BIN]: `mailsec tls check` on all eight ports of the local
# mail test bed (tests/mailbed: Postfix 25/587/465, Dovecot 143/993/110/995/
# 4190 on high ports) in one run, against `openssl s_client` once per port
# in sequence (-starttls where the port needs it), which is what the seed's
# manual check does. Prints wall times and ratios; judges nothing.
#
# Two mailsec rows: the full check (per port: the main session, the
# STARTTLS injection test, the version probes: three to five connections)
# and --no-versions --no-injection (one session per port, the same work as
# s_client). Each is compared with the slowest port checked alone, in a
# process of its own.
#
# Two settings, the same rows: the bed on loopback as it is, where the
# client and both servers share the machine's CPUs and CPU sets the pace
# (the script prints the CPU a check takes across the machine, so the
# bound CPU puts on the wall time can be read next to the wall time); and
# the same servers behind bench/tcpdelay, which holds every piece of data
# DELAY_MS (default 10) in each direction, as a server a network away.
#
# Each mailsec time is the median of BENCH_RUNS runs (default 5): on a
# small shared machine one run says more about the neighbours than about
# mailsec. The s_client rows are one sequence each. Needs root (the bed
# starts Postfix).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
BIN=${1:-$HERE/../build/src/mailsec}
[[ -x $BIN ]] || { echo "bench/tls.sh: no mailsec at $BIN (give the binary as the first argument)" >&2; exit 2; }
RUNS=${BENCH_RUNS:-5}
DELAY_MS=${DELAY_MS:-10}

WORK=$(mktemp -d)
INFO=$WORK/mailbed.info
RELAY_PID=
cleanup() {
    [[ -n $RELAY_PID ]] && kill "$RELAY_PID" 2>/dev/null
    bash "$HERE/../tests/mailbed/mailbed.sh" stop "$INFO" >/dev/null 2>&1 || true
    rm -rf "$WORK"
}
trap cleanup EXIT
bash "$HERE/../tests/mailbed/mailbed.sh" start "$INFO" >/dev/null
while IFS='=' read -r key value; do
    [[ $key =~ ^[A-Z0-9_]+$ ]] && printf -v "$key" '%s' "$value"
done <"$INFO"

# port/mode pairs as mailsec takes them
PORTS=("$SMTP_PORT/smtp" "$SUBMISSION_PORT/smtp" "$SMTPS_PORT/tls" "$IMAP_PORT/imap"
       "$IMAPS_PORT/tls" "$POP3_PORT/pop3" "$POP3S_PORT/tls" "$SIEVE_PORT/sieve")
CHECK=(tls check 127.0.0.1 --servername "$SERVERNAME" --ca "$CA" --json)
LIGHT=(--no-versions --no-injection)

now() { echo "$EPOCHREALTIME"; }
elapsed() { echo "$2 - $1" | bc; }
# (a time that is "failed" stays so: failed runs have no time)
ms() { if [[ $1 == failed ]]; then echo failed; else printf '%.1f' "$(echo "$1 * 1000" | bc)"; fi; }
ms_shown() { if [[ $1 == failed ]]; then echo failed; else echo "$(ms "$1") ms"; fi; }
ratio() { if [[ $1 == failed || $2 == failed ]]; then echo -; else echo "scale=2; $1 / $2" | bc; fi; }
# the CPU time the whole machine has spent, in ms (/proc/stat: user, nice,
# system, irq, softirq; in USER_HZ ticks)
machine_cpu_ms() { awk -v hz="$(getconf CLK_TCK)" '/^cpu /{ print ($2 + $3 + $4 + $7 + $8) * 1000 / hz }' /proc/stat; }

# median_time OUT ARGS...: the median wall time of RUNS runs of mailsec
# ARGS; the last run's stdout goes to OUT, and the machine's CPU time per
# run, averaged over the runs, to OUT.cpu. Nothing else is started
# between the two readings of the CPU time (the clock is bash's own).
# A run that fails (exit status 2 or more: could not check, or crashed) has
# no time: it is said on stderr and left out; "failed" when all did.
median_time() {
    local out=$1 c0 c1 t0 t1 i status times=()
    shift
    c0=$(machine_cpu_ms)
    for ((i = 0; i < RUNS; i++)); do
        t0=$EPOCHREALTIME status=0
        "$BIN" "$@" >"$out" || status=$?
        t1=$EPOCHREALTIME
        if ((status >= 2)); then
            echo "bench/tls.sh: failed (exit status $status): mailsec $*" >&2
        else
            times+=("$t0 $t1")
        fi
    done
    c1=$(machine_cpu_ms)
    echo "($c1 - $c0) / $RUNS" | bc >"$out.cpu"
    if ((${#times[@]} == 0)); then
        echo failed
        return
    fi
    printf '%s\n' "${times[@]}" | awk '{ print $2 - $1 }' | sort -n |
        awk '{ t[NR] = $1 } END { print t[int((NR + 1) / 2)] }'
}

# slowest_alone EXTRA...: each port checked alone, one process each; prints
# "seconds port/mode" of the slowest
slowest_alone() {
    local slowest=0 slowest_port= t p
    for p in "${PORTS[@]}"; do
        t=$(median_time "$WORK/alone.json" "${CHECK[@]}" --port "$p" "$@")
        [[ $t == failed ]] && { echo "failed $p"; return; }
        if (($(echo "$t > $slowest" | bc))); then slowest=$t slowest_port=$p; fi
    done
    echo "$slowest $slowest_port"
}

# sclient_sequence: the wall time of one s_client per port, in sequence
# ("failed" when one of them failed)
sclient_sequence() {
    local t0 t1 p port mode starttls
    t0=$(now)
    for p in "${PORTS[@]}"; do
        port=${p%/*} mode=${p#*/}
        starttls=()
        [[ $mode != tls ]] && starttls=(-starttls "$mode")
        timeout 20 openssl s_client -connect "127.0.0.1:$port" -servername "$SERVERNAME" -CAfile "$CA" \
            "${starttls[@]}" </dev/null >/dev/null 2>&1 || { echo failed; return; }
    done
    t1=$(now)
    elapsed "$t0" "$t1"
}

row() { printf '%-62s %10s\n' "$1" "$2"; }

# measure TITLE: every row for the ports in PORTS
measure() {
    local args=() p full light sclient alone alone_port light_alone light_alone_port cpu
    for p in "${PORTS[@]}"; do args+=(--port "$p"); done
    # one warm-up of everything (Dovecot's login processes, the page cache)
    "$BIN" "${CHECK[@]}" "${args[@]}" >/dev/null || true

    full=$(median_time "$WORK/full.json" "${CHECK[@]}" "${args[@]}")
    cpu=$(cat "$WORK/full.json.cpu")
    light=$(median_time "$WORK/light.json" "${CHECK[@]}" "${args[@]}" "${LIGHT[@]}")
    read -r alone alone_port < <(slowest_alone)
    read -r light_alone light_alone_port < <(slowest_alone "${LIGHT[@]}")
    sclient=$(sclient_sequence)

    echo "== $1"
    row "ports that spoke TLS in the full check" \
        "$(jq '[.results[0].ports[] | select(.state == "tls")] | length' "$WORK/full.json") of ${#PORTS[@]}"
    row "mailsec, full check, all ports at once" "$(ms_shown "$full")"
    row "  the slowest port checked alone (${alone_port#*/} port)" "$(ms_shown "$alone")"
    row "  ratio all ports / slowest port alone" "$(ratio "$full" "$alone")"
    row "mailsec --no-versions --no-injection, all ports at once" "$(ms_shown "$light")"
    row "  the slowest port checked alone (${light_alone_port#*/} port)" "$(ms_shown "$light_alone")"
    row "  ratio all ports / slowest port alone" "$(ratio "$light" "$light_alone")"
    row "openssl s_client, once per port, in sequence" "$(ms_shown "$sclient")"
    row "  ratio s_client / mailsec full" "$(ratio "$sclient" "$full")"
    row "  ratio s_client / mailsec one session per port" "$(ratio "$sclient" "$light")"
    if [[ -z $RELAY_PID && $full != failed && $version != failed ]]; then
        # start-up runs on one CPU before any port; the rest can use all
        local startup_cpu
        startup_cpu=$(cat "$WORK/version.cpu")
        row "CPU of the whole machine per full check (mailsec + servers)" "$(printf '%.0f' "$cpu") ms"
        row "  of which process start-up (mailsec --version)" "$(printf '%.0f' "$startup_cpu") ms"
        row "  the shortest wall time that allows on $(nproc) CPUs" \
            "$(printf '%.0f' "$(echo "$(ms "$version") + ($cpu - $startup_cpu) / $(nproc)" | bc -l)") ms"
    fi
    echo "  per port, as the full check timed them (port mode ms):"
    jq -r '.results[0].ports[] | "    \(.port) \(.mode) \(.seconds * 1000 | floor)"' "$WORK/full.json"
}

version=$(median_time "$WORK/version" --version)
echo "mailsec tls check: the 8 ports of the local Postfix + Dovecot, median of $RUNS runs"
row "process start-up alone (mailsec --version)" "$(ms_shown "$version")"
measure "the bed on loopback: client and servers share $(nproc) CPUs"

# the same through the relay: listening ports from 20000 up, free ones
cc -O2 -o "$WORK/tcpdelay" "$HERE/tcpdelay.c"
direct=("${PORTS[@]}") pairs=() PORTS=()
listen=20000
for p in "${direct[@]}"; do
    while ss -Hltn "sport = :$listen" | grep -q .; do listen=$((listen + 1)); done
    pairs+=("$listen:${p%/*}") PORTS+=("$listen/${p#*/}")
    listen=$((listen + 1))
done
"$WORK/tcpdelay" "$DELAY_MS" "${pairs[@]}" >"$WORK/relay.log" &
RELAY_PID=$!
sleep 0.2
kill -0 "$RELAY_PID" 2>/dev/null || { echo "bench/tls.sh: tcpdelay did not start" >&2; exit 2; }
echo
measure "the same servers behind tcpdelay: ${DELAY_MS} ms each way, a round trip of $((2 * DELAY_MS)) ms"

# ---- cipher suites: mailsec against testssl.sh (BENCH_TESTSSL=0 skips) ----
#
# For each port below, on loopback and behind tcpdelay: the wall time of
# mailsec's whole check (the suites of every version in the server's order,
# the groups, the DH size; plus its main session, injection test and
# version probes) against `testssl.sh -P -E -f` (server preference, every
# suite of every version, forward secrecy: groups and DH), which find the
# same; the connections each made (tcpdelay counts them: one hello each),
# and whether the suites agree version by version. Where they do not, each
# suite only one of them found is offered alone with `openssl s_client`
# (the ground truth: the server accepts it or not), and the row says how
# many of each side's own suites the server really accepts. testssl runs
# once (minutes per port), cut at TESTSSL_TIMEOUT seconds (default 1800).
# Debian: apt-get install testssl.sh.
kill "$RELAY_PID" 2>/dev/null; wait "$RELAY_PID" 2>/dev/null || true
RELAY_PID=
[[ ${BENCH_TESTSSL:-1} == 0 ]] && exit 0
command -v testssl >/dev/null || { echo "bench/tls.sh: no testssl (apt-get install testssl.sh): cipher rows skipped"; exit 0; }
TESTSSL_TIMEOUT=${TESTSSL_TIMEOUT:-1800}

# relayed DELAY CMD...: runs CMD with a fresh relay 21000 -> RELAY_TARGET;
# prints "seconds connections"
relayed() {
    local delay=$1 t0 t1 pid
    shift
    "$WORK/tcpdelay" "$delay" "21000:$RELAY_TARGET" >"$WORK/count.log" &
    pid=$!
    sleep 0.2
    t0=$EPOCHREALTIME
    "$@" >/dev/null 2>&1 || true
    t1=$EPOCHREALTIME
    kill -TERM "$pid"; wait "$pid" 2>/dev/null || true
    echo "$(elapsed "$t0" "$t1") $(sed -n 's/^tcpdelay: \([0-9]*\) connections/\1/p' "$WORK/count.log")"
}

# the suites, one line each ("TLSv1.2 NAME", sorted), from mailsec's JSON
# and from testssl's (ids cipher-tls1_2_xc030; the finding "TLS 1.2  xc030  NAME ...")
mailsec_suites() {
    jq -r '.results[0].ports[0].ciphers.versions[] | .version as $v | .suites[] | "\($v) \(.name)"' "$1" | sort
}
testssl_suites() {
    jq -r '.[] | select(.id | test("^cipher-(tls|ssl)")) |
        "\(.id | capture("^cipher-(?<v>[a-z0-9_]+)_x") | .v | sub("^tls1$"; "TLSv1") | sub("^tls1_"; "TLSv1.")
            | sub("^ssl3$"; "SSLv3")) \(.finding | split(" ") | map(select(. != "")) | .[3])"' "$1" | sort
}

# accepted PORT MODE VERSION SUITE: does the server take SUITE alone?
accepted() {
    local port=$1 mode=$2 version=$3 suite=$4 flags=()
    case $version in
    TLSv1) flags=(-tls1) ;; TLSv1.1) flags=(-tls1_1) ;; TLSv1.2) flags=(-tls1_2) ;; SSLv3) flags=(-ssl3) ;;
    esac
    [[ $mode != tls ]] && flags+=(-starttls "$mode")
    if [[ $version == TLSv1.3 ]]; then
        flags+=(-tls1_3 -ciphersuites "$suite")
    else
        flags+=(-cipher "$suite:@SECLEVEL=0")
    fi
    timeout 10 openssl s_client -connect "127.0.0.1:$port" "${flags[@]}" </dev/null 2>/dev/null |
        grep -q "Cipher is $suite"
}

# judged PORT MODE FILE: how many of the "VERSION SUITE" lines of FILE the server accepts
judged() {
    local n=0 version suite
    while read -r version suite; do
        accepted "$1" "$2" "$version" "$suite" && n=$((n + 1))
    done <"$3"
    echo "$n"
}

cipher_rows() { # DELAY
    local p port mode starttls mailsec_t mailsec_n testssl_t testssl_n median agree
    printf '%-14s %12s %6s %12s %6s %8s %s\n' port mailsec conns testssl conns ratio "suites agree"
    for p in "$CIPHERS_PORT/smtp" "$SMTP_PORT/smtp" "$IMAPS_PORT/tls"; do
        port=${p%/*} mode=${p#*/} RELAY_TARGET=$port
        local times=() conns=
        for ((i = 0; i < RUNS; i++)); do
            read -r t n < <(relayed "$1" "$BIN" "${CHECK[@]}" --port "21000/$mode")
            times+=("$t") conns=$n
        done
        "$WORK/tcpdelay" "$1" "21000:$port" >/dev/null & local pid=$!
        sleep 0.2
        "$BIN" "${CHECK[@]}" --port "21000/$mode" >"$WORK/m.json" || true
        kill -TERM "$pid"; wait "$pid" 2>/dev/null || true
        median=$(printf '%s\n' "${times[@]}" | sort -n | awk '{ t[NR] = $1 } END { print t[int((NR + 1) / 2)] }')
        starttls=()
        [[ $mode != tls ]] && starttls=(-t "$mode")
        rm -f "$WORK/t.json"
        read -r testssl_t testssl_n < <(relayed "$1" timeout "$TESTSSL_TIMEOUT" testssl --quiet --color 0 \
            --warnings off "${starttls[@]}" -P -E -f --jsonfile "$WORK/t.json" "127.0.0.1:21000")
        # testssl writes scanTime last: without it, it was cut off at TESTSSL_TIMEOUT
        agree="no (testssl cut off)"
        if jq -e 'any(.[]; .id == "scanTime")' "$WORK/t.json" >/dev/null 2>&1; then
            mailsec_suites "$WORK/m.json" >"$WORK/m.suites"
            testssl_suites "$WORK/t.json" >"$WORK/t.suites"
            comm -23 "$WORK/m.suites" "$WORK/t.suites" >"$WORK/m.only"
            comm -13 "$WORK/m.suites" "$WORK/t.suites" >"$WORK/t.only"
            if [[ ! -s $WORK/m.only && ! -s $WORK/t.only ]]; then
                agree="yes ($(wc -l <"$WORK/m.suites") suites)"
            else
                agree="no: only mailsec $(wc -l <"$WORK/m.only") (server accepts $(judged "$port" "$mode" "$WORK/m.only")),"
                agree+=" only testssl $(wc -l <"$WORK/t.only") (server accepts $(judged "$port" "$mode" "$WORK/t.only"))"
            fi
        fi
        printf '%-14s %10s ms %6s %10s s %6s %8s %s\n' "$p" "$(ms "$median")" "$conns" \
            "$(printf '%.1f' "$testssl_t")" "$testssl_n" "$(ratio "$testssl_t" "$median")" "$agree"
    done
}

echo
echo "== cipher suites, mailsec (median of $RUNS) against testssl.sh -P -E -f (once), through tcpdelay 0 ms"
cipher_rows 0
echo
echo "== the same behind tcpdelay: ${DELAY_MS} ms each way"
cipher_rows "$DELAY_MS"
