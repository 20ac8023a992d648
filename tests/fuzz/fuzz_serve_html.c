/* The dashboard's escaping functions (src/serve_html.c) on any bytes: what
 * each writes can end nothing in its context. Text and attribute values:
 * no < > " ' and no & that does not start a character reference, valid
 * UTF-8 without controls but tab and line feed; attribute values also no
 * ASCII but letters, digits and references; URL values only unreserved
 * characters and %HH. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "serve_html.h"

typedef void (*escape_fn)(FILE *, const char *, size_t);

static char *run(escape_fn fn, const uint8_t *data, size_t size, size_t *len)
{
    char *out = NULL;
    FILE *f = open_memstream(&out, len);
    if (f == NULL)
        abort();
    fn(f, (const char *)data, size);
    if (fclose(f) != 0)
        abort();
    return out;
}

/* Valid UTF-8, no C0 control but tab and line feed, no DEL or C1. */
static void check_utf8(const unsigned char *s, size_t n)
{
    for (size_t i = 0; i < n;) {
        unsigned c = s[i];
        size_t k = c < 0x80 ? 1 : (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : (c & 0xF8) == 0xF0 ? 4 : 0;
        if (k == 0 || i + k > n)
            abort();
        if (k == 1 && ((c < 0x20 && c != '\t' && c != '\n') || c == 0x7F))
            abort();
        if (k == 2 && c == 0xC2 && s[i + 1] < 0xA0) /* C1 */
            abort();
        for (size_t j = 1; j < k; j++)
            if ((s[i + j] & 0xC0) != 0x80)
                abort();
        i += k;
    }
}

/* Every & starts one of the references the escaper writes. */
static void check_markup(const char *s, size_t n, int attr)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '<' || c == '>' || c == '"' || c == '\'')
            abort();
        if (c == '&') {
            const char *end = memchr(s + i, ';', n - i);
            if (end == NULL || end - (s + i) > 6)
                abort();
            i = (size_t)(end - s);
            continue;
        }
        if (attr && c < 0x80 && !((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) &&
            c != '\\') /* bidi controls are written as \uHHHH */
            abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t n;
    char *text = run(html_text, data, size, &n);
    check_utf8((const unsigned char *)text, n);
    check_markup(text, n, 0);
    free(text);

    char *attr = run(html_attr, data, size, &n);
    check_utf8((const unsigned char *)attr, n);
    check_markup(attr, n, 1);
    free(attr);

    char *url = run(html_url_value, data, size, &n);
    for (size_t i = 0; i < n; i++) {
        char c = url[i];
        int unreserved = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
                         c == '.' || c == '_' || c == '~';
        if (!unreserved && !(c == '%' && i + 2 < n && strchr("0123456789ABCDEF", url[i + 1]) &&
                             strchr("0123456789ABCDEF", url[i + 2])))
            abort();
        if (c == '%')
            i += 2;
    }
    free(url);
    return 0;
}
