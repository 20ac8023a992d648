/* The TLS report parser (lib/report/tlsrpt.c) on the samples in
 * tests/data/reports/tlsrpt/: RFC 8460's own example, reports shaped like
 * the big senders', lenient types, and what is refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "report_test.h"

REPORT_SAMPLE_PARSERS(ms_report_tlsrpt, "tlsrpt", ms_report_tlsrpt_parse)

static void rfc8460_example(void **state)
{
    (void)state;
    ms_report_tlsrpt *r = parse_ok("rfc8460-example.json");
    assert_string_equal(r->org_name, "Company-X");
    assert_string_equal(r->report_id, "5065427c-23d3-47ca-b6e0-946ea0e8c4be");
    assert_string_equal(r->contact_info, "sts-reporting@company-x.example");
    assert_int_equal(r->begin, 1459468800); /* 2016-04-01T00:00:00Z */
    assert_int_equal(r->end, 1459555199);   /* 2016-04-01T23:59:59Z */
    assert_int_equal(r->policy_count, 1);
    ms_report_tlsrpt_policy *p = &r->policies[0];
    assert_string_equal(p->policy_type, "sts");
    assert_string_equal(p->policy_domain, "company-y.example");
    assert_string_equal(p->policy_string,
                        "version: STSv1\nmode: testing\nmx: *.mail.company-y.example\nmax_age: 86400");
    assert_string_equal(p->mx_host, "*.mail.company-y.example");
    assert_int_equal(p->successful, 5326);
    assert_int_equal(p->failed, 303);
    assert_int_equal(p->failure_count, 3);
    assert_string_equal(p->failures[0].result_type, "certificate-expired");
    assert_string_equal(p->failures[0].sending_mta_ip, "2001:db8:abcd:0012::1");
    assert_string_equal(p->failures[0].receiving_mx_hostname, "mx1.mail.company-y.example");
    assert_null(p->failures[0].receiving_ip);
    assert_int_equal(p->failures[0].failed_session_count, 100);
    assert_string_equal(p->failures[1].receiving_ip, "203.0.113.56");
    assert_string_equal(p->failures[1].additional_information,
                        "https://reports.company-x.example/report_info?id=5065427c-23d3#StarttlsNotSupported");
    assert_int_equal(p->failures[1].failed_session_count, 200);
    assert_string_equal(p->failures[2].failure_reason_code, "X509_V_ERR_PROXY_PATH_LENGTH_EXCEEDED");
    assert_int_equal(p->failures[2].failed_session_count, 3);
    ms_report_tlsrpt_free(r);
}

static void senders_shapes(void **state)
{
    (void)state;
    ms_report_tlsrpt *r = parse_ok("google-style.json");
    assert_string_equal(r->org_name, "Google Inc.");
    assert_int_equal(r->begin, 1761955200);
    assert_int_equal(r->end, 1762041599);
    assert_int_equal(r->policy_count, 1);
    assert_null(r->policies[0].mx_host);
    assert_int_equal(r->policies[0].successful, 1542);
    assert_int_equal(r->policies[0].failure_count, 0);
    assert_null(r->policies[0].failures);
    ms_report_tlsrpt_free(r);

    r = parse_ok("microsoft-style.json");
    assert_int_equal(r->policy_count, 2);
    assert_string_equal(r->policies[0].policy_type, "no-policy-found");
    assert_string_equal(r->policies[0].mx_host, "mail.example.net"); /* a string, not an array */
    assert_null(r->policies[0].policy_string);
    assert_string_equal(r->policies[0].failures[0].result_type, "tlsa-invalid");
    assert_string_equal(r->policies[0].failures[0].receiving_mx_helo, "mail.example.net");
    assert_string_equal(r->policies[1].policy_type, "tlsa");
    assert_string_equal(r->policies[1].policy_string,
                        "3 1 1 0C72AC70B745AC19998811B131D662C9AC69DBDBE7CB23E5B514B56664C5D3D6");
    ms_report_tlsrpt_free(r);
}

static void lenient_types(void **state)
{
    (void)state;
    ms_report_tlsrpt *r = parse_ok("lenient-types.json");
    assert_string_equal(r->report_id, "20251103"); /* a number */
    assert_null(r->contact_info);                  /* missing */
    assert_int_equal(r->begin, 1762124400);        /* 2025-11-03T00:00:00.000+01:00 */
    assert_int_equal(r->end, 1762214399);          /* 2025-11-03 23:59:59Z */
    ms_report_tlsrpt_policy *p = &r->policies[0];
    assert_string_equal(p->policy_type, "sts");
    assert_string_equal(p->policy_domain, "example.org");
    assert_string_equal(p->policy_string, "version: STSv1");
    assert_int_equal(p->successful, 17);
    assert_int_equal(p->failed, 1);
    assert_string_equal(p->failures[0].result_type, "certificate-host-mismatch");
    assert_int_equal(p->failures[0].failed_session_count, 1);
    assert_string_equal(p->failures[0].failure_reason_code, "42");
    ms_report_tlsrpt_free(r);

    r = parse_ok("bom-invalid-utf8.json");
    assert_string_equal(r->org_name, "Bad \xef\xbf\xbd Org");
    assert_int_equal(r->policy_count, 0);
    ms_report_tlsrpt_free(r);
}

