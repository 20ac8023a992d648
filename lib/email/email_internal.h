/* What the email module's files share. */
#ifndef MAILSEC_LIB_EMAIL_INTERNAL_H
#define MAILSEC_LIB_EMAIL_INTERNAL_H

#include "core/internal.h"
#include "mailsec/email.h"

#include <stddef.h>

/* Every diagnosis, in the order of ms_email_diag_defs[]. */
enum em_diag {
    EM_VALID,
    EM_DNSWARN_NO_MX_RECORD,
    EM_DNSWARN_NO_RECORD,
    EM_RFC5321_TLD,
    EM_RFC5321_TLD_NUMERIC,
    EM_RFC5321_QUOTED_STRING,
    EM_RFC5321_ADDRESS_LITERAL,
    EM_RFC5321_IPV6_DEPRECATED,
    EM_CFWS_COMMENT,
    EM_CFWS_FWS,
    EM_DEPREC_LOCAL_PART,
    EM_DEPREC_FWS,
    EM_DEPREC_QTEXT,
    EM_DEPREC_QP,
    EM_DEPREC_COMMENT,
    EM_DEPREC_CTEXT,
    EM_DEPREC_CFWS_NEAR_AT,
    EM_RFC5322_DOMAIN,
    EM_RFC5322_TOO_LONG,
    EM_RFC5322_LOCAL_TOO_LONG,
    EM_RFC5322_DOMAIN_TOO_LONG,
    EM_RFC5322_LABEL_TOO_LONG,
    EM_RFC5322_DOMAIN_LITERAL,
    EM_RFC5322_DOMLIT_OBSDTEXT,
    EM_RFC5322_IPV6_GRP_COUNT,
    EM_RFC5322_IPV6_2X2X_COLON,
    EM_RFC5322_IPV6_BAD_CHAR,
    EM_RFC5322_IPV6_MAX_GRPS,
    EM_RFC5322_IPV6_COLON_START,
    EM_RFC5322_IPV6_COLON_END,
    EM_RFC5322_BAD_IDN,
    EM_ERR_EXPECTING_DTEXT,
    EM_ERR_NO_LOCAL_PART,
    EM_ERR_NO_DOMAIN,
    EM_ERR_NO_DOMAIN_SEP,
    EM_ERR_CONSECUTIVE_DOTS,
    EM_ERR_ATEXT_AFTER_CFWS,
    EM_ERR_ATEXT_AFTER_QS,
    EM_ERR_ATEXT_AFTER_DOMLIT,
    EM_ERR_EXPECTING_QPAIR,
    EM_ERR_EXPECTING_ATEXT,
    EM_ERR_EXPECTING_QTEXT,
    EM_ERR_EXPECTING_CTEXT,
    EM_ERR_BACKSLASH_END,
    EM_ERR_DOT_START,
    EM_ERR_DOT_END,
    EM_ERR_DOMAIN_HYPHEN_START,
    EM_ERR_DOMAIN_HYPHEN_END,
    EM_ERR_UNCLOSED_QUOTED_STR,
    EM_ERR_UNCLOSED_COMMENT,
    EM_ERR_UNCLOSED_DOMLIT,
    EM_ERR_FWS_CRLF_X2,
    EM_ERR_FWS_CRLF_END,
    EM_ERR_CR_NO_LF,
    EM_ERR_NON_ASCII,
    EM_ERR_BAD_UTF8,
    EM_ERR_UNSAFE_CHAR,
    EM_HTML5_ONLY,
    EM_COUNT
};

/* Per diagnosis: is_email's numeric value (the most significant, i.e.
 * highest, wins) and the category. */
typedef struct em_diag_info {
    unsigned char rank;
    unsigned char category;
} em_diag_info;

extern const em_diag_info em_diag_infos[EM_COUNT];

