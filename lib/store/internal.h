/* The store's inside: the backend interface both backends implement, and
 * the small SQL layer (parameters, cursors) the shared code is written
 * against. SQL text is written once with PostgreSQL's $1, $2, ...
 * placeholders; the SQLite backend rewrites them to ?1, ?2, ... */
#ifndef MAILSEC_LIB_STORE_INTERNAL_H
#define MAILSEC_LIB_STORE_INTERNAL_H

#include "mailsec/store.h"
#include "core/internal.h"

#include <stddef.h>
#include <stdint.h>

enum {
    /* How long a SQLite writer waits for another process's transaction. */
    MS_STORE_SQLITE_BUSY_MS = 60000,
    /* PostgreSQL: records buffered (as one binary array) before they are sent. */
    MS_STORE_PG_BATCH_BYTES = 1 << 20,
    /* SQLite: the write-ahead log is cut back to this after a checkpoint
     * (one huge report makes it as large as the report while it lasts). */
    MS_STORE_SQLITE_WAL_KEEP = 64 << 20,
};
/* SQLite: the page cache of a connection, KiB (grown as used). */
#define MS_STORE_SQLITE_CACHE_KIB 16384
/* SQLite: the page size of a store this version creates (an existing
 * store keeps its own). Four times SQLite's default: a spoofed domain's
 * reports add rows at random places of the rollups (docs/store.md), and
 * larger pages make those tables shallower and a commit fewer, larger
 * writes; ingest of bench/report/run.sh's corpus took about a sixth less
 * time than with 4 KiB pages (bench/README.md). */
#define MS_STORE_SQLITE_PAGE_BYTES 16384
#define MS_STR_(x) #x
#define MS_STR(x) MS_STR_(x)

typedef enum sql_type { SQL_NULL, SQL_TEXT, SQL_INT, SQL_BLOB } sql_type;

typedef struct sql_param {
    sql_type type;
    const char *text;  /* SQL_TEXT; NULL is bound as SQL NULL */
    int64_t i;         /* SQL_INT */
    const void *blob;  /* SQL_BLOB */
    size_t len;
} sql_param;

#define P_TEXT(s) ((sql_param){.type = SQL_TEXT, .text = (s)})
#define P_INT(v) ((sql_param){.type = SQL_INT, .i = (int64_t)(v)})
#define P_NULL ((sql_param){.type = SQL_NULL})
#define P_BLOB(p, n) ((sql_param){.type = SQL_BLOB, .blob = (p), .len = (n)})

typedef struct sql_cursor sql_cursor;

typedef struct store_backend {
    const char *name;
    /* Column types in the migrations' text: @ID@ (an auto-assigned 64-bit
     * primary key), @BLOB@, @WITHOUT_ROWID@ (a table clause). */
    const char *id_type, *blob_type, *without_rowid;
    /* Run first in a migration's transaction so concurrent openers take
     * turns; NULL when beginning the transaction already does that. */
    const char *migrate_lock_sql;
    void (*close)(ms_store *store);
    ms_status (*exec)(ms_store *store, const char *sql);
    /* A statement with parameters; rows are read with the cursor
     * functions. streaming: rows fetched one at a time (PostgreSQL
     * single-row mode) instead of all at once. */
    ms_status (*query)(ms_store *store, const char *sql, const sql_param *params, size_t n,
                       int streaming, sql_cursor **out);
    /* 1: a row is there; 0: no more rows; -1: error (store->error set). */
    int (*next)(sql_cursor *cur);
    const char *(*text)(sql_cursor *cur, int col); /* NULL for SQL NULL */
    int64_t (*int64)(sql_cursor *cur, int col);
    const void *(*blob)(sql_cursor *cur, int col, size_t *len);
    void (*done)(sql_cursor *cur);
    /* The write transaction of one report or one migration: SQLite takes
     * the write lock at once (BEGIN IMMEDIATE), so a duplicate is seen
     * only after the other writer has committed. */
    ms_status (*begin)(ms_store *store);
    /* One aggregate record of the open report (the fast path). */
    ms_status (*agg_record)(ms_store *store, const ms_report_agg_record *rec);
    /* Sends records held back (PostgreSQL's COPY buffer). */
    ms_status (*flush)(ms_store *store);
    /* Forgets records held back (before a rollback). */
    void (*discard)(ms_store *store);
    /* Adds the rows select_sql gives (with params) one at a time through
     * insert_sql, a single-row upsert whose parameters are the row's
     * columns in order; NULL when the backend runs the rollups' INSERT ...
     * SELECT statements whole instead (rollup.c says why SQLite does not). */
    ms_status (*add_rows)(ms_store *store, const char *select_sql, const sql_param *params,
                          size_t n, const char *insert_sql);
    /* The rollups' rows written by one statement per table and write-out
     * (PostgreSQL; NULL: a single-row upsert per row, run at once).
     * row_add gathers a row for sql, a statement taking each column as an
     * array ($1 the first column's values, ...; rollup.c); rows_send
     * queues each statement with its rows, in the order each was first
     * given one, when send is set, and forgets them either way. */
    ms_status (*row_add)(ms_store *store, const char *sql, const sql_param *row, size_t n);
    ms_status (*rows_send)(ms_store *store, int send);
    /* Concurrent writers (PostgreSQL; NULL: one writer at a time): takes,
     * until the transaction ends, the lock on the rollups of a policy
     * domain (its key, rollup.h's DOMAIN_KEY) before the report writes
     * rows there: shared for its one write-out at its end, exclusive for
     * a write-out before that (rollup_mem.c says why). */
    ms_status (*lock_rollups)(ms_store *store, const char *domain_key, int exclusive);
    /* Sets the open aggregate report's totals and commits (records held
     * back already flushed): store_commit_report, or the backend's own. */
    ms_status (*commit_report)(ms_store *store, int64_t records, uint64_t messages);
    /* (commit_report also stores store->digest, NULL or not) */
    /* Reports per transaction (0 or 1: each report commits on its own;
     * see store_report_begin). */
    unsigned group_reports;
    /* Look-ups gain from sharing a read transaction (store_agg_stored). */
    int shares_reads;
    /* The rows the last INSERT, UPDATE or DELETE changed (a backend
     * without row_add: rollup_mem.c counts the sources new to the totals
     * with it). */
    int64_t (*changes)(ms_store *store);
} store_backend;

