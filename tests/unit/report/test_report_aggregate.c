/* The aggregate report parser (lib/report/aggregate.c), sample by sample
 * from tests/data/reports/aggregate/: the three schemas, the real-world
 * breakage a reader must get through, hostile documents, the limits, and
 * the same answers whatever the chunk sizes the bytes arrive in. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "report_test.h"

#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNDER_ASAN 1
#endif
#endif
#ifndef UNDER_ASAN
#include <malloc.h>
#endif

/* ---- Capturing what the parser hands over ---------------------------- */

typedef struct capture {
    ms_buf text;          /* META and REC lines */
    int begin_answer;     /* what report_begin returns */
    long refuse_record;   /* record number (1-based) the callback refuses; 0: none */
    uint64_t records;
    int keep_text;        /* 0: count records only (big documents) */
} capture;

static const char *s_or_null(const char *s)
{
    return s ? s : "(null)";
}

static int on_begin(void *arg, const ms_report_agg_meta *m)
{
    capture *c = arg;
    ms_buf_printf(&c->text,
                  "META\tschema=%d\tversion=%s\torg=%s\temail=%s\textra=%s\tid=%s\tbegin=%lld"
                  "\tend=%lld\tgenerator=%s\terrors=%s\tdomain=%s\tadkim=%s\taspf=%s\tp=%s\tsp=%s"
                  "\tnp=%s\tpct=%s\tfo=%s\ttesting=%s\tdiscovery=%s\tnotes=%s\n",
                  (int)m->schema, s_or_null(m->version), s_or_null(m->org_name),
                  s_or_null(m->email), s_or_null(m->extra_contact_info), s_or_null(m->report_id),
                  (long long)m->begin, (long long)m->end, s_or_null(m->generator),
                  s_or_null(m->errors), s_or_null(m->domain), s_or_null(m->adkim),
                  s_or_null(m->aspf), s_or_null(m->p), s_or_null(m->sp), s_or_null(m->np),
                  s_or_null(m->pct), s_or_null(m->fo), s_or_null(m->testing),
                  s_or_null(m->discovery_method), s_or_null(m->notes));
    return c->begin_answer;
}

static void print_auth(ms_buf *b, const char *kind, size_t i, const ms_report_agg_auth *a)
{
    ms_buf_printf(b, "\t%s%zu=%s/%s/%s/%s/%s", kind, i, s_or_null(a->domain),
                  s_or_null(a->selector), s_or_null(a->scope), s_or_null(a->result),
                  s_or_null(a->human_result));
}

static int on_record(void *arg, const ms_report_agg_record *r)
{
    capture *c = arg;
    c->records++;
    if (c->refuse_record != 0 && (long)c->records == c->refuse_record)
        return 1;
    if (!c->keep_text)
        return 0;
    ms_buf *b = &c->text;
    ms_buf_printf(b, "REC\tip=%s\tcount=%llu\tdisp=%s\tdkim=%s\tspf=%s\tto=%s\tfrom=%s\thfrom=%s"
                     "\tline=%ld\treasons=%zu\tdkims=%zu\tspfs=%zu",
                  s_or_null(r->source_ip), (unsigned long long)r->count,
                  s_or_null(r->disposition), s_or_null(r->dkim), s_or_null(r->spf),
                  s_or_null(r->envelope_to), s_or_null(r->envelope_from),
                  s_or_null(r->header_from), r->line, r->reason_count, r->dkim_count,
                  r->spf_count);
    for (size_t i = 0; i < r->reason_count; i++)
        ms_buf_printf(b, "\treason%zu=%s/%s", i, s_or_null(r->reasons[i].type),
                      s_or_null(r->reasons[i].comment));
    for (size_t i = 0; i < r->dkim_count; i++)
        print_auth(b, "dkim", i, &r->dkim_results[i]);
    for (size_t i = 0; i < r->spf_count; i++)
        print_auth(b, "spf", i, &r->spf_results[i]);
    ms_buf_puts(b, "\n");
    return 0;
}

/* The outcome of one parse: status, error and transcript. */
typedef struct outcome {
    ms_status status;
    ms_report_error err;
    char *text;
    uint64_t records;
} outcome;

static void outcome_free(outcome *o)
{
    ms_report_error_clear(&o->err);
    free(o->text);
}

/* Chunk sizes: 0 = all at once, 1 = a byte at a time, otherwise random
 * sizes from 1 to 4096 drawn from this seed. */
static outcome parse_in_chunks(const char *data, size_t len, unsigned seed, capture *c)
{
    outcome o = {MS_OK, {NULL, 0, 0, -1}, NULL, 0};
    ms_report_agg_callbacks cb = {c, on_begin, on_record};
    ms_report_agg_parser *p = NULL;
    assert_int_equal(ms_report_agg_parser_new(&cb, &p), MS_OK);
    srand(seed);
    size_t at = 0;
    while (at < len && o.status == MS_OK) {
        size_t n = seed == 0 ? len : seed == 1 ? 1 : 1 + (size_t)rand() % 4096;
        if (n > len - at)
            n = len - at;
        o.status = ms_report_agg_parser_feed(p, data + at, n, &o.err);
        at += n;
    }
    if (o.status == MS_OK)
        o.status = ms_report_agg_parser_finish(p, &o.err);
    o.records = ms_report_agg_parser_records(p);
    ms_report_agg_parser_free(p);
    o.text = ms_buf_take(&c->text);
    return o;
}

static outcome parse_bytes(const char *data, size_t len, unsigned seed)
{
    capture c = {MS_BUF_INIT, 0, 0, 0, 1};
    return parse_in_chunks(data, len, seed, &c);
}

/* Parses a sample whole, then a byte at a time and in random chunks, and
 * checks every way gives the same status, error and transcript. */
static outcome parse_sample(const char *name)
{
    char path[256];
    snprintf(path, sizeof path, "aggregate/%s", name);
    size_t len;
    char *data = load_sample(path, &len);
    outcome whole = parse_bytes(data, len, 0);
    unsigned seeds[] = {1, 2, 3, 77, 1234};
    for (size_t i = 0; i < sizeof seeds / sizeof seeds[0]; i++) {
        outcome again = parse_bytes(data, len, seeds[i]);
        if (again.status != whole.status || strcmp(s_or_null(again.text), s_or_null(whole.text)) != 0 ||
            strcmp(s_or_null(again.err.message), s_or_null(whole.err.message)) != 0 ||
            again.err.line != whole.err.line) {
            print_message("%s: chunking %u differs:\nwhole: %d %s\n%s\nchunks: %d %s\n%s\n", name,
                          seeds[i], whole.status, s_or_null(whole.err.message), s_or_null(whole.text),
                          again.status, s_or_null(again.err.message), s_or_null(again.text));
            fail();
        }
        outcome_free(&again);
    }
    free(data);
    return whole;
}

