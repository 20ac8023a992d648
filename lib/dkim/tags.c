/* The tag lists of DKIM key records and DKIM-Signature fields (RFC 6376
 * 3.2, split by lib/core's tokenizer) as findings, and the strict base64
 * and quoted-printable decoders for p=, b=, bh= and z=. */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

/* FWS here also takes bare CR and LF: header fields arrive unfolded or
 * folded, and TXT records sometimes carry line breaks from zone files. */
static int is_fws(char c)
{
    return ms_is_wsp(c) || c == '\r' || c == '\n';
}

/* The item's text before its "=", for messages. */
static int name_part(const char *text, const ms_taglist_error *e, const char **name)
{
    const char *item = text + e->item;
    const char *eq = memchr(item, '=', e->item_len);
    size_t n = eq ? (size_t)(eq - item) : e->item_len;
    while (n > 0 && is_fws(item[n - 1]))
        n--;
    *name = item;
    return (int)(n > 40 ? 40 : n);
}

static ms_status report_error(const char *text, const ms_taglist_error *e, const char *location,
                              int syntax_code, ms_diag_list *diags)
{
    const char *name;
    int n = name_part(text, e, &name);
    long off = (long)e->item;
    switch (e->kind) {
    case MS_TAGLIST_NO_EQUALS:
        return ms_diag_add(diags, DKD(syntax_code), location, off, "\"%.*s\" has no \"=\"", n,
                           name);
    case MS_TAGLIST_EMPTY_NAME:
    case MS_TAGLIST_BAD_NAME:
        return ms_diag_add(diags, DKD(syntax_code), location, off, "\"%.*s\" is not a tag name",
                           n, name);
    case MS_TAGLIST_BAD_VALUE:
        return ms_diag_add(diags, DKD(syntax_code), location, off,
                           "the value of %.*s= holds a byte that is not printable ASCII", n, name);
    case MS_TAGLIST_TOO_MANY:
        break;
    }
    return ms_diag_add(diags, DKD(syntax_code), location, off, "more than %d tags",
                       MS_TAGLIST_MAX_TAGS);
}

/* A repeated name is reported and dropped, so each tag is read once. */
static ms_status drop_duplicates(ms_taglist *tags, const char *location, int dup_code,
                                 ms_diag_list *diags)
{
    size_t kept = 0;
    for (size_t i = 0; i < tags->count; i++) {
        const ms_tag *t = &tags->tags[i];
        int seen = 0;
        for (size_t k = 0; k < kept && !seen; k++)
            seen = tags->tags[k].name_len == t->name_len &&
                   memcmp(tags->tags[k].name, t->name, t->name_len) == 0;
        if (!seen) {
            tags->tags[kept++] = *t;
            continue;
        }
        ms_status st = ms_diag_add(diags, DKD(dup_code), location, (long)t->name_offset,
                                   "%.*s= appears more than once", (int)t->name_len, t->name);
        if (st != MS_OK)
            return st;
    }
    tags->count = kept;
    return MS_OK;
}

ms_status dk_tags_parse(const char *text, size_t len, const char *location, int syntax_code,
                        int dup_code, ms_taglist *out, ms_diag_list *diags)
{
    ms_taglist_parse(text, len, out);
    for (size_t i = 0; i < out->error_count; i++) {
        ms_status st = report_error(text, &out->errors[i], location, syntax_code, diags);
        if (st != MS_OK)
            return st;
    }
    return drop_duplicates(out, location, dup_code, diags);
}

char *dk_tag_strdup(const ms_tag *t)
{
    char *s = malloc(t->value_len + 1);
    if (s) {
        memcpy(s, t->value, t->value_len);
        s[t->value_len] = '\0';
    }
    return s;
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
