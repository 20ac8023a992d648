#!/usr/bin/env bash
# The mail test bed: a real Postfix and a real Dovecot (imap, pop3,
# managesieve) on loopback high ports, plus a misbehaving server
# (badserver.py), all under one temporary directory. See README.md.
#
#   mailbed.sh start INFOFILE   start everything, write KEY=VALUE lines to INFOFILE
#   mailbed.sh stop INFOFILE    stop everything, remove its directory and INFOFILE
#
# Runs as root (Postfix's master must; Dovecot drops to its own users).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ADDR=127.0.0.1
MAIL_USER=mailbed
MAIL_PASSWORD=mailbed-secret
# The names every certificate of the bed covers (the cert module's test CA
# issues for mail.example.test; the DANE chain adds *.tlstest.example).
SERVERNAME=mail.example.test
# The CIPHERS port's suites below TLS 1.3, in its order: one or more of each
# class of lib/tls/ciphers.c that the local OpenSSL can negotiate
CIPHERS_LIST=ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-CHACHA20-POLY1305:DHE-RSA-AES128-GCM-SHA256:ECDHE-RSA-AES256-SHA384:ECDHE-ECDSA-AES128-SHA:DHE-RSA-AES256-SHA:AES128-GCM-SHA256:AES256-SHA:AECDH-AES128-SHA:NULL-SHA256

die() { echo "mailbed: $*" >&2; exit 1; }

. "$HERE/../lib/servers.sh"
. "$HERE/../lib/mailservers.sh"

# ---- certificates ----

