/* ms_dmarc_advise on plain facts: the decisions at their edges (the
 * threshold exactly met, a pct between steps, a policy published again
 * after a change, strict alignment). The roll-out stories over real stores
 * and the DNS test bed are tests/advise/advise.sh. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "core/internal.h"
#include "mailsec/dmarc.h"

#define DAY 86400
#define NOW ((int64_t)1780000000)

static char *own_dkim[] = {"example.com"};
static char *own_spf[] = {"example.com"};

/* A source: aligned, unaligned and failing messages, and its auth domains. */
static ms_store_source source(const char *ip, uint64_t aligned, uint64_t unaligned, uint64_t failing)
{
    ms_store_source s = {0};
    s.source_ip = (char *)ip;
    s.messages = aligned + unaligned + failing;
    s.aligned = aligned;
    s.unaligned = unaligned;
    s.failing = failing;
    s.dkim_domains = own_dkim;
    s.dkim_domain_count = 1;
    s.spf_domains = own_spf;
    s.spf_domain_count = 1;
    return s;
}

static ms_store_count reporters[] = {{"google.com", 1000}, {"Yahoo", 500}};

typedef struct story {
    ms_dmarc_record *rec;
    ms_diag_list findings;
    ms_dmarc_advise_facts f;
    ms_dmarc_tally sources;
    ms_dmarc_advice a;
} story;

/* The facts of example.com publishing text, with these sources and a
 * month of reports under that one policy. */
static void judge(story *s, const char *text, ms_store_source *sources, size_t n,
                  const ms_dmarc_policy_seen *history, size_t history_count, double threshold)
{
    s->findings = (ms_diag_list)MS_DIAG_LIST_INIT;
    s->rec = NULL;
    if (text != NULL)
        assert_int_equal(ms_dmarc_check_record(text, strlen(text), "example.com", &s->rec, &s->findings),
                         MS_OK);
    s->f = (ms_dmarc_advise_facts){0};
    s->f.domain = "example.com";
    s->f.now = NOW;
    s->f.window_start = NOW - 14 * DAY;
    s->f.record = s->rec;
    s->f.record_findings = &s->findings;
    s->f.history = history;
    s->f.history_count = history_count;
    s->f.reporters = reporters;
    s->f.reporter_count = 2;
    ms_dmarc_advise_options o;
    ms_dmarc_advise_defaults(&o);
    o.threshold = threshold;
    ms_dmarc_tally_init(&s->sources, s->f.domain, &o);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(ms_dmarc_tally_add(&s->sources, &sources[i]), MS_OK);
    s->f.sources = &s->sources;
    assert_int_equal(ms_dmarc_advise(&s->f, &o, &s->a), MS_OK);
}

static void done(story *s)
{
    ms_dmarc_tally_free(&s->sources);
    ms_dmarc_advice_free(&s->a);
    ms_dmarc_record_free(s->rec);
    ms_diag_list_free(&s->findings);
}

static const ms_dmarc_criterion *criterion(const story *s, const char *name)
{
    for (size_t i = 0; i < s->a.criterion_count; i++)
        if (strcmp(s->a.criteria[i].name, name) == 0)
            return &s->a.criteria[i];
    fail_msg("no criterion %s", name);
    return NULL;
}

static const ms_dmarc_policy_seen MONTH_OF_NONE[] = {
    {MS_DMARC_POLICY_NONE, MS_DMARC_POLICY_UNSET, MS_DMARC_POLICY_UNSET, -1, -1, NOW - 30 * DAY, NOW - DAY, 90},
};

/* 98.00% exactly meets the default threshold; 97.99% does not. */
static void test_threshold_edge(void **state)
{
    (void)state;
    story s;
    ms_store_source at[] = {source("192.0.2.1", 9800, 0, 200)};
    judge(&s, "v=DMARC1; p=none; rua=mailto:d@example.com", at, 1, MONTH_OF_NONE, 1, 98.0);
    assert_true(criterion(&s, "pass-rate")->met);
    assert_int_equal(criterion(&s, "pass-rate")->value, 9800);
    assert_int_equal(s.a.action, MS_DMARC_ADVISE_NEXT);
    assert_string_equal(s.a.next_record, "v=DMARC1; p=quarantine; pct=1; t=y; rua=mailto:d@example.com");
    done(&s);

    ms_store_source below[] = {source("192.0.2.1", 9799, 0, 201)};
    judge(&s, "v=DMARC1; p=none; rua=mailto:d@example.com", below, 1, MONTH_OF_NONE, 1, 98.0);
    assert_false(criterion(&s, "pass-rate")->met);
    assert_int_equal(s.a.action, MS_DMARC_ADVISE_HOLD);
    assert_null(s.a.next_record);
    assert_int_equal(s.a.blocker_count, 1); /* its failing share is above 2% */
    done(&s);
}

/* pct=30 is no step: treated as quarantine 25%, and the plan's record for
 * that step is proposed. */
