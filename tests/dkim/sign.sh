#!/usr/bin/env bash
# sign.sh MAILSEC SOURCE_DIR: messages signed by `mailsec dkim sign` verify
# with three verifiers that share no code: mailsec's own, dkimpy's
# (tests/dkim/dkimpy-verify.py) and OpenDKIM's (`opendkim -t`, in verify
# mode, asking the DNS test bed through its libunbound). The keys are the
# test-only keys of tests/data/dkim/keys, published in the DNS test bed
# (tests/dnsbed/zones/dkimtest.example.zone) under the selectors rsa2048 and
# ed25519. Messages: tests/data/dkim/messages (LF line ends), one of them
# turned to CRLF, and longfold.eml's long folded header fields.
set -uo pipefail
bin=$1 src=$2
data=$src/tests/data/dkim
py=/usr/bin/python3 # Debian's python, where python3-dkim lives
. "$src/tests/lib/opendkim.sh"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

for tool in "$OPENDKIM" "$py" jq; do
    command -v "$tool" >/dev/null || { echo "FAIL - $tool is not installed (scripts/deps.txt)"; exit 1; }
done
. "$(dirname "${BASH_SOURCE[0]}")/../lib/dnsbed.sh"
port=$dns_port
domain=dkimtest.example
rsa=$data/keys/rsa2048.pem ed=$data/keys/ed25519.pem

# OpenDKIM as a verifier: test mode on a file, keys from the DNS bed
opendkim_verifier "$work" "$port"

passed=0 failed=0
pass() { passed=$((passed + 1)); echo "ok - $1"; }
fail() { failed=$((failed + 1)); echo "FAIL - $1"; }

# Each verifier's verdicts as "SELECTOR=RESULT ...", top signature first.
mailsec_says() {
    "$bin" dkim verify --json --resolver "$resolver" --trust-anchor "$anchor" "$1" |
        jq -r '[.results[0].signatures[] | "\(.selector)=\(.result)"] | join(" ")'
}
# dkimpy says pass or fail per signature, top first, without selectors:
# check() compares its words with the expected results alone
dkimpy_says() {
    "$py" "$src/tests/dkim/dkimpy-verify.py" "$resolver" "$1" | cut -d' ' -f2-
}
# check NAME FILE EXPECTED [VERIFIERS]: every verifier (default all three)
# reaches EXPECTED ("rsa2048=pass ed25519=pass"; OpenDKIM lists in its own
# order, so it is compared sorted)
check() {
    local name=$1 file=$2 want=$3 verifiers=${4:-mailsec dkimpy opendkim} v got want_v sorted_want
    sorted_want=$(tr ' ' '\n' <<<"$want" | sort | paste -sd' ')
    for v in $verifiers; do
        got=$("${v}_says" "$file")
        case $v in
        opendkim) got=$(tr ' ' '\n' <<<"$got" | sort | paste -sd' ') want_v=$sorted_want ;;
        dkimpy) want_v=$(sed -E 's/[^ =]+=//g' <<<"$want") ;;
        *) want_v=$want ;;
        esac
        if [[ $got == "$want_v" ]]; then
            pass "$name: $v: $got"
        else
            fail "$name: $v says '$got', expected '$want_v'"
        fi
    done
}

# sign NAME MESSAGE [OPTIONS...]: $work/NAME.eml
sign() {
    local name=$1 msg=$2
    shift 2
    if ! "$bin" dkim sign --domain "$domain" "$@" "$msg" >"$work/$name.eml" 2>"$work/$name.err"; then
        fail "$name: dkim sign failed: $(cat "$work/$name.err")"
        return 1
    fi
}

both=(--selector rsa2048 --key "$rsa" --selector ed25519 --key "$ed")

# 1. every test message, signed with both keys at once (one body hash)
for msg in plain whitespace nobody mime longfold; do
    sign "$msg" "$data/messages/$msg.eml" "${both[@]}" &&
        check "$msg.eml, rsa-sha256 + ed25519-sha256" "$work/$msg.eml" "rsa2048=pass ed25519=pass"
done

# 2. CRLF line ends: the signature fields follow the message's line ends
sed 's/$/\r/' "$data/messages/longfold.eml" >"$work/crlf-in.eml"
if sign crlf "$work/crlf-in.eml" "${both[@]}"; then
    check "CRLF message" "$work/crlf.eml" "rsa2048=pass ed25519=pass"
    if grep -q $'[^\r]$' "$work/crlf.eml"; then
        fail "CRLF message: a line of the signed message lacks its CR"
    else
        pass "CRLF message: every line ends in CRLF"
    fi
fi
if grep -q $'\r' "$work/longfold.eml"; then
    fail "LF message: the signature fields brought CRs into an LF file"
