/* The reply parsers of the four mail protocols, as far as a TLS check needs
 * them: where a reply ends, whether it is positive, and whether it offers
 * STARTTLS. They only look at complete lines, so a reply arriving in pieces
 * parses the same as one arriving at once. */
#include "internal.h"

#include <ctype.h>
#include <string.h>
#include <strings.h>

/* One line of buf: [start, start+len) without its line end; next is where
 * the following line starts. 0 when no line end is buffered yet. */
typedef struct line {
    const char *start;
    size_t len;
    size_t next;
} line;

static int next_line(const char *buf, size_t len, size_t from, line *out)
{
    const char *nl = memchr(buf + from, '\n', len - from);
    if (nl == NULL)
        return 0;
    size_t end = (size_t)(nl - buf);
    out->start = buf + from;
    out->len = end - from;
    if (out->len > 0 && out->start[out->len - 1] == '\r')
        out->len--;
    out->next = end + 1;
    return 1;
}

/* Case-insensitive: the line starts with word, followed by the end of the
 * line or one of the characters in after. */
static int starts_with_word(const line *l, const char *word, const char *after)
{
    size_t n = strlen(word);
    if (l->len < n || strncasecmp(l->start, word, n) != 0)
        return 0;
    return l->len == n || strchr(after, l->start[n]) != NULL;
}

/* Case-insensitive: text[0, len) holds word as a whole token (separated by
 * spaces, brackets or quotes). */
static int has_token(const char *text, size_t len, const char *word)
{
    size_t n = strlen(word);
    for (size_t i = 0; i + n <= len; i++) {
        if (strncasecmp(text + i, word, n) != 0)
            continue;
        int left = i == 0 || strchr(" [(\"", text[i - 1]) != NULL;
        int right = i + n == len || strchr(" ])\"", text[i + n]) != NULL;
        if (left && right)
            return 1;
    }
    return 0;
}

/* MORE, unless the buffered text without a line end is already too long. */
static ms_tls_parse need_more(size_t len, size_t from)
{
    return len - from > MS_TLS_MAX_REPLY ? MS_TLS_PARSE_GARBAGE : MS_TLS_PARSE_MORE;
}

static ms_tls_parse done(ms_tls_reply *out, size_t length)
{
    if (length > MS_TLS_MAX_REPLY)
        return MS_TLS_PARSE_GARBAGE;
    out->length = length;
    return MS_TLS_PARSE_DONE;
}

/* RFC 5321 4.2: "250-first", "250-more", "250 last"; one code throughout. */
static ms_tls_parse parse_smtp(const char *buf, size_t len, ms_tls_reply *out)
{
    line l;
    size_t pos = 0;
    while (next_line(buf, len, pos, &l)) {
        if (l.len < 3 || !isdigit((unsigned char)l.start[0]) || !isdigit((unsigned char)l.start[1]) ||
            !isdigit((unsigned char)l.start[2]))
            return MS_TLS_PARSE_GARBAGE;
        int code = (l.start[0] - '0') * 100 + (l.start[1] - '0') * 10 + (l.start[2] - '0');
        if (out->lines == 0) {
            out->code = code;
            out->first_line_len = l.len;
        } else if (code != out->code) {
            return MS_TLS_PARSE_GARBAGE;
        }
        /* EHLO keywords follow the first line (which names the host) */
        if (out->lines > 0 && l.len >= 12 && strncasecmp(l.start + 4, "STARTTLS", 8) == 0 &&
            (l.len == 12 || l.start[12] == ' '))
            out->starttls = 1;
        out->lines++;
        pos = l.next;
        if (l.len == 3 || l.start[3] == ' ') {
            out->ok = code >= 200 && code < 300;
            return done(out, pos);
        }
        if (l.start[3] != '-')
            return MS_TLS_PARSE_GARBAGE;
    }
    return need_more(len, pos);
}

/* The capabilities an IMAP line announces: "* CAPABILITY ..." or a
 * "[CAPABILITY ...]" response code. */
static int imap_line_offers_starttls(const line *l)
{
    const char *cap = NULL;
    for (size_t i = 0; i + 10 <= l->len; i++)
        if (strncasecmp(l->start + i, "CAPABILITY", 10) == 0) {
            cap = l->start + i + 10;
            break;
        }
    return cap != NULL && has_token(cap, l->len - (size_t)(cap - l->start), "STARTTLS");
}

/* RFC 9051 7: untagged "* ..." lines, then "TAG OK|NO|BAD ...". Without a
 * tag, the greeting: one "* OK|PREAUTH|BYE" line. */
