/* The read queries (docs/store.md), written once over the SQL layer for
 * both backends. SQL does the grouping and summing; the order of results
 * is set here in C (strcmp), so both backends give the same order whatever
 * the server's collation.
 *
 * Sums never fail and never wrap, whatever the rows hold (counts written
 * by older versions reach 2^63 - 1, or wrapped negative): each summed
 * value is taken as is when it is not negative and as MS_STORE_SUM_MAX
 * when it is, and summed where no overflow can happen — SQLite's total()
 * (a double, exact up to 2^53) and PostgreSQL's sum() of bigint (a
 * numeric) — and every count read is saturated at MS_STORE_SUM_MAX.
 *
 * Domains are filtered and grouped in lower case, however a reporter
 * wrote them. */
#include "store/internal.h"
#include "store/rollup.h"
#include "core/grow.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LEN(a) (sizeof(a) / sizeof((a)[0]))
#define DAY 86400

uint64_t ms_store_sum(uint64_t a, uint64_t b)
{
    return a >= MS_STORE_SUM_MAX || b >= MS_STORE_SUM_MAX - a ? MS_STORE_SUM_MAX : a + b;
}

/* ---- Running a query -------------------------------------------------------- */

/* What a row callback tells query_rows: read on, stop (no error), or stop
 * because memory ran out. */
enum { ROW_NEXT, ROW_STOP, ROW_NOMEM };
typedef int (*row_fn)(ms_store *store, sql_cursor *cur, void *arg);

/* Runs a statement and calls fn on each row until the rows end or fn
 * stops; the cursor is closed whatever happens. */
static ms_status query_rows(ms_store *store, const char *sql, const sql_param *params, size_t n,
                            int streaming, row_fn fn, void *arg)
{
    sql_cursor *cur;
    ms_status st = store_group_fold(store); /* the writing connection reads its own reports */
    if (st == MS_OK)
        st = store->backend->query(store, sql, params, n, streaming, &cur);
    if (st != MS_OK)
        return st;
    int r = 0, action = ROW_NEXT;
    while (action == ROW_NEXT && (r = store->backend->next(cur)) == 1)
        action = fn(store, cur, arg);
    store->backend->done(cur);
    if (action == ROW_NOMEM)
        return MS_ERR_NOMEM;
    return action == ROW_NEXT && r < 0 ? MS_ERR_IO : MS_OK;
}

/* A query's text and parameters, built piece by piece: conditions from a
 * filter, parameters numbered in order. */
typedef struct where {
    ms_buf sql;
    sql_param params[8];
    size_t n;
} where;

/* query_rows over what *w built (MS_ERR_NOMEM if building it ran out of
 * memory); frees w->sql. */
static ms_status run_where(ms_store *store, where *w, int streaming, row_fn fn, void *arg)
{
    ms_status st = w->sql.failed
                       ? MS_ERR_NOMEM
                       : query_rows(store, w->sql.data, w->params, w->n, streaming, fn, arg);
    ms_buf_free(&w->sql);
    return st;
}

/* " AND <domain> = LOWER($k) AND <time> >= $k AND <time> < $k", each part
 * only when the filter sets it, numbered after the parameters already in
 * w. domain is a lower-case expression: domains compare case-insensitively,
 * stored as the reporter wrote them (the rollups in lower case), asked for
 * as the user typed (A-labels: ASCII). */
static void where_window(where *w, const ms_store_filter *f, const char *domain, const char *time)
{
    if (f == NULL)
        return;
    if (f->domain != NULL) {
        w->params[w->n++] = P_TEXT(f->domain);
        ms_buf_printf(&w->sql, " AND %s = LOWER($%zu)", domain, w->n);
    }
    if (f->since != 0) {
        w->params[w->n++] = P_INT(f->since);
        ms_buf_printf(&w->sql, " AND %s >= $%zu", time, w->n);
    }
    if (f->until != 0) {
        w->params[w->n++] = P_INT(f->until);
        ms_buf_printf(&w->sql, " AND %s < $%zu", time, w->n);
    }
}

/* The filter on reports (r) and their domain column. */
static void where_filter(where *w, const ms_store_filter *f, const char *domain_col)
{
    char lower[64];
    snprintf(lower, sizeof lower, "LOWER(%s)", domain_col);
    where_window(w, f, lower, "r.date_begin");
}

static void sql_text(ms_buf *sql, const ms_store *store, const char *text)
{
    store_sql_append(sql, store, text);
}

/* ---- Columns into struct fields -------------------------------------------- */

/* A column table describes what a query reads, in SELECT order: each
 * column's SQL expression and the struct field it is stored in, and how.
 * It is the one place a query names its columns: the SELECT list is built
 * from it (select_sql), so the list and the fields cannot drift apart. */
typedef enum col_kind { COL_STR, COL_I64, COL_U64, COL_INT } col_kind;
typedef struct column {
    col_kind kind;
    size_t offset;
    const char *sql; /* the expression selected (store_sql_append text) */
} column;

#define STR(type, field, sql) {COL_STR, offsetof(type, field), sql}
#define I64(type, field, sql) {COL_I64, offsetof(type, field), sql}
#define U64(type, field, sql) {COL_U64, offsetof(type, field), sql}
#define INT(type, field, sql) {COL_INT, offsetof(type, field), sql}

/* What a query selects: the columns of a table, then those of a second
 * table (then: none when then_n is 0) read into another struct or the
 * same one, then more text (NULL: none): ", <expression>" the caller
 * reads by hand, or, with no tables, the whole list of a subquery. */
typedef struct selection {
    const column *cols;
    size_t n;
    const column *then;
    size_t then_n;
    const char *more;
} selection;

#define COLUMNS(table) .cols = (table), .n = LEN(table)
#define THEN(table) .then = (table), .then_n = LEN(table)

/* Appends "SELECT " and the selection's columns. */
static void select_sql(ms_buf *sql, const ms_store *store, const selection *s)
{
    ms_buf_puts(sql, "SELECT ");
    for (size_t i = 0; i < s->n + s->then_n; i++) {
        if (i > 0)
            ms_buf_puts(sql, ", ");
        sql_text(sql, store, i < s->n ? s->cols[i].sql : s->then[i - s->n].sql);
    }
    sql_text(sql, store, s->more ? s->more : "");
}

/* query_rows over "SELECT <s>" and rest, with n (at most 8) params. */
static ms_status select_rows(ms_store *store, const selection *s, const char *rest,
                             const sql_param *params, size_t n, int streaming, row_fn fn, void *arg)
{
    where w = {MS_BUF_INIT, {{0}}, n};
    for (size_t i = 0; i < n; i++)
        w.params[i] = params[i];
    select_sql(&w.sql, store, s);
    sql_text(&w.sql, store, rest);
    return run_where(store, &w, streaming, fn, arg);
}

/* query_rows over "SELECT <s>" from, the filter's conditions (on r and its
 * domain column), then tail. */
static ms_status filter_rows(ms_store *store, const selection *s, const char *from,
                             const ms_store_filter *f, const char *domain_col, const char *tail,
                             int streaming, row_fn fn, void *arg)
{
    where w = {MS_BUF_INIT, {{0}}, 0};
    select_sql(&w.sql, store, s);
    sql_text(&w.sql, store, from);
    where_filter(&w, f, domain_col);
    sql_text(&w.sql, store, tail);
    return run_where(store, &w, streaming, fn, arg);
}

/* A column as an owned string; *oom set when the copy failed. */
static char *col_dup(ms_store *store, sql_cursor *cur, int col, int *oom)
{
    const char *s = store->backend->text(cur, col);
    if (s == NULL)
        return NULL;
    char *d = ms_strdup(s);
    if (d == NULL)
        *oom = 1;
    return d;
}

/* Counts and sums, saturated: a negative value (a count an older version
 * wrapped) or one above MS_STORE_SUM_MAX reads as MS_STORE_SUM_MAX. Both
 * backends saturate a sum beyond int64 when it is read (SQLite's double,
 * PostgreSQL's numeric text). */
static uint64_t col_u64(ms_store *store, sql_cursor *cur, int col)
{
    int64_t v = store->backend->int64(cur, col);
    return v < 0 || (uint64_t)v > MS_STORE_SUM_MAX ? MS_STORE_SUM_MAX : (uint64_t)v;
}

/* Stores columns at, at + 1, ... into the fields of *base that cols name.
 * Strings are copied (copy: 1; *oom set when a copy failed) or borrowed
 * from the cursor until its next row (copy: 0). */
static void read_columns(ms_store *store, sql_cursor *cur, int at, const column *cols, size_t n,
                         void *base, int copy, int *oom)
{
    const store_backend *b = store->backend;
    for (size_t i = 0; i < n; i++) {
        void *field = (char *)base + cols[i].offset;
        int col = at + (int)i;
        switch (cols[i].kind) {
        case COL_STR:
            *(char **)field = copy ? col_dup(store, cur, col, oom) : (char *)b->text(cur, col);
            break;
        case COL_I64:
            *(int64_t *)field = b->int64(cur, col);
            break;
        case COL_U64:
            *(uint64_t *)field = col_u64(store, cur, col);
            break;
        case COL_INT:
            *(int *)field = (int)b->int64(cur, col);
            break;
        }
    }
}

/* A row of a selection: its table into *base, its second table into
 * *then_base; copy and oom as read_columns. */
static void read_selection(ms_store *store, sql_cursor *cur, const selection *s, void *base,
                           void *then_base, int copy, int *oom)
{
    read_columns(store, cur, 0, s->cols, s->n, base, copy, oom);
    read_columns(store, cur, (int)s->n, s->then, s->then_n, then_base, copy, oom);
}

