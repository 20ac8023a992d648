/* The store's write path, measured (docs/store.md, "Speed"):
 *
 *   parse        ms_report_agg_parser over one generated aggregate report of
 *                RECORDS records, callbacks doing nothing
 *   parse+sqlite the same, every record stored through ms_store (SQLite)
 *   parse+pgsql  the same into PostgreSQL (when a server URL is given)
 *   sqlite/pgsql ms_store alone, records built in memory: one report of
 *                RECORDS records, and RECORDS/100 reports of 100 records
 *   layout       raw SQLite, the two table layouts considered for
 *                agg_records: auth results inline (one INSERT per record,
 *                the store's choice) against a record table plus one row
 *                per auth result (three INSERTs per record)
 *
 *   cc -O2 -std=c17 -D_DEFAULT_SOURCE -Wall -Wextra -Iinclude $(pkg-config --cflags libpq) bench/report/store_bench.c \
 *      -LBUILD/lib -lmailsec -lsqlite3 -lpq -Wl,-rpath,BUILD/lib -o /tmp/store_bench
 *   /tmp/store_bench [RECORDS [postgresql://USER@HOST:PORT/DB]]
 *
 * The PostgreSQL URL names a database the bench may create databases
 * from (it makes store_bench_PID and drops it at the end); no URL, no
 * PostgreSQL rows. Times are wall clock, best of ROUNDS; the SQLite file
 * lives under $TMPDIR (use a real disk, not tmpfs, for honest numbers).
 * Not a test: it measures and prints, judging only the ratio target. */
#include "mailsec/report.h"
#include "mailsec/store.h"

#include <libpq-fe.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

enum { ROUNDS = 3, SMALL_REPORT = 100 };

/* Time is CPU seconds: this process's, plus the PostgreSQL server
 * process serving the store when there is one (found through
 * pg_stat_activity, read from /proc: the server runs on this machine).
 * On a shared machine CPU time moves much less than the wall clock;
 * wall seconds are printed beside. */
static int server_pid; /* the backend serving the store being measured, or 0 */

static double server_cpu(void)
{
    if (server_pid == 0)
        return 0;
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", server_pid);
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return 0;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    const char *p = strrchr(buf, ')'); /* fields after the command name */
    unsigned long utime = 0, stime = 0;
    if (p == NULL || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu",
                            &utime, &stime) != 2)
        return 0;
    return (double)(utime + stime) / (double)sysconf(_SC_CLK_TCK);
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9 + server_cpu();
}

