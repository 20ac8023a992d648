/* The report store against a real database: SQLite by default, the
 * PostgreSQL of tests/lib/pgsql.sh when MAILSEC_STORE_PG_INFO names its
 * info file. The same checks run on both:
 *   - migrations from empty, re-open, a database newer than we know;
 *   - exactly once (aggregate, TLS, failure reports), rollback, raw chunks;
 *   - concurrent ingest: N processes storing the same 200 reports;
 *   - a process killed in the middle of a report's transaction;
 *   - the read queries, expected numbers worked out by hand from the
 *     reports built below (see the comments next to them).
 * Reports are built by hand as the parsers would hand them over. Row
 * counts are checked with SQL of our own (sqlite3 / libpq directly), not
 * through the store. */
#define _GNU_SOURCE /* pthread_setattr_default_np */
#include "mailsec/store.h"
#include "store/internal.h" /* test_group_time sets how long the last commit took */

#include <pthread.h>

#include <libpq-fe.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "unit/check.h"
#include "unit/pgtest.h"
#include "unit/testutil.h"
#include "store_extremes.h"

/* ---- Databases: a fresh one per test --------------------------------- */

static const char *pg_base;   /* the fixture's URL, or NULL for SQLite */
static char tmpdir[] = "/tmp/mailsec-store-test.XXXXXX";
static int db_counter;

/* Reads URL= from the fixture's info file. */
static char *pg_url_from_info(void)
{
    char url[1024];
    return bed_info_get("MAILSEC_STORE_PG_INFO", "URL", url, sizeof url) ? strdup(url) : NULL;
}

/* A new empty database's URL (malloc'd). */
static char *new_db(void)
{
    db_counter++;
    if (pg_base)
        return pg_new_database(pg_base, "store_test", db_counter);
    char *url = malloc(1200);
    snprintf(url, 1200, "sqlite:%s/test%d.db", tmpdir, db_counter);
    return url;
}

/* One number from our own SQL on the database at url. */
static long long sql_number(const char *url, const char *sql)
{
    long long v = -1;
    if (pg_base) {
        PGconn *c = PQconnectdb(url);
        PGresult *r = PQexec(c, sql);
        if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1)
            v = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
        else
            printf("note: %s: %s", sql, PQerrorMessage(c));
        PQclear(r);
        PQfinish(c);
    } else {
        sqlite3 *db;
        sqlite3_stmt *st;
        if (sqlite3_open(url + 7, &db) == SQLITE_OK &&
            sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK) {
            if (sqlite3_step(st) == SQLITE_ROW)
                v = sqlite3_column_int64(st, 0);
            sqlite3_finalize(st);
        } else {
            printf("note: %s: %s\n", sql, sqlite3_errmsg(db));
        }
        sqlite3_close(db);
    }
    return v;
}

static void sql_exec(const char *url, const char *sql)
{
    if (pg_base) {
        pg_exec_or_die(url, sql);
    } else {
        sqlite3 *db;
        sqlite3_open(url + 7, &db);
        sqlite3_exec(db, sql, NULL, NULL, NULL);
        sqlite3_close(db);
    }
}

static ms_store *open_or_die(const char *url)
{
    ms_store *s = NULL;
    char *err = NULL;
    if (ms_store_open(url, &s, &err) != MS_OK) {
        printf("FATAL opening %s: %s\n", url, err ? err : "?");
        exit(1);
    }
    return s;
}

/* ---- Building reports by hand ------------------------------------------ */

static ms_report_agg_meta meta(const char *org, const char *id, const char *domain, int64_t begin,
                        int64_t end)
{
    ms_report_agg_meta m = {.schema = MS_REPORT_AGG_SCHEMA_RFC7489, .version = "1.0", .org_name = org,
                     .email = "noreply@reporter.example", .report_id = id, .begin = begin,
                     .end = end, .domain = domain, .adkim = "r", .aspf = "r", .p = "none",
                     .sp = "none", .pct = "100"};
    return m;
}

static ms_report_agg_record record(const char *ip, uint64_t count, const char *disposition,
                            const char *dkim, const char *spf, const char *from)
{
    ms_report_agg_record r = {.source_ip = ip, .count = count, .disposition = disposition, .dkim = dkim,
                       .spf = spf, .header_from = from};
    return r;
}

static void add_dkim(ms_report_agg_record *r, const char *domain, const char *selector, const char *result)
{
    r->dkim_results[r->dkim_count++] = (ms_report_agg_auth){.domain = domain, .selector = selector,
                                                     .result = result};
}

static void add_spf(ms_report_agg_record *r, const char *domain, const char *result)
{
    r->spf_results[r->spf_count++] = (ms_report_agg_auth){.domain = domain, .scope = "mfrom",
                                                   .result = result};
}

static void add_reason(ms_report_agg_record *r, const char *type, const char *comment)
{
    r->reasons[r->reason_count++] = (ms_report_agg_reason){.type = type, .comment = comment};
}

static const ms_report_origin origin = {"reports.mbox", "reports.mbox: message 1: report.xml.gz"};

/* Stores an aggregate report in one transaction; returns the duplicate flag
 * (-1 on error). */
static int store_agg(ms_store *s, const ms_report_agg_meta *m, const ms_report_agg_record *recs, size_t n)
{
    int dup = -1;
    if (ms_store_agg_begin(s, m, &origin, &dup) != MS_OK) {
        printf("agg_begin: %s\n", ms_store_error(s));
        return -1;
    }
    if (dup)
        return 1;
    for (size_t i = 0; i < n; i++)
        if (ms_store_agg_record(s, &recs[i]) != MS_OK) {
            printf("agg_record: %s\n", ms_store_error(s));
            ms_store_rollback(s);
            return -1;
        }
    if (ms_store_commit(s) != MS_OK) {
        printf("commit: %s\n", ms_store_error(s));
        return -1;
    }
    return 0;
}

/* A report with n plain records, numbered by i. */
static int store_numbered(ms_store *s, int i, size_t n)
{
    char id[32], ip[32];
    snprintf(id, sizeof id, "report-%d", i);
    ms_report_agg_meta m = meta("bulk.example", id, "example.com", 1700000000 + i * 86400LL,
                         1700086399 + i * 86400LL);
    ms_report_agg_record *recs = calloc(n, sizeof *recs);
    for (size_t k = 0; k < n; k++) {
        snprintf(ip, sizeof ip, "10.%d.%zu.%zu", i % 256, k / 256, k % 256);
        recs[k] = record(ip, k + 1, "none", "pass", "fail", "example.com");
        add_dkim(&recs[k], "example.com", "s1", "pass");
        add_spf(&recs[k], "example.com", "fail");
    }
    /* strings must outlive the calls: the IPs are in one reused buffer,
     * so store record by record */
    int dup = -1;
    if (ms_store_agg_begin(s, &m, &origin, &dup) != MS_OK) {
        printf("agg_begin: %s\n", ms_store_error(s));
        free(recs);
        return -1;
    }
    for (size_t k = 0; !dup && k < n; k++) {
        snprintf(ip, sizeof ip, "10.%d.%zu.%zu", i % 256, k / 256, k % 256);
        recs[k].source_ip = ip;
        if (ms_store_agg_record(s, &recs[k]) != MS_OK) {
            printf("agg_record: %s\n", ms_store_error(s));
            ms_store_rollback(s);
            free(recs);
            return -1;
        }
    }
    free(recs);
    if (!dup && ms_store_commit(s) != MS_OK) {
        printf("commit: %s\n", ms_store_error(s));
        return -1;
    }
    return dup;
}

/* ---- Migrations ---------------------------------------------------------- */

static void test_migrations(void)
{
    char *url = new_db();
    ms_store *s = open_or_die(url);
    int latest = ms_store_schema_version(s);
    CHECK(latest >= 1, "schema version %d after creating", latest);
    ms_store_close(s);
    CHECK_NUM(sql_number(url, "SELECT COUNT(*) FROM schema_version"), latest);
    CHECK_NUM(sql_number(url, "SELECT COUNT(*) FROM reports"), 0);

    /* re-open: nothing applied twice */
    s = open_or_die(url);
    CHECK_NUM(ms_store_schema_version(s), latest);
    ms_store_close(s);
    CHECK_NUM(sql_number(url, "SELECT COUNT(*) FROM schema_version"), latest);

    /* a database from a newer mailsec is refused, not touched */
    sql_exec(url, "INSERT INTO schema_version (version, applied_at) VALUES (999, 0)");
    char *err = NULL;
    s = NULL;
    CHECK(ms_store_open(url, &s, &err) == MS_ERR_INVALID && s == NULL, "newer schema opened");
    CHECK(err && strstr(err, "999"), "error names the version: %s", err ? err : "(null)");
    free(err);
    free(url);
}

static void test_default_path(void)
{
    if (pg_base)
        return;
    char xdg[1100], path[1200];
    snprintf(xdg, sizeof xdg, "%s/xdg", tmpdir);
    setenv("XDG_DATA_HOME", xdg, 1);
    ms_store *s = open_or_die(NULL);
    CHECK_STR(ms_store_backend(s), "sqlite");
    ms_store_close(s);
    snprintf(path, sizeof path, "%s/mailsec/reports.db", xdg);
    CHECK(access(path, F_OK) == 0, "no database at %s", path);
    /* WAL mode sticks to the file */
    sqlite3 *db;
    sqlite3_stmt *st;
    const char *mode = NULL;
    if (sqlite3_open(path, &db) == SQLITE_OK &&
        sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &st, NULL) == SQLITE_OK) {
        if (sqlite3_step(st) == SQLITE_ROW)
            mode = (const char *)sqlite3_column_text(st, 0);
        CHECK_STR(mode, "wal");
        sqlite3_finalize(st);
    }
    sqlite3_close(db);
    unsetenv("XDG_DATA_HOME");
}

/* ---- Exactly once ------------------------------------------------------- */

static int collect_chunks(void *arg, const void *gz, size_t len)
{
    strncat(arg, gz, len);
    strcat(arg, "|");
    return 0;
}

