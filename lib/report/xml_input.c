/* The bytes of an XML report on their way to expat: the head and the
 * filter (xml_input.h says what each does). */
#include "xml_input.h"

#include "report_internal.h"

#include <stdlib.h>
#include <string.h>

enum { REWRITE_WINDOW = 64 << 10 }; /* bytes the filter rewrites per step */

/* ---- Encodings expat does not know ---------------------------------- */

/* windows-1252 0x80..0x9F (undefined bytes as U+FFFD); above, Latin-1. */
static const int cp1252_80[32] = {
    0x20AC, 0xFFFD, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021,
    0x02C6, 0x2030, 0x0160, 0x2039, 0x0152, 0xFFFD, 0x017D, 0xFFFD,
    0xFFFD, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014,
    0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0xFFFD, 0x017E, 0x0178};

/* ISO-8859-15: Latin-1 but for eight code points. */
static const struct { unsigned char byte; int code; } latin9_changes[] = {
    {0xA4, 0x20AC}, {0xA6, 0x0160}, {0xA8, 0x0161}, {0xB4, 0x017D},
    {0xB8, 0x017E}, {0xBC, 0x0152}, {0xBD, 0x0153}, {0xBE, 0x0178}};

int XMLCALL ms_xml_unknown_encoding(void *arg, const XML_Char *name, XML_Encoding *info)
{
    (void)arg;
    int is_1252 = ms_ascii_strcasecmp(name, "windows-1252") == 0;
    int is_latin9 = ms_ascii_strcasecmp(name, "ISO-8859-15") == 0;
    if (!is_1252 && !is_latin9)
        return XML_STATUS_ERROR;
    for (int i = 0; i < 256; i++)
        info->map[i] = i;
    if (is_1252)
        for (int i = 0; i < 32; i++)
            info->map[0x80 + i] = cp1252_80[i];
    else
        for (size_t i = 0; i < sizeof latin9_changes / sizeof latin9_changes[0]; i++)
            info->map[latin9_changes[i].byte] = latin9_changes[i].code;
    info->data = NULL;
    info->convert = NULL;
    info->release = NULL;
    return XML_STATUS_OK;
}

/* ---- The head --------------------------------------------------------- */

/* The first two-byte sequence a b in s[0..n), or NULL. */
static const unsigned char *find2(const unsigned char *s, size_t n, unsigned char a,
                                  unsigned char b)
{
    for (size_t i = 0; i + 1 < n; i++)
        if (s[i] == a && s[i + 1] == b)
            return s + i;
    return NULL;
}

/* The first occurrence of word in s[0..n), or NULL. */
static const unsigned char *find_word(const unsigned char *s, size_t n, const char *word)
{
    size_t w = strlen(word);
    for (size_t i = 0; i + w <= n; i++)
        if (memcmp(s + i, word, w) == 0)
            return s + i;
    return NULL;
}

/* The declared encoding in an XML declaration at s, lower-cased into out;
 * "" when there is none. */
static void declared_encoding(const unsigned char *s, size_t n, char *out, size_t size)
{
    out[0] = '\0';
    if (n < 5 || memcmp(s, "<?xml", 5) != 0)
        return;
    const unsigned char *end = find2(s, n, '?', '>');
    const unsigned char *at = find_word(s, end ? (size_t)(end - s) : n, "encoding");
    if (at == NULL)
        return;
    at += 8;
    const unsigned char *limit = end ? end : s + n;
    while (at < limit && (*at == ' ' || *at == '=' || *at == '\t' || *at == '\r' || *at == '\n'))
        at++;
    if (at >= limit || (*at != '"' && *at != '\''))
        return;
    unsigned char quote = *at++;
    size_t k = 0;
    while (at < limit && *at != quote && k + 1 < size)
        out[k++] = (char)(*at >= 'A' && *at <= 'Z' ? *at - 'A' + 'a' : *at), at++;
    out[k] = '\0';
}

