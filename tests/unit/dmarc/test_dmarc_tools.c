/* DMARC explain, generate, zone line and plan; and the checker on odd
 * input (every byte value, 64 KiB). The record checks themselves are the
 * data-driven cases in test_dmarc_records.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/internal.h"
#include "mailsec/dmarc.h"

/* ---- helpers ---- */

static ms_dmarc_record *check(const char *text, ms_diag_list *diags)
{
    ms_dmarc_record *rec = NULL;
    assert_int_equal(ms_dmarc_check_record(text, strlen(text), "example.com", &rec, diags), MS_OK);
    assert_non_null(rec);
    return rec;
}

/* The explanation of a record, all lines joined with newlines. */
static char *explain(const char *text)
{
    ms_diag_list d = MS_DIAG_LIST_INIT;
    ms_dmarc_record *rec = check(text, &d);
    ms_dmarc_explanation ex;
    assert_int_equal(ms_dmarc_explain(rec, "example.com", &ex), MS_OK);
    assert_true(ex.count > 10);
    assert_non_null(strstr(ex.lines[ex.count - 1], "Summary: "));
    ms_buf b = MS_BUF_INIT;
    for (size_t i = 0; i < ex.count; i++)
        ms_buf_printf(&b, "%s\n", ex.lines[i]);
    ms_dmarc_explanation_free(&ex);
    ms_dmarc_record_free(rec);
    ms_diag_list_free(&d);
    return ms_buf_take(&b);
}

static void assert_contains(const char *haystack, const char *needle)
{
    if (strstr(haystack, needle) == NULL)
        fail_msg("\"%s\" not found in:\n%s", needle, haystack);
}

/* The record's checks: no errors, and warnings only from the list. */
static void assert_checks_clean(const char *record, const char *allowed_warnings)
{
    ms_diag_list d = MS_DIAG_LIST_INIT;
    ms_dmarc_record *rec = check(record, &d);
    assert_true(rec->usable);
    for (size_t i = 0; i < d.count; i++) {
        const ms_diag *x = &d.items[i];
        if (x->def->severity == MS_SEV_ERROR ||
            (x->def->severity == MS_SEV_WARNING &&
             (allowed_warnings == NULL || strstr(allowed_warnings, x->def->code) == NULL)))
            fail_msg("%s: %s %s", record, x->def->code, x->message);
    }
    ms_dmarc_record_free(rec);
    ms_diag_list_free(&d);
}

/* ---- explain ---- */

static void test_explain_reject_defaults(void **state)
{
    (void)state;
    char *t = explain("v=DMARC1; p=reject; rua=mailto:dmarc@example.com");
    assert_contains(t, "p=reject: mail from example.com that fails DMARC should be rejected.");
    assert_contains(t, "sp is absent: existing subdomains get the p policy.");
    assert_contains(t, "np is absent: non-existent subdomains get the p policy.");
    assert_contains(t, "adkim is absent (default r): relaxed DKIM alignment");
    assert_contains(t, "aspf is absent (default r): relaxed SPF alignment");
    assert_contains(t, "fo is absent (default 0): it would only matter with ruf.");
    assert_contains(t, "rua: aggregate reports go to dmarc@example.com.");
    assert_contains(t, "Summary: mail that fails DMARC is rejected when from example.com, "
                       "rejected when from its existing subdomains, and rejected when from "
                       "non-existent subdomains.");
    free(t);
}

static void test_explain_subdomain_policies(void **state)
{
    (void)state;
    char *t = explain("v=DMARC1; p=quarantine; sp=none; np=reject; adkim=s; aspf=s; "
                      "rua=mailto:a@example.com; ruf=mailto:f@example.com; fo=1:d");
    assert_contains(t, "sp=none: mail from existing subdomains of example.com");
    assert_contains(t, "np=reject: mail from non-existent subdomains of example.com");
    assert_contains(t, "adkim=s: strict DKIM alignment");
    assert_contains(t, "aspf=s: strict SPF alignment");
    assert_contains(t, "ruf: failure reports go to f@example.com.");
    assert_contains(t, "fo=1:d: failure reports are requested when any mechanism fails");
    assert_contains(t, "Summary: mail that fails DMARC is quarantined when from example.com, "
                       "delivered normally when from its existing subdomains, and rejected "
                       "when from non-existent subdomains.");
    free(t);
}

