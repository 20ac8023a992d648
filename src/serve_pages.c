/* mailsec serve: the pages. Each reads the store through the same views
 * as the command line (report_view_document: the documents /api/ serves)
 * or the time series of the rollups (ms_store_daily and friends), and
 * writes HTML; every string from a report goes through serve_html.h. */
#include "report_views.h"
#include "serve.h"
#include "serve_html.h"
#include "serve_svg.h"

#include "mailsec/sources.h"

#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zlib.h>

enum { DAY = 86400 };
/* Rows a table shows at most; the JSON under /api/ has them all. */
enum { TABLE_ROWS_MAX = 500 };
/* The original of a failure report shown at most (bytes, decompressed). */
enum { ORIGINAL_MAX = 256 * 1024 };

/* ---- small pieces ---- */

static const char *jstr(const json_t *o, const char *key)
{
    return json_string_value(json_object_get(o, key));
}

static unsigned long long jnum(const json_t *o, const char *key)
{
    json_int_t v = json_integer_value(json_object_get(o, key));
    return v > 0 ? (unsigned long long)v : 0;
}

static double percent(double part, double whole)
{
    return whole > 0 ? fmin(100.0 * part / whole, 100.0) : 0.0;
}

static void put_time(FILE *out, int64_t t)
{
    char buf[32];
    time_t tt = (time_t)t;
    struct tm tm;
    if (t == 0 || gmtime_r(&tt, &tm) == NULL || strftime(buf, sizeof buf, "%Y-%m-%d %H:%M", &tm) == 0)
        fputs("-", out);
    else
        fputs(buf, out);
}

/* "?domain=D&since=S&until=U" for a link to another page with the same
 * selection (inside an href); domain NULL: without the domain. */
static void put_selection(FILE *out, const serve_query *q, const char *domain)
{
    const char *sep = "?";
    if (domain) {
        fputs("?domain=", out);
        html_url_value_s(out, domain);
        sep = "&amp;";
    }
    if (q->since) {
        fprintf(out, "%ssince=", sep);
        html_url_value_s(out, q->since);
        sep = "&amp;";
    }
    if (q->until) {
        fprintf(out, "%suntil=", sep);
        html_url_value_s(out, q->until);
    }
}

static void page_begin(FILE *out, const char *title, const char *path, const serve_query *q)
{
    fputs("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
          "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
          "<link rel=\"stylesheet\" href=\"/static/style.css\"><link rel=\"icon\" href=\"/static/icon.svg\">"
          "<title>", out);
    html_text_s(out, title);
    fputs(" - mailsec</title></head><body><header><nav><a class=\"brand\" href=\"/", out);
    put_selection(out, q, NULL);
    fputs("\">mailsec</a> <a href=\"/", out);
    put_selection(out, q, NULL);
    fputs("\">Overview</a> <a href=\"/failures", out);
    put_selection(out, q, q->filter.domain);
    fputs("\">Failure reports</a> <a href=\"/tls", out);
    put_selection(out, q, q->filter.domain);
    fputs("\">TLS reports</a></nav>", out);
    /* The selection, in the URL: a form needs no script. */
    fputs("<form method=\"get\" action=\"", out);
    html_attr_s(out, path);
    fputs("\"><label>Domain <input name=\"domain\" value=\"", out);
    html_attr_s(out, q->filter.domain);
    fputs("\" placeholder=\"all\"></label> <label>From <input type=\"date\" name=\"since\" value=\"", out);
    html_attr_s(out, q->since);
    fputs("\"></label> <label>To <input type=\"date\" name=\"until\" value=\"", out);
    html_attr_s(out, q->until);
    fputs("\"></label>", out);
    if (q->ip) {
        fputs("<input type=\"hidden\" name=\"ip\" value=\"", out);
        html_attr_s(out, q->ip);
        fputs("\">", out);
    }
    fputs(" <button>Show</button></form></header><main><h1>", out);
    html_text_s(out, title);
    fputs("</h1>", out);
}

/* api: the /api/ view with the page's data (NULL: none). */
static void page_end(FILE *out, const char *api, const serve_query *q)
{
    fputs("</main><footer>", out);
    if (api) {
        fprintf(out, "As JSON: <a href=\"/api/%s", api);
        put_selection(out, q, q->filter.domain);
        fprintf(out, "\">/api/%s</a>. ", api);
    }
    fputs("Times are UTC. Everything shown comes from reports that anyone can send.</footer></body></html>\n", out);
}

int page_error(FILE *out, int status, const char *message)
{
    serve_query none = {0};
    char title[32];
    snprintf(title, sizeof title, "Error %d", status);
    page_begin(out, title, "/", &none);
    fputs("<p class=\"error\">", out);
    html_text_s(out, message);
    fputs("</p>", out);
    page_end(out, NULL, &none);
    return status;
}

static int store_failed(FILE *out, ms_store *store)
{
    char message[512];
    snprintf(message, sizeof message, "The store failed: %s", ms_store_error(store));
    return page_error(out, 500, message);
}

/* "name 12, other 3" from a {name: count} object (by count, as the views
 * give them), the first max of them, then how many more there are. */
static void put_counts(FILE *out, const json_t *counts, size_t max)
{
    const char *name;
    json_t *v;
    size_t shown = 0;
    json_object_foreach((json_t *)counts, name, v) {
        if (shown == max)
            break;
        fputs(shown ? ", " : "", out);
        html_text_s(out, name);
        fprintf(out, " %lld", (long long)json_integer_value(v));
        shown++;
    }
    if (json_object_size(counts) > shown)
        fprintf(out, " and %zu more", json_object_size(counts) - shown);
    if (shown == 0)
        fputs("-", out);
}

