/* libFuzzer harness for the aggregate report writer of `report send`
 * (lib/report/send_build.c) and the mail that carries it (send_mail.c).
 *
 * The input is read as a script: the report's metadata and policy, then
 * records, each field a string cut from the input (any bytes: markup,
 * control characters, invalid UTF-8, over-long text) or a word picked from
 * the schema's list or from wrong ones, and a compressed-size limit. The
 * writer must refuse what the schema would (and say so), never fail
 * otherwise, and what it finishes must read back with mailsec's own parser
 * without error: the same number of records, the same sum of counts, the
 * same source IPs in order. The mail composed around it must be found by
 * the walk and read back the same. Everything is freed (LeakSanitizer). */
#include "mailsec/report.h"
#include "report/report_internal.h"
#include "report/send_internal.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "fuzz_check.h"
#include "fuzz_decode.h"
#include "fuzz_report_words.h"


/* What was written, to compare with what is read back. */
typedef struct tally {
    uint64_t records, messages;
    uint64_t ip_hash;
} tally;

static uint64_t mix(uint64_t h, const char *s)
{
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 0x100000001b3ULL;
    return (h ^ 0xFF) * 0x100000001b3ULL;
}

static int on_begin(void *arg, const ms_report_agg_meta *m)
{
    (void)arg;
    CHECK(m->schema == MS_REPORT_AGG_SCHEMA_RFC9990);
    return 0;
}

static int on_record(void *arg, const ms_report_agg_record *r)
{
    tally *t = arg;
    t->records++;
    t->messages += r->count;
    t->ip_hash = mix(t->ip_hash, r->source_ip);
    return 0;
}

/* The document inflated and parsed: it must read back as written. */
static void read_back(const void *gz, size_t len, const tally *want)
{
    tally got = {0, 0, 0};
    ms_report_agg_callbacks cb = {.arg = &got, .report_begin = on_begin, .record = on_record};
    ms_report_agg_parser *parser = NULL;
    CHECK(ms_report_agg_parser_new(&cb, &parser) == MS_OK);
    z_stream z = {0};
    CHECK(inflateInit2(&z, 15 + 16) == Z_OK);
    z.next_in = (Bytef *)gz;
    z.avail_in = (uInt)len;
    ms_report_error err = {0};
    int zr;
    do {
        unsigned char out[8192];
        z.next_out = out;
        z.avail_out = sizeof out;
        zr = inflate(&z, Z_NO_FLUSH);
        CHECK(zr == Z_OK || zr == Z_STREAM_END);
        ms_status st = ms_report_agg_parser_feed(parser, out, sizeof out - z.avail_out, &err);
        if (st != MS_OK)
            fprintf(stderr, "read back: %s (line %ld)\n", err.message, err.line);
        CHECK(st == MS_OK);
    } while (zr != Z_STREAM_END);
    inflateEnd(&z);
    ms_status st = ms_report_agg_parser_finish(parser, &err);
    if (st != MS_OK)
        fprintf(stderr, "read back: %s\n", err.message);
    CHECK(st == MS_OK);
    ms_report_error_clear(&err);
    ms_report_agg_parser_free(parser);
    CHECK(got.records == want->records && got.messages == want->messages &&
          got.ip_hash == want->ip_hash);
}

static void record(fuzz_script *in, ms_report_agg_writer *w, tally *t)
{
    ms_report_agg_record r = {
        .source_ip = fuzz_script_byte(in) < 220 ? IPS[fuzz_script_byte(in) % 8] : fuzz_script_string(in),
        .count = fuzz_script_byte(in) < 250 ? 1 + fuzz_script_byte(in) : (uint64_t)fuzz_script_byte(in) << 28,
        .disposition = FUZZ_WORD(in, DISPOSITIONS),
        .dkim = FUZZ_WORD(in, RESULTS),
        .spf = FUZZ_WORD(in, RESULTS),
        .envelope_to = fuzz_script_string(in),
        .envelope_from = fuzz_script_string(in),
        .header_from = fuzz_script_byte(in) < 240 ? fuzz_script_string(in) : NULL,
    };
    r.reason_count = fuzz_script_byte(in) % (MS_REPORT_REASON_MAX + 2);
    for (size_t i = 0; i < r.reason_count && i < MS_REPORT_REASON_MAX; i++)
        r.reasons[i] = (ms_report_agg_reason){FUZZ_WORD(in, OVERRIDES), fuzz_script_string(in)};
    r.dkim_count = fuzz_script_byte(in) % 4;
    for (size_t i = 0; i < r.dkim_count; i++)
        r.dkim_results[i] = (ms_report_agg_auth){.domain = fuzz_script_string(in), .selector = fuzz_script_string(in),
                                                 .result = FUZZ_WORD(in, DKIM), .human_result = fuzz_script_string(in)};
    r.spf_count = fuzz_script_byte(in) % 3;
    for (size_t i = 0; i < r.spf_count; i++)
        r.spf_results[i] = (ms_report_agg_auth){.domain = fuzz_script_string(in), .scope = FUZZ_WORD(in, SCOPES),
                                                .result = FUZZ_WORD(in, SPF), .human_result = fuzz_script_string(in)};
    if (r.reason_count > MS_REPORT_REASON_MAX)
        r.reason_count = MS_REPORT_REASON_MAX + 1; /* over the limit: refused */
    ms_status st = ms_report_agg_writer_record(w, &r);
    CHECK(st == MS_OK || st == MS_ERR_INVALID || st == MS_ERR_LIMIT);
    if (st == MS_OK) {
        char ip[INET6_ADDRSTRLEN];
        CHECK(report_send_canonical_ip(r.source_ip, ip));
        t->records++;
        t->messages += r.count;
        t->ip_hash = mix(t->ip_hash, ip);
    }
}

