#!/usr/bin/env bash
# The HTTPS test bed: nginx on a loopback high port with a certificate from
# a test CA made at start, serving MTA-STS policies for the audit tests.
#
#   httpsbed.sh start INFOFILE   start nginx, write KEY=VALUE lines to INFOFILE
#   httpsbed.sh stop INFOFILE    stop nginx, remove its directory and INFOFILE
#
# INFOFILE keys: DIR, PORT, CA (the test CA's certificate), CONNECT_TO
# ("::127.0.0.1:PORT", curl's --connect-to form sending every https URL here).
#
# Hosts (all under audittest.example, one nginx server block each):
#   mta-sts.good     a valid policy (mode enforce, mx mail.good.audittest.example)
#   mta-sts.testing  a valid policy in mode testing
#   mta-sts.redirect 301 to the good policy
#   mta-sts.html     the policy served as text/html
#   mta-sts.missing  404
#   mta-sts.big      100 KiB of policy
#   mta-sts.atlimit  the good policy padded with an unknown field to exactly
#                    64 KiB, the most a sender reads (RFC 8461 3.3)
#   mta-sts.overlimit the same, one byte more
#   mta-sts.uncovered the good policy, which does not name this domain's MX
#   mta-sts.wrongcert a certificate for another name
#   mta-sts.tlsenforce, mta-sts.tlstesting: policies (mode enforce, testing)
#                    naming the mail test bed's SMTP names, for `tls check
#                    --mta-sts` (tests/tls-mtasts): mx *.tlstest.example and
#                    other.example.test (a name its SMTP certificate lacks)
#   mta-sts.tlsnone  mode none
#   mta-sts.hostile  the good policy and a line holding a C1 control (0x9b) and
#                    U+202E, which the checklist must show escaped
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ADDR=127.0.0.1
HOSTS="good testing redirect html missing big atlimit overlimit uncovered tlsenforce tlstesting tlsnone hostile"

die() { echo "httpsbed: $*" >&2; exit 1; }

. "$HERE/../lib/servers.sh"

make_certs() {
    local dir=$1 sans=""
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
        -subj "/CN=mailsec test CA" -keyout "$dir/ca.key" -out "$dir/ca.crt" 2>/dev/null
    for h in $HOSTS; do sans="${sans:+$sans,}DNS:mta-sts.$h.audittest.example"; done
    issue "$dir" server "$sans"
    issue "$dir" wrong "DNS:mta-sts.someone-else.example"
}

issue() {   # DIR NAME SANS: a leaf signed by the test CA
    local dir=$1 name=$2 sans=$3
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=mailsec test $name" \
        -keyout "$dir/$name.key" -out "$dir/$name.csr" 2>/dev/null
    openssl x509 -req -in "$dir/$name.csr" -CA "$dir/ca.crt" -CAkey "$dir/ca.key" \
        -CAcreateserial -days 2 -extfile <(printf 'subjectAltName=%s\n' "$sans") \
        -out "$dir/$name.crt" 2>/dev/null
}

# padded_policy FILE SIZE: FILE's policy and an unknown field ("pad: xxx",
# which a policy parser ignores) making it exactly SIZE bytes.
padded_policy() {
    local have
    have=$(wc -c <"$1")
    cat "$1"
    printf 'pad: '
    head -c $(($2 - have - 6)) /dev/zero | tr '\0' 'x'
    printf '\n'
}

write_policies() {
    local dir=$1
    mkdir -p "$dir/www"
    printf 'version: STSv1\nmode: enforce\nmx: mail.good.audittest.example\nmx: *.mx.audittest.example\nmax_age: 604800\n' \
        >"$dir/www/good.txt"
    printf 'version: STSv1\nmode: testing\nmx: mail.testing.audittest.example\nmax_age: 86400\n' \
        >"$dir/www/testing.txt"
    head -c 102400 /dev/zero | tr '\0' 'x' >"$dir/www/big.txt"
    padded_policy "$dir/www/good.txt" 65536 >"$dir/www/atlimit.txt"
    padded_policy "$dir/www/good.txt" 65537 >"$dir/www/overlimit.txt"
    local mx='mx: *.tlstest.example\nmx: other.example.test\n'
    printf "version: STSv1\nmode: enforce\n${mx}max_age: 86400\n" >"$dir/www/tlsenforce.txt"
    printf "version: STSv1\nmode: testing\n${mx}max_age: 86400\n" >"$dir/www/tlstesting.txt"
    printf 'version: STSv1\nmode: none\nmax_age: 86400\n' >"$dir/www/tlsnone.txt"
    { cat "$dir/www/good.txt"; printf '\x9b[2Jpolicy\xe2\x80\xae\n'; } >"$dir/www/hostile.txt"
}

