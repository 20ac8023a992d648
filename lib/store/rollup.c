/* Keeping the rollups (rollup.h, docs/store.md): the aggregate reports
 * committed add their sums in the transaction that stores them (one
 * report's, or a group's at its commit), so a report rolled back (a
 * poison report, a killed process) leaves no trace in them either, and a
 * duplicate, which is never stored, adds nothing. */
#include "store/rollup.h"

#include <stdlib.h>
#include <string.h>

#define GROUP_COND " AND r.id BETWEEN $1 AND $2"

/* The rollups are summed in memory (rollup_mem.c) and written out from
 * there. SQLite writes them with single-row upserts: those of the rollups
 * by domain and day, in ROLLUP_INSERTS_BY_DAY's order, each after its
 * SELECT, which adds a report's rows one at a time
 * (store_backend.add_rows, sqlite.c says why) when it has too many to
 * keep in memory; then those of the rollups per source (ROLLUP_SQL_*,
 * rollup.h). PostgreSQL writes each table's rows of a write-out with one
 * statement taking each column as an array (store_backend.row_add), and
 * adds a report with too many rows by day with the rollups' INSERT ...
 * SELECT statements whole. types: each column's, 't' text or 'i' bigint,
 * for the arrays. */
typedef struct row_rollup {
    const char *table, *columns, *types, *select, *upsert;
} row_rollup;
static const row_rollup row_rollups[] = {
    {"rollup_days", ROLLUP_DAYS_COLUMNS, "tiiiiiiiiiiiiiii", ROLLUP_DAYS_SELECT(GROUP_COND),
     ROLLUP_DAYS_UPSERT},
    {"rollup_counts", ROLLUP_COUNTS_COLUMNS, "tittii", ROLLUP_DISPOSITIONS_SELECT(GROUP_COND),
     ROLLUP_COUNTS_UPSERT},
    {"rollup_counts", ROLLUP_COUNTS_COLUMNS, "tittii", ROLLUP_OVERRIDES_SELECT(GROUP_COND),
     ROLLUP_COUNTS_UPSERT},
    {"rollup_counts", ROLLUP_COUNTS_COLUMNS, "tittii", ROLLUP_REPORTERS_SELECT(GROUP_COND),
     ROLLUP_COUNTS_UPSERT},
    {"rollup_policies", ROLLUP_POLICIES_COLUMNS, "titttttttttiii",
     ROLLUP_POLICIES_SELECT(GROUP_COND), ROLLUP_POLICIES_UPSERT},
};
/* The single-row statements of the rollups per source */
static const row_rollup source_rows[] = {
    {"rollup_sources", ROLLUP_SOURCES_COLUMNS, "ttiiiiiiit", NULL, ROLLUP_SOURCES_UPSERT},
    {"rollup_domain_sources", "domain, sources", "ti", NULL, ROLLUP_DOMAIN_SOURCES_UPSERT},
    {"rollup_source_totals", ROLLUP_TOTALS_COLUMNS, "ttiiiiii", NULL, ROLLUP_TOTALS_UPSERT},
};
enum {
    ROW_ROLLUPS = sizeof row_rollups / sizeof row_rollups[0],
    SOURCE_ROW = 0, DOMAIN_SOURCES_ROW = 1, TOTALS_ROW = 2,
};
_Static_assert((int)ROW_ROLLUPS == (int)ROLLUP_BY_DAY_ROWS, "rollup.h counts the rollups by day");

/* The single-row upsert of a rollup: its columns' values as $1, $2, ... */
static void append_row_insert(ms_buf *sql, const row_rollup *r)
{
    ms_buf_printf(sql, "INSERT INTO %s (%s) VALUES ($1", r->table, r->columns);
    int n = 1;
    for (const char *c = strchr(r->columns, ','); c != NULL; c = strchr(c + 1, ','))
        ms_buf_printf(sql, ", $%d", ++n);
    ms_buf_printf(sql, ")%s", r->upsert);
}

/* The upsert of a rollup's rows given as arrays, one per column
 * ($1::text[], $2::bigint[], ...), unnested in their order: the rows of a
 * write-out are sorted in key order (rollup_mem.c), so that ingests
 * writing the same rows at once lock them in the same order. The domain
 * is the server's DOMAIN_KEY of what rollup_mem.c gives (its LOWER may
 * lower more than ASCII letters; a write-out holds one report's rows,
 * whose domain is one). */
static void append_array_insert(ms_buf *sql, const row_rollup *r)
{
    ms_buf_printf(sql, "INSERT INTO %s (%s) SELECT ", r->table, r->columns);
    const char *c = r->columns;
    for (size_t i = 0; r->types[i] != '\0'; i++) {
        size_t len = strcspn(c, ",");
        if (len == 6 && strncmp(c, "domain", 6) == 0)
            ms_buf_puts(sql, KEY("LOWER(domain)"));
        else
            ms_buf_append(sql, c, len);
        c += len + (c[len] == ',');
        c += strspn(c, " ");
        ms_buf_puts(sql, r->types[i + 1] != '\0' ? ", " : " FROM unnest(");
    }
    for (size_t i = 0; r->types[i] != '\0'; i++)
        ms_buf_printf(sql, "%s$%zu::%s[]", i > 0 ? ", " : "", i + 1,
                      r->types[i] == 'i' ? "bigint" : "text");
    ms_buf_printf(sql, ") AS u (%s)%s", r->columns, r->upsert);
}

