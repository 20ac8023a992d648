/* The PostgreSQL backend (libpq).
 *
 * Round trips are what an ingest waits for here, so statements go through
 * libpq's pipeline mode: they are sent at once and their results read
 * later, at a "settle" (one PQpipelineSync and one wait). An aggregate
 * report costs two round trips:
 *
 *   agg_begin   BEGIN + INSERT INTO reports ... RETURNING id, settled:
 *               the duplicate answer is needed at once
 *   raw chunks  INSERT INTO raw, not waited for
 *   commit      the records, collected as one binary array of agg_records
 *               rows and sent as INSERT ... SELECT * FROM unnest($1) (COPY
 *               cannot run in pipeline mode; this costs the server about
 *               half of what COPY text did), the totals UPDATE, the
 *               report's rollups (summed in memory, rollup_mem.c: one
 *               statement of arrays per rollup table) and COMMIT,
 *               settled with everything queued before them: the first
 *               error of the report is the result. Records that fill
 *               MS_STORE_PG_BATCH_BYTES go earlier, queued the same way.
 *
 * BEGIN itself is only noted (begin_pending) and sent in front of the next
 * statement. Inside a transaction, an INSERT without RETURNING gives the
 * caller nothing to read, so it is queued (its error comes at the next
 * settle, at the latest the COMMIT); every other statement is settled at
 * once. At most PG_PIPELINE_MAX statements wait unsettled, so however
 * large a report is, the results the server holds for us stay few.
 *
 * Concurrency: several processes storing the same report each run
 * INSERT ... ON CONFLICT DO NOTHING RETURNING id on the reports table in
 * their own transaction; PostgreSQL makes the second wait on the first's
 * uncommitted row and then returns no row (a duplicate), or inserts when
 * the first rolled back. Reports are not grouped into one transaction
 * here: two processes holding groups that each hold a report the other
 * wants would deadlock, and PostgreSQL would abort one group. */
#include "store/internal.h"
#include "store/rollup.h"

#include "core/lazy_pq.h"
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
/* The first key of a domain's rollups' lock (the second is the hash of its
 * key): "roll" in ASCII. Two-key advisory locks never conflict with the
 * one-key migration lock. */
#define ROLLUP_LOCK_CLASS "1919904876"

/* Statements are prepared once per connection and named by their place
 * in this list; past PG_PREPARED_MAX they run unprepared. */
enum { PG_PREPARED_MAX = 64 };

/* Statements sent in pipeline mode and not yet settled, at most. */
enum { PG_PIPELINE_MAX = 64 };

/* The columns of agg_records: each record is sent as one such row. */
enum { REC_COLS = 23 };

/* A binary array's header: dimensions, has-NULLs, element type,
 * length, lower bound. */
enum { ARRAY_HEADER = 5 * 4 };

/* The rollups' rows gathered at once (pg_row_add): statements (a
 * write-out of the rollups per source has two, of those by day three)
 * and columns (rollup_days has 16). */
enum { PG_ROW_STATEMENTS = 4, PG_ROW_COLUMNS = 16 };

/* The rows gathered for one statement of arrays: a binary array per
 * column (header room first), of int8 or text elements. */
typedef struct pg_rows {
    const char *sql;
    size_t columns, rows;
    unsigned types[PG_ROW_COLUMNS];
    ms_buf arrays[PG_ROW_COLUMNS];
} pg_rows;

/* A statement sent in pipeline mode: what it was (for its error), and for
 * a PREPARE the slot to forget when it fails. */
typedef struct queued_stmt {
    const char *what;
    int prepared_slot;
} queued_stmt;

typedef struct pg_state {
    /* records not sent yet: a PostgreSQL binary array of agg_records rows
     * (header room first), bounded by MS_STORE_PG_BATCH_BYTES */
    ms_buf records;
    size_t rows;
    unsigned record_type;  /* the OID of agg_records' row type, 0 until asked */
    char *prepared[PG_PREPARED_MAX]; /* the SQL of statement "ms_<i>" */
    size_t prepared_count;
    int begin_pending;     /* BEGIN asked for, sent in front of the next statement */
    int in_txn;            /* a transaction is open (or its BEGIN pending) */
    /* the statements sent and not settled: what each one was, for errors */
    queued_stmt queued[PG_PIPELINE_MAX];
    size_t queued_count;
    int single_row_used;   /* a streamed statement ran since the last plain one */
    int commit_queued;     /* a COMMIT is among the statements not settled */
    /* the rollups' rows gathered, in the order each statement was first given one */
    pg_rows row_sets[PG_ROW_STATEMENTS];
    size_t row_set_count;
} pg_state;