# The cert module's test CA (root, intermediate, leaves good and bad), plus
# the DANE chain: an intermediate and a leaf issued at start from the fixed
# keys in keys/, so the TLSA records of tests/dnsbed/zones/tlstest.example.zone
# (selector 1: the public key) match whatever certificate is issued.
make_certs() {
    local certs=$DIR/certs
    bash "$HERE/../cert/make-test-ca.sh" "$certs" >/dev/null
    cp "$HERE/keys/dane-leaf.key" "$HERE/keys/dane-intermediate.key" "$certs/"
    chmod 600 "$certs"/dane-*.key
    (
        cd "$certs"
        openssl req -new -key dane-intermediate.key -subj "/O=mailsec tests/CN=mailsec DANE Intermediate" \
            -out dane-intermediate.csr 2>/dev/null
        openssl x509 -req -in dane-intermediate.csr -CA root.pem -CAkey root.key -CAcreateserial \
            -days 30 -sha256 -out dane-intermediate.pem 2>/dev/null -extfile <(printf '%s\n' \
            "basicConstraints=critical,CA:true" "keyUsage=critical,keyCertSign,cRLSign" \
            "subjectKeyIdentifier=hash" "authorityKeyIdentifier=keyid")
        openssl req -new -key dane-leaf.key -subj "/O=mailsec tests/CN=mx.tlstest.example" \
            -out dane-leaf.csr 2>/dev/null
        openssl x509 -req -in dane-leaf.csr -CA dane-intermediate.pem -CAkey dane-intermediate.key \
            -CAcreateserial -days 30 -sha256 -out dane-leaf.pem 2>/dev/null -extfile <(printf '%s\n' \
            "basicConstraints=critical,CA:false" "keyUsage=critical,digitalSignature" \
            "extendedKeyUsage=serverAuth" "subjectKeyIdentifier=hash" "authorityKeyIdentifier=keyid" \
            "subjectAltName=DNS:$SERVERNAME,DNS:*.tlstest.example,DNS:localhost,IP:127.0.0.1")
        rm -f ./*.csr
        cat dane-leaf.pem dane-intermediate.pem >dane-fullchain.pem
        # Postfix smtpd_tls_chain_files: key first, then leaf, then chain
        cat dane-leaf.key dane-leaf.pem dane-intermediate.pem >postfix-smtp.pem
        cat leaf-ecdsa.key leaf-ecdsa.pem >postfix-smtps.pem          # intermediate missing
        cat leaf-rsa.key leaf-rsa.pem intermediate.pem >postfix-rsa.pem
        # 1024-bit DH parameters for the CIPHERS port's DHE suites (tls.weak-dh)
        # (RFC 5114's fixed group: made at once, where a new prime takes seconds)
        openssl genpkey -genparam -algorithm DH -pkeyopt group:dh_1024_160 -out dh1024.pem 2>/dev/null
        cat leaf-expired.pem intermediate.pem >expired-fullchain.pem
        cat leaf-wronghost.pem intermediate.pem >wronghost-fullchain.pem
        chmod 600 postfix-*.pem
    )
}

# ---- Postfix ----

write_postfix() {
    local conf=$DIR/postfix
    postfix_main_cf_base "$DIR" mx.tlstest.example "$ADDR"
    cat >>"$conf/main.cf" <<CONF
mydomain = tlstest.example
smtpd_banner = \$myhostname ESMTP mailsec test bed
smtpd_tls_security_level = may
smtpd_tls_chain_files = $DIR/certs/postfix-smtp.pem
smtpd_tls_loglevel = 1
smtpd_tls_session_cache_database =
CONF
    # Port 25: TLS 1.0 and up, any cipher (what an old server allows);
    # 587: TLS 1.2 and up; 465: TLS at once, the leaf without its intermediate;
    # SASL_PORT: AUTH offered before STARTTLS (SASL through Dovecot, no smtpd_tls_auth_only).
    # CIPHERS_PORT: known suites (CIPHERS_LIST below) in the server's order, an RSA and an
    # ECDSA chain, groups X25519 and P-256, 1024-bit DH parameters.
    cat >"$conf/master.cf" <<CONF
$ADDR:$SMTP_PORT inet n - n - - smtpd
  -o smtpd_tls_protocols=>=TLSv1 -o tls_medium_cipherlist=ALL:@SECLEVEL=0
$ADDR:$SUBMISSION_PORT inet n - n - - smtpd
  -o smtpd_tls_protocols=>=TLSv1.2
$ADDR:$SMTPS_PORT inet n - n - - smtpd
  -o smtpd_tls_wrappermode=yes -o smtpd_tls_chain_files=$DIR/certs/postfix-smtps.pem
$ADDR:$LIMITED_PORT inet n - n - - smtpd
  -o smtpd_client_connection_count_limit=1 -o smtpd_client_event_limit_exceptions=
$ADDR:$SASL_PORT inet n - n - - smtpd
  -o smtpd_sasl_auth_enable=yes -o smtpd_tls_auth_only=no -o smtpd_sasl_type=dovecot
  -o smtpd_sasl_path=$DIR/dovecot-run/auth-postfix
$ADDR:$CIPHERS_PORT inet n - n - - smtpd
  -o smtpd_tls_chain_files=$DIR/certs/postfix-rsa.pem,$DIR/certs/postfix-smtp.pem
  -o smtpd_tls_protocols=>=TLSv1 -o smtpd_tls_ciphers=high
  -o tls_high_cipherlist=$CIPHERS_LIST:@SECLEVEL=0 -o tls_preempt_cipherlist=yes
  -o tls_eecdh_auto_curves=X25519,prime256v1
  -o smtpd_tls_dh1024_param_file=$DIR/certs/dh1024.pem
CONF
    postfix_master_cf_services >>"$conf/master.cf"
}

# ---- Dovecot ----

# A passwd-file user with a known password and a Maildir under DIR (for the
# IMAP fetch tests); mail is stored as the unprivileged user "nobody".
write_dovecot() {
    dovecot_conf_base "$DIR" "mailsec-mailbed-$$" "$ADDR"
    dovecot_maildir_user "$DIR" "$MAIL_USER" "$MAIL_PASSWORD" "$DIR/mail/$MAIL_USER"
    # LMTP: delivery into the Maildir (STARTTLS offered like the others)
    dovecot_lmtp_listener "$DIR" "$ADDR" "$LMTP_PORT"
    cat >>"$DIR/dovecot.conf" <<CONF
protocols = imap pop3 sieve lmtp
ssl = yes
ssl_min_protocol = TLSv1.2
ssl_cert = <$DIR/certs/fullchain.pem
ssl_key = <$DIR/certs/leaf-rsa.key
disable_plaintext_auth = no
auth_mechanisms = plain login
CONF
    # Login processes: no chroot (DIR is not a chroot), and the "high
    # performance" mode (service_count = 0, kept running), so a check's burst
    # of connections does not wait for new processes to start.
    dovecot_imap_login "$DIR" "$ADDR" "$IMAP_PORT" "$IMAPS_PORT" "service_count = 0" "process_min_avail = 1"
    cat >>"$DIR/dovecot.conf" <<CONF
service pop3-login {
  chroot =
  service_count = 0
  process_min_avail = 1
  inet_listener pop3 {
    address = $ADDR
    port = $POP3_PORT
  }
  inet_listener pop3s {
    address = $ADDR
    port = $POP3S_PORT
    ssl = yes
  }
}
service managesieve-login {
  chroot =
  service_count = 0
  process_min_avail = 1
  inet_listener sieve {
    address = $ADDR
    port = $SIEVE_PORT
  }
}
# Postfix's SASL (SASL_PORT) asks Dovecot's auth service
service auth {
  unix_listener $DIR/dovecot-run/auth-postfix {
    mode = 0666
  }
}
# POP3: an expired leaf; ManageSieve: a leaf for another name.
protocol pop3 {
  ssl_cert = <$DIR/certs/expired-fullchain.pem
  ssl_key = <$DIR/certs/leaf-expired.key
}
protocol sieve {
  ssl_cert = <$DIR/certs/wronghost-fullchain.pem
  ssl_key = <$DIR/certs/leaf-wronghost.key
}
plugin {
  sieve = file:~/sieve;active=~/.dovecot.sieve
}
CONF
}

# ---- waiting ----

wait_for_tls() { # PORT
    for _ in $(seq 100); do
        timeout 3 openssl s_client -connect "$ADDR:$1" </dev/null >/dev/null 2>&1 && return 0
        sleep 0.1
    done
    return 1
}

start() {
    local info=$1
    [[ -f $info ]] && stop "$info"
    mkdir -p "$(dirname "$info")"
    DIR=$(mktemp -d /tmp/mailsec-mailbed.XXXXXX)
    chmod 755 "$DIR"
    # The info file names DIR at once, so that a start killed half-way
    # (a CTest time-out) is still cleaned up by the next stop or start.
    echo "DIR=$DIR" >"$info"
    # on any failure (an error, die's exit, a signal): stop what started,
    # leave nothing behind
    trap 'stop_dir "$DIR"; rm -rf "$DIR" "$info"' EXIT
    trap 'exit 1' INT TERM HUP
    free_ports SMTP_PORT SUBMISSION_PORT SMTPS_PORT LIMITED_PORT SASL_PORT CIPHERS_PORT IMAP_PORT IMAPS_PORT POP3_PORT POP3S_PORT SIEVE_PORT LMTP_PORT || die "no free ports"
    make_certs
    write_postfix
    write_dovecot
    postfix -c "$DIR/postfix" check >"$DIR/postfix-check.log" 2>&1 || true
    start_mail_servers "$DIR" || die "Postfix or Dovecot did not start"
    /usr/bin/python3 "$HERE/badserver.py" "$DIR/certs" "$DIR/bad.ports" "$DIR/bad.pid" \
        >"$DIR/badserver.log" 2>&1 </dev/null &
    disown
    wait_for_line "$ADDR" "$SMTP_PORT" "220 " || die "postfix does not answer on $SMTP_PORT"
    wait_for_line "$ADDR" "$IMAP_PORT" "* OK" || { cat "$DIR/dovecot.log" >&2; die "dovecot does not answer"; }
    wait_for_line "$ADDR" "$POP3_PORT" "+OK" || die "dovecot pop3 does not answer"
    wait_for_tls "$SMTPS_PORT" || die "postfix does not speak TLS on $SMTPS_PORT"
    for _ in $(seq 100); do [[ -s $DIR/bad.ports ]] && break; sleep 0.1; done
    [[ -s $DIR/bad.ports ]] || { cat "$DIR/badserver.log" >&2; die "badserver did not start"; }
    {
        echo "DIR=$DIR"
        echo "ADDR=$ADDR"
        echo "SERVERNAME=$SERVERNAME"
        echo "CA=$DIR/certs/root.pem"
        echo "CERTS=$DIR/certs"
        echo "CIPHERS_LIST=$CIPHERS_LIST"
        for k in SMTP_PORT SUBMISSION_PORT SMTPS_PORT LIMITED_PORT SASL_PORT CIPHERS_PORT IMAP_PORT IMAPS_PORT POP3_PORT POP3S_PORT SIEVE_PORT LMTP_PORT; do
            echo "$k=${!k}"
        done
        echo "MAIL_USER=$MAIL_USER"
        echo "MAIL_PASSWORD=$MAIL_PASSWORD"
        echo "PASSWD_FILE=$DIR/dovecot-users"
        echo "MAILDIR=$DIR/mail/$MAIL_USER/Maildir"
        echo "DOVECOT_CONF=$DIR/dovecot.conf"
        echo "POSTFIX_CONF=$DIR/postfix"
        cat "$DIR/bad.ports"
    } >"$info.tmp"
    mv "$info.tmp" "$info"
    trap - EXIT INT TERM HUP
}

# Stops whatever runs from DIR (used by stop and on a failed start).
stop_dir() {
    local dir=$1
    [[ -n $dir && -d $dir ]] || return 0
    stop_mail_servers "$dir"
    if [[ -f $dir/bad.pid ]]; then
        kill "$(cat "$dir/bad.pid")" 2>/dev/null || true
    fi
    return 0
}

stop() {
    local info=$1 dir
    [[ -f $info ]] || return 0
    dir=$(sed -n 's/^DIR=//p' "$info")
    stop_dir "$dir"
    [[ $dir == /tmp/mailsec-mailbed.* ]] && rm -rf "$dir"
    rm -f "$info"
}

case ${1:-} in
start) start "${2:?info file}" ;;
stop) stop "${2:?info file}" ;;
*) die "usage: mailbed.sh start|stop INFOFILE" ;;
esac