/* How many rows of array a table shows: TABLE_ROWS_MAX at the most. */
static size_t shown_rows(const json_t *array)
{
    size_t n = json_array_size(array);
    return n < TABLE_ROWS_MAX ? n : TABLE_ROWS_MAX;
}

/* A table cell of text, escaped (nothing for NULL). */
static void text_cell(FILE *out, const char *text)
{
    fputs("<td>", out);
    html_text_s(out, text);
    fputs("</td>", out);
}

static void put_strings(FILE *out, const json_t *array)
{
    size_t i;
    json_t *v;
    json_array_foreach(array, i, v) {
        fputs(i ? ", " : "", out);
        html_text_s(out, json_string_value(v));
    }
    if (json_array_size(array) == 0)
        fputs("-", out);
}

/* ---- the time series ---- */

/* The daily rows summed over the domains into chart buckets. */
typedef struct series {
    int64_t first_day;
    int bucket_days;
    size_t buckets;
    double *pass, *fail, *rate, *none, *quarantine, *reject;
    double *messages; /* per bucket, for the rate */
} series;

static void series_free(series *s)
{
    free(s->pass), free(s->fail), free(s->rate), free(s->none), free(s->quarantine), free(s->reject);
    free(s->messages);
    memset(s, 0, sizeof *s);
}

static int series_from_daily(series *s, const ms_store_day_row *rows, size_t n)
{
    memset(s, 0, sizeof *s);
    if (n == 0)
        return 1;
    int64_t first = rows[0].day, last = rows[0].day;
    for (size_t i = 1; i < n; i++)
        first = rows[i].day < first ? rows[i].day : first, last = rows[i].day > last ? rows[i].day : last;
    s->first_day = first;
    s->bucket_days = chart_bucket_days(first, last);
    s->buckets = (size_t)((last - first) / DAY / s->bucket_days + 1);
    double **arrays[] = {&s->pass, &s->fail, &s->rate, &s->none, &s->quarantine, &s->reject, &s->messages};
    for (size_t k = 0; k < sizeof arrays / sizeof arrays[0]; k++)
        if ((*arrays[k] = calloc(s->buckets, sizeof(double))) == NULL)
            return 0;
    for (size_t i = 0; i < n; i++) {
        size_t b = (size_t)((rows[i].day - first) / DAY / s->bucket_days);
        double pass = (double)rows[i].dmarc_pass, messages = (double)rows[i].messages;
        s->pass[b] += fmin(pass, messages);
        s->fail[b] += messages - fmin(pass, messages);
        s->messages[b] += messages;
        s->none[b] += (double)rows[i].none;
        s->quarantine[b] += (double)rows[i].quarantine;
        s->reject[b] += (double)rows[i].reject;
    }
    for (size_t b = 0; b < s->buckets; b++)
        s->rate[b] = s->messages[b] > 0 ? percent(s->pass[b], s->messages[b]) : NAN;
    return 1;
}

static void chart_volume(FILE *out, const series *s, const chart_marker *markers, size_t marker_count)
{
    chart_series bars[] = {{"DMARC pass", "pass", s->pass}, {"DMARC fail", "fail", s->fail}};
    chart c = {"Messages, by DMARC result", "messages", s->first_day, s->bucket_days, s->buckets,
               bars, 2, 1, 0, markers, marker_count};
    svg_chart(out, &c);
}

static void chart_rate(FILE *out, const series *s, const chart_marker *markers, size_t marker_count)
{
    chart_series line[] = {{"DMARC pass rate", "rate", s->rate}};
    chart c = {"DMARC pass rate", "% of messages", s->first_day, s->bucket_days, s->buckets,
               line, 1, 0, 100, markers, marker_count};
    svg_chart(out, &c);
}

static void chart_dispositions(FILE *out, const series *s)
{
    chart_series bars[] = {{"none", "none", s->none}, {"quarantine", "quarantine", s->quarantine},
                           {"reject", "reject", s->reject}};
    chart c = {"Disposition applied by the receivers", "messages", s->first_day, s->bucket_days, s->buckets,
               bars, 3, 1, 0, NULL, 0};
    svg_chart(out, &c);
}

/* ---- the published policy ---- */

/* "p=reject sp=none pct=100": the policy of a history row. */
static void format_policy(const ms_store_policy_row *p, char *buf, size_t len)
{
    snprintf(buf, len, "p=%s%s%s%s%s%s%s", p->p ? p->p : "?", p->sp ? " sp=" : "", p->sp ? p->sp : "",
             p->pct ? " pct=" : "", p->pct ? p->pct : "", p->testing ? " t=" : "", p->testing ? p->testing : "");
}

/* The row of domain with the latest end, or NULL. */
static const ms_store_policy_row *latest_policy(const ms_store_policy_row *rows, size_t n, const char *domain)
{
    const ms_store_policy_row *best = NULL;
    for (size_t i = 0; i < n; i++)
        if (rows[i].domain && strcmp(rows[i].domain, domain) == 0 && (best == NULL || rows[i].last > best->last))
            best = &rows[i];
    return best;
}

/* The DMARC pass rate of the later half of the domain's days minus the
 * earlier half's, in points; NAN when a half has no messages. */