static void expect_refused(const char *name, ms_status status, const char *words)
{
    ms_report_tlsrpt *r = NULL;
    ms_report_error err = {NULL, 0, 0, -1};
    assert_int_equal(parse_file(name, &r, &err), status);
    assert_null(r);
    assert_non_null(err.message);
    if (strstr(err.message, words) == NULL) {
        print_message("%s: '%s' lacks '%s'\n", name, err.message, words);
        fail();
    }
    ms_report_error_clear(&err);
}

static void refused(void **state)
{
    (void)state;
    expect_refused("duplicate-key.json", MS_ERR_INVALID, "duplicate object key");
    expect_refused("missing-date-range.json", MS_ERR_INVALID, "no \"date-range\"");
    expect_refused("truncated.json", MS_ERR_INVALID, "JSON error");
}

static ms_status parse_text(const char *text, ms_report_error *err)
{
    ms_report_tlsrpt *r = NULL;
    ms_status st = ms_report_tlsrpt_parse(text, strlen(text), &r, err);
    ms_report_tlsrpt_free(r);
    return st;
}

static void limits(void **state)
{
    (void)state;
    ms_report_error err = {NULL, 0, 0, -1};
    /* depth: the report object plus nested arrays */
    for (int depth = MS_REPORT_DEPTH_MAX - 2; depth <= MS_REPORT_DEPTH_MAX; depth++) {
        ms_buf b = MS_BUF_INIT;
        ms_buf_puts(&b, "{\"organization-name\":\"o\",\"report-id\":\"i\",\"date-range\":{\"start-datetime\":"
                        "\"2025-11-01T00:00:00Z\",\"end-datetime\":\"2025-11-01T00:00:00Z\"},\"x\":");
        for (int i = 0; i < depth; i++)
            ms_buf_puts(&b, "[");
        for (int i = 0; i < depth; i++)
            ms_buf_puts(&b, "]");
        ms_buf_puts(&b, "}");
        ms_status st = parse_text(b.data, &err);
        /* the object is level 1: depth arrays make depth + 1 levels */
        assert_int_equal(st, depth + 1 <= MS_REPORT_DEPTH_MAX ? MS_OK : MS_ERR_LIMIT);
        ms_buf_free(&b);
    }
    assert_non_null(strstr(err.message, "nested more than 32 deep"));
    /* a field of exactly the limit is read whole, one byte longer is refused */
    for (size_t len = MS_REPORT_FIELD_MAX; len <= MS_REPORT_FIELD_MAX + 1; len++) {
        ms_buf b = MS_BUF_INIT;
        ms_buf_puts(&b, "{\"organization-name\":\"");
        for (size_t i = 0; i < len; i++)
            ms_buf_puts(&b, "o");
        ms_buf_puts(&b, "\",\"report-id\":\"i\",\"date-range\":{\"start-datetime\":"
                        "\"2026-11-27T00:00:00Z\",\"end-datetime\":\"2026-11-27T23:59:59Z\"}}");
        ms_report_tlsrpt *r = NULL;
        ms_status st = ms_report_tlsrpt_parse(b.data, b.len, &r, &err);
        if (len == MS_REPORT_FIELD_MAX) {
            assert_int_equal(st, MS_OK);
            assert_int_equal(strlen(r->org_name), MS_REPORT_FIELD_MAX);
            ms_report_tlsrpt_free(r);
        } else {
            assert_int_equal(st, MS_ERR_LIMIT);
            assert_non_null(strstr(err.message, "\"organization-name\" is longer"));
        }
        ms_buf_free(&b);
    }
    /* wrong types */
    assert_int_equal(parse_text("[1,2]", &err), MS_ERR_INVALID);
    assert_non_null(strstr(err.message, "not a JSON object"));
    assert_int_equal(parse_text("{\"organization-name\":\"o\",\"report-id\":\"i\",\"date-range\":"
                                "{\"start-datetime\":\"yesterday\",\"end-datetime\":\"2025-11-01T00:00:00Z\"}}",
                                &err),
                     MS_ERR_INVALID);
    assert_non_null(strstr(err.message, "\"start-datetime\" is missing or not an RFC 3339"));
    assert_int_equal(parse_text("{\"organization-name\":\"o\",\"report-id\":\"i\",\"date-range\":"
                                "{\"start-datetime\":\"2025-11-01T00:00:00Z\",\"end-datetime\":\"2025-11-01T00:00:00Z\"},"
                                "\"policies\":[{\"summary\":{\"total-successful-session-count\":-4}}]}",
                                &err),
                     MS_ERR_INVALID);
    assert_non_null(strstr(err.message, "not a session count"));
    ms_report_error_clear(&err);
}

/* A report with the date range and one policy's summary and failure
 * details given. */
