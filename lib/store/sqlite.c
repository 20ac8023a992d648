/* The SQLite backend: one file, WAL journal (readers do not block the
 * writer), a busy timeout so concurrent ingest processes queue for the
 * write lock, BEGIN IMMEDIATE per report. Records go through one prepared
 * statement bound without copying (SQLITE_STATIC: the strings outlive the
 * step that reads them). */
#include "store/internal.h"
#include "core/lazy_sqlite.h"
#include "store/sqlite_checkpoint.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct sql_cursor {
    ms_store *store;
    sqlite3_stmt *stmt;
    struct cached *cached; /* the cache entry the statement came from, or NULL */
};

/* Prepared statements kept for reuse, keyed by their SQL text: a report's
 * few statements are then parsed once per store, not once per report. */
enum { STMT_CACHE = 48 }; /* a report's statements and the rollups' (a SELECT and an INSERT each) */

typedef struct cached {
    char *sql; /* as the caller wrote it ($N) */
    sqlite3_stmt *stmt;
    int in_use;
    unsigned long used; /* for evicting the least recently used */
} cached;

typedef struct sqlite_state {
    sqlite3_stmt *insert_record; /* prepared on first use */
    cached cache[STMT_CACHE];
    unsigned long clock;
    sq_checkpointer *checkpointer; /* a store open for writing: its log's checkpoints */
} sqlite_state;

static sqlite3 *db_of(ms_store *store)
{
    return store->db;
}

/* Whose fault an error code is: the data's (a constraint, a value too big
 * or of the wrong type: the report is set aside) or the store's (the
 * disk, the file, a lock: the run stops). */
static ms_status status_of(int code)
{
    switch (code & 0xff) {
    case SQLITE_CONSTRAINT:
    case SQLITE_TOOBIG:
    case SQLITE_MISMATCH:
    case SQLITE_RANGE:
        return MS_ERR_INVALID;
    case SQLITE_NOMEM:
        return MS_ERR_NOMEM;
    }
    return MS_ERR_IO;
}

static ms_status sqlite_error(ms_store *store, const char *what)
{
    sqlite3 *db = db_of(store);
    return store_fail(store, status_of(sqlite3_extended_errcode(db)), "%s: %s", what, sqlite3_errmsg(db));
}

/* $1, $2, ... to ?1, ?2, ...; '$' inside string literals is left alone. */
static char *to_sqlite_params(const char *sql)
{
    char *out = ms_strdup(sql);
    if (out == NULL)
        return NULL;
    int quoted = 0;
    for (char *p = out; *p; p++) {
        if (*p == '\'')
            quoted = !quoted;
        else if (!quoted && *p == '$' && p[1] >= '0' && p[1] <= '9')
            *p = '?';
    }
    return out;
}

static ms_status prepare(ms_store *store, const char *sql, sqlite3_stmt **stmt)
{
    char *text = to_sqlite_params(sql);
    if (text == NULL)
        return MS_ERR_NOMEM;
    int rc = sqlite3_prepare_v2(db_of(store), text, -1, stmt, NULL);
    free(text);
    return rc == SQLITE_OK ? MS_OK : sqlite_error(store, "prepare");
}

static int bind_param(sqlite3_stmt *stmt, int i, const sql_param *p)
{
    switch (p->type) {
    case SQL_TEXT:
        return p->text ? sqlite3_bind_text(stmt, i, p->text, -1, SQLITE_STATIC)
                       : sqlite3_bind_null(stmt, i);
    case SQL_INT:
        return sqlite3_bind_int64(stmt, i, p->i);
    case SQL_BLOB:
        return sqlite3_bind_blob64(stmt, i, p->blob, p->len, SQLITE_STATIC);
    case SQL_NULL:
        break;
    }
    return sqlite3_bind_null(stmt, i);
}

/* A prepared statement for sql from the cache, or newly prepared and
 * cached (*entry NULL when the cache is full of statements in use). */