server_block() {   # HOST CERT LOCATION-BODY
    cat <<CONF
    server {
        listen $ADDR:$PORT ssl;
        server_name mta-sts.$1.audittest.example;
        ssl_certificate $DIR/$2.crt;
        ssl_certificate_key $DIR/$2.key;
        location = /.well-known/mta-sts.txt { $3 }
        location / { return 404; }
    }
CONF
}

write_config() {
    cat >"$DIR/nginx.conf" <<CONF
user root;
worker_processes 1;
pid $DIR/nginx.pid;
error_log $DIR/error.log warn;
events { worker_connections 64; }
http {
    access_log off;
    client_body_temp_path $DIR/tmp;
    proxy_temp_path $DIR/tmp;
    fastcgi_temp_path $DIR/tmp;
    uwsgi_temp_path $DIR/tmp;
    scgi_temp_path $DIR/tmp;
    types { text/plain txt; }
$(server_block good server "default_type text/plain; alias $DIR/www/good.txt;")
$(server_block testing server "default_type text/plain; alias $DIR/www/testing.txt;")
$(server_block hostile server "default_type text/plain; alias $DIR/www/hostile.txt;")
$(server_block redirect server "return 301 https://mta-sts.good.audittest.example/.well-known/mta-sts.txt;")
$(server_block html server "types { } default_type text/html; alias $DIR/www/good.txt;")
$(server_block missing server "return 404;")
$(server_block big server "default_type text/plain; alias $DIR/www/big.txt;")
$(server_block atlimit server "default_type text/plain; alias $DIR/www/atlimit.txt;")
$(server_block overlimit server "default_type text/plain; alias $DIR/www/overlimit.txt;")
$(server_block uncovered server "default_type text/plain; alias $DIR/www/good.txt;")
$(server_block wrongcert wrong "default_type text/plain; alias $DIR/www/good.txt;")
$(server_block tlsenforce server "default_type text/plain; alias $DIR/www/tlsenforce.txt;")
$(server_block tlstesting server "default_type text/plain; alias $DIR/www/tlstesting.txt;")
$(server_block tlsnone server "default_type text/plain; alias $DIR/www/tlsnone.txt;")
}
CONF
}

start() {
    local info=$1
    [[ -f $info ]] && stop "$info"
    DIR=$(mktemp -d /tmp/mailsec-httpsbed.XXXXXX)
    trap 'rm -rf "$DIR"' ERR
    mkdir -p "$DIR/tmp"
    make_certs "$DIR"
    write_policies "$DIR"
    for _ in $(seq 20); do
        PORT=$(random_port)
        port_is_free "$PORT" || continue
        write_config
        if nginx -c "$DIR/nginx.conf" -p "$DIR" 2>"$DIR/start.log"; then
            break
        fi
        PORT=
    done
    [[ -n ${PORT:-} ]] || { cat "$DIR/start.log" "$DIR/error.log" >&2 2>/dev/null; die "nginx did not start"; }
    for _ in $(seq 50); do
        curl -s -o /dev/null --cacert "$DIR/ca.crt" --connect-to "::$ADDR:$PORT" \
            https://mta-sts.good.audittest.example/.well-known/mta-sts.txt && break
        sleep 0.1
    done
    printf 'DIR=%s\nPORT=%s\nCA=%s\nCONNECT_TO=::%s:%s\n' "$DIR" "$PORT" "$DIR/ca.crt" "$ADDR" "$PORT" >"$info"
    echo "httpsbed: nginx on $ADDR:$PORT, directory $DIR"
}

stop() {
    local info=$1 dir
    [[ -f $info ]] || return 0
    dir=$(sed -n 's/^DIR=//p' "$info")
    if [[ -n $dir && -f $dir/nginx.pid ]]; then
        kill "$(cat "$dir/nginx.pid")" 2>/dev/null || true
        for _ in $(seq 50); do [[ -f $dir/nginx.pid ]] || break; sleep 0.1; done
    fi
    [[ -n $dir && $dir == /tmp/mailsec-httpsbed.* ]] && rm -rf "$dir"
    rm -f "$info"
}

case ${1:-} in
start) start "${2:?INFOFILE}" ;;
stop) stop "${2:?INFOFILE}" ;;
*) die "usage: httpsbed.sh start|stop INFOFILE" ;;
esac
