#!/usr/bin/env bash
# generate.sh MAILSEC: every configuration `mailsec conf generate` makes is
# accepted by the real tools without a word:
#   Postfix 3.7: `postconf -c DIR -n`, `postconf -c DIR -M` and
#   `postfix -c DIR check` print nothing on stderr;
#   Dovecot 2.3: `doveconf -c FILE -n` prints no warning or error.
# For each profile, as snippets pasted into Debian's stock files and as
# --apply on copies of them; then the audit of the result with the same
# profile finds nothing to change (the two agree). --dry-run changes
# nothing and shows a unified diff; --apply keeps every comment and unrelated line, backs up first.
# Dovecot 2.2 and 2.4 have no server in Debian 12: their output is checked by
# parsing. Dovecot 1.x names are replaced by --apply until doveconf is silent.
set -uo pipefail
BIN=$1
source "$(dirname "${BASH_SOURCE[0]}")/../lib/testlib.sh"
DATA=$ROOT/tests/conf/data
CA=${MAILSEC_TEST_CA:-}
if [[ -z $CA || ! -f $CA/root.pem ]]; then
    CA=$WORK/ca
    bash "$ROOT/tests/cert/make-test-ca.sh" "$CA" >/dev/null || die "no test CA"
fi

# quiet NAME COMMAND...: the command succeeds and prints nothing on stderr
quiet() {
    local name=$1
    shift
    if "$@" >"$WORK/tool.out" 2>"$WORK/tool.err" && [[ ! -s $WORK/tool.err ]]; then
        ok "$name"
    else
        fail "$name: $(head -c 600 "$WORK/tool.err")"
    fi
}

doveconf_clean() { # NAME FILE
    doveconf -c "$2" -n >"$WORK/dc.out" 2>"$WORK/dc.err"
    local rc=$?
    # doveconf's note about "doveconf -Pn" comes with every warning, never alone
    if ((rc == 0)) && ! grep -qE 'Warning|Error|Fatal' "$WORK/dc.err"; then
        ok "$1"
    else
        fail "$1: rc=$rc $(head -c 600 "$WORK/dc.err")"
    fi
}

audit_agrees() { # NAME ARGS...: the audit with the same profile asks for no change
    local name=$1
    shift
    "$BIN" conf audit "$@" --ca "$CA/root.pem" --json >"$WORK/audit.json"
    if json_true '.results[0].error == null and all(.results[0].diagnostics[]; .code != "conf.profile" and .severity != "error" and .code != "conf.deprecated" and .code != "conf.wrong-version")' "$WORK/audit.json" >/dev/null; then
        ok "$name"
    else
        fail "$name: $(jq -c '[.results[0].diagnostics[] | [.code, .location, .message]]' "$WORK/audit.json" | head -c 1500)"
    fi
}