/* One row (the first) of a selection into structs, strings copied
 * (query_rows(..., read_one, &one)). */
typedef struct one_row {
    selection sel;
    void *base, *then_base;
    int found;
} one_row;

static int read_one(ms_store *store, sql_cursor *cur, void *arg)
{
    one_row *one = arg;
    int oom = 0;
    read_selection(store, cur, &one->sel, one->base, one->then_base, 1, &oom);
    one->found = 1;
    return oom ? ROW_NOMEM : ROW_STOP;
}

/* Frees the string fields of *base that cols name. */
static void free_columns(const column *cols, size_t n, void *base)
{
    for (size_t i = 0; i < n; i++)
        if (cols[i].kind == COL_STR)
            free(*(char **)((char *)base + cols[i].offset));
}

/* Frees an array of count elements of size bytes and their string fields. */
static void free_rows(const column *cols, size_t ncols, void *items, size_t count, size_t size)
{
    for (size_t i = 0; items && i < count; i++)
        free_columns(cols, ncols, (char *)items + i * size);
    free(items);
}

/* ---- Reading the rollups --------------------------------------------------- */

/* A rollup as the views read it (rollup.h): its table, or, for a window
 * that does not fall on whole UTC days, the same rows computed from the
 * records the filter selects, which is exact but reads records. */
typedef struct rollup {
    const char *table, *columns;
    const char *select; /* @COND@: the filter's conditions on r */
} rollup;

static const rollup days_rollup = {"rollup_days", ROLLUP_DAYS_COLUMNS,
                                   ROLLUP_DAYS_SELECT("@COND@")};
static const rollup counts_rollup = {
    "rollup_counts", ROLLUP_COUNTS_COLUMNS,
    ROLLUP_DISPOSITIONS_SELECT("@COND@") " UNION ALL " ROLLUP_OVERRIDES_SELECT("@COND@")
        " UNION ALL " ROLLUP_REPORTERS_SELECT("@COND@")};
static const rollup policies_rollup = {"rollup_policies", ROLLUP_POLICIES_COLUMNS,
                                       ROLLUP_POLICIES_SELECT("@COND@")};
static const rollup sources_rollup = {"rollup_source_days", ROLLUP_SOURCES_COLUMNS,
                                      ROLLUP_SOURCES_SELECT("@COND@")};
/* The sources' sums over all their days, a row per source and domain: what
 * the whole store's sources (no window) are read from, rather than a row
 * per source and day (a sender seen every day of a year has 365 of those).
 * Never read for a window, so it has no SELECT from the records. */
static const rollup totals_rollup = {"rollup_source_totals", ROLLUP_TOTALS_COLUMNS, NULL};

static int on_whole_days(const ms_store_filter *f)
{
    return f == NULL || (f->since % DAY == 0 && f->until % DAY == 0);
}

/* One query over a rollup's rows, named x:
 *   SELECT <sel> FROM x join WHERE 1 = 1 more <the filter> tail
 * more: conditions on x with parameters $1..$n of params. From the table,
 * the filter is on x.domain and x.day; else x is a WITH of the rows
 * computed from the records, the filter inside it. */
typedef struct rollup_query {
    const rollup *from;
    const selection *sel;
    const char *join, *more, *tail;
    const sql_param *params;
    size_t n;
} rollup_query;

static void rollup_sql(ms_store *store, const rollup_query *q, const ms_store_filter *f, where *w);

static ms_status rollup_rows(ms_store *store, const rollup_query *q, const ms_store_filter *f,
                             int streaming, row_fn fn, void *arg)
{
    where w = {MS_BUF_INIT, {{0}}, 0};
    rollup_sql(store, q, f, &w);
    return run_where(store, &w, streaming, fn, arg);
}

/* The text and parameters of rollup_rows' query, into the empty *w. */
static void rollup_sql(ms_store *store, const rollup_query *q, const ms_store_filter *f, where *w_out)
{
    where w = *w_out;
    for (size_t i = 0; i < q->n; i++)
        w.params[w.n++] = q->params[i];
    if (!on_whole_days(f)) {
        where cond = {MS_BUF_INIT, {{0}}, w.n};
        where_filter(&cond, f, "r.domain");
        memcpy(w.params + w.n, cond.params + w.n, (cond.n - w.n) * sizeof *w.params);
        w.n = cond.n;
        ms_buf_printf(&w.sql, "WITH x (%s) AS (", q->from->columns);
        const char *text = q->from->select;
        for (const char *at; (at = strstr(text, "@COND@")) != NULL; text = at + 6) {
            ms_buf sel = MS_BUF_INIT;
            ms_buf_append(&sel, text, (size_t)(at - text));
            sql_text(&w.sql, store, sel.data ? sel.data : "");
            ms_buf_free(&sel);
            ms_buf_puts(&w.sql, cond.sql.data ? cond.sql.data : "");
        }
        sql_text(&w.sql, store, text);
        ms_buf_puts(&w.sql, ") ");
        if (cond.sql.failed)
            w.sql.failed = 1;
        ms_buf_free(&cond.sql);
        select_sql(&w.sql, store, q->sel);
        ms_buf_puts(&w.sql, " FROM x");
    } else {
        select_sql(&w.sql, store, q->sel);
        ms_buf_printf(&w.sql, " FROM %s x", q->from->table);
    }
    sql_text(&w.sql, store, q->join ? q->join : "");
    ms_buf_puts(&w.sql, " WHERE 1 = 1");
    sql_text(&w.sql, store, q->more ? q->more : "");
    if (on_whole_days(f))
        where_window(&w, f, "x.domain", "x.day");
    sql_text(&w.sql, store, q->tail ? q->tail : "");
    *w_out = w;
}

/* ---- Ordering ---------------------------------------------------------------- */

/* strcmp with NULL before everything. */
static int cmp_str(const char *a, const char *b)
{
    if (a == NULL || b == NULL)
        return (a != NULL) - (b != NULL);
    return strcmp(a, b);
}

/* qsort that accepts an empty array given as NULL. */
static void sort(void *base, size_t n, size_t size, int (*cmp)(const void *, const void *))
{
    if (base != NULL && n > 1 && cmp != NULL)
        qsort(base, n, size, cmp);
}

static int cmp_u64_desc(uint64_t a, uint64_t b)
{
    return (a < b) - (a > b);
}

/* ---- Rows into arrays ------------------------------------------------------- */

/* An array that a query of its selection fills (append_row), one element
 * per row, its fields from the selection's tables (both into the
 * element). The rows read before a
 * failure stay in items/count until rows_out (an element is zeroed before
 * it is read, so a half-read one frees too). */
typedef struct row_array {
    void *items;
    size_t count, cap, size;
    selection sel;
} row_array;

#define ROW_ARRAY(type, table) {NULL, 0, 0, sizeof(type), {COLUMNS(table)}}

static int append_row(ms_store *store, sql_cursor *cur, void *arg)
{
    row_array *a = arg;
    char *p = ms_grow(a->items, a->count, &a->cap, a->size, 16);
    if (p == NULL)
        return ROW_NOMEM;
    a->items = p;
    char *row = memset(p + a->count++ * a->size, 0, a->size);
    int oom = 0;
    read_selection(store, cur, &a->sel, row, row, 1, &oom);
    return oom ? ROW_NOMEM : ROW_NEXT;
}

/* The end of every query into an array: hands the rows out (returns the
 * array, *count its length). After a failure (st) the rows are freed and
 * none handed out; else they are sorted with cmp (NULL: kept in the
 * query's order). */
static void *rows_out(ms_status st, row_array *a, int (*cmp)(const void *, const void *),
                      size_t *count)
{
    if (st != MS_OK) {
        for (size_t i = 0; i < a->count; i++) {
            char *row = (char *)a->items + i * a->size;
            free_columns(a->sel.cols, a->sel.n, row);
            free_columns(a->sel.then, a->sel.then_n, row);
        }
        free(a->items);
        a->items = NULL;
        a->count = 0;
    }
    sort(a->items, a->count, a->size, cmp);
    *count = a->count;
    return a->items;
}

/* ---- Name/count lists ------------------------------------------------------ */

static int cmp_count(const void *a, const void *b)
{
    const ms_store_count *x = a, *y = b;
    int c = cmp_u64_desc(x->count, y->count);
    return c ? c : cmp_str(x->name, y->name);
}

/* Adds n to name's count (name copied when new). */
static int count_add(ms_store_count **items, size_t *count, size_t *cap, const char *name,
                     size_t name_len, uint64_t n)
{
    for (size_t i = 0; i < *count; i++)
        if (strlen((*items)[i].name) == name_len && memcmp((*items)[i].name, name, name_len) == 0) {
            (*items)[i].count = ms_store_sum((*items)[i].count, n);
            return 0;
        }
    ms_store_count *p = ms_grow(*items, *count, cap, sizeof *p, 16);
    if (p == NULL)
        return -1;
    *items = p;
    p[*count].name = strndup(name, name_len);
    if (p[*count].name == NULL)
        return -1;
    p[*count].count = n;
    (*count)++;
    return 0;
}

static void counts_free(ms_store_count *items, size_t count)
{
    for (size_t i = 0; i < count; i++)
        free(items[i].name);
    free(items);
}

/* ---- Summary ---------------------------------------------------------------- */

