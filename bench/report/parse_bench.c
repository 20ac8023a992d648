/* parse_bench: the aggregate report parser (lib/report/aggregate.c)
 * against bare expat on one big generated report, in memory, so only
 * parsing is timed (no I/O, no decompression).
 *
 *   parse_bench [MB [CHUNK_KB [ROUNDS [ROWS]]]]   defaults 200, 256, 3, all
 *
 * ROWS "expat" or "library" runs only those rows (for a profiler);
 * "stream" generates the report while feeding it, never holding it, and
 * prints the parser's peak RSS (try MB 1000 for the 1 GB report).
 *
 * The report is realistic in shape: varied IPv4/IPv6 sources, one to
 * three DKIM results, an SPF result, some reasons, indentation as the big
 * reporters write it. Times are CPU seconds of the parse (the generation
 * is not counted). Rows (the fastest of ROUNDS counts):
 *   expat, no handlers      XML_Parse in CHUNK_KB chunks: the floor
 *   expat, minimal handlers start/end/character handlers counting records
 *                           and copying leaf text, what any reader needs
 *   ms_report_agg_parser           the library, callbacks that count records
 * Build (from the source directory, against a build tree's library):
 *   cc -O2 -std=c17 -Iinclude bench/report/parse_bench.c -Lbuild/lib \
 *      -Wl,-rpath,$PWD/build/lib -lmailsec -lexpat -o parse_bench
 */
#define _POSIX_C_SOURCE 200809L
#include "mailsec/report.h"

#include <expat.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

typedef struct text {
    char *data;
    size_t len, cap;
} text;

static void put(text *t, const char *s, size_t n)
{
    if (t->len + n + 1 > t->cap) {
        t->cap = (t->len + n + 1) * 2;
        t->data = realloc(t->data, t->cap);
        if (t->data == NULL) {
            fprintf(stderr, "out of memory\n");
            exit(2);
        }
    }
    memcpy(t->data + t->len, s, n);
    t->len += n;
    t->data[t->len] = '\0';
}

__attribute__((format(printf, 2, 3))) static void putf(text *t, const char *fmt, ...)
{
    char buf[2048];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    put(t, buf, (size_t)n);
}

static void put_head(text *t)
{
    putf(t, "<?xml version=\"1.0\" encoding=\"UTF-8\" ?>\n<feedback>\n  <version>1.0</version>\n"
            "  <report_metadata>\n    <org_name>google.com</org_name>\n"
            "    <email>noreply-dmarc-support@google.com</email>\n"
            "    <extra_contact_info>https://support.google.com/a/answer/2466580</extra_contact_info>\n"
            "    <report_id>11208264947286415934</report_id>\n"
            "    <date_range>\n      <begin>1700006400</begin>\n      <end>1700092799</end>\n"
            "    </date_range>\n  </report_metadata>\n  <policy_published>\n"
            "    <domain>example.com</domain>\n    <adkim>r</adkim>\n    <aspf>r</aspf>\n"
            "    <p>quarantine</p>\n    <sp>quarantine</sp>\n    <pct>100</pct>\n"
            "    <np>quarantine</np>\n  </policy_published>\n");
}

/* One record, drawn from the generator state *x. */
static void put_record(text *t, unsigned *x)
{
    *x ^= *x << 13, *x ^= *x >> 17, *x ^= *x << 5;
    unsigned v = *x;
    char ip[64];
    if (v % 5 == 0)
        snprintf(ip, sizeof ip, "2001:db8:%x:%x::%x", v & 0xffff, (v >> 16) & 0xfff, v % 999);
    else
        snprintf(ip, sizeof ip, "%u.%u.%u.%u", 1 + v % 223, (v >> 8) & 255, (v >> 16) & 255,
                 1 + (v >> 24) % 254);
    int pass = v % 3 != 0;
    putf(t, "  <record>\n    <row>\n      <source_ip>%s</source_ip>\n      <count>%u</count>\n"
            "      <policy_evaluated>\n        <disposition>%s</disposition>\n"
            "        <dkim>%s</dkim>\n        <spf>%s</spf>\n",
         ip, 1 + v % 40, pass ? "none" : "quarantine", pass ? "pass" : "fail",
         v % 7 ? "pass" : "fail");
    if (v % 11 == 0)
        putf(t, "        <reason>\n          <type>forwarded</type>\n"
                "          <comment>looks forwarded</comment>\n        </reason>\n");
    putf(t, "      </policy_evaluated>\n    </row>\n    <identifiers>\n"
            "      <header_from>example.com</header_from>\n    </identifiers>\n"
            "    <auth_results>\n");
    for (unsigned d = 0; d < 1 + v % 3; d++)
        putf(t, "      <dkim>\n        <domain>%s</domain>\n        <selector>s%u</selector>\n"
                "        <result>%s</result>\n      </dkim>\n",
             d ? "esp.example.net" : "example.com", 2020 + d, pass ? "pass" : "fail");
    putf(t, "      <spf>\n        <domain>%s</domain>\n        <scope>mfrom</scope>\n"
            "        <result>%s</result>\n      </spf>\n    </auth_results>\n  </record>\n",
         v % 4 ? "example.com" : "bounce.esp.example.net", v % 7 ? "pass" : "softfail");
}

