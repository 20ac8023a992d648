/* The store's write side, shared by both backends: opening by URL, the
 * report transactions (exactly once through the reports table's UNIQUE
 * identity key), TLS and failure reports, rejects, IMAP bookkeeping and
 * the rDNS cache. Only the per-record fast path and the SQL plumbing are
 * per backend (sqlite.c, pgsql.c). */
#include "store/internal.h"
#include "store/rollup.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

ms_status store_fail(ms_store *store, ms_status status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    char *msg = n >= 0 ? malloc((size_t)n + 1) : NULL;
    if (msg != NULL) {
        va_start(ap, fmt);
        vsnprintf(msg, (size_t)n + 1, fmt, ap);
        va_end(ap);
    }
    free(store->error);
    store->error = msg;
    store->error_status = status;
    return status;
}

ms_status store_last_status(const ms_store *store)
{
    return store->error_status != MS_OK ? store->error_status : MS_ERR_IO;
}

int ms_store_report_fault(ms_status status)
{
    return status == MS_ERR_LIMIT || status == MS_ERR_INVALID;
}

/* Runs a statement to its last row, reading the first column of its first
 * row, when there is one, into *value and *text (each when not NULL; *text
 * an owned copy, NULL for SQL NULL); *found says whether there was a row. */
static ms_status query_first(ms_store *store, const char *sql, const sql_param *params, size_t n,
                             int64_t *value, char **text, int *found)
{
    *found = 0;
    if (text != NULL)
        *text = NULL;
    sql_cursor *cur;
    ms_status st = store->backend->query(store, sql, params, n, 0, &cur);
    if (st != MS_OK)
        return st;
    const store_backend *b = store->backend;
    int r = b->next(cur);
    *found = r == 1;
    if (r == 1 && value != NULL)
        *value = b->int64(cur, 0);
    if (r == 1 && text != NULL && b->text(cur, 0) != NULL &&
        (*text = ms_strdup(b->text(cur, 0))) == NULL)
        st = MS_ERR_NOMEM;
    while (r == 1)
        r = b->next(cur);
    b->done(cur);
    return r < 0 ? store_last_status(store) : st;
}

ms_status store_exec_params(ms_store *store, const char *sql, const sql_param *params, size_t n)
{
    int found;
    return query_first(store, sql, params, n, NULL, NULL, &found);
}

ms_status store_query_int(ms_store *store, const char *sql, const sql_param *params, size_t n,
                          int64_t *value, int *found)
{
    return query_first(store, sql, params, n, value, NULL, found);
}

ms_status store_query_text(ms_store *store, const char *sql, const sql_param *params, size_t n,
                           char **text, int *found)
{
    return query_first(store, sql, params, n, NULL, text, found);
}

/* ---- Opening ----------------------------------------------------------- */

/* mkdir -p for the directories above path. */
static int make_parents(char *path)
{
    for (char *p = strchr(path + 1, '/'); p != NULL; p = strchr(p + 1, '/')) {
        *p = '\0';
        int r = mkdir(path, 0700);
        int err = errno;
        *p = '/';
        if (r != 0 && err != EEXIST)
            return -1;
    }
    return 0;
}

static char *default_path(void)
{
    const char *xdg = getenv("XDG_DATA_HOME");
    if (xdg != NULL && xdg[0] == '/')
        return ms_asprintf("%s/mailsec/reports.db", xdg);
    const char *home = getenv("HOME");
    if (home == NULL || home[0] == '\0')
        return NULL;
    return ms_asprintf("%s/.local/share/mailsec/reports.db", home);
}

static int is_pg_url(const char *url)
{
    return strncmp(url, "postgresql://", 13) == 0 || strncmp(url, "postgres://", 11) == 0;
}

/* The backend's connection to the store url names (read_only: nothing
 * created, nothing written). */
static ms_status open_backend(ms_store *store, const char *url, int read_only)
{
    if (url != NULL && is_pg_url(url))
        return read_only ? store_pg_open_read(store, url) : store_pg_open(store, url);
    char *path = url == NULL ? default_path()
                 : strncmp(url, "sqlite:", 7) == 0 ? ms_strdup(url + 7)
                                                    : ms_strdup(url);
    ms_status st;
    if (path == NULL && url != NULL) {
        st = MS_ERR_NOMEM;
    } else if (path == NULL || path[0] == '\0') {
        st = store_fail(store, MS_ERR_INVALID, "no database path (HOME and XDG_DATA_HOME unset?)");
    } else if (url == NULL && !read_only && make_parents(path) != 0) {
        st = store_fail(store, MS_ERR_IO, "cannot create the directory of %s: %s", path,
                        strerror(errno));
    } else {
        st = read_only ? store_sqlite_open_read(store, path) : store_sqlite_open(store, path);
    }
    free(path);
    return st;
}

/* The schema version a store holds (0: none yet). */
#define SCHEMA_VERSION_SQL "SELECT COALESCE(MAX(version), 0) FROM schema_version"

/* A store opened read-only must have this mailsec's schema already:
 * MS_ERR_LIMIT when it is older (a writable open would migrate it). */
static ms_status check_schema(ms_store *store)
{
    int64_t v = 0;
    int found;
    ms_status st = store_query_int(store, SCHEMA_VERSION_SQL, NULL, 0, &v, &found);
    if (st == MS_ERR_NOMEM)
        return st; /* no verdict on the store */
    if (st != MS_OK)
        return store_fail(store, MS_ERR_IO, "not a mailsec store (%s)", ms_store_error(store));
    int version = (int)v;
    if (version > store_schema_latest())
        return store_fail(store, MS_ERR_INVALID,
                          "the database has schema version %d, newer than this mailsec knows (%d)",
                          version, store_schema_latest());
    if (version < store_schema_latest())
        return store_fail(store, MS_ERR_LIMIT,
                          "the store has schema version %d and this mailsec reads version %d: "
                          "open it once with write access (report ingest) to upgrade it",
                          version, store_schema_latest());
    return MS_OK;
}

