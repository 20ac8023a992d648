/* libFuzzer harness for the failure report builder
 * (lib/report/failure_build.c): the original header section and the
 * fields a sender controls (envelope addresses, the From domain, the
 * Authentication-Results value) from arbitrary bytes.
 *
 * Input: one byte choosing the redaction, then the fields separated by
 * 0xFF bytes: MAIL FROM, RCPT TO, the reported domain, the
 * Authentication-Results value, the header section (the rest). Whatever
 * they hold, the build gives MS_OK or MS_ERR_INVALID (a required field
 * empty), never a crash or a leak, and what it builds reads back with
 * mailsec's own failure report parser as one auth-failure report with its
 * feedback part, its original header part and the source address given. */
#include "mailsec/report.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHECK(c)                                                                                   \
    do {                                                                                           \
        if (!(c)) {                                                                                \
            fprintf(stderr, "fuzz_report_failure_build: check failed at line %d: %s\n", __LINE__, \
                    #c);                                                                           \
            __builtin_trap();                                                                      \
        }                                                                                          \
    } while (0)

enum { FIELDS = 5 };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > (1u << 20))
        return 0;
    ms_report_redact redact = data[0] & 1 ? MS_REPORT_REDACT_LOCAL_PART : MS_REPORT_REDACT_NONE;
    char *copy = malloc(size);
    CHECK(copy != NULL);
    memcpy(copy, data + 1, size - 1);
    copy[size - 1] = '\0';
    /* the first FIELDS - 1 fields end at a 0xFF byte; the header section is the rest */
    const char *field[FIELDS];
    char *p = copy, *end = copy + size - 1;
    for (int i = 0; i < FIELDS - 1; i++) {
        field[i] = p;
        char *sep = memchr(p, 0xFF, (size_t)(end - p));
        if (sep != NULL)
            *sep = '\0';
        p = sep != NULL ? sep + 1 : end;
    }
    field[FIELDS - 1] = p;
    size_t headers_len = (size_t)(end - p);
    ms_report_failure_out in = {
        .from = "dmarc-reports@mx.example.net",
        .to = "ruf@reports.example.org",
        .reporting_mta = "mx.example.net",
        .reported_domain = field[2],
        .source_ip = "192.0.2.1",
        .original_mail_from = field[0],
        .original_rcpt_to = field[1],
        .authentication_results = field[3],
        .identity_alignment = "none",
        .delivery_result = "reject",
        .arrival = 1796000000,
        .date = 1796000060,
        .headers = field[4],
        .headers_len = headers_len,
        .redact = redact,
    };
    char *out = NULL;
    size_t len = 0;
    ms_status st = ms_report_failure_build(&in, 0, &out, &len);
    CHECK(st == MS_OK || st == MS_ERR_INVALID);
    if (st == MS_OK) {
        CHECK(out != NULL && strlen(out) == len);
        ms_report_failure *r = NULL;
        ms_report_error err = {0};
        ms_status parsed = ms_report_failure_parse(out, len, &r, &err);
        if (parsed != MS_OK)
            fprintf(stderr, "%s\n---\n%s\n", err.message ? err.message : "?", out);
        CHECK(parsed == MS_OK);
        CHECK(r->has_feedback_part && r->has_original_part);
        CHECK(r->feedback_type && strcmp(r->feedback_type, "auth-failure") == 0);
        CHECK(r->auth_failure && strcmp(r->auth_failure, "dmarc") == 0);
        CHECK(r->source_ip && strcmp(r->source_ip, "192.0.2.1") == 0);
        ms_report_failure_free(r);
        ms_report_error_clear(&err);
    } else {
        CHECK(out == NULL && len == 0);
    }
    free(out);
    free(copy);
    return 0;
}
