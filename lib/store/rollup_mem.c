/* The rollups (rollup.h) summed in memory as the records pass, then
 * written once per group of reports (SQLite) or per report (PostgreSQL,
 * which does not group), in key order: the rollups by domain and day, and
 * those per source (rollup_sources, their names, rollup_source_totals,
 * rollup_domain_sources). Reading the records back with SQL to group them
 * (sorting every record, a DISTINCT aggregate per source for its names)
 * cost more than storing the records themselves: on a spoofed domain's
 * reports, where every record comes from an address of its own, it was
 * half of an ingest's CPU time in SQLite (bench/README.md, "Report
 * ingest"), and PostgreSQL stored 9 times fewer records a second with it.
 *
 * The sums follow rollup.h's SQL definitions exactly (SOURCE_SUMS,
 * SOURCE_NAMES, IP_KEY, DOMAIN_KEY, REPORT_DAY; a source is counted for
 * rollup_domain_sources when its totals row is created), as the backend
 * computes them (PostgreSQL applies its own LOWER to the domain key as it
 * writes, rollup.c); tests/store/rollups.sh compares the tables
 * with sums computed from the records, in both backends.
 *
 * Two tables: the open report's, and the group's (the reports whose
 * savepoints were released). A report's sums join the group's when its
 * savepoint is released, and are dropped when it rolls back, so a report
 * given up leaves nothing in the rollups. Memory is bounded: a table past
 * its bound is written out early (the report's inside its own savepoint,
 * or on PostgreSQL its transaction; the group's between reports), which
 * adds to the same rows. The group's
 * bound is the larger: a group of reports from new sources (a spoofed
 * domain's) then fits whole and its rows are written once, at its commit;
 * at 4 MiB it was written out twice or three times a group, each time
 * dirtying a page per new source all over the tables, 10% more CPU on
 * bench/report/run.sh's corpus, for 8 MiB less peak RSS. The same bound
 * on the report's would make a large report's peak RSS grow by as much,
 * and gain nothing: it is written out within its savepoint anyway. */
#include "store/rollup.h"
#include "core/arena.h"

#include <stdlib.h>
#include <string.h>

enum {
    KEY_CHARS = 200,            /* KEY(): the characters of a text key kept */
    POLICY_KEY_CHARS = 16,      /* POLICY_KEY() */
    MEM_REPORT_BYTES = 4 << 20, /* a report's sums (and rows by day) before they are written out */
    MEM_GROUP_BYTES = 8 << 20,  /* a group's sums per source (docs/store.md: why 8) */
};
#define SUM_MAX ((uint64_t)9007199254740991) /* ROLLUP_MAX */

/* SOURCE_SUM_COLUMNS, in order */
enum { S_MESSAGES, S_ALIGNED, S_UNALIGNED, S_FAILING, S_DKIM_PASS_SPF_FAIL, S_FORWARDED, S_COUNT };

/* The kinds of a source's names whose first result is a column of the
 * record (SOURCE_NAMES, in its order), and the lines after the first
 * result (auth_more), which are always kept. */
enum { K_DKIM, K_FROM, K_SPF, KINDS, K_MORE = KINDS };
static const char *const kind_names[KINDS] = {"dkim", "from", "spf"};

/* An entry of a chained hash table (name lines, rows by day): the first
 * member of its struct. */
typedef struct chained {
    struct chained *chain; /* the next in its bucket */
    uint32_t hash;
} chained;

/* A name line of a source: "kind<TAB>name" (the name cut as KEY()). */
typedef struct name_line {
    chained link;           /* in the table's buckets */
    struct name_line *next; /* the source's lines, in the order met */
    struct src_entry *owner;
    unsigned char kind;
    char text[];
} name_line;

/* SOURCE_NAMES of one kind over the records summed: no line when no
 * record had a name; the name when they all had the same (written as
 * "kind\t" when some record's was empty: MIN() of the column, which
 * counts the empty one); else each distinct name. Nearly always the
 * records of a source agree, so a kind has name lines (in the table, to
 * find the distinct ones) only once its names differ: first's, then the
 * others', as met. */
typedef struct kind_state {
    const char *first;  /* the first non-empty name met, uncut; NULL: none yet */
    unsigned char differ, has_empty;
} kind_state;

typedef struct src_entry {
    const char *ip;      /* IP_KEY */
    unsigned domain;     /* index into the table's domains (DOMAIN_KEY) */
    int64_t day;         /* REPORT_DAY */
    uint32_t hash;
    uint64_t sums[S_COUNT];
    kind_state kinds[KINDS];
    name_line *lines, **lines_tail;
} src_entry;

/* A slot of a table's open addressing: the entry and its hash, so that a
 * look-up passes other entries without reading them (a cache miss each
 * in a group's table of tens of thousands). */
typedef struct src_slot {
    src_entry *entry;
    uint32_t hash;
} src_slot;

typedef struct domain_key {
    char *key;
    uint64_t new_sources; /* sources written out that rollup_source_totals did not hold */
} domain_key;

typedef struct src_table {
    ms_arena arena;          /* entries, their keys and name lines */
    size_t bytes;            /* memory held besides the arena: slot arrays */
    src_slot *slots;         /* open addressing, a power of two */
    size_t cap, count;
    chained **buckets;       /* name lines; a power of two */
    size_t bucket_cap, line_count;
    domain_key *domains;
    size_t domain_count, domain_cap;
    uint32_t seed;           /* of the hashes: random, so that the addresses
                              * and names of a report cannot be chosen to
                              * collide (0: not drawn yet) */
} src_table;

/* The rollups by domain and day (ROLLUP_INSERTS_BY_DAY), in the order of
 * their statements in store->rollup_sql (rollup.c's row_rollups). */
enum { D_DAYS, D_DISPOSITION, D_OVERRIDE, D_REPORTER, D_POLICY, D_ROLLUPS };
/* rollup_days' sums, in ROLLUP_DAYS_COLUMNS' order; rollup_counts has
 * the first two (reports, messages), rollup_policies the first. */