static pg_state *store_state(ms_store *store)
{
    return store->impl;
}

static PGconn *conn_of(ms_store *store)
{
    return store->db;
}

/* Whose fault a statement's error is, by its SQLSTATE class: the data's
 * (22 data exception: a value out of range, bad encoding; 23 integrity
 * constraint; 54 program limit: a value too long to index) sets one
 * report aside; everything else (a lost connection, a full disk, a
 * read-only server) is the store's. */
static ms_status status_of(const PGresult *res)
{
    const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    if (state != NULL && (strncmp(state, "22", 2) == 0 || strncmp(state, "23", 2) == 0 ||
                          strncmp(state, "54", 2) == 0))
        return MS_ERR_INVALID;
    return MS_ERR_IO;
}

static ms_status pg_error(ms_store *store, const char *what, const PGresult *res)
{
    const char *msg = res ? PQresultErrorMessage(res) : "";
    if (msg == NULL || msg[0] == '\0')
        msg = PQerrorMessage(conn_of(store));
    size_t len = strlen(msg);
    while (len > 0 && msg[len - 1] == '\n')
        len--;
    return store_fail(store, status_of(res), "%s: %.*s", what, (int)len, msg);
}

/* Up to 24 parameters' text forms. */
enum { PG_INT_TEXT = 24 };

/* ---- Pipeline mode ------------------------------------------------------- */

static void forget_prepared(pg_state *s, int slot)
{
    free(s->prepared[slot]);
    s->prepared[slot] = NULL; /* never matches again: the next use prepares anew */
}

/* Records a statement as sent, for reading its result at the settle. */
static ms_status note_sent(ms_store *store, int sent, const char *what, int prepared_slot)
{
    pg_state *s = store->impl;
    if (!sent)
        return pg_error(store, what, NULL);
    s->queued[s->queued_count++] = (queued_stmt){what, prepared_slot};
    return MS_OK;
}

/* Reads one result of the pipeline; a NULL between two statements is
 * skipped. NULL when there is nothing more to read (the connection is
 * gone: every sync is answered otherwise). */
static PGresult *next_result(PGconn *conn)
{
    PGresult *res = PQgetResult(conn);
    return res != NULL ? res : PQgetResult(conn);
}

/* Sends a sync and reads every result up to it, then leaves pipeline
 * mode. The first failure is the result (store->error says which
 * statement and the server's message). *last, when asked for, gets the
 * last statement's result (caller clears) when all went well. */
static ms_status settle(ms_store *store, PGresult **last)
{
    pg_state *s = store->impl;
    PGconn *conn = conn_of(store);
    if (last != NULL)
        *last = NULL;
    if (PQpipelineStatus(conn) == PQ_PIPELINE_OFF)
        return MS_OK;
    ms_status st = PQpipelineSync(conn) ? MS_OK : pg_error(store, "pipeline sync", NULL);
    for (size_t i = 0;; i++) {
        PGresult *res = next_result(conn);
        if (res == NULL) {
            if (st == MS_OK)
                st = pg_error(store, "reading results", NULL);
            break;
        }
        ExecStatusType rs = PQresultStatus(res);
        if (rs == PGRES_PIPELINE_SYNC) {
            PQclear(res);
            break;
        }
        queued_stmt q = i < s->queued_count ? s->queued[i] : (queued_stmt){"query", -1};
        int ok = rs == PGRES_COMMAND_OK || rs == PGRES_TUPLES_OK;
        if (!ok && q.prepared_slot >= 0)
            forget_prepared(s, q.prepared_slot);
        if (!ok && st == MS_OK)
            st = pg_error(store, q.what, res);
        if (ok && last != NULL) {
            PQclear(*last);
            *last = res;
        } else {
            PQclear(res);
        }
    }
    s->queued_count = 0;
    if (!PQexitPipelineMode(conn) && st == MS_OK)
        st = pg_error(store, "leaving pipeline mode", NULL);
    PGTransactionStatusType ts = PQtransactionStatus(conn);
    if (s->commit_queued && ts == PQTRANS_INERROR) {
        /* A COMMIT skipped because a statement before it failed: ended
         * as a COMMIT of an aborted transaction ends outside a pipeline,
         * rolled back, so no caller is left inside a dead transaction. */
        PQclear(PQexec(conn, "ROLLBACK"));
        ts = PQtransactionStatus(conn);
    }
    s->commit_queued = 0;
    s->in_txn = s->begin_pending || ts == PQTRANS_INTRANS || ts == PQTRANS_INERROR;
    if (st != MS_OK && last != NULL) {
        PQclear(*last);
        *last = NULL;
    }
    return st;
}