void ms_store_summary_free(ms_store_domain_summary *rows, size_t count)
{
    for (size_t i = 0; rows && i < count; i++) {
        free(rows[i].domain);
        counts_free(rows[i].dispositions, rows[i].disposition_count);
        counts_free(rows[i].overrides, rows[i].override_count);
        counts_free(rows[i].reporters, rows[i].reporter_count);
    }
    free(rows);
}

static ms_store_domain_summary *find_domain(ms_store_domain_summary *rows, size_t count,
                                            const char *domain)
{
    for (size_t i = 0; i < count; i++)
        if (cmp_str(rows[i].domain, domain) == 0)
            return &rows[i];
    return NULL;
}

static const column summary_columns[] = {
    STR(ms_store_domain_summary, domain, "x.domain"),
    U64(ms_store_domain_summary, reports, "@SUM@(x.reports)"),
    U64(ms_store_domain_summary, messages, "@SUM@(x.messages)"),
    I64(ms_store_domain_summary, first, "MIN(x.first_begin)"),
    I64(ms_store_domain_summary, last, "MAX(x.last_end)"),
    U64(ms_store_domain_summary, dmarc_pass, "@SUM@(x.dmarc_pass)"),
    U64(ms_store_domain_summary, spf_aligned, "@SUM@(x.spf_aligned)"),
    U64(ms_store_domain_summary, dkim_aligned, "@SUM@(x.dkim_aligned)"),
};

static ms_status summary_totals(ms_store *store, const ms_store_filter *f,
                                ms_store_domain_summary **rows, size_t *count)
{
    row_array a = ROW_ARRAY(ms_store_domain_summary, summary_columns);
    rollup_query q = {&days_rollup, &a.sel, NULL, NULL, " GROUP BY x.domain", NULL, 0};
    ms_status st = rollup_rows(store, &q, f, 0, append_row, &a);
    *rows = rows_out(st, &a, NULL, count);
    return st;
}

enum summary_list { LIST_DISPOSITIONS, LIST_OVERRIDES, LIST_REPORTERS, LISTS };

/* The summary rows the name/count lists are added to. */
typedef struct summary_rows {
    ms_store_domain_summary *rows;
    size_t count;
    size_t *caps; /* LISTS per domain: the capacity of each list */
} summary_rows;

/* A row of the lists, its strings borrowed. Overrides come as the
 * record's comma-joined reason types and are split here. */
typedef struct list_item {
    char *domain, *kind, *name;
    uint64_t messages;
} list_item;

static const column list_item_columns[] = {
    STR(list_item, domain, "x.domain"),
    STR(list_item, kind, "x.kind"),
    STR(list_item, name, "x.name"),
    U64(list_item, messages, "@SUM@(x.messages)"),
};

static int add_list_item(ms_store *store, sql_cursor *cur, void *arg)
{
    summary_rows *s = arg;
    list_item item;
    int oom = 0; /* stays 0: nothing is copied */
    read_columns(store, cur, 0, list_item_columns, LEN(list_item_columns), &item, 0, &oom);
    ms_store_domain_summary *d = find_domain(s->rows, s->count, item.domain);
    if (d == NULL || item.kind == NULL || item.name == NULL)
        return ROW_NEXT;
    enum summary_list which = strcmp(item.kind, "disposition") == 0 ? LIST_DISPOSITIONS
                              : strcmp(item.kind, "override") == 0  ? LIST_OVERRIDES
                                                                    : LIST_REPORTERS;
    uint64_t n = item.messages;
    const char *name = item.name;
    size_t *cap = &s->caps[(size_t)(d - s->rows) * LISTS + which];
    ms_store_count **items = which == LIST_DISPOSITIONS ? &d->dispositions
                             : which == LIST_OVERRIDES  ? &d->overrides
                                                        : &d->reporters;
    size_t *items_count = which == LIST_DISPOSITIONS ? &d->disposition_count
                          : which == LIST_OVERRIDES  ? &d->override_count
                                                     : &d->reporter_count;
    if (which != LIST_OVERRIDES)
        return count_add(items, items_count, cap, name, strlen(name), n) != 0 ? ROW_NOMEM
                                                                               : ROW_NEXT;
    for (const char *p = name;; p++) {
        size_t len = strcspn(p, ",");
        if (count_add(items, items_count, cap, p, len, n) != 0)
            return ROW_NOMEM;
        p += len;
        if (*p == '\0')
            return ROW_NEXT;
    }
}

/* The dispositions, overrides and reporters of every domain, in one query. */
static ms_status summary_lists(ms_store *store, const ms_store_filter *f,
                               ms_store_domain_summary *rows, size_t count)
{
    summary_rows s = {rows, count, calloc(count ? count * LISTS : 1, sizeof(size_t))};
    if (s.caps == NULL)
        return MS_ERR_NOMEM;
    const selection sel = {COLUMNS(list_item_columns)};
    rollup_query q = {&counts_rollup, &sel, NULL, NULL, " GROUP BY x.domain, x.kind, x.name",
                      NULL, 0};
    ms_status st = rollup_rows(store, &q, f, 0, add_list_item, &s);
    free(s.caps);
    return st;
}

static int cmp_domain_summary(const void *a, const void *b)
{
    return cmp_str(((const ms_store_domain_summary *)a)->domain,
                   ((const ms_store_domain_summary *)b)->domain);
}

ms_status ms_store_summary(ms_store *store, const ms_store_filter *filter,
                           ms_store_domain_summary **out, size_t *count)
{
    ms_store_domain_summary *rows = NULL;
    size_t n = 0;
    ms_status st = summary_totals(store, filter, &rows, &n);
    if (st == MS_OK)
        st = summary_lists(store, filter, rows, n);
    if (st != MS_OK) {
        ms_store_summary_free(rows, n);
        rows = NULL;
        n = 0;
    }
    if (rows != NULL) {
        sort(rows, n, sizeof *rows, cmp_domain_summary);
        for (size_t i = 0; i < n; i++) {
            sort(rows[i].dispositions, rows[i].disposition_count, sizeof(ms_store_count), cmp_count);
            sort(rows[i].overrides, rows[i].override_count, sizeof(ms_store_count), cmp_count);
            sort(rows[i].reporters, rows[i].reporter_count, sizeof(ms_store_count), cmp_count);
        }
    }
    *out = rows;
    *count = n;
    return st;
}

/* ---- Sources ----------------------------------------------------------------- */

/* A sorted set of strings (small: the domains one source used). */
static int set_add(char ***items, size_t *count, const char *s, size_t len)
{
    if (len == 0)
        return 0;
    size_t lo = 0, hi = *count;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int c = strncmp((*items)[mid], s, len);
        if (c == 0 && (*items)[mid][len] != '\0')
            c = 1;
        if (c == 0)
            return 0;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    char **p = realloc(*items, (*count + 1) * sizeof *p);
    if (p == NULL)
        return -1;
    *items = p;
    char *copy = strndup(s, len);
    if (copy == NULL)
        return -1;
    memmove(p + lo + 1, p + lo, (*count - lo) * sizeof *p);
    p[lo] = copy;
    (*count)++;
    return 0;
}

static void set_free(char **items, size_t count)
{
    for (size_t i = 0; i < count; i++)
        free(items[i]);
    free(items);
}

void ms_store_sources_free(ms_store_source *rows, size_t count)
{
    for (size_t i = 0; rows && i < count; i++) {
        free(rows[i].source_ip);
        free(rows[i].rdns);
        free(rows[i].group);
        set_free(rows[i].spf_domains, rows[i].spf_domain_count);
        set_free(rows[i].dkim_domains, rows[i].dkim_domain_count);
        set_free(rows[i].header_froms, rows[i].header_from_count);
    }
    free(rows);
}

static int cmp_source_ip(const void *a, const void *b)
{
    return cmp_str(((const ms_store_source *)a)->source_ip, ((const ms_store_source *)b)->source_ip);
}

static int cmp_source(const void *a, const void *b)
{
    const ms_store_source *x = a, *y = b;
    if ((x->group == NULL) != (y->group == NULL))
        return x->group == NULL ? 1 : -1; /* no group last */
    int c = cmp_str(x->group, y->group);
    if (c == 0)
        c = cmp_u64_desc(x->messages, y->messages);
    return c ? c : cmp_str(x->source_ip, y->source_ip);
}

/* A source: its address and rDNS name (d: RDNS_JOIN), or its address
 * alone (rdns NULL), then its counts summed over the rollup's rows x or
 * as one row x holds them. */
static const column source_key_columns[] = {
    STR(ms_store_source, source_ip, "NULLIF(x.source_ip, '')"),
    STR(ms_store_source, rdns, "d.name"),
};
static const column source_ip_columns[] = {
    STR(ms_store_source, source_ip, "NULLIF(x.source_ip, '')"),
    STR(ms_store_source, rdns, "NULL"),
};
static const column source_sum_columns[] = {
    U64(ms_store_source, messages, "@SUM@(x.messages)"),
    U64(ms_store_source, aligned, "@SUM@(x.aligned)"),
    U64(ms_store_source, unaligned, "@SUM@(x.unaligned)"),
    U64(ms_store_source, failing, "@SUM@(x.failing)"),
    U64(ms_store_source, dkim_pass_spf_fail, "@SUM@(x.dkim_pass_spf_fail)"),
    U64(ms_store_source, forwarded, "@SUM@(x.forwarded)"),
};
static const column source_row_columns[] = {
    U64(ms_store_source, messages, "x.messages"),
    U64(ms_store_source, aligned, "x.aligned"),
    U64(ms_store_source, unaligned, "x.unaligned"),
    U64(ms_store_source, failing, "x.failing"),
    U64(ms_store_source, dkim_pass_spf_fail, "x.dkim_pass_spf_fail"),
    U64(ms_store_source, forwarded, "x.forwarded"),
};