static void test_explain_np_inherits_sp(void **state)
{
    (void)state;
    char *t = explain("v=DMARC1; p=reject; sp=quarantine; rua=mailto:a@example.com");
    assert_contains(t, "np is absent: non-existent subdomains get the sp policy.");
    assert_contains(t, "quarantined when from its existing subdomains, and quarantined when "
                       "from non-existent subdomains");
    free(t);
}

static void test_explain_testing_and_pct(void **state)
{
    (void)state;
    char *t = explain("v=DMARC1; p=reject; pct=25; t=y; rua=mailto:a@example.com");
    assert_contains(t, "pct=25: RFC 7489 receivers apply the policy to 25% of failing mail");
    assert_contains(t, "t=y: testing mode");
    assert_contains(t, "Summary: mail that fails DMARC is quarantined when from example.com");
    assert_contains(t, "(t=y: one step weaker than written)");
    assert_contains(t, "RFC 7489 receivers apply reject to 25% of failing mail");
    free(t);
}

static void test_explain_p_missing_with_rua(void **state)
{
    (void)state;
    char *t = explain("v=DMARC1; rua=mailto:a@example.com");
    assert_contains(t, "receivers treat the record as p=none");
    assert_contains(t, "is delivered normally when from example.com");
    free(t);
}

static void test_explain_unusable(void **state)
{
    (void)state;
    char *t = explain("p=reject; v=DMARC1");
    assert_contains(t, "Summary: receivers ignore this record");
    free(t);
}

static void test_explain_without_domain(void **state)
{
    (void)state;
    ms_diag_list d = MS_DIAG_LIST_INIT;
    ms_dmarc_record *rec = check("v=DMARC1; p=none; rua=mailto:a@example.com", &d);
    ms_dmarc_explanation ex;
    assert_int_equal(ms_dmarc_explain(rec, NULL, &ex), MS_OK);
    assert_contains(ex.lines[ex.count - 1], "when from the domain");
    ms_dmarc_explanation_free(&ex);
    assert_int_equal(ms_dmarc_explain(NULL, NULL, &ex), MS_ERR_INVALID);
    ms_dmarc_record_free(rec);
    ms_diag_list_free(&d);
}

/* ---- generate ---- */

static char *generate(const ms_dmarc_spec *spec, ms_diag_list *d)
{
    char *rec = NULL;
    assert_int_equal(ms_dmarc_generate(spec, &rec, d), MS_OK);
    return rec;
}

/* Each flag on its own: the record has the tag and checks clean. */
static void test_generate_each_flag_round_trips(void **state)
{
    (void)state;
    static const char *const rua[] = {"mailto:dmarc@example.com", NULL};
    static const char *const ruf[] = {"ruf@example.com", NULL};
    static const char *const cases[] = {
        "p=quarantine", "sp=none", "np=reject", "adkim=s", "aspf=s", "pct=0", "t=y", "psd=n",
        "fo=1", "ruf=mailto:ruf@example.com", "pct=50", "t=n",
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        ms_dmarc_spec s = MS_DMARC_SPEC_INIT;
        s.domain = "example.com";
        s.p = MS_DMARC_POLICY_QUARANTINE;
        s.rua = rua;
        const char *tag = cases[i];
        const char *allowed = NULL;
        if (strcmp(tag, "sp=none") == 0)
            s.sp = MS_DMARC_POLICY_NONE;
        else if (strcmp(tag, "np=reject") == 0)
            s.np = MS_DMARC_POLICY_REJECT;
        else if (strcmp(tag, "adkim=s") == 0)
            s.adkim = MS_DMARC_ALIGN_STRICT;
        else if (strcmp(tag, "aspf=s") == 0)
            s.aspf = MS_DMARC_ALIGN_STRICT;
        else if (strcmp(tag, "pct=0") == 0) {
            s.pct = 0;
            s.testing = 1;
        } else if (strcmp(tag, "pct=50") == 0) {
            s.pct = 50; /* without t: the checker's warning is what was asked for */
            allowed = "dmarc.pct-without-t";
        } else if (strcmp(tag, "t=y") == 0) {
            s.testing = 1;
            allowed = "dmarc.t-without-pct";
        } else if (strcmp(tag, "t=n") == 0)
            s.testing = 0;
        else if (strcmp(tag, "psd=n") == 0)
            s.psd = MS_DMARC_PSD_N;
        else if (strcmp(tag, "fo=1") == 0) {
            s.fo = "1";
            s.ruf = ruf;
        } else if (strcmp(tag, "ruf=mailto:ruf@example.com") == 0)
            s.ruf = ruf;
        ms_diag_list d = MS_DIAG_LIST_INIT;
        char *rec = generate(&s, &d);
        assert_non_null(rec);
        assert_contains(rec, tag);
        assert_int_equal(strncmp(rec, "v=DMARC1; p=quarantine", 22), 0);
        assert_int_equal(ms_diag_count(&d, MS_SEV_ERROR), 0);
        assert_checks_clean(rec, allowed);
        free(rec);
        ms_diag_list_free(&d);
    }
}