/* The statement adding rows to r, as store_sql_text gives it: its
 * single-row upsert, or (arrays) its upsert of arrays, the totals' inside
 * the statement that counts the sources new to them. */
static char *row_insert(const ms_store *store, const row_rollup *r, int arrays)
{
    ms_buf insert = MS_BUF_INIT;
    if (!arrays) {
        append_row_insert(&insert, r);
    } else if (r != &source_rows[TOTALS_ROW]) {
        append_array_insert(&insert, r);
    } else {
        ms_buf_puts(&insert, ROLLUP_COUNTED_HEAD);
        append_array_insert(&insert, r);
        ms_buf_puts(&insert, ROLLUP_COUNTED_TAIL);
    }
    char *sql = insert.failed ? NULL : store_sql_text(store, insert.data);
    ms_buf_free(&insert);
    return sql;
}

/* Sets *slot to sql, clearing *ok when it is NULL (memory ran out). */
static void put_statement(char **slot, char *sql, int *ok)
{
    *slot = sql;
    *ok &= sql != NULL;
}

/* The rollups' statements in this backend's SQL, into sql
 * (ROLLUP_ROW_STATEMENTS entries, rollup.h): 0 when memory ran out. */
static int ingest_statements(const ms_store *store, char **sql)
{
    int arrays = store->backend->row_add != NULL, ok = 1;
    ms_buf whole = MS_BUF_INIT;
    for (size_t i = 0; i < ROW_ROLLUPS; i++) {
        const row_rollup *r = &row_rollups[i];
        whole.len = 0;
        if (arrays)
            ms_buf_printf(&whole, "INSERT INTO %s (%s) %s%s", r->table, r->columns, r->select, r->upsert);
        else
            ms_buf_puts(&whole, r->select);
        put_statement(&sql[2 * i], whole.failed ? NULL : store_sql_text(store, whole.data), &ok);
        /* rollup_counts' kinds share their table's statement of arrays */
        if (!arrays || i == 0 || strcmp(r->table, row_rollups[i - 1].table) != 0)
            put_statement(&sql[2 * i + 1], row_insert(store, r, arrays), &ok);
    }
    ms_buf_free(&whole);
    put_statement(&sql[ROLLUP_SQL_SOURCE_ROW], row_insert(store, &source_rows[SOURCE_ROW], arrays), &ok);
    if (arrays) {
        put_statement(&sql[ROLLUP_SQL_TOTALS_NEW], row_insert(store, &source_rows[TOTALS_ROW], 1), &ok);
        return ok;
    }
    put_statement(&sql[ROLLUP_SQL_DOMAIN_SOURCES],
                  row_insert(store, &source_rows[DOMAIN_SOURCES_ROW], 0), &ok);
    put_statement(&sql[ROLLUP_SQL_TOTALS_NEW], store_sql_text(store, ROLLUP_TOTALS_NEW), &ok);
    put_statement(&sql[ROLLUP_SQL_TOTALS_ADD], store_sql_text(store, ROLLUP_TOTALS_ADD), &ok);
    put_statement(&sql[ROLLUP_SQL_TOTALS_ADD_SAME_DAY], store_sql_text(store, ROLLUP_TOTALS_ADD_SAME_DAY), &ok);
    put_statement(&sql[ROLLUP_SQL_TOTALS_READ], store_sql_text(store, ROLLUP_TOTALS_READ), &ok);
    return ok;
}

/* The ingest statements in this backend's SQL, built on first use. */
ms_status rollup_ingest_statements(ms_store *store)
{
    if (store->rollup_sql != NULL)
        return MS_OK;
    char **sql = calloc(ROLLUP_ROW_STATEMENTS, sizeof *sql);
    if (sql == NULL)
        return MS_ERR_NOMEM;
    if (!ingest_statements(store, sql)) {
        rollup_free(sql);
        return MS_ERR_NOMEM;
    }
    store->rollup_sql = sql;
    return MS_OK;
}

void rollup_free(char **sql)
{
    for (size_t i = 0; sql != NULL && i < ROLLUP_ROW_STATEMENTS; i++)
        free(sql[i]);
    free(sql);
}

ms_status rollup_add_report_days(ms_store *store, int64_t report)
{
    ms_status st = rollup_ingest_statements(store);
    sql_param range[] = {P_INT(report), P_INT(report)};
    char **sql = store->rollup_sql;
    for (size_t i = 0; st == MS_OK && i < ROW_ROLLUPS; i++)
        st = store->backend->add_rows != NULL
                 ? store->backend->add_rows(store, sql[2 * i], range, 2, sql[2 * i + 1])
                 : store_exec_params(store, sql[2 * i], range, 2);
    return st;
}

/* ---- Building them for the records already stored (migration 3) ------------ */

