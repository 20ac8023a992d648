/* Extreme values through the store: shared by the fuzz harness
 * (tests/fuzz/fuzz_store.c, SQLite) and unit-store (both backends, the
 * PostgreSQL one against the real server).
 *
 * A script of bytes picks, for each report, its kind and every number and
 * string from tables of extremes: counts 0, 1, the bound, the bound + 1,
 * 2^63 - 1, 2^63, 2^64 - 1; dates 0, -1, the int64 ends, year 10000; strings
 * absent, empty, short, long (64 KiB), or bytes of the script itself. Each
 * write must succeed, or fail as the report's fault (never the store's),
 * and must fail when a count is beyond MS_REPORT_COUNT_MAX. Then every read
 * view must answer MS_OK, and no total may have wrapped.
 *
 * extremes_run returns NULL when all held, else what failed (static text). */
#ifndef MAILSEC_TESTS_STORE_EXTREMES_H
#define MAILSEC_TESTS_STORE_EXTREMES_H

#include "mailsec/store.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct extremes_script {
    const uint8_t *p;
    size_t left;
    char *strings[256]; /* the strings made for this run, freed at its end */
    size_t string_count;
} extremes_script;

static uint8_t extremes_byte(extremes_script *s)
{
    if (s->left == 0)
        return 0;
    s->left--;
    return *s->p++;
}

static const uint64_t extremes_counts[] = {
    0, 1, MS_REPORT_COUNT_MAX, MS_REPORT_COUNT_MAX + 1, (uint64_t)INT64_MAX, (uint64_t)INT64_MAX + 1,
    UINT64_MAX, 1000,
};
enum { EXTREMES_COUNTS = sizeof extremes_counts / sizeof extremes_counts[0] };

static const int64_t extremes_dates[] = {0, -1, INT64_MIN, INT64_MAX, 253402300800, 1767225600};
enum { EXTREMES_DATES = sizeof extremes_dates / sizeof extremes_dates[0] };

static uint64_t extremes_count(extremes_script *s, int *beyond)
{
    uint64_t v = extremes_counts[extremes_byte(s) % EXTREMES_COUNTS];
    *beyond |= v > MS_REPORT_COUNT_MAX;
    return v;
}

static int64_t extremes_date(extremes_script *s)
{
    return extremes_dates[extremes_byte(s) % EXTREMES_DATES];
}

/* NULL, "", a short name, 64 KiB of letters, or up to 32 bytes of the
 * script (any bytes but NUL). */
static char *extremes_string(extremes_script *s)
{
    uint8_t pick = extremes_byte(s) % 5;
    if (pick == 0 || s->string_count == sizeof s->strings / sizeof s->strings[0])
        return NULL;
    size_t len = pick == 1 ? 0 : pick == 2 ? 11 : pick == 3 ? 65536 : extremes_byte(s) % 33;
    char *text = malloc(len + 1);
    if (text == NULL)
        return NULL;
    for (size_t i = 0; i < len; i++) {
        uint8_t b = pick == 4 ? extremes_byte(s) : (uint8_t)('a' + i % 26);
        text[i] = (char)(b ? b : 'z');
    }
    text[len] = '\0';
    s->strings[s->string_count++] = text;
    return text;
}

/* A write's status: MS_OK, or the report's fault; beyond: it had to fail. */
static const char *extremes_check(ms_status st, int beyond)
{
    if (st != MS_OK && !ms_store_report_fault(st))
        return "a write failed as the store's fault";
    if (beyond && st == MS_OK)
        return "a count beyond MS_REPORT_COUNT_MAX was stored";
    return NULL;
}

static const char *extremes_aggregate(ms_store *store, extremes_script *s, unsigned n)
{
    char id[32];
    snprintf(id, sizeof id, "agg-%u", n);
    ms_report_agg_meta m = {.schema = MS_REPORT_AGG_SCHEMA_RFC7489, .org_name = extremes_string(s), .report_id = id,
                     .email = extremes_string(s), .domain = extremes_string(s),
                     .begin = extremes_date(s), .end = extremes_date(s), .p = "none"};
    int dup = 0, beyond = 0;
    ms_status st = ms_store_agg_begin(store, &m, NULL, &dup);
    if (st != MS_OK || dup)
        return extremes_check(st, 0);
    static ms_report_agg_record r; /* large: not on the stack */
    unsigned records = extremes_byte(s) % 4;
    for (unsigned i = 0; i < records && st == MS_OK; i++) {
        memset(&r, 0, sizeof r);
        r.source_ip = extremes_string(s);
        r.count = extremes_count(s, &beyond);
        r.disposition = extremes_string(s);
        r.dkim = extremes_byte(s) & 1 ? "pass" : "fail";
        r.spf = extremes_byte(s) & 1 ? "pass" : "fail";
        r.header_from = extremes_string(s);
        r.dkim_results[0] = (ms_report_agg_auth){.domain = extremes_string(s), .result = "pass"};
        r.dkim_count = extremes_byte(s) & 1;
        st = ms_store_agg_record(store, &r);
    }
    if (st == MS_OK)
        st = ms_store_agg_digest(store, extremes_string(s), NULL, NULL);
    if (st == MS_OK)
        st = ms_store_commit(store);
    else
        ms_store_rollback(store);
    return extremes_check(st, beyond);
}