static double pass_trend(const ms_store_day_row *rows, size_t n, const char *domain)
{
    int64_t first = INT64_MAX, last = INT64_MIN;
    for (size_t i = 0; i < n; i++)
        if (strcmp(rows[i].domain, domain) == 0)
            first = rows[i].day < first ? rows[i].day : first, last = rows[i].day > last ? rows[i].day : last;
    double pass[2] = {0, 0}, all[2] = {0, 0};
    int64_t middle = first + (last - first) / 2;
    for (size_t i = 0; i < n; i++) {
        if (strcmp(rows[i].domain, domain) != 0)
            continue;
        int half = rows[i].day > middle;
        pass[half] += (double)rows[i].dmarc_pass;
        all[half] += (double)rows[i].messages;
    }
    return all[0] > 0 && all[1] > 0 ? percent(pass[1], all[1]) - percent(pass[0], all[0]) : NAN;
}

/* ---- overview ---- */

static void overview_row(FILE *out, const serve_query *q, const json_t *d, const ms_store_day_row *days,
                         size_t day_count, const ms_store_policy_row *policies, size_t policy_count)
{
    const char *domain = jstr(d, "domain");
    unsigned long long messages = jnum(d, "messages");
    fputs("<tr><td><a href=\"/domain", out);
    put_selection(out, q, domain);
    fputs("\">", out);
    html_text_s(out, domain);
    fprintf(out, "</a></td><td class=\"num\">%llu</td><td class=\"num\">%llu</td><td class=\"num\">%.1f%%</td>",
            messages, jnum(d, "reports"), percent((double)jnum(d, "dmarc_pass"), (double)messages));
    double trend = domain ? pass_trend(days, day_count, domain) : NAN;
    if (isnan(trend))
        fputs("<td class=\"num\">-</td>", out);
    else
        fprintf(out, "<td class=\"num %s\">%+.1f pts</td>", trend < 0 ? "down" : "up", trend);
    const ms_store_policy_row *p = domain ? latest_policy(policies, policy_count, domain) : NULL;
    char policy[256] = "-";
    if (p)
        format_policy(p, policy, sizeof policy);
    text_cell(out, policy);
    fputs("<td>", out);
    put_counts(out, json_object_get(d, "reporters"), 5);
    fputs("</td></tr>", out);
}

int page_overview(FILE *out, ms_store *store, const serve_query *q)
{
    json_t *doc = NULL;
    ms_store_day_row *days = NULL;
    size_t day_count = 0, policy_count = 0;
    ms_store_policy_row *policies = NULL;
    if (report_view_document("summary", store, &q->filter, 0, &doc) != 0 ||
        ms_store_daily(store, &q->filter, &days, &day_count) != MS_OK ||
        ms_store_policy_history(store, &q->filter, &policies, &policy_count) != MS_OK) {
        json_decref(doc);
        ms_store_daily_free(days, day_count);
        return store_failed(out, store);
    }
    page_begin(out, "DMARC overview", "/", q);
    series s;
    if (series_from_daily(&s, days, day_count)) {
        fputs("<section class=\"charts\">", out);
        chart_volume(out, &s, NULL, 0);
        chart_rate(out, &s, NULL, 0);
        fputs("</section>", out);
    }
    series_free(&s);
    const json_t *results = json_object_get(doc, "results");
    fputs("<h2>Domains</h2>", out);
    if (json_array_size(results) == 0) {
        fputs("<p>No aggregate reports stored for this selection.</p>", out);
    } else {
        fputs("<table><thead><tr><th>Domain</th><th>Messages</th><th>Reports</th><th>DMARC pass</th>"
              "<th>Trend</th><th>Policy published</th><th>Reporters (messages)</th></tr></thead><tbody>", out);
        for (size_t i = 0; i < shown_rows(results); i++) {
            const json_t *d = json_array_get(results, i);
            overview_row(out, q, d, days, day_count, policies, policy_count);
        }
        fputs("</tbody></table>", out);
        fputs("<p class=\"note\">Trend: the DMARC pass rate of the later half of the days shown minus the "
              "earlier half's.</p>", out);
    }
    page_end(out, "summary", q);
    json_decref(doc);
    ms_store_daily_free(days, day_count);
    ms_store_policy_history_free(policies, policy_count);
    return 200;
}

/* ---- a domain ---- */

static void domain_summary(FILE *out, const json_t *d)
{
    unsigned long long messages = jnum(d, "messages");
    fputs("<dl class=\"facts\">", out);
    fprintf(out, "<dt>Messages</dt><dd>%llu in %llu reports</dd>", messages, jnum(d, "reports"));
    fprintf(out, "<dt>DMARC pass</dt><dd>%.1f%%</dd><dt>Aligned SPF</dt><dd>%.1f%%</dd>"
                 "<dt>Aligned DKIM</dt><dd>%.1f%%</dd>",
            percent((double)jnum(d, "dmarc_pass"), (double)messages),
            percent((double)jnum(d, "spf_aligned"), (double)messages),
            percent((double)jnum(d, "dkim_aligned"), (double)messages));
    fputs("<dt>Dispositions</dt><dd>", out);
    put_counts(out, json_object_get(d, "dispositions"), TABLE_ROWS_MAX);
    fputs("</dd><dt>Overrides</dt><dd>", out);
    put_counts(out, json_object_get(d, "overrides"), TABLE_ROWS_MAX);
    fputs("</dd><dt>Reporters (messages)</dt><dd>", out);
    put_counts(out, json_object_get(d, "reporters"), TABLE_ROWS_MAX);
    fputs("</dd></dl>", out);
}