static void test_generate_every_policy(void **state)
{
    (void)state;
    static const char *const rua[] = {"dmarc@example.com", NULL};
    for (int p = MS_DMARC_POLICY_NONE; p <= MS_DMARC_POLICY_REJECT; p++)
        for (int sp = MS_DMARC_POLICY_UNSET; sp <= MS_DMARC_POLICY_REJECT; sp++) {
            ms_dmarc_spec s = MS_DMARC_SPEC_INIT;
            s.domain = "example.com";
            s.p = (ms_dmarc_policy)p;
            s.sp = (ms_dmarc_policy)sp;
            s.np = (ms_dmarc_policy)sp;
            s.rua = rua;
            ms_diag_list d = MS_DIAG_LIST_INIT;
            char *rec = generate(&s, &d);
            assert_non_null(rec);
            assert_int_equal(d.count, 0);
            assert_checks_clean(rec, NULL);
            free(rec);
        }
}

static void test_generate_refusals_leave_record_null(void **state)
{
    (void)state;
    ms_dmarc_spec s = MS_DMARC_SPEC_INIT;
    ms_diag_list d = MS_DIAG_LIST_INIT;
    char *rec = (char *)"untouched";
    assert_int_equal(ms_dmarc_generate(&s, &rec, &d), MS_OK);
    assert_null(rec);
    assert_true(ms_diag_has(&d, "dmarc.generate-domain"));
    assert_true(ms_diag_has(&d, "dmarc.generate-policy"));
    for (size_t i = 0; i < d.count; i++)
        assert_int_equal(d.items[i].def->severity, MS_SEV_ERROR);
    ms_diag_list_free(&d);
    assert_int_equal(ms_dmarc_generate(NULL, &rec, &d), MS_ERR_INVALID);
    assert_int_equal(ms_dmarc_generate(&s, NULL, &d), MS_ERR_INVALID);
}

/* ---- zone line ---- */

static void test_zone_line_short(void **state)
{
    (void)state;
    char *line = NULL;
    assert_int_equal(ms_dmarc_zone_line("Example.COM.", "v=DMARC1; p=none", 3600, &line), MS_OK);
    assert_string_equal(line, "_dmarc.example.com. 3600 IN TXT \"v=DMARC1; p=none\"");
    free(line);
    assert_int_equal(ms_dmarc_zone_line("example.com", "a\"b\\c", 300, &line), MS_OK);
    assert_string_equal(line, "_dmarc.example.com. 300 IN TXT \"a\\\"b\\\\c\"");
    free(line);
    assert_int_equal(ms_dmarc_zone_line("exa..mple", "v=DMARC1", 300, &line), MS_ERR_INVALID);
    assert_null(line);
}

/* Undoes the zone-file quoting of one line: the character-strings and
 * their lengths in octets. */
static size_t unquote_strings(const char *line, char *joined, size_t *lengths, size_t max)
{
    size_t n = 0, out = 0;
    const char *p = strchr(line, '"');
    while (p != NULL && *p == '"' && n < max) {
        size_t len = 0;
        for (p++; *p != '"'; p++) {
            assert_true(*p != '\0');
            if (*p == '\\')
                p++;
            joined[out++] = *p;
            len++;
        }
        lengths[n++] = len;
        p++;
        if (*p == ' ')
            p++;
    }
    joined[out] = '\0';
    return n;
}