static const char *extremes_tls(ms_store *store, extremes_script *s, unsigned n)
{
    char id[32];
    snprintf(id, sizeof id, "tls-%u", n);
    int beyond = 0, dup = 0;
    ms_report_tlsrpt_failure f = {.result_type = extremes_string(s), .receiving_mx_hostname = extremes_string(s)};
    f.failed_session_count = extremes_count(s, &beyond);
    ms_report_tlsrpt_policy pol[2];
    for (int i = 0; i < 2; i++) {
        pol[i] = (ms_report_tlsrpt_policy){.policy_type = "sts", .policy_domain = extremes_string(s),
                                    .failures = &f, .failure_count = i};
        pol[i].successful = extremes_count(s, &beyond);
        pol[i].failed = extremes_count(s, &beyond);
    }
    ms_report_tlsrpt r = {.org_name = extremes_string(s), .report_id = id, .begin = extremes_date(s),
                          .end = extremes_date(s), .policies = pol, .policy_count = 2};
    return extremes_check(ms_store_put_tlsrpt(store, &r, NULL, NULL, 0, &dup), beyond);
}

static const char *extremes_failure(ms_store *store, extremes_script *s, unsigned n)
{
    char key[32];
    snprintf(key, sizeof key, "<failure-%u@fuzz>", n);
    int beyond = 0, dup = 0;
    ms_report_failure f = {.reported_domain = extremes_string(s), .source_ip = extremes_string(s),
                           .auth_failure = extremes_string(s), .reporting_mta = extremes_string(s)};
    f.arrival_time = extremes_date(s);
    f.incidents = extremes_count(s, &beyond);
    return extremes_check(ms_store_put_failure(store, &f, key, NULL, NULL, 0, &dup), beyond);
}

static int extremes_export_row(void *arg, const ms_store_report_row *report, const ms_store_record *record)
{
    (void)report;
    int *wrapped = arg;
    *wrapped |= record->count > MS_REPORT_COUNT_MAX;
    return 0;
}

static int extremes_each_source(void *arg, const ms_store_source *source)
{
    int *wrapped = arg;
    *wrapped |= source->messages > (uint64_t)INT64_MAX;
    return 0;
}

/* Every view over everything stored; NULL when all answered and nothing wrapped. */
static const char *extremes_views(ms_store *store)
{
    ms_store_filter all = {0};
    const char *why = NULL;
    ms_store_domain_summary *sum = NULL;
    size_t n = 0;
    if (ms_store_summary(store, &all, &sum, &n) != MS_OK)
        why = "summary failed";
    ms_store_summary_free(sum, n);
    ms_store_report_row *rows = NULL;
    n = 0;
    if (ms_store_list(store, &all, &rows, &n) != MS_OK)
        why = "list failed";
    for (size_t i = 0; i < n; i++)
        if (rows[i].messages > (uint64_t)INT64_MAX)
            why = "list: a report's messages wrapped";
    ms_store_list_free(rows, n);
    ms_store_source *src = NULL;
    n = 0;
    if (ms_store_sources(store, &all, NULL, NULL, &src, &n) != MS_OK)
        why = "sources failed";
    ms_store_sources_free(src, n);
    int each_wrapped = 0;
    if (ms_store_sources_each(store, &all, extremes_each_source, &each_wrapped) != MS_OK)
        why = "sources (each) failed";
    if (each_wrapped)
        why = "sources (each): a source's messages wrapped";
    ms_store_tls_summary tls = {0};
    if (ms_store_tls_summary_get(store, &all, &tls) != MS_OK)
        why = "tls failed";
    ms_store_tls_summary_free(&tls);
    ms_store_failure_row *fr = NULL;
    n = 0;
    if (ms_store_failure_summary(store, &all, &fr, &n) != MS_OK)
        why = "failures failed";
    ms_store_failure_summary_free(fr, n);
    int wrapped = 0;
    if (ms_store_export(store, &all, extremes_export_row, &wrapped) != MS_OK)
        why = "export failed";
    if (wrapped)
        why = "export: a record's count beyond the bound";
    return why;
}

static const char *extremes_run(ms_store *store, const uint8_t *data, size_t size)
{
    extremes_script s = {.p = data, .left = size};
    const char *why = NULL;
    for (unsigned n = 0; why == NULL && s.left > 0 && n < 64; n++) {
        switch (extremes_byte(&s) % 3) {
        case 0: why = extremes_aggregate(store, &s, n); break;
        case 1: why = extremes_tls(store, &s, n); break;
        default: why = extremes_failure(store, &s, n); break;
        }
    }
    if (why == NULL && ms_store_sync(store) != MS_OK)
        why = "sync failed";
    if (why == NULL)
        why = extremes_views(store);
    for (size_t i = 0; i < s.string_count; i++)
        free(s.strings[i]);
    return why;
}

#endif
