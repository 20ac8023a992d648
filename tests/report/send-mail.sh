#!/usr/bin/env bash
# report send through a real mail system (docs/report.md):
#
#   send-mail.sh MAILSEC_BINARY SEND_RECORD_BINARY
#
# A Postfix and a Dovecot of the test's own (tests/lib/mailservers.sh):
# Postfix takes mail for sendtest.example on a loopback port and hands it
# to Dovecot's LMTP, which files it into reports@sendtest.example's Maildir.
# Evaluations of inbox.sendtest.example (whose rua= is that address, in
# the DNS test bed) are recorded, `report send --smtp` hands the report to
# Postfix (and the day before's through Postfix's sendmail), and the mail
# that arrives in the Maildir is read back with `report ingest`: the
# reports, with the records and messages recorded and the RFC's subject. Must run as root (Postfix); skipped (77) without
# Postfix or Dovecot.
set -uo pipefail
BIN=$1 RECORD=$2
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cd "$HERE/../.."
source tests/lib/servers.sh
source tests/lib/mailservers.sh
command -v postfix >/dev/null && command -v dovecot >/dev/null || { echo "SKIP - no Postfix or Dovecot"; exit 77; }
[[ $(id -u) == 0 ]] || { echo "SKIP - Postfix needs root"; exit 77; }
DIR=$(mktemp -d /tmp/mailsec-sendmail.XXXXXX)
chmod 755 "$DIR"
cleanup() {
    stop_mail_servers "$DIR"
    rm -rf "$DIR"
}
trap cleanup EXIT
fail() {
    echo "FAIL - $*"
    tail -n 20 "$DIR/postfix.log" "$DIR/dovecot.log" 2>/dev/null
    exit 1
}
ADDR=127.0.0.1
SMTP_PORT=$(free_port)
LMTP_PORT=$(free_port "$SMTP_PORT")
USER=reports@sendtest.example
MAILDIR=$DIR/mail/reports/Maildir

# Dovecot: one passwd-file user, LMTP only, mail stored as nobody
dovecot_conf_base "$DIR" "mailsec-sendmail-$$" "$ADDR"
cat >>"$DIR/dovecot.conf" <<CONF
protocols = lmtp
ssl = no
CONF
dovecot_maildir_user "$DIR" "$USER" x "$DIR/mail/reports"
dovecot_lmtp_listener "$DIR" "$ADDR" "$LMTP_PORT"

# Postfix: sendtest.example is delivered over LMTP to that Dovecot
postfix_main_cf_base "$DIR" mx.sendtest.example "$ADDR"
cat >>"$DIR/postfix/main.cf" <<CONF
mynetworks = 127.0.0.0/8
virtual_mailbox_domains = sendtest.example
virtual_transport = lmtp:inet:$ADDR:$LMTP_PORT
smtpd_tls_security_level = none
CONF
{
    echo "$ADDR:$SMTP_PORT inet n - n - - smtpd"
    postfix_master_cf_services
} >"$DIR/postfix/master.cf"
start_mail_servers "$DIR" || fail "the mail servers did not start"
wait_for_line "$ADDR" "$SMTP_PORT" 220 || fail "Postfix does not answer on $SMTP_PORT"
wait_for_line "$ADDR" "$LMTP_PORT" 220 || fail "Dovecot's LMTP does not answer on $LMTP_PORT"

# the evaluations: yesterday's
INFO=${MAILSEC_DNSBED_INFO:?}
DNS=(--resolver "$(sed -n 's/^RESOLVER=//p' "$INFO")" --trust-anchor "$(sed -n 's/^TRUST_ANCHOR=//p' "$INFO")")
DAY0=$(($(date +%s) / 86400 * 86400 - 86400))
/usr/bin/python3 tests/report/send_evals.py "$DAY0" inbox.sendtest.example "$DIR/expected.json" \
    >"$DIR/evals.jsonl" || fail "send_evals.py"
DB=$DIR/store.db
"$RECORD" "$DB" <"$DIR/evals.jsonl" >/dev/null || fail "send-record"

day=$(date -u -d "@$DAY0" +%F)
"$BIN" report send --db "$DB" --org "Receiver Test" --from dmarc-reports@receiver.example \
    --day "$day" --smtp "$ADDR:$SMTP_PORT" --json "${DNS[@]}" >"$DIR/send.json" 2>"$DIR/send.err" ||
    fail "report send: exit $?: $(cat "$DIR/send.err") $(cat "$DIR/send.json")"