static int name_in(const char *name, const char *const *list)
{
    for (; *list; list++)
        if (strcmp(name, *list) == 0)
            return 1;
    return 0;
}

/* Chooses how the bytes reach expat, from the head; returns how many
 * leading bytes to drop. */
static size_t choose_input(ms_xml_input *p)
{
    const unsigned char *s = p->head;
    size_t n = p->head_len, skip = 0;
    if ((n >= 2 && ((s[0] == 0xFF && s[1] == 0xFE) || (s[0] == 0xFE && s[1] == 0xFF))) ||
        (n >= 2 && (s[0] == 0 || s[1] == 0))) {
        p->mode = MS_XML_RAW; /* UTF-16: expat reads it itself */
        return 0;
    }
    if (n >= 3 && s[0] == 0xEF && s[1] == 0xBB && s[2] == 0xBF)
        skip = 3;
    while (skip < n && (s[skip] == ' ' || s[skip] == '\t' || s[skip] == '\r' || s[skip] == '\n'))
        skip++;
    char enc[40];
    declared_encoding(s + skip, n - skip, enc, sizeof enc);
    static const char *const cp1252[] = {"windows-1252", "cp1252", "x-cp1252", "iso-8859-1",
                                         "iso8859-1", "iso_8859-1", "latin1", "latin-1",
                                         "l1", NULL};
    static const char *const latin9[] = {"iso-8859-15", "iso8859-15", "iso_8859-15", "latin9",
                                         "latin-9", NULL};
    p->mode = MS_XML_FILTER;
    /* ISO-8859-1 is read as windows-1252, as browsers do: the two agree
     * except on C1 controls, which reports never mean. Every encoding we
     * do not know is read as UTF-8 with bad bytes replaced. */
    if (name_in(enc, cp1252)) {
        p->encoding = "windows-1252";
    } else if (name_in(enc, latin9)) {
        p->encoding = "ISO-8859-15";
    } else {
        p->encoding = "UTF-8";
        p->repair_utf8 = 1;
    }
    p->dropped_lead = (int64_t)skip;
    return skip;
}

/* Enough of the head to choose: the XML declaration's end, or a first
 * tag that is not one. */
static int head_is_enough(const ms_xml_input *p)
{
    const unsigned char *s = p->head;
    size_t n = p->head_len;
    if (n >= MS_XML_HEAD_MAX)
        return 1;
    const unsigned char *lt = memchr(s, '<', n);
    if (lt == NULL)
        return n >= 4 && (s[0] == 0 || s[1] == 0 || (s[0] == 0xFF && s[1] == 0xFE) ||
                          (s[0] == 0xFE && s[1] == 0xFF));
    size_t rest = n - (size_t)(lt - s);
    if (rest < 2)
        return 0;
    if (lt[1] != '?')
        return 1;
    return find2(lt, rest, '?', '>') != NULL;
}

/* ---- The filter ------------------------------------------------------ */

static int is_name_char(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '_' || c == '-' || c == '.';
}

/* At s[0] == '<': 1 when a prefixed schema tag starts here (<xs:schema,
 * </xsd:schema ...), 0 when not, -1 when more bytes are needed to tell. */
static int schema_tag_at(const unsigned char *s, size_t n)
{
    size_t i = 1;
    if (i < n && s[i] == '/')
        i++;
    size_t prefix = 0;
    while (i < n && is_name_char(s[i]) && prefix <= 16)
        i++, prefix++;
    if (i >= n)
        return prefix <= 16 ? -1 : 0;
    if (prefix == 0 || prefix > 16 || s[i] != ':')
        return 0;
    static const char word[] = "schema";
    for (size_t k = 0; k < 6; k++) {
        if (i + 1 + k >= n)
            return -1;
        if (s[i + 1 + k] != (unsigned char)word[k])
            return 0;
    }
    i += 7;
    if (i >= n)
        return -1;
    unsigned char c = s[i];
    return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '>' || c == '/';
}

/* A UTF-8 sequence at s that is cut short by the end of the data and
 * could still be completed by the next bytes. */