/* The sources summed per address with their rDNS names (grouped by
 * x.source_ip, d.name), summed without (grouped by x.source_ip), and
 * read from rows summed already. */
static const selection sources_summed = {COLUMNS(source_key_columns), THEN(source_sum_columns)};
static const selection sources_summed_bare = {COLUMNS(source_ip_columns),
                                              THEN(source_sum_columns)};
static const selection sources_read = {COLUMNS(source_key_columns), THEN(source_row_columns)};

#define RDNS_JOIN " LEFT JOIN rdns d ON d.ip = x.source_ip"

static ms_status sources_counts(ms_store *store, const ms_store_filter *f, ms_store_source **rows,
                                size_t *count)
{
    row_array a = {NULL, 0, 0, sizeof(ms_store_source), sources_summed};
    rollup_query q = {&sources_rollup, &a.sel, RDNS_JOIN, NULL, " GROUP BY x.source_ip, d.name",
                      NULL, 0};
    ms_status st = rollup_rows(store, &q, f, 0, append_row, &a);
    *rows = rows_out(st, &a, NULL, count);
    return st;
}

/* A name of a source (arg) into its list by kind ("spf", "dkim", "from"):
 * a line of the names column (store_lines_each; a name that holds a
 * newline is cut there: names are domains). */
static int source_name_add(void *arg, const char *kind, size_t kind_len, const char *name,
                           size_t name_len)
{
    ms_store_source *s = arg;
    if (kind_len == 3 && strncmp(kind, "spf", 3) == 0)
        return set_add(&s->spf_domains, &s->spf_domain_count, name, name_len);
    if (kind_len == 4 && strncmp(kind, "dkim", 4) == 0)
        return set_add(&s->dkim_domains, &s->dkim_domain_count, name, name_len);
    return set_add(&s->header_froms, &s->header_from_count, name, name_len);
}

/* A domain in the results after the first: an auth_more line
 * ("dkim\tDOMAIN\t..." or "spf\tDOMAIN\t..."). */
static int add_more_domain(void *arg, const char *kind, size_t kind_len, const char *rest,
                           size_t rest_len)
{
    const char *tab = memchr(rest, '\t', rest_len);
    return source_name_add(arg, kind, kind_len, rest, tab ? (size_t)(tab - rest) : rest_len);
}

/* The sources (sorted by address) that sources_domains adds to. */
typedef struct source_rows {
    ms_store_source *rows;
    size_t count;
} source_rows;

/* The source at ip among sr's, or NULL. */
static ms_store_source *find_source(const source_rows *sr, const char *ip)
{
    ms_store_source key = {.source_ip = (char *)ip};
    return sr->count ? bsearch(&key, sr->rows, sr->count, sizeof *sr->rows, cmp_source_ip) : NULL;
}

/* The domains a record names, its strings borrowed. */
typedef struct record_domains {
    char *source_ip, *spf, *dkim, *from, *more;
} record_domains;

static const column record_domain_columns[] = {
    STR(record_domains, source_ip, "DISTINCT a.source_ip"), /* each set of domains once */
    STR(record_domains, spf, "a.spf_domain"),
    STR(record_domains, dkim, "a.dkim_domain"),
    STR(record_domains, from, "a.header_from"),
    STR(record_domains, more, "a.auth_more"),
};

static int add_source_domains(ms_store *store, sql_cursor *cur, void *arg)
{
    record_domains r;
    int oom = 0; /* stays 0: nothing is copied */
    read_columns(store, cur, 0, record_domain_columns, LEN(record_domain_columns), &r, 0, &oom);
    ms_store_source *s = find_source(arg, r.source_ip);
    if (s == NULL)
        return ROW_NEXT;
    oom = (r.spf && set_add(&s->spf_domains, &s->spf_domain_count, r.spf, strlen(r.spf))) ||
          (r.dkim && set_add(&s->dkim_domains, &s->dkim_domain_count, r.dkim, strlen(r.dkim))) ||
          (r.from && set_add(&s->header_froms, &s->header_from_count, r.from, strlen(r.from))) ||
          store_lines_each(r.more, add_more_domain, s) != 0;
    return oom ? ROW_NOMEM : ROW_NEXT;
}

/* The domains of the records (first results and auth_more): the names
 * when the window is not on whole days. */
static ms_status sources_domains(ms_store *store, const ms_store_filter *f, ms_store_source *rows,
                                 size_t count)
{
    source_rows sr = {rows, count};
    const selection sel = {COLUMNS(record_domain_columns)};
    return filter_rows(store, &sel,
                       " FROM reports r JOIN agg_records a ON a.report = r.id"
                       " WHERE r.kind = 'aggregate'",
                       f, "r.domain", "", 0, add_source_domains, &sr);
}

/* A source's names in the rollup, its strings borrowed. */
typedef struct source_names {
    char *source_ip, *names;
} source_names;

static const column source_names_columns[] = {
    STR(source_names, source_ip, "NULLIF(x.source_ip, '')"),
    STR(source_names, names, "x.names"),
};

static int add_source_name_row(ms_store *store, sql_cursor *cur, void *arg)
{
    source_names row;
    int oom = 0; /* stays 0: nothing is copied */
    read_columns(store, cur, 0, source_names_columns, LEN(source_names_columns), &row, 0, &oom);
    ms_store_source *s = find_source(arg, row.source_ip);
    if (s == NULL)
        return ROW_NEXT;
    return store_lines_each(row.names, source_name_add, s) != 0 ? ROW_NOMEM : ROW_NEXT;
}

/* The SPF, DKIM and header From domains of the sources (sorted by
 * address): from the rollup, or from the records for a window that is not
 * on whole days. */
static ms_status sources_names(ms_store *store, const ms_store_filter *f, ms_store_source *rows,
                               size_t count)
{
    if (!on_whole_days(f))
        return sources_domains(store, f, rows, count);
    source_rows sr = {rows, count};
    const selection sel = {COLUMNS(source_names_columns)};
    where w = {MS_BUF_INIT, {{0}}, 0};
    select_sql(&w.sql, store, &sel);
    ms_buf_puts(&w.sql, " FROM rollup_source_days x WHERE x.names <> ''");
    where_window(&w, f, "x.domain", "x.day");
    return run_where(store, &w, 0, add_source_name_row, &sr);
}

ms_status ms_store_sources(ms_store *store, const ms_store_filter *filter, ms_store_group_fn group,
                           void *group_arg, ms_store_source **out, size_t *count)
{
    ms_store_source *rows = NULL;
    size_t n = 0;
    ms_status st = sources_counts(store, filter, &rows, &n);
    if (st == MS_OK) {
        sort(rows, n, sizeof *rows, cmp_source_ip);
        st = sources_names(store, filter, rows, n);
    }
    for (size_t i = 0; st == MS_OK && group && i < n; i++)
        if (rows[i].rdns != NULL && rows[i].rdns[0] != '\0')
            rows[i].group = group(group_arg, rows[i].rdns);
    if (st != MS_OK) {
        ms_store_sources_free(rows, n);
        rows = NULL;
        n = 0;
    }
    if (rows)
        sort(rows, n, sizeof *rows, cmp_source);
    *out = rows;
    *count = n;
    return st;
}

/* ---- Top sources, streamed ------------------------------------------------- */

/* Each count of *r combined by op with the same count of *with. */
static void rest_combine(ms_store_source_rest *r, const ms_store_source_rest *with,
                         uint64_t (*op)(uint64_t, uint64_t))
{
    r->sources = op(r->sources, with->sources);
    r->messages = op(r->messages, with->messages);
    r->aligned = op(r->aligned, with->aligned);
    r->unaligned = op(r->unaligned, with->unaligned);
    r->failing = op(r->failing, with->failing);
    r->dkim_pass_spf_fail = op(r->dkim_pass_spf_fail, with->dkim_pass_spf_fail);
    r->forwarded = op(r->forwarded, with->forwarded);
}

/* The sums of a source or of several. */
static void rest_add(ms_store_source_rest *r, const ms_store_source *s)
{
    const ms_store_source_rest one = {
        .sources = 1,           .messages = s->messages, .aligned = s->aligned,
        .unaligned = s->unaligned, .failing = s->failing,
        .dkim_pass_spf_fail = s->dkim_pass_spf_fail, .forwarded = s->forwarded,
    };
    rest_combine(r, &one, ms_store_sum);
}

static uint64_t minus(uint64_t a, uint64_t b)
{
    return a == MS_STORE_SUM_MAX ? a : a > b ? a - b : 0;
}

/* What the sources passed to fn leave of the totals. */
static void rest_subtract(ms_store_source_rest *total, const ms_store_source_rest *shown)
{
    rest_combine(total, shown, minus);
}

/* Where the streamed sources go, read with sel's table then the names
 * column. */
typedef struct top_sink {
    ms_store_source_fn fn;
    void *arg;
    ms_store_source_rest shown;
    selection sel;
} top_sink;

static void source_names_free(ms_store_source *s)
{
    set_free(s->spf_domains, s->spf_domain_count);
    set_free(s->dkim_domains, s->dkim_domain_count);
    set_free(s->header_froms, s->header_from_count);
}

