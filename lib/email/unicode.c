/* UTF-8, code point safety and internationalized domains for the address
 * parser. The parser only comes here for non-ASCII bytes (profile intl)
 * and for "xn--" labels, so the plain ASCII path never allocates. */
#include "email_internal.h"

#include <idn2.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unictype.h>

size_t em_utf8_decode(const unsigned char *s, size_t n, unsigned *cp)
{
    unsigned c = s[0], v, min;
    size_t len;
    if (c < 0x80) {
        *cp = c;
        return 1;
    }
    if (c >= 0xC2 && c <= 0xDF) {
        len = 2, v = c & 0x1F, min = 0x80;
    } else if (c >= 0xE0 && c <= 0xEF) {
        len = 3, v = c & 0x0F, min = 0x800;
    } else if (c >= 0xF0 && c <= 0xF4) {
        len = 4, v = c & 0x07, min = 0x10000;
    } else {
        return 0;
    }
    if (n < len)
        return 0;
    for (size_t k = 1; k < len; k++) {
        if ((s[k] & 0xC0) != 0x80)
            return 0;
        v = (v << 6) | (s[k] & 0x3F);
    }
    if (v < min || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF))
        return 0;
    *cp = v;
    return len;
}

int em_codepoint_unsafe(unsigned cp)
{
    /* Joiners are format characters some scripts need (IDNA's CONTEXTJ);
     * every other format character, bidi overrides and isolates
     * included, can make an address read as something it is not. */
    if (cp == 0x200C || cp == 0x200D)
        return 0;
    return uc_is_general_category_withtable(
        cp, UC_CATEGORY_MASK_C | UC_CATEGORY_MASK_Zs | UC_CATEGORY_MASK_Zl | UC_CATEGORY_MASK_Zp);
}

/* "xn--" at the start of a label, in any case: an A-label (RFC 5890 2.3.2.1). */
static int is_alabel(const unsigned char *label, size_t n)
{
    return n >= 4 && (label[0] | 0x20) == 'x' && (label[1] | 0x20) == 'n' && label[2] == '-' &&
           label[3] == '-';
}

int em_has_alabel(const unsigned char *d, size_t n)
{
    if (memchr(d, '-', n) == NULL) /* most domains: no hyphen, no A-label */
        return 0;
    size_t start = 0;
    for (size_t k = 0; k <= n; k++) {
        if (k == n || d[k] == '.') {
            if (is_alabel(d + start, k - start))
                return 1;
            start = k + 1;
        }
    }
    return 0;
}

char *em_ascii_lower(const char *d, size_t n)
{
    char *copy = malloc(n + 1);
    if (copy == NULL)
        return NULL;
    for (size_t k = 0; k < n; k++)
        copy[k] = d[k] >= 'A' && d[k] <= 'Z' ? (char)(d[k] + 32) : d[k];
    copy[n] = '\0';
    return copy;
}

/* The DNS form of the domain d (n octets) in *out: IDN2_OK, or why not
 * (libidn2's code; IDN2_MALLOC when out of memory). */
static int domain_to_ascii(const char *d, size_t n, char **out)
{
    *out = NULL;
    int ascii = 1;
    for (size_t k = 0; k < n; k++)
        if ((unsigned char)d[k] >= 0x80)
            ascii = 0;
    /* Plain LDH names need no IDNA; A-labels do: libidn2 decodes each one
     * and applies IDNA2008 to its U-label (RFC 5891 5.4), so
     * "xn--n3h" fails as U+2603 does. */
    if (ascii && !em_has_alabel((const unsigned char *)d, n)) {
        *out = em_ascii_lower(d, n);
        return *out != NULL ? IDN2_OK : IDN2_MALLOC;
    }
    char room[256]; /* a domain that fits (any valid one): no allocation */
    char *copy = n < sizeof room ? room : malloc(n + 1);
    if (copy == NULL)
        return IDN2_MALLOC;
    memcpy(copy, d, n);
    copy[n] = '\0';
    uint8_t *idn = NULL;
    /* STD3 rules: UTS 46 maps some code points to ASCII punctuation
     * (U+037E to ";"); a host name must stay letters, digits, hyphens.
     * A name known to be in NFC already is not normalised first (the
     * same answer, one normalisation fewer). */
    int flags = IDN2_NONTRANSITIONAL | IDN2_USE_STD3_ASCII_RULES;
    if (!em_nfc_quick((const unsigned char *)d, n))
        flags |= IDN2_NFC_INPUT;
    int rc = idn2_lookup_u8((const uint8_t *)copy, &idn, flags);
    if (copy != room)
        free(copy);
    if (rc == IDN2_OK) {
        /* libidn2's memory is released with idn2_free; hand out our own. */
        *out = ms_strdup((const char *)idn);
        rc = *out != NULL ? IDN2_OK : IDN2_MALLOC;
    }
    idn2_free(idn);
    return rc;
}

