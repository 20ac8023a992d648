/* The PostgreSQL backend's pipelined write path (lib/store/pgsql.c), against
 * the real server of the store_pgsql fixture (tests/lib/pgsql.sh):
 *
 *   fields        every column of a record survives the binary row format:
 *                 NULLs, tabs, newlines, backslashes, quotes, UTF-8, the
 *                 joined reasons and extra auth results, large counts
 *   failure       a record the server refuses (bytes that are not UTF-8) is
 *                 queued, not waited for: the commit fails with the
 *                 server's message, that report alone is rolled back, the
 *                 reports around it are kept and it can be stored later;
 *                 the same for the IMAP mark's INSERT, queued before its
 *                 COMMIT: the connection is usable after
 *   big report    more records than one batch (MS_STORE_PG_BATCH_BYTES) and
 *                 more raw chunks than the pipeline holds unsettled
 *                 (PG_PIPELINE_MAX): every row once, in order
 *   read after    statements after a stopped streamed export (libpq keeps
 *                 single-row mode set for the next pipeline)
 */
#include "mailsec/store.h"

#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "unit/check.h"
#include "unit/pgtest.h"
#include "unit/testutil.h"

/* Past the backend's batch of 1 MiB and its 64 unsettled statements. */
enum { BIG_RECORDS = 20000, BIG_RAW_CHUNKS = 150 };

static const char *base_url;
static int db_counter;
static const ms_report_origin origin = {.path = "test", .file = "test"};

/* The fixture's URL, from the info file MAILSEC_STORE_PG_INFO names. */
static char *fixture_url(void)
{
    char url[1024];
    return bed_info_get("MAILSEC_STORE_PG_INFO", "URL", url, sizeof url) ? strdup(url) : NULL;
}

/* Our own connection's text of one value (caller frees), NULL on error. */
static char *sql_text(const char *url, const char *sql)
{
    PGconn *c = PQconnectdb(url);
    PGresult *r = PQexec(c, sql);
    char *v = NULL;
    if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1)
        v = strdup(PQgetisnull(r, 0, 0) ? "(null)" : PQgetvalue(r, 0, 0));
    else
        printf("note: %s: %s", sql, PQerrorMessage(c));
    PQclear(r);
    PQfinish(c);
    return v;
}

static long long sql_number(const char *url, const char *sql)
{
    char *v = sql_text(url, sql);
    long long n = v ? strtoll(v, NULL, 10) : -1;
    free(v);
    return n;
}

/* A new empty database on the fixture's server (malloc'd URL). */
static char *new_db(void)
{
    return pg_new_database(base_url, "pipeline_test", ++db_counter);
}

static ms_store *open_or_die(const char *url)
{
    ms_store *s;
    char *err;
    if (ms_store_open(url, &s, &err) != MS_OK) {
        printf("FATAL open %s: %s\n", url, err);
        exit(1);
    }
    return s;
}

static ms_report_agg_meta meta(const char *id)
{
    ms_report_agg_meta m = {.schema = MS_REPORT_AGG_SCHEMA_RFC7489, .version = "1.0", .org_name = "pipeline.example",
                     .report_id = id, .begin = 1700000000, .end = 1700086399,
                     .domain = "example.com", .p = "none"};
    return m;
}

static ms_report_agg_record plain_record(const char *ip)
{
    ms_report_agg_record r = {.source_ip = ip, .count = 2, .disposition = "none", .dkim = "pass",
                       .spf = "fail", .header_from = "example.com"};
    return r;
}

/* Stores one report of n copies of rec; returns the commit's status. */
static ms_status store_report(ms_store *s, const char *id, const ms_report_agg_record *rec, int n)
{
    ms_report_agg_meta m = meta(id);
    int dup = -1;
    ms_status st = ms_store_agg_begin(s, &m, &origin, &dup);
    if (st != MS_OK || dup)
        return st != MS_OK ? st : MS_ERR_INVALID;
    for (int i = 0; i < n && st == MS_OK; i++)
        st = ms_store_agg_record(s, rec);
    if (st == MS_OK)
        st = ms_store_raw_append(s, "gz", 2);
    if (st != MS_OK) {
        ms_store_rollback(s);
        return st;
    }
    return ms_store_commit(s);
}