static void policy_table(FILE *out, const ms_store_policy_row *rows, size_t n)
{
    fputs("<h2>Policy published</h2><table><thead><tr><th>Policy</th><th>adkim</th><th>aspf</th>"
          "<th>First seen</th><th>Last seen</th><th>Reports</th><th>Reporters</th></tr></thead><tbody>", out);
    for (size_t i = 0; i < n; i++) {
        char policy[256];
        format_policy(&rows[i], policy, sizeof policy);
        fputs("<tr>", out);
        text_cell(out, policy);
        text_cell(out, rows[i].adkim ? rows[i].adkim : "r");
        text_cell(out, rows[i].aspf ? rows[i].aspf : "r");
        fputs("<td>", out);
        put_time(out, rows[i].first);
        fputs("</td><td>", out);
        put_time(out, rows[i].last);
        fprintf(out, "</td><td class=\"num\">%llu</td><td class=\"num\">%llu</td></tr>",
                (unsigned long long)rows[i].reports, (unsigned long long)rows[i].reporters);
    }
    fputs("</tbody></table>", out);
}

/* others: the sums over the sources not listed (the sources document's
 * "others"; NULL or none: every source is listed). */
static void sources_table(FILE *out, const serve_query *q, const json_t *results, const json_t *others)
{
    fputs("<h2>Sending sources</h2>", out);
    if (json_array_size(results) == 0) {
        fputs("<p>No sources in this selection.</p>", out);
        return;
    }
    fputs("<table><thead><tr><th>Source</th><th>Reverse DNS</th><th>Messages</th><th>DMARC pass</th>"
          "<th>Class</th><th>Evidence</th><th>SPF domains</th><th>DKIM domains</th></tr></thead><tbody>", out);
    for (size_t i = 0; i < shown_rows(results); i++) {
        const json_t *s = json_array_get(results, i);
        const char *ip = jstr(s, "source_ip");
        if (ip == NULL)
            continue; /* a line that sums the rest */
        fputs("<tr><td><a href=\"/source", out);
        put_selection(out, q, q->filter.domain);
        fputs(q->filter.domain || q->since || q->until ? "&amp;ip=" : "?ip=", out);
        html_url_value_s(out, ip);
        fputs("\">", out);
        html_text_s(out, ip);
        fputs("</a></td><td>", out);
        html_text_s(out, jstr(s, "rdns") ? jstr(s, "rdns") : "-");
        unsigned long long messages = jnum(s, "messages");
        fprintf(out, "</td><td class=\"num\">%llu</td><td class=\"num\">%.0f%%</td><td class=\"class-", messages,
                percent((double)jnum(s, "aligned"), (double)messages));
        html_attr_s(out, jstr(s, "class"));
        fputs("\">", out);
        html_text_s(out, jstr(s, "class"));
        fputs("</td>", out);
        static const char *const LISTS[] = {"signs", "spf_domains", "dkim_domains"};
        for (size_t k = 0; k < sizeof LISTS / sizeof LISTS[0]; k++) {
            fputs("<td>", out);
            put_strings(out, json_object_get(s, LISTS[k]));
            fputs("</td>", out);
        }
        fputs("</tr>", out);
    }
    fputs("</tbody></table>", out);
    if (jnum(others, "sources") > 0)
        fprintf(out, "<p class=\"note\">And %llu other sources sending %llu messages (%llu aligned, %llu "
                     "unaligned, %llu failing); <code>mailsec report sources --all</code> lists every one.</p>",
                jnum(others, "sources"), jnum(others, "messages"), jnum(others, "aligned"),
                jnum(others, "unaligned"), jnum(others, "failing"));
}

/* The days the policy changed, as chart markers (labels point into rows). */
static chart_marker *policy_markers(const ms_store_policy_row *rows, size_t n, char (*labels)[256])
{
    chart_marker *m = calloc(n ? n : 1, sizeof *m);
    for (size_t i = 0; m && i < n; i++) {
        format_policy(&rows[i], labels[i], sizeof labels[i]);
        m[i].day = rows[i].first - rows[i].first % DAY;
        m[i].label = labels[i];
    }
    return m;
}

int page_domain(FILE *out, ms_store *store, const serve_query *q)
{
    if (q->filter.domain == NULL)
        return page_error(out, 400, "Which domain? Add ?domain=example.com");
    json_t *summary = NULL, *sources = NULL;
    ms_store_day_row *days = NULL;
    ms_store_policy_row *policies = NULL;
    size_t day_count = 0, policy_count = 0;
    if (report_view_document("summary", store, &q->filter, 0, &summary) != 0 ||
        report_view_document("sources", store, &q->filter, 0, &sources) != 0 ||
        ms_store_daily(store, &q->filter, &days, &day_count) != MS_OK ||
        ms_store_policy_history(store, &q->filter, &policies, &policy_count) != MS_OK) {
        json_decref(summary), json_decref(sources);
        ms_store_daily_free(days, day_count);
        return store_failed(out, store);
    }
    page_begin(out, q->filter.domain, "/domain", q);
    const json_t *d = json_array_get(json_object_get(summary, "results"), 0);
    if (d == NULL)
        fputs("<p>No aggregate reports stored for this domain in this selection.</p>", out);
    else
        domain_summary(out, d);
    size_t shown = policy_count < 64 ? policy_count : 64;
    char(*labels)[256] = calloc(shown ? shown : 1, sizeof *labels);
    chart_marker *markers = labels ? policy_markers(policies, shown, labels) : NULL;
    series s;
    if (series_from_daily(&s, days, day_count)) {
        fputs("<section class=\"charts\">", out);
        chart_volume(out, &s, markers, markers ? shown : 0);
        chart_rate(out, &s, markers, markers ? shown : 0);
        chart_dispositions(out, &s);
        fputs("</section>", out);
    }
    series_free(&s);
    free(markers);
    free(labels);
    policy_table(out, policies, policy_count);
    sources_table(out, q, json_object_get(sources, "results"), json_object_get(sources, "others"));
    page_end(out, "sources", q);
    json_decref(summary), json_decref(sources);
    ms_store_daily_free(days, day_count);
    ms_store_policy_history_free(policies, policy_count);
    return 200;
}

