/* mailsec report: the views over the store. Each view asks the store one
 * question (lib/store) and renders the answer as a checklist or JSON;
 * sources also resolve and classify the senders (lib/sources). */
#include "cli.h"
#include "report_options.h"
#include "report_views.h"

#include "mailsec/sources.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char VIEW_USAGE[] =
    "Usage: mailsec report summary [options]      per domain: messages, pass rates, dispositions\n"
    "       mailsec report sources [options]      per sending IP, grouped by reverse-DNS organisation\n"
    "       mailsec report list [options]         the stored reports\n"
    "       mailsec report show [options] ID      one report with its records\n"
    "       mailsec report export [options]       every record: --format csv (default) or json\n"
    "       mailsec report failures [options]     failure reports per domain, source and failure\n"
    "       mailsec report tls [options]          TLS reports: sessions, failures by type and MX\n\n";

/* sources: how many are shown by default, and at most (each is held in
 * memory, and named: --all streams instead). */
enum { SOURCES_LIMIT = 20, SOURCES_LIMIT_MAX = 100000 };
enum { DAY = 86400 };
/* Reverse DNS answers kept this long before they are asked again. */
enum { RDNS_MAX_AGE = 7 * DAY };

typedef struct view_args {
    const char *db;
    ms_store_filter filter; /* filter.domain: domain_key */
    char *domain_key;
    int csv;
    int csv_raw;
    int no_rdns;
    size_t limit; /* sources: the top N */
    int limit_given;
    int all;      /* sources: every one, streamed */
    json_t **others; /* sources: where the sums of the sources not shown go (NULL: nowhere) */
} view_args;

/* The dates a filter takes: from the first second after the epoch (0
 * would read as "no bound") to the end of year 9999. */
#define DATE_FIRST 1
#define DATE_LAST 253402300799LL /* 9999-12-31T23:59:59Z */

/* n decimal digits at text, all of them: their value, else -1. */
static long digits(const char *text, int n)
{
    long v = 0;
    for (int i = 0; i < n; i++) {
        if (text[i] < '0' || text[i] > '9')
            return -1;
        v = v * 10 + (text[i] - '0');
    }
    return v;
}

static int days_in_month(long year, long month)
{
    static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    return days[month - 1] + (month == 2 && leap);
}

/* Unix seconds, all digits, within the dates a filter takes. */
static int parse_unix_seconds(const char *text, int64_t *out)
{
    size_t n = strlen(text);
    if (n == 0 || n > 12 || strspn(text, "0123456789") != n)
        return 0;
    long long v = strtoll(text, NULL, 10);
    if (v < DATE_FIRST || v > DATE_LAST)
        return 0;
    *out = v;
    return 1;
}

/* DATE -> Unix seconds; *whole_day set for a bare YYYY-MM-DD. Strict: a
 * real calendar date (leap years counted), UTC, nothing before or after. */
static int parse_date(const char *text, int64_t *out, int *whole_day)
{
    *whole_day = 0;
    if (strchr(text, '-') == NULL)
        return parse_unix_seconds(text, out);
    size_t len = strlen(text);
    if ((len != 10 && len != 20) || text[4] != '-' || text[7] != '-')
        return 0;
    struct tm tm = {0};
    long year = digits(text, 4), month = digits(text + 5, 2), day = digits(text + 8, 2);
    long hour = 0, minute = 0, second = 0;
    if (len == 20) {
        if (text[10] != 'T' || text[13] != ':' || text[16] != ':' || text[19] != 'Z')
            return 0;
        hour = digits(text + 11, 2), minute = digits(text + 14, 2), second = digits(text + 17, 2);
    }
    if (year < 1970 || month < 1 || month > 12 || day < 1 || day > days_in_month(year, month) ||
        hour < 0 || hour > 23 || minute < 0 || minute > 59 || second < 0 || second > 59)
        return 0;
    tm.tm_year = (int)year - 1900;
    tm.tm_mon = (int)month - 1;
    tm.tm_mday = (int)day;
    tm.tm_hour = (int)hour;
    tm.tm_min = (int)minute;
    tm.tm_sec = (int)second;
    *out = (int64_t)timegm(&tm);
    *whole_day = len == 10;
    return *out >= DATE_FIRST;
}

static int view_option(void *arg, int opt, const char *value)
{
    view_args *a = arg;
    int whole_day;
    switch (opt) {
    case OPT_DB: a->db = value; return 1;
    case OPT_DOMAIN:
        free(a->domain_key);
        a->domain_key = NULL;
        if (ms_store_domain_key(value, &a->domain_key) != MS_OK)
            return 0;
        a->filter.domain = a->domain_key;
        return 1;
    case OPT_SINCE: return parse_date(value, &a->filter.since, &whole_day);
    case OPT_UNTIL:
        if (!parse_date(value, &a->filter.until, &whole_day))
            return 0;
        a->filter.until += whole_day ? DAY : 0;
        return 1;
    case OPT_FORMAT:
        a->csv = strcmp(value, "csv") == 0;
        return a->csv || strcmp(value, "json") == 0;
    case OPT_NO_RDNS: a->no_rdns = 1; return 1;
    case OPT_ALL: a->all = 1; return 1;
    case OPT_LIMIT: {
        unsigned long n;
        if (!cli_parse_uint(value, SOURCES_LIMIT_MAX, &n) || n == 0)
            return 0;
        a->limit = n;
        a->limit_given = 1;
        return 1;
    }
    case OPT_CSV_RAW: a->csv_raw = 1; return 1;
    }
    return CLI_OPTION_UNHANDLED;
}