static ms_status open_store(const char *url, int read_only, ms_store **out, char **errmsg)
{
    *out = NULL;
    if (errmsg)
        *errmsg = NULL;
    ms_store *store = calloc(1, sizeof *store);
    if (store == NULL)
        return MS_ERR_NOMEM;
    ms_status st = open_backend(store, url, read_only);
    if (st == MS_OK)
        st = read_only ? check_schema(store) : store_migrate(store);
    if (st == MS_OK && url != NULL && (store->url = ms_strdup(url)) == NULL)
        st = MS_ERR_NOMEM;
    if (st != MS_OK) {
        if (errmsg)
            *errmsg = ms_strdup(store->error ? store->error : ms_status_str(st));
        ms_store_close(store);
        return st;
    }
    *out = store;
    return MS_OK;
}

ms_status ms_store_open(const char *url, ms_store **out, char **errmsg)
{
    return open_store(url, 0, out, errmsg);
}

ms_status ms_store_open_read(const char *url, ms_store **out, char **errmsg)
{
    ms_status st = open_store(url, 1, out, errmsg);
    if (st != MS_ERR_LIMIT)
        return st;
    /* An older schema: migrated when the store can be written. */
    char *why_stale = errmsg ? *errmsg : NULL;
    if (errmsg)
        *errmsg = NULL;
    st = open_store(url, 0, out, NULL);
    if (st != MS_OK && errmsg) {
        *errmsg = why_stale;
        why_stale = NULL;
    }
    free(why_stale);
    return st;
}

ms_status store_open_peer(const ms_store *store, ms_store **out)
{
    return open_store(store->url, 1, out, NULL);
}

static ms_status snapshot_end(ms_store *store);

void ms_store_close(ms_store *store)
{
    if (store == NULL)
        return;
    if (store->in_report)
        ms_store_rollback(store);
    if (store->backend)
        snapshot_end(store);
    if (store->backend)
        ms_store_sync(store); /* a failure has been reported by whatever wrote last */
    if (store->backend)
        store->backend->close(store);
    free(store->group_lost);
    free(store->url);
    free(store->digest);
    free(store->duplicate_digest);
    free(store->error);
    rollup_mem_free(store);
    rollup_free(store->rollup_sql);
    ms_buf_free(&store->scratch);
    ms_buf_free(&store->scratch2);
    ms_buf_free(&store->scratch3);
    free(store);
}

const char *ms_store_backend(const ms_store *store)
{
    return store->backend->name;
}

const char *ms_store_error(const ms_store *store)
{
    return store->error ? store->error : "";
}

int ms_store_schema_version(ms_store *store)
{
    int64_t v = 0;
    int found;
    if (store_query_int(store, SCHEMA_VERSION_SQL, NULL, 0, &v, &found) != MS_OK)
        return -1;
    return (int)v;
}

/* ---- One report's transaction ------------------------------------------ */

static const char *nz(const char *s)
{
    return s ? s : "";
}

static const char *schema_name(ms_report_agg_schema schema)
{
    switch (schema) {
    case MS_REPORT_AGG_SCHEMA_DRAFT:
        return "draft";
    case MS_REPORT_AGG_SCHEMA_RFC7489:
        return "rfc7489";
    case MS_REPORT_AGG_SCHEMA_RFC9990:
        return "rfc9990";
    }
    return NULL;
}

/* ---- Bounds -------------------------------------------------------------
 * Every count a report claims is at most MS_REPORT_COUNT_MAX, and every
 * total the store keeps is summed here with a check, never in SQL: both
 * backends keep 64-bit signed integers, and a total that passed INT64_MAX
 * would wrap (SQLite) or fail the whole statement (PostgreSQL). A report
 * beyond the bounds is its own failure (MS_ERR_LIMIT), never the store's. */

static ms_status check_count(ms_store *store, const char *what, uint64_t count)
{
    if (count <= MS_REPORT_COUNT_MAX)
        return MS_OK;
    return store_fail(store, MS_ERR_LIMIT, "%s: count %llu is above the largest a report may claim (%llu)",
                      what, (unsigned long long)count, (unsigned long long)MS_REPORT_COUNT_MAX);
}

/* *total += n, kept within INT64_MAX. */
static ms_status add_total(ms_store *store, const char *what, uint64_t *total, uint64_t n)
{
    if (n > (uint64_t)INT64_MAX - *total)
        return store_fail(store, MS_ERR_LIMIT, "%s: the report's total passes %lld", what,
                          (long long)INT64_MAX);
    *total += n;
    return MS_OK;
}

/* ---- Reports grouped into transactions ----------------------------------
 * Committing each small report on its own makes SQLite append the same few
 * pages (the tables' last leaves, their indexes) to its log once per
 * report: for reports of a few dozen records that is most of the work. A
 * backend may therefore group: each report is a savepoint inside one
 * transaction, committed every group_reports reports, after
 * STORE_GROUP_MS, and by ms_store_sync / ms_store_close. A report that
 * fails rolls back to its savepoint alone. A process killed mid-group
 * loses that group's reports, which the next run stores again (their
 * sources are still there); nothing is stored twice. The group's
 * aggregate reports are added to the rollups in one pass just before its
 * COMMIT (commit_group): each rollup row is then written once per group,
 * in key order, not once per report. */
/* How long a group lasts. A quarter of a second: a killed run loses
 * about that much work, and another ingest process waits about that long
 * for the write lock. But at least STORE_GROUP_COMMIT_SHARE times as long
 * as the commit of the group before it took: that commit's pass over the
 * rollups rewrites pages all over the per-source tables, and grows with
 * them (a spoofed domain's million sources), so with a fixed bound the
 * writer would spend ever more of its time in commits as the store grows,
 * until they were nearly all of it. STORE_GROUP_MAX_MS keeps the wait of
 * another writer well inside MS_STORE_SQLITE_BUSY_MS. */
