/* Splitting a message into header fields and body, for verification.
 *
 * Files on disk usually end lines with a bare LF; DKIM signs the wire form
 * where every line ends with CRLF. Like dkimpy and OpenDKIM's test tools we
 * turn every LF that has no CR before it into CRLF first, so a message
 * verifies the same from a Maildir file as it did on the wire. */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

static char *to_crlf(const char *data, size_t len, size_t *out_len)
{
    size_t extra = 0;
    for (size_t i = 0; i < len; i++)
        if (data[i] == '\n' && (i == 0 || data[i - 1] != '\r'))
            extra++;
    char *out = malloc(len + extra + 1);
    if (out == NULL)
        return NULL;
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        if (data[i] == '\n' && (i == 0 || data[i - 1] != '\r'))
            out[n++] = '\r';
        out[n++] = data[i];
    }
    out[n] = '\0';
    *out_len = n;
    return out;
}

/* End of the line starting at pos: the index just past its CRLF, or len. */
static size_t line_end(const char *s, size_t len, size_t pos)
{
    for (size_t i = pos; i + 1 < len; i++)
        if (s[i] == '\r' && s[i + 1] == '\n')
            return i + 2;
    return len;
}

static ms_status add_field(dk_message *m, size_t *cap, size_t start, size_t end)
{
    if (m->field_count == MS_DKIM_MAX_HEADERS) {
        m->malformed = 1;
        return MS_OK;
    }
    if (m->field_count == *cap) {
        size_t ncap = *cap ? *cap * 2 : 32;
        dk_field *n = realloc(m->fields, ncap * sizeof *n);
        if (n == NULL)
            return MS_ERR_NOMEM;
        m->fields = n;
        *cap = ncap;
    }
    const char *raw = m->data + start;
    const char *colon = memchr(raw, ':', end - start);
    size_t name_len = (size_t)(colon - raw);
    /* obsolete syntax allows white space before the colon (RFC 5322 4.5.3) */
    while (name_len && (raw[name_len - 1] == ' ' || raw[name_len - 1] == '\t'))
        name_len--;
    m->fields[m->field_count++] = (dk_field){raw, name_len, raw, end - start};
    return MS_OK;
}

ms_status dk_message_parse(const char *data, size_t len, dk_message *m)
{
    memset(m, 0, sizeof *m);
    m->data = to_crlf(data, len, &m->len);
    if (m->data == NULL)
        return MS_ERR_NOMEM;
    const char *s = m->data;
    size_t pos = 0, cap = 0, field_start = 0;
    int in_field = 0;
    while (pos < m->len) {
        size_t end = line_end(s, m->len, pos);
        int blank = end - pos == 2 && s[pos] == '\r';
        int continuation = s[pos] == ' ' || s[pos] == '\t';
        if (in_field && !continuation) {
            if (add_field(m, &cap, field_start, pos) != MS_OK)
                return MS_ERR_NOMEM;
            in_field = 0;
        }
        if (blank) {
            m->body = s + end;
            m->body_len = m->len - end;
            return MS_OK;
        }
        if (!continuation) {
            const char *colon = memchr(s + pos, ':', end - pos);
            if (colon == NULL || colon == s + pos) {
                m->malformed = 1; /* skip the line, keep reading */
            } else {
                field_start = pos;
                in_field = 1;
            }
        } else if (!in_field) {
            m->malformed = 1;
        }
        pos = end;
    }
    if (in_field && add_field(m, &cap, field_start, m->len) != MS_OK)
        return MS_ERR_NOMEM;
    m->body = s + m->len; /* no body */
    m->body_len = 0;
    return MS_OK;
}

void dk_message_free(dk_message *m)
{
    free(m->data);
    free(m->fields);
    memset(m, 0, sizeof *m);
}