static double wall(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void die(const char *what, const char *why)
{
    fprintf(stderr, "store_bench: %s: %s\n", what, why ? why : "");
    exit(2);
}

/* ---- A realistic report ------------------------------------------------ */

static char *make_xml(long records, size_t *len)
{
    size_t cap = 1024 + (size_t)records * 900;
    char *x = malloc(cap), *p = x;
    if (x == NULL)
        die("malloc", "out of memory");
    p += sprintf(p, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<feedback>\n"
                    "<version>1.0</version>\n<report_metadata><org_name>google.com</org_name>"
                    "<email>noreply-dmarc-support@google.com</email>"
                    "<extra_contact_info>https://support.google.com/a/answer/2466580</extra_contact_info>"
                    "<report_id>%ld</report_id><date_range><begin>1700006400</begin>"
                    "<end>1700092799</end></date_range></report_metadata>\n"
                    "<policy_published><domain>example.com</domain><adkim>r</adkim><aspf>r</aspf>"
                    "<p>quarantine</p><sp>quarantine</sp><pct>100</pct><np>quarantine</np>"
                    "</policy_published>\n",
                 (long)getpid());
    for (long i = 0; i < records; i++) {
        int pass = i % 4 != 3;
        p += sprintf(p,
                     "<record><row><source_ip>10.%ld.%ld.%ld</source_ip><count>%ld</count>"
                     "<policy_evaluated><disposition>%s</disposition><dkim>%s</dkim>"
                     "<spf>%s</spf></policy_evaluated></row>"
                     "<identifiers><header_from>example.com</header_from></identifiers>"
                     "<auth_results><dkim><domain>%s</domain><selector>s%ld</selector>"
                     "<result>%s</result></dkim><spf><domain>%s</domain><scope>mfrom</scope>"
                     "<result>%s</result></spf></auth_results></record>\n",
                     (i >> 16) & 255, (i >> 8) & 255, i & 255, 1 + i % 7,
                     pass ? "none" : "quarantine", pass ? "pass" : "fail",
                     pass ? "pass" : "fail", pass ? "example.com" : "mailer.example.net",
                     i % 3, pass ? "pass" : "fail",
                     pass ? "example.com" : "bounce.mailer.example.net",
                     pass ? "pass" : "softfail");
    }
    p += sprintf(p, "</feedback>\n");
    *len = (size_t)(p - x);
    return x;
}

/* ---- Parse, with or without storing ------------------------------------ */

typedef struct sink {
    ms_store *store;
    int open;
    long records;
} sink;

static int on_begin(void *arg, const ms_report_agg_meta *meta)
{
    sink *s = arg;
    if (s->store == NULL)
        return 0;
    int dup = 0;
    if (ms_store_agg_begin(s->store, meta, NULL, &dup) != MS_OK)
        die("agg_begin", ms_store_error(s->store));
    s->open = !dup;
    return dup ? MS_REPORT_AGG_SKIP : 0;
}

static int on_record(void *arg, const ms_report_agg_record *rec)
{
    sink *s = arg;
    s->records++;
    if (s->open && ms_store_agg_record(s->store, rec) != MS_OK)
        die("agg_record", ms_store_error(s->store));
    return 0;
}

/* Seconds to parse (and store) the document, fed in 64 KiB chunks. */
static double parse_run(const char *xml, size_t len, ms_store *store, long want)
{
    sink s = {store, 0, 0};
    ms_report_agg_callbacks cb = {&s, on_begin, on_record};
    ms_report_agg_parser *p;
    ms_report_error err = {0};
    double t0 = now();
    if (ms_report_agg_parser_new(&cb, &p) != MS_OK)
        die("parser", "cannot create");
    for (size_t off = 0; off < len; off += 65536) {
        size_t n = len - off < 65536 ? len - off : 65536;
        if (ms_report_agg_parser_feed(p, xml + off, n, &err) != MS_OK)
            die("parse", err.message);
    }
    if (ms_report_agg_parser_finish(p, &err) != MS_OK)
        die("parse", err.message);
    ms_report_agg_parser_free(p);
    if (s.open && ms_store_commit(store) != MS_OK)
        die("commit", ms_store_error(store));
    double t = now() - t0;
    if (s.records != want)
        die("parse", "wrong number of records");
    return t;
}

/* ---- Store alone ---------------------------------------------------------- */

static void fill_record(ms_report_agg_record *r, char *ip, long i)
{
    int pass = i % 4 != 3;
    snprintf(ip, 32, "10.%ld.%ld.%ld", (i >> 16) & 255, (i >> 8) & 255, i & 255);
    r->source_ip = ip;
    r->count = 1 + (uint64_t)(i % 7);
    r->disposition = pass ? "none" : "quarantine";
    r->dkim = r->spf = pass ? "pass" : "fail";
    r->header_from = "example.com";
    r->dkim_count = r->spf_count = 1;
    r->dkim_results[0] = (ms_report_agg_auth){.domain = pass ? "example.com" : "mailer.example.net",
                                       .selector = "s1", .result = pass ? "pass" : "fail"};
    r->spf_results[0] = (ms_report_agg_auth){.domain = pass ? "example.com" : "bounce.mailer.example.net",
                                      .scope = "mfrom", .result = pass ? "pass" : "softfail"};
}

/* Seconds to store `records` records as reports of per_report each. */
static double store_run(ms_store *store, long records, long per_report, int round)
{
    static ms_report_agg_record rec; /* large (fixed arrays): not on the stack */
    char ip[32], id[64];
    double t0 = now();
    for (long done = 0, n = 0; done < records; n++) {
        snprintf(id, sizeof id, "bench-%d-%ld-%ld", round, per_report, n);
        ms_report_agg_meta m = {.org_name = "bench.example", .report_id = id, .domain = "example.com",
                         .begin = 1700000000, .end = 1700086399, .p = "none"};
        int dup;
        if (ms_store_agg_begin(store, &m, NULL, &dup) != MS_OK || dup)
            die("agg_begin", ms_store_error(store));
        for (long k = 0; k < per_report && done < records; k++, done++) {
            fill_record(&rec, ip, done);
            if (ms_store_agg_record(store, &rec) != MS_OK)
                die("agg_record", ms_store_error(store));
        }
        if (ms_store_commit(store) != MS_OK)
            die("commit", ms_store_error(store));
    }
    return now() - t0;
}

/* ---- The two layouts, raw SQLite ------------------------------------------ */

static void sq(sqlite3 *db, const char *sql)
{
    char *msg = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK)
        die(sql, msg);
}