/* What one parse found. */
typedef struct em_parse {
    enum em_diag diag;  /* the most significant diagnosis */
    size_t diag_offset;
    size_t local_start, local_end;   /* first to last byte of local-part tokens */
    size_t domain_start, domain_end; /* first to last byte of domain tokens */
    size_t local_octets;             /* local part without CFWS (RFC 5321 length) */
    size_t domain_octets;            /* domain without CFWS */
    unsigned has_utf8 : 1;           /* non-ASCII bytes in local part or domain */
    unsigned domain_utf8 : 1;
    unsigned has_cfws : 1;           /* comments or folding white space anywhere */
    unsigned is_literal : 1;         /* domain is a [literal] */
    unsigned not_html5 : 1;          /* the quick pass saw what the WHATWG form refuses */
} em_parse;

/* The quick pass: the forms most lists hold (plain, a quoted local part,
 * an address literal, a non-ASCII byte outside profile intl; parse.c
 * lists them) in one pass over the bytes. 1 when *out is what
 * em_parse_full() gives; 0 (*out undefined) when the full parser must
 * look. */
int em_parse_quick(const unsigned char *s, size_t len, int utf8, em_parse *out);

/* Parses the address (the quick pass, else the full parser). utf8: allow
 * RFC 6532 UTF-8 (profile intl). */
void em_parse_run(const unsigned char *s, size_t len, int utf8, em_parse *out);
/* The same without the quick pass (the fuzz harness compares the two). */
void em_parse_full(const unsigned char *s, size_t len, int utf8, em_parse *out);

/* ms_email_check() without the quick pass: always the full parser (the
 * unit tests and the fuzz harness compare the two). */
void em_check_full(const char *addr, size_t len, ms_email_profile profile, ms_email_result *out);

/* The WHATWG HTML "valid e-mail address". */
int em_html5_match(const unsigned char *s, size_t len);

/* Decodes one UTF-8 sequence at s (n bytes available); returns its length
 * (0 when malformed: overlong, surrogate, above U+10FFFF, truncated). */
size_t em_utf8_decode(const unsigned char *s, size_t n, unsigned *cp);
/* Non-zero for code points an address must not carry: controls, format
 * characters (bidi overrides), surrogates, private use, unassigned,
 * non-ASCII spaces and separators. */
int em_codepoint_unsafe(unsigned cp);
/* Non-zero for a code point NFC leaves alone wherever it stands (nearly
 * every letter, digit and symbol of every script; not the combining
 * marks). */
int em_nfc_stable(unsigned cp);
/* Non-zero when the UTF-8 s (len bytes) is ASCII and such code points
 * only, and so in NFC as it is; 0 when it may not be (normalise to know). */
int em_nfc_quick(const unsigned char *s, size_t len);
/* Non-zero when some label of the domain d (n bytes) starts with "xn--". */
int em_has_alabel(const unsigned char *d, size_t n);

/* A domain with U-labels or A-labels: IDNA2008 through libidn2 (an A-label
 * is decoded and judged as its U-label), then RFC 5321's limits on the
 * A-label form. EM_VALID when fine. */
enum em_diag em_idn_check(const unsigned char *d, size_t n, size_t local_octets);
/* The same for the domain alone, never cached: the length of its A-label
 * form in *ascii_len, *transient set when the verdict came from a lack of
 * memory rather than the name. em_idn_check() keeps these per thread. */
enum em_diag em_idn_verdict(const unsigned char *d, size_t n, size_t *ascii_len, int *transient);
/* What this thread's cache of em_idn_check() verdicts has done (for the
 * tests: a domain seen again must be a hit). */
typedef struct idn_cache_stats {
    size_t hits, misses, emptied;
} idn_cache_stats;
idn_cache_stats em_idn_cache_stats(void);
/* The domain d (n bytes, A-labels or U-labels) as lower-case A-labels or
 * as U-labels; NULL unless em_idn_check() finds the domain alone valid
 * (or out of memory). */
char *em_domain_to_ascii(const char *d, size_t n);
/* A lower-cased copy of n bytes (ASCII letters only); NULL when out of memory. */
char *em_ascii_lower(const char *d, size_t n);
char *em_domain_to_unicode(const char *d, size_t n);

#endif
