/* The PostgreSQL backend (libpq). Statements go with PQexecParams (text
 * parameters, blobs binary). Records are not sent one by one: they are
 * written as COPY text into a buffer and sent with one COPY per
 * MS_STORE_PG_COPY_BYTES (and before anything else the report's
 * transaction runs, and at commit), so a record costs no round trip.
 *
 * Concurrency: several processes storing the same report each run
 * INSERT ... ON CONFLICT DO NOTHING RETURNING id on the reports table in
 * their own transaction; PostgreSQL makes the second wait on the first's
 * uncommitted row and then returns no row (a duplicate), or inserts when
 * the first rolled back. */
#include "store/internal.h"

#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct sql_cursor {
    ms_store *store;
    PGresult *res;
    int row, rows;
    int streaming;     /* single-row mode: one PGresult per row */
    int finished;
    unsigned char *unescaped; /* the last bytea read */
};

/* The advisory lock key that serialises migrations: "mailsec" in ASCII
 * (0x6d61696c736563), in decimal. */
#define MIGRATE_LOCK_TEXT "30787877880423779"

/* Statements are prepared once per connection and named by their place
 * in this list; past PG_PREPARED_MAX they run unprepared. */
enum { PG_PREPARED_MAX = 64 };

typedef struct pg_state {
    ms_buf copy;        /* COPY text of records not sent yet */
    char *prepared[PG_PREPARED_MAX]; /* the SQL of statement "ms_<i>" */
    size_t prepared_count;
} pg_state;

static PGconn *conn_of(ms_store *store)
{
    return store->db;
}

static ms_status pg_error(ms_store *store, const char *what, const PGresult *res)
{
    const char *msg = res ? PQresultErrorMessage(res) : "";
    if (msg == NULL || msg[0] == '\0')
        msg = PQerrorMessage(conn_of(store));
    size_t len = strlen(msg);
    while (len > 0 && msg[len - 1] == '\n')
        len--;
    return store_fail(store, MS_ERR_IO, "%s: %.*s", what, (int)len, msg);
}

static ms_status pg_exec(ms_store *store, const char *sql)
{
    PGresult *res = PQexec(conn_of(store), sql);
    ExecStatusType s = PQresultStatus(res);
    ms_status st = s == PGRES_COMMAND_OK || s == PGRES_TUPLES_OK ? MS_OK : pg_error(store, sql, res);
    PQclear(res);
    return st;
}

/* Up to 24 parameters' text forms. */
enum { PG_INT_TEXT = 24 };

/* The name of the prepared statement for sql, preparing it on first use;
 * "" when it is to run unprepared (the list is full). */
static ms_status prepared_name(ms_store *store, const char *sql, int nparams, char name[16])
{
    pg_state *s = store->impl;
    size_t i;
    for (i = 0; i < s->prepared_count; i++)
        if (strcmp(s->prepared[i], sql) == 0)
            break;
    if (i == PG_PREPARED_MAX) {
        name[0] = '\0';
        return MS_OK;
    }
    snprintf(name, 16, "ms_%zu", i);
    if (i < s->prepared_count)
        return MS_OK;
    char *copy = ms_strdup(sql);
    if (copy == NULL)
        return MS_ERR_NOMEM;
    PGresult *res = PQprepare(conn_of(store), name, sql, nparams, NULL);
    ms_status st = PQresultStatus(res) == PGRES_COMMAND_OK ? MS_OK : pg_error(store, "prepare", res);
    PQclear(res);
    if (st != MS_OK) {
        free(copy);
        return st;
    }
    s->prepared[s->prepared_count++] = copy;
    return MS_OK;
}