static void test_exactly_once(void)
{
    char *url = new_db();
    ms_store *s = open_or_die(url);
    ms_report_agg_meta m = meta("google.com", "r1", "example.com", 1700000000, 1700086399);
    ms_report_agg_record recs[3] = {
        record("192.0.2.1", 10, "none", "pass", "pass", "example.com"),
        record("192.0.2.2", 5, "quarantine", "fail", "fail", "example.com"),
        record("198.51.100.7", 3, "none", "fail", "fail", "example.com"),
    };
    int dup = -1;
    CHECK(ms_store_agg_begin(s, &m, &origin, &dup) == MS_OK && dup == 0, "first begin: dup %d", dup);
    for (int i = 0; i < 3; i++)
        CHECK(ms_store_agg_record(s, &recs[i]) == MS_OK, "record %d: %s", i, ms_store_error(s));
    CHECK(ms_store_raw_append(s, "abc", 3) == MS_OK, "raw: %s", ms_store_error(s));
    CHECK(ms_store_raw_append(s, "defg", 4) == MS_OK, "raw: %s", ms_store_error(s));
    CHECK(ms_store_commit(s) == MS_OK, "commit: %s", ms_store_error(s));

    CHECK_NUM(store_agg(s, &m, recs, 3), 1); /* the same report again */
    ms_report_agg_meta other = m;
    other.end = 1700086400; /* another date range is another report */
    CHECK_NUM(store_agg(s, &other, recs, 1), 0);
    /* other connections see committed reports once they are synced */
    CHECK(ms_store_sync(s) == MS_OK, "sync: %s", ms_store_error(s));
    CHECK_NUM(sql_number(url, "SELECT COUNT(*) FROM reports"), 2);
    CHECK_NUM(sql_number(url, "SELECT COUNT(*) FROM agg_records"), 4);
    CHECK_NUM(sql_number(url, "SELECT messages FROM reports WHERE report_id = 'r1' AND date_end = 1700086399"), 18);

    char chunks[64] = "";
    int64_t id = sql_number(url, "SELECT id FROM reports WHERE date_end = 1700086399");
    CHECK(ms_store_raw_read(s, id, collect_chunks, chunks) == MS_OK, "raw_read: %s", ms_store_error(s));
    const char *got_chunks = chunks;
    CHECK_STR(got_chunks, "abc|defg|");
    CHECK(ms_store_raw_read(s, 424242, collect_chunks, chunks) == MS_ERR_INVALID, "raw of no report");

    /* TLS: twice, the second a duplicate */
    ms_report_tlsrpt_failure fails[1] = {{.result_type = "certificate-expired",
                                   .receiving_mx_hostname = "mx1.example.com",
                                   .failed_session_count = 2}};
    ms_report_tlsrpt_policy pol = {.policy_type = "sts", .policy_domain = "example.com",
                            .successful = 100, .failed = 2, .failures = fails,
                            .failure_count = 1};
    ms_report_tlsrpt tls = {.org_name = "Google Inc.", .report_id = "t1", .begin = 1699900000,
                            .end = 1699986399, .policies = &pol, .policy_count = 1};
    dup = -1;
    CHECK(ms_store_put_tlsrpt(s, &tls, &origin, "gz", 2, &dup) == MS_OK && dup == 0,
          "tls: dup %d %s", dup, ms_store_error(s));
    CHECK(ms_store_put_tlsrpt(s, &tls, &origin, "gz", 2, &dup) == MS_OK && dup == 1,
          "tls again: dup %d %s", dup, ms_store_error(s));
    CHECK(ms_store_sync(s) == MS_OK, "sync: %s", ms_store_error(s));
    CHECK_NUM(sql_number(url, "SELECT COUNT(*) FROM tls_policies"), 1);
    chunks[0] = '\0';
    id = sql_number(url, "SELECT id FROM reports WHERE kind = 'tls'");
    CHECK(ms_store_raw_read(s, id, collect_chunks, chunks) == MS_OK, "%s", ms_store_error(s));
    CHECK_STR(got_chunks, "gz|");
    CHECK_NUM(sql_number(url, "SELECT COUNT(*) FROM tls_failures"), 1);

    /* failure reports: keyed by the message */
    ms_report_failure f = {.reported_domain = "example.com", .source_ip = "192.0.2.66",
                           .auth_failure = "dmarc", .incidents = 1, .arrival_time = 1700050000,
                           .reporting_mta = "mx.reporter.example", .has_feedback_part = 1};
    CHECK(ms_store_put_failure(s, &f, "<f1@reporter.example>", &origin, NULL, 0, &dup) == MS_OK &&
              dup == 0, "failure: dup %d %s", dup, ms_store_error(s));
    CHECK(ms_store_put_failure(s, &f, "<f1@reporter.example>", &origin, NULL, 0, &dup) == MS_OK &&
              dup == 1, "failure again: dup %d %s", dup, ms_store_error(s));
    /* the same message read differently (another arrival time) is still the same message */
    f.arrival_time = 1700050001;
    CHECK(ms_store_put_failure(s, &f, "<f1@reporter.example>", &origin, NULL, 0, &dup) == MS_OK &&
              dup == 1, "failure, other fields: dup %d %s", dup, ms_store_error(s));
    CHECK(ms_store_put_failure(s, &f, "<f2@reporter.example>", &origin, NULL, 0, &dup) == MS_OK &&
              dup == 0, "second failure: dup %d %s", dup, ms_store_error(s));
    CHECK(ms_store_sync(s) == MS_OK, "sync: %s", ms_store_error(s));
    CHECK_NUM(sql_number(url, "SELECT COUNT(*) FROM failure_reports"), 2);
    CHECK_NUM(sql_number(url, "SELECT COUNT(*) FROM reports WHERE kind = 'failure'"), 2);

    /* rejects, IMAP bookkeeping, the rDNS cache */
    ms_report_error err = {.message = "mismatched tag", .line = 12, .column = 5, .offset = 345};
    CHECK(ms_store_put_rejected(s, &origin, "aggregate", &err, NULL) == MS_OK, "%s", ms_store_error(s));
    CHECK(ms_store_sync(s) == MS_OK, "sync: %s", ms_store_error(s));
    CHECK_NUM(sql_number(url, "SELECT line * 1000000 + col * 1000 + byte_offset FROM rejected"),
              12005345);
    int seen = -1;
    CHECK(ms_store_imap_seen(s, "imaps://mail.example/INBOX", 7, 42, &seen) == MS_OK && seen == 0,
          "seen %d", seen);
    CHECK(ms_store_imap_mark(s, "imaps://mail.example/INBOX", 7, 42) == MS_OK, "%s", ms_store_error(s));
    CHECK(ms_store_imap_mark(s, "imaps://mail.example/INBOX", 7, 42) == MS_OK, "mark twice");
    CHECK(ms_store_imap_seen(s, "imaps://mail.example/INBOX", 7, 42, &seen) == MS_OK && seen == 1,
          "seen %d", seen);
    CHECK(ms_store_imap_seen(s, "imaps://mail.example/INBOX", 8, 42, &seen) == MS_OK && seen == 0,
          "new UIDVALIDITY: seen %d", seen);
    char *name = (char *)"x";
    int64_t fetched = 0;
    CHECK(ms_store_rdns_get(s, "192.0.2.1", &name, &fetched) == MS_OK && name == NULL, "uncached");
    ms_store_rdns_put(s, "192.0.2.1", "mx1.example.com", 100);
    ms_store_rdns_put(s, "192.0.2.1", "mx2.example.com", 200);
    ms_store_rdns_put(s, "192.0.2.2", NULL, 300);
    CHECK(ms_store_rdns_get(s, "192.0.2.1", &name, &fetched) == MS_OK && name && fetched == 200,
          "cached");
    CHECK_STR(name, "mx2.example.com");
    free(name);
    CHECK(ms_store_rdns_get(s, "192.0.2.2", &name, &fetched) == MS_OK && name, "cached no-name");
    CHECK_STR(name, "");
    free(name);
    ms_store_close(s);
    free(url);
}

static void test_rollback(void)
{
    char *url = new_db();
    ms_store *s = open_or_die(url);
    ms_report_agg_meta m = meta("google.com", "rb", "example.com", 1700000000, 1700086399);
    ms_report_agg_record r = record("192.0.2.1", 1, "none", "pass", "pass", "example.com");
    int dup;
    CHECK(ms_store_agg_begin(s, &m, &origin, &dup) == MS_OK && !dup, "begin");
    for (int i = 0; i < 1000; i++)
        ms_store_agg_record(s, &r);
    ms_store_raw_append(s, "x", 1);
    ms_store_rollback(s);
    CHECK_NUM(sql_number(url, "SELECT COUNT(*) FROM reports"), 0);
    CHECK_NUM(sql_number(url, "SELECT COUNT(*) FROM agg_records"), 0);
    CHECK_NUM(sql_number(url, "SELECT COUNT(*) FROM raw"), 0);
    /* and the report is not taken for stored */
    CHECK_NUM(store_agg(s, &m, &r, 1), 0);
    CHECK(ms_store_sync(s) == MS_OK, "sync: %s", ms_store_error(s));
    CHECK_NUM(sql_number(url, "SELECT COUNT(*) FROM agg_records"), 1);
    /* misuse is refused, not undefined */
    CHECK(ms_store_agg_record(s, &r) == MS_ERR_INVALID, "record with no report open");
    CHECK(ms_store_commit(s) == MS_ERR_INVALID, "commit with no report open");
    ms_store_close(s);
    free(url);
}

/* Reports stored one after another (SQLite groups them into one
 * transaction): one given up in the middle leaves the others whole, and a
 * report given up first frees the write lock for other processes. */
static void test_group(void)
{
    char *url = new_db();
    ms_store *s = open_or_die(url);
    ms_report_agg_record r = record("192.0.2.1", 2, "none", "pass", "pass", "example.com");
    ms_report_agg_meta a = meta("g.example", "a", "example.com", 1700000000, 1700086399);
    ms_report_agg_meta b = meta("g.example", "b", "example.com", 1700000000, 1700086399);
    ms_report_agg_meta c = meta("g.example", "c", "example.com", 1700000000, 1700086399);
    CHECK_NUM(store_agg(s, &a, &r, 1), 0);
    int dup = -1;
    CHECK(ms_store_agg_begin(s, &b, &origin, &dup) == MS_OK && !dup, "begin b");
    for (int i = 0; i < 50; i++)
        ms_store_agg_record(s, &r);
    ms_store_raw_append(s, "b", 1);
    ms_store_rollback(s);
    CHECK_NUM(store_agg(s, &c, &r, 1), 0);
    CHECK_NUM(store_agg(s, &a, &r, 1), 1); /* a duplicate inside the group */
    CHECK(ms_store_sync(s) == MS_OK, "sync: %s", ms_store_error(s));
    CHECK_NUM(sql_number(url, "SELECT COUNT(*) FROM reports"), 2);
    CHECK_NUM(sql_number(url, "SELECT COUNT(*) FROM reports WHERE report_id = 'b'"), 0);
    CHECK_NUM(sql_number(url, "SELECT COUNT(*) FROM agg_records"), 2);
    CHECK_NUM(sql_number(url, "SELECT SUM(messages) FROM reports"), 4);
    /* b later, alone: stored */
    CHECK_NUM(store_agg(s, &b, &r, 1), 0);
    ms_store_close(s); /* commits what is open */
    CHECK_NUM(sql_number(url, "SELECT COUNT(*) FROM reports"), 3);
    free(url);
}

