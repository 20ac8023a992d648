/* What library modules may see of the core that callers may not. */
#ifndef MAILSEC_LIB_CORE_INTERNAL_H
#define MAILSEC_LIB_CORE_INTERNAL_H

#include "mailsec/core.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

/* The context's configuration. Modules that keep state for a context (the
 * DNS module keeps its resolver here) register a destructor, so the core
 * need not know them. */
struct ms_ctx {
    char *resolver;          /* "ADDR[@PORT]" or NULL for the system's */
    char *trust_anchor_file; /* NULL: the system's root trust anchor */
    unsigned timeout_ms;
    char *https_ca;          /* NULL: the system's CA store */
    char **https_connect_to;    /* "HOST:PORT:HOST:PORT" mappings, NULL-terminated */
    size_t https_connect_to_count;
    ms_clock_fn clock;
    void *clock_arg;

    void *psl;                   /* the Public Suffix List, loaded on first use */
    void *dns;                   /* owned by lib/dns */
    void (*dns_free)(void *dns); /* called by ms_ctx_free */
};

/* MS_ASSERT(cond): an invariant the code relies on (never a check of
 * input, which is hostile and gets a finding or a status). Checked in
 * Debug, sanitizer and fuzzing builds (MAILSEC_ASSERTS), where a failure
 * names the place and aborts; compiled out elsewhere. */
#if defined(MS_ASSERTS) && MS_ASSERTS
#define MS_ASSERT(cond) ((cond) ? (void)0 : ms_assert_failed(#cond, __FILE__, __LINE__, __func__))
#else
#define MS_ASSERT(cond) ((void)0)
#endif
_Noreturn void ms_assert_failed(const char *cond, const char *file, int line, const char *func);

/* Duplicate a string; NULL in, NULL out. */
char *ms_strdup(const char *s);
/* printf into a newly allocated string; NULL when out of memory. */
char *ms_asprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* The same with a va_list (ap is left as vsnprintf leaves it: va_end it). */
char *ms_vasprintf(const char *fmt, va_list ap) __attribute__((format(printf, 1, 0)));

/* WSP of RFC 5234: a space or a horizontal tab (the white space of DKIM,
 * DMARC and most tag=value grammars; line ends are FWS, not WSP). */
static inline int ms_is_wsp(int c)
{
    return c == ' ' || c == '\t';
}

/* ASCII case folding whatever the locale: protocol names and keywords are
 * ASCII, and strcasecmp follows LC_CTYPE. */
static inline int ms_ascii_lower(int c)
{
    return c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c;
}

/* strcasecmp and strncasecmp without the locale: under LC_CTYPE=tr_TR,
 * glibc's say "I" and "i" differ, and an SPF record's "IP4:" was an
 * unknown mechanism. Every case-insensitive compare in lib/ is one of
 * these three. */
int ms_ascii_strcasecmp(const char *a, const char *b);
int ms_ascii_strncasecmp(const char *a, const char *b, size_t n);
/* 1 when a (alen bytes) equals the string b but for ASCII case. */
int ms_ascii_ieq(const char *a, size_t alen, const char *b);

/* Milliseconds on the monotonic clock, for deadlines and durations (never
 * the wall clock, which may jump). */
int64_t ms_monotonic_ms(void);

/* Domain names (lib/core/domain.c). */

/* What a grammar adds to the DNS's own rules for a name: labels of 1 to 63
 * octets, at most 253 octets in all. Without MS_DOMAIN_LDH any visible
 * ASCII but "\\" may stand in a label (SPF's domain-spec). */
enum {
    MS_DOMAIN_LDH = 1 << 0,          /* letters, digits and "-" only */
    MS_DOMAIN_UNDERSCORE = 1 << 1,   /* with LDH: "_" too (DKIM selectors, _dmarc) */
    MS_DOMAIN_HOSTNAME = 1 << 2,     /* no label begins or ends with "-" (RFC 1123) */
    MS_DOMAIN_WILDCARD = 1 << 3,     /* a leading "*." is allowed (MTA-STS mx patterns) */
    MS_DOMAIN_FINAL_DOT = 1 << 4,    /* one final "." is allowed (and not counted) */
    MS_DOMAIN_TWO_LABELS = 1 << 5,   /* at least two labels */
};
/* 1 when name (len octets) is a domain name under the rules of flags. */
int ms_domain_check(const char *name, size_t len, unsigned flags);

/* A-labels, lower case, no trailing dot; MS_ERR_INVALID when the name is
 * not a domain name (empty label, label over 63 or name over 253 octets,
 * bytes that are neither a valid U-label nor printable ASCII). */
ms_status ms_domain_normalize(const char *in, char **out);
size_t ms_domain_label_count(const char *name);
/* The ancestor of name that has this many labels (name itself if it has
 * no more); points into name. */
const char *ms_domain_parent_with_labels(const char *name, size_t labels);
/* Non-zero when name is ancestor or below it. */
int ms_domain_is_within(const char *name, const char *ancestor);
/* RFC 7489's organizational domain: the registrable domain by the PSL. */
ms_status ms_domain_org_psl(ms_ctx *ctx, const char *name, char **out);
void ms_ctx_free_psl(void *psl);