/* A report's row completed at its end: records, messages, id, content
 * digest, original digest. */
#define REPORT_TOTALS_UPDATE \
    "UPDATE reports SET records = $1, messages = $2, digest = $4, original_digest = $5 WHERE id = $3"

/* Hex SHA-256 and its terminator: reports.original_digest. */
enum { STORE_ORIGINAL_DIGEST_HEX = 65 };

struct ms_store {
    const store_backend *backend;
    void *db;            /* sqlite3 * or PGconn * */
    void *impl;          /* the backend's own state */
    char *error;
    ms_status error_status; /* the status store_fail gave with error */
    char *url;           /* as opened (NULL: the default), for store_open_peer */
    /* the aggregate report being written */
    int in_report;
    int64_t report;
    int64_t seq, raw_seq;
    uint64_t messages;   /* its records' counts: each bounded, the sum kept <= INT64_MAX */
    char *digest;        /* its content digest (ms_store_agg_digest), NULL until given */
    char original_digest[STORE_ORIGINAL_DIGEST_HEX]; /* store_agg_original_digest; "" until given */
    /* the stored report an ms_store_agg_begin found this one to duplicate */
    int64_t duplicate_of;
    char *duplicate_digest; /* that report's digest; NULL when stored without one */
    /* the read transaction look-ups share (store_agg_stored): how many
     * made it, since when */
    unsigned snapshot_lookups;
    int64_t snapshot_began_ms;
    /* the transaction grouping reports (store_report_begin) */
    int group_open;
    unsigned group_count;
    int64_t group_started_ms;
    int64_t group_commit_ms; /* how long the last group's commit took */
    /* the first and last aggregate report the open group committed and
     * store_group_fold has not yet added to the rollups, 0 when none: one
     * writer holds the transaction, so every report between is the group's */
    int64_t group_first, group_last;
    char *group_lost;    /* why an open group was rolled back; sticky */
    char **rollup_sql;   /* the rollup statements in this backend's SQL, built once */
    struct rollup_mem *rollup_mem; /* the rollups being summed (rollup_mem.c) */
    ms_buf scratch;      /* joined reasons / extra auth results, reused */
    ms_buf scratch2;
    ms_buf scratch3;
};

/* Sets store->error (printf-style) and store->error_status, and returns
 * status. MS_ERR_LIMIT / MS_ERR_INVALID say the report's data was refused
 * (ms_store_report_fault), MS_ERR_IO that the store itself failed. */
