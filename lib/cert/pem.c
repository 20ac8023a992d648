/* The PEM scanner: RFC 7468 text, line by line, with the line number of
 * every finding. OpenSSL's reader says only "no start line" or "bad base64
 * decode"; operators need to know which line of which file to fix.
 *
 * What OpenSSL 3 (and so Postfix and Dovecot) accepts decides severity:
 * a blank line inside a block or an indented BEGIN line makes it miss or
 * reject the block (errors); trailing white space, CRLF, text between
 * blocks and odd line lengths it reads anyway (warnings).
 *
 * Findings of one kind about single lines (white space, CRLF, blank lines
 * between blocks, stray text, indented BEGIN lines) are one finding per
 * file that lists the lines ("lines 3, 4, 9-21"): 21 identical warnings
 * hide the one that matters. A blank line inside a block is reported once
 * per block with its lines; when the rest of the block decodes, the block
 * is repairable (ms_cert_pem_block.repaired) and the finding says so.
 *
 * The input is untrusted and fuzzed (tests/fuzz/fuzz_pem.c): every index is
 * checked against len, nothing assumes a NUL terminator. */
#define _GNU_SOURCE /* memmem */
#include "internal.h"

#include "core/lazy_openssl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* RFC 7468 2: generators wrap base64 lines at exactly 64 characters. */
enum { PEM_LINE_WIDTH = 64 };
/* How much of a stray line a message quotes. */
enum { QUOTE_MAX = 40 };
/* Ranges of lines a finding lists; the lines beyond are counted. */
enum { MAX_RANGES = 16 };

static const char BEGIN[] = "-----BEGIN ";
static const char END[] = "-----END ";
static const char DASHES[] = "-----";

/* One line of the input, without its LF (and without a CR before it). */
typedef struct line {
    const char *text;
    size_t len;
    size_t number; /* from 1 */
    size_t offset; /* of its first byte */
    int crlf;
} line;

/* The lines one finding is about: ranges of consecutive lines, in the
 * order met (ascending). */
typedef struct line_set {
    size_t first_line, first_offset; /* first_line 0: empty */
    size_t ranges[MAX_RANGES][2];
    size_t range_count;
    size_t unlisted; /* lines past MAX_RANGES ranges */
    size_t lines;
} line_set;

/* The findings made of line sets, one per file each. */
enum {
    G_CRLF,
    G_TRAILING,
    G_LEADING,
    G_INNER,
    G_BLANK_OUTSIDE,
    G_STRAY,
    G_INDENTED,
    G_COUNT
};

static const struct {
    int code;
    const char *one, *many; /* what is wrong with the line, or the lines */
} GROUPS[G_COUNT] = {
    [G_CRLF] = {CT_PEM_WHITESPACE, "CRLF (Windows) line end; PEM lines end in LF",
                "CRLF (Windows) line ends; PEM lines end in LF"},
    [G_TRAILING] = {CT_PEM_WHITESPACE, "trailing white space", "trailing white space"},
    [G_LEADING] = {CT_PEM_WHITESPACE, "white space at the start of a base64 line",
                   "white space at the start of base64 lines"},
    [G_INNER] = {CT_PEM_WHITESPACE, "white space inside a base64 line", "white space inside base64 lines"},
    [G_BLANK_OUTSIDE] = {CT_PEM_WHITESPACE, "blank line outside the blocks", "blank lines outside the blocks"},
    [G_STRAY] = {CT_PEM_STRAY_TEXT, "text outside any block", "text outside any block"},
    [G_INDENTED] = {CT_PEM_INDENTED, "white space before -----BEGIN: OpenSSL does not see this block",
                    "white space before -----BEGIN: OpenSSL does not see these blocks"},
};

/* The block being read. */
typedef struct open_block {
    int active;
    char label[MS_CERT_PEM_MAX_LABEL + 1];
    size_t line, offset;
    ms_buf body;        /* the base64 characters, white space left out */
    int broken;         /* a finding already says it cannot decode */
    int encrypted;
    int in_headers;     /* RFC 1421 headers (Proc-Type, DEK-Info) seen, no body yet */
    line_set blank;     /* blank lines inside the block */
    size_t last_body_line, last_body_len, last_body_offset;
    int length_reported;
} open_block;

