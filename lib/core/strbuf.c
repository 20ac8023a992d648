/* Strings: copies, printf into new strings, ASCII comparison, and ms_buf,
 * the one growable buffer. */
#include "internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

char *ms_strdup(const char *s)
{
    if (s == NULL)
        return NULL;
    size_t len = strlen(s) + 1;
    char *copy = malloc(len);
    if (copy != NULL)
        memcpy(copy, s, len);
    return copy;
}

int ms_ascii_strncasecmp(const char *a, const char *b, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        int x = ms_ascii_lower((unsigned char)a[i]), y = ms_ascii_lower((unsigned char)b[i]);
        if (x != y || x == 0)
            return x - y;
    }
    return 0;
}

int ms_ascii_strcasecmp(const char *a, const char *b)
{
    return ms_ascii_strncasecmp(a, b, (size_t)-1);
}

int ms_ascii_ieq(const char *a, size_t alen, const char *b)
{
    return alen == strlen(b) && ms_ascii_strncasecmp(a, b, alen) == 0;
}

char *ms_vasprintf(const char *fmt, va_list ap)
{
    va_list again;
    va_copy(again, ap);
    int len = vsnprintf(NULL, 0, fmt, ap);
    char *out = NULL;
    if (len >= 0 && (out = malloc((size_t)len + 1)) != NULL)
        vsnprintf(out, (size_t)len + 1, fmt, again);
    va_end(again);
    return out;
}

char *ms_asprintf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *out = ms_vasprintf(fmt, ap);
    va_end(ap);
    return out;
}

static int buf_reserve(ms_buf *buf, size_t extra)
{
    if (buf->failed)
        return 0;
    if (extra > (size_t)-1 / 2 - buf->len) {
        buf->failed = 1;
        return 0;
    }
    size_t need = buf->len + extra + 1;
    if (need <= buf->cap)
        return 1;
    size_t cap = buf->cap ? buf->cap : 64;
    while (cap < need)
        cap *= 2;
    char *grown = realloc(buf->data, cap);
    if (grown == NULL) {
        buf->failed = 1;
        return 0;
    }
    buf->data = grown;
    buf->cap = cap;
    return 1;
}

void ms_buf_append(ms_buf *buf, const char *data, size_t len)
{
    if (!buf_reserve(buf, len))
        return;
    if (len > 0)
        memcpy(buf->data + buf->len, data, len);
    buf->len += len;
    MS_ASSERT(buf->len < buf->cap); /* room for the NUL, always */
    buf->data[buf->len] = '\0';
}

void ms_buf_puts(ms_buf *buf, const char *s)
{
    ms_buf_append(buf, s, strlen(s));
}

void ms_buf_printf(ms_buf *buf, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *s = ms_vasprintf(fmt, ap);
    va_end(ap);
    if (s == NULL) {
        buf->failed = 1;
        return;
    }
    ms_buf_puts(buf, s);
    free(s);
}

char *ms_buf_take(ms_buf *buf)
{
    char *out = NULL;
    if (!buf->failed) {
        out = buf->data ? buf->data : ms_strdup("");
        buf->data = NULL;
    }
    ms_buf_free(buf);
    return out;
}

void ms_buf_free(ms_buf *buf)
{
    free(buf->data);
    *buf = (ms_buf)MS_BUF_INIT;
}
