#!/usr/bin/env bash
# milter.sh MAILSEC: mail through a real Postfix with `mailsec milter` on
# smtpd_milters and non_smtpd_milters, delivered by LMTP into a real
# Dovecot's Maildir; keys and records from the DNS test bed
# (tests/dnsbed/zones/m*.example.zone). Messages are sent with swaks from
# several loopback addresses (the SPF records name which may send), signed
# by dkimpy and OpenDKIM (opendkim-testmsg, and the daemon driven by
# miltertest); the assertions read the Authentication-Results of
# what Dovecot stored, Postfix's replies and its hold queue (quarantine),
# and the milter's log. Failure reports (RFC 9991) go to a second mailbox,
# failures@rcpt.example, and are read back with `mailsec report ingest`.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$here/../lib/servers.sh"
. "$here/../lib/mailservers.sh"
. "$here/../lib/opendkim.sh"
mailsec=$(realpath "$1")
py=/usr/bin/python3
keys=$here/../data/dkim/keys
ADDR=127.0.0.1
AUTHSERV=mx.milterbed.example

for tool in swaks postfix dovecot "$py" /usr/sbin/opendkim-testmsg "$OPENDKIM" "$MILTERTEST"; do
    command -v "$tool" >/dev/null || { echo "FAIL - $tool is not installed (scripts/deps.txt)"; exit 1; }
done
. "$(dirname "${BASH_SOURCE[0]}")/../lib/dnsbed.sh"