static ms_status pipeline_on(ms_store *store)
{
    pg_state *s = store->impl;
    PGconn *conn = conn_of(store);
    if (s->queued_count + 3 > PG_PIPELINE_MAX) {
        ms_status st = settle(store, NULL); /* bounds what the server holds for us */
        if (st != MS_OK)
            return st;
    }
    if (PQpipelineStatus(conn) != PQ_PIPELINE_OFF)
        return MS_OK;
    if (s->single_row_used) {
        /* libpq (15) keeps single-row mode set after a streamed statement
         * and applies it to the first statement of the next pipeline; a
         * statement outside pipeline mode clears it. */
        PGresult *res = PQexec(conn, "");
        int ok = PQresultStatus(res) == PGRES_EMPTY_QUERY;
        PQclear(res);
        if (!ok)
            return pg_error(store, "query", NULL);
        s->single_row_used = 0;
    }
    if (!PQenterPipelineMode(conn))
        return pg_error(store, "pipeline mode", NULL);
    return MS_OK;
}

static ms_status send_pending_begin(ms_store *store)
{
    pg_state *s = store->impl;
    if (!s->begin_pending)
        return MS_OK;
    ms_status st = pipeline_on(store);
    if (st != MS_OK)
        return st;
    s->begin_pending = 0;
    int sent = PQsendQueryParams(conn_of(store), "BEGIN", 0, NULL, NULL, NULL, NULL, 0);
    return note_sent(store, sent, "BEGIN", -1);
}

/* The name of the prepared statement for sql, preparing it on first use
 * (in the pipeline when it is on); "" when it is to run unprepared (the
 * list is full). */
static ms_status prepared_name(ms_store *store, const char *sql, int nparams, char name[16])
{
    pg_state *s = store->impl;
    size_t i, free_slot = s->prepared_count;
    for (i = 0; i < s->prepared_count; i++) {
        if (s->prepared[i] == NULL && free_slot == s->prepared_count)
            free_slot = i;
        else if (s->prepared[i] != NULL && strcmp(s->prepared[i], sql) == 0)
            break;
    }
    if (i < s->prepared_count) {
        snprintf(name, 16, "ms_%d", (int)i);
        return MS_OK;
    }
    if (free_slot == PG_PREPARED_MAX) {
        name[0] = '\0';
        return MS_OK;
    }
    snprintf(name, 16, "ms_%d", (int)free_slot);
    char *copy = ms_strdup(sql);
    if (copy == NULL)
        return MS_ERR_NOMEM;
    PGconn *conn = conn_of(store);
    ms_status st;
    if (PQpipelineStatus(conn) != PQ_PIPELINE_OFF) {
        st = note_sent(store, PQsendPrepare(conn, name, sql, nparams, NULL), "prepare", (int)free_slot);
    } else {
        PGresult *res = PQprepare(conn, name, sql, nparams, NULL);
        st = PQresultStatus(res) == PGRES_COMMAND_OK ? MS_OK : pg_error(store, "prepare", res);
        PQclear(res);
    }
    if (st != MS_OK) {
        free(copy);
        return st;
    }
    s->prepared[free_slot] = copy;
    if (free_slot == s->prepared_count)
        s->prepared_count++;
    return MS_OK;
}

/* Sends one statement in pipeline mode, BEGIN in front when pending;
 * prepare: as a prepared statement (the hot ones), else parsed each time. */
