/* What the files of lib/dkim share. */
#ifndef MAILSEC_LIB_DKIM_INTERNAL_H
#define MAILSEC_LIB_DKIM_INTERNAL_H

#include "core/internal.h"
#include "mailsec/dkim.h"

#include <stddef.h>

/* Indexes into ms_dkim_diag_defs (diags.c). */
enum {
    /* key records */
    DK_KEY_EMPTY,
    DK_KEY_SYNTAX,
    DK_KEY_DUPLICATE_TAG,
    DK_KEY_VERSION_INVALID,
    DK_KEY_VERSION_NOT_FIRST,
    DK_KEY_TYPE_UNKNOWN,
    DK_KEY_P_MISSING,
    DK_KEY_REVOKED,
    DK_KEY_BASE64_INVALID,
    DK_KEY_NOT_A_KEY,
    DK_KEY_TYPE_MISMATCH,
    DK_KEY_RSA_TOO_SMALL,
    DK_KEY_RSA_WEAK,
    DK_KEY_TESTING,
    DK_KEY_STRICT,
    DK_KEY_FLAG_UNKNOWN,
    DK_KEY_HASH_NO_SHA256,
    DK_KEY_HASH_UNKNOWN,
    DK_KEY_SERVICE_NO_EMAIL,
    DK_KEY_UNKNOWN_TAG,
    DK_KEY_NOT_FOUND,
    DK_KEY_MULTIPLE,
    DK_KEY_DNS_ERROR,
    /* DKIM-Signature fields */
    DK_SIG_SYNTAX,
    DK_SIG_DUPLICATE_TAG,
    DK_SIG_TAG_MISSING,
    DK_SIG_VERSION,
    DK_SIG_ALG_UNKNOWN,
    DK_SIG_RSA_SHA1,
    DK_SIG_CANON_UNKNOWN,
    DK_SIG_BASE64_INVALID,
    DK_SIG_NUMBER_INVALID,
    DK_SIG_DOMAIN_INVALID,
    DK_SIG_FROM_NOT_SIGNED,
    DK_SIG_IDENTITY_MISMATCH,
    DK_SIG_QUERY_UNKNOWN,
    DK_SIG_X_BEFORE_T,
    DK_SIG_LENGTH,
    DK_SIG_COPIED_HEADERS,
    DK_SIG_UNKNOWN_TAG,
    /* verification */
    DK_EXPIRED,
    DK_FUTURE,
    DK_BODY_TOO_SHORT,
    DK_BODY_HASH_MISMATCH,
    DK_SIGNATURE_MISMATCH,
    DK_KEY_ALG_MISMATCH,
    DK_KEY_HASH_NOT_ALLOWED,
    DK_KEY_STRICT_SUBDOMAIN,
    DK_RSA_SHA1_REFUSED,
    DK_NO_SIGNATURE,
    DK_TOO_MANY_SIGNATURES,
    DK_MESSAGE_MALFORMED,
    /* ARC (arc.c) */
    DK_ARC_STRUCTURE,
    DK_ARC_CHAIN_FAILED,
    DK_ARC_MESSAGE_SIGNATURE_FAILED,
    DK_ARC_SEAL_FAILED,
    /* signing keys (privkey.c, rotate.c) */
    DK_PRIVATE_KEY_MISMATCH,
    DK_KEY_NOT_REVOKED,
    DK_COUNT
};

#define DKD(i) (&ms_dkim_diag_defs[(i)])

/* Splits a tag-list (RFC 6376 3.2) with lib/core's ms_taglist_parse. Its
 * syntax errors become findings with syntax_code, a repeated tag name one
 * with dup_code (and only the first is kept). Returns MS_OK or
 * MS_ERR_NOMEM. */
ms_status dk_tags_parse(const char *text, size_t len, const char *location, int syntax_code,
                        int dup_code, ms_taglist *out, ms_diag_list *diags);