static ms_status pg_query(ms_store *store, const char *sql, const sql_param *params, size_t n,
                          int streaming, sql_cursor **out)
{
    const char **values = calloc(n ? n : 1, sizeof *values);
    int *lengths = calloc(n ? n : 1, sizeof *lengths);
    int *formats = calloc(n ? n : 1, sizeof *formats);
    char (*ints)[PG_INT_TEXT] = calloc(n ? n : 1, sizeof *ints);
    sql_cursor *cur = calloc(1, sizeof *cur);
    ms_status st = MS_OK;
    if (!values || !lengths || !formats || !ints || !cur)
        st = MS_ERR_NOMEM;
    for (size_t i = 0; st == MS_OK && i < n; i++) {
        switch (params[i].type) {
        case SQL_TEXT:
            values[i] = params[i].text;
            break;
        case SQL_INT:
            snprintf(ints[i], sizeof ints[i], "%lld", (long long)params[i].i);
            values[i] = ints[i];
            break;
        case SQL_BLOB:
            values[i] = params[i].blob ? params[i].blob : "";
            lengths[i] = (int)params[i].len;
            formats[i] = 1;
            break;
        case SQL_NULL:
            values[i] = NULL;
            break;
        }
    }
    char name[16] = "";
    if (st == MS_OK)
        st = prepared_name(store, sql, (int)n, name);
    if (st == MS_OK) {
        PGconn *conn = conn_of(store);
        cur->store = store;
        cur->streaming = streaming;
        if (streaming) {
            int sent = name[0] ? PQsendQueryPrepared(conn, name, (int)n, values, lengths, formats, 0)
                               : PQsendQueryParams(conn, sql, (int)n, NULL, values, lengths, formats, 0);
            if (!sent)
                st = pg_error(store, "send", NULL);
            else
                PQsetSingleRowMode(conn);
        } else {
            cur->res = name[0] ? PQexecPrepared(conn, name, (int)n, values, lengths, formats, 0)
                               : PQexecParams(conn, sql, (int)n, NULL, values, lengths, formats, 0);
            ExecStatusType s = PQresultStatus(cur->res);
            if (s != PGRES_TUPLES_OK && s != PGRES_COMMAND_OK)
                st = pg_error(store, "query", cur->res);
            else
                cur->rows = PQntuples(cur->res);
            cur->row = -1;
        }
    }
    free(values);
    free(lengths);
    free(formats);
    free(ints);
    if (st != MS_OK && cur) {
        PQclear(cur->res);
        free(cur);
        cur = NULL;
    }
    *out = cur;
    return st;
}

/* Reads what is left of a streamed statement. Returns 0, or -1 when it
 * ended in an error (already recorded). */
static int drain(sql_cursor *cur)
{
    int failed = 0;
    PGresult *res;
    while ((res = PQgetResult(conn_of(cur->store))) != NULL) {
        ExecStatusType s = PQresultStatus(res);
        if (s != PGRES_TUPLES_OK && s != PGRES_SINGLE_TUPLE && s != PGRES_COMMAND_OK && !failed) {
            pg_error(cur->store, "query", res);
            failed = 1;
        }
        PQclear(res);
    }
    cur->finished = 1;
    return failed ? -1 : 0;
}

static int pg_next(sql_cursor *cur)
{
    if (!cur->streaming)
        return ++cur->row < cur->rows ? 1 : 0;
    PQclear(cur->res);
    cur->res = NULL;
    if (cur->finished)
        return 0;
    PGresult *res = PQgetResult(conn_of(cur->store));
    if (res == NULL) {
        cur->finished = 1;
        return 0;
    }
    ExecStatusType s = PQresultStatus(res);
    if (s == PGRES_SINGLE_TUPLE) {
        cur->res = res;
        cur->row = 0;
        return 1;
    }
    int failed = s != PGRES_TUPLES_OK && s != PGRES_COMMAND_OK;
    if (failed)
        pg_error(cur->store, "query", res);
    PQclear(res);
    int r = drain(cur);
    return failed || r < 0 ? -1 : 0;
}

static const char *pg_col_text(sql_cursor *cur, int col)
{
    if (PQgetisnull(cur->res, cur->row, col))
        return NULL;
    return PQgetvalue(cur->res, cur->row, col);
}

