/* mailsec email: e-mail address validation from the command line.
 * Argument parsing, input reading (arguments, lines, a CSV column) and
 * rendering only; lib/email does the validation and the DNS checks. */
#include "cli.h"
#include "commands.h"
#include "email_options.h"

#include "mailsec/email.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char GROUP_USAGE[] =
    "Usage: mailsec email <command> [options]\n\n"
    "Commands:\n"
    "  check ADDRESS...             validate e-mail addresses (RFC 5321/5322/6531)\n"
    "  check --file FILE|-          one address per line\n"
    "  check --csv FILE --column N|NAME  a column of a CSV file, written back with results\n\n"
    "'mailsec email check --help' for the options.\n";

static const char CHECK_USAGE[] =
    "Usage: mailsec email check [options] ADDRESS...\n"
    "       mailsec email check [options] --file FILE     (one address per line; - for stdin)\n"
    "       mailsec email check [options] --csv FILE --column N|NAME\n\n"
    "Validates each address and says why it is or is not acceptable: the category\n"
    "(valid, rfc5321, cfws, deprecated, rfc5322, error), a diagnosis code\n"
    "(mailsec diag list) and the normal form. A summary counts the diagnoses.\n\n";

enum { FMT_TEXT, FMT_JSON, FMT_CSV };
static const char CMD[] = "email check";
/* Addresses checked per round: bounds memory while keeping --mx lookups
 * for a round in flight together. Without --mx a small round stays in
 * the processor's cache between reading and writing. */
enum { CHUNK = 4096, CHUNK_NO_MX = 256, PROGRESS_EVERY = 100000 };
/* An input line or CSV field longer than this is cut (and then invalid:
 * no address is longer than 254 octets plus some CFWS). A CSV row keeps
 * at most MAX_ROW_FIELDS fields. */
enum { MAX_FIELD = 1 << 20, MAX_ROW_FIELDS = 1 << 16 };
/* A round also ends once its text (addresses, CSV rows, normal forms)
 * passes this, so that memory stays bounded whatever the lines hold. */
enum { CHUNK_TEXT = 1 << 22 };
/* The input is read, and the output written, in blocks of these sizes:
 * one system call and no per-byte stdio call for thousands of lines. */
enum { READ_BLOCK = 1 << 18, WRITE_BLOCK = 1 << 16 };
/* Room for the normal form of any plain address (254 octets). */
enum { NORMAL_ROOM = 1024 };

#define NONE ((size_t)-1)

/* A growable byte array: the round's text, addressed by offsets because
 * it moves when it grows. (lib/core's ms_buf is not part of the library's
 * API.) */
typedef struct text {
    char *data;
    size_t len, cap;
    int failed; /* out of memory: the round cannot be trusted */
} text;

/* Room for n more bytes in t: 0 when out of memory (t->failed). */
static int text_grow(text *t, size_t n)
{
    size_t cap = t->cap ? t->cap : 1 << 16;
    while (cap - t->len < n)
        cap *= 2;
    char *grown = realloc(t->data, cap);
    if (grown == NULL) {
        t->failed = 1;
        return 0;
    }
    t->data = grown;
    t->cap = cap;
    return 1;
}

/* Inline: called for every line and field, with a few bytes. */
static inline void text_append(text *t, const char *p, size_t n)
{
    if (t->failed || (n > t->cap - t->len && !text_grow(t, n)))
        return;
    memcpy(t->data + t->len, p, n);
    t->len += n;
}

/* n bytes at off in the round's text. */
typedef struct slice {
    size_t off, len;
} slice;

typedef struct item {
    slice addr;
    size_t field0, nfields; /* CSV: the row (in the round's fields), re-emitted with the results */
    slice row;              /* CSV: the row as read, when it can be re-emitted as it is (off NONE: not) */
    ms_email_result r;
    slice normal; /* off NONE: no normal form */
    ms_email_mx_status mx;
    int mx_checked;
} item;

/* One round: up to CHUNK addresses and everything they refer to. */
typedef struct round {
    item items[CHUNK];
    size_t n;
    text text;
    slice *fields;
    size_t nfields, fields_cap;
} round;

static void round_reset(round *rd)
{
    rd->n = 0;
    rd->text.len = 0;
    rd->nfields = 0;
}

static void round_free(round *rd)
{
    free(rd->text.data);
    free(rd->fields);
}

static int add_field(round *rd, slice f)
{
    if (rd->nfields == rd->fields_cap) {
        size_t cap = rd->fields_cap ? rd->fields_cap * 2 : 1024;
        slice *grown = realloc(rd->fields, cap * sizeof *grown);
        if (grown == NULL) {
            rd->text.failed = 1;
            return 0;
        }
        rd->fields = grown;
        rd->fields_cap = cap;
    }
    rd->fields[rd->nfields++] = f;
    return 1;
}

/* The bytes of s up to its first NUL: C strings end there, and so did the
 * CSV fields of earlier versions; a NUL cannot travel in CSV. */
static size_t upto_nul(const char *s, size_t n)
{
    const char *z = memchr(s, '\0', n);
    return z ? (size_t)(z - s) : n;
}

/* Byte tests a word at a time (the "Bit Twiddling Hacks" haszero
 * family): the result has a byte's 0x80 bit set where a byte of x is
 * below n (n <= 128), or equal to c. Text shorter than 16 bytes is
 * tested in 8-byte steps, longer text in vectors (below). */
#define ONES 0x0101010101010101ull
#define HIGHS 0x8080808080808080ull

static uint64_t bytes_below(uint64_t x, unsigned n)
{
    return (x - ONES * n) & ~x & HIGHS;
}

static uint64_t bytes_equal(uint64_t x, unsigned char c)
{
    uint64_t v = x ^ (ONES * c);
    return (v - ONES) & ~v & HIGHS;
}

enum byte_test { NOT_PRINTABLE, JSON_SPECIAL, ROW_END, CSV_SPECIAL };

