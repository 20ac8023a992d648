/* mailsec DKIM: key records and signature verification (RFC 6376, RFC 8463).
 *
 * Three layers, each usable on its own:
 *  - parsers for the two tag-lists DKIM defines: the key record published at
 *    SELECTOR._domainkey.DOMAIN and the DKIM-Signature header field; each
 *    returns a plain struct and appends findings to a diagnostic list;
 *  - ms_dkim_check(): fetch selectors' key records from DNS and lint them;
 *  - ms_dkim_verify(): verify every DKIM-Signature of a message, keys from
 *    DNS, one result and reason per signature.
 * Plus ms_dkim_domainkey_exists() for the domain audit, and the signing
 * side: ms_dkim_signer_*() (rsa-sha256 and ed25519-sha256, streaming),
 * private keys (load, generate, save, the record that publishes them) and
 * the key rotation steps (ms_dkim_rotate()).
 */
#ifndef MAILSEC_DKIM_H
#define MAILSEC_DKIM_H

#include "mailsec/core.h"
#include "mailsec/dns.h"

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Documented limits (docs/dkim.md). */
#define MS_DKIM_MAX_RECORD 8192        /* bytes of one key record */
#define MS_DKIM_MAX_SIG_HEADER 16384   /* bytes of one DKIM-Signature value */
#define MS_DKIM_MAX_MESSAGE (64u << 20) /* bytes of a message to verify */
#define MS_DKIM_MAX_HEADERS 1000       /* header fields in a message */
#define MS_DKIM_MAX_SIGNATURES 16      /* DKIM-Signature fields verified per message */
#define MS_DKIM_MAX_SIGNED_HEADERS 256 /* names in one h= */
#define MS_DKIM_MAX_HEADER_BYTES (1u << 20) /* bytes of a message's header section (streaming) */
#define MS_DKIM_ARC_MAX_INSTANCES 50   /* ARC sets (i=1..50, RFC 8617 4.2.1) */

typedef enum ms_dkim_key_type {
    MS_DKIM_KEY_RSA = 0,
    MS_DKIM_KEY_ED25519,
    MS_DKIM_KEY_UNKNOWN
} ms_dkim_key_type;

const char *ms_dkim_key_type_str(ms_dkim_key_type type); /* "rsa", "ed25519", "unknown" */

/* A parsed key record. Strings are NUL-terminated copies of the tag values
 * (NULL when the tag is absent). */
typedef struct ms_dkim_key {
    int usable;        /* a verifier can use this key (parsed, not revoked, known type) */
    char *v;           /* "DKIM1" */
    char *k;           /* key type as written; absent means rsa */
    ms_dkim_key_type type;
    char *h;           /* acceptable hash algorithms, colon-separated */
    int allows_sha1;   /* h= absent or lists sha1 */
    int allows_sha256; /* h= absent or lists sha256 */
    char *s;           /* service types */
    int s_email;       /* s= absent or lists email or * */
    char *t;           /* flags */
    int testing;       /* t=y */
    int strict;        /* t=s: i= must not be a subdomain of d= */
    char *n;           /* notes */
    int revoked;       /* p= present and empty */
    unsigned key_bits; /* RSA modulus bits, 256 for ed25519, 0 if unknown */
    void *pkey;        /* the public key (an OpenSSL EVP_PKEY), or NULL */
} ms_dkim_key;

/* Parses and lints a key record (TXT strings joined). location names the
 * record in findings (e.g. "sel._domainkey.example.com"); may be NULL.
 * MS_OK with *out set unless out of memory or the record exceeds
 * MS_DKIM_MAX_RECORD (MS_ERR_LIMIT). */
ms_status ms_dkim_key_parse(const char *text, size_t len, const char *location, ms_dkim_key **out,
                            ms_diag_list *diags);
void ms_dkim_key_free(ms_dkim_key *key);

typedef enum ms_dkim_alg {
    MS_DKIM_ALG_RSA_SHA256 = 0,
    MS_DKIM_ALG_RSA_SHA1,
    MS_DKIM_ALG_ED25519_SHA256,
    MS_DKIM_ALG_UNKNOWN
} ms_dkim_alg;

typedef enum ms_dkim_canon { MS_DKIM_CANON_SIMPLE = 0, MS_DKIM_CANON_RELAXED } ms_dkim_canon;

/* A parsed DKIM-Signature. */
typedef struct ms_dkim_signature {
    int usable;            /* every required tag present and valid */
    char *v, *a, *c, *d, *s, *q, *z; /* as written (z= is only checked, never decoded) */
    char *i;               /* the AUID, decoded from DKIM-Quoted-Printable (RFC 6376 3.5) */
    ms_dkim_alg alg;
    ms_dkim_canon header_canon, body_canon;
    char **h;              /* signed header field names, as written */
    size_t h_count;
    unsigned char *b;      /* decoded signature */
    size_t b_len;
    unsigned char *bh;     /* decoded body hash */
    size_t bh_len;
    int has_l, has_t, has_x;
    uint64_t l, t, x;
} ms_dkim_signature;