enum { STORE_GROUP_MS = 250, STORE_GROUP_COMMIT_SHARE = 4, STORE_GROUP_MAX_MS = 10000 };

static ms_status commit_group(ms_store *store);

static int grouping(const ms_store *store)
{
    return store->backend->group_reports > 1;
}

ms_status store_exec_quietly(ms_store *store, const char *sql)
{
    char *saved = store->error;
    store->error = NULL;
    ms_status st = store->backend->exec(store, sql);
    free(store->error);
    store->error = saved;
    return st;
}

ms_status store_report_begin(ms_store *store)
{
    if (!grouping(store))
        return store->backend->begin(store);
    if (store->group_lost != NULL)
        return store_fail(store, MS_ERR_IO, "%s", store->group_lost);
    if (!store->group_open) {
        ms_status st = store->backend->begin(store);
        if (st != MS_OK)
            return st;
        store->group_open = 1;
        store->group_count = 0;
        store->group_first = store->group_last = 0;
        store->group_started_ms = ms_monotonic_ms();
    }
    return store->backend->exec(store, "SAVEPOINT report");
}

/* How long the open group lasts (STORE_GROUP_MS). */
static int64_t group_ms(const ms_store *store)
{
    int64_t share = STORE_GROUP_COMMIT_SHARE * store->group_commit_ms;
    return share < STORE_GROUP_MS ? STORE_GROUP_MS : share > STORE_GROUP_MAX_MS ? STORE_GROUP_MAX_MS : share;
}

ms_status store_report_commit(ms_store *store)
{
    if (!grouping(store))
        return store->backend->exec(store, "COMMIT");
    ms_status st = store->backend->exec(store, "RELEASE SAVEPOINT report");
    /* The report's sums per source join the group's once its savepoint
     * is released: rows written inside it (when the group's sums outgrow
     * their bound) would first have each page they change (they land all
     * over the tables) copied into the savepoint's journal. A failure now
     * rolls the group back (store_report_rollback). */
    if (st == MS_OK)
        st = rollup_mem_report_done(store);
    if (st == MS_OK && (++store->group_count >= store->backend->group_reports ||
                        ms_monotonic_ms() - store->group_started_ms >= group_ms(store)))
        st = commit_group(store);
    return st;
}

/* Back to before the report. Some failures (a full disk, an I/O error)
 * make SQLite roll back the whole transaction: the group's earlier
 * reports are then gone too, and the store says so from then on. */
void store_report_rollback(ms_store *store)
{
    store->backend->discard(store);
    rollup_mem_report_drop(store); /* its sums: not added by the next report's commit */
    if (!grouping(store)) {
        store_exec_quietly(store, "ROLLBACK");
        rollup_mem_group_drop(store); /* nor what its commit had joined to them */
    } else if (store->group_count == 0) {
        store_exec_quietly(store, "ROLLBACK"); /* nothing else in the group: free the write lock */
        rollup_mem_group_drop(store);
        store->group_open = 0;
        store->group_first = store->group_last = 0;
    } else if (store_exec_quietly(store, "ROLLBACK TO SAVEPOINT report") != MS_OK ||
               store_exec_quietly(store, "RELEASE SAVEPOINT report") != MS_OK) {
        store_exec_quietly(store, "ROLLBACK");
        rollup_mem_group_drop(store);
        if (store->group_lost == NULL)
            store->group_lost = ms_strdup("a failure rolled back the transaction of the reports stored"
                                          " just before it: run again to store them");
        store->group_open = 0;
        store->group_first = store->group_last = 0;
    }
    store->in_report = 0;
}

ms_status ms_store_sync(ms_store *store)
{
    if (store->in_report)
        return store_fail(store, MS_ERR_INVALID, "a report is open");
    return commit_group(store);
}

/* The group's aggregate reports not yet in the rollups, added. */
static ms_status fold_group(ms_store *store)
{
    if (store->group_first == 0)
        return MS_OK;
    ms_status st = rollup_mem_group_write(store);
    if (st == MS_OK)
        store->group_first = store->group_last = 0;
    return st;
}

ms_status store_group_fold(ms_store *store)
{
    return store->in_report ? MS_OK : fold_group(store);
}

static ms_status commit_group(ms_store *store)
{
    if (store->group_lost != NULL)
        return store_fail(store, MS_ERR_IO, "%s", store->group_lost);
    if (!store->group_open)
        return MS_OK;
    store->group_open = 0;
    int64_t started = ms_monotonic_ms();
    ms_status st = fold_group(store); /* the last report's savepoint is released */
    if (st == MS_OK)
        st = store->backend->exec(store, "COMMIT");
    store->group_commit_ms = ms_monotonic_ms() - started;
    if (st != MS_OK) {
        store_exec_quietly(store, "ROLLBACK");
        rollup_mem_group_drop(store);
        store->group_first = store->group_last = 0;
        if (store->group_count > 0)
            store->group_lost = ms_strdup("the last reports could not be committed: run again to store them");
    }
    return st;
}

/* The reports row: exactly once lives here. The INSERT either creates the
 * row (we own the report until commit) or meets the identity key of a row
 * already there — on PostgreSQL after waiting for the transaction that
 * inserted it to end — and returns nothing: a duplicate. */
static ms_status insert_report(ms_store *store, const char *sql, const sql_param *params, size_t n,
                               int *duplicate)
{
    int64_t id = 0;
    int found = 0;
    ms_status st = store_query_int(store, sql, params, n, &id, &found);
    if (st != MS_OK)
        return st;
    *duplicate = !found;
    store->report = id;
    return MS_OK;
}

#define REPORT_INSERT_HEAD                                                                     \
    "INSERT INTO reports (kind, org, report_id, domain, date_begin, date_end, origin,"         \
    " origin_file, ingested_at"
#define REPORT_INSERT_TAIL " ON CONFLICT DO NOTHING RETURNING id"

