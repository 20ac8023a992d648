/* gzip (RFC 1952) inflated on the fly with zlib: the compressed bytes are
 * pulled from the inner source 64 KiB at a time and inflated straight into
 * the reader's buffer, so a 1 GB report never sits in memory.
 *
 * Bombs: the output may not exceed MS_REPORT_INFLATED_MAX bytes, and once
 * it passed WALK_RATIO_GRACE (1 MiB) it may not exceed MS_REPORT_RATIO_MAX
 * times the compressed bytes consumed so far (deflate cannot do better than
 * about 1032:1, so only crafted input or stacked compression trips it).
 * Concatenated members (RFC 1952 section 2.2) are one stream; bytes after
 * the last member that do not start another one are ignored. */
#include "report/walk_internal.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

enum { TAP_HEAD_MAX = 64 << 10 };

typedef struct inflate_src {
    walk_src base;
    walk_src *inner;
    z_stream z;
    gz_header header;
    unsigned char fname[WALK_NAME_MAX + 1]; /* zlib stores the FNAME here */
    char name[WALK_NAME_MAX + 1];
    bool member_done; /* Z_STREAM_END seen: maybe another member follows */
    bool finished;
    int64_t in_total, out_total;
    /* The compressed bytes consumed before a tap was asked for (sniffing
     * the content consumes some; usually a few KiB), up to TAP_HEAD_MAX. */
    unsigned char *head;
    size_t head_len, head_cap;
    bool head_overflow;
    ms_report_gzip_fn tap; /* gets the compressed bytes inflate consumes */
    void *tap_arg;
    /* WALK_CHUNK bytes read from the inner source: last, so that making a
     * source clears the fields alone, not 64 KiB per file for nothing */
    unsigned char in[];
} inflate_src;

/* More compressed bytes when zlib used what it had; false at the end of
 * the inner source (or an error, then recorded). */
static bool refill(inflate_src *s)
{
    if (s->z.avail_in > 0)
        return true;
    ssize_t n = walk_src_read(s->inner, s->in, WALK_CHUNK);
    if (n < 0) {
        walk_src_fail(&s->base, "%s", s->inner->error ? s->inner->error : "read error");
        return false;
    }
    s->z.next_in = s->in;
    s->z.avail_in = (uInt)n;
    s->in_total += n;
    return n > 0;
}

static ssize_t check_limits(inflate_src *s)
{
    if (s->out_total > MS_REPORT_INFLATED_MAX)
        return walk_src_fail(&s->base, "decompressed size exceeds %lld bytes (MS_REPORT_INFLATED_MAX): not read further",
                             (long long)MS_REPORT_INFLATED_MAX);
    /* compressed bytes inflate consumed (read ahead but unused ones do not count) */
    int64_t consumed = s->in_total - (int64_t)s->z.avail_in;
    if (s->out_total > WALK_RATIO_GRACE && s->out_total / (consumed > 0 ? consumed : 1) > MS_REPORT_RATIO_MAX)
        return walk_src_fail(&s->base,
                             "decompressed size exceeds %d times the compressed size (MS_REPORT_RATIO_MAX) "
                             "after %lld bytes from %lld: a compression bomb, not read further",
                             MS_REPORT_RATIO_MAX, (long long)s->out_total, (long long)consumed);
    return 0;
}

/* After a member's end: another member follows (1f 8b), or the stream is
 * over. */
static bool next_member(inflate_src *s)
{
    if (!refill(s))
        return false;
    if (s->z.next_in[0] != 0x1f) /* trailing bytes, not a member */
        return false;
    if (s->z.avail_in < 2) {
        /* the magic is split over reads: keep the byte, read more */
        unsigned char first = s->z.next_in[0];
        s->in[0] = first;
        ssize_t n = walk_src_read(s->inner, s->in + 1, WALK_CHUNK - 1);
        if (n <= 0)
            return false;
        s->in_total += n;
        s->z.next_in = s->in;
        s->z.avail_in = (uInt)n + 1;
    }
    if (s->z.next_in[1] != 0x8b)
        return false;
    inflateReset(&s->z);
    s->member_done = false;
    return true;
}

/* Bytes inflate consumed: to the tap, or kept for one that may come. */
static bool consumed(inflate_src *s, const unsigned char *from, size_t n)
{
    if (n == 0)
        return true;
    if (s->tap != NULL)
        return s->tap(s->tap_arg, from, n) == 0;
    if (s->head_overflow)
        return true;
    if (n > TAP_HEAD_MAX - s->head_len) {
        s->head_overflow = true; /* no tap can have all of it now */
        free(s->head);
        s->head = NULL;
        return true;
    }
    if (s->head_len + n > s->head_cap) {
        size_t cap = s->head_len + n < 4096 ? 4096 : 2 * (s->head_len + n);
        unsigned char *grown = realloc(s->head, cap < TAP_HEAD_MAX ? cap : TAP_HEAD_MAX);
        if (grown == NULL) {
            s->head_overflow = true;
            return true;
        }
        s->head = grown;
        s->head_cap = cap < TAP_HEAD_MAX ? cap : TAP_HEAD_MAX;
    }
    memcpy(s->head + s->head_len, from, n);
    s->head_len += n;
    return true;
}