/* Parses a DKIM-Signature field's value (everything after the colon).
 * Problems become findings with offsets into value. */
ms_status ms_dkim_signature_parse(const char *value, size_t len, const char *location,
                                  ms_dkim_signature **out, ms_diag_list *diags);
void ms_dkim_signature_free(ms_dkim_signature *sig);

/* ---- checking selectors ---- */

typedef struct ms_dkim_selector_check {
    char *selector;
    char *name;            /* SELECTOR._domainkey.DOMAIN */
    ms_dns_rcode rcode;
    ms_dns_dnssec_state dnssec;
    char *record;          /* the key record text, NULL if none */
    ms_dkim_key *key;      /* parsed record, NULL if none */
    ms_diag_list diags;
} ms_dkim_selector_check;

typedef struct ms_dkim_check_result {
    char *domain;
    int unchecked;         /* a DNS failure kept some selector from being checked */
    ms_dkim_selector_check *items;
    size_t count;
} ms_dkim_check_result;

/* Looks up every SELECTOR._domainkey.DOMAIN at once and lints the records. */
ms_status ms_dkim_check(ms_ctx *ctx, const char *domain, const char *const *selectors,
                        size_t selector_count, ms_dkim_check_result **out);
void ms_dkim_check_result_free(ms_dkim_check_result *result);

/* Whether _domainkey.DOMAIN exists: *exists is 1 for NOERROR or NODATA
 * (an empty non-terminal when selectors exist below it), 0 for NXDOMAIN.
 * *rcode receives how the lookup ended; on SERVFAIL/timeout *exists is -1. */
ms_status ms_dkim_domainkey_exists(ms_ctx *ctx, const char *domain, int *exists,
                                   ms_dns_rcode *rcode);

/* ---- verifying messages ---- */

typedef enum ms_dkim_result {
    MS_DKIM_PASS = 0,
    MS_DKIM_FAIL,      /* the signature or body hash does not verify, or it expired */
    MS_DKIM_PERMERROR, /* unusable: syntax, no key, revoked key, unsupported */
    MS_DKIM_TEMPERROR  /* the key could not be fetched (DNS failure) */
} ms_dkim_result;

const char *ms_dkim_result_str(ms_dkim_result r); /* "pass", "fail", "permerror", "temperror" */

typedef struct ms_dkim_verdict {
    ms_dkim_result result;
    const char *reason;     /* stable short word: "ok", "body-hash-mismatch", ... */
    char *header;           /* the DKIM-Signature field's value as in the message */
    ms_dkim_signature *sig; /* parsed signature (never NULL) */
    char *key_name;         /* SELECTOR._domainkey.DOMAIN, NULL if not derivable */
    char *key_record;       /* the key record text, NULL if none */
    ms_dkim_key *key;       /* parsed key, NULL if none */
    ms_diag_list diags;     /* findings about this signature and its key */
} ms_dkim_verdict;

/* ARC (RFC 8617): the chain's validation state (section 5.2). */
typedef enum ms_dkim_arc_result {
    MS_DKIM_ARC_NONE = 0, /* no ARC sets in the message */
    MS_DKIM_ARC_PASS,
    MS_DKIM_ARC_FAIL
} ms_dkim_arc_result;

const char *ms_dkim_arc_result_str(ms_dkim_arc_result r); /* "none", "pass", "fail" */

typedef struct ms_dkim_verify_result {
    size_t signature_count;   /* DKIM-Signature fields in the message */
    ms_dkim_verdict *items;   /* the first MS_DKIM_MAX_SIGNATURES of them */
    size_t count;
    ms_diag_list diags;       /* findings about the message as a whole */
    ms_dkim_arc_result arc;   /* MS_DKIM_ARC_NONE, _PASS, _FAIL */
    int arc_instance;         /* highest i= seen, 0 when none */
    char *arc_sealer;         /* d= of the highest-instance ARC-Seal, NULL when none */
    char *arc_reason;         /* short word when fail, else NULL */
    char *arc_auth_results;   /* the highest-instance ARC-Authentication-Results value
                                 (after "i=N;"), NULL when none */
} ms_dkim_verify_result;