/* ---- a source ---- */

typedef struct source_find {
    const char *ip;
    FILE *out;
    int found;
} source_find;

static void put_list(FILE *out, const char *label, char *const *items, size_t n)
{
    fprintf(out, "<dt>%s</dt><dd>", label);
    for (size_t i = 0; i < n; i++) {
        fputs(i ? ", " : "", out);
        html_text_s(out, items[i]);
    }
    fputs(n ? "</dd>" : "-</dd>", out);
}

/* Writes the facts of the source with this IP when it comes by. */
static int source_facts(void *arg, const ms_store_source *s)
{
    source_find *f = arg;
    if (s->source_ip == NULL || strcmp(s->source_ip, f->ip) != 0)
        return 0;
    ms_sources_verdict v;
    /* out of memory: the class stands, the evidence below may be short */
    (void)ms_sources_classify(s, &v);
    FILE *out = f->out;
    fputs("<dl class=\"facts\"><dt>Reverse DNS</dt><dd>", out);
    html_text_s(out, s->rdns && *s->rdns ? s->rdns : "-");
    fprintf(out, "</dd><dt>Messages</dt><dd>%llu: %llu aligned, %llu unaligned, %llu failing</dd>",
            (unsigned long long)s->messages, (unsigned long long)s->aligned, (unsigned long long)s->unaligned,
            (unsigned long long)s->failing);
    fputs("<dt>Class</dt><dd>", out);
    html_text_s(out, ms_sources_class_name(v.cls));
    fputs(": ", out);
    html_text_s(out, ms_sources_class_advice(v.cls));
    fputs("</dd>", out);
    put_list(out, "Evidence", v.signs, v.sign_count);
    put_list(out, "SPF domains", s->spf_domains, s->spf_domain_count);
    put_list(out, "DKIM domains", s->dkim_domains, s->dkim_domain_count);
    put_list(out, "Header From", s->header_froms, s->header_from_count);
    fputs("</dl>", out);
    ms_sources_verdict_clear(&v);
    f->found = 1;
    return 1;
}

static int source_chart(FILE *out, const ms_store_source_day *rows, size_t n)
{
    if (n == 0)
        return 1;
    int64_t first = rows[0].day, last = rows[n - 1].day;
    int bucket_days = chart_bucket_days(first, last);
    size_t buckets = (size_t)((last - first) / DAY / bucket_days + 1);
    double *v = calloc(3 * buckets, sizeof *v);
    if (v == NULL)
        return 0;
    for (size_t i = 0; i < n; i++) {
        size_t b = (size_t)((rows[i].day - first) / DAY / bucket_days);
        v[b] += (double)rows[i].aligned;
        v[buckets + b] += (double)rows[i].unaligned;
        v[2 * buckets + b] += (double)rows[i].failing;
    }
    chart_series bars[] = {{"aligned", "pass", v}, {"unaligned", "unaligned", v + buckets},
                           {"failing", "fail", v + 2 * buckets}};
    chart c = {"Messages from this source", "messages", first, bucket_days, buckets, bars, 3, 1, 0, NULL, 0};
    fputs("<section class=\"charts\">", out);
    svg_chart(out, &c);
    fputs("</section>", out);
    free(v);
    return 1;
}

int page_source(FILE *out, ms_store *store, const serve_query *q)
{
    if (q->ip == NULL)
        return page_error(out, 400, "Which source? Add ?ip=192.0.2.1");
    ms_store_source_day *days = NULL;
    size_t day_count = 0;
    if (ms_store_source_daily(store, &q->filter, q->ip, &days, &day_count) != MS_OK)
        return store_failed(out, store);
    char title[96];
    snprintf(title, sizeof title, "Source %s", q->ip);
    page_begin(out, title, "/source", q);
    source_chart(out, days, day_count);
    source_find f = {q->ip, out, 0};
    if (ms_store_sources_top(store, &q->filter, 0, source_facts, &f, NULL) != MS_OK)
        fputs("<p class=\"error\">The store failed while reading the source.</p>", out);
    else if (!f.found)
        fputs("<p>This address sent nothing in this selection.</p>", out);
    page_end(out, "sources", q);
    ms_store_source_daily_free(days, day_count);
    return 200;
}

/* ---- failure reports ---- */

/* The newest reports of one kind in the selection, at most limit (more:
 * whether there are others): a page of the store's list, so the memory
 * is the page's whatever the store holds. */
typedef struct newest {
    ms_store_report_row *rows;
    size_t count, shown;
    int more;
} newest;

