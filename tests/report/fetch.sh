#!/usr/bin/env bash
# mailsec report fetch against the real Dovecot of the mail test bed
# (tests/mailbed): messages dropped into the user's Maildir are fetched
# over IMAPS and over IMAP with STARTTLS, each once, moved when asked,
# and a wrong password or a missing CA fails the run without storing
# anything.
#
#   fetch.sh MAILSEC_BINARY      (MAILSEC_MAILBED_INFO names the bed's info file)
set -uo pipefail

BIN=$1
INFO=${MAILSEC_MAILBED_INFO:?MAILSEC_MAILBED_INFO is not set}
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
info() { sed -n "s/^$1=//p" "$INFO"; }
ADDR=$(info ADDR) CA=$(info CA) MAILDIR=$(info MAILDIR)
IMAPS_PORT=$(info IMAPS_PORT) IMAP_PORT=$(info IMAP_PORT)
USER_NAME=$(info MAIL_USER) PASSWORD=$(info MAIL_PASSWORD)
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
DB=$WORK/reports.db
# A mailbox of its own for this test: other tests may use INBOX.
BOX=Reports$$
BOXDIR=$MAILDIR/.$BOX DONEDIR=$MAILDIR/.$BOX.Done
passed=0 failed=0

check() { # NAME CONDITION...
    local name=$1
    shift
    if "$@"; then
        echo "ok   - $name"
        passed=$((passed + 1))
    else
        echo "FAIL - $name"
        echo "       stdout: $(head -c 2000 "$WORK/out")"
        echo "       stderr: $(head -c 1000 "$WORK/err")"
        failed=$((failed + 1))
    fi
}

# A message carrying FILE as a gzip attachment (or, for NAME=none, plain text).
make_message() { # FILE DEST SUBJECT
    /usr/bin/python3 - "$1" "$2" "$3" <<'PY'
import email.message, email.utils, gzip, sys
src, dest, subject = sys.argv[1:]
m = email.message.EmailMessage()
m["From"] = "reports@receiver.example"
m["To"] = "dmarc@example.org"
m["Subject"] = subject
m["Message-ID"] = email.utils.make_msgid(domain="receiver.example")
m["Date"] = email.utils.formatdate()
if src == "none":
    m.set_content("No report in here.\n")
else:
    m.set_content("A report is attached.\n")
    m.add_attachment(gzip.compress(open(src, "rb").read()), maintype="application",
                     subtype="gzip", filename=src.rsplit("/", 1)[-1] + ".gz")
open(dest, "wb").write(bytes(m))
PY
}

deliver() { # FILE SUBJECT: into the test mailbox's new/
    local name
    name=$(date +%s).M$RANDOM$RANDOM.mailbed
    make_message "$1" "$WORK/$name" "$2"
    mv "$WORK/$name" "$BOXDIR/new/$name"
    chown -R nobody: "$BOXDIR"
}

make_box() { # DIR
    mkdir -p "$1/cur" "$1/new" "$1/tmp"
    chown -R nobody: "$1"
}

fetch() { # URL [OPTIONS...]
    local url=$1
    shift
    MAILSEC_IMAP_PASSWORD=$PASSWORD "$BIN" report fetch --json --db "$DB" --ca "$CA" "$@" "$url" \
        >"$WORK/out" 2>"$WORK/err"
    echo $? >"$WORK/status"
}

status_is() { [[ $(cat "$WORK/status") == "$1" ]]; }
jq_true() { jq -e "$1" "$WORK/out" >/dev/null 2>&1; }
messages_in() { find "$1/cur" "$1/new" -type f | wc -l; } # a Maildir folder's messages

make_box "$BOXDIR"
make_box "$DONEDIR"
deliver tests/data/reports/aggregate/rfc7489-outlook.xml "Report domain: example.org"
deliver tests/data/reports/tlsrpt/rfc8460-example.json "TLS report"
deliver none "Hello"
IMAPS=imaps://$USER_NAME@$ADDR:$IMAPS_PORT/$BOX
IMAP=imap://$USER_NAME@$ADDR:$IMAP_PORT/$BOX

fetch "$IMAPS"
check "imaps: every message fetched, the two reports stored, the letter skipped" \
    eval 'status_is 0 && jq_true ".tally.files == 3 and .tally.reports_new == 2 and .tally.skipped == 1 and .tally.records == 3"'

fetch "$IMAPS"
check "imaps again: messages seen before are not fetched again" \
    eval 'status_is 0 && jq_true ".tally.files == 0 and .tally.reports_new == 0"'