/* Verifies every DKIM-Signature of the message (bytes of an RFC 5322
 * message; bare LF line ends are read as CRLF, as for files on disk).
 * Keys are looked up in DNS, all at once. MS_ERR_LIMIT for a message over
 * MS_DKIM_MAX_MESSAGE; a message that is not one becomes findings.
 * rsa-sha1 signatures are refused (permerror, "rsa-sha1-refused"), as
 * RFC 8301 3.1 requires. */
ms_status ms_dkim_verify(ms_ctx *ctx, const char *message, size_t len,
                         ms_dkim_verify_result **out);

/* How ms_dkim_verify_with() judges; all zero (or NULL) is ms_dkim_verify(). */
typedef struct ms_dkim_verify_options {
    int allow_sha1; /* verify rsa-sha1 signatures instead of refusing them (old archives) */
} ms_dkim_verify_options;

ms_status ms_dkim_verify_with(ms_ctx *ctx, const char *message, size_t len,
                              const ms_dkim_verify_options *options, ms_dkim_verify_result **out);
void ms_dkim_verify_result_free(ms_dkim_verify_result *result);

/* ---- streaming verification ----
 * The message is given piece by piece (a milter's callbacks): header
 * fields in order, then the body in any chunking. Body bytes are hashed as
 * they arrive (one running hash per distinct body canonicalisation, l= and
 * algorithm among the signatures and the ARC-Message-Signatures) and never
 * kept; ms_dkim_verify() and ms_dkim_verify_with() feed their message
 * through this. */
typedef struct ms_dkim_verifier ms_dkim_verifier;

/* options may be NULL (as ms_dkim_verify_with) */
ms_status ms_dkim_verifier_new(ms_ctx *ctx, const ms_dkim_verify_options *options,
                               ms_dkim_verifier **out);
/* One header field as it appeared, "Name: value" with its folding (CRLF or
 * bare LF line breaks accepted), without the final line break; in message
 * order. Memory is bounded: headers beyond MS_DKIM_MAX_HEADER_BYTES in
 * total give MS_ERR_LIMIT. */
ms_status ms_dkim_verifier_header(ms_dkim_verifier *v, const char *field, size_t len);
/* Body bytes in any chunking; CRLF or bare LF line ends. Hashed as they
 * stream, never kept. */
ms_status ms_dkim_verifier_body(ms_dkim_verifier *v, const void *data, size_t len);
/* Or the raw message (header section, empty line, body) in any chunking,
 * as read from a file: the verifier splits the header fields itself (a
 * line that is not a field is set aside as malformed). A message is given
 * either this way or through _header and _body, not both. MS_ERR_LIMIT
 * when the header section is over MS_DKIM_MAX_HEADER_BYTES. */
ms_status ms_dkim_verifier_write(ms_dkim_verifier *v, const void *data, size_t len);
/* End of message: fetch the keys (all at once), verify; the result is what
 * ms_dkim_verify gives, plus ARC. */
ms_status ms_dkim_verifier_finish(ms_dkim_verifier *v, ms_dkim_verify_result **out);
void ms_dkim_verifier_free(ms_dkim_verifier *v);

/* ---- signing messages ---- */

typedef struct ms_dkim_privkey ms_dkim_privkey; /* an RSA or Ed25519 private key */

/* Loads a PEM private key (PKCS#8, or traditional RSA). MS_OK with *out set;
 * otherwise *errmsg (when errmsg is not NULL) receives a malloc'ed sentence
 * saying why (free() it). */
ms_status ms_dkim_privkey_load(const char *path, ms_dkim_privkey **out, char **errmsg);
ms_dkim_key_type ms_dkim_privkey_type(const ms_dkim_privkey *key);
void ms_dkim_privkey_free(ms_dkim_privkey *key);

typedef struct ms_dkim_sign_options {
    const char *domain;            /* d= */
    const char *selector;          /* s= */
    const ms_dkim_privkey *key;    /* rsa -> rsa-sha256, ed25519 -> ed25519-sha256 */
    const char *const *headers;    /* NULL-terminated names to sign; NULL = the recommended set, From oversigned */
    int64_t time;                  /* t=; 0 = now */
    int64_t expire_after;          /* x= = t + this; 0 = no x= */
} ms_dkim_sign_options;

typedef struct ms_dkim_signer ms_dkim_signer;

/* count signatures over the same message at once (e.g. rsa and ed25519),
 * relaxed/relaxed; options is an array of count entries. */
ms_status ms_dkim_signer_new(const ms_dkim_sign_options *options, size_t count, ms_dkim_signer **out);
/* One header field as it appeared, "Name: value" with its folding (CRLF or
 * bare LF), without the final line break; in message order. */
