/* The read queries (docs/store.md), written once over the SQL layer for
 * both backends. SQL does the grouping and summing; the order of results
 * is set here in C (strcmp), so both backends give the same order whatever
 * the server's collation. */
#include "store/internal.h"

#include <stdlib.h>
#include <string.h>

/* ---- Helpers -------------------------------------------------------------- */

/* A query's WHERE conditions and parameters built from a filter. */
typedef struct where {
    ms_buf sql;
    sql_param params[4];
    size_t n;
} where;

/* " AND <domain_col> = $k AND r.date_begin >= $k AND r.date_begin < $k",
 * each part only when the filter sets it; numbering continues after
 * `first` parameters already in the statement. */
static void where_filter(where *w, const ms_store_filter *f, const char *domain_col, size_t first)
{
    w->n = 0;
    if (f == NULL)
        return;
    if (f->domain != NULL) {
        w->params[w->n++] = P_TEXT(f->domain);
        ms_buf_printf(&w->sql, " AND %s = $%zu", domain_col, first + w->n);
    }
    if (f->since != 0) {
        w->params[w->n++] = P_INT(f->since);
        ms_buf_printf(&w->sql, " AND r.date_begin >= $%zu", first + w->n);
    }
    if (f->until != 0) {
        w->params[w->n++] = P_INT(f->until);
        ms_buf_printf(&w->sql, " AND r.date_begin < $%zu", first + w->n);
    }
}

/* Runs head + filter + tail; the caller reads and closes the cursor. */
static ms_status run(ms_store *store, const char *head, const ms_store_filter *f,
                     const char *domain_col, const char *tail, int streaming, sql_cursor **cur)
{
    where w = {MS_BUF_INIT, {{0}}, 0};
    ms_buf_puts(&w.sql, head);
    where_filter(&w, f, domain_col, 0);
    ms_buf_puts(&w.sql, tail);
    if (w.sql.failed) {
        ms_buf_free(&w.sql);
        return MS_ERR_NOMEM;
    }
    ms_status st = store->backend->query(store, w.sql.data, w.params, w.n, streaming, cur);
    ms_buf_free(&w.sql);
    return st;
}

/* Rows into a growing array. */
static void *grow(void *array, size_t count, size_t *cap, size_t size)
{
    if (count < *cap)
        return array;
    size_t cap2 = *cap ? *cap * 2 : 16;
    void *p = realloc(array, cap2 * size);
    if (p == NULL)
        return NULL;
    memset((char *)p + *cap * size, 0, (cap2 - *cap) * size);
    *cap = cap2;
    return p;
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

static uint64_t col_u64(ms_store *store, sql_cursor *cur, int col)
{
    int64_t v = store->backend->int64(cur, col);
    return v < 0 ? 0 : (uint64_t)v;
}

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
    if (base != NULL && n > 1)
        qsort(base, n, size, cmp);
}

static int cmp_u64_desc(uint64_t a, uint64_t b)
{
    return (a < b) - (a > b);
}

/* Ends a read loop: closes the cursor, maps errors. */
static ms_status finish(ms_store *store, sql_cursor *cur, int r, int oom)
{
    store->backend->done(cur);
    if (oom)
        return MS_ERR_NOMEM;
    return r < 0 ? MS_ERR_IO : MS_OK;
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
            (*items)[i].count += n;
            return 0;
        }
    ms_store_count *p = grow(*items, *count, cap, sizeof *p);
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

#define DMARC_PASS "(a.dkim = 'pass' OR a.spf = 'pass')"