static void format_time(int64_t t, char *buf, size_t len)
{
    time_t tt = (time_t)t;
    struct tm tm;
    if (t == 0 || gmtime_r(&tt, &tm) == NULL)
        snprintf(buf, len, "-");
    else
        strftime(buf, len, "%Y-%m-%d %H:%M", &tm);
}

/* part of whole in percent, at most 100 (the two may come from different
 * rows of a damaged store). */
static double percent(uint64_t part, uint64_t whole)
{
    if (whole == 0)
        return 0.0;
    return part >= whole ? 100.0 : 100.0 * (double)part / (double)whole;
}

/* A count as shown: a saturated one (MS_STORE_SUM_MAX, "at least this
 * many") with a "+". Used inline: count_text(n).s */
typedef struct count_str {
    char s[24];
} count_str;

static count_str count_text(uint64_t n)
{
    count_str t;
    snprintf(t.s, sizeof t.s, "%llu%s", (unsigned long long)n, n >= MS_STORE_SUM_MAX ? "+" : "");
    return t;
}

static json_t *json_counts(const ms_store_count *counts, size_t n)
{
    json_t *o = json_object();
    for (size_t i = 0; i < n; i++)
        json_object_set_new(o, counts[i].name ? counts[i].name : "", json_integer((json_int_t)counts[i].count));
    return o;
}

/* "none 1200, quarantine 4" */
static void print_counts(const cli_common *c, const char *label, const ms_store_count *counts, size_t n)
{
    if (n == 0)
        return;
    char line[512];
    size_t used = 0;
    for (size_t i = 0; i < n && used < sizeof line - 1; i++)
        used += (size_t)snprintf(line + used, sizeof line - used, "%s%s %s", i ? ", " : "",
                                 counts[i].name ? counts[i].name : "?", count_text(counts[i].count).s);
    out_field(c, label, "%s", line);
}

/* ---- summary ---- */

/* Under this share of DMARC passes a domain is not ready for enforcement. */
#define PASS_RATE_GOOD 98.0

static json_t *json_summary(const ms_store_domain_summary *d)
{
    return json_pack("{s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:o, s:o, s:o}", "domain", d->domain,
                     "reports", (json_int_t)d->reports, "messages", (json_int_t)d->messages,
                     "dmarc_pass", (json_int_t)d->dmarc_pass, "spf_aligned", (json_int_t)d->spf_aligned,
                     "dkim_aligned", (json_int_t)d->dkim_aligned, "first", (json_int_t)d->first,
                     "last", (json_int_t)d->last,
                     "dispositions", json_counts(d->dispositions, d->disposition_count),
                     "overrides", json_counts(d->overrides, d->override_count),
                     "reporters", json_counts(d->reporters, d->reporter_count));
}

static void print_summary(const cli_common *c, const ms_store_domain_summary *d)
{
    char first[32], last[32];
    format_time(d->first, first, sizeof first);
    format_time(d->last, last, sizeof last);
    out_heading(c, "%s", d->domain);
    out_field(c, "Reports", "%s, %s to %s UTC", count_text(d->reports).s, first, last);
    out_field(c, "Messages", "%s", count_text(d->messages).s);
    double pass = percent(d->dmarc_pass, d->messages);
    out_item(c, pass >= PASS_RATE_GOOD ? MS_SEV_INFO : MS_SEV_WARNING, "DMARC pass %.1f%% (%s)%s", pass,
             count_text(d->dmarc_pass).s,
             pass >= PASS_RATE_GOOD ? "" : ": see `mailsec report sources` for who fails");
    out_field(c, "Aligned SPF", "%.1f%% pass", percent(d->spf_aligned, d->messages));
    out_field(c, "Aligned DKIM", "%.1f%% pass", percent(d->dkim_aligned, d->messages));
    print_counts(c, "Dispositions", d->dispositions, d->disposition_count);
    print_counts(c, "Overrides", d->overrides, d->override_count);
    print_counts(c, "Reporters", d->reporters, d->reporter_count);
}

static int view_summary(const cli_common *c, ms_store *store, const view_args *a, cli_results *r)
{
    ms_store_domain_summary *rows = NULL;
    size_t n = 0;
    if (ms_store_summary(store, &a->filter, &rows, &n) != MS_OK)
        return -1;
    for (size_t i = 0; i < n; i++) {
        if (!c->json) {
            cli_results_separate(r);
            print_summary(c, &rows[i]);
        }
        cli_results_add(r, EXIT_CLEAN, c->json ? json_summary(&rows[i]) : NULL);
    }
    if (n == 0 && !c->json)
        out_text(c, "No aggregate reports stored%s.", a->filter.domain || a->filter.since || a->filter.until
                                                           ? " for this selection" : "");
    ms_store_summary_free(rows, n);
    return 0;
}

/* ---- sources ---- */

static json_t *json_strings(char *const *items, size_t n)
{
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(arr, json_string(items[i]));
    return arr;
}

static json_t *json_source(const ms_store_source *s, const ms_sources_verdict *v)
{
    json_t *o = json_pack("{s:s, s:s?, s:s?, s:I, s:I, s:I, s:I, s:s, s:o, s:o, s:o, s:o}", "source_ip",
                          s->source_ip, "rdns", s->rdns && *s->rdns ? s->rdns : NULL, "group", s->group,
                          "messages", (json_int_t)s->messages, "aligned", (json_int_t)s->aligned,
                          "unaligned", (json_int_t)s->unaligned, "failing", (json_int_t)s->failing,
                          "class", ms_sources_class_name(v->cls),
                          "signs", json_strings(v->signs, v->sign_count),
                          "spf_domains", json_strings(s->spf_domains, s->spf_domain_count),
                          "dkim_domains", json_strings(s->dkim_domains, s->dkim_domain_count),
                          "header_from", json_strings(s->header_froms, s->header_from_count));
    return o;
}