/* A report of about target bytes; returns the record count. */
static unsigned long generate(text *t, size_t target)
{
    put_head(t);
    unsigned long n = 0;
    unsigned x = 2463534242u;
    while (t->len < target) {
        put_record(t, &x);
        n++;
    }
    putf(t, "</feedback>\n");
    return n;
}

/* CPU seconds of this process: on a shared machine they move less than
 * the wall clock, and one thread parses, so they are the parse time. */
static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* ---- bare expat ----------------------------------------------------- */

typedef struct minimal {
    int depth;
    unsigned long records;
    char leaf[4097];
    size_t leaf_len;
} minimal;

static void XMLCALL m_start(void *arg, const XML_Char *name, const XML_Char **atts)
{
    minimal *m = arg;
    (void)atts;
    m->depth++;
    m->leaf_len = 0;
    if (m->depth == 2 && strcmp(name, "record") == 0)
        m->records++;
}

static void XMLCALL m_end(void *arg, const XML_Char *name)
{
    minimal *m = arg;
    (void)name;
    m->depth--;
}

static void XMLCALL m_text(void *arg, const XML_Char *s, int len)
{
    minimal *m = arg;
    if ((size_t)len > sizeof m->leaf - 1 - m->leaf_len)
        len = (int)(sizeof m->leaf - 1 - m->leaf_len);
    memcpy(m->leaf + m->leaf_len, s, (size_t)len);
    m->leaf_len += (size_t)len;
}

static double run_expat(const text *doc, size_t chunk, int handlers, unsigned long *records)
{
    minimal m = {0};
    XML_Parser xml = XML_ParserCreate(NULL);
    if (handlers) {
        XML_SetUserData(xml, &m);
        XML_SetElementHandler(xml, m_start, m_end);
        XML_SetCharacterDataHandler(xml, m_text);
    }
    double t0 = now();
    for (size_t at = 0; at < doc->len; at += chunk) {
        size_t n = doc->len - at < chunk ? doc->len - at : chunk;
        if (XML_Parse(xml, doc->data + at, (int)n, at + n == doc->len) != XML_STATUS_OK) {
            fprintf(stderr, "expat: %s\n", XML_ErrorString(XML_GetErrorCode(xml)));
            exit(2);
        }
    }
    double t = now() - t0;
    XML_ParserFree(xml);
    *records = m.records;
    return t;
}

/* ---- the library ---------------------------------------------------- */

static int on_begin(void *arg, const ms_report_agg_meta *meta)
{
    (void)arg;
    (void)meta;
    return 0;
}

static int on_record(void *arg, const ms_report_agg_record *r)
{
    unsigned long *n = arg;
    *n += r->count > 0;
    return 0;
}

static double run_library(const text *doc, size_t chunk, unsigned long *records)
{
    unsigned long n = 0;
    ms_report_agg_callbacks cb = {&n, on_begin, on_record};
    ms_report_agg_parser *p;
    ms_report_error err = {NULL, 0, 0, -1};
    ms_report_agg_parser_new(&cb, &p);
    double t0 = now();
    for (size_t at = 0; at < doc->len; at += chunk) {
        size_t len = doc->len - at < chunk ? doc->len - at : chunk;
        if (ms_report_agg_parser_feed(p, doc->data + at, len, &err) != MS_OK)
            break;
    }
    if (err.message == NULL)
        ms_report_agg_parser_finish(p, &err);
    double t = now() - t0;
    if (err.message != NULL) {
        fprintf(stderr, "ms_report_agg_parser: %s (line %ld)\n", err.message, err.line);
        exit(2);
    }
    *records = ms_report_agg_parser_records(p);
    ms_report_agg_parser_free(p);
    return t;
}