typedef struct scanner {
    const char *name;
    ms_cert_pem_file *out;
    ms_diag_list *diags;
    ms_status status;
    size_t findings, left_out;
    int left_out_code;
    line_set groups[G_COUNT];
    char stray_quote[QUOTE_MAX + 1]; /* the first line of stray text */
    open_block block;
} scanner;

/* Adds a finding whose message is "NAME WHERE: WHAT"; WHERE is "line N"
 * or "lines LIST". */
static void add_finding(scanner *s, int code, size_t line_no, size_t offset, const char *where,
                        const char *what)
{
    if (s->findings >= MS_CERT_PEM_MAX_FINDINGS) {
        if (s->left_out++ == 0)
            s->left_out_code = code;
        return;
    }
    s->findings++;
    char *location = ms_asprintf("%s:%zu", s->name, line_no);
    ms_status st = (location && where && what)
                       ? ms_diag_add(s->diags, CT_DEF(code), location, (long)offset, "%s %s: %s", s->name,
                                     where, what)
                       : MS_ERR_NOMEM;
    if (st != MS_OK)
        s->status = st;
    free(location);
}

static void finding(scanner *s, int code, size_t line_no, size_t offset, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
static void finding(scanner *s, int code, size_t line_no, size_t offset, const char *fmt, ...)
{
    char *where = ms_asprintf("line %zu", line_no);
    va_list ap;
    va_start(ap, fmt);
    char *what = ms_vasprintf(fmt, ap);
    va_end(ap);
    add_finding(s, code, line_no, offset, where, what);
    free(where);
    free(what);
}

static void line_set_add(line_set *set, size_t number, size_t offset)
{
    if (set->lines == 0) {
        set->first_line = number;
        set->first_offset = offset;
    }
    size_t *last = set->range_count ? set->ranges[set->range_count - 1] : NULL;
    if (last != NULL && last[1] == number)
        return; /* already listed */
    set->lines++;
    if (last != NULL && last[1] + 1 == number)
        last[1] = number;
    else if (set->range_count < MAX_RANGES) {
        set->ranges[set->range_count][0] = set->ranges[set->range_count][1] = number;
        set->range_count++;
    } else
        set->unlisted++;
}

/* "line 5" or "lines 3, 4, 9-21" (two lines in a row are named, not a
 * range), and "and N more" past MAX_RANGES ranges. NULL: out of memory. */
static char *line_set_words(const line_set *set)
{
    ms_buf b = MS_BUF_INIT;
    ms_buf_puts(&b, set->lines == 1 ? "line " : "lines ");
    for (size_t i = 0; i < set->range_count; i++) {
        size_t from = set->ranges[i][0], to = set->ranges[i][1];
        const char *sep = i ? ", " : "";
        if (from == to)
            ms_buf_printf(&b, "%s%zu", sep, from);
        else if (from + 1 == to)
            ms_buf_printf(&b, "%s%zu, %zu", sep, from, to);
        else
            ms_buf_printf(&b, "%s%zu-%zu", sep, from, to);
    }
    if (set->unlisted > 0)
        ms_buf_printf(&b, " and %zu more", set->unlisted);
    return ms_buf_take(&b);
}

/* One finding per line set, in the order of their first lines. */
static void flush_groups(scanner *s)
{
    int done[G_COUNT] = {0};
    for (;;) {
        int next = -1;
        for (int g = 0; g < G_COUNT; g++)
            if (!done[g] && s->groups[g].lines > 0 &&
                (next < 0 || s->groups[g].first_line < s->groups[next].first_line))
                next = g;
        if (next < 0)
            return;
        done[next] = 1;
        const line_set *set = &s->groups[next];
        const char *what = set->lines == 1 ? GROUPS[next].one : GROUPS[next].many;
        char *where = line_set_words(set);
        char *message = next != G_STRAY ? ms_strdup(what)
                        : set->lines == 1 ? ms_asprintf("%s: \"%s\"", what, s->stray_quote)
                                          : ms_asprintf("%s, from \"%s\"", what, s->stray_quote);
        add_finding(s, GROUPS[next].code, set->first_line, set->first_offset, where, message);
        free(where);
        free(message);
    }
}

static int is_space(char c)
{
    return c == ' ' || c == '\t';
}

static int is_base64(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
           c == '+' || c == '/' || c == '=';
}

/* Printable ASCII of a line, for quoting in a message (JSON needs UTF-8). */
static void quote(const line *l, char *out)
{
    size_t n = l->len < QUOTE_MAX ? l->len : QUOTE_MAX;
    for (size_t i = 0; i < n; i++)
        out[i] = (l->text[i] >= 0x20 && l->text[i] < 0x7f) ? l->text[i] : '?';
    out[n] = '\0';
}

/* The line without the spaces and tabs around it. */
static void trim(const line *l, size_t *from, size_t *to)
{
    *from = 0;
    *to = l->len;
    while (*from < *to && is_space(l->text[*from]))
        (*from)++;
    while (*to > *from && is_space(l->text[*to - 1]))
        (*to)--;
}

/* "-----BEGIN LABEL-----" (prefix BEGIN or END) at text[from, to): the
 * label's place, or 0 when the line is not such a marker. */
static int marker(const line *l, size_t from, size_t to, const char *prefix, size_t *label_from,
                  size_t *label_len)
{
    size_t plen = strlen(prefix), dlen = strlen(DASHES);
    if (to - from < plen + dlen || memcmp(l->text + from, prefix, plen) != 0 ||
        memcmp(l->text + to - dlen, DASHES, dlen) != 0)
        return 0;
    *label_from = from + plen;
    *label_len = to - dlen - *label_from;
    return 1;
}

static ms_cert_pem_kind kind_of(const char *label)
{
    if (strcmp(label, "CERTIFICATE") == 0 || strcmp(label, "TRUSTED CERTIFICATE") == 0 ||
        strcmp(label, "X509 CERTIFICATE") == 0)
        return MS_CERT_PEM_CERTIFICATE;
    size_t n = strlen(label), k = strlen("PRIVATE KEY");
    if (n >= k && strcmp(label + n - k, "PRIVATE KEY") == 0)
        return MS_CERT_PEM_PRIVATE_KEY;
    return MS_CERT_PEM_OTHER;
}

/* Does der hold what the label says, and nothing after it? */
static int der_matches(const char *label, ms_cert_pem_kind kind, int encrypted, const unsigned char *der,
                       size_t len)
{
    const unsigned char *p = der;
    long n = (long)len;
    int ok = 0;
    if (kind == MS_CERT_PEM_CERTIFICATE) {
        X509 *x = strcmp(label, "TRUSTED CERTIFICATE") == 0 ? d2i_X509_AUX(NULL, &p, n)
                                                            : d2i_X509(NULL, &p, n);
        ok = x != NULL;
        X509_free(x);
    } else if (kind == MS_CERT_PEM_PRIVATE_KEY && strcmp(label, "ENCRYPTED PRIVATE KEY") == 0) {
        X509_SIG *sig = d2i_X509_SIG(NULL, &p, n);
        ok = sig != NULL;
        X509_SIG_free(sig);
    } else if (kind == MS_CERT_PEM_PRIVATE_KEY && !encrypted) {
        EVP_PKEY *key = d2i_AutoPrivateKey(NULL, &p, n);
        ok = key != NULL;
        EVP_PKEY_free(key);
    } else {
        return 1; /* encrypted legacy keys and other blocks: not ours to parse */
    }
    return ok && p == der + len;
}

/* Base64 to bytes with OpenSSL's decoder; the body holds only base64
 * characters by now. *out NULL when it does not decode; MS_ERR_NOMEM
 * (never "does not decode") when memory ran out. */
static ms_status decode_base64(const ms_buf *body, unsigned char **out, size_t *out_len)
{
    *out = NULL;
    if (body->len == 0 || body->len % 4 != 0)
        return MS_OK;
    unsigned char *der = malloc(body->len / 4 * 3 + 1);
    EVP_ENCODE_CTX *ctx = EVP_ENCODE_CTX_new();
    if (der == NULL || ctx == NULL) {
        free(der);
        EVP_ENCODE_CTX_free(ctx);
        return MS_ERR_NOMEM;
    }
    int len = 0, tail = 0;
    EVP_DecodeInit(ctx);
    int ok = EVP_DecodeUpdate(ctx, der, &len, (const unsigned char *)body->data, (int)body->len) >= 0 &&
             EVP_DecodeFinal(ctx, der + len, &tail) == 1;
    EVP_ENCODE_CTX_free(ctx);
    if (!ok) {
        free(der);
        return MS_OK;
    }
    *out = der;
    *out_len = (size_t)(len + tail);
    return MS_OK;
}

static void block_reset(open_block *b)
{
    ms_buf_free(&b->body);
    memset(b, 0, sizeof *b);
}

/* The blank lines inside the block: OpenSSL rejects it; when the rest
 * decodes, removing them repairs it. */
static void blank_lines_finding(scanner *s, int decodes)
{
    const open_block *b = &s->block;
    int many = b->blank.lines > 1;
    char *where = line_set_words(&b->blank);
    char *what = ms_asprintf("%s inside the %s block that begins at line %zu: OpenSSL rejects the block%s",
                             many ? "blank lines" : "a blank line", b->label, b->line,
                             !decodes ? ""
                             : many  ? "; without them it decodes (repairable)"
                                     : "; without it the block decodes (repairable)");
    add_finding(s, CT_PEM_BLANK_LINE, b->blank.first_line, b->blank.first_offset, where, what);
    free(where);
    free(what);
}

static void decode_findings(scanner *s, const ms_cert_pem_block *out, const unsigned char *der, size_t len,
                            int decodes)
{
    const open_block *b = &s->block;
    if (der == NULL)
        finding(s, CT_PEM_DECODE, b->line, b->offset,
                "the %s block's base64 does not decode (%zu characters%s)", b->label, b->body.len,
                b->body.len % 4 ? ", not a multiple of 4: characters are missing" : "");
    else if (!decodes)
        finding(s, CT_PEM_DECODE, b->line, b->offset, "the %s block decodes to %zu bytes that are not a %s",
                b->label, len, out->kind == MS_CERT_PEM_CERTIFICATE ? "certificate" : "private key");
    if (out->kind == MS_CERT_PEM_OTHER)
        finding(s, CT_PEM_OTHER_BLOCK, b->line, b->offset, "a %s block (neither a certificate nor a private key)",
                b->label);
}

/* The END line (or the end of a broken block): decode, and list it. A
 * block with blank lines inside keeps its bytes in repaired, not der:
 * servers do not read it as it is. */
static void finish_block(scanner *s, int complete)
{
    open_block *b = &s->block;
    if (s->out->count >= MS_CERT_PEM_MAX_BLOCKS) {
        s->status = MS_ERR_LIMIT;
        block_reset(b);
        return;
    }
    ms_cert_pem_block *out = &s->out->blocks[s->out->count];
    memset(out, 0, sizeof *out);
    out->label = ms_strdup(b->label);
    out->kind = kind_of(b->label);
    out->encrypted = b->encrypted || strcmp(b->label, "ENCRYPTED PRIVATE KEY") == 0;
    out->line = b->line;
    out->offset = b->offset;
    if (out->label == NULL || b->body.failed)
        s->status = MS_ERR_NOMEM;
    s->out->count++;
    int decoded = complete && !b->broken;
    size_t len = 0;
    unsigned char *der = NULL;
    if (decoded && decode_base64(&b->body, &der, &len) != MS_OK)
        s->status = MS_ERR_NOMEM;
    int decodes = der != NULL && der_matches(b->label, out->kind, b->encrypted, der, len);
    if (b->blank.lines > 0)
        blank_lines_finding(s, decodes);
    if (decoded)
        decode_findings(s, out, der, len, decodes);
    if (!decodes) {
        free(der);
    } else if (b->blank.lines > 0) {
        out->repaired = der;
        out->repaired_len = len;
    } else {
        out->der = der;
        out->der_len = len;
    }
    block_reset(b);
}

static void open_new_block(scanner *s, const line *l, size_t label_from, size_t label_len)
{
    open_block *b = &s->block;
    b->active = 1;
    size_t n = label_len < MS_CERT_PEM_MAX_LABEL ? label_len : MS_CERT_PEM_MAX_LABEL;
    for (size_t i = 0; i < n; i++) {
        char c = l->text[label_from + i];
        b->label[i] = (c >= 0x20 && c < 0x7f) ? c : '?';
    }
    b->label[n] = '\0';
    b->line = l->number;
    b->offset = l->offset;
    ms_buf_append(&b->body, "", 0);
}

static void check_line_ends(scanner *s, const line *l, size_t from, size_t to)
{
    if (l->crlf)
        line_set_add(&s->groups[G_CRLF], l->number, l->offset);
    if (to < l->len && from < to)
        line_set_add(&s->groups[G_TRAILING], l->number, l->offset);
}

static void outside_line(scanner *s, const line *l)
{
    size_t from, to, lf, ll;
    trim(l, &from, &to);
    if (from == to) {
        line_set_add(&s->groups[G_BLANK_OUTSIDE], l->number, l->offset);
        return;
    }
    int begin = marker(l, from, to, BEGIN, &lf, &ll);
    int end = !begin && marker(l, from, to, END, &lf, &ll);
    if (!begin && !end) {
        if (s->groups[G_STRAY].lines == 0)
            quote(l, s->stray_quote);
        line_set_add(&s->groups[G_STRAY], l->number, l->offset);
        return;
    }
    check_line_ends(s, l, from, to);
    if (end) {
        finding(s, CT_PEM_UNBALANCED, l->number, l->offset, "END %.*s without a BEGIN line",
                (int)(ll < MS_CERT_PEM_MAX_LABEL ? ll : MS_CERT_PEM_MAX_LABEL), l->text + lf);
        return;
    }
    if (from > 0)
        line_set_add(&s->groups[G_INDENTED], l->number, l->offset);
    open_new_block(s, l, lf, ll);
}

static void body_line(scanner *s, const line *l, size_t from, size_t to)
{
    open_block *b = &s->block;
    size_t chars = 0;
    int inner_space = 0;
    for (size_t i = from; i < to; i++) {
        char c = l->text[i];
        if (is_space(c)) {
            inner_space = 1;
            continue;
        }
        chars++;
        if (!is_base64(c)) {
            if (!b->broken)
                finding(s, CT_PEM_BAD_CHAR, l->number, l->offset + i,
                        "column %zu: byte 0x%02x is not base64 (in the %s block of line %zu)",
                        i + 1, (unsigned char)c, b->label, b->line);
            b->broken = 1;
            continue;
        }
        ms_buf_append(&b->body, &c, 1);
    }
    if (from > 0 || inner_space)
        line_set_add(&s->groups[from > 0 ? G_LEADING : G_INNER], l->number, l->offset);
    /* Only the last line of a block may be shorter than 64. */
    if (b->last_body_line && b->last_body_len != PEM_LINE_WIDTH && !b->length_reported) {
        b->length_reported = 1;
        finding(s, CT_PEM_LINE_LENGTH, b->last_body_line, b->last_body_offset,
                "a base64 line of %zu characters inside the %s block (64 expected: a line was broken%s)",
                b->last_body_len, b->label, b->last_body_len > PEM_LINE_WIDTH ? " or joined" : "");
    }
    b->last_body_line = l->number;
    b->last_body_len = chars;
    b->last_body_offset = l->offset;
}

static void inside_line(scanner *s, const line *l)
{
    open_block *b = &s->block;
    size_t from, to, lf, ll;
    trim(l, &from, &to);
    check_line_ends(s, l, from, to);
    if (from == to) {
        if (b->in_headers) {
            b->in_headers = 0; /* the blank line that ends RFC 1421 headers */
            return;
        }
        line_set_add(&b->blank, l->number, l->offset);
        return;
    }
    if (marker(l, from, to, END, &lf, &ll)) {
        if (ll != strlen(b->label) || memcmp(l->text + lf, b->label, ll) != 0) {
            finding(s, CT_PEM_UNBALANCED, l->number, l->offset,
                    "END %.*s closes the %s block of line %zu", (int)(ll < MS_CERT_PEM_MAX_LABEL ? ll : MS_CERT_PEM_MAX_LABEL),
                    l->text + lf, b->label, b->line);
            b->broken = 1;
        }
        if (b->last_body_len > PEM_LINE_WIDTH && !b->length_reported)
            finding(s, CT_PEM_LINE_LENGTH, b->last_body_line, b->last_body_offset,
                    "a base64 line of %zu characters in the %s block (64 expected: lines were joined)",
                    b->last_body_len, b->label);
        finish_block(s, 1);
        return;
    }
    if (marker(l, from, to, BEGIN, &lf, &ll)) {
        finding(s, CT_PEM_UNBALANCED, l->number, l->offset,
                "a BEGIN line inside the %s block of line %zu, which has no END line", b->label, b->line);
        finish_block(s, 0);
        if (from > 0)
            line_set_add(&s->groups[G_INDENTED], l->number, l->offset);
        open_new_block(s, l, lf, ll);
        return;
    }
    /* RFC 1421 headers: "Proc-Type: 4,ENCRYPTED", "DEK-Info: ..." */
    if (b->body.len == 0 && memchr(l->text + from, ':', to - from) != NULL) {
        b->in_headers = 1;
        if (memmem(l->text + from, to - from, "ENCRYPTED", strlen("ENCRYPTED")) != NULL)
            b->encrypted = 1;
        return;
    }
    body_line(s, l, from, to);
}

ms_status ms_cert_pem_scan(const char *text, size_t len, const char *name, ms_cert_pem_file *out,
                      ms_diag_list *diags)
{
    if (out == NULL || diags == NULL || (text == NULL && len > 0))
        return MS_ERR_INVALID;
    memset(out, 0, sizeof *out);
    if (len > MS_CERT_PEM_MAX_BYTES)
        return MS_ERR_LIMIT;
    out->blocks = calloc(MS_CERT_PEM_MAX_BLOCKS, sizeof *out->blocks);
    if (out->blocks == NULL)
        return MS_ERR_NOMEM;
    scanner s = {.name = name ? name : "PEM", .out = out, .diags = diags, .status = MS_OK};

    size_t pos = 0, number = 0;
    while (pos < len && s.status == MS_OK) {
        const char *nl = memchr(text + pos, '\n', len - pos);
        size_t end = nl ? (size_t)(nl - text) : len;
        line l = {text + pos, end - pos, ++number, pos, 0};
        if (l.len > 0 && l.text[l.len - 1] == '\r') {
            l.len--;
            l.crlf = 1;
        }
        if (s.block.active)
            inside_line(&s, &l);
        else
            outside_line(&s, &l);
        pos = nl ? end + 1 : len;
    }
    if (s.status == MS_OK && s.block.active) {
        finding(&s, CT_PEM_UNBALANCED, s.block.line, s.block.offset,
                "the %s block has no END line", s.block.label);
        finish_block(&s, 0);
    }
    if (s.status == MS_OK && out->count > 0)
        flush_groups(&s);
    if (s.status == MS_OK && out->count == 0) {
        /* Nothing PEM at all: one finding says so (and an END line without
         * its BEGIN, if there was one), not what is wrong with each line. */
        int der = len > 0 && (unsigned char)text[0] == 0x30;
        finding(&s, CT_PEM_NONE, 1, 0, "no PEM block%s", der ? " (the file looks like DER)" : "");
    }
    if (s.left_out > 0) {
        s.findings = 0; /* room for the summary */
        finding(&s, s.left_out_code, number, len, "%zu more findings left out", s.left_out);
    }
    block_reset(&s.block);
    if (s.status != MS_OK) {
        ms_cert_pem_file_free(out);
        return s.status;
    }
    return MS_OK;
}

void ms_cert_pem_file_free(ms_cert_pem_file *file)
{
    if (file == NULL)
        return;
    for (size_t i = 0; i < file->count; i++) {
        free(file->blocks[i].label);
        /* private keys too: leave no copy behind */
        if (file->blocks[i].der != NULL)
            OPENSSL_cleanse(file->blocks[i].der, file->blocks[i].der_len);
        if (file->blocks[i].repaired != NULL)
            OPENSSL_cleanse(file->blocks[i].repaired, file->blocks[i].repaired_len);
        free(file->blocks[i].der);
        free(file->blocks[i].repaired);
    }
    free(file->blocks);
    memset(file, 0, sizeof *file);
}