static int newest_reports(ms_store *store, const serve_query *q, const char *kind, size_t limit,
                          newest *n)
{
    ms_store_list_page page = {.kind = kind, .offset = 0, .limit = limit + 1};
    *n = (newest){0};
    if (ms_store_list_newest(store, &q->filter, &page, &n->rows, &n->count) != MS_OK)
        return -1;
    n->more = n->count > limit;
    n->shown = n->more ? limit : n->count;
    return 0;
}

/* What the page of one kind of report shows: the view's document (the
 * page's summary table) and the newest reports of the kind. */
typedef struct kind_page {
    json_t *doc;
    newest list;
} kind_page;

/* Reads both: 0, or -1 (nothing held) when the store failed. */
static int kind_page_read(ms_store *store, const serve_query *q, const char *view, const char *kind,
                          size_t limit, kind_page *k)
{
    k->doc = NULL;
    if (report_view_document(view, store, &q->filter, 0, &k->doc) != 0)
        return -1;
    if (newest_reports(store, q, kind, limit, &k->list) != 0) {
        json_decref(k->doc);
        return -1;
    }
    return 0;
}

static void report_rows(FILE *out, const newest *n);

/* Ends the summary table and the page with the newest reports (at most
 * TABLE_ROWS_MAX of them: a chart may have read more), then frees k. */
static int kind_page_end(FILE *out, kind_page *k, const char *name, const serve_query *q)
{
    fputs("</tbody></table><h2>Reports, newest first</h2>", out);
    newest table = k->list;
    if (table.shown > TABLE_ROWS_MAX)
        table.shown = TABLE_ROWS_MAX, table.more = 1;
    report_rows(out, &table);
    page_end(out, name, q);
    json_decref(k->doc);
    ms_store_list_free(k->list.rows, k->list.count);
    return 200;
}

static void report_rows(FILE *out, const newest *n)
{
    fputs("<table><thead><tr><th>Report</th><th>Received from</th><th>Domain</th><th>Date</th>"
          "<th>Identifier</th></tr></thead><tbody>", out);
    for (size_t i = 0; i < n->shown; i++) {
        const ms_store_report_row *r = &n->rows[i];
        fprintf(out, "<tr><td><a href=\"/report?id=%lld\">%lld</a></td>", (long long)r->id, (long long)r->id);
        text_cell(out, r->org ? r->org : "-");
        text_cell(out, r->domain ? r->domain : "-");
        fputs("<td>", out);
        put_time(out, r->begin);
        fputs("</td>", out);
        text_cell(out, r->report_id);
        fputs("</tr>", out);
    }
    fputs("</tbody></table>", out);
    if (n->shown == 0)
        fputs("<p>None in this selection.</p>", out);
    if (n->more)
        fprintf(out, "<p class=\"note\">The newest %zu reports of this selection are shown: narrow"
                     " it by domain or dates for older ones.</p>", n->shown);
}

int page_failures(FILE *out, ms_store *store, const serve_query *q)
{
    kind_page k;
    if (kind_page_read(store, q, "failures", "failure", TABLE_ROWS_MAX, &k) != 0)
        return store_failed(out, store);
    page_begin(out, "Failure reports", "/failures", q);
    fputs("<h2>By domain, source and failure</h2><table><thead><tr><th>Domain</th><th>Source</th>"
          "<th>Failed</th><th>Incidents</th><th>Reports</th></tr></thead><tbody>", out);
    const json_t *rows = json_object_get(k.doc, "results");
    for (size_t i = 0; i < shown_rows(rows); i++) {
        const json_t *f = json_array_get(rows, i);
        fputs("<tr>", out);
        text_cell(out, jstr(f, "domain"));
        text_cell(out, jstr(f, "source_ip"));
        text_cell(out, jstr(f, "auth_failure"));
        fprintf(out, "<td class=\"num\">%llu</td><td class=\"num\">%llu</td></tr>", jnum(f, "incidents"),
                jnum(f, "reports"));
    }
    return kind_page_end(out, &k, "failures", q);
}

/* ---- one report ---- */

/* The original, decompressed as it is read, at most ORIGINAL_MAX bytes. */
typedef struct original {
    z_stream z;
    char *text;
    size_t len;
    int failed, full;
} original;

static int original_chunk(void *arg, const void *gz, size_t len)
{
    original *o = arg;
    o->z.next_in = (Bytef *)gz;
    o->z.avail_in = (uInt)len;
    while (o->z.avail_in > 0 && !o->full) {
        o->z.next_out = (Bytef *)o->text + o->len;
        o->z.avail_out = (uInt)(ORIGINAL_MAX - o->len);
        int rc = inflate(&o->z, Z_NO_FLUSH);
        o->len = ORIGINAL_MAX - o->z.avail_out;
        o->full = o->len == ORIGINAL_MAX;
        if (rc == Z_STREAM_END) {
            /* Several gzip members follow each other (a resumed stream). */
            if (inflateReset(&o->z) != Z_OK)
                return 1;
        } else if (rc != Z_OK && rc != Z_BUF_ERROR) {
            o->failed = 1;
            return 1;
        }
        if (rc == Z_BUF_ERROR)
            break;
    }
    return o->full;
}