/* How long a group stays open (store.c, STORE_GROUP_MS): past a quarter of
 * a second the next report commits it, unless the commit before took so
 * long that a group must last four times that. The reports are seen by
 * another connection only once committed. */
static void test_group_time(void)
{
    if (pg_base)
        return; /* PostgreSQL commits each report */
    char *url = new_db();
    ms_store *s = open_or_die(url);
    ms_report_agg_record r = record("192.0.2.1", 1, "none", "pass", "pass", "example.com");
    char id[16];
    int stored = 0;
    for (int round = 0; round < 2; round++) {
        int slow = round == 1;
        /* as if the last commit had taken 10 s: the group lasts 10 s (the cap) */
        s->group_commit_ms = slow ? 10000 : 0;
        for (int i = 0; i < 2; i++) {
            snprintf(id, sizeof id, "t%d", stored++);
            ms_report_agg_meta m = meta("t.example", id, "example.com", 1700000000, 1700086399);
            CHECK_NUM(store_agg(s, &m, &r, 1), 0);
            if (i == 0)
                usleep(300 * 1000);
        }
        CHECK_NUM(sql_number(url, "SELECT COUNT(*) FROM reports"), slow ? 2 : stored);
        CHECK(ms_store_sync(s) == MS_OK, "sync: %s", ms_store_error(s));
        CHECK_NUM(sql_number(url, "SELECT COUNT(*) FROM reports"), stored);
        CHECK(s->group_commit_ms < 10000, "the commit's time measured: %lld ms",
              (long long)s->group_commit_ms);
    }
    ms_store_close(s);
    free(url);
}

/* ---- Concurrency ---------------------------------------------------------- */

enum { CONC_CHILDREN = 4, CONC_REPORTS = 200, CONC_RECORDS = 5 };

static void test_concurrent(void)
{
    char *url = new_db();
    ms_store_close(open_or_die(url)); /* created before the race: migrations race too, below */
    int fds[2];
    if (pipe(fds) != 0)
        exit(1);
    pid_t kids[CONC_CHILDREN];
    for (int c = 0; c < CONC_CHILDREN; c++) {
        kids[c] = fork();
        if (kids[c] == 0) {
            close(fds[0]);
            ms_store *s = open_or_die(url);
            int stored = 0, errors = 0;
            /* each child starts elsewhere, so they meet on every report */
            for (int k = 0; k < CONC_REPORTS; k++) {
                int i = (k + c * (CONC_REPORTS / CONC_CHILDREN)) % CONC_REPORTS;
                int r = store_numbered(s, i, CONC_RECORDS);
                stored += r == 0;
                errors += r < 0;
            }
            ms_store_close(s);
            int msg[2] = {stored, errors};
            if (write(fds[1], msg, sizeof msg) != sizeof msg)
                _exit(2);
            _exit(0);
        }
    }
    close(fds[1]);
    int stored = 0, errors = 0, msg[2];
    while (read(fds[0], msg, sizeof msg) == sizeof msg) {
        stored += msg[0];
        errors += msg[1];
    }
    close(fds[0]);
    for (int c = 0; c < CONC_CHILDREN; c++) {
        int status;
        waitpid(kids[c], &status, 0);
        CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child %d: status %d", c, status);
    }
    CHECK_NUM(errors, 0);
    CHECK_NUM(stored, CONC_REPORTS); /* each report new in exactly one process */
    CHECK_NUM(sql_number(url, "SELECT COUNT(*) FROM reports"), CONC_REPORTS);
    CHECK_NUM(sql_number(url, "SELECT COUNT(*) FROM agg_records"), CONC_REPORTS * CONC_RECORDS);
    CHECK_NUM(sql_number(url, "SELECT COUNT(*) FROM reports WHERE records <> 5 OR messages <> 15"), 0);
    free(url);
}

/* Two processes, one report: the second waits while the first's
 * transaction is open, then sees a duplicate when the first commits, or
 * stores the report itself when the first rolled back. */
static void race_one(int first_commits)
{
    char *url = new_db();
    ms_store_close(open_or_die(url));
    int go[2], answer[2];
    if (pipe(go) != 0 || pipe(answer) != 0)
        exit(1);
    ms_report_agg_meta m = meta("race.example", "race", "example.com", 1700000000, 1700086399);
    ms_report_agg_record r = record("192.0.2.1", 1, "none", "pass", "pass", "example.com");
    pid_t kid = fork();
    if (kid == 0) {
        char c;
        if (read(go[0], &c, 1) != 1)
            _exit(2);
        ms_store *s = open_or_die(url);
        int dup = store_agg(s, &m, &r, 1);
        ms_store_close(s);
        if (write(answer[1], &dup, sizeof dup) != sizeof dup)
            _exit(2);
        _exit(0);
    }
    close(go[0]);
    close(answer[1]);
    ms_store *s = open_or_die(url);
    int dup = -1;
    CHECK(ms_store_agg_begin(s, &m, &origin, &dup) == MS_OK && dup == 0, "first: dup %d", dup);
    ms_store_agg_record(s, &r);
    if (write(go[1], "g", 1) != 1)
        exit(1);
    /* the other process must still be waiting after a while */
    fd_set fds;
    FD_ZERO(&fds);
    FD_SET(answer[0], &fds);
    struct timeval tv = {0, 500000};
    CHECK(select(answer[0] + 1, &fds, NULL, NULL, &tv) == 0,
          "the second process did not wait for the first's transaction");
    if (first_commits)
        CHECK(ms_store_commit(s) == MS_OK && ms_store_sync(s) == MS_OK, "%s", ms_store_error(s));
    else
        ms_store_rollback(s);
    int theirs = -1;
    CHECK(read(answer[0], &theirs, sizeof theirs) == sizeof theirs, "no answer");
    CHECK_NUM(theirs, first_commits ? 1 : 0);
    int status;
    waitpid(kid, &status, 0);
    close(go[1]);
    close(answer[0]);
    ms_store_close(s);
    CHECK_NUM(sql_number(url, "SELECT COUNT(*) FROM reports"), 1);
    CHECK_NUM(sql_number(url, "SELECT COUNT(*) FROM agg_records"), 1);
    free(url);
}

static void test_race(void)
{
    race_one(1);
    race_one(0);
}

/* Several processes opening a brand-new database at once: the migrations
 * take turns. */
static void test_concurrent_migrations(void)
{
    char *url = new_db();
    pid_t kids[CONC_CHILDREN];
    for (int c = 0; c < CONC_CHILDREN; c++) {
        kids[c] = fork();
        if (kids[c] == 0) {
            ms_store *s = NULL;
            char *err = NULL;
            if (ms_store_open(url, &s, &err) != MS_OK) {
                printf("child open: %s\n", err);
                _exit(1);
            }
            int r = store_numbered(s, c, 2);
            ms_store_close(s);
            _exit(r == 0 ? 0 : 1);
        }
    }
    for (int c = 0; c < CONC_CHILDREN; c++) {
        int status;
        waitpid(kids[c], &status, 0);
        CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child %d: status %d", c, status);
    }
    CHECK_NUM(sql_number(url, "SELECT COUNT(*) FROM schema_version"),
              sql_number(url, "SELECT MAX(version) FROM schema_version"));
    CHECK_NUM(sql_number(url, "SELECT COUNT(*) FROM reports"), CONC_CHILDREN);
    free(url);
}

/* ---- Kill safety ------------------------------------------------------------ */

enum { KILL_RECORDS_BEFORE = 60000, KILL_RECORDS = 100000 };

static void test_killed(void)
{
    char *url = new_db();
    ms_store_close(open_or_die(url));
    int fds[2];
    if (pipe(fds) != 0)
        exit(1);
    pid_t kid = fork();
    if (kid == 0) {
        close(fds[0]);
        ms_store *s = open_or_die(url);
        ms_report_agg_meta m = meta("big.example", "big", "example.com", 1700000000, 1700086399);
        ms_report_agg_record r = record("192.0.2.9", 1, "none", "pass", "pass", "example.com");
        add_dkim(&r, "example.com", "s1", "pass");
        int dup;
        ms_store_agg_begin(s, &m, &origin, &dup);
        for (int i = 0; i < KILL_RECORDS_BEFORE; i++)
            ms_store_agg_record(s, &r);
        ms_store_raw_append(s, "partial", 7); /* sends everything held back */
        char ok = 'k';
        if (write(fds[1], &ok, 1) != 1)
            _exit(2);
        for (;;)
            pause(); /* killed here, the transaction open */
    }
    close(fds[1]);
    char ok = 0;
    CHECK(read(fds[0], &ok, 1) == 1 && ok == 'k', "child did not get half way");
    close(fds[0]);
    /* the rows are in the database, uncommitted */
    kill(kid, SIGKILL);
    int status;
    waitpid(kid, &status, 0);
    CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL, "child status %d", status);
    if (pg_base) {
        /* the server notices the dead connection and rolls back; wait */
        for (int i = 0; i < 100 && sql_number(url, "SELECT COUNT(*) FROM pg_stat_activity"
                                                   " WHERE datname = current_database()"
                                                   " AND pid <> pg_backend_pid()") > 0; i++)
            usleep(50000);
    }
    CHECK_NUM(sql_number(url, "SELECT COUNT(*) FROM reports"), 0);
    CHECK_NUM(sql_number(url, "SELECT COUNT(*) FROM agg_records"), 0);
    CHECK_NUM(sql_number(url, "SELECT COUNT(*) FROM raw"), 0);

    /* run again: stored once, whole */
    ms_store *s = open_or_die(url);
    ms_report_agg_meta m = meta("big.example", "big", "example.com", 1700000000, 1700086399);
    ms_report_agg_record r = record("192.0.2.9", 1, "none", "pass", "pass", "example.com");
    for (int pass = 0; pass < 2; pass++) {
        int dup = -1;
        CHECK(ms_store_agg_begin(s, &m, &origin, &dup) == MS_OK, "%s", ms_store_error(s));
        CHECK_NUM(dup, pass); /* new the first time, a duplicate the second */
        for (int i = 0; !dup && i < KILL_RECORDS; i++)
            ms_store_agg_record(s, &r);
        if (!dup)
            CHECK(ms_store_commit(s) == MS_OK, "%s", ms_store_error(s));
    }
    ms_store_close(s);
    CHECK_NUM(sql_number(url, "SELECT COUNT(*) FROM reports"), 1);
    CHECK_NUM(sql_number(url, "SELECT COUNT(*) FROM agg_records"), KILL_RECORDS);
    free(url);
}