static inline uint64_t word_test(uint64_t x, enum byte_test t)
{
    switch (t) {
    case NOT_PRINTABLE: /* controls, DEL, non-ASCII */
        return (x & HIGHS) | bytes_below(x, 0x20) | bytes_equal(x, 0x7F);
    case JSON_SPECIAL:
        return bytes_equal(x, '"') | bytes_equal(x, '\\');
    case ROW_END: /* where a CSV line read as it is ends, or is found not to be one */
        return bytes_equal(x, '\n') | bytes_equal(x, '"') | bytes_equal(x, '\r') | bytes_equal(x, 0);
    default: /* a field that is quoted, or cut (at a NUL) */
        return bytes_equal(x, ',') | bytes_equal(x, '"') | bytes_equal(x, '\r') | bytes_equal(x, '\n') |
               bytes_equal(x, 0);
    }
}

/* The same tests 16 bytes at a time, in the compiler's vectors (GCC and
 * Clang: SSE2 on x86-64, NEON on ARM, plain words elsewhere): a byte of
 * the result is all ones where the byte of x passes. */
typedef unsigned char bytes16 __attribute__((vector_size(16)));
typedef signed char mask16 __attribute__((vector_size(16)));

static inline mask16 vector_test(bytes16 x, enum byte_test t)
{
    switch (t) {
    case NOT_PRINTABLE: return (x < 0x20) | (x >= 0x7F);
    case JSON_SPECIAL: return (x == '"') | (x == '\\');
    case ROW_END: return (x == '\n') | (x == '"') | (x == '\r') | (x == 0);
    default: return (x == ',') | (x == '"') | (x == '\r') | (x == '\n') | (x == 0);
    }
}

static inline int vector_any(mask16 m)
{
    uint64_t half[2];
    memcpy(half, &m, sizeof half);
    return (half[0] | half[1]) != 0;
}

/* Whether some byte of s (n bytes, 16 or more) passes the test. */
static inline int any_byte_long(const char *s, size_t n, enum byte_test t)
{
    bytes16 x;
    size_t i = 0;
    for (; i + 16 <= n; i += 16) {
        memcpy(&x, s + i, 16);
        if (vector_any(vector_test(x, t)))
            return 1;
    }
    if (i == n)
        return 0;
    memcpy(&x, s + n - 16, 16); /* the last 16 bytes, some of them tested again */
    return vector_any(vector_test(x, t));
}

/* The index of the first of x's 16 bytes that passes the test; 16 when
 * none does. */
static size_t first_in_vector(bytes16 x, enum byte_test t)
{
    mask16 m = vector_test(x, t);
    uint64_t half[2];
    memcpy(half, &m, sizeof half);
    if ((half[0] | half[1]) == 0)
        return 16;
    size_t k = half[0] ? 0 : 8;
    uint64_t h = half[0] ? half[0] : half[1]; /* a passing byte is 0xff */
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    return k + (size_t)__builtin_ctzll(h) / 8;
#else
    return k + (size_t)__builtin_clzll(h) / 8;
#endif
}

/* The offset of the first byte of s (n bytes) that passes the test, n
 * when none does. */
static size_t first_byte(const char *s, size_t n, enum byte_test t)
{
    bytes16 x;
    if (n < 16) { /* padded with a byte no test takes */
        char padded[16];
        memset(padded, 'a', sizeof padded);
        memcpy(padded, s, n);
        memcpy(&x, padded, 16);
        size_t k = first_in_vector(x, t);
        return k < n ? k : n;
    }
    size_t i = 0;
    for (; i + 16 <= n; i += 16) {
        memcpy(&x, s + i, 16);
        size_t k = first_in_vector(x, t);
        if (k < 16)
            return i + k;
    }
    if (i == n)
        return n;
    /* the last 16 bytes: those before i passed no test, so the first
     * found is the first */
    memcpy(&x, s + n - 16, 16);
    size_t k = first_in_vector(x, t);
    return k < 16 ? n - 16 + k : n;
}

/* Whether some byte of s (n bytes) passes the test. */
static inline int any_byte(const char *s, size_t n, enum byte_test t)
{
    if (n >= 16)
        return any_byte_long(s, n, t);
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t x;
        memcpy(&x, s + i, 8);
        if (word_test(x, t))
            return 1;
    }
    uint64_t x;
    if (i == n)
        return 0;
    if (n >= 8) { /* the last 8 bytes, some of them tested again */
        memcpy(&x, s + n - 8, 8);
        return word_test(x, t) != 0;
    }
    char tail[8]; /* a short text, padded with a byte no test takes */
    memset(tail, 'a', sizeof tail);
    memcpy(tail, s, n);
    memcpy(&x, tail, 8);
    return word_test(x, t) != 0;
}

/* ---- input ---- */

typedef struct source {
    char **args; /* addresses from the command line */
    size_t nargs, next_arg;
    FILE *f;
    char *buf; /* READ_BLOCK bytes read from f, pos to end not yet used */
    size_t pos, end;
    int csv;
    long column;            /* 0-based CSV column, -1 until the header names it */
    const char *column_name;
    int header;             /* the first CSV row is a header */
    round *header_row;      /* its fields, re-emitted in the CSV output */
    int eof, io_error;
    size_t too_long;
} source;

/* Makes unread input available: 0 at the end of the input. */
static int fill(source *s)
{
    if (s->pos < s->end)
        return 1;
    if (s->eof)
        return 0;
    size_t n = fread(s->buf, 1, READ_BLOCK, s->f);
    if (n == 0) {
        s->eof = 1;
        if (ferror(s->f))
            s->io_error = 1;
        return 0;
    }
    s->pos = 0;
    s->end = n;
    return 1;
}

/* Appends n input bytes to the field of *kept bytes so far, up to
 * MAX_FIELD; the rest is counted as cut. */
static void keep(source *s, text *t, const char *p, size_t n, size_t *kept)
{
    size_t room = MAX_FIELD - *kept, take = n < room ? n : room;
    text_append(t, p, take);
    *kept += take;
    s->too_long += n - take;
}

/* Appends the next line, without its line end, to t: 1 and its length,
 * or 0 at the end of the input. */
static int read_line(source *s, text *t, size_t *len)
{
    size_t start = t->len, kept = 0;
    int any = 0;
    while (fill(s)) {
        any = 1;
        const char *p = s->buf + s->pos;
        size_t avail = s->end - s->pos;
        const char *nl = memchr(p, '\n', avail);
        size_t n = nl ? (size_t)(nl - p) : avail;
        keep(s, t, p, n, &kept);
        s->pos += n + (nl != NULL);
        if (nl != NULL)
            break;
    }
    if (!any)
        return 0;
    if (kept > 0 && !t->failed && t->data[start + kept - 1] == '\r') {
        kept--;
        t->len--;
    }
    *len = kept;
    return 1;
}