static int64_t pg_col_int64(sql_cursor *cur, int col)
{
    const char *s = pg_col_text(cur, col);
    return s ? strtoll(s, NULL, 10) : 0;
}

static const void *pg_col_blob(sql_cursor *cur, int col, size_t *len)
{
    PQfreemem(cur->unescaped);
    cur->unescaped = NULL;
    *len = 0;
    const char *s = pg_col_text(cur, col);
    if (s == NULL)
        return NULL;
    cur->unescaped = PQunescapeBytea((const unsigned char *)s, len);
    return cur->unescaped;
}

/* A streamed statement left before its end (an export the caller
 * stopped): the server is asked to stop sending, and the rest read and
 * dropped, keeping the store's last error as it was. */
static void abandon(sql_cursor *cur)
{
    PGcancel *cancel = PQgetCancel(conn_of(cur->store));
    char why[256];
    if (cancel != NULL) {
        PQcancel(cancel, why, sizeof why);
        PQfreeCancel(cancel);
    }
    char *saved = cur->store->error;
    cur->store->error = NULL;
    drain(cur);
    free(cur->store->error);
    cur->store->error = saved;
}

static void pg_done(sql_cursor *cur)
{
    PQclear(cur->res);
    if (cur->streaming && !cur->finished)
        abandon(cur);
    PQfreemem(cur->unescaped);
    free(cur);
}

static ms_status pg_begin(ms_store *store)
{
    return pg_exec(store, "BEGIN");
}

/* ---- Records as COPY text ------------------------------------------------ */

static void copy_field(ms_buf *b, const char *s, int last)
{
    if (s == NULL) {
        ms_buf_append(b, "\\N", 2);
    } else {
        const char *run = s;
        for (const char *p = s; *p; p++) {
            const char *esc = *p == '\\' ? "\\\\" : *p == '\t' ? "\\t" : *p == '\n' ? "\\n"
                              : *p == '\r' ? "\\r" : NULL;
            if (esc) {
                ms_buf_append(b, run, (size_t)(p - run));
                ms_buf_append(b, esc, 2);
                run = p + 1;
            }
        }
        ms_buf_puts(b, run);
    }
    ms_buf_append(b, last ? "\n" : "\t", 1);
}

static void copy_int(ms_buf *b, int64_t v)
{
    char text[PG_INT_TEXT];
    int n = snprintf(text, sizeof text, "%lld\t", (long long)v);
    ms_buf_append(b, text, (size_t)n);
}

#define AUTH_FIELD(a, f) ((a) ? (a)->f : NULL)

static ms_status pg_flush(ms_store *store)
{
    pg_state *s = store->impl;
    if (s->copy.failed)
        return MS_ERR_NOMEM;
    if (s->copy.len == 0)
        return MS_OK;
    PGconn *conn = conn_of(store);
    PGresult *res = PQexec(conn, "COPY agg_records FROM STDIN");
    int ok = PQresultStatus(res) == PGRES_COPY_IN;
    if (!ok)
        pg_error(store, "COPY", res);
    PQclear(res);
    if (!ok)
        return MS_ERR_IO;
    ok = PQputCopyData(conn, s->copy.data, (int)s->copy.len) == 1;
    ok = PQputCopyEnd(conn, ok ? NULL : "could not send the records") == 1 && ok;
    s->copy.len = 0;
    ms_status st = MS_OK;
    while ((res = PQgetResult(conn)) != NULL) {
        if (PQresultStatus(res) != PGRES_COMMAND_OK && st == MS_OK)
            st = pg_error(store, "COPY agg_records", res);
        PQclear(res);
    }
    if (!ok && st == MS_OK)
        st = pg_error(store, "COPY agg_records", NULL);
    return st;
}