static ms_status send_statement(ms_store *store, const char *sql, const char *what, int prepare,
                                int n, const char *const *values, const int *lengths,
                                const int *formats)
{
    PGconn *conn = conn_of(store);
    ms_status st = pipeline_on(store);
    if (st == MS_OK)
        st = send_pending_begin(store);
    char name[16] = "";
    if (st == MS_OK && prepare)
        st = prepared_name(store, sql, n, name);
    if (st != MS_OK)
        return st;
    int sent = name[0] ? PQsendQueryPrepared(conn, name, n, values, lengths, formats, 0)
                       : PQsendQueryParams(conn, sql, n, NULL, values, lengths, formats, 0);
    if (strcmp(sql, "COMMIT") == 0)
        store_state(store)->commit_queued = 1;
    return note_sent(store, sent, what, -1);
}

/* Waits for everything queued; sent is the status of sending the last
 * statement. Returns the first failure: the send's, else the server's. */
static ms_status send_and_settle(ms_store *store, ms_status sent, PGresult **last)
{
    ms_status got = settle(store, last);
    if (sent != MS_OK && last != NULL) {
        PQclear(*last);
        *last = NULL;
    }
    return sent != MS_OK ? sent : got;
}

static ms_status pg_exec(ms_store *store, const char *sql)
{
    pg_state *s = store->impl;
    if (strchr(sql, ';') == NULL) {
        ms_status sent = send_statement(store, sql, sql, 0, 0, NULL, NULL, NULL);
        return send_and_settle(store, sent, NULL);
    }
    /* Several statements (a migration): the simple query protocol. */
    ms_status st = send_and_settle(store, send_pending_begin(store), NULL);
    if (st != MS_OK)
        return st;
    PGresult *res = PQexec(conn_of(store), sql);
    ExecStatusType rs = PQresultStatus(res);
    st = rs == PGRES_COMMAND_OK || rs == PGRES_TUPLES_OK ? MS_OK : pg_error(store, sql, res);
    PQclear(res);
    PGTransactionStatusType ts = PQtransactionStatus(conn_of(store));
    s->in_txn = ts == PQTRANS_INTRANS || ts == PQTRANS_INERROR;
    return st;
}

/* Inside a transaction an INSERT without RETURNING has nothing for the
 * caller to read: it is queued, and a failure comes at the next settle, at
 * the latest with the COMMIT, which then fails (and is rolled back). */
static int deferrable(const pg_state *s, const char *sql)
{
    return s->in_txn && strncmp(sql, "INSERT ", 7) == 0 && strstr(sql, "RETURNING") == NULL;
}

/* A streamed statement, outside pipeline mode (single-row mode). */
static ms_status send_streaming(ms_store *store, const char *sql, int n, const char *const *values,
                                const int *lengths, const int *formats)
{
    PGconn *conn = conn_of(store);
    ms_status st = send_and_settle(store, send_pending_begin(store), NULL);
    char name[16] = "";
    if (st == MS_OK)
        st = prepared_name(store, sql, n, name);
    if (st != MS_OK)
        return st;
    int sent = name[0] ? PQsendQueryPrepared(conn, name, n, values, lengths, formats, 0)
                       : PQsendQueryParams(conn, sql, n, NULL, values, lengths, formats, 0);
    if (!sent)
        return pg_error(store, "send", NULL);
    PQsetSingleRowMode(conn);
    store_state(store)->single_row_used = 1;
    return MS_OK;
}