static ms_severity class_severity(ms_sources_class cls)
{
    switch (cls) {
    case MS_SOURCES_ALIGNED: return MS_SEV_INFO;
    case MS_SOURCES_SPOOFING: return MS_SEV_ERROR;
    default: return MS_SEV_WARNING;
    }
}

static void print_domains(const cli_common *c, const char *label, char *const *items, size_t n)
{
    char line[512];
    size_t used = 0;
    line[0] = '\0';
    for (size_t i = 0; i < n && used < sizeof line - 1; i++)
        used += (size_t)snprintf(line + used, sizeof line - used, "%s%s", i ? ", " : "", items[i]);
    if (n > 0)
        out_field(c, label, "%s", line);
}

static void print_source(const cli_common *c, const ms_store_source *s, const ms_sources_verdict *v)
{
    const char *name = s->rdns && *s->rdns ? s->rdns : "(no reverse DNS)";
    out_item(c, class_severity(v->cls), "%s %s: %s messages, %.0f%% pass DMARC: %s", s->source_ip, name,
             count_text(s->messages).s, percent(s->aligned, s->messages), ms_sources_class_name(v->cls));
    if (!c->verbose && v->cls == MS_SOURCES_ALIGNED)
        return;
    for (size_t i = 0; i < v->sign_count; i++)
        out_field(c, "Sign", "%s", v->signs[i]);
    print_domains(c, "SPF domains", s->spf_domains, s->spf_domain_count);
    print_domains(c, "DKIM domains", s->dkim_domains, s->dkim_domain_count);
    if (c->verbose)
        out_field(c, "Advice", "%s", ms_sources_class_advice(v->cls));
}

/* ---- the top sources, grouped ---- */

static char *dup_or_null(const char *s, int *oom)
{
    char *d = s ? strdup(s) : NULL;
    *oom |= s != NULL && d == NULL;
    return d;
}

static char **dup_strings(char *const *items, size_t n, int *oom)
{
    char **d = n ? calloc(n, sizeof *d) : NULL;
    *oom |= n > 0 && d == NULL;
    for (size_t i = 0; d && i < n; i++)
        d[i] = dup_or_null(items[i], oom);
    return d;
}

/* The sources shown, kept (at most --limit of them). */
typedef struct source_list {
    ms_store_source *rows;
    size_t count, cap;
    int oom;
} source_list;

static int keep_source(void *arg, const ms_store_source *s)
{
    source_list *l = arg;
    if (l->count == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 32;
        ms_store_source *p = realloc(l->rows, cap * sizeof *p);
        if (p == NULL) {
            l->oom = 1;
            return 1;
        }
        l->rows = p;
        l->cap = cap;
    }
    ms_store_source *d = &l->rows[l->count++];
    *d = *s;
    d->source_ip = dup_or_null(s->source_ip, &l->oom);
    d->rdns = dup_or_null(s->rdns, &l->oom);
    d->group = NULL;
    d->spf_domains = dup_strings(s->spf_domains, s->spf_domain_count, &l->oom);
    d->dkim_domains = dup_strings(s->dkim_domains, s->dkim_domain_count, &l->oom);
    d->header_froms = dup_strings(s->header_froms, s->header_from_count, &l->oom);
    return l->oom;
}

/* Reverse DNS for the sources shown, looked up (unless --no-rdns) and
 * read from the cache, and each one's group: its organisational domain. */
static void name_sources(const cli_common *c, ms_store *store, const view_args *a, ms_ctx *ctx,
                         source_list *l)
{
    const char **ips = calloc(l->count ? l->count : 1, sizeof *ips);
    size_t n = 0;
    for (size_t i = 0; ips && i < l->count; i++)
        if (l->rows[i].source_ip != NULL)
            ips[n++] = l->rows[i].source_ip;
    if (!a->no_rdns && ips && ms_sources_resolve(ctx, store, ips, n, RDNS_MAX_AGE) != MS_OK)
        fprintf(stderr, "mailsec report sources: reverse DNS lookups failed; using the cache\n");
    free(ips);
    for (size_t i = 0; i < l->count; i++) {
        ms_store_source *s = &l->rows[i];
        char *name = NULL;
        int64_t fetched;
        if (s->source_ip != NULL && ms_store_rdns_get(store, s->source_ip, &name, &fetched) == MS_OK &&
            name != NULL) {
            free(s->rdns);
            s->rdns = name;
        }
        if (s->rdns != NULL && s->rdns[0] != '\0')
            s->group = ms_sources_group_by_org(ctx, s->rdns);
    }
    (void)c;
}

/* The order of the sources shown: by group — the groups by their
 * messages (the sum of their sources'), then name, no group last — and
 * inside a group as the store gave them (messages, then IP). */
typedef struct ranked {
    const char *group;
    uint64_t group_messages;
    size_t index;
} ranked;

static int cmp_by_group(const void *a, const void *b)
{
    const ranked *x = a, *y = b;
    if ((x->group == NULL) != (y->group == NULL))
        return x->group == NULL ? 1 : -1;
    int c = x->group ? strcmp(x->group, y->group) : 0;
    return c ? c : (x->index > y->index) - (x->index < y->index);
}

