/* Canonicalization (RFC 6376 3.4): simple and relaxed, header and body. */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

/* The field's value with the b= tag's value removed (RFC 6376 3.7): every
 * byte is kept except the characters after "b=" up to the next ";". */
static void strip_b_value(const char *v, size_t len, ms_buf *out)
{
    size_t i = 0;
    while (i < len) {
        size_t seg_end = i;
        while (seg_end < len && v[seg_end] != ';')
            seg_end++;
        /* is this tag-spec's name exactly "b"? */
        size_t k = i;
        while (k < seg_end && (ms_is_wsp(v[k]) || v[k] == '\r' || v[k] == '\n'))
            k++;
        size_t name = k;
        while (k < seg_end && v[k] != '=' && !ms_is_wsp(v[k]) && v[k] != '\r' && v[k] != '\n')
            k++;
        size_t name_end = k;
        while (k < seg_end && (ms_is_wsp(v[k]) || v[k] == '\r' || v[k] == '\n'))
            k++;
        if (name_end - name == 1 && v[name] == 'b' && k < seg_end && v[k] == '=') {
            ms_buf_append(out, v + i, k + 1 - i);
        } else {
            ms_buf_append(out, v + i, seg_end - i);
        }
        if (seg_end < len)
            ms_buf_append(out, ";", 1);
        i = seg_end + 1;
    }
}

static void relaxed_header(const char *raw, size_t raw_len, int strip_b, ms_buf *buf)
{
    const char *colon = memchr(raw, ':', raw_len);
    size_t name_len = (size_t)(colon - raw);
    while (name_len && ms_is_wsp(raw[name_len - 1]))
        name_len--;
    for (size_t i = 0; i < name_len; i++) {
        char c = raw[i];
        if (c >= 'A' && c <= 'Z')
            c = (char)(c - 'A' + 'a');
        ms_buf_append(buf, &c, 1);
    }
    ms_buf_append(buf, ":", 1);
    const char *v = colon + 1;
    size_t vlen = raw_len - (size_t)(v - raw);
    if (vlen >= 2 && v[vlen - 2] == '\r' && v[vlen - 1] == '\n')
        vlen -= 2;
    ms_buf value = MS_BUF_INIT;
    if (strip_b)
        strip_b_value(v, vlen, &value);
    else
        ms_buf_append(&value, v, vlen);
    /* unfold, compress white space runs to one SP, drop it at both ends */
    int pending_space = 0, started = 0;
    for (size_t i = 0; i < value.len; i++) {
        char c = value.data[i];
        if (c == '\r' && i + 1 < value.len && value.data[i + 1] == '\n') {
            i++;
            continue;
        }
        if (ms_is_wsp(c)) {
            pending_space = started;
            continue;
        }
        if (pending_space)
            ms_buf_append(buf, " ", 1);
        pending_space = 0;
        started = 1;
        ms_buf_append(buf, &c, 1);
    }
    if (value.failed)
        buf->failed = 1;
    ms_buf_free(&value);
    if (!strip_b)
        ms_buf_append(buf, "\r\n", 2);
}

void dk_canon_header(ms_dkim_canon canon, const char *raw, size_t raw_len, int strip_b, ms_buf *buf)
{
    if (canon == MS_DKIM_CANON_RELAXED) {
        relaxed_header(raw, raw_len, strip_b, buf);
        return;
    }
    if (!strip_b) {
        ms_buf_append(buf, raw, raw_len);
        return;
    }
    /* simple, the signature field itself: as is, b= emptied, no final CRLF */
    const char *colon = memchr(raw, ':', raw_len);
    size_t head = (size_t)(colon - raw) + 1;
    size_t vlen = raw_len - head;
    if (vlen >= 2 && raw[raw_len - 2] == '\r' && raw[raw_len - 1] == '\n')
        vlen -= 2;
    ms_buf_append(buf, raw, head);
    strip_b_value(raw + head, vlen, buf);
}

/* Relaxed body, line by line: white space at line ends removed, runs
 * inside lines made one SP. */
static void relaxed_body(const char *body, size_t len, ms_buf *out)
{
    size_t pos = 0;
    while (pos < len) {
        size_t end = pos;
        while (end < len && !(body[end] == '\r' && end + 1 < len && body[end + 1] == '\n'))
            end++;
        int pending = 0;
        for (size_t i = pos; i < end; i++) {
            if (ms_is_wsp(body[i])) {
                pending = 1;
                continue;
            }
            if (pending)
                ms_buf_append(out, " ", 1);
            pending = 0;
            ms_buf_append(out, body + i, 1);
        }
        if (end < len) {
            ms_buf_append(out, "\r\n", 2);
            pos = end + 2;
        } else {
            pos = end;
        }
    }
}

ms_status dk_canon_body(ms_dkim_canon canon, const char *body, size_t len, char **out,
                        size_t *out_len)
{
    ms_buf b = MS_BUF_INIT;
    ms_buf_append(&b, "", 0);
    if (canon == MS_DKIM_CANON_RELAXED)
        relaxed_body(body, len, &b);
    else
        ms_buf_append(&b, body, len);
    if (b.failed || b.data == NULL) {
        ms_buf_free(&b);
        return MS_ERR_NOMEM;
    }
    /* remove all trailing empty lines, then end with exactly one CRLF */
    size_t n = b.len;
    while (n >= 2 && b.data[n - 2] == '\r' && b.data[n - 1] == '\n')
        n -= 2;
    b.len = n;
    b.data[n] = '\0';
    /* simple: an empty body becomes CRLF; relaxed: it stays empty */
    if (n > 0 || canon == MS_DKIM_CANON_SIMPLE)
        ms_buf_append(&b, "\r\n", 2);
    if (b.failed) {
        ms_buf_free(&b);
        return MS_ERR_NOMEM;
    }
    *out_len = b.len;
    *out = ms_buf_take(&b);
    return *out ? MS_OK : MS_ERR_NOMEM;
}
