/* libFuzzer harness for the failure report parser (lib/report/failure.c,
 * GMime underneath).
 *
 * Arbitrary bytes must give MS_OK with a report whose strings are tidy
 * UTF-8 and which was marked as a failure report, or MS_ERR_INVALID with
 * a message and no report. Everything is freed, so LeakSanitizer sees any
 * leak of ours (GMime's one-time global state is still reachable). */
#include "mailsec/report.h"
#include "report/report_internal.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "fuzz_check.h"
#include "report_tidy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ms_report_failure *r = NULL;
    ms_report_error err = {NULL, 0, 0, -1};
    ms_status st = ms_report_failure_parse(data, size, &r, &err);
    CHECK(st == MS_OK || st == MS_ERR_INVALID);
    if (st != MS_OK) {
        CHECK(r == NULL && err.message != NULL);
        ms_report_error_clear(&err);
        return 0;
    }
    const char *strings[] = {
        r->message_id, r->report_date, r->feedback_type, r->user_agent, r->version,
        r->reported_domain, r->source_ip, r->arrival_date, r->original_mail_from,
        r->original_rcpt_to, r->original_envelope_id, r->reporting_mta,
        r->authentication_results, r->auth_failure, r->identity_alignment, r->delivery_result,
        r->dkim_domain, r->dkim_selector, r->dkim_identity, r->spf_dns, r->original_from,
        r->original_to, r->original_subject, r->original_message_id};
    for (size_t i = 0; i < sizeof strings / sizeof strings[0]; i++)
        check_tidy(strings[i], 0);
    CHECK(r->incidents >= 1 || r->has_feedback_part);
    CHECK(r->incidents <= MS_REPORT_COUNT_MAX);
    CHECK(r->arrival_time >= MS_REPORT_TIME_MIN && r->arrival_time <= MS_REPORT_TIME_MAX);
    CHECK(r->source_ip == NULL || ms_report_is_ip_address(r->source_ip));
    ms_report_failure_free(r);
    return 0;
}
