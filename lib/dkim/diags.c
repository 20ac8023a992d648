/* Every diagnostic the DKIM module can emit. docs/diagnostics.md lists the
 * same codes with an example each, and tests/data/dkim/ and tests/cli/dkim*.test
 * produce each of them. */
#include "internal.h"

#define E MS_SEV_ERROR
#define W MS_SEV_WARNING
#define I MS_SEV_INFO

const ms_diag_def ms_dkim_diag_defs[DK_COUNT + 1] = {
    [DK_KEY_EMPTY] = {"dkim.key-empty", E, "The key record is empty.",
        "Publish \"v=DKIM1; k=rsa; p=BASE64KEY\" (or k=ed25519) at SELECTOR._domainkey.DOMAIN."},
    [DK_KEY_SYNTAX] = {"dkim.key-syntax", E,
        "Part of the key record is not a tag=value pair (RFC 6376 3.2); verifiers may reject "
        "the whole record.",
        "Write each tag as name=value, separated by \";\"; tag names are a letter followed by "
        "letters, digits or \"_\"."},
    [DK_KEY_DUPLICATE_TAG] = {"dkim.key-duplicate-tag", E,
        "A tag appears twice in the key record; RFC 6376 3.2 makes the whole record invalid.",
        "Keep one occurrence of each tag."},
    [DK_KEY_VERSION_INVALID] = {"dkim.key-version-invalid", E,
        "The v= tag is not \"DKIM1\"; verifiers discard the record.",
        "Write \"v=DKIM1\" or leave the tag out."},
    [DK_KEY_VERSION_NOT_FIRST] = {"dkim.key-version-not-first", E,
        "v= is present but not the first tag; RFC 6376 3.6.1 requires it first and verifiers "
        "may discard the record.",
        "Move \"v=DKIM1\" to the start of the record."},
    [DK_KEY_TYPE_UNKNOWN] = {"dkim.key-type-unknown", E,
        "The k= key type is neither rsa nor ed25519; verifiers cannot use the key.",
        "Use k=rsa (or omit k=) for RSA keys and k=ed25519 for Ed25519 keys (RFC 8463)."},
    [DK_KEY_P_MISSING] = {"dkim.key-p-missing", E,
        "The record has no p= tag, so there is no public key; signatures with this selector "
        "cannot verify.",
        "Publish the public key in p= (base64 of the SubjectPublicKeyInfo for RSA, of the raw "
        "32-byte key for Ed25519)."},
    [DK_KEY_REVOKED] = {"dkim.key-revoked", W,
        "p= is empty: the key is revoked and every signature made with this selector fails.",
        "Fine for a retired selector; if mail is still signed with it, publish the key again."},
    [DK_KEY_BASE64_INVALID] = {"dkim.key-base64-invalid", E,
        "p= is not valid base64; verifiers cannot decode the key.",
        "Copy the key again from the signer's configuration; only A-Z a-z 0-9 + / and \"=\" "
        "padding, white space allowed between."},
    [DK_KEY_NOT_A_KEY] = {"dkim.key-not-a-key", E,
        "p= decodes, but not to a public key of the record's type.",
        "For RSA publish the DER SubjectPublicKeyInfo (openssl rsa -pubout), for Ed25519 the "
        "raw 32-byte key; check that k= matches the key."},
    [DK_KEY_TYPE_MISMATCH] = {"dkim.key-type-mismatch", E,
        "k= says one key type but p= holds a key of another.",
        "Set k= to the type of the key in p=."},
    [DK_KEY_RSA_TOO_SMALL] = {"dkim.key-rsa-too-small", E,
        "The RSA key is shorter than 1024 bits; RFC 8301 forbids verifiers to accept it.",
        "Generate a 2048-bit key, publish it under a new selector and switch the signer."},
    [DK_KEY_RSA_WEAK] = {"dkim.key-rsa-weak", W,
        "The RSA key is shorter than 2048 bits; RFC 8301 says signers should use at least 2048.",
        "Generate a 2048-bit key under a new selector and switch the signer to it."},
    [DK_KEY_TESTING] = {"dkim.key-testing", W,
        "t=y: the domain is testing DKIM; verifiers must not treat signed mail differently "
        "from unsigned mail.",
        "Remove y from t= once signatures verify."},
    [DK_KEY_STRICT] = {"dkim.key-strict", I,
        "t=s: the i= of signatures must be in exactly the d= domain, not a subdomain.", NULL},
    [DK_KEY_FLAG_UNKNOWN] = {"dkim.key-flag-unknown", I,
        "t= holds a flag RFC 6376 does not define; verifiers ignore it.",
        "Remove flags other than y and s."},
    [DK_KEY_HASH_NO_SHA256] = {"dkim.key-hash-no-sha256", E,
        "h= does not list sha256, so the key refuses rsa-sha256 and ed25519-sha256 signatures.",
        "Remove h= (all hashes allowed) or write h=sha256."},
    [DK_KEY_HASH_UNKNOWN] = {"dkim.key-hash-unknown", I,
        "h= names a hash algorithm DKIM does not define; verifiers ignore it.",
        "List only sha256 (and sha1 if you must)."},
    [DK_KEY_SERVICE_NO_EMAIL] = {"dkim.key-service-no-email", E,
        "s= lists neither \"email\" nor \"*\": the key may not be used for email.",
        "Remove s= or write s=email."},
    [DK_KEY_UNKNOWN_TAG] = {"dkim.key-unknown-tag", I,
        "A tag RFC 6376 does not define for key records; verifiers ignore it.",
        "Check the spelling; remove tags DKIM does not define."},
    [DK_KEY_NOT_FOUND] = {"dkim.key-not-found", E,
        "No key record at SELECTOR._domainkey.DOMAIN: signatures with this selector cannot "
        "verify.",
        "Publish the selector's public key as a TXT record, or check the selector's spelling."},
    [DK_KEY_MULTIPLE] = {"dkim.key-multiple", E,
        "More than one TXT record at the selector name looks like a key; RFC 6376 leaves the "
        "result undefined and verifiers differ.",
        "Keep exactly one key record per selector."},
    [DK_KEY_DNS_ERROR] = {"dkim.key-dns-error", E,
        "The key record could not be fetched (SERVFAIL, timeout or DNSSEC failure).",
        "Check the domain's name servers and DNSSEC; verifiers will return temperror."},
    [DK_SIG_SYNTAX] = {"dkim.sig-syntax", E,
        "Part of the DKIM-Signature is not a tag=value pair; the signature is invalid.",
        "Fix the signer; the tag-list grammar is in RFC 6376 3.2."},
    [DK_SIG_DUPLICATE_TAG] = {"dkim.sig-duplicate-tag", E,
        "A tag appears twice in the DKIM-Signature; RFC 6376 3.2 makes it invalid.",
        "Fix the signer."},
    [DK_SIG_TAG_MISSING] = {"dkim.sig-tag-missing", E,
        "A required tag (v, a, b, bh, d, h, s) is missing; the signature is invalid.",
        "Fix the signer."},
    [DK_SIG_VERSION] = {"dkim.sig-version", E,
        "v= is not 1; verifiers ignore the signature.", "Fix the signer."},
    [DK_SIG_ALG_UNKNOWN] = {"dkim.sig-algorithm-unknown", E,
        "a= is not rsa-sha256, ed25519-sha256 or rsa-sha1; the signature cannot be verified.",
        "Sign with rsa-sha256 (and ed25519-sha256 alongside, RFC 8463)."},
    [DK_SIG_RSA_SHA1] = {"dkim.sig-rsa-sha1", W,
        "The signature uses rsa-sha1, which RFC 8301 forbids signers to use; verifiers must "
        "not consider it valid (mailsec refuses it unless --allow-sha1).",
        "Switch the signer to rsa-sha256."},
    [DK_SIG_CANON_UNKNOWN] = {"dkim.sig-canon-unknown", E,
        "c= names a canonicalization other than simple or relaxed.",
        "Use c=relaxed/relaxed or c=relaxed/simple."},
    [DK_SIG_BASE64_INVALID] = {"dkim.sig-base64-invalid", E,
        "b= or bh= is not valid base64 (or bh= has the wrong length for the hash).",
        "Fix the signer; something may have rewritten the header field."},
    [DK_SIG_NUMBER_INVALID] = {"dkim.sig-number-invalid", E,
        "l=, t= or x= is not a decimal number of at most 76 bits' worth of digits.",
        "Fix the signer."},
    [DK_SIG_DOMAIN_INVALID] = {"dkim.sig-domain-invalid", E,
        "d= or s= is not a valid domain name or selector.", "Fix the signer."},
    [DK_SIG_FROM_NOT_SIGNED] = {"dkim.sig-from-not-signed", E,
        "h= does not include From; RFC 6376 requires it and verifiers reject the signature.",
        "Configure the signer to sign From (and Subject, Date, To, Message-ID...)."},
    [DK_SIG_IDENTITY_MISMATCH] = {"dkim.sig-identity-mismatch", E,
        "The domain of i= is not d= or a subdomain of it; the signature is invalid.",
        "Make i= an address at the signing domain, or drop i=."},
    [DK_SIG_QUERY_UNKNOWN] = {"dkim.sig-query-unknown", E,
        "q= names no query method verifiers know (only dns/txt is defined).",
        "Remove q= or write q=dns/txt."},
    [DK_SIG_X_BEFORE_T] = {"dkim.sig-x-before-t", E,
        "x= (expiry) is earlier than t= (signing time); the signature is invalid.",
        "Fix the signer's clock or expiry setting."},
    [DK_SIG_LENGTH] = {"dkim.sig-length", W,
        "l= limits the signed body: anyone can append text (even a whole new MIME part) and "
        "the signature still verifies.",
        "Configure the signer to sign the whole body (no l=)."},
    [DK_SIG_COPIED_HEADERS] = {"dkim.sig-copied-headers", I,
        "z= holds copies of the signed header fields, for diagnosis only.", NULL},
    [DK_SIG_UNKNOWN_TAG] = {"dkim.sig-unknown-tag", I,
        "A tag RFC 6376 does not define for signatures; verifiers ignore it.", NULL},
    [DK_EXPIRED] = {"dkim.expired", E,
        "The signature's x= time has passed; verifiers treat it as failed.",
        "Resend; if this is recent mail, lengthen the signer's expiry."},
    [DK_FUTURE] = {"dkim.future", W,
        "t= is in the future: the signer's clock is wrong.", "Fix the signing host's clock."},
    [DK_BODY_TOO_SHORT] = {"dkim.body-too-short", E,
        "l= is longer than the canonical body; the body was truncated after signing.", NULL},
    [DK_BODY_HASH_MISMATCH] = {"dkim.body-hash-mismatch", E,
        "The body hash does not match bh=: the body changed after signing.",
        "Look for something that rewrites bodies after signing: footers, line-length "
        "re-encoding, a forwarder."},
    [DK_SIGNATURE_MISMATCH] = {"dkim.signature-mismatch", E,
        "The signature does not verify with the published key: a signed header field changed, "
        "or the message was signed with another key.",
        "Check that the selector's published key matches the signer's private key, and look "
        "for header rewriting after signing."},
    [DK_KEY_ALG_MISMATCH] = {"dkim.key-alg-mismatch", E,
        "The key's type does not match the signature's algorithm (RSA key for ed25519-sha256 "
        "or the reverse).",
        "Publish the right key type under this selector."},
    [DK_KEY_HASH_NOT_ALLOWED] = {"dkim.key-hash-not-allowed", E,
        "The key record's h= does not allow the signature's hash algorithm.",
        "Remove h= from the key record or sign with an allowed hash."},
    [DK_KEY_STRICT_SUBDOMAIN] = {"dkim.key-strict-subdomain", E,
        "The key has t=s but i= is in a subdomain of d=; verifiers reject the signature.",
        "Drop s from t=, or sign with an i= exactly in d=."},
    [DK_RSA_SHA1_REFUSED] = {"dkim.rsa-sha1-refused", E,
        "The signature uses rsa-sha1, and RFC 8301 3.1 forbids verifiers to consider such "
        "signatures valid: it counts as not verified.",
        "Switch the signer to rsa-sha256. To check an old archive signed with rsa-sha1, run "
        "dkim verify --allow-sha1."},
    [DK_NO_SIGNATURE] = {"dkim.no-signature", W,
        "The message has no DKIM-Signature header field.", NULL},
    [DK_TOO_MANY_SIGNATURES] = {"dkim.too-many-signatures", W,
        "The message has more DKIM-Signature fields than mailsec verifies; the rest were "
        "skipped.", NULL},
    [DK_MESSAGE_MALFORMED] = {"dkim.message-malformed", E,
        "The header section is not well formed (a line without a colon, or too many fields).",
        NULL},
    [DK_ARC_STRUCTURE] = {"dkim.arc-structure", E,
        "The message's ARC sets are malformed (RFC 8617 5.2 steps 2 and 4): an instance lacks "
        "one of its three fields, two fields share an instance, or the instances are not 1 to N; "
        "the ARC chain fails.",
        "Look at the intermediary that added the broken set; ARC sets are only ever added, never "
        "edited."},
    [DK_ARC_CHAIN_FAILED] = {"dkim.arc-chain-failed", E,
        "An ARC-Seal's cv= breaks the chain: the newest says cv=fail (an earlier hop found the "
        "chain broken), or the first is not cv=none, or a later one is not cv=pass.", NULL},
    [DK_ARC_MESSAGE_SIGNATURE_FAILED] = {"dkim.arc-message-signature-failed", E,
        "The newest ARC-Message-Signature does not verify: the message changed after the last "
        "intermediary sealed it.",
        "Look for something that rewrites the message after the last ARC hop."},
    [DK_ARC_SEAL_FAILED] = {"dkim.arc-seal-failed", E,
        "An ARC-Seal does not verify: an ARC set changed after it was sealed, or the sealer's "
        "key is missing or wrong.", NULL},
    [DK_PRIVATE_KEY_MISMATCH] = {"dkim.private-key-mismatch", E,
        "The selector publishes a different key than the public half of the private key: "
        "messages signed with that private key under this selector fail verification. A "
        "revoked record (empty p=) matches no private key.",
        "Publish the record `mailsec dkim keygen` printed for this key (or `mailsec dkim "
        "rotate --step publish` prints it again), or sign with the key the record belongs to."},
    [DK_KEY_NOT_REVOKED] = {"dkim.key-not-revoked", E,
        "The old selector still publishes its key (or no longer publishes any record): "
        "the revocation has not reached DNS.",
        "Publish the revoked record (\"v=DKIM1; p=\") at the old selector; a revoked record "
        "tells verifiers the key was withdrawn, where a deleted one looks like a typo."},
    [DK_COUNT] = {NULL, MS_SEV_INFO, NULL, NULL},
};
