#!/usr/bin/env bash
# serve.sh MAILSEC: Postfix 3.7 and Dovecot 2.3 started with what
# `mailsec conf generate --apply` wrote, for each profile, then
# `mailsec tls check` on every port: SMTP with STARTTLS (25), submission
# (587, STARTTLS), submissions (465, TLS at once), IMAP (143) and IMAPS
# (993), on loopback random high ports under mktemp, as the mail test bed
# does (tests/mailbed). What is checked comes from Mozilla's profiles:
# intermediate accepts TLS 1.2 and 1.3 and nothing older, modern TLS 1.3
# only; every port verifies against the test CA with no error finding.
# SMTP AUTH works as generated, Postfix asking Dovecot: a passwd-file user
# logs in with AUTH PLAIN after STARTTLS on submission and over TLS on
# submissions, and a wrong password is refused (smtp-auth.py); the bed
# only moves the auth socket into its own queue directory.
# Needs root (Postfix's master). The servers are stopped even on failure.
set -uo pipefail
BIN=$1
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$HERE/../lib/servers.sh"
. "$HERE/../lib/mailservers.sh"
ADDR=127.0.0.1
. "$HERE/../lib/testlib.sh"
DIR=$WORK
chmod 755 "$DIR"
on_exit 'stop_mail_servers "$DIR"'

if [[ $(id -u) != 0 ]]; then
    die "needs root (Postfix's master)"
fi
CA=${MAILSEC_TEST_CA:-}
if [[ -z $CA || ! -f $CA/root.pem ]]; then
    CA=$DIR/ca-made
    bash "$HERE/../cert/make-test-ca.sh" "$CA" >/dev/null || die "no test CA"
fi
mkdir -p "$DIR/certs"
cp "$CA"/fullchain.pem "$CA"/leaf-rsa.pem "$CA"/chain.pem "$CA"/leaf-rsa.key "$CA"/root.pem "$DIR/certs/"
chmod 600 "$DIR/certs/leaf-rsa.key"
echo 'alice@example.test:{PLAIN}correct-horse' >"$DIR/users"

write_base() {
    # the test bed's own settings (as tests/mailbed); TLS comes from mailsec
    postfix_main_cf_base "$DIR" mail.example.test "$ADDR"
    echo "smtpd_use_tls = yes" >>"$DIR/postfix/main.cf"
    {
        echo "$ADDR:$SMTP_PORT inet n - n - - smtpd"
        postfix_master_cf_services
    } >"$DIR/postfix/master.cf"
    dovecot_conf_base "$DIR" "mailsec-conf-serve-$$" "$ADDR"
    cat >>"$DIR/dovecot.conf" <<CONF
protocols = imap
ssl = yes
ssl_dh_parameters_length = 2048
passdb {
  driver = passwd-file
  args = $DIR/users
}
userdb {
  driver = static
  args = uid=nobody gid=nogroup home=$DIR/home
}
CONF
    dovecot_imap_login "$DIR" "$ADDR" "$IMAP_PORT" "$IMAPS_PORT"
}