chmod 600 "$CA"/*.key
for profile in intermediate modern; do
    # ---- Postfix, snippets pasted at the end of Debian's files ----
    d=$WORK/pf-snippet-$profile
    mkdir -p "$d"
    cp "$DATA/debian/postfix/main.cf" "$DATA/debian/postfix/master.cf" "$d/"
    # main.cf.tls names the snakeoil pair; the snippet replaces it below
    sed -i '/^smtpd_tls_cert_file\|^smtpd_tls_key_file\|^smtpd_tls_security_level/d' "$d/main.cf"
    "$BIN" conf generate postfix --version 3.7 --profile $profile --cert "$CA/fullchain.pem" \
        --key "$CA/leaf-rsa.key" --json >"$WORK/gen.json" || fail "generate postfix $profile"
    jq -r '.results[0].main_cf' "$WORK/gen.json" >>"$d/main.cf"
    jq -r '.results[0].master_cf' "$WORK/gen.json" >>"$d/master.cf"
    quiet "postfix $profile snippet: postconf -n is silent" postconf -c "$d" -n
    quiet "postfix $profile snippet: postconf -M is silent" postconf -c "$d" -M
    quiet "postfix $profile snippet: postfix check is silent" postfix -c "$d" check
    audit_agrees "postfix $profile snippet: the audit with --profile $profile finds nothing to change" \
        --postfix "$d" --profile $profile

    # ---- Postfix, --apply on copies of Debian's files (with main.cf.tls) and the seed's ----
    for src in debian seed; do
    d=$WORK/pf-apply-$src-$profile
    mkdir -p "$d"
    cp "$DATA/$src/postfix/main.cf" "$DATA/$src/postfix/master.cf" "$d/"
    cp -r "$d" "$d.orig"
    "$BIN" conf generate postfix --version 3.7 --profile $profile --cert "$CA/leaf-rsa.pem" \
        --chain "$CA/chain.pem" --key "$CA/leaf-rsa.key" --apply "$d" --dry-run >"$WORK/diff" ||
        fail "postfix --dry-run exit status"
    if diff -r "$d" "$d.orig" >/dev/null && [[ ! -e $d/main.cf.mailsec-bak.1 ]]; then
        ok "postfix $src $profile --dry-run changes nothing"
    else
        fail "postfix $src $profile --dry-run changed files"
    fi
    "$BIN" conf generate postfix --version 3.7 --profile $profile --cert "$CA/leaf-rsa.pem" \
        --chain "$CA/chain.pem" --key "$CA/leaf-rsa.key" --apply "$d" >/dev/null ||
        fail "postfix --apply exit status"
    if cmp -s "$d/main.cf.mailsec-bak.1" "$d.orig/main.cf" && cmp -s "$d/master.cf.mailsec-bak.1" "$d.orig/master.cf"; then
        ok "postfix $src $profile --apply backed up both files first"
    else
        fail "postfix $src $profile --apply: the backups are not the originals"
    fi
    # every comment line is still there, in order; the snakeoil pair and the
    # commented-out submission services remain as comments
    if diff <(grep '^#' "$d.orig/main.cf") <(grep '^#' "$d/main.cf" | grep -v '^#mailsec: \|^# TLS: ') >/dev/null &&
        diff <(grep -v '^[a-z0-9]\|^  -o' "$d.orig/master.cf") <(grep -v '^[a-z0-9]\|^  -o' "$d/master.cf") >/dev/null; then
        ok "postfix $src $profile --apply keeps every comment"
    else
        fail "postfix $src $profile --apply lost comments"
    fi
    if grep -q '^#mailsec: smtpd_tls_cert_file *= */etc/' "$d/main.cf" &&
        grep -q '^smtpd_tls_security_level = may$' "$d/main.cf" &&
        [[ $(grep -c '^smtpd_tls_security_level' "$d/main.cf") == 1 ]] &&
        grep -q '^myhostname\|^biff = no$' "$d/main.cf"; then
        ok "postfix $src $profile --apply: changed on its line, the replaced pair commented out, the rest kept"
    else
        fail "postfix $src $profile --apply edits: $(grep -n 'tls\|biff' "$d/main.cf" | head -20)"
    fi
    if [[ -s $WORK/diff ]] && grep -q '^+smtpd_tls_chain_files = ' "$WORK/diff" && grep -q '^+submissions inet' "$WORK/diff"; then
        ok "postfix $src $profile --dry-run printed a unified diff"
    else
        fail "postfix $src $profile --dry-run diff: $(head -c 400 "$WORK/diff")"
    fi
    quiet "postfix $profile --apply: postconf -n is silent" postconf -c "$d" -n
    quiet "postfix $profile --apply: postconf -M is silent" postconf -c "$d" -M
    quiet "postfix $profile --apply: postfix check is silent" postfix -c "$d" check
    audit_agrees "postfix $profile --apply: the audit finds nothing to change" --postfix "$d" --profile $profile
    cp -r "$d" "$d.again"
    "$BIN" conf generate postfix --version 3.7 --profile $profile --cert "$CA/leaf-rsa.pem" \
        --chain "$CA/chain.pem" --key "$CA/leaf-rsa.key" --apply "$d.again" >/dev/null
    if cmp -s "$d/main.cf" "$d.again/main.cf" && cmp -s "$d/master.cf" "$d.again/master.cf"; then
        ok "postfix $src $profile --apply twice: the second changes nothing"
    else
        fail "postfix $src $profile --apply is not idempotent: $(diff "$d/main.cf" "$d.again/main.cf" | head -20)"
    fi
    done

    # ---- Dovecot 2.3, a snippet in a minimal dovecot.conf ----
    f=$WORK/dovecot-$profile.conf
    printf 'protocols = imap\n' >"$f"
    "$BIN" conf generate dovecot --version 2.3 --profile $profile --cert "$CA/fullchain.pem" \
        --key "$CA/leaf-rsa.key" >>"$f" || fail "generate dovecot $profile"
    doveconf_clean "dovecot 2.3 $profile snippet: doveconf -n is silent" "$f"
    audit_agrees "dovecot 2.3 $profile snippet: the audit finds nothing to change" --dovecot "$f" --profile $profile

    # ---- Dovecot 2.3, --apply on copies of Debian's configuration and the seed's ----
    for src in debian seed; do
    d=$WORK/dv-apply-$src-$profile
    cp -r "$DATA/$src/dovecot" "$d"
    "$BIN" conf generate dovecot --version 2.3 --profile $profile --cert "$CA/fullchain.pem" \
        --key "$CA/leaf-rsa.key" --apply "$d" >/dev/null || fail "dovecot --apply exit status"
    cmp -s "$d/conf.d/10-ssl.conf.mailsec-bak.1" "$DATA/$src/dovecot/conf.d/10-ssl.conf" &&
        ok "dovecot $src $profile --apply backed up 10-ssl.conf" || fail "dovecot $src $profile backup"
    rm -f "$d/conf.d/10-ssl.conf.mailsec-bak.1"
    doveconf_clean "dovecot 2.3 $src $profile --apply: doveconf -n is silent" "$d/dovecot.conf"
    audit_agrees "dovecot 2.3 $src $profile --apply: the audit finds nothing to change" --dovecot "$d" --profile $profile
    if [[ $(doveconf -c "$d/dovecot.conf" -h ssl_min_protocol 2>/dev/null) == "$([[ $profile == modern ]] && echo TLSv1.3 || echo TLSv1.2)" &&
        $(doveconf -c "$d/dovecot.conf" -h ssl 2>/dev/null) == required ]]; then
        ok "dovecot 2.3 $src $profile --apply: doveconf reads ssl = required and the profile's minimum protocol"
    else
        fail "dovecot 2.3 $src $profile --apply: doveconf reads $(doveconf -c "$d/dovecot.conf" -h ssl ssl_min_protocol 2>&1)"
    fi
    done

    # ---- SASL: the two --apply results on Debian's files are one pair ----
    # (Debian's main.cf has no queue_directory: Postfix's /var/spool/postfix)
    "$BIN" conf audit --postfix "$WORK/pf-apply-debian-$profile" --dovecot "$WORK/dv-apply-debian-$profile" \
        --profile $profile --ca "$CA/root.pem" --json >"$WORK/pair.json"
    if json_true '(.results | length) > 0 and all(.results[].diagnostics[]; .code | startswith("conf.sasl") | not)' "$WORK/pair.json" >/dev/null &&
        [[ $(postconf -c "$WORK/pf-apply-debian-$profile" -Ph submission/inet/smtpd_sasl_path submissions/inet/smtpd_sasl_type 2>&1) == $'private/auth\ndovecot' ]] &&
        doveconf -c "$WORK/dv-apply-debian-$profile/dovecot.conf" -n 2>/dev/null | grep -q 'unix_listener /var/spool/postfix/private/auth'; then
        ok "debian $profile --apply pair: Postfix's smtpd_sasl_path private/auth is Dovecot's auth listener, no conf.sasl finding"
    else
        fail "debian $profile --apply pair: $(jq -c '[.results[].diagnostics[] | select(.code | startswith("conf.sasl")) | [.code, .message]]' "$WORK/pair.json" | head -c 800) $(postconf -c "$WORK/pf-apply-debian-$profile" -Ph submission/inet/smtpd_sasl_path 2>&1)"
    fi
    d=$WORK/dv-apply-debian-$profile
    cp -r "$d" "$d.again"
    "$BIN" conf generate dovecot --version 2.3 --profile $profile --cert "$CA/fullchain.pem" \
        --key "$CA/leaf-rsa.key" --apply "$d.again" >/dev/null
    if cmp -s "$d/conf.d/10-ssl.conf" "$d.again/conf.d/10-ssl.conf"; then
        ok "dovecot debian $profile --apply twice: the second changes nothing (one auth listener)"
    else
        fail "dovecot debian $profile --apply is not idempotent: $(diff "$d/conf.d/10-ssl.conf" "$d.again/conf.d/10-ssl.conf" | head -20)"
    fi

    # ---- Dovecot 1.x names: --apply 2.3 replaces them, doveconf has nothing left to say ----
    d=$WORK/dv-apply-1x-$profile
    mkdir -p "$d"
    grep -v '^protocols' "$DATA/cases/dv-1x.conf" >"$d/dovecot.conf"
    "$BIN" conf generate dovecot --version 2.3 --profile $profile --cert "$CA/fullchain.pem" \
        --key "$CA/leaf-rsa.key" --apply "$d" >/dev/null || fail "dovecot 1.x --apply exit status"
    doveconf_clean "dovecot 1.x names $profile --apply: doveconf -n is silent" "$d/dovecot.conf"
    audit_agrees "dovecot 1.x names $profile --apply: the audit finds nothing to change" --dovecot "$d" --profile $profile

    # ---- Dovecot 2.2: by parsing (no 2.2 doveconf in Debian 12) ----
    f=$WORK/dovecot22-$profile.conf
    "$BIN" conf generate dovecot --version 2.2 --profile $profile --cert "$CA/fullchain.pem" \
        --key "$CA/leaf-rsa.key" >"$f"
    if grep -q '^ssl_protocols = !SSLv2 !SSLv3 !TLSv1 !TLSv1.1' "$f" && ! grep -q 'ssl_min_protocol\|^ssl_dh =' "$f"; then
        ok "dovecot 2.2 $profile: 2.2 names (ssl_protocols, no ssl_min_protocol or ssl_dh)"
    else
        fail "dovecot 2.2 $profile: $(cat "$f")"
    fi
    audit_agrees "dovecot 2.2 $profile: the audit (--dovecot-version 2.2) finds nothing to change" \
        --dovecot "$f" --dovecot-version 2.2 --profile $profile

    # ---- Dovecot 2.4: by parsing (no 2.4 doveconf in Debian 12) ----
    f=$WORK/dovecot24-$profile.conf
    printf 'dovecot_config_version = 2.4.1\ndovecot_storage_version = 2.4.1\n' >"$f"
    "$BIN" conf generate dovecot --version 2.4 --profile $profile --cert "$CA/fullchain.pem" \
        --key "$CA/leaf-rsa.key" >>"$f"
    if grep -q '^ssl_server_cert_file = '"$CA/fullchain.pem"'$' "$f" && ! grep -q '^ssl_cert\b\|disable_plaintext_auth\|<' "$f"; then
        ok "dovecot 2.4 $profile: 2.4 names, file names without \"<\""
    else
        fail "dovecot 2.4 $profile: $(cat "$f")"
    fi
    audit_agrees "dovecot 2.4 $profile: the audit (2.4 syntax) finds nothing to change" --dovecot "$f" --profile $profile