/* The report generated and fed a chunk at a time, never held whole: the
 * parser's peak memory on a report of any size (ROWS "stream"). */
static int stream(size_t mb, size_t chunk)
{
    unsigned long n = 0;
    ms_report_agg_callbacks cb = {&n, on_begin, on_record};
    ms_report_agg_parser *p;
    ms_report_error err = {NULL, 0, 0, -1};
    ms_report_agg_parser_new(&cb, &p);
    text t = {0};
    unsigned x = 2463534242u;
    size_t total = 0, target = mb * 1000 * 1000;
    unsigned long made = 0;
    put_head(&t);
    double t0 = now();
    while (total < target && err.message == NULL) {
        while (t.len < chunk) {
            put_record(&t, &x);
            made++;
        }
        total += t.len;
        ms_report_agg_parser_feed(p, t.data, t.len, &err);
        t.len = 0;
    }
    putf(&t, "</feedback>\n");
    if (err.message == NULL)
        ms_report_agg_parser_feed(p, t.data, t.len, &err);
    if (err.message == NULL)
        ms_report_agg_parser_finish(p, &err);
    double cpu = now() - t0;
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    printf("streamed %zu bytes, %lu records (%lu handed over), CPU %.1f s (generation included), "
           "peak RSS %ld KiB\n",
           total, made, (unsigned long)ms_report_agg_parser_records(p), cpu, ru.ru_maxrss);
    int ok = err.message == NULL && ms_report_agg_parser_records(p) == made;
    if (err.message != NULL)
        fprintf(stderr, "ms_report_agg_parser: %s\n", err.message);
    ms_report_agg_parser_free(p);
    free(t.data);
    return ok ? 0 : 1;
}

static void row(const char *name, double best, size_t bytes, unsigned long records)
{
    printf("| %-24s | %8.3f | %8.1f | %11.0f | %9lu |\n", name, best, bytes / best / 1e6,
           records / best, records);
}

int main(int argc, char **argv)
{
    size_t mb = argc > 1 ? strtoul(argv[1], NULL, 10) : 200;
    size_t chunk = (argc > 2 ? strtoul(argv[2], NULL, 10) : 256) * 1024;
    int rounds = argc > 3 ? atoi(argv[3]) : 3;
    const char *rows = argc > 4 ? argv[4] : "all";
    if (strcmp(rows, "stream") == 0)
        return stream(mb, chunk);
    int want_expat = strcmp(rows, "library") != 0, want_library = strcmp(rows, "expat") != 0;
    text doc = {0};
    unsigned long made = generate(&doc, mb * 1000 * 1000);
    printf("document: %zu bytes, %lu records, fed in %zu KiB chunks, best of %d rounds\n\n",
           doc.len, made, chunk / 1024, rounds);
    printf("| %-24s | %8s | %8s | %11s | %9s |\n", "parser", "CPU s", "MB/s", "records/s",
           "records");
    printf("| %-24s | %8s | %8s | %11s | %9s |\n", "---", "---", "---", "---", "---");
    double best[3] = {1e30, 1e30, 1e30};
    unsigned long recs[3] = {made, 0, 0};
    for (int r = 0; r < rounds; r++) {
        unsigned long n;
        double t;
        if (want_expat) {
            t = run_expat(&doc, chunk, 0, &n);
            best[0] = t < best[0] ? t : best[0];
            t = run_expat(&doc, chunk, 1, &recs[1]);
            best[1] = t < best[1] ? t : best[1];
        }
        if (want_library) {
            t = run_library(&doc, chunk, &recs[2]);
            best[2] = t < best[2] ? t : best[2];
        }
    }
    if (want_expat) {
        row("expat, no handlers", best[0], doc.len, recs[0]);
        row("expat, minimal handlers", best[1], doc.len, recs[1]);
    }
    if (want_library)
        row("ms_report_agg_parser", best[2], doc.len, recs[2]);
    if (want_expat && want_library)
        printf("\nms_agg_parser at %.0f%% of bare expat's throughput\n", 100 * best[0] / best[2]);
    free(doc.data);
    return !want_library || recs[2] == made ? 0 : 1;
}
