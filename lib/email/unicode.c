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
    char *copy = malloc(n + 1);
    if (copy == NULL)
        return IDN2_MALLOC;
    memcpy(copy, d, n);
    copy[n] = '\0';
    uint8_t *idn = NULL;
    /* STD3 rules: UTS 46 maps some code points to ASCII punctuation
     * (U+037E to ";"); a host name must stay letters, digits, hyphens. */
    int rc = idn2_lookup_u8((const uint8_t *)copy, &idn,
                            IDN2_NFC_INPUT | IDN2_NONTRANSITIONAL | IDN2_USE_STD3_ASCII_RULES);
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

char *em_domain_to_ascii(const char *d, size_t n)
{
    char *dns;
    size_t len;
    int transient;
    domain_dns_form((const unsigned char *)d, n, &dns, &len, &transient);
    return dns;
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

/* This thread's last verdicts, by domain. Address lists repeat their
 * domains, and libidn2 takes microseconds for a name where the rest of a
 * check takes tens of nanoseconds. Direct-mapped: a collision only means
 * computing again. The slots are on the heap, allocated by the thread's
 * first check of a non-ASCII or A-label domain and freed when the thread
 * exits (a library loaded with dlopen must not take a large static TLS
 * block); without memory, nothing is cached. Longer names are not kept. */
enum { IDN_CACHE_SLOTS = 4096, IDN_CACHE_NAME_MAX = 96 };
typedef struct {
    size_t n; /* 0: an empty slot */
    size_t ascii_len;
    enum em_diag verdict;
    unsigned char name[IDN_CACHE_NAME_MAX];
} idn_cache_slot;
static _Thread_local idn_cache_slot *idn_cache;
static pthread_key_t idn_cache_key; /* its destructor frees a thread's slots */
static pthread_once_t idn_cache_key_once = PTHREAD_ONCE_INIT;

static void idn_cache_key_create(void)
{
    (void)pthread_key_create(&idn_cache_key, free);
}

static idn_cache_slot *idn_cache_slots(void)
{
    if (idn_cache == NULL && pthread_once(&idn_cache_key_once, idn_cache_key_create) == 0) {
        idn_cache = calloc(IDN_CACHE_SLOTS, sizeof *idn_cache);
        if (idn_cache != NULL && pthread_setspecific(idn_cache_key, idn_cache) != 0) {
            free(idn_cache);
            idn_cache = NULL;
        }
    }
    return idn_cache;
}

static idn_cache_slot *idn_cache_slot_for(const unsigned char *d, size_t n)
{
    idn_cache_slot *slots = n > 0 && n <= IDN_CACHE_NAME_MAX ? idn_cache_slots() : NULL;
    if (slots == NULL)
        return NULL;
    uint32_t h = 2166136261u; /* FNV-1a */
    for (size_t k = 0; k < n; k++)
        h = (h ^ d[k]) * 16777619u;
    return &slots[h % IDN_CACHE_SLOTS];
}

enum em_diag em_idn_verdict(const unsigned char *d, size_t n, size_t *ascii_len, int *transient)
{
    char *dns;
    enum em_diag r = domain_dns_form(d, n, &dns, ascii_len, transient);
    free(dns);
    return r;
}

enum em_diag em_idn_check(const unsigned char *d, size_t n, size_t local_octets)
{
    idn_cache_slot *slot = idn_cache_slot_for(d, n);
    enum em_diag r;
    size_t len = 0;
    if (slot != NULL && slot->n == n && memcmp(slot->name, d, n) == 0) {
        r = slot->verdict;
        len = slot->ascii_len;
    } else {
        int transient;
        r = em_idn_verdict(d, n, &len, &transient);
        if (slot != NULL && !transient) {
            slot->n = n;
            memcpy(slot->name, d, n);
            slot->verdict = r;
            slot->ascii_len = len;
        }
    }
    if (r == EM_VALID && local_octets + 1 + len > 254)
        r = EM_RFC5322_TOO_LONG;
    return r;
}
