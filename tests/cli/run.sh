#!/usr/bin/env bash
# Runs the mailsec command as a user would, from test files written as data.
#
#   run.sh MAILSEC_BINARY FILE.test
#
# A test file holds cases. Each starts with "case: NAME"; then
#   run: ARGS            the arguments to mailsec (shell words; $RESOLVER,
#                        $TRUST_ANCHOR and $DNS — both options together —
#                        come from the DNS test bed, $HTTPS — the CA and
#                        connect-to options — from the HTTPS test bed; $CA,
#                        a test CA made for the file, see below)
#   exit: N              the expected exit status (0 when the case has no
#                        exit: line)
#   jq: EXPR             EXPR, run by jq -e on stdout, must be true (empty
#                        stdout never is)
#   has: TEXT            stdout contains TEXT
#   lacks: TEXT          stdout does not contain TEXT
#   err: TEXT            stderr contains TEXT
#   codes: A B ...       the JSON's diagnostics codes are exactly these
#                        (in any order; of the first result)
# A case needs one run: and at least one positive check (jq:, has:, err: or
# codes:): lacks: alone passes on a crash or on empty output, so such a case
# is refused. Lines starting with # and blank lines are ignored. Commands
# run in the repository's root, so test data is named as tests/data/...
set -uo pipefail

BIN=$1
FILE=$(cd "$(dirname "$2")" && pwd)/$(basename "$2")
# Paths in test files are relative to the repository's root.
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

RESOLVER= TRUST_ANCHOR= DNS=
if [[ -n ${MAILSEC_DNSBED_INFO:-} && -f $MAILSEC_DNSBED_INFO ]]; then
    RESOLVER=$(sed -n 's/^RESOLVER=//p' "$MAILSEC_DNSBED_INFO")
    TRUST_ANCHOR=$(sed -n 's/^TRUST_ANCHOR=//p' "$MAILSEC_DNSBED_INFO")
    DNS="--resolver $RESOLVER --trust-anchor $TRUST_ANCHOR --timeout 5"
fi
HTTPS=
if [[ -n ${MAILSEC_HTTPSBED_INFO:-} && -f $MAILSEC_HTTPSBED_INFO ]]; then
    HTTPS="--https-ca $(sed -n 's/^CA=//p' "$MAILSEC_HTTPSBED_INFO")"
    HTTPS+=" --https-connect-to $(sed -n 's/^CONNECT_TO=//p' "$MAILSEC_HTTPSBED_INFO")"
fi
# $CA: a test CA made for this file (tests/cert/make-test-ca.sh, and the
# damaged files of tests/cert/make-lint-cases.sh in $CA/lint), when it uses $CA.
CA=
if grep -q '\$CA' "$FILE"; then
    CA=$WORK/ca
    if ! bash tests/cert/make-test-ca.sh "$CA" >/dev/null || ! bash tests/cert/make-lint-cases.sh "$CA" >/dev/null; then
        echo "FAIL - could not make the test CA"
        exit 1
    fi
fi
export RESOLVER TRUST_ANCHOR DNS HTTPS CA

passed=0 failed=0 name= status= problems=()
# Per case: whether it ran, checked the exit status, and made a positive check.
ran=0 exit_checked=0 positive=0

fail() { problems+=("$*"); }

finish_case() {
    [[ -z $name ]] && return
    ((ran)) || fail "no run: line"
    # Without an exit: line the command must succeed.
    ((exit_checked || status == 0)) || fail "exit status $status, expected 0 (no exit: line)"
    ((positive)) || fail "no positive check (jq:, has:, err: or codes:)"
    if ((${#problems[@]} == 0)); then
        echo "ok   - $name"
        passed=$((passed + 1))
    else
        echo "FAIL - $name ($FILE:$case_line)"
        printf '       %s\n' "${problems[@]}"
        echo "       stdout: $(head -c 3000 "$WORK/out")"
        echo "       stderr: $(head -c 1000 "$WORK/err")"
        failed=$((failed + 1))
    fi
    name= problems=() status= ran=0 exit_checked=0 positive=0
}

line_no=0 case_line=0
while IFS= read -r line || [[ -n $line ]]; do
    line_no=$((line_no + 1))
    [[ -z ${line// /} || $line == \#* ]] && continue
    key=${line%%:*}
    value=${line#*: }
    case $key in
    case)
        finish_case
        name=$value case_line=$line_no
        ;;
    run)
        eval "args=($value)"
        "$BIN" "${args[@]}" >"$WORK/out" 2>"$WORK/err" </dev/null
        status=$? ran=1
        ;;
    exit)
        exit_checked=1
        [[ $status == "$value" ]] || fail "exit status $status, expected $value"
        ;;
    jq)
        positive=1
        # jq -e exits 0 on empty input: no output is never true
        [[ -s $WORK/out ]] && jq -e "$value" "$WORK/out" >/dev/null 2>&1 || fail "jq false: $value"
        ;;
    has)
        positive=1
        grep -qF -- "$value" "$WORK/out" || fail "stdout lacks: $value"
        ;;
    lacks)
        grep -qF -- "$value" "$WORK/out" && fail "stdout has: $value"
        ;;
    err)
        positive=1
        grep -qF -- "$value" "$WORK/err" || fail "stderr lacks: $value"
        ;;
    codes)
        positive=1
        got=$(jq -r '[.results[0].diagnostics[].code] | sort | unique | join(" ")' "$WORK/out" 2>/dev/null)
        want=$(tr ' ' '\n' <<<"$value" | sed '/^$/d' | sort -u | paste -sd' ')
        [[ $got == "$want" ]] || fail "codes: got [$got], expected [$want]"
        ;;
    *)
        fail "unknown key '$key' at line $line_no"
        ;;
    esac
done <"$FILE"
finish_case

echo "$(basename "$FILE"): $passed passed, $failed failed"
((failed == 0 && passed > 0))
