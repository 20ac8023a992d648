#!/usr/bin/env bash
# arc.sh MAILSEC CHUNKED SOURCE_DIR: ARC chains (RFC 8617) and streaming.
#
# Messages from tests/data/dkim/messages are sealed at test time by dkimpy's
# arc_sign (tests/dkim/dkimpy-arc.py) with the test-only keys whose public
# halves the DNS test bed serves: one hop, two hops, then broken on
# purpose. `mailsec dkim verify` must give each the expected ARC verdict
# and reason (human and --json), and dkimpy's verifier, asked the same DNS,
# the same pass or fail. Then CHUNKED (tests/dkim/chunked.c) verifies
# these and the DKIM-signed messages whole, one byte at a time, field by
# field, with CRLF and with LF line ends: the verdicts must not differ.
set -uo pipefail
bin=$1 chunked=$2 src=$3
data=$src/tests/data/dkim
here=$src/tests/dkim
py=/usr/bin/python3 # Debian's python, where python3-dkim and python3-authres live
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

for tool in "$py" jq dkimsign; do
    command -v "$tool" >/dev/null || { echo "FAIL - $tool is not installed (scripts/deps.txt)"; exit 1; }
done
"$py" -c 'import dkim, authres' || { echo "FAIL - python3-dkim or python3-authres is missing (scripts/deps.txt)"; exit 1; }
. "$(dirname "${BASH_SOURCE[0]}")/../lib/dnsbed.sh"
domain=dkimtest.example
failures=0
fail() { echo "FAIL - $*"; failures=$((failures + 1)); }

# seal SELECTOR KEY AUTHSERV ARC_RESULT < in > out: one intermediary's ARC set
seal() { "$py" "$here/dkimpy-arc.py" seal "$1" "$domain" "$data/keys/$2" "$3" "$4"; }

# drop_field NAME I FILE: the message without the field NAME: i=I (and its continuation lines)
drop_field() {
    awk -v want="$1: i=$2;" 'skip && /^[ \t]/ { next } { skip = index($0, want) == 1 } !skip' "$3"
}

m=$data/messages
# a DKIM-signed message forwarded twice: hop 1 (rsa2048) saw no chain,
# hop 2 (rsa1024) found hop 1's chain passing
dkimsign --hcanon relaxed --bcanon relaxed rsa2048 "$domain" "$data/keys/rsa2048.pem" <"$m/plain.eml" >"$work/signed.eml" || fail "dkimsign"
seal rsa2048 rsa2048.pem mx.hop1.example - <"$work/signed.eml" >"$work/one-hop.eml" || fail "seal hop 1"
seal rsa1024 rsa1024.pem mx.hop2.example pass <"$work/one-hop.eml" >"$work/two-hops.eml" || fail "seal hop 2"
seal rsa2048 rsa2048.pem mx.hop1.example - <"$m/mime.eml" >"$work/mime-one-hop.eml" || fail "seal mime"
# a mailing list added a footer after the last seal
{ cat "$work/two-hops.eml"; printf 'Added by a mailing list after sealing\n'; } >"$work/body-altered.eml"
# hop 2 found hop 1's chain failing, and sealed that (cv=fail)
seal rsa1024 rsa1024.pem mx.hop2.example fail <"$work/one-hop.eml" >"$work/cv-fail.eml" || fail "seal cv=fail"
# the first set's ARC-Authentication-Results rewritten after both seals
sed 's/^ARC-Authentication-Results: i=1; mx.hop1.example/ARC-Authentication-Results: i=1; mx.forged.example/' \
    "$work/two-hops.eml" >"$work/aar-altered.eml"
# the first set lost its ARC-Seal
drop_field ARC-Seal 1 "$work/two-hops.eml" >"$work/set-incomplete.eml"
cp "$m/plain.eml" "$work/no-arc.eml"