static int cmp_ranked(const void *a, const void *b)
{
    const ranked *x = a, *y = b;
    if ((x->group == NULL) != (y->group == NULL))
        return x->group == NULL ? 1 : -1;
    if (x->group_messages != y->group_messages)
        return x->group_messages > y->group_messages ? -1 : 1;
    return cmp_by_group(a, b);
}

static ranked *rank_sources(const source_list *l)
{
    ranked *r = calloc(l->count ? l->count : 1, sizeof *r);
    if (r == NULL)
        return NULL;
    for (size_t i = 0; i < l->count; i++)
        r[i] = (ranked){l->rows[i].group, 0, i};
    qsort(r, l->count, sizeof *r, cmp_by_group);
    for (size_t start = 0, end; start < l->count; start = end) { /* each group's sum */
        uint64_t sum = 0;
        for (end = start; end < l->count && cmp_by_group(&(ranked){r[start].group, 0, 0},
                                                         &(ranked){r[end].group, 0, 0}) == 0; end++)
            sum = ms_store_sum(sum, l->rows[r[end].index].messages);
        for (size_t k = start; k < end; k++)
            r[k].group_messages = sum;
    }
    qsort(r, l->count, sizeof *r, cmp_ranked);
    return r;
}

/* The source's class and its evidence; when memory ran out the evidence is
 * incomplete: said on stderr, and the command cannot call its output checked. */
static int classify_source(const ms_store_source *s, ms_sources_verdict *v)
{
    if (ms_sources_classify(s, v) == MS_OK)
        return EXIT_CLEAN;
    fprintf(stderr, "mailsec report sources: out of memory: the evidence for %s is incomplete\n",
            s->source_ip ? s->source_ip : "a source");
    return EXIT_UNCHECKED;
}

static void show_source(const cli_common *c, cli_results *r, const ms_store_source *s)
{
    ms_sources_verdict v;
    int status = classify_source(s, &v);
    if (!c->json)
        print_source(c, s, &v);
    cli_results_add(r, status, c->json ? json_source(s, &v) : NULL);
    ms_sources_verdict_clear(&v);
}

static json_t *json_others(const ms_store_source_rest *o)
{
    return json_pack("{s:I, s:I, s:I, s:I, s:I}", "sources", (json_int_t)o->sources, "messages",
                     (json_int_t)o->messages, "aligned", (json_int_t)o->aligned, "unaligned",
                     (json_int_t)o->unaligned, "failing", (json_int_t)o->failing);
}

static void print_others(const cli_common *c, cli_results *r, const ms_store_source_rest *o)
{
    if (o->sources == 0)
        return;
    cli_results_separate(r);
    out_heading(c, "%s other sources", count_text(o->sources).s);
    out_text(c, "%s messages, %.0f%% pass DMARC (--limit N shows more, --all every one)",
             count_text(o->messages).s, percent(o->aligned, o->messages));
}

/* The top --limit sources, grouped by organisation, and the others summed. */
static int view_top_sources(const cli_common *c, ms_store *store, const view_args *a, cli_results *r)
{
    source_list l = {0};
    ms_store_source_rest others;
    ms_status st = ms_store_sources_top(store, &a->filter, a->limit, keep_source, &l, &others);
    ms_ctx *ctx = st == MS_OK && !l.oom ? cli_make_ctx(c) : NULL;
    ranked *order = NULL;
    if (ctx != NULL) {
        name_sources(c, store, a, ctx, &l);
        order = rank_sources(&l);
    }
    int rc = order != NULL ? 0 : -1;
    const char *group = NULL;
    for (size_t k = 0; rc == 0 && k < l.count; k++) {
        const ms_store_source *s = &l.rows[order[k].index];
        if (!c->json && (k == 0 || (group == NULL) != (s->group == NULL) ||
                         (group && s->group && strcmp(group, s->group) != 0))) {
            cli_results_separate(r);
            out_heading(c, "%s", s->group ? s->group : "Without reverse DNS");
        }
        group = s->group;
        show_source(c, r, s);
    }
    if (rc == 0 && !c->json)
        print_others(c, r, &others);
    if (rc == 0 && a->others != NULL)
        *a->others = json_others(&others);
    free(order);
    ms_ctx_free(ctx);
    ms_store_sources_free(l.rows, l.count);
    return rc;
}

/* The end of a streamed document: the verdict, and why it stopped when the
 * store failed. */
static void json_stream_end(cli_json_stream *js, ms_store *store, ms_status st)
{
    json_t *tail = json_object();
    if (st != MS_OK)
        json_object_set_new(tail, "error", json_str_or_null(ms_store_error(store)));
    cli_json_stream_end(js, tail, st == MS_OK ? EXIT_CLEAN : EXIT_UNCHECKED);
}

/* --all: every source by messages, each printed as it comes (memory
 * bounded by one source); the reverse DNS as cached. */
typedef struct all_sink {
    const cli_common *c;
    cli_results *r;
    ms_ctx *ctx;
    cli_json_stream js;
    int incomplete; /* a source's evidence could not be written in full */
} all_sink;

static int print_next_source(void *arg, const ms_store_source *source)
{
    all_sink *sink = arg;
    ms_store_source s = *source;
    s.group = s.rdns && s.rdns[0] ? ms_sources_group_by_org(sink->ctx, s.rdns) : NULL;
    ms_sources_verdict v;
    if (classify_source(&s, &v) != EXIT_CLEAN)
        sink->incomplete = 1;
    if (sink->c->json) {
        cli_json_stream_item(&sink->js, json_source(&s, &v));
    } else {
        cli_results_separate(sink->r);
        print_source(sink->c, &s, &v);
    }
    ms_sources_verdict_clear(&v);
    free(s.group);
    return ferror(stdout) != 0;
}

