#!/usr/bin/env bash
# tls.sh ALLOC_FAIL: the TLS check's cipher suite enumeration (ms_tls_check
# with ciphers: lib/tls/ciphers.c, the probes of conn.c, the certificate
# checked) with every allocation failed in turn (alloc_fail's tls_ciphers),
# against `openssl s_server` on loopback high ports, its certificate from a
# CA made here:
#   ordered  TLS 1.2 and 1.3, the server's order, suites of four classes
#            (AEAD, CBC, CBC with SHA-1, static RSA), two groups, DHE;
#   client   TLS 1.2 only, the client's order, two suites; checked alone,
#            and with the MTA-STS policy of a domain of the DNS test bed
#            (tests/dnsbed/zones/audittest.example.zone) looked up and
#            matched: one served by the HTTPS test bed (tests/httpsbed),
#            one whose policy is missing there.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../lib/testlib.sh"
source "$ROOT/tests/lib/servers.sh"
alloc_fail=$1

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 3650 \
    -subj "/CN=alloc-fail test CA" -keyout "$WORK/ca.key" -out "$WORK/ca.pem" 2>/dev/null
openssl req -newkey rsa:2048 -nodes -subj "/CN=mail.allocfail.example" \
    -keyout "$WORK/server.key" -out "$WORK/server.csr" 2>/dev/null
printf 'subjectAltName=DNS:mail.allocfail.example\n' >"$WORK/san.ext"
openssl x509 -req -in "$WORK/server.csr" -CA "$WORK/ca.pem" -CAkey "$WORK/ca.key" \
    -CAcreateserial -days 3650 -extfile "$WORK/san.ext" -out "$WORK/server.pem" 2>/dev/null

# s_server NAME ARGS...: a server on a free port, named by an input
# "127.0.0.1 PORT" in $WORK/inputs; stopped at exit.
s_server() {
    local name=$1 port pid
    shift
    port=$(free_port) || die "no free port"
    openssl s_server -accept "127.0.0.1:$port" -cert "$WORK/server.pem" -key "$WORK/server.key" \
        -www -quiet "$@" </dev/null >"$WORK/$name.log" 2>&1 &
    pid=$!
    on_exit "stop_pid $pid TERM 5"
    for _ in $(seq 100); do
        (echo >"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
        kill -0 "$pid" 2>/dev/null || die "s_server $name: $(cat "$WORK/$name.log")"
        sleep 0.1
    done
    echo "127.0.0.1 $port" >"$WORK/inputs/$name"
}

mkdir -p "$WORK/inputs"
s_server ordered -serverpref -no_tls1 -no_tls1_1 -groups X25519:P-256 \
    -cipher ECDHE-RSA-AES128-GCM-SHA256:DHE-RSA-AES256-GCM-SHA384:ECDHE-RSA-AES128-SHA256:ECDHE-RSA-AES256-SHA:AES128-GCM-SHA256 \
    -ciphersuites TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256
s_server client -no_tls1 -no_tls1_1 -no_tls1_3 -cipher ECDHE-RSA-AES256-GCM-SHA384:ECDHE-RSA-CHACHA20-POLY1305
for domain in good missing; do
    echo "$(cat "$WORK/inputs/client") $domain.audittest.example" >"$WORK/inputs/client-mta-sts-$domain"
done

ALLOC_FAIL_TLS_CA=$WORK/ca.pem "$alloc_fail" tls_ciphers "$WORK/inputs" ||
    die "tls_ciphers: an answer changed without saying so"
ok "tls_ciphers: every allocation failure handled"
finish tls
