#!/usr/bin/env bash
# mailsec dmarc publish against the real Knot DNS of the knotbed fixture.
#
#   publish.sh MAILSEC_BINARY CASE
#
# Each case works on a name of its own in publish.example (zones/), so the
# cases run in any order. What the server holds is read with kdig straight
# from Knot; the zone's serial tells whether anything was written (so no
# other update may run meanwhile: CTest's knotbed-zone lock).
set -uo pipefail

BIN=$1
CASE=$2
source "$(dirname "${BASH_SOURCE[0]}")/../lib/testlib.sh"
source "$(dirname "${BASH_SOURCE[0]}")/../lib/knot.sh"
PORT=$(knot_val PORT) SERVER=$(knot_val SERVER) RESOLVER=$(knot_val RESOLVER)
TRUST_ANCHOR=$(knot_val TRUST_ANCHOR) KEY=$(knot_val KEY) KEY_LINE=$(knot_val KEY_LINE)
WRONG_KEY=$(knot_val WRONG_KEY)
DNS=(--resolver "$RESOLVER" --trust-anchor "$TRUST_ANCHOR" --timeout 10)
OLD='v=DMARC1; p=none; rua=mailto:dmarc@publish.example'
STEP='v=DMARC1; p=quarantine; pct=5; t=y; rua=mailto:dmarc@publish.example'

serial() { kdig @127.0.0.1 -p "$PORT" +short +timeout=2 +retry=1 SOA "${1:-publish.example}" | awk '{ print $3 }'; }

# run ARGS...: mailsec with stdout, stderr and the status kept.
run() {
    "$BIN" "$@" >"$WORK/out" 2>"$WORK/err" </dev/null
    status=$?
}

expect_status() {
    if [[ $status == "$1" ]]; then ok "exit status $1"; else fail "exit status $status, expected $1"; fi
}
expect_out() {
    if grep -qF -- "$1" "$WORK/out"; then ok "stdout says: $1"; else fail "stdout lacks: $1"; fi
}
expect_err() {
    if grep -qF -- "$1" "$WORK/err"; then ok "stderr says: $1"; else fail "stderr lacks: $1"; fi
}
# A jq condition on the JSON output; empty output is never true.
expect_jq() {
    if [[ -s $WORK/out ]] && jq -e "$1" "$WORK/out" >/dev/null 2>&1; then ok "jq: $1"; else fail "jq false: $1"; fi
}
expect_txt() {
    local got
    got=$(txt_at "$1")
    if [[ $got == "$2" ]]; then ok "Knot holds [$2] at $1"; else fail "Knot holds [$got] at $1, expected [$2]"; fi
}

# start_standin MODE: tests/knotbed/standin.py on a free port ($standin_port),
# stopped when the script ends.
start_standin() {
    /usr/bin/python3 tests/knotbed/standin.py "$WORK/standin.port" "$1" &
    standin_pid=$!
    trap 'kill $standin_pid 2>/dev/null; rm -rf "$WORK"' EXIT
    for ((i = 0; i < 50; i++)); do
        [[ -s $WORK/standin.port ]] && break
        sleep 0.1
    done
    standin_port=$(cat "$WORK/standin.port")
}

case $CASE in
step)
    # A step published from p=none; the update is TSIG-signed with the BIND
    # key file; Knot serves it; the resolver (through Knot, validating the
    # signed zone) confirms it.
    before=$(serial)
    run dmarc publish step.publish.example --record "$STEP" --server "$SERVER" --tsig-key "$KEY" "${DNS[@]}" --json
    expect_status 0
    expect_jq '.outcome == "applied" and .served == true and .zone == "publish.example"'
    expect_jq ".old == [\"$OLD\"] and .new == \"$STEP\" and .ttl == 3600"
    expect_jq '.name == "_dmarc.step.publish.example" and .result == "ok"'
    expect_txt _dmarc.step.publish.example "\"$STEP\""
    if (($(serial) > before)); then ok "the zone's serial grew"; else fail "the zone's serial did not grow"; fi
    # The checklist says what changed; publishing the same again changes nothing.
    run dmarc publish step.publish.example --record "$STEP" --server "$SERVER" --tsig-key "$KEY" "${DNS[@]}"
    expect_status 0
    expect_out "already published"
    expect_out "serves the new record"
    ;;