static ms_status summary_totals(ms_store *store, const ms_store_filter *f,
                                ms_store_domain_summary **rows, size_t *count)
{
    sql_cursor *cur;
    ms_status st = run(store,
                       "SELECT r.domain, COUNT(*), COALESCE(SUM(r.messages), 0),"
                       " MIN(r.date_begin), MAX(r.date_end)"
                       " FROM reports r WHERE r.kind = 'aggregate'",
                       f, "r.domain", " GROUP BY r.domain", 0, &cur);
    if (st != MS_OK)
        return st;
    size_t cap = 0;
    int r, oom = 0;
    while ((r = store->backend->next(cur)) == 1) {
        ms_store_domain_summary *p = grow(*rows, *count, &cap, sizeof *p);
        if (p == NULL) {
            oom = 1;
            break;
        }
        *rows = p;
        p += (*count)++;
        p->domain = col_dup(store, cur, 0, &oom);
        p->reports = col_u64(store, cur, 1);
        p->messages = col_u64(store, cur, 2);
        p->first = store->backend->int64(cur, 3);
        p->last = store->backend->int64(cur, 4);
    }
    return finish(store, cur, r, oom);
}

static ms_status summary_passes(ms_store *store, const ms_store_filter *f,
                                ms_store_domain_summary *rows, size_t count)
{
    sql_cursor *cur;
    ms_status st = run(store,
                       "SELECT r.domain,"
                       " COALESCE(SUM(CASE WHEN " DMARC_PASS " THEN a.count ELSE 0 END), 0),"
                       " COALESCE(SUM(CASE WHEN a.spf = 'pass' THEN a.count ELSE 0 END), 0),"
                       " COALESCE(SUM(CASE WHEN a.dkim = 'pass' THEN a.count ELSE 0 END), 0)"
                       " FROM reports r JOIN agg_records a ON a.report = r.id"
                       " WHERE r.kind = 'aggregate'",
                       f, "r.domain", " GROUP BY r.domain", 0, &cur);
    if (st != MS_OK)
        return st;
    int r;
    while ((r = store->backend->next(cur)) == 1) {
        ms_store_domain_summary *d = find_domain(rows, count, store->backend->text(cur, 0));
        if (d == NULL)
            continue;
        d->dmarc_pass = col_u64(store, cur, 1);
        d->spf_aligned = col_u64(store, cur, 2);
        d->dkim_aligned = col_u64(store, cur, 3);
    }
    return finish(store, cur, r, 0);
}

enum summary_list { LIST_DISPOSITIONS, LIST_OVERRIDES, LIST_REPORTERS };

/* One of the per-domain name/count lists. Overrides come as the record's
 * comma-joined reason types and are split here. */