jq -e '.sent == 1 and .results[0].destination == "mailto:reports@sendtest.example"' "$DIR/send.json" >/dev/null ||
    fail "report send: $(cat "$DIR/send.json")"

for _ in $(seq 600); do
    [[ -n $(ls -A "$MAILDIR/new") ]] && break
    sleep 0.1
done
mail=$(ls "$MAILDIR"/new/* 2>/dev/null | head -n1)
[[ -n $mail ]] || fail "nothing arrived in the Maildir within 60 s"
grep -q "^Subject: Report Domain: inbox.sendtest.example Submitter: receiver.example Report-ID: <$(date -u -d "@$DAY0" +%Y%m%d).inbox.sendtest.example>" "$mail" ||
    fail "subject: $(grep '^Subject' "$mail")"
grep -q "^To: reports@sendtest.example" "$mail" || fail "To: $(grep '^To' "$mail")"

"$BIN" report ingest --json --db "$DIR/back.db" "$MAILDIR" >"$DIR/ingest.json" || fail "ingest of the Maildir"
jq -e '.tally.reports_new == 1 and .tally.failed == 0' "$DIR/ingest.json" >/dev/null || fail "ingest: $(cat "$DIR/ingest.json")"
"$BIN" report list --json --db "$DIR/back.db" >"$DIR/list.json"
jq -e --slurpfile want "$DIR/expected.json" --arg k "inbox.sendtest.example $DAY0" '
    .results[0] | .records == $want[0][$k].records and .messages == $want[0][$k].messages
    and .org == "Receiver Test" and .domain == "inbox.sendtest.example"' "$DIR/list.json" >/dev/null ||
    fail "the report delivered: $(cat "$DIR/list.json") want $(cat "$DIR/expected.json")"

# the day before through Postfix's own sendmail (the default way), which
# drops it into this Postfix's queue (MAIL_CONFIG)
prev=$(date -u -d "@$((DAY0 - 86400))" +%F)
MAIL_CONFIG=$DIR/postfix "$BIN" report send --db "$DB" --org "Receiver Test" \
    --from dmarc-reports@receiver.example --day "$prev" --sendmail /usr/sbin/sendmail --json "${DNS[@]}" \
    >"$DIR/sendmail.json" 2>"$DIR/sendmail.err" || fail "report send --sendmail: $(cat "$DIR/sendmail.err")"
jq -e '.sent == 1' "$DIR/sendmail.json" >/dev/null || fail "report send --sendmail: $(cat "$DIR/sendmail.json")"
for _ in $(seq 600); do
    (($(ls "$MAILDIR/new" | wc -l) >= 2)) && break
    sleep 0.1
done
(($(ls "$MAILDIR/new" | wc -l) == 2)) || fail "the report given to sendmail did not arrive within 60 s"
"$BIN" report ingest --json --db "$DIR/back.db" "$MAILDIR" >"$DIR/ingest2.json" || fail "second ingest"
jq -e '.tally.reports_new == 1 and .tally.duplicates == 1' "$DIR/ingest2.json" >/dev/null ||
    fail "second ingest: $(cat "$DIR/ingest2.json")"
"$BIN" report list --json --db "$DIR/back.db" >"$DIR/list2.json"
jq -e --slurpfile want "$DIR/expected.json" '
    ([.results[] | {key: "\(.domain) \(.begin)", value: {records, messages}}] | from_entries) == $want[0]' \
    "$DIR/list2.json" >/dev/null || fail "the reports delivered: $(cat "$DIR/list2.json") want $(cat "$DIR/expected.json")"

# run again: nothing more leaves
"$BIN" report send --db "$DB" --org "Receiver Test" --from dmarc-reports@receiver.example \
    --day "$day" --smtp "$ADDR:$SMTP_PORT" --json "${DNS[@]}" >"$DIR/again.json" 2>&1
jq -e '.sent == 0 and .results[0].outcome == "already-sent"' "$DIR/again.json" >/dev/null ||
    fail "run again: $(cat "$DIR/again.json")"
echo "PASS - report send through Postfix into Dovecot"