else
    pass "LF message: the signature fields end lines with LF like the message"
fi

# 3. folded: no line of the signature fields over 78 characters, and the
# message after the fields is the input, byte for byte
if awk '/^DKIM-Signature:/ {s = 1} s && !/^(DKIM-Signature:|[ \t])/ {s = 0} s && length($0) > 78 {bad = 1} END {exit !bad}' "$work/longfold.eml"; then
    fail "folding: a DKIM-Signature line is over 78 characters"
else
    pass "folding: DKIM-Signature lines within 78 characters"
fi
if awk 'body || !/^(DKIM-Signature:|[ \t])/ {body = 1; print}' "$work/longfold.eml" | cmp -s - "$data/messages/longfold.eml"; then
    pass "the message follows the signature fields unchanged"
else
    fail "the signed message is not the input after the signature fields"
fi

# 4. the recommended set, signed as present, From oversigned; X-Not-Signed not
h=$(tr -d '\n\t ' <"$work/longfold.eml" | grep -o 'a=rsa-sha256;[^b]*h=[^;]*' | sed 's/.*h=//')
if [[ $h == From:From:Subject:Date:To:Cc:In-Reply-To:References:List-Id:List-Unsubscribe:MIME-Version:Content-Type:Content-Transfer-Encoding:Message-ID ]]; then
    pass "h= is the recommended set as present, From twice: $h"
else
    fail "h= is '$h'"
fi

# 5. standard input, one key each
if "$bin" dkim sign -d "$domain" -s ed25519 -k "$ed" - <"$data/messages/plain.eml" >"$work/stdin.eml"; then
    check "standard input, Ed25519 alone" "$work/stdin.eml" "ed25519=pass"
else
    fail "signing standard input failed"
fi
sign rsaonly "$data/messages/whitespace.eml" -s rsa2048 -k "$rsa" &&
    check "RSA alone" "$work/rsaonly.eml" "rsa2048=pass"

# 6. --headers and --expire: verifiers accept the chosen fields and x=
if sign chosen "$data/messages/plain.eml" -s rsa2048 -k "$rsa" --headers from:subject:date --expire 3600; then
    check "--headers from:subject:date --expire 3600" "$work/chosen.eml" "rsa2048=pass"
    grep -q 'h=from:subject:date;' "$work/chosen.eml" && grep -qE 'x=[0-9]+;' "$work/chosen.eml" &&
        pass "--headers and --expire are in h= and x=" || fail "h= or x= missing"
fi

# 7. a From added after signing breaks the signature: From is oversigned
if sign over "$data/messages/plain.eml" "${both[@]}"; then
    { printf 'From: Mallory <mallory@example.net>\n'; cat "$work/over.eml"; } >"$work/over2.eml"
    check "a From added on top after signing" "$work/over2.eml" "rsa2048=fail ed25519=fail" "mailsec dkimpy"
fi

# 8. expired: t= an hour ago, x= a minute later
if sign old "$data/messages/plain.eml" -s rsa2048 -k "$rsa" --timestamp $(($(date +%s) - 3600)) --expire 60; then
    reason=$("$bin" dkim verify --json --resolver "$resolver" --trust-anchor "$anchor" "$work/old.eml" |
        jq -r '.results[0].signatures[0].reason')
    [[ $reason == expired ]] && pass "x= in the past: mailsec says expired" || fail "x= in the past: reason '$reason'"
fi

# 9. what cannot be signed is refused, with exit 2 and a reason
expect_refused() {
    local name=$1 want=$2
    shift 2
    "$bin" dkim sign "$@" >"$work/refused.out" 2>"$work/refused.err" </dev/null
    local rc=$?
    if [[ $rc == 2 && ! -s $work/refused.out ]] && grep -qF -- "$want" "$work/refused.err"; then
        pass "$name: refused"
    else
        fail "$name: exit $rc, stderr '$(cat "$work/refused.err")'"
    fi
}
expect_refused "a 512-bit key" "under 1024 bits" -d "$domain" -s rsa512 -k "$data/keys/rsa512.pem" "$data/messages/plain.eml"
expect_refused "not a key" "not an unencrypted PEM private key" -d "$domain" -s x -k "$data/keys/rsa2048.pub" "$data/messages/plain.eml"
expect_refused "--headers without From" "must name From" -d "$domain" -s rsa2048 -k "$rsa" --headers subject "$data/messages/plain.eml"
printf 'this is not a header\n\nbody\n' >"$work/nohead.eml"
expect_refused "a header line that is not a field" "not a field" -d "$domain" -s rsa2048 -k "$rsa" "$work/nohead.eml"

echo "$passed passed, $failed failed"
((failed == 0))