/* ---- The read queries --------------------------------------------------------
 *
 * The data, and what it must give:
 *
 *   R1 google.com r1 example.com [1700000000, 1700086399]
 *     a 192.0.2.1     10 none       dkim pass spf pass  dkim example.com pass, spf example.com pass
 *     b 192.0.2.2      5 quarantine dkim fail spf fail  dkim other.net pass, spf other.net pass
 *     c 198.51.100.7   3 none       dkim fail spf fail  forwarded; dkim example.com fail, spf fwd.example softfail
 *   R2 Yahoo r2 example.com [1700086400, 1700172799]
 *     d 192.0.2.1      4 none       dkim pass spf fail  dkim example.com pass + esp.net pass, spf example.com fail
 *     e 203.0.113.9    2 reject     dkim fail spf fail  local_policy; no results
 *   R3 google.com r3 example.org [1700000000, 1700086399]
 *     f 192.0.2.1      7 none       dkim fail spf pass  spf example.org pass
 *
 *   summary example.com: 2 reports, 24 messages, DMARC pass a+d = 14, SPF
 *     aligned a = 10, DKIM aligned a+d = 14; none 10+3+4 = 17, quarantine
 *     5, reject 2; forwarded 3, local_policy 2; google.com 18, Yahoo 6.
 *   summary example.org: 1 report, 7 messages, pass 7, SPF 7, DKIM 0.
 *   sources: 192.0.2.1 21 messages all aligned, DKIM pass + SPF fail 4
 *     (d); 192.0.2.2 5 unaligned; 198.51.100.7 3 failing, 3 forwarded;
 *     203.0.113.9 2 failing.
 */

static ms_store *read_fixture(char **url_out)
{
    char *url = new_db();
    ms_store *s = open_or_die(url);
    *url_out = url;

    ms_report_tlsrpt_failure t1f[2] = {
        {.result_type = "certificate-expired", .receiving_mx_hostname = "mx1.example.com",
         .failed_session_count = 2},
        {.result_type = "starttls-not-supported", .receiving_mx_hostname = "mx2.example.com",
         .failed_session_count = 1},
    };
    ms_report_tlsrpt_policy t1p[2] = {
        {.policy_type = "sts", .policy_domain = "example.com", .mx_host = "mx1.example.com",
         .successful = 100, .failed = 3, .failures = t1f, .failure_count = 2},
        {.policy_type = "no-policy-found", .policy_domain = "example.org", .successful = 50},
    };
    ms_report_tlsrpt t1 = {.org_name = "Google Inc.", .report_id = "t1", .begin = 1699900000,
                           .end = 1699986399, .policies = t1p, .policy_count = 2};
    int dup;
    CHECK(ms_store_put_tlsrpt(s, &t1, &origin, NULL, 0, &dup) == MS_OK, "%s", ms_store_error(s));

    ms_report_agg_meta m1 = meta("google.com", "r1", "example.com", 1700000000, 1700086399);
    ms_report_agg_record r1[3] = {
        record("192.0.2.1", 10, "none", "pass", "pass", "example.com"),
        record("192.0.2.2", 5, "quarantine", "fail", "fail", "example.com"),
        record("198.51.100.7", 3, "none", "fail", "fail", "example.com"),
    };
    add_dkim(&r1[0], "example.com", "s1", "pass");
    add_spf(&r1[0], "example.com", "pass");
    add_dkim(&r1[1], "other.net", "k1", "pass");
    add_spf(&r1[1], "other.net", "pass");
    add_reason(&r1[2], "forwarded", "list\tor relay");
    add_dkim(&r1[2], "example.com", "s1", "fail");
    add_spf(&r1[2], "fwd.example", "softfail");
    CHECK_NUM(store_agg(s, &m1, r1, 3), 0);

    ms_report_agg_meta m2 = meta("Yahoo", "r2", "example.com", 1700086400, 1700172799);
    m2.p = "quarantine";
    ms_report_agg_record r2[2] = {
        record("192.0.2.1", 4, "none", "pass", "fail", "example.com"),
        record("203.0.113.9", 2, "reject", "fail", "fail", "example.com"),
    };
    add_dkim(&r2[0], "example.com", "s1", "pass");
    add_dkim(&r2[0], "esp.net", "s2", "pass");
    add_spf(&r2[0], "example.com", "fail");
    add_reason(&r2[1], "local_policy", NULL);
    CHECK_NUM(store_agg(s, &m2, r2, 2), 0);

    ms_report_agg_meta m3 = meta("google.com", "r3", "example.org", 1700000000, 1700086399);
    ms_report_agg_record r3[1] = {record("192.0.2.1", 7, "none", "fail", "pass", "example.org")};
    add_spf(&r3[0], "example.org", "pass");
    CHECK_NUM(store_agg(s, &m3, r3, 1), 0);

    ms_report_tlsrpt_failure t2f[1] = {{.result_type = "certificate-expired",
                                 .receiving_mx_hostname = "mx1.example.com",
                                 .failed_session_count = 4}};
    ms_report_tlsrpt_policy t2p[1] = {{.policy_type = "sts", .policy_domain = "example.com",
                                .successful = 20, .failed = 4, .failures = t2f,
                                .failure_count = 1}};
    ms_report_tlsrpt t2 = {.org_name = "Microsoft", .report_id = "t2", .begin = 1700000000,
                           .end = 1700086399, .policies = t2p, .policy_count = 1};
    CHECK(ms_store_put_tlsrpt(s, &t2, &origin, NULL, 0, &dup) == MS_OK, "%s", ms_store_error(s));

    struct { const char *key, *domain, *ip, *failure; uint64_t incidents; int64_t at; } fr[] = {
        {"<f1@x>", "example.com", "192.0.2.66", "dmarc", 1, 1700050000},
        {"<f2@x>", "example.com", "192.0.2.66", "dmarc", 3, 1700060000},
        {"<f3@x>", "example.net", "192.0.2.77", "dkim", 1, 1700070000},
    };
    for (size_t i = 0; i < 3; i++) {
        ms_report_failure f = {.reported_domain = (char *)fr[i].domain,
                               .source_ip = (char *)fr[i].ip,
                               .auth_failure = (char *)fr[i].failure,
                               .incidents = fr[i].incidents, .arrival_time = fr[i].at};
        CHECK(ms_store_put_failure(s, &f, fr[i].key, &origin, NULL, 0, &dup) == MS_OK && !dup,
              "%s", ms_store_error(s));
    }
    ms_store_rdns_put(s, "192.0.2.1", "mx1.mail.example.com", 1);
    ms_store_rdns_put(s, "192.0.2.2", "o1.esp.other.net", 1);
    ms_store_rdns_put(s, "198.51.100.7", "", 1);
    return s;
}

static const ms_store_count *count_at(const ms_store_count *c, size_t n, size_t i)
{
    static const ms_store_count none = {(char *)"(missing)", 0};
    return i < n ? &c[i] : &none;
}

static void test_summary(ms_store *s)
{
    ms_store_domain_summary *rows;
    size_t n;
    CHECK(ms_store_summary(s, NULL, &rows, &n) == MS_OK, "%s", ms_store_error(s));
    CHECK_NUM(n, 2);
    if (n == 2) {
        ms_store_domain_summary *d = &rows[0];
        CHECK_STR(d->domain, "example.com");
        CHECK_NUM(d->reports, 2);
        CHECK_NUM(d->messages, 24);
        CHECK_NUM(d->dmarc_pass, 14);
        CHECK_NUM(d->spf_aligned, 10);
        CHECK_NUM(d->dkim_aligned, 14);
        CHECK_NUM(d->first, 1700000000);
        CHECK_NUM(d->last, 1700172799);
        CHECK_NUM(d->disposition_count, 3);
        CHECK_STR(count_at(d->dispositions, d->disposition_count, 0)->name, "none");
        CHECK_NUM(count_at(d->dispositions, d->disposition_count, 0)->count, 17);
        CHECK_STR(count_at(d->dispositions, d->disposition_count, 1)->name, "quarantine");
        CHECK_NUM(count_at(d->dispositions, d->disposition_count, 1)->count, 5);
        CHECK_STR(count_at(d->dispositions, d->disposition_count, 2)->name, "reject");
        CHECK_NUM(count_at(d->dispositions, d->disposition_count, 2)->count, 2);
        CHECK_NUM(d->override_count, 2);
        CHECK_STR(count_at(d->overrides, d->override_count, 0)->name, "forwarded");
        CHECK_NUM(count_at(d->overrides, d->override_count, 0)->count, 3);
        CHECK_STR(count_at(d->overrides, d->override_count, 1)->name, "local_policy");
        CHECK_NUM(count_at(d->overrides, d->override_count, 1)->count, 2);
        CHECK_NUM(d->reporter_count, 2);
        CHECK_STR(count_at(d->reporters, d->reporter_count, 0)->name, "google.com");
        CHECK_NUM(count_at(d->reporters, d->reporter_count, 0)->count, 18);
        CHECK_STR(count_at(d->reporters, d->reporter_count, 1)->name, "Yahoo");
        CHECK_NUM(count_at(d->reporters, d->reporter_count, 1)->count, 6);
        d = &rows[1];
        CHECK_STR(d->domain, "example.org");
        CHECK_NUM(d->reports, 1);
        CHECK_NUM(d->messages, 7);
        CHECK_NUM(d->dmarc_pass, 7);
        CHECK_NUM(d->spf_aligned, 7);
        CHECK_NUM(d->dkim_aligned, 0);
        CHECK_NUM(d->override_count, 0);
    }
    ms_store_summary_free(rows, n);

    /* example.com from R2's day on: R2 alone */
    ms_store_filter f = {.domain = "example.com", .since = 1700086400};
    CHECK(ms_store_summary(s, &f, &rows, &n) == MS_OK, "%s", ms_store_error(s));
    CHECK_NUM(n, 1);
    if (n == 1) {
        CHECK_NUM(rows[0].reports, 1);
        CHECK_NUM(rows[0].messages, 6);
        CHECK_NUM(rows[0].dmarc_pass, 4);
        CHECK_NUM(rows[0].reporter_count, 1);
        CHECK_STR(count_at(rows[0].reporters, rows[0].reporter_count, 0)->name, "Yahoo");
    }
    ms_store_summary_free(rows, n);

    /* until R2's day: R1 and R3 */
    f = (ms_store_filter){.until = 1700086400};
    CHECK(ms_store_summary(s, &f, &rows, &n) == MS_OK, "%s", ms_store_error(s));
    CHECK_NUM(n, 2);
    if (n == 2) {
        CHECK_NUM(rows[0].messages, 18);
        CHECK_NUM(rows[1].messages, 7);
    }
    ms_store_summary_free(rows, n);
}