done

# ---- master.cf: the new services take the chroot flag of the smtp service ----
d=$WORK/pf-chroot-n
cp -r "$DATA/cases/pf-chroot-n" "$d"
"$BIN" conf generate postfix --version 3.7 --profile intermediate --cert "$CA/leaf-rsa.pem" \
    --key "$CA/leaf-rsa.key" --apply "$d" >/dev/null || fail "postfix chroot --apply exit status"
quiet "postfix chroot n --apply: postconf -M is silent" postconf -c "$d" -M
if [[ $(postconf -c "$d" -Fh submission/inet/chroot submissions/inet/chroot 2>&1) == $'n\nn' ]]; then
    ok "postfix chroot n --apply: postconf reads chroot n for submission and submissions, as for smtp"
else
    fail "postfix chroot n --apply: $(postconf -c "$d" -Fh submission/inet/chroot submissions/inet/chroot 2>&1)"
fi

# the versions and what cannot be generated
"$BIN" conf generate postfix --version 3.3 --profile intermediate --cert "$CA/leaf-rsa.pem" --key "$CA/leaf-rsa.key" >"$WORK/old.out"
grep -q '^smtpd_tls_protocols = !SSLv2, !SSLv3, !TLSv1, !TLSv1.1$' "$WORK/old.out" && grep -q '^smtpd_tls_cert_file = ' "$WORK/old.out" &&
    ok "postfix 3.3: the exclusion list (\">=\" is 3.6 syntax) and smtpd_tls_cert_file (chain files are 3.4)" ||
    fail "postfix 3.3: $(cat "$WORK/old.out")"