static void test_zone_line_splits_long_record(void **state)
{
    (void)state;
    static const char *const rua[] = {
        "mailto:dmarc-aggregate-reports-for-the-example-organisation@reports.example.com",
        "mailto:another-very-long-aggregate-report-mailbox-name@reporting-service.example.net",
        NULL};
    static const char *const ruf[] = {
        "mailto:failure-reports-for-the-example-organisation-quite-long@reports.example.com",
        "mailto:yet-another-long-failure-report-mailbox-name-here@reporting-service.example.net",
        NULL};
    ms_dmarc_spec s = MS_DMARC_SPEC_INIT;
    s.domain = "example.com";
    s.p = MS_DMARC_POLICY_REJECT;
    s.sp = MS_DMARC_POLICY_REJECT;
    s.adkim = MS_DMARC_ALIGN_STRICT;
    s.fo = "1:d:s";
    s.rua = rua;
    s.ruf = ruf;
    ms_diag_list d = MS_DIAG_LIST_INIT;
    char *rec = generate(&s, &d);
    assert_non_null(rec);
    assert_true(strlen(rec) > 255);
    char *line = NULL;
    assert_int_equal(ms_dmarc_zone_line("example.com", rec, 3600, &line), MS_OK);
    assert_int_equal(strncmp(line, "_dmarc.example.com. 3600 IN TXT \"", 33), 0);
    char joined[1024];
    size_t lengths[8];
    size_t n = unquote_strings(line, joined, lengths, 8);
    assert_int_equal(n, (strlen(rec) + 254) / 255);
    assert_int_equal(lengths[0], 255);
    for (size_t i = 0; i < n; i++)
        assert_true(lengths[i] <= 255);
    assert_string_equal(joined, rec);
    assert_checks_clean(joined, NULL);
    free(line);
    free(rec);
    ms_diag_list_free(&d);
}

static void test_zone_line_exactly_255(void **state)
{
    (void)state;
    char rec[511];
    memset(rec, 'a', 510);
    rec[510] = '\0';
    char *line = NULL;
    assert_int_equal(ms_dmarc_zone_line("example.com", rec, 60, &line), MS_OK);
    char joined[1024];
    size_t lengths[8];
    assert_int_equal(unquote_strings(line, joined, lengths, 8), 2);
    assert_int_equal(lengths[0], 255);
    assert_int_equal(lengths[1], 255);
    free(line);
}

/* ---- plan ---- */

static void test_plan_steps(void **state)
{
    (void)state;
    static const char *const rua[] = {"mailto:dmarc@example.com", NULL};
    static const char *const names[] = {
        "monitor", "quarantine 1%", "quarantine 5%", "quarantine 10%", "quarantine 25%",
        "quarantine 50%", "quarantine all", "reject 1%", "reject 5%", "reject 10%",
        "reject 25%", "reject 50%", "reject all"};
    static const int pcts[] = {-1, 1, 5, 10, 25, 50, -1, 1, 5, 10, 25, 50, -1};
    ms_dmarc_plan plan;
    ms_diag_list d = MS_DIAG_LIST_INIT;
    ms_dmarc_spec base = MS_DMARC_SPEC_INIT;
    base.domain = "example.com";
    base.rua = rua;
    assert_int_equal(ms_dmarc_plan_make(&base, &plan, &d), MS_OK);
    assert_int_equal(d.count, 0);
    assert_int_equal(plan.count, 13);
    for (size_t i = 0; i < plan.count; i++) {
        const ms_dmarc_plan_step *st = &plan.steps[i];
        assert_string_equal(st->name, names[i]);
        assert_true(st->check_count >= 3);
        assert_non_null(st->rfc7489);
        assert_non_null(st->rfc9989);
        assert_checks_clean(st->record, NULL);

        ms_diag_list cd = MS_DIAG_LIST_INIT;
        ms_dmarc_record *rec = check(st->record, &cd);
        assert_int_equal(rec->pct, pcts[i]);
        assert_int_equal(rec->testing, pcts[i] >= 0 ? 1 : -1);
        assert_int_equal(rec->p, i == 0 ? MS_DMARC_POLICY_NONE
                                 : i <= 6 ? MS_DMARC_POLICY_QUARANTINE
                                          : MS_DMARC_POLICY_REJECT);
        assert_int_equal(rec->rua_count, 1);
        ms_dmarc_record_free(rec);
        ms_diag_list_free(&cd);
    }
    assert_string_equal(plan.steps[4].record,
                        "v=DMARC1; p=quarantine; pct=25; t=y; rua=mailto:dmarc@example.com");
    assert_string_equal(plan.steps[12].record, "v=DMARC1; p=reject; rua=mailto:dmarc@example.com");
    assert_contains(plan.steps[4].rfc7489, "25% of failing mail is quarantined");
    assert_contains(plan.steps[4].rfc9989, "next weaker policy, none");
    assert_contains(plan.steps[9].rfc7489, "the rest gets the next weaker policy and is quarantined");
    assert_contains(plan.steps[9].rfc9989, "quarantine, for all failing mail");
    assert_contains(plan.steps[1].checks[0], "98%");
    assert_contains(plan.steps[1].checks[1], "example.com");
    ms_dmarc_plan_free(&plan);
    assert_int_equal(plan.count, 0);
}