static ms_status cached_prepare(ms_store *store, const char *sql, sqlite3_stmt **stmt,
                                cached **entry)
{
    sqlite_state *s = store->impl;
    cached *victim = NULL;
    *entry = NULL;
    for (int i = 0; i < STMT_CACHE; i++) {
        cached *c = &s->cache[i];
        if (c->sql != NULL && !c->in_use && strcmp(c->sql, sql) == 0) {
            *entry = c;
            break;
        }
        if (!c->in_use && (victim == NULL || c->used < victim->used))
            victim = c;
    }
    if (*entry == NULL) {
        ms_status st = prepare(store, sql, stmt);
        if (st != MS_OK || victim == NULL)
            return st;
        sqlite3_finalize(victim->stmt);
        free(victim->sql);
        victim->sql = ms_strdup(sql);
        victim->stmt = victim->sql ? *stmt : NULL;
        if (victim->sql == NULL)
            return MS_OK; /* not cached: the cursor finalizes it */
        *entry = victim;
    }
    (*entry)->in_use = 1;
    (*entry)->used = ++s->clock;
    *stmt = (*entry)->stmt;
    return MS_OK;
}

/* Gives the cursor's statement back: reset into the cache (which also
 * ends its read of the database), or finalized when not cached. */
static void release(sql_cursor *cur)
{
    if (cur->cached != NULL) {
        sqlite3_reset(cur->stmt);
        sqlite3_clear_bindings(cur->stmt);
        cur->cached->in_use = 0;
    } else {
        sqlite3_finalize(cur->stmt);
    }
}

static ms_status sq_query(ms_store *store, const char *sql, const sql_param *params, size_t n,
                          int streaming, sql_cursor **out)
{
    (void)streaming; /* SQLite always steps row by row */
    sqlite3_stmt *stmt;
    cached *entry;
    ms_status st = cached_prepare(store, sql, &stmt, &entry);
    if (st != MS_OK)
        return st;
    for (size_t i = 0; i < n; i++) {
        if (bind_param(stmt, (int)i + 1, &params[i]) != SQLITE_OK) {
            ms_status failed = sqlite_error(store, "bind");
            sql_cursor tmp = {store, stmt, entry};
            release(&tmp);
            return failed;
        }
    }
    sql_cursor *cur = malloc(sizeof *cur);
    sql_cursor tmp = {store, stmt, entry};
    if (cur == NULL) {
        release(&tmp);
        return MS_ERR_NOMEM;
    }
    *cur = tmp;
    *out = cur;
    return MS_OK;
}

static int sq_next(sql_cursor *cur)
{
    int rc = sqlite3_step(cur->stmt);
    if (rc == SQLITE_ROW)
        return 1;
    if (rc == SQLITE_DONE)
        return 0;
    sqlite_error(cur->store, "step");
    return -1;
}

static const char *sq_text(sql_cursor *cur, int col)
{
    return (const char *)sqlite3_column_text(cur->stmt, col);
}

static int64_t sq_int64(sql_cursor *cur, int col)
{
    return sqlite3_column_int64(cur->stmt, col);
}

static const void *sq_blob(sql_cursor *cur, int col, size_t *len)
{
    const void *p = sqlite3_column_blob(cur->stmt, col);
    *len = (size_t)sqlite3_column_bytes(cur->stmt, col);
    return p;
}

static void sq_done(sql_cursor *cur)
{
    release(cur);
    free(cur);
}

static ms_status sq_exec(ms_store *store, const char *sql)
{
    char *msg = NULL;
    int rc = sqlite3_exec(db_of(store), sql, NULL, NULL, &msg);
    if (rc == SQLITE_OK)
        return MS_OK;
    ms_status st = store_fail(store, status_of(rc), "%s", msg ? msg : sqlite3_errmsg(db_of(store)));
    sqlite3_free(msg);
    return st;
}

static ms_status sq_begin(ms_store *store)
{
    return sq_exec(store, "BEGIN IMMEDIATE");
}

static int bind_text(sqlite3_stmt *stmt, int i, const char *s)
{
    return s ? sqlite3_bind_text(stmt, i, s, -1, SQLITE_STATIC) : sqlite3_bind_null(stmt, i);
}

#define AUTH_FIELD(a, f) ((a) ? (a)->f : NULL)

