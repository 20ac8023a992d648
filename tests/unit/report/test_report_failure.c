/* The failure report parser (lib/report/failure.c) on the messages in
 * tests/data/reports/failure/: a whole RFC 6591 report, one with only the
 * original's header (base64, CRLF), reports lacking parts, and messages
 * that are no report at all. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "report_test.h"

#include <pthread.h>

REPORT_SAMPLE_PARSERS(ms_report_failure, "failure", ms_report_failure_parse)

static void whole_report(void **state)
{
    (void)state;
    ms_report_failure *r = parse_ok("rfc6591-message.eml");
    assert_true(r->has_feedback_part);
    assert_true(r->has_original_part);
    assert_string_equal(r->message_id, "ruf-20251110-0001@receiver.example");
    assert_string_equal(r->report_date, "Mon, 10 Nov 2025 09:12:40 +0000");
    assert_string_equal(r->feedback_type, "auth-failure");
    assert_string_equal(r->user_agent, "Receiver-Feedback/2.4");
    assert_string_equal(r->version, "1");
    assert_string_equal(r->original_mail_from, "<bounces@mailer.example>");
    /* two Original-Rcpt-To fields, joined */
    assert_string_equal(r->original_rcpt_to, "<alice@receiver.example>, <bob@receiver.example>");
    assert_string_equal(r->arrival_date, "Mon, 10 Nov 2025 09:10:02 +0000");
    assert_int_equal(r->arrival_time, 1762765802);
    assert_string_equal(r->reporting_mta, "dns; mx.receiver.example");
    assert_string_equal(r->source_ip, "192.0.2.77");
    assert_int_equal(r->incidents, 3);
    /* folded over four lines, unfolded with single spaces */
    assert_string_equal(r->authentication_results,
                        "mx.receiver.example; dkim=fail (signature did not verify) header.d=example.com "
                        "header.s=sel2025; spf=pass smtp.mailfrom=mailer.example; dmarc=fail "
                        "header.from=example.com");
    assert_string_equal(r->reported_domain, "example.com");
    assert_string_equal(r->delivery_result, "reject");
    assert_string_equal(r->auth_failure, "dmarc");
    assert_string_equal(r->identity_alignment, "none");
    assert_string_equal(r->dkim_domain, "example.com");
    assert_string_equal(r->dkim_identity, "@example.com");
    assert_string_equal(r->dkim_selector, "sel2025");
    assert_string_equal(r->spf_dns, "txt : mailer.example : \"v=spf1 ip4:192.0.2.0/24 -all\"");
    assert_string_equal(r->original_from, "\"Example Billing\" <billing@example.com>");
    assert_string_equal(r->original_to, "alice@receiver.example");
    assert_string_equal(r->original_subject, "Your invoice \xe2\x82\xac" "42"); /* RFC 2047 decoded */
    assert_string_equal(r->original_message_id, "<invoice-8812@mailer.example>");
    assert_null(r->original_envelope_id);
    ms_report_failure_free(r);
}

static void headers_part_base64_crlf(void **state)
{
    (void)state;
    ms_report_failure *r = parse_ok("headers-only-crlf-base64.eml");
    assert_true(r->has_feedback_part);
    assert_true(r->has_original_part);
    assert_null(r->message_id);
    assert_string_equal(r->user_agent, "BigMail-ARF/1.0");
    assert_string_equal(r->original_mail_from, "<>");
    assert_string_equal(r->source_ip, "2001:db8::25");
    assert_int_equal(r->arrival_time, 1762786800); /* 10 Nov 2025 10:00:00 -0500 */
    assert_int_equal(r->incidents, 1);             /* no Incidents: field */
    assert_string_equal(r->auth_failure, "spf");
    assert_string_equal(r->delivery_result, "delivered");
    assert_string_equal(r->original_from, "Andr\xc3\xa9 <andre@example.org>");
    assert_string_equal(r->original_subject, "Meeting notes");
    assert_string_equal(r->original_message_id, "<abc.123@example.org>");
    ms_report_failure_free(r);
}