static void test_plan_refuses_without_rua(void **state)
{
    (void)state;
    static const char *const none[] = {NULL};
    ms_dmarc_plan plan;
    ms_diag_list d = MS_DIAG_LIST_INIT;
    ms_dmarc_spec base = MS_DMARC_SPEC_INIT;
    base.domain = "example.com";
    base.rua = none;
    assert_int_equal(ms_dmarc_plan_make(&base, &plan, &d), MS_OK);
    assert_int_equal(plan.count, 0);
    assert_true(ms_diag_has(&d, "dmarc.plan-rua-missing"));
    ms_diag_list_free(&d);
}

static void test_plan_keeps_the_other_tags(void **state)
{
    (void)state;
    static const char *const rua[] = {"mailto:dmarc@example.com", NULL};
    ms_dmarc_plan plan;
    ms_diag_list d = MS_DIAG_LIST_INIT;
    ms_dmarc_spec base = MS_DMARC_SPEC_INIT;
    base.domain = "example.com";
    base.rua = rua;
    base.sp = MS_DMARC_POLICY_REJECT;
    base.np = MS_DMARC_POLICY_REJECT;
    base.adkim = MS_DMARC_ALIGN_STRICT;
    base.aspf = MS_DMARC_ALIGN_STRICT;
    base.p = MS_DMARC_POLICY_REJECT; /* the plan's own p wins */
    base.pct = 77;
    assert_int_equal(ms_dmarc_plan_make(&base, &plan, &d), MS_OK);
    assert_int_equal(plan.count, 13);
    assert_string_equal(plan.steps[0].record, "v=DMARC1; p=none; sp=reject; np=reject; adkim=s; "
                                              "aspf=s; rua=mailto:dmarc@example.com");
    assert_string_equal(plan.steps[3].record,
                        "v=DMARC1; p=quarantine; sp=reject; np=reject; adkim=s; aspf=s; pct=10; "
                        "t=y; rua=mailto:dmarc@example.com");
    ms_dmarc_plan_free(&plan);
    ms_diag_list_free(&d);
}

/* ---- odd input ---- */

static void test_every_byte_value(void **state)
{
    (void)state;
    for (int c = 0; c < 256; c++) {
        char text[] = "v=DMARC1; p=reject; rua=mailto:a@example.com; X=X";
        char *x = strchr(text, 'X');
        *x = (char)c;
        x[2] = (char)c;
        ms_dmarc_record *rec = NULL;
        ms_diag_list d = MS_DIAG_LIST_INIT;
        assert_int_equal(ms_dmarc_check_record(text, sizeof text - 1, NULL, &rec, &d), MS_OK);
        assert_int_equal(rec->p, MS_DMARC_POLICY_REJECT);
        assert_true(d.count >= 1); /* the last tag is always wrong somehow */
        ms_dmarc_explanation ex;
        assert_int_equal(ms_dmarc_explain(rec, "example.com", &ex), MS_OK);
        ms_dmarc_explanation_free(&ex);
        ms_dmarc_record_free(rec);
        ms_diag_list_free(&d);
    }
}

static void test_64k_input(void **state)
{
    (void)state;
    size_t len = 65536;
    char *text = malloc(len);
    memcpy(text, "v=DMARC1; p=reject; ", 20);
    for (size_t i = 20; i < len; i++)
        text[i] = "a=b;"[i % 4];
    ms_dmarc_record *rec = NULL;
    ms_diag_list d = MS_DIAG_LIST_INIT;
    assert_int_equal(ms_dmarc_check_record(text, len, "example.com", &rec, &d), MS_OK);
    assert_true(ms_diag_has(&d, "dmarc.duplicate-tag"));
    assert_true(ms_diag_has(&d, "dmarc.unknown-tag"));
    ms_dmarc_record_free(rec);
    ms_diag_list_free(&d);

    /* A long rua list: every URI is parsed, the count is reported. */
    ms_buf b = MS_BUF_INIT;
    ms_buf_puts(&b, "v=DMARC1; p=none; rua=");
    for (int i = 0; i < 2000; i++)
        ms_buf_printf(&b, "%smailto:r%d@example.com", i ? "," : "", i);
    char *many = ms_buf_take(&b);
    assert_int_equal(ms_dmarc_check_record(many, strlen(many), NULL, &rec, &d), MS_OK);
    assert_int_equal(rec->rua_count, 2000);
    assert_true(ms_diag_has(&d, "dmarc.too-many-uris"));
    ms_dmarc_record_free(rec);
    ms_diag_list_free(&d);
    free(many);
    free(text);
}