static int view_all_sources(const cli_common *c, ms_store *store, const view_args *a, cli_results *r)
{
    ms_ctx *ctx = cli_make_ctx(c);
    if (ctx == NULL)
        return -1;
    all_sink sink = {c, r, ctx, {0}, 0};
    if (c->json) { /* streamed: the document is written here, not collected */
        json_decref(r->array);
        r->array = NULL;
        cli_json_stream_begin(&sink.js, "report sources", NULL, "results");
    }
    ms_status st = ms_store_sources_top(store, &a->filter, 0, print_next_source, &sink, NULL);
    if (c->json)
        json_stream_end(&sink.js, store, st);
    ms_ctx_free(ctx);
    if (st != MS_OK && c->json)
        return -3; /* said already, in the document */
    if (st == MS_OK && sink.incomplete)
        cli_results_add(r, EXIT_UNCHECKED, NULL);
    return st == MS_OK ? 0 : -1;
}

static int view_sources(const cli_common *c, ms_store *store, const view_args *a, cli_results *r)
{
    return a->all ? view_all_sources(c, store, a, r) : view_top_sources(c, store, a, r);
}

/* ---- list and show ---- */

static json_t *json_report_row(const ms_store_report_row *h)
{
    return json_pack("{s:I, s:s, s:s?, s:s?, s:s?, s:I, s:I, s:I, s:I, s:I, s:s?}", "id", (json_int_t)h->id,
                     "kind", h->kind, "org", h->org, "report_id", h->report_id, "domain", h->domain,
                     "begin", (json_int_t)h->begin, "end", (json_int_t)h->end,
                     "records", (json_int_t)h->records, "messages", (json_int_t)h->messages,
                     "ingested_at", (json_int_t)h->ingested_at, "origin", h->origin);
}

static void print_report_row(const cli_common *c, const ms_store_report_row *h)
{
    char begin[32];
    format_time(h->begin, begin, sizeof begin);
    out_text(c, "%6lld  %-9s %s  %-24s %-28s %6s records %8s messages", (long long)h->id, h->kind, begin,
             h->domain ? h->domain : "-", h->org ? h->org : "-", count_text(h->records).s,
             count_text(h->messages).s);
}

static int view_list(const cli_common *c, ms_store *store, const view_args *a, cli_results *r)
{
    ms_store_report_row *rows = NULL;
    size_t n = 0;
    if (ms_store_list(store, &a->filter, &rows, &n) != MS_OK)
        return -1;
    for (size_t i = 0; i < n; i++) {
        if (!c->json)
            print_report_row(c, &rows[i]);
        cli_results_add(r, EXIT_CLEAN, c->json ? json_report_row(&rows[i]) : NULL);
    }
    ms_store_list_free(rows, n);
    return 0;
}

static json_t *json_record(const ms_store_record *x)
{
    return json_pack("{s:I, s:s?, s:I, s:s?, s:s?, s:s?, s:s?, s:s?, s:s?, s:s?, s:s?, s:s?, s:s?, s:s?, s:s?, "
                     "s:s?, s:s?, s:s?}",
                     "seq", (json_int_t)x->seq, "source_ip", x->source_ip, "count", (json_int_t)x->count,
                     "disposition", x->disposition, "dkim", x->dkim, "spf", x->spf, "reasons", x->reasons,
                     "envelope_to", x->envelope_to, "envelope_from", x->envelope_from,
                     "header_from", x->header_from, "dkim_domain", x->dkim_domain,
                     "dkim_selector", x->dkim_selector, "dkim_result", x->dkim_result,
                     "spf_domain", x->spf_domain, "spf_scope", x->spf_scope, "spf_result", x->spf_result,
                     "reason_comments", x->reason_comments, "auth_more", x->auth_more);
}

static json_t *json_show(const ms_store_report *rep)
{
    json_t *o = json_report_row(&rep->head);
    json_t *policy = json_pack("{s:s?, s:s?, s:s?, s:s?, s:s?, s:s?, s:s?, s:s?, s:s?}", "adkim", rep->adkim,
                               "aspf", rep->aspf, "p", rep->p, "sp", rep->sp, "np", rep->np, "pct", rep->pct,
                               "fo", rep->fo, "testing", rep->testing, "discovery_method", rep->discovery_method);
    json_object_set_new(o, "policy_published", policy);
    json_object_set_new(o, "notes", json_str_or_null(rep->notes));
    json_t *records = json_array();
    for (size_t i = 0; i < rep->record_count; i++)
        json_array_append_new(records, json_record(&rep->records[i]));
    json_object_set_new(o, "records", records);
    json_t *policies = json_array();
    for (size_t i = 0; i < rep->policy_count; i++) {
        const ms_store_tls_policy_row *p = &rep->policies[i];
        json_array_append_new(policies, json_pack("{s:s?, s:s?, s:I, s:I}", "policy_type", p->policy_type,
                                                  "policy_domain", p->policy_domain, "successful",
                                                  (json_int_t)p->successful, "failed", (json_int_t)p->failed));
    }
    json_object_set_new(o, "policies", policies);
    return o;
}

