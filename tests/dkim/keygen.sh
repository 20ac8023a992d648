#!/usr/bin/env bash
# keygen.sh MAILSEC SOURCE_DIR: `mailsec dkim keygen` makes keys that are
# what it says: the private key file is mode 0600 from its creation (strace
# shows the open and no chmod after it), an existing file or symlink is never
# overwritten, the record's p= is the key's public half as openssl derives
# it, the zone line's strings are at most 255 bytes and join to the record,
# the record lints clean, and the key signs.
set -uo pipefail
bin=$1 src=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work" || exit 1
for tool in openssl jq; do
    command -v "$tool" >/dev/null || { echo "FAIL - $tool is not installed"; exit 1; }
done

passed=0 failed=0
pass() { passed=$((passed + 1)); echo "ok - $1"; }
fail() { failed=$((failed + 1)); echo "FAIL - $1"; }
is() { if [[ $2 == "$3" ]]; then pass "$1"; else fail "$1: got '$2', expected '$3'"; fi; }

# keygen NAME ARGS...: the JSON document in NAME.json
keygen() {
    local name=$1
    shift
    "$bin" dkim keygen --json --domain example.com "$@" >"$name.json" 2>"$name.err"
}

# p= as openssl sees the key: base64 of the DER SubjectPublicKeyInfo (RSA),
# of the raw 32 bytes (Ed25519: the last 32 bytes of the DER)
openssl_p() {
    if [[ $2 == ed25519 ]]; then
        openssl pkey -in "$1" -pubout -outform DER | tail -c 32 | base64 -w0
    else
        openssl pkey -in "$1" -pubout -outform DER | base64 -w0
    fi
}

# the zone line's quoted strings: each at most 255 bytes, joined = the record
check_zone_line() {
    local name=$1 line record
    line=$(jq -r .zone_line "$name.json")
    record=$(jq -r .record "$name.json")
    [[ $line == *"._domainkey.example.com. "*" IN TXT \""* ]] || fail "$name: zone line owner: $line"
    local strings longest joined
    strings=$(grep -oE '"[^"]*"' <<<"$line" | tr -d '"')
    longest=$(awk '{ if (length($0) > m) m = length($0) } END { print m + 0 }' <<<"$strings")
    joined=$(tr -d '\n' <<<"$strings")
    ((longest <= 255)) && pass "$name: zone line strings of at most 255 bytes ($longest)" ||
        fail "$name: a zone line string of $longest bytes"
    is "$name: zone line strings join to the record" "$joined" "$record"
}

# 1. RSA, the default size, under umask 000: still 0600, opened so
umask 000
if command -v strace >/dev/null; then
    # LeakSanitizer cannot run under a tracer: leaks are checked by the other runs
    ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0 strace -f -o trace.txt -e trace=open,openat,chmod,fchmod,fchmodat "$bin" dkim keygen --json \
        --domain example.com --selector s1 --out rsa.pem >rsa.json 2>rsa.err
    rc=$?
    grep -qE 'openat\(.*"rsa.pem", O_WRONLY\|O_CREAT\|O_EXCL\|O_NOFOLLOW\|O_CLOEXEC, 0600\)' trace.txt &&
        pass "the key file is created O_EXCL|O_NOFOLLOW with mode 0600" ||
        fail "the key file's open: $(grep rsa.pem trace.txt)"
    grep -qE 'chmod' trace.txt && fail "a chmod after creation: $(grep chmod trace.txt)" ||
        pass "no chmod after creation"
else
    echo "skip - strace is not installed (scripts/deps.txt): the open is not watched"
    keygen rsa --selector s1 --out rsa.pem
    rc=$?
fi
umask 022
is "RSA key: exit status" "$rc" 0
is "RSA key: file mode under umask 000" "$(stat -c %a rsa.pem)" 600
is "RSA key: 2048 bits by default" "$(jq .bits rsa.json)" 2048
openssl pkey -in rsa.pem -noout -text | grep -q 'Private-Key: (2048 bit' &&
    pass "RSA key: openssl reads a 2048-bit private key" || fail "RSA key: openssl does not read it"
is "RSA key: p= is the public half" "$(jq -r .record rsa.json)" "v=DKIM1; k=rsa; p=$(openssl_p rsa.pem rsa)"
check_zone_line rsa

# 2. never overwrite: not a key, not a symlink's target
before=$(sha256sum rsa.pem)
keygen again --selector s1 --out rsa.pem
is "an existing file: exit status" "$?" 2
grep -q "refusing to overwrite" again.err && pass "an existing file: refused, said why" || fail "an existing file: $(cat again.err)"
is "an existing file: unchanged" "$(sha256sum rsa.pem)" "$before"
ln -s "$work/elsewhere.pem" link.pem
keygen link --selector s1 --out link.pem
is "a dangling symlink: exit status" "$?" 2
[[ ! -e elsewhere.pem ]] && pass "a dangling symlink: nothing created where it points" || fail "a symlink was followed"

# 3. Ed25519, and a large RSA key whose record needs two strings
keygen ed --selector s2 --type ed25519 --out ed.pem
is "Ed25519 key: exit status" "$?" 0
is "Ed25519 key: p= is the raw public key" "$(jq -r .record ed.json)" "v=DKIM1; k=ed25519; p=$(openssl_p ed.pem ed25519)"
check_zone_line ed
keygen big --selector s3 --bits 4096 --out big.pem --ttl 300
is "RSA 4096: bits" "$(jq .bits big.json)" 4096
jq -r .zone_line big.json | grep -q '^s3._domainkey.example.com. 300 IN TXT "' && pass "--ttl in the zone line" || fail "--ttl"
check_zone_line big
[[ $(jq -r .zone_line big.json | grep -oE '"[^"]*"' | wc -l) -ge 2 ]] && pass "RSA 4096: the record spans several strings" ||
    fail "RSA 4096: one string"

# 4. the records lint clean, and the keys sign
for k in rsa ed big; do
    record=$(jq -r .record "$k.json")
    n=$("$bin" dkim check --json --record "$record" | jq '.results[0].diagnostics | length')
    is "$k: dkim check --record finds nothing" "$n" 0
done
printf 'From: a@example.com\nSubject: hi\n\nbody\n' >msg.eml
"$bin" dkim sign -d example.com -s s1 -k rsa.pem -s s2 -k ed.pem msg.eml | grep -c '^DKIM-Signature:' |
    grep -qx 2 && pass "the new keys sign" || fail "the new keys do not sign"

# 5. what is refused
"$bin" dkim keygen --domain example.com --selector s4 --bits 512 --out small.pem 2>small.err
is "--bits 512: exit status" "$?" 2
grep -q "under 1024 bits" small.err && [[ ! -e small.pem ]] && pass "--bits 512: refused, no file" || fail "--bits 512: $(cat small.err)"
"$bin" dkim keygen --domain example.com --selector s4 --type ed25519 --bits 2048 --out e2.pem 2>e2.err
is "--type ed25519 --bits: exit status" "$?" 2
"$bin" dkim keygen --domain 'bad domain' --selector s4 --out bad.pem 2>bad.err
is "an invalid domain: exit status" "$?" 2
[[ ! -e bad.pem ]] && pass "an invalid domain: no key file left" || fail "an invalid domain left a key file"

echo "$passed passed, $failed failed"
((failed == 0))
