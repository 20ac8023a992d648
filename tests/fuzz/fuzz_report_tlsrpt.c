/* libFuzzer harness for the TLS report parser (lib/report/tlsrpt.c).
 *
 * Arbitrary bytes must give MS_OK with a report whose strings are tidy
 * UTF-8 (no control characters, no white space at the ends) and whose
 * required members are there, or an error with a message and no report.
 * Everything is freed, so LeakSanitizer sees any leak. */
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
    ms_report_tlsrpt *r = NULL;
    ms_report_error err = {NULL, 0, 0, -1};
    ms_status st = ms_report_tlsrpt_parse(data, size, &r, &err);
    CHECK(st == MS_OK || st == MS_ERR_INVALID || st == MS_ERR_LIMIT);
    if (st != MS_OK) {
        CHECK(r == NULL && err.message != NULL);
        ms_report_error_clear(&err);
        return 0;
    }
    CHECK(err.message == NULL);
    CHECK(r->org_name != NULL && r->report_id != NULL);
    check_tidy(r->org_name, 0);
    check_tidy(r->report_id, 0);
    check_tidy(r->contact_info, 0);
    CHECK(r->begin >= MS_REPORT_TIME_MIN && r->begin <= MS_REPORT_TIME_MAX);
    CHECK(r->end >= MS_REPORT_TIME_MIN && r->end <= MS_REPORT_TIME_MAX);
    CHECK(r->policy_count == 0 || r->policies != NULL);
    for (size_t i = 0; i < r->policy_count; i++) {
        const ms_report_tlsrpt_policy *p = &r->policies[i];
        check_tidy(p->policy_type, 0);
        check_tidy(p->policy_domain, 0);
        check_tidy(p->policy_string, 1);
        check_tidy(p->mx_host, 0);
        CHECK(p->successful <= MS_REPORT_COUNT_MAX && p->failed <= MS_REPORT_COUNT_MAX);
        CHECK(p->failure_count == 0 || p->failures != NULL);
        for (size_t k = 0; k < p->failure_count; k++) {
            const ms_report_tlsrpt_failure *f = &p->failures[k];
            check_tidy(f->result_type, 0);
            check_tidy(f->sending_mta_ip, 0);
            check_tidy(f->receiving_mx_hostname, 0);
            check_tidy(f->receiving_mx_helo, 0);
            check_tidy(f->receiving_ip, 0);
            check_tidy(f->additional_information, 0);
            check_tidy(f->failure_reason_code, 0);
            CHECK(f->failed_session_count <= MS_REPORT_COUNT_MAX);
        }
    }
    ms_report_tlsrpt_free(r);
    return 0;
}
