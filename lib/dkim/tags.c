/* The tag-list grammar both DKIM key records and DKIM-Signature fields use
 * (RFC 6376 3.2), and the strict base64 decoder for p=, b= and bh=. */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

/* FWS here also takes bare CR and LF: header fields arrive unfolded or
 * folded, and TXT records sometimes carry line breaks from zone files. */
static int is_fws(char c)
{
    return ms_is_wsp(c) || c == '\r' || c == '\n';
}

static int is_alpha(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static int is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* tag-name = ALPHA *ALNUMPUNC, ALNUMPUNC = ALPHA / DIGIT / "_" */
static int valid_tag_name(const char *s, size_t len)
{
    if (len == 0 || !is_alpha(s[0]))
        return 0;
    for (size_t i = 1; i < len; i++)
        if (!is_alpha(s[i]) && !is_digit(s[i]) && s[i] != '_')
            return 0;
    return 1;
}

/* tval = 1*VALCHAR, VALCHAR = %x21-3A / %x3C-7E: printable ASCII without
 * ";", separated by FWS. */
static int valid_tag_value(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (!is_fws((char)c) && (c < 0x21 || c > 0x7e))
            return 0;
    }
    return 1;
}

int dk_ascii_casecmp(const char *a, size_t alen, const char *b, size_t blen)
{
    if (alen != blen)
        return 1;
    for (size_t i = 0; i < alen; i++) {
        char x = a[i], y = b[i];
        if (x >= 'A' && x <= 'Z')
            x = (char)(x - 'A' + 'a');
        if (y >= 'A' && y <= 'Z')
            y = (char)(y - 'A' + 'a');
        if (x != y)
            return 1;
    }
    return 0;
}

int dk_tag_is(const dk_tag *t, const char *name)
{
    size_t n = strlen(name);
    return t->name_len == n && memcmp(t->name, name, n) == 0;
}

char *dk_tag_strdup(const dk_tag *t)
{
    char *s = malloc(t->value_len + 1);
    if (s) {
        memcpy(s, t->value, t->value_len);
        s[t->value_len] = '\0';
    }
    return s;
}

static void trim(const char **s, size_t *len)
{
    while (*len > 0 && is_fws(**s)) {
        (*s)++;
        (*len)--;
    }
    while (*len > 0 && is_fws((*s)[*len - 1]))
        (*len)--;
}

static ms_status push_tag(dk_tags *out, size_t *cap, const dk_tag *tag)
{
    if (out->count == *cap) {
        size_t ncap = *cap ? *cap * 2 : 8;
        dk_tag *n = realloc(out->items, ncap * sizeof *n);
        if (n == NULL)
            return MS_ERR_NOMEM;
        out->items = n;
        *cap = ncap;
    }
    out->items[out->count++] = *tag;
    return MS_OK;
}

/* One tag-spec, text[start, end). */
static ms_status parse_spec(const char *text, size_t start, size_t end, const char *location,
                            int syntax_code, int dup_code, dk_tags *out, size_t *cap,
                            int *malformed, ms_diag_list *diags)
{
    const char *spec = text + start;
    size_t len = end - start;
    trim(&spec, &len);
    if (len == 0)
        return MS_OK; /* "a=1;;" and a trailing ";" are allowed (tag-list = tag-spec *(";" tag-spec) [";"]) */
    const char *eq = memchr(spec, '=', len);
    long off = (long)(spec - text);
    if (eq == NULL) {
        *malformed = 1;
        return ms_diag_add(diags, DKD(syntax_code), location, off, "\"%.*s\" has no \"=\"",
                           (int)(len > 40 ? 40 : len), spec);
    }
    dk_tag tag = {spec, (size_t)(eq - spec), eq + 1, len - (size_t)(eq - spec) - 1,
                  (size_t)off};
    trim(&tag.name, &tag.name_len);
    trim(&tag.value, &tag.value_len);
    if (!valid_tag_name(tag.name, tag.name_len)) {
        *malformed = 1;
        return ms_diag_add(diags, DKD(syntax_code), location, off, "\"%.*s\" is not a tag name",
                           (int)(tag.name_len > 40 ? 40 : tag.name_len), tag.name);
    }
    if (!valid_tag_value(tag.value, tag.value_len)) {
        *malformed = 1;
        return ms_diag_add(diags, DKD(syntax_code), location, off,
                           "the value of %.*s= holds a byte that is not printable ASCII",
                           (int)tag.name_len, tag.name);
    }
    for (size_t i = 0; i < out->count; i++)
        if (out->items[i].name_len == tag.name_len &&
            memcmp(out->items[i].name, tag.name, tag.name_len) == 0) {
            *malformed = 1;
            return ms_diag_add(diags, DKD(dup_code), location, off, "%.*s= appears more than once",
                               (int)tag.name_len, tag.name);
        }
    return push_tag(out, cap, &tag);
}

