/* The mbox splitter: a message begins at each line that begins with
 * "From " (GMime's mbox grammar: any such line ends the message before it,
 * in its header block, its body or a part, whether or not quoted lines
 * around it say ">From "), and nothing is parsed here. The bytes are
 * scanned MBOX_SCAN at a time, read with pread or looked at in memory:
 * memory stays bounded whatever the mbox's size. tests/fuzz/fuzz_mbox_split.c
 * checks every cut against GMime reading the whole mbox. */
#define _GNU_SOURCE /* memmem */
#include "core/internal.h"
#include "report/mbox.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

static const char MARKER[] = "\nFrom "; /* a line beginning with "From " */
enum { MARKER_LEN = sizeof MARKER - 1 };

/* Up to MBOX_SCAN bytes at off: in *bytes, their count, or -1. */
static ssize_t bytes_at(mbox_split *s, int64_t off, const unsigned char **bytes)
{
    size_t want = s->size - off < MBOX_SCAN ? (size_t)(s->size - off) : MBOX_SCAN;
    if (s->fd < 0) {
        *bytes = s->memory + off;
        return (ssize_t)want;
    }
    size_t got = 0;
    while (got < want) {
        ssize_t n = pread(s->fd, s->buf + got, want - got, (off_t)(off + (int64_t)got));
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -1;
        if (n == 0)
            break; /* the file shrank: its end is here */
        got += (size_t)n;
    }
    *bytes = s->buf;
    return (ssize_t)got;
}

/* The first occurrence of pattern at or after from: 1 with *at set, 0
 * when there is none, -1 on a read error. A scan stops short of its end
 * by len - 1 bytes, so a pattern across two scans is found. */
static int find(mbox_split *s, int64_t from, const char *pattern, size_t len, int64_t *at)
{
    while (from < s->size) {
        const unsigned char *bytes;
        ssize_t n = bytes_at(s, from, &bytes);
        if (n < 0)
            return -1;
        if (n == 0)
            return 0;
        const unsigned char *hit = memmem(bytes, (size_t)n, pattern, len);
        if (hit != NULL) {
            *at = from + (hit - bytes);
            return 1;
        }
        if (from + n >= s->size || (size_t)n < len)
            return 0;
        from += n - (ssize_t)(len - 1);
    }
    return 0;
}

/* The next line beginning with "From " after the line at after (or from
 * the start when after < 0): its offset, or size. */
static int next_marker(mbox_split *s, int64_t after, int64_t *marker)
{
    *marker = s->size;
    if (after < 0) {
        const unsigned char *bytes;
        ssize_t n = bytes_at(s, 0, &bytes);
        if (n < 0)
            return -1;
        if (n >= MARKER_LEN - 1 && memcmp(bytes, MARKER + 1, MARKER_LEN - 1) == 0) {
            *marker = 0;
            return 0;
        }
        after = 0;
    }
    int64_t at;
    int found = find(s, after, MARKER, MARKER_LEN, &at);
    if (found > 0)
        *marker = at + 1;
    return found < 0 ? -1 : 0;
}

int mbox_split_init(mbox_split *s, int fd, const void *memory, int64_t size)
{
    s->fd = fd;
    s->memory = memory;
    s->size = size < 0 ? 0 : size;
    s->number = 0;
    return next_marker(s, -1, &s->next);
}

int mbox_split_next(mbox_split *s, mbox_message *m)
{
    if (s->next >= s->size)
        return 0;
    int64_t following, line_end;
    if (next_marker(s, s->next, &following) < 0)
        return -1;
    m->number = ++s->number;
    m->marker = s->next;
    m->stop = s->size;
    if (following < s->size) {
        int found = find(s, following, "\n", 1, &line_end);
        if (found < 0)
            return -1;
        if (found > 0)
            m->stop = line_end + 1;
    }
    s->next = following;
    return 1;
}
