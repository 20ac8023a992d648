/* UTF-8, code point safety and internationalized domains for the address
 * parser. The parser only comes here for non-ASCII bytes (profile intl)
 * and for "xn--" labels, so the plain ASCII path never allocates. */
#include "email_internal.h"

#include <idn2.h>
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

/* RFC 3492 Punycode, decoding only, into at most 64 code points. */
enum { PC_BASE = 36, PC_TMIN = 1, PC_TMAX = 26, PC_SKEW = 38, PC_DAMP = 700 };

static unsigned pc_adapt(unsigned delta, unsigned numpoints, int first)
{
    delta = first ? delta / PC_DAMP : delta / 2;
    delta += delta / numpoints;
    unsigned k = 0;
    while (delta > ((PC_BASE - PC_TMIN) * PC_TMAX) / 2) {
        delta /= PC_BASE - PC_TMIN;
        k += PC_BASE;
    }
    return k + (PC_BASE - PC_TMIN + 1) * delta / (delta + PC_SKEW);
}

static int pc_digit(unsigned char c)
{
    if (c >= '0' && c <= '9')
        return c - '0' + 26;
    c |= 0x20;
    if (c >= 'a' && c <= 'z')
        return c - 'a';
    return -1;
}

int em_alabel_ok(const unsigned char *label, size_t len)
{
    const unsigned char *in = label + 4;
    size_t n = len - 4, basic = 0;
    unsigned out[64];
    size_t count = 0;
    if (n == 0)
        return 0;
    for (size_t k = 0; k < n; k++)
        if (in[k] == '-')
            basic = k;
    size_t pos = 0;
    if (basic > 0 || (n > 0 && in[0] == '-')) {
        for (size_t k = 0; k < basic; k++) {
            if (count == 64)
                return 0;
            out[count++] = in[k];
        }
        pos = basic + 1;
    }
    unsigned code = 0x80, bias = 72, i = 0;
    int non_ascii = 0;
    while (pos < n) {
        unsigned oldi = i, w = 1;
        for (unsigned k = PC_BASE;; k += PC_BASE) {
            if (pos >= n)
                return 0;
            int d = pc_digit(in[pos++]);
            if (d < 0 || (unsigned)d > (0xFFFFFFFFu - i) / w)
                return 0;
            i += (unsigned)d * w;
            unsigned t = k <= bias ? PC_TMIN : k >= bias + PC_TMAX ? PC_TMAX : k - bias;
            if ((unsigned)d < t)
                break;
            if (w > 0xFFFFFFFFu / (PC_BASE - t))
                return 0;
            w *= PC_BASE - t;
        }
        bias = pc_adapt(i - oldi, (unsigned)count + 1, oldi == 0);
        if (i / (count + 1) > 0x10FFFF - code)
            return 0;
        code += i / (unsigned)(count + 1);
        i %= (unsigned)(count + 1);
        if (count == 64 || code < 0x80 || code > 0x10FFFF || (code >= 0xD800 && code <= 0xDFFF) ||
            em_codepoint_unsafe(code))
            return 0;
        memmove(out + i + 1, out + i, (count - i) * sizeof out[0]);
        out[i++] = code;
        count++;
        non_ascii = 1;
    }
    return non_ascii;
}

char *em_domain_to_ascii(const char *d, size_t n)
{
    char *copy = malloc(n + 1);
    if (copy == NULL)
        return NULL;
    memcpy(copy, d, n);
    copy[n] = '\0';
    int ascii = 1;
    for (size_t k = 0; k < n; k++)
        if ((unsigned char)copy[k] >= 0x80)
            ascii = 0;
    if (ascii) {
        for (size_t k = 0; k < n; k++)
            if (copy[k] >= 'A' && copy[k] <= 'Z')
                copy[k] = (char)(copy[k] + 32);
        return copy;
    }
    uint8_t *out = NULL;
    /* STD3 rules: UTS 46 maps some code points to ASCII punctuation
     * (U+037E to ";"); a host name must stay letters, digits, hyphens. */
    int rc = idn2_lookup_u8((const uint8_t *)copy, &out,
                            IDN2_NFC_INPUT | IDN2_NONTRANSITIONAL | IDN2_USE_STD3_ASCII_RULES);
    free(copy);
    if (rc != IDN2_OK) {
        idn2_free(out);
        return NULL;
    }
    /* libidn2's memory is released with idn2_free; hand out our own. */
    char *res = ms_strdup((const char *)out);
    idn2_free(out);
    return res;
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

enum em_diag em_idn_check(const unsigned char *d, size_t n, size_t local_octets)
{
    char *a = em_domain_to_ascii((const char *)d, n);
    if (a == NULL)
        return EM_RFC5322_BAD_IDN;
    size_t len = strlen(a), label = 0;
    enum em_diag r = EM_VALID;
    for (size_t k = 0; k <= len && r == EM_VALID; k++) {
        unsigned char c = k < len ? (unsigned char)a[k] : '.';
        /* the DNS form must be LDH, whatever mapping produced it */
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
    else if (r == EM_VALID && local_octets + 1 + len > 254)
        r = EM_RFC5322_TOO_LONG;
    free(a);
    return r;
}