"$BIN" conf generate postfix --version 3.3 --profile intermediate --cert a --key b --chain c 2>"$WORK/err" >/dev/null
(($? == 2)) && grep -q '3.4' "$WORK/err" && ok "postfix 3.3 with --chain: refused, saying why" || fail "postfix 3.3 --chain"
"$BIN" conf generate dovecot --version 2.1 --profile modern --cert a --key b 2>"$WORK/err" >/dev/null
(($? == 2)) && grep -q '2.2, 2.3 and 2.4' "$WORK/err" && ok "dovecot 2.1: refused" || fail "dovecot 2.1"

# ---- the Postfix version: --postfix-version / --version, else what postconf says, else 3.7 ----
said=$(postconf -h mail_version)
real=$(cut -d. -f1,2 <<<"$said")
d=$WORK/pf-version
mkdir -p "$d"
cp "$DATA/debian/postfix/main.cf" "$DATA/debian/postfix/master.cf" "$d/"
"$BIN" conf audit --postfix "$d" --json >"$WORK/v.json"
if json_true --arg v "$real" --arg said "$said" --arg d "$d" '.results[0].postfix | .version == $v and .version_source == "detected"
        and .version_detail == "postconf -c \($d) -h mail_version says \($said)"' "$WORK/v.json" >/dev/null &&
    json_true --arg v "$real" 'any(.results[0].diagnostics[]; .code == "conf.submissions-missing" and (.message | contains("\"submissions\"") and contains("Postfix \($v)")))' "$WORK/v.json" >/dev/null; then
    ok "audit: the version postconf -c DIR says ($said), used in the advice (\"submissions\")"
