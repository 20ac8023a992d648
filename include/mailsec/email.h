/* mailsec email: e-mail address validation.
 *
 * One parser, several strictness levels. ms_email_check() parses an address
 * (an RFC 5322 addr-spec, with RFC 6531/6532 UTF-8 allowed) in one linear
 * pass, never allocating for ASCII input, and reports:
 *  - the category, using is_email's values so callers can pick the
 *    strictness themselves (anything below MS_EMAIL_CAT_ERR is at least
 *    RFC 5322 syntax; VALID is what SMTP carries plainly);
 *  - the most significant diagnosis, a stable code from the table in
 *    docs/email.md ("email.valid", "email.err-no-domain-sep", ...);
 *  - whether the address is acceptable under the chosen profile.
 *
 * Profiles:
 *  - SMTP     (default) what real mail systems deliver: category VALID with
 *             an ASCII address; quoted strings, address literals, comments
 *             and obsolete forms are refused.
 *  - RFC5322  anything the grammar of RFC 5322 section 3.4.1 allows
 *             (category below ERR).
 *  - HTML5    the WHATWG HTML "valid e-mail address" definition.
 *  - INTL     SMTP plus SMTPUTF8 (RFC 6531): UTF-8 local parts and IDN
 *             domains (U-labels checked with libidn2).
 */
#ifndef MAILSEC_EMAIL_H
#define MAILSEC_EMAIL_H

#include <stddef.h>

#include "mailsec/core.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum ms_email_profile {
    MS_EMAIL_PROFILE_SMTP = 0,
    MS_EMAIL_PROFILE_RFC5322,
    MS_EMAIL_PROFILE_HTML5,
    MS_EMAIL_PROFILE_INTL
} ms_email_profile;

/* "smtp", "rfc5322", "html5", "intl" -> profile; returns 0 if unknown,
 * non-zero on success. */
int ms_email_profile_parse(const char *name, ms_email_profile *out);
/* The profile's name as accepted by ms_email_profile_parse(). */
const char *ms_email_profile_name(ms_email_profile profile);

/* is_email's category values. An address of category VALID is a dot-atom
 * "@" a host name: only atext, ".", "@" and, under profile INTL, UTF-8;
 * so is its normal form. */
typedef enum ms_email_category {
    MS_EMAIL_CAT_VALID = 1,
    MS_EMAIL_CAT_DNSWARN = 7,
    MS_EMAIL_CAT_RFC5321 = 15,
    MS_EMAIL_CAT_CFWS = 31,
    MS_EMAIL_CAT_DEPREC = 63,
    MS_EMAIL_CAT_RFC5322 = 127,
    MS_EMAIL_CAT_ERR = 255
} ms_email_category;

/* "valid", "dnswarn", "rfc5321", "cfws", "deprecated", "rfc5322", "error" */
const char *ms_email_category_name(ms_email_category category);

typedef struct ms_email_result {
    int valid;                  /* acceptable under the profile */
    ms_email_category category;
    const char *diagnosis;      /* static stable string, e.g. "email.valid", "email.err-no-domain-sep" */
    size_t error_offset;        /* byte where the diagnosis was found */
    size_t local_start, local_len, domain_start, domain_len;  /* the parts, as offsets into the input (valid only when category < ERR) */
} ms_email_result;

/* No allocation for ASCII input; never reads past len; any bytes. */
void ms_email_check(const char *addr, size_t len, ms_email_profile profile, ms_email_result *out);

/* The diagnosis's catalogue entry (severity, summary, advice), or NULL. */
const ms_diag_def *ms_email_diag_def(const char *diagnosis);

/* The normal form: local part NFC, domain lower-case A-labels (to_unicode
 * variant below). MS_ERR_INVALID when not valid under the profile. Caller
 * frees *out. */
/* Comments and folding white space are dropped; address literals stay as
 * written. Also MS_ERR_INVALID for the one valid form a C string cannot
 * hold: a NUL byte in an obsolete quoted pair (profile rfc5322). */
ms_status ms_email_normalize(const char *addr, size_t len, ms_email_profile profile, char **out);
/* Same, with the domain as lower-case U-labels. */
ms_status ms_email_normalize_unicode(const char *addr, size_t len, ms_email_profile profile,
                                     char **out);
/* ms_email_normalize() into the caller's buffer of cap bytes (the normal
 * form and a NUL), allocating nothing for a plain address (dot-atom "@"
 * host name): for long lists. r is ms_email_check()'s result for the same
 * address and profile. MS_OK with the length in *out_len; MS_ERR_INVALID
 * when there is no normal form (as ms_email_normalize()); MS_ERR_LIMIT
 * when it needs cap bytes or more (*out_len holds its length). */
ms_status ms_email_normalize_into(const char *addr, size_t len, ms_email_profile profile,
                                  const ms_email_result *r, char *buf, size_t cap, size_t *out_len);

/* Deliverability (RFC 5321 section 5.1, RFC 7505). */
typedef enum ms_email_mx_status {
    MS_EMAIL_MX_OK = 0,     /* MX records with at least one usable host */
    MS_EMAIL_MX_FALLBACK,   /* no MX, but A/AAAA: implicit MX */
    MS_EMAIL_MX_NULL,       /* null MX (RFC 7505): the domain accepts no mail */
    MS_EMAIL_MX_NXDOMAIN,   /* the domain does not exist */
    MS_EMAIL_MX_NONE,       /* the domain exists but has no MX, A or AAAA */
    MS_EMAIL_MX_TEMPFAIL    /* DNS failed (timeout, SERVFAIL): unknown */
} ms_email_mx_status;

const char *ms_email_mx_status_name(ms_email_mx_status status);

/* Folds a deliverability answer into a result the way is_email does:
 * MX found -> valid (a dotless domain with an MX is fine); A/AAAA only ->
 * email.dnswarn-no-mx-record (still deliverable); no MX, A or AAAA, null
 * MX, NXDOMAIN -> email.dnswarn-no-record (not valid). TEMPFAIL changes
 * nothing. Only results whose syntax was plain (valid, rfc5321-tld,
 * rfc5321-tld-numeric) are touched. */
void ms_email_result_apply_mx(ms_email_result *r, ms_email_profile profile, ms_email_mx_status mx);

/* Checks many domains concurrently through the DNS layer, each distinct
 * domain once (a per-call cache). domains[i] are A-label domains; out[i]
 * receives each one's status. */
ms_status ms_email_mx_check(ms_ctx *ctx, const char *const *domains, size_t count,
                            ms_email_mx_status *out);

/* Verdicts kept across calls, so that a long list checked chunk by chunk
 * asks each domain once. It holds at most MS_EMAIL_MX_CACHE_MAX domains;
 * the ones beyond are asked each time (right, only slower). Used by one
 * thread at a time. NULL when out of memory. */
#define MS_EMAIL_MX_CACHE_MAX 262144
typedef struct ms_email_mx_cache ms_email_mx_cache;
ms_email_mx_cache *ms_email_mx_cache_new(void);
void ms_email_mx_cache_free(ms_email_mx_cache *cache);
/* ms_email_mx_check, answering from the cache what it holds and adding
 * what was asked. */
ms_status ms_email_mx_check_cached(ms_ctx *ctx, ms_email_mx_cache *cache, const char *const *domains,
                                   size_t count, ms_email_mx_status *out);

#ifdef __cplusplus
}
#endif
#endif