/* The length of the run at p (n bytes) that a CSV field takes as it is:
 * up to the next quote, or (unquoted) the next quote, comma or newline. */
static size_t csv_run(const char *p, size_t n, int quoted)
{
    if (quoted) {
        const char *q = memchr(p, '"', n);
        return q ? (size_t)(q - p) : n;
    }
    size_t i = 0;
    while (i < n && p[i] != '"' && p[i] != ',' && p[i] != '\n')
        i++;
    return i;
}

/* The next input byte without taking it, or EOF. */
static int peek_byte(source *s)
{
    return fill(s) ? (unsigned char)s->buf[s->pos] : EOF;
}

/* Whether a line of n bytes has more than MAX_ROW_FIELDS fields. */
static int too_many_fields(const char *p, size_t n)
{
    size_t commas = 0;
    for (const char *end = p + n; (p = memchr(p, ',', (size_t)(end - p))) != NULL; p++)
        if (++commas >= MAX_ROW_FIELDS)
            return 1;
    return 0;
}

/* The common CSV record: a line within the block read, with no quote, CR
 * or NUL, so that its fields are what lies between its commas and the
 * output can repeat it as it is. Its bytes are kept once, as *row, and
 * the column's field is *addr (empty when the row is shorter); the other
 * fields are not looked at. Returns 0 when the record is not such a line
 * (nothing taken: read_csv_row() reads it). */
static int read_plain_row(source *s, round *rd, slice *row, slice *addr)
{
    const char *p = s->buf + s->pos;
    size_t avail = s->end - s->pos, n = first_byte(p, avail, ROW_END);
    if (n == avail || p[n] != '\n')
        return 0;
    if (n >= MAX_ROW_FIELDS && too_many_fields(p, n))
        return 0; /* the long way, which counts what it cuts */
    /* the column's field: after `column` commas, up to the next one */
    const char *field = s->column >= 0 ? p : NULL, *end = p + n;
    for (long k = 0; k < s->column && field != NULL; k++) {
        field = memchr(field, ',', (size_t)(end - field));
        field = field ? field + 1 : NULL;
    }
    const char *field_end = field ? memchr(field, ',', (size_t)(end - field)) : NULL;
    size_t start = rd->text.len;
    text_append(&rd->text, p, n);
    if (rd->text.failed)
        return 0;
    s->pos += n + 1;
    *row = (slice){start, n};
    if (field == NULL)
        *addr = (slice){start, 0};
    else
        *addr = (slice){start + (size_t)(field - p), (size_t)((field_end ? field_end : end) - field)};
    return 1;
}

/* One CSV record (RFC 4180: quoted fields may hold commas, quotes doubled,
 * line breaks) appended to the round's fields. Returns the number of
 * fields, 0 at the end. */
static size_t read_csv_row(source *s, round *rd)
{
    size_t n = 0, start = rd->text.len, len = 0;
    int quoted = 0, any = 0;
    int last_quoted = 0; /* the field's last byte was read inside quotes: text, even a CR */
    for (;;) {
        int c = EOF;
        if (fill(s)) {
            const char *p = s->buf + s->pos;
            /* a quote opens a quoted field only at the field's start */
            size_t run = quoted || !(p[0] == '"' && len == 0) ? csv_run(p, s->end - s->pos, quoted) : 0;
            if (run > 0) {
                keep(s, &rd->text, p, run, &len);
                s->pos += run;
                any = 1;
                last_quoted = quoted;
                continue;
            }
            c = (unsigned char)p[0];
            s->pos++;
        }
        if (quoted) {
            if (c == EOF) {
                quoted = 0;
                continue;
            }
            /* c is a quote: doubled, it is one quote of the text */
            if (peek_byte(s) != '"') {
                quoted = 0;
                continue;
            }
            s->pos++;
            keep(s, &rd->text, "\"", 1, &len);
            last_quoted = 1;
            continue;
        }
        if (c == '"' && len == 0) {
            quoted = any = 1;
            continue;
        }
        if (c == ',' || c == '\n' || c == EOF) {
            if (c == EOF && !any && n == 0 && len == 0)
                break;
            /* the CR of a CRLF line end */
            if (len > 0 && !last_quoted && !rd->text.failed && rd->text.data[rd->text.len - 1] == '\r' &&
                c != ',') {
                len--;
                rd->text.len--;
            }
            if (n < MAX_ROW_FIELDS) {
                if (!add_field(rd, (slice){start, len}))
                    break;
                n++;
            } else {
                s->too_long += len;
                rd->text.len = start;
            }
            start = rd->text.len;
            len = 0;
            last_quoted = 0;
            if (c != ',')
                break;
            continue;
        }
        any = 1;
        last_quoted = 0;
        char byte = (char)c;
        keep(s, &rd->text, &byte, 1, &len);
    }
    return n;
}

/* The next address, added to the round; 0 at the end. */
static int next_item(source *s, round *rd)
{
    item *it = &rd->items[rd->n];
    /* field by field: a memset of the whole item costs more than reading
     * a line (the result is ms_email_check()'s to fill) */
    it->addr = (slice){rd->text.len, 0};
    it->field0 = it->nfields = 0;
    it->row.off = it->normal.off = NONE;
    it->mx_checked = 0;
    if (s->args != NULL) {
        if (s->next_arg == s->nargs)
            return 0;
        const char *a = s->args[s->next_arg++];
        it->addr.len = strlen(a);
        text_append(&rd->text, a, it->addr.len);
        return 1;
    }
    if (s->eof && s->pos == s->end)
        return 0;
    if (!s->csv) {
        for (;;) {
            if (!read_line(s, &rd->text, &it->addr.len) || rd->text.failed)
                return 0;
            if (it->addr.len > 0)
                return 1;
            /* blank lines separate nothing: skip */
        }
    }
    for (;;) {
        if (fill(s) && read_plain_row(s, rd, &it->row, &it->addr)) {
            if (it->row.len > 0)
                return 1;
            it->row.off = NONE; /* an empty line */
            continue;
        }
        size_t first = rd->nfields, n = read_csv_row(s, rd);
        if (n == 0 || rd->text.failed)
            return 0;
        const slice *f = &rd->fields[first];
        if (n == 1 && (f[0].len == 0 || rd->text.data[f[0].off] == '\0')) { /* an empty line */
            rd->nfields = first;
            rd->text.len = f[0].off;
            it->row.off = NONE;
            continue;
        }
        it->field0 = first;
        it->nfields = n;
        if (s->column >= 0 && (size_t)s->column < n) {
            it->addr.off = f[s->column].off;
            it->addr.len = upto_nul(rd->text.data + f[s->column].off, f[s->column].len);
        } else {
            it->addr.len = 0;
        }
        return 1;
    }
}