static void print_show(const cli_common *c, const ms_store_report *rep)
{
    const ms_store_report_row *h = &rep->head;
    char begin[32], end[32];
    format_time(h->begin, begin, sizeof begin);
    format_time(h->end, end, sizeof end);
    out_heading(c, "Report %lld: %s %s", (long long)h->id, h->kind, h->report_id ? h->report_id : "");
    out_field(c, "From", "%s%s%s%s", h->org ? h->org : "?", rep->email ? " <" : "", rep->email ? rep->email : "",
              rep->email ? ">" : "");
    out_field(c, "Domain", "%s", h->domain ? h->domain : "?");
    out_field(c, "Period", "%s to %s UTC", begin, end);
    if (rep->notes)
        out_field(c, "Note", "%s", rep->notes);
    if (rep->p)
        out_field(c, "Policy", "p=%s sp=%s adkim=%s aspf=%s%s%s", rep->p, rep->sp ? rep->sp : "-",
                  rep->adkim ? rep->adkim : "r", rep->aspf ? rep->aspf : "r", rep->pct ? " pct=" : "",
                  rep->pct ? rep->pct : "");
    out_field(c, "Origin", "%s", h->origin ? h->origin : "?");
    for (size_t i = 0; i < rep->record_count; i++) {
        const ms_store_record *x = &rep->records[i];
        int pass = (x->dkim && strcmp(x->dkim, "pass") == 0) || (x->spf && strcmp(x->spf, "pass") == 0);
        out_item(c, pass ? MS_SEV_INFO : MS_SEV_WARNING,
                 "%s x%s: DMARC %s (dkim %s, spf %s), %s; from %s, dkim %s=%s, spf %s=%s", x->source_ip,
                 count_text(x->count).s, pass ? "pass" : "fail", x->dkim ? x->dkim : "?",
                 x->spf ? x->spf : "?", x->disposition ? x->disposition : "?",
                 x->header_from ? x->header_from : "?", x->dkim_domain ? x->dkim_domain : "-",
                 x->dkim_result ? x->dkim_result : "-", x->spf_domain ? x->spf_domain : "-",
                 x->spf_result ? x->spf_result : "-");
    }
    for (size_t i = 0; i < rep->policy_count; i++) {
        const ms_store_tls_policy_row *p = &rep->policies[i];
        out_item(c, p->failed ? MS_SEV_WARNING : MS_SEV_INFO, "%s policy for %s: %s sessions ok, %s failed",
                 p->policy_type ? p->policy_type : "?", p->policy_domain ? p->policy_domain : "?",
                 count_text(p->successful).s, count_text(p->failed).s);
        for (size_t k = 0; k < p->failure_count; k++)
            out_field(c, "Failure", "%s at %s: %s sessions",
                      p->failures[k].result_type ? p->failures[k].result_type : "?",
                      p->failures[k].receiving_mx_hostname ? p->failures[k].receiving_mx_hostname : "?",
                      count_text(p->failures[k].failed_sessions).s);
    }
}

/* A report id: 1 to INT64_MAX, decimal digits only. */
static int parse_report_id(const char *text, int64_t *id)
{
    size_t n = strlen(text);
    if (n == 0 || n > 19 || strspn(text, "0123456789") != n)
        return 0;
    errno = 0;
    long long v = strtoll(text, NULL, 10);
    if (errno == ERANGE || v < 1)
        return 0;
    *id = v;
    return 1;
}

static int view_show(const cli_common *c, ms_store *store, int64_t id, cli_results *r)
{
    ms_store_report *rep = NULL;
    ms_status st = ms_store_show(store, id, &rep);
    if (st != MS_OK)
        return st == MS_ERR_INVALID ? -2 : -1; /* -2: no such report */
    if (!c->json)
        print_show(c, rep);
    cli_results_add(r, EXIT_CLEAN, c->json ? json_show(rep) : NULL);
    ms_store_report_free(rep);
    return 0;
}

/* ---- export ---- */

static const char EXPORT_CSV_HEADER[] =
    "report,org,report_id,domain,begin,end,source_ip,count,disposition,dkim,spf,reasons,envelope_to,"
    "envelope_from,header_from,dkim_domain,dkim_selector,dkim_result,spf_domain,spf_scope,spf_result\n";

static int export_csv_row(void *arg, const ms_store_report_row *h, const ms_store_record *x)
{
    const view_args *a = arg;
    char num[4][32];
    snprintf(num[0], sizeof num[0], "%lld", (long long)h->id);
    snprintf(num[1], sizeof num[1], "%lld", (long long)h->begin);
    snprintf(num[2], sizeof num[2], "%lld", (long long)h->end);
    snprintf(num[3], sizeof num[3], "%llu", (unsigned long long)x->count);
    const char *fields[] = {num[0], h->org, h->report_id, h->domain, num[1], num[2], x->source_ip, num[3],
                            x->disposition, x->dkim, x->spf, x->reasons, x->envelope_to, x->envelope_from,
                            x->header_from, x->dkim_domain, x->dkim_selector, x->dkim_result, x->spf_domain,
                            x->spf_scope, x->spf_result};
    size_t n = sizeof fields / sizeof fields[0];
    for (size_t i = 0; i < n; i++) {
        int number = fields[i] == num[0] || fields[i] == num[1] || fields[i] == num[2] || fields[i] == num[3];
        unsigned flags = (!a->csv_raw && !number ? CLI_CSV_GUARD : 0) | (i + 1 == n ? CLI_CSV_LAST : 0);
        cli_csv_field(stdout, fields[i], flags);
    }
    return cli_output_failed();
}