/* An aggregate report's identity key, $1 to $6 of AGG_IDENTITY_PARAMS. */
#define AGG_IDENTITY_WHERE                                                                     \
    " WHERE kind = $1 AND org = $2 AND report_id = $3 AND domain = $4 AND date_begin = $5"   \
    " AND date_end = $6"
#define AGG_IDENTITY_PARAMS(m)                                                                 \
    {P_TEXT("aggregate"), P_TEXT(nz((m)->org_name)), P_TEXT(nz((m)->report_id)),              \
     P_TEXT(nz((m)->domain)), P_INT((m)->begin), P_INT((m)->end)}

/* The stored report a duplicate met (its identity key), for comparing
 * content digests: an extra query, for duplicates only. */
static ms_status find_duplicate(ms_store *store, const ms_report_agg_meta *m)
{
    sql_param p[] = AGG_IDENTITY_PARAMS(m);
    sql_cursor *cur;
    ms_status st = store->backend->query(store, "SELECT id, digest FROM reports" AGG_IDENTITY_WHERE, p, 6,
                                         0, &cur);
    if (st != MS_OK)
        return st;
    int r = store->backend->next(cur);
    if (r == 1) {
        store->duplicate_of = store->backend->int64(cur, 0);
        const char *digest = store->backend->text(cur, 1);
        store->duplicate_digest = digest ? ms_strdup(digest) : NULL;
    }
    store->backend->done(cur);
    return r < 0 ? store_last_status(store) : MS_OK;
}

/* Look-ups sharing a read transaction (store_agg_stored): at most this
 * many, for at most this long (what is committed meanwhile is not seen). */
enum { SNAPSHOT_LOOKUPS = 256, SNAPSHOT_MS = 100 };

/* Ends the look-ups' shared read transaction, if one is open. */
static ms_status snapshot_end(ms_store *store)
{
    if (store->snapshot_lookups == 0)
        return MS_OK;
    store->snapshot_lookups = 0;
    return store_exec_params(store, "COMMIT", NULL, 0);
}

/* The look-ups' shared read transaction: opened, or ended when it is full
 * or old and the next one opened. */
static ms_status snapshot_next(ms_store *store)
{
    int64_t now = ms_monotonic_ms();
    ms_status st = MS_OK;
    if (store->snapshot_lookups >= SNAPSHOT_LOOKUPS ||
        (store->snapshot_lookups > 0 && now - store->snapshot_began_ms >= SNAPSHOT_MS))
        st = snapshot_end(store);
    if (st == MS_OK && store->snapshot_lookups == 0) {
        st = store_exec_params(store, "BEGIN", NULL, 0);
        store->snapshot_began_ms = now;
    }
    if (st == MS_OK)
        store->snapshot_lookups++;
    return st;
}

ms_status store_agg_stored(ms_store *store, const ms_report_agg_meta *meta, int share, int64_t *id,
                           char original_digest[STORE_ORIGINAL_DIGEST_HEX])
{
    sql_param p[] = AGG_IDENTITY_PARAMS(meta);
    sql_cursor *cur;
    *id = 0;
    original_digest[0] = '\0';
    ms_status st = share && store->backend->shares_reads ? snapshot_next(store) : snapshot_end(store);
    if (st == MS_OK)
        st = store->backend->query(store, "SELECT id, original_digest FROM reports" AGG_IDENTITY_WHERE, p, 6, 0,
                                   &cur);
    if (st != MS_OK)
        return st;
    int r = store->backend->next(cur);
    if (r == 1) {
        *id = store->backend->int64(cur, 0);
        const char *hex = store->backend->text(cur, 1);
        if (hex != NULL && strlen(hex) < STORE_ORIGINAL_DIGEST_HEX)
            strcpy(original_digest, hex);
    }
    store->backend->done(cur);
    return r < 0 ? store_last_status(store) : MS_OK;
}

void store_agg_original_digest(ms_store *store, const char *hex)
{
    store->original_digest[0] = '\0';
    if (store->in_report && hex != NULL && strlen(hex) < sizeof store->original_digest)
        strcpy(store->original_digest, hex);
}

ms_status ms_store_agg_begin(ms_store *store, const ms_report_agg_meta *m, const ms_report_origin *origin,
                             int *duplicate)
{
    *duplicate = 0;
    if (store->in_report)
        return store_fail(store, MS_ERR_INVALID, "a report is already open");
    free(store->digest);
    free(store->duplicate_digest);
    store->digest = store->duplicate_digest = NULL;
    store->original_digest[0] = '\0';
    store->duplicate_of = 0;
    ms_status st = store_report_begin(store);
    if (st != MS_OK)
        return st;
    sql_param p[] = {
        P_TEXT("aggregate"), P_TEXT(nz(m->org_name)), P_TEXT(nz(m->report_id)),
        P_TEXT(nz(m->domain)), P_INT(m->begin), P_INT(m->end),
        P_TEXT(origin ? origin->path : NULL), P_TEXT(origin ? origin->file : NULL),
        P_INT(time(NULL)), P_TEXT(schema_name(m->schema)), P_TEXT(m->version),
        P_TEXT(m->email), P_TEXT(m->extra_contact_info), P_TEXT(m->generator),
        P_TEXT(m->errors), P_TEXT(m->adkim), P_TEXT(m->aspf), P_TEXT(m->p), P_TEXT(m->sp),
        P_TEXT(m->np), P_TEXT(m->pct), P_TEXT(m->fo), P_TEXT(m->testing),
        P_TEXT(m->discovery_method), P_TEXT(m->notes),
    };
    st = insert_report(store,
                       REPORT_INSERT_HEAD ", agg_schema, version, email, extra_contact_info,"
                       " generator, errors, adkim, aspf, p, sp, np, pct, fo, testing,"
                       " discovery_method, notes) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10,"
                       " $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24, $25)"
                       REPORT_INSERT_TAIL,
                       p, sizeof p / sizeof p[0], duplicate);
    if (st != MS_OK || *duplicate) {
        store_report_rollback(store);
        return st == MS_OK ? find_duplicate(store, m) : st;
    }
    store->in_report = 1;
    store->seq = store->raw_seq = 0;
    store->messages = 0;
    if ((st = rollup_mem_begin(store, m)) != MS_OK) {
        store_report_rollback(store);
        return st;
    }
    return MS_OK;
}

