/* What the report parsers share: errors, text cleanup, numbers and times. */
#include "report_internal.h"

#include <arpa/inet.h>
#include "core/lazy_gmime.h"
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

void ms_report_error_clear(ms_report_error *err)
{
    if (err == NULL)
        return;
    free(err->message);
    err->message = NULL;
    err->line = 0;
    err->column = 0;
    err->offset = -1;
}

const char *ms_report_kind_name(ms_report_kind kind)
{
    switch (kind) {
    case MS_REPORT_AGGREGATE: return "aggregate";
    case MS_REPORT_TLSRPT: return "tls";
    case MS_REPORT_FAILURE: return "failure";
    }
    return "unknown";
}

ms_status ms_report_fail(ms_report_error *err, ms_status status, long line, long column,
                         int64_t offset, const char *fmt, ...)
{
    if (err == NULL)
        return status;
    free(err->message);
    va_list ap;
    va_start(ap, fmt);
    char text[512];
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    err->message = ms_strdup(text);
    err->line = line;
    err->column = column;
    err->offset = offset;
    return err->message != NULL ? status : MS_ERR_NOMEM; /* no words for why: memory ran out */
}

/* The length of the valid UTF-8 sequence starting at s (1 to 4), or 0 when
 * the bytes there are not one; n is what is available. */
static size_t utf8_sequence(const unsigned char *s, size_t n)
{
    unsigned char c = s[0];
    if (c < 0x80)
        return 1;
    size_t len;
    unsigned char lo = 0x80, hi = 0xBF; /* allowed range of the second byte */
    if (c >= 0xC2 && c <= 0xDF) {
        len = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
        len = 3;
        if (c == 0xE0)
            lo = 0xA0; /* overlong */
        else if (c == 0xED)
            hi = 0x9F; /* surrogates */
    } else if (c >= 0xF0 && c <= 0xF4) {
        len = 4;
        if (c == 0xF0)
            lo = 0x90; /* overlong */
        else if (c == 0xF4)
            hi = 0x8F; /* past U+10FFFF */
    } else {
        return 0;
    }
    if (n < len)
        return 0;
    if (s[1] < lo || s[1] > hi)
        return 0;
    for (size_t i = 2; i < len; i++)
        if ((s[i] & 0xC0) != 0x80)
            return 0;
    return len;
}

size_t ms_report_utf8_valid_prefix(const unsigned char *s, size_t len)
{
    size_t i = 0;
    while (i < len) {
        if (s[i] < 0x80) {
            i++;
            continue;
        }
        size_t n = utf8_sequence(s + i, len - i);
        if (n == 0)
            break;
        i += n;
    }
    return i;
}

void ms_report_utf8_repair(const char *text, size_t len, ms_buf *out)
{
    const unsigned char *s = (const unsigned char *)text;
    size_t i = 0;
    while (i < len) {
        size_t good = ms_report_utf8_valid_prefix(s + i, len - i);
        ms_buf_append(out, text + i, good);
        i += good;
        if (i < len) {
            ms_buf_append(out, "\xEF\xBF\xBD", 3);
            i++;
        }
    }
}

/* Whether tidying leaves byte c as it is wherever it stands: not white
 * space, not a control character, not the lead byte of a C1 control. */
static int tidy_keeps(unsigned char c)
{
    return c > ' ' && c != 0x7F && c != 0xC2;
}

size_t ms_report_text_tidy(char *s, size_t len)
{
    unsigned char *u = (unsigned char *)s;
    /* Most texts ("pass", "192.0.2.1", "example.com") are kept whole: a
     * quick pass over what needs no change, then the full rules from
     * the first byte that may. */
    size_t out = 0;
    while (out < len && tidy_keeps(u[out]))
        out++;
    int space_pending = 0;
    for (size_t i = out; i < len; i++) {
        unsigned char c = u[i];
        if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
            space_pending = out > 0;
            continue;
        }
        if (c < 0x20 || c == 0x7F)
            continue;
        if (c == 0xC2 && i + 1 < len && u[i + 1] >= 0x80 && u[i + 1] <= 0x9F) {
            i++; /* a C1 control, U+0080..U+009F */
            continue;
        }
        if (space_pending) {
            u[out++] = ' ';
            space_pending = 0;
        }
        u[out++] = c;
    }
    u[out] = '\0';
    return out;
}

char *ms_report_text_dup(const char *text, size_t len, int *nomem)
{
    if (text == NULL)
        return NULL;
    ms_buf buf = MS_BUF_INIT;
    ms_report_utf8_repair(text, len, &buf);
    if (buf.failed) {
        ms_buf_free(&buf);
        *nomem = 1;
        return NULL;
    }
    if (buf.data == NULL)
        return NULL;
    if (ms_report_text_tidy(buf.data, buf.len) == 0) {
        ms_buf_free(&buf);
        return NULL;
    }
    return ms_buf_take(&buf);
}

