/* SPF macros (RFC 7208 section 7): syntax checks and expansion, and the
 * domain-spec rules that go with them. */
#include "internal.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A transformer's digits beyond this are clamped: RFC 7208 7.1 asks for
 * at least 128, and a value cannot select more parts than a name has. */
#define MACRO_MAX_DIGITS_VALUE 100000L
/* Parts a value is split into, at most (a name has at most 127 labels; an
 * explanation's %{s} may be longer, so be generous). */
#define MACRO_MAX_PARTS 1024

static int is_delimiter(int c)
{
    return c == '.' || c == '-' || c == '+' || c == ',' || c == '/' || c == '_' || c == '=';
}

static int is_letter(int c, int exp_text, int *exp_only)
{
    c = tolower(c);
    *exp_only = (c == 'c' || c == 'r' || c == 't');
    if (*exp_only && !exp_text)
        return 0;
    return strchr("sloidphcrtv", c) != NULL && c != '\0';
}

/* Parses "%{...}" at s (s[0] == '%', s[1] == '{'); returns its length, or
 * 0 when malformed. */
static size_t macro_expand_len(const char *s, size_t len, int exp_text, int *exp_only)
{
    size_t i = 2;
    *exp_only = 0;
    if (i >= len || !is_letter((unsigned char)s[i], exp_text, exp_only))
        return 0;
    i++;
    size_t digits = i;
    int nonzero = 0;
    while (i < len && isdigit((unsigned char)s[i]))
        nonzero |= s[i++] != '0';
    if (i > digits && !nonzero)
        return 0; /* RFC 7208 7.1: a DIGIT transformer "MUST be nonzero" */
    if (i < len && (s[i] == 'r' || s[i] == 'R'))
        i++;
    while (i < len && is_delimiter((unsigned char)s[i]))
        i++;
    return i < len && s[i] == '}' ? i + 1 : 0;
}

long spf_macro_check(const char *s, size_t len, int exp_text)
{
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == ' ' && exp_text)
            continue;
        if (c < 0x21 || c > 0x7e)
            return (long)i;
        if (c != '%')
            continue;
        if (i + 1 >= len)
            return (long)i;
        char n = s[i + 1];
        if (n == '%' || n == '_' || n == '-') {
            i++;
            continue;
        }
        if (n != '{')
            return (long)i;
        int exp_only;
        size_t m = macro_expand_len(s + i, len - i, exp_text, &exp_only);
        if (m == 0)
            return (long)i;
        i += m - 1;
    }
    return -1;
}

static int toplabel_ok(const char *s, size_t len)
{
    if (len == 0)
        return 0;
    int alpha = 0, dash = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (isalpha(c))
            alpha = 1;
        else if (c == '-')
            dash = 1;
        else if (!isdigit(c))
            return 0;
    }
    if (dash)
        return s[0] != '-' && s[len - 1] != '-';
    return alpha;
}

int spf_domain_end_ok(const char *s, size_t len)
{
    if (len == 0)
        return 0;
    if (s[len - 1] == '}') {
        /* The last macro-expand must end the string. */
        for (size_t i = len - 1; i-- > 0;) {
            if (s[i] == '%' && s[i + 1] == '{') {
                int exp_only;
                return macro_expand_len(s + i, len - i, 1, &exp_only) == len - i;
            }
        }
        return 0;
    }
    if (len >= 2 && s[len - 1] == '%')
        return 0;
    if (len >= 2 && s[len - 2] == '%' && (s[len - 1] == '%' || s[len - 1] == '_' || s[len - 1] == '-'))
        return 1;
    size_t end = len;
    if (s[end - 1] == '.')
        end--;
    size_t dot = end;
    while (dot > 0 && s[dot - 1] != '.')
        dot--;
    if (dot == 0)
        return 0; /* no "." before the top label */
    return toplabel_ok(s + dot, end - dot);
}

ms_status spf_target_name(const char *expanded, char **out)
{
    *out = NULL;
    size_t len = strlen(expanded);
    if (len > 0 && expanded[len - 1] == '.')
        len--;
    const char *p = expanded;
    /* RFC 7208 7.3: drop labels from the left until it fits. */
    while (len > 253) {
        const char *dot = memchr(p, '.', len);
        if (dot == NULL)
            return MS_OK;
        len -= (size_t)(dot + 1 - p);
        p = dot + 1;
    }
    if (len == 0)
        return MS_OK;
    size_t label = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)p[i];
        if (c == '\\' || c < 0x20 || c > 0x7e)
            return MS_OK;
        if (c == '.') {
            if (label == 0)
                return MS_OK;
            label = 0;
        } else if (++label > 63) {
            return MS_OK;
        }
    }
    if (label == 0)
        return MS_OK;
    *out = strndup(p, len);
    return *out != NULL ? MS_OK : MS_ERR_NOMEM;
}

/* ---- expansion ---- */

static void url_escape(ms_buf *out, const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~')
            ms_buf_append(out, (const char *)&c, 1);
        else
            ms_buf_printf(out, "%%%02X", c);
    }
}

static void ip_dotted(const spf_macro_env *env, ms_buf *out, int nibbles)
{
    if (!env->is_v6) {
        ms_buf_printf(out, "%u.%u.%u.%u", env->ip[0], env->ip[1], env->ip[2], env->ip[3]);
        return;
    }
    if (nibbles) {
        /* Upper case, as in RFC 7208 7.4's examples (DNS does not care). */
        static const char HEX[] = "0123456789ABCDEF";
        for (int i = 0; i < 16; i++) {
            char part[4] = {HEX[env->ip[i] >> 4], '.', HEX[env->ip[i] & 15], '\0'};
            if (i > 0)
                ms_buf_puts(out, ".");
            ms_buf_puts(out, part);
        }
        return;
    }
    char text[INET6_ADDRSTRLEN];
    if (inet_ntop(AF_INET6, env->ip, text, sizeof text) != NULL)
        ms_buf_puts(out, text);
}