static int utf8_truncated(const unsigned char *s, size_t n)
{
    size_t want = s[0] >= 0xF0 ? 4 : s[0] >= 0xE0 ? 3 : 2;
    if (s[0] < 0xC2 || s[0] > 0xF4 || n >= want)
        return 0;
    for (size_t i = 1; i < n; i++)
        if ((s[i] & 0xC0) != 0x80)
            return 0;
    return 1;
}

static int reserve(unsigned char **buf, size_t *cap, size_t need)
{
    if (need <= *cap)
        return 1;
    size_t grown = *cap ? *cap : 4096;
    while (grown < need)
        grown *= 2;
    unsigned char *b = realloc(*buf, grown);
    if (b == NULL)
        return 0;
    *buf = b;
    *cap = grown;
    return 1;
}

typedef enum verdict {
    KEEP,      /* the next *span bytes go to expat as they are */
    CHANGE,    /* the byte must be replaced or dropped */
    UNDECIDED  /* more bytes are needed to tell */
} verdict;

/* What the filter does with the bytes at w[i] (not a plain ASCII byte). */
static verdict judge(const ms_xml_input *p, const unsigned char *w, size_t n, size_t i,
                     int final, size_t *span)
{
    unsigned char c = w[i];
    *span = 1;
    if (c == '<') {
        int tag = schema_tag_at(w + i, n - i);
        return tag > 0 ? CHANGE : tag < 0 && !final ? UNDECIDED : KEEP;
    }
    if (c < 0x20)
        return c == '\t' || c == '\n' || c == '\r' ? KEEP : CHANGE;
    if (c < 0x80 || !p->repair_utf8)
        return KEEP;
    size_t avail = n - i < 4 ? n - i : 4;
    if (ms_report_utf8_valid_prefix(w + i, avail) > 0) {
        *span = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : 2;
        return KEEP;
    }
    return !final && utf8_truncated(w + i, n - i) ? UNDECIDED : CHANGE;
}

static int is_plain(unsigned char c)
{
    return c >= 0x20 && c < 0x80 && c != '<';
}

enum {
    BLOCK = 64,   /* bytes checked at once for anything the filter must see */
    TAG_BACK = 20 /* a schema tag's '<' may lie this far before its ':' (< BLOCK) */
};

/* Non-zero when the ':' at w[at] ends a tag's name ("<xs:", "</xs:"),
 * the only place a stray schema tag shows; a name that may have begun
 * before w counts as one (the byte-by-byte scan then decides). Colons in
 * text (IPv6 addresses, times) are not. */
static int colon_ends_tag_name(const unsigned char *w, size_t at)
{
    size_t k = at;
    while (k > 0 && is_name_char(w[k - 1]))
        k--;
    if (k > 0 && w[k - 1] == '/')
        k--;
    return k == 0 || w[k - 1] == '<';
}

/* Non-zero when w[at..at+BLOCK) holds nothing the filter must look at: no
 * byte >= 0x80, no control character but tab, LF and CR, and no ':' that
 * ends a tag's name. The first test is written so the compiler vectorises
 * it; colons, found the same way, are looked at one by one. */
static int block_is_clean(const unsigned char *w, size_t at)
{
    const unsigned char *b = w + at;
    unsigned char bad = 0, colon = 0; /* bytes, not ints: gcc -O2 vectorises only then */
    for (int k = 0; k < BLOCK; k++) {
        unsigned char c = b[k];
        bad |= (unsigned char)((c >= 0x80) | ((c < 0x20) & (c != '\n') & (c != '\t') & (c != '\r')));
        colon |= (unsigned char)(c == ':');
    }
    if (bad)
        return 0;
    for (size_t k = 0; colon && k < BLOCK; k++)
        if (b[k] == ':' && colon_ends_tag_name(w, at + k))
            return 0;
    return 1;
}

/* How many leading bytes of w[0..n) need no change; *undecided is set
 * when the scan stopped at bytes it cannot judge yet. */