/* The mail around the report: the walk finds the attachment and reads the
 * same report back. */
typedef struct walked {
    const tally *want;
    int found;
} walked;

static int on_doc(void *arg, ms_report_doc *doc)
{
    walked *wk = arg;
    if (ms_report_doc_kind(doc) != MS_REPORT_AGGREGATE)
        return 0;
    tally got = {0, 0, 0};
    ms_report_agg_callbacks cb = {.arg = &got, .report_begin = on_begin, .record = on_record};
    ms_report_agg_parser *parser = NULL;
    CHECK(ms_report_agg_parser_new(&cb, &parser) == MS_OK);
    ms_report_error err = {0};
    char buf[8192];
    ssize_t n;
    while ((n = ms_report_doc_read(doc, buf, sizeof buf)) > 0)
        CHECK(ms_report_agg_parser_feed(parser, buf, (size_t)n, &err) == MS_OK);
    CHECK(n == 0);
    CHECK(ms_report_agg_parser_finish(parser, &err) == MS_OK);
    ms_report_agg_parser_free(parser);
    CHECK(got.records == wk->want->records && got.messages == wk->want->messages);
    wk->found++;
    return 0;
}

static void mail_back(const void *gz, size_t len, const tally *want)
{
    report_send_mail m = {.from = "r@receiver.example", .to = "d@example.com",
                          .org_name = "Org", .receiver = "receiver.example",
                          .policy_domain = "example.com", .report_id = "20260101.example.com",
                          .file_name = "receiver.example!example.com!0!86399!x.xml.gz",
                          .begin = 0, .end = 86399, .date = 0, .gz = gz, .gz_len = len};
    ms_buf message = MS_BUF_INIT;
    report_send_mail_compose(&m, &message);
    CHECK(!message.failed);
    walked wk = {want, 0};
    ms_report_walk_callbacks cb = {.arg = &wk, .document = on_doc};
    CHECK(ms_report_walk_buffer("mail", message.data, message.len, &cb) == MS_OK);
    CHECK(wk.found == 1);
    ms_buf_free(&message);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_script in = {.p = data, .left = size};
    ms_report_agg_meta meta = {
        .org_name = fuzz_script_string(&in),
        .email = fuzz_script_string(&in),
        .extra_contact_info = fuzz_script_string(&in),
        .report_id = fuzz_script_string(&in),
        .begin = fuzz_script_byte(&in) < 250 ? (int64_t)fuzz_script_byte(&in) * 86400 : -1,
        .end = 0,
        .errors = fuzz_script_string(&in),
        .domain = fuzz_script_string(&in),
        .adkim = FUZZ_WORD(&in, ALIGN),
        .aspf = FUZZ_WORD(&in, ALIGN),
        .p = FUZZ_WORD(&in, POLICIES),
        .sp = FUZZ_WORD(&in, POLICIES),
        .fo = fuzz_script_string(&in),
    };
    meta.end = meta.begin + 86399;
    uint64_t max_gz = fuzz_script_byte(&in) < 200 ? 0 : (uint64_t)fuzz_script_byte(&in) * 16;
    ms_report_agg_writer *w = NULL;
    ms_status st = ms_report_agg_writer_new(&meta, max_gz, &w);
    CHECK(st == MS_OK || st == MS_ERR_INVALID || st == MS_ERR_LIMIT);
    tally t = {0, 0, 0};
    if (st == MS_OK) {
        for (int i = 0; i < 64 && in.left > 0; i++)
            record(&in, w, &t);
        const void *gz = NULL;
        size_t len = 0;
        st = ms_report_agg_writer_finish(w, &gz, &len);
        CHECK(st == MS_OK || st == MS_ERR_LIMIT || (st == MS_ERR_INVALID && t.records == 0));
        if (st == MS_OK) {
            CHECK(len <= (max_gz ? max_gz : MS_REPORT_SEND_GZ_MAX));
            read_back(gz, len, &t);
            mail_back(gz, len, &t);
        }
        ms_report_agg_writer_free(w);
    }
    fuzz_script_free(&in);
    return 0;
}