static sqlite3_stmt *prep(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
        die(sql, sqlite3_errmsg(db));
    return st;
}

static void step(sqlite3_stmt *st)
{
    if (sqlite3_step(st) != SQLITE_DONE)
        die("step", sqlite3_errmsg(sqlite3_db_handle(st)));
    sqlite3_reset(st);
}

static void bind_texts(sqlite3_stmt *st, int first, const char *const *t, int n)
{
    for (int i = 0; i < n; i++)
        sqlite3_bind_text(st, first + i, t[i], -1, SQLITE_STATIC);
}

/* inline: 0 = auth results in the record row; 1 = separate auth rows. */
static double layout_run(const char *path, long records, int separate)
{
    sqlite3 *db;
    unlink(path);
    if (sqlite3_open(path, &db) != SQLITE_OK)
        die(path, "cannot open");
    sq(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL");
    sq(db, "CREATE TABLE r (report INT, seq INT, ip TEXT, count INT, disposition TEXT, dkim TEXT,"
           " spf TEXT, reasons TEXT, comments TEXT, env_to TEXT, env_from TEXT, hfrom TEXT,"
           " dd TEXT, ds TEXT, dr TEXT, dh TEXT, sd TEXT, ss TEXT, sr TEXT, sh TEXT, dp INT,"
           " sp INT, more TEXT, PRIMARY KEY (report, seq)) WITHOUT ROWID");
    sq(db, "CREATE TABLE a (report INT, seq INT, n INT, kind TEXT, domain TEXT, sel TEXT,"
           " result TEXT, human TEXT, PRIMARY KEY (report, seq, n)) WITHOUT ROWID");
    sqlite3_stmt *ins = prep(db, separate
        ? "INSERT INTO r (report, seq, ip, count, disposition, dkim, spf, hfrom, dp, sp)"
          " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, 0, 0)"
        : "INSERT INTO r VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, NULL, NULL, NULL, NULL, ?8, ?9,"
          " ?10, ?11, NULL, ?12, ?13, ?14, NULL, ?15, ?16, NULL)");
    sqlite3_stmt *auth = prep(db, "INSERT INTO a VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, NULL)");
    static ms_report_agg_record rec;
    char ip[32];
    double t0 = now();
    sq(db, "BEGIN IMMEDIATE");
    for (long i = 0; i < records; i++) {
        fill_record(&rec, ip, i);
        sqlite3_bind_int64(ins, 1, 1);
        sqlite3_bind_int64(ins, 2, i);
        const char *t[] = {rec.source_ip};
        bind_texts(ins, 3, t, 1);
        sqlite3_bind_int64(ins, 4, (sqlite3_int64)rec.count);
        const char *u[] = {rec.disposition, rec.dkim, rec.spf, rec.header_from};
        bind_texts(ins, 5, u, 4);
        if (!separate) {
            const ms_report_agg_auth *d = &rec.dkim_results[0], *s = &rec.spf_results[0];
            const char *v[] = {d->domain, d->selector, d->result, s->domain, s->scope, s->result};
            bind_texts(ins, 9, v, 6);
            sqlite3_bind_int(ins, 15, 1);
            sqlite3_bind_int(ins, 16, 1);
        }
        step(ins);
        for (int k = 0; separate && k < 2; k++) {
            const ms_report_agg_auth *x = k ? &rec.spf_results[0] : &rec.dkim_results[0];
            sqlite3_bind_int64(auth, 1, 1);
            sqlite3_bind_int64(auth, 2, i);
            sqlite3_bind_int(auth, 3, k);
            const char *w[] = {k ? "spf" : "dkim", x->domain, k ? x->scope : x->selector,
                               x->result};
            bind_texts(auth, 4, w, 4);
            step(auth);
        }
    }
    sq(db, "COMMIT");
    double t = now() - t0;
    sqlite3_finalize(ins);
    sqlite3_finalize(auth);
    sqlite3_close(db);
    return t;
}

/* ---- Databases -------------------------------------------------------------- */

static char *sqlite_url(const char *dir, int n)
{
    static char url[1100];
    char path[1024];
    snprintf(path, sizeof path, "%s/bench%d.db", dir, n);
    unlink(path);
    snprintf(url, sizeof url, "sqlite:%s", path);
    char wal[1100];
    snprintf(wal, sizeof wal, "%s-wal", path);
    unlink(wal);
    return url;
}

static void quiet(void *arg, const char *message)
{
    (void)arg;
    (void)message;
}

static void pg_do(const char *url, const char *sql)
{
    PGconn *c = PQconnectdb(url);
    PQsetNoticeProcessor(c, quiet, NULL);
    PGresult *r = PQexec(c, sql);
    if (PQresultStatus(r) != PGRES_COMMAND_OK)
        die(sql, PQerrorMessage(c));
    PQclear(r);
    PQfinish(c);
}

static char *pg_url(const char *base, int n)
{
    static char url[1200];
    char sql[128];
    snprintf(sql, sizeof sql, "DROP DATABASE IF EXISTS store_bench_%d_%d", (int)getpid(), n);
    pg_do(base, sql);
    snprintf(sql, sizeof sql, "CREATE DATABASE store_bench_%d_%d", (int)getpid(), n);
    pg_do(base, sql);
    const char *slash = strrchr(base, '/');
    snprintf(url, sizeof url, "%.*s/store_bench_%d_%d", (int)(slash - base), base, (int)getpid(), n);
    return url;
}

static void pg_drop(const char *base, int n)
{
    char sql[128];
    snprintf(sql, sizeof sql, "DROP DATABASE IF EXISTS store_bench_%d_%d", (int)getpid(), n);
    pg_do(base, sql);
}

static ms_store *open_store(const char *url)
{
    ms_store *s;
    char *err = NULL;
    if (ms_store_open(url, &s, &err) != MS_OK)
        die(url, err);
    return s;
}

/* The backend process of the store's connection to database db. */
static int find_server_pid(const char *base, const char *db)
{
    PGconn *c = PQconnectdb(base);
    const char *params[] = {db};
    PGresult *r = PQexecParams(c, "SELECT pid FROM pg_stat_activity WHERE datname = $1"
                                  " AND pid <> pg_backend_pid()", 1, NULL, params, NULL, NULL, 0);
    int pid = PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1
                  ? atoi(PQgetvalue(r, 0, 0)) : 0;
    PQclear(r);
    PQfinish(c);
    return pid;
}

enum { M_PARSE, M_PARSE_SQLITE, M_SQLITE_ONE, M_SQLITE_SMALL, M_LAYOUT_INLINE, M_LAYOUT_ROWS,
       M_PARSE_PG, M_PG_SMALL, M_PG_ONE, M_COUNT };

static const char *const names[M_COUNT] = {
    "parse (ms_report_agg_parser, no-op)", "parse + store into SQLite", "SQLite: 1 report",
    "SQLite: reports of 100 records", "layout: auth inline (1 insert)",
    "layout: auth rows (3 inserts)", "parse + store into PostgreSQL",
    "PostgreSQL: reports of 100 records", "PostgreSQL: 1 report",
};

static double best_cpu[M_COUNT], best_wall[M_COUNT];
static double wall_start;

static void begin_measure(void)
{
    wall_start = wall();
}

static void keep(int which, double cpu)
{
    double w = wall() - wall_start;
    if (best_cpu[which] == 0 || cpu < best_cpu[which]) {
        best_cpu[which] = cpu;
        best_wall[which] = w;
    }
}

static void row(int which, long records, size_t bytes)
{
    double t = best_cpu[which];
    if (t == 0)
        return;
    printf("%-36s %9ld %8.3f %8.3f %11.0f", names[which], records, best_wall[which], t,
           records / t);
    if (bytes)
        printf(" %8.1f", bytes / t / 1e6);
    printf("\n");
}

int main(int argc, char **argv)
{
    long records = argc > 1 ? atol(argv[1]) : 1000000;
    const char *pg = argc > 2 ? argv[2] : NULL;
    const char *tmp = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    char dir[1024];
    snprintf(dir, sizeof dir, "%s/store_bench.XXXXXX", tmp);
    if (mkdtemp(dir) == NULL)
        die("mkdtemp", dir);
    size_t len;
    char *xml = make_xml(records, &len);
    printf("%ld records, %.1f MB of XML (%.0f bytes a record); best of %d rounds by CPU time\n"
           "(cpu: this process, plus the PostgreSQL server process for the PostgreSQL rows)\n\n",
           records, len / 1e6, (double)len / records, ROUNDS);
    printf("%-36s %9s %8s %8s %11s %8s\n", "what", "records", "wall s", "cpu s", "records/s",
           "MB/s");
    int n = 0;
    char path[1100];
    snprintf(path, sizeof path, "%s/layout.db", dir);
    for (int r = 0; r < ROUNDS; r++) {
        begin_measure();
        keep(M_PARSE, parse_run(xml, len, NULL, records));
        ms_store *s = open_store(sqlite_url(dir, n++));
        begin_measure();
        keep(M_PARSE_SQLITE, parse_run(xml, len, s, records));
        ms_store_close(s);
        s = open_store(sqlite_url(dir, n++));
        begin_measure();
        keep(M_SQLITE_ONE, store_run(s, records, records, r));
        begin_measure();
        keep(M_SQLITE_SMALL, store_run(s, records, SMALL_REPORT, r));
        ms_store_close(s);
        begin_measure();
        keep(M_LAYOUT_INLINE, layout_run(path, records, 0));
        begin_measure();
        keep(M_LAYOUT_ROWS, layout_run(path, records, 1));
        if (pg) {
            const char *url = pg_url(pg, r);
            s = open_store(url);
            server_pid = find_server_pid(pg, strrchr(url, '/') + 1);
            begin_measure();
            keep(M_PARSE_PG, parse_run(xml, len, s, records));
            begin_measure();
            keep(M_PG_SMALL, store_run(s, records, SMALL_REPORT, r));
            begin_measure();
            keep(M_PG_ONE, store_run(s, records, records, r));
            ms_store_close(s);
            server_pid = 0;
            pg_drop(pg, r);
        }
    }
    row(M_PARSE, records, len);
    row(M_PARSE_SQLITE, records, len);
    row(M_SQLITE_ONE, records, 0);
    row(M_SQLITE_SMALL, records, 0);
    row(M_LAYOUT_INLINE, records, 0);
    row(M_LAYOUT_ROWS, records, 0);
    row(M_PARSE_PG, records, len);
    row(M_PG_SMALL, records, 0);
    row(M_PG_ONE, records, 0);
    double ratio = best_cpu[M_PARSE] / best_cpu[M_PARSE_SQLITE];
    printf("\ningest into SQLite / parse only: %.0f%% of the throughput (target >= 50%%): %s\n",
           ratio * 100, ratio >= 0.5 ? "met" : "NOT met");
    if (pg)
        printf("ingest into PostgreSQL / parse only: %.0f%%\n",
               best_cpu[M_PARSE] / best_cpu[M_PARSE_PG] * 100);
    char cmd[1100];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "store_bench: could not remove %s\n", dir);
    free(xml);
    return 0;
}