static ms_status sq_agg_record(ms_store *store, const ms_report_agg_record *r)
{
    sqlite_state *s = store->impl;
    if (s->insert_record == NULL) {
        ms_status st = prepare(store,
                               "INSERT INTO agg_records VALUES ($1, $2, $3, $4, $5, $6, $7, $8,"
                               " $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21,"
                               " $22, $23)",
                               &s->insert_record);
        if (st != MS_OK)
            return st;
    }
    agg_derived d;
    agg_derive(store, r, &d);
    sqlite3_stmt *stmt = s->insert_record;
    const char *texts[] = {
        r->source_ip, NULL, r->disposition, r->dkim, r->spf, d.reasons, d.reason_comments,
        r->envelope_to, r->envelope_from, r->header_from, AUTH_FIELD(d.dkim, domain),
        AUTH_FIELD(d.dkim, selector), AUTH_FIELD(d.dkim, result),
        AUTH_FIELD(d.dkim, human_result), AUTH_FIELD(d.spf, domain), AUTH_FIELD(d.spf, scope),
        AUTH_FIELD(d.spf, result), AUTH_FIELD(d.spf, human_result),
    };
    /* r->count is within MS_REPORT_COUNT_MAX (store.c): it fits int64 */
    int rc = sqlite3_bind_int64(stmt, 1, store->report);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_int64(stmt, 2, store->seq);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_int64(stmt, 4, (sqlite3_int64)r->count);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_int(stmt, 21, d.dkim_pass);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_int(stmt, 22, d.spf_pass);
    /* columns 3 and 5..20 are the texts, in table order */
    for (int i = 0; rc == SQLITE_OK && i < (int)(sizeof texts / sizeof texts[0]); i++)
        if (i != 1)
            rc = bind_text(stmt, 3 + i, texts[i]);
    if (rc == SQLITE_OK)
        rc = bind_text(stmt, 23, d.auth_more);
    if (rc == SQLITE_OK && (rc = sqlite3_step(stmt)) == SQLITE_DONE)
        rc = SQLITE_OK;
    ms_status st = rc == SQLITE_OK ? MS_OK : sqlite_error(store, "storing a record");
    sqlite3_reset(stmt);
    sqlite3_clear_bindings(stmt);
    return st;
}

/* Why row by row: an INSERT ... SELECT is a statement that may write many
 * rows, so inside a transaction SQLite keeps the original of every page it
 * changes in a statement journal, to undo that statement alone on an
 * error. The rollups' pass over a group changes a page per new source
 * (the sources land all over their tables), and that journal was the
 * largest write of an ingest: more than the database and its log
 * together. A single-row upsert needs no such journal. The SELECT reads
 * the records while the INSERT writes the rollup tables, which it does
 * not read. */
static ms_status sq_add_rows(ms_store *store, const char *select_sql, const sql_param *params,
                             size_t n, const char *insert_sql)
{
    sqlite3_stmt *insert;
    cached *entry;
    ms_status st = cached_prepare(store, insert_sql, &insert, &entry);
    if (st != MS_OK)
        return st;
    sql_cursor inserting = {store, insert, entry}, *rows;
    st = sq_query(store, select_sql, params, n, 0, &rows);
    if (st != MS_OK) {
        release(&inserting);
        return st;
    }
    int columns = sqlite3_column_count(rows->stmt), rc;
    while (st == MS_OK && (rc = sqlite3_step(rows->stmt)) == SQLITE_ROW) {
        for (int i = 0; rc == SQLITE_ROW && i < columns; i++)
            if (sqlite3_bind_value(insert, i + 1, sqlite3_column_value(rows->stmt, i)) != SQLITE_OK)
                rc = SQLITE_ERROR;
        if (rc == SQLITE_ROW)
            rc = sqlite3_step(insert);
        if (rc != SQLITE_DONE)
            st = sqlite_error(store, "adding to the rollups");
        sqlite3_reset(insert);
    }
    if (st == MS_OK && rc != SQLITE_DONE)
        st = sqlite_error(store, "reading the rows of a rollup");
    sq_done(rows);
    release(&inserting);
    return st;
}

static int64_t sq_changes(ms_store *store)
{
    return sqlite3_changes(db_of(store));
}

static ms_status sq_flush(ms_store *store)
{
    (void)store;
    return MS_OK;
}

static void sq_discard(ms_store *store)
{
    (void)store;
}

