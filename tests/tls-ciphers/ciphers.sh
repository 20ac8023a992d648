#!/usr/bin/env bash
# ciphers.sh MAILSEC: `mailsec tls check`'s cipher suite enumeration against
# the mail test bed, checked suite by suite with `openssl s_client`:
#   - CIPHERS (Postfix, STARTTLS): known suites in the server's order
#     (CIPHERS_LIST), groups X25519 and P-256, 1024-bit DH parameters;
#   - SMTP (Postfix, STARTTLS): ALL at security level 0, the client's order;
#   - IMAPS (Dovecot, TLS at once): Dovecot's defaults, TLS 1.2 and 1.3.
# For every version a port accepts, each suite the local OpenSSL can offer
# is tried alone with s_client; the set accepted must be mailsec's set. The
# enumeration must also cost no more hellos than it needs: one per suite
# accepted, one more per version to hear the refusal, one per version for
# the order, and the groups and DH handshakes.
set -euo pipefail
mailsec=$(realpath "$1")
info=${MAILSEC_MAILBED_INFO:?MAILSEC_MAILBED_INFO is not set}
[[ -f $info ]] || { echo "the mail test bed is not running (no $info)" >&2; exit 1; }
while IFS='=' read -r key value; do
    [[ $key =~ ^[A-Z0-9_]+$ ]] && declare "$key=$value"
done <"$info"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail=0
bad() { echo "FAIL: $*" >&2; fail=1; }

# The suites the local OpenSSL offers at one version (as mailsec does).
offerable() { # VERSION_FLAG
    if [[ $1 == -tls1_3 ]]; then
        openssl ciphers -s -tls1_3 -ciphersuites \
            TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256:TLS_AES_128_GCM_SHA256:TLS_AES_128_CCM_SHA256:TLS_AES_128_CCM_8_SHA256 \
            'ALL:COMPLEMENTOFALL:@SECLEVEL=0' | tr ':' '\n' | grep '^TLS_'
    else
        openssl ciphers -s "$1" 'ALL:COMPLEMENTOFALL:@SECLEVEL=0' | tr ':' '\n' | grep -v '^TLS_'
    fi
}

# SUITE when PORT (STARTTLS mode or "tls") accepts it at VERSION_FLAG.
accepts() { # PORT MODE VERSION_FLAG SUITE
    local starttls=() offer
    [[ $2 != tls ]] && starttls=(-starttls "$2")
    if [[ $3 == -tls1_3 ]]; then offer=(-ciphersuites "$4"); else offer=(-cipher "$4:@SECLEVEL=0"); fi
    timeout 20 openssl s_client -connect "$ADDR:$1" "${starttls[@]}" -servername "$SERVERNAME" \
        "$3" "${offer[@]}" -groups X25519:P-256:P-384:P-521:X448:ffdhe2048:ffdhe3072:ffdhe4096 \
        </dev/null 2>/dev/null | grep -q "Cipher is $4\$" && echo "$4"
}
export -f accepts
export ADDR SERVERNAME

declare -A FLAG=([TLSv1]=-tls1 [TLSv1.1]=-tls1_1 [TLSv1.2]=-tls1_2 [TLSv1.3]=-tls1_3)

check_port() { # NAME PORT MODE [EXTRA_HELLOS]
    local name=$1 port=$2 mode=$3 extra=${4:-0} json=$work/$1.json
    "$mailsec" tls check "$ADDR" --servername "$SERVERNAME" --ca "$CA" --json \
        --port "$port/$mode" >"$json" || [[ $? == 1 ]] || { bad "$name: mailsec failed"; return; }
    jq -e '.results[0].ports[0].ciphers.versions | length > 0' "$json" >/dev/null ||
        { bad "$name: no cipher enumeration in the JSON"; return; }
    local accepted version suite
    accepted=$(jq -r '.results[0].ports[0].versions_accepted[]' "$json")
    [[ $(jq -r '[.results[0].ports[0].ciphers.versions[].version] | join(" ")' "$json") == \
        "$(echo $accepted)" ]] || bad "$name: a version accepted has no suite list"
    for version in $accepted; do
        jq -e --arg v "$version" '.results[0].ports[0].ciphers.versions[] | select(.version == $v) | .complete' \
            "$json" >/dev/null || bad "$name $version: enumeration incomplete"
        jq -r --arg v "$version" \
            '.results[0].ports[0].ciphers.versions[] | select(.version == $v) | .suites[].name' "$json" |
            sort >"$work/$name.$version.mailsec"
        offerable "${FLAG[$version]}" |
            xargs -P 4 -I{} bash -c 'accepts "$@" || true' _ "$port" "$mode" "${FLAG[$version]}" {} |
            sort >"$work/$name.$version.openssl"
        if ! diff "$work/$name.$version.openssl" "$work/$name.$version.mailsec" >"$work/diff"; then
            bad "$name $version: s_client (<) and mailsec (>) disagree:"
            cat "$work/diff" >&2
        fi
        [[ -s $work/$name.$version.openssl ]] || bad "$name $version: s_client found no suite"
        echo "$name $version: $(wc -l <"$work/$name.$version.mailsec") suites agree"
    done
    # fewest hellos: per version, one per suite, one refused, one for the order;
    # then at most one per group plus one, and one for DH (plus EXTRA_HELLOS)
    local suites versions groups limit handshakes
    suites=$(jq '[.results[0].ports[0].ciphers.versions[].suites[]] | length' "$json")
    versions=$(jq '.results[0].ports[0].ciphers.versions | length' "$json")
    groups=$(jq '.results[0].ports[0].ciphers.groups | length' "$json")
    handshakes=$(jq '.results[0].ports[0].ciphers.handshakes' "$json")
    limit=$((suites + 2 * versions + groups + 2 + extra))
    ((handshakes <= limit)) || bad "$name: $handshakes handshakes, more than $limit"
    echo "$name: $handshakes handshakes for $suites suites"
}