/* ---- checking ---- */

typedef struct run {
    cli_common *c;
    ms_email_profile profile;
    int format, mx;
    ms_ctx *ctx;
    ms_email_mx_cache *mx_cache; /* --mx: verdicts across chunks */
    size_t total, valid, invalid, mx_failed;
    const char *diag_codes[64]; /* the diagnoses met, with their counts and definitions */
    size_t diag_counts[64];
    const ms_diag_def *diag_defs[64];
    size_t ndiags;
    size_t chunk; /* addresses per round */
    int first_json;
    int could_not_check;
    /* what out_ok and out_item print before a line: "  ✓ ", "  ! ", "  ✗ " */
    char mark_ok[32], mark_warning[32], mark_error[32];
    size_t mark_ok_len, mark_warning_len, mark_error_len;
    struct piece *pieces; /* the fixed parts of results, rendered once */
    size_t npieces;
} run;

/* Counts the diagnosis; its definition (NULL if unknown). The codes are
 * the library's static strings, so a pointer compares them. */
static const ms_diag_def *count_diag(run *r, const char *code)
{
    for (size_t i = 0; i < r->ndiags; i++) {
        if (r->diag_codes[i] == code) {
            r->diag_counts[i]++;
            return r->diag_defs[i];
        }
    }
    const ms_diag_def *def = ms_email_diag_def(code);
    if (r->ndiags < 64) {
        r->diag_codes[r->ndiags] = code;
        r->diag_defs[r->ndiags] = def;
        r->diag_counts[r->ndiags++] = 1;
    }
    return def;
}

static const char *at(const round *rd, slice s)
{
    return rd->text.data + s.off;
}

/* The A-label domain of a normal form, or NULL for address literals. */
static const char *mx_domain(const round *rd, const item *it)
{
    if (it->normal.off == NONE)
        return NULL;
    const char *at_sign = strrchr(at(rd, it->normal), '@');
    return at_sign && at_sign[1] != '[' ? at_sign + 1 : NULL;
}

static void check_mx(run *r, round *rd)
{
    size_t n = rd->n;
    const char **ask = malloc(n * sizeof *ask);
    size_t *asked_for = malloc(n * sizeof *asked_for);
    ms_email_mx_status *st = malloc(n * sizeof *st);
    size_t nask = 0;
    for (size_t i = 0; ask && asked_for && st && i < n; i++) {
        const char *d = mx_domain(rd, &rd->items[i]);
        if (d != NULL) {
            asked_for[nask] = i;
            ask[nask++] = d;
        }
    }
    if (ask == NULL || asked_for == NULL || st == NULL ||
        ms_email_mx_check_cached(r->ctx, r->mx_cache, ask, nask, st) != MS_OK) {
        fprintf(stderr, "mailsec email check: the DNS lookups failed\n");
        r->could_not_check = 1;
        nask = 0;
    }
    for (size_t k = 0; k < nask; k++) {
        item *it = &rd->items[asked_for[k]];
        it->mx = st[k];
        it->mx_checked = 1;
        if (it->mx == MS_EMAIL_MX_TEMPFAIL)
            r->mx_failed++;
        ms_email_result_apply_mx(&it->r, r->profile, it->mx);
        if (!it->r.valid)
            it->normal.off = NONE;
    }
    free(st);
    free(asked_for);
    free(ask);
}

/* The normal form of a valid address, added to the round's text. */
static void add_normal_form(run *r, round *rd, item *it)
{
    text *t = &rd->text;
    if (t->failed || (t->cap - t->len < NORMAL_ROOM && !text_grow(t, NORMAL_ROOM)))
        return;
    size_t len;
    const char *addr = at(rd, it->addr); /* (the text does not move below) */
    ms_status st =
        ms_email_normalize_into(addr, it->addr.len, r->profile, &it->r, t->data + t->len, NORMAL_ROOM, &len);
    if (st == MS_OK) { /* written in place, its NUL too */
        it->normal = (slice){t->len, len};
        t->len += len + 1;
    } else if (st == MS_ERR_LIMIT) { /* a long one (rfc5322, html5) */
        char *normal;
        if (ms_email_normalize(addr, it->addr.len, r->profile, &normal) == MS_OK) {
            it->normal = (slice){rd->text.len, len};
            text_append(&rd->text, normal, len + 1);
            free(normal);
        }
    }
}

/* ---- output ----
 * Lines are assembled in a block and written with one call; text a
 * terminal or a JSON string needs escaped is escaped into the block by
 * the shared escaper (cli.c) or jansson. */

static struct {
    char data[WRITE_BLOCK];
    size_t len;
    size_t flushes; /* blocks written so far */
} out;

/* Writes n bytes to stdout; a failure is kept for the final message
 * (cli_output_failed() stops the run). */
static void out_write(const char *p, size_t n)
{
    errno = 0;
    if (fwrite_unlocked(p, 1, n, stdout) != n)
        cli_output_errno(errno);
}

static void out_flush(void)
{
    if (out.len > 0)
        out_write(out.data, out.len);
    out.len = 0;
    out.flushes++;
}

/* out_bytes() when the block has no room left for n bytes. */
static void out_spill(const char *p, size_t n)
{
    out_flush();
    if (n > sizeof out.data) {
        out_write(p, n);
        return;
    }
    memcpy(out.data, p, n);
    out.len = n;
}

/* Inline: most pieces are a few bytes, often constant (the copy and a
 * literal's strlen() are then folded into a few moves). */
