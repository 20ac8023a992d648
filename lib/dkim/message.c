/* Splitting a message held in memory into header fields and body, for
 * the one-shot verifier, which feeds them to the streaming one.
 *
 * Files on disk usually end lines with a bare LF; DKIM signs the wire form
 * where every line ends with CRLF. A line here ends at LF, with or without
 * a CR before it, and the verifier reads either as CRLF, like dkimpy and
 * OpenDKIM's test tools, so a message verifies the same from a Maildir
 * file as it did on the wire. Nothing is copied. */
#include "internal.h"

#include <string.h>

void dk_splitter_init(dk_splitter *sp, const char *data, size_t len)
{
    sp->data = data;
    sp->len = len;
    sp->pos = 0;
}

/* The line starting at pos: *content_end excludes the line break, the
 * return value is just past it (or len). */
static size_t next_line(const dk_splitter *sp, size_t pos, size_t *content_end)
{
    const char *lf = memchr(sp->data + pos, '\n', sp->len - pos);
    if (lf == NULL) {
        *content_end = sp->len;
        return sp->len;
    }
    size_t end = (size_t)(lf - sp->data);
    *content_end = end > pos && sp->data[end - 1] == '\r' ? end - 1 : end;
    return end + 1;
}

int dk_next_field(dk_splitter *sp, const char **field, size_t *len)
{
    if (sp->pos >= sp->len)
        return 0;
    size_t content_end = 0;
    size_t after = next_line(sp, sp->pos, &content_end);
    if (content_end == sp->pos) { /* the empty line: the body follows */
        sp->pos = after;
        return 0;
    }
    size_t start = sp->pos, end = content_end;
    /* continuation lines (starting with SP or HTAB) belong to this field */
    while (after < sp->len && (sp->data[after] == ' ' || sp->data[after] == '\t')) {
        after = next_line(sp, after, &content_end);
        end = content_end;
    }
    sp->pos = after;
    *field = sp->data + start;
    *len = end - start;
    return 1;
}