else
    fail "audit, detected version: $(jq -c '.results[0] | [.postfix, [.diagnostics[] | select(.code == "conf.submissions-missing") | .message]]' "$WORK/v.json")"
fi
"$BIN" conf audit --postfix "$d" >"$WORK/v.out"
grep -qF "Postfix version $real (postconf -c $d -h mail_version says $said)" "$WORK/v.out" &&
    ok "audit: the text says which version and where it came from" ||
    fail "audit text: $(head -3 "$WORK/v.out")"
"$BIN" conf audit --postfix "$d" --postfix-version 3.4 --json >"$WORK/v.json"
if json_true '.results[0].postfix | .version == "3.4" and .version_source == "flag"' "$WORK/v.json" >/dev/null &&
    json_true 'any(.results[0].diagnostics[]; .code == "conf.submissions-missing" and (.message | contains("\"smtps\"") and contains("Postfix 3.4")))' "$WORK/v.json" >/dev/null; then
    ok "audit: --postfix-version 3.4 wins over postconf, and the advice names \"smtps\""
else
    fail "audit --postfix-version 3.4: $(jq -c '.results[0] | [.postfix, [.diagnostics[] | select(.code == "conf.submissions-missing") | .message]]' "$WORK/v.json")"
fi
PATH=/nonexistent "$BIN" conf audit --postfix "$d" --json >"$WORK/v.json"
json_true '.results[0].postfix | .version == "3.7" and .version_source == "default" and .version_detail == "assumed: postconf is not installed"' "$WORK/v.json" >/dev/null &&
    ok "audit without postconf: 3.7 assumed, and said so" ||
    fail "audit without postconf: $(jq -c '.results[0].postfix' "$WORK/v.json")"