/* A row: the sink's columns then the names; strings borrowed for the call. */
static int pass_source(ms_store *store, sql_cursor *cur, void *arg)
{
    top_sink *sink = arg;
    ms_store_source s = {0};
    int oom = 0;
    read_selection(store, cur, &sink->sel, &s, &s, 0, &oom);
    const char *names = store->backend->text(cur, (int)(sink->sel.n + sink->sel.then_n));
    if (store_lines_each(names, source_name_add, &s) != 0) {
        source_names_free(&s);
        return ROW_NOMEM;
    }
    rest_add(&sink->shown, &s);
    int stop = sink->fn(sink->arg, &s);
    source_names_free(&s);
    return stop ? ROW_STOP : ROW_NEXT;
}

/* ", <the names of x.source_ip as one column>" on n's conditions (cond,
 * the filter's window), into *w. The two tables of rollup_source_days are
 * asked one by one, each through its key: through the view, SQLite would
 * make all of it for every source (the terms of a correlated subquery are
 * not pushed into a UNION ALL). */
static void names_column(where *w, const ms_store *store, const char *cond,
                         const ms_store_filter *f)
{
    where window = {MS_BUF_INIT, {{0}}, w->n}; /* its parameters serve both tables */
    ms_buf_puts(&window.sql, cond);
    where_window(&window, f, "n.domain", "n.day");
    memcpy(w->params + w->n, window.params + w->n, (window.n - w->n) * sizeof *w->params);
    w->n = window.n;
    const char *conds = window.sql.data ? window.sql.data : "";
    sql_text(&w->sql, store,
             ", (SELECT @LIST@(n.names, '\n') FROM (SELECT n.names FROM rollup_sources n"
             " WHERE n.source_ip = x.source_ip AND n.names <> ''");
    ms_buf_puts(&w->sql, conds);
    ms_buf_puts(&w->sql, " UNION ALL SELECT n.names FROM rollup_source_totals n"
                         " WHERE n.source_ip = x.source_ip AND n.day IS NOT NULL AND n.names <> ''");
    ms_buf_puts(&w->sql, conds);
    ms_buf_puts(&w->sql, ") n)");
    if (window.sql.failed)
        w->sql.failed = 1;
    ms_buf_free(&window.sql);
}

static void limit_clause(ms_buf *sql, size_t limit)
{
    if (limit > 0)
        ms_buf_printf(sql, " LIMIT %zu", limit);
}

/* Without a window, for one domain: the totals' index in order, no scan. */
static ms_status top_of_domain(ms_store *store, const char *domain, size_t limit, top_sink *sink)
{
    where w = {MS_BUF_INIT, {P_TEXT(domain)}, 1};
    sink->sel = sources_read;
    select_sql(&w.sql, store, &sink->sel);
    names_column(&w, store, " AND n.domain = x.domain", NULL);
    sql_text(&w.sql, store,
             " FROM rollup_source_totals x" RDNS_JOIN " WHERE x.domain = LOWER($1)"
             " ORDER BY x.messages DESC, x.source_ip@C@");
    limit_clause(&w.sql, limit);
    return run_where(store, &w, 1, pass_source, sink);
}

/* Otherwise: the top of the window's sources, summed from the rows of
 * from (sources_rollup, or totals_rollup for the whole store). The names
 * and rDNS are read for the sources shown only (outside the query that
 * sums and sorts them): a month of a spoofed domain has hundreds of
 * thousands of sources. */
static ms_status top_of_window(ms_store *store, const rollup *from, const ms_store_filter *f,
                               size_t limit, top_sink *sink)
{
    ms_buf tail = MS_BUF_INIT;
    sql_text(&tail, store, " GROUP BY x.source_ip ORDER BY 2 DESC, x.source_ip@C@");
    limit_clause(&tail, limit);
    /* the sums, named for the query around it (sources_read's x) */
    const selection sums = {
        .more = "x.source_ip AS source_ip, @SUM@(x.messages) AS messages,"
                " @SUM@(x.aligned) AS aligned, @SUM@(x.unaligned) AS unaligned,"
                " @SUM@(x.failing) AS failing, @SUM@(x.dkim_pass_spf_fail) AS dkim_pass_spf_fail,"
                " @SUM@(x.forwarded) AS forwarded"};
    rollup_query q = {from, &sums, NULL, NULL, tail.data, NULL, 0};
    where top = {MS_BUF_INIT, {{0}}, 0};
    if (!tail.failed)
        rollup_sql(store, &q, f, &top);
    where w = {MS_BUF_INIT, {{0}}, top.n};
    memcpy(w.params, top.params, top.n * sizeof *w.params);
    sink->sel = sources_read;
    select_sql(&w.sql, store, &sink->sel);
    names_column(&w, store, "", f);
    ms_buf_puts(&w.sql, " FROM (");
    ms_buf_puts(&w.sql, top.sql.data ? top.sql.data : "");
    sql_text(&w.sql, store, ") x" RDNS_JOIN " ORDER BY x.messages DESC, x.source_ip@C@");
    if (tail.failed || top.sql.failed)
        w.sql.failed = 1;
    ms_buf_free(&top.sql);
    ms_buf_free(&tail);
    return run_where(store, &w, 1, pass_source, sink);
}

/* Every source, in no order: no sort, no rDNS. */
ms_status ms_store_sources_each(ms_store *store, const ms_store_filter *filter,
                                ms_store_source_fn fn, void *arg)
{
    top_sink sink = {fn, arg, {0}, sources_summed_bare};
    where names = {MS_BUF_INIT, {{0}}, 0};
    names_column(&names, store, "", filter);
    selection sel = sources_summed_bare;
    sel.more = names.sql.data;
    rollup_query q = {&sources_rollup, &sel, NULL, NULL, " GROUP BY x.source_ip", names.params,
                      names.n};
    ms_status st = names.sql.failed ? MS_ERR_NOMEM
                                    : rollup_rows(store, &q, filter, 1, pass_source, &sink);
    ms_buf_free(&names.sql);
    return st;
}

static int cmp_source_volume(const void *a, const void *b)
{
    const ms_store_source *x = a, *y = b;
    int c = cmp_u64_desc(x->messages, y->messages);
    return c ? c : cmp_str(x->source_ip, y->source_ip);
}

/* A window not on whole days, a page of sources at a time: each page's
 * sums computed from the window's records in SQL, in order of volume,
 * then the page's names from those records. Memory holds one page
 * whatever the window holds; each page reads the window's records again
 * (--all over such a window takes a pass per RECORDS_PAGE sources). */
enum { RECORDS_PAGE = 4096 };

/* A page of sources into a (of sources_summed), sorted by address. */
static ms_status records_page(ms_store *store, const ms_store_filter *f, size_t offset, size_t want,
                              row_array *a)
{
    ms_buf tail = MS_BUF_INIT;
    sql_text(&tail, store, " GROUP BY x.source_ip, d.name ORDER BY 3 DESC, x.source_ip@C@");
    ms_buf_printf(&tail, " LIMIT %zu OFFSET %zu", want, offset);
    rollup_query q = {&sources_rollup, &a->sel, RDNS_JOIN, NULL, tail.data, NULL, 0};
    ms_status st = tail.failed ? MS_ERR_NOMEM : rollup_rows(store, &q, f, 0, append_row, a);
    ms_buf_free(&tail);
    if (st == MS_OK) { /* the names, looked up by address */
        sort(a->items, a->count, a->size, cmp_source_ip);
        st = sources_domains(store, f, a->items, a->count);
    }
    return st;
}

static ms_status top_of_records(ms_store *store, const ms_store_filter *f, size_t limit,
                                top_sink *sink)
{
    ms_status st = MS_OK;
    int stop = 0;
    for (size_t passed = 0; st == MS_OK && !stop && (limit == 0 || passed < limit);) {
        size_t want = limit == 0 || limit - passed > RECORDS_PAGE ? RECORDS_PAGE : limit - passed;
        row_array a = {NULL, 0, 0, sizeof(ms_store_source), sources_summed};
        size_t n;
        st = records_page(store, f, passed, want, &a);
        /* handed out whatever st: ms_store_sources_free frees the domain
         * lists a failure left too */
        ms_store_source *rows = rows_out(MS_OK, &a, cmp_source_volume, &n);
        for (size_t i = 0; st == MS_OK && !stop && i < n; i++) {
            rest_add(&sink->shown, &rows[i]);
            stop = sink->fn(sink->arg, &rows[i]) != 0;
        }
        stop = stop || n < want;
        passed += n;
        ms_store_sources_free(rows, n);
    }
    return st;
}

/* The first and last domain a store holds reports for. */
typedef struct domain_range {
    char *first, *last;
} domain_range;

static const column domain_range_columns[] = {
    STR(domain_range, first, "MIN(domain)"),
    STR(domain_range, last, "MAX(domain)"),
};

/* The one domain a store holds reports for, if only one: *domain NULL
 * otherwise (caller frees). */
static ms_status only_domain(ms_store *store, char **domain)
{
    domain_range range = {0};
    one_row one = {{COLUMNS(domain_range_columns)}, &range, NULL, 0};
    ms_status st = select_rows(store, &one.sel, " FROM rollup_days", NULL, 0, 0, read_one, &one);
    *domain = NULL;
    if (st == MS_OK && range.first != NULL && cmp_str(range.first, range.last) == 0) {
        *domain = range.first;
        range.first = NULL;
    }
    free_columns(domain_range_columns, LEN(domain_range_columns), &range);
    return st;
}

