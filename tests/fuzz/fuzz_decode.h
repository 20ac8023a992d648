/* How a libFuzzer harness turns its input into library calls, shared with
 * the allocation-failure runner (tests/alloc/corpus_targets.c) so that both
 * drive the library the same way from the same bytes:
 *   - a script: bytes read one by one, strings cut from the input, words
 *     picked from a list or from wrong ones (the report writer);
 *   - DNS rdata: a type byte, then records of a 2-byte length and bytes;
 *   - header fields: a line not starting with white space starts one;
 *   - header fields as the DKIM verifier keeps them (CRLF, one buffer).
 * Copies of input bytes go through FUZZ_DECODE_COPY(data, len), a
 * NUL-terminated copy, and FUZZ_DECODE_COPY_EXACT(data, len), a copy of
 * exactly len bytes (so ASan sees a read past them), that never fail: the
 * includer may define them (the runner makes copies its failure injection
 * does not count); by default malloc, aborting when it fails. */
#ifndef MAILSEC_FUZZ_DECODE_H
#define MAILSEC_FUZZ_DECODE_H

#include "core/internal.h"
#include "dkim/internal.h"
#include "dns/dns_internal.h"
#include "mailsec/dns.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unbound.h>

#ifndef FUZZ_DECODE_COPY
static inline char *fuzz_decode_copy(const void *data, size_t len)
{
    char *copy = malloc(len + 1);
    if (copy == NULL)
        abort();
    memcpy(copy, data, len);
    copy[len] = '\0';
    return copy;
}
#define FUZZ_DECODE_COPY(data, len) fuzz_decode_copy((data), (len))
#endif
#ifndef FUZZ_DECODE_COPY_EXACT
static inline char *fuzz_decode_copy_exact(const void *data, size_t len)
{
    char *copy = malloc(len ? len : 1);
    if (copy == NULL)
        abort();
    memcpy(copy, data, len);
    return copy;
}
#define FUZZ_DECODE_COPY_EXACT(data, len) fuzz_decode_copy_exact((data), (len))
#endif

/* ---- a script ---- */

typedef struct fuzz_script {
    const unsigned char *p;
    size_t left;
    char *strings[512]; /* every string handed out, freed by fuzz_script_free */
    size_t nstrings;
} fuzz_script;

static inline unsigned char fuzz_script_byte(fuzz_script *s)
{
    if (s->left == 0)
        return 0;
    s->left--;
    return *s->p++;
}

/* A NUL-terminated string of the next n bytes (n from the input, up to
 * 5000: past the report parser's 4096-byte field limit), NULs made spaces;
 * or NULL. */
static inline const char *fuzz_script_string(fuzz_script *s)
{
    unsigned char kind = fuzz_script_byte(s);
    if (kind == 0 || s->nstrings == sizeof s->strings / sizeof s->strings[0])
        return NULL;
    size_t n = kind < 0xF0 ? kind % 64 : (size_t)fuzz_script_byte(s) * 20;
    if (n > s->left)
        n = s->left;
    char *str = FUZZ_DECODE_COPY(s->p, n);
    for (size_t i = 0; i < n; i++)
        if (str[i] == '\0')
            str[i] = ' ';
    s->p += n;
    s->left -= n;
    s->strings[s->nstrings++] = str;
    return str;
}

/* Mostly a word of the list, sometimes a wrong one or NULL. */
static inline const char *fuzz_script_word(fuzz_script *s, const char *const *list, size_t count)
{
    unsigned char b = fuzz_script_byte(s);
    if (b < 200)
        return list[b % count];
    if (b < 230)
        return fuzz_script_string(s);
    return b < 240 ? "PASS" : NULL;
}

#define FUZZ_WORD(s, list) fuzz_script_word((s), (list), sizeof(list) / sizeof((list)[0]))

static inline void fuzz_script_free(fuzz_script *s)
{
    for (size_t i = 0; i < s->nstrings; i++)
        free(s->strings[i]);
    s->nstrings = 0;
}

/* ---- DNS rdata ---- */

/* The record type the first byte picks: the types the decoder knows, and
 * one it does not. */
static inline uint16_t fuzz_rdata_type(unsigned char first)
{
    static const uint16_t types[] = {MS_DNS_TXT,   MS_DNS_MX, MS_DNS_A,   MS_DNS_AAAA,
                                     MS_DNS_CNAME, MS_DNS_NS, MS_DNS_PTR, 99};
    return types[first % (sizeof types / sizeof types[0])];
}

/* The records after the type byte: each a 2-byte length (cut at the end of
 * the input) and a copy of exactly that many bytes, so ASan sees any read
 * past it; their count, at most max. */