# generate: without --version, the version of the Postfix in --apply DIR; the
# syntax follows it (">=" from 3.6); the audit with that version agrees, with 3.5 not
"$BIN" conf generate postfix --profile intermediate --cert "$CA/leaf-rsa.pem" --key "$CA/leaf-rsa.key" \
    --apply "$d" --json >"$WORK/v.json"
want_protocols=$([[ ${real#*.} -ge 6 ]] && echo '>=TLSv1.2' || echo '!SSLv2, !SSLv3, !TLSv1, !TLSv1.1')
if json_true --arg v "$real" --arg d "$d" '.results[0] | .version == $v and .version_source == "detected"
        and (.version_detail | startswith("postconf -c \($d) "))' "$WORK/v.json" >/dev/null &&
    [[ $(postconf -c "$d" -h smtpd_tls_protocols) == "$want_protocols" ]]; then
    ok "generate --apply without --version: Postfix $real from postconf -c DIR, smtpd_tls_protocols = $want_protocols"
else
    fail "generate --apply without --version: $(jq -c '.results[0] | [.version, .version_source, .version_detail]' "$WORK/v.json") $(postconf -c "$d" -h smtpd_tls_protocols)"
fi
"$BIN" conf audit --postfix "$d" --profile intermediate --json >"$WORK/v.json"
"$BIN" conf audit --postfix "$d" --profile intermediate --postfix-version 3.5 --json >"$WORK/v35.json"
if json_true 'all(.results[0].diagnostics[]; .code != "conf.profile" and .code != "conf.wrong-version")' "$WORK/v.json" >/dev/null &&
    json_true '[.results[0].diagnostics[] | select(.code == "conf.wrong-version") | .message] == [
        "smtpd_tls_protocols = >=TLSv1.2 is Postfix 3.6 syntax: Postfix 3.5 does not understand the range; set smtpd_tls_protocols = !SSLv2, !SSLv3, !TLSv1, !TLSv1.1",
        "smtpd_tls_mandatory_protocols = >=TLSv1.2 is Postfix 3.6 syntax: Postfix 3.5 does not understand the range; set smtpd_tls_mandatory_protocols = !SSLv2, !SSLv3, !TLSv1, !TLSv1.1"]' "$WORK/v35.json" >/dev/null; then
    ok "audit: \">=TLSv1.2\" is right for the detected version; --postfix-version 3.5 asks for the exclusion list"
else
    fail "audit protocols by version: $(jq -c '[.results[0].diagnostics[] | select(.code == "conf.profile" or .code == "conf.wrong-version") | .message]' "$WORK/v.json" "$WORK/v35.json" | head -c 800)"
fi
"$BIN" conf generate postfix --profile modern --cert /c.pem --key /k.pem >"$WORK/v.out"
head -1 "$WORK/v.out" | grep -qxF "# Postfix $real (postconf -h mail_version says $said)" &&
    ok "generate snippet without --version: the first line says the version and where it came from" ||
    fail "generate snippet version line: $(head -1 "$WORK/v.out")"
PATH=/nonexistent "$BIN" conf generate postfix --profile modern --cert /c.pem --key /k.pem --json >"$WORK/v.json"
json_true '.results[0] | .version == "3.7" and .version_source == "default" and (.main_cf | contains("smtpd_tls_protocols = >=TLSv1.3"))' "$WORK/v.json" >/dev/null &&
    ok "generate without postconf: 3.7 assumed, and said so" ||
    fail "generate without postconf: $(jq -c '.results[0] | [.version, .version_source, .version_detail]' "$WORK/v.json")"
"$BIN" conf generate dovecot --profile modern --cert /c.pem --key /k.pem 2>"$WORK/err" >/dev/null
(($? == 2)) && grep -q -- '--version' "$WORK/err" && ok "dovecot still needs --version" || fail "dovecot without --version"

finish generate