/* The test's grouping: the last two labels of the name. */
static char *last_two_labels(void *arg, const char *name)
{
    int *calls = arg;
    (*calls)++;
    const char *p = name + strlen(name);
    int dots = 0;
    while (p > name && !(p[-1] == '.' && ++dots == 2))
        p--;
    return strdup(p);
}

static void check_list(const char *what, char **items, size_t n, const char *want)
{
    char got[256] = "";
    for (size_t i = 0; i < n; i++) {
        if (i)
            strcat(got, ",");
        strncat(got, items[i], sizeof got - strlen(got) - 2);
    }
    CHECK(strcmp(got, want) == 0, "%s: got \"%s\", want \"%s\"", what, got, want);
}

static void test_sources(ms_store *s)
{
    ms_store_source *rows;
    size_t n;
    int calls = 0;
    CHECK(ms_store_sources(s, NULL, last_two_labels, &calls, &rows, &n) == MS_OK, "%s",
          ms_store_error(s));
    CHECK_NUM(n, 4);
    CHECK_NUM(calls, 2); /* only sources with a cached name */
    if (n == 4) {
        ms_store_source *a = &rows[0];
        CHECK_STR(a->source_ip, "192.0.2.1");
        CHECK_STR(a->rdns, "mx1.mail.example.com");
        CHECK_STR(a->group, "example.com");
        CHECK_NUM(a->messages, 21);
        CHECK_NUM(a->aligned, 21);
        CHECK_NUM(a->unaligned, 0);
        CHECK_NUM(a->failing, 0);
        CHECK_NUM(a->dkim_pass_spf_fail, 4);
        CHECK_NUM(a->forwarded, 0);
        check_list("spf domains", a->spf_domains, a->spf_domain_count, "example.com,example.org");
        check_list("dkim domains", a->dkim_domains, a->dkim_domain_count, "esp.net,example.com");
        check_list("header from", a->header_froms, a->header_from_count, "example.com,example.org");
        ms_store_source *b = &rows[1];
        CHECK_STR(b->source_ip, "192.0.2.2");
        CHECK_STR(b->group, "other.net");
        CHECK_NUM(b->messages, 5);
        CHECK_NUM(b->unaligned, 5);
        CHECK_NUM(b->aligned + b->failing, 0);
        check_list("spf domains", b->spf_domains, b->spf_domain_count, "other.net");
        ms_store_source *c = &rows[2];
        CHECK_STR(c->source_ip, "198.51.100.7");
        CHECK_STR(c->rdns, "");
        CHECK(c->group == NULL, "no group for no name");
        CHECK_NUM(c->failing, 3);
        CHECK_NUM(c->forwarded, 3);
        check_list("spf domains", c->spf_domains, c->spf_domain_count, "fwd.example");
        ms_store_source *d = &rows[3];
        CHECK_STR(d->source_ip, "203.0.113.9");
        CHECK(d->rdns == NULL, "not cached");
        CHECK_NUM(d->failing, 2);
        CHECK_NUM(d->spf_domain_count + d->dkim_domain_count, 0);
    }
    ms_store_sources_free(rows, n);

    ms_store_filter f = {.domain = "example.org"};
    CHECK(ms_store_sources(s, &f, NULL, NULL, &rows, &n) == MS_OK, "%s", ms_store_error(s));
    CHECK_NUM(n, 1);
    if (n == 1) {
        CHECK_NUM(rows[0].messages, 7);
        CHECK(rows[0].group == NULL, "no callback, no group");
    }
    ms_store_sources_free(rows, n);
}

static void test_list_show(ms_store *s)
{
    ms_store_report_row *rows;
    size_t n;
    CHECK(ms_store_list(s, NULL, &rows, &n) == MS_OK, "%s", ms_store_error(s));
    /* by begin, then id (order stored): t1, r1, r3, t2, f1, f2, f3, r2 */
    const char *want[] = {"t1", "r1", "r3", "t2", "<f1@x>", "<f2@x>", "<f3@x>", "r2"};
    CHECK_NUM(n, 8);
    for (size_t i = 0; i < n && i < 8; i++)
        CHECK_STR(rows[i].report_id, want[i]);
    int64_t r1 = 0, t1 = 0;
    if (n == 8) {
        CHECK_STR(rows[0].kind, "tls");
        CHECK_STR(rows[0].domain, "example.com");
        CHECK_NUM(rows[0].records, 2);
        CHECK_NUM(rows[0].messages, 153);
        CHECK_STR(rows[1].kind, "aggregate");
        CHECK_STR(rows[1].org, "google.com");
        CHECK_NUM(rows[1].begin, 1700000000);
        CHECK_NUM(rows[1].end, 1700086399);
        CHECK_NUM(rows[1].records, 3);
        CHECK_NUM(rows[1].messages, 18);
        CHECK_STR(rows[1].origin, origin.path);
        CHECK_STR(rows[5].kind, "failure");
        CHECK_NUM(rows[5].messages, 3);
        r1 = rows[1].id;
        t1 = rows[0].id;
    }
    ms_store_list_free(rows, n);

    ms_store_filter f = {.domain = "example.org"};
    CHECK(ms_store_list(s, &f, &rows, &n) == MS_OK, "%s", ms_store_error(s));
    CHECK_NUM(n, 1);
    ms_store_list_free(rows, n);

    ms_store_report *rep = NULL;
    CHECK(ms_store_show(s, r1, &rep) == MS_OK && rep, "show r1: %s", ms_store_error(s));
    if (rep) {
        CHECK_STR(rep->head.report_id, "r1");
        CHECK_STR(rep->email, "noreply@reporter.example");
        CHECK_STR(rep->p, "none");
        CHECK_STR(rep->pct, "100");
        CHECK(rep->np == NULL, "absent np stays absent");
        CHECK_NUM(rep->record_count, 3);
        if (rep->record_count == 3) {
            ms_store_record *c = &rep->records[2];
            CHECK_NUM(c->seq, 2);
            CHECK_STR(c->source_ip, "198.51.100.7");
            CHECK_NUM(c->count, 3);
            CHECK_STR(c->reasons, "forwarded");
            CHECK_STR(c->reason_comments, "list\tor relay");
            CHECK_STR(c->dkim_domain, "example.com");
            CHECK_STR(c->dkim_selector, "s1");
            CHECK_STR(c->dkim_result, "fail");
            CHECK_STR(c->spf_scope, "mfrom");
            CHECK_STR(c->spf_result, "softfail");
            CHECK_NUM(c->dkim_pass, 0);
            CHECK(c->auth_more == NULL, "one result of each kind");
            CHECK_NUM(rep->records[1].dkim_pass, 1);
        }
    }
    ms_store_report_free(rep);
    rep = NULL;
    CHECK(ms_store_show(s, t1, &rep) == MS_OK && rep, "show t1: %s", ms_store_error(s));
    if (rep) {
        CHECK_NUM(rep->policy_count, 2);
        if (rep->policy_count == 2) {
            CHECK_STR(rep->policies[0].policy_domain, "example.com");
            CHECK_NUM(rep->policies[0].failure_count, 2);
            if (rep->policies[0].failure_count == 2) {
                CHECK_STR(rep->policies[0].failures[1].result_type, "starttls-not-supported");
                CHECK_NUM(rep->policies[0].failures[1].failed_sessions, 1);
            }
            CHECK_NUM(rep->policies[1].successful, 50);
        }
    }
    ms_store_report_free(rep);
    rep = NULL;
    CHECK(ms_store_show(s, 987654, &rep) == MS_ERR_INVALID && rep == NULL, "show missing");
}

typedef struct export_seen {
    int rows;
    char trail[256];
    char more[128];
} export_seen;

static int export_row(void *arg, const ms_store_report_row *rep, const ms_store_record *rec)
{
    export_seen *e = arg;
    e->rows++;
    char item[64];
    snprintf(item, sizeof item, "%s/%lld/%s/%llu;", rep->report_id, (long long)rec->seq,
             rec->source_ip, (unsigned long long)rec->count);
    strncat(e->trail, item, sizeof e->trail - strlen(e->trail) - 1);
    if (rec->auth_more)
        snprintf(e->more, sizeof e->more, "%s", rec->auth_more);
    return 0;
}

static int export_stop(void *arg, const ms_store_report_row *rep, const ms_store_record *rec)
{
    (void)rep;
    (void)rec;
    return ++*(int *)arg == 2;
}

static void test_export(ms_store *s)
{
    export_seen e = {0};
    ms_store_filter f = {.domain = "example.com"};
    CHECK(ms_store_export(s, &f, export_row, &e) == MS_OK, "%s", ms_store_error(s));
    CHECK_NUM(e.rows, 5);
    CHECK_STR(e.trail, "r1/0/192.0.2.1/10;r1/1/192.0.2.2/5;r1/2/198.51.100.7/3;"
                       "r2/0/192.0.2.1/4;r2/1/203.0.113.9/2;");
    CHECK_STR(e.more, "dkim\tesp.net\ts2\tpass\t");
    int calls = 0;
    CHECK(ms_store_export(s, NULL, export_stop, &calls) == MS_OK, "%s", ms_store_error(s));
    CHECK_NUM(calls, 2);
    /* the store is usable after a stopped export */
    ms_store_report_row *rows;
    size_t n;
    CHECK(ms_store_list(s, NULL, &rows, &n) == MS_OK && n == 8, "list after export: %s",
          ms_store_error(s));
    ms_store_list_free(rows, n);
}

