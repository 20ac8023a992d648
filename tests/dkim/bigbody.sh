#!/usr/bin/env bash
# bigbody.sh MAILSEC SOURCE_DIR: a 200 MB message verifies in bounded memory.
#
# `mailsec dkim verify FILE` reads the file in chunks and hashes the body as
# it streams, so a message far larger than any buffer verifies with a small,
# fixed peak of resident memory. The message is signed at test time by
# OpenDKIM's opendkim-testmsg (a C signer: it signs 200 MB in seconds;
# rsa-sha1 only, hence --allow-sha1) with the test-only key the DNS test bed
# publishes; the verdict must be pass and the peak under DKIM_BIG_MAX_RSS_MB
# (64, a third of the message), measured by tests/mailbed/bounded.sh.
set -uo pipefail
bin=$1 src=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
. "$(dirname "${BASH_SOURCE[0]}")/../lib/dnsbed.sh"
command -v /usr/sbin/opendkim-testmsg >/dev/null || { echo "FAIL - opendkim-testmsg is not installed (scripts/deps.txt)"; exit 1; }

# the header of a test message, then 200 MB of text lines (trailing spaces
# included, so canonicalization has work to do)
/usr/bin/python3 - "$src/tests/data/dkim/messages/plain.eml" "$work/big.eml" <<'PY'
import sys
head = open(sys.argv[1], 'rb').read().split(b'\n\n', 1)[0]
line = b'The quick brown fox jumps over the lazy dog;  the figures follow.  \n'
with open(sys.argv[2], 'wb') as f:
    f.write(head + b'\n\n')
    block = line * 10000
    for _ in range((200 << 20) // len(block) + 1):
        f.write(block)
PY
/usr/sbin/opendkim-testmsg -C -d dkimtest.example -s rsa2048 -k "$src/tests/data/dkim/keys/rsa2048.pem" \
    <"$work/big.eml" >"$work/signed.eml" || { echo "FAIL - opendkim-testmsg could not sign"; exit 1; }
size=$(stat -c %s "$work/signed.eml")
((size > 200 * 1024 * 1024)) || { echo "FAIL - the signed message is only $size bytes"; exit 1; }

out=$(MAILBED_BOUNDED=$bin MAILBED_MAX_RSS_MB=${DKIM_BIG_MAX_RSS_MB:-64} MAILBED_MAX_SECONDS=600 \
    bash "$src/tests/mailbed/bounded.sh" dkim verify --json --allow-sha1 \
    --resolver "$resolver" --trust-anchor "$anchor" "$work/signed.eml")
rc=$?
((rc == 0)) || { echo "FAIL - dkim verify exited $rc (125: over the memory bound)"; exit 1; }
[[ -n $out ]] && jq -e '.results[0].signatures[0].result == "pass"' <<<"$out" >/dev/null ||
    { echo "FAIL - the 200 MB message does not verify: $out"; exit 1; }
echo "ok - a $((size >> 20)) MB message verified (pass) within ${DKIM_BIG_MAX_RSS_MB:-64} MB of memory"