static void test_is_record(void **state)
{
    (void)state;
    assert_true(ms_dmarc_is_record("v=DMARC1", 8));
    assert_true(ms_dmarc_is_record("v=DMARC1; p=none", 16));
    assert_true(ms_dmarc_is_record("v = DMARC1 ;", 12));
    assert_false(ms_dmarc_is_record(" v=DMARC1", 9));
    assert_false(ms_dmarc_is_record("v=DMARC10", 9));
    assert_false(ms_dmarc_is_record("v=dmarc1", 8));
    assert_false(ms_dmarc_is_record("v=spf1 -all", 11));
    assert_false(ms_dmarc_is_record("v=DMARC1 p=none", 15));
    assert_false(ms_dmarc_is_record("v=DMARC", 7));
    assert_false(ms_dmarc_is_record(NULL, 0));
    assert_false(ms_dmarc_is_record("", 0));
}

static void test_bad_arguments(void **state)
{
    (void)state;
    ms_dmarc_record *rec = NULL;
    ms_diag_list d = MS_DIAG_LIST_INIT;
    assert_int_equal(ms_dmarc_check_record(NULL, 3, NULL, &rec, &d), MS_ERR_INVALID);
    assert_int_equal(ms_dmarc_check_record("x", 1, NULL, NULL, &d), MS_ERR_INVALID);
    assert_int_equal(ms_dmarc_check_record("x", 1, NULL, &rec, NULL), MS_ERR_INVALID);
    assert_int_equal(ms_dmarc_check_record(NULL, 0, NULL, &rec, &d), MS_OK);
    assert_true(ms_diag_has(&d, "dmarc.empty"));
    ms_dmarc_record_free(rec);
    ms_diag_list_free(&d);
    ms_dmarc_record_free(NULL);
    ms_dmarc_explanation_free(NULL);
    ms_dmarc_plan_free(NULL);
    assert_string_equal(ms_dmarc_policy_str(MS_DMARC_POLICY_QUARANTINE), "quarantine");
    assert_string_equal(ms_dmarc_policy_str(MS_DMARC_POLICY_UNSET), "");
}

static void test_location_names_the_record(void **state)
{
    (void)state;
    ms_dmarc_record *rec = NULL;
    ms_diag_list d = MS_DIAG_LIST_INIT;
    assert_int_equal(ms_dmarc_check_record("v=DMARC1; p=none", 16, "example.com.", &rec, &d),
                     MS_OK);
    assert_true(d.count > 0);
    for (size_t i = 0; i < d.count; i++)
        assert_string_equal(d.items[i].location, "_dmarc.example.com");
    ms_dmarc_record_free(rec);
    ms_diag_list_free(&d);
    assert_int_equal(ms_dmarc_check_record("v=DMARC1; p=none", 16, NULL, &rec, &d), MS_OK);
    for (size_t i = 0; i < d.count; i++)
        assert_null(d.items[i].location);
    ms_dmarc_record_free(rec);
    ms_diag_list_free(&d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_explain_reject_defaults),
        cmocka_unit_test(test_explain_subdomain_policies),
        cmocka_unit_test(test_explain_np_inherits_sp),
        cmocka_unit_test(test_explain_testing_and_pct),
        cmocka_unit_test(test_explain_p_missing_with_rua),
        cmocka_unit_test(test_explain_unusable),
        cmocka_unit_test(test_explain_without_domain),
        cmocka_unit_test(test_generate_each_flag_round_trips),
        cmocka_unit_test(test_generate_every_policy),
        cmocka_unit_test(test_generate_refusals_leave_record_null),
        cmocka_unit_test(test_zone_line_short),
        cmocka_unit_test(test_zone_line_splits_long_record),
        cmocka_unit_test(test_zone_line_exactly_255),
        cmocka_unit_test(test_plan_steps),
        cmocka_unit_test(test_plan_refuses_without_rua),
        cmocka_unit_test(test_plan_keeps_the_other_tags),
        cmocka_unit_test(test_every_byte_value),
        cmocka_unit_test(test_64k_input),
        cmocka_unit_test(test_is_record),
        cmocka_unit_test(test_bad_arguments),
        cmocka_unit_test(test_location_names_the_record),
    };
    return cmocka_run_group_tests_name("dmarc-tools", tests, NULL, NULL);
}