static const char *meta(const outcome *o, const char *key)
{
    const char *line = nth_line(o->text ? o->text : "", "META", 0);
    assert_non_null(line);
    return line_value(line, key);
}

static const char *rec(const outcome *o, int n, const char *key)
{
    const char *line = nth_line(o->text ? o->text : "", "REC", n);
    assert_non_null(line);
    return line_value(line, key);
}

static void expect_ok(const outcome *o)
{
    if (o->status != MS_OK)
        print_message("error: %s (line %ld)\n", s_or_null(o->err.message), o->err.line);
    assert_int_equal(o->status, MS_OK);
}

static void expect_error(const outcome *o, ms_status status, const char *words)
{
    assert_int_equal(o->status, status);
    assert_non_null(o->err.message);
    if (strstr(o->err.message, words) == NULL) {
        print_message("message '%s' lacks '%s'\n", o->err.message, words);
        fail();
    }
}

/* ---- The schemas ------------------------------------------------------ */

static void rfc7489_report(void **state)
{
    (void)state;
    outcome o = parse_sample("rfc7489-outlook.xml");
    expect_ok(&o);
    assert_string_equal(meta(&o, "schema"), "1");
    assert_string_equal(meta(&o, "version"), "1.0");
    assert_string_equal(meta(&o, "org"), "Enterprise Outlook");
    assert_string_equal(meta(&o, "email"), "dmarcreport@microsoft.com");
    assert_string_equal(meta(&o, "id"), "f6a1c3b2d0e94b7c8a5d2e1f0b9c8d7e");
    assert_string_equal(meta(&o, "begin"), "1700006400");
    assert_string_equal(meta(&o, "end"), "1700092800");
    assert_string_equal(meta(&o, "domain"), "example.org"); /* Example.ORG, lower-cased */
    assert_string_equal(meta(&o, "adkim"), "r");
    assert_string_equal(meta(&o, "aspf"), "s");
    assert_string_equal(meta(&o, "p"), "reject");
    assert_string_equal(meta(&o, "sp"), "quarantine");
    assert_string_equal(meta(&o, "pct"), "100");
    assert_string_equal(meta(&o, "fo"), "1");
    assert_string_equal(meta(&o, "np"), "(null)");
    assert_string_equal(meta(&o, "extra"), "(null)");
    assert_int_equal(o.records, 3);
    assert_string_equal(rec(&o, 0, "ip"), "203.0.113.25");
    assert_string_equal(rec(&o, 0, "count"), "3");
    assert_string_equal(rec(&o, 0, "disp"), "none");
    assert_string_equal(rec(&o, 0, "to"), "example.net");
    assert_string_equal(rec(&o, 0, "dkim0"), "example.org/s2023/(null)/pass/(null)");
    assert_string_equal(rec(&o, 0, "spf0"), "example.org/(null)/mfrom/pass/(null)");
    assert_string_equal(rec(&o, 0, "line"), "22");
    assert_string_equal(rec(&o, 1, "ip"), "2001:db8:85a3::8a2e:370:7334");
    assert_string_equal(rec(&o, 1, "count"), "12");
    assert_string_equal(rec(&o, 1, "disp"), "reject");
    assert_string_equal(rec(&o, 1, "dkims"), "2");
    assert_string_equal(rec(&o, 1, "dkim1"), "mailer.example/k1/(null)/pass/(null)");
    assert_string_equal(rec(&o, 1, "spf0"), "spoofer.example/(null)/mfrom/softfail/(null)");
    assert_string_equal(rec(&o, 2, "reasons"), "2");
    assert_string_equal(rec(&o, 2, "reason0"), "forwarded/known forwarder");
    assert_string_equal(rec(&o, 2, "reason1"), "local_policy/(null)");
    assert_string_equal(rec(&o, 2, "from"), "(null)");
    assert_string_equal(rec(&o, 2, "dkims"), "0");
    assert_string_equal(rec(&o, 2, "spf0"), "lists.example.com/(null)/helo/pass/(null)");
    outcome_free(&o);
}

static void draft_report(void **state)
{
    (void)state;
    outcome o = parse_sample("draft-dmarc-org.xml");
    expect_ok(&o);
    assert_string_equal(meta(&o, "schema"), "0");
    assert_string_equal(meta(&o, "version"), "(null)");
    assert_string_equal(meta(&o, "org"), "acme.com");
    assert_string_equal(meta(&o, "extra"), "http://acme.com/dmarc/support");
    assert_string_equal(meta(&o, "id"), "9391651994964116463");
    assert_string_equal(meta(&o, "begin"), "1335571200");
    assert_string_equal(meta(&o, "end"), "1335657599");
    assert_int_equal(o.records, 1);
    assert_string_equal(rec(&o, 0, "ip"), "72.150.241.94");
    assert_string_equal(rec(&o, 0, "count"), "2");
    assert_string_equal(rec(&o, 0, "dkim0"), "example.com/(null)/(null)/fail/(null)");
    assert_string_equal(rec(&o, 0, "spf0"), "example.com/(null)/(null)/pass/(null)");
    outcome_free(&o);
}

static void rfc9990_report(void **state)
{
    (void)state;
    outcome o = parse_sample("rfc9990.xml");
    expect_ok(&o);
    assert_string_equal(meta(&o, "schema"), "2");
    assert_string_equal(meta(&o, "generator"), "Example DMARC Reporter 2.1");
    assert_string_equal(meta(&o, "errors"),
                        "DNS timeout looking up _dmarc.sub.example.com; policy record had an unknown tag");
    assert_string_equal(meta(&o, "np"), "reject");
    assert_string_equal(meta(&o, "testing"), "y");
    assert_string_equal(meta(&o, "discovery"), "treewalk");
    assert_string_equal(meta(&o, "pct"), "(null)");
    assert_string_equal(meta(&o, "begin"), "1761955200");
    assert_int_equal(o.records, 2);
    assert_string_equal(rec(&o, 0, "disp"), "pass");
    assert_string_equal(rec(&o, 0, "count"), "123");
    assert_string_equal(rec(&o, 0, "dkim0"), "example.com/abc123/(null)/pass/good signature");
    assert_string_equal(rec(&o, 0, "spf0"),
                        "example.com/(null)/mfrom/fail/198.51.100.0/24 not in SPF record");
    assert_string_equal(rec(&o, 1, "reason0"), "policy_test_mode/t=y in the policy");
    outcome_free(&o);
}