DIR=$(mktemp -d /tmp/mailsec-milterbed.XXXXXX)
chmod 755 "$DIR"
mkdir -p "$DIR/opendkim"
opendkim_verifier "$DIR/opendkim" "$dns_port"
milter_pid=
cleanup() {
    local rc=$?
    if ((rc != 0)) && [[ -f $DIR/milter.log ]]; then
        echo "--- milter log ---"
        tail -40 "$DIR/milter.log"
        echo "--- postfix log (milter lines) ---"
        grep -i -E 'milter|warning|error' "$DIR/postfix.log" 2>/dev/null | tail -20
    fi
    stop_pid "$milter_pid" TERM 10
    stop_mail_servers "$DIR"
    rm -rf "$DIR"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

failures=0
ok() { echo "ok - $1"; }
fail() { echo "FAIL - $1"; failures=$((failures + 1)); }

# ---- the bed ----

SMTP_PORT=$(free_port)
LMTP_PORT=$(free_port "$SMTP_PORT")
MILTER_PORT=$(free_port "$SMTP_PORT" "$LMTP_PORT")

postfix_main_cf_base "$DIR" mx.milterbed.example "$ADDR"
cat >>"$DIR/postfix/main.cf" <<CONF
mynetworks = 127.0.0.0/8
smtpd_recipient_restrictions = permit_mynetworks, reject_unauth_destination
virtual_mailbox_domains = rcpt.example
virtual_transport = lmtp:inet:$ADDR:$LMTP_PORT
smtpd_milters = inet:$ADDR:$MILTER_PORT
non_smtpd_milters = inet:$ADDR:$MILTER_PORT
milter_default_action = tempfail
milter_protocol = 6
CONF
{
    echo "$ADDR:$SMTP_PORT inet n - n - - smtpd"
    postfix_master_cf_services
} >"$DIR/postfix/master.cf"

dovecot_conf_base "$DIR" "mailsec-milterbed-$$" "$ADDR"
cat >>"$DIR/dovecot.conf" <<CONF
protocols = lmtp
ssl = no
auth_username_format = %n
CONF
dovecot_maildir_user "$DIR" inbox inbox-secret "$DIR/mail/inbox"
dovecot_lmtp_listener "$DIR" "$ADDR" "$LMTP_PORT"
MAILDIR=$DIR/mail/inbox/Maildir
# a second mailbox, failures@rcpt.example, for the failure reports
mkdir -p "$DIR/mail/failures/Maildir"/{cur,new,tmp}
chown -R nobody "$DIR/mail/failures"
printf 'failures:{PLAIN}failures-secret:%s:%s::%s\n' "$(id -u nobody)" "$(id -g nobody)" \
    "$DIR/mail/failures" >>"$DIR/dovecot-users"
FAILDIR=$DIR/mail/failures/Maildir

# the milter runs as nobody: its trust anchor where nobody can read it, a
# store it can write
cp "$anchor" "$DIR/trust-anchors"
chmod 644 "$DIR/trust-anchors"
mkdir "$DIR/store"
chown nobody "$DIR/store"
cat >"$DIR/milter.conf" <<CONF
# the milter bed's configuration (tests/milter/milter.sh)
authserv-id $AUTHSERV
resolver $resolver
trust-anchor $DIR/trust-anchors
timeout 10
max-header-bytes 65536
sign msign.example rsa $keys/rsa2048.pem
sign msign.example ed $keys/ed25519.pem
relay 127.0.0.9
relay 127.0.0.1
mailing-list test.mlists.example
forwarder-domain mlists.example
on-reject reject
on-quarantine quarantine
on-error tempfail
store sqlite:$DIR/store/evaluations.db
failure-reports on
failure-from dmarc-failures@milterbed.example
failure-smtp $ADDR:$SMTP_PORT
CONF

start_mail_servers "$DIR" || { echo "FAIL - the mail servers did not start"; exit 1; }
wait_for_line "$ADDR" "$SMTP_PORT" "220 " || { echo "FAIL - postfix does not answer"; exit 1; }
# start_milter CONF: the milter with CONF, as nobody, logging to DIR/milter.log
start_milter() {
    ${MILTER_WRAP:-} "$mailsec" milter --socket "inet:$MILTER_PORT@$ADDR" --config "$1" --user nobody \
        2>"$DIR/milter.log" </dev/null &
    milter_pid=$!
    for _ in $(seq 100); do
        grep -q 'listening on' "$DIR/milter.log" && break
        kill -0 "$milter_pid" 2>/dev/null || break
        sleep 0.1
    done
    grep -q 'listening on' "$DIR/milter.log" || { cat "$DIR/milter.log"; echo "FAIL - the milter did not start"; exit 1; }
}

# stop_milter: SIGTERM, and the milter must exit 0 within 10 s
stop_milter() {
    kill -TERM "$milter_pid" 2>/dev/null || true
    for _ in $(seq 100); do kill -0 "$milter_pid" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$milter_pid" 2>/dev/null; then
        fail "the milter ignores SIGTERM"
    else
        wait "$milter_pid" && ok "the milter stops on SIGTERM (exit 0)" || fail "the milter exited $? on SIGTERM"
    fi
    milter_pid=
}

start_milter "$DIR/milter.conf"
ok "postfix, dovecot and the milter run (smtp $SMTP_PORT, lmtp $LMTP_PORT, milter $MILTER_PORT)"

# ---- sending and looking ----

# message CASE FROM [FIELD...] > FILE
message() { "$py" "$here/mail.py" make "$@"; }
dkimpy() { "$py" "$here/../dkim/dkimpy-sign.py" --canon relaxed/relaxed "$@"; }

# send CASE CLIENT-IP MAIL-FROM FILE: swaks's transcript in DIR/CASE.smtp;
# its exit status is swaks's (0: accepted)
send() {
    local case=$1 ip=$2 from=$3 file=$4
    swaks --server "$ADDR:$SMTP_PORT" --local-interface "$ip" --helo "client.$case.example" \
        --from "$from" --to inbox@rcpt.example --data "@$file" --timeout 60 \
        >"$DIR/$case.smtp" 2>&1
}

# delivered CASE: the Maildir file of the case (waits up to 30 s)
delivered() {
    local file
    for _ in $(seq 300); do
        file=$("$py" "$here/mail.py" find "$MAILDIR" "$1")
        [[ -n $file ]] && { echo "$file"; return 0; }
        sleep 0.1
    done
    return 1
}

# auth_results FILE: the Authentication-Results fields, unfolded
auth_results() { "$py" "$here/mail.py" fields "$1" Authentication-Results; }

# expect_delivered CASE PATTERN...: delivered, with exactly one field of our
# authserv-id, matching each extended regular expression
expect_delivered() {
    local case=$1 file ar ours
    shift
    if ! grep -q 'queued as' "$DIR/$case.smtp" || ! file=$(delivered "$case"); then
        fail "$case: not delivered ($(grep -E '^ *<[-~*]* +[0-9]{3} ' "$DIR/$case.smtp" | tail -1))"
        return
    fi
    ar=$(auth_results "$file")
    ours=$(grep -c "^$AUTHSERV;" <<<"$ar" || true)
    if [[ $ours != 1 ]]; then
        fail "$case: $ours Authentication-Results of $AUTHSERV, not 1: $ar"
        return
    fi
    local line pattern
    line=$(grep "^$AUTHSERV;" <<<"$ar")
    for pattern in "$@"; do
        if ! grep -Eq -- "$pattern" <<<"$line"; then
            fail "$case: Authentication-Results lacks /$pattern/: $line"
            return
        fi
    done
    ok "$case: delivered; $line"
}

# expect_rejected CASE PATTERN: Postfix answered the end of data with 550
# 5.7.1 and the milter's reason
expect_rejected() {
    local case=$1 pattern=$2 reply
    reply=$(grep -E '^ *<[-~*]* +5[0-9]{2} ' "$DIR/$case.smtp" | tail -1 || true)
    if [[ $reply == *"550 5.7.1"* ]] && grep -Eq -- "$pattern" <<<"$reply"; then
        ok "$case: rejected; $reply"
    else
        fail "$case: not rejected with 550 5.7.1 /$pattern/: ${reply:-no 5xx reply}"
    fi
}

# queue_id CASE: the queue id Postfix gave the case's message, or nothing
queue_id() { sed -n 's/.*queued as \([0-9A-F]*\).*/\1/p' "$DIR/$1.smtp" | tail -1; }

# log_has CASE PATTERN: the milter logged a line for the case's queue id
log_has() {
    local case=$1 pattern=$2 qid
    qid=$(queue_id "$case")
    if [[ -n $qid ]] && grep -E "milter: $qid .*$pattern" "$DIR/milter.log" >/dev/null; then
        ok "$case: logged /$pattern/"
    else
        fail "$case: no log line /$pattern/ for queue id '${qid}'"
    fi
}

# ---- incoming ----

# signed by dkimpy (rsa-sha256), sent from the address SPF allows
message valid user@mgood.example | dkimpy rsa mgood.example "$keys/rsa2048.pem" >"$DIR/valid.eml"
send valid 127.0.0.2 bounce@mgood.example "$DIR/valid.eml" || true
expect_delivered valid 'spf=pass smtp.mailfrom=mgood.example' \
    'dkim=pass header.d=mgood.example header.s=rsa' 'dmarc=pass .*header.from=mgood.example' 'arc=none'

# signed by OpenDKIM: opendkim-testmsg signs rsa-sha1 only, which RFC 8301
# forbids verifiers to accept; SPF passes and aligns
message opendkim user@mgood.example >"$DIR/opendkim.raw"
/usr/sbin/opendkim-testmsg -C -d mgood.example -s rsa -k "$keys/rsa2048.pem" \
    <"$DIR/opendkim.raw" >"$DIR/opendkim.eml"
send opendkim 127.0.0.2 bounce@mgood.example "$DIR/opendkim.eml" || true
expect_delivered opendkim 'spf=pass' 'dkim=permerror \(rsa-sha1-refused\) header.d=mgood.example header.s=rsa' \
    'dmarc=pass'

# signed by OpenDKIM itself (the daemon in sign mode, rsa-sha256, driven by
# miltertest); sent from an address SPF does not allow, so DMARC passes by
# the signature alone
opendkim_signer "$DIR/opendkim" mgood.example rsa "$keys/rsa2048.pem" "$(free_port "$SMTP_PORT" "$LMTP_PORT" "$MILTER_PORT")"
message odkvalid user@mgood.example | opendkim_sign >"$DIR/odkvalid.eml" ||
    fail "odkvalid: OpenDKIM did not sign ($(tail -2 "$DIR/odkvalid.eml"))"
send odkvalid 127.0.0.5 bounce@mgood.example "$DIR/odkvalid.eml" || true
expect_delivered odkvalid 'spf=fail' 'dkim=pass header.d=mgood.example header.s=rsa' 'dmarc=pass'
# the same with its body changed after signing; SPF passes and aligns
message odkbroken user@mgood.example | opendkim_sign | "$py" "$here/mail.py" mutate body \
    >"$DIR/odkbroken.eml" || fail "odkbroken: OpenDKIM did not sign"
send odkbroken 127.0.0.2 bounce@mgood.example "$DIR/odkbroken.eml" || true
expect_delivered odkbroken 'spf=pass' 'dkim=fail \(body-hash-mismatch\) header.d=mgood.example' 'dmarc=pass'

# ed25519-sha256 (dkimpy)
message ed25519 user@mgood.example | "$py" "$here/../dkim/dkimpy-sign.py" --canon relaxed/relaxed \
    --alg ed25519-sha256 ed mgood.example "$keys/ed25519.key" >"$DIR/ed25519.eml"
send ed25519 127.0.0.5 bounce@mgood.example "$DIR/ed25519.eml" || true
expect_delivered ed25519 'dkim=pass header.d=mgood.example header.s=ed' 'dmarc=pass'

# the body changed after signing; SPF still passes and aligns
message badbody user@mgood.example | dkimpy rsa mgood.example "$keys/rsa2048.pem" |
    "$py" "$here/mail.py" mutate body >"$DIR/badbody.eml"
send badbody 127.0.0.2 bounce@mgood.example "$DIR/badbody.eml" || true
expect_delivered badbody 'spf=pass' 'dkim=fail .*header.d=mgood.example' 'dmarc=pass'

# a signed header field changed, and SPF fails: p=reject applies
message badheader user@mgood.example | dkimpy rsa mgood.example "$keys/rsa2048.pem" |
    "$py" "$here/mail.py" mutate subject >"$DIR/badheader.eml"
send badheader 127.0.0.5 bounce@mgood.example "$DIR/badheader.eml" || true
expect_rejected badheader 'DMARC policy of mgood.example'

# a spoofed From of the p=reject domain, unsigned, from elsewhere
message spoofed ceo@mgood.example >"$DIR/spoofed.eml"
send spoofed 127.0.0.5 attacker@mlists.example "$DIR/spoofed.eml" || true
expect_rejected spoofed 'DMARC policy of mgood.example rejects'

# ---- failure reports (RFC 9991) ----

# failure_reports: the files in failures@rcpt.example's Maildir
failure_reports() { find "$FAILDIR/new" "$FAILDIR/cur" -type f 2>/dev/null | sort; }
# log_says CASE PATTERN: the milter logged a line matching PATTERN (for
# rejected mail, whose queue id the sender never learns)
log_says() {
    if grep -Eq "milter: [0-9A-F]+ $2" "$DIR/milter.log"; then
        ok "$1: logged /$2/"
    else
        fail "$1: no log line /$2/ ($(grep -i failure "$DIR/milter.log" | tail -3))"
    fi
}
# wait_reports N: until N reports arrived (up to 60 s)
wait_reports() {
    for _ in $(seq 600); do
        (($(failure_reports | wc -l) >= $1)) && return 0
        sleep 0.1
    done
    return 1
}

# mfail.example (p=reject; ruf=mailto:failures@rcpt.example, authorised;
# fo=1) spoofed: rejected, and one report reaches the ruf= mailbox
message failspoof ceo.secret@mfail.example >"$DIR/failspoof.eml"
send failspoof 127.0.0.5 attacker.hidden@mlists.example "$DIR/failspoof.eml" || true
expect_rejected failspoof 'DMARC policy of mfail.example rejects'
if wait_reports 1; then
    report=$(failure_reports | head -1)
    if grep -q '^Feedback-Type: auth-failure' "$report" && grep -q '^Auth-Failure: dmarc' "$report" &&
        grep -q '^Reported-Domain: mfail.example' "$report" && grep -q '^Source-IP: 127.0.0.5' "$report"; then
        ok "failure report: delivered to failures@rcpt.example (auth-failure, dmarc, mfail.example, 127.0.0.5)"
    else
        fail "failure report: not the expected fields: $(head -c 3000 "$report")"
    fi
    # redaction (the default, failure-redact local-part): neither the From's
    # nor the envelope sender's local part is in the report
    if ! grep -q -e 'ceo\.secret' -e 'attacker\.hidden' "$report" && grep -q 'redacted@mfail.example' "$report"; then
        ok "failure report: the local parts are redacted"
    else
        fail "failure report: local parts not redacted: $(grep -n -e secret -e hidden -e redacted "$report")"
    fi
    # what `report ingest` makes of it
    "$mailsec" report ingest --db "sqlite:$DIR/failures.db" "$report" >"$DIR/ingest.out" 2>&1 ||
        fail "failure report: report ingest failed: $(cat "$DIR/ingest.out")"
    view=$("$mailsec" report failures --json --db "sqlite:$DIR/failures.db" 2>&1 || true)
    if jq -e '.results | length == 1 and .[0].domain == "mfail.example" and
        .[0].source_ip == "127.0.0.5" and .[0].auth_failure == "dmarc" and .[0].incidents == 1' \
        <<<"$view" >/dev/null 2>&1; then
        ok "failure report: ingested and viewed as a failure report of mfail.example from 127.0.0.5"
    else
        fail "failure report: report failures --json says: $view"
    fi
else
    fail "failure report: none arrived in 60 s ($(grep -i failure "$DIR/milter.log" | tail -3))"
fi
log_sent='milter: failure report about mfail.example \(source 127.0.0.5\) sent to failures@rcpt.example'
if grep -Eq "$log_sent" "$DIR/milter.log"; then
    ok "failure report: the sending is logged"
else
    fail "failure report: no log line /$log_sent/"
fi

# the same spoof from the same address within failure-interval: no second
# report; from another address: one
message failagain ceo.secret@mfail.example >"$DIR/failagain.eml"
send failagain 127.0.0.5 attacker.hidden@mlists.example "$DIR/failagain.eml" || true
expect_rejected failagain 'DMARC policy of mfail.example rejects'
log_says failagain 'failure report about mfail.example \(source 127.0.0.5\) not sent: one went within failure-interval'
message failother ceo.secret@mfail.example >"$DIR/failother.eml"
send failother 127.0.0.6 attacker.hidden@mlists.example "$DIR/failother.eml" || true
if wait_reports 2 && grep -q '^Source-IP: 127.0.0.6' $(failure_reports); then
    ok "failure report: rate limit per source address (127.0.0.6 gets its own)"
else
    fail "failure report: none for 127.0.0.6 ($(grep -i failure "$DIR/milter.log" | tail -3))"
fi

# mfailext.example's ruf= is outside it, at a destination that has not
# authorised it: no report, and the log says why
message failext ceo@mfailext.example >"$DIR/failext.eml"
send failext 127.0.0.5 attacker@mlists.example "$DIR/failext.eml" || true
expect_rejected failext 'DMARC policy of mfailext.example rejects'
log_says failext 'failure report to mailto:failures@mlists.example not sent: mlists.example has not authorised reports about mfailext.example'

# the p=quarantine domain spoofed: Postfix's hold queue
message quarantine ceo@mquar.example >"$DIR/quarantine.eml"
send quarantine 127.0.0.5 attacker@mlists.example "$DIR/quarantine.eml" || true
log_has quarantine 'dmarc=fail from=mquar.example action=quarantine'
qid=$(queue_id quarantine)
if [[ -n $qid && -e $DIR/spool/hold/$qid ]]; then
    ok "quarantine: $qid is in the hold queue"
else
    fail "quarantine: '$qid' is not in the hold queue ($(ls "$DIR/spool/hold" 2>&1 | tr '\n' ' '))"
fi

# p=reject with pct=0 (RFC 7489): sampled out, so quarantined instead
message pct ceo@mpct.example >"$DIR/pct.eml"
send pct 127.0.0.5 attacker@mlists.example "$DIR/pct.eml" || true
log_has pct 'dmarc=fail from=mpct.example override=sampled_out action=quarantine'

# np= (RFC 9989): mnp.example publishes p=none; sp=none; np=reject. A From
# name below it that does not exist (no A, AAAA or MX) gets np=reject; one
# that exists (an address; an MX only) gets sp=none
message npghost ceo@ghost.mnp.example >"$DIR/npghost.eml"
send npghost 127.0.0.5 attacker@mlists.example "$DIR/npghost.eml" || true
expect_rejected npghost 'DMARC policy of mnp.example \(np=reject.*ghost.mnp.example does not exist'
message npreal ceo@real.mnp.example >"$DIR/npreal.eml"
send npreal 127.0.0.5 attacker@mlists.example "$DIR/npreal.eml" || true
expect_delivered npreal 'dmarc=fail \(sp=none dis=none\) header.from=real.mnp.example'
message npmx ceo@mxonly.mnp.example >"$DIR/npmx.eml"
send npmx 127.0.0.5 attacker@mlists.example "$DIR/npmx.eml" || true
expect_delivered npmx 'dmarc=fail \(sp=none dis=none\) header.from=mxonly.mnp.example'

# forwarded: SPF fails at the forwarder's address, the signature survives
message forwarded user@mgood.example | dkimpy rsa mgood.example "$keys/rsa2048.pem" >"$DIR/forwarded.eml"
send forwarded 127.0.0.6 forwarder@mlists.example "$DIR/forwarded.eml" || true
expect_delivered forwarded 'spf=fail smtp.mailfrom=mlists.example' 'dkim=pass' 'dmarc=pass'

# a mailing list adds a footer (the signature breaks) and sends from its own
# envelope; the configured List-Id overrides the DMARC failure
message mlist user@mgood.example "List-Id: Test list <test.mlists.example>" |
    dkimpy rsa mgood.example "$keys/rsa2048.pem" | "$py" "$here/mail.py" mutate footer >"$DIR/mlist.eml"
send mlist 127.0.0.7 test-bounces@mlists.example "$DIR/mlist.eml" || true
expect_delivered mlist 'spf=pass smtp.mailfrom=mlists.example' 'dkim=fail' \
    'dmarc=fail \(p=reject dis=none override=mailing_list\)'

# the same list not configured: rejected
message otherlist user@mgood.example "List-Id: Other list <other.mlists.example>" |
    dkimpy rsa mgood.example "$keys/rsa2048.pem" | "$py" "$here/mail.py" mutate footer >"$DIR/otherlist.eml"
send otherlist 127.0.0.7 other-bounces@mlists.example "$DIR/otherlist.eml" || true
expect_rejected otherlist 'DMARC policy of mgood.example'

# ARC (RFC 8617): a forwarder changes the body (the signature breaks),
# seals, and sends from an address SPF does not allow; its seal is trusted
# (forwarder-domain mlists.example)
arc_seal() { "$py" "$here/../dkim/dkimpy-arc.py" seal rsa "$1" "$keys/rsa2048.pem" "mx.$1" none; }
message arc user@mgood.example | dkimpy rsa mgood.example "$keys/rsa2048.pem" |
    "$py" "$here/mail.py" mutate footer | arc_seal mlists.example >"$DIR/arc.eml"
send arc 127.0.0.6 forwarder@mlists.example "$DIR/arc.eml" || true
expect_delivered arc 'dkim=fail' 'dmarc=fail \(p=reject dis=none override=trusted_forwarder\)' \
    'arc=pass \(i=1\) header.d=mlists.example'

# the same sealed by a forwarder not trusted: the chain passes, the policy applies
message arcother user@mgood.example | dkimpy rsa mgood.example "$keys/rsa2048.pem" |
    "$py" "$here/mail.py" mutate footer | arc_seal mquar.example >"$DIR/arcother.eml"
send arcother 127.0.0.6 forwarder@mlists.example "$DIR/arcother.eml" || true
expect_rejected arcother 'DMARC policy of mgood.example'

# forged Authentication-Results with our authserv-id (two spellings) are
# removed; another server's stays
message forged user@mgood.example \
    "Authentication-Results: $AUTHSERV; dkim=pass header.d=mgood.example" \
    "Authentication-Results: (forged) \"MX.MILTERBED.EXAMPLE\" 1; dmarc=pass" \
    "Authentication-Results: other.example; spf=pass smtp.mailfrom=mgood.example" |
    dkimpy rsa mgood.example "$keys/rsa2048.pem" >"$DIR/forged.eml"
send forged 127.0.0.2 bounce@mgood.example "$DIR/forged.eml" || true
expect_delivered forged 'dkim=pass' 'dmarc=pass'
if file=$(delivered forged); then
    ar=$(auth_results "$file")
    if [[ $(grep -ci 'milterbed' <<<"$ar") == 1 ]] && grep -q '^other.example; spf=pass' <<<"$ar"; then
        ok "forged: the forged fields are gone, other.example's stays"
    else
        fail "forged: Authentication-Results after the milter: $ar"
    fi
fi

# a header section over max-header-bytes (65536): not evaluated, delivered
extra=()
for i in $(seq 80); do extra+=("X-Filler-$i: $(printf 'x%.0s' $(seq 1000))"); done
message toolong user@mgood.example "${extra[@]}" >"$DIR/toolong.eml"
send toolong 127.0.0.5 bounce@mgood.example "$DIR/toolong.eml" || true
expect_delivered toolong 'dkim=permerror \(header section too large\)' 'dmarc=permerror'

# one over-long field (20 kB Subject continuation) within the bound: evaluated
message longfield user@mgood.example "X-Long: $(printf 'y%.0s' $(seq 20000))" |
    dkimpy rsa mgood.example "$keys/rsa2048.pem" >"$DIR/longfield.eml"
send longfield 127.0.0.5 bounce@mgood.example "$DIR/longfield.eml" || true
expect_delivered longfield 'dkim=pass' 'dmarc=pass'

# malformed fields: an unreadable From, junk bytes, an unterminated comment
printf 'From: "unterminated <ceo@mgood.example>, (((\r\nTo: inbox@rcpt.example\r\nSubject: \xff\xfe junk\r\nX-Case: malformed\r\nX-Junk: (unterminated comment\r\n\r\nbody\r\n' \
    >"$DIR/malformed.eml"
send malformed 127.0.0.5 bounce@mgood.example "$DIR/malformed.eml" || true
expect_delivered malformed 'dmarc=permerror \(no readable From address\)'

# two From fields: rejected (RFC 5322 allows one)
printf 'From: user@mgood.example\r\nFrom: user@mlists.example\r\nTo: inbox@rcpt.example\r\nSubject: two\r\nX-Case: twofrom\r\n\r\nbody\r\n' \
    >"$DIR/twofrom.eml"
send twofrom 127.0.0.5 bounce@mlists.example "$DIR/twofrom.eml" || true
expect_rejected twofrom 'several From fields'

# ---- outgoing ----

# from a trusted relay: signed with both keys, verified by dkimpy
message outgoing user@msign.example >"$DIR/outgoing.eml"
send outgoing 127.0.0.9 user@msign.example "$DIR/outgoing.eml" || true
if file=$(delivered outgoing); then
    sigs=$("$py" "$here/mail.py" fields "$file" DKIM-Signature)
    if grep -q 'a=rsa-sha256' <<<"$sigs" && grep -q 'a=ed25519-sha256' <<<"$sigs" &&
        grep -q 'c=relaxed/relaxed' <<<"$sigs"; then
        ok "outgoing: signed rsa-sha256 and ed25519-sha256, relaxed/relaxed"
    else
        fail "outgoing: signatures: $sigs"
    fi
    if grep -Eq 'h=[^;]*from[^;]*from' <<<"$(tr 'A-Z' 'a-z' <<<"$sigs" | tr -d ' ')"; then
        ok "outgoing: From oversigned"
    else
        fail "outgoing: From not oversigned: $sigs"
    fi
    verdict=$("$py" "$here/../dkim/dkimpy-verify.py" "$resolver" "$file")
    if [[ $verdict == "$file pass pass" ]]; then
        ok "outgoing: dkimpy verifies both signatures"
    else
        fail "outgoing: dkimpy says: $verdict"
    fi
    # (a copy: OpenDKIM could not open the file in Dovecot's Maildir)
    cp "$file" "$DIR/opendkim/outgoing.eml"
    verdict=$(opendkim_says "$DIR/opendkim/outgoing.eml" | tr ' ' '\n' | sort | paste -sd' ' || true)
    if [[ $verdict == "ed=pass rsa=pass" ]]; then
        ok "outgoing: OpenDKIM verifies both signatures"
    else
        fail "outgoing: OpenDKIM says: $verdict ($(timeout 60 "$OPENDKIM" -x "$OPENDKIM_CONF" -t "$DIR/opendkim/outgoing.eml" 2>&1 | tail -3))"
    fi
    if [[ -z $(auth_results "$file") ]]; then
        ok "outgoing: not checked (no Authentication-Results)"
    else
        fail "outgoing: checked as incoming: $(auth_results "$file")"
    fi
else
    fail "outgoing: not delivered ($(tail -3 "$DIR/outgoing.smtp"))"
fi

# local origin (Postfix's sendmail command, non_smtpd_milters): signed too
message local user@msign.example >"$DIR/local.eml"
if sendmail -C "$DIR/postfix" -f user@msign.example inbox@rcpt.example <"$DIR/local.eml" 2>"$DIR/local.err"; then
    if file=$(delivered local) && [[ $("$py" "$here/../dkim/dkimpy-verify.py" "$resolver" "$file") == "$file pass pass" ]]; then
        ok "local: the sendmail command's mail is signed and verifies"
    else
        fail "local: not delivered signed ($(grep -i milter "$DIR/postfix.log" | tail -2))"
    fi
else
    fail "local: sendmail failed: $(cat "$DIR/local.err")"
fi

# ---- recorded: one evaluation per incoming message with a readable From ----
logged=$(grep -c 'milter: [0-9A-F]* in .* from=[a-z]' "$DIR/milter.log" || true)
stored=$(sqlite3 "$DIR/store/evaluations.db" 'SELECT count(*) FROM evaluations' 2>&1 || true)
rejected=$(sqlite3 "$DIR/store/evaluations.db" \
    "SELECT count(*) FROM evaluations WHERE disposition = 'reject' AND header_from = 'mgood.example'" 2>&1 || true)
if [[ $stored == "$logged" && $logged -gt 10 && $rejected == 4 ]]; then
    ok "store: $stored evaluations recorded, $rejected of them rejected for mgood.example"
else
    fail "store: $stored evaluations recorded ($rejected rejected), $logged logged"
fi

# ---- failure reports: only mfail.example's two (mgood.example publishes no
# ruf=, mfailext.example's is not authorised) ----
sleep 2
reported=$(grep -h '^Reported-Domain:' $(failure_reports) /dev/null | tr -d '\r' | sort | uniq -c | tr -s ' ' | paste -sd,)
if [[ $reported == " 2 Reported-Domain: mfail.example" ]]; then
    ok "failure reports: two in all, both about mfail.example"
else
    fail "failure reports: $reported"
fi

# ---- one DNS resolver for all connections: SMTP sessions open at once (one
# milter connection each, each message checked with DNS), and the milter's
# threads counted while they all are open. A libunbound resolver per
# connection would add its worker thread for each, 9 more for 10 sessions
# than for 1; the shared one has one worker and one dispatcher for all
# (libmilter's own threads are a pool: they may grow a little) ----
sessions() { "$py" "$here/mail.py" sessions "$ADDR" "$SMTP_PORT" 127.0.0.2 bounce@mgood.example "$1" "$milter_pid" <"$DIR/valid.eml"; }
one=$(sessions 1)
ten=$(sessions 10)
if [[ $one =~ ^accepted\ 1\ threads\ ([0-9]+)$ ]]; then
    threads_one=${BASH_REMATCH[1]}
    if [[ $ten =~ ^accepted\ 10\ threads\ ([0-9]+)$ ]] && ((BASH_REMATCH[1] - threads_one <= 4)); then
        ok "shared resolver: 10 sessions at once, the milter has ${BASH_REMATCH[1]} threads (1 session: $threads_one)"
    else
        fail "shared resolver: 10 sessions at once: $ten; 1 session: $threads_one threads (a thread per connection?)"
    fi
else
    fail "shared resolver: one session: $one"
fi

# ---- the milter stayed up, and stops cleanly ----
if kill -0 "$milter_pid" 2>/dev/null; then
    ok "the milter is still running"
else
    fail "the milter died: $(tail -5 "$DIR/milter.log")"
fi
stop_milter

# ---- on-quarantine header: delivered, with the field for the delivery agent ----
sed 's/^on-quarantine quarantine$/on-quarantine header/' "$DIR/milter.conf" >"$DIR/milter-header.conf"
start_milter "$DIR/milter-header.conf"
message quarantine2 ceo@mquar.example >"$DIR/quarantine2.eml"
send quarantine2 127.0.0.5 attacker@mlists.example "$DIR/quarantine2.eml" || true
if file=$(delivered quarantine2); then
    field=$("$py" "$here/mail.py" fields "$file" X-Mailsec-Quarantine)
    if [[ -n $field ]]; then
        ok "on-quarantine header: delivered with X-Mailsec-Quarantine: $field"
    else
        fail "on-quarantine header: delivered without X-Mailsec-Quarantine"
    fi
else
    fail "on-quarantine header: not delivered ($(tail -3 "$DIR/quarantine2.smtp" 2>/dev/null))"
fi
stop_milter

# ---- failure reports through failure-sendmail, and SIGTERM with one still
# queued: the report being sent is finished, the queued one dropped with a
# log line, and the milter exits 0 (under ASan: nothing leaked) ----
mkdir "$DIR/sendmail-out"
chown nobody "$DIR/sendmail-out"
cat >"$DIR/slow-sendmail" <<SH
#!/bin/sh
# a sendmail that takes its time: what it was given, then it waits until
# the test releases it (60 s at most)
echo "\$*" >"$DIR/sendmail-out/args.\$\$"
cat >"$DIR/sendmail-out/mail.\$\$"
for i in \$(seq 600); do [ -e "$DIR/sendmail-out/release" ] && exit 0; sleep 0.1; done
SH
chmod 755 "$DIR/slow-sendmail"
grep -v '^failure-smtp ' "$DIR/milter.conf" >"$DIR/milter-sendmail.conf"
echo "failure-sendmail $DIR/slow-sendmail" >>"$DIR/milter-sendmail.conf"
start_milter "$DIR/milter-sendmail.conf"
message failslow1 ceo@mfail.example >"$DIR/failslow1.eml"
send failslow1 127.0.0.5 attacker@mlists.example "$DIR/failslow1.eml" || true
message failslow2 ceo@mfail.example >"$DIR/failslow2.eml"
send failslow2 127.0.0.6 attacker@mlists.example "$DIR/failslow2.eml" || true
# the first report is with sendmail, the second queued: SIGTERM, and once
# the milter has said it dropped the queued one (or after 60 s), sendmail is
# released
kill -TERM "$milter_pid" 2>/dev/null || true
for _ in $(seq 600); do
    grep -q 'not sent: the milter stopped' "$DIR/milter.log" && break
    sleep 0.1
done
touch "$DIR/sendmail-out/release"
stop_milter
if grep -q 'sent to failures@rcpt.example' "$DIR/milter.log" &&
    grep -q 'milter: 1 failure report not sent: the milter stopped' "$DIR/milter.log" &&
    grep -q -- '-oi -t -f dmarc-failures@milterbed.example' "$DIR"/sendmail-out/args.* &&
    grep -q 'Reported-Domain: mfail.example' "$DIR"/sendmail-out/mail.*; then
    ok "failure-sendmail: the report handed to sendmail; on SIGTERM the queued one is dropped, logged"
else
    fail "failure-sendmail: $(grep -i 'failure report' "$DIR/milter.log" | tail -3)"
fi

# ---- on-error: an internal failure (the DNS library cannot start: its
# trust anchor became unreadable while the milter runs) ----
cp "$anchor" "$DIR/trust-anchors-lost"
chmod 644 "$DIR/trust-anchors-lost"
# the default (no on-error line): 451 4.7.1, the sender tries again
grep -v '^on-error ' "$DIR/milter.conf" |
    sed "s|^trust-anchor .*|trust-anchor $DIR/trust-anchors-lost|" >"$DIR/milter-error.conf"
start_milter "$DIR/milter-error.conf"
chmod 600 "$DIR/trust-anchors-lost"
message errtempfail user@mgood.example >"$DIR/errtempfail.eml"
send errtempfail 127.0.0.2 bounce@mgood.example "$DIR/errtempfail.eml" || true
reply=$(grep -E '^ *<[-~*]* +4[0-9]{2} ' "$DIR/errtempfail.smtp" | tail -1 || true)
if [[ $reply == *"451 4.7.1"* ]] && grep -q 'error in the evaluation: .*; tempfail' "$DIR/milter.log"; then
    ok "on-error tempfail (the default): $reply"
else
    fail "on-error tempfail: ${reply:-no reply}; log: $(grep error "$DIR/milter.log" | tail -1)"
fi
stop_milter
# on-error accept: delivered unchecked (no Authentication-Results), logged
echo "on-error accept" >>"$DIR/milter-error.conf"
chmod 644 "$DIR/trust-anchors-lost"
start_milter "$DIR/milter-error.conf"
chmod 600 "$DIR/trust-anchors-lost"
message erraccept user@mgood.example >"$DIR/erraccept.eml"
send erraccept 127.0.0.2 bounce@mgood.example "$DIR/erraccept.eml" || true
qid=$(queue_id erraccept)
if file=$(delivered erraccept) && [[ -z $(auth_results "$file") ]] &&
    grep -q "milter: $qid error in the evaluation: .*; accepted unchecked" "$DIR/milter.log"; then
    ok "on-error accept: delivered unchecked, logged ($(grep "milter: $qid error" "$DIR/milter.log"))"
else
    fail "on-error accept: $(tail -1 "$DIR/erraccept.smtp"); log: $(grep error "$DIR/milter.log" | tail -1)"
fi
stop_milter

((failures == 0)) || exit 1
echo "all milter bed cases pass"
