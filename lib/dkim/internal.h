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

/* A message split into header fields and body (message.c). */
typedef struct dk_field {
    const char *name; /* points into the message buffer */
    size_t name_len;
    const char *raw;  /* the whole field, name through the final CRLF */
    size_t raw_len;
} dk_field;

typedef struct dk_message {
    char *data; /* the message with every line ending CRLF (owned) */
    size_t len;
    dk_field *fields;
    size_t field_count;
    const char *body;
    size_t body_len;
    int malformed; /* a header line without a colon, or too many fields */
} dk_message;

ms_status dk_message_parse(const char *data, size_t len, dk_message *out);
void dk_message_free(dk_message *m);

/* Canonicalization (canon.c). */
/* Appends the canonical form of one header field (with CRLF) to buf; when
 * strip_b is set, the b= tag's value is removed (for the signature field
 * itself, RFC 6376 3.7) and no CRLF is appended. */
void dk_canon_header(ms_dkim_canon canon, const char *raw, size_t raw_len, int strip_b, ms_buf *buf);
/* The canonical body; *out is malloc'ed (may be empty). */
ms_status dk_canon_body(ms_dkim_canon canon, const char *body, size_t len, char **out,
                        size_t *out_len);

/* The key record among a TXT answer's records (check.c): the only record,
 * or the only one that looks like a key (p= or v=DKIM1) among several.
 * *keys counts the candidates; NULL when it is not exactly one. */
const ms_dns_record *dk_pick_key_record(const ms_dns_answer *a, size_t *keys);


#endif