ms_status dk_tags_parse(const char *text, size_t len, const char *location, int syntax_code,
                        int dup_code, dk_tags *out, int *malformed, ms_diag_list *diags)
{
    out->items = NULL;
    out->count = 0;
    *malformed = 0;
    size_t cap = 0, start = 0;
    for (size_t i = 0; i <= len; i++) {
        if (i < len && text[i] != ';')
            continue;
        ms_status st = parse_spec(text, start, i, location, syntax_code, dup_code, out, &cap,
                                  malformed, diags);
        if (st != MS_OK) {
            dk_tags_free(out);
            return st;
        }
        start = i + 1;
    }
    return MS_OK;
}

void dk_tags_free(dk_tags *tags)
{
    free(tags->items);
    tags->items = NULL;
    tags->count = 0;
}

static int b64_value(char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+')
        return 62;
    if (c == '/')
        return 63;
    return -1;
}

int dk_base64_decode(const char *text, size_t len, unsigned char **out, size_t *out_len)
{
    *out = NULL;
    *out_len = 0;
    unsigned char *buf = malloc(len / 4 * 3 + 3);
    if (buf == NULL)
        return -2;
    size_t n = 0, quad = 0, pad = 0;
    uint32_t acc = 0;
    for (size_t i = 0; i < len; i++) {
        char c = text[i];
        if (is_fws(c))
            continue;
        if (c == '=') {
            /* padding only ends the last quantum */
            if (quad < 2 || ++pad > 2)
                goto bad;
            acc <<= 6;
            if (++quad == 4) {
                buf[n++] = (unsigned char)(acc >> 16);
                if (pad == 1)
                    buf[n++] = (unsigned char)(acc >> 8);
                quad = 0;
                acc = 0;
            }
            continue;
        }
        int v = b64_value(c);
        if (v < 0 || pad > 0)
            goto bad;
        acc = (acc << 6) | (uint32_t)v;
        if (++quad == 4) {
            buf[n++] = (unsigned char)(acc >> 16);
            buf[n++] = (unsigned char)(acc >> 8);
            buf[n++] = (unsigned char)acc;
            quad = 0;
            acc = 0;
        }
    }
    if (quad != 0)
        goto bad;
    *out = buf;
    *out_len = n;
    return 0;
bad:
    free(buf);
    return -1;
}

static int hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    if (c >= 'a' && c <= 'f') /* RFC 2045 6.7: robust decoders take lower case */
        return c - 'a' + 10;
    return -1;
}

int dk_qp_decode(const char *text, size_t len, char **out)
{
    *out = NULL;
    char *buf = malloc(len + 1);
    if (buf == NULL)
        return -2;
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        char c = text[i];
        if (is_fws(c))
            continue; /* folding added after encoding is not part of the value */
        if (c == '=') {
            int hi = i + 2 < len ? hex_value(text[i + 1]) : -1;
            int lo = hi >= 0 ? hex_value(text[i + 2]) : -1;
            /* "=00" would cut the C string the value becomes */
            if (lo < 0 || (hi == 0 && lo == 0)) {
                free(buf);
                return -1;
            }
            buf[n++] = (char)(hi << 4 | lo);
            i += 2;
        } else if (c == ';' || c < 0x21 || c > 0x7e) {
            free(buf); /* dkim-safe-char is %x21-3A / %x3C / %x3E-7E */
            return -1;
        } else {
            buf[n++] = c;
        }
    }
    buf[n] = '\0';
    *out = buf;
    return 0;
}