static void reports_lacking_parts(void **state)
{
    (void)state;
    ms_report_failure *r = parse_ok("no-original-part.eml");
    assert_true(r->has_feedback_part);
    assert_false(r->has_original_part);
    assert_string_equal(r->source_ip, "198.51.100.200");
    assert_string_equal(r->dkim_selector, "s1");
    assert_null(r->original_from);
    ms_report_failure_free(r);

    r = parse_ok("no-feedback-part.eml");
    assert_false(r->has_feedback_part);
    assert_true(r->has_original_part);
    assert_null(r->feedback_type);
    assert_null(r->source_ip);
    assert_string_equal(r->original_subject, "hello");
    ms_report_failure_free(r);

    r = parse_ok("bare-feedback-part.eml");
    assert_true(r->has_feedback_part);
    assert_false(r->has_original_part);
    assert_string_equal(r->source_ip, "203.0.113.9");
    assert_string_equal(r->auth_failure, "dmarc");
    ms_report_failure_free(r);
}

static void not_reports(void **state)
{
    (void)state;
    ms_report_failure *r = NULL;
    ms_report_error err = {NULL, 0, 0, -1};
    assert_int_equal(parse_file("not-a-report.eml", &r, &err), MS_ERR_INVALID);
    assert_null(r);
    assert_non_null(strstr(err.message, "not a failure report"));
    assert_int_equal(ms_report_failure_parse("", 0, &r, &err), MS_ERR_INVALID);
    assert_null(r);
    static const char junk[] = "\x00\x01\x02 garbage without a header";
    assert_int_equal(ms_report_failure_parse(junk, sizeof junk - 1, &r, &err), MS_ERR_INVALID);
    ms_report_error_clear(&err);
}

/* A feedback field longer than the field limit keeps its first 4096
 * bytes, folded lines included; the report is still read. */
static void long_field_cut(void **state)
{
    (void)state;
    ms_buf b = MS_BUF_INIT;
    ms_buf_puts(&b, "From: a@example.org\nMIME-Version: 1.0\nContent-Type: message/feedback-report\n\n"
                    "Feedback-Type: auth-failure\nUser-Agent: ");
    for (int i = 0; i < 3 * MS_REPORT_FIELD_MAX; i++)
        ms_buf_puts(&b, "x");
    ms_buf_puts(&b, "\n\tand a folded line\nSource-IP: 192.0.2.3\n");
    ms_report_failure *r = NULL;
    assert_int_equal(ms_report_failure_parse(b.data, b.len, &r, NULL), MS_OK);
    /* the raw value, " xxx...", is cut at 4096 bytes; then its space is trimmed */
    assert_int_equal(strlen(r->user_agent), MS_REPORT_FIELD_MAX - 1);
    assert_string_equal(r->source_ip, "192.0.2.3");
    ms_report_failure_free(r);
    ms_buf_free(&b);
}

/* A bare feedback report with these fields. */
static ms_status parse_fields(const char *fields, ms_report_failure **out, ms_report_error *err)
{
    char msg[2048];
    snprintf(msg, sizeof msg,
             "From: a@example.org\nMIME-Version: 1.0\nContent-Type: message/feedback-report\n\n"
             "Feedback-Type: auth-failure\n%s", fields);
    return ms_report_failure_parse(msg, strlen(msg), out, err);
}

static void expect_field_refused(const char *fields, const char *words, long line, long column)
{
    ms_report_failure *r = NULL;
    ms_report_error err = {NULL, 0, 0, -1};
    assert_int_equal(parse_fields(fields, &r, &err), MS_ERR_INVALID);
    assert_null(r);
    if (strstr(err.message, words) == NULL) {
        print_message("'%s' lacks '%s'\n", err.message, words);
        fail();
    }
    assert_int_equal(err.line, line);
    assert_int_equal(err.column, column);
    ms_report_error_clear(&err);
}

static void expect_sample_refused(const char *name, const char *words, long line, long column)
{
    ms_report_failure *r = NULL;
    ms_report_error err = {NULL, 0, 0, -1};
    assert_int_equal(parse_file(name, &r, &err), MS_ERR_INVALID);
    assert_null(r);
    if (strstr(err.message, words) == NULL) {
        print_message("%s: '%s' lacks '%s'\n", name, err.message, words);
        fail();
    }
    assert_int_equal(err.line, line);
    assert_int_equal(err.column, column);
    ms_report_error_clear(&err);
}

/* Incidents: a count up to MS_REPORT_COUNT_MAX; anything else refuses the
 * report (it used to become 1 without a word). */