static inline void out_bytes(const char *p, size_t n)
{
    if (n > sizeof out.data - out.len) {
        out_spill(p, n);
        return;
    }
    memcpy(out.data + out.len, p, n);
    out.len += n;
}

static inline void out_str(const char *s)
{
    out_bytes(s, strlen(s));
}

/* ---- fixed parts ----
 * Much of a result's output depends only on its diagnosis and validity
 * (",true,valid,email.valid," in CSV; the category, the diagnosis, its
 * severity and message in JSON). Each such part is rendered by its
 * function the first time, kept, and copied after that: the same bytes,
 * without the escaping and the small writes per address. */

enum piece_kind { PIECE_CSV, PIECE_JSON_HEAD, PIECE_JSON_TAIL, PIECE_TEXT_OK };
enum { MAX_PIECES = 256, PIECE_MAX = 2048 };

typedef struct piece {
    enum piece_kind kind;
    const char *diagnosis; /* the library's static string: compared by pointer */
    ms_email_category category;
    int valid;
    char *kept; /* its bytes */
    size_t len;
} piece;

typedef void (*piece_render)(const ms_email_result *res, const ms_diag_def *def);

/* Writes the part of kind `kind` for this result: kept text when there
 * is some, else rendered (and kept, when there is room). */
static void out_piece(run *r, enum piece_kind kind, const ms_email_result *res, const ms_diag_def *def,
                      piece_render render)
{
    for (size_t i = 0; i < r->npieces; i++) {
        const piece *p = &r->pieces[i];
        if (p->kind == kind && p->diagnosis == res->diagnosis && p->category == res->category &&
            p->valid == res->valid) {
            out_bytes(p->kept, p->len);
            return;
        }
    }
    if (r->pieces == NULL)
        r->pieces = calloc(MAX_PIECES, sizeof *r->pieces);
    if (r->pieces == NULL || r->npieces == MAX_PIECES) {
        render(res, def); /* not kept (no memory, or no room): rendered each time */
        return;
    }
    if (sizeof out.data - out.len < PIECE_MAX)
        out_flush(); /* the part is rendered in one piece of the block */
    size_t start = out.len, flushes = out.flushes;
    render(res, def);
    size_t len = out.len - start;
    /* (a part too long for the block went out in pieces: not kept) */
    char *kept = out.flushes == flushes && len > 0 ? malloc(len) : NULL;
    if (kept != NULL) {
        memcpy(kept, out.data + start, len);
        r->pieces[r->npieces++] = (piece){kind, res->diagnosis, res->category, res->valid, kept, len};
    }
}

static void pieces_free(run *r)
{
    for (size_t i = 0; i < r->npieces; i++)
        free(r->pieces[i].kept);
    free(r->pieces);
    r->pieces = NULL;
    r->npieces = 0;
}

/* Printable ASCII only: shown on a terminal as it is (cli_put_escaped
 * would change nothing). */
static int is_printable(const char *s, size_t n)
{
    return !any_byte(s, n, NOT_PRINTABLE);
}

/* What the library's grammar says of an address of category valid: a
 * dot-atom "@" a host name (email.h), so that neither it nor its normal
 * form holds a byte CSV quotes or JSON escapes, and, outside profile intl,
 * a byte that is not printable ASCII. Such text is written as it is,
 * without looking at its bytes again. */
static int csv_plain(const item *it)
{
    return it->r.category == MS_EMAIL_CAT_VALID;
}

static int ascii_plain(const run *r, const item *it)
{
    return it->r.category == MS_EMAIL_CAT_VALID && r->profile != MS_EMAIL_PROFILE_INTL;
}

static void csv_field(const char *s, size_t n)
{
    if (!any_byte(s, n, CSV_SPECIAL)) {
        out_bytes(s, n);
        return;
    }
    n = upto_nul(s, n);
    if (!any_byte(s, n, CSV_SPECIAL)) {
        out_bytes(s, n);
        return;
    }
    out_bytes("\"", 1);
    for (const char *q; n > 0 && (q = memchr(s, '"', n)) != NULL; n -= (size_t)(q + 1 - s), s = q + 1)
        out_bytes(s, (size_t)(q + 1 - s)), out_bytes("\"", 1); /* a quote, doubled */
    out_bytes(s, n);
    out_bytes("\"", 1);
}

static void render_csv_fixed(const ms_email_result *res, const ms_diag_def *def)
{
    (void)def;
    out_str(res->valid ? "true," : "false,");
    out_str(ms_email_category_name(res->category));
    out_bytes(",", 1);
    out_str(res->diagnosis);
    out_bytes(",", 1);
}

static void emit_csv(run *r, const round *rd, const item *it, const ms_diag_def *def)
{
    if (it->row.off != NONE) {
        out_bytes(at(rd, it->row), it->row.len);
        out_bytes(",", 1);
    } else if (it->nfields > 0) {
        for (size_t i = 0; i < it->nfields; i++) {
            const slice *f = &rd->fields[it->field0 + i];
            csv_field(at(rd, *f), f->len);
            out_bytes(",", 1);
        }
    } else if (csv_plain(it)) {
        out_bytes(at(rd, it->addr), it->addr.len);
        out_bytes(",", 1);
    } else {
        csv_field(at(rd, it->addr), it->addr.len);
        out_bytes(",", 1);
    }
    out_piece(r, PIECE_CSV, &it->r, def, render_csv_fixed);
    if (it->normal.off != NONE && csv_plain(it))
        out_bytes(at(rd, it->normal), it->normal.len);
    else if (it->normal.off != NONE)
        csv_field(at(rd, it->normal), it->normal.len);
    out_bytes("\n", 1);
}

/* n bytes of text as a JSON string, byte for byte as jansson writes it
 * with JSON_ENSURE_ASCII: printable ASCII here (quote and backslash
 * escaped), anything else (controls, UTF-8, bytes that are not UTF-8)
 * through jansson. */
