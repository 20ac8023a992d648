#!/usr/bin/env bash
# The files `mailsec cert bundle` writes, checked with openssl, not with
# mailsec: for each format, from inputs given in a scrambled order,
#  - the blocks are in the format's order (key first for postfix-chain,
#    last for combined) and are exactly the leaf and the intermediate
#    (fingerprints compared with the test CA's own files), without the root;
#  - `openssl verify -CAfile root.pem -untrusted OUT OUT` passes;
#  - the key in the file is the leaf's (public keys compared);
#  - the PEM is normalised: lines of at most 64 characters, LF only, no
#    white space at line ends, no blank lines, even from damaged inputs;
#  - the mode is 0600 when the key is inside, whatever the umask, also when
#    the file existed before with mode 0644; 0644 otherwise;
#  - a refused bundle leaves an existing file untouched;
#  - replacing a file keeps its owner, group and mode (a key never keeps
#    access for everyone); a symlink is written through to its target,
#    except a dangling one or another user's in a sticky world-writable
#    directory; a full disk leaves the old file and no temporary file
#    (these need root: chown, mount).
#
#   bundle.sh MAILSEC [CADIR]     (CADIR: $MAILSEC_TEST_CA, or one is made)
set -uo pipefail

BIN=$1
SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
CA=${2:-${MAILSEC_TEST_CA:-}}
if [[ -z $CA || ! -f $CA/root.pem ]]; then
    CA=$WORK/ca
    bash "$SRC/make-test-ca.sh" "$CA" >/dev/null || { echo "FAIL - could not make the test CA"; exit 1; }
fi
[[ -d $CA/lint ]] || bash "$SRC/make-lint-cases.sh" "$CA" >/dev/null

passed=0 failed=0
ok() { echo "ok   - $*"; passed=$((passed + 1)); }
bad() { echo "FAIL - $*"; failed=$((failed + 1)); }

# The labels of a PEM file's blocks, in order, one per line.
labels() { sed -n 's/^-----BEGIN \(.*\)-----$/\1/p' "$1"; }