/* JSON export streams: the document is written piece by piece, so memory
 * stays flat however many records there are. */
static int export_json_row(void *arg, const ms_store_report_row *h, const ms_store_record *x)
{
    json_t *o = json_record(x);
    json_object_set_new(o, "report", json_integer((json_int_t)h->id));
    json_object_set_new(o, "org", json_str_or_null(h->org));
    json_object_set_new(o, "report_id", json_str_or_null(h->report_id));
    json_object_set_new(o, "domain", json_str_or_null(h->domain));
    json_object_set_new(o, "begin", json_integer((json_int_t)h->begin));
    json_object_set_new(o, "end", json_integer((json_int_t)h->end));
    cli_json_stream_item(arg, o);
    return cli_output_failed();
}

static int view_export(ms_store *store, const view_args *a)
{
    ms_status st;
    if (a->csv) {
        fputs(EXPORT_CSV_HEADER, stdout);
        st = ms_store_export(store, &a->filter, export_csv_row, (void *)a);
    } else {
        cli_json_stream js;
        cli_json_stream_begin(&js, "report export", NULL, "records");
        st = ms_store_export(store, &a->filter, export_json_row, &js);
        json_stream_end(&js, store, st);
    }
    return st == MS_OK ? 0 : -1;
}

/* ---- failure and TLS reports ---- */

static int view_failures(const cli_common *c, ms_store *store, const view_args *a, cli_results *r)
{
    ms_store_failure_row *rows = NULL;
    size_t n = 0;
    if (ms_store_failure_summary(store, &a->filter, &rows, &n) != MS_OK)
        return -1;
    if (!c->json && n > 0)
        out_heading(c, "Failure reports");
    for (size_t i = 0; i < n; i++) {
        const ms_store_failure_row *f = &rows[i];
        if (!c->json)
            out_item(c, MS_SEV_WARNING, "%s from %s: %s failed, %s incidents in %s reports",
                     f->domain ? f->domain : "?", f->source_ip ? f->source_ip : "?",
                     f->auth_failure ? f->auth_failure : "?", count_text(f->incidents).s,
                     count_text(f->reports).s);
        cli_results_add(r, EXIT_CLEAN,
                        c->json ? json_pack("{s:s?, s:s?, s:s?, s:I, s:I}", "domain", f->domain, "source_ip",
                                            f->source_ip, "auth_failure", f->auth_failure, "reports",
                                            (json_int_t)f->reports, "incidents", (json_int_t)f->incidents)
                                : NULL);
    }
    if (n == 0 && !c->json)
        out_text(c, "No failure reports stored.");
    ms_store_failure_summary_free(rows, n);
    return 0;
}

static json_t *json_tls_domain(const ms_store_tls_summary *s, const ms_store_tls_domain_row *d)
{
    json_t *failures = json_array();
    for (size_t k = 0; k < s->result_count; k++) {
        const ms_store_tls_result_row *x = &s->results[k];
        if (x->policy_domain && d->policy_domain && strcmp(x->policy_domain, d->policy_domain) == 0)
            json_array_append_new(failures, json_pack("{s:s?, s:s?, s:I}", "result_type", x->result_type,
                                                      "receiving_mx", x->receiving_mx, "sessions",
                                                      (json_int_t)x->sessions));
    }
    return json_pack("{s:s?, s:I, s:I, s:I, s:o}", "policy_domain", d->policy_domain, "reports",
                     (json_int_t)d->reports, "successful", (json_int_t)d->successful, "failed",
                     (json_int_t)d->failed, "failures", failures);
}

static void print_tls_domain(const cli_common *c, const ms_store_tls_summary *s, const ms_store_tls_domain_row *d)
{
    uint64_t total = ms_store_sum(d->successful, d->failed);
    out_heading(c, "%s", d->policy_domain ? d->policy_domain : "?");
    out_field(c, "Reports", "%s", count_text(d->reports).s);
    out_item(c, d->failed ? MS_SEV_WARNING : MS_SEV_INFO, "TLS sessions: %s, %.1f%% failed",
             count_text(total).s, percent(d->failed, total));
    for (size_t k = 0; k < s->result_count; k++) {
        const ms_store_tls_result_row *x = &s->results[k];
        if (x->policy_domain && d->policy_domain && strcmp(x->policy_domain, d->policy_domain) == 0)
            out_field(c, "Failure", "%s at %s: %s sessions", x->result_type ? x->result_type : "?",
                      x->receiving_mx ? x->receiving_mx : "?", count_text(x->sessions).s);
    }
}

static int view_tls(const cli_common *c, ms_store *store, const view_args *a, cli_results *r)
{
    ms_store_tls_summary s = {0};
    if (ms_store_tls_summary_get(store, &a->filter, &s) != MS_OK)
        return -1;
    for (size_t i = 0; i < s.domain_count; i++) {
        if (!c->json) {
            cli_results_separate(r);
            print_tls_domain(c, &s, &s.domains[i]);
        }
        cli_results_add(r, EXIT_CLEAN, c->json ? json_tls_domain(&s, &s.domains[i]) : NULL);
    }
    if (s.domain_count == 0 && !c->json)
        out_text(c, "No TLS reports stored.");
    ms_store_tls_summary_free(&s);
    return 0;
}

/* ---- dispatch ---- */