for profile in intermediate modern; do
    free_ports SMTP_PORT SUB_PORT SUBS_PORT IMAP_PORT IMAPS_PORT || die "no free ports"
    rm -rf "$DIR/postfix" "$DIR/dovecot.conf" "$DIR/spool" "$DIR/dovecot-run" "$DIR/dovecot-state" "$DIR"/*.log
    write_base
    "$BIN" conf generate postfix --version 3.7 --profile $profile --cert "$DIR/certs/leaf-rsa.pem" \
        --chain "$DIR/certs/chain.pem" --key "$DIR/certs/leaf-rsa.key" --apply "$DIR/postfix" >/dev/null ||
        fail "$profile: generate postfix --apply"
    "$BIN" conf generate dovecot --version 2.3 --profile $profile --cert "$DIR/certs/fullchain.pem" \
        --key "$DIR/certs/leaf-rsa.key" --apply "$DIR" >/dev/null || fail "$profile: generate dovecot --apply"
    # the bed's adaptations: loopback high ports instead of 587 and 465, no chroot
    sed -i -e "s/^submission inet n       -       y /$ADDR:$SUB_PORT inet n - n /" \
        -e "s/^submissions inet n       -       y /$ADDR:$SUBS_PORT inet n - n /" "$DIR/postfix/master.cf"
    # and the auth socket in the bed's queue directory, as smtpd_sasl_path resolves it
    sed -i "s|unix_listener /var/spool/postfix/private/auth |unix_listener $DIR/spool/private/auth |" "$DIR/dovecot.conf"
    if start_mail_servers "$DIR" 2>"$DIR/start.err"; then
        ok "$profile: Postfix and Dovecot start with the generated configuration"
    else
        fail "$profile: start: $(head -c 800 "$DIR/start.err")"
        stop_mail_servers "$DIR"
        continue
    fi
    for port in $SMTP_PORT $SUB_PORT $SUBS_PORT $IMAP_PORT $IMAPS_PORT; do
        for _ in $(seq 100); do
            (exec 3<>"/dev/tcp/$ADDR/$port") 2>/dev/null && break
            sleep 0.1
        done
    done
    "$BIN" tls check "$ADDR" --servername mail.example.test --ca "$DIR/certs/root.pem" --no-injection \
        --port "$SMTP_PORT/smtp" --port "$SUB_PORT/smtp" --port "$SUBS_PORT/tls" \
        --port "$IMAP_PORT/imap" --port "$IMAPS_PORT/tls" --json >"$DIR/check.json" 2>"$DIR/check.err"
    rc=$?
    if [[ $profile == modern ]]; then want='["TLSv1.3"]'; else want='["TLSv1.2","TLSv1.3"]'; fi
    for port in $SMTP_PORT $SUB_PORT $SUBS_PORT $IMAP_PORT $IMAPS_PORT; do
        if json_true --argjson p "$port" --argjson want "$want" '
            [.. | objects | select(.port? == $p)][0] as $r
            | $r != null and ($r.versions_accepted | unique) == $want and $r.certificate.verified == true
              and all($r.diagnostics[]; .severity != "error")' "$DIR/check.json" >/dev/null; then
            ok "$profile: port $port: TLS $(jq -c "$want" <<<null), the chain verifies, no error"
        else
            fail "$profile: port $port: $(jq -c --argjson p "$port" '[.. | objects | select(.port? == $p)][0] | {versions_accepted, verified: .certificate.verified, d: [.diagnostics[] | [.code, .message]]}' "$DIR/check.json" 2>/dev/null | head -c 800) $(head -c 300 "$DIR/check.err")"
        fi
    done
    ((rc == 0)) && ok "$profile: tls check exits 0" || fail "$profile: tls check exit $rc"
    # SMTP AUTH through Dovecot, on both submission ports
    for mode_port in starttls:$SUB_PORT tls:$SUBS_PORT; do
        mode=${mode_port%%:*} port=${mode_port#*:}
        out=$(/usr/bin/python3 "$HERE/smtp-auth.py" "$mode" "$ADDR" "$port" "$DIR/certs/root.pem" \
            alice@example.test correct-horse)
        rc=$?
        ((rc == 0)) && ok "$profile: port $port ($mode): AUTH PLAIN with the right password: $out" ||
            fail "$profile: port $port ($mode): AUTH PLAIN with the right password: exit $rc: $out $(tail -n 5 "$DIR/postfix.log" "$DIR/dovecot.log" 2>/dev/null | head -c 800)"
        out=$(/usr/bin/python3 "$HERE/smtp-auth.py" "$mode" "$ADDR" "$port" "$DIR/certs/root.pem" \
            alice@example.test wrong-horse)
        rc=$?
        ((rc == 1)) && ok "$profile: port $port ($mode): a wrong password is refused: $out" ||
            fail "$profile: port $port ($mode): a wrong password: exit $rc (want 1, refused): $out"
    done
    # the audit of what is running agrees with the profile
    "$BIN" conf audit --postfix "$DIR/postfix" --dovecot "$DIR/dovecot.conf" --profile $profile \
        --ca "$DIR/certs/root.pem" --json >"$DIR/audit.json"
    if json_true '(.results | length) > 0 and all(.results[].diagnostics[]; .code != "conf.profile" and .severity != "error" and (.code | startswith("conf.sasl") | not))' "$DIR/audit.json" >/dev/null; then
        ok "$profile: the audit of the running configuration asks for no change"
    else
        fail "$profile: audit: $(jq -c '[.results[].diagnostics[] | [.code, .location, .message]]' "$DIR/audit.json" | head -c 800)"
    fi
    stop_mail_servers "$DIR"
done
finish serve
