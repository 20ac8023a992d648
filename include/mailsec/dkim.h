/* mailsec DKIM: key records and signature verification (RFC 6376, RFC 8463).
 *
 * Three layers, each usable on its own:
 *  - parsers for the two tag-lists DKIM defines: the key record published at
 *    SELECTOR._domainkey.DOMAIN and the DKIM-Signature header field; each
 *    returns a plain struct and appends findings to a diagnostic list;
 *  - ms_dkim_check(): fetch selectors' key records from DNS and lint them;
 *  - ms_dkim_verify(): verify every DKIM-Signature of a message, keys from
 *    DNS, one result and reason per signature.
 * Plus ms_dkim_domainkey_exists() for the domain audit.
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

typedef struct ms_dkim_verify_result {
    size_t signature_count;   /* DKIM-Signature fields in the message */
    ms_dkim_verdict *items;   /* the first MS_DKIM_MAX_SIGNATURES of them */
    size_t count;
    ms_diag_list diags;       /* findings about the message as a whole */
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

#ifdef __cplusplus
}
#endif
#endif