static void show_original(FILE *out, ms_store *store, int64_t id)
{
    original o = {.text = malloc(ORIGINAL_MAX)};
    if (o.text == NULL || inflateInit2(&o.z, 15 + 32) != Z_OK) {
        free(o.text);
        return;
    }
    ms_status st = ms_store_raw_read(store, id, original_chunk, &o);
    inflateEnd(&o.z);
    fputs("<h2>The report as received</h2>", out);
    if (st != MS_OK || o.failed)
        fputs("<p class=\"error\">The original could not be read.</p>", out);
    fputs("<pre class=\"original\">", out);
    html_text(out, o.text, o.len);
    fputs("</pre>", out);
    if (o.full)
        fprintf(out, "<p class=\"note\">Only the first %d KiB are shown.</p>", ORIGINAL_MAX / 1024);
    free(o.text);
}

static void records_table(FILE *out, const json_t *records)
{
    if (json_array_size(records) == 0)
        return;
    fputs("<h2>Records</h2><table><thead><tr><th>Source</th><th>Count</th><th>Disposition</th><th>DKIM</th>"
          "<th>SPF</th><th>Header From</th><th>DKIM domain</th><th>SPF domain</th></tr></thead><tbody>", out);
    for (size_t i = 0; i < shown_rows(records); i++) {
        const json_t *x = json_array_get(records, i);
        const char *fields[] = {jstr(x, "disposition"), jstr(x, "dkim"), jstr(x, "spf"), jstr(x, "header_from"),
                                jstr(x, "dkim_domain"), jstr(x, "spf_domain")};
        fputs("<tr>", out);
        text_cell(out, jstr(x, "source_ip"));
        fprintf(out, "<td class=\"num\">%llu</td>", jnum(x, "count"));
        for (size_t k = 0; k < sizeof fields / sizeof fields[0]; k++)
            text_cell(out, fields[k] ? fields[k] : "-");
        fputs("</tr>", out);
    }
    fputs("</tbody></table>", out);
}

int page_report(FILE *out, ms_store *store, const serve_query *q)
{
    if (q->id == 0)
        return page_error(out, 400, "Which report? Add ?id=N");
    json_t *doc = NULL;
    int rc = report_view_document("show", store, &q->filter, q->id, &doc);
    if (rc == -2)
        return page_error(out, 404, "No such report.");
    if (rc != 0)
        return store_failed(out, store);
    const json_t *r = json_array_get(json_object_get(doc, "results"), 0);
    char title[64];
    snprintf(title, sizeof title, "Report %lld", (long long)q->id);
    page_begin(out, title, "/report", q);
    fputs("<dl class=\"facts\"><dt>Kind</dt><dd>", out);
    html_text_s(out, jstr(r, "kind"));
    fputs("</dd><dt>From</dt><dd>", out);
    html_text_s(out, jstr(r, "org") ? jstr(r, "org") : "-");
    fputs("</dd><dt>Identifier</dt><dd>", out);
    html_text_s(out, jstr(r, "report_id") ? jstr(r, "report_id") : "-");
    fputs("</dd><dt>Domain</dt><dd>", out);
    html_text_s(out, jstr(r, "domain") ? jstr(r, "domain") : "-");
    fputs("</dd><dt>Period</dt><dd>", out);
    put_time(out, (int64_t)jnum(r, "begin"));
    fputs(" to ", out);
    put_time(out, (int64_t)jnum(r, "end"));
    fputs("</dd><dt>Origin</dt><dd>", out);
    html_text_s(out, jstr(r, "origin") ? jstr(r, "origin") : "-");
    fputs("</dd></dl>", out);
    records_table(out, json_object_get(r, "records"));
    if (jstr(r, "kind") && strcmp(jstr(r, "kind"), "failure") == 0)
        show_original(out, store, q->id);
    fprintf(out, "<p><a href=\"/api/show?id=%lld\">As JSON</a></p>", (long long)q->id);
    page_end(out, NULL, q);
    json_decref(doc);
    return 200;
}

/* ---- SMTP TLS reports ---- */

/* The TLS charts read each report's policies: the newest this many of
 * the selection at most (the chart says so when there are more). */
enum { TLS_CHART_REPORTS = 1000 };
/* Result types drawn apart; the others are summed as "other". */
enum { TLS_TYPES_SHOWN = 4, TLS_TYPES_MAX = 32 };

/* Sessions per bucket: successful, failed, and failed by result type. */
typedef struct tls_series {
    int64_t first;
    int bucket_days;
    size_t buckets;
    double *ok, *failed, *by_type[TLS_TYPES_MAX + 1]; /* [TLS_TYPES_MAX]: other */
    char *type_names[TLS_TYPES_MAX];
    double type_total[TLS_TYPES_MAX + 1];
    size_t type_count;
} tls_series;

static size_t tls_type_index(tls_series *t, const char *name)
{
    name = name ? name : "?";
    for (size_t k = 0; k < t->type_count; k++)
        if (strcmp(t->type_names[k], name) == 0)
            return k;
    if (t->type_count == TLS_TYPES_MAX || (t->type_names[t->type_count] = strdup(name)) == NULL)
        return TLS_TYPES_MAX;
    return t->type_count++;
}

static void tls_add_report(tls_series *t, const ms_store_report *rep)
{
    size_t b = (size_t)((rep->head.begin / DAY * DAY - t->first) / DAY / t->bucket_days);
    for (size_t i = 0; i < rep->policy_count; i++) {
        const ms_store_tls_policy_row *p = &rep->policies[i];
        t->ok[b] += (double)p->successful;
        t->failed[b] += (double)p->failed;
        for (size_t k = 0; k < p->failure_count; k++) {
            size_t type = tls_type_index(t, p->failures[k].result_type);
            t->by_type[type][b] += (double)p->failures[k].failed_sessions;
            t->type_total[type] += (double)p->failures[k].failed_sessions;
        }
    }
}

