/* The messages this receiver evaluated (ms_store_put_evaluation), read
 * back grouped as the <record>s of the aggregate reports `report send`
 * builds, and the send state of those reports (docs/store.md). */
#include "store/internal.h"
#include "report/report_internal.h"
#include "report/send_internal.h"
#include "core/grow.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

/* The words each field may hold (RFC 9990's enumerations). */
static const char *const DISPOSITIONS[] = {"none", "quarantine", "reject", NULL};
static const char *const ALIGNED[] = {"pass", "fail", NULL};
static const char *const SPF_SCOPES[] = {"mfrom", "helo", NULL};
static const char *const SPF_RESULTS[] = {"none",     "neutral",   "pass",      "fail",
                                          "softfail", "temperror", "permerror", NULL};
static const char *const DKIM_RESULTS[] = {"none",    "pass",      "fail",      "policy",
                                           "neutral", "temperror", "permerror", NULL};
static const char *const OVERRIDES[] = {"forwarded",    "sampled_out",  "trusted_forwarder",
                                        "mailing_list", "local_policy", "other",
                                        NULL};

/* The list's spelling of word (compared ignoring ASCII case), or NULL. */
static const char *known_word(const char *word, const char *const *list)
{
    for (size_t i = 0; word != NULL && list[i] != NULL; i++)
        if (ms_ascii_strcasecmp(word, list[i]) == 0)
            return list[i];
    return NULL;
}

/* Appends s cut to max bytes (at a UTF-8 character boundary), control
 * characters as spaces (so tab and newline separate the lists' fields),
 * ASCII lower-cased when lower. */
static void append_clean(ms_buf *out, const char *s, size_t max, int lower)
{
    if (s == NULL)
        return;
    size_t n = strnlen(s, max + 1);
    if (n > max) {
        n = max;
        while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
            n--;
    }
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c == 0x7F)
            c = ' ';
        else if (lower && c >= 'A' && c <= 'Z')
            c = (unsigned char)(c - 'A' + 'a');
        ms_buf_append(out, (const char *)&c, 1);
    }
}

/* The cleaned text of every column, '' for absent values. */
enum {
    COL_POLICY_DOMAIN, COL_POLICY_RECORD, COL_SOURCE_IP, COL_HEADER_FROM, COL_ENVELOPE_FROM,
    COL_ENVELOPE_TO, COL_SPF_DOMAIN, COL_DKIM, COL_OVERRIDES, COL_COUNT
};
typedef struct eval_text {
    ms_buf col[COL_COUNT];
} eval_text;

static void eval_text_free(eval_text *t)
{
    for (int i = 0; i < COL_COUNT; i++)
        ms_buf_free(&t->col[i]);
}

static const char *col_text(eval_text *t, int i)
{
    ms_buf_append(&t->col[i], "", 0); /* NUL-terminated, even when empty */
    return t->col[i].data ? t->col[i].data : "";
}