deliver tests/data/reports/aggregate/rfc9990.xml "Report domain: example.com"
fetch "$IMAP" --move-to "$BOX.Done"
check "imap with STARTTLS: only the new message, then moved" \
    eval 'status_is 0 && jq_true ".tally.files == 1 and .tally.reports_new == 1 and .tally.records == 2"'
check "the moved message left the mailbox for the other one" \
    eval '(( $(messages_in "$DONEDIR") == 1 && $(messages_in "$BOXDIR") == 3 ))'

deliver tests/data/reports/aggregate/multi-day-range.xml "Report"
MAILSEC_IMAP_PASSWORD=wrong "$BIN" report fetch --json --db "$DB" --ca "$CA" "$IMAPS" >"$WORK/out" 2>"$WORK/err"
echo $? >"$WORK/status"
check "a wrong password: could not check, nothing stored" \
    eval 'status_is 2 && grep -qi "login\|denied\|auth" "$WORK/err" && jq_true ".tally.reports_new == 0"'

"$BIN" report fetch --json --db "$DB" "$IMAPS" >"$WORK/out" 2>"$WORK/err" </dev/null
echo $? >"$WORK/status"
check "no password given: refused before connecting" \
    eval 'status_is 2 && grep -q MAILSEC_IMAP_PASSWORD "$WORK/err"'

printf '%s\n' "$PASSWORD" >"$WORK/password"
"$BIN" report fetch --json --db "$DB" "$IMAPS" --password-file "$WORK/password" >"$WORK/out" 2>"$WORK/err"
echo $? >"$WORK/status"
check "the server's certificate is checked: without the test CA the fetch fails" \
    eval 'status_is 2 && jq_true ".tally.reports_new == 0"'

"$BIN" report fetch --json --db "$DB" --ca "$CA" "$IMAPS" --password-file "$WORK/password" >"$WORK/out" 2>"$WORK/err"
echo $? >"$WORK/status"
check "the password from a file: the waiting message is fetched" \
    eval 'status_is 0 && jq_true ".tally.files == 1 and .tally.reports_new == 1"'

"$BIN" report list --json --db "$DB" >"$WORK/out" 2>"$WORK/err"
check "the store holds each report once" \
    eval 'jq_true "[.results[].kind] | sort == [\"aggregate\", \"aggregate\", \"aggregate\", \"tls\"]"'

# imap:// must upgrade with STARTTLS: a server that does not offer it never
# sees the password. A one-connection IMAP server without STARTTLS records
# every line it receives.
. tests/lib/servers.sh
PLAIN_PORT=$(random_port)
/usr/bin/python3 - "$PLAIN_PORT" "$WORK/heard" <<'PY' &
import socket, sys
port, heard = int(sys.argv[1]), sys.argv[2]
srv = socket.create_server(("127.0.0.1", port))
srv.settimeout(20)
conn, _ = srv.accept()
conn.settimeout(10)
conn.sendall(b"* OK IMAP4rev1 no TLS here\r\n")
f = conn.makefile("rb")
with open(heard, "wb") as out:
    for line in f:
        out.write(line)
        out.flush()
        tag = line.split(b" ", 1)[0]
        if b"CAPABILITY" in line.upper():
            conn.sendall(b"* CAPABILITY IMAP4rev1 AUTH=PLAIN\r\n" + tag + b" OK done\r\n")
        else:
            conn.sendall(tag + b" BAD no\r\n")
PY
plain_pid=$!
for _ in $(seq 50); do port_is_free "$PLAIN_PORT" || break; sleep 0.1; done
MAILSEC_IMAP_PASSWORD=$PASSWORD "$BIN" report fetch --json --db "$DB" "imap://$USER_NAME@127.0.0.1:$PLAIN_PORT/INBOX" \
    >"$WORK/out" 2>"$WORK/err"
echo $? >"$WORK/status"
kill "$plain_pid" 2>/dev/null
wait "$plain_pid" 2>/dev/null
check "imap:// to a server without STARTTLS: refused, the password never sent" \
    eval 'status_is 2 && grep -qi CAPABILITY "$WORK/heard" && ! grep -q "$PASSWORD" "$WORK/heard" && ! grep -qi "LOGIN\|AUTHENTICATE" "$WORK/heard"'

rm -rf "$BOXDIR" "$DONEDIR"
echo "fetch.sh: $passed passed, $failed failed"
((failed == 0 && passed > 0))