static void tls_series_free(tls_series *t)
{
    free(t->ok), free(t->failed);
    for (size_t k = 0; k <= TLS_TYPES_MAX; k++)
        free(t->by_type[k]);
    for (size_t k = 0; k < t->type_count; k++)
        free(t->type_names[k]);
}

static void tls_draw(FILE *out, tls_series *t)
{
    chart_series sessions[] = {{"successful", "pass", t->ok}, {"failed", "fail", t->failed}};
    chart c = {"TLS sessions reported", "sessions", t->first, t->bucket_days, t->buckets, sessions, 2, 1, 0, NULL, 0};
    svg_chart(out, &c);
    /* The result types with the most failed sessions, then the rest. */
    static const char *const CLASSES[] = {"t0", "t1", "t2", "t3"};
    chart_series types[TLS_TYPES_SHOWN + 1];
    size_t shown = 0;
    int taken[TLS_TYPES_MAX] = {0};
    while (shown < TLS_TYPES_SHOWN && shown < t->type_count) {
        size_t best = 0;
        for (size_t k = 1; k < t->type_count; k++)
            if (taken[best] || (!taken[k] && t->type_total[k] > t->type_total[best]))
                best = k;
        taken[best] = 1;
        types[shown] = (chart_series){t->type_names[best], CLASSES[shown], t->by_type[best]};
        shown++;
    }
    double *other = t->by_type[TLS_TYPES_MAX];
    int any_other = t->type_total[TLS_TYPES_MAX] > 0;
    for (size_t k = 0; k < t->type_count; k++)
        if (!taken[k])
            for (size_t b = 0; b < t->buckets; b++)
                other[b] += t->by_type[k][b], any_other = 1;
    if (any_other)
        types[shown++] = (chart_series){"other", "t4", other};
    chart f = {"Failed sessions, by result type", "sessions", t->first, t->bucket_days, t->buckets, types, shown,
               1, 0, NULL, 0};
    svg_chart(out, &f);
}

/* The charts of the newest TLS reports of the selection (reports: at
 * most TLS_CHART_REPORTS, newest first). */
static void tls_chart(FILE *out, ms_store *store, const newest *reports)
{
    size_t n = reports->shown;
    int more = reports->more;
    int64_t first = INT64_MAX, last = INT64_MIN;
    for (size_t k = 0; k < n; k++) {
        int64_t day = reports->rows[k].begin / DAY * DAY;
        first = day < first ? day : first, last = day > last ? day : last;
    }
    tls_series t = {.first = first};
    int ok = n > 0;
    if (ok) {
        t.bucket_days = chart_bucket_days(first, last);
        t.buckets = (size_t)((last - first) / DAY / t.bucket_days + 1);
        ok = (t.ok = calloc(t.buckets, sizeof(double))) && (t.failed = calloc(t.buckets, sizeof(double)));
        for (size_t k = 0; ok && k <= TLS_TYPES_MAX; k++)
            ok = (t.by_type[k] = calloc(t.buckets, sizeof(double))) != NULL;
    }
    for (size_t i = 0; ok && i < n; i++) {
        ms_store_report *rep = NULL;
        if (ms_store_show(store, reports->rows[i].id, &rep) == MS_OK) {
            tls_add_report(&t, rep);
            ms_store_report_free(rep);
        }
    }
    if (ok) {
        fputs("<section class=\"charts\">", out);
        tls_draw(out, &t);
        fputs("</section>", out);
        if (more)
            fprintf(out, "<p class=\"note\">The charts show the newest %d reports of this selection.</p>",
                    TLS_CHART_REPORTS);
    }
    tls_series_free(&t);
}

int page_tls(FILE *out, ms_store *store, const serve_query *q)
{
    kind_page k;
    if (kind_page_read(store, q, "tls", "tls", TLS_CHART_REPORTS, &k) != 0)
        return store_failed(out, store);
    page_begin(out, "SMTP TLS reports", "/tls", q);
    tls_chart(out, store, &k.list);
    fputs("<table><thead><tr><th>Policy domain</th><th>Reports</th><th>Sessions</th><th>Failed</th>"
          "<th>Failures by result type and MX</th></tr></thead><tbody>", out);
    const json_t *rows = json_object_get(k.doc, "results");
    for (size_t i = 0; i < shown_rows(rows); i++) {
        const json_t *d = json_array_get(rows, i);
        unsigned long long ok = jnum(d, "successful"), failed = jnum(d, "failed");
        fputs("<tr><td>", out);
        html_text_s(out, jstr(d, "policy_domain"));
        fprintf(out, "</td><td class=\"num\">%llu</td><td class=\"num\">%llu</td><td class=\"num\">%.1f%%</td><td>",
                jnum(d, "reports"), ok + failed, percent((double)failed, (double)(ok + failed)));
        size_t j;
        json_t *x;
        json_array_foreach(json_object_get(d, "failures"), j, x) {
            fputs(j ? "<br>" : "", out);
            html_text_s(out, jstr(x, "result_type"));
            fputs(" at ", out);
            html_text_s(out, jstr(x, "receiving_mx") ? jstr(x, "receiving_mx") : "?");
            fprintf(out, ": %llu", jnum(x, "sessions"));
        }
        fputs("</td></tr>", out);
    }
    return kind_page_end(out, &k, "tls", q);
}
