#!/usr/bin/env bash
# Damages files of a test CA the ways people damage them, for the cert
# lint and bundle tests.
#
#   make-lint-cases.sh CADIR      (CADIR made by make-test-ca.sh)
#
# Writes CADIR/lint/, one file per mistake (line numbers in the comments
# are what `mailsec cert lint` must report):
#   trailing.pem      fullchain.pem, spaces at the end of line 3
#   crlf.pem          fullchain.pem with CRLF line ends
#   blank-between.pem leaf, two blank lines, intermediate
#   blank-inside.pem  a blank line inserted before line 5 (OpenSSL rejects the block;
#                     the rest decodes: repairable)
#   blank-lost.pem    blank-inside.pem with line 7 removed as well (not repairable)
#   blank-inside.key  leaf-rsa.key with a blank line before line 3 (repairable)
#   trailing-many.pem fullchain.pem, spaces at the end of lines 3, 4 and 9 to 27
#   expiring.pem      a leaf for mail.example.test (key leaf-rsa.key) that expires
#                     5 days after this script ran, and the intermediate
#   indented.pem      two spaces before the first BEGIN line (OpenSSL skips the block)
#   stray.pem         "Bag Attributes" lines (as `openssl pkcs12` writes) before the leaf
#   unbalanced.pem    the leaf's END line removed
#   badchar.pem       a "*" in line 4
#   split.pem         line 3 broken after 20 characters
#   truncated.pem     line 5 of the leaf removed (the base64 no longer decodes)
#   params.pem        EC PARAMETERS before fullchain-ecdsa.pem
#   leaf.der          the leaf in DER, not PEM
#   key-public.pem    fullchain.pem and its key, mode 0644
#   combined.pem      fullchain.pem and its key, mode 0600
#   readable.key      leaf-rsa.key, mode 0644
#   encrypted.key     leaf-rsa.key encrypted (AES-128, passphrase "test")
#   nokey.key         a certificate where a key should be
set -euo pipefail

CA=${1:?usage: make-lint-cases.sh CADIR}
L=$CA/lint
mkdir -p "$L"
cd "$CA"

sed '3s/$/   /' fullchain.pem >"$L/trailing.pem"
sed 's/$/\r/' fullchain.pem >"$L/crlf.pem"
{ cat leaf-rsa.pem; printf '\n\n'; cat intermediate.pem; } >"$L/blank-between.pem"
sed '5i\\' fullchain.pem >"$L/blank-inside.pem"
sed '7d' "$L/blank-inside.pem" >"$L/blank-lost.pem"
sed '3i\\' leaf-rsa.key >"$L/blank-inside.key"
sed -e '3,4s/$/ /' -e '9,27s/$/  /' fullchain.pem >"$L/trailing-many.pem"
sed '1s/^/  /' fullchain.pem >"$L/indented.pem"
{ printf 'Bag Attributes\n    localKeyID: 01 00 00 00\nsubject=CN = mail.example.test\n'; cat fullchain.pem; } >"$L/stray.pem"
awk 'BEGIN { n = 0 } /^-----END/ && n++ == 0 { next } { print }' fullchain.pem >"$L/unbalanced.pem"
sed '4s/^\(.\{10\}\)./\1*/' fullchain.pem >"$L/badchar.pem"
sed '3s/^\(.\{20\}\)/\1\n/' fullchain.pem >"$L/split.pem"
sed '5d' fullchain.pem >"$L/truncated.pem"
{ openssl ecparam -name prime256v1; cat fullchain-ecdsa.pem; } >"$L/params.pem"
openssl x509 -in leaf-rsa.pem -outform DER -out "$L/leaf.der"
cat fullchain.pem leaf-rsa.key >"$L/key-public.pem"
cat fullchain.pem leaf-rsa.key >"$L/combined.pem"
cp leaf-rsa.key "$L/readable.key"
openssl pkey -in leaf-rsa.key -aes128 -passout pass:test -out "$L/encrypted.key"
cp leaf-rsa.pem "$L/nokey.key"

# A leaf about to expire: dates relative to now (openssl x509 -days), unlike
# the test CA's fixed ones.
openssl req -new -key leaf-rsa.key -subj "/O=mailsec tests/CN=mail.example.test" -out "$L/expiring.csr" 2>/dev/null
printf '%s\n' 'basicConstraints = critical, CA:false' 'keyUsage = critical, digitalSignature, keyEncipherment' \
    'extendedKeyUsage = serverAuth' 'subjectAltName = DNS:mail.example.test' >"$L/expiring.ext"
openssl x509 -req -in "$L/expiring.csr" -CA intermediate.pem -CAkey intermediate.key -set_serial 4242 \
    -days 5 -sha256 -extfile "$L/expiring.ext" -out "$L/expiring-leaf.pem" 2>/dev/null
cat "$L/expiring-leaf.pem" intermediate.pem >"$L/expiring.pem"
rm -f "$L/expiring.csr" "$L/expiring.ext" "$L/expiring-leaf.pem"

chmod 0644 "$L"/*
chmod 0600 "$L/combined.pem" "$L/encrypted.key" "$L/blank-inside.key"