static ms_status pg_query(ms_store *store, const char *sql, const sql_param *params, size_t n,
                          int streaming, sql_cursor **out)
{
    pg_state *s = store->impl;
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
    if (st == MS_OK) {
        cur->store = store;
        cur->streaming = streaming;
        cur->row = -1;
        if (streaming) {
            st = send_streaming(store, sql, (int)n, values, lengths, formats);
        } else if (deferrable(s, sql)) {
            st = send_statement(store, sql, "query", 1, (int)n, values, lengths, formats);
        } else {
            st = send_statement(store, sql, "query", 1, (int)n, values, lengths, formats);
            st = send_and_settle(store, st, &cur->res);
            cur->rows = cur->res ? PQntuples(cur->res) : 0;
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

/* BEGIN is sent in front of the transaction's first statement. */
static ms_status pg_begin(ms_store *store)
{
    pg_state *s = store->impl;
    s->begin_pending = 1;
    s->in_txn = 1;
    return MS_OK;
}

/* ---- Records as one binary array of agg_records rows ---------------------- */

/* Element types (pg_type OIDs) of agg_records' columns, in table order. */
enum { OID_INT2 = 21, OID_INT8 = 20, OID_TEXT = 25 };

static const char records_sql[] = "INSERT INTO agg_records SELECT * FROM unnest($1::agg_records[])";

static void put_be(unsigned char *out, uint64_t v, int bytes)
{
    for (int i = bytes - 1; i >= 0; i--, v >>= 8)
        out[i] = (unsigned char)v;
}

static void append_be(ms_buf *b, uint64_t v, int bytes)
{
    unsigned char e[8];
    put_be(e, v, bytes);
    ms_buf_append(b, (const char *)e, (size_t)bytes);
}

/* One value in binary form (an array's element, a row's field after its
 * type): length, bytes. */
static void value_int(ms_buf *b, int64_t v, int bytes)
{
    append_be(b, (uint64_t)bytes, 4);
    append_be(b, (uint64_t)v, bytes);
}

static void value_text(ms_buf *b, const char *s)
{
    if (s == NULL) {
        append_be(b, 0xffffffffu, 4); /* NULL */
        return;
    }
    size_t n = strlen(s);
    append_be(b, n, 4);
    ms_buf_append(b, s, n);
}

/* One field of a row in binary form: type, value. */
static void field_int(ms_buf *b, unsigned type, int64_t v, int bytes)
{
    append_be(b, type, 4);
    value_int(b, v, bytes);
}

static void field_text(ms_buf *b, const char *s)
{
    append_be(b, OID_TEXT, 4);
    value_text(b, s);
}

/* Starts a binary array: room for its header (array_header). Memory
 * that ran out for the last one does not fail this one. */
static void array_start(ms_buf *b)
{
    static const char header_room[ARRAY_HEADER];
    b->len = 0;
    b->failed = 0;
    ms_buf_append(b, header_room, ARRAY_HEADER);
}

/* The header of the one-dimensional array in b: n elements of type oid. */
static void array_header(ms_buf *b, unsigned oid, size_t n)
{
    unsigned char *h = (unsigned char *)b->data;
    put_be(h, 1, 4);        /* dimensions */
    put_be(h + 4, 0, 4);    /* no NULL elements */
    put_be(h + 8, oid, 4);
    put_be(h + 12, n, 4);
    put_be(h + 16, 1, 4);   /* lower bound */
}

/* The agg_records row type's OID, which the array names: asked once per
 * connection (the table exists by then: migrations run at open). */
static ms_status record_type(ms_store *store, unsigned *oid)
{
    pg_state *s = store->impl;
    if (s->record_type == 0) {
        int64_t v = 0;
        int found = 0;
        ms_status st = store_query_int(store, "SELECT 'agg_records'::regtype::oid", NULL, 0, &v, &found);
        if (st != MS_OK)
            return st;
        s->record_type = (unsigned)v;
    }
    *oid = s->record_type;
    return MS_OK;
}

/* Queues the records held back as one INSERT (not waited for). */
static ms_status send_records(ms_store *store)
{
    pg_state *s = store->impl;
    if (s->rows == 0)
        return MS_OK;
    unsigned oid = 0;
    ms_status st = s->records.failed ? MS_ERR_NOMEM : record_type(store, &oid);
    if (st != MS_OK) {
        s->rows = 0;
        return st;
    }
    array_header(&s->records, oid, s->rows);
    const char *values[] = {s->records.data};
    int lengths[] = {(int)s->records.len}, formats[] = {1};
    s->rows = 0;
    return send_statement(store, records_sql, "storing the records", 1, 1, values, lengths, formats);
}

#define AUTH_FIELD(a, f) ((a) ? (a)->f : NULL)

static ms_status pg_agg_record(ms_store *store, const ms_report_agg_record *r)
{
    pg_state *s = store->impl;
    ms_buf *b = &s->records;
    agg_derived d;
    agg_derive(store, r, &d);
    if (s->rows == 0)
        array_start(b);
    size_t start = b->len;
    append_be(b, 0, 4); /* the element's length, written below */
    append_be(b, REC_COLS, 4);
    field_int(b, OID_INT8, store->report, 8);
    field_int(b, OID_INT8, store->seq, 8);
    field_text(b, r->source_ip);
    field_int(b, OID_INT8, (int64_t)r->count, 8);
    const char *texts[] = {
        r->disposition, r->dkim, r->spf, d.reasons, d.reason_comments, r->envelope_to,
        r->envelope_from, r->header_from, AUTH_FIELD(d.dkim, domain), AUTH_FIELD(d.dkim, selector),
        AUTH_FIELD(d.dkim, result), AUTH_FIELD(d.dkim, human_result), AUTH_FIELD(d.spf, domain),
        AUTH_FIELD(d.spf, scope), AUTH_FIELD(d.spf, result), AUTH_FIELD(d.spf, human_result),
    };
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++)
        field_text(b, texts[i]);
    field_int(b, OID_INT2, d.dkim_pass, 2);
    field_int(b, OID_INT2, d.spf_pass, 2);
    field_text(b, d.auth_more);
    if (b->failed)
        return MS_ERR_NOMEM;
    put_be((unsigned char *)b->data + start, b->len - start - 4, 4);
    s->rows++;
    return b->len >= MS_STORE_PG_BATCH_BYTES ? send_records(store) : MS_OK;
}

/* store.c flushes before each raw chunk and at commit. Here the order of
 * records and raw chunks inside the transaction does not matter, so the
 * records wait for the commit (one INSERT per report, not one per raw
 * chunk) unless they fill the buffer first. */
static ms_status pg_flush(ms_store *store)
{
    (void)store;
    return MS_OK;
}

/* ---- The rollups' rows as one array per column ------------------------------ */

/* The rows gathered for sql (row: the first, whose types the columns
 * take), begun when it has none; NULL when more statements or columns
 * than the rollups have were asked for. */
static pg_rows *row_set_of(pg_state *s, const char *sql, const sql_param *row, size_t n)
{
    for (size_t i = 0; i < s->row_set_count; i++)
        if (s->row_sets[i].sql == sql)
            return s->row_sets[i].columns == n ? &s->row_sets[i] : NULL;
    if (s->row_set_count == PG_ROW_STATEMENTS || n > PG_ROW_COLUMNS)
        return NULL;
    pg_rows *set = &s->row_sets[s->row_set_count++];
    set->sql = sql;
    set->columns = n;
    set->rows = 0;
    for (size_t i = 0; i < n; i++) {
        set->types[i] = row[i].type == SQL_INT ? OID_INT8 : OID_TEXT;
        array_start(&set->arrays[i]);
    }
    return set;
}

/* One row for sql, whose parameters are each column's values as an array
 * (rollup.c): the rollups' columns are text and bigint. */
static ms_status pg_row_add(ms_store *store, const char *sql, const sql_param *row, size_t n)
{
    pg_state *s = store->impl;
    pg_rows *set = row_set_of(s, sql, row, n);
    if (set == NULL)
        return store_fail(store, MS_ERR_IO, "the rollups' rows: more than %d statements of %d columns",
                          PG_ROW_STATEMENTS, PG_ROW_COLUMNS);
    int failed = 0;
    for (size_t i = 0; i < n; i++) {
        ms_buf *a = &set->arrays[i];
        if (set->types[i] == OID_INT8)
            value_int(a, row[i].i, 8);
        else
            value_text(a, row[i].type == SQL_TEXT ? row[i].text : NULL);
        failed |= a->failed;
    }
    set->rows++;
    return failed ? MS_ERR_NOMEM : MS_OK;
}

/* Queues one statement with its rows' arrays (not waited for). */
static ms_status send_row_set(ms_store *store, pg_rows *set)
{
    const char *values[PG_ROW_COLUMNS];
    int lengths[PG_ROW_COLUMNS], formats[PG_ROW_COLUMNS];
    for (size_t i = 0; i < set->columns; i++) {
        ms_buf *a = &set->arrays[i];
        if (a->failed)
            return MS_ERR_NOMEM;
        if (a->len > INT32_MAX || set->rows > INT32_MAX)
            return store_fail(store, MS_ERR_LIMIT, "the rollups' rows: an array over 2 GiB");
        array_header(a, set->types[i], set->rows);
        values[i] = a->data;
        lengths[i] = (int)a->len;
        formats[i] = 1;
    }
    return send_statement(store, set->sql, "adding to the rollups", 1, (int)set->columns, values,
                          lengths, formats);
}

static ms_status pg_rows_send(ms_store *store, int send)
{
    pg_state *s = store->impl;
    ms_status st = MS_OK;
    for (size_t i = 0; send && st == MS_OK && i < s->row_set_count; i++)
        st = send_row_set(store, &s->row_sets[i]);
    s->row_set_count = 0;
    return st;
}

/* Queued in front of the rows it guards (store_backend.lock_rollups). */
static ms_status pg_lock_rollups(ms_store *store, const char *domain_key, int exclusive)
{
    const char *params[] = {domain_key};
    const char *sql = exclusive
                          ? "SELECT pg_advisory_xact_lock(" ROLLUP_LOCK_CLASS ", hashtext(LOWER($1)))"
                          : "SELECT pg_advisory_xact_lock_shared(" ROLLUP_LOCK_CLASS
                            ", hashtext(LOWER($1)))";
    return send_statement(store, sql, "locking the domain's rollups", 1, 1, params, NULL, NULL);
}

static void pg_discard(ms_store *store)
{
    pg_state *s = store->impl;
    s->rows = 0;
    s->row_set_count = 0; /* the rollups' rows of a write-out that failed */
}

/* The records left, the totals and the COMMIT, queued behind the report's
 * raw chunks, and then the one wait of the report's end: its result is
 * the first failure of all of them. If one failed, the COMMIT did not run
 * and the caller rolls back. */
static ms_status pg_commit_report(ms_store *store, int64_t records, uint64_t messages)
{
    char values[3][PG_INT_TEXT];
    snprintf(values[0], sizeof values[0], "%lld", (long long)records);
    snprintf(values[1], sizeof values[1], "%llu", (unsigned long long)messages);
    snprintf(values[2], sizeof values[2], "%lld", (long long)store->report);
    const char *params[] = {values[0], values[1], values[2], store->digest,
                            store->original_digest[0] ? store->original_digest : NULL};
    ms_status st = send_records(store);
    if (st == MS_OK)
        st = send_statement(store, REPORT_TOTALS_UPDATE, "storing the report's totals", 1, 5, params, NULL,
                            NULL);
    if (st == MS_OK) /* queued as well (pg_rows_send; a fallback's INSERTs are deferrable) */
        st = rollup_mem_report_done(store);
    if (st == MS_OK)
        st = rollup_mem_group_write(store);
    if (st == MS_OK)
        st = send_statement(store, "COMMIT", "COMMIT", 0, 0, NULL, NULL, NULL);
    return send_and_settle(store, st, NULL);
}

static void pg_close(ms_store *store)
{
    pg_state *s = store->impl;
    if (s != NULL) {
        ms_buf_free(&s->records);
        for (size_t i = 0; i < PG_ROW_STATEMENTS; i++)
            for (size_t c = 0; c < PG_ROW_COLUMNS; c++)
                ms_buf_free(&s->row_sets[i].arrays[c]);
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
    .row_add = pg_row_add,
    .rows_send = pg_rows_send,
    .lock_rollups = pg_lock_rollups,
    .commit_report = pg_commit_report,
};

static void ignore_notice(void *arg, const char *message)
{
    (void)arg;
    (void)message; /* "relation already exists, skipping": the library never prints */
}

ms_status store_pg_open(ms_store *store, const char *conninfo)
{
    if (ms_lazy_load(&ms_pq_lib) != MS_OK)
        return store_fail(store, MS_ERR_IO, "%s", ms_lazy_error(&ms_pq_lib));
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

/* Every transaction of this session read-only: the server itself refuses
 * any write, whatever the role may do. */
ms_status store_pg_open_read(ms_store *store, const char *conninfo)
{
    ms_status st = store_pg_open(store, conninfo);
    if (st == MS_OK)
        st = pg_exec(store, "SET default_transaction_read_only = on");
    return st;
}
