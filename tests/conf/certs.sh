#!/usr/bin/env bash
# certs.sh MAILSEC: the certificate and key files a configuration names,
# checked through lib/cert, on the test CA (tests/cert/make-test-ca.sh,
# $MAILSEC_TEST_CA or made here). Each case writes a main.cf or a
# dovecot.conf naming CA files, runs `mailsec conf audit --json`, and
# checks the codes and where they point. What is wrong with each file is
# known from how make-test-ca.sh made it (and what `openssl` says of it,
# checked here too where it matters).
set -uo pipefail
BIN=$1
source "$(dirname "${BASH_SOURCE[0]}")/../lib/testlib.sh"
CA=${MAILSEC_TEST_CA:-}
if [[ -z $CA || ! -f $CA/root.pem ]]; then
    CA=$WORK/ca
    bash "$(dirname "${BASH_SOURCE[0]}")/../cert/make-test-ca.sh" "$CA" >/dev/null || die "no test CA"
fi
# private copies: some cases change modes
cp -r "$CA" "$WORK/c"
C=$WORK/c
chmod 600 "$C"/*.key
SMTP='smtp      inet  n       -       y       -       -       smtpd'

postfix_case() { # NAME MAIN.CF-TEXT JQ...
    local name=$1 text=$2
    shift 2
    local dir=$WORK/pf-$passed-$failed
    mkdir -p "$dir"
    printf '%s\n' "$text" >"$dir/main.cf"
    printf '%s\n' "$SMTP" >"$dir/master.cf"
    "$BIN" conf audit --postfix "$dir" --ca "$C/root.pem" --json >"$WORK/out.json"
    run_jq "$name" "$@"
}

dovecot_case() { # NAME TEXT JQ...
    local name=$1 text=$2
    shift 2
    printf '%s\n' "$text" >"$WORK/dovecot.conf"
    "$BIN" conf audit --dovecot "$WORK/dovecot.conf" --ca "$C/root.pem" --json >"$WORK/out.json"
    run_jq "$name" "$@"
}

run_jq() {
    local name=$1 bad=
    shift
    for expr in "$@"; do
        json_true "$expr" "$WORK/out.json" >/dev/null 2>&1 || bad+=" [$expr]"
    done
    if [[ -z $bad ]]; then
        ok "$name"
    else
        fail "$name: false:$bad"
        echo "       $(jq -c '[.results[0].diagnostics[] | [.code, .location, .message]]' "$WORK/out.json" 2>/dev/null | head -c 2000)"
    fi
}

codes='[.results[0].diagnostics[].code] | unique'
PROTO='smtpd_tls_protocols = >=TLSv1.2
smtpd_tls_mandatory_protocols = >=TLSv1.2'

postfix_case "smtpd_tls_chain_files: key, leaf, intermediate: nothing to say" \
    "smtpd_tls_security_level = may
smtpd_tls_chain_files = $C/leaf-rsa.key, $C/leaf-rsa.pem, $C/chain.pem
$PROTO" \
    "$codes == [\"conf.submission-missing\", \"conf.submissions-missing\"]"

postfix_case "smtpd_tls_chain_files with the certificate before the key" \
    "smtpd_tls_security_level = may
smtpd_tls_chain_files = $C/fullchain.pem, $C/leaf-rsa.key
$PROTO" \
    'any(.results[0].diagnostics[]; .code == "conf.chain-files-order" and (.location | endswith("main.cf:2")) and (.message | test("fullchain.pem line 1")))'

postfix_case "smtpd_tls_chain_files with the intermediate before the leaf (cert.chain-order from lib/cert)" \
    "smtpd_tls_security_level = may
smtpd_tls_chain_files = $C/leaf-rsa.key, $C/wrong-order.pem
$PROTO" \
    'any(.results[0].diagnostics[]; .code == "cert.chain-order" and (.location | endswith("main.cf:2")) and (.message | startswith("smtpd_tls_chain_files")))' \
    'all(.results[0].diagnostics[]; .code != "conf.chain-files-order")'

postfix_case "smtpd_tls_cert_file and a key of another certificate (cert.key-mismatch)" \
    "smtpd_tls_security_level = may
smtpd_tls_cert_file = $C/fullchain.pem
smtpd_tls_key_file = $C/leaf-ecdsa.key
$PROTO" \
    'any(.results[0].diagnostics[]; .code == "cert.key-mismatch" and (.location | endswith("main.cf:2")))'

chmod 644 "$C/leaf-ecdsa.key"
[[ $(stat -c %a "$C/leaf-ecdsa.key") == 644 ]] || fail "could not chmod"
postfix_case "a key readable by everyone (cert.key-readable)" \
    "smtpd_tls_security_level = may
smtpd_tls_cert_file = $C/fullchain-ecdsa.pem
smtpd_tls_key_file = $C/leaf-ecdsa.key
$PROTO" \
    'any(.results[0].diagnostics[]; .code == "cert.key-readable")' \
    'all(.results[0].diagnostics[]; .code != "cert.key-mismatch")'
chmod 600 "$C/leaf-ecdsa.key"

postfix_case "both smtpd_tls_chain_files and smtpd_tls_cert_file" \
    "smtpd_tls_security_level = may
smtpd_tls_cert_file = $C/fullchain.pem
smtpd_tls_key_file = $C/leaf-rsa.key
smtpd_tls_chain_files = $C/leaf-rsa.key, $C/fullchain.pem
$PROTO" \
    'any(.results[0].diagnostics[]; .code == "conf.cert-and-chain-files" and (.location | endswith("main.cf:2")) and (.message | test("at line 4")))'

postfix_case "an expired certificate" \
    "smtpd_tls_security_level = may
smtpd_tls_cert_file = $C/leaf-expired.pem
smtpd_tls_key_file = $C/leaf-expired.key
$PROTO" \
    'any(.results[0].diagnostics[]; .code == "cert.expired" and (.location | endswith("main.cf:2")))'

dovecot_case "Dovecot: the leaf and its intermediate, the key: nothing to say" \
    "ssl = required
ssl_cert = <$C/fullchain.pem
ssl_key = <$C/leaf-rsa.key" \
    '.results[0].diagnostics == []'

dovecot_case "Dovecot: the leaf alone (cert.intermediate-missing) and another key" \
    "ssl = required
ssl_cert = <$C/leaf-rsa.pem
ssl_key = <$C/leaf-ecdsa.key" \
    'any(.results[0].diagnostics[]; .code == "cert.intermediate-missing" and (.location | endswith("dovecot.conf:2")))' \
    'any(.results[0].diagnostics[]; .code == "cert.key-mismatch")'

dovecot_case "Dovecot: a key file that is not there" \
    "ssl = required
ssl_cert = <$C/fullchain.pem
ssl_key = <$C/nothere.key" \
    '[.results[0].diagnostics[] | [.code, (.location | endswith("dovecot.conf:3"))]] == [["conf.cert-file-missing", true]]'

# What lib/cert says of the chain file agrees with openssl: the CA verifies it.
if openssl verify -CAfile "$C/root.pem" -untrusted "$C/chain.pem" "$C/leaf-rsa.pem" >/dev/null 2>&1; then
    ok "openssl verifies the chain the clean cases use"
else
    fail "openssl does not verify leaf-rsa.pem"
fi
finish certs
