/* How the e-mail unit tests read their inputs: the is_email suite's XML
 * text (test_email_isemail.c, test_email_fastpath.c) and the C escapes of
 * tests/data/email/addresses.txt (test_email_lib.c, test_email_fastpath.c). */
#ifndef MAILSEC_TEST_EMAIL_TEXT_H
#define MAILSEC_TEST_EMAIL_TEXT_H

#include <stdlib.h>
#include <string.h>

/* Code point cp (below U+10000) as UTF-8 at o; returns its length. */
static inline size_t put_utf8(char *o, unsigned cp)
{
    if (cp < 0x80) {
        o[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        o[0] = (char)(0xC0 | (cp >> 6));
        o[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    o[0] = (char)(0xE0 | (cp >> 12));
    o[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
    o[2] = (char)(0x80 | (cp & 0x3F));
    return 3;
}

/* The suite's XML text s (n bytes) to bytes at o (room for 3 * n): the
 * character references and the five entities decoded, and its U+2400 + n
 * stand-ins turned back into the control character n. Returns the length. */
static inline size_t isemail_xml_decode(const char *s, size_t n, char *o)
{
    static const struct {
        const char *name;
        char c;
    } ENT[] = {{"&amp", '&'}, {"&lt", '<'}, {"&gt", '>'}, {"&quot", '"'}, {"&apos", '\''}};
    size_t m = 0;
    for (size_t i = 0; i < n;) {
        const char *semi = s[i] == '&' ? memchr(s + i, ';', n - i) : NULL;
        if (semi == NULL) {
            o[m++] = s[i++];
            continue;
        }
        size_t el = (size_t)(semi - (s + i));
        unsigned cp = '&';
        if (el > 2 && s[i + 1] == '#')
            cp = (unsigned)strtoul(s + i + (s[i + 2] == 'x' ? 3 : 2), NULL, s[i + 2] == 'x' ? 16 : 10);
        for (size_t k = 0; k < sizeof ENT / sizeof ENT[0]; k++)
            if (strlen(ENT[k].name) == el && strncmp(s + i, ENT[k].name, el) == 0)
                cp = (unsigned char)ENT[k].c;
        if (cp >= 0x2400 && cp <= 0x241F)
            cp -= 0x2400;
        m += put_utf8(o + m, cp);
        i += el + 1;
    }
    return m;
}

/* C escapes (\\ \t \r \n \xHH, and \ before any other character) to
 * bytes, in place; returns the length. */
static inline size_t unescape(char *s)
{
    size_t m = 0;
    for (size_t i = 0; s[i] != '\0'; i++) {
        if (s[i] != '\\' || s[i + 1] == '\0') {
            s[m++] = s[i];
            continue;
        }
        char c = s[++i];
        if (c == 'x') {
            char hex[3] = {s[i + 1], s[i + 2], 0};
            s[m++] = (char)strtoul(hex, NULL, 16);
            i += 2;
        } else {
            s[m++] = c == 't' ? '\t' : c == 'r' ? '\r' : c == 'n' ? '\n' : c;
        }
    }
    s[m] = '\0';
    return m;
}

#endif
