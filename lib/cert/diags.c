/* Every diagnostic the cert module can emit: the PEM scanner's, the chain
 * checker's (shared by `cert lint` and `tls check`) and the file checks of
 * `cert lint`. docs/diagnostics.md lists the same codes; tests/cli/cert-*.test
 * and tests/unit/cert produce each of them. */
#include "internal.h"

#define E MS_SEV_ERROR
#define W MS_SEV_WARNING
#define I MS_SEV_INFO

const ms_diag_def ms_cert_diag_defs[CT_COUNT + 1] = {
    [CT_PEM_NONE] = {"cert.pem-none", E, "The file holds no PEM block (\"-----BEGIN ...-----\").",
        "Mail servers read PEM. Convert a DER file with \"openssl x509 -inform der -in FILE -out FILE.pem\"."},
    [CT_PEM_WHITESPACE] = {"cert.pem-whitespace", W,
        "White space where PEM has none: at the start or end of a line, inside a base64 line, "
        "CRLF line ends, or blank lines between blocks.",
        "Rewrite the file with \"mailsec cert bundle\", or remove the white space; PEM is "
        "64-column base64 lines ending in LF, blocks back to back."},
    [CT_PEM_BLANK_LINE] = {"cert.pem-blank-line", E,
        "A blank line inside a PEM block: OpenSSL (and so Postfix and Dovecot) stops reading the "
        "block there and rejects it.",
        "Remove the blank line; the base64 lines of a block follow each other directly. When the "
        "rest of the block is intact (\"repairable\"), \"mailsec cert bundle\" writes the chain without it."},
    [CT_PEM_INDENTED] = {"cert.pem-indented", E,
        "A BEGIN line does not start at the first column: OpenSSL does not see the block at all.",
        "Remove the white space before \"-----BEGIN\"."},
    [CT_PEM_STRAY_TEXT] = {"cert.pem-stray-text", W,
        "Text outside any PEM block (often \"Bag Attributes\" or \"subject=\" lines, or a "
        "pasted comment).",
        "Remove it: servers skip it today, but it hides what the file holds and breaks stricter readers."},
    [CT_PEM_UNBALANCED] = {"cert.pem-unbalanced", E,
        "A BEGIN line without its END line (or the other way round, or with another label): "
        "the block is cut off or two blocks are run together.",
        "Each block is \"-----BEGIN LABEL-----\", base64 lines, \"-----END LABEL-----\" with the same LABEL; "
        "copy the block again from its source."},
    [CT_PEM_BAD_CHAR] = {"cert.pem-bad-char", E,
        "A character inside a PEM block that is not base64: the block does not decode.",
        "Copy the block again from its source; a mail client or editor may have changed it."},
    [CT_PEM_LINE_LENGTH] = {"cert.pem-line-length", W,
        "A base64 line that is not 64 characters long before the block's last line: a line was "
        "broken in two or lines were joined.",
        "Normalise the file with \"mailsec cert bundle\" (or \"openssl x509 -in FILE -out FILE\")."},
    [CT_PEM_DECODE] = {"cert.pem-decode", E,
        "A PEM block does not decode: the base64 is cut short, or what it holds is not the "
        "certificate or key its label says.",
        "Copy the block again from its source; characters are missing or the wrong file was pasted."},
    [CT_PEM_OTHER_BLOCK] = {"cert.pem-other-block", I,
        "A PEM block that is neither a certificate nor a private key (parameters, a request, a CRL); "
        "servers skip it.",
        NULL},
    [CT_NO_CERTIFICATE] = {"cert.no-certificate", E, "There is no certificate to check.",
        "Give the file with the server's certificate."},
    [CT_DUPLICATE] = {"cert.duplicate", W, "The same certificate appears twice in the chain.",
        "Keep one copy: the leaf first, then each intermediate once."},
    [CT_CHAIN_ORDER] = {"cert.chain-order", E,
        "The chain is out of order: RFC 5246 7.4.2 wants the leaf first and each certificate "
        "followed by the one that issued it; many clients give up otherwise.",
        "Reorder it (\"mailsec cert bundle\" does): leaf, then its issuer, then that one's issuer."},
    [CT_UNRELATED] = {"cert.unrelated", W,
        "A certificate in the chain is not part of the path from the leaf to its root.",
        "Remove it; it is a leftover from an older chain or another site."},
    [CT_ROOT_INCLUDED] = {"cert.root-included", W,
        "The chain includes the self-signed root: clients use their own copy, so sending it only "
        "costs bytes (RFC 5246 7.4.2 allows leaving it out).",
        "Leave the root out of the chain file (\"mailsec cert bundle\" does)."},
    [CT_INTERMEDIATE_MISSING] = {"cert.intermediate-missing", E,
        "The leaf's issuer is neither in the chain nor a trusted root: an intermediate "
        "certificate is missing, and clients that do not fetch it fail.",
        "Add the intermediate your CA provides (often \"chain.pem\" or \"ca-bundle\") after the leaf."},
    [CT_UNTRUSTED] = {"cert.untrusted", E,
        "The chain does not end at a trusted root: the last certificate's issuer is not in the "
        "trust store (another intermediate may be missing, or the CA is private).",
        "Add the missing intermediate, or use a certificate from a public CA; for a private CA "
        "check with --ca ROOT.pem."},
    [CT_SELF_SIGNED] = {"cert.self-signed", E,
        "The certificate is self-signed and not trusted: clients that verify refuse it, and "
        "DANE-TA/PKIX cannot work.",
        "Use a certificate from a CA (Let's Encrypt is free), or publish a DANE-EE TLSA record for it."},
    [CT_VERIFY_FAILED] = {"cert.verify-failed", E,
        "The chain does not verify (a signature is wrong, a CA certificate is not a CA, or the "
        "leaf is not for TLS servers).",
        "Get the right chain from your CA; the message says which check failed."},
    [CT_EXPIRED] = {"cert.expired", E, "A certificate in the chain has expired.",
        "Renew it and reload the server (postfix reload, doveadm reload)."},
    [CT_NOT_YET_VALID] = {"cert.not-yet-valid", E,
        "A certificate in the chain is not valid yet (its notBefore is in the future).",
        "Check the server's clock, or wait; reinstall the previous certificate meanwhile."},
    [CT_EXPIRING] = {"cert.expiring", W,
        "A certificate in the chain expires soon (fewer days left than the warning threshold, "
        "21 by default).",
        "Renew it now; check that automatic renewal (certbot, acme.sh) works and reloads the servers."},
    [CT_HOST_MISMATCH] = {"cert.host-mismatch", E,
        "The certificate does not cover the host name (RFC 6125: subjectAltName DNS names, "
        "wildcards one label deep).",
        "Get a certificate whose subjectAltName lists this name (the MX host name for port 25)."},
    [CT_KEY_WEAK] = {"cert.key-weak", E,
        "A certificate's public key is too small: RSA or DSA under 2048 bits, or EC under 256 bits.",
        "Get a new certificate with an RSA 2048+ or an ECDSA P-256+ key."},
    [CT_SIGNATURE_WEAK] = {"cert.signature-weak", E,
        "A certificate is signed with SHA-1 or MD5, which current clients reject.",
        "Get the certificate reissued with a SHA-256 signature."},
    [CT_KEY_MISMATCH] = {"cert.key-mismatch", E,
        "The private key does not belong to the certificate: the server cannot start TLS with them.",
        "Use the key you generated the certificate request with, or get the certificate reissued "
        "for this key."},
    [CT_KEY_READABLE] = {"cert.key-readable", E,
        "The private key file is readable by other users (file mode).",
        "chmod 600 the file (owned by root; Postfix and Dovecot read keys as root)."},
    [CT_KEY_IN_PUBLIC_FILE] = {"cert.key-in-public-file", E,
        "A file meant to be public (readable by others) holds a private key next to the "
        "certificates.",
        "Move the key to its own file with mode 600, or chmod 600 this file if it is a combined "
        "cert+key file on purpose; then get a new key and certificate, the key may have leaked."},
    [CT_KEY_BUNDLED] = {"cert.key-bundled", I,
        "The file holds the private key and the certificates, and only its owner can read it "
        "(a Postfix chain file or a combined file).",
        NULL},
    [CT_KEY_NONE] = {"cert.key-none", E, "The key file holds no private key.",
        "Give the file with the \"-----BEGIN PRIVATE KEY-----\" block."},
    [CT_COUNT] = {NULL, 0, NULL, NULL},
};
