#!/usr/bin/env bash
# Makes a test CA and certificates with openssl, for the cert and tls tests.
#
#   make-test-ca.sh OUTDIR
#
# Everything is written to OUTDIR (created if missing). Validity dates are
# fixed, so tests that move the clock (mailsec cert lint --at DATE) get the
# same answers on every run, and the good certificates are valid now:
#
#   root.pem root.key                 "mailsec Test Root", self-signed CA, RSA 2048,
#                                     2020-01-01 .. 2050-01-01
#   intermediate.pem intermediate.key "mailsec Test Intermediate", CA signed by root,
#                                     2020-01-01 .. 2050-01-01
#   leaf-rsa.pem leaf-rsa.key         mail.example.test, RSA 2048, by the intermediate
#   leaf-ecdsa.pem leaf-ecdsa.key     mail.example.test, ECDSA P-256, by the intermediate
#       (both name DNS:mail.example.test, DNS:localhost, IP:127.0.0.1;
#        valid 2025-01-01 .. 2045-01-01)
#   leaf-expired.pem/.key             mail.example.test, valid 2020-01-01 .. 2021-01-01
#   leaf-future.pem/.key              mail.example.test, valid 2090-01-01 .. 2091-01-01
#   leaf-wronghost.pem/.key           other.example.test only
#   leaf-sha1.pem/.key                mail.example.test, signed with SHA-1
#   leaf-weak.pem/.key                mail.example.test, RSA 1024
#   leaf-client.pem/.key              mail.example.test, for TLS clients only (EKU clientAuth)
#   selfsigned.pem selfsigned.key     mail.example.test, self-signed, not a CA
#   other-root.pem/.key, unrelated.pem/.key
#                                     another CA and a leaf (www.unrelated.test) it issued
#   chain.pem                         intermediate (what CAs ship as the chain)
#   fullchain.pem                     leaf-rsa + intermediate (the right order)
#   fullchain-ecdsa.pem               leaf-ecdsa + intermediate
#   wrong-order.pem                   intermediate + leaf-rsa
#   with-root.pem                     leaf-rsa + intermediate + root
#
# Keys are mode 0600. Needs openssl (1.1 or 3).
set -euo pipefail

OUT=${1:?usage: make-test-ca.sh OUTDIR}
mkdir -p "$OUT"
cd "$OUT"
umask 077

LEAF_NAMES="DNS:mail.example.test,DNS:localhost,IP:127.0.0.1"

# One minimal `openssl ca` configuration per CA: the CA command is the only
# one of openssl 3.0 that takes explicit start and end dates.
ca_config() { # NAME
    mkdir -p "ca-$1"
    : >"ca-$1/index.txt"
    [[ -f ca-$1/serial ]] || echo 1000 >"ca-$1/serial"
    cat >"ca-$1/ca.cnf" <<CNF
[ ca ]
default_ca = this
[ this ]
dir = ca-$1
database = \$dir/index.txt
serial = \$dir/serial
new_certs_dir = \$dir
certificate = $1.pem
private_key = $1.key
policy = anything
unique_subject = no
copy_extensions = none
[ anything ]
commonName = supplied
organizationName = optional
[ ca_ext ]
basicConstraints = critical, CA:true
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[ client_ext ]
basicConstraints = critical, CA:false
keyUsage = critical, digitalSignature
extendedKeyUsage = clientAuth
subjectAltName = \$ENV::SAN
[ leaf_ext ]
basicConstraints = critical, CA:false
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
subjectAltName = \$ENV::SAN
CNF
}

new_key() { # FILE TYPE
    case $2 in
    rsa) openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$1" 2>/dev/null ;;
    rsa1024) openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:1024 -out "$1" 2>/dev/null ;;
    ec) openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null ;;
    esac
}