static void test_fields(void)
{
    char *url = new_db();
    ms_store *s = open_or_die(url);
    ms_report_agg_record r = {.source_ip = "2001:db8::1", .count = 4000000000ULL,
                       .disposition = "quarantine", .dkim = "fail", .spf = "pass",
                       .envelope_to = "to\tb\\ack", .envelope_from = NULL,
                       .header_from = "quo'te\"d.example"};
    r.reasons[r.reason_count++] = (ms_report_agg_reason){.type = "forwarded", .comment = "line\nbreak"};
    r.reasons[r.reason_count++] = (ms_report_agg_reason){.type = "local_policy", .comment = NULL};
    r.dkim_results[r.dkim_count++] = (ms_report_agg_auth){.domain = "b\xc3\xa4r.example", .selector = "s1",
                                                   .result = "fail", .human_result = "bad sig"};
    r.dkim_results[r.dkim_count++] = (ms_report_agg_auth){.domain = "esp.example", .selector = "s2",
                                                   .result = "pass"};
    r.spf_results[r.spf_count++] = (ms_report_agg_auth){.domain = "example.com", .scope = "mfrom",
                                                 .result = "pass"};
    CHECK(store_report(s, "fields", &r, 1) == MS_OK, "fields: %s", ms_store_error(s));
    char *row = sql_text(url, "SELECT concat_ws('|', report = (SELECT id FROM reports), seq, source_ip,"
                              " count, disposition, dkim, spf, reasons, reason_comments,"
                              " envelope_to, coalesce(envelope_from, 'NULL'), header_from,"
                              " dkim_domain, dkim_selector, dkim_result, dkim_human, spf_domain,"
                              " spf_scope, spf_result, coalesce(spf_human, 'NULL'), dkim_pass,"
                              " spf_pass, auth_more) FROM agg_records");
    CHECK_STR(row, "t|0|2001:db8::1|4000000000|quarantine|fail|pass|forwarded,local_policy|"
                   "line\nbreak\n|to\tb\\ack|NULL|quo'te\"d.example|b\xc3\xa4r.example|s1|fail|"
                   "bad sig|example.com|mfrom|pass|NULL|1|1|dkim\tesp.example\ts2\tpass\t");
    free(row);
    CHECK_NUM(sql_number(url, "SELECT messages FROM reports"), 4000000000LL);
    CHECK_NUM(sql_number(url, "SELECT records FROM reports"), 1);
    ms_store_close(s);
    free(url);
}

static void test_failure(void)
{
    char *url = new_db();
    ms_store *s = open_or_die(url);
    ms_report_agg_record good = plain_record("192.0.2.1");
    ms_report_agg_record bad = plain_record("192.0.2.\xff"); /* not UTF-8: the server refuses it */
    CHECK(store_report(s, "a", &good, 3) == MS_OK, "a: %s", ms_store_error(s));
    ms_status st = store_report(s, "b", &bad, 3);
    /* the report's data, not the store, failed: set that report aside, go on */
    CHECK(ms_store_report_fault(st), "b: got status %d (%s), want the report's fault", (int)st,
          ms_store_error(s));
    CHECK(strstr(ms_store_error(s), "invalid byte sequence") != NULL,
          "b: the server's message: \"%s\"", ms_store_error(s));
    /* a queued INSERT failing before a COMMIT outside a report (the IMAP
     * mark) leaves no dead transaction behind */
    CHECK(ms_store_report_fault(ms_store_imap_mark(s, "imaps://h/INBOX\xff", 1, 1)), "imap mark of bad UTF-8");
    CHECK(strstr(ms_store_error(s), "invalid byte sequence") != NULL,
          "imap mark: the server's message: \"%s\"", ms_store_error(s));
    CHECK(store_report(s, "c", &good, 3) == MS_OK, "c: %s", ms_store_error(s));
    CHECK_NUM(sql_number(url, "SELECT COUNT(*) FROM reports"), 2);
    CHECK_NUM(sql_number(url, "SELECT COUNT(*) FROM agg_records"), 6);
    CHECK_NUM(sql_number(url, "SELECT COUNT(*) FROM raw"), 2);
    CHECK_NUM(sql_number(url, "SELECT COUNT(*) FROM reports WHERE report_id = 'b'"), 0);
    /* b was rolled back, not half stored: it is new the next time */
    CHECK(store_report(s, "b", &good, 2) == MS_OK, "b again: %s", ms_store_error(s));
    CHECK_NUM(sql_number(url, "SELECT records FROM reports WHERE report_id = 'b'"), 2);
    ms_store_close(s);
    free(url);
}

