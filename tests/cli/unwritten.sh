#!/usr/bin/env bash
# Output that was not written is an error.
#
#   unwritten.sh MAILSEC_BINARY
#
# 1. Every command group, in text and in JSON, with stdout on /dev/full
#    (every write fails with ENOSPC): exit 2 and "mailsec: writing output:
#    No space left on device" on stderr. Each command first runs with
#    stdout to a file and must check (exit 0 or 1), so the 2 comes from the
#    failed write and not from something else.
# 2. `report export` to a file on a full file system (a 64 KiB tmpfs; as
#    root) writes what fits, then exits 2 with the message.
# 3. A long-running writer stops at the first failed write: `email check
#    --file -` fed an endless list, stdout on /dev/full, ends at once.
# The DNS test bed (MAILSEC_DNSBED_INFO) answers the commands that look up.
set -uo pipefail

BIN=$1
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
WORK=$(mktemp -d)
MOUNTED=
cleanup() {
    [[ -n $MOUNTED ]] && umount "$WORK/full"
    rm -rf "$WORK"
}
trap cleanup EXIT

DNS=()
if [[ -n ${MAILSEC_DNSBED_INFO:-} && -f $MAILSEC_DNSBED_INFO ]]; then
    DNS=(--resolver "$(sed -n 's/^RESOLVER=//p' "$MAILSEC_DNSBED_INFO")"
        --trust-anchor "$(sed -n 's/^TRUST_ANCHOR=//p' "$MAILSEC_DNSBED_INFO")" --timeout 5)
else
    echo "FAIL - no DNS test bed (MAILSEC_DNSBED_INFO)"
    exit 1
fi

passed=0 failed=0
ok() { echo "ok   - $1"; passed=$((passed + 1)); }
not_ok() { echo "FAIL - $1"; shift; printf '       %s\n' "$@"; failed=$((failed + 1)); }

MESSAGE="mailsec: writing output: No space left on device"

# full NAME ARGS...: the command checks with stdout on a file; on /dev/full
# it exits 2 and says why.
full() {
    local name=$1
    shift
    "$BIN" "$@" >"$WORK/out" 2>"$WORK/err" </dev/null
    local status=$?
    if ((status > 1)); then
        not_ok "$name" "to a file it exits $status, not 0 or 1" "stderr: $(head -c 500 "$WORK/err")"
        return
    fi
    if [[ ! -s $WORK/out ]]; then
        not_ok "$name" "to a file it writes nothing"
        return
    fi
    "$BIN" "$@" >/dev/full 2>"$WORK/err" </dev/null
    status=$?
    if ((status != 2)); then
        not_ok "$name" "on /dev/full it exits $status, expected 2" "stderr: $(head -c 500 "$WORK/err")"
    elif ! grep -qF "$MESSAGE" "$WORK/err"; then
        not_ok "$name" "on /dev/full stderr lacks: $MESSAGE" "stderr: $(head -c 500 "$WORK/err")"
    else
        ok "$name: exit 2 on /dev/full"
    fi
}

# both NAME ARGS...: full, in text and in JSON.
both() {
    local name=$1
    shift
    full "$name" "$@"
    full "$name --json" "$@" --json
}

# A store to read, made here.
if ! "$BIN" report ingest --db "$WORK/r.db" tests/data/reports/aggregate/rfc7489-outlook.xml \
    tests/data/reports/aggregate/rfc9990.xml tests/data/reports/tlsrpt/rfc8460-example.json >/dev/null 2>&1; then
    echo "FAIL - could not make the store"
    exit 1
fi
# A test CA, for cert lint.
if ! bash tests/cert/make-test-ca.sh "$WORK/ca" >/dev/null 2>&1; then
    echo "FAIL - could not make the test CA"
    exit 1
fi