/* A NUL-terminated copy of a tag's value; NULL when out of memory. */
char *dk_tag_strdup(const ms_tag *t);

/* Strict base64 (RFC 4648, with padding), ignoring FWS (space, tab, CR,
 * LF) anywhere. Returns 0 and a malloc'ed buffer, or -1 when the text is
 * not base64 (*out NULL), or -2 when out of memory. An empty text decodes
 * to zero bytes (*out non-NULL). */
int dk_base64_decode(const char *text, size_t len, unsigned char **out, size_t *out_len);

/* DKIM-Quoted-Printable (RFC 6376 2.11): "=XX" hex octets, other
 * dkim-safe-chars as they are, FWS removed. Returns 0 and a malloc'ed
 * NUL-terminated string, -1 when the text is not DKIM-Quoted-Printable
 * (or decodes to a NUL), -2 when out of memory. */
int dk_qp_decode(const char *text, size_t len, char **out);

/* Whether a finding about a key record makes the key unusable: every
 * error but h= lacking sha256 (key.c). */
int dk_key_finding_blocks(const ms_diag_def *def);

/* Public keys (key.c): builds the EVP_PKEY; returns NULL if the bytes are
 * not a key of this type. *bits receives the size. */
void *dk_pkey_from_der(const unsigned char *der, size_t len, unsigned *bits);
void *dk_pkey_ed25519(const unsigned char *raw, size_t len);
void dk_pkey_free(void *pkey);

/* A message held in memory, split without copying (message.c): header
 * fields one by one, then where the body starts. */
typedef struct dk_splitter {
    const char *data;
    size_t len;
    size_t pos; /* after the last field: where the body starts */
} dk_splitter;

void dk_splitter_init(dk_splitter *sp, const char *data, size_t len);
/* The next header field as written, continuation lines included, without
 * its final line break (CRLF or bare LF). Returns 0 at the empty line that
 * ends the header section (sp->pos is then the body's first byte) or at
 * the end of the data. Lines that are not header fields come out as they
 * are: the verifier sets them aside. */
int dk_next_field(dk_splitter *sp, const char **field, size_t *len);

/* A header field as the verifier keeps it. */
typedef struct dk_field {
    const char *name; /* without trailing white space */
    size_t name_len;
    const char *raw;  /* the whole field, CRLF line breaks, through the final CRLF */
    size_t raw_len;
} dk_field;

/* Canonicalization (canon.c). */
/* Appends the canonical form of one header field (with CRLF) to buf; when
 * strip_b is set, the b= tag's value is removed (for the signature field
 * itself, RFC 6376 3.7) and no CRLF is appended. raw may end with or
 * without its line break; CRLF and bare LF line breaks are both read. */
void dk_canon_header(ms_dkim_canon canon, const char *raw, size_t raw_len, int strip_b, ms_buf *buf);

/* The canonical body, streaming: feed bytes in any chunking (CRLF or bare
 * LF line ends, a bare LF is read as CRLF even across chunks); the
 * canonical bytes go to emit in runs, trailing empty lines held back until
 * something follows them; end applies the final CRLF rules of RFC 6376
 * 3.4.3 / 3.4.4. Needs no memory of its own. */
typedef void (*dk_emit_fn)(void *arg, const void *data, size_t len);
typedef struct dk_body_canon {
    ms_dkim_canon canon;
    int held_cr;         /* the last byte was a CR: a line break if LF follows */
    int pending_space;   /* relaxed: white space seen, one SP if content follows */
    int any_content;     /* something besides line breaks was emitted */
    uint64_t held_lines; /* empty lines not emitted yet */
} dk_body_canon;
void dk_body_canon_init(dk_body_canon *bc, ms_dkim_canon canon);
void dk_body_canon_feed(dk_body_canon *bc, const void *data, size_t len, dk_emit_fn emit, void *arg);
void dk_body_canon_end(dk_body_canon *bc, dk_emit_fn emit, void *arg);
/* The canonical form of a whole body (over dk_body_canon); *out is
 * malloc'ed (may be empty). */