/* The words and the lists checked, the text columns filled. */
static ms_status eval_clean(ms_store *store, const ms_store_evaluation *e, eval_text *t,
                            char ip[INET6_ADDRSTRLEN])
{
    if (e->dkim_count > MS_STORE_EVAL_LIST_MAX || e->override_count > MS_STORE_EVAL_LIST_MAX)
        return store_fail(store, MS_ERR_LIMIT, "an evaluation holds at most %d DKIM results and"
                          " %d overrides", MS_STORE_EVAL_LIST_MAX, MS_STORE_EVAL_LIST_MAX);
    if (!ms_report_time_in_range(e->time))
        return store_fail(store, MS_ERR_INVALID, "evaluation time %lld out of range",
                          (long long)e->time);
    if (!report_send_canonical_ip(e->source_ip, ip))
        return store_fail(store, MS_ERR_INVALID, "source IP is not an IP address");
    if (e->header_from == NULL || e->header_from[0] == '\0')
        return store_fail(store, MS_ERR_INVALID, "an evaluation needs its header From domain");
    if (!known_word(e->disposition, DISPOSITIONS) || !known_word(e->dkim_aligned, ALIGNED) ||
        !known_word(e->spf_aligned, ALIGNED) ||
        (e->spf_scope != NULL && !known_word(e->spf_scope, SPF_SCOPES)) ||
        (e->spf_result != NULL && !known_word(e->spf_result, SPF_RESULTS)))
        return store_fail(store, MS_ERR_INVALID, "disposition, alignment or SPF result is not a word"
                          " RFC 9990 knows");
    /* the report's name and subject: A-labels, or not reportable ('') */
    char *policy_domain = NULL;
    if (e->policy_domain != NULL) {
        ms_status st = ms_store_domain_key(e->policy_domain, &policy_domain);
        if (st == MS_ERR_NOMEM)
            return st;
    }
    ms_buf_puts(&t->col[COL_POLICY_DOMAIN], policy_domain ? policy_domain : "");
    free(policy_domain);
    append_clean(&t->col[COL_POLICY_RECORD], e->policy_record, MS_STORE_EVAL_RECORD_MAX, 0);
    append_clean(&t->col[COL_HEADER_FROM], e->header_from, MS_STORE_EVAL_DOMAIN_MAX, 1);
    append_clean(&t->col[COL_ENVELOPE_FROM], e->envelope_from, MS_STORE_EVAL_DOMAIN_MAX, 1);
    append_clean(&t->col[COL_ENVELOPE_TO], e->envelope_to, MS_STORE_EVAL_DOMAIN_MAX, 1);
    append_clean(&t->col[COL_SPF_DOMAIN], e->spf_domain, MS_STORE_EVAL_DOMAIN_MAX, 1);
    for (size_t i = 0; i < e->dkim_count; i++) {
        const ms_store_eval_dkim *d = &e->dkim[i];
        const char *result = known_word(d->result, DKIM_RESULTS);
        if (result == NULL)
            return store_fail(store, MS_ERR_INVALID, "DKIM result %zu is not a word RFC 9990 knows",
                              i + 1);
        ms_buf *b = &t->col[COL_DKIM];
        append_clean(b, d->domain, MS_STORE_EVAL_DOMAIN_MAX, 1);
        ms_buf_puts(b, "\t");
        append_clean(b, d->selector, MS_STORE_EVAL_DOMAIN_MAX, 0);
        ms_buf_puts(b, "\t");
        ms_buf_puts(b, result);
        ms_buf_puts(b, "\n");
    }
    for (size_t i = 0; i < e->override_count; i++) {
        const char *type = known_word(e->overrides[i].type, OVERRIDES);
        if (type == NULL)
            return store_fail(store, MS_ERR_INVALID, "override %zu is not a type RFC 9990 knows",
                              i + 1);
        ms_buf *b = &t->col[COL_OVERRIDES];
        ms_buf_puts(b, type);
        ms_buf_puts(b, "\t");
        append_clean(b, e->overrides[i].comment, MS_STORE_EVAL_COMMENT_MAX, 0);
        ms_buf_puts(b, "\n");
    }
    for (int i = 0; i < COL_COUNT; i++)
        if (t->col[i].failed)
            return MS_ERR_NOMEM;
    return MS_OK;
}

static const char *word_or_empty(const char *word, const char *const *list)
{
    const char *w = known_word(word, list);
    return w ? w : "";
}

/* One INSERT outside any other transaction: the evaluation is committed on
 * its own (a group of reports this handle holds open is committed first). */