line-key)
    # The name:algorithm:secret form, an explicit --zone and --ttl, checklist output.
    run dmarc publish line.publish.example --record "$STEP" --server "$SERVER" --tsig-key "$KEY_LINE" \
        --zone publish.example --ttl 600 "${DNS[@]}"
    expect_status 0
    expect_out "DMARC record for line.publish.example: published"
    expect_out "old          $OLD"
    expect_out "new          $STEP"
    expect_out "applied the update to zone publish.example"
    ttl=$(kdig @127.0.0.1 -p "$PORT" +noall +answer TXT _dmarc.line.publish.example | awk '{ print $2 }')
    if [[ $ttl == 600 ]]; then ok "TTL 600"; else fail "TTL $ttl, expected 600"; fi
    ;;
fresh)
    # No record yet: the prerequisite is "no TXT RRset", and it holds.
    run dmarc publish fresh.publish.example --record "$OLD" --server "$SERVER" --tsig-key "$KEY" "${DNS[@]}" --json
    expect_status 0
    expect_jq '.outcome == "applied" and .old == [] and .served == true'
    expect_jq '.update | contains("prereq nxrrset _dmarc.fresh.publish.example. IN TXT")'
    expect_txt _dmarc.fresh.publish.example "\"$OLD\""
    ;;
split)
    # The old record is stored as two strings; the prerequisite names it as
    # stored (read from the primary), so the update applies.
    run dmarc publish split.publish.example --record "$STEP" --server "$SERVER" --tsig-key "$KEY" "${DNS[@]}" --json
    expect_status 0
    expect_jq '.outcome == "applied" and .old == ["v=DMARC1; p=none; rua=mailto:dmarc@publish.example"]'
    expect_txt _dmarc.split.publish.example "\"$STEP\""
    ;;
wrong-key)
    # The right key name with another secret: Knot answers NOTAUTH/BADSIG.
    before=$(serial)
    run dmarc publish wrongkey.publish.example --record "$STEP" --server "$SERVER" --tsig-key "$WRONG_KEY" "${DNS[@]}"
    expect_status 2
    expect_out "did not accept TSIG key mailsec-update (hmac-sha256): BADSIG: the secret is wrong"
    expect_txt _dmarc.wrongkey.publish.example "\"$OLD\""
    if [[ $(serial) == "$before" ]]; then ok "the zone is unchanged"; else fail "the zone changed"; fi
    ;;
refused)
    # readonly.example knows the key for transfers only: Knot answers
    # NOTAUTH with the TSIG error BADKEY. Exit 2, nothing changed.
    before=$(serial readonly.example)
    run dmarc publish readonly.example --record "$STEP" --server "$SERVER" --tsig-key "$KEY" "${DNS[@]}" --json
    expect_status 2
    expect_jq '.outcome == "bad-key" and .zone == "readonly.example" and .result == "unchecked"'
    expect_jq '.message | contains("does not allow it for this zone")'
    if [[ $(serial readonly.example) == "$before" ]]; then
        ok "readonly.example is unchanged"
    else
        fail "readonly.example changed"
    fi
    # A zone Knot does not serve: the read is REFUSED ...
    run dmarc publish x.elsewhere.example --zone elsewhere.example --record "$STEP" --server "$SERVER" --tsig-key "$KEY" "${DNS[@]}"
    expect_status 2
    expect_out "is not authoritative for _dmarc.x.elsewhere.example (REFUSED): give the zone's primary"
    # ... and the update, sent without reading (--expect-none), gets NOTAUTH.
    run dmarc publish x.elsewhere.example --zone elsewhere.example --expect-none --record "$STEP" --server "$SERVER" --tsig-key "$KEY" "${DNS[@]}"
    expect_status 2
    expect_out "answered NOTAUTH: it is not the primary of zone elsewhere.example"
    ;;