enum {
    DS_REPORTS, DS_MESSAGES, DS_DMARC_PASS, DS_SPF_ALIGNED, DS_DKIM_ALIGNED, DS_UNALIGNED,
    DS_FAILING, DS_DKIM_PASS_SPF_FAIL, DS_FORWARDED, DS_NONE, DS_QUARANTINE, DS_REJECT, DS_COUNT
};
/* The key texts of each by-day rollup: DOMAIN_KEY, then rollup_counts'
 * name, or rollup_policies' POLICY_FIELDS and org. */
enum { POLICY_TEXTS = 8, KEY_TEXTS_MAX = 2 + POLICY_TEXTS };

/* One row of a rollup by day: its key (the day, and the texts joined by
 * NUL bytes) and its sums. */
typedef struct day_row {
    chained link; /* in the table's buckets */
    unsigned char rollup;
    int64_t day;
    uint64_t sums[DS_COUNT];
    int64_t first_begin, last_end;
    size_t key_len;
    char key[];
} day_row;

typedef struct day_table {
    chained **buckets; /* a power of two */
    size_t cap, count, bytes;
    uint32_t seed;
} day_table;

/* The lock a report's transaction holds on its domain's rollups
 * (lock_domain). */
enum { LOCK_NONE, LOCK_SHARED, LOCK_EXCLUSIVE };

struct rollup_mem {
    src_table report, group;
    char *report_domain_key; /* the open report's DOMAIN_KEY */
    int report_lock;         /* LOCK_*: held by the open report's transaction */
    unsigned report_domain;  /* its index in report.domains */
    int64_t report_day;
    ms_buf line;             /* a name line being looked up */
    /* The rollups by day: the open aggregate report's (its rollup_days
     * sums, its rows by disposition and override) and the group's. */
    int report_open;         /* an aggregate report's sums are being kept */
    int report_days_sql;     /* its rows passed the bound: SQL adds its rollups by day */
    ms_buf report_policy;    /* its rollup_policies key; KEY(r.org) from report_org on */
    size_t report_org;
    int64_t report_begin, report_end;
    uint64_t report_sums[DS_COUNT];
    day_table report_days, group_days;
    ms_buf key;              /* a day row's key being looked up */
};

/* ---- Memory ------------------------------------------------------------- */

/* Memory held, the arena's blocks and the slot arrays. */
static size_t table_bytes(const src_table *t)
{
    return t->bytes + t->arena.bytes;
}

static void table_clear(src_table *t)
{
    ms_arena_free(&t->arena);
    for (size_t i = 0; i < t->domain_count; i++)
        free(t->domains[i].key);
    free(t->slots);
    free(t->buckets);
    free(t->domains);
    uint32_t seed = t->seed;
    memset(t, 0, sizeof *t);
    t->seed = seed;
}

/* FNV-1a, continued from h. */
static uint32_t hash_bytes(uint32_t h, const void *data, size_t len)
{
    const unsigned char *p = data;
    for (size_t i = 0; i < len; i++)
        h = (h ^ p[i]) * 16777619u;
    return h;
}

/* ---- SQLite's text functions, as the rollups' SQL applies them ----------- */

/* The bytes of s's first n characters, counted as SQLite's SUBSTR counts
 * them (a byte from 0xC0 up starts a character that takes the
 * continuation bytes after it). */
static size_t prefix_len(const char *s, int n)
{
    const unsigned char *p = (const unsigned char *)s;
    for (int chars = 0; *p != '\0' && chars < n; chars++)
        if (*p++ >= 0xc0)
            while ((*p & 0xc0) == 0x80)
                p++;
    return (size_t)(p - (const unsigned char *)s);
}

/* KEY(): the first KEY_CHARS characters */
static size_t key_len(const char *s)
{
    return prefix_len(s, KEY_CHARS);
}

/* ---- The tables ---------------------------------------------------------- */

static int grow_slots(src_table *t)
{
    size_t cap = t->cap ? t->cap * 2 : 1024;
    src_slot *slots = calloc(cap, sizeof *slots);
    if (slots == NULL)
        return -1;
    for (size_t i = 0; i < t->cap; i++) {
        if (t->slots[i].entry == NULL)
            continue;
        size_t j = t->slots[i].hash & (cap - 1);
        while (slots[j].entry != NULL)
            j = (j + 1) & (cap - 1);
        slots[j] = t->slots[i];
    }
    free(t->slots);
    t->bytes += (cap - t->cap) * sizeof *slots;
    t->slots = slots;
    t->cap = cap;
    return 0;
}

/* The entry of (ip, domain, day) in t, added with zero sums when new;
 * NULL when memory ran out. ip is cut to its key already (ip_len bytes). */
static src_entry *entry_of(src_table *t, const char *ip, size_t ip_len, unsigned domain, int64_t day)
{
    if (2 * (t->count + 1) > t->cap && grow_slots(t) != 0)
        return NULL;
    if (t->seed == 0)
        t->seed = arc4random() | 1;
    uint32_t h = hash_bytes(2166136261u ^ t->seed, ip, ip_len);
    h = hash_bytes(h, &domain, sizeof domain);
    h = hash_bytes(h, &day, sizeof day);
    size_t i = h & (t->cap - 1);
    for (; t->slots[i].entry != NULL; i = (i + 1) & (t->cap - 1)) {
        src_entry *e = t->slots[i].entry;
        if (t->slots[i].hash == h && e->domain == domain && e->day == day &&
            strncmp(e->ip, ip, ip_len) == 0 && e->ip[ip_len] == '\0')
            return e;
    }
    src_entry *e = ms_arena_alloc(&t->arena, sizeof *e);
    char *key = e ? ms_arena_strndup(&t->arena, ip, ip_len) : NULL;
    if (key == NULL)
        return NULL;
    memset(e, 0, sizeof *e);
    e->ip = key;
    e->domain = domain;
    e->day = day;
    e->hash = h;
    e->lines_tail = &e->lines;
    t->slots[i] = (src_slot){e, h};
    t->count++;
    return e;
}

/* A chained table's buckets (*cap of them, first when none yet)
 * doubled, the memory added counted in *bytes: -1 when memory ran out. */
static int grow_chains(chained ***buckets, size_t *cap, size_t first, size_t *bytes)
{
    size_t new_cap = *cap ? *cap * 2 : first;
    chained **grown = calloc(new_cap, sizeof *grown);
    if (grown == NULL)
        return -1;
    for (size_t i = 0; i < *cap; i++)
        for (chained *c = (*buckets)[i], *next; c != NULL; c = next) {
            next = c->chain;
            c->chain = grown[c->hash & (new_cap - 1)];
            grown[c->hash & (new_cap - 1)] = c;
        }
    free(*buckets);
    *bytes += (new_cap - *cap) * sizeof *grown;
    *buckets = grown;
    *cap = new_cap;
    return 0;
}

