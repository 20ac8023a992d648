/* The header-field reader: the few fields the milter must understand,
 * read from hostile text (any bytes, any length up to the header bound):
 * From's domain (RFC 5322 3.4), an Authentication-Results field's
 * authserv-id (RFC 8601 2.2) and a List-Id (RFC 2919). Comments nest and
 * quoted strings may hold any of < > @ , ; : so both are resolved first. */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

/* Comments deeper than this make the field unreadable (RFC 5322 sets no
 * limit; no real mailer nests more than a few). */
#define MAX_COMMENT_DEPTH 64

/* A copy of the value, byte for byte at the same offsets, with comments
 * blanked (spaces) and the content of quoted strings replaced by 'q'
 * (quotes kept), so that the structure characters left are the structure.
 * MS_ERR_INVALID when a comment or a quoted string does not end (or a NUL
 * is inside), MS_ERR_NOMEM when out of memory: a field that cannot be read
 * and a failure of ours are told apart. */
static ms_status structure_of(const char *value, size_t len, char **structure)
{
    *structure = NULL;
    char *out = malloc(len + 1);
    if (out == NULL)
        return MS_ERR_NOMEM;
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        char c = value[i];
        if (c == '\0')
            goto bad;
        if (c == '(') {
            unsigned depth = 1;
            out[o++] = ' ';
            for (i++; i < len && depth > 0; i++) {
                out[o++] = ' ';
                if (value[i] == '\\' && i + 1 < len)
                    out[o++] = ' ', i++;
                else if (value[i] == '(' && ++depth > MAX_COMMENT_DEPTH)
                    goto bad;
                else if (value[i] == ')')
                    depth--;
            }
            if (depth > 0)
                goto bad;
            i--;
        } else if (c == '"') {
            out[o++] = '"';
            for (i++; i < len && value[i] != '"'; i++) {
                if (value[i] == '\\' && i + 1 < len)
                    out[o++] = 'q', i++;
                out[o++] = 'q';
            }
            if (i >= len)
                goto bad;
            out[o++] = '"';
        } else {
            out[o++] = c;
        }
    }
    out[o] = '\0';
    *structure = out;
    return MS_OK;
bad:
    free(out);
    return MS_ERR_INVALID;
}