/* Tag=value lists (lib/core/taglist.c; the grammar is at its top). */
enum { MS_TAG_FWS = 1 << 0 }; /* CR and LF count as white space too */

/* One item between ";" separators, white space trimmed. Without "=" only
 * start/end are set; an empty item has start == end. */
typedef struct ms_tag_item {
    size_t start, end;   /* the item */
    int has_equals;
    size_t equals;       /* offset of the "=" when has_equals */
    int separator;       /* a ";" ends it (0 for the last item) */
    const char *name;    /* before "=" */
    size_t name_len, name_offset;
    const char *value;   /* after "=" */
    size_t value_len, value_offset;
} ms_tag_item;

/* The tokenizer: the next item of text from *pos (start at 0); 0 when
 * there is none. An item is returned even when it is empty. */
int ms_tag_next(const char *text, size_t len, unsigned flags, size_t *pos, ms_tag_item *item);

/* RFC 6376 tag lists (DKIM keys and signatures, TLS-RPT, BIMI): items
 * checked against its name and value rules, at most MS_TAGLIST_MAX_TAGS
 * kept; what breaks the rules is listed in errors, and the rest is kept,
 * so one mistake never hides the others. Nothing is allocated. */
enum { MS_TAGLIST_MAX_TAGS = 64, MS_TAGLIST_MAX_ERRORS = 16 };

typedef enum ms_taglist_error_kind {
    MS_TAGLIST_NO_EQUALS,
    MS_TAGLIST_EMPTY_NAME,
    MS_TAGLIST_BAD_NAME,
    MS_TAGLIST_BAD_VALUE,
    MS_TAGLIST_TOO_MANY
} ms_taglist_error_kind;

typedef struct ms_tag {
    const char *name;
    size_t name_len, name_offset;
    const char *value; /* white space around it trimmed */
    size_t value_len, value_offset;
} ms_tag;

typedef struct ms_taglist_error {
    ms_taglist_error_kind kind;
    size_t offset;            /* of the offending byte */
    size_t item, item_len;    /* the whole item, for messages */
} ms_taglist_error;

typedef struct ms_taglist {
    ms_tag tags[MS_TAGLIST_MAX_TAGS];
    size_t count;
    ms_taglist_error errors[MS_TAGLIST_MAX_ERRORS];
    size_t error_count;
} ms_taglist;

void ms_taglist_parse(const char *text, size_t len, ms_taglist *out);
/* The first tag of this name (ASCII case-insensitive), or NULL. */
const ms_tag *ms_taglist_find(const ms_taglist *list, const char *name);
/* 1 when the tag's name is exactly name (DKIM's names are case-sensitive). */
int ms_tag_is(const ms_tag *tag, const char *name);
const char *ms_taglist_error_str(ms_taglist_error_kind kind);

/* A growable byte buffer, always NUL-terminated. */
typedef struct ms_buf {
    char *data;
    size_t len;
    size_t cap;
    int failed; /* set once an allocation failed; later appends do nothing */
} ms_buf;

#define MS_BUF_INIT {NULL, 0, 0, 0}

void ms_buf_append(ms_buf *buf, const char *data, size_t len);
void ms_buf_puts(ms_buf *buf, const char *s);
void ms_buf_printf(ms_buf *buf, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Hand over the string (NULL if any allocation failed) and reset buf. */
char *ms_buf_take(ms_buf *buf);
void ms_buf_free(ms_buf *buf);

/* Appends TXT record data in zone-file syntax (zonetxt.c): text split into
 * quoted character-strings of at most 255 octets, separated by spaces. */
void ms_buf_txt_strings(ms_buf *b, const char *text, size_t len);
/* One zone-file line "PREFIXDOMAIN. TTL IN TXT ..." for RECORD at the
 * normalised DOMAIN below the owner-name PREFIX ("_dmarc.",
 * "sel._domainkey."): the line `dmarc generate` and `dkim keygen` print. */
ms_status ms_zone_txt_line(const char *prefix, const char *domain, const char *record,
                           unsigned ttl, char **line);

/* Each module's table of diagnostic definitions, ended by an entry whose
 * code is NULL (MS_DIAG_END; the entries' texts come from
 * docs/diagnostics.md, core/catalogue.h). The catalogue (catalogue.c)
 * lists them all. */
extern const ms_diag_def ms_dns_diag_defs[];
extern const ms_diag_def ms_audit_diag_defs[];
extern const ms_diag_def ms_dmarc_diag_defs[];
extern const ms_diag_def ms_dmarc_discovery_diag_defs[];
extern const ms_diag_def ms_dmarc_advise_diag_defs[];
extern const ms_diag_def ms_dkim_diag_defs[];
extern const ms_diag_def ms_email_diag_defs[];
extern const ms_diag_def ms_spf_diag_defs[];
extern const ms_diag_def ms_cert_diag_defs[];
extern const ms_diag_def ms_tls_diag_defs[];
extern const ms_diag_def ms_conf_diag_defs[];
extern const ms_diag_def ms_roundcube_diag_defs[];

#endif
