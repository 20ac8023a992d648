#!/usr/bin/env bash
# ciphers.sh MAILSEC: `conf audit`'s cipher verdicts agree with what the
# local OpenSSL enables for the string. For each cipher string, the suites
# `openssl ciphers -v STRING` lists (TLS 1.3, PSK and SRP suites left out)
# are put in categories from their Kx/Au/Enc/Mac columns, and compared with
# the suites, counts and categories the audit's conf.weak-ciphers and
# conf.legacy-ciphers findings name, in order:
#   Enc=None (or EXPORT)          NULL-encryption or EXPORT   conf.weak-ciphers
#   Au=None                       anonymous                   conf.weak-ciphers
#   Enc=RC4                       RC4                         conf.weak-ciphers
#   Enc=DES, 3DES, IDEA, RC2      3DES and other 64-bit block conf.weak-ciphers
#   Kx other than ECDH or DH      non-forward-secret          conf.legacy-ciphers
#   Mac=SHA1                      CBC with SHA-1              conf.legacy-ciphers
# A string from which OpenSSL selects nothing is conf.syntax. Each string
# is tried as Dovecot's ssl_cipher_list, and as Postfix's
# tls_high_cipherlist (where anonymous suites are meant: not reported).
set -uo pipefail
BIN=$1
PY=/usr/bin/python3
source "$(dirname "${BASH_SOURCE[0]}")/../lib/testlib.sh"


# The findings expected from `openssl ciphers -v` output on stdin, one line
# per code: "CODE<TAB>CATEGORY suites (N: A, B); ...". $1: 1 to leave out
# the anonymous suites.
expect() {
    "$PY" -c '
import re, sys
anon_ok = sys.argv[1] == "1"
order = ["NULL-encryption or EXPORT", "anonymous", "RC4", "3DES and other 64-bit block",
         "non-forward-secret", "CBC with SHA-1", "good"]
code = {c: "conf.weak-ciphers" for c in order[:4]}
code.update({c: "conf.legacy-ciphers" for c in order[4:6]})
found = {c: [] for c in order}
for line in sys.stdin:
    f = line.split()
    if len(f) < 6 or f[1] == "TLSv1.3":
        continue
    col = dict(x.split("=", 1) for x in f[2:] if "=" in x)
    kx, au, enc, mac = col["Kx"], col["Au"], col["Enc"], col["Mac"]
    if "PSK" in kx or "SRP" in kx or au in ("PSK", "SRP"):
        continue
    if enc.startswith("None") or "export" in line.lower():
        c = order[0]
    elif au == "None":
        c = order[1]
    elif enc.startswith("RC4"):
        c = order[2]
    elif re.match(r"(3DES|DES|IDEA|RC2)\(", enc):
        c = order[3]
    elif kx not in ("ECDH", "DH"):
        c = order[4]
    elif mac == "SHA1":
        c = order[5]
    else:
        c = order[6]
    found[c].append(f[0])
out = {}
for c in order[:6]:
    if found[c] and not (anon_ok and c == "anonymous"):
        out.setdefault(code[c], []).append("%s suites (%d: %s)" % (c, len(found[c]), ", ".join(found[c])))
for k in sorted(out):
    print(k + "\t" + "; ".join(out[k]))
' "$1"
}

# The audit's findings of those codes about SETTING: "CODE<TAB>what it lets in".
actual() {
    jq -r --arg s "$2" '.results[0].diagnostics[]
        | select(.code == "conf.weak-ciphers" or .code == "conf.legacy-ciphers")
        | select(.message | startswith($s + " = "))
        | .code + "\t" + (.message | sub("^[^ ]+ = .* lets in "; ""))' "$1" | sort
}

# Whether the audit (its JSON in $1) says the string selects no suite.
says_selects_nothing() {
    json_true 'any(.results[0].diagnostics[]; .code == "conf.syntax" and (.message | test("selects no TLS 1.2 cipher suite")))' "$1" >/dev/null
}

# judged_as_listed WHAT STRING WANT GOT: the audit's findings (GOT) are
# those openssl's listing of STRING calls for (WANT).
judged_as_listed() {
    local what=$1 string=$2 want=$3 got=$4
    if [[ $want == "$got" ]]; then
        ok "$what: \"$string\" judged as openssl ciphers -v lists it"
    else
        fail "$what: \"$string\""
        diff <(echo "$want") <(echo "$got") | sed 's/^/    /'
    fi
}

# check NAME STRING
check() {
    local name=$1 string=$2
    local listing
    listing=$(openssl ciphers -v "$string" 2>/dev/null)
    local none=0
    [[ -z $listing ]] && none=1
    # Dovecot
    mkdir -p "$WORK/dv"
    printf 'ssl = required\nssl_cert = </nonexistent/cert.pem\nssl_key = </nonexistent/key.pem\nssl_cipher_list = %s\n' \
        "$string" >"$WORK/dv/dovecot.conf"
    "$BIN" conf audit --dovecot "$WORK/dv/dovecot.conf" --json >"$WORK/dv.json"
    # Postfix
    mkdir -p "$WORK/pf"
    printf 'smtpd_tls_security_level = may\nsmtpd_tls_cert_file = /nonexistent/cert.pem\ntls_high_cipherlist = %s\n' \
        "$string" >"$WORK/pf/main.cf"
    printf 'smtp inet n - y - - smtpd\n' >"$WORK/pf/master.cf"
    "$BIN" conf audit --postfix "$WORK/pf" --json >"$WORK/pf.json"
    if ((none)); then
        if says_selects_nothing "$WORK/dv.json" && says_selects_nothing "$WORK/pf.json"; then
            ok "$name: OpenSSL selects nothing from \"$string\", and the audit says so"
        else
            fail "$name: OpenSSL selects nothing from \"$string\"; the audit does not say so"
        fi
        return
    fi
    judged_as_listed "$name (Dovecot)" "$string" "$(expect 0 <<<"$listing")" \
        "$(actual "$WORK/dv.json" ssl_cipher_list)"
    judged_as_listed "$name (Postfix)" "$string" "$(expect 1 <<<"$listing")" \
        "$(actual "$WORK/pf.json" tls_high_cipherlist)"
}

# The issue's example: no RC4 or 3DES in OpenSSL 3, but static RSA and
# CBC-SHA1 suites.
check "tutorial string" 'ALL:!LOW:!SSLv2:!EXP:!aNULL'
check "NULL and anonymous suites" 'ALL:COMPLEMENTOFALL'
check "anonymous only" 'aNULL'
check "asking for RC4 and 3DES" 'RC4:3DES:HIGH:!aNULL'
check "Postfix's medium grade" 'aNULL:-aNULL:HIGH:MEDIUM:+RC4:@STRENGTH'
check "OpenSSL's default" 'DEFAULT'
check "Mozilla intermediate" 'ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:DHE-RSA-AES128-GCM-SHA256:DHE-RSA-AES256-GCM-SHA384:DHE-RSA-CHACHA20-POLY1305'
check "only suites this OpenSSL lacks" 'RC4-SHA:DES-CBC3-SHA'
check "not a cipher string" 'no-such-cipher'

finish ciphers
