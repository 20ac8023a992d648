/* libFuzzer harness for the aggregate report parser (lib/report/aggregate.c).
 *
 * Arbitrary bytes are parsed twice: whole, and in chunks whose sizes come
 * from the input itself (1 byte up to 256). Both runs must agree on the
 * status, the error message and everything handed to the callbacks (a
 * digest of every string and number). Every string handed over must be
 * valid UTF-8 with no control characters and no white space at its ends;
 * enumerated values must be lower case; source_ip must be an address.
 * Everything is freed, so LeakSanitizer sees any leak. */
#include "mailsec/report.h"
#include "report/report_internal.h"

#include <arpa/inet.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "fuzz_check.h"

typedef struct digest {
    uint64_t h;
    uint64_t records;
} digest;

static void mix(digest *d, const void *data, size_t len)
{
    const unsigned char *p = data;
    for (size_t i = 0; i < len; i++)
        d->h = (d->h ^ p[i]) * 0x100000001b3ULL;
}

/* A string as report.h promises it, folded into the digest. */
static void text(digest *d, const char *s, int lower)
{
    if (s == NULL) {
        mix(d, "\xff", 1);
        return;
    }
    size_t len = strlen(s);
    CHECK(len > 0 && len <= MS_REPORT_FIELD_MAX);
    CHECK(ms_report_utf8_valid_prefix((const unsigned char *)s, len) == len);
    CHECK(s[0] != ' ' && s[len - 1] != ' ');
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        CHECK(c >= 0x20 && c != 0x7F);
        CHECK(!(c == 0xC2 && i + 1 < len && (unsigned char)s[i + 1] < 0xA0));
        if (lower)
            CHECK(!(c >= 'A' && c <= 'Z'));
    }
    mix(d, s, len + 1);
}

static int on_begin(void *arg, const ms_report_agg_meta *m)
{
    digest *d = arg;
    mix(d, &m->schema, sizeof m->schema);
    mix(d, &m->begin, sizeof m->begin);
    mix(d, &m->end, sizeof m->end);
    CHECK(m->org_name && m->report_id && m->domain);
    CHECK(m->begin >= MS_REPORT_TIME_MIN && m->begin <= MS_REPORT_TIME_MAX);
    CHECK(m->end >= MS_REPORT_TIME_MIN && m->end <= MS_REPORT_TIME_MAX);
    const char *free_text[] = {m->version, m->org_name, m->email, m->extra_contact_info,
                               m->report_id, m->generator, m->errors, m->pct, m->fo, m->notes};
    for (size_t i = 0; i < sizeof free_text / sizeof free_text[0]; i++)
        text(d, free_text[i], 0);
    const char *lowered[] = {m->domain, m->adkim, m->aspf, m->p, m->sp, m->np, m->testing,
                             m->discovery_method};
    for (size_t i = 0; i < sizeof lowered / sizeof lowered[0]; i++)
        text(d, lowered[i], 1);
    return 0;
}

static void auth(digest *d, const ms_report_agg_auth *a)
{
    CHECK(a->domain != NULL || a->result != NULL);
    text(d, a->domain, 0);
    text(d, a->selector, 0);
    text(d, a->scope, 1);
    text(d, a->result, 1);
    text(d, a->human_result, 0);
}

static int on_record(void *arg, const ms_report_agg_record *r)
{
    digest *d = arg;
    d->records++;
    unsigned char addr[16];
    CHECK(r->source_ip != NULL);
    CHECK(inet_pton(AF_INET, r->source_ip, addr) == 1 || inet_pton(AF_INET6, r->source_ip, addr) == 1);
    text(d, r->source_ip, 0);
    CHECK(r->count <= MS_REPORT_COUNT_MAX);
    mix(d, &r->count, sizeof r->count);
    mix(d, &r->line, sizeof r->line);
    text(d, r->disposition, 1);
    text(d, r->dkim, 1);
    text(d, r->spf, 1);
    text(d, r->envelope_to, 0);
    text(d, r->envelope_from, 0);
    text(d, r->header_from, 0);
    CHECK(r->reason_count <= MS_REPORT_REASON_MAX);
    CHECK(r->dkim_count <= MS_REPORT_AUTH_MAX && r->spf_count <= MS_REPORT_AUTH_MAX);
    for (size_t i = 0; i < r->reason_count; i++) {
        CHECK(r->reasons[i].type != NULL || r->reasons[i].comment != NULL);
        text(d, r->reasons[i].type, 1);
        text(d, r->reasons[i].comment, 0);
    }
    for (size_t i = 0; i < r->dkim_count; i++)
        auth(d, &r->dkim_results[i]);
    for (size_t i = 0; i < r->spf_count; i++)
        auth(d, &r->spf_results[i]);
    return 0;
}

typedef struct run {
    ms_status status;
    ms_report_error err;
    digest d;
} run;

/* chunks: NULL for one feed, else the sizes to cycle through */
static void parse(const uint8_t *data, size_t size, const uint8_t *chunks, size_t nchunks, run *out)
{
    memset(out, 0, sizeof *out);
    out->err.offset = -1;
    out->d.h = 0xcbf29ce484222325ULL;
    ms_report_agg_callbacks cb = {&out->d, on_begin, on_record};
    ms_report_agg_parser *p;
    CHECK(ms_report_agg_parser_new(&cb, &p) == MS_OK);
    size_t at = 0, k = 0;
    ms_status st = MS_OK;
    while (at < size && st == MS_OK) {
        size_t n = chunks ? (size_t)1 + chunks[k++ % nchunks] : size;
        if (n > size - at)
            n = size - at;
        st = ms_report_agg_parser_feed(p, data + at, n, &out->err);
        at += n;
    }
    if (st == MS_OK)
        st = ms_report_agg_parser_finish(p, &out->err);
    CHECK(st == MS_OK || st == MS_ERR_INVALID || st == MS_ERR_LIMIT);
    CHECK((st == MS_OK) == (out->err.message == NULL));
    CHECK(ms_report_agg_parser_records(p) == out->d.records);
    out->status = st;
    ms_report_agg_parser_free(p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    run whole, chunked;
    parse(data, size, NULL, 0, &whole);
    /* the chunk sizes: the input's first bytes, or 1 byte at a time */
    const uint8_t one = 0;
    parse(data, size, size >= 8 ? data : &one, size >= 8 ? 8 : 1, &chunked);
    CHECK(whole.status == chunked.status);
    CHECK(whole.d.h == chunked.d.h && whole.d.records == chunked.d.records);
    if (whole.err.message != NULL) {
        CHECK(strcmp(whole.err.message, chunked.err.message) == 0);
        CHECK(whole.err.line == chunked.err.line);
    }
    ms_report_error_clear(&whole.err);
    ms_report_error_clear(&chunked.err);
    return 0;
}