static void test_pct_between_steps(void **state)
{
    (void)state;
    story s;
    ms_store_source clean[] = {source("192.0.2.1", 5000, 0, 0)};
    judge(&s, "v=DMARC1; p=quarantine; pct=30; t=y; rua=mailto:d@example.com", clean, 1, NULL, 0, 98.0);
    assert_int_equal(s.a.step, 4);
    assert_string_equal(s.a.step_name, "quarantine 25%");
    assert_true(ms_diag_has(&s.a.departures, "dmarc.advise-off-plan"));
    assert_int_equal(s.a.action, MS_DMARC_ADVISE_HOLD);
    assert_string_equal(s.a.next_record, "v=DMARC1; p=quarantine; pct=25; t=y; rua=mailto:d@example.com");
    done(&s);
}

/* p=reject after only p=none in the reports: the quarantine steps were
 * skipped. Without any report, nothing is said about it. */
static void test_skipped_quarantine(void **state)
{
    (void)state;
    story s;
    ms_store_source clean[] = {source("192.0.2.1", 5000, 0, 0)};
    judge(&s, "v=DMARC1; p=reject; rua=mailto:d@example.com", clean, 1, MONTH_OF_NONE, 1, 98.0);
    assert_true(ms_diag_has(&s.a.departures, "dmarc.advise-skipped-quarantine"));
    assert_int_equal(s.a.step, 12);
    assert_int_equal(s.a.action, MS_DMARC_ADVISE_HOLD);
    done(&s);
    judge(&s, "v=DMARC1; p=reject; rua=mailto:d@example.com", clean, 1, NULL, 0, 98.0);
    assert_false(ms_diag_has(&s.a.departures, "dmarc.advise-skipped-quarantine"));
    done(&s);
}

/* Back at quarantine 10% after a spell at 25%: the history has one row
 * for 10% spanning both periods; the step began when 25% was last seen. */
static void test_since_after_going_back(void **state)
{
    (void)state;
    const ms_dmarc_policy_seen history[] = {
        {MS_DMARC_POLICY_QUARANTINE, MS_DMARC_POLICY_UNSET, MS_DMARC_POLICY_UNSET, 10, 1, NOW - 40 * DAY, NOW - DAY, 30},
        {MS_DMARC_POLICY_QUARANTINE, MS_DMARC_POLICY_UNSET, MS_DMARC_POLICY_UNSET, 25, 1, NOW - 20 * DAY, NOW - 9 * DAY, 10},
    };
    ms_dmarc_record *rec = NULL;
    ms_diag_list d = MS_DIAG_LIST_INIT;
    const char *text = "v=DMARC1; p=quarantine; pct=10; t=y; rua=mailto:d@example.com";
    assert_int_equal(ms_dmarc_check_record(text, strlen(text), "example.com", &rec, &d), MS_OK);
    assert_int_equal(ms_dmarc_step_since(rec, history, 2), NOW - 9 * DAY);
    assert_int_equal(ms_dmarc_step_since(rec, history + 1, 1), 0); /* no report saw it */
    ms_dmarc_record_free(rec);
    ms_diag_list_free(&d);
}

/* Strict alignment: a signature by a subdomain is named as what relaxed
 * alignment would fix; another domain's needs signing with the domain. */
static void test_fix_names_alignment(void **state)
{
    (void)state;
    story s;
    static char *sub[] = {"mail.example.com"};
    static char *other[] = {"esp.example"};
    ms_store_source src[] = {source("192.0.2.1", 5000, 0, 0), source("192.0.2.2", 0, 300, 0),
                             source("192.0.2.3", 0, 200, 0)};
    src[1].dkim_domains = sub;
    src[1].spf_domain_count = 0;
    src[2].dkim_domains = other;
    src[2].spf_domain_count = 0;
    judge(&s, "v=DMARC1; p=none; adkim=s; rua=mailto:d@example.com", src, 3, MONTH_OF_NONE, 1, 98.0);
    assert_int_equal(s.a.blocker_count, 2);
    assert_string_equal(s.a.blockers[0].source_ip, "192.0.2.2");
    assert_non_null(strstr(s.a.blockers[0].fix, "adkim=r (relaxed alignment) aligns it"));
    assert_non_null(strstr(s.a.blockers[1].fix, "DKIM signs with d=esp.example: sign with d=example.com"));
    assert_int_equal(s.a.action, MS_DMARC_ADVISE_HOLD);
    done(&s);
}

/* No record: start with the plan; nothing else is judged. */
static void test_no_record(void **state)
{
    (void)state;
    story s;
    judge(&s, NULL, NULL, 0, NULL, 0, 98.0);
    assert_int_equal(s.a.action, MS_DMARC_ADVISE_START);
    assert_int_equal(s.a.step, -1);
    assert_int_equal(s.a.criterion_count, 0);
    assert_string_equal(ms_dmarc_advise_action_str(s.a.action), "start");
    done(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_threshold_edge),
        cmocka_unit_test(test_pct_between_steps),
        cmocka_unit_test(test_skipped_quarantine),
        cmocka_unit_test(test_since_after_going_back),
        cmocka_unit_test(test_fix_names_alignment),
        cmocka_unit_test(test_no_record),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