static ssize_t inflate_read(walk_src *src, void *buf, size_t len)
{
    inflate_src *s = (inflate_src *)src;
    if (s->finished || len == 0)
        return 0;
    if (len > UINT_MAX)
        len = UINT_MAX;
    s->z.next_out = buf;
    s->z.avail_out = (uInt)len;
    while (s->z.avail_out == len) {
        if (s->member_done && !next_member(s)) {
            if (src->error != NULL)
                return -1;
            s->finished = true;
            return 0;
        }
        if (s->z.avail_in == 0 && !refill(s)) {
            if (src->error != NULL)
                return -1;
            return walk_src_fail(src, "gzip data ends early (truncated) after %lld compressed bytes",
                                 (long long)s->in_total);
        }
        const unsigned char *from = s->z.next_in;
        int rc = inflate(&s->z, Z_NO_FLUSH);
        if (!consumed(s, from, (size_t)(s->z.next_in - from)))
            return walk_src_fail(src, "the compressed original could not be kept");
        if (rc == Z_STREAM_END) {
            s->member_done = true;
        } else if (rc == Z_NEED_DICT || rc == Z_DATA_ERROR) {
            return walk_src_fail(src, "gzip data is corrupt at compressed byte %lld: %s",
                                 (long long)(s->in_total - s->z.avail_in), s->z.msg ? s->z.msg : "invalid data");
        } else if (rc == Z_MEM_ERROR) {
            return walk_src_fail(src, "out of memory");
        } else if (rc != Z_OK && rc != Z_BUF_ERROR) {
            return walk_src_fail(src, "gzip error %d", rc);
        }
    }
    size_t produced = len - s->z.avail_out;
    s->out_total += (int64_t)produced;
    if (check_limits(s) < 0)
        return -1;
    return (ssize_t)produced;
}

static void inflate_close(walk_src *src)
{
    inflate_src *s = (inflate_src *)src;
    inflateEnd(&s->z);
    free(s->head);
    walk_src_close(s->inner);
    free(s);
}

static const walk_src_ops inflate_ops = {inflate_read, inflate_close};

walk_src *walk_src_inflate(walk_src *inner)
{
    inflate_src *s = malloc(sizeof *s + WALK_CHUNK);
    if (s == NULL) {
        walk_src_close(inner);
        return NULL;
    }
    *s = (inflate_src){.base = {.ops = &inflate_ops, .file_fd = -1}, .inner = inner};
    if (inflateInit2(&s->z, 16 + MAX_WBITS) != Z_OK) { /* 16: gzip wrapper only */
        walk_src_close(inner);
        free(s);
        return NULL;
    }
    s->header.name = s->fname;
    s->header.name_max = sizeof s->fname - 1;
    inflateGetHeader(&s->z, &s->header);
    return &s->base;
}

int walk_inflate_tap(walk_src *src, ms_report_gzip_fn keep, void *arg)
{
    if (src->ops != &inflate_ops)
        return 0;
    inflate_src *s = (inflate_src *)src;
    if (s->head_overflow || s->tap != NULL)
        return 0; /* what was consumed first is gone */
    if (s->head_len > 0 && keep(arg, s->head, s->head_len) != 0)
        return 0;
    free(s->head); /* from now on the tap gets the bytes */
    s->head = NULL;
    s->tap = keep;
    s->tap_arg = arg;
    return 1;
}

int walk_inflate_ahead(walk_src *src, size_t max, ms_report_gzip_fn look, void *arg)
{
    if (src->ops != &inflate_ops)
        return 0;
    inflate_src *s = (inflate_src *)src;
    walk_src *in = s->inner;
    if (s->tap == NULL || s->z.avail_in > max)
        return 0;
    /* the inner source's bytes not read yet, peeked (kept for its reads):
     * one more than fits, to know whether its end comes first */
    size_t room = max - s->z.avail_in;
    if (walk_src_peek(in, in->peek_pos + room + 1) < 0 || !in->eof || in->peek_len - in->peek_pos > room)
        return 0;
    if (look(arg, s->z.next_in, s->z.avail_in) != 0)
        return 0;
    return look(arg, in->peek + in->peek_pos, in->peek_len - in->peek_pos) == 0;
}

const char *walk_inflate_name(walk_src *src)
{
    inflate_src *s = (inflate_src *)src;
    if (s->header.done != 1 || s->fname[0] == '\0')
        return NULL;
    walk_clean_name((const char *)s->fname, s->name, sizeof s->name);
    return s->name;
}