void ms_report_ascii_lower(char *s)
{
    for (; *s; s++)
        if (*s >= 'A' && *s <= 'Z')
            *s = (char)(*s - 'A' + 'a');
}

/* Decimal digits then an optional fraction of digits: 1 with the integer
 * part in *out, 0 when s is not such a number, -1 when the integer part
 * is above max. */
static int parse_decimal(const char *s, uint64_t max, uint64_t *out)
{
    uint64_t v = 0;
    int over = 0;
    const char *p = s;
    if (*p == '+')
        p++;
    if (*p < '0' || *p > '9')
        return 0;
    for (; *p >= '0' && *p <= '9'; p++) {
        unsigned d = (unsigned)(*p - '0');
        if (over || v > (max - d) / 10)
            over = 1; /* read on: "12x" is no number, however long */
        else
            v = v * 10 + d;
    }
    if (*p == '.') {
        p++;
        while (*p >= '0' && *p <= '9')
            p++;
    }
    if (*p != '\0')
        return 0;
    if (over)
        return -1;
    *out = v;
    return 1;
}

int ms_report_is_ip_address(const char *s)
{
    unsigned char addr[16];
    return inet_pton(AF_INET, s, addr) == 1 || inet_pton(AF_INET6, s, addr) == 1;
}

int ms_report_time_in_range(int64_t t)
{
    return t >= MS_REPORT_TIME_MIN && t <= MS_REPORT_TIME_MAX;
}

int ms_report_parse_unix_time(const char *s, int64_t *out)
{
    uint64_t v;
    if (s == NULL)
        return 0;
    int got = parse_decimal(s, (uint64_t)MS_REPORT_TIME_MAX, &v);
    if (got <= 0)
        return got;
    *out = (int64_t)v;
    return 1;
}

int ms_report_parse_count(const char *s, uint64_t *out)
{
    return s == NULL ? 0 : parse_decimal(s, MS_REPORT_COUNT_MAX, out);
}

/* n digits at *p as a number; advances *p. -1 when they are not there. */
static int digits(const char **p, int n)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        char c = (*p)[i];
        if (c < '0' || c > '9')
            return -1;
        v = v * 10 + (c - '0');
    }
    *p += n;
    return v;
}

int ms_report_parse_rfc3339(const char *s, int64_t *out)
{
    if (s == NULL)
        return 0;
    const char *p = s;
    int year = digits(&p, 4);
    if (year < 0 || *p++ != '-')
        return 0;
    int month = digits(&p, 2);
    if (month < 1 || month > 12 || *p++ != '-')
        return 0;
    int day = digits(&p, 2);
    if (day < 1 || day > 31)
        return 0;
    int hour = 0, minute = 0, second = 0, offset = 0;
    if (*p == 'T' || *p == 't' || *p == ' ') {
        p++;
        hour = digits(&p, 2);
        if (hour < 0 || hour > 23 || *p++ != ':')
            return 0;
        minute = digits(&p, 2);
        if (minute < 0 || minute > 59)
            return 0;
        if (*p == ':') {
            p++;
            second = digits(&p, 2);
            if (second < 0 || second > 60) /* 60: a leap second */
                return 0;
        }
        if (*p == '.' || *p == ',') {
            p++;
            while (*p >= '0' && *p <= '9')
                p++;
        }
        if (*p == 'Z' || *p == 'z') {
            p++;
        } else if (*p == '+' || *p == '-') {
            int sign = *p++ == '-' ? -1 : 1;
            int oh = digits(&p, 2);
            if (oh < 0 || oh > 23)
                return 0;
            if (*p == ':')
                p++;
            int om = digits(&p, 2);
            if (om < 0 || om > 59)
                return 0;
            offset = sign * (oh * 3600 + om * 60);
        }
    }
    if (*p != '\0')
        return 0;
    struct tm tm = {0};
    tm.tm_year = year - 1900;
    tm.tm_mon = month - 1;
    tm.tm_mday = day;
    tm.tm_hour = hour;
    tm.tm_min = minute;
    tm.tm_sec = second;
    time_t t = timegm(&tm); /* years 0000-9999 all fit a 64-bit time_t */
    int64_t when = (int64_t)t - offset;
    if (!ms_report_time_in_range(when))
        return -1;
    *out = when;
    return 1;
}

static pthread_once_t gmime_once = PTHREAD_ONCE_INIT;

static void gmime_setup(void)
{
    g_mime_init();
}

bool report_gmime_init(void)
{
    if (ms_lazy_load(&ms_gmime_lib) != MS_OK)
        return false;
    pthread_once(&gmime_once, gmime_setup);
    return true;
}