ms_status store_fail(ms_store *store, ms_status status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Runs a statement and reads at most one row's first column as an
 * integer: *found 0 when there was no row. */
ms_status store_query_int(ms_store *store, const char *sql, const sql_param *params, size_t n,
                          int64_t *value, int *found);
/* The same for text: *text an owned copy, NULL for SQL NULL or no row. */
ms_status store_query_text(ms_store *store, const char *sql, const sql_param *params, size_t n,
                           char **text, int *found);
ms_status store_exec_params(ms_store *store, const char *sql, const sql_param *params, size_t n);
/* Runs sql keeping the error already recorded: a rollback after a failure. */
ms_status store_exec_quietly(ms_store *store, const char *sql);
/* Runs one writing statement in a transaction of its own that is durable
 * on disk before it returns (SQLite: synchronous=FULL for it; PostgreSQL:
 * synchronous_commit on), after committing the reports grouped so far. */
ms_status store_exec_durable(ms_store *store, const char *sql, const sql_param *params, size_t n);
/* The status of a failed statement from what the database said: the
 * report's fault (MS_ERR_INVALID) or the store's (MS_ERR_IO). */
ms_status store_last_status(const ms_store *store);
/* commit_report as two statements, for backends where a round trip is cheap. */
ms_status store_commit_report(ms_store *store, int64_t records, uint64_t messages);
/* One report's transaction: a savepoint inside the group's transaction
 * when the backend groups reports, else a transaction of its own. */
ms_status store_report_begin(ms_store *store);
ms_status store_report_commit(ms_store *store);
/* Adds the reports the open group has committed so far to the rollups
 * (done at the group's COMMIT otherwise), so that a read on the writing
 * connection sees them; nothing while a report is open, whose savepoint
 * could roll the rollups back with it. */
ms_status store_group_fold(ms_store *store);
void store_report_rollback(ms_store *store);

/* The derived columns of one aggregate record, shared by both backends. */
typedef struct agg_derived {
    const char *reasons, *reason_comments, *auth_more; /* NULL when none */
    const ms_report_agg_auth *dkim, *spf;                      /* first of each or NULL */
    int dkim_pass, spf_pass;
} agg_derived;

void agg_derive(ms_store *store, const ms_report_agg_record *rec, agg_derived *out);

/* Calls fn on each line of a column of "kind\tname..." lines (auth_more;
 * rollup_sources.names): the kind and what follows its tab up to the end
 * of the line. Lines without a tab are passed over. Stops at the first
 * non-zero value fn returns, and returns it; 0 otherwise. */
typedef int (*store_line_fn)(void *arg, const char *kind, size_t kind_len, const char *rest,
                             size_t rest_len);
int store_lines_each(const char *text, store_line_fn fn, void *arg);

/* SQL text for this store's backend: @ID@, @BLOB@, @WITHOUT_ROWID@ (the
 * types that differ), @SUM@ (the sum that never overflows), @C@ (a
 * byte-order collation), @LIST@ (string aggregation) and @REPORTS_R@ (the
 * reports table as r, read by rowid range, rollup.h) replaced. store_sql_text:
 * caller frees, NULL when memory ran out. */
void store_sql_append(ms_buf *out, const ms_store *store, const char *text);
char *store_sql_text(const ms_store *store, const char *text);

/* Migrations (schema.c). */
ms_status store_migrate(ms_store *store);
int store_schema_latest(void);

/* The backends. */
ms_status store_sqlite_open(ms_store *store, const char *path);
ms_status store_pg_open(ms_store *store, const char *conninfo);
/* The same, reading only: nothing created or written (ms_store_open_read). */
ms_status store_sqlite_open_read(ms_store *store, const char *path);
ms_status store_pg_open_read(ms_store *store, const char *conninfo);

/* Another connection to the same store, reading only (ms_store_open_read):
 * ingest's reader threads look reports up there while the writer holds
 * its own. It sees what the writer has made durable (ms_store_sync). */
ms_status store_open_peer(const ms_store *store, ms_store **out);
/* The id of the aggregate report stored under meta's identity, 0 when
 * there is none, and its original's digest ("" when stored without one).
 * share: the look-ups may share a read transaction (store_backend
 * .shares_reads), for as long as nothing is being written to the store:
 * one held open meanwhile would keep a SQLite log from starting over. */
ms_status store_agg_stored(ms_store *store, const ms_report_agg_meta *meta, int share, int64_t *id,
                           char original_digest[STORE_ORIGINAL_DIGEST_HEX]);
/* The open report's original digest (hex SHA-256 of the gzip stream it
 * came in, or of its document), stored with it: a later copy of the same
 * bytes in the same form is known by it (schema.c, version 8). */
void store_agg_original_digest(ms_store *store, const char *hex);

#endif