race)
    # mailsec read p=none (--expect), then someone else published p=reject:
    # the prerequisite fails at the primary and nothing is overwritten.
    other='v=DMARC1; p=reject; rua=mailto:dmarc@publish.example'
    if knot_set _dmarc.race.publish.example "$other"; then ok "the other record set with knsupdate"; else fail "$knot_error"; fi
    before=$(serial)
    run dmarc publish race.publish.example --record "$STEP" --expect "$OLD" --server "$SERVER" --tsig-key "$KEY" "${DNS[@]}" --json
    expect_status 1
    expect_jq '.outcome == "prerequisite-failed" and .result == "problems"'
    expect_jq '.message | contains("NXRRSET") and contains("nothing was changed")'
    expect_txt _dmarc.race.publish.example "\"$other\""
    if [[ $(serial) == "$before" ]]; then ok "the zone is unchanged"; else fail "the zone changed"; fi
    # The record it now holds, given as expected: the update applies.
    run dmarc publish race.publish.example --record "$STEP" --expect "$other" --server "$SERVER" --tsig-key "$KEY" "${DNS[@]}" --json
    expect_status 0
    expect_jq '.outcome == "applied"'
    expect_txt _dmarc.race.publish.example "\"$STEP\""
    ;;
race-none)
    # mailsec saw no record (--expect-none) but one exists now: YXRRSET.
    run dmarc publish racenone.publish.example --record "$STEP" --expect-none --server "$SERVER" --tsig-key "$KEY" "${DNS[@]}"
    expect_status 1
    expect_out "YXRRSET"
    expect_out "the record changed meanwhile"
    expect_txt _dmarc.racenone.publish.example "\"$OLD\""
    ;;
dry-run)
    # The update is printed as nsupdate commands and not sent.
    before=$(serial)
    run dmarc publish dryrun.publish.example --record "$STEP" --server "$SERVER" --tsig-key "$KEY" "${DNS[@]}" --dry-run
    expect_status 0
    expect_out "dry run, nothing sent"
    expect_out "zone publish.example."
    expect_out "prereq yxrrset _dmarc.dryrun.publish.example. IN TXT \"$OLD\""
    expect_out "update delete _dmarc.dryrun.publish.example. IN TXT"
    expect_out "update add _dmarc.dryrun.publish.example. 3600 IN TXT \"$STEP\""
    secret=$(sed -n 's/.*secret "\(.*\)".*/\1/p' "$KEY")
    if grep -qF -- "$secret" "$WORK/out"; then fail "the secret is printed"; else ok "the secret is not printed"; fi
    expect_txt _dmarc.dryrun.publish.example "\"$OLD\""
    if [[ $(serial) == "$before" ]]; then ok "the zone is unchanged"; else fail "the zone changed"; fi
    ;;
invalid)
    # A record receivers would not apply is refused before anything is sent.
    before=$(serial)
    run dmarc publish invalid.publish.example --record 'v=DMARC1; p=bogus' --server "$SERVER" --tsig-key "$KEY" "${DNS[@]}"
    expect_status 2
    expect_err "it is not a valid DMARC record"
    run dmarc publish invalid.publish.example --record 'p=reject; v=DMARC1' --server "$SERVER" --tsig-key "$KEY" "${DNS[@]}"
    expect_status 2
    expect_err "it is not a valid DMARC record"
    expect_txt _dmarc.invalid.publish.example "\"$OLD\""
    if [[ $(serial) == "$before" ]]; then ok "the zone is unchanged"; else fail "the zone changed"; fi
    ;;
