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

/* The length of s without its final line break (CRLF or bare LF). */
static size_t without_line_break(const char *s, size_t len)
{
    if (len >= 1 && s[len - 1] == '\n')
        len -= len >= 2 && s[len - 2] == '\r' ? 2 : 1;
    return len;
}

/* Appends s with every bare LF made CRLF. */
static void append_crlf(ms_buf *buf, const char *s, size_t len)
{
    size_t start = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] != '\n' || (i > 0 && s[i - 1] == '\r'))
            continue;
        ms_buf_append(buf, s + start, i - start);
        ms_buf_append(buf, "\r", 1);
        start = i;
    }
    ms_buf_append(buf, s + start, len - start);
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
    size_t vlen = without_line_break(v, raw_len - (size_t)(v - raw));
    ms_buf value = MS_BUF_INIT;
    if (strip_b)
        strip_b_value(v, vlen, &value);
    else
        ms_buf_append(&value, v, vlen);
    /* unfold, compress white space runs to one SP, drop it at both ends */
    int pending_space = 0, started = 0;
    for (size_t i = 0; i < value.len; i++) {
        char c = value.data[i];
        if (c == '\n' || (c == '\r' && i + 1 < value.len && value.data[i + 1] == '\n'))
            continue; /* unfold: the line break goes, the WSP after it stays */
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
        append_crlf(buf, raw, without_line_break(raw, raw_len));
        ms_buf_append(buf, "\r\n", 2);
        return;
    }
    /* simple, the signature field itself: as is, b= emptied, no final CRLF */
    const char *colon = memchr(raw, ':', raw_len);
    size_t head = (size_t)(colon - raw) + 1;
    size_t vlen = without_line_break(raw + head, raw_len - head);
    ms_buf value = MS_BUF_INIT;
    strip_b_value(raw + head, vlen, &value);
    ms_buf_append(buf, raw, head);
    append_crlf(buf, value.data ? value.data : "", value.len);
    if (value.failed)
        buf->failed = 1;
    ms_buf_free(&value);
}

/* ---- the body, streaming (RFC 6376 3.4.3, 3.4.4) ----
 *
 * Bytes arrive in any chunking. A LF ends a line whether a CR precedes it
 * or not (bare LF is read as CRLF, as files on disk are written); a CR not
 * followed by LF is an ordinary character. Empty lines are counted, not
 * emitted, until something follows them: the ones at the end are dropped.
 * Runs of ordinary bytes go to emit in one call each. */

static const char CRLFS[] = "\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n";

static void emit_held_lines(dk_body_canon *bc, dk_emit_fn emit, void *arg)
{
    while (bc->held_lines > 0) {
        uint64_t n = bc->held_lines < 16 ? bc->held_lines : 16;
        emit(arg, CRLFS, (size_t)n * 2);
        bc->held_lines -= n;
    }
}

/* Ordinary bytes: the held lines and (relaxed) the pending space first. */
static void emit_content(dk_body_canon *bc, const char *run, size_t len, dk_emit_fn emit, void *arg)
{
    emit_held_lines(bc, emit, arg);
    if (bc->pending_space) {
        emit(arg, " ", 1);
        bc->pending_space = 0;
    }
    emit(arg, run, len);
    bc->any_content = 1;
}

/* The held CR turned out not to start a line break: it is content. */
static void release_cr(dk_body_canon *bc, dk_emit_fn emit, void *arg)
{
    if (bc->held_cr) {
        bc->held_cr = 0;
        emit_content(bc, "\r", 1, emit, arg);
    }
}

void dk_body_canon_init(dk_body_canon *bc, ms_dkim_canon canon)
{
    memset(bc, 0, sizeof *bc);
    bc->canon = canon;
}

static int ordinary(const dk_body_canon *bc, char c)
{
    if (c == '\r' || c == '\n')
        return 0;
    return bc->canon == MS_DKIM_CANON_SIMPLE || !ms_is_wsp(c);
}

void dk_body_canon_feed(dk_body_canon *bc, const void *data, size_t len, dk_emit_fn emit, void *arg)
{
    const char *p = data;
    size_t i = 0;
    while (i < len) {
        char c = p[i];
        if (c == '\n') {
            /* the end of a line: relaxed drops the white space before it */
            bc->held_cr = 0;
            bc->pending_space = 0;
            bc->held_lines++;
            i++;
            continue;
        }
        release_cr(bc, emit, arg);
        if (c == '\r') {
            bc->held_cr = 1;
            i++;
            continue;
        }
        if (!ordinary(bc, c)) { /* relaxed white space: one SP if content follows */
            bc->pending_space = 1;
            i++;
            continue;
        }
        size_t run = i + 1;
        while (run < len && ordinary(bc, p[run]))
            run++;
        emit_content(bc, p + i, run - i, emit, arg);
        i = run;
    }
}

void dk_body_canon_end(dk_body_canon *bc, dk_emit_fn emit, void *arg)
{
    release_cr(bc, emit, arg);
    /* trailing empty lines go; the last line ends with CRLF; an empty body
     * is CRLF under simple and nothing under relaxed */
    if (bc->any_content || bc->canon == MS_DKIM_CANON_SIMPLE)
        emit(arg, "\r\n", 2);
    bc->held_lines = 0;
    bc->pending_space = 0;
}

static void emit_to_buf(void *arg, const void *data, size_t len)
{
    ms_buf_append(arg, data, len);
}

ms_status dk_canon_body(ms_dkim_canon canon, const char *body, size_t len, char **out,
                        size_t *out_len)
{
    ms_buf b = MS_BUF_INIT;
    ms_buf_append(&b, "", 0);
    dk_body_canon bc;
    dk_body_canon_init(&bc, canon);
    dk_body_canon_feed(&bc, body, len, emit_to_buf, &b);
    dk_body_canon_end(&bc, emit_to_buf, &b);
    if (b.failed || b.data == NULL) {
        ms_buf_free(&b);
        return MS_ERR_NOMEM;
    }
    *out_len = b.len;
    *out = ms_buf_take(&b);
    return *out ? MS_OK : MS_ERR_NOMEM;
}