static int is_fws(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* [start, end) without folding white space around it. */
static void trim(const char **start, const char **end)
{
    while (*start < *end && is_fws(**start))
        (*start)++;
    while (*end > *start && is_fws((*end)[-1]))
        (*end)--;
}

static ms_status lower_copy(const char *start, const char *end, char **out)
{
    char *copy = malloc((size_t)(end - start) + 1);
    if (copy == NULL)
        return MS_ERR_NOMEM;
    for (size_t i = 0; start + i < end; i++)
        copy[i] = (char)ms_ascii_lower((unsigned char)start[i]);
    copy[end - start] = '\0';
    *out = copy;
    return MS_OK;
}

/* Reads one field: out (NULL unless MS_OK) from the field's structure s
 * (see structure_of) and, for quoted strings, the field's own text. */
typedef ms_status (*field_reader)(const char *value, size_t len, const char *s, char **out);

/* The field's structure given to read: MS_ERR_INVALID when the field
 * cannot be read, MS_ERR_NOMEM when out of memory. */
static ms_status read_field(const char *value, size_t len, field_reader read, char **out)
{
    *out = NULL;
    char *s = NULL;
    ms_status st = structure_of(value, len, &s);
    if (st == MS_OK)
        st = read(value, len, s, out);
    free(s);
    return st;
}

static ms_status from_domain_of(const char *value, size_t len, const char *s, char **domain)
{
    (void)value, (void)len;
    const char *start = s, *end = s + strlen(s);
    /* one mailbox: no list separator, no group, at most one <...> */
    const char *open = strchr(s, '<');
    if (strchr(s, ',') != NULL || strchr(s, ';') != NULL)
        return MS_ERR_INVALID;
    if (open != NULL) {
        const char *close = strchr(open, '>');
        if (close == NULL || strchr(open + 1, '<') != NULL || strchr(close + 1, '>') != NULL ||
            strchr(close + 1, '<') != NULL)
            return MS_ERR_INVALID;
        /* the display name must not hold a group's colon */
        if (memchr(s, ':', (size_t)(open - s)) != NULL)
            return MS_ERR_INVALID;
        start = open + 1;
        end = close;
        /* an obsolete route (<@a,@b:user@d>) ends at the last colon */
        const char *colon = memchr(start, ':', (size_t)(end - start));
        if (colon != NULL && start < end && *start == '@') {
            const char *last = colon;
            while ((colon = memchr(last + 1, ':', (size_t)(end - last - 1))) != NULL)
                last = colon;
            start = last + 1;
        }
    } else if (strchr(s, '>') != NULL || strchr(s, ':') != NULL) {
        return MS_ERR_INVALID;
    }
    const char *at = NULL;
    for (const char *p = start; p < end; p++)
        if (*p == '@')
            at = p;
    if (at == NULL || at == start)
        return MS_ERR_INVALID;
    const char *d = at + 1, *dend = end;
    trim(&d, &dend);
    if (d == dend)
        return MS_ERR_INVALID;
    /* A-labels in lower case; a domain literal ([192.0.2.1]) has no DMARC
     * policy to find */
    char *raw = NULL;
    ms_status st = lower_copy(d, dend, &raw);
    if (st != MS_OK)
        return st;
    st = ms_domain_normalize(raw, domain);
    free(raw);
    if (st == MS_OK && !ms_domain_check(*domain, strlen(*domain), MS_DOMAIN_LDH | MS_DOMAIN_UNDERSCORE)) {
        free(*domain);
        *domain = NULL;
        st = MS_ERR_INVALID;
    }
    return st;
}

ms_status ms_milter_from_domain(const char *value, size_t len, char **domain)
{
    return read_field(value, len, from_domain_of, domain);
}

/* The text of the quoted-string id that starts at q in value: NULL
 * (MS_ERR_INVALID) when empty. */
static ms_status quoted_id(const char *q, const char *qend, char **id)
{
    ms_buf b = MS_BUF_INIT;
    for (q++; q < qend && *q != '"'; q++) {
        if (*q == '\\' && q + 1 < qend)
            q++;
        if (*q != '\r' && *q != '\n') /* folding is unfolded */
            ms_buf_append(&b, q, 1);
    }
    char *text = ms_buf_take(&b);
    if (text == NULL)
        return MS_ERR_NOMEM;
    ms_status st = *text == '\0' ? MS_ERR_INVALID : lower_copy(text, text + strlen(text), id);
    free(text);
    return st;
}

static ms_status auth_results_id_of(const char *value, size_t len, const char *s, char **id)
{
    const char *start = s, *end = s + strlen(s);
    const char *semi = strchr(s, ';');
    if (semi != NULL)
        end = semi;
    trim(&start, &end);
    /* the id, then an optional version number */
    const char *word_end = start;
    while (word_end < end && !is_fws(*word_end))
        word_end++;
    if (word_end == start)
        return MS_ERR_INVALID;
    /* a quoted-string id: its text is in value at the same offsets */
    if (*start == '"')
        return quoted_id(value + (start - s), value + len, id);
    return lower_copy(start, word_end, id);
}

ms_status ms_milter_auth_results_id(const char *value, size_t len, char **id)
{
    return read_field(value, len, auth_results_id_of, id);
}

static ms_status list_id_of(const char *value, size_t len, const char *s, char **id)
{
    (void)value, (void)len;
    const char *open = strchr(s, '<');
    const char *close = open ? strchr(open, '>') : NULL;
    if (close == NULL)
        return MS_ERR_INVALID;
    const char *start = open + 1, *end = close;
    trim(&start, &end);
    if (start < end && ms_domain_check(start, (size_t)(end - start), 0))
        return lower_copy(start, end, id);
    return MS_ERR_INVALID;
}

ms_status ms_milter_list_id(const char *value, size_t len, char **id)
{
    return read_field(value, len, list_id_of, id);
}