static void test_failure_tls_views(ms_store *s)
{
    ms_store_failure_row *rows;
    size_t n;
    CHECK(ms_store_failure_summary(s, NULL, &rows, &n) == MS_OK, "%s", ms_store_error(s));
    CHECK_NUM(n, 2);
    if (n == 2) {
        CHECK_STR(rows[0].domain, "example.com");
        CHECK_STR(rows[0].source_ip, "192.0.2.66");
        CHECK_STR(rows[0].auth_failure, "dmarc");
        CHECK_NUM(rows[0].reports, 2);
        CHECK_NUM(rows[0].incidents, 4);
        CHECK_STR(rows[1].domain, "example.net");
        CHECK_NUM(rows[1].incidents, 1);
    }
    ms_store_failure_summary_free(rows, n);
    ms_store_filter f = {.since = 1700055000};
    CHECK(ms_store_failure_summary(s, &f, &rows, &n) == MS_OK, "%s", ms_store_error(s));
    CHECK_NUM(n, 2);
    if (n == 2) {
        CHECK_NUM(rows[0].reports, 1);
        CHECK_NUM(rows[0].incidents, 3);
    }
    ms_store_failure_summary_free(rows, n);

    ms_store_tls_summary t;
    CHECK(ms_store_tls_summary_get(s, NULL, &t) == MS_OK, "%s", ms_store_error(s));
    CHECK_NUM(t.domain_count, 2);
    if (t.domain_count == 2) {
        CHECK_STR(t.domains[0].policy_domain, "example.com");
        CHECK_NUM(t.domains[0].reports, 2);
        CHECK_NUM(t.domains[0].successful, 120);
        CHECK_NUM(t.domains[0].failed, 7);
        CHECK_STR(t.domains[1].policy_domain, "example.org");
        CHECK_NUM(t.domains[1].successful, 50);
        CHECK_NUM(t.domains[1].failed, 0);
    }
    CHECK_NUM(t.result_count, 2);
    if (t.result_count == 2) {
        CHECK_STR(t.results[0].result_type, "certificate-expired");
        CHECK_STR(t.results[0].receiving_mx, "mx1.example.com");
        CHECK_NUM(t.results[0].sessions, 6);
        CHECK_STR(t.results[1].result_type, "starttls-not-supported");
        CHECK_NUM(t.results[1].sessions, 1);
    }
    ms_store_tls_summary_free(&t);
    f = (ms_store_filter){.domain = "example.org"};
    CHECK(ms_store_tls_summary_get(s, &f, &t) == MS_OK, "%s", ms_store_error(s));
    CHECK_NUM(t.domain_count, 1);
    CHECK_NUM(t.result_count, 0);
    ms_store_tls_summary_free(&t);
}

static void test_reads(void)
{
    char *url;
    ms_store *s = read_fixture(&url);
    test_summary(s);
    test_sources(s);
    test_list_show(s);
    test_export(s);
    test_failure_tls_views(s);
    ms_store_close(s);
    free(url);
}

static void test_bad_url(void)
{
    ms_store *s = NULL;
    char *err = NULL;
    CHECK(ms_store_open("sqlite:/nonexistent-dir/x/y.db", &s, &err) == MS_ERR_IO && s == NULL,
          "unopenable path");
    CHECK(err && strstr(err, "/nonexistent-dir/x/y.db"), "error names the path: %s", err ? err : "");
    free(err);
    err = NULL;
    if (pg_base) {
        CHECK(ms_store_open("postgresql://postgres@127.0.0.1:1/none", &s, &err) == MS_ERR_IO,
              "unreachable server");
        CHECK(err && strstr(err, "connecting"), "error: %s", err ? err : "");
        free(err);
    }
}

/* ---- Hostile values: the report's failure, never the store's ------------ */

/* A count beyond MS_REPORT_COUNT_MAX, a TLS report whose sessions would
 * pass int64, failure Incidents of 2^64 - 1: each refused as the report's
 * fault (MS_ERR_LIMIT), nothing of it stored, and the store goes on with
 * the next report. Counts at the bound are stored exactly. */
static void test_bounds(void)
{
    char *url = new_db();
    ms_store *s = open_or_die(url);
    static const uint64_t beyond[] = {MS_REPORT_COUNT_MAX + 1, (uint64_t)1 << 63, UINT64_MAX};
    for (size_t i = 0; i < sizeof beyond / sizeof beyond[0]; i++) {
        char id[16];
        snprintf(id, sizeof id, "huge%zu", i);
        ms_report_agg_meta m = meta("poison.example", id, "example.com", 1700000000, 1700086399);
        ms_report_agg_record ok = record("192.0.2.1", 1, "none", "pass", "pass", "example.com");
        ms_report_agg_record bad = record("192.0.2.2", beyond[i], "none", "pass", "pass", "example.com");
        int dup = -1;
        CHECK(ms_store_agg_begin(s, &m, &origin, &dup) == MS_OK && !dup, "begin: %s", ms_store_error(s));
        CHECK(ms_store_agg_record(s, &ok) == MS_OK, "a good record: %s", ms_store_error(s));
        ms_status st = ms_store_agg_record(s, &bad);
        CHECK(st == MS_ERR_LIMIT && ms_store_report_fault(st), "count %llu: status %d (%s)",
              (unsigned long long)beyond[i], st, ms_store_error(s));
        CHECK(strstr(ms_store_error(s), "count") != NULL, "the reason names the count: %s",
              ms_store_error(s));
        ms_store_rollback(s);
    }
    /* at the bound, many records: stored, the total exact */
    ms_report_agg_meta m = meta("bound.example", "at-bound", "example.com", 1700000000, 1700086399);
    ms_report_agg_record rec = record("192.0.2.3", MS_REPORT_COUNT_MAX, "none", "pass", "pass", "example.com");
    ms_report_agg_record recs[8];
    for (int i = 0; i < 8; i++)
        recs[i] = rec;
    CHECK_NUM(store_agg(s, &m, recs, 8), 0);

    ms_report_tlsrpt_policy pol[2] = {
        {.policy_type = "sts", .policy_domain = "example.com", .successful = (uint64_t)INT64_MAX,
         .failed = 1},
        {.policy_type = "sts", .policy_domain = "example.com", .successful = 1},
    };
    ms_report_tlsrpt tls = {.org_name = "tls.example", .report_id = "wrap", .begin = 1, .end = 2,
                            .policies = pol, .policy_count = 2};
    int dup = -1;
    ms_status st = ms_store_put_tlsrpt(s, &tls, &origin, NULL, 0, &dup);
    CHECK(ms_store_report_fault(st), "TLS sessions 2^63: status %d (%s)", st, ms_store_error(s));
    ms_report_failure f = {.reported_domain = "example.com", .reporting_mta = "mta.example",
                           .incidents = UINT64_MAX};
    st = ms_store_put_failure(s, &f, "<huge@reporter.example>", &origin, NULL, 0, &dup);
    CHECK(ms_store_report_fault(st), "Incidents 2^64-1: status %d (%s)", st, ms_store_error(s));

    /* the store goes on */
    ms_report_agg_meta next = meta("good.example", "after", "example.com", 1700000000, 1700086399);
    ms_report_agg_record one = record("192.0.2.4", 7, "none", "pass", "pass", "example.com");
    CHECK_NUM(store_agg(s, &next, &one, 1), 0);
    CHECK(ms_store_sync(s) == MS_OK, "sync: %s", ms_store_error(s));
    CHECK_NUM(sql_number(url, "SELECT COUNT(*) FROM reports"), 2);
    CHECK_NUM(sql_number(url, "SELECT messages FROM reports WHERE report_id = 'at-bound'"),
              8 * (long long)MS_REPORT_COUNT_MAX);
    CHECK_NUM(sql_number(url, "SELECT COUNT(*) FROM agg_records WHERE count < 0 OR count > 4294967295"), 0);
    ms_store_close(s);
    free(url);
}

/* Data the database itself refuses is the report's fault too: on
 * PostgreSQL an org name too long for the identity index (SQLSTATE 54000)
 * or invalid UTF-8 (22021); SQLite takes both. Either way the store goes
 * on. A lost connection is the store's fault. */
static void test_refused_data(void)
{
    char *url = new_db();
    ms_store *s = open_or_die(url);
    char *long_org = malloc(4001);
    unsigned x = 12345;
    for (int i = 0; i < 4000; i++) {
        x = x * 1103515245 + 12345; /* incompressible: no index compression saves it */
        long_org[i] = "abcdefghijklmnopqrstuvwxyz0123456789"[(x >> 16) % 36];
    }
    long_org[4000] = '\0';
    const char *orgs[] = {long_org, "bad \xff\xfe utf-8"};
    for (size_t i = 0; i < 2; i++) {
        ms_report_agg_meta m = meta(orgs[i], "refused", "example.com", 1700000000, 1700086399);
        int dup = -1;
        ms_status st = ms_store_agg_begin(s, &m, &origin, &dup);
        if (pg_base)
            CHECK(ms_store_report_fault(st), "org %zu on PostgreSQL: status %d (%s)", i, st, ms_store_error(s));
        else
            CHECK(st == MS_OK, "org %zu on SQLite: %s", i, ms_store_error(s));
        if (st == MS_OK)
            CHECK(ms_store_commit(s) == MS_OK, "commit: %s", ms_store_error(s));
    }
    ms_report_agg_meta m = meta("good.example", "after-refused", "example.com", 1700000000, 1700086399);
    ms_report_agg_record one = record("192.0.2.4", 7, "none", "pass", "pass", "example.com");
    CHECK_NUM(store_agg(s, &m, &one, 1), 0);
    CHECK(ms_store_sync(s) == MS_OK, "sync: %s", ms_store_error(s));
    CHECK_NUM(sql_number(url, "SELECT COUNT(*) FROM reports WHERE report_id = 'after-refused'"), 1);
    if (pg_base) {
        PGconn *c = PQconnectdb(url);
        PQclear(PQexec(c, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                          " WHERE datname = current_database() AND pid <> pg_backend_pid()"));
        PQfinish(c);
        ms_report_agg_meta lost = meta("good.example", "lost", "example.com", 1700000000, 1700086399);
        int dup = -1;
        ms_status st = ms_store_agg_begin(s, &lost, &origin, &dup);
        CHECK(st != MS_OK && !ms_store_report_fault(st), "a lost connection: status %d (%s)", st,
              ms_store_error(s));
    }
    ms_store_close(s);
    free(long_org);
    free(url);
}