ms_status ms_store_put_evaluation(ms_store *store, const ms_store_evaluation *e)
{
    eval_text t = {0};
    char ip[INET6_ADDRSTRLEN];
    ms_status st = eval_clean(store, e, &t, ip);
    if (st == MS_OK)
        st = ms_store_sync(store);
    if (st == MS_OK) {
        sql_param p[] = {
            P_INT(e->time), P_INT(e->time - e->time % 86400), P_TEXT(col_text(&t, COL_POLICY_DOMAIN)),
            e->policy_record ? P_TEXT(col_text(&t, COL_POLICY_RECORD)) : P_TEXT(NULL), P_TEXT(ip),
            P_TEXT(col_text(&t, COL_HEADER_FROM)), P_TEXT(col_text(&t, COL_ENVELOPE_FROM)),
            P_TEXT(col_text(&t, COL_ENVELOPE_TO)), P_TEXT(known_word(e->disposition, DISPOSITIONS)),
            P_TEXT(known_word(e->dkim_aligned, ALIGNED)), P_TEXT(known_word(e->spf_aligned, ALIGNED)),
            P_TEXT(col_text(&t, COL_SPF_DOMAIN)), P_TEXT(word_or_empty(e->spf_scope, SPF_SCOPES)),
            P_TEXT(word_or_empty(e->spf_result, SPF_RESULTS)), P_TEXT(col_text(&t, COL_DKIM)),
            P_TEXT(col_text(&t, COL_OVERRIDES)),
        };
        st = store_exec_params(store,
                               "INSERT INTO evaluations (evaluated_at, day, policy_domain,"
                               " policy_record, source_ip, header_from, envelope_from, envelope_to,"
                               " disposition, dkim_aligned, spf_aligned, spf_domain, spf_scope,"
                               " spf_result, dkim, overrides) VALUES ($1, $2, $3, $4, $5, $6, $7,"
                               " $8, $9, $10, $11, $12, $13, $14, $15, $16)",
                               p, sizeof p / sizeof p[0]);
    }
    eval_text_free(&t);
    return st;
}

/* ---- Reading ------------------------------------------------------------ */

void ms_store_eval_periods_free(ms_store_eval_period *rows, size_t count)
{
    for (size_t i = 0; rows != NULL && i < count; i++) {
        free(rows[i].policy_domain);
        free(rows[i].policy_record);
    }
    free(rows);
}

/* The record of the period's last evaluation. */
static ms_status period_record(ms_store *store, ms_store_eval_period *row)
{
    sql_param p[] = {P_INT(row->day), P_TEXT(row->policy_domain)};
    int found;
    return store_query_text(store,
                            "SELECT policy_record FROM evaluations WHERE day = $1"
                            " AND policy_domain = $2"
                            " ORDER BY evaluated_at DESC, id DESC LIMIT 1",
                            p, 2, &row->policy_record, &found);
}

ms_status ms_store_eval_periods(ms_store *store, int64_t since, int64_t until,
                                ms_store_eval_period **out, size_t *count)
{
    *out = NULL;
    *count = 0;
    sql_param p[] = {P_INT(since), P_INT(until > 0 ? until : INT64_MAX)};
    char *sql = store_sql_text(store, "SELECT day, policy_domain, COUNT(*), MIN(evaluated_at),"
                                      " MAX(evaluated_at) FROM evaluations"
                                      " WHERE day >= $1 AND day < $2 AND policy_domain <> ''"
                                      " GROUP BY day, policy_domain ORDER BY day, policy_domain@C@");
    if (sql == NULL)
        return MS_ERR_NOMEM;
    sql_cursor *cur;
    ms_status st = store->backend->query(store, sql, p, 2, 0, &cur);
    free(sql);
    if (st != MS_OK)
        return st;
    ms_store_eval_period *rows = NULL;
    size_t n = 0, cap = 0;
    int r;
    while (st == MS_OK && (r = store->backend->next(cur)) == 1) {
        ms_store_eval_period *more = ms_grow(rows, n, &cap, sizeof *rows, 16);
        if (more == NULL) {
            st = MS_ERR_NOMEM;
            break;
        }
        rows = more;
        ms_store_eval_period *row = &rows[n++];
        *row = (ms_store_eval_period){
            .day = store->backend->int64(cur, 0),
            .policy_domain = ms_strdup(store->backend->text(cur, 1)),
            .messages = (uint64_t)store->backend->int64(cur, 2),
            .first = store->backend->int64(cur, 3),
            .last = store->backend->int64(cur, 4),
        };
        if (row->policy_domain == NULL)
            st = MS_ERR_NOMEM;
    }
    store->backend->done(cur);
    if (st == MS_OK && r < 0)
        st = store_last_status(store);
    for (size_t i = 0; st == MS_OK && i < n; i++)
        st = period_record(store, &rows[i]);
    if (st != MS_OK) {
        ms_store_eval_periods_free(rows, n);
        return st;
    }
    *out = rows;
    *count = n;
    return MS_OK;
}