/* Reasons and the results after the first of each kind, as text. */
/* "dkim\tDOMAIN\tSELECTOR\tRESULT\tHUMAN" (or spf with the scope) as one
 * line of auth_more; built with puts, not printf: this runs per record. */
static void append_auth_line(ms_buf *more, const char *kind, const ms_report_agg_auth *a, const char *third)
{
    const char *fields[] = {kind, nz(a->domain), nz(third), nz(a->result), nz(a->human_result)};
    if (more->len)
        ms_buf_puts(more, "\n");
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
        if (i > 0)
            ms_buf_puts(more, "\t");
        ms_buf_puts(more, fields[i]);
    }
}

int store_lines_each(const char *text, store_line_fn fn, void *arg)
{
    for (const char *line = text; line != NULL && *line != '\0';) {
        size_t len = strcspn(line, "\n");
        const char *tab = memchr(line, '\t', len);
        if (tab != NULL) {
            size_t kind_len = (size_t)(tab - line);
            int r = fn(arg, line, kind_len, tab + 1, len - kind_len - 1);
            if (r != 0)
                return r;
        }
        line += len + (line[len] == '\n');
    }
    return 0;
}

void agg_derive(ms_store *store, const ms_report_agg_record *r, agg_derived *d)
{
    ms_buf *types = &store->scratch, *comments = &store->scratch2, *more = &store->scratch3;
    types->len = comments->len = more->len = 0;
    int any_comment = 0;
    for (size_t i = 0; i < r->reason_count; i++) {
        if (i > 0) {
            ms_buf_puts(types, ",");
            ms_buf_puts(comments, "\n");
        }
        ms_buf_puts(types, nz(r->reasons[i].type));
        ms_buf_puts(comments, nz(r->reasons[i].comment));
        any_comment |= r->reasons[i].comment != NULL;
    }
    d->dkim_pass = d->spf_pass = 0;
    for (size_t i = 0; i < r->dkim_count; i++) {
        const ms_report_agg_auth *a = &r->dkim_results[i];
        d->dkim_pass |= a->result != NULL && strcmp(a->result, "pass") == 0;
        if (i > 0)
            append_auth_line(more, "dkim", a, a->selector);
    }
    for (size_t i = 0; i < r->spf_count; i++) {
        const ms_report_agg_auth *a = &r->spf_results[i];
        d->spf_pass |= a->result != NULL && strcmp(a->result, "pass") == 0;
        if (i > 0)
            append_auth_line(more, "spf", a, a->scope);
    }
    d->reasons = r->reason_count ? types->data : NULL;
    d->reason_comments = any_comment ? comments->data : NULL;
    d->auth_more = more->len ? more->data : NULL;
    d->dkim = r->dkim_count ? &r->dkim_results[0] : NULL;
    d->spf = r->spf_count ? &r->spf_results[0] : NULL;
}

/* The record's sums added to the open report's rollups (rollup_mem.c). */
static ms_status record_rollups(ms_store *store, const ms_report_agg_record *record)
{
    agg_derived d;
    agg_derive(store, record, &d);
    return rollup_mem_record(store, record, &d);
}

/* The record's count checked and added to *messages (the report's total).
 * The record is named, for the message, only when a check fails: the
 * writer stores a million records a few seconds. */
static ms_status add_record_count(ms_store *store, const ms_report_agg_record *record, uint64_t *messages)
{
    if (record->count <= MS_REPORT_COUNT_MAX && record->count <= (uint64_t)INT64_MAX - *messages) {
        *messages += record->count;
        return MS_OK;
    }
    char what[64];
    snprintf(what, sizeof what, "record %lld (line %ld)", (long long)store->seq + 1, record->line);
    ms_status st = check_count(store, what, record->count);
    return st == MS_OK ? add_total(store, what, messages, record->count) : st;
}

ms_status ms_store_agg_record(ms_store *store, const ms_report_agg_record *record)
{
    if (!store->in_report)
        return store_fail(store, MS_ERR_INVALID, "no report is open");
    if (store->scratch.failed || store->scratch2.failed || store->scratch3.failed)
        return MS_ERR_NOMEM;
    uint64_t messages = store->messages;
    ms_status st = add_record_count(store, record, &messages);
    if (st == MS_OK)
        st = store->backend->agg_record(store, record);
    if (st == MS_OK)
        st = record_rollups(store, record);
    if (st != MS_OK)
        return st;
    store->seq++;
    store->messages = messages;
    return MS_OK;
}

ms_status ms_store_agg_digest(ms_store *store, const char *digest, const ms_report_origin *origin,
                              int *conflicting)
{
    if (conflicting != NULL)
        *conflicting = 0;
    if (store->in_report) {
        free(store->digest);
        store->digest = digest ? ms_strdup(digest) : NULL;
        return digest != NULL && store->digest == NULL ? MS_ERR_NOMEM : MS_OK;
    }
    if (store->duplicate_of == 0)
        return store_fail(store, MS_ERR_INVALID, "no report is open and none was found stored");
    if (digest == NULL || store->duplicate_digest == NULL || strcmp(digest, store->duplicate_digest) == 0)
        return MS_OK;
    if (conflicting != NULL)
        *conflicting = 1;
    int64_t now = time(NULL);
    sql_param p[] = {P_INT(store->duplicate_of), P_TEXT(digest), P_TEXT(origin ? origin->path : NULL),
                     P_TEXT(origin ? origin->file : NULL), P_INT(now)};
    return store_exec_params(store,
                             "INSERT INTO conflicts (report, digest, origin, origin_file, first_seen,"
                             " last_seen, seen_count) VALUES ($1, $2, $3, $4, $5, $5, 1)"
                             " ON CONFLICT (report, digest) DO UPDATE SET origin = excluded.origin,"
                             " origin_file = excluded.origin_file, last_seen = excluded.last_seen,"
                             " seen_count = conflicts.seen_count + 1",
                             p, 5);
}