/* One rejected row per distinct bad input: the same key again counts it. */
static void test_rejected_once(void)
{
    char *url = new_db();
    ms_store *s = open_or_die(url);
    ms_report_error err = {.message = "mismatched tag", .line = 3, .column = 1, .offset = 40};
    for (int run = 0; run < 3; run++)
        CHECK(ms_store_put_rejected(s, &origin, "aggregate", &err, "key-a") == MS_OK, "%s", ms_store_error(s));
    CHECK(ms_store_put_rejected(s, &origin, "aggregate", &err, "key-b") == MS_OK, "%s", ms_store_error(s));
    CHECK(ms_store_sync(s) == MS_OK, "sync: %s", ms_store_error(s));
    CHECK_NUM(sql_number(url, "SELECT COUNT(*) FROM rejected"), 2);
    CHECK_NUM(sql_number(url, "SELECT seen_count FROM rejected WHERE input_key = 'key-a'"), 3);
    ms_store_close(s);
    free(url);
}

/* Version 1's rejected rows, one per run, folded by migration 2 into one
 * per origin, kind, reason and position, seen_count how many there were. */
static void test_rejected_migration(void)
{
    char *url = new_db();
    sql_exec(url, "CREATE TABLE schema_version (version INTEGER NOT NULL PRIMARY KEY,"
                  " applied_at BIGINT NOT NULL)");
    sql_exec(url, "INSERT INTO schema_version VALUES (1, 0)");
    /* the columns of reports and agg_records that migrations 2 and 3 read */
    sql_exec(url, "CREATE TABLE reports (id BIGINT PRIMARY KEY, kind TEXT, org TEXT, domain TEXT,"
                  " date_begin BIGINT, date_end BIGINT, messages BIGINT, p TEXT, sp TEXT, np TEXT,"
                  " pct TEXT, adkim TEXT, aspf TEXT, fo TEXT, testing TEXT)");
    sql_exec(url, "CREATE TABLE agg_records (report BIGINT, seq BIGINT, source_ip TEXT, count BIGINT,"
                  " disposition TEXT, dkim TEXT, spf TEXT, reasons TEXT, header_from TEXT,"
                  " spf_domain TEXT, dkim_domain TEXT, dkim_pass SMALLINT, spf_pass SMALLINT,"
                  " auth_more TEXT)");
    sql_exec(url, "CREATE TABLE rejected (id BIGINT PRIMARY KEY, origin TEXT, origin_file TEXT,"
                  " kind TEXT, reason TEXT, line BIGINT, col BIGINT, byte_offset BIGINT,"
                  " rejected_at BIGINT NOT NULL)");
    sql_exec(url, "INSERT INTO rejected VALUES (1, 'in/a.xml', 'in/a.xml', 'aggregate', 'bad', 3, 1, 40, 100),"
                  " (2, 'in/a.xml', 'in/a.xml', 'aggregate', 'bad', 3, 1, 40, 200),"
                  " (3, 'in/a.xml', 'in/a.xml', 'aggregate', 'bad', 3, 1, 40, 300),"
                  " (4, NULL, NULL, 'tls', 'worse', NULL, NULL, NULL, 400)");
    char *fresh_url = new_db(); /* the latest version: what a new store gets */
    ms_store *fresh = open_or_die(fresh_url);
    int latest = ms_store_schema_version(fresh);
    ms_store_close(fresh);
    free(fresh_url);
    ms_store *s = open_or_die(url);
    CHECK_NUM(ms_store_schema_version(s), latest);
    ms_store_close(s);
    CHECK_NUM(sql_number(url, "SELECT COUNT(*) FROM rejected"), 2);
    CHECK_NUM(sql_number(url, "SELECT seen_count * 1000000 + rejected_at * 1000 + last_seen FROM rejected"
                              " WHERE origin = 'in/a.xml'"),
              3000000 + 100000 + 300);
    CHECK_NUM(sql_number(url, "SELECT seen_count FROM rejected WHERE kind = 'tls'"), 1);
    free(url);
}

/* The same identity with other content: kept as first stored, the
 * conflict recorded once per differing content. */
static void test_conflicts(void)
{
    char *url = new_db();
    ms_store *s = open_or_die(url);
    ms_report_agg_meta m = meta("google.com", "c1", "example.com", 1700000000, 1700086399);
    ms_report_agg_record one = record("192.0.2.1", 1, "none", "pass", "pass", "example.com");
    int dup = -1, conflicting = -1;
    CHECK(ms_store_agg_begin(s, &m, &origin, &dup) == MS_OK && !dup, "begin");
    CHECK(ms_store_agg_record(s, &one) == MS_OK, "%s", ms_store_error(s));
    CHECK(ms_store_agg_digest(s, "digest-1", NULL, NULL) == MS_OK, "%s", ms_store_error(s));
    CHECK(ms_store_commit(s) == MS_OK, "%s", ms_store_error(s));
    const char *again[] = {"digest-1", "digest-999", "digest-999"};
    const int want[] = {0, 1, 1};
    for (int i = 0; i < 3; i++) {
        CHECK(ms_store_agg_begin(s, &m, &origin, &dup) == MS_OK && dup, "again %d: dup %d", i, dup);
        CHECK(ms_store_agg_digest(s, again[i], &origin, &conflicting) == MS_OK, "%s", ms_store_error(s));
        CHECK_NUM(conflicting, want[i]);
    }
    CHECK(ms_store_sync(s) == MS_OK, "sync: %s", ms_store_error(s));
    CHECK_NUM(sql_number(url, "SELECT COUNT(*) FROM conflicts"), 1);
    CHECK_NUM(sql_number(url, "SELECT seen_count FROM conflicts WHERE digest = 'digest-999'"), 2);
    CHECK_NUM(sql_number(url, "SELECT messages FROM reports WHERE report_id = 'c1'"), 1);
    ms_store_close(s);
    free(url);
}

/* The extreme values of the fuzz harness (store_extremes.h), each table
 * entry in turn, through the write API and every view: on PostgreSQL
 * this is where they meet the real server. */
static void test_extremes(void)
{
    char *url = new_db();
    ms_store *s = open_or_die(url);
    for (unsigned kind = 0; kind < 3; kind++) {
        for (unsigned v = 0; v < 8; v++) {
            uint8_t script[64];
            script[0] = (uint8_t)kind;
            for (size_t i = 1; i < sizeof script; i++)
                script[i] = (uint8_t)(v + i * (kind + 1)); /* every field walks through its table */
            const char *why = extremes_run(s, script, sizeof script);
            CHECK(why == NULL, "kind %u, values %u: %s (%s)", kind, v, why ? why : "", ms_store_error(s));
        }
    }
    ms_store_close(s);
    free(url);
}

/* Stores one aggregate report of these records. */
static void put_report(ms_store *s, const ms_report_agg_meta *m, const ms_report_agg_record *recs, size_t n)
{
    int dup = 0;
    CHECK(ms_store_agg_begin(s, m, &origin, &dup) == MS_OK && !dup, "begin %s: %s", m->report_id,
          ms_store_error(s));
    for (size_t i = 0; i < n; i++)
        CHECK(ms_store_agg_record(s, &recs[i]) == MS_OK, "record: %s", ms_store_error(s));
    CHECK(ms_store_commit(s) == MS_OK, "commit %s: %s", m->report_id, ms_store_error(s));
}

static int count_sources(void *arg, const ms_store_source *src)
{
    (void)src;
    (*(int *)arg)++;
    return 0;
}

/* The time series, the policy over time and one source over time, from
 * the rollups (whole days) and from the records (a window with a time of
 * day), and the top sources with the others summed. */
static void test_rollup_views(void)
{
    enum { D = 1700006400 }; /* 2023-11-15 00:00 UTC */
    char *url = new_db();
    ms_store *s = open_or_die(url);
    ms_report_agg_record day1[] = {record("192.0.2.1", 10, "none", "pass", "pass", "example.com"),
                            record("192.0.2.2", 3, "quarantine", "fail", "fail", "example.com")};
    ms_report_agg_record day2[] = {record("192.0.2.1", 5, "none", "pass", "fail", "example.com"),
                            record("192.0.2.2", 4, "reject", "fail", "fail", "example.com")};
    ms_report_agg_meta a = meta("a.example", "a", "Example.COM", D + 3600, D + 86399);
    ms_report_agg_meta b = meta("b.example", "b", "example.com", D + 7200, D + 86399);
    ms_report_agg_meta c = meta("a.example", "c", "example.com", D + 86400 + 60, D + 2 * 86400 - 1);
    c.p = "quarantine";
    c.pct = "50";
    put_report(s, &a, day1, 2);
    put_report(s, &b, day1, 1);
    put_report(s, &c, day2, 2);
    CHECK(ms_store_sync(s) == MS_OK, "sync: %s", ms_store_error(s));

    ms_store_filter whole = {"example.com", 0, 0}, records = {"example.com", 1, 0};
    const ms_store_filter *filters[] = {&whole, &records};
    for (size_t f = 0; f < 2; f++) {
        ms_store_day_row *days = NULL;
        size_t n = 0;
        CHECK(ms_store_daily(s, filters[f], &days, &n) == MS_OK, "daily: %s", ms_store_error(s));
        CHECK_NUM(n, 2);
        if (n == 2) {
            CHECK_STR(days[0].domain, "example.com");
            CHECK_NUM(days[0].day, D);
            CHECK_NUM(days[0].reports, 2);
            CHECK_NUM(days[0].messages, 23);
            CHECK_NUM(days[0].dmarc_pass, 20);
            CHECK_NUM(days[0].spf_aligned, 20);
            CHECK_NUM(days[0].none, 20);
            CHECK_NUM(days[0].quarantine, 3);
            CHECK_NUM(days[1].day, D + 86400);
            CHECK_NUM(days[1].messages, 9);
            CHECK_NUM(days[1].spf_aligned, 0);
            CHECK_NUM(days[1].dkim_aligned, 5);
            CHECK_NUM(days[1].reject, 4);
        }
        ms_store_daily_free(days, n);

        ms_store_policy_row *pol = NULL;
        CHECK(ms_store_policy_history(s, filters[f], &pol, &n) == MS_OK, "policy: %s", ms_store_error(s));
        CHECK_NUM(n, 2);
        if (n == 2) {
            CHECK_STR(pol[0].p, "none");
            CHECK_STR(pol[0].pct, "100");
            CHECK(pol[0].np == NULL, "np: %s, want NULL (not published)", pol[0].np);
            CHECK_NUM(pol[0].first, D + 3600);
            CHECK_NUM(pol[0].last, D + 86399);
            CHECK_NUM(pol[0].reports, 2);
            CHECK_NUM(pol[0].reporters, 2);
            CHECK_STR(pol[1].p, "quarantine");
            CHECK_STR(pol[1].pct, "50");
            CHECK_NUM(pol[1].first, D + 86400 + 60);
            CHECK_NUM(pol[1].reporters, 1);
        }
        ms_store_policy_history_free(pol, n);

        ms_store_source_day *sd = NULL;
        CHECK(ms_store_source_daily(s, filters[f], "192.0.2.2", &sd, &n) == MS_OK, "source daily: %s",
              ms_store_error(s));
        CHECK_NUM(n, 2);
        if (n == 2) {
            CHECK_NUM(sd[0].day, D);
            CHECK_NUM(sd[0].messages, 3);
            CHECK_NUM(sd[0].failing, 3);
            CHECK_NUM(sd[1].messages, 4);
        }
        ms_store_source_daily_free(sd, n);
    }

    /* the second day alone, from the rollups and from the records */
    ms_store_filter day2only = {NULL, D + 86400, D + 2 * 86400}, day2records = {NULL, D + 86399, 0};
    const ms_store_filter *windows[] = {&day2only, &day2records};
    for (size_t f = 0; f < 2; f++) {
        ms_store_source_rest rest;
        int shown = 0;
        CHECK(ms_store_sources_top(s, windows[f], 1, count_sources, &shown, &rest) == MS_OK,
              "top: %s", ms_store_error(s));
        CHECK_NUM(shown, 1);
        CHECK_NUM(rest.sources, 1);
        CHECK_NUM(rest.messages, 4); /* 192.0.2.1 (5) shown, 192.0.2.2 (4) the rest */
        CHECK_NUM(rest.failing, 4);
    }
    ms_store_source_rest rest;
    int shown = 0;
    CHECK(ms_store_sources_top(s, NULL, 0, count_sources, &shown, &rest) == MS_OK, "all: %s",
          ms_store_error(s));
    CHECK_NUM(shown, 2);
    CHECK_NUM(rest.sources, 0);
    CHECK_NUM(rest.messages, 0);
    ms_store_close(s);
    free(url);
}