ms_status ms_dkim_signer_header(ms_dkim_signer *s, const char *field, size_t len);
/* Body bytes in any chunking; CRLF or bare LF line ends. */
ms_status ms_dkim_signer_body(ms_dkim_signer *s, const void *data, size_t len);
/* *values[i] = the DKIM-Signature field VALUE (without "DKIM-Signature:"),
 * folded with "\r\n\t", one per option, in order. Free each with free() and
 * the array with free(). */
ms_status ms_dkim_signer_finish(ms_dkim_signer *s, char ***values, size_t *count);
void ms_dkim_signer_free(ms_dkim_signer *s);

/* Signs a whole message held in memory (bare LF line ends read as CRLF,
 * as ms_dkim_verify does) through a signer: *values as
 * ms_dkim_signer_finish gives them. MS_ERR_LIMIT for a message over
 * MS_DKIM_MAX_MESSAGE, MS_ERR_INVALID for a header section that is not one
 * (a line without a colon). */
ms_status ms_dkim_sign(const ms_dkim_sign_options *options, size_t count, const char *message,
                       size_t len, char ***values, size_t *value_count);

/* ---- keys: making, publishing, comparing, rotating ---- */

#define MS_DKIM_RSA_DEFAULT_BITS 2048

unsigned ms_dkim_privkey_bits(const ms_dkim_privkey *key); /* RSA modulus bits; 256 for Ed25519 */

/* A new key: RSA of bits bits (1024 to 8192; 0 means MS_DKIM_RSA_DEFAULT_BITS)
 * or Ed25519 (bits ignored). MS_ERR_INVALID for another size or type. */
ms_status ms_dkim_privkey_generate(ms_dkim_key_type type, unsigned bits, ms_dkim_privkey **out);

/* Writes the key as PKCS#8 PEM to a NEW file, created with mode 0600
 * (never a looser mode, not even for an instant); an existing file or
 * symlink is never overwritten. MS_ERR_IO with *errmsg (malloc'ed, when
 * errmsg is not NULL) saying why; a file partly written is removed. */
ms_status ms_dkim_privkey_save(const ms_dkim_privkey *key, const char *path, char **errmsg);

/* The key record that publishes the key's public half:
 * "v=DKIM1; k=rsa; p=BASE64" (k=ed25519 for Ed25519 keys, RFC 8463). */
ms_status ms_dkim_privkey_record(const ms_dkim_privkey *key, char **record);

/* The zone-file line "SELECTOR._domainkey.DOMAIN. TTL IN TXT "..." "..."",
 * the record split into character-strings of at most 255 octets.
 * MS_ERR_INVALID when domain or selector is not a valid name. */
ms_status ms_dkim_zone_line(const char *domain, const char *selector, const char *record,
                            unsigned ttl, char **line);

/* Whether the key a selector check found (ms_dkim_check) is the public half
 * of key: 1 the same key; 0 another key or a revoked one (a
 * dkim.private-key-mismatch finding is added to s->diags); -1 nothing to
 * compare (no record, or a record that is not a key: the check's own
 * findings say which). */
int ms_dkim_selector_matches(ms_dkim_selector_check *s, const ms_dkim_privkey *key);

/* Key rotation, one step at a time (docs/dkim.md). */
typedef enum ms_dkim_rotate_step {
    MS_DKIM_ROTATE_PUBLISH = 0, /* publish the new selector's record */
    MS_DKIM_ROTATE_SWITCH,      /* the signer moves to the new selector and key */
    MS_DKIM_ROTATE_REVOKE       /* the old selector's record is revoked (empty p=) */
} ms_dkim_rotate_step;

const char *ms_dkim_rotate_step_str(ms_dkim_rotate_step step); /* "publish", "switch", "revoke" */

typedef struct ms_dkim_rotate_result {
    ms_dkim_rotate_step step;
    char *selector;   /* the selector this step publishes or checks */
    char *record;     /* the record this step wants at SELECTOR._domainkey.DOMAIN */
    char *zone_line;  /* the same as a zone-file line (TTL 3600) */
    int done;         /* DNS serves what the step needs, so it is complete */
    ms_dkim_check_result *check; /* the lookup of the selector; its diags say what is missing */
} ms_dkim_rotate_result;

/* Checks one step of moving domain's signing from old_selector to
 * new_selector with new_key: publish and switch are done when the new
 * selector serves new_key's public half (switch is when the signer may
 * move); revoke is done when the old selector serves a revoked record.
 * MS_OK with *out set even when DNS fails (check->unchecked). */
ms_status ms_dkim_rotate(ms_ctx *ctx, const char *domain, const char *old_selector,
                         const char *new_selector, const ms_dkim_privkey *new_key,
                         ms_dkim_rotate_step step, ms_dkim_rotate_result **out);
void ms_dkim_rotate_result_free(ms_dkim_rotate_result *result);

#ifdef __cplusplus
}
#endif
#endif