/* NULL for the '' that stands for an absent value. */
static const char *absent_empty(const char *s)
{
    return s == NULL || s[0] == '\0' ? NULL : s;
}

/* Splits the next line of a list column (modified in place) into its
 * tab-separated fields; returns 0 at the end. */
static int next_line(char **pos, char *fields[3])
{
    char *line = *pos;
    if (line == NULL || *line == '\0')
        return 0;
    char *end = strchr(line, '\n');
    if (end != NULL)
        *end = '\0';
    *pos = end ? end + 1 : line + strlen(line);
    for (int i = 0; i < 3; i++) {
        fields[i] = line;
        char *tab = line ? strchr(line, '\t') : NULL;
        if (tab != NULL)
            *tab = '\0';
        line = tab ? tab + 1 : NULL;
    }
    return 1;
}

/* The group in the cursor's row handed to fn; the lists parsed from their
 * columns, copied into scratch (the cursor's text is read-only). */
static int call_group(ms_store *store, sql_cursor *cur, ms_store_eval_fn fn, void *arg)
{
    const store_backend *b = store->backend;
    ms_store_eval_dkim dkim[MS_STORE_EVAL_LIST_MAX];
    ms_store_eval_override overrides[MS_STORE_EVAL_LIST_MAX];
    ms_store_eval_group g = {
        .evaluation = {
            .time = b->int64(cur, 13),
            .source_ip = b->text(cur, 0),
            .header_from = b->text(cur, 1),
            .envelope_from = absent_empty(b->text(cur, 2)),
            .envelope_to = absent_empty(b->text(cur, 3)),
            .disposition = b->text(cur, 4),
            .dkim_aligned = b->text(cur, 5),
            .spf_aligned = b->text(cur, 6),
            .spf_domain = absent_empty(b->text(cur, 7)),
            .spf_scope = absent_empty(b->text(cur, 8)),
            .spf_result = absent_empty(b->text(cur, 9)),
            .dkim = dkim,
            .overrides = overrides,
        },
        .count = (uint64_t)b->int64(cur, 12),
    };
    ms_buf *lists = &store->scratch;
    lists->len = 0;
    const char *dkim_text = b->text(cur, 10), *override_text = b->text(cur, 11);
    size_t dkim_len = dkim_text ? strlen(dkim_text) : 0;
    ms_buf_append(lists, dkim_text ? dkim_text : "", dkim_len);
    ms_buf_append(lists, "", 1);
    ms_buf_puts(lists, override_text ? override_text : "");
    ms_buf_append(lists, "", 1);
    if (lists->failed)
        return -1;
    char *pos = lists->data, *f[3];
    while (g.evaluation.dkim_count < MS_STORE_EVAL_LIST_MAX && next_line(&pos, f))
        dkim[g.evaluation.dkim_count++] = (ms_store_eval_dkim){
            .domain = f[0], .selector = absent_empty(f[1]), .result = f[2] ? f[2] : "none"};
    pos = lists->data + dkim_len + 1;
    while (g.evaluation.override_count < MS_STORE_EVAL_LIST_MAX && next_line(&pos, f))
        overrides[g.evaluation.override_count++] = (ms_store_eval_override){
            .type = f[0], .comment = absent_empty(f[1])};
    return fn(arg, &g) != 0 ? 1 : 0;
}