/* ---- SQLite: checkpoints on a thread of their own --------------------------- */

/* about 12 MB of log: past its checkpoint threshold (4 MB), short of its bound (64 MiB) */
enum { CKPT_REPORTS = 12, CKPT_RECORDS = 2000, CKPT_COPIED_BYTES = 1 << 20 };

static long long file_bytes(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (long long)st.st_size : 0;
}

/* Reports of new sources, each committed (ms_store_sync); then waits up
 * to 20 s for the database file to grow by CKPT_COPIED_BYTES: until the
 * store closes, only a checkpoint writes to it (every commit goes to the
 * log), and one copies at least the threshold's worth (4 MB of log).
 * Returns 1 when it did, with the thread count after one small report in
 * *threads_small and once the log was past its threshold in *threads_big. */
static int checkpointed_while_open(const char *url, int *threads_small, int *threads_big)
{
    const char *path = url + strlen("sqlite:");
    ms_store *s = open_or_die(url);
    long long start = file_bytes(path);
    if (store_numbered(s, 999, 10) != 0 || ms_store_sync(s) != MS_OK)
        return 0;
    *threads_small = test_threads_of_this_process();
    for (int i = 0; i < CKPT_REPORTS; i++)
        if (store_numbered(s, 1000 + i, CKPT_RECORDS) != 0 || ms_store_sync(s) != MS_OK)
            return 0;
    *threads_big = test_threads_of_this_process();
    int copied = 0;
    for (int waited = 0; !copied && waited < 2000; waited++) {
        copied = file_bytes(path) - start >= CKPT_COPIED_BYTES;
        if (!copied)
            usleep(10 * 1000);
    }
    ms_store_close(s);
    return copied;
}

/* A store open for writing starts one thread more once its log passes the
 * checkpoint threshold (not for a small report), which copies the log back
 * into the database file as the commits come (the writer's automatic
 * checkpoint is off: were the thread's checkpoints to do nothing, the file
 * would stay as it was until the store is closed); closing the store ends
 * it. With no thread to be had, the writer checkpoints as SQLite does by
 * default (in a child, whose every new thread asks for a stack no address
 * space holds). A store opened for reading has no such thread. A new
 * store has pages of 16 KiB; an older one keeps its own. */
static void test_checkpoints(void)
{
    if (pg_base != NULL)
        return; /* SQLite's */
    int before = test_threads_of_this_process(), small = -1, big = -1;
    char *url = new_db();
    CHECK(checkpointed_while_open(url, &small, &big), "the log was copied back while open");
    CHECK_NUM(small, before);
    CHECK_NUM(big, before + 1);
    CHECK_NUM(test_threads_of_this_process(), before);
    ms_store *r = NULL;
    char *err = NULL;
    CHECK(ms_store_open_read(url, &r, &err) == MS_OK, "open for reading: %s", err ? err : "?");
    CHECK_NUM(test_threads_of_this_process(), before);
    ms_store_close(r);
    CHECK_NUM(sql_number(url, "PRAGMA page_size"), 16384); /* a new store's */
    free(url);

    /* A store made with SQLite's default pages keeps them, and its
     * thresholds, bytes of log, are as many more pages. */
    url = new_db();
    sql_exec(url, "PRAGMA page_size=4096; CREATE TABLE t (x); DROP TABLE t");
    CHECK(checkpointed_while_open(url, &small, &big), "4 KiB pages: the log copied back while open");
    CHECK_NUM(big, before + 1);
    CHECK_NUM(sql_number(url, "PRAGMA page_size"), 4096);
    free(url);

    url = new_db();
    pid_t pid = fork();
    if (pid == 0) {
        if (test_refuse_new_threads() != 0)
            _exit(3);
        int threads = test_threads_of_this_process(), after_small = -1, after_big = -1;
        int copied = checkpointed_while_open(url, &after_small, &after_big);
        _exit(copied && after_small == threads && after_big == threads ? 0 : 1);
    }
    int status = -1;
    CHECK(pid > 0 && waitpid(pid, &status, 0) == pid, "fork and wait");
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0,
          "without threads: the writer checkpoints (status %d)", status);
    free(url);
}

/* The rollups are summed in memory, as the database reads the records
 * (its LOWER of the domain: PostgreSQL's lowers more than ASCII; the
 * override reasons byte for byte in both, rollup.h's FORWARDED). A source
 * of a domain written with a non-ASCII capital, whose record's override
 * reason is written with a capital (as the parser would never store it):
 * the views must answer the same from the rollups (whole days) as from
 * the records. */
static void test_rollups_as_read(void)
{
    enum { D = 1700006400 };
    char *url = new_db();
    ms_store *s = open_or_die(url);
    ms_report_agg_record r[] = {record("192.0.2.9", 7, "none", "fail", "pass", "example.net")};
    add_reason(&r[0], "Forwarded", NULL);
    ms_report_agg_meta m = meta("a.example", "case", "\xc3\x89XAMPLE.net", D + 3600, D + 86399);
    put_report(s, &m, r, 1);
    CHECK(ms_store_sync(s) == MS_OK, "sync: %s", ms_store_error(s));
    ms_store_filter whole = {"\xc3\x89XAMPLE.net", 0, 0}, records = {"\xc3\x89XAMPLE.net", 1, 0};
    ms_store_source_day *from_rollups = NULL, *from_records = NULL;
    size_t n_rollups = 0, n_records = 0;
    CHECK(ms_store_source_daily(s, &whole, "192.0.2.9", &from_rollups, &n_rollups) == MS_OK,
          "source daily: %s", ms_store_error(s));
    CHECK(ms_store_source_daily(s, &records, "192.0.2.9", &from_records, &n_records) == MS_OK,
          "source daily: %s", ms_store_error(s));
    CHECK_NUM(n_records, 1);
    CHECK_NUM(n_rollups, n_records);
    if (n_rollups == 1 && n_records == 1) {
        CHECK_NUM(from_records[0].messages, 7);
        CHECK_NUM(from_rollups[0].messages, from_records[0].messages);
        CHECK_NUM(from_rollups[0].forwarded, from_records[0].forwarded);
    }
    ms_store_source_daily_free(from_rollups, n_rollups);
    ms_store_source_daily_free(from_records, n_records);
    ms_store_close(s);
    free(url);
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    const char *info = getenv("MAILSEC_STORE_PG_INFO");
    if (info != NULL && info[0] != '\0') {
        pg_base = pg_url_from_info();
        if (pg_base == NULL) {
            printf("FATAL: no URL in %s (is the store-pgsql fixture running?)\n", info);
            return 1;
        }
    }
    if (mkdtemp(tmpdir) == NULL)
        return 1;
    printf("backend: %s\n", pg_base ? pg_base : "sqlite");
    static const check_test tests[] = {
        {"migrations", test_migrations},
        {"default path", test_default_path},
        {"exactly once", test_exactly_once},
        {"rollback", test_rollback},
        {"reports grouped", test_group},
        {"a group's time", test_group_time},
        {"waiting on the same report", test_race},
        {"concurrent migrations", test_concurrent_migrations},
        {"concurrent ingest", test_concurrent},
        {"killed mid-report", test_killed},
        {"read queries", test_reads},
        {"bad URLs", test_bad_url},
        {"counts beyond the bounds", test_bounds},
        {"data the database refuses", test_refused_data},
        {"rejected once per input", test_rejected_once},
        {"rejected rows of version 1 folded", test_rejected_migration},
        {"conflicting duplicates", test_conflicts},
        {"extreme values through the views", test_extremes},
        {"the views of the rollups", test_rollup_views},
        {"checkpoints on a thread of their own", test_checkpoints},
        {"the rollups as the database reads the records", test_rollups_as_read},
    };
    run_checks(tests, sizeof tests / sizeof tests[0]);
    char cmd[256];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    if (system(cmd) != 0)
        printf("note: could not remove %s\n", tmpdir);
    printf("%d failure(s)\n", failures);
    return failures ? 1 : 0;
}