static size_t clean_prefix(const ms_xml_input *p, const unsigned char *w, size_t n, int final,
                           int *undecided)
{
    size_t i = 0, span;
    *undecided = 0;
    if (p->in_schema_tag)
        return 0;
    int skipped = 0; /* the last BLOCK bytes before i were a clean block */
    while (i < n) {
        /* a block is skipped only with TAG_BACK bytes after it here, so a
         * tag begun at its end is finished, or judged undecided, below */
        if (n - i >= BLOCK + TAG_BACK && block_is_clean(w, i)) {
            i += BLOCK;
            skipped = 1;
            continue;
        }
        /* byte by byte through the next block, from a little before it
         * when a tag may have begun in the clean block skipped last (its
         * bytes are all ASCII, so this never lands inside a sequence) */
        size_t stop = n - i > BLOCK ? i + BLOCK : n;
        if (skipped)
            i -= TAG_BACK;
        skipped = 0;
        while (i < stop) {
            unsigned char c = w[i];
            if (is_plain(c) || c == '\n' || c == '\t') {
                i++;
                continue;
            }
            if (c == '<') {
                /* the common case, an unprefixed tag name: plain bytes */
                size_t j = i + 1;
                if (j < n && w[j] == '/')
                    j++;
                while (j < n && is_name_char(w[j]))
                    j++;
                if (j < n && w[j] != ':') {
                    i = j;
                    continue;
                }
            }
            verdict v = judge(p, w, n, i, final, &span);
            if (v != KEEP) {
                *undecided = v == UNDECIDED;
                return i;
            }
            i += span;
        }
    }
    return i;
}

/* Copies w[0..n) to out with the changes made, stopping once stop bytes
 * are consumed or at bytes it cannot judge yet; returns the bytes
 * consumed and adds what it wrote to *k. */
static size_t rewrite(ms_xml_input *p, const unsigned char *w, size_t n, size_t stop, int final,
                      unsigned char *out, size_t *k)
{
    size_t i = 0, span;
    while (i < n && i < stop) {
        if (p->in_schema_tag) {
            const unsigned char *gt = memchr(w + i, '>', n - i);
            i = gt ? (size_t)(gt - w) + 1 : n;
            p->in_schema_tag = gt == NULL;
            continue;
        }
        unsigned char c = w[i];
        if (is_plain(c)) {
            out[(*k)++] = c;
            i++;
            continue;
        }
        verdict v = judge(p, w, n, i, final, &span);
        if (v == UNDECIDED)
            break;
        if (v == KEEP) {
            memcpy(out + *k, w + i, span);
            *k += span;
        } else if (c == '<') {
            p->in_schema_tag = 1; /* a stray schema tag: dropped up to its '>' */
        } else if (c < 0x20) {
            out[(*k)++] = ' '; /* a control character XML does not allow */
        } else {
            memcpy(out + *k, "\xEF\xBF\xBD", 3); /* an invalid UTF-8 byte */
            *k += 3;
        }
        i += span;
    }
    return i;
}

/* Bytes held back by the last call come first: they and the next few
 * bytes are judged together until the held-back ones are decided.
 * Returns how many of data's bytes that took. */
static size_t filter_carry(ms_xml_input *p, const unsigned char *data, size_t len, int final)
{
    unsigned char joined[2 * MS_XML_CARRY_MAX], out[6 * MS_XML_CARRY_MAX];
    size_t held = p->carry_len, more = len < MS_XML_CARRY_MAX ? len : MS_XML_CARRY_MAX;
    memcpy(joined, p->carry, held);
    memcpy(joined + held, data, more);
    size_t k = 0;
    size_t used = rewrite(p, joined, held + more, held, final && more == len, out, &k);
    p->carry_len = 0;
    if (used < held) { /* still undecided: data was too short to tell */
        memcpy(p->carry, joined + used, held + more - used);
        p->carry_len = held + more - used;
        used = held + more;
    }
    p->sink(p->arg, out, k, 0);
    return used - held;
}

