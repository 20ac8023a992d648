/* The reply parsers of the four mail protocols, as far as a TLS check needs
 * them: where a reply ends, whether it is positive, and whether it offers
 * STARTTLS. They look at complete lines only, one at a time, and remember
 * where they stopped: a reply arriving in pieces parses the same as one
 * arriving at once, and no byte is looked at twice (a server streaming an
 * endless reply costs linear time, and only up to the bounds). */
#include "internal.h"

#include <ctype.h>
#include <string.h>

/* One line of a reply, without its line end. */
typedef struct line {
    const char *start;
    size_t len;
} line;

/* Case-insensitive: the line starts with word, followed by the end of the
 * line or one of the characters in after. */
static int starts_with_word(const line *l, const char *word, const char *after)
{
    size_t n = strlen(word);
    if (l->len < n || ms_ascii_strncasecmp(l->start, word, n) != 0)
        return 0;
    return l->len == n || strchr(after, l->start[n]) != NULL;
}

/* Case-insensitive: text[0, len) holds word as a whole token (separated by
 * spaces, brackets or quotes). */
static int has_token(const char *text, size_t len, const char *word)
{
    size_t n = strlen(word);
    for (size_t i = 0; i + n <= len; i++) {
        if (ms_ascii_strncasecmp(text + i, word, n) != 0)
            continue;
        int left = i == 0 || strchr(" [(\"", text[i - 1]) != NULL;
        int right = i + n == len || strchr(" ])\"", text[i + n]) != NULL;
        if (left && right)
            return 1;
    }
    return 0;
}


/* Each protocol's parser takes one line at a time. r holds what the lines
 * before said (r->lines of them); the answer is MORE (the reply goes on),
 * DONE (this line ends it) or GARBAGE. */

/* RFC 5321 4.2: "250-first", "250-more", "250 last"; one code throughout. */
static ms_tls_parse smtp_line(ms_tls_reply *r, const line *l)
{
    if (l->len < 3 || !isdigit((unsigned char)l->start[0]) || !isdigit((unsigned char)l->start[1]) ||
        !isdigit((unsigned char)l->start[2]))
        return MS_TLS_PARSE_GARBAGE;
    int code = (l->start[0] - '0') * 100 + (l->start[1] - '0') * 10 + (l->start[2] - '0');
    if (r->lines == 0)
        r->code = code;
    else if (code != r->code)
        return MS_TLS_PARSE_GARBAGE;
    /* EHLO keywords follow the first line (which names the host) */
    if (r->lines > 0 && l->len >= 12 && ms_ascii_strncasecmp(l->start + 4, "STARTTLS", 8) == 0 &&
        (l->len == 12 || l->start[12] == ' '))
        r->starttls = 1;
    if (l->len == 3 || l->start[3] == ' ') {
        r->ok = code >= 200 && code < 300;
        return MS_TLS_PARSE_DONE;
    }
    return l->start[3] == '-' ? MS_TLS_PARSE_MORE : MS_TLS_PARSE_GARBAGE;
}

/* The capabilities an IMAP line announces: "* CAPABILITY ..." or a
 * "[CAPABILITY ...]" response code. */
static int imap_line_offers_starttls(const line *l)
{
    const char *cap = NULL;
    for (size_t i = 0; i + 10 <= l->len; i++)
        if (ms_ascii_strncasecmp(l->start + i, "CAPABILITY", 10) == 0) {
            cap = l->start + i + 10;
            break;
        }
    return cap != NULL && has_token(cap, l->len - (size_t)(cap - l->start), "STARTTLS");
}

/* The line after its first n bytes. */
static line line_after(const line *l, size_t n)
{
    return (line){l->start + n, l->len - n};
}

/* The IMAP greeting: one "* OK|PREAUTH|BYE" line. */
static ms_tls_parse imap_greeting_line(ms_tls_reply *r, const line *rest)
{
    if (starts_with_word(rest, "OK", " ") || starts_with_word(rest, "PREAUTH", " ")) {
        r->ok = r->code = 1;
        return MS_TLS_PARSE_DONE;
    }
    return starts_with_word(rest, "BYE", " ") ? MS_TLS_PARSE_DONE : MS_TLS_PARSE_GARBAGE;
}

/* RFC 9051 7: untagged "* ..." lines, then "TAG OK|NO|BAD ...". Without a
 * tag, the greeting. */
static ms_tls_parse imap_line(const char *tag, ms_tls_reply *r, const line *l)
{
    if (imap_line_offers_starttls(l))
        r->starttls = 1;
    int untagged = l->len >= 2 && l->start[0] == '*' && l->start[1] == ' ';
    if (tag == NULL) {
        if (!untagged)
            return MS_TLS_PARSE_GARBAGE;
        line rest = line_after(l, 2);
        return imap_greeting_line(r, &rest);
    }
    if (untagged)
        return MS_TLS_PARSE_MORE; /* untagged data: capabilities, notices */
    size_t tag_len = strlen(tag);
    if (l->len > tag_len && strncmp(l->start, tag, tag_len) == 0 && l->start[tag_len] == ' ') {
        line rest = line_after(l, tag_len + 1);
        if (starts_with_word(&rest, "OK", " ")) {
            r->ok = r->code = 1;
            return MS_TLS_PARSE_DONE;
        }
        if (starts_with_word(&rest, "NO", " ") || starts_with_word(&rest, "BAD", " "))
            return MS_TLS_PARSE_DONE;
    }
    return MS_TLS_PARSE_GARBAGE;
}