static void json_string_out(const char *s, size_t n)
{
    if (is_printable(s, n)) {
        out_bytes("\"", 1);
        size_t start = 0, end = any_byte(s, n, JSON_SPECIAL) ? n : 0; /* the part to look at */
        for (size_t i = 0; i < end; i++) {
            if (s[i] == '"' || s[i] == '\\') {
                out_bytes(s + start, i - start);
                out_bytes("\\", 1);
                start = i;
            }
        }
        out_bytes(s + start, n - start);
        out_bytes("\"", 1);
        return;
    }
    json_t *j = json_text(s, n);
    char room[1024];
    size_t flags = JSON_ENCODE_ANY | JSON_ENSURE_ASCII;
    size_t len = json_dumpb(j, room, sizeof room, flags);
    char *big = len > sizeof room ? malloc(len) : NULL; /* a long address */
    if (len == 0 || (len > sizeof room && (big == NULL || json_dumpb(j, big, len, flags) != len)))
        out_str("null"); /* out of memory */
    else
        out_bytes(big ? big : room, len);
    free(big);
    json_decref(j);
}

/* Part of a text as a JSON string: as it is when the whole text is
 * plain (printable ASCII, no quote or backslash), else escaped. */
static void json_part_out(int plain, const char *s, size_t n)
{
    if (!plain) {
        json_string_out(s, n);
        return;
    }
    out_bytes("\"", 1);
    out_bytes(s, n);
    out_bytes("\"", 1);
}

/* ,"valid":...,"category":"...","diagnosis":"..." */
static void render_json_head(const ms_email_result *res, const ms_diag_def *def)
{
    (void)def;
    out_str(res->valid ? ",\"valid\":true,\"category\":\"" : ",\"valid\":false,\"category\":\"");
    out_str(ms_email_category_name(res->category));
    out_str("\",\"diagnosis\":\"");
    out_str(res->diagnosis);
    out_bytes("\"", 1);
}

/* ,"diagnostics":[{"severity":...,"code":...,"message":...,"location":null,"offset": */
static void render_json_tail(const ms_email_result *res, const ms_diag_def *def)
{
    out_str(",\"diagnostics\":[{\"severity\":\"");
    out_str(ms_severity_str(def ? def->severity : MS_SEV_ERROR));
    out_str("\",\"code\":\"");
    out_str(res->diagnosis);
    out_str("\",\"message\":");
    const char *message = def ? def->summary : "";
    json_string_out(message, strlen(message));
    out_str(",\"location\":null,\"offset\":");
}

/* A number in decimal. */
static void out_decimal(size_t v)
{
    char digits[24];
    size_t n = sizeof digits;
    do {
        digits[--n] = (char)('0' + v % 10);
        v /= 10;
    } while (v > 0);
    out_bytes(digits + n, sizeof digits - n);
}

/* One result as a JSON object (docs/json.md), compact, in this order. */
static void emit_json(run *r, const round *rd, const item *it, const ms_diag_def *def)
{
    out_str(r->first_json ? "\n    " : ",\n    ");
    r->first_json = 0;
    const char *addr = at(rd, it->addr);
    /* an address JSON takes as it is, and so its parts, is looked at once */
    int plain = ascii_plain(r, it) ||
                (is_printable(addr, it->addr.len) && !any_byte(addr, it->addr.len, JSON_SPECIAL));
    out_str("{\"address\":");
    json_part_out(plain, addr, it->addr.len);
    out_piece(r, PIECE_JSON_HEAD, &it->r, def, render_json_head);
    if (it->r.category < MS_EMAIL_CAT_ERR) {
        out_str(",\"local_part\":");
        json_part_out(plain, addr + it->r.local_start, it->r.local_len);
        out_str(",\"domain\":");
        json_part_out(plain, addr + it->r.domain_start, it->r.domain_len);
    } else {
        out_str(",\"local_part\":null,\"domain\":null");
    }
    out_str(",\"normalized\":");
    if (it->normal.off != NONE)
        json_part_out(ascii_plain(r, it), at(rd, it->normal), it->normal.len);
    else
        out_str("null");
    if (it->mx_checked) {
        out_str(",\"mx\":\"");
        out_str(ms_email_mx_status_name(it->mx));
        out_bytes("\"", 1);
    } else {
        out_str(",\"mx\":null");
    }
    out_piece(r, PIECE_JSON_TAIL, &it->r, def, render_json_tail);
    out_decimal(it->r.error_offset);
    out_str("}]}");
}

/* The address has a normal form, and it is not the address as given. */
static int normal_differs(const round *rd, const item *it)
{
    return it->normal.off != NONE &&
           (it->normal.len != it->addr.len || memcmp(at(rd, it->normal), at(rd, it->addr), it->addr.len) != 0);
}

/* Text from the input (an address, a normal form) as the checklist shows
 * it: escaped as cli_put_escaped() does when it is not printable, into
 * the block. plain: known to be printable. */
static void out_shown(const run *r, int plain, const char *s, size_t n)
{
    if (plain || is_printable(s, n)) {
        out_bytes(s, n);
        return;
    }
    char room[1024];
    for (size_t i = 0, used; i < n; i += used)
        out_bytes(room, cli_escape_some(s + i, n - i, r->c->utf8, room, sizeof room, &used));
}

/* One result as a checklist line: what out_ok() (valid) or out_item()
 * would print, written into the block. */
/*   valid (email.valid) */
static void render_text_ok(const ms_email_result *res, const ms_diag_def *def)
{
    (void)def;
    out_str("  valid (");
    out_str(res->diagnosis);
    out_bytes(")", 1);
}

static void emit_text(run *r, const round *rd, const item *it, const ms_diag_def *def)
{
    int ok = it->r.valid && def && def->severity == MS_SEV_INFO;
    if (ok && r->c->quiet)
        return; /* out_ok prints nothing */
    if (ok) {
        out_bytes(r->mark_ok, r->mark_ok_len);
        out_shown(r, ascii_plain(r, it), at(rd, it->addr), it->addr.len);
        out_piece(r, PIECE_TEXT_OK, &it->r, def, render_text_ok);
        if (normal_differs(rd, it)) {
            out_str("  normal form: ");
            out_shown(r, ascii_plain(r, it), at(rd, it->normal), it->normal.len);
        }
        out_bytes("\n", 1);
        return;
    }
    if (it->r.valid)
        out_bytes(r->mark_warning, r->mark_warning_len);
    else
        out_bytes(r->mark_error, r->mark_error_len);
    out_shown(r, ascii_plain(r, it), at(rd, it->addr), it->addr.len);
    out_str(it->r.valid ? "  acceptable, " : "  not valid, ");
    out_str(ms_email_category_name(it->r.category));
    out_str(" (");
    out_str(it->r.diagnosis);
    out_bytes(")", 1);
    if (it->mx_checked) {
        out_str("  mx: ");
        out_str(ms_email_mx_status_name(it->mx));
    }
    out_bytes("\n", 1);
    if (!r->c->quiet && def != NULL) {
        out_str("    ");
        out_shown(r, 0, def->summary, strlen(def->summary));
        out_bytes("\n", 1);
        if (def->advice != NULL && r->c->verbose) {
            out_str("    ");
            out_shown(r, 0, def->advice, strlen(def->advice));
            out_bytes("\n", 1);
        }
    }
}

