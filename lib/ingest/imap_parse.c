/* The IMAP answers report fetch reads (imap_parse.h), parsed with the
 * distrust lib/tls/reply.c gives SMTP replies: bounded lines, a bounded
 * count, numbers checked against their range, and every line that is not
 * an answer the command can have refused with the reason. */
#include "imap_parse.h"

#include "core/internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* One line of an answer, without its line end. */
typedef struct answer_line {
    const char *text;
    size_t len;
    size_t number; /* 1-based, for messages */
} answer_line;

/* The untagged answers (RFC 3501 section 7) a line may be. */
typedef enum line_kind {
    LINE_STATUS,  /* * OK|NO|BAD|BYE ...: status, possibly [CODE ...] */
    LINE_NEWS,    /* * FLAGS (...), * CAPABILITY ...: news a server may send at any time */
    LINE_SEARCH,  /* * SEARCH n... */
    LINE_MAILBOX, /* * n EXISTS|RECENT|EXPUNGE */
    LINE_FETCH    /* * n FETCH (...) */
} line_kind;

/* A line's kind and what follows its keyword (after one space, or at the
 * line's end). */
typedef struct untagged {
    line_kind kind;
    const char *rest;
    size_t rest_len;
} untagged;

/* MS_ERR_IO with *why = "line N of the answer: ..." */
__attribute__((format(printf, 3, 4)))
static ms_status refuse(char **why, const answer_line *l, const char *fmt, ...)
{
    char what[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    *why = ms_asprintf("line %zu of the answer: %s", l->number, what);
    return *why ? MS_ERR_IO : MS_ERR_NOMEM;
}

/* A decimal number of at most max; nonzero: an nz-number, which has no
 * leading zero either. NULL when it is one, else why not. */
static const char *parse_number(const char *text, size_t len, uint64_t max, int nonzero, uint64_t *out)
{
    if (len == 0)
        return "empty";
    if (text[0] == '+' || text[0] == '-')
        return "a sign";
    uint64_t n = 0;
    for (size_t i = 0; i < len; i++) {
        if (text[i] < '0' || text[i] > '9')
            return "not a number";
        unsigned d = (unsigned)(text[i] - '0');
        if (n > (max - d) / 10)
            return max == UINT32_MAX ? "larger than 4294967295" : "too large";
        n = n * 10 + d;
    }
    if (nonzero && n == 0)
        return "zero";
    if (nonzero && text[0] == '0')
        return "a leading zero";
    *out = n;
    return NULL;
}

const char *imap_parse_nz32(const char *text, size_t len, uint32_t *out)
{
    uint64_t n;
    const char *why = parse_number(text, len, UINT32_MAX, 1, &n);
    if (why == NULL)
        *out = (uint32_t)n;
    return why;
}

/* The next line from *pos into *l; *got 0 at the end of the answer. */
static ms_status next_line(const char *answer, size_t len, size_t *pos, answer_line *l, int *got, char **why)
{
    *got = 0;
    if (*pos >= len)
        return MS_OK;
    const char *start = answer + *pos;
    const char *nl = memchr(start, '\n', len - *pos);
    l->number++;
    l->text = start;
    l->len = nl ? (size_t)(nl - start) : len - *pos;
    if (nl == NULL)
        return refuse(why, l, "the answer ends in the middle of a line");
    *pos += l->len + 1;
    if (l->len > 0 && l->text[l->len - 1] == '\r')
        l->len--;
    if (memchr(l->text, '\0', l->len) != NULL)
        return refuse(why, l, "a NUL byte");
    *got = 1;
    return MS_OK;
}

/* Whether text[0, len) starts with word (any case: RFC 3501 section 9)
 * followed by a space or its end; *after is then what follows the space. */
static int word_is(const char *text, size_t len, const char *word, const char **after, size_t *after_len)
{
    size_t n = strlen(word);
    if (len < n || ms_ascii_strncasecmp(text, word, n) != 0 || (len > n && text[n] != ' '))
        return 0;
    size_t skip = len > n ? n + 1 : n;
    *after = text + skip;
    *after_len = len - skip;
    return 1;
}

/* Sorts a line into the untagged answers a command may meet; any other
 * line is refused. */
static ms_status classify(const answer_line *l, untagged *out, char **why)
{
    static const char *const statuses[] = {"OK", "NO", "BAD", "BYE"};
    static const char *const mailbox_data[] = {"EXISTS", "RECENT", "EXPUNGE"};
    if (l->len < 2 || memcmp(l->text, "* ", 2) != 0)
        return refuse(why, l, "not an untagged answer (\"* ...\")");
    const char *t = l->text + 2;
    size_t n = l->len - 2;
    if (word_is(t, n, "SEARCH", &out->rest, &out->rest_len))
        return out->kind = LINE_SEARCH, MS_OK; /* one line holds every UID */
    if (n > IMAP_LINE_MAX)
        return refuse(why, l, "longer than %d bytes", IMAP_LINE_MAX);
    for (size_t i = 0; i < sizeof statuses / sizeof statuses[0]; i++)
        if (word_is(t, n, statuses[i], &out->rest, &out->rest_len))
            return out->kind = LINE_STATUS, MS_OK;
    if (word_is(t, n, "FLAGS", &out->rest, &out->rest_len) ||
        word_is(t, n, "CAPABILITY", &out->rest, &out->rest_len))
        return out->kind = LINE_NEWS, MS_OK;
    /* "* n KEYWORD": n is a message sequence number or a count. */
    const char *space = memchr(t, ' ', n);
    uint64_t number;
    if (space == NULL || parse_number(t, (size_t)(space - t), UINT32_MAX, 0, &number) != NULL)
        return refuse(why, l, "not an answer this command can have");
    const char *kw = space + 1;
    size_t kw_len = n - (size_t)(kw - t);
    for (size_t i = 0; i < sizeof mailbox_data / sizeof mailbox_data[0]; i++)
        if (kw_len == strlen(mailbox_data[i]) && ms_ascii_strncasecmp(kw, mailbox_data[i], kw_len) == 0)
            return out->rest = kw + kw_len, out->rest_len = 0, out->kind = LINE_MAILBOX, MS_OK;
    if (number > 0 && word_is(kw, kw_len, "FETCH", &out->rest, &out->rest_len))
        return out->kind = LINE_FETCH, MS_OK;
    return refuse(why, l, "not an answer this command can have");
}

/* Runs each line of an answer through classify, then line_fn, which
 * refuses kinds its command cannot have. */
typedef ms_status (*line_fn)(void *arg, const answer_line *l, const untagged *u, char **why);

static ms_status each_line(const char *answer, size_t len, line_fn fn, void *arg, char **why)
{
    *why = NULL;
    if (len > IMAP_LISTING_MAX)
        return (*why = ms_asprintf("the answer is over %d bytes", IMAP_LISTING_MAX)) ? MS_ERR_IO
                                                                                     : MS_ERR_NOMEM;
    answer_line l = {0};
    size_t pos = 0;
    int got;
    ms_status st;
    while ((st = next_line(answer, len, &pos, &l, &got, why)) == MS_OK && got) {
        untagged u;
        if ((st = classify(&l, &u, why)) != MS_OK || (st = fn(arg, &l, &u, why)) != MS_OK)
            return st;
    }
    return st;
}

/* ---- EXAMINE ---------------------------------------------------------- */

typedef struct uidvalidity_state {
    uint32_t value;
    int found;
} uidvalidity_state;

static ms_status uidvalidity_line(void *arg, const answer_line *l, const untagged *u, char **why)
{
    static const char code[] = "[UIDVALIDITY ";
    uidvalidity_state *s = arg;
    if (u->kind == LINE_SEARCH || u->kind == LINE_FETCH)
        return refuse(why, l, "not an answer EXAMINE can have");
    if (u->kind != LINE_STATUS || u->rest_len < sizeof code - 1 ||
        memcmp(u->rest, code, sizeof code - 1) != 0)
        return MS_OK;
    const char *digits = u->rest + sizeof code - 1;
    const char *close = memchr(digits, ']', u->rest_len - (sizeof code - 1));
    if (close == NULL)
        return refuse(why, l, "UIDVALIDITY without its closing \"]\"");
    uint32_t value;
    const char *bad = imap_parse_nz32(digits, (size_t)(close - digits), &value);
    if (bad != NULL)
        return refuse(why, l, "the UIDVALIDITY is %s", bad);
    if (s->found && s->value != value)
        return refuse(why, l, "a second, different UIDVALIDITY");
    s->value = value;
    s->found = 1;
    return MS_OK;
}

ms_status imap_parse_uidvalidity(const char *answer, size_t len, uint32_t *out, char **why)
{
    uidvalidity_state s = {0};
    ms_status st = each_line(answer, len, uidvalidity_line, &s, why);
    if (st == MS_OK && !s.found)
        return (*why = ms_strdup("the server named no UIDVALIDITY")) ? MS_ERR_IO : MS_ERR_NOMEM;
    if (st == MS_OK)
        *out = s.value;
    return st;
}

/* ---- UID SEARCH ------------------------------------------------------- */

typedef struct search_state {
    uint32_t *uids;
    size_t count, cap;
} search_state;

static ms_status search_add(search_state *s, uint32_t uid)
{
    if (s->count == s->cap) {
        size_t cap = s->cap ? 2 * s->cap : 256;
        uint32_t *grown = realloc(s->uids, cap * sizeof *grown);
        if (grown == NULL)
            return MS_ERR_NOMEM;
        s->uids = grown;
        s->cap = cap;
    }
    s->uids[s->count++] = uid;
    return MS_OK;
}

/* "n n n": single spaces between nz-numbers (a space at the end is let
 * pass: some servers send "* SEARCH " for no match). */
static ms_status search_line(void *arg, const answer_line *l, const untagged *u, char **why)
{
    search_state *s = arg;
    if (u->kind != LINE_SEARCH)
        return MS_OK;
    const char *p = u->rest, *end = u->rest + u->rest_len;
    while (p < end) {
        const char *space = memchr(p, ' ', (size_t)(end - p));
        const char *word_end = space ? space : end;
        uint32_t uid;
        const char *bad = imap_parse_nz32(p, (size_t)(word_end - p), &uid);
        if (bad != NULL)
            return refuse(why, l, "a UID that is %s", bad);
        if (s->count == IMAP_UIDS_MAX)
            return refuse(why, l, "more than %d messages: move fetched ones away (--move-to)", IMAP_UIDS_MAX);
        ms_status st = search_add(s, uid);
        if (st != MS_OK)
            return st;
        p = word_end + (space != NULL);
    }
    return MS_OK;
}

static int compare_uid(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

ms_status imap_parse_search(const char *answer, size_t len, uint32_t **uids, size_t *count, char **why)
{
    search_state s = {0};
    ms_status st = each_line(answer, len, search_line, &s, why);
    if (st != MS_OK) {
        free(s.uids);
        return st;
    }
    if (s.count > 1) /* (qsort wants an array, even of none) */
        qsort(s.uids, s.count, sizeof *s.uids, compare_uid);
    size_t unique = 0;
    for (size_t i = 0; i < s.count; i++)
        if (unique == 0 || s.uids[unique - 1] != s.uids[i])
            s.uids[unique++] = s.uids[i];
    *uids = s.uids;
    *count = unique;
    return MS_OK;
}

/* ---- UID FETCH n (RFC822.SIZE) ---------------------------------------- */

typedef struct size_state {
    uint32_t uid;
    uint64_t size;
    int found;
} size_state;

/* One "NAME VALUE" of a FETCH line's list: the value is a number, NIL or
 * a flat parenthesised list (FLAGS, MODSEQ); *p moves past it. */
static const char *fetch_item(const char **p, const char *end, const char **name, size_t *name_len,
                              const char **value, size_t *value_len)
{
    const char *space = memchr(*p, ' ', (size_t)(end - *p));
    if (space == NULL || space == *p)
        return "an item without its value";
    *name = *p;
    *name_len = (size_t)(space - *p);
    *value = space + 1;
    const char *stop;
    if (*value < end && **value == '(') {
        stop = memchr(*value, ')', (size_t)(end - *value));
        if (stop == NULL || memchr(*value + 1, '(', (size_t)(stop - *value - 1)) != NULL)
            return "a nested or unclosed list";
        stop++;
    } else {
        stop = *value;
        while (stop < end && *stop != ' ')
            stop++;
    }
    *value_len = (size_t)(stop - *value);
    if (*value_len == 0 || memchr(*value, '"', *value_len) != NULL || memchr(*value, '{', *value_len) != NULL)
        return "a value that is not a number, NIL or a list";
    *p = stop < end && *stop == ' ' ? stop + 1 : stop;
    return NULL;
}

static int name_is(const char *name, size_t len, const char *want)
{
    return len == strlen(want) && ms_ascii_strncasecmp(name, want, len) == 0;
}

static ms_status size_line(void *arg, const answer_line *l, const untagged *u, char **why)
{
    size_state *s = arg;
    if (u->kind == LINE_SEARCH)
        return refuse(why, l, "not an answer UID FETCH can have");
    if (u->kind != LINE_FETCH)
        return MS_OK;
    if (u->rest_len < 2 || u->rest[0] != '(' || u->rest[u->rest_len - 1] != ')')
        return refuse(why, l, "a FETCH answer not in parentheses");
    const char *p = u->rest + 1, *end = u->rest + u->rest_len - 1;
    uint64_t uid = 0, size = 0;
    int has_size = 0;
    while (p < end) {
        const char *name, *value, *bad;
        size_t name_len, value_len;
        if ((bad = fetch_item(&p, end, &name, &name_len, &value, &value_len)) != NULL)
            return refuse(why, l, "%s in the FETCH answer", bad);
        if (name_is(name, name_len, "UID") &&
            (bad = parse_number(value, value_len, UINT32_MAX, 1, &uid)) != NULL)
            return refuse(why, l, "a UID that is %s", bad);
        if (name_is(name, name_len, "RFC822.SIZE")) {
            /* RFC 9051's number64: at most 2^63 - 1 */
            if ((bad = parse_number(value, value_len, INT64_MAX, 0, &size)) != NULL)
                return refuse(why, l, "an RFC822.SIZE that is %s", bad);
            has_size = 1;
        }
    }
    if (uid != s->uid || !has_size)
        return MS_OK; /* another message's news, or only its flags */
    if (s->found && s->size != size)
        return refuse(why, l, "a second, different RFC822.SIZE");
    s->size = size;
    s->found = 1;
    return MS_OK;
}

ms_status imap_parse_size(const char *answer, size_t len, uint32_t uid, uint64_t *size, int *found,
                          char **why)
{
    size_state s = {.uid = uid};
    ms_status st = each_line(answer, len, size_line, &s, why);
    *found = st == MS_OK && s.found;
    if (*found)
        *size = s.size;
    return st;
}