# sign CA NAME SUBJECT-CN EXT START END MD [SAN]
sign() {
    local ca=$1 name=$2 cn=$3 ext=$4 start=$5 end=$6 md=$7 san=${8:-DNS:unused.test}
    openssl req -new -key "$name.key" -subj "/O=mailsec tests/CN=$cn" -out "$name.csr" 2>/dev/null
    SAN=$san openssl ca -batch -notext -config "ca-$ca/ca.cnf" -extensions "$ext" -md "$md" \
        -startdate "$start" -enddate "$end" -in "$name.csr" -out "$name.pem" 2>/dev/null
    rm -f "$name.csr"
}

self_sign_ca() { # NAME CN
    new_key "$1.key" rsa
    ca_config "$1"
    openssl req -new -key "$1.key" -subj "/O=mailsec tests/CN=$2" -out "$1.csr" 2>/dev/null
    SAN=DNS:unused.test openssl ca -batch -notext -selfsign -keyfile "$1.key" -config "ca-$1/ca.cnf" \
        -extensions ca_ext -md sha256 -startdate 20200101000000Z -enddate 20500101000000Z \
        -in "$1.csr" -out "$1.pem" 2>/dev/null
    rm -f "$1.csr"
}

self_sign_ca root "mailsec Test Root"
self_sign_ca other-root "mailsec Other Root"

new_key intermediate.key rsa
sign root intermediate "mailsec Test Intermediate" ca_ext 20200101000000Z 20500101000000Z sha256
ca_config intermediate

GOOD_FROM=20250101000000Z GOOD_TO=20450101000000Z
leaf() { # NAME KEYTYPE START END MD SAN [CN]
    new_key "$1.key" "$2"
    sign intermediate "$1" "${7:-mail.example.test}" leaf_ext "$3" "$4" "$5" "$6"
}
leaf leaf-rsa rsa $GOOD_FROM $GOOD_TO sha256 "$LEAF_NAMES"
leaf leaf-ecdsa ec $GOOD_FROM $GOOD_TO sha256 "$LEAF_NAMES"
leaf leaf-expired ec 20200101000000Z 20210101000000Z sha256 "$LEAF_NAMES"
leaf leaf-future ec 20900101000000Z 20910101000000Z sha256 "$LEAF_NAMES"
leaf leaf-wronghost ec $GOOD_FROM $GOOD_TO sha256 "DNS:other.example.test" other.example.test
leaf leaf-sha1 rsa $GOOD_FROM $GOOD_TO sha1 "$LEAF_NAMES"
leaf leaf-weak rsa1024 $GOOD_FROM $GOOD_TO sha256 "$LEAF_NAMES"
new_key leaf-client.key ec
sign intermediate leaf-client mail.example.test client_ext $GOOD_FROM $GOOD_TO sha256 "$LEAF_NAMES"

new_key unrelated.key ec
sign other-root unrelated www.unrelated.test leaf_ext $GOOD_FROM $GOOD_TO sha256 "DNS:www.unrelated.test"

# A self-signed leaf: an end-entity certificate that is its own issuer.
new_key selfsigned.key ec
ca_config selfsigned
openssl req -new -key selfsigned.key -subj "/O=mailsec tests/CN=mail.example.test" -out selfsigned.csr 2>/dev/null
SAN=$LEAF_NAMES openssl ca -batch -notext -selfsign -keyfile selfsigned.key -config ca-selfsigned/ca.cnf \
    -extensions leaf_ext -md sha256 -startdate $GOOD_FROM -enddate $GOOD_TO \
    -in selfsigned.csr -out selfsigned.pem 2>/dev/null
rm -f selfsigned.csr

cp intermediate.pem chain.pem
cat leaf-rsa.pem intermediate.pem >fullchain.pem
cat leaf-ecdsa.pem intermediate.pem >fullchain-ecdsa.pem
cat intermediate.pem leaf-rsa.pem >wrong-order.pem
cat leaf-rsa.pem intermediate.pem root.pem >with-root.pem

chmod 0644 ./*.pem
chmod 0600 ./*.key
rm -rf ca-root ca-other-root ca-intermediate ca-selfsigned
