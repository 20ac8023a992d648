#!/usr/bin/env bash
# mailsec report fetch against the real Dovecot of the mail test bed
# (tests/mailbed): messages dropped into the user's Maildir are fetched
# over IMAPS and over IMAP with STARTTLS, each once, moved when asked,
# and a wrong password or a missing CA fails the run without storing
# anything. A message over the size limit and one with a poison report are
# passed over, named by UID, and the rest flow; a server of our own
# (slowimap.py) drips its answers or sends impossible UIDs, and is given up
# on within --timeout or refused with the reason.
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
source tests/lib/testlib.sh
DB=$WORK/reports.db
# A mailbox of its own for this test: other tests may use INBOX.
BOX=Reports$$
BOXDIR=$MAILDIR/.$BOX DONEDIR=$MAILDIR/.$BOX.Done

check() { # NAME CONDITION...
    local name=$1
    shift
    if "$@"; then
        ok "$name"
    else
        fail "$name"
        echo "       stdout: $(head -c 2000 "$WORK/out")"
        echo "       stderr: $(head -c 1000 "$WORK/err")"
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
jq_true() { json_true "$1" "$WORK/out"; }
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
rm -f "$WORK/plain.port"
/usr/bin/python3 - "$WORK/plain.port" "$WORK/heard" <<'PY' &
import os, socket, sys
portfile, heard = sys.argv[1], sys.argv[2]
srv = socket.create_server(("127.0.0.1", 0))  # the kernel picks a free port
with open(portfile + ".tmp", "w") as out:
    out.write(str(srv.getsockname()[1]))
os.rename(portfile + ".tmp", portfile)
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
PLAIN_PORT=$(port_from_file "$WORK/plain.port")
MAILSEC_IMAP_PASSWORD=$PASSWORD "$BIN" report fetch --json --db "$DB" "imap://$USER_NAME@127.0.0.1:$PLAIN_PORT/INBOX" \
    >"$WORK/out" 2>"$WORK/err"
echo $? >"$WORK/status"
kill "$plain_pid" 2>/dev/null
wait "$plain_pid" 2>/dev/null
check "imap:// to a server without STARTTLS: refused, the password never sent" \
    eval 'status_is 2 && grep -qi CAPABILITY "$WORK/heard" && ! grep -q "$PASSWORD" "$WORK/heard" && ! grep -qi "LOGIN\|AUTHENTICATE" "$WORK/heard"'

# Never stuck on one message: a message over the size limit (64 MiB) and
# one whose report is poison (a count no receiver can have seen), between
# good reports. Each is named by its UID and passed over; the reports after
# them are stored. doveadm gives each message its UID as it arrives.
DOVEADM=(doveadm -c "$(info DOVECOT_CONF)")
last_uid() { echo $(($("${DOVEADM[@]}" mailbox status -u "$USER_NAME" uidnext "$BOX" | sed -n 's/.*uidnext=//p') - 1)); }
deliver_uid() { deliver "$1" "$2"; last_uid; } # FILE SUBJECT -> the message's UID
make_big_message() { # DEST: 70 MB, over MS_REPORT_MESSAGE_MAX
    /usr/bin/python3 - "$1" <<'PY'
import sys
with open(sys.argv[1], "wb") as f:
    f.write(b"From: reports@receiver.example\r\nTo: dmarc@example.org\r\nSubject: huge\r\n"
            b"Message-ID: <huge@receiver.example>\r\n\r\n")
    f.write((b"A" * 998 + b"\r\n") * 70000)
PY
}
rm -rf "$BOXDIR" "$DONEDIR"
BOX=PassedOver$$ # a mailbox of its own, a store of its own
BOXDIR=$MAILDIR/.$BOX FAILDIR=$MAILDIR/.$BOX.Failed
IMAPS=imaps://$USER_NAME@$ADDR:$IMAPS_PORT/$BOX
make_box "$BOXDIR"
make_box "$FAILDIR"
sed 's|<count>3</count>|<count>9223372036854775808</count>|' tests/data/reports/aggregate/rfc7489-outlook.xml \
    >"$WORK/poison.xml"
uid_first=$(deliver_uid tests/data/reports/aggregate/rfc9990.xml "Report before")
make_big_message "$WORK/big.eml"
mv "$WORK/big.eml" "$BOXDIR/new/$(date +%s).Mbig.mailbed"
chown -R nobody: "$BOXDIR"
uid_big=$(last_uid)
uid_poison=$(deliver_uid "$WORK/poison.xml" "Poison")
uid_after=$(deliver_uid tests/data/reports/tlsrpt/rfc8460-example.json "Report after")
uid_last=$(deliver_uid tests/data/reports/aggregate/multi-day-range.xml "Report last")
before=$(messages_in "$BOXDIR")

human_fetch() { # (no --failed-to: the messages stay)
    MAILSEC_IMAP_PASSWORD=$PASSWORD "$BIN" report fetch --db "$WORK/human.db" --ca "$CA" "$IMAPS" \
        >"$WORK/out" 2>"$WORK/err"
    echo $? >"$WORK/status"
}
human_fetch
check "too big: named by UID and passed over, the run goes on (exit 1)" \
    eval 'status_is 1 && grep -q "UID $uid_big: passed over: 7[0-9]* bytes, over the limit of 67108864 bytes" "$WORK/out" &&
          grep -q "UID $uid_poison" "$WORK/out" && grep -q "Reports *3 new, 0 duplicate.* 2 failed" "$WORK/out"'
human_fetch
check "run again: nothing downloaded again, the big message remembered" \
    eval 'status_is 0 && grep -q "Files read *0 (0 bytes)" "$WORK/out" && ! grep -q "passed over" "$WORK/out"'

# A report the store itself refuses (a trigger standing in for any store
# error one report causes), then a good one after it.
DB=$WORK/passed-over.db
mkdir "$WORK/empty"
"$BIN" report ingest --db "$DB" "$WORK/empty" >/dev/null 2>&1 # (creates the store)
sqlite3 "$DB" "CREATE TRIGGER poison BEFORE INSERT ON reports WHEN NEW.report_id = 'store-poison'
               BEGIN SELECT RAISE(ABORT, 'the store refuses this one'); END;"
sed 's|<report_id>3v98abbp8ya9n3va8yr8oa3ya</report_id>|<report_id>store-poison</report_id>|' \
    tests/data/reports/aggregate/rfc9990.xml >"$WORK/store-poison.xml"
sed 's|<report_id>3v98abbp8ya9n3va8yr8oa3ya</report_id>|<report_id>after-store-poison</report_id>|' \
    tests/data/reports/aggregate/rfc9990.xml >"$WORK/after-store-poison.xml"
uid_store_poison=$(deliver_uid "$WORK/store-poison.xml" "Store poison")
uid_last=$(deliver_uid "$WORK/after-store-poison.xml" "Report after the store poison")
before=$(messages_in "$BOXDIR")
fetch "$IMAPS" --failed-to "$BOX.Failed"
check "passed over (too big, poisons), the reports before and after them stored" \
    eval 'status_is 1 && jq_true ".tally.reports_new == 4 and .tally.failed == 3 and .tally.bytes < 1000000"'
check "the report the store refused: named by its message's UID, with the store's reason" \
    eval 'jq_true "[.failed[] | select((.origin | startswith(\"UID $uid_store_poison\"))
          and (.error.message | test(\"refuses this one\")))] | length == 1"'
check "the big message: never downloaded, its UID and the reason listed" \
    eval 'status_is 1 && jq_true "[.failed[] | select(.origin == \"UID $uid_big\" and .kind == \"message\"
          and (.error.message | test(\"not downloaded\")))] | length == 1"'
check "the poison report: set aside, named by its message's UID" \
    eval 'status_is 1 && jq_true "[.failed[] | select(.origin | startswith(\"UID $uid_poison:\"))] | length == 1"'
check "the big one recorded in the store with its reason" \
    eval '[[ $(sqlite3 "$DB" "SELECT kind || \" \" || origin FROM rejected WHERE reason LIKE \"%not downloaded%\"") == "message UID $uid_big" ]]'
check "the messages passed over (too big, poisons) moved to --failed-to" \
    eval '(( $(messages_in "$FAILDIR") == 3 && $(messages_in "$BOXDIR") == before - 3 ))'
"$BIN" report list --json --db "$DB" >"$WORK/out" 2>"$WORK/err"
check "the reports after them are stored" \
    eval 'jq_true "([.results[].kind] | sort == [\"aggregate\", \"aggregate\", \"aggregate\", \"tls\"])
          and ([.results[].origin | select(startswith(\"UID $uid_last:\"))] | length == 1)"'

rm -rf "$BOXDIR" "$FAILDIR"

# Every network operation has a deadline: a server dripping 2 bytes a
# second (tests/report/slowimap.py) is given up after --timeout, the UID
# named. And UIDs no server can have are refused with the reason.
slow_fetch() { # MODE: the run's status, seconds and output in $WORK
    local port pid started
    rm -f "$WORK/slow.port"
    /usr/bin/python3 tests/report/slowimap.py "$WORK/slow.port" "$(info CERTS)/fullchain.pem" \
        "$(info CERTS)/leaf-rsa.key" "$1" 2>"$WORK/slowimap.log" &
    pid=$!
    port=$(port_from_file "$WORK/slow.port")
    started=$(date +%s)
    MAILSEC_IMAP_PASSWORD=$PASSWORD timeout 60 "$BIN" report fetch --json --timeout 2 --db "$WORK/slow.db" \
        --ca "$CA" "imaps://$USER_NAME@127.0.0.1:$port/Slow" >"$WORK/out" 2>"$WORK/err"
    echo $? >"$WORK/status"
    echo $(($(date +%s) - started)) >"$WORK/seconds"
    kill "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
}
took_under() { (($(cat "$WORK/seconds") < $1)); }
slow_fetch fetch
check "a FETCH dripped at 2 bytes/s: given up after --timeout 2, the UID named (exit 2)" \
    eval 'status_is 2 && took_under 8 && grep -q "UID 1: FETCH: .*[Tt]imeout\|UID 1: FETCH: .*timed out" "$WORK/err"'
slow_fetch greeting
check "a greeting dripped at 2 bytes/s: given up after --timeout 2 (exit 2)" \
    eval 'status_is 2 && took_under 8 && grep -q "timed out" "$WORK/err"'
slow_fetch search
check "UIDs 0 and 2^32 in the listing: refused with the reason (exit 2)" \
    eval 'status_is 2 && grep -q "UID SEARCH: line 1 of the answer: a UID that is zero" "$WORK/err"'

finish fetch.sh
