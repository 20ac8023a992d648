/* mailsec serve: one escaping function per output context (serve_html.h). */
#include "serve_html.h"

#include <stdint.h>
#include <string.h>

/* The code point of the well-formed UTF-8 sequence at s (at most len
 * bytes) and its length in *n; -1 when the bytes are not UTF-8 (overlong
 * forms, surrogates and values above U+10FFFF included), *n then 1. */
static long utf8_next(const unsigned char *s, size_t len, size_t *n)
{
    *n = 1;
    if (s[0] < 0x80)
        return s[0];
    size_t need;
    long cp, min;
    if ((s[0] & 0xE0) == 0xC0)
        need = 2, cp = s[0] & 0x1F, min = 0x80;
    else if ((s[0] & 0xF0) == 0xE0)
        need = 3, cp = s[0] & 0x0F, min = 0x800;
    else if ((s[0] & 0xF8) == 0xF0)
        need = 4, cp = s[0] & 0x07, min = 0x10000;
    else
        return -1;
    if (len < need)
        return -1;
    for (size_t i = 1; i < need; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return -1;
        cp = (cp << 6) | (s[i] & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        return -1;
    *n = need;
    return cp;
}

static int is_bidi_control(long cp)
{
    return (cp >= 0x202A && cp <= 0x202E) || (cp >= 0x2066 && cp <= 0x2069) || cp == 0x200E ||
           cp == 0x200F || cp == 0x061C;
}

/* What cannot be shown as itself: C0 controls (but tab and line feed),
 * DEL, C1 controls, and what is not UTF-8 (cp < 0). */
static int is_unshowable(long cp)
{
    return cp < 0 || (cp < 0x20 && cp != '\t' && cp != '\n') || (cp >= 0x7F && cp <= 0x9F);
}

/* The walk both HTML contexts share; attr: every ASCII character but
 * letters and digits as a character reference. */
static void html_escape(FILE *out, const char *text, size_t len, int attr)
{
    const unsigned char *s = (const unsigned char *)text;
    size_t i = 0;
    while (i < len) {
        size_t n;
        long cp = utf8_next(s + i, len - i, &n);
        if (is_unshowable(cp))
            fputs("\xEF\xBF\xBD", out); /* U+FFFD */
        else if (is_bidi_control(cp))
            fprintf(out, "\\u%04lx", (unsigned long)cp);
        else if (cp == '&')
            fputs("&amp;", out);
        else if (cp == '<')
            fputs("&lt;", out);
        else if (cp == '>')
            fputs("&gt;", out);
        else if (cp == '"')
            fputs("&quot;", out);
        else if (cp == '\'')
            fputs("&#39;", out);
        else if (attr && cp < 0x80 && !((cp >= 'a' && cp <= 'z') || (cp >= 'A' && cp <= 'Z') || (cp >= '0' && cp <= '9')))
            fprintf(out, "&#x%02lX;", (unsigned long)cp);
        else
            fwrite(s + i, 1, n, out);
        i += n;
    }
}

void html_text(FILE *out, const char *s, size_t len)
{
    html_escape(out, s, len, 0);
}

void html_attr(FILE *out, const char *s, size_t len)
{
    html_escape(out, s, len, 1);
}

void html_url_value(FILE *out, const char *s, size_t len)
{
    static const char HEX[] = "0123456789ABCDEF";
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
            c == '.' || c == '_' || c == '~')
            fputc(c, out);
        else
            fprintf(out, "%%%c%c", HEX[c >> 4], HEX[c & 15]);
    }
}

void html_text_s(FILE *out, const char *s)
{
    if (s != NULL)
        html_text(out, s, strlen(s));
}

void html_attr_s(FILE *out, const char *s)
{
    if (s != NULL)
        html_attr(out, s, strlen(s));
}

void html_url_value_s(FILE *out, const char *s)
{
    if (s != NULL)
        html_url_value(out, s, strlen(s));
}