# expect FILE RESULT INSTANCE REASON CODE: the JSON verdict, the code among the findings
expect() {
    local f=$work/$1 out
    out=$("$bin" dkim verify --json --resolver "$resolver" --trust-anchor "$anchor" "$f")
    local rc=$?
    [[ -n $out ]] || { fail "$1: no JSON"; return; }
    local got
    got=$(jq -r '.results[0].arc | "\(.result) \(.instance) \(.reason // "-")"' <<<"$out")
    [[ $got == "$2 $3 $4" ]] || fail "$1: arc is \"$got\", expected \"$2 $3 $4\""
    if [[ $5 != - ]]; then
        jq -e --arg c "$5" '[.results[0].diagnostics[].code] | index($c) != null' <<<"$out" >/dev/null ||
            fail "$1: no $5 finding"
    fi
    local want_rc=0
    [[ $2 == fail ]] && want_rc=1
    [[ $1 == no-arc.eml ]] && want_rc=0
    ((rc == want_rc)) || fail "$1: exit $rc, expected $want_rc"
    echo "ok - $1: arc=$got"
}
expect one-hop.eml pass 1 - -
expect two-hops.eml pass 2 - -
expect mime-one-hop.eml pass 1 - -
expect body-altered.eml fail 2 message-signature-body-hash-mismatch dkim.arc-message-signature-failed
expect cv-fail.eml fail 2 chain-failed dkim.arc-chain-failed
expect aar-altered.eml fail 2 seal-signature-mismatch dkim.arc-seal-failed
expect set-incomplete.eml fail 2 structure dkim.arc-structure
expect no-arc.eml none 0 - -

# the sealer and the newest ARC-Authentication-Results, unfolded
out=$("$bin" dkim verify --json --resolver "$resolver" --trust-anchor "$anchor" "$work/two-hops.eml")
jq -e '.results[0].arc | .sealer == "dkimtest.example" and
       (.auth_results | startswith("mx.hop2.example; dkim=pass") and (contains("\n") | not))' <<<"$out" >/dev/null ||
    fail "two-hops.eml: sealer or auth_results wrong: $(jq -c '.results[0].arc' <<<"$out")"
# the DKIM signature made before the forwards still passes beside the chain
[[ $(jq -r '.results[0].signatures[0].result' <<<"$out") == pass ]] || fail "two-hops.eml: the DKIM signature does not pass"

# the human output says arc=
human=$("$bin" dkim verify --resolver "$resolver" --trust-anchor "$anchor" "$work/two-hops.eml" "$work/body-altered.eml")
grep -q 'arc=pass (2 sets, sealed last by dkimtest.example)' <<<"$human" || fail "human output lacks arc=pass: $human"
grep -q 'arc=fail (message-signature-body-hash-mismatch; 2 sets)' <<<"$human" || fail "human output lacks arc=fail: $human"

# dkimpy reaches the same verdicts
while read -r file verdict; do
    name=$(basename "$file")
    want=$(jq -r '.results[0].arc.result' < <("$bin" dkim verify --json --resolver "$resolver" --trust-anchor "$anchor" "$file"))
    [[ $verdict == "$want" ]] || fail "$name: dkimpy says arc=$verdict, mailsec $want"
done < <("$py" "$here/dkimpy-arc.py" verify "$resolver" "$work"/*.eml)

# the same verdicts whichever way the bytes arrive
if "$chunked" "$resolver" "$anchor" "$work"/*.eml "$data"/signed/*.eml >"$work/chunked.out"; then
    echo "ok - chunked: $(wc -l <"$work/chunked.out") messages, the same verdicts five ways"
else
    cat "$work/chunked.out"
    fail "chunked: verdicts differ"
fi
grep -q 'two-hops.eml 1 signature(s): pass/ok; arc=pass i=2' "$work/chunked.out" || fail "chunked output: $(cat "$work/chunked.out")"

((failures == 0)) || { echo "$failures failure(s)"; exit 1; }
echo "all ARC cases passed"