ms_status ms_store_raw_append(ms_store *store, const void *gz, size_t len)
{
    if (!store->in_report)
        return store_fail(store, MS_ERR_INVALID, "no report is open");
    ms_status st = store->backend->flush(store);
    if (st != MS_OK)
        return st;
    sql_param p[] = {P_INT(store->report), P_INT(store->raw_seq), P_BLOB(gz, len)};
    st = store_exec_params(store, "INSERT INTO raw (report, seq, bytes) VALUES ($1, $2, $3)", p, 3);
    if (st == MS_OK)
        store->raw_seq++;
    return st;
}

ms_status ms_store_commit(ms_store *store)
{
    if (!store->in_report)
        return store_fail(store, MS_ERR_INVALID, "no report is open");
    ms_status st = store->backend->flush(store);
    if (st == MS_OK)
        st = store->backend->commit_report(store, store->seq, store->messages);
    if (st != MS_OK) {
        store_report_rollback(store);
        return st;
    }
    store->in_report = 0;
    return MS_OK;
}

ms_status store_commit_report(ms_store *store, int64_t records, uint64_t messages)
{
    sql_param p[] = {P_INT(records), P_INT(messages), P_INT(store->report), P_TEXT(store->digest),
                     P_TEXT(store->original_digest[0] ? store->original_digest : NULL)};
    ms_status st = store_exec_params(store, REPORT_TOTALS_UPDATE, p, 5);
    if (st == MS_OK && !grouping(store))
        st = rollup_mem_report_done(store);
    if (st == MS_OK && !grouping(store))
        st = rollup_mem_group_write(store);
    if (st == MS_OK && grouping(store)) { /* the group adds it (store_group_fold) */
        if (store->group_first == 0)
            store->group_first = store->report;
        store->group_last = store->report;
    }
    return st == MS_OK ? store_report_commit(store) : st;
}

void ms_store_rollback(ms_store *store)
{
    if (store->in_report)
        store_report_rollback(store);
}

/* Appends the compressed original as chunk 0 of the report. */
static ms_status put_raw_whole(ms_store *store, const void *gz, size_t len)
{
    if (gz == NULL || len == 0)
        return MS_OK;
    sql_param p[] = {P_INT(store->report), P_INT(0), P_BLOB(gz, len)};
    return store_exec_params(store, "INSERT INTO raw (report, seq, bytes) VALUES ($1, $2, $3)", p, 3);
}

/* The end of a report stored whole (TLS, failure) in its open transaction:
 * the original and the commit after st, or the rollback after a failure or
 * a duplicate. Returns st or the end's own failure. */
static ms_status put_whole_end(ms_store *store, ms_status st, int duplicate, const void *gz,
                               size_t len)
{
    if (st == MS_OK && !duplicate)
        st = put_raw_whole(store, gz, len);
    if (st == MS_OK && !duplicate)
        st = store_report_commit(store);
    if (st != MS_OK || duplicate)
        store_report_rollback(store);
    store->in_report = 0;
    return st;
}

/* ---- TLS reports -------------------------------------------------------- */

static ms_status put_tls_policy(ms_store *store, const ms_report_tlsrpt_policy *pol)
{
    sql_param p[] = {P_INT(store->report), P_TEXT(pol->policy_type), P_TEXT(pol->policy_domain),
                     P_TEXT(pol->policy_string), P_TEXT(pol->mx_host), P_INT(pol->successful),
                     P_INT(pol->failed)};
    int64_t policy = 0;
    int found = 0;
    ms_status st = store_query_int(store,
                                   "INSERT INTO tls_policies (report, policy_type, policy_domain,"
                                   " policy_string, mx_host, successful, failed)"
                                   " VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
                                   p, 7, &policy, &found);
    for (size_t i = 0; st == MS_OK && i < pol->failure_count; i++) {
        const ms_report_tlsrpt_failure *f = &pol->failures[i];
        sql_param q[] = {P_INT(policy), P_INT(store->report), P_INT(i), P_TEXT(f->result_type),
                         P_TEXT(f->sending_mta_ip), P_TEXT(f->receiving_mx_hostname),
                         P_TEXT(f->receiving_mx_helo), P_TEXT(f->receiving_ip),
                         P_INT(f->failed_session_count), P_TEXT(f->additional_information),
                         P_TEXT(f->failure_reason_code)};
        st = store_exec_params(store,
                               "INSERT INTO tls_failures (policy, report, seq, result_type,"
                               " sending_mta_ip, receiving_mx_hostname, receiving_mx_helo,"
                               " receiving_ip, failed_sessions, additional_information,"
                               " failure_reason_code)"
                               " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
                               q, 11);
    }
    return st;
}

/* The report's sessions, every count within the bounds. */
static ms_status tls_sessions(ms_store *store, const ms_report_tlsrpt *r, uint64_t *sessions)
{
    ms_status st = MS_OK;
    for (size_t i = 0; st == MS_OK && i < r->policy_count; i++) {
        const ms_report_tlsrpt_policy *pol = &r->policies[i];
        char what[64];
        snprintf(what, sizeof what, "policy %zu", i + 1);
        st = check_count(store, what, pol->successful);
        if (st == MS_OK)
            st = check_count(store, what, pol->failed);
        if (st == MS_OK)
            st = add_total(store, what, sessions, pol->successful);
        if (st == MS_OK)
            st = add_total(store, what, sessions, pol->failed);
        for (size_t j = 0; st == MS_OK && j < pol->failure_count; j++) {
            snprintf(what, sizeof what, "policy %zu, failure %zu", i + 1, j + 1);
            st = check_count(store, what, pol->failures[j].failed_session_count);
        }
    }
    return st;
}

