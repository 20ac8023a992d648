/* The SQLite store sums an aggregate report's rollups per source, and
 * its names (the auth_more ones: the DKIM and SPF domains after the first
 * of each kind), in memory, and adds them to the group's once the report's
 * savepoint is released (rollup_mem.c). A report given up with
 * ms_store_rollback after some of its records, first in its group or not,
 * must leave none of them for the next report's commit to add, whatever
 * that report's kind; a committed report's names are there after
 * ms_store_sync.
 *
 *   store-names-rollback   (a SQLite store in a temporary directory)
 */
#include "mailsec/store.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "unit/check.h"

static const ms_report_origin origin = {.path = "test", .file = "test"};
enum { DAY = 1700006400 };

/* A record from ip whose second DKIM result names signer. */
static ms_report_agg_record record_signed_by(const char *ip, const char *signer)
{
    ms_report_agg_record r = {.source_ip = ip, .count = 3, .disposition = "none",
                              .dkim = "pass", .spf = "pass", .header_from = "rollup.example"};
    r.dkim_results[0] = (ms_report_agg_auth){.domain = "rollup.example", .result = "pass"};
    r.dkim_results[1] = (ms_report_agg_auth){.domain = signer, .result = "pass"};
    r.dkim_count = 2;
    r.spf_results[0] = (ms_report_agg_auth){.domain = "rollup.example", .result = "pass"};
    r.spf_count = 1;
    return r;
}

static ms_status begin_report(ms_store *s, const char *id)
{
    ms_report_agg_meta m = {.org_name = "one.example", .email = "r@one.example",
                            .report_id = id, .begin = DAY, .end = DAY + 86399,
                            .domain = "rollup.example", .p = "none"};
    int duplicate = 0;
    ms_status st = ms_store_agg_begin(s, &m, &origin, &duplicate);
    CHECK(!duplicate, "report %s: a duplicate", id);
    return st;
}

static long long count_name(const char *path, const char *name)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *q = NULL;
    long long n = -1;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
        sqlite3_prepare_v2(db, "SELECT COUNT(*) FROM rollup_source_days"
                           " WHERE instr(char(10) || names || char(10), char(9) || ?1 || char(10)) > 0", -1, &q,
                           NULL) == SQLITE_OK &&
        sqlite3_bind_text(q, 1, name, -1, SQLITE_STATIC) == SQLITE_OK &&
        sqlite3_step(q) == SQLITE_ROW)
        n = sqlite3_column_int64(q, 0);
    else
        printf("note: counting %s: %s\n", name, sqlite3_errmsg(db));
    sqlite3_finalize(q);
    sqlite3_close(db);
    return n;
}

int main(void)
{
    char dir[] = "/tmp/names-rollback.XXXXXX";
    if (mkdtemp(dir) == NULL)
        return 2;
    char path[64], url[80];
    snprintf(path, sizeof path, "%s/store.db", dir);
    snprintf(url, sizeof url, "sqlite:%s", path);
    ms_store *s;
    char *err = NULL;
    if (ms_store_open(url, &s, &err) != MS_OK) {
        printf("FATAL open %s: %s\n", url, err ? err : "");
        return 1;
    }

    /* given up after its first record */
    ms_report_agg_record rec = record_signed_by("192.0.2.99", "given-up.example");
    CHECK_NUM(begin_report(s, "given-up"), MS_OK);
    CHECK_NUM(ms_store_agg_record(s, &rec), MS_OK);
    ms_store_rollback(s);

    /* then a TLS report: its commit adds no aggregate report's names */
    ms_report_tlsrpt_policy policy = {.policy_type = "sts", .policy_domain = "rollup.example",
                                      .successful = 10};
    ms_report_tlsrpt tls = {.org_name = "tls.example", .report_id = "t1", .begin = DAY,
                            .end = DAY + 86399, .policies = &policy, .policy_count = 1};
    int duplicate = 0;
    CHECK_NUM(ms_store_put_tlsrpt(s, &tls, &origin, "", 0, &duplicate), MS_OK);

    /* then an aggregate report given up inside the group (its savepoint
     * rolled back), another TLS report, one aggregate report committed */
    CHECK_NUM(begin_report(s, "given-up-2"), MS_OK);
    CHECK_NUM(ms_store_agg_record(s, &rec), MS_OK);
    ms_store_rollback(s);
    tls.report_id = "t2";
    CHECK_NUM(ms_store_put_tlsrpt(s, &tls, &origin, "", 0, &duplicate), MS_OK);
    rec = record_signed_by("192.0.2.10", "kept.example");
    CHECK_NUM(begin_report(s, "kept"), MS_OK);
    CHECK_NUM(ms_store_agg_record(s, &rec), MS_OK);
    CHECK_NUM(ms_store_commit(s), MS_OK);
    CHECK_NUM(ms_store_sync(s), MS_OK);

    CHECK_NUM(count_name(path, "given-up.example"), 0);
    CHECK_NUM(count_name(path, "kept.example"), 1);
    ms_store_close(s);

    char wal[80], shm[80];
    snprintf(wal, sizeof wal, "%s-wal", path);
    snprintf(shm, sizeof shm, "%s-shm", path);
    unlink(wal);
    unlink(shm);
    unlink(path);
    rmdir(dir);
    printf("%s\n", failures ? "FAIL" : "ok");
    return failures != 0;
}