/* Sends data through the filter to expat: clean stretches go straight
 * through, changed ones through p->out; undecided bytes at the end are
 * held for the next call. */
static void filter(ms_xml_input *p, const unsigned char *data, size_t len, int final)
{
    if (p->carry_len > 0) {
        size_t used = filter_carry(p, data, len, final);
        data += used;
        len -= used;
    }
    while (len > 0 && !p->stopped(p->arg)) {
        int undecided;
        size_t clean = clean_prefix(p, data, len, final, &undecided);
        if (clean > 0)
            p->sink(p->arg, data, clean, 0);
        data += clean;
        len -= clean;
        if (undecided || len == 0)
            break;
        /* a window at a time, so the copy stays small however big the feed */
        size_t window = len < REWRITE_WINDOW ? len : REWRITE_WINDOW;
        if (!reserve(&p->out, &p->out_cap, 3 * (window + 4) + 1)) {
            p->nomem = 1;
            return;
        }
        size_t k = 0;
        size_t used = rewrite(p, data, len, window, final, p->out, &k);
        p->sink(p->arg, p->out, k, 0);
        data += used;
        len -= used;
        if (used == 0)
            break; /* undecided at once */
    }
    if (p->stopped(p->arg))
        return; /* the rest is not wanted */
    if (len > MS_XML_CARRY_MAX - p->carry_len)
        len = MS_XML_CARRY_MAX - p->carry_len; /* cannot happen: undecided bytes are few */
    memcpy(p->carry + p->carry_len, data, len);
    p->carry_len += len;
    if (final)
        p->sink(p->arg, "", 0, 1);
}

/* ---- Feeding -------------------------------------------------------- */

/* Sends bytes on in pieces expat's int length can take. */
static void push(ms_xml_input *p, const unsigned char *data, size_t len, int final)
{
    const size_t piece = 64u << 20;
    do {
        size_t n = len > piece ? piece : len;
        int last = final && n == len;
        if (p->mode == MS_XML_RAW)
            p->sink(p->arg, data, n, last);
        else
            filter(p, data, n, last);
        data += n;
        len -= n;
    } while (len > 0 && !p->stopped(p->arg) && !p->nomem);
}

/* Decides the encoding once enough of the head is there, then sends the
 * head on. */
static void flush_head(ms_xml_input *p, int final)
{
    size_t skip = choose_input(p);
    push(p, p->head + skip, p->head_len - skip, final);
}

void ms_xml_input_init(ms_xml_input *in, ms_xml_sink_fn sink, ms_xml_stopped_fn stopped, void *arg)
{
    memset(in, 0, sizeof *in);
    in->sink = sink;
    in->stopped = stopped;
    in->arg = arg;
}

void ms_xml_input_free(ms_xml_input *in)
{
    free(in->out);
    in->out = NULL;
}

void ms_xml_input_feed(ms_xml_input *in, const void *data, size_t len)
{
    const unsigned char *bytes = data;
    if (in->mode == MS_XML_HEAD) {
        size_t room = MS_XML_HEAD_MAX - in->head_len;
        size_t take = room < len ? room : len;
        memcpy(in->head + in->head_len, bytes, take);
        in->head_len += take;
        bytes += take;
        len -= take;
        if (!head_is_enough(in))
            return;
        flush_head(in, 0);
    }
    if (len > 0 && !in->stopped(in->arg))
        push(in, bytes, len, 0);
}

void ms_xml_input_finish(ms_xml_input *in)
{
    if (in->mode == MS_XML_HEAD)
        flush_head(in, 1);
    else
        push(in, (const unsigned char *)"", 0, 1);
}

int ms_xml_input_is_blank(const ms_xml_input *in)
{
    if (in->mode != MS_XML_HEAD)
        return 0;
    for (size_t i = 0; i < in->head_len; i++)
        if (in->head[i] != ' ' && in->head[i] != '\t' && in->head[i] != '\r' && in->head[i] != '\n')
            return 0;
    return 1;
}