/* The raw value of a macro letter. */
static void letter_value(const spf_macro_env *env, int letter, ms_buf *v)
{
    const char *at = strrchr(env->sender, '@');
    switch (letter) {
    case 's': ms_buf_puts(v, env->sender); break;
    case 'l':
        if (at != NULL)
            ms_buf_append(v, env->sender, (size_t)(at - env->sender));
        break;
    case 'o': ms_buf_puts(v, at != NULL ? at + 1 : env->sender); break;
    case 'd': ms_buf_puts(v, env->domain); break;
    case 'i': ip_dotted(env, v, 1); break;
    case 'c': ip_dotted(env, v, 0); break;
    case 'p': {
        const char *name = env->validated_name ? env->validated_name(env->arg, env->domain) : NULL;
        ms_buf_puts(v, name != NULL ? name : "unknown");
        break;
    }
    case 'h': ms_buf_puts(v, env->helo != NULL ? env->helo : ""); break;
    case 'r': ms_buf_puts(v, env->receiver != NULL ? env->receiver : "unknown"); break;
    case 't': ms_buf_printf(v, "%lld", env->now); break;
    case 'v': ms_buf_puts(v, env->is_v6 ? "ip6" : "in-addr"); break;
    }
}

/* Splits value on the delimiters, reverses and keeps the right-most
 * digits parts, joined with "." (RFC 7208 7.3). */
static int transform(const char *value, long digits, int reverse, const char *delims,
                     size_t ndelims, ms_buf *out)
{
    const char *starts[MACRO_MAX_PARTS];
    size_t lens[MACRO_MAX_PARTS];
    size_t n = 0, start = 0, len = strlen(value);
    for (size_t i = 0; i <= len; i++) {
        int split = i == len || memchr(ndelims ? delims : ".", value[i], ndelims ? ndelims : 1);
        if (!split)
            continue;
        if (n == MACRO_MAX_PARTS)
            return 0;
        starts[n] = value + start;
        lens[n] = i - start;
        n++;
        start = i + 1;
    }
    if (reverse) {
        for (size_t i = 0; i < n / 2; i++) {
            const char *ts = starts[i];
            size_t tl = lens[i];
            starts[i] = starts[n - 1 - i];
            lens[i] = lens[n - 1 - i];
            starts[n - 1 - i] = ts;
            lens[n - 1 - i] = tl;
        }
    }
    size_t first = digits > 0 && (size_t)digits < n ? n - (size_t)digits : 0;
    for (size_t i = first; i < n; i++) {
        if (i > first)
            ms_buf_puts(out, ".");
        ms_buf_append(out, starts[i], lens[i]);
    }
    return 1;
}

/* Expands one "%{...}" of length mlen at s into out; 0 on a bad macro. */
static int expand_one(const char *s, size_t mlen, const spf_macro_env *env, ms_buf *out)
{
    int letter = (unsigned char)s[2];
    int upper = isupper(letter);
    size_t i = 3;
    long digits = 0;
    int has_digits = 0;
    while (isdigit((unsigned char)s[i])) {
        has_digits = 1;
        if (digits < MACRO_MAX_DIGITS_VALUE)
            digits = digits * 10 + (s[i] - '0');
        i++;
    }
    if (has_digits && digits == 0)
        return 0; /* "%{d0}": zero parts is not a transformer */
    int reverse = 0;
    if (s[i] == 'r' || s[i] == 'R') {
        reverse = 1;
        i++;
    }
    const char *delims = s + i;
    size_t ndelims = mlen - 1 - i;
    ms_buf value = MS_BUF_INIT, t = MS_BUF_INIT;
    letter_value(env, tolower(letter), &value);
    int ok = transform(value.data != NULL ? value.data : "", digits, reverse, delims, ndelims, &t);
    if (ok && upper)
        url_escape(out, t.data != NULL ? t.data : "", t.len);
    else if (ok && t.len > 0)
        ms_buf_append(out, t.data, t.len);
    ms_buf_free(&value);
    ms_buf_free(&t);
    return ok;
}

char *spf_macro_expand(const char *s, const spf_macro_env *env, int exp_text, int *bad)
{
    *bad = 0;
    size_t len = strlen(s);
    if (spf_macro_check(s, len, exp_text) >= 0) {
        *bad = 1;
        return NULL;
    }
    ms_buf out = MS_BUF_INIT;
    ms_buf_puts(&out, ""); /* an empty expansion is "", not NULL */
    for (size_t i = 0; i < len; i++) {
        if (s[i] != '%') {
            ms_buf_append(&out, s + i, 1);
            continue;
        }
        char n = s[i + 1];
        if (n == '%' || n == '_' || n == '-') {
            ms_buf_puts(&out, n == '%' ? "%" : n == '_' ? " " : "%20");
            i++;
            continue;
        }
        int exp_only;
        size_t m = macro_expand_len(s + i, len - i, exp_text, &exp_only);
        if (!expand_one(s + i, m, env, &out)) {
            *bad = 1;
            ms_buf_free(&out);
            return NULL;
        }
        i += m - 1;
    }
    return ms_buf_take(&out);
}