static ms_status summary_list(ms_store *store, const ms_store_filter *f,
                              ms_store_domain_summary *rows, size_t count, enum summary_list which)
{
    static const char *const heads[] = {
        "SELECT r.domain, COALESCE(a.disposition, ''), SUM(a.count)"
        " FROM reports r JOIN agg_records a ON a.report = r.id WHERE r.kind = 'aggregate'",
        "SELECT r.domain, a.reasons, SUM(a.count)"
        " FROM reports r JOIN agg_records a ON a.report = r.id"
        " WHERE r.kind = 'aggregate' AND a.reasons IS NOT NULL",
        "SELECT r.domain, r.org, SUM(r.messages) FROM reports r WHERE r.kind = 'aggregate'",
    };
    static const char *const tails[] = {
        " GROUP BY r.domain, a.disposition",
        " GROUP BY r.domain, a.reasons",
        " GROUP BY r.domain, r.org",
    };
    sql_cursor *cur;
    ms_status st = run(store, heads[which], f, "r.domain", tails[which], 0, &cur);
    if (st != MS_OK)
        return st;
    int r = 0, oom = 0;
    size_t *caps = calloc(count ? count : 1, sizeof *caps); /* capacity of each domain's list */
    if (caps == NULL)
        oom = 1;
    while (!oom && (r = store->backend->next(cur)) == 1) {
        ms_store_domain_summary *d = find_domain(rows, count, store->backend->text(cur, 0));
        const char *name = store->backend->text(cur, 1);
        if (d == NULL || name == NULL)
            continue;
        uint64_t n = col_u64(store, cur, 2);
        size_t *cap = &caps[d - rows];
        ms_store_count **items = which == LIST_DISPOSITIONS ? &d->dispositions
                                 : which == LIST_OVERRIDES  ? &d->overrides
                                                            : &d->reporters;
        size_t *items_count = which == LIST_DISPOSITIONS ? &d->disposition_count
                              : which == LIST_OVERRIDES  ? &d->override_count
                                                         : &d->reporter_count;
        if (which != LIST_OVERRIDES) {
            oom = count_add(items, items_count, cap, name, strlen(name), n) != 0;
            continue;
        }
        for (const char *p = name; !oom; p++) {
            size_t len = strcspn(p, ",");
            oom = count_add(items, items_count, cap, p, len, n) != 0;
            p += len;
            if (*p == '\0')
                break;
        }
    }
    free(caps);
    return finish(store, cur, r, oom);
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
        st = summary_passes(store, filter, rows, n);
    for (int list = LIST_DISPOSITIONS; st == MS_OK && list <= LIST_REPORTERS; list++)
        st = summary_list(store, filter, rows, n, (enum summary_list)list);
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

static ms_status sources_counts(ms_store *store, const ms_store_filter *f, ms_store_source **rows,
                                size_t *count)
{
    sql_cursor *cur;
    ms_status st = run(
        store,
        "SELECT a.source_ip, d.name, SUM(a.count),"
        " SUM(CASE WHEN " DMARC_PASS " THEN a.count ELSE 0 END),"
        " SUM(CASE WHEN " DMARC_PASS " THEN 0"
        "  WHEN a.dkim_pass = 1 OR a.spf_pass = 1 THEN a.count ELSE 0 END),"
        " SUM(CASE WHEN " DMARC_PASS " THEN 0"
        "  WHEN a.dkim_pass = 1 OR a.spf_pass = 1 THEN 0 ELSE a.count END),"
        " SUM(CASE WHEN a.dkim_pass = 1 AND a.spf_pass = 0 THEN a.count ELSE 0 END),"
        " SUM(CASE WHEN a.reasons LIKE '%forwarded%' OR a.reasons LIKE '%mailing_list%'"
        "  THEN a.count ELSE 0 END)"
        " FROM reports r JOIN agg_records a ON a.report = r.id"
        " LEFT JOIN rdns d ON d.ip = a.source_ip WHERE r.kind = 'aggregate'",
        f, "r.domain", " GROUP BY a.source_ip, d.name", 0, &cur);
    if (st != MS_OK)
        return st;
    size_t cap = 0;
    int r, oom = 0;
    while (!oom && (r = store->backend->next(cur)) == 1) {
        ms_store_source *p = grow(*rows, *count, &cap, sizeof *p);
        if (p == NULL) {
            oom = 1;
            break;
        }
        *rows = p;
        p += (*count)++;
        p->source_ip = col_dup(store, cur, 0, &oom);
        p->rdns = col_dup(store, cur, 1, &oom);
        p->messages = col_u64(store, cur, 2);
        p->aligned = col_u64(store, cur, 3);
        p->unaligned = col_u64(store, cur, 4);
        p->failing = col_u64(store, cur, 5);
        p->dkim_pass_spf_fail = col_u64(store, cur, 6);
        p->forwarded = col_u64(store, cur, 7);
    }
    return finish(store, cur, r, oom);
}

/* The domains in the results after the first ("dkim\tDOMAIN\t..." lines). */
static int add_more_domains(ms_store_source *s, const char *more)
{
    for (const char *line = more; line && *line;) {
        size_t len = strcspn(line, "\n");
        const char *tab = memchr(line, '\t', len);
        if (tab != NULL) {
            const char *dom = tab + 1;
            size_t dlen = strcspn(dom, "\t\n");
            int dkim = (size_t)(tab - line) == 4 && strncmp(line, "dkim", 4) == 0;
            if (set_add(dkim ? &s->dkim_domains : &s->spf_domains,
                        dkim ? &s->dkim_domain_count : &s->spf_domain_count, dom, dlen) != 0)
                return -1;
        }
        line += len + (line[len] == '\n');
    }
    return 0;
}

static ms_status sources_domains(ms_store *store, const ms_store_filter *f, ms_store_source *rows,
                                 size_t count)
{
    sql_cursor *cur;
    ms_status st = run(store,
                       "SELECT DISTINCT a.source_ip, a.spf_domain, a.dkim_domain, a.header_from,"
                       " a.auth_more FROM reports r JOIN agg_records a ON a.report = r.id"
                       " WHERE r.kind = 'aggregate'",
                       f, "r.domain", "", 0, &cur);
    if (st != MS_OK)
        return st;
    int r, oom = 0;
    while (!oom && (r = store->backend->next(cur)) == 1) {
        ms_store_source key = {.source_ip = (char *)store->backend->text(cur, 0)};
        ms_store_source *s = count ? bsearch(&key, rows, count, sizeof *rows, cmp_source_ip) : NULL;
        if (s == NULL)
            continue;
        const char *spf = store->backend->text(cur, 1), *dkim = store->backend->text(cur, 2);
        const char *from = store->backend->text(cur, 3), *more = store->backend->text(cur, 4);
        oom = (spf && set_add(&s->spf_domains, &s->spf_domain_count, spf, strlen(spf))) ||
              (dkim && set_add(&s->dkim_domains, &s->dkim_domain_count, dkim, strlen(dkim))) ||
              (from && set_add(&s->header_froms, &s->header_from_count, from, strlen(from))) ||
              add_more_domains(s, more) != 0;
    }
    return finish(store, cur, r, oom);
}

ms_status ms_store_sources(ms_store *store, const ms_store_filter *filter, ms_store_group_fn group,
                           void *group_arg, ms_store_source **out, size_t *count)
{
    ms_store_source *rows = NULL;
    size_t n = 0;
    ms_status st = sources_counts(store, filter, &rows, &n);
    if (st == MS_OK) {
        sort(rows, n, sizeof *rows, cmp_source_ip);
        st = sources_domains(store, filter, rows, n);
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

/* ---- List, show, export ------------------------------------------------------ */

#define REPORT_COLUMNS                                                                         \
    "r.id, r.kind, r.org, r.report_id, r.domain, r.date_begin, r.date_end, r.records,"          \
    " r.messages, r.ingested_at, r.origin"

/* Reads REPORT_COLUMNS at columns 0..10 into row, borrowing the strings
 * (copy: 0) or owning them (copy: 1). */
static void read_report_row(ms_store *store, sql_cursor *cur, ms_store_report_row *row, int copy,
                            int *oom)
{
    const store_backend *b = store->backend;
    char *(*str)(ms_store *, sql_cursor *, int, int *) = col_dup;
    row->id = b->int64(cur, 0);
    if (copy) {
        row->kind = str(store, cur, 1, oom);
        row->org = str(store, cur, 2, oom);
        row->report_id = str(store, cur, 3, oom);
        row->domain = str(store, cur, 4, oom);
        row->origin = str(store, cur, 10, oom);
    } else {
        row->kind = (char *)b->text(cur, 1);
        row->org = (char *)b->text(cur, 2);
        row->report_id = (char *)b->text(cur, 3);
        row->domain = (char *)b->text(cur, 4);
        row->origin = (char *)b->text(cur, 10);
    }
    row->begin = b->int64(cur, 5);
    row->end = b->int64(cur, 6);
    row->records = col_u64(store, cur, 7);
    row->messages = col_u64(store, cur, 8);
    row->ingested_at = b->int64(cur, 9);
}

static void report_row_clear(ms_store_report_row *row)
{
    free(row->kind);
    free(row->org);
    free(row->report_id);
    free(row->domain);
    free(row->origin);
}

void ms_store_list_free(ms_store_report_row *rows, size_t count)
{
    for (size_t i = 0; rows && i < count; i++)
        report_row_clear(&rows[i]);
    free(rows);
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
    *out = NULL;
    *count = 0;
    sql_cursor *cur;
    ms_status st = run(store, "SELECT " REPORT_COLUMNS " FROM reports r WHERE 1 = 1", filter,
                       "r.domain", "", 0, &cur);
    if (st != MS_OK)
        return st;
    size_t cap = 0, n = 0;
    ms_store_report_row *rows = NULL;
    int r, oom = 0;
    while (!oom && (r = store->backend->next(cur)) == 1) {
        ms_store_report_row *p = grow(rows, n, &cap, sizeof *p);
        if (p == NULL) {
            oom = 1;
            break;
        }
        rows = p;
        read_report_row(store, cur, &rows[n++], 1, &oom);
    }
    st = finish(store, cur, r, oom);
    if (st != MS_OK) {
        ms_store_list_free(rows, n);
        return st;
    }
    sort(rows, n, sizeof *rows, cmp_report_row);
    *out = rows;
    *count = n;
    return MS_OK;
}

#define RECORD_COLUMNS                                                                         \
    "a.report, a.seq, a.source_ip, a.count, a.disposition, a.dkim, a.spf, a.reasons,"           \
    " a.reason_comments, a.envelope_to, a.envelope_from, a.header_from, a.dkim_domain,"         \
    " a.dkim_selector, a.dkim_result, a.dkim_human, a.spf_domain, a.spf_scope, a.spf_result,"   \
    " a.spf_human, a.dkim_pass, a.spf_pass, a.auth_more"
enum { RECORD_COLUMN_COUNT = 23 };

/* Reads RECORD_COLUMNS starting at column `at`, borrowing or copying. */
static void read_record(ms_store *store, sql_cursor *cur, int at, ms_store_record *rec, int copy,
                        int *oom)
{
    const store_backend *b = store->backend;
    char **texts[] = {
        &rec->source_ip, NULL, &rec->disposition, &rec->dkim, &rec->spf, &rec->reasons,
        &rec->reason_comments, &rec->envelope_to, &rec->envelope_from, &rec->header_from,
        &rec->dkim_domain, &rec->dkim_selector, &rec->dkim_result, &rec->dkim_human,
        &rec->spf_domain, &rec->spf_scope, &rec->spf_result, &rec->spf_human,
    };
    rec->report = b->int64(cur, at);
    rec->seq = b->int64(cur, at + 1);
    rec->count = col_u64(store, cur, at + 3);
    for (int i = 0; i < (int)(sizeof texts / sizeof texts[0]); i++)
        if (texts[i] != NULL)
            *texts[i] = copy ? col_dup(store, cur, at + 2 + i, oom) : (char *)b->text(cur, at + 2 + i);
    rec->dkim_pass = (int)b->int64(cur, at + 20);
    rec->spf_pass = (int)b->int64(cur, at + 21);
    rec->auth_more = copy ? col_dup(store, cur, at + 22, oom) : (char *)b->text(cur, at + 22);
}

static void record_clear(ms_store_record *r)
{
    char *texts[] = {r->source_ip, r->disposition, r->dkim, r->spf, r->reasons,
                     r->reason_comments, r->envelope_to, r->envelope_from, r->header_from,
                     r->dkim_domain, r->dkim_selector, r->dkim_result, r->dkim_human,
                     r->spf_domain, r->spf_scope, r->spf_result, r->spf_human, r->auth_more};
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++)
        free(texts[i]);
}

void ms_store_report_free(ms_store_report *rep)
{
    if (rep == NULL)
        return;
    report_row_clear(&rep->head);
    char *texts[] = {rep->email, rep->extra_contact_info, rep->version, rep->generator, rep->errors,
                     rep->adkim, rep->aspf, rep->p, rep->sp, rep->np, rep->pct, rep->fo,
                     rep->testing, rep->discovery_method};
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++)
        free(texts[i]);
    for (size_t i = 0; i < rep->record_count; i++)
        record_clear(&rep->records[i]);
    free(rep->records);
    for (size_t i = 0; i < rep->policy_count; i++) {
        ms_store_tls_policy_row *p = &rep->policies[i];
        free(p->policy_type);
        free(p->policy_domain);
        free(p->policy_string);
        free(p->mx_host);
        for (size_t j = 0; j < p->failure_count; j++) {
            ms_store_tls_failure_row *f = &p->failures[j];
            free(f->result_type);
            free(f->sending_mta_ip);
            free(f->receiving_mx_hostname);
            free(f->receiving_mx_helo);
            free(f->receiving_ip);
            free(f->additional_information);
            free(f->failure_reason_code);
        }
        free(p->failures);
    }
    free(rep->policies);
    free(rep);
}

static ms_status show_head(ms_store *store, ms_store_report *rep, int64_t id, int *found)
{
    sql_param p[] = {P_INT(id)};
    sql_cursor *cur;
    ms_status st = store->backend->query(
        store,
        "SELECT " REPORT_COLUMNS ", r.email, r.extra_contact_info, r.version, r.generator,"
        " r.errors, r.adkim, r.aspf, r.p, r.sp, r.np, r.pct, r.fo, r.testing, r.discovery_method"
        " FROM reports r WHERE r.id = $1",
        p, 1, 0, &cur);
    if (st != MS_OK)
        return st;
    int r, oom = 0;
    *found = 0;
    while ((r = store->backend->next(cur)) == 1) {
        char **texts[] = {&rep->email, &rep->extra_contact_info, &rep->version, &rep->generator,
                          &rep->errors, &rep->adkim, &rep->aspf, &rep->p, &rep->sp, &rep->np,
                          &rep->pct, &rep->fo, &rep->testing, &rep->discovery_method};
        read_report_row(store, cur, &rep->head, 1, &oom);
        for (int i = 0; i < (int)(sizeof texts / sizeof texts[0]); i++)
            *texts[i] = col_dup(store, cur, 11 + i, &oom);
        *found = 1;
    }
    return finish(store, cur, r, oom);
}

static ms_status show_records(ms_store *store, ms_store_report *rep)
{
    sql_param p[] = {P_INT(rep->head.id)};
    sql_cursor *cur;
    ms_status st = store->backend->query(store,
                                         "SELECT " RECORD_COLUMNS
                                         " FROM agg_records a WHERE a.report = $1 ORDER BY a.seq",
                                         p, 1, 0, &cur);
    if (st != MS_OK)
        return st;
    size_t cap = 0;
    int r, oom = 0;
    while (!oom && (r = store->backend->next(cur)) == 1) {
        ms_store_record *rec = grow(rep->records, rep->record_count, &cap, sizeof *rec);
        if (rec == NULL) {
            oom = 1;
            break;
        }
        rep->records = rec;
        read_record(store, cur, 0, &rec[rep->record_count++], 1, &oom);
    }
    return finish(store, cur, r, oom);
}

static ms_status show_tls_failures(ms_store *store, ms_store_tls_policy_row *pol, int64_t policy)
{
    sql_param p[] = {P_INT(policy)};
    sql_cursor *cur;
    ms_status st = store->backend->query(
        store,
        "SELECT result_type, sending_mta_ip, receiving_mx_hostname, receiving_mx_helo,"
        " receiving_ip, additional_information, failure_reason_code, failed_sessions"
        " FROM tls_failures WHERE policy = $1 ORDER BY seq",
        p, 1, 0, &cur);
    if (st != MS_OK)
        return st;
    size_t cap = 0;
    int r, oom = 0;
    while (!oom && (r = store->backend->next(cur)) == 1) {
        ms_store_tls_failure_row *f = grow(pol->failures, pol->failure_count, &cap, sizeof *f);
        if (f == NULL) {
            oom = 1;
            break;
        }
        pol->failures = f;
        f += pol->failure_count++;
        char **texts[] = {&f->result_type, &f->sending_mta_ip, &f->receiving_mx_hostname,
                          &f->receiving_mx_helo, &f->receiving_ip, &f->additional_information,
                          &f->failure_reason_code};
        for (int i = 0; i < 7; i++)
            *texts[i] = col_dup(store, cur, i, &oom);
        f->failed_sessions = col_u64(store, cur, 7);
    }
    return finish(store, cur, r, oom);
}

static ms_status show_tls(ms_store *store, ms_store_report *rep)
{
    sql_param p[] = {P_INT(rep->head.id)};
    sql_cursor *cur;
    ms_status st = store->backend->query(store,
                                         "SELECT id, policy_type, policy_domain, policy_string,"
                                         " mx_host, successful, failed FROM tls_policies"
                                         " WHERE report = $1 ORDER BY id",
                                         p, 1, 0, &cur);
    if (st != MS_OK)
        return st;
    size_t cap = 0;
    int r, oom = 0;
    int64_t *ids = NULL;
    while (!oom && (r = store->backend->next(cur)) == 1) {
        ms_store_tls_policy_row *pol = grow(rep->policies, rep->policy_count, &cap, sizeof *pol);
        int64_t *ids2 = pol ? realloc(ids, cap * sizeof *ids) : NULL;
        if (pol == NULL || ids2 == NULL) {
            if (pol)
                rep->policies = pol;
            oom = 1;
            break;
        }
        rep->policies = pol;
        ids = ids2;
        ids[rep->policy_count] = store->backend->int64(cur, 0);
        pol += rep->policy_count++;
        pol->policy_type = col_dup(store, cur, 1, &oom);
        pol->policy_domain = col_dup(store, cur, 2, &oom);
        pol->policy_string = col_dup(store, cur, 3, &oom);
        pol->mx_host = col_dup(store, cur, 4, &oom);
        pol->successful = col_u64(store, cur, 5);
        pol->failed = col_u64(store, cur, 6);
    }
    st = finish(store, cur, r, oom);
    for (size_t i = 0; st == MS_OK && i < rep->policy_count; i++)
        st = show_tls_failures(store, &rep->policies[i], ids[i]);
    free(ids);
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

ms_status ms_store_export(ms_store *store, const ms_store_filter *filter, ms_store_export_fn row,
                          void *arg)
{
    sql_cursor *cur;
    ms_status st = run(store,
                       "SELECT " REPORT_COLUMNS ", " RECORD_COLUMNS
                       " FROM reports r JOIN agg_records a ON a.report = r.id"
                       " WHERE r.kind = 'aggregate'",
                       filter, "r.domain", " ORDER BY r.id, a.seq", 1, &cur);
    if (st != MS_OK)
        return st;
    int r, oom = 0;
    while ((r = store->backend->next(cur)) == 1) {
        ms_store_report_row head;
        ms_store_record rec;
        read_report_row(store, cur, &head, 0, &oom);
        read_record(store, cur, 11, &rec, 0, &oom);
        if (row(arg, &head, &rec) != 0)
            break;
    }
    return finish(store, cur, r < 0 ? -1 : 0, 0);
}

/* ---- Failure and TLS views ------------------------------------------------ */

void ms_store_failure_summary_free(ms_store_failure_row *rows, size_t count)
{
    for (size_t i = 0; rows && i < count; i++) {
        free(rows[i].domain);
        free(rows[i].source_ip);
        free(rows[i].auth_failure);
    }
    free(rows);
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
    *out = NULL;
    *count = 0;
    sql_cursor *cur;
    ms_status st = run(store,
                       "SELECT f.reported_domain, f.source_ip, f.auth_failure, COUNT(*),"
                       " SUM(f.incidents) FROM reports r JOIN failure_reports f ON f.report = r.id"
                       " WHERE r.kind = 'failure'",
                       filter, "r.domain",
                       " GROUP BY f.reported_domain, f.source_ip, f.auth_failure", 0, &cur);
    if (st != MS_OK)
        return st;
    ms_store_failure_row *rows = NULL;
    size_t n = 0, cap = 0;
    int r, oom = 0;
    while (!oom && (r = store->backend->next(cur)) == 1) {
        ms_store_failure_row *p = grow(rows, n, &cap, sizeof *p);
        if (p == NULL) {
            oom = 1;
            break;
        }
        rows = p;
        p += n++;
        p->domain = col_dup(store, cur, 0, &oom);
        p->source_ip = col_dup(store, cur, 1, &oom);
        p->auth_failure = col_dup(store, cur, 2, &oom);
        p->reports = col_u64(store, cur, 3);
        p->incidents = col_u64(store, cur, 4);
    }
    st = finish(store, cur, r, oom);
    if (st != MS_OK) {
        ms_store_failure_summary_free(rows, n);
        return st;
    }
    sort(rows, n, sizeof *rows, cmp_failure_row);
    *out = rows;
    *count = n;
    return MS_OK;
}

void ms_store_tls_summary_free(ms_store_tls_summary *s)
{
    for (size_t i = 0; s->domains && i < s->domain_count; i++)
        free(s->domains[i].policy_domain);
    free(s->domains);
    for (size_t i = 0; s->results && i < s->result_count; i++) {
        free(s->results[i].policy_domain);
        free(s->results[i].result_type);
        free(s->results[i].receiving_mx);
    }
    free(s->results);
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
    sql_cursor *cur;
    ms_status st = run(store,
                       "SELECT p.policy_domain, COUNT(DISTINCT p.report), SUM(p.successful),"
                       " SUM(p.failed) FROM reports r JOIN tls_policies p ON p.report = r.id"
                       " WHERE r.kind = 'tls'",
                       f, "p.policy_domain", " GROUP BY p.policy_domain", 0, &cur);
    if (st != MS_OK)
        return st;
    size_t cap = 0;
    int r, oom = 0;
    while (!oom && (r = store->backend->next(cur)) == 1) {
        ms_store_tls_domain_row *p = grow(s->domains, s->domain_count, &cap, sizeof *p);
        if (p == NULL) {
            oom = 1;
            break;
        }
        s->domains = p;
        p += s->domain_count++;
        p->policy_domain = col_dup(store, cur, 0, &oom);
        p->reports = col_u64(store, cur, 1);
        p->successful = col_u64(store, cur, 2);
        p->failed = col_u64(store, cur, 3);
    }
    return finish(store, cur, r, oom);
}

static ms_status tls_results(ms_store *store, const ms_store_filter *f, ms_store_tls_summary *s)
{
    sql_cursor *cur;
    ms_status st = run(store,
                       "SELECT p.policy_domain, t.result_type, t.receiving_mx_hostname,"
                       " SUM(t.failed_sessions) FROM reports r"
                       " JOIN tls_policies p ON p.report = r.id"
                       " JOIN tls_failures t ON t.policy = p.id WHERE r.kind = 'tls'",
                       f, "p.policy_domain",
                       " GROUP BY p.policy_domain, t.result_type, t.receiving_mx_hostname", 0,
                       &cur);
    if (st != MS_OK)
        return st;
    size_t cap = 0;
    int r, oom = 0;
    while (!oom && (r = store->backend->next(cur)) == 1) {
        ms_store_tls_result_row *p = grow(s->results, s->result_count, &cap, sizeof *p);
        if (p == NULL) {
            oom = 1;
            break;
        }
        s->results = p;
        p += s->result_count++;
        p->policy_domain = col_dup(store, cur, 0, &oom);
        p->result_type = col_dup(store, cur, 1, &oom);
        p->receiving_mx = col_dup(store, cur, 2, &oom);
        p->sessions = col_u64(store, cur, 3);
    }
    return finish(store, cur, r, oom);
}

ms_status ms_store_tls_summary_get(ms_store *store, const ms_store_filter *filter,
                                   ms_store_tls_summary *out)
{
    memset(out, 0, sizeof *out);
    ms_status st = tls_domains(store, filter, out);
    if (st == MS_OK)
        st = tls_results(store, filter, out);
    if (st != MS_OK) {
        ms_store_tls_summary_free(out);
        return st;
    }
    sort(out->domains, out->domain_count, sizeof *out->domains, cmp_tls_domain);
    sort(out->results, out->result_count, sizeof *out->results, cmp_tls_result);
    return MS_OK;
}