no-answer)
    # Nobody listens on the primary's port: a bounded wait, exit 2, the
    # server named.
    port=$(bash -c '. tests/lib/servers.sh; while p=$(random_port); ! port_is_free $p; do :; done; echo $p')
    run dmarc publish same.publish.example --record "$STEP" --server "127.0.0.1:$port" --tsig-key "$KEY" "${DNS[@]}"
    expect_status 2
    expect_out "cannot connect to 127.0.0.1 port $port: Connection refused"
    ;;
unverified)
    # Applied, but the resolver does not answer (nobody on its port): the
    # record is published and not confirmed as served, exit 1.
    port=$(bash -c '. tests/lib/servers.sh; while p=$(random_port); ! port_is_free $p; do :; done; echo $p')
    run dmarc publish unverified.publish.example --zone publish.example --record "$STEP" --server "$SERVER" \
        --tsig-key "$KEY" --resolver "127.0.0.1@$port" --timeout 2
    expect_status 1
    expect_out "DMARC record for unverified.publish.example: published"
    expect_out "could not ask the resolver: no answer from 127.0.0.1@$port"
    expect_txt _dmarc.unverified.publish.example "\"$STEP\""
    ;;
unsigned-answer)
    # A server that answers NOERROR without the key's signature: not
    # reported as applied (exit 2), whatever it claims.
    start_standin unsigned
    run dmarc publish same.publish.example --zone publish.example --record "$STEP" --server "127.0.0.1:$standin_port" --tsig-key "$KEY" --timeout 10 --json
    expect_status 2
    expect_jq '.outcome == "failed" and .served == null'
    expect_jq '.message | contains("TSIG signature does not verify")'
    ;;
drip)
    # A server that drips its answer a byte a second is cut off at the
    # deadline (--timeout 2), not when it stops.
    start_standin drip
    start=$SECONDS
    # (timeout: a hang fails here, not at CTest's limit)
    timeout 30 "$BIN" dmarc publish same.publish.example --zone publish.example --expect-none --record "$STEP" \
        --server "127.0.0.1:$standin_port" --tsig-key "$KEY" --timeout 2 >"$WORK/out" 2>"$WORK/err" </dev/null
    status=$?
    expect_status 2
    expect_out "no answer from 127.0.0.1 port $standin_port within 2 s"
    if ((SECONDS - start <= 10)); then
        ok "took $((SECONDS - start)) s with --timeout 2"
    else
        fail "took $((SECONDS - start)) s with --timeout 2"
    fi
    ;;
usage)
    # Bad key files and options are usage errors (exit 2) that say what is wrong.
    printf 'key "k" { algorithm hmac-sha256; secret "not base64!"; };\n' >"$WORK/bad.key"
    run dmarc publish same.publish.example --record "$STEP" --server "$SERVER" --tsig-key "$WORK/bad.key"
    expect_status 2
    expect_err "line 1: the secret is not base64"
    run dmarc publish same.publish.example --record "$STEP" --server "$SERVER" --tsig-key "$WORK/missing.key"
    expect_status 2
    expect_err "missing.key: No such file or directory"
    run dmarc publish same.publish.example --record "$STEP" --server "primary.example:53" --tsig-key "$KEY"
    expect_status 2
    expect_err "--server must be an address"
    run dmarc publish 'same publish"example' --record "$STEP" --server "$SERVER" --tsig-key "$KEY"
    expect_status 2
    expect_err "domain names in ASCII"
    run dmarc publish same.publish.example --record "$STEP" --tsig-key "$KEY"
    expect_status 2
    expect_err "needs --server"
    run dmarc publish same.publish.example --record "$STEP" --server "$SERVER" --tsig-key "$KEY" --expect "$OLD" --expect-none
    expect_status 2
    expect_err "not both"
    ;;
*)
    echo "publish.sh: unknown case $CASE" >&2
    exit 2
    ;;
esac

if ((failed > 0)); then
    echo "       stdout: $(head -c 3000 "$WORK/out")"
    echo "       stderr: $(head -c 1000 "$WORK/err")"
fi
finish "$CASE"