ms_status dk_canon_body(ms_dkim_canon canon, const char *body, size_t len, char **out,
                        size_t *out_len);

/* The three kinds of signature the verifier checks the same way. */
typedef enum dk_kind { DK_DKIM, DK_ARC_MESSAGE_SIGNATURE, DK_ARC_SEAL } dk_kind;

/* ARC-Seal cv= (RFC 8617 4.1.3). */
typedef enum dk_arc_cv { DK_CV_NONE, DK_CV_PASS, DK_CV_FAIL, DK_CV_MISSING } dk_arc_cv;

/* Parses an ARC-Message-Signature (kind DK_ARC_MESSAGE_SIGNATURE: a DKIM
 * signature with i= the instance and no v=) or an ARC-Seal (DK_ARC_SEAL:
 * i=, cv=, a=, b=, d=, s=, t=; no h= or bh=) value (signature.c).
 * *instance is 0 when i= is missing or not 1..MS_DKIM_ARC_MAX_INSTANCES. */
ms_status dk_arc_signature_parse(dk_kind kind, const char *value, size_t len, const char *location,
                                 ms_dkim_signature **out, unsigned *instance, dk_arc_cv *cv,
                                 ms_diag_list *diags);

/* One signature the verifier checks: a DKIM-Signature, the newest
 * ARC-Message-Signature or an ARC-Seal (verify.c). */
typedef struct dk_check {
    ms_dkim_verdict v;
    dk_kind kind;
    const dk_field *self; /* the field itself */
    unsigned instance;    /* ARC: i= */
    size_t body;          /* its running body hash; SIZE_MAX for none */
    size_t query;         /* its key lookup in the DNS batch; SIZE_MAX for none */
} dk_check;

/* The ARC sets of a message (arc.c), gathered from its header fields. */
typedef struct dk_arc_set {
    const dk_field *results, *message_signature, *seal;
} dk_arc_set;

typedef struct dk_arc {
    dk_arc_set sets[MS_DKIM_ARC_MAX_INSTANCES + 1]; /* by instance; [0] unused */
    unsigned highest;    /* highest i= seen */
    const char *failure; /* why the chain failed before any key was needed, or NULL */
    char *sealer;        /* d= of the newest ARC-Seal */
    ms_diag_list diags;  /* findings about the sets, reported when the chain fails */
    dk_check *checks;    /* the newest ARC-Message-Signature, then the seals newest first */
    size_t check_count;
} dk_arc;

/* Gathers the sets and checks their form and cv= chain (RFC 8617 5.2
 * steps 1-4); when they hold, parses what is to be verified into
 * arc->checks. MS_OK unless out of memory. */
ms_status dk_arc_gather(dk_arc *arc, const dk_field *fields, size_t count);
/* The data an ARC-Seal signs (RFC 8617 5.1.1): every set up to its
 * instance, relaxed, in instance order, the seal itself last without b=. */
void dk_arc_seal_data(const dk_arc *arc, unsigned instance, ms_buf *buf);
/* The chain's verdict into r (steps 5-7) once the checks are judged. */
ms_status dk_arc_conclude(dk_arc *arc, ms_dkim_verify_result *r);
void dk_arc_free(dk_arc *arc);
void dk_check_free(dk_check *c);
/* "ARC-Seal", "ARC-Message-Signature", "ARC-Authentication-Results". */
int dk_field_is(const dk_field *f, const char *name);

/* The key record among a TXT answer's records (check.c): the only record,
 * or the only one that looks like a key (p= or v=DKIM1) among several.
 * *keys counts the candidates; NULL when it is not exactly one. */
const ms_dns_record *dk_pick_key_record(const ms_dns_answer *a, size_t *keys);


#endif