static void namespace_prefixes(void **state)
{
    (void)state;
    outcome o = parse_sample("prefixed-namespace.xml");
    expect_ok(&o);
    assert_string_equal(meta(&o, "schema"), "2");
    assert_string_equal(meta(&o, "org"), "Prefix Mail");
    assert_string_equal(meta(&o, "p"), "none");
    assert_int_equal(o.records, 1);
    assert_string_equal(rec(&o, 0, "count"), "7");
    assert_string_equal(rec(&o, 0, "dkim0"), "example.com/sel/(null)/pass/(null)");
    outcome_free(&o);
}

/* ---- Real-world breakage --------------------------------------------- */

static void declared_encodings(void **state)
{
    (void)state;
    outcome o = parse_sample("windows-1252.xml");
    expect_ok(&o);
    assert_string_equal(meta(&o, "org"), "Soci\xc3\xa9t\xc3\xa9 G\xe2\x82\xacn\xe2\x80\x99rale");
    outcome_free(&o);
    o = parse_sample("iso-8859-1.xml");
    expect_ok(&o);
    assert_string_equal(meta(&o, "org"), "M\xc3\xbcller Stra\xc3\x9f" "e");
    outcome_free(&o);
    o = parse_sample("iso-8859-15.xml");
    expect_ok(&o);
    assert_string_equal(meta(&o, "org"), "Prix \xe2\x82\xac \xc5\x93");
    outcome_free(&o);
    o = parse_sample("utf-16le.xml");
    expect_ok(&o);
    assert_string_equal(meta(&o, "org"), "Utf Sixteen");
    assert_int_equal(o.records, 1);
    outcome_free(&o);
}

static void invalid_utf8_replaced(void **state)
{
    (void)state;
    outcome o = parse_sample("invalid-utf8.xml");
    expect_ok(&o);
    /* 0xFF, a lead byte cut short, a lone continuation byte: one U+FFFD
     * each; the raw control character is gone */
    assert_string_equal(meta(&o, "org"),
                        "Bad \xef\xbf\xbd Bytes \xef\xbf\xbd and \xef\xbf\xbd here");
    outcome_free(&o);
}

/* The tidy rules hold wherever the first byte they change stands: at the
 * start, after bytes kept as they are, at the end. */
