/* The failure report builder (lib/report/failure_build.c): what it builds
 * reads back with mailsec's own failure report parser, field for field;
 * redaction leaves no local part; hostile header sections stay inside
 * their part; the size limit and the required fields are checked. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "report_test.h"

static const char HEADERS[] = "Received: from evil.example (evil.example [192.0.2.7])\r\n"
                              "\tby mx.example.net\r\n"
                              "From: \"The CEO\" <ceo.private@mgood.example>\r\n"
                              "To: Someone <inbox.private@rcpt.example>\r\n"
                              "Subject: urgent invoice\r\n"
                              "Message-ID: <123@evil.example>\r\n"
                              "\r\n"
                              "the body is not reported\r\n";

static ms_report_failure_out sample(ms_report_redact redact)
{
    ms_report_failure_out in = {
        .from = "dmarc-reports@mx.example.net",
        .to = "ruf@mgood.example",
        .reporting_mta = "mx.example.net",
        .reported_domain = "mgood.example",
        .source_ip = "192.0.2.7",
        .original_mail_from = "attacker.private@evil.example",
        .original_rcpt_to = "inbox.private@rcpt.example",
        .authentication_results = " mx.example.net;\n\tspf=fail smtp.mailfrom=evil.example;\n\t"
                                  "dmarc=fail (p=reject dis=reject) header.from=mgood.example",
        .identity_alignment = "none",
        .delivery_result = "reject",
        .arrival = 1796000000,
        .date = 1796000060,
        .headers = HEADERS,
        .headers_len = sizeof HEADERS - 1,
        .redact = redact,
    };
    return in;
}

static ms_report_failure *build_and_parse(const ms_report_failure_out *in, char **text)
{
    size_t len = 0;
    assert_int_equal(ms_report_failure_build(in, 0, text, &len), MS_OK);
    assert_int_equal(strlen(*text), len);
    ms_report_failure *r = NULL;
    ms_report_error err = {NULL, 0, 0, -1};
    ms_status st = ms_report_failure_parse(*text, len, &r, &err);
    if (st != MS_OK)
        print_message("%s\n%s\n", err.message ? err.message : "?", *text);
    assert_int_equal(st, MS_OK);
    ms_report_error_clear(&err);
    return r;
}

static void reads_back(void **state)
{
    (void)state;
    ms_report_failure_out in = sample(MS_REPORT_REDACT_NONE);
    char *text = NULL;
    ms_report_failure *r = build_and_parse(&in, &text);
    assert_true(r->has_feedback_part);
    assert_true(r->has_original_part);
    assert_string_equal(r->feedback_type, "auth-failure");
    assert_string_equal(r->auth_failure, "dmarc");
    assert_string_equal(r->reported_domain, "mgood.example");
    assert_string_equal(r->source_ip, "192.0.2.7");
    assert_string_equal(r->original_mail_from, "<attacker.private@evil.example>");
    assert_string_equal(r->original_rcpt_to, "<inbox.private@rcpt.example>");
    assert_string_equal(r->identity_alignment, "none");
    assert_string_equal(r->delivery_result, "reject");
    assert_int_equal(r->arrival_time, 1796000000);
    assert_non_null(strstr(r->authentication_results, "dmarc=fail"));
    assert_string_equal(r->original_subject, "urgent invoice");
    assert_non_null(strstr(r->original_from, "ceo.private@mgood.example"));
    /* the header section only: not the body */
    assert_null(strstr(text, "the body is not reported"));
    ms_report_failure_free(r);
    free(text);
}

static void redacts_local_parts(void **state)
{
    (void)state;
    ms_report_failure_out in = sample(MS_REPORT_REDACT_LOCAL_PART);
    char *text = NULL;
    ms_report_failure *r = build_and_parse(&in, &text);
    assert_null(strstr(text, "private"));
    assert_string_equal(r->original_mail_from, "<redacted@evil.example>");
    assert_non_null(strstr(r->original_from, "redacted@mgood.example"));
    /* the domains stay: they are what the report is about */
    assert_string_equal(r->reported_domain, "mgood.example");
    ms_report_failure_free(r);
    free(text);
}

/* A header section holding a line like a boundary, bare LFs, control bytes
 * and a line of 5,000 bytes: every line of the report stays within 998
 * bytes and the report still has its three parts. */
static void hostile_headers(void **state)
{
    (void)state;
    char headers[6000];
    int n = snprintf(headers, sizeof headers,
                     "From: a@mgood.example\n--=_mailsec_failure_\nX-Bell: \a\x01\x7f!\nX-Long: ");
    memset(headers + n, 'y', 5000);
    memcpy(headers + n + 5000, "\nline without colon\n", 21);
    ms_report_failure_out in = sample(MS_REPORT_REDACT_NONE);
    in.headers = headers;
    in.headers_len = strlen(headers);
    char *text = NULL;
    ms_report_failure *r = build_and_parse(&in, &text);
    assert_true(r->has_feedback_part);
    assert_true(r->has_original_part);
    for (const char *line = text; *line;) {
        const char *end = strstr(line, "\r\n");
        assert_non_null(end);
        assert_true(end - line <= 998);
        assert_null(memchr(line, '\a', (size_t)(end - line)));
        line = end + 2;
    }
    ms_report_failure_free(r);
    free(text);
}

static void limits_and_required(void **state)
{
    (void)state;
    ms_report_failure_out in = sample(MS_REPORT_REDACT_NONE);
    char *text = NULL;
    size_t len = 0;
    assert_int_equal(ms_report_failure_build(&in, 500, &text, &len), MS_ERR_LIMIT);
    assert_null(text);
    in.source_ip = "not an address";
    assert_int_equal(ms_report_failure_build(&in, 0, &text, &len), MS_ERR_INVALID);
    in = sample(MS_REPORT_REDACT_NONE);
    in.to = "";
    assert_int_equal(ms_report_failure_build(&in, 0, &text, &len), MS_ERR_INVALID);
    assert_null(text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(reads_back),
        cmocka_unit_test(redacts_local_parts),
        cmocka_unit_test(hostile_headers),
        cmocka_unit_test(limits_and_required),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