static void sq_close(ms_store *store)
{
    sqlite_state *s = store->impl;
    if (s != NULL) {
        sq_checkpointer_free(s->checkpointer);
        sqlite3_finalize(s->insert_record);
        for (int i = 0; i < STMT_CACHE; i++) {
            sqlite3_finalize(s->cache[i].stmt);
            free(s->cache[i].sql);
        }
    }
    free(s);
    sqlite3_close(db_of(store));
}

static const store_backend sqlite_backend = {
    .name = "sqlite",
    .id_type = "INTEGER PRIMARY KEY",
    .blob_type = "BLOB",
    .without_rowid = " WITHOUT ROWID",
    .close = sq_close,
    .exec = sq_exec,
    .query = sq_query,
    .next = sq_next,
    .text = sq_text,
    .int64 = sq_int64,
    .blob = sq_blob,
    .done = sq_done,
    .begin = sq_begin,
    .agg_record = sq_agg_record,
    .flush = sq_flush,
    .discard = sq_discard,
    .add_rows = sq_add_rows,
    .commit_report = store_commit_report,
    /* Reports per transaction at most: enough that the log, and the
     * rollups' pages a group touches, are written once for many small
     * reports (fewer commits: about 30% less CPU at 512 than at 64 on the
     * bench corpus). What ends a group is mostly its time (store.c), which
     * keeps a concurrent ingest process from waiting long for the write
     * lock; at 512 this bound ended them first in a large store, where each
     * commit costs more (docs/store.md). */
    .group_reports = 4096,
    /* A read transaction of its own takes file locks and reads the log's
     * index: a twentieth of ingesting a stored corpus again, one a look-up. */
    .shares_reads = 1,
    .changes = sq_changes,
};

/* The store takes db over, for writing or reading alike. */
static ms_status adopt_db(ms_store *store, sqlite3 *db)
{
    store->db = db;
    store->backend = &sqlite_backend;
    store->impl = calloc(1, sizeof(sqlite_state));
    if (store->impl == NULL)
        return MS_ERR_NOMEM;
    sqlite3_busy_timeout(db, MS_STORE_SQLITE_BUSY_MS);
    return MS_OK;
}

/* Before SQLite's first use in the process (sqlite3_config must precede
 * it; later it fails harmlessly): no count of the memory SQLite holds,
 * whose global mutex every allocation would take (8% of an ingest's time,
 * though each connection is used by one thread, SQLITE_OPEN_NOMUTEX). */
static void sqlite_configure(void)
{
    sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
}

/* A store opened without libsqlite3 installed says so, as PostgreSQL's does
 * without libpq, instead of the process ending at the first call. */
static ms_status sqlite_loaded(ms_store *store)
{
    static pthread_once_t configured = PTHREAD_ONCE_INIT;
    if (ms_lazy_load(&ms_sqlite_lib) != MS_OK)
        return store_fail(store, MS_ERR_IO, "%s", ms_lazy_error(&ms_sqlite_lib));
    pthread_once(&configured, sqlite_configure);
    return MS_OK;
}