check_port ciphers "$CIPHERS_PORT" smtp
check_port smtp "$SMTP_PORT" smtp
# Dovecot closes the connection without an alert when nothing is shared, and
# when it picks a DHE suite without DH parameters: the rest is then offered
# kind by kind (ECDHE-RSA, DHE-RSA, RSA...), about 20 more hellos
check_port imaps "$IMAPS_PORT" tls 24

# The CIPHERS port as configured: its TLS 1.2 order, its groups, its DH size,
# and a finding of each class.
j=$work/ciphers.json
want=$(echo "$CIPHERS_LIST" | tr ':' ' ')
got=$(jq -r '[.results[0].ports[0].ciphers.versions[] | select(.version == "TLSv1.2") | .suites[].name] | join(" ")' "$j")
[[ $got == "$want" ]] || bad "ciphers TLSv1.2 order: got '$got', want '$want'"
jq -e '[.results[0].ports[0].ciphers.versions[].server_order] | all' "$j" >/dev/null ||
    bad "ciphers: the server's order (tls_preempt_cipherlist = yes) not seen"
jq -e '.results[0].ports[0].ciphers.groups == ["X25519", "P-256"]' "$j" >/dev/null ||
    bad "ciphers: groups $(jq -c '.results[0].ports[0].ciphers.groups' "$j")"
jq -e '.results[0].ports[0].ciphers.dh_bits == 1024' "$j" >/dev/null || bad "ciphers: DH size"
classes=$(jq -r '[.results[0].ports[0].ciphers.versions[] | select(.version == "TLSv1.2") | .suites[].class] | unique | join(" ")' "$j")
[[ $classes == "aead-fs cbc cbc-sha1 no-forward-secrecy null-anon-export" ]] || bad "ciphers: classes $classes"
codes=$(jq -r '[.results[0].ports[0].diagnostics[].code] | sort | join(" ")' "$j")
for code in tls.weak-cipher tls.anonymous-cipher tls.no-forward-secrecy tls.cbc-cipher tls.weak-dh; do
    [[ " $codes " == *" $code "* ]] || bad "ciphers: no $code in: $codes"
done
[[ " $codes " != *" tls.client-cipher-order "* ]] || bad "ciphers: tls.client-cipher-order though the server orders"
# the SMTP port takes the client's order (Postfix's default)
jq -e '[.results[0].ports[0].diagnostics[].code] | index("tls.client-cipher-order")' "$work/smtp.json" \
    >/dev/null || bad "smtp: no tls.client-cipher-order"
jq -e '[.results[0].ports[0].ciphers.versions[] | select(.version == "TLSv1.2") | .server_order] == [false]' \
    "$work/smtp.json" >/dev/null || bad "smtp: server_order should be false"

# --no-ciphers: no enumeration, the negotiated suite is still judged
"$mailsec" tls check "$ADDR" --servername "$SERVERNAME" --ca "$CA" --json --no-ciphers \
    --port "$CIPHERS_PORT/smtp" >"$work/none.json" || true
jq -e '.results[0].ports[0].ciphers == null and .results[0].ports[0].version == "TLSv1.3"' \
    "$work/none.json" >/dev/null || bad "--no-ciphers still enumerates"
# the text output: one line per version, the groups, the DH size
"$mailsec" tls check "$ADDR" --servername "$SERVERNAME" --ca "$CA" --port "$CIPHERS_PORT/smtp" \
    >"$work/text" || true
grep -q "TLSv1.2 *10 suites (server's order): 2 null-anon-export, 2 no-forward-secrecy, 2 cbc-sha1, 1 cbc, 3 aead-fs" \
    "$work/text" || { bad "text output"; cat "$work/text" >&2; }
grep -q "groups *X25519, P-256" "$work/text" || bad "text: groups"
grep -q "DH *1024 bits" "$work/text" || bad "text: DH"
exit $fail