/* The verdict on the domain d (n octets) alone: its DNS form in *dns
 * (NULL unless EM_VALID) and that form's length in *dns_len.
 * *transient set when libidn2 ran out of memory (a verdict not to be
 * remembered). */
static enum em_diag domain_dns_form(const unsigned char *d, size_t n, char **dns, size_t *dns_len,
                                    int *transient)
{
    char *a;
    *dns = NULL;
    *dns_len = 0;
    int rc = domain_to_ascii((const char *)d, n, &a);
    *transient = rc == IDN2_MALLOC;
    /* libidn2 refuses DNS's limits itself: said as the limits, not as a bad
     * IDN (a label's Punycode over 63 octets overflows its encoder) */
    if (rc == IDN2_TOO_BIG_LABEL || rc == IDN2_PUNYCODE_BIG_OUTPUT)
        return EM_RFC5322_LABEL_TOO_LONG;
    if (rc == IDN2_TOO_BIG_DOMAIN)
        return EM_RFC5322_DOMAIN_TOO_LONG;
    if (a == NULL)
        return EM_RFC5322_BAD_IDN;
    size_t len = strlen(a), label = 0;
    enum em_diag r = EM_VALID;
    for (size_t k = 0; k <= len && r == EM_VALID; k++) {
        unsigned char c = k < len ? (unsigned char)a[k] : '.';
        /* the DNS form must be LDH, whatever mapping produced it (libidn2
         * drops some STD3-disallowed code points rather than refusing) */
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.') ||
            (c == '.' && label == 0) || (c == '-' && label == 0) ||
            (c == '.' && a[k - 1] == '-')) {
            r = EM_RFC5322_BAD_IDN;
        } else if (c == '.') {
            if (label > 63)
                r = EM_RFC5322_LABEL_TOO_LONG;
            label = 0;
        } else {
            label++;
        }
    }
    if (r == EM_VALID && len > 253)
        r = EM_RFC5322_DOMAIN_TOO_LONG;
    *dns_len = len;
    if (r == EM_VALID)
        *dns = a;
    else
        free(a);
    return r;
}

char *em_domain_to_unicode(const char *d, size_t n)
{
    char *ascii = em_domain_to_ascii(d, n);
    if (ascii == NULL)
        return NULL;
    char *out = NULL;
    int rc = idn2_to_unicode_8z8z(ascii, &out, 0);
    free(ascii);
    if (rc != IDN2_OK) {
        idn2_free(out);
        return NULL;
    }
    char *res = ms_strdup(out);
    idn2_free(out);
    return res;
}

/* This thread's verdicts, by domain. Address lists repeat their domains,
 * and libidn2 takes tens of microseconds for a name where the rest of a
 * check takes tens of nanoseconds; a list of a million addresses may hold
 * tens of thousands of distinct IDN domains, so the table is large.
 *
 * An open-addressing hash table: a domain lives in one of the
 * IDN_CACHE_PROBE slots from its hash's home slot, so a look-up reads at
 * most that many (a flood of names with one hash costs misses, never a
 * long search); when all of them are taken, the home slot is replaced.
 * The names are kept, whole, in an arena: a hit is a verdict computed for
 * exactly these bytes; a valid name's DNS form follows it there (the
 * normal forms of a list ask for it again and again). When the arena is full, the table starts empty
 * again. 3 MiB at most, allocated by the thread's first check of a
 * non-ASCII or A-label domain (calloc: pages are touched as they fill)
 * and freed when the thread exits (a library loaded with dlopen must not
 * take a large static TLS block); without memory, nothing is cached. */