static int collect_raw(void *arg, const void *gz, size_t len)
{
    (void)gz;
    size_t *total = arg;
    *total += len;
    return 0;
}

static void test_big_report(void)
{
    char *url = new_db();
    ms_store *s = open_or_die(url);
    char from[200];
    memset(from, 'f', sizeof from - 1);
    from[sizeof from - 1] = '\0';
    ms_report_agg_record r = plain_record("198.51.100.7");
    r.envelope_from = from; /* about 300 bytes a record: several batches */
    ms_report_agg_meta m = meta("big");
    int dup = -1;
    CHECK(ms_store_agg_begin(s, &m, &origin, &dup) == MS_OK && !dup, "begin: %s", ms_store_error(s));
    char chunk[1000];
    memset(chunk, 'z', sizeof chunk);
    for (int i = 0; i < BIG_RECORDS; i++) {
        CHECK(ms_store_agg_record(s, &r) == MS_OK, "record %d: %s", i, ms_store_error(s));
        if (i % (BIG_RECORDS / BIG_RAW_CHUNKS) == 0)
            CHECK(ms_store_raw_append(s, chunk, sizeof chunk) == MS_OK, "raw: %s", ms_store_error(s));
    }
    CHECK(ms_store_commit(s) == MS_OK, "commit: %s", ms_store_error(s));
    CHECK_NUM(sql_number(url, "SELECT COUNT(*) FROM agg_records"), BIG_RECORDS);
    CHECK_NUM(sql_number(url, "SELECT COUNT(DISTINCT seq) FROM agg_records"), BIG_RECORDS);
    CHECK_NUM(sql_number(url, "SELECT MAX(seq) FROM agg_records"), BIG_RECORDS - 1);
    CHECK_NUM(sql_number(url, "SELECT messages FROM reports"), 2LL * BIG_RECORDS);
    long long chunks = sql_number(url, "SELECT COUNT(*) FROM raw");
    CHECK(chunks >= BIG_RAW_CHUNKS, "raw chunks: %lld", chunks);
    CHECK_NUM(sql_number(url, "SELECT MAX(seq) + 1 FROM raw"), chunks);
    size_t total = 0;
    CHECK(ms_store_raw_read(s, sql_number(url, "SELECT id FROM reports"), collect_raw, &total) == MS_OK,
          "raw_read: %s", ms_store_error(s));
    CHECK_NUM(total, chunks * (long long)sizeof chunk);
    ms_store_close(s);
    free(url);
}

static int stop_at_first(void *arg, const ms_store_report_row *rep, const ms_store_record *rec)
{
    (void)rep;
    (void)rec;
    return ++*(int *)arg >= 1;
}

static void test_read_after_stream(void)
{
    char *url = new_db();
    ms_store *s = open_or_die(url);
    ms_report_agg_record r = plain_record("192.0.2.9");
    CHECK(store_report(s, "x", &r, 5) == MS_OK, "x: %s", ms_store_error(s));
    int calls = 0;
    CHECK(ms_store_export(s, NULL, stop_at_first, &calls) == MS_OK, "export: %s", ms_store_error(s));
    ms_store_report_row *rows;
    size_t n = 0;
    CHECK(ms_store_list(s, NULL, &rows, &n) == MS_OK && n == 1, "list: %s", ms_store_error(s));
    if (n)
        ms_store_list_free(rows, n);
    CHECK(store_report(s, "y", &r, 5) == MS_OK, "y after the export: %s", ms_store_error(s));
    CHECK_NUM(sql_number(url, "SELECT COUNT(*) FROM agg_records"), 10);
    ms_store_close(s);
    free(url);
}

int main(void)
{
    base_url = fixture_url();
    if (base_url == NULL) {
        printf("FATAL: no PostgreSQL (MAILSEC_STORE_PG_INFO names the store_pgsql fixture's file)\n");
        return 1;
    }
    static const check_test tests[] = {
        {"fields", test_fields},
        {"failure", test_failure},
        {"big report", test_big_report},
        {"read after a stopped export", test_read_after_stream},
    };
    run_checks(tests, sizeof tests / sizeof tests[0]);
    printf("%d failure(s)\n", failures);
    return failures ? 1 : 0;
}
