/* Checkpoints of a SQLite store's write-ahead log, on a thread of their
 * own.
 *
 * A checkpoint copies the pages committed to the log back into the
 * database file and waits for the disk (fdatasync) before the log may
 * start over. Run by the writer at its commits (SQLite's automatic
 * checkpoint), that wait was the writer's: an ingest's writer slept in
 * fdatasync for about a quarter of its time while the readers' reports
 * piled up behind it (bench/README.md, "Report ingest"). WAL lets another
 * connection checkpoint while the writer goes on appending: this thread,
 * woken by each commit that leaves CHECKPOINT_PAGES or more in the log,
 * runs a passive checkpoint on a connection of its own.
 *
 * The thresholds are bytes of log, turned into pages by the store's page
 * size (16 KiB for a store made by this version, 4 KiB for older ones).
 *
 * The log still starts over: once a checkpoint has copied all of it, the
 * writer's next transaction writes from its beginning again, so the log
 * stays about the size of what is committed while one checkpoint runs.
 * Should the thread fall behind (a slow disk) and the log reach
 * LOG_PAGES_MAX, the writer waits for the thread's checkpoint and then
 * checkpoints itself at that commit, as SQLite does by default: the log
 * stays bounded whatever the disk does. Without a thread (none could be
 * made, or its connection not opened), the writer checkpoints as SQLite
 * does by default.
 *
 * The thread's connection holds no transaction between checkpoints, so it
 * never keeps the log from starting over; it is closed before the
 * writer's, whose close then checkpoints what is left and removes the log.
 * A failed checkpoint (a full disk) changes nothing committed: the log
 * keeps the pages, and the next checkpoint tries again. */
#include "store/sqlite_checkpoint.h"
#include "core/internal.h"
#include "core/lazy_sqlite.h"
#include "core/task.h"
#include "store/internal.h"

#include <stdlib.h>

enum {
    CHECKPOINT_BYTES = 4000 * 1024,            /* SQLite's own: 1,000 pages of 4 KiB */
    LOG_BYTES_MAX = MS_STORE_SQLITE_WAL_KEEP,  /* the log's size kept (internal.h) */
};

struct sq_checkpointer {
    char *path;              /* the database's */
    enum { NOT_YET, STARTED, UNAVAILABLE } thread;
    int checkpoint_pages;    /* CHECKPOINT_BYTES and LOG_BYTES_MAX in pages */
    int log_pages_max;
    sqlite3 *db;             /* the thread's own connection */
    ms_task task;
    pthread_mutex_t lock;    /* guards wanted and stopping */
    pthread_cond_t wake;
    int wanted, stopping;
    pthread_mutex_t running; /* held by whoever runs a checkpoint */
};

static void checkpoint(sq_checkpointer *c, sqlite3 *db)
{
    pthread_mutex_lock(&c->running);
    /* A read first: a connection that opened the file before it was in
     * WAL mode (a new store) opens the log only with a transaction, and
     * until then its checkpoints do nothing. */
    if (db == c->db)
        sqlite3_exec(db, "PRAGMA schema_version", NULL, NULL, NULL);
    sqlite3_wal_checkpoint_v2(db, NULL, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
    pthread_mutex_unlock(&c->running);
}

static void *checkpoint_main(void *arg)
{
    sq_checkpointer *c = arg;
    pthread_mutex_lock(&c->lock);
    while (!c->stopping) {
        if (!c->wanted) {
            pthread_cond_wait(&c->wake, &c->lock);
            continue;
        }
        c->wanted = 0;
        pthread_mutex_unlock(&c->lock);
        checkpoint(c, c->db);
        pthread_mutex_lock(&c->lock);
    }
    pthread_mutex_unlock(&c->lock);
    return NULL;
}

/* The thread and its connection; else UNAVAILABLE, for good. */
static void start_thread(sq_checkpointer *c)
{
    if (sqlite3_open_v2(c->path, &c->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL) ==
            SQLITE_OK &&
        ms_task_try(&c->task, checkpoint_main, c)) {
        c->thread = STARTED;
        return;
    }
    sqlite3_close(c->db);
    c->db = NULL;
    c->thread = UNAVAILABLE;
}

/* The writer's commit hook (sqlite3_wal_hook): frames are in the log. */
static int on_commit(void *arg, sqlite3 *db, const char *name, int frames)
{
    (void)name;
    sq_checkpointer *c = arg;
    if (frames < c->checkpoint_pages)
        return SQLITE_OK;
    if (c->thread == NOT_YET)
        start_thread(c);
    if (c->thread == UNAVAILABLE || frames >= c->log_pages_max) {
        checkpoint(c, db); /* here, after the thread's if one runs */
        return SQLITE_OK;
    }
    pthread_mutex_lock(&c->lock);
    c->wanted = 1;
    pthread_cond_signal(&c->wake);
    pthread_mutex_unlock(&c->lock);
    return SQLITE_OK;
}

/* The database's page size; SQLite's default when it cannot be read. */
static int page_bytes(sqlite3 *db)
{
    sqlite3_stmt *stmt = NULL;
    int bytes = 0;
    if (sqlite3_prepare_v2(db, "PRAGMA page_size", -1, &stmt, NULL) == SQLITE_OK &&
        sqlite3_step(stmt) == SQLITE_ROW)
        bytes = (int)sqlite3_column_int64(stmt, 0);
    sqlite3_finalize(stmt);
    return bytes >= 512 ? bytes : 4096;
}

sq_checkpointer *sq_checkpointer_new(sqlite3 *writer, const char *path)
{
    sq_checkpointer *c = calloc(1, sizeof *c);
    if (c == NULL || (c->path = ms_strdup(path)) == NULL) {
        free(c);
        return NULL;
    }
    int page = page_bytes(writer);
    c->checkpoint_pages = CHECKPOINT_BYTES / page;
    c->log_pages_max = LOG_BYTES_MAX / page;
    pthread_mutex_init(&c->lock, NULL);
    pthread_cond_init(&c->wake, NULL);
    pthread_mutex_init(&c->running, NULL);
    sqlite3_wal_hook(writer, on_commit, c); /* replaces the automatic checkpoint */
    return c;
}

void sq_checkpointer_free(sq_checkpointer *c)
{
    if (c == NULL)
        return;
    if (c->thread == STARTED) {
        pthread_mutex_lock(&c->lock);
        c->stopping = 1;
        pthread_cond_signal(&c->wake);
        pthread_mutex_unlock(&c->lock);
        ms_task_join(&c->task);
    }
    sqlite3_close(c->db);
    pthread_mutex_destroy(&c->running);
    pthread_cond_destroy(&c->wake);
    pthread_mutex_destroy(&c->lock);
    free(c->path);
    free(c);
}