enum {
    IDN_CACHE_SLOTS = 1 << 16, /* a power of two */
    IDN_CACHE_PROBE = 8,
    IDN_CACHE_ARENA = 1 << 21, /* bytes of names */
    IDN_CACHE_NAME_MAX = 255   /* longer domains fail the length limits before IDNA */
};
typedef struct {
    uint32_t hash;
    uint32_t name_off; /* in the arena */
    uint16_t n;        /* 0: an empty slot */
    uint16_t ascii_len; /* of the DNS form, in the arena after the name when the verdict is EM_VALID */
    uint8_t verdict;    /* an enum em_diag */
} idn_cache_slot;
typedef struct {
    size_t arena_len;
    idn_cache_stats stats;
    idn_cache_slot slots[IDN_CACHE_SLOTS];
    unsigned char arena[IDN_CACHE_ARENA];
} idn_cache;
static _Thread_local idn_cache *thread_idn_cache;
static pthread_key_t idn_cache_key; /* its destructor frees a thread's cache */
static pthread_once_t idn_cache_key_once = PTHREAD_ONCE_INIT;

static void idn_cache_key_create(void)
{
    (void)pthread_key_create(&idn_cache_key, free);
}

static idn_cache *idn_cache_get(void)
{
    if (thread_idn_cache == NULL && pthread_once(&idn_cache_key_once, idn_cache_key_create) == 0) {
        thread_idn_cache = calloc(1, sizeof *thread_idn_cache);
        if (thread_idn_cache != NULL && pthread_setspecific(idn_cache_key, thread_idn_cache) != 0) {
            free(thread_idn_cache);
            thread_idn_cache = NULL;
        }
    }
    return thread_idn_cache;
}

/* 8 bytes a step (a byte at a time, FNV's multiply's latency per byte
 * was most of a hit's cost): each word mixed in by a multiply and a
 * shift, the last 8 bytes read where they end (some bytes twice: the same
 * name always reads the same), the length mixed in first. */
static uint32_t idn_cache_hash(const unsigned char *d, size_t n)
{
    const uint64_t mul = 0x9E3779B97F4A7C15ull; /* 2^64 / golden ratio, odd */
    uint64_t h = n * mul, w;
    size_t k = 0;
    for (; k + 8 <= n; k += 8) {
        memcpy(&w, d + k, 8);
        h = (h ^ w) * mul;
        h ^= h >> 32;
    }
    if (k < n) {
        w = 0;
        if (n >= 8)
            memcpy(&w, d + n - 8, 8);
        else
            for (size_t j = 0; j < n; j++)
                w |= (uint64_t)d[j] << 8 * j;
        h = (h ^ w) * mul;
    }
    /* MurmurHash3's finaliser: similar names spread over the whole table */
    h ^= h >> 33;
    h *= 0xFF51AFD7ED558CCDull;
    h ^= h >> 33;
    return (uint32_t)h;
}

static const idn_cache_slot *idn_cache_find(const idn_cache *c, uint32_t h, const unsigned char *d, size_t n)
{
    for (size_t k = 0; k < IDN_CACHE_PROBE; k++) {
        const idn_cache_slot *s = &c->slots[(h + k) & (IDN_CACHE_SLOTS - 1)];
        if (s->n == 0)
            return NULL; /* the domain would be here: never stored */
        if (s->hash == h && s->n == n && memcmp(c->arena + s->name_off, d, n) == 0)
            return s;
    }
    return NULL;
}