static ms_status pg_agg_record(ms_store *store, const ms_agg_record *r)
{
    pg_state *s = store->impl;
    agg_derived d;
    agg_derive(store, r, &d);
    ms_buf *b = &s->copy;
    copy_int(b, store->report);
    copy_int(b, store->seq);
    copy_field(b, r->source_ip, 0);
    copy_int(b, (int64_t)r->count);
    const char *texts[] = {
        r->disposition, r->dkim, r->spf, d.reasons, d.reason_comments, r->envelope_to,
        r->envelope_from, r->header_from, AUTH_FIELD(d.dkim, domain), AUTH_FIELD(d.dkim, selector),
        AUTH_FIELD(d.dkim, result), AUTH_FIELD(d.dkim, human_result), AUTH_FIELD(d.spf, domain),
        AUTH_FIELD(d.spf, scope), AUTH_FIELD(d.spf, result), AUTH_FIELD(d.spf, human_result),
    };
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++)
        copy_field(b, texts[i], 0);
    copy_int(b, d.dkim_pass);
    copy_int(b, d.spf_pass);
    copy_field(b, d.auth_more, 1);
    if (b->failed)
        return MS_ERR_NOMEM;
    return b->len >= MS_STORE_PG_COPY_BYTES ? pg_flush(store) : MS_OK;
}

static void pg_discard(ms_store *store)
{
    pg_state *s = store->impl;
    s->copy.len = 0;
}

/* The totals and the COMMIT in one round trip (the values are integers,
 * written into the text). If the UPDATE fails the COMMIT is not run and
 * the caller rolls back. */
static ms_status pg_commit_report(ms_store *store, int64_t records, uint64_t messages)
{
    char sql[160];
    snprintf(sql, sizeof sql, "UPDATE reports SET records = %lld, messages = %llu WHERE id = %lld;"
                              " COMMIT", (long long)records, (unsigned long long)messages,
             (long long)store->report);
    return pg_exec(store, sql);
}

static void pg_close(ms_store *store)
{
    pg_state *s = store->impl;
    if (s != NULL) {
        ms_buf_free(&s->copy);
        for (size_t i = 0; i < s->prepared_count; i++)
            free(s->prepared[i]);
    }
    free(s);
    PQfinish(conn_of(store));
}

static const store_backend pg_backend = {
    .name = "postgresql",
    .id_type = "BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY",
    .blob_type = "BYTEA",
    .without_rowid = "",
    .migrate_lock_sql = "SELECT pg_advisory_xact_lock(" MIGRATE_LOCK_TEXT ")",
    .close = pg_close,
    .exec = pg_exec,
    .query = pg_query,
    .next = pg_next,
    .text = pg_col_text,
    .int64 = pg_col_int64,
    .blob = pg_col_blob,
    .done = pg_done,
    .begin = pg_begin,
    .agg_record = pg_agg_record,
    .flush = pg_flush,
    .discard = pg_discard,
    .commit_report = pg_commit_report,
};

static void ignore_notice(void *arg, const char *message)
{
    (void)arg;
    (void)message; /* "relation already exists, skipping": the library never prints */
}

ms_status store_pg_open(ms_store *store, const char *conninfo)
{
    PGconn *conn = PQconnectdb(conninfo);
    store->db = conn;
    store->backend = &pg_backend;
    store->impl = calloc(1, sizeof(pg_state));
    if (conn == NULL || store->impl == NULL)
        return MS_ERR_NOMEM;
    if (PQstatus(conn) != CONNECTION_OK)
        return pg_error(store, "connecting to PostgreSQL", NULL);
    PQsetNoticeProcessor(conn, ignore_notice, NULL);
    if (PQsetClientEncoding(conn, "UTF8") != 0)
        return pg_error(store, "client encoding UTF8", NULL);
    /* One commit per report: waiting for the server's disk on each would
     * bound ingest at the disk's flush rate. A server crash can lose the
     * last fraction of a second of commits, never half a report, and a
     * report not stored is simply stored by the next run; what must be
     * durable at once (ms_store_imap_mark) asks for it. */
    return pg_exec(store, "SET synchronous_commit = off");
}