full "--help" --help
full "--version" --version
full "dmarc --help" dmarc --help
full "dmarc check --help" dmarc check --help
both "dmarc check --record" dmarc check --record "v=DMARC1; p=reject; rua=mailto:d@example.com"
both "dmarc check DOMAIN" dmarc check "${DNS[@]}" example.com
full "dmarc generate" dmarc generate --domain example.com --policy reject
full "dmarc generate --format zone" dmarc generate --domain example.com --policy reject --format zone
full "dmarc generate --format json" dmarc generate --domain example.com --policy reject --format json
both "dmarc plan" dmarc plan --domain example.com --rua mailto:dmarc@example.com
both "spf check --record" spf check "${DNS[@]}" --record "v=spf1 -all" --domain example.com
both "spf check DOMAIN" spf check "${DNS[@]}" escapetest.example
both "spf eval" spf eval "${DNS[@]}" --ip 192.0.2.10 --sender user@good.spftest.example
both "dkim check" dkim check "${DNS[@]}" escapetest.example --selector sel
both "dkim verify" dkim verify "${DNS[@]}" tests/data/dkim/signed/rsa-relaxed.eml
both "audit" audit "${DNS[@]}" escapetest.example
both "email check" email check a@example.com
both "email check --file" email check --file tests/data/email/list.txt
full "email check --format csv" email check --format csv --file tests/data/email/list.txt
both "diag list" diag list
both "report ingest" report ingest --db "$WORK/i.db" tests/data/reports/aggregate/rfc9990.xml
both "report list" report list --db "$WORK/r.db"
both "report summary" report summary --db "$WORK/r.db"
both "report show" report show --db "$WORK/r.db" 1
both "report export" report export --db "$WORK/r.db"
full "report export --csv" report export --csv --db "$WORK/r.db"
both "report tls" report tls --db "$WORK/r.db"
both "report sources" report sources --no-rdns --db "$WORK/r.db"
both "report failures" report failures --db "$WORK/r.db"
both "cert lint" cert lint "$WORK/ca/fullchain.pem" --ca "$WORK/ca/root.pem"
both "conf audit" conf audit --postfix tests/conf/data/debian/postfix
both "conf generate" conf generate postfix --version 3.7 --profile intermediate --cert /c.pem --key /k.pem

# 2. A full file system: a report big enough that its export does not fit.
big=$WORK/big.xml
{
    printf '<?xml version="1.0" encoding="UTF-8"?>\n<feedback><report_metadata><org_name>Big</org_name>'
    printf '<email>r@big.example</email><report_id>big-1</report_id>'
    printf '<date_range><begin>1761955200</begin><end>1762041600</end></date_range></report_metadata>'
    printf '<policy_published><domain>big.example</domain><p>reject</p></policy_published>\n'
    for ((i = 0; i < 4000; i++)); do
        printf '<record><row><source_ip>192.0.%d.%d</source_ip><count>1</count>' $((i / 250)) $((i % 250))
        printf '<policy_evaluated><disposition>none</disposition><dkim>pass</dkim><spf>pass</spf></policy_evaluated></row>'
        printf '<identifiers><header_from>big.example</header_from></identifiers>'
        printf '<auth_results><spf><domain>big.example</domain><result>pass</result></spf></auth_results></record>\n'
    done
    printf '</feedback>\n'
} >"$big"
"$BIN" report ingest --db "$WORK/big.db" "$big" >/dev/null 2>&1
mkdir "$WORK/full"
if ! mount -t tmpfs -o size=64k tmpfs "$WORK/full" 2>"$WORK/err"; then
    not_ok "report export to a full file system" "cannot mount a tmpfs (needs root): $(cat "$WORK/err")"
else
    MOUNTED=1
    for format in --csv --json; do
        name="report export $format to a full file system"
        "$BIN" report export "$format" --db "$WORK/big.db" >"$WORK/whole" 2>/dev/null
        whole=$(stat -c %s "$WORK/whole")
        "$BIN" report export "$format" --db "$WORK/big.db" >"$WORK/full/export" 2>"$WORK/err"
        status=$? size=$(stat -c %s "$WORK/full/export")
        if ((whole <= 65536)); then
            not_ok "$name" "the whole export is $whole bytes: too small to fill 64 KiB"
        elif ((status != 2)); then
            not_ok "$name" "exit $status after $size of $whole bytes, expected 2"
        elif ! grep -qF "$MESSAGE" "$WORK/err"; then
            not_ok "$name" "stderr lacks: $MESSAGE" "stderr: $(head -c 500 "$WORK/err")"
        else
            ok "$name: $size of $whole bytes, exit 2"
        fi
        rm -f "$WORK/full/export"
    done
fi

# 3. Stops at the first failed write: an endless input would never end.
name="email check --file - stops at the first failed write"
yes a@example.com | timeout 20 "$BIN" email check --file - >/dev/full 2>"$WORK/err"
status=${PIPESTATUS[1]}
if ((status == 124)); then
    not_ok "$name" "still running after 20 s"
elif ((status != 2)) || ! grep -qF "$MESSAGE" "$WORK/err"; then
    not_ok "$name" "exit $status, stderr: $(head -c 500 "$WORK/err")"
else
    ok "$name"
fi

echo "unwritten.sh: $passed passed, $failed failed"
((failed == 0 && passed > 0))