/* The sums over the rows x of the days' rollup. */
static const column rest_sum_columns[] = {
    U64(ms_store_source_rest, messages, "@SUM@(x.messages)"),
    U64(ms_store_source_rest, aligned, "@SUM@(x.dmarc_pass)"),
    U64(ms_store_source_rest, unaligned, "@SUM@(x.unaligned)"),
    U64(ms_store_source_rest, failing, "@SUM@(x.failing)"),
    U64(ms_store_source_rest, dkim_pass_spf_fail, "@SUM@(x.dkim_pass_spf_fail)"),
    U64(ms_store_source_rest, forwarded, "@SUM@(x.forwarded)"),
};

/* How many sources: the count kept per domain, or counted in the rows x
 * of the sources' rollup. */
static const column rest_kept_count_columns[] = {
    U64(ms_store_source_rest, sources, "COALESCE(MAX(sources), 0)"),
};
static const column rest_count_columns[] = {
    U64(ms_store_source_rest, sources, "COUNT(DISTINCT x.source_ip)"),
};

/* The sums over every source the filter selects, and how many there are
 * (the count kept for one domain, else counted in the rows of sources:
 * top_of_window's). */
static ms_status sources_total(ms_store *store, const ms_store_filter *f, const char *domain,
                               const rollup *sources, ms_store_source_rest *total)
{
    *total = (ms_store_source_rest){0};
    one_row sums = {{COLUMNS(rest_sum_columns)}, total, NULL, 0};
    rollup_query q = {&days_rollup, &sums.sel, NULL, NULL, NULL, NULL, 0};
    ms_status st = rollup_rows(store, &q, f, 0, read_one, &sums);
    if (st == MS_OK && domain != NULL) {
        one_row count = {{COLUMNS(rest_kept_count_columns)}, total, NULL, 0};
        sql_param p[] = {P_TEXT(domain)};
        st = select_rows(store, &count.sel, " FROM rollup_domain_sources WHERE domain = LOWER($1)",
                         p, 1, 0, read_one, &count);
    } else if (st == MS_OK) {
        one_row count = {{COLUMNS(rest_count_columns)}, total, NULL, 0};
        /* The addresses in the order of the key (source_ip first) make
         * the count one pass; SQLite would otherwise read the totals'
         * smaller index, in which they are not in order, and sort them
         * all (3.5 s against 0.4 s for a million sources). */
        rollup_query c = {sources, &count.sel, NULL, " AND x.source_ip >= ''", NULL, NULL, 0};
        st = rollup_rows(store, &c, f, 0, read_one, &count);
    }
    return st;
}

ms_status ms_store_sources_top(ms_store *store, const ms_store_filter *filter, size_t limit,
                               ms_store_source_fn fn, void *arg, ms_store_source_rest *rest)
{
    top_sink sink = {.fn = fn, .arg = arg};
    int whole_store = filter == NULL || (filter->since == 0 && filter->until == 0);
    char *domain = NULL;
    ms_status st = MS_OK;
    if (whole_store && (filter == NULL || filter->domain == NULL))
        st = only_domain(store, &domain);
    const char *one = whole_store && filter != NULL && filter->domain ? filter->domain : domain;
    const rollup *sources = whole_store ? &totals_rollup : &sources_rollup;
    if (st == MS_OK)
        st = one != NULL               ? top_of_domain(store, one, limit, &sink)
             : on_whole_days(filter) ? top_of_window(store, sources, filter, limit, &sink)
                                     : top_of_records(store, filter, limit, &sink);
    if (st == MS_OK && rest != NULL) {
        st = sources_total(store, filter, one, sources, rest);
        rest_subtract(rest, &sink.shown);
    }
    free(domain);
    return st;
}

/* ---- Time series and the policy over time --------------------------------- */

static const column day_columns[] = {
    STR(ms_store_day_row, domain, "x.domain"),
    I64(ms_store_day_row, day, "x.day"),
    U64(ms_store_day_row, reports, "x.reports"),
    U64(ms_store_day_row, messages, "x.messages"),
    U64(ms_store_day_row, dmarc_pass, "x.dmarc_pass"),
    U64(ms_store_day_row, spf_aligned, "x.spf_aligned"),
    U64(ms_store_day_row, dkim_aligned, "x.dkim_aligned"),
    U64(ms_store_day_row, none, "x.disp_none"),
    U64(ms_store_day_row, quarantine, "x.disp_quarantine"),
    U64(ms_store_day_row, reject, "x.disp_reject"),
};

void ms_store_daily_free(ms_store_day_row *rows, size_t count)
{
    free_rows(day_columns, LEN(day_columns), rows, count, sizeof *rows);
}

static int cmp_day_row(const void *a, const void *b)
{
    const ms_store_day_row *x = a, *y = b;
    int c = cmp_str(x->domain, y->domain);
    return c ? c : (x->day > y->day) - (x->day < y->day);
}

ms_status ms_store_daily(ms_store *store, const ms_store_filter *filter, ms_store_day_row **out,
                         size_t *count)
{
    row_array a = ROW_ARRAY(ms_store_day_row, day_columns);
    rollup_query q = {&days_rollup, &a.sel, NULL, NULL, NULL, NULL, 0};
    ms_status st = rollup_rows(store, &q, filter, 0, append_row, &a);
    *out = rows_out(st, &a, cmp_day_row, count);
    return st;
}

static const column source_day_columns[] = {
    STR(ms_store_source_day, domain, "x.domain"),
    I64(ms_store_source_day, day, "x.day"),
    U64(ms_store_source_day, messages, "x.messages"),
    U64(ms_store_source_day, aligned, "x.aligned"),
    U64(ms_store_source_day, unaligned, "x.unaligned"),
    U64(ms_store_source_day, failing, "x.failing"),
    U64(ms_store_source_day, dkim_pass_spf_fail, "x.dkim_pass_spf_fail"),
    U64(ms_store_source_day, forwarded, "x.forwarded"),
};

void ms_store_source_daily_free(ms_store_source_day *rows, size_t count)
{
    free_rows(source_day_columns, LEN(source_day_columns), rows, count, sizeof *rows);
}

static int cmp_source_day(const void *a, const void *b)
{
    const ms_store_source_day *x = a, *y = b;
    if (x->day != y->day)
        return x->day < y->day ? -1 : 1;
    return cmp_str(x->domain, y->domain);
}

ms_status ms_store_source_daily(ms_store *store, const ms_store_filter *filter, const char *ip,
                                ms_store_source_day **out, size_t *count)
{
    row_array a = ROW_ARRAY(ms_store_source_day, source_day_columns);
    sql_param p[] = {P_TEXT(ip ? ip : "")};
    rollup_query q = {&sources_rollup, &a.sel, NULL, " AND x.source_ip = $1", NULL, p, 1};
    ms_status st = rollup_rows(store, &q, filter, 0, append_row, &a);
    *out = rows_out(st, &a, cmp_source_day, count);
    return st;
}

/* One row per distinct policy: the policy fields are grouped as stored
 * ('' for a field the report left out) and read as NULL there. */
static const column policy_columns[] = {
    STR(ms_store_policy_row, domain, "x.domain"),
    STR(ms_store_policy_row, p, "NULLIF(x.p, '')"),
    STR(ms_store_policy_row, sp, "NULLIF(x.sp, '')"),
    STR(ms_store_policy_row, np, "NULLIF(x.np, '')"),
    STR(ms_store_policy_row, pct, "NULLIF(x.pct, '')"),
    STR(ms_store_policy_row, adkim, "NULLIF(x.adkim, '')"),
    STR(ms_store_policy_row, aspf, "NULLIF(x.aspf, '')"),
    STR(ms_store_policy_row, fo, "NULLIF(x.fo, '')"),
    STR(ms_store_policy_row, testing, "NULLIF(x.testing, '')"),
    I64(ms_store_policy_row, first, "MIN(x.first_begin)"),
    I64(ms_store_policy_row, last, "MAX(x.last_end)"),
    U64(ms_store_policy_row, reports, "@SUM@(x.reports)"),
    U64(ms_store_policy_row, reporters, "COUNT(DISTINCT x.org)"),
};

void ms_store_policy_history_free(ms_store_policy_row *rows, size_t count)
{
    free_rows(policy_columns, LEN(policy_columns), rows, count, sizeof *rows);
}

static int cmp_policy_row(const void *a, const void *b)
{
    const ms_store_policy_row *x = a, *y = b;
    int c = cmp_str(x->domain, y->domain);
    if (c == 0 && x->first != y->first)
        c = x->first < y->first ? -1 : 1;
    const char *fx[] = {x->p, x->sp, x->np, x->pct, x->adkim, x->aspf, x->fo, x->testing};
    const char *fy[] = {y->p, y->sp, y->np, y->pct, y->adkim, y->aspf, y->fo, y->testing};
    for (size_t i = 0; c == 0 && i < LEN(fx); i++)
        c = cmp_str(fx[i], fy[i]);
    return c;
}

ms_status ms_store_policy_history(ms_store *store, const ms_store_filter *filter,
                                  ms_store_policy_row **out, size_t *count)
{
    row_array a = ROW_ARRAY(ms_store_policy_row, policy_columns);
    rollup_query q = {&policies_rollup, &a.sel, NULL, NULL,
                      " GROUP BY x.domain, x.p, x.sp, x.np, x.pct, x.adkim, x.aspf, x.fo, x.testing",
                      NULL, 0};
    ms_status st = rollup_rows(store, &q, filter, 0, append_row, &a);
    *out = rows_out(st, &a, cmp_policy_row, count);
    return st;
}

/* ---- List, show, export ------------------------------------------------------ */