static inline size_t fuzz_rdata_records(const unsigned char *data, size_t size, char **rdata,
                                        int *lens, size_t max)
{
    size_t n = 0, pos = 1;
    while (pos + 2 <= size && n < max) {
        size_t len = (size_t)data[pos] << 8 | data[pos + 1];
        pos += 2;
        if (len > size - pos)
            len = size - pos;
        rdata[n] = FUZZ_DECODE_COPY_EXACT(data + pos, len);
        lens[n++] = (int)len;
        pos += len;
    }
    return n;
}

/* What libunbound would hand over for these records of this type. */
static inline struct ub_result fuzz_rdata_result(uint16_t type, char **rdata, int *lens, size_t n)
{
    struct ub_result result;
    memset(&result, 0, sizeof result);
    result.qtype = type;
    result.qclass = 1;
    result.data = rdata;
    result.len = lens;
    result.havedata = n > 0;
    result.ttl = 300;
    return result;
}

enum { FUZZ_RDATA_RECORDS_MAX = 64 };

/* The input (at least the type byte) decoded as the answer libunbound
 * would hand over for its records: the answer (NULL when out of memory),
 * the decoder's status in *st. */
static inline ms_dns_answer *fuzz_rdata_decode(const unsigned char *data, size_t size, ms_status *st)
{
    uint16_t type = fuzz_rdata_type(data[0]);
    char *rdata[FUZZ_RDATA_RECORDS_MAX + 1] = {0};
    int lens[FUZZ_RDATA_RECORDS_MAX + 1] = {0};
    size_t n = fuzz_rdata_records(data, size, rdata, lens, FUZZ_RDATA_RECORDS_MAX);
    struct ub_result result = fuzz_rdata_result(type, rdata, lens, n);
    ms_dns_answer *decoded = ms_dns_answer_new("fuzz.example", type, MS_DNS_NOERROR);
    *st = decoded != NULL ? ms_dns_decode_records(decoded, &result) : MS_ERR_NOMEM;
    for (size_t i = 0; i < n; i++)
        free(rdata[i]);
    return decoded;
}

/* ---- header fields ---- */

/* The field that starts at *start: its end (past its last line break) in
 * *end, and its colon, or NULL when it has none. 0 at the end of text. */
static inline int fuzz_next_field(const char *text, size_t size, size_t *start, size_t *end,
                                  const char **colon)
{
    if (*start >= size)
        return 0;
    size_t e = *start;
    while (e < size) {
        const char *nl = memchr(text + e, '\n', size - e);
        e = nl ? (size_t)(nl - text) + 1 : size;
        if (e >= size || (text[e] != ' ' && text[e] != '\t'))
            break;
    }
    *end = e;
    *colon = memchr(text + *start, ':', e - *start);
    return 1;
}

/* The header fields as the DKIM verifier keeps them: CRLF line breaks,
 * each through its final CRLF, in one buffer buf, described by fields;
 * their count, at most FUZZ_FIELDS_MAX (0 when buf failed). */
enum { FUZZ_FIELDS_MAX = 256 };

static inline size_t fuzz_keep_fields(const char *data, size_t size, ms_buf *buf, dk_field *fields)
{
    static size_t offsets[FUZZ_FIELDS_MAX + 1], name_lens[FUZZ_FIELDS_MAX];
    dk_splitter sp;
    dk_splitter_init(&sp, data, size);
    const char *field = NULL;
    size_t flen = 0, count = 0;
    while (count < FUZZ_FIELDS_MAX && dk_next_field(&sp, &field, &flen)) {
        const char *colon = memchr(field, ':', flen);
        if (colon == NULL || colon == field || memchr(field, '\n', (size_t)(colon - field)))
            continue;
        offsets[count] = buf->len;
        for (size_t i = 0; i < flen; i++) {
            if (field[i] == '\n' && (i == 0 || field[i - 1] != '\r'))
                ms_buf_append(buf, "\r", 1);
            ms_buf_append(buf, field + i, 1);
        }
        ms_buf_append(buf, "\r\n", 2);
        size_t name_len = (size_t)(colon - field);
        while (name_len && ms_is_wsp(field[name_len - 1]))
            name_len--;
        name_lens[count++] = name_len;
    }
    if (buf->failed)
        return 0;
    offsets[count] = buf->len;
    for (size_t i = 0; i < count; i++) /* once the buffer has stopped moving */
        fields[i] = (dk_field){buf->data + offsets[i], name_lens[i], buf->data + offsets[i],
                               offsets[i + 1] - offsets[i]};
    return count;
}

#endif