ms_status ms_store_put_tlsrpt(ms_store *store, const ms_report_tlsrpt *r,
                              const ms_report_origin *origin, const void *gz_raw, size_t gz_len,
                              int *duplicate)
{
    *duplicate = 0;
    if (store->in_report)
        return store_fail(store, MS_ERR_INVALID, "a report is already open");
    /* A TLS report covers several policy domains; the first names it. */
    const char *domain = r->policy_count ? r->policies[0].policy_domain : NULL;
    uint64_t sessions = 0;
    ms_status st = tls_sessions(store, r, &sessions);
    if (st != MS_OK)
        return st;
    st = store_report_begin(store);
    if (st != MS_OK)
        return st;
    store->in_report = 1;
    sql_param p[] = {P_TEXT("tls"), P_TEXT(nz(r->org_name)), P_TEXT(nz(r->report_id)),
                     P_TEXT(nz(domain)), P_INT(r->begin), P_INT(r->end),
                     P_TEXT(origin ? origin->path : NULL), P_TEXT(origin ? origin->file : NULL),
                     P_INT(time(NULL)), P_TEXT(r->contact_info), P_INT(r->policy_count),
                     P_INT(sessions)};
    st = insert_report(store,
                       REPORT_INSERT_HEAD ", email, records, messages) VALUES ($1, $2, $3, $4,"
                       " $5, $6, $7, $8, $9, $10, $11, $12)" REPORT_INSERT_TAIL,
                       p, 12, duplicate);
    for (size_t i = 0; st == MS_OK && !*duplicate && i < r->policy_count; i++)
        st = put_tls_policy(store, &r->policies[i]);
    return put_whole_end(store, st, *duplicate, gz_raw, gz_len);
}

/* ---- Failure reports ---------------------------------------------------- */

static ms_status put_failure_row(ms_store *store, const ms_report_failure *f,
                                 const char *message_key, int *duplicate)
{
    sql_param p[] = {
        P_INT(store->report), P_TEXT(message_key), P_TEXT(f->message_id), P_TEXT(f->report_date),
        P_TEXT(f->feedback_type), P_TEXT(f->user_agent), P_TEXT(f->version),
        P_TEXT(f->reported_domain), P_TEXT(f->source_ip), P_TEXT(f->arrival_date),
        P_INT(f->arrival_time), P_TEXT(f->original_mail_from), P_TEXT(f->original_rcpt_to),
        P_TEXT(f->original_envelope_id), P_TEXT(f->reporting_mta),
        P_TEXT(f->authentication_results), P_TEXT(f->auth_failure),
        P_TEXT(f->identity_alignment), P_TEXT(f->delivery_result), P_TEXT(f->dkim_domain),
        P_TEXT(f->dkim_selector), P_TEXT(f->dkim_identity), P_TEXT(f->spf_dns),
        P_INT(f->incidents), P_TEXT(f->original_from), P_TEXT(f->original_to),
        P_TEXT(f->original_subject), P_TEXT(f->original_message_id),
        P_INT(f->has_feedback_part != 0), P_INT(f->has_original_part != 0),
    };
    int64_t ignored = 0;
    int found = 0;
    ms_status st = store_query_int(
        store,
        "INSERT INTO failure_reports (report, message_key, message_id, report_date,"
        " feedback_type, user_agent, version, reported_domain, source_ip, arrival_date,"
        " arrival_time, original_mail_from, original_rcpt_to, original_envelope_id,"
        " reporting_mta, authentication_results, auth_failure, identity_alignment,"
        " delivery_result, dkim_domain, dkim_selector, dkim_identity, spf_dns, incidents,"
        " original_from, original_to, original_subject, original_message_id,"
        " has_feedback_part, has_original_part) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9,"
        " $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24, $25, $26,"
        " $27, $28, $29, $30) ON CONFLICT DO NOTHING RETURNING report",
        p, sizeof p / sizeof p[0], &ignored, &found);
    *duplicate = st == MS_OK && !found;
    return st;
}

ms_status ms_store_put_failure(ms_store *store, const ms_report_failure *f,
                               const char *message_key, const ms_report_origin *origin,
                               const void *gz_raw, size_t gz_len, int *duplicate)
{
    *duplicate = 0;
    if (store->in_report)
        return store_fail(store, MS_ERR_INVALID, "a report is already open");
    if (message_key == NULL || message_key[0] == '\0')
        return store_fail(store, MS_ERR_INVALID, "a failure report needs its message key");
    ms_status st = check_count(store, "Incidents", f->incidents);
    if (st == MS_OK)
        st = store_report_begin(store);
    if (st != MS_OK)
        return st;
    store->in_report = 1;
    /* The message key makes the identity: the other key fields come from
     * the same message, and failure_reports.message_key is UNIQUE too, so
     * a message whose fields read differently is still a duplicate. */
    const char *org = f->reporting_mta ? f->reporting_mta : f->user_agent;
    sql_param p[] = {P_TEXT("failure"), P_TEXT(nz(org)), P_TEXT(message_key),
                     P_TEXT(nz(f->reported_domain)), P_INT(f->arrival_time),
                     P_INT(f->arrival_time), P_TEXT(origin ? origin->path : NULL),
                     P_TEXT(origin ? origin->file : NULL), P_INT(time(NULL)), P_INT(1),
                     P_INT(f->incidents)};
    st = insert_report(store,
                       REPORT_INSERT_HEAD ", records, messages) VALUES ($1, $2, $3, $4,"
                       " $5, $6, $7, $8, $9, $10, $11)" REPORT_INSERT_TAIL,
                       p, 11, duplicate);
    if (st == MS_OK && !*duplicate)
        st = put_failure_row(store, f, message_key, duplicate);
    return put_whole_end(store, st, *duplicate, gz_raw, gz_len);
}

/* ---- Rejects, IMAP, rDNS ------------------------------------------------ */

/* One row per (kind, input key): running again over the same bad input
 * counts it again (seen_count, last_seen) and keeps the latest reason and
 * origin, instead of adding a row each run. */