/* GROUP BY sorts on the database's side (SQLite in temporary files past
 * its cache, PostgreSQL past work_mem) and rows come one at a time: memory
 * here holds one group, however many messages the day had. */
ms_status ms_store_eval_groups(ms_store *store, const char *policy_domain, int64_t day,
                               ms_store_eval_fn fn, void *arg)
{
    /* grouped by the columns, ordered by their bytes (the same order on
     * both backends) */
    char *sql = store_sql_text(store,
                               "SELECT source_ip, header_from, envelope_from, envelope_to,"
                               " disposition, dkim_aligned, spf_aligned, spf_domain, spf_scope,"
                               " spf_result, dkim, overrides, COUNT(*), MAX(evaluated_at)"
                               " FROM evaluations WHERE day = $1 AND policy_domain = $2"
                               " GROUP BY source_ip, header_from, envelope_from, envelope_to,"
                               " disposition, dkim_aligned, spf_aligned, spf_domain, spf_scope,"
                               " spf_result, dkim, overrides"
                               " ORDER BY source_ip@C@, header_from@C@, envelope_from@C@,"
                               " envelope_to@C@, disposition, dkim_aligned, spf_aligned,"
                               " spf_domain@C@, spf_scope, spf_result, dkim@C@, overrides@C@");
    if (sql == NULL)
        return MS_ERR_NOMEM;
    sql_param p[] = {P_INT(day), P_TEXT(policy_domain)};
    sql_cursor *cur;
    ms_status st = store->backend->query(store, sql, p, 2, 1, &cur);
    free(sql);
    if (st != MS_OK)
        return st;
    int r, stop = 0;
    while (!stop && (r = store->backend->next(cur)) == 1) {
        stop = call_group(store, cur, fn, arg);
        if (stop < 0)
            st = MS_ERR_NOMEM;
    }
    store->backend->done(cur);
    if (st == MS_OK && !stop && r < 0)
        st = store_last_status(store);
    return st;
}

/* ---- Send state --------------------------------------------------------- */

static const char *const SEND_STATES[] = {[MS_STORE_SEND_NONE] = "none",
                                          [MS_STORE_SEND_BUILT] = "built",
                                          [MS_STORE_SEND_SENT] = "sent"};

ms_status ms_store_send_state_get(ms_store *store, const char *policy_domain, int64_t day,
                                  const char *destination, ms_store_send_state *state)
{
    *state = MS_STORE_SEND_NONE;
    sql_param p[] = {P_TEXT(policy_domain), P_INT(day), P_TEXT(destination)};
    char *text;
    int found;
    ms_status st = store_query_text(store,
                                    "SELECT state FROM report_sends WHERE policy_domain = $1"
                                    " AND day = $2 AND destination = $3",
                                    p, 3, &text, &found);
    for (int i = MS_STORE_SEND_BUILT; text != NULL && i <= MS_STORE_SEND_SENT; i++)
        if (strcmp(text, SEND_STATES[i]) == 0)
            *state = (ms_store_send_state)i;
    free(text);
    return st;
}

ms_status ms_store_send_state_set(ms_store *store, const char *policy_domain, int64_t day,
                                  const char *destination, const char *report_id,
                                  ms_store_send_state state)
{
    if (state != MS_STORE_SEND_BUILT && state != MS_STORE_SEND_SENT)
        return store_fail(store, MS_ERR_INVALID, "not a send state to record");
    sql_param p[] = {P_TEXT(policy_domain), P_INT(day), P_TEXT(destination), P_TEXT(report_id),
                     P_TEXT(SEND_STATES[state]), P_INT(time(NULL))};
    return store_exec_durable(store,
                              "INSERT INTO report_sends (policy_domain, day, destination,"
                              " report_id, state, updated_at) VALUES ($1, $2, $3, $4, $5, $6)"
                              " ON CONFLICT (policy_domain, day, destination) DO UPDATE SET"
                              " report_id = excluded.report_id, state = excluded.state,"
                              " updated_at = excluded.updated_at",
                              p, 6);
}