static ms_tls_parse parse_imap(const char *tag, const char *buf, size_t len, ms_tls_reply *out)
{
    line l;
    size_t pos = 0;
    size_t tag_len = tag ? strlen(tag) : 0;
    while (next_line(buf, len, pos, &l)) {
        if (out->lines == 0)
            out->first_line_len = l.len;
        out->lines++;
        pos = l.next;
        if (imap_line_offers_starttls(&l))
            out->starttls = 1;
        line rest = l;
        if (tag == NULL) {
            if (l.len < 2 || l.start[0] != '*' || l.start[1] != ' ')
                return MS_TLS_PARSE_GARBAGE;
            rest.start += 2;
            rest.len -= 2;
            if (starts_with_word(&rest, "OK", " ") || starts_with_word(&rest, "PREAUTH", " ")) {
                out->ok = out->code = 1;
                return done(out, pos);
            }
            if (starts_with_word(&rest, "BYE", " "))
                return done(out, pos);
            return MS_TLS_PARSE_GARBAGE;
        }
        if (l.len >= 2 && l.start[0] == '*' && l.start[1] == ' ')
            continue; /* untagged data: capabilities, notices */
        if (l.len > tag_len && strncmp(l.start, tag, tag_len) == 0 && l.start[tag_len] == ' ') {
            rest.start += tag_len + 1;
            rest.len -= tag_len + 1;
            if (starts_with_word(&rest, "OK", " ")) {
                out->ok = out->code = 1;
                return done(out, pos);
            }
            if (starts_with_word(&rest, "NO", " ") || starts_with_word(&rest, "BAD", " "))
                return done(out, pos);
        }
        return MS_TLS_PARSE_GARBAGE;
    }
    return need_more(len, pos);
}

/* RFC 1939 3: "+OK ..." or "-ERR ..."; with multi, a positive reply goes on
 * until a line holding only "." (RFC 2449 CAPA). */
static ms_tls_parse parse_pop3(int multi, const char *buf, size_t len, ms_tls_reply *out)
{
    line l;
    size_t pos = 0;
    while (next_line(buf, len, pos, &l)) {
        pos = l.next;
        if (out->lines++ == 0) {
            out->first_line_len = l.len;
            if (starts_with_word(&l, "+OK", " "))
                out->ok = out->code = 1;
            else if (!starts_with_word(&l, "-ERR", " "))
                return MS_TLS_PARSE_GARBAGE;
            if (!multi || !out->ok)
                return done(out, pos);
            continue;
        }
        if (l.len == 1 && l.start[0] == '.')
            return done(out, pos);
        if (starts_with_word(&l, "STLS", " "))
            out->starttls = 1;
    }
    return need_more(len, pos);
}

/* RFC 5804 1.2, 1.7: capability lines ("NAME" ["value"]) or other quoted
 * data, ending with an OK, NO or BYE response line. */
static ms_tls_parse parse_sieve(const char *buf, size_t len, ms_tls_reply *out)
{
    line l;
    size_t pos = 0;
    while (next_line(buf, len, pos, &l)) {
        if (out->lines++ == 0)
            out->first_line_len = l.len;
        pos = l.next;
        if (starts_with_word(&l, "OK", " (")) {
            out->ok = out->code = 1;
            return done(out, pos);
        }
        if (starts_with_word(&l, "NO", " (") || starts_with_word(&l, "BYE", " ("))
            return done(out, pos);
        if (l.len == 0 || l.start[0] != '"')
            return MS_TLS_PARSE_GARBAGE;
        if (l.len >= 10 && strncasecmp(l.start, "\"STARTTLS\"", 10) == 0)
            out->starttls = 1;
    }
    return need_more(len, pos);
}

ms_tls_parse ms_tls_reply_parse(ms_tls_reply_kind kind, const char *tag, const char *buf,
                                size_t len, ms_tls_reply *out)
{
    memset(out, 0, sizeof *out);
    if (buf == NULL)
        return len == 0 ? MS_TLS_PARSE_MORE : MS_TLS_PARSE_GARBAGE;
    switch (kind) {
    case MS_TLS_REPLY_SMTP:
        return parse_smtp(buf, len, out);
    case MS_TLS_REPLY_IMAP:
        return parse_imap(tag, buf, len, out);
    case MS_TLS_REPLY_POP3:
        return parse_pop3(0, buf, len, out);
    case MS_TLS_REPLY_POP3_MULTI:
        return parse_pop3(1, buf, len, out);
    case MS_TLS_REPLY_SIEVE:
        return parse_sieve(buf, len, out);
    }
    return MS_TLS_PARSE_GARBAGE;
}