/* Whether the results shown need the normal forms: every output but the
 * quiet checklist, which shows only what is wrong (and --mx asks for the
 * normal form's domain). */
static int needs_normal_form(const run *r)
{
    return r->format != FMT_TEXT || !r->c->quiet || r->mx;
}

static void process(run *r, round *rd)
{
    int normal_forms = needs_normal_form(r);
    for (size_t i = 0; i < rd->n; i++) {
        item *it = &rd->items[i];
        ms_email_check(at(rd, it->addr), it->addr.len, r->profile, &it->r);
        if (it->r.valid && normal_forms)
            add_normal_form(r, rd, it);
    }
    if (r->mx)
        check_mx(r, rd);
    for (size_t i = 0; i < rd->n; i++) {
        item *it = &rd->items[i];
        r->total++;
        if (it->r.valid)
            r->valid++;
        else
            r->invalid++;
        const ms_diag_def *def = count_diag(r, it->r.diagnosis);
        if (r->format == FMT_CSV)
            emit_csv(r, rd, it, def);
        else if (r->format == FMT_JSON)
            emit_json(r, rd, it, def);
        else
            emit_text(r, rd, it, def);
    }
    /* the round's results leave the process now: killed later, it loses
     * at most the round in progress */
    out_flush();
    errno = 0;
    if (fflush(stdout) != 0)
        cli_output_errno(errno);
}

static void summary(run *r)
{
    if (r->format == FMT_JSON) {
        json_t *s = json_object();
        json_object_set_new(s, "total", json_integer((json_int_t)r->total));
        json_object_set_new(s, "valid", json_integer((json_int_t)r->valid));
        json_object_set_new(s, "invalid", json_integer((json_int_t)r->invalid));
        json_t *by = json_object();
        for (size_t i = 0; i < r->ndiags; i++)
            json_object_set_new(by, r->diag_codes[i], json_integer((json_int_t)r->diag_counts[i]));
        json_object_set_new(s, "by_diagnosis", by);
        fputs("\n  ],\n  \"summary\": ", stdout);
        json_dumpf(s, stdout, JSON_COMPACT | JSON_SORT_KEYS);
        json_decref(s);
        return;
    }
    if (r->format == FMT_CSV) {
        /* CSV carries data only; the summary goes to stderr */
        if (!r->c->quiet) {
            fprintf(stderr, "%zu addresses: %zu valid, %zu not valid\n", r->total, r->valid, r->invalid);
            for (size_t i = 0; i < r->ndiags; i++)
                fprintf(stderr, "  %-34s %zu\n", r->diag_codes[i], r->diag_counts[i]);
        }
        return;
    }
    printf("\n%zu address%s: %zu valid, %zu not valid (profile %s)\n", r->total, r->total == 1 ? "" : "es",
           r->valid, r->invalid, ms_email_profile_name(r->profile));
    for (size_t i = 0; i < r->ndiags; i++)
        printf("  %-34s %zu\n", r->diag_codes[i], r->diag_counts[i]);
    if (r->mx_failed)
        printf("  %zu address%s could not be checked in DNS (tempfail)\n", r->mx_failed, r->mx_failed == 1 ? "" : "es");
}

/* Finds the CSV column from the header row. */
static int resolve_column(source *s)
{
    if (!s->header)
        return 1;
    round *h = s->header_row = calloc(1, sizeof *h);
    if (h == NULL) {
        fprintf(stderr, "mailsec %s: out of memory\n", CMD);
        return 0;
    }
    size_t n = read_csv_row(s, h);
    if (h->text.failed) {
        fprintf(stderr, "mailsec %s: out of memory\n", CMD);
        return 0;
    }
    if (s->column_name != NULL) {
        size_t want = strlen(s->column_name);
        for (size_t i = 0; i < n; i++) {
            const char *f = h->text.data + h->fields[i].off;
            if (upto_nul(f, h->fields[i].len) == want && memcmp(f, s->column_name, want) == 0)
                s->column = (long)i;
        }
        if (s->column < 0) {
            fprintf(stderr, "mailsec email check: no column named \"%s\" in the header row\n", s->column_name);
            return 0;
        }
    }
    return 1;
}

typedef struct check_args {
    run r;
    const char *file, *csv, *column;
    int header;
} check_args;

static int check_option(void *arg, int opt, const char *value)
{
    check_args *a = arg;
    switch (opt) {
    case OPT_PROFILE: return ms_email_profile_parse(value, &a->r.profile);
    case OPT_FILE: a->file = value; return 1;
    case OPT_CSV: a->csv = value; return 1;
    case OPT_COLUMN: a->column = value; return 1;
    case OPT_HEADER: a->header = 1; return 1;
    case OPT_MX: a->r.mx = 1; return 1;
    case OPT_FORMAT: {
        static const cli_name FORMATS[] = {{"text", FMT_TEXT}, {"json", FMT_JSON}, {"csv", FMT_CSV},
                                           {NULL, 0}};
        a->r.format = cli_name_value(value, FORMATS, -1);
        return a->r.format >= 0;
    }
    }
    return CLI_OPTION_UNHANDLED;
}

/* The addresses' source: the arguments, a file or a CSV column. -1 when
 * it is ready, else the exit status. */