static ms_status parse_with(const char *start, const char *summary, const char *detail_count,
                            ms_report_error *err)
{
    char doc[1024];
    snprintf(doc, sizeof doc,
             "{\"organization-name\":\"o\",\"report-id\":\"i\",\"date-range\":{\"start-datetime\":\"%s\","
             "\"end-datetime\":\"2026-11-27T23:59:59Z\"},\"policies\":[{\"summary\":{},\"failure-details\":[]},"
             "{\"summary\":{%s},\"failure-details\":[{\"result-type\":\"validation-failure\"},"
             "{\"failed-session-count\":%s}]}]}",
             start, summary, detail_count);
    return parse_text(doc, err);
}

static void count_bound(void **state)
{
    (void)state;
    ms_report_error err = {NULL, 0, 0, -1};
    ms_report_tlsrpt *r = NULL;
    const char *max = "{\"organization-name\":\"o\",\"report-id\":\"i\",\"date-range\":{\"start-datetime\":"
                      "\"2026-11-27T00:00:00Z\",\"end-datetime\":\"2026-11-27T23:59:59Z\"},\"policies\":"
                      "[{\"summary\":{\"total-successful-session-count\":4294967295,"
                      "\"total-failure-session-count\":\"4294967295\"},"
                      "\"failure-details\":[{\"failed-session-count\":4294967295.0}]}]}";
    assert_int_equal(ms_report_tlsrpt_parse(max, strlen(max), &r, &err), MS_OK); /* MS_REPORT_COUNT_MAX itself */
    assert_int_equal(r->policies[0].successful, 4294967295u);
    assert_int_equal(r->policies[0].failed, 4294967295u);
    assert_int_equal(r->policies[0].failures[0].failed_session_count, 4294967295u);
    ms_report_tlsrpt_free(r);

    const struct {
        const char *summary, *detail, *words;
    } too_large[] = {
        {"\"total-successful-session-count\":4294967296", "1",
         "\"total-successful-session-count\" is larger than 4294967295 (MS_REPORT_COUNT_MAX) (in policies[1])"},
        {"\"total-failure-session-count\":9223372036854775807", "1",
         "\"total-failure-session-count\" is larger than 4294967295 (MS_REPORT_COUNT_MAX) (in policies[1])"},
        {"\"total-failure-session-count\":\"18446744073709551616\"", "1",
         "\"total-failure-session-count\" is larger than"},
        {"\"total-failure-session-count\":1e300", "1", "\"total-failure-session-count\" is larger than"},
        {"\"total-failure-session-count\":4294967296.0", "1",
         "\"total-failure-session-count\" is larger than 4294967295 (MS_REPORT_COUNT_MAX)"},
        {"\"total-successful-session-count\":\"4294967296\"", "1",
         "\"total-successful-session-count\" is larger than 4294967295 (MS_REPORT_COUNT_MAX)"},
        {"", "4294967296",
         "\"failed-session-count\" is larger than 4294967295 (MS_REPORT_COUNT_MAX) "
         "(in policies[1].failure-details[1])"},
    };
    for (size_t i = 0; i < sizeof too_large / sizeof too_large[0]; i++) {
        assert_int_equal(parse_with("2026-11-27T00:00:00Z", too_large[i].summary, too_large[i].detail, &err),
                         MS_ERR_INVALID);
        if (strstr(err.message, too_large[i].words) == NULL) {
            print_message("'%s' lacks '%s'\n", err.message, too_large[i].words);
            fail();
        }
    }
    expect_refused("../edge/tlsrpt-count-too-large.json", MS_ERR_INVALID,
                   "\"total-successful-session-count\" is larger than 4294967295 (MS_REPORT_COUNT_MAX) (in policies[1])");
    ms_report_error_clear(&err);
}

static void date_bound(void **state)
{
    (void)state;
    ms_report_error err = {NULL, 0, 0, -1};
    assert_int_equal(parse_with("1970-01-01T00:00:00Z", "", "1", &err), MS_OK);
    assert_int_equal(parse_with("9999-12-31T23:59:59Z", "", "1", &err), MS_OK);
    const char *outside[] = {"0000-01-01T00:00:00Z", "1969-12-31T23:59:59Z", "1970-01-01T00:30:00+01:00",
                             "9999-12-31T23:59:59-00:01"};
    for (size_t i = 0; i < sizeof outside / sizeof outside[0]; i++) {
        assert_int_equal(parse_with(outside[i], "", "1", &err), MS_ERR_INVALID);
        if (strstr(err.message, "is outside 1970-01-01..9999-12-31") == NULL) {
            print_message("%s: '%s'\n", outside[i], err.message);
            fail();
        }
    }
    expect_refused("../edge/tlsrpt-year-0.json", MS_ERR_INVALID,
                   "\"start-datetime\" '0000-01-01T00:00:00Z' is outside 1970-01-01..9999-12-31");
    ms_report_error_clear(&err);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(rfc8460_example),
        cmocka_unit_test(senders_shapes),
        cmocka_unit_test(lenient_types),
        cmocka_unit_test(refused),
        cmocka_unit_test(limits),
        cmocka_unit_test(count_bound),
        cmocka_unit_test(date_bound),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
