#!/usr/bin/env bash
# bench/milter/postfix.sh MAILSEC [COUNT [CONCURRENCY]]: end to end, through
# Postfix's SMTP path (run.sh measures the milters themselves). The same
# Postfix, the same messages, three filter chains:
#   none               Postfix alone (the floor)
#   mailsec            smtpd_milters = mailsec milter
#   opendkim+opendmarc smtpd_milters = OpenDKIM, OpenDMARC (Debian's packages)
# Outgoing mail: the client is a trusted relay (127.0.0.1), so both chains
# DKIM-sign every message with the same 2048-bit RSA key
# (tests/data/dkim/keys/rsa2048.pem, selector rsa2048 of dkimtest.example)
# and OpenDMARC, told 127.0.0.1 is internal, passes it on. Delivery is
# Postfix's discard transport: what is measured is the SMTP session with
# the milters, not a disk. COUNT messages (default 2000) go out from
# CONCURRENCY parallel SMTP clients (default 10, bench/milter/send.py, one
# session per message); printed per chain: messages per second, session
# latency percentiles, and the milters' peak RSS (VmHWM).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
src=$here/../..
. "$src/tests/lib/servers.sh"
. "$here/common.sh"
. "$src/tests/lib/mailservers.sh"
mailsec=$(realpath "$1")
count=${2:-2000}
conc=${3:-10}
ADDR=127.0.0.1

require postfix /usr/sbin/opendkim /usr/sbin/opendmarc /usr/bin/python3

work=$(mktemp -d /tmp/mailsec-bench-milter.XXXXXX)
chmod 755 "$work"
pids=()
cleanup() {
    for p in "${pids[@]}"; do stop_pid "$p" TERM 5; done
    stop_mail_servers "$work/pf" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT
# OpenDKIM refuses a key others may read: both chains sign with a 0600 copy
key=$work/rsa2048.pem
install -m 600 "$src/tests/data/dkim/keys/rsa2048.pem" "$key"

# the message: an ordinary 4 KB text message from the signing domain
bench_message alice@dkimtest.example >"$work/message.eml"

# postfix_with MILTERS: (re)starts the bed's Postfix with smtpd_milters = MILTERS
postfix_with() {
    stop_mail_servers "$work/pf" 2>/dev/null || true
    rm -rf "$work/pf"
    postfix_main_cf_base "$work/pf" mx.bench.example "$ADDR"
    cat >>"$work/pf/postfix/main.cf" <<CONF
mynetworks = 127.0.0.0/8
smtpd_recipient_restrictions = permit_mynetworks, reject
default_transport = discard
relay_transport = discard
transport_maps = inline:{capture.invalid=capture}
smtpd_milters = $1
milter_default_action = tempfail
milter_protocol = 6
default_process_limit = 200
smtpd_client_connection_rate_limit = 0
CONF
    smtp_port=$(free_port)
    {
        echo "$ADDR:$smtp_port inet n - n - - smtpd"
        echo "capture unix - n n - - pipe user=nobody argv=/usr/bin/tee $work/capture/\${queue_id}.eml"
        postfix_master_cf_services
    } >"$work/pf/postfix/master.cf"
    start_mail_servers "$work/pf"
    wait_for_line "$ADDR" "$smtp_port" "220 " || { echo "bench/milter: postfix does not answer" >&2; exit 2; }
}

# wait_port PORT: until something listens there
wait_port() {
    for _ in $(seq 100); do
        (exec 3<>"/dev/tcp/$ADDR/$1") 2>/dev/null && return 0
        sleep 0.1
    done
    echo "bench/milter: nothing listens on port $1" >&2
    exit 2
}

# signed_by SELECTOR: one message to the capture transport (a pipe into
# $work/capture) comes back with a DKIM-Signature of that selector, so the
# chain really signs what the benchmark sends
signed_by() {
    rm -f "$work/capture"/*.eml
    /usr/bin/python3 - "$ADDR" "$smtp_port" "$work/message.eml" <<'PY'
import smtplib, sys
with smtplib.SMTP(sys.argv[1], int(sys.argv[2]), timeout=60) as s:
    s.sendmail("alice@dkimtest.example", ["check@capture.invalid"], open(sys.argv[3], "rb").read())
PY
    for _ in $(seq 100); do
        compgen -G "$work/capture/*.eml" >/dev/null && break
        sleep 0.1
    done
    if ! cat "$work"/capture/*.eml 2>/dev/null | tr -d '\r\n\t ' | grep -q "DKIM-Signature:v=1;a=rsa-sha256;.*s=$1;"; then
        echo "bench/milter: the chain did not sign (no s=$1 DKIM-Signature)" >&2
        exit 2
    fi
}

# run NAME MILTER_PIDS...: one warm-up round, then the measured one
run() {
    local name=$1
    shift
    /usr/bin/python3 "$here/send.py" "$ADDR" "$smtp_port" 50 "$conc" "$work/message.eml" >/dev/null
    local r
    r=$(/usr/bin/python3 "$here/send.py" "$ADDR" "$smtp_port" "$count" "$conc" "$work/message.eml")
    local rss
    rss=$(peak_rss "$@")
    printf '%-20s %s rss_kb=%s\n' "$name" "$r" "$rss"
    [[ $(jq .failed <<<"$r") == 0 ]] || echo "bench/milter: $name: some messages were not accepted" >&2
}

mkdir -p "$work/capture"
chmod 777 "$work/capture"
echo "bench/milter: $count messages, $conc parallel clients, $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg)"

# 1. Postfix alone
postfix_with ""
run none

# 2. mailsec milter
mport=$(free_port)
cat >"$work/milter.conf" <<CONF
authserv-id mx.bench.example
sign dkimtest.example rsa2048 $key
relay 127.0.0.1
on-error accept
CONF
"$mailsec" milter --socket "inet:$mport@$ADDR" --config "$work/milter.conf" 2>"$work/milter.log" </dev/null &
pids+=($!)
mpid=$!
wait_port "$mport"
postfix_with "inet:$ADDR:$mport"
signed_by rsa2048
run mailsec "$mpid"
stop_pid "$mpid" TERM 5

# 3. OpenDKIM + OpenDMARC
kport=$(free_port)
dport=$(free_port)
opendkim_conf "$work/opendkim.conf" "$key" "inet:$kport@$ADDR" 127.0.0.0/8 "$work/opendkim.pid"
cat >"$work/opendmarc.conf" <<CONF
Syslog false
AuthservID mx.bench.example
IgnoreHosts $work/ignore-hosts
Socket inet:$dport@$ADDR
PidFile $work/opendmarc.pid
Background false
UserID root
CONF
echo 127.0.0.0/8 >"$work/ignore-hosts"
/usr/sbin/opendkim -x "$work/opendkim.conf" 2>"$work/opendkim.log" &
pids+=($!)
kpid=$!
/usr/sbin/opendmarc -c "$work/opendmarc.conf" 2>"$work/opendmarc.log" &
pids+=($!)
dpid=$!
wait_port "$kport"
wait_port "$dport"
postfix_with "inet:$ADDR:$kport, inet:$ADDR:$dport"
signed_by rsa2048
run opendkim+opendmarc "$kpid" "$dpid"