ms_status store_sqlite_open(ms_store *store, const char *path)
{
    if (sqlite_loaded(store) != MS_OK)
        return MS_ERR_IO;
    sqlite3 *db = NULL;
    /* One thread at a time uses a store (store.h), so SQLite's own
     * per-call locking is pure cost on the insert path. */
    int rc = sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
    if (rc != SQLITE_OK) {
        ms_status st = store_fail(store, MS_ERR_IO, "%s: %s", path,
                                  db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
        sqlite3_close(db);
        return st;
    }
    ms_status adopted = adopt_db(store, db);
    if (adopted != MS_OK)
        return adopted;
    /* WAL: a commit is one append to the log, readers never block the
     * writer. synchronous=NORMAL keeps every commit across a killed
     * process (the WAL is in the OS); only a power loss may lose the last
     * ones, never corrupt the file. */
    ms_status st = sq_exec(store, "PRAGMA page_size=" MS_STR(MS_STORE_SQLITE_PAGE_BYTES));
    if (st == MS_OK)
        st = sq_exec(store, "PRAGMA journal_mode=WAL");
    if (st == MS_OK)
        st = sq_exec(store, "PRAGMA synchronous=NORMAL");
    /* Temporary files, not memory, past 64 KiB: the undo pages of each
     * report's savepoint and of each statement that may write many rows
     * (the rollups' migration runs one per table, whose undo pages are as
     * many as the pages it touches: with temp_store=MEMORY, up to the
     * rollup tables' size), and the sorts of that migration. Ingest adds
     * to the rollups row by row, which needs no undo pages (sq_add_rows). */
    if (st == MS_OK)
        st = sq_exec(store, "PRAGMA temp_store=FILE");
    /* The rollups take a row per source (docs/store.md): a spoofed domain's
     * reports add rows at random places of those tables, whose pages must
     * stay in the cache between the reports of a group, or each is written
     * and read again. */
    if (st == MS_OK)
        st = sq_exec(store, "PRAGMA cache_size=-" MS_STR(MS_STORE_SQLITE_CACHE_KIB));
    if (st == MS_OK) {
        char sql[64];
        snprintf(sql, sizeof sql, "PRAGMA journal_size_limit=%d", MS_STORE_SQLITE_WAL_KEEP);
        st = sq_exec(store, sql);
    }
    if (st == MS_OK) {
        sqlite_state *s = store->impl;
        s->checkpointer = sq_checkpointer_new(db, path);
    }
    if (st != MS_OK) {
        char *why = ms_strdup(store->error);
        store_fail(store, st, "%s: %s", path, why ? why : "cannot set up");
        free(why);
    }
    return st;
}

/* ---- Reading only ------------------------------------------------------- */

/* "file:PATH?params" (SQLite's URI form), the path percent-encoded where a
 * URI would read it otherwise. */
static char *file_uri(const char *path, const char *params)
{
    ms_buf uri = MS_BUF_INIT;
    ms_buf_puts(&uri, path[0] == '/' ? "file://" : "file:");
    for (const unsigned char *p = (const unsigned char *)path; *p; p++) {
        if (*p == '%' || *p == '?' || *p == '#' || *p <= ' ' || *p >= 0x7f)
            ms_buf_printf(&uri, "%%%02X", *p);
        else
            ms_buf_append(&uri, (const char *)p, 1);
    }
    ms_buf_printf(&uri, "?%s", params);
    return ms_buf_take(&uri);
}

/* Opens path read-only with the URI parameters given and reads the schema
 * (where a WAL database fails when its shared-memory file cannot be
 * opened or created). */
static int open_read(const char *path, const char *params, sqlite3 **db)
{
    char *uri = file_uri(path, params);
    if (uri == NULL)
        return SQLITE_NOMEM;
    int rc = sqlite3_open_v2(uri, db, SQLITE_OPEN_READONLY | SQLITE_OPEN_URI | SQLITE_OPEN_NOMUTEX,
                             NULL);
    free(uri);
    if (rc == SQLITE_OK)
        rc = sqlite3_exec(*db, "SELECT COUNT(*) FROM sqlite_master", NULL, NULL, NULL);
    return rc;
}

/* mode=ro reads the file and its write-ahead log as any reader does; it
 * needs the log's shared-memory file (-shm), or a directory it can create
 * it in. Where neither is there (another user's store in a directory only
 * they may write; a read-only file system) the file is read as immutable:
 * without locks, as the last writer left it, which is all there is when
 * no writer has its log open. */
ms_status store_sqlite_open_read(ms_store *store, const char *path)
{
    if (sqlite_loaded(store) != MS_OK)
        return MS_ERR_IO;
    if (access(path, F_OK) != 0)
        return store_fail(store, MS_ERR_IO, "%s", errno == ENOENT ? "no store there (nothing ingested yet?)"
                                                                 : strerror(errno));
    sqlite3 *db = NULL;
    int rc = open_read(path, "mode=ro", &db);
    if (rc != SQLITE_OK && db != NULL &&
        ((rc & 0xff) == SQLITE_READONLY || (rc & 0xff) == SQLITE_CANTOPEN)) {
        sqlite3_close(db);
        db = NULL;
        rc = open_read(path, "immutable=1", &db);
    }
    if (rc != SQLITE_OK) { /* the caller names the store */
        ms_status st = store_fail(store, status_of(rc), "%s", db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
        sqlite3_close(db);
        return st;
    }
    return adopt_db(store, db);
}