ms_status ms_store_put_rejected(ms_store *store, const ms_report_origin *origin, const char *kind,
                                const ms_report_error *err, const char *input_key)
{
    if (store->in_report)
        return store_fail(store, MS_ERR_INVALID, "a report is open");
    sql_param p[] = {P_TEXT(origin ? origin->path : NULL), P_TEXT(origin ? origin->file : NULL),
                     P_TEXT(nz(kind)), P_TEXT(nz(input_key)), P_TEXT(err ? err->message : NULL),
                     err && err->line > 0 ? P_INT(err->line) : P_TEXT(NULL),
                     err && err->column > 0 ? P_INT(err->column) : P_TEXT(NULL),
                     err && err->offset >= 0 ? P_INT(err->offset) : P_TEXT(NULL),
                     P_INT(time(NULL))};
    return store_exec_params(store,
                             "INSERT INTO rejected (origin, origin_file, kind, input_key, reason,"
                             " line, col, byte_offset, rejected_at, last_seen, seen_count)"
                             " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9, 1)"
                             " ON CONFLICT (kind, input_key) DO UPDATE SET origin = excluded.origin,"
                             " origin_file = excluded.origin_file, reason = excluded.reason,"
                             " line = excluded.line, col = excluded.col,"
                             " byte_offset = excluded.byte_offset, last_seen = excluded.last_seen,"
                             " seen_count = rejected.seen_count + 1",
                             p, 9);
}

ms_status ms_store_imap_seen(ms_store *store, const char *mailbox, uint32_t uidvalidity,
                             uint32_t uid, int *seen)
{
    sql_param p[] = {P_TEXT(mailbox), P_INT(uidvalidity), P_INT(uid)};
    int64_t ignored;
    return store_query_int(store,
                           "SELECT 1 FROM imap_seen WHERE mailbox = $1 AND uidvalidity = $2"
                           " AND uid = $3",
                           p, 3, &ignored, seen);
}

ms_status store_exec_durable(ms_store *store, const char *sql, const sql_param *params, size_t n)
{
    int pg = strcmp(ms_store_backend(store), "postgresql") == 0;
    ms_status st = ms_store_sync(store); /* the reports committed before it first */
    if (st == MS_OK)
        st = store_exec_params(store, pg ? "BEGIN" : "PRAGMA synchronous=FULL", NULL, 0);
    if (st == MS_OK && pg)
        st = store_exec_params(store, "SET LOCAL synchronous_commit = on", NULL, 0);
    if (st == MS_OK)
        st = store_exec_params(store, sql, params, n);
    ms_status end = store_exec_params(store, pg ? (st == MS_OK ? "COMMIT" : "ROLLBACK") : "PRAGMA synchronous=NORMAL",
                                      NULL, 0);
    return st != MS_OK ? st : end;
}

/* The mark is made durable on disk before it returns, and with it every
 * report committed before (PostgreSQL and SQLite's WAL are written in
 * order): the caller may then move the message away on the IMAP server,
 * and not even a power cut can lose its reports. Reports themselves are
 * committed without waiting for the disk (docs/store.md). */
ms_status ms_store_imap_mark(ms_store *store, const char *mailbox, uint32_t uidvalidity,
                             uint32_t uid)
{
    sql_param p[] = {P_TEXT(mailbox), P_INT(uidvalidity), P_INT(uid), P_INT(time(NULL))};
    return store_exec_durable(store,
                              "INSERT INTO imap_seen (mailbox, uidvalidity, uid, seen_at)"
                              " VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
                              p, 4);
}

ms_status ms_store_rdns_get(ms_store *store, const char *ip, char **name, int64_t *fetched)
{
    *name = NULL;
    sql_param p[] = {P_TEXT(ip)};
    sql_cursor *cur;
    ms_status st = store->backend->query(store, "SELECT name, fetched FROM rdns WHERE ip = $1", p,
                                         1, 0, &cur);
    if (st != MS_OK)
        return st;
    int r = store->backend->next(cur);
    if (r == 1) {
        *name = ms_strdup(store->backend->text(cur, 0));
        if (fetched)
            *fetched = store->backend->int64(cur, 1);
        if (*name == NULL)
            st = MS_ERR_NOMEM;
    } else if (r < 0) {
        st = MS_ERR_IO;
    }
    store->backend->done(cur);
    return st;
}

ms_status ms_store_rdns_put(ms_store *store, const char *ip, const char *name, int64_t fetched)
{
    sql_param p[] = {P_TEXT(ip), P_TEXT(nz(name)), P_INT(fetched)};
    return store_exec_params(store,
                             "INSERT INTO rdns (ip, name, fetched) VALUES ($1, $2, $3)"
                             " ON CONFLICT (ip) DO UPDATE SET name = excluded.name,"
                             " fetched = excluded.fetched",
                             p, 3);
}

ms_status ms_store_raw_read(ms_store *store, int64_t report,
                            int (*chunk)(void *arg, const void *gz, size_t len), void *arg)
{
    sql_param p[] = {P_INT(report)};
    int64_t ignored;
    int found = 0;
    ms_status st = store_query_int(store, "SELECT 1 FROM reports WHERE id = $1", p, 1, &ignored,
                                   &found);
    if (st != MS_OK)
        return st;
    if (!found)
        return store_fail(store, MS_ERR_INVALID, "no report %lld", (long long)report);
    sql_cursor *cur;
    st = store->backend->query(store, "SELECT bytes FROM raw WHERE report = $1 ORDER BY seq", p, 1,
                               1, &cur);
    if (st != MS_OK)
        return st;
    int r;
    while ((r = store->backend->next(cur)) == 1) {
        size_t len = 0;
        const void *bytes = store->backend->blob(cur, 0, &len);
        if (chunk(arg, bytes, len) != 0)
            break;
    }
    store->backend->done(cur);
    return r < 0 ? MS_ERR_IO : MS_OK;
}