static void idn_cache_add(idn_cache *c, uint32_t h, const unsigned char *d, size_t n, enum em_diag verdict,
                          size_t ascii_len, const char *dns)
{
    size_t kept = n + (dns != NULL ? ascii_len : 0);
    if (kept > IDN_CACHE_ARENA - c->arena_len) { /* full: start again */
        memset(c->slots, 0, sizeof c->slots);
        c->arena_len = 0;
        c->stats.emptied++;
    }
    idn_cache_slot *slot = &c->slots[h & (IDN_CACHE_SLOTS - 1)]; /* replaced if no slot is free */
    for (size_t k = 0; k < IDN_CACHE_PROBE; k++) {
        idn_cache_slot *s = &c->slots[(h + k) & (IDN_CACHE_SLOTS - 1)];
        if (s->n == 0) {
            slot = s;
            break;
        }
    }
    memcpy(c->arena + c->arena_len, d, n);
    if (dns != NULL)
        memcpy(c->arena + c->arena_len + n, dns, ascii_len);
    *slot = (idn_cache_slot){.hash = h, .name_off = (uint32_t)c->arena_len, .n = (uint16_t)n,
                             .ascii_len = (uint16_t)ascii_len, .verdict = (uint8_t)verdict};
    c->arena_len += kept;
}

idn_cache_stats em_idn_cache_stats(void)
{
    idn_cache_stats none = {0};
    return thread_idn_cache != NULL ? thread_idn_cache->stats : none;
}

enum em_diag em_idn_verdict(const unsigned char *d, size_t n, size_t *ascii_len, int *transient)
{
    char *dns;
    enum em_diag r = domain_dns_form(d, n, &dns, ascii_len, transient);
    free(dns);
    return r;
}

/* The verdict on the domain d (n octets), from this thread's cache when
 * it holds it; its DNS form's length in *len, and, when dns is not NULL,
 * the DNS form itself in *dns (malloc'd; NULL unless EM_VALID, or out of
 * memory). */
static enum em_diag idn_cached(const unsigned char *d, size_t n, size_t *len, char **dns)
{
    idn_cache *c = n > 0 && n <= IDN_CACHE_NAME_MAX ? idn_cache_get() : NULL;
    uint32_t h = c != NULL ? idn_cache_hash(d, n) : 0;
    const idn_cache_slot *hit = c != NULL ? idn_cache_find(c, h, d, n) : NULL;
    if (hit != NULL) {
        c->stats.hits++;
        *len = hit->ascii_len;
        if (dns != NULL && hit->verdict == EM_VALID && (*dns = malloc(*len + 1)) != NULL) {
            memcpy(*dns, c->arena + hit->name_off + hit->n, *len);
            (*dns)[*len] = '\0';
        }
        return (enum em_diag)hit->verdict;
    }
    int transient;
    char *form;
    enum em_diag r = domain_dns_form(d, n, &form, len, &transient);
    if (c != NULL) {
        c->stats.misses++;
        if (!transient && *len <= UINT16_MAX)
            idn_cache_add(c, h, d, n, r, *len, form);
    }
    if (dns != NULL)
        *dns = form;
    else
        free(form);
    return r;
}

enum em_diag em_idn_check(const unsigned char *d, size_t n, size_t local_octets)
{
    size_t len = 0;
    enum em_diag r = idn_cached(d, n, &len, NULL);
    if (r == EM_VALID && local_octets + 1 + len > 254)
        r = EM_RFC5322_TOO_LONG;
    return r;
}

char *em_domain_to_ascii(const char *d, size_t n)
{
    char *dns = NULL;
    size_t len;
    int transient;
    int ascii = 1;
    for (size_t k = 0; k < n; k++)
        ascii &= (unsigned char)d[k] < 0x80;
    /* a plain LDH name is only lower-cased: not worth a place in the cache */
    if (ascii && !em_has_alabel((const unsigned char *)d, n))
        domain_dns_form((const unsigned char *)d, n, &dns, &len, &transient);
    else
        idn_cached((const unsigned char *)d, n, &len, &dns);
    return dns;
}