# SHA-256 fingerprints of the certificates of a file, in order.
fingerprints() {
    awk -v dir="$WORK/split" 'BEGIN { system("rm -rf " dir "; mkdir -p " dir) }
        /^-----BEGIN CERTIFICATE-----$/ { n++; f = sprintf("%s/%02d.pem", dir, n); on = 1 }
        on { print > f }
        /^-----END CERTIFICATE-----$/ { on = 0; close(f) }' "$1"
    for f in "$WORK"/split/*.pem; do
        [[ -e $f ]] && openssl x509 -in "$f" -noout -fingerprint -sha256
    done
}
fp() { openssl x509 -in "$1" -noout -fingerprint -sha256; }

normalised() { # FILE: 64 columns, LF, no trailing or blank lines
    ! grep -q $'\r' "$1" && ! grep -q '[[:space:]]$' "$1" && ! grep -q '^$' "$1" &&
        awk 'length($0) > 64 { bad = 1 } END { exit bad }' "$1"
}

mode() { stat -c %a "$1"; }

# check NAME FORMAT LEAF KEY EXPECTED-LABELS UMASK [PRE-EXISTING-MODE]
check() {
    local name=$1 format=$2 leaf=$3 key=$4 want_labels=$5 mask=$6 pre=${7:-}
    local out=$WORK/$name.pem
    if [[ -n $pre ]]; then
        echo "old content" >"$out"
        chmod "$pre" "$out"
    fi
    local keyarg=()
    [[ -n $key ]] && keyarg=(--key "$CA/$key")
    # scrambled: the root first, the leaf file's own copy of the chain too
    (umask "$mask" && "$BIN" cert bundle --ca "$CA/root.pem" --cert "$CA/$leaf" --ca "$CA/chain.pem" \
        "${keyarg[@]}" --format "$format" --out "$out" >"$WORK/out" 2>&1)
    local st=$?
    if ((st != 0)); then
        bad "$name: exit $st: $(cat "$WORK/out")"
        return
    fi
    local got
    got=$(labels "$out" | paste -sd' ')
    [[ $got == "$want_labels" ]] && ok "$name: blocks $got" || bad "$name: blocks [$got], expected [$want_labels]"

    local leaf_pem=${leaf/fullchain.pem/leaf-rsa.pem}
    local want_fp
    want_fp=$(printf '%s\n%s' "$(fp "$CA/$leaf_pem")" "$(fp "$CA/intermediate.pem")")
    [[ $(fingerprints "$out") == "$want_fp" ]] && ok "$name: the leaf, then the intermediate, no root" ||
        bad "$name: certificates are not leaf + intermediate"

    if openssl verify -CAfile "$CA/root.pem" -untrusted "$out" "$out" >/dev/null 2>&1; then
        ok "$name: openssl verify -untrusted passes"
    else
        bad "$name: openssl verify: $(openssl verify -CAfile "$CA/root.pem" -untrusted "$out" "$out" 2>&1)"
    fi
    normalised "$out" && ok "$name: normalised PEM" || bad "$name: not normalised"

    local want_mode=644
    if [[ $want_labels == *"PRIVATE KEY"* ]]; then
        want_mode=600
        if [[ $(openssl pkey -in "$out" -pubout 2>/dev/null) == "$(openssl x509 -in "$CA/$leaf_pem" -noout -pubkey)" ]]; then
            ok "$name: the key is the leaf's"
        else
            bad "$name: the key in the file is not the leaf's"
        fi
    fi
    [[ $(mode "$out") == "$want_mode" ]] && ok "$name: mode $want_mode (umask $mask${pre:+, was $pre})" ||
        bad "$name: mode $(mode "$out"), expected $want_mode"
}

C="CERTIFICATE CERTIFICATE"
check fullchain fullchain leaf-rsa.pem "" "$C" 022
check dovecot dovecot leaf-ecdsa.pem leaf-ecdsa.key "$C" 022
check postfix postfix-chain fullchain.pem leaf-rsa.key "PRIVATE KEY $C" 000
check postfix-replacing postfix-chain leaf-rsa.pem leaf-rsa.key "PRIVATE KEY $C" 000 644
check combined combined leaf-ecdsa.pem leaf-ecdsa.key "$C PRIVATE KEY" 077

# Damaged inputs (trailing spaces, CRLF) come out clean.
out=$WORK/from-damaged.pem
if "$BIN" cert bundle --cert "$CA/lint/trailing.pem" --ca "$CA/lint/crlf.pem" --ca "$CA/root.pem" --out "$out" >/dev/null 2>&1 &&
    normalised "$out" && [[ $(labels "$out" | wc -l) == 2 ]]; then
    ok "damaged inputs: normalised output"
else
    bad "damaged inputs: output missing or not normalised"
fi

# A refused bundle leaves the old file as it was.
echo "old content" >"$WORK/keep.pem"
"$BIN" cert bundle --cert "$CA/leaf-rsa.pem" --ca "$CA/chain.pem" --ca "$CA/root.pem" \
    --key "$CA/leaf-ecdsa.key" --format postfix-chain --out "$WORK/keep.pem" >/dev/null 2>&1
st=$?
if ((st == 2)) && [[ $(cat "$WORK/keep.pem") == "old content" ]] && [[ -z $(find "$WORK" -name 'keep.pem.*') ]]; then
    ok "refused: exit 2, the old file untouched, no temporary file left"
else
    bad "refused: exit $st, or the old file changed"
fi

# ---- replacing a file (as root: chown, mount) ----
if [[ $(id -u) != 0 ]]; then
    bad "the owner, group, symlink and full-disk cases need root"
fi
bundle_to() { # OUT FORMAT: exit status, stderr in $WORK/err
    local key=()
    [[ $2 != fullchain ]] && key=(--key "$CA/leaf-rsa.key")
    "$BIN" cert bundle --cert "$CA/leaf-rsa.pem" --ca "$CA/chain.pem" --ca "$CA/root.pem" "${key[@]}" --format "$2" \
        --out "$1" >/dev/null 2>"$WORK/err"
}
leftovers() { find "$@" -name '*.pem.*' | paste -sd' '; } # staging files, backups
owner_kept() { # NAME FORMAT OLD-MODE WANT-MODE
    local out=$WORK/owner-$1.pem
    echo "old content" >"$out"
    chown root:mail "$out"
    chmod "$3" "$out"
    (umask 077 && bundle_to "$out" "$2")
    local st=$?
    if ((st == 0)) && [[ $(stat -c '%U:%G %a' "$out") == "root:mail $4" ]] && [[ $(labels "$out" | wc -l) -ge 2 ]]; then
        ok "$1: replacing root:mail $3 gives root:mail $4"
    else
        bad "$1: exit $st, root:mail $3 became $(stat -c '%U:%G %a' "$out"): $(cat "$WORK/err")"
    fi
}
owner_kept key-for-a-group combined 640 640     # e.g. Exim reads its key through its group
owner_kept public-cert fullchain 664 664
owner_kept key-was-public postfix-chain 644 600 # everyone could read it: not the key

# A symlink is followed (certbot's live/ -> archive/): the link stays, its
# target is replaced; no backup of a key bundle is left around.
mkdir -p "$WORK/live" "$WORK/archive"
echo "old content" >"$WORK/archive/cert1.pem"
ln -s ../archive/cert1.pem "$WORK/live/fullchain.pem"
bundle_to "$WORK/live/fullchain.pem" fullchain
st=$?
if ((st == 0)) && [[ -L $WORK/live/fullchain.pem && $(labels "$WORK/archive/cert1.pem" | wc -l) == 2 ]] &&
    [[ -z $(leftovers "$WORK/live" "$WORK/archive") ]]; then
    ok "symlinked --out: the link stays, its target is written, nothing left next to it"
else
    bad "symlinked --out: exit $st, $(ls -l "$WORK/live/fullchain.pem"), left: $(leftovers "$WORK/live" "$WORK/archive"); $(cat "$WORK/err")"
fi
ln -s ../archive/none.pem "$WORK/live/dangling.pem"
bundle_to "$WORK/live/dangling.pem" fullchain
st=$?
if ((st == 2)) && grep -q 'which does not exist' "$WORK/err" && [[ ! -e $WORK/archive/none.pem && -L $WORK/live/dangling.pem ]]; then
    ok "a dangling symlink as --out: refused, saying so"
else
    bad "a dangling symlink as --out: exit $st: $(cat "$WORK/err")"
fi
# Not a regular file in the end (a FIFO; /dev/null would be replaced by a
# file by a tool that renames over it), and a loop of links: refused.
mkfifo "$WORK/fifo"
ln -s loop-b "$WORK/loop-a"
ln -s loop-a "$WORK/loop-b"
bundle_to "$WORK/fifo" fullchain
st=$?
bundle_to "$WORK/loop-a" fullchain
st2=$?
if ((st == 2 && st2 == 2)) && [[ -p $WORK/fifo && -L $WORK/loop-a ]] && grep -q 'more than 40 symlinks' "$WORK/err"; then
    ok "a FIFO and a loop of symlinks as --out: refused, left as they were"
else
    bad "FIFO: exit $st, loop: exit $st2, $(ls -l "$WORK/fifo" "$WORK/loop-a"): $(cat "$WORK/err")"
fi
# A link planted in a shared directory (/tmp) by another user is not followed.
mkdir -p "$WORK/shared"
chmod 1777 "$WORK/shared"
echo "not yours" >"$WORK/victim"
ln -s ../victim "$WORK/shared/out.pem"
chown -h nobody "$WORK/shared/out.pem"
bundle_to "$WORK/shared/out.pem" combined
st=$?
if ((st == 2)) && grep -q 'not followed' "$WORK/err" && [[ $(cat "$WORK/victim") == "not yours" && -L $WORK/shared/out.pem ]] &&
    [[ -z $(leftovers "$WORK/shared") ]]; then
    ok "another user's symlink in a sticky world-writable directory: not followed, refused"
else
    bad "planted symlink: exit $st, victim: $(cat "$WORK/victim" | head -1); $(cat "$WORK/err")"
fi

# A full disk: the old file stays, no temporary file is left.
mkdir -p "$WORK/mnt"
if mount -t tmpfs -o size=64k tmpfs "$WORK/mnt"; then
    trap 'umount "$WORK/mnt" 2>/dev/null; rm -rf "$WORK"' EXIT
    echo "old content" >"$WORK/mnt/full.pem"
    dd if=/dev/zero of="$WORK/mnt/filler" bs=4096 2>/dev/null
    bundle_to "$WORK/mnt/full.pem" combined
    st=$?
    if ((st == 2)) && grep -q 'No space left on device' "$WORK/err" && [[ $(cat "$WORK/mnt/full.pem") == "old content" ]] &&
        [[ -z $(leftovers "$WORK/mnt") ]]; then
        ok "disk full: exit 2, the old file as it was, no temporary file left"
    else
        bad "disk full: exit $st, $(head -1 "$WORK/mnt/full.pem"), left: $(leftovers "$WORK/mnt"); $(cat "$WORK/err")"
    fi
    umount "$WORK/mnt"
else
    bad "cannot mount a tmpfs"
fi

# What a client sees from a server given one postfix-chain file as key, cert
# and chain (as Postfix loads smtpd_tls_chain_files with OpenSSL): an
# openssl s_server on a loopback high port, and s_client verifying it.
# (-www: the server answers by itself instead of reading standard input.)
source "$SRC/../lib/servers.sh"
port=$(free_port)
openssl s_server -accept "127.0.0.1:$port" -cert "$WORK/postfix.pem" -key "$WORK/postfix.pem" \
    -cert_chain "$WORK/postfix.pem" -naccept 1 -www </dev/null >"$WORK/s_server.log" 2>&1 &
server=$!
trap 'kill "$server" 2>/dev/null; rm -rf "$WORK"' EXIT
for _ in $(seq 50); do grep -q ACCEPT "$WORK/s_server.log" && break; sleep 0.1; done
client=$(timeout 10 openssl s_client -connect "127.0.0.1:$port" -servername mail.example.test \
    -verify_hostname mail.example.test -CAfile "$CA/root.pem" -verify_return_error -showcerts </dev/null 2>&1)
if grep -q "Verify return code: 0 (ok)" <<<"$client" && [[ $(grep -c "BEGIN CERTIFICATE" <<<"$client") -ge 2 ]]; then
    ok "s_server with the postfix-chain file: s_client verifies leaf + intermediate"
else
    bad "s_server with the postfix-chain file: $(grep -c "BEGIN CERTIFICATE" <<<"$client") certificates; $(grep -E "Verify return|error" <<<"$client" | head -3); server: $(head -5 "$WORK/s_server.log")"
fi
kill "$server" 2>/dev/null
wait "$server" 2>/dev/null

echo "bundle.sh: $passed passed, $failed failed"
((failed == 0 && passed > 0))