/* more holds "ip\0kind\0name\0" for each name noted. */
static void note_name(ms_buf *more, const char *ip, const char *kind, const char *name)
{
    if (name == NULL || name[0] == '\0')
        return;
    const char *fields[] = {ip ? ip : "", kind, name};
    for (size_t i = 0; i < 3; i++)
        ms_buf_append(more, fields[i], strlen(fields[i]) + 1);
}

/* The names noted in buf (len bytes of "ip\0kind\0name\0" triples) of
 * report, each added unless already there by insert_sql (params: report,
 * source, kind, name). */
static ms_status add_names(ms_store *store, int64_t report, const char *buf, size_t len,
                           const char *insert_sql)
{
    ms_status st = MS_OK;
    if (len == 0)
        return MS_OK; /* buf may be NULL then, and NULL + 0 is undefined */
    for (const char *p = buf, *end = buf + len; st == MS_OK && p < end;) {
        const char *ip = p, *kind = ip + strlen(ip) + 1, *name = kind + strlen(kind) + 1;
        p = name + strlen(name) + 1;
        sql_param params[] = {P_INT(report), P_TEXT(ip), P_TEXT(kind), P_TEXT(name)};
        st = store_exec_params(store, insert_sql, params, 4);
    }
    return st;
}

enum { BUILD_PAGE = 512 };

/* Where note_more_name notes the names of one record's auth_more. */
typedef struct more_names {
    ms_buf *more;
    const char *ip;
} more_names;

/* One auth_more line ("dkim\tDOMAIN\t..." or "spf\tDOMAIN\t..."): its name. */
static int note_more_name(void *arg, const char *kind, size_t kind_len, const char *rest,
                          size_t rest_len)
{
    more_names *m = arg;
    const char *tab = memchr(rest, '\t', rest_len);
    char *name = strndup(rest, tab ? (size_t)(tab - rest) : rest_len);
    if (name == NULL)
        m->more->failed = 1;
    int dkim = kind_len == 4 && strncmp(kind, "dkim", 4) == 0;
    note_name(m->more, m->ip, dkim ? "dkim" : "spf", name);
    free(name);
    return 0;
}

/* Where the pages of records with auth_more have got to. */
typedef struct build_page {
    int64_t report, seq; /* the last record read */
    size_t rows;
} build_page;

/* The names of one page's records (each kept in rows as its report id,
 * then "ip\0auth_more\0"), added once the page's cursor is closed. */
static ms_status add_page_names(ms_store *store, const ms_buf *rows, const char *insert_sql)
{
    if (rows->len == 0)
        return MS_OK; /* rows->data may be NULL then, and NULL + 0 is undefined */
    ms_buf names = MS_BUF_INIT;
    ms_status st = MS_OK;
    for (const char *p = rows->data, *end = p + rows->len; st == MS_OK && p < end;) {
        int64_t report;
        memcpy(&report, p, sizeof report);
        const char *ip = p + sizeof report, *auth_more = ip + strlen(ip) + 1;
        p = auth_more + strlen(auth_more) + 1;
        names.len = 0;
        more_names m = {&names, ip};
        store_lines_each(auth_more, note_more_name, &m);
        st = names.failed ? MS_ERR_NOMEM : add_names(store, report, names.data, names.len, insert_sql);
    }
    ms_buf_free(&names);
    return st;
}

static ms_status build_names_page(ms_store *store, build_page *page, const char *insert_sql)
{
    const store_backend *b = store->backend;
    sql_param params[] = {P_INT(page->report), P_INT(page->seq), P_INT(BUILD_PAGE)};
    sql_cursor *cur;
    ms_status st = b->query(store,
                            "SELECT a.report, a.seq, a.source_ip, a.auth_more FROM agg_records a"
                            " JOIN reports r ON r.id = a.report WHERE r.kind = 'aggregate'"
                            " AND a.auth_more IS NOT NULL"
                            " AND (a.report > $1 OR (a.report = $1 AND a.seq > $2))"
                            " ORDER BY a.report, a.seq LIMIT $3",
                            params, 3, 0, &cur);
    if (st != MS_OK)
        return st;
    ms_buf rows = MS_BUF_INIT;
    int r;
    page->rows = 0;
    while ((r = b->next(cur)) == 1) {
        page->report = b->int64(cur, 0);
        page->seq = b->int64(cur, 1);
        page->rows++;
        const char *ip = b->text(cur, 2);
        ms_buf_append(&rows, (const char *)&page->report, sizeof page->report);
        ms_buf_append(&rows, ip ? ip : "", strlen(ip ? ip : "") + 1);
        ms_buf_append(&rows, b->text(cur, 3), strlen(b->text(cur, 3)) + 1);
    }
    b->done(cur);
    st = r < 0 ? MS_ERR_IO : rows.failed ? MS_ERR_NOMEM : add_page_names(store, &rows, insert_sql);
    ms_buf_free(&rows);
    return st;
}

ms_status rollup_build_more_names(ms_store *store, const char *insert_sql)
{
    build_page page = {-1, -1, 0};
    ms_status st;
    do
        st = build_names_page(store, &page, insert_sql);
    while (st == MS_OK && page.rows == BUILD_PAGE);
    return st;
}