static int dispatch(const char *view, const cli_common *c, ms_store *store, const view_args *a,
                    int64_t id, cli_results *r)
{
    if (strcmp(view, "summary") == 0)
        return view_summary(c, store, a, r);
    if (strcmp(view, "sources") == 0)
        return view_sources(c, store, a, r);
    if (strcmp(view, "list") == 0)
        return view_list(c, store, a, r);
    if (strcmp(view, "show") == 0)
        return view_show(c, store, id, r);
    if (strcmp(view, "failures") == 0)
        return view_failures(c, store, a, r);
    return view_tls(c, store, a, r);
}

/* The views read the store read-only. sources also caches the reverse
 * DNS names it looks up, in the store when this user may write it; else
 * it uses the names cached already (as --no-rdns does), and says so. */
static ms_store *open_view_store(const char *command, const char *view, view_args *a,
                                 const cli_common *c)
{
    int export = strcmp(view, "export") == 0;
    int json = export ? !a->csv : c->json; /* export --format json is JSON too */
    ms_store *store = report_open(command, a->db, REPORT_STORE_READ, json, export ? "records" : "results");
    if (store == NULL || strcmp(view, "sources") != 0 || a->no_rdns)
        return store;
    return report_rdns_store(command, a->db, store, &a->no_rdns);
}

/* Runs the view; its exit status. On failure: a message, and with --json
 * the JSON document saying the view could not be computed. */
static int run_view(const char *command, const char *view, const cli_common *c, ms_store *store,
                    const view_args *a, int64_t id)
{
    if (strcmp(view, "export") == 0)
        return view_export(store, a) == 0 ? EXIT_CLEAN : EXIT_UNCHECKED;
    cli_results r;
    cli_results_begin(&r, c);
    int rc = dispatch(view, c, store, a, id, &r);
    if (rc == -3) /* failed, and said so in the document streamed */
        return EXIT_UNCHECKED;
    if (rc == 0 && r.array != NULL && a->others != NULL && *a->others != NULL) {
        json_t *doc = json_document(command); /* sources: with the others summed */
        json_object_set_new(doc, "results", r.array);
        json_object_set(doc, "others", *a->others);
        json_print(doc, r.worst);
        return r.worst;
    }
    if (rc == 0)
        return cli_results_end(&r, command);
    json_decref(r.array); /* what was collected before the failure is not the answer */
    r.array = NULL;
    json_t *text = rc == -2 ? json_sprintf("no report %lld", (long long)id)
                            : json_sprintf("the store failed: %s", ms_store_error(store));
    report_store_failed(command, c->json, "results", text ? json_string_value(text) : "the store failed");
    json_decref(text);
    return EXIT_UNCHECKED;
}

/* What follows the options: show's report id, nothing for the others.
 * -1 when they are right, else the exit status of the usage error. */
static int check_operands(const char *command, int argc, char **argv, int64_t *id)
{
    if (strcmp(argv[0], "show") != 0)
        return optind < argc ? cli_usage_error(command, "unexpected argument \"%s\"", argv[optind]) : -1;
    if (argc - optind != 1)
        return cli_usage_error(command, "give one report ID (see report list)");
    if (!parse_report_id(argv[optind], id))
        return cli_usage_error(command, "\"%s\" is not a report id: 1 to %lld (see report list)",
                               argv[optind], (long long)INT64_MAX);
    return -1;
}

int report_view_run(int argc, char **argv)
{
    char command[32];
    snprintf(command, sizeof command, "report %s", argv[0]);
    cli_common c;
    json_t *others = NULL;
    view_args a = {.csv = 1, .limit = SOURCES_LIMIT, .others = &others};
    int64_t id = 0;
    int status = cli_parse(argc, argv, &CLI_OPTIONS_report_views, VIEW_USAGE, command, &c,
                           view_option, &a);
    if (status < 0)
        status = check_operands(command, argc, argv, &id);
    if (status < 0 && (a.all || a.limit_given) && strcmp(argv[0], "sources") != 0)
        status = cli_usage_error(command, "--limit and --all are options of report sources");
    if (status >= 0) {
        free(a.domain_key);
        return status;
    }
    if (a.db == NULL)
        a.db = getenv("MAILSEC_DB");
    if (strcmp(argv[0], "export") == 0 && c.json)
        a.csv = 0;
    ms_store *store = open_view_store(command, argv[0], &a, &c);
    status = store ? run_view(command, argv[0], &c, store, &a, id) : EXIT_UNCHECKED;
    ms_store_close(store);
    free(a.domain_key);
    json_decref(others);
    return status;
}

/* ---- the dashboard's documents (mailsec serve) ---- */

int report_view_document(const char *view, ms_store *store, const ms_store_filter *filter, int64_t id,
                         json_t **doc)
{
    cli_common c;
    cli_common_init(&c);
    c.json = 1;
    json_t *others = NULL;
    view_args a = {.filter = *filter, .no_rdns = 1, .limit = SOURCES_LIMIT, .others = &others};
    cli_results r;
    cli_results_begin(&r, &c);
    int rc = dispatch(view, &c, store, &a, id, &r);
    if (rc != 0) {
        json_decref(r.array);
        json_decref(others);
        return rc;
    }
    char command[32];
    snprintf(command, sizeof command, "report %s", view);
    *doc = json_document(command);
    json_object_set_new(*doc, "results", r.array);
    if (others != NULL)
        json_object_set_new(*doc, "others", others);
    json_object_set_new(*doc, "result", json_string(r.worst == EXIT_CLEAN ? "ok" : "problems"));
    return 0;
}

int report_date_bound(const char *text, int until, int64_t *out)
{
    int whole_day;
    if (!parse_date(text, out, &whole_day))
        return 0;
    *out += until && whole_day ? DAY : 0;
    return 1;
}