static const column report_columns[] = {
    I64(ms_store_report_row, id, "r.id"),
    STR(ms_store_report_row, kind, "r.kind"),
    STR(ms_store_report_row, org, "r.org"),
    STR(ms_store_report_row, report_id, "r.report_id"),
    STR(ms_store_report_row, domain, "r.domain"),
    I64(ms_store_report_row, begin, "r.date_begin"),
    I64(ms_store_report_row, end, "r.date_end"),
    U64(ms_store_report_row, records, "r.records"),
    U64(ms_store_report_row, messages, "r.messages"),
    I64(ms_store_report_row, ingested_at, "r.ingested_at"),
    STR(ms_store_report_row, origin, "r.origin"),
};

void ms_store_list_free(ms_store_report_row *rows, size_t count)
{
    free_rows(report_columns, LEN(report_columns), rows, count, sizeof *rows);
}

static int cmp_report_row(const void *a, const void *b)
{
    const ms_store_report_row *x = a, *y = b;
    if (x->begin != y->begin)
        return x->begin < y->begin ? -1 : 1;
    return (x->id > y->id) - (x->id < y->id);
}

ms_status ms_store_list(ms_store *store, const ms_store_filter *filter, ms_store_report_row **out,
                        size_t *count)
{
    row_array a = ROW_ARRAY(ms_store_report_row, report_columns);
    ms_status st = filter_rows(store, &a.sel, " FROM reports r WHERE 1 = 1", filter, "r.domain",
                               "", 0, append_row, &a);
    *out = rows_out(st, &a, cmp_report_row, count);
    return st;
}

ms_status ms_store_list_newest(ms_store *store, const ms_store_filter *filter,
                               const ms_store_list_page *page, ms_store_report_row **out,
                               size_t *count)
{
    *out = NULL;
    *count = 0;
    if (page->limit > MS_STORE_LIST_PAGE_MAX || page->offset > INT64_MAX)
        return store_fail(store, MS_ERR_LIMIT, "a page of at most %d reports",
                          MS_STORE_LIST_PAGE_MAX);
    row_array a = ROW_ARRAY(ms_store_report_row, report_columns);
    where w = {MS_BUF_INIT, {{0}}, 0};
    select_sql(&w.sql, store, &a.sel);
    ms_buf_puts(&w.sql, " FROM reports r WHERE 1 = 1");
    if (page->kind != NULL) {
        w.params[w.n++] = P_TEXT(page->kind);
        ms_buf_printf(&w.sql, " AND r.kind = $%zu", w.n);
    }
    where_filter(&w, filter, "r.domain");
    w.params[w.n++] = P_INT(page->limit);
    w.params[w.n++] = P_INT(page->offset);
    ms_buf_printf(&w.sql, " ORDER BY r.date_begin DESC, r.id DESC LIMIT $%zu OFFSET $%zu", w.n - 1,
                  w.n);
    ms_status st = run_where(store, &w, 1, append_row, &a);
    *out = rows_out(st, &a, NULL, count);
    return st;
}

static const column record_columns[] = {
    I64(ms_store_record, report, "a.report"),
    I64(ms_store_record, seq, "a.seq"),
    STR(ms_store_record, source_ip, "a.source_ip"),
    U64(ms_store_record, count, "a.count"),
    STR(ms_store_record, disposition, "a.disposition"),
    STR(ms_store_record, dkim, "a.dkim"),
    STR(ms_store_record, spf, "a.spf"),
    STR(ms_store_record, reasons, "a.reasons"),
    STR(ms_store_record, reason_comments, "a.reason_comments"),
    STR(ms_store_record, envelope_to, "a.envelope_to"),
    STR(ms_store_record, envelope_from, "a.envelope_from"),
    STR(ms_store_record, header_from, "a.header_from"),
    STR(ms_store_record, dkim_domain, "a.dkim_domain"),
    STR(ms_store_record, dkim_selector, "a.dkim_selector"),
    STR(ms_store_record, dkim_result, "a.dkim_result"),
    STR(ms_store_record, dkim_human, "a.dkim_human"),
    STR(ms_store_record, spf_domain, "a.spf_domain"),
    STR(ms_store_record, spf_scope, "a.spf_scope"),
    STR(ms_store_record, spf_result, "a.spf_result"),
    STR(ms_store_record, spf_human, "a.spf_human"),
    INT(ms_store_record, dkim_pass, "a.dkim_pass"),
    INT(ms_store_record, spf_pass, "a.spf_pass"),
    STR(ms_store_record, auth_more, "a.auth_more"),
};

/* The report's own columns, read after report_columns in show_head. */
static const column report_detail_columns[] = {
    STR(ms_store_report, email, "r.email"),
    STR(ms_store_report, extra_contact_info, "r.extra_contact_info"),
    STR(ms_store_report, version, "r.version"),
    STR(ms_store_report, generator, "r.generator"),
    STR(ms_store_report, errors, "r.errors"),
    STR(ms_store_report, adkim, "r.adkim"),
    STR(ms_store_report, aspf, "r.aspf"),
    STR(ms_store_report, p, "r.p"),
    STR(ms_store_report, sp, "r.sp"),
    STR(ms_store_report, np, "r.np"),
    STR(ms_store_report, pct, "r.pct"),
    STR(ms_store_report, fo, "r.fo"),
    STR(ms_store_report, testing, "r.testing"),
    STR(ms_store_report, discovery_method, "r.discovery_method"),
    STR(ms_store_report, notes, "r.notes"),
};

static const column tls_policy_columns[] = {
    STR(ms_store_tls_policy_row, policy_type, "policy_type"),
    STR(ms_store_tls_policy_row, policy_domain, "policy_domain"),
    STR(ms_store_tls_policy_row, policy_string, "policy_string"),
    STR(ms_store_tls_policy_row, mx_host, "mx_host"),
    U64(ms_store_tls_policy_row, successful, "successful"),
    U64(ms_store_tls_policy_row, failed, "failed"),
};

static const column tls_failure_columns[] = {
    STR(ms_store_tls_failure_row, result_type, "result_type"),
    STR(ms_store_tls_failure_row, sending_mta_ip, "sending_mta_ip"),
    STR(ms_store_tls_failure_row, receiving_mx_hostname, "receiving_mx_hostname"),
    STR(ms_store_tls_failure_row, receiving_mx_helo, "receiving_mx_helo"),
    STR(ms_store_tls_failure_row, receiving_ip, "receiving_ip"),
    STR(ms_store_tls_failure_row, additional_information, "additional_information"),
    STR(ms_store_tls_failure_row, failure_reason_code, "failure_reason_code"),
    U64(ms_store_tls_failure_row, failed_sessions, "failed_sessions"),
};

void ms_store_report_free(ms_store_report *rep)
{
    if (rep == NULL)
        return;
    free_columns(report_columns, LEN(report_columns), &rep->head);
    free_columns(report_detail_columns, LEN(report_detail_columns), rep);
    free_rows(record_columns, LEN(record_columns), rep->records, rep->record_count,
              sizeof *rep->records);
    for (size_t i = 0; i < rep->policy_count; i++) {
        ms_store_tls_policy_row *p = &rep->policies[i];
        free_columns(tls_policy_columns, LEN(tls_policy_columns), p);
        free_rows(tls_failure_columns, LEN(tls_failure_columns), p->failures, p->failure_count,
                  sizeof *p->failures);
    }
    free(rep->policies);
    free(rep);
}

static ms_status show_head(ms_store *store, ms_store_report *rep, int64_t id, int *found)
{
    sql_param p[] = {P_INT(id)};
    one_row head = {{COLUMNS(report_columns), .then = report_detail_columns,
                     .then_n = LEN(report_detail_columns)},
                    &rep->head, rep, 0};
    ms_status st = select_rows(store, &head.sel, " FROM reports r WHERE r.id = $1", p, 1, 0,
                               read_one, &head);
    *found = head.found;
    return st;
}

static ms_status show_records(ms_store *store, ms_store_report *rep)
{
    sql_param p[] = {P_INT(rep->head.id)};
    row_array a = ROW_ARRAY(ms_store_record, record_columns);
    ms_status st = select_rows(store, &a.sel, " FROM agg_records a WHERE a.report = $1 ORDER BY a.seq",
                               p, 1, 0, append_row, &a);
    rep->records = rows_out(st, &a, NULL, &rep->record_count);
    return st;
}

static ms_status show_tls_failures(ms_store *store, ms_store_tls_policy_row *pol, int64_t policy)
{
    sql_param p[] = {P_INT(policy)};
    row_array a = ROW_ARRAY(ms_store_tls_failure_row, tls_failure_columns);
    ms_status st = select_rows(store, &a.sel, " FROM tls_failures WHERE policy = $1 ORDER BY seq",
                               p, 1, 0, append_row, &a);
    pol->failures = rows_out(st, &a, NULL, &pol->failure_count);
    return st;
}

/* The policies, and each one's id (the column after tls_policy_columns)
 * to read its failures with. */
typedef struct policy_rows {
    row_array a;
    int64_t *ids;
} policy_rows;

static int append_policy(ms_store *store, sql_cursor *cur, void *arg)
{
    policy_rows *pr = arg;
    int64_t *ids = realloc(pr->ids, (pr->a.count + 1) * sizeof *ids);
    if (ids == NULL)
        return ROW_NOMEM;
    pr->ids = ids;
    ids[pr->a.count] = store->backend->int64(cur, (int)pr->a.sel.n);
    return append_row(store, cur, &pr->a);
}