/* Adds the name line text (len bytes) of the given kind to e unless e
 * has it: -1 when memory ran out. */
static int add_line(src_table *t, src_entry *e, unsigned char kind, const char *text, size_t len)
{
    if (t->line_count + 1 > t->bucket_cap &&
        grow_chains(&t->buckets, &t->bucket_cap, 1024, &t->bytes) != 0)
        return -1;
    uint32_t h = hash_bytes(hash_bytes(e->hash, &kind, 1), text, len);
    chained **bucket = &t->buckets[h & (t->bucket_cap - 1)];
    for (const chained *c = *bucket; c != NULL; c = c->chain) {
        const name_line *l = (const name_line *)c;
        if (c->hash == h && l->owner == e && l->kind == kind && strncmp(l->text, text, len) == 0 &&
            l->text[len] == '\0')
            return 0;
    }
    name_line *l = ms_arena_alloc(&t->arena, sizeof *l + len + 1);
    if (l == NULL)
        return -1;
    memcpy(l->text, text, len);
    l->text[len] = '\0';
    l->owner = e;
    l->kind = kind;
    l->next = NULL;
    l->link = (chained){*bucket, h};
    *bucket = &l->link;
    *e->lines_tail = l;
    e->lines_tail = &l->next;
    t->line_count++;
    return 0;
}

/* NAME_LINE: "kind<TAB>name", the name cut as KEY() (none: "kind<TAB>"),
 * appended to out. */
static void put_name_line(ms_buf *out, const char *kind_name, const char *name)
{
    ms_buf_puts(out, kind_name);
    ms_buf_puts(out, "\t");
    if (name != NULL)
        ms_buf_append(out, name, key_len(name));
}

/* A NAME_LINE added to e. */
static int add_name_line(struct rollup_mem *m, src_table *t, src_entry *e, unsigned char kind,
                         const char *kind_name, const char *name)
{
    m->line.len = 0;
    put_name_line(&m->line, kind_name, name);
    return m->line.failed ? -1 : add_line(t, e, kind, m->line.data, m->line.len);
}

/* The names of a first-result kind of e differ from now on: its first
 * name's line goes before the others'. */
static int kind_differs(struct rollup_mem *m, src_table *t, src_entry *e, unsigned char kind)
{
    kind_state *k = &e->kinds[kind];
    if (k->differ)
        return 0;
    k->differ = 1;
    return add_name_line(m, t, e, kind, kind_names[kind], k->first);
}

/* A name (not empty) of a first-result kind met for e: its line when the
 * kind's names differ, or do from now on. */
static int note_name(struct rollup_mem *m, src_table *t, src_entry *e, unsigned char kind,
                     const char *name)
{
    kind_state *k = &e->kinds[kind];
    if (k->first == NULL)
        return (k->first = ms_arena_strndup(&t->arena, name, strlen(name))) == NULL ? -1 : 0;
    if (!k->differ && strcmp(k->first, name) == 0)
        return 0;
    if (kind_differs(m, t, e, kind) != 0)
        return -1;
    return add_name_line(m, t, e, kind, kind_names[kind], name);
}

/* One record's name of a first-result kind (NULL or "" when it had none). */
static int note_kind(struct rollup_mem *m, src_table *t, src_entry *e, unsigned char kind,
                     const char *name)
{
    if (name == NULL)
        return 0;
    if (name[0] == '\0') {
        e->kinds[kind].has_empty = 1;
        return 0;
    }
    return note_name(m, t, e, kind, name);
}

