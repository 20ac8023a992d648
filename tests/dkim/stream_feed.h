/* A message given to the streaming DKIM verifier the ways the tests
 * compare with ms_dkim_verify over the whole (tests/dkim/chunked.c, the
 * fuzz harness tests/fuzz/fuzz_dkim_stream.c): as bytes written in chunks,
 * or as header fields one by one (split here, as a milter gets them, bare
 * LF or CRLF as written) and then the body in chunks. */
#ifndef MAILSEC_TEST_DKIM_STREAM_FEED_H
#define MAILSEC_TEST_DKIM_STREAM_FEED_H

#include "mailsec/dkim.h"

#include <string.h>

/* The size of the next chunk, at most left (and at least 1). */
typedef size_t (*dkim_chunk_fn)(void *arg, size_t left);

/* The end of the line starting at pos, its line break included. */
static inline size_t dkim_feed_line_end(const char *msg, size_t len, size_t pos)
{
    const char *lf = memchr(msg + pos, '\n', len - pos);
    return lf ? (size_t)(lf - msg) + 1 : len;
}

/* The end of the line [start, end) without its break: a CR is part of the
 * line break only before a LF. */
static inline size_t dkim_feed_content_end(const char *msg, size_t start, size_t end)
{
    if (end > start && msg[end - 1] == '\n') {
        end--;
        if (end > start && msg[end - 1] == '\r')
            end--;
    }
    return end;
}

/* Header fields one by one up to the empty line; then the body. Returns the
 * body's offset, or len when the verifier refused a field (*st says why). */
static inline size_t dkim_feed_fields(ms_dkim_verifier *v, const char *msg, size_t len,
                                      ms_status *st)
{
    size_t pos = 0;
    while (*st == MS_OK && pos < len) {
        size_t end = dkim_feed_line_end(msg, len, pos);
        if (dkim_feed_content_end(msg, pos, end) == pos) /* the empty line */
            return end;
        while (end < len && (msg[end] == ' ' || msg[end] == '\t'))
            end = dkim_feed_line_end(msg, len, end);
        *st = ms_dkim_verifier_header(v, msg + pos, dkim_feed_content_end(msg, pos, end) - pos);
        pos = end;
    }
    return pos;
}

/* The message streamed: by_fields 0, every byte written in chunks
 * (ms_dkim_verifier_write); 1, the header fields one by one, then the body
 * in chunks (ms_dkim_verifier_body). */
static inline ms_status dkim_feed(ms_ctx *ctx, const char *msg, size_t len, int by_fields,
                                  dkim_chunk_fn chunk, void *arg, ms_dkim_verify_result **r)
{
    ms_dkim_verifier *v = NULL;
    *r = NULL;
    ms_status st = ms_dkim_verifier_new(ctx, NULL, &v);
    size_t pos = st == MS_OK && by_fields ? dkim_feed_fields(v, msg, len, &st) : 0;
    for (size_t n; st == MS_OK && pos < len; pos += n) {
        n = chunk(arg, len - pos);
        st = by_fields ? ms_dkim_verifier_body(v, msg + pos, n) : ms_dkim_verifier_write(v, msg + pos, n);
    }
    if (st == MS_OK)
        st = ms_dkim_verifier_finish(v, r);
    ms_dkim_verifier_free(v);
    return st;
}

#endif