static ms_status show_tls(ms_store *store, ms_store_report *rep)
{
    sql_param p[] = {P_INT(rep->head.id)};
    policy_rows pr = {ROW_ARRAY(ms_store_tls_policy_row, tls_policy_columns), NULL};
    pr.a.sel.more = ", id";
    ms_status st = select_rows(store, &pr.a.sel, " FROM tls_policies WHERE report = $1 ORDER BY id",
                               p, 1, 0, append_policy, &pr);
    rep->policies = rows_out(st, &pr.a, NULL, &rep->policy_count);
    for (size_t i = 0; st == MS_OK && i < rep->policy_count; i++)
        st = show_tls_failures(store, &rep->policies[i], pr.ids[i]);
    free(pr.ids);
    return st;
}

ms_status ms_store_show(ms_store *store, int64_t id, ms_store_report **out)
{
    *out = NULL;
    ms_store_report *rep = calloc(1, sizeof *rep);
    if (rep == NULL)
        return MS_ERR_NOMEM;
    int found = 0;
    ms_status st = show_head(store, rep, id, &found);
    if (st == MS_OK && !found)
        st = store_fail(store, MS_ERR_INVALID, "no report %lld", (long long)id);
    if (st == MS_OK && strcmp(rep->head.kind, "aggregate") == 0)
        st = show_records(store, rep);
    if (st == MS_OK && strcmp(rep->head.kind, "tls") == 0)
        st = show_tls(store, rep);
    if (st != MS_OK) {
        ms_store_report_free(rep);
        return st;
    }
    *out = rep;
    return MS_OK;
}

/* One export row: report_columns then record_columns, strings borrowed. */
typedef struct export_sink {
    ms_store_export_fn row;
    void *arg;
    selection sel;
} export_sink;

static int export_row(ms_store *store, sql_cursor *cur, void *arg)
{
    export_sink *sink = arg;
    ms_store_report_row head;
    ms_store_record rec;
    int oom = 0; /* stays 0: nothing is copied */
    read_selection(store, cur, &sink->sel, &head, &rec, 0, &oom);
    return sink->row(sink->arg, &head, &rec) != 0 ? ROW_STOP : ROW_NEXT;
}

ms_status ms_store_export(ms_store *store, const ms_store_filter *filter, ms_store_export_fn row,
                          void *arg)
{
    export_sink sink = {row, arg,
                        {COLUMNS(report_columns), .then = record_columns,
                         .then_n = LEN(record_columns)}};
    return filter_rows(store, &sink.sel,
                       " FROM reports r JOIN agg_records a ON a.report = r.id"
                       " WHERE r.kind = 'aggregate'",
                       filter, "r.domain", " ORDER BY r.id, a.seq", 1, export_row, &sink);
}

/* ---- Failure and TLS views ------------------------------------------------ */

static const column failure_columns[] = {
    STR(ms_store_failure_row, domain, "LOWER(f.reported_domain)"),
    STR(ms_store_failure_row, source_ip, "f.source_ip"),
    STR(ms_store_failure_row, auth_failure, "f.auth_failure"),
    U64(ms_store_failure_row, reports, "COUNT(*)"),
    U64(ms_store_failure_row, incidents, SUM_COUNT("f.incidents")),
};

void ms_store_failure_summary_free(ms_store_failure_row *rows, size_t count)
{
    free_rows(failure_columns, LEN(failure_columns), rows, count, sizeof *rows);
}

static int cmp_failure_row(const void *a, const void *b)
{
    const ms_store_failure_row *x = a, *y = b;
    int c = cmp_u64_desc(x->incidents, y->incidents);
    if (c == 0)
        c = cmp_str(x->domain, y->domain);
    if (c == 0)
        c = cmp_str(x->source_ip, y->source_ip);
    return c ? c : cmp_str(x->auth_failure, y->auth_failure);
}

ms_status ms_store_failure_summary(ms_store *store, const ms_store_filter *filter,
                                   ms_store_failure_row **out, size_t *count)
{
    row_array a = ROW_ARRAY(ms_store_failure_row, failure_columns);
    ms_status st = filter_rows(store, &a.sel,
                               " FROM reports r JOIN failure_reports f ON f.report = r.id"
                               " WHERE r.kind = 'failure'",
                               filter, "r.domain",
                               " GROUP BY LOWER(f.reported_domain), f.source_ip, f.auth_failure", 0,
                               append_row, &a);
    *out = rows_out(st, &a, cmp_failure_row, count);
    return st;
}

static const column tls_domain_columns[] = {
    STR(ms_store_tls_domain_row, policy_domain, "LOWER(p.policy_domain)"),
    U64(ms_store_tls_domain_row, reports, "COUNT(DISTINCT p.report)"),
    U64(ms_store_tls_domain_row, successful, SUM_COUNT("p.successful")),
    U64(ms_store_tls_domain_row, failed, SUM_COUNT("p.failed")),
};

static const column tls_result_columns[] = {
    STR(ms_store_tls_result_row, policy_domain, "LOWER(p.policy_domain)"),
    STR(ms_store_tls_result_row, result_type, "t.result_type"),
    STR(ms_store_tls_result_row, receiving_mx, "t.receiving_mx_hostname"),
    U64(ms_store_tls_result_row, sessions, SUM_COUNT("t.failed_sessions")),
};

void ms_store_tls_summary_free(ms_store_tls_summary *s)
{
    free_rows(tls_domain_columns, LEN(tls_domain_columns), s->domains, s->domain_count,
              sizeof *s->domains);
    free_rows(tls_result_columns, LEN(tls_result_columns), s->results, s->result_count,
              sizeof *s->results);
    memset(s, 0, sizeof *s);
}

static int cmp_tls_domain(const void *a, const void *b)
{
    return cmp_str(((const ms_store_tls_domain_row *)a)->policy_domain,
                   ((const ms_store_tls_domain_row *)b)->policy_domain);
}

static int cmp_tls_result(const void *a, const void *b)
{
    const ms_store_tls_result_row *x = a, *y = b;
    int c = cmp_u64_desc(x->sessions, y->sessions);
    if (c == 0)
        c = cmp_str(x->policy_domain, y->policy_domain);
    if (c == 0)
        c = cmp_str(x->result_type, y->result_type);
    return c ? c : cmp_str(x->receiving_mx, y->receiving_mx);
}

static ms_status tls_domains(ms_store *store, const ms_store_filter *f, ms_store_tls_summary *s)
{
    row_array a = ROW_ARRAY(ms_store_tls_domain_row, tls_domain_columns);
    ms_status st = filter_rows(store, &a.sel,
                               " FROM reports r JOIN tls_policies p ON p.report = r.id"
                               " WHERE r.kind = 'tls'",
                               f, "p.policy_domain", " GROUP BY LOWER(p.policy_domain)", 0,
                               append_row, &a);
    s->domains = rows_out(st, &a, cmp_tls_domain, &s->domain_count);
    return st;
}

static ms_status tls_results(ms_store *store, const ms_store_filter *f, ms_store_tls_summary *s)
{
    row_array a = ROW_ARRAY(ms_store_tls_result_row, tls_result_columns);
    ms_status st = filter_rows(
        store, &a.sel,
        " FROM reports r JOIN tls_policies p ON p.report = r.id"
        " JOIN tls_failures t ON t.policy = p.id WHERE r.kind = 'tls'",
        f, "p.policy_domain",
        " GROUP BY LOWER(p.policy_domain), t.result_type, t.receiving_mx_hostname", 0, append_row,
        &a);
    s->results = rows_out(st, &a, cmp_tls_result, &s->result_count);
    return st;
}

ms_status ms_store_tls_summary_get(ms_store *store, const ms_store_filter *filter,
                                   ms_store_tls_summary *out)
{
    memset(out, 0, sizeof *out);
    ms_status st = tls_domains(store, filter, out);
    if (st == MS_OK)
        st = tls_results(store, filter, out);
    if (st != MS_OK)
        ms_store_tls_summary_free(out);
    return st;
}

/* ---- What the caller shows and asks for ----------------------------------- */

ms_status ms_store_domain_key(const char *text, char **out)
{
    return ms_domain_normalize(text, out);
}

/* The end of a URL's userinfo ("user:secret@"): the '@' before the host,
 * or NULL. */
static const char *userinfo_end(const char *after_scheme)
{
    size_t authority = strcspn(after_scheme, "/?#");
    const char *at = NULL;
    for (const char *p = after_scheme; p < after_scheme + authority; p++)
        if (*p == '@')
            at = p;
    return at;
}

char *ms_store_url_masked(const char *url)
{
    if (url == NULL)
        return NULL;
    ms_buf out = MS_BUF_INIT;
    const char *scheme_end = strstr(url, "://");
    const char *p = url;
    if (scheme_end != NULL) {
        const char *rest = scheme_end + 3, *at = userinfo_end(rest);
        const char *colon = at ? memchr(rest, ':', (size_t)(at - rest)) : NULL;
        if (colon != NULL) {
            ms_buf_append(&out, url, (size_t)(colon + 1 - url));
            ms_buf_puts(&out, "***");
            p = at;
        }
    }
    /* libpq also takes the password as a query parameter */
    for (const char *q; (q = strstr(p, "password=")) != NULL;) {
        int is_param = q == url || strchr("?& ", q[-1]) != NULL;
        q += strlen("password=");
        ms_buf_append(&out, p, (size_t)(q - p));
        p = q;
        if (is_param) {
            ms_buf_puts(&out, "***");
            p += strcspn(p, "& ");
        }
    }
    ms_buf_puts(&out, p);
    return ms_buf_take(&out);
}