static void incidents_checked(void **state)
{
    (void)state;
    ms_report_failure *r = NULL;
    assert_int_equal(parse_fields("Incidents: 4294967295\n", &r, NULL), MS_OK);
    assert_int_equal(r->incidents, 4294967295u);
    ms_report_failure_free(r);
    assert_int_equal(parse_fields("Source-IP: 192.0.2.3\n", &r, NULL), MS_OK);
    assert_int_equal(r->incidents, 1); /* absent: one message */
    ms_report_failure_free(r);
    expect_field_refused("Incidents: abc\n", "Incidents 'abc' is not a count of messages", 6, 12);
    expect_field_refused("Incidents:\n", "Incidents '' is not a count of messages", 6, 11);
    expect_field_refused("Incidents: 4294967296\n", "Incidents '4294967296' is larger than 4294967295 (MS_REPORT_COUNT_MAX)",
                         6, 12);
    expect_sample_refused("../edge/failure-incidents-bad.eml", "Incidents '-5' is not a count of messages", 29, 12);
    expect_sample_refused("../edge/failure-incidents-too-large.eml",
                          "Incidents '9223372036854775807' is larger than 4294967295", 29, 12);
}

static void source_ip_checked(void **state)
{
    (void)state;
    ms_report_failure *r = NULL;
    assert_int_equal(parse_fields("Source-IP: 2001:db8::7\n", &r, NULL), MS_OK);
    assert_string_equal(r->source_ip, "2001:db8::7");
    ms_report_failure_free(r);
    expect_field_refused("Source-IP: mail.example.net\n", "Source-IP 'mail.example.net' is not an IP address", 6, 12);
    expect_sample_refused("../edge/failure-bad-source-ip.eml", "Source-IP '192.0.2.999' is not an IP address", 28, 12);
}

/* Arrival-Date: 1970-01-01 to 9999-12-31, as the other formats' dates. */
static void arrival_date_checked(void **state)
{
    (void)state;
    ms_report_failure *r = NULL;
    assert_int_equal(parse_fields("Arrival-Date: Thu, 1 Jan 1970 00:00:00 +0000\n", &r, NULL), MS_OK);
    assert_int_equal(r->arrival_time, 0);
    ms_report_failure_free(r);
    assert_int_equal(parse_fields("Arrival-Date: Fri, 31 Dec 9999 23:59:59 +0000\n", &r, NULL), MS_OK);
    assert_int_equal(r->arrival_time, MS_REPORT_TIME_MAX);
    ms_report_failure_free(r);
    assert_int_equal(parse_fields("Arrival-Date: 27 Nov 26 10:00:00 +0000\n", &r, NULL), MS_OK); /* 2026 */
    assert_int_equal(r->arrival_time, 1795773600);
    ms_report_failure_free(r);
    expect_field_refused("Arrival-Date: Wed, 31 Dec 1969 23:59:59 +0000\n", "is outside 1970-01-01..9999-12-31", 6, 15);
    expect_field_refused("Arrival-Date: Thu, 1 Jan 1970 00:30:00 +0100\n", "is outside 1970-01-01..9999-12-31", 6, 15);
    expect_field_refused("Arrival-Date: yesterday\n", "Arrival-Date 'yesterday' is not a date", 6, 15);
    expect_sample_refused("../edge/failure-year-0.eml",
                          "Arrival-Date 'Sat, 1 Jan 0000 00:00:00 +0000' is outside 1970-01-01..9999-12-31", 27, 15);
}

/* g_mime_init runs once however many threads parse at the same time. */
static void *parse_in_thread(void *arg)
{
    const char *data = arg;
    for (int i = 0; i < 20; i++) {
        ms_report_failure *r = NULL;
        if (ms_report_failure_parse(data, strlen(data), &r, NULL) != MS_OK || r->incidents != 3)
            return (void *)1;
        ms_report_failure_free(r);
    }
    return NULL;
}

static void threads(void **state)
{
    (void)state;
    size_t len;
    char *data = load_sample("failure/rfc6591-message.eml", &len);
    pthread_t t[4];
    for (int i = 0; i < 4; i++)
        assert_int_equal(pthread_create(&t[i], NULL, parse_in_thread, data), 0);
    for (int i = 0; i < 4; i++) {
        void *res;
        pthread_join(t[i], &res);
        assert_null(res);
    }
    free(data);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(whole_report),
        cmocka_unit_test(headers_part_base64_crlf),
        cmocka_unit_test(reports_lacking_parts),
        cmocka_unit_test(not_reports),
        cmocka_unit_test(long_field_cut),
        cmocka_unit_test(incidents_checked),
        cmocka_unit_test(source_ip_checked),
        cmocka_unit_test(arrival_date_checked),
        cmocka_unit_test(threads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