static uint64_t add_sat(uint64_t a, uint64_t b)
{
    return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

/* The index of domain (a key) in t's domains, added when new; -1 when
 * memory ran out. */
static long domain_of(src_table *t, const char *key)
{
    for (size_t i = 0; i < t->domain_count; i++)
        if (strcmp(t->domains[i].key, key) == 0)
            return (long)i;
    if (t->domain_count == t->domain_cap) {
        size_t cap = t->domain_cap ? t->domain_cap * 2 : 4;
        domain_key *d = realloc(t->domains, cap * sizeof *d);
        if (d == NULL)
            return -1;
        t->domains = d;
        t->domain_cap = cap;
    }
    char *copy = ms_strdup(key);
    if (copy == NULL)
        return -1;
    t->domains[t->domain_count] = (domain_key){copy, 0};
    return (long)t->domain_count++;
}

/* ---- Writing a table out --------------------------------------------------- */

/* Several ingests into PostgreSQL add to the same rollup rows at once, each
 * locking the rows of a write-out in key order, one statement per table,
 * so that two of them wait for each other rather than deadlock. A report
 * written out in parts (past its bounds) locks a second run of rows in key
 * order after the first: another ingest may hold some of the second run
 * while it waits for a row of the first, a deadlock PostgreSQL breaks by
 * aborting one of the two. So a write-out before a report's end takes its
 * domain's lock exclusively, and the one at its end takes it shared:
 * reports written out whole add to a domain's rollups side by side, a
 * report in parts alone. (Every rollup row is of one policy domain.) The
 * exclusive lock is always taken first: a report that holds the shared
 * lock asks for nothing after it. */
static ms_status lock_domain(ms_store *store, struct rollup_mem *m, int want)
{
    if (store->backend->lock_rollups == NULL || m->report_lock >= want)
        return MS_OK;
    ms_status st = store->backend->lock_rollups(store, m->report_domain_key, want == LOCK_EXCLUSIVE);
    if (st == MS_OK)
        m->report_lock = want;
    return st;
}

static int entry_order(const void *pa, const void *pb)
{
    const src_entry *a = *(src_entry *const *)pa, *b = *(src_entry *const *)pb;
    int c = strcmp(a->ip, b->ip);
    if (c == 0)
        c = a->domain < b->domain ? -1 : a->domain > b->domain;
    if (c == 0)
        c = a->day < b->day ? -1 : a->day > b->day;
    return c;
}

/* SOURCE_NAMES of e into out. */
static void names_of(const src_entry *e, ms_buf *out)
{
    out->len = 0;
    for (unsigned char kind = 0; kind <= K_MORE; kind++) {
        const kind_state *k = kind < KINDS ? &e->kinds[kind] : NULL;
        if (k != NULL && k->first == NULL)
            continue;
        if (k != NULL && !k->differ) { /* one line, not in the table */
            if (out->len > 0)
                ms_buf_puts(out, "\n");
            put_name_line(out, kind_names[kind], k->has_empty ? NULL : k->first);
            continue;
        }
        for (const name_line *l = e->lines; l != NULL; l = l->next) {
            if (l->kind != kind)
                continue;
            if (out->len > 0)
                ms_buf_puts(out, "\n");
            ms_buf_puts(out, l->text);
        }
    }
    ms_buf_append(out, "", 0); /* "" rather than NULL when empty */
}

static int64_t clamp(uint64_t v)
{
    return (int64_t)(v > SUM_MAX ? SUM_MAX : v);
}

/* One row written with sql: run at once, or gathered into the statement's
 * rows (store_backend.row_add), sent by send_rows. */
static ms_status put_row(ms_store *store, const char *sql, const sql_param *p, size_t n)
{
    const store_backend *b = store->backend;
    return b->row_add != NULL ? b->row_add(store, sql, p, n) : store_exec_params(store, sql, p, n);
}

/* The rows gathered by put_row, sent when st is MS_OK and dropped
 * otherwise; the first failure. */
static ms_status send_rows(ms_store *store, ms_status st)
{
    const store_backend *b = store->backend;
    if (b->rows_send == NULL)
        return st;
    ms_status sent = b->rows_send(store, st == MS_OK);
    return st != MS_OK ? st : sent;
}

static ms_status write_source(ms_store *store, const src_table *t, const src_entry *e, ms_buf *names)
{
    names_of(e, names);
    if (names->failed)
        return MS_ERR_NOMEM;
    sql_param p[] = {P_TEXT(e->ip), P_TEXT(t->domains[e->domain].key), P_INT(e->day),
                     P_INT(clamp(e->sums[0])), P_INT(clamp(e->sums[1])), P_INT(clamp(e->sums[2])),
                     P_INT(clamp(e->sums[3])), P_INT(clamp(e->sums[4])), P_INT(clamp(e->sums[5])),
                     P_TEXT(names->data)};
    return put_row(store, store->rollup_sql[ROLLUP_SQL_SOURCE_ROW], p, 10);
}

/* A source's rows in a write-out (PostgreSQL): its rows of the day, then
 * its totals, which the statement that adds them counts for the domain
 * when they are new (rollup.h). Its totals never carry a day. */
static ms_status write_rows_gathered(ms_store *store, src_table *t, src_entry *const *run, size_t days,
                                     const sql_param *totals, ms_buf *names)
{
    ms_status st = MS_OK;
    for (size_t i = 0; st == MS_OK && i < days; i++)
        st = write_source(store, t, run[i], names);
    return st == MS_OK ? put_row(store, store->rollup_sql[ROLLUP_SQL_TOTALS_NEW], totals, 8) : st;
}

/* A source's totals as stored: its one day (has_day 0: its days are rows
 * of rollup_sources), its names that day and its sums. */
typedef struct stored_totals {
    int has_day;
    int64_t day;
    ms_buf names;
    int64_t sums[S_COUNT];
} stored_totals;

static ms_status read_totals(ms_store *store, const sql_param *key, stored_totals *out)
{
    const store_backend *b = store->backend;
    sql_cursor *cur;
    ms_status st = b->query(store, store->rollup_sql[ROLLUP_SQL_TOTALS_READ], key, 2, 0, &cur);
    if (st != MS_OK)
        return st;
    int r = b->next(cur);
    out->has_day = r == 1 && b->text(cur, 0) != NULL;
    out->day = out->has_day ? b->int64(cur, 0) : 0;
    out->names.len = 0;
    ms_buf_puts(&out->names, r == 1 && b->text(cur, 1) ? b->text(cur, 1) : "");
    for (int i = 0; i < S_COUNT; i++)
        out->sums[i] = r == 1 ? b->int64(cur, 2 + i) : 0;
    b->done(cur);
    if (r < 0)
        return store_last_status(store);
    return out->names.failed ? MS_ERR_NOMEM : MS_OK;
}

/* A source's rows in a write-out (SQLite): run[0..days) are its entries
 * (one a day), totals its sums over them as ROLLUP_TOTALS_NEW's $1..$10.
 * A source new to the totals on one day gets its totals row only, which
 * carries the day and its names (migration 7); one with more days gets
 * its rows of the day as well. A stored source that keeps its one day
 * adds to its totals row; one that gets another day has the first day's
 * row made from its totals, then its rows of the day. The source is
 * counted for the domain when its totals row is created. */
static ms_status write_rows_one_by_one(ms_store *store, src_table *t, src_entry *const *run, size_t days,
                                       const sql_param *totals, ms_buf *names, stored_totals *stored)
{
    ms_status st = store_exec_params(store, store->rollup_sql[ROLLUP_SQL_TOTALS_NEW], totals, 10);
    if (st != MS_OK)
        return st;
    int created = store->backend->changes(store) > 0;
    if (created)
        t->domains[run[0]->domain].new_sources++;
    else
        st = read_totals(store, totals, stored);
    if (st != MS_OK || (created && days == 1))
        return st;
    if (!created && stored->has_day && days == 1 && run[0]->day == stored->day)
        return store_exec_params(store, store->rollup_sql[ROLLUP_SQL_TOTALS_ADD_SAME_DAY], totals, 10);
    if (!created && stored->has_day) {
        sql_param first[] = {totals[0], totals[1], P_INT(stored->day), P_INT(stored->sums[0]),
                             P_INT(stored->sums[1]), P_INT(stored->sums[2]), P_INT(stored->sums[3]),
                             P_INT(stored->sums[4]), P_INT(stored->sums[5]), P_TEXT(stored->names.data)};
        st = store_exec_params(store, store->rollup_sql[ROLLUP_SQL_SOURCE_ROW], first, 10);
    }
    for (size_t i = 0; st == MS_OK && i < days; i++)
        st = write_source(store, t, run[i], names);
    if (st == MS_OK && !created)
        st = store_exec_params(store, store->rollup_sql[ROLLUP_SQL_TOTALS_ADD], totals, 8);
    return st;
}

/* The rows of one source in a write-out: run[0..days), its entries, in
 * key order. */
static ms_status write_source_rows(ms_store *store, src_table *t, src_entry *const *run, size_t days,
                                   ms_buf *names, stored_totals *stored)
{
    uint64_t sums[S_COUNT] = {0};
    for (size_t i = 0; i < days; i++)
        for (int s = 0; s < S_COUNT; s++)
            sums[s] = add_sat(sums[s], run[i]->sums[s]);
    if (days == 1)
        names_of(run[0], names);
    if (names->failed)
        return MS_ERR_NOMEM;
    sql_param totals[] = {P_TEXT(run[0]->ip), P_TEXT(t->domains[run[0]->domain].key),
                          P_INT(clamp(sums[0])), P_INT(clamp(sums[1])), P_INT(clamp(sums[2])),
                          P_INT(clamp(sums[3])), P_INT(clamp(sums[4])), P_INT(clamp(sums[5])),
                          days == 1 ? (sql_param)P_INT(run[0]->day) : (sql_param)P_NULL,
                          P_TEXT(days == 1 ? names->data : "")};
    if (store->backend->row_add != NULL)
        return write_rows_gathered(store, t, run, days, totals, names);
    return write_rows_one_by_one(store, t, run, days, totals, names, stored);
}

static ms_status write_domain_sources(ms_store *store, const src_table *t)
{
    ms_status st = MS_OK;
    for (size_t i = 0; st == MS_OK && i < t->domain_count; i++) {
        if (t->domains[i].new_sources == 0)
            continue;
        sql_param p[] = {P_TEXT(t->domains[i].key), P_INT(clamp(t->domains[i].new_sources))};
        st = store_exec_params(store, store->rollup_sql[ROLLUP_SQL_DOMAIN_SOURCES], p, 2);
    }
    return st;
}

/* Every entry of t written, in key order (the rows of a source next to
 * each other, and its totals after them), then t emptied. */
static ms_status table_write(ms_store *store, src_table *t)
{
    if (t->count == 0) {
        table_clear(t);
        return MS_OK;
    }
    ms_status st = rollup_ingest_statements(store);
    if (st != MS_OK)
        return st;
    src_entry **order = malloc(t->count * sizeof *order);
    if (order == NULL)
        return MS_ERR_NOMEM;
    size_t n = 0;
    for (size_t i = 0; i < t->cap; i++)
        if (t->slots[i].entry != NULL)
            order[n++] = t->slots[i].entry;
    qsort(order, n, sizeof *order, entry_order);
    ms_buf names = MS_BUF_INIT;
    stored_totals stored = {.names = MS_BUF_INIT};
    for (size_t i = 0, j; st == MS_OK && i < n; i = j) {
        for (j = i + 1; j < n && order[j]->domain == order[i]->domain && strcmp(order[j]->ip, order[i]->ip) == 0; j++)
            ;
        st = write_source_rows(store, t, order + i, j - i, &names, &stored);
    }
    st = send_rows(store, st);
    if (st == MS_OK)
        st = write_domain_sources(store, t);
    ms_buf_free(&names);
    ms_buf_free(&stored.names);
    free(order);
    table_clear(t);
    return st;
}

/* ---- The rollups by domain and day ---------------------------------------- */

static void day_table_clear(day_table *t)
{
    for (size_t i = 0; i < t->cap; i++)
        for (chained *c = t->buckets[i], *next; c != NULL; c = next) {
            next = c->chain;
            free(c); /* the day_row it begins */
        }
    free(t->buckets);
    uint32_t seed = t->seed;
    memset(t, 0, sizeof *t);
    t->seed = seed;
}

/* The row of (rollup, day, key) in t, added with no sums when new; NULL
 * when memory ran out. */
static day_row *day_row_of(day_table *t, unsigned char rollup, int64_t day, const char *key,
                           size_t key_len)
{
    if (t->count + 1 > t->cap && grow_chains(&t->buckets, &t->cap, 64, &t->bytes) != 0)
        return NULL;
    if (t->seed == 0)
        t->seed = arc4random() | 1;
    uint32_t h = hash_bytes(2166136261u ^ t->seed, &rollup, 1);
    h = hash_bytes(hash_bytes(h, &day, sizeof day), key, key_len);
    chained **bucket = &t->buckets[h & (t->cap - 1)];
    for (chained *c = *bucket; c != NULL; c = c->chain) {
        day_row *r = (day_row *)c;
        if (c->hash == h && r->rollup == rollup && r->day == day && r->key_len == key_len &&
            memcmp(r->key, key, key_len) == 0)
            return r;
    }
    day_row *r = calloc(1, sizeof *r + key_len + 1); /* the last text's NUL */
    if (r == NULL)
        return NULL;
    memcpy(r->key, key, key_len);
    r->key_len = key_len;
    r->rollup = rollup;
    r->day = day;
    r->first_begin = INT64_MAX;
    r->last_end = INT64_MIN;
    r->link = (chained){*bucket, h};
    *bucket = &r->link;
    t->count++;
    t->bytes += sizeof *r + key_len + 1;
    return r;
}

/* from's sums added to to's (MIN of the begins, MAX of the ends). */
static void day_row_add(day_row *to, const day_row *from)
{
    for (int s = 0; s < DS_COUNT; s++)
        to->sums[s] = add_sat(to->sums[s], from->sums[s]);
    if (from->first_begin < to->first_begin)
        to->first_begin = from->first_begin;
    if (from->last_end > to->last_end)
        to->last_end = from->last_end;
}

/* The open report's key: its DOMAIN_KEY, then text (n bytes) after a NUL. */
static const char *report_key(struct rollup_mem *m, const char *text, size_t n, size_t *len)
{
    m->key.len = 0;
    ms_buf_append(&m->key, m->report_domain_key, strlen(m->report_domain_key) + 1);
    ms_buf_append(&m->key, text, n);
    *len = m->key.len;
    return m->key.failed ? NULL : m->key.data;
}

/* One record's messages in the open report's row of rollup_counts by
 * name (KEY of it); the report counted once per row. */
static int add_count_row(struct rollup_mem *m, unsigned char rollup, const char *name,
                         uint64_t messages)
{
    size_t len;
    const char *key = report_key(m, name, key_len(name), &len);
    day_row *r = key ? day_row_of(&m->report_days, rollup, m->report_day, key, len) : NULL;
    if (r == NULL)
        return -1;
    r->sums[DS_REPORTS] = 1;
    r->sums[DS_MESSAGES] = add_sat(r->sums[DS_MESSAGES], messages);
    return 0;
}

/* A report's rows by disposition and override are as many as its
 * distinct values: past this many, its rollups by day are left to SQL
 * (rollup_add_report_days) rather than held in memory. */
enum { REPORT_DAY_ROWS_MAX = 1024 };

/* One record of the open report in its rollups by day (ROLLUP_DAYS_SELECT,
 * ROLLUP_DISPOSITIONS_SELECT, ROLLUP_OVERRIDES_SELECT): add holds its
 * sums by source (SOURCE_SUM_COLUMNS). */
static int day_record(struct rollup_mem *m, const ms_report_agg_record *r, const agg_derived *d,
                      const uint64_t *add)
{
    uint64_t c = r->count, *sums = m->report_sums;
    const char *disposition = r->disposition ? r->disposition : "";
    uint64_t record[DS_COUNT] = {
        [DS_MESSAGES] = c,
        [DS_DMARC_PASS] = add[S_ALIGNED],
        [DS_SPF_ALIGNED] = r->spf != NULL && strcmp(r->spf, "pass") == 0 ? c : 0,
        [DS_DKIM_ALIGNED] = r->dkim != NULL && strcmp(r->dkim, "pass") == 0 ? c : 0,
        [DS_UNALIGNED] = add[S_UNALIGNED],
        [DS_FAILING] = add[S_FAILING],
        [DS_DKIM_PASS_SPF_FAIL] = add[S_DKIM_PASS_SPF_FAIL],
        [DS_FORWARDED] = add[S_FORWARDED],
        [DS_NONE] = strcmp(disposition, "none") == 0 ? c : 0,
        [DS_QUARANTINE] = strcmp(disposition, "quarantine") == 0 ? c : 0,
        [DS_REJECT] = strcmp(disposition, "reject") == 0 ? c : 0,
    };
    for (int s = 0; s < DS_COUNT; s++)
        sums[s] = add_sat(sums[s], record[s]);
    if (m->report_days_sql)
        return 0;
    if (add_count_row(m, D_DISPOSITION, disposition, c) != 0 ||
        (d->reasons != NULL && add_count_row(m, D_OVERRIDE, d->reasons, c) != 0))
        return -1;
    if (m->report_days.count > REPORT_DAY_ROWS_MAX) {
        m->report_days_sql = 1;
        day_table_clear(&m->report_days);
    }
    return 0;
}

/* The open report's rows by day joined to the group's: its rows by
 * disposition and override, and those the report makes alone
 * (rollup_days, its reporter, its policy). */
static ms_status days_report_done(ms_store *store, struct rollup_mem *m)
{
    day_table *g = &m->group_days;
    for (size_t i = 0; i < m->report_days.cap; i++)
        for (const chained *c = m->report_days.buckets[i]; c != NULL; c = c->chain) {
            const day_row *r = (const day_row *)c;
            day_row *to = day_row_of(g, r->rollup, r->day, r->key, r->key_len);
            if (to == NULL)
                return MS_ERR_NOMEM;
            day_row_add(to, r);
        }
    const char *policy = m->report_policy.data, *org = policy + m->report_org;
    size_t len, org_len = m->report_policy.len - m->report_org;
    day_row *days = day_row_of(g, D_DAYS, m->report_day, policy, strlen(policy) + 1);
    const char *key = report_key(m, org, org_len, &len);
    day_row *reporter = key ? day_row_of(g, D_REPORTER, m->report_day, key, len) : NULL;
    day_row *pol = day_row_of(g, D_POLICY, m->report_day, policy, m->report_policy.len);
    if (days == NULL || reporter == NULL || pol == NULL)
        return MS_ERR_NOMEM;
    day_row report = {.first_begin = m->report_begin, .last_end = m->report_end};
    memcpy(report.sums, m->report_sums, sizeof report.sums);
    report.sums[DS_REPORTS] = 1;
    day_row_add(days, &report);
    memset(report.sums, 0, sizeof report.sums);
    report.sums[DS_REPORTS] = 1;
    day_row_add(pol, &report);
    report.sums[DS_MESSAGES] = store->messages; /* r.messages */
    day_row_add(reporter, &report);
    return MS_OK;
}

static int day_row_order(const void *pa, const void *pb)
{
    const day_row *a = *(day_row *const *)pa, *b = *(day_row *const *)pb;
    if (a->rollup != b->rollup)
        return a->rollup < b->rollup ? -1 : 1;
    size_t n = a->key_len < b->key_len ? a->key_len : b->key_len;
    int c = memcmp(a->key, b->key, n);
    if (c == 0)
        c = a->key_len < b->key_len ? -1 : a->key_len > b->key_len;
    if (c == 0)
        c = a->day < b->day ? -1 : a->day > b->day;
    return c;
}

/* The statement that adds a row of rollup (rollup.h, ROLLUP_SQL_*):
 * its single-row upsert, or its table's statement of arrays, which
 * rollup_counts' three kinds share. */
static const char *day_row_sql(const ms_store *store, unsigned char rollup)
{
    if (store->backend->row_add != NULL && (rollup == D_OVERRIDE || rollup == D_REPORTER))
        rollup = D_DISPOSITION;
    return store->rollup_sql[2 * rollup + 1];
}

/* One row added to its rollup, its columns in the rollup's order
 * (ROLLUP_*_COLUMNS). */
static ms_status write_day_row(ms_store *store, const day_row *r)
{
    static const char *const count_kinds[D_ROLLUPS] = {
        [D_DISPOSITION] = "disposition", [D_OVERRIDE] = "override", [D_REPORTER] = "reporter"};
    /* the key's texts: the last may be empty, ended by the NUL after the key */
    size_t ntexts = r->rollup == D_DAYS ? 1 : r->rollup == D_POLICY ? KEY_TEXTS_MAX : 2;
    const char *texts[KEY_TEXTS_MAX], *t = r->key;
    for (size_t i = 0; i < ntexts; i++, t += strlen(t) + 1)
        texts[i] = t;
    sql_param p[2 + KEY_TEXTS_MAX + DS_COUNT + 2];
    size_t n = 0;
    p[n++] = P_TEXT(texts[0]);
    p[n++] = P_INT(r->day);
    if (r->rollup == D_DAYS) {
        for (int s = 0; s < DS_COUNT; s++)
            p[n++] = P_INT(clamp(r->sums[s]));
    } else if (r->rollup == D_POLICY) {
        for (size_t i = 1; i < ntexts; i++)
            p[n++] = P_TEXT(texts[i]);
        p[n++] = P_INT(clamp(r->sums[DS_REPORTS]));
    } else {
        p[n++] = P_TEXT(count_kinds[r->rollup]);
        p[n++] = P_TEXT(texts[1]);
        p[n++] = P_INT(clamp(r->sums[DS_REPORTS]));
        p[n++] = P_INT(clamp(r->sums[DS_MESSAGES]));
    }
    if (r->rollup == D_DAYS || r->rollup == D_POLICY) {
        p[n++] = P_INT(r->first_begin);
        p[n++] = P_INT(r->last_end);
    }
    return put_row(store, day_row_sql(store, r->rollup), p, n);
}

/* Every row of t written, in key order, then t emptied. */
static ms_status days_write(ms_store *store, day_table *t)
{
    ms_status st = t->count == 0 ? MS_OK : rollup_ingest_statements(store);
    day_row **order = st == MS_OK && t->count > 0 ? malloc(t->count * sizeof *order) : NULL;
    if (t->count > 0 && st == MS_OK && order == NULL)
        st = MS_ERR_NOMEM;
    size_t n = 0;
    for (size_t i = 0; order != NULL && i < t->cap; i++)
        for (chained *c = t->buckets[i]; c != NULL; c = c->chain)
            order[n++] = (day_row *)c;
    if (n > 0)
        qsort(order, n, sizeof *order, day_row_order);
    for (size_t i = 0; st == MS_OK && i < n; i++)
        st = write_day_row(store, order[i]);
    st = send_rows(store, st);
    free(order);
    day_table_clear(t);
    return st;
}

/* ---- The interface (rollup.h) ------------------------------------------- */

static struct rollup_mem *mem_of(ms_store *store)
{
    if (store->rollup_mem == NULL)
        store->rollup_mem = calloc(1, sizeof *store->rollup_mem);
    return store->rollup_mem;
}

/* The open report's domain in its table (again after the table was written out). */
static ms_status report_domain(struct rollup_mem *m)
{
    long index = domain_of(&m->report, m->report_domain_key);
    if (index < 0)
        return MS_ERR_NOMEM;
    m->report_domain = (unsigned)index;
    return MS_OK;
}

/* The open report's rollup_policies key: DOMAIN_KEY, POLICY_FIELDS and
 * KEY(r.org), each ended by a NUL but the last. */
static ms_status report_policy(struct rollup_mem *m, const ms_report_agg_meta *meta)
{
    const char *fields[POLICY_TEXTS] = {meta->p,     meta->sp,   meta->np, meta->pct,
                                        meta->adkim, meta->aspf, meta->fo, meta->testing};
    ms_buf *key = &m->report_policy;
    key->len = 0;
    ms_buf_append(key, m->report_domain_key, strlen(m->report_domain_key) + 1);
    for (int i = 0; i < POLICY_TEXTS; i++) {
        const char *f = fields[i] ? fields[i] : "";
        ms_buf_append(key, f, prefix_len(f, POLICY_KEY_CHARS));
        ms_buf_append(key, "", 1);
    }
    m->report_org = key->len;
    const char *org = meta->org_name ? meta->org_name : "";
    ms_buf_append(key, org, key_len(org));
    ms_buf_append(key, "", 0); /* data set even when empty */
    return key->failed ? MS_ERR_NOMEM : MS_OK;
}

ms_status rollup_mem_begin(ms_store *store, const ms_report_agg_meta *meta)
{
    struct rollup_mem *m = mem_of(store);
    if (m == NULL)
        return MS_ERR_NOMEM;
    rollup_mem_report_drop(store);
    m->report_lock = LOCK_NONE; /* a report is a transaction where there are locks */
    int64_t begin = meta->begin;
    if (begin < INT64_MIN + 86400)
        return store_fail(store, MS_ERR_LIMIT, "the report's begin (%lld) is out of range",
                          (long long)begin);
    m->report_day = begin - ((begin % 86400) + 86400) % 86400; /* DAY_OF */
    m->report_begin = begin;
    m->report_end = meta->end;
    /* DOMAIN_KEY: LOWER (ASCII only, as SQLite's), then KEY */
    const char *d = meta->domain ? meta->domain : "";
    free(m->report_domain_key);
    if ((m->report_domain_key = strndup(d, key_len(d))) == NULL)
        return MS_ERR_NOMEM;
    for (char *c = m->report_domain_key; *c != '\0'; c++)
        *c = (char)ms_ascii_lower((unsigned char)*c);
    ms_status st = report_policy(m, meta);
    if (st == MS_OK)
        st = report_domain(m);
    m->report_open = st == MS_OK;
    return st;
}

ms_status rollup_mem_record(ms_store *store, const ms_report_agg_record *r, const agg_derived *d)
{
    struct rollup_mem *m = store->rollup_mem;
    src_table *t = &m->report;
    const char *ip = r->source_ip ? r->source_ip : "";
    src_entry *e = entry_of(t, ip, key_len(ip), m->report_domain, m->report_day);
    if (e == NULL)
        return MS_ERR_NOMEM;
    uint64_t c = r->count;
    int pass = (r->dkim != NULL && strcmp(r->dkim, "pass") == 0) ||
               (r->spf != NULL && strcmp(r->spf, "pass") == 0);
    int some_pass = d->dkim_pass || d->spf_pass;
    uint64_t add[S_COUNT] = {
        [S_MESSAGES] = c,
        [S_ALIGNED] = pass ? c : 0,
        [S_UNALIGNED] = !pass && some_pass ? c : 0,
        [S_FAILING] = !pass && !some_pass ? c : 0,
        [S_DKIM_PASS_SPF_FAIL] = d->dkim_pass && !d->spf_pass ? c : 0,
        [S_FORWARDED] = d->reasons != NULL && (strstr(d->reasons, "forwarded") != NULL ||
                                                strstr(d->reasons, "mailing_list") != NULL)
                            ? c
                            : 0,
    };
    for (int s = 0; s < S_COUNT; s++)
        e->sums[s] = add_sat(e->sums[s], add[s]);
    int failed = day_record(m, r, d, add) || note_kind(m, t, e, K_DKIM, d->dkim ? d->dkim->domain : NULL) ||
                 note_kind(m, t, e, K_FROM, r->header_from) ||
                 note_kind(m, t, e, K_SPF, d->spf ? d->spf->domain : NULL);
    /* the names after the first result of each kind (rollup_note_record) */
    for (size_t i = 1; !failed && i < r->dkim_count; i++) {
        const char *name = r->dkim_results[i].domain;
        if (name != NULL && name[0] != '\0')
            failed = add_name_line(m, t, e, K_MORE, "dkim", name) != 0;
    }
    for (size_t i = 1; !failed && i < r->spf_count; i++) {
        const char *name = r->spf_results[i].domain;
        if (name != NULL && name[0] != '\0')
            failed = add_name_line(m, t, e, K_MORE, "spf", name) != 0;
    }
    if (failed)
        return MS_ERR_NOMEM;
    /* a report too big to keep summed in memory: written out within its savepoint */
    if (table_bytes(t) > MEM_REPORT_BYTES) {
        ms_status st = lock_domain(store, m, LOCK_EXCLUSIVE);
        if (st == MS_OK)
            st = table_write(store, t);
        return st == MS_OK ? report_domain(m) : st;
    }
    return MS_OK;
}

/* The report's kind states added to the group's entry g, before the
 * report's name lines (those of its kinds whose names differ). */
static int merge_kinds(struct rollup_mem *m, src_entry *g, const src_entry *e)
{
    src_table *group = &m->group;
    for (unsigned char kind = 0; kind < KINDS; kind++) {
        kind_state *to = &g->kinds[kind];
        const kind_state *from = &e->kinds[kind];
        to->has_empty |= from->has_empty;
        if (from->first == NULL)
            continue;
        if (to->first == NULL) {
            if ((to->first = ms_arena_strndup(&group->arena, from->first, strlen(from->first))) == NULL)
                return -1;
            to->differ = from->differ;
        } else if (from->differ) {
            if (kind_differs(m, group, g, kind) != 0) /* the report's lines follow */
                return -1;
        } else if (note_name(m, group, g, kind, from->first) != 0) {
            return -1;
        }
    }
    return 0;
}

/* The open report's sums by source joined to the group's. */
static ms_status sources_report_done(struct rollup_mem *m)
{
    src_table *r = &m->report, *g = &m->group;
    if (r->count == 0)
        return MS_OK;
    long domain = domain_of(g, m->report_domain_key);
    ms_status st = domain < 0 ? MS_ERR_NOMEM : MS_OK;
    for (size_t i = 0; st == MS_OK && i < r->cap; i++) {
        const src_entry *e = r->slots[i].entry;
        if (e == NULL)
            continue;
        src_entry *to = entry_of(g, e->ip, strlen(e->ip), (unsigned)domain, e->day);
        if (to == NULL || merge_kinds(m, to, e) != 0) {
            st = MS_ERR_NOMEM;
            break;
        }
        for (int s = 0; s < S_COUNT; s++)
            to->sums[s] = add_sat(to->sums[s], e->sums[s]);
        for (const name_line *l = e->lines; st == MS_OK && l != NULL; l = l->next) {
            if (add_line(g, to, l->kind, l->text, strlen(l->text)) != 0)
                st = MS_ERR_NOMEM;
        }
    }
    return st;
}

ms_status rollup_mem_report_done(ms_store *store)
{
    struct rollup_mem *m = store->rollup_mem;
    if (m == NULL || !m->report_open)
        return MS_OK; /* not an aggregate report */
    ms_status st = sources_report_done(m);
    int early = m->report_days_sql || table_bytes(&m->group) > MEM_GROUP_BYTES ||
                m->group_days.bytes > MEM_REPORT_BYTES; /* before the group's write-out */
    if (st == MS_OK && early)
        st = lock_domain(store, m, LOCK_EXCLUSIVE);
    if (st == MS_OK)
        st = m->report_days_sql ? rollup_add_report_days(store, store->report)
                                : days_report_done(store, m);
    rollup_mem_report_drop(store);
    if (st == MS_OK && table_bytes(&m->group) > MEM_GROUP_BYTES)
        st = table_write(store, &m->group);
    if (st == MS_OK && m->group_days.bytes > MEM_REPORT_BYTES)
        st = days_write(store, &m->group_days);
    return st;
}

void rollup_mem_report_drop(ms_store *store)
{
    struct rollup_mem *m = store->rollup_mem;
    if (m == NULL)
        return;
    table_clear(&m->report);
    day_table_clear(&m->report_days);
    memset(m->report_sums, 0, sizeof m->report_sums);
    m->report_open = m->report_days_sql = 0;
}

void rollup_mem_group_drop(ms_store *store)
{
    if (store->rollup_mem != NULL) {
        rollup_mem_report_drop(store);
        table_clear(&store->rollup_mem->group);
        day_table_clear(&store->rollup_mem->group_days);
    }
}

ms_status rollup_mem_group_write(ms_store *store)
{
    struct rollup_mem *m = store->rollup_mem;
    if (m == NULL)
        return MS_OK;
    ms_status st = MS_OK;
    if (m->group.count > 0 || m->group_days.count > 0)
        st = lock_domain(store, m, LOCK_SHARED);
    if (st == MS_OK)
        st = table_write(store, &m->group);
    return st == MS_OK ? days_write(store, &m->group_days) : st;
}

void rollup_mem_free(ms_store *store)
{
    rollup_mem_group_drop(store);
    if (store->rollup_mem != NULL) {
        free(store->rollup_mem->report_domain_key);
        ms_buf_free(&store->rollup_mem->line);
        ms_buf_free(&store->rollup_mem->key);
        ms_buf_free(&store->rollup_mem->report_policy);
    }
    free(store->rollup_mem);
    store->rollup_mem = NULL;
}