static int open_source(source *s, int argc, char **argv, const char *file, const char *csv,
                       const char *column, int header)
{
    if (optind < argc) {
        s->args = argv + optind;
        s->nargs = (size_t)(argc - optind);
        return -1;
    }
    const char *path = file ? file : csv;
    s->f = strcmp(path, "-") == 0 ? stdin : fopen(path, "r");
    if (s->f == NULL) {
        fprintf(stderr, "mailsec %s: cannot open %s: %s\n", CMD, path, strerror(errno));
        return EXIT_UNCHECKED;
    }
    s->buf = malloc(READ_BLOCK);
    if (s->buf == NULL) {
        fprintf(stderr, "mailsec %s: out of memory\n", CMD);
        return EXIT_UNCHECKED;
    }
    s->csv = csv != NULL;
    if (!s->csv)
        return -1;
    char *end;
    long n = strtol(column, &end, 10);
    if (*end == '\0' && n >= 1) {
        s->column = n - 1;
        s->header = header;
    } else {
        s->column_name = column;
        s->header = 1;
    }
    return resolve_column(s) ? -1 : EXIT_UNCHECKED;
}

static void begin_output(const run *r, const source *s)
{
    if (r->format == FMT_JSON) {
        printf("{\n  \"schema_version\": %d,\n  \"command\": \"email check\",\n  \"profile\": \"%s\",\n  \"results\": [",
               CLI_JSON_SCHEMA_VERSION, ms_email_profile_name(r->profile));
    } else if (r->format == FMT_CSV) {
        const round *h = s->header_row;
        if (h != NULL && h->nfields > 0) {
            for (size_t i = 0; i < h->nfields; i++) {
                csv_field(at(h, h->fields[i]), h->fields[i].len);
                out_bytes(",", 1);
            }
            out_str("valid,category,diagnosis,normalized\n");
        } else if (!s->csv) {
            out_str("address,valid,category,diagnosis,normalized\n");
        }
        out_flush();
    }
}

/* What a text line starts with, as the shared checklist prints it. */
static void prepare_marks(run *r)
{
    r->mark_ok_len = cli_mark_prefix(r->c, -1, r->mark_ok, sizeof r->mark_ok);
    r->mark_warning_len = cli_mark_prefix(r->c, MS_SEV_WARNING, r->mark_warning, sizeof r->mark_warning);
    r->mark_error_len = cli_mark_prefix(r->c, MS_SEV_ERROR, r->mark_error, sizeof r->mark_error);
}

/* Checks every address of the source, chunk by chunk, and writes the
 * results; the exit status. What it needs (memory, the resolver) is
 * acquired before the first byte of output, so a JSON document is either
 * whole or not begun. */
static int check_all(cli_common *c, run *r, source *s)
{
    round *rd = calloc(1, sizeof *rd);
    if (r->mx && rd != NULL && (r->mx_cache = ms_email_mx_cache_new()) != NULL)
        r->ctx = cli_make_ctx(c);
    if (rd == NULL || (r->mx && (r->mx_cache == NULL || r->ctx == NULL))) {
        if (rd == NULL || r->mx_cache == NULL)
            fprintf(stderr, "mailsec %s: out of memory\n", CMD);
        free(rd);
        return EXIT_UNCHECKED;
    }
    prepare_marks(r);
    r->chunk = r->mx ? CHUNK : CHUNK_NO_MX;
    begin_output(r, s);
    int progress = s->f != NULL && !c->quiet && isatty(STDERR_FILENO);
    size_t shown = 0;
    /* a failed write stops the run: the rest could not be shown anyway */
    while (!cli_output_failed()) {
        round_reset(rd);
        while (rd->n < r->chunk && rd->text.len < CHUNK_TEXT && next_item(s, rd))
            rd->n++;
        if (rd->text.failed) {
            fprintf(stderr, "mailsec %s: out of memory\n", CMD);
            r->could_not_check = 1;
            break;
        }
        if (rd->n == 0)
            break;
        process(r, rd);
        if (progress && r->total / PROGRESS_EVERY != shown) {
            shown = r->total / PROGRESS_EVERY;
            fprintf(stderr, "\r%zu addresses checked...", r->total);
        }
    }
    if (progress && shown > 0)
        fprintf(stderr, "\r%*s\r", 40, "");
    round_free(rd);
    free(rd);
    pieces_free(r);
    if (s->io_error) {
        fprintf(stderr, "mailsec %s: error reading the input\n", CMD);
        r->could_not_check = 1;
    }
    if (s->too_long)
        fprintf(stderr, "mailsec %s: %zu bytes of over-long lines were cut\n", CMD, s->too_long);
    summary(r);
    int status = r->could_not_check || r->mx_failed ? EXIT_UNCHECKED : r->invalid ? EXIT_PROBLEMS : EXIT_CLEAN;
    if (r->format == FMT_JSON) {
        printf(",\n  \"result\": \"%s\"\n}\n", cli_verdict(status));
    }
    return status;
}

static int run_check(int argc, char **argv)
{
    cli_common c;
    check_args a = {.r = {.c = &c, .format = -1, .first_json = 1}};
    int done = cli_parse(argc, argv, &CLI_OPTIONS_email_check, CHECK_USAGE, CMD, &c,
                         check_option, &a);
    if (done >= 0)
        return done;
    run r = a.r;
    const char *file = a.file, *csv = a.csv, *column = a.column;
    int header = a.header;
    if (c.json)
        r.format = FMT_JSON;
    if (r.format < 0)
        r.format = csv ? FMT_CSV : FMT_TEXT;
    int sources = (file != NULL) + (csv != NULL) + (optind < argc);
    if (sources == 0)
        return cli_usage_error(CMD, "which addresses? give them as arguments, or --file FILE, or --csv FILE --column N");
    if (sources > 1)
        return cli_usage_error(CMD, "give addresses as arguments, --file or --csv: one of them");
    if ((csv != NULL) != (column != NULL))
        return cli_usage_error(CMD, "--csv and --column go together");

    source s = {.column = -1};
    int status = open_source(&s, argc, argv, file, csv, column, header);
    if (status < 0)
        status = check_all(&c, &r, &s);
    if (s.f != NULL && s.f != stdin)
        fclose(s.f);
    if (s.header_row != NULL)
        round_free(s.header_row);
    free(s.header_row);
    free(s.buf);
    ms_email_mx_cache_free(r.mx_cache);
    ms_ctx_free(r.ctx);
    return status;
}

int cmd_email(int argc, char **argv)
{
    static const cli_command COMMANDS[] = {{"check", run_check}};
    return cli_dispatch(argc, argv, GROUP_USAGE, COMMANDS, sizeof COMMANDS / sizeof COMMANDS[0]);
}