static void text_tidied_wherever_it_changes(void **state)
{
    (void)state;
    static const struct {
        const char *in, *out;
    } cases[] = {
        {"example.com", "example.com"},   {"", ""},
        {"   ", ""},                      {"  pass", "pass"},
        {"pass \t\r\n", "pass"},         {"two  \n words", "two words"},
        {"one two", "one two"},           {"ab\x01" "c\x7f" "d", "abcd"},
        {"ab\xc2\x85" "c", "abc"},         {"\xc2\x9f" "x", "x"},
        {"caf\xc3\xa9 \xc2\xa9", "caf\xc3\xa9 \xc2\xa9"}, {"end\xc2", "end\xc2"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char text[32];
        size_t len = strlen(cases[i].in);
        memcpy(text, cases[i].in, len + 1);
        assert_int_equal(ms_report_text_tidy(text, len), strlen(cases[i].out));
        assert_string_equal(text, cases[i].out);
    }
}

static void float_timestamps(void **state)
{
    (void)state;
    outcome o = parse_sample("float-timestamps.xml");
    expect_ok(&o);
    assert_string_equal(meta(&o, "begin"), "1700006400");
    assert_string_equal(meta(&o, "end"), "1700092799");
    outcome_free(&o);
}

static void uppercase_enums(void **state)
{
    (void)state;
    outcome o = parse_sample("uppercase-enums.xml");
    expect_ok(&o);
    assert_string_equal(meta(&o, "domain"), "example.com");
    assert_string_equal(meta(&o, "adkim"), "r");
    assert_string_equal(meta(&o, "aspf"), "s");
    assert_string_equal(meta(&o, "p"), "reject");
    assert_string_equal(meta(&o, "sp"), "quarantine");
    assert_string_equal(rec(&o, 0, "disp"), "reject");
    assert_string_equal(rec(&o, 0, "dkim"), "fail");
    assert_string_equal(rec(&o, 0, "spf"), "pass");
    /* the comment is free text: kept as written */
    assert_string_equal(rec(&o, 0, "reason0"), "local_policy/Mixed Case Kept");
    /* results and scope lower-cased; the domain and selector as written */
    assert_string_equal(rec(&o, 0, "dkim0"), "Example.com/S1/(null)/permerror/(null)");
    assert_string_equal(rec(&o, 0, "spf0"), "example.com/(null)/mfrom/softfail/(null)");
    outcome_free(&o);
}

static void empty_elements(void **state)
{
    (void)state;
    outcome o = parse_sample("empty-elements.xml");
    expect_ok(&o);
    assert_string_equal(meta(&o, "extra"), "(null)");
    assert_string_equal(meta(&o, "errors"), "(null)");
    assert_string_equal(meta(&o, "adkim"), "(null)");
    assert_string_equal(meta(&o, "aspf"), "(null)");
    assert_string_equal(meta(&o, "sp"), "(null)");
    assert_string_equal(meta(&o, "pct"), "(null)");
    assert_string_equal(meta(&o, "fo"), "(null)");
    /* empty reasons and the empty <dkim/> are not counted */
    assert_string_equal(rec(&o, 0, "reasons"), "1");
    assert_string_equal(rec(&o, 0, "reason0"), "other/(null)");
    assert_string_equal(rec(&o, 0, "dkims"), "1");
    assert_string_equal(rec(&o, 0, "dkim0"), "example.com/(null)/(null)/pass/(null)");
    assert_string_equal(rec(&o, 0, "spf0"), "example.com/(null)/(null)/pass/(null)");
    outcome_free(&o);
}

static void stray_schema_element(void **state)
{
    (void)state;
    const char *names[] = {"stray-schema.xml", "stray-schema-outside.xml"};
    for (size_t i = 0; i < 2; i++) {
        outcome o = parse_sample(names[i]);
        expect_ok(&o);
        assert_string_equal(meta(&o, "org"), "Example Org");
        assert_int_equal(o.records, 1);
        assert_string_equal(rec(&o, 0, "ip"), "192.0.2.1");
        outcome_free(&o);
    }
}

static void text_after_root(void **state)
{
    (void)state;
    const char *names[] = {"trailing-garbage.xml", "second-document-after.xml"};
    for (size_t i = 0; i < 2; i++) {
        outcome o = parse_sample(names[i]);
        expect_ok(&o);
        assert_string_equal(meta(&o, "id"), "r-1");
        assert_int_equal(o.records, 1);
        outcome_free(&o);
    }
}

static void date_ranges(void **state)
{
    (void)state;
    outcome o = parse_sample("zero-length-range.xml");
    expect_ok(&o);
    assert_string_equal(meta(&o, "begin"), "1700006400");
    assert_string_equal(meta(&o, "end"), "1700006400");
    outcome_free(&o);
    o = parse_sample("multi-day-range.xml");
    expect_ok(&o);
    assert_string_equal(meta(&o, "begin"), "1699574400"); /* 2023-11-10 00:00:00 */
    assert_string_equal(meta(&o, "end"), "1700179199");   /* 2023-11-16 23:59:59 */
    outcome_free(&o);
}

static void bom_and_leading_space(void **state)
{
    (void)state;
    outcome o = parse_sample("bom-leading-whitespace.xml");
    expect_ok(&o);
    assert_string_equal(meta(&o, "org"), "Example Org");
    assert_int_equal(o.records, 1);
    outcome_free(&o);
}

static void comments_cdata_pi(void **state)
{
    (void)state;
    outcome o = parse_sample("comments-cdata-pi.xml");
    expect_ok(&o);
    assert_string_equal(meta(&o, "org"), "Org & <Co>");
    outcome_free(&o);
}

static void records_before_policy(void **state)
{
    (void)state;
    outcome o = parse_sample("records-first.xml");
    expect_ok(&o);
    /* report_begin still comes first, then the records in order */
    assert_ptr_equal(strstr(o.text, "META"), o.text);
    assert_int_equal(o.records, 2);
    assert_string_equal(rec(&o, 0, "ip"), "192.0.2.1");
    assert_string_equal(rec(&o, 0, "count"), "1");
    assert_string_equal(rec(&o, 1, "ip"), "192.0.2.2");
    assert_string_equal(rec(&o, 1, "dkim0"), "example.com/s1/(null)/pass/(null)");
    assert_string_equal(rec(&o, 1, "line"), "10");
    outcome_free(&o);
}

/* ---- Hostile and broken documents ------------------------------------ */

static void doctype_refused(void **state)
{
    (void)state;
    outcome o = parse_sample("hostile-doctype.xml");
    expect_error(&o, MS_ERR_INVALID, "DOCTYPE");
    /* expat reports the declaration once its name is read: line 2, within
     * '<!DOCTYPE feedback>' which starts at byte 22 */
    assert_int_equal(o.err.line, 2);
    assert_in_range(o.err.column, 1, 20);
    assert_in_range(o.err.offset, 22, 22 + 19);
    assert_true(o.text == NULL || o.text[0] == '\0'); /* nothing handed over */
    outcome_free(&o);
    o = parse_sample("hostile-billion-laughs.xml");
    expect_error(&o, MS_ERR_INVALID, "DOCTYPE");
    outcome_free(&o);
    o = parse_sample("hostile-external-entity.xml");
    expect_error(&o, MS_ERR_INVALID, "DOCTYPE");
    outcome_free(&o);
}

static void entities_refused(void **state)
{
    (void)state;
    outcome o = parse_sample("hostile-undefined-entity.xml");
    expect_error(&o, MS_ERR_INVALID, "undefined entity");
    assert_non_null(strstr(o.err.message, "<org_name>"));
    assert_int_equal(o.err.line, 5);
    outcome_free(&o);
}

static void broken_documents(void **state)
{
    (void)state;
    outcome o = parse_sample("truncated.xml");
    expect_error(&o, MS_ERR_INVALID, "XML error");
    assert_int_equal(o.records, 0); /* the one record was cut */
    outcome_free(&o);
    o = parse_sample("not-feedback-root.xml");
    expect_error(&o, MS_ERR_INVALID, "root element is <html>");
    outcome_free(&o);
    o = parse_sample("missing-policy.xml");
    expect_error(&o, MS_ERR_INVALID, "no <policy_published>");
    outcome_free(&o);
    o = parse_sample("bad-source-ip.xml");
    expect_error(&o, MS_ERR_INVALID, "the record at line 11: <source_ip> '999.1.2.3' is not an IP address");
    outcome_free(&o);
    o = parse_sample("bad-timestamp.xml");
    expect_error(&o, MS_ERR_INVALID, "'yesterday' is not a Unix time (in <feedback><report_metadata><date_range><begin>)");
    outcome_free(&o);
    o = parse_bytes("", 0, 0);
    expect_error(&o, MS_ERR_INVALID, "empty");
    outcome_free(&o);
    o = parse_bytes("just text", 9, 0);
    expect_error(&o, MS_ERR_INVALID, "XML error");
    outcome_free(&o);
}

/* ---- Bounds, and reports that lack a name ------------------------------- */

/* A sample from tests/data/reports/edge/, every way it can be chunked. */
static outcome parse_edge_sample(const char *name)
{
    char path[256];
    snprintf(path, sizeof path, "../edge/%s", name);
    return parse_sample(path);
}

/* A one-record report with the given <count> and <date_range><end>. */
static outcome parse_count_and_end(const char *count, const char *end)
{
    char doc[1024];
    snprintf(doc, sizeof doc,
             "<feedback><report_metadata><org_name>o</org_name><report_id>i</report_id>\n"
             "<date_range><begin>1</begin><end>%s</end></date_range></report_metadata>\n"
             "<policy_published><domain>d.example</domain></policy_published>\n"
             "<record><row><source_ip>192.0.2.1</source_ip>\n<count>%s</count></row></record></feedback>",
             end, count);
    return parse_bytes(doc, strlen(doc), 0);
}

static void count_bound(void **state)
{
    (void)state;
    outcome o = parse_count_and_end("4294967295", "2"); /* MS_REPORT_COUNT_MAX itself */
    expect_ok(&o);
    assert_string_equal(rec(&o, 0, "count"), "4294967295");
    outcome_free(&o);
    const char *too_large[] = {"4294967296", "9223372036854775808", "18446744073709551615",
                               "99999999999999999999999999", "4294967296.0"};
    for (size_t i = 0; i < sizeof too_large / sizeof too_large[0]; i++) {
        o = parse_count_and_end(too_large[i], "2");
        expect_error(&o, MS_ERR_INVALID, "is larger than 4294967295 (MS_REPORT_COUNT_MAX) (in <feedback><record><row><count>)");
        assert_int_equal(o.err.line, 5); /* where the count is */
        assert_int_equal(o.records, 0);
        outcome_free(&o);
    }
    o = parse_count_and_end("12x", "2");
    expect_error(&o, MS_ERR_INVALID, "'12x' is not a message count");
    outcome_free(&o);
    o = parse_edge_sample("count-too-large.xml");
    expect_error(&o, MS_ERR_INVALID, "the message count '9223372036854775808' is larger than 4294967295");
    assert_int_equal(o.err.line, 19);
    outcome_free(&o);
}

static void date_bound(void **state)
{
    (void)state;
    outcome o = parse_count_and_end("1", "253402300799"); /* 9999-12-31T23:59:59Z */
    expect_ok(&o);
    assert_string_equal(meta(&o, "end"), "253402300799");
    outcome_free(&o);
    const char *too_late[] = {"253402300800", "9223372036854775807", "99999999999999999999"};
    for (size_t i = 0; i < sizeof too_late / sizeof too_late[0]; i++) {
        o = parse_count_and_end("1", too_late[i]);
        expect_error(&o, MS_ERR_INVALID, "is after 9999-12-31 (MS_REPORT_TIME_MAX) (in <feedback><report_metadata><date_range><end>)");
        assert_int_equal(o.err.line, 2);
        outcome_free(&o);
    }
}

static void empty_org_name(void **state)
{
    (void)state;
    /* a real receiver's 2,286 messages, under an empty <org_name> */
    outcome o = parse_edge_sample("empty-org-name.xml");
    expect_ok(&o);
    assert_string_equal(meta(&o, "org"), "mail.receiver.example");
    assert_string_equal(meta(&o, "notes"),
                        "<org_name> is empty or missing: the report is named after the domain of <email>");
    assert_string_equal(rec(&o, 0, "count"), "2286");
    outcome_free(&o);

    /* no <email>: the domain of <extra_contact_info> */
    const char *doc = "<feedback><report_metadata><org_name/>"
                      "<extra_contact_info>https://Help.Receiver.example/dmarc</extra_contact_info>"
                      "<report_id>i</report_id><date_range><begin>1</begin><end>2</end></date_range>"
                      "</report_metadata><policy_published><domain>d.example</domain></policy_published>"
                      "</feedback>";
    o = parse_bytes(doc, strlen(doc), 0);
    expect_ok(&o);
    assert_string_equal(meta(&o, "org"), "help.receiver.example");
    assert_non_null(strstr(meta(&o, "notes"), "the domain of <extra_contact_info>"));
    outcome_free(&o);

    /* a named report has no note */
    o = parse_count_and_end("1", "2");
    assert_string_equal(meta(&o, "notes"), "(null)");
    outcome_free(&o);

    /* nothing to name it by: refused, said of <report_metadata> where it closes */
    o = parse_edge_sample("no-org-no-email.xml");
    expect_error(&o, MS_ERR_INVALID,
                 "the report has no <org_name> (and no <email> to name the reporter by) "
                 "(in <feedback><report_metadata>)");
    assert_int_equal(o.err.line, 10);
    outcome_free(&o);
}

static void missing_metadata_located(void **state)
{
    (void)state;
    const char *doc = "<feedback>\n<report_metadata><org_name>o</org_name>\n"
                      "<date_range><begin>1</begin><end>2</end></date_range>\n</report_metadata>\n"
                      "<policy_published>\n<p>none</p>\n</policy_published>\n</feedback>";
    outcome o = parse_bytes(doc, strlen(doc), 0);
    expect_error(&o, MS_ERR_INVALID, "the report has no <report_id> (in <feedback><report_metadata>)");
    assert_int_equal(o.err.line, 4);
    outcome_free(&o);
    const char *no_domain = "<feedback>\n<report_metadata><org_name>o</org_name><report_id>i</report_id>\n"
                            "<date_range><begin>1</begin><end>2</end></date_range>\n</report_metadata>\n"
                            "<policy_published>\n<p>none</p>\n</policy_published>\n</feedback>";
    o = parse_bytes(no_domain, strlen(no_domain), 0);
    expect_error(&o, MS_ERR_INVALID, "the report has no <domain> (in <feedback><policy_published>)");
    assert_int_equal(o.err.line, 7);
    outcome_free(&o);
}

/* A report whose metadata is fine, with `inner` as its one record's body
 * (or, when in_extension, inside an <extension> before the records). */
static char *wrap(const char *inner, int in_extension)
{
    ms_buf b = MS_BUF_INIT;
    ms_buf_puts(&b, "<feedback><report_metadata><org_name>o</org_name><report_id>i</report_id>"
                    "<date_range><begin>1</begin><end>2</end></date_range></report_metadata>"
                    "<policy_published><domain>d.example</domain><p>none</p></policy_published>");
    if (in_extension)
        ms_buf_printf(&b, "<extension>%s</extension>", inner);
    ms_buf_puts(&b, "<record><row><source_ip>192.0.2.1</source_ip><count>1</count></row>");
    if (!in_extension)
        ms_buf_puts(&b, inner);
    ms_buf_puts(&b, "</record></feedback>");
    return ms_buf_take(&b);
}

static void repeat(ms_buf *b, const char *s, size_t times)
{
    for (size_t i = 0; i < times; i++)
        ms_buf_puts(b, s);
}

static outcome parse_text(const char *doc, unsigned seed)
{
    return parse_bytes(doc, strlen(doc), seed);
}

static void depth_limit(void **state)
{
    (void)state;
    /* 2 levels above the extension; 29 inside reach the limit exactly */
    for (int inner = 29; inner <= 31; inner++) {
        ms_buf b = MS_BUF_INIT;
        repeat(&b, "<x>", (size_t)inner);
        repeat(&b, "</x>", (size_t)inner);
        char *doc = wrap(b.data, 1);
        outcome o = parse_text(doc, 0);
        if (inner + 2 <= MS_REPORT_DEPTH_MAX) {
            expect_ok(&o);
        } else {
            expect_error(&o, MS_ERR_LIMIT, "nested more than 32 deep");
        }
        outcome_free(&o);
        free(doc);
        ms_buf_free(&b);
    }
    /* far deeper, a byte at a time */
    ms_buf b = MS_BUF_INIT;
    ms_buf_puts(&b, "<feedback>");
    repeat(&b, "<x>", 100000);
    outcome o = parse_bytes(b.data, b.len, 1);
    expect_error(&o, MS_ERR_LIMIT, "nested");
    outcome_free(&o);
    ms_buf_free(&b);
}

static void field_length_limit(void **state)
{
    (void)state;
    /* one under and at the limit are kept whole; one over is refused */
    for (size_t len = MS_REPORT_FIELD_MAX - 1; len <= MS_REPORT_FIELD_MAX + 1; len++) {
        ms_buf b = MS_BUF_INIT;
        ms_buf_puts(&b, "<header_from>");
        repeat(&b, "a", len);
        ms_buf_puts(&b, "</header_from>");
        char *inner = ms_asprintf("<identifiers>%s</identifiers>", b.data);
        char *doc = wrap(inner, 0);
        outcome o = parse_text(doc, 3);
        if (len <= MS_REPORT_FIELD_MAX) {
            expect_ok(&o);
            assert_int_equal(strlen(rec(&o, 0, "hfrom")), len);
        } else {
            expect_error(&o, MS_ERR_LIMIT, "longer than 4096 bytes (in <feedback><record><identifiers><header_from>)");
        }
        outcome_free(&o);
        free(doc);
        free(inner);
        ms_buf_free(&b);
    }
}

/* A record of wrap()'s three elements (<row>, <source_ip>, <count>) and
 * `extra` more; <record> itself is not counted. */
static outcome parse_record_of(size_t extra)
{
    ms_buf b = MS_BUF_INIT;
    repeat(&b, "<extra/>", extra);
    char *doc = wrap(b.data, 0);
    outcome o = parse_text(doc, 0);
    free(doc);
    ms_buf_free(&b);
    return o;
}

static void record_element_limit(void **state)
{
    (void)state;
    outcome o = parse_record_of(MS_REPORT_RECORD_ELEMENTS_MAX - 3); /* exactly the limit */
    expect_ok(&o);
    assert_int_equal(o.records, 1);
    outcome_free(&o);
    o = parse_record_of(MS_REPORT_RECORD_ELEMENTS_MAX - 2); /* one over */
    expect_error(&o, MS_ERR_LIMIT, "has more than 1024 elements");
    outcome_free(&o);
}

static void kept_results_limit(void **state)
{
    (void)state;
    ms_buf b = MS_BUF_INIT;
    ms_buf_puts(&b, "<auth_results>");
    for (int i = 0; i < 40; i++)
        ms_buf_printf(&b, "<dkim><domain>d%d.example</domain><result>pass</result></dkim>", i);
    ms_buf_puts(&b, "<spf><domain>s.example</domain><result>none</result></spf></auth_results>");
    char *doc = wrap(b.data, 0);
    outcome o = parse_text(doc, 0);
    expect_ok(&o);
    assert_string_equal(rec(&o, 0, "dkims"), "32");
    assert_string_equal(rec(&o, 0, "dkim31"), "d31.example/(null)/(null)/pass/(null)");
    assert_string_equal(rec(&o, 0, "spfs"), "1");
    outcome_free(&o);
    free(doc);
    ms_buf_free(&b);
}

/* A report holding, in an extension, a comment `len` bytes long. */
static char *with_comment_of(size_t len)
{
    ms_buf b = MS_BUF_INIT;
    ms_buf_puts(&b, "<!--");
    repeat(&b, "c", len - strlen("<!---->"));
    ms_buf_puts(&b, "-->");
    char *doc = wrap(b.data, 1);
    ms_buf_free(&b);
    return doc;
}

static void token_limit(void **state)
{
    (void)state;
    /* a comment of exactly MS_REPORT_TOKEN_MAX bytes passes, one byte more
     * does not: fed whole and in random chunks */
    for (unsigned seed = 0; seed <= 2; seed += 2) {
        char *doc = with_comment_of(MS_REPORT_TOKEN_MAX);
        outcome o = parse_text(doc, seed);
        expect_ok(&o);
        assert_int_equal(o.records, 1);
        outcome_free(&o);
        free(doc);
        doc = with_comment_of(MS_REPORT_TOKEN_MAX + 1);
        o = parse_text(doc, seed);
        expect_error(&o, MS_ERR_LIMIT, "longer than 1048576 bytes");
        outcome_free(&o);
        free(doc);
    }
    /* a comment longer than a token may be */
    ms_buf b = MS_BUF_INIT;
    ms_buf_puts(&b, "<!--");
    repeat(&b, "0123456789abcdef", (MS_REPORT_TOKEN_MAX / 16) + 16);
    ms_buf_puts(&b, "-->");
    char *doc = wrap(b.data, 1);
    outcome o = parse_text(doc, 2); /* caught while incomplete */
    expect_error(&o, MS_ERR_LIMIT, "longer than");
    outcome_free(&o);
    o = parse_text(doc, 0); /* caught when whole */
    expect_error(&o, MS_ERR_LIMIT, "longer than");
    outcome_free(&o);
    free(doc);
    ms_buf_free(&b);
    /* but long text in an element we skip is no token: it streams */
    ms_buf_puts(&b, "<note>");
    repeat(&b, "0123456789abcdef", 3 * (MS_REPORT_TOKEN_MAX / 16));
    ms_buf_puts(&b, "</note>");
    doc = wrap(b.data, 1);
    o = parse_text(doc, 2);
    expect_ok(&o);
    outcome_free(&o);
    free(doc);
    ms_buf_free(&b);
}

/* Repairs spread over a feed far bigger than the filter's rewrite window
 * read the same as the same bytes fed one at a time. */
static void repairs_in_big_feeds(void **state)
{
    (void)state;
    ms_buf b = MS_BUF_INIT;
    for (int i = 0; i < 3000; i++)
        ms_buf_printf(&b, "<auth_results><dkim><domain>d.example</domain><result>pass</result>"
                          "<human_result>bad \xff byte \x02 and <xs:schema a='1'>tag %d</human_result>"
                          "</dkim></auth_results></record><record><row><source_ip>192.0.2.1"
                          "</source_ip><count>1</count></row>", i);
    char *doc = wrap(b.data, 0);
    outcome whole = parse_text(doc, 0), bytes = parse_text(doc, 1);
    expect_ok(&whole);
    assert_true(strlen(doc) > 4 * 65536);
    assert_int_equal(whole.records, 3001);
    assert_string_equal(rec(&whole, 2999, "dkim0"),
                        "d.example/(null)/(null)/pass/bad \xef\xbf\xbd byte and tag 2999");
    assert_string_equal(whole.text, bytes.text);
    outcome_free(&whole);
    outcome_free(&bytes);
    free(doc);
    ms_buf_free(&b);
}

/* The document made of head (ending in a stray schema tag) and a small
 * report's body reads as the report alone, whole and in random chunks. */
static void expect_schema_tag_dropped(const char *head, int pad)
{
    char *body = wrap("", 0);
    char *doc = ms_asprintf("%s%s", head, body + strlen("<feedback>"));
    for (unsigned seed = 0; seed <= 2; seed++) {
        outcome o = parse_text(doc, seed);
        if (o.status != MS_OK)
            print_message("pad %d seed %u: %s\n", pad, seed, s_or_null(o.err.message));
        expect_ok(&o);
        assert_int_equal(o.records, 1);
        outcome_free(&o);
    }
    free(doc);
    free(body);
}

/* A stray schema tag wherever it falls against the filter's blocks and
 * the head: every offset from 0 to 200 in the document. */
static void schema_tag_at_every_offset(void **state)
{
    (void)state;
    for (int pad = 0; pad <= 200; pad++) {
        ms_buf b = MS_BUF_INIT;
        ms_buf_puts(&b, "<feedback>");
        for (int i = 0; i < pad; i++)
            ms_buf_puts(&b, i % 7 == 6 ? "\n" : " ");
        ms_buf_puts(&b, "<xsd:schema xmlns:xsd=\"http://www.w3.org/2001/XMLSchema\">");
        expect_schema_tag_dropped(b.data, pad);
        ms_buf_free(&b);
    }
}

/* Colons in text (IPv6 addresses) let the filter skip a block; a colon
 * ending a tag's name must not: a stray schema tag right after such text,
 * at every offset against the blocks, is still taken out. */
static void schema_tag_after_colons_in_text(void **state)
{
    (void)state;
    static const char ipv6[] = "2001:db8::1 fe80::2 ";
    for (int pad = 0; pad <= 140; pad++) {
        ms_buf b = MS_BUF_INIT;
        ms_buf_puts(&b, "<feedback><note>");
        for (int i = 0; i < pad; i++)
            ms_buf_append(&b, &ipv6[i % (sizeof ipv6 - 1)], 1);
        ms_buf_puts(&b, "</note><xs:schema xmlns:xs=\"http://www.w3.org/2001/XMLSchema\">");
        expect_schema_tag_dropped(b.data, pad);
        ms_buf_free(&b);
    }
}

/* Text mixing valid multi-byte characters, invalid bytes, colons, control
 * characters and stray schema tags, at every alignment a generator can
 * reach: whole, a byte at a time and in random chunks read the same (a
 * multi-byte character next to a block the filter skipped was once cut). */
static void mixed_text_any_chunking(void **state)
{
    (void)state;
    static const char *const pieces[] = {
        "a", "bc", " ", ":", "\xc3\xa9", "\xe2\x82\xac", "\xf0\x9d\x84\x9e", "\xef\xbb\xbf",
        "\xff", "\xc3", "\x80", "\x01", "\n", "<xs:schema>", "</xs:schema>", "2001:db8::1",
        "0123456789012345678901234567890123456789012345678901234567890123"};
    unsigned x = 12345;
    for (int doc_no = 0; doc_no < 150; doc_no++) {
        ms_buf text = MS_BUF_INIT;
        int n = 1 + doc_no % 60;
        for (int i = 0; i < n; i++) {
            x = x * 1103515245u + 12345u;
            ms_buf_puts(&text, pieces[(x >> 16) % (sizeof pieces / sizeof pieces[0])]);
        }
        char *inner = ms_asprintf("<identifiers><header_from>%s</header_from></identifiers>"
                                  "<auth_results><dkim><domain>d</domain><human_result>%s"
                                  "</human_result></dkim></auth_results>",
                                  text.data, text.data);
        char *doc = wrap(inner, 0);
        outcome whole = parse_text(doc, 0);
        for (unsigned seed = 1; seed <= 4; seed++) {
            outcome again = parse_text(doc, seed);
            assert_int_equal(again.status, whole.status);
            assert_string_equal(s_or_null(again.text), s_or_null(whole.text));
            assert_string_equal(s_or_null(again.err.message), s_or_null(whole.err.message));
            outcome_free(&again);
        }
        outcome_free(&whole);
        free(doc);
        free(inner);
        ms_buf_free(&text);
    }
}

/* The transcript of a document fed in two pieces, cut at `cut`. */
static char *parse_two_pieces(const char *doc, size_t len, size_t cut)
{
    capture c = {MS_BUF_INIT, 0, 0, 0, 1};
    ms_report_agg_callbacks cb = {&c, on_begin, on_record};
    ms_report_agg_parser *p;
    ms_report_error err = {NULL, 0, 0, -1};
    assert_int_equal(ms_report_agg_parser_new(&cb, &p), MS_OK);
    ms_status st = ms_report_agg_parser_feed(p, doc, cut, &err);
    if (st == MS_OK)
        st = ms_report_agg_parser_feed(p, doc + cut, len - cut, &err);
    if (st == MS_OK)
        st = ms_report_agg_parser_finish(p, &err);
    if (st != MS_OK)
        print_message("cut at %zu: %s\n", cut, s_or_null(err.message));
    assert_int_equal(st, MS_OK);
    ms_report_error_clear(&err);
    ms_report_agg_parser_free(p);
    return ms_buf_take(&c.text);
}

/* A document cut in two anywhere reads as it does whole: at every byte of
 * one document, and around a stray schema tag moved across the filter's
 * 64-byte blocks (such a tag cut right after a clean block was once
 * missed). */
static void split_anywhere(void **state)
{
    (void)state;
    const char *inner = "<identifiers><header_from>caf\xc3\xa9 \xff \xe2\x82\xac</header_from>"
                        "</identifiers>";
    char *body = wrap(inner, 0);
    for (int pad = 0; pad < 130; pad++) {
        ms_buf b = MS_BUF_INIT;
        ms_buf_puts(&b, "<feedback>\n");
        for (int i = 0; i < 64 + pad; i++)
            ms_buf_puts(&b, i % 50 == 49 ? "\n" : " ");
        ms_buf_puts(&b, "<xs:schema xmlns:xs=\"http://www.w3.org/2001/XMLSchema\">\n");
        ms_buf_puts(&b, body + strlen("<feedback>"));
        outcome whole = parse_text(b.data, 0);
        expect_ok(&whole);
        size_t colon = (size_t)(strstr(b.data, ":schema") - b.data);
        size_t from = pad == 0 ? 0 : colon - 3, to = pad == 0 ? b.len : colon + 3;
        for (size_t cut = from; cut <= to; cut++) {
            char *text = parse_two_pieces(b.data, b.len, cut);
            assert_string_equal(text, whole.text);
            free(text);
        }
        outcome_free(&whole);
        ms_buf_free(&b);
    }
    free(body);
}

/* ---- The callbacks' answers and the parser's states ------------------ */

static void skip_and_refuse(void **state)
{
    (void)state;
    size_t len;
    char *data = load_sample("aggregate/rfc7489-outlook.xml", &len);
    capture c = {MS_BUF_INIT, MS_REPORT_AGG_SKIP, 0, 0, 1};
    outcome o = parse_in_chunks(data, len, 0, &c);
    expect_ok(&o);
    assert_int_equal(o.records, 0);
    assert_int_equal(c.records, 0);
    outcome_free(&o);

    capture refuse_begin = {MS_BUF_INIT, 7, 0, 0, 1};
    o = parse_in_chunks(data, len, 0, &refuse_begin);
    expect_error(&o, MS_ERR_INVALID, "refused by the caller");
    assert_int_equal(refuse_begin.records, 0);
    outcome_free(&o);

    capture refuse_second = {MS_BUF_INIT, 0, 2, 0, 1};
    o = parse_in_chunks(data, len, 0, &refuse_second);
    expect_error(&o, MS_ERR_INVALID, "the record at line 50 was refused");
    assert_int_equal(o.records, 1);
    outcome_free(&o);
    free(data);
}

static void feed_after_error(void **state)
{
    (void)state;
    ms_report_agg_parser *p;
    ms_report_error err = {NULL, 0, 0, -1};
    assert_int_equal(ms_report_agg_parser_new(NULL, &p), MS_OK);
    const char *bad = "<?xml version=\"1.0\"?><!DOCTYPE x><feedback>";
    assert_int_equal(ms_report_agg_parser_feed(p, bad, strlen(bad), &err), MS_ERR_INVALID);
    ms_report_error_clear(&err);
    assert_null(err.message);
    assert_int_equal(err.offset, -1);
    assert_int_equal(ms_report_agg_parser_feed(p, "<a/>", 4, &err), MS_ERR_INVALID);
    assert_non_null(strstr(err.message, "DOCTYPE"));
    assert_int_equal(ms_report_agg_parser_finish(p, &err), MS_ERR_INVALID);
    ms_report_error_clear(&err);
    ms_report_agg_parser_free(p);
}

/* Many records through a parser: memory stays where it was after the
 * first thousand (the per-record arena is reused, nothing piles up). */
static void memory_stays_bounded(void **state)
{
    (void)state;
    const char *head = "<feedback><report_metadata><org_name>o</org_name><report_id>i</report_id>"
                       "<date_range><begin>1</begin><end>2</end></date_range></report_metadata>"
                       "<policy_published><domain>d.example</domain><p>none</p></policy_published>";
    const char *record =
        "<record><row><source_ip>192.0.2.1</source_ip><count>1</count><policy_evaluated>"
        "<disposition>none</disposition><dkim>pass</dkim><spf>pass</spf></policy_evaluated></row>"
        "<identifiers><header_from>example.com</header_from></identifiers><auth_results><dkim>"
        "<domain>example.com</domain><selector>s</selector><result>pass</result></dkim><spf>"
        "<domain>example.com</domain><result>pass</result></spf></auth_results></record>\n";
    capture c = {MS_BUF_INIT, 0, 0, 0, 0};
    ms_report_agg_callbacks cb = {&c, on_begin, on_record};
    ms_report_agg_parser *p;
    ms_report_error err = {NULL, 0, 0, -1};
    assert_int_equal(ms_report_agg_parser_new(&cb, &p), MS_OK);
    assert_int_equal(ms_report_agg_parser_feed(p, head, strlen(head), &err), MS_OK);
    ms_buf batch = MS_BUF_INIT;
    repeat(&batch, record, 1000);
    size_t after_first = 0;
    for (int i = 0; i < 200; i++) {
        assert_int_equal(ms_report_agg_parser_feed(p, batch.data, batch.len, &err), MS_OK);
#ifndef UNDER_ASAN
        if (i == 0)
            after_first = mallinfo2().uordblks;
#endif
    }
#ifndef UNDER_ASAN
    size_t after_all = mallinfo2().uordblks;
    assert_true(after_all <= after_first + 64 * 1024);
#else
    (void)after_first;
#endif
    assert_int_equal(ms_report_agg_parser_feed(p, "</feedback>", 11, &err), MS_OK);
    assert_int_equal(ms_report_agg_parser_finish(p, &err), MS_OK);
    assert_int_equal(ms_report_agg_parser_records(p), 200000);
    ms_report_agg_parser_free(p);
    ms_buf_free(&batch);
    ms_buf_free(&c.text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(rfc7489_report),
        cmocka_unit_test(draft_report),
        cmocka_unit_test(rfc9990_report),
        cmocka_unit_test(namespace_prefixes),
        cmocka_unit_test(declared_encodings),
        cmocka_unit_test(invalid_utf8_replaced),
        cmocka_unit_test(text_tidied_wherever_it_changes),
        cmocka_unit_test(float_timestamps),
        cmocka_unit_test(uppercase_enums),
        cmocka_unit_test(empty_elements),
        cmocka_unit_test(stray_schema_element),
        cmocka_unit_test(schema_tag_after_colons_in_text),
        cmocka_unit_test(text_after_root),
        cmocka_unit_test(date_ranges),
        cmocka_unit_test(bom_and_leading_space),
        cmocka_unit_test(comments_cdata_pi),
        cmocka_unit_test(records_before_policy),
        cmocka_unit_test(doctype_refused),
        cmocka_unit_test(entities_refused),
        cmocka_unit_test(broken_documents),
        cmocka_unit_test(count_bound),
        cmocka_unit_test(date_bound),
        cmocka_unit_test(empty_org_name),
        cmocka_unit_test(missing_metadata_located),
        cmocka_unit_test(depth_limit),
        cmocka_unit_test(field_length_limit),
        cmocka_unit_test(record_element_limit),
        cmocka_unit_test(kept_results_limit),
        cmocka_unit_test(token_limit),
        cmocka_unit_test(repairs_in_big_feeds),
        cmocka_unit_test(schema_tag_at_every_offset),
        cmocka_unit_test(mixed_text_any_chunking),
        cmocka_unit_test(split_anywhere),
        cmocka_unit_test(skip_and_refuse),
        cmocka_unit_test(feed_after_error),
        cmocka_unit_test(memory_stays_bounded),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