/* RFC 1939 3: "+OK ..." or "-ERR ..."; with multi, a positive reply goes on
 * until a line holding only "." (RFC 2449 CAPA). */
static ms_tls_parse pop3_line(int multi, ms_tls_reply *r, const line *l)
{
    if (r->lines == 0) {
        if (starts_with_word(l, "+OK", " "))
            r->ok = r->code = 1;
        else if (!starts_with_word(l, "-ERR", " "))
            return MS_TLS_PARSE_GARBAGE;
        return multi && r->ok ? MS_TLS_PARSE_MORE : MS_TLS_PARSE_DONE;
    }
    if (l->len == 1 && l->start[0] == '.')
        return MS_TLS_PARSE_DONE;
    if (starts_with_word(l, "STLS", " "))
        r->starttls = 1;
    return MS_TLS_PARSE_MORE;
}

/* RFC 5804 1.2, 1.7: capability lines ("NAME" ["value"]) or other quoted
 * data, ending with an OK, NO or BYE response line. */
static ms_tls_parse sieve_line(ms_tls_reply *r, const line *l)
{
    if (starts_with_word(l, "OK", " (")) {
        r->ok = r->code = 1;
        return MS_TLS_PARSE_DONE;
    }
    if (starts_with_word(l, "NO", " (") || starts_with_word(l, "BYE", " ("))
        return MS_TLS_PARSE_DONE;
    if (l->len == 0 || l->start[0] != '"')
        return MS_TLS_PARSE_GARBAGE;
    if (l->len >= 10 && ms_ascii_strncasecmp(l->start, "\"STARTTLS\"", 10) == 0)
        r->starttls = 1;
    return MS_TLS_PARSE_MORE;
}

static ms_tls_parse parse_line(const ms_tls_reply_parser *p, ms_tls_reply *r, const line *l)
{
    switch (p->kind) {
    case MS_TLS_REPLY_SMTP:
        return smtp_line(r, l);
    case MS_TLS_REPLY_IMAP:
        return imap_line(p->tag, r, l);
    case MS_TLS_REPLY_POP3:
        return pop3_line(0, r, l);
    case MS_TLS_REPLY_POP3_MULTI:
        return pop3_line(1, r, l);
    case MS_TLS_REPLY_SIEVE:
        return sieve_line(r, l);
    }
    return MS_TLS_PARSE_GARBAGE;
}

void ms_tls_reply_parser_init(ms_tls_reply_parser *p, ms_tls_reply_kind kind, const char *tag)
{
    memset(p, 0, sizeof *p);
    p->kind = kind;
    p->tag = tag;
    p->state = MS_TLS_PARSE_MORE;
}

/* The next whole line of buf[0, len) after what was parsed: 1 and l, or 0
 * when no line end has arrived yet. The search resumes where the last one
 * stopped, and never looks past the reply's bound in bytes. */
static int next_line(ms_tls_reply_parser *p, const char *buf, size_t len, line *l)
{
    size_t limit = len < MS_TLS_MAX_REPLY ? len : MS_TLS_MAX_REPLY;
    if (p->searched >= limit)
        return 0;
    const char *nl = memchr(buf + p->searched, '\n', limit - p->searched);
    if (nl == NULL) {
        p->searched = limit;
        return 0;
    }
    size_t end = (size_t)(nl - buf);
    l->start = buf + p->parsed;
    l->len = end - p->parsed;
    if (l->len > 0 && l->start[l->len - 1] == '\r')
        l->len--;
    p->parsed = p->searched = end + 1;
    return 1;
}

static ms_tls_parse finish(ms_tls_reply_parser *p, ms_tls_parse state)
{
    p->state = state;
    if (state == MS_TLS_PARSE_DONE)
        p->reply.length = p->parsed;
    return state;
}

ms_tls_parse ms_tls_reply_feed(ms_tls_reply_parser *p, const char *buf, size_t len)
{
    if (p->state != MS_TLS_PARSE_MORE)
        return p->state;
    if (buf == NULL)
        return len == 0 ? MS_TLS_PARSE_MORE : finish(p, MS_TLS_PARSE_GARBAGE);
    ms_tls_reply *r = &p->reply;
    line l;
    while (next_line(p, buf, len, &l)) {
        if (r->lines == MS_TLS_MAX_REPLY_LINES)
            return finish(p, MS_TLS_PARSE_TOO_LONG);
        if (r->lines == 0)
            r->first_line_len = l.len;
        ms_tls_parse state = parse_line(p, r, &l);
        r->lines++;
        if (state != MS_TLS_PARSE_MORE)
            return finish(p, state);
    }
    /* no line end within the bound: the reply cannot end inside it */
    return len >= MS_TLS_MAX_REPLY ? finish(p, MS_TLS_PARSE_TOO_LONG) : MS_TLS_PARSE_MORE;
}

ms_tls_parse ms_tls_reply_parse(ms_tls_reply_kind kind, const char *tag, const char *buf,
                                size_t len, ms_tls_reply *out)
{
    ms_tls_reply_parser p;
    ms_tls_reply_parser_init(&p, kind, tag);
    ms_tls_parse state = ms_tls_reply_feed(&p, buf, len);
    *out = p.reply;
    return state;
}
