/* mailsec audit: one report per domain covering MX, SPF, DMARC, DKIM,
 * MTA-STS, TLS-RPT, BIMI and DNSSEC. Rendering only; lib/audit does the work. */
#include "cli.h"
#include "commands.h"
#include "audit_options.h"

#include "mailsec/audit.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

static const char USAGE[] =
    "Usage: mailsec audit [options] DOMAIN...\n"
    "       mailsec audit [options] -f FILE     (one domain per line; - for stdin)\n\n"
    "Checks everything about a mail domain: MX (hosts, addresses, null MX), SPF,\n"
    "DMARC, DKIM (the selectors given), MTA-STS (record, policy over HTTPS, MX\n"
    "coverage), TLS-RPT, BIMI and DNSSEC, and with --smtp-tls the TLS of every MX\n"
    "host's port 25 as `mailsec tls check --mx` checks it. Each area gets a grade:\n"
    "A (fine), B (warnings), F (errors), ? (could not check).\n\n";

enum { MAX_SELECTORS = 32, MAX_LINE = 1024, MAX_CONCURRENCY = 256, DEFAULT_CONCURRENCY = 8 };

typedef enum { FORMAT_TEXT, FORMAT_JSON, FORMAT_CSV } out_format;

typedef struct audit_args {
    cli_common common;
    out_format format;
    const char *file;
    const char *selectors[MAX_SELECTORS + 1];
    size_t selector_count;
    const char *https_ca;
    const char *connect_to[MAX_SELECTORS];
    size_t connect_to_count;
    int concurrency;
    int smtp_tls;
    unsigned smtp_port; /* 0: 25 */
    const char *ca_file;
} audit_args;

/* ---- rendering ---- */

static const char *AREA_LABELS[MS_AUDIT_AREA_COUNT] = {"MX",      "SPF",  "DMARC",  "DKIM",    "MTA-STS",
                                                       "TLS-RPT", "BIMI", "DNSSEC", "SMTP TLS"};

static void area_summary(const ms_audit_report *r, int area, char *buf, size_t size)
{
    buf[0] = '\0';
    switch (area) {
    case MS_AUDIT_MX:
        if (r->mx && r->mx->null_mx)
            snprintf(buf, size, "null MX: accepts no mail");
        else if (r->mx && r->mx->count > 0)
            snprintf(buf, size, "%zu host%s, first %s", r->mx->count, r->mx->count == 1 ? "" : "s",
                     r->mx->hosts[0].name);
        break;
    case MS_AUDIT_SPF:
        if (r->spf_record)
            snprintf(buf, size, "%s  (%u DNS lookups of 10)", r->spf_record, r->spf_lookups);
        break;
    case MS_AUDIT_DMARC: snprintf(buf, size, "%s", r->dmarc_record ? r->dmarc_record : ""); break;
    case MS_AUDIT_MTASTS:
        if (r->mtasts_policy)
            snprintf(buf, size, "mode %s, max_age %ld, %zu mx pattern(s)",
                     ms_audit_mtasts_mode_str(r->mtasts_policy->mode), r->mtasts_policy->max_age,
                     r->mtasts_policy->mx_count);
        break;
    case MS_AUDIT_TLSRPT: snprintf(buf, size, "%s", r->tlsrpt_record ? r->tlsrpt_record : ""); break;
    case MS_AUDIT_BIMI: snprintf(buf, size, "%s", r->bimi_record ? r->bimi_record : ""); break;
    }
}

static void print_text(const cli_common *c, const ms_audit_report *r)
{
    out_heading(c, "Audit of %s: grade %c", r->domain, r->grade);
    char summary[512];
    for (int i = 0; i < MS_AUDIT_AREA_COUNT; i++) {
        if (r->areas[i].skipped)
            continue;
        area_summary(r, i, summary, sizeof summary);
        out_field(c, AREA_LABELS[i], "%c  %s", r->areas[i].grade, summary);
    }
    ms_diag_list all = MS_DIAG_LIST_INIT;
    for (int i = 0; i < MS_AUDIT_AREA_COUNT; i++) {
        if (r->areas[i].skipped)
            continue;
        out_text(c, "\n%s", AREA_LABELS[i]);
        if (r->areas[i].diags.count == 0)
            out_ok(c, "no findings");
        out_diags(c, &r->areas[i].diags);
        for (size_t k = 0; k < r->areas[i].diags.count; k++)
            ms_diag_add(&all, r->areas[i].diags.items[k].def, NULL, -1, "%s", "");
    }
    out_summary(c, &all, 0);
    ms_diag_list_free(&all);
}

static json_t *json_report(const ms_audit_report *r, int status)
{
    json_t *areas = json_object();
    for (int i = 0; i < MS_AUDIT_AREA_COUNT; i++) {
        char g[2] = {r->areas[i].grade, '\0'};
        if (r->areas[i].skipped)
            continue;
        json_object_set_new(areas, ms_audit_area_name((ms_audit_area_id)i),
                            json_pack("{s:s, s:b, s:o}", "grade", g, "unchecked",
                                      r->areas[i].unchecked, "diagnostics",
                                      json_diags(&r->areas[i].diags)));
    }
    char g[2] = {r->grade, '\0'};
    json_t *o = json_pack("{s:s, s:s, s:s}", "domain", r->domain, "result", cli_verdict(status),
                          "grade", g);
    json_t *records = json_object();
    const char *texts[] = {r->spf_record, r->dmarc_record, r->tlsrpt_record, r->bimi_record, r->mtasts_id};
    const char *keys[] = {"spf", "dmarc", "tls_rpt", "bimi", "mta_sts_id"};
    for (int i = 0; i < 5; i++)
        json_object_set_new(records, keys[i], json_str_or_null(texts[i]));
    json_object_set_new(o, "records", records);
    json_object_set_new(o, "areas", areas);
    return o;
}

static void print_csv(const ms_audit_report *r)
{
    for (int i = 0; i < MS_AUDIT_AREA_COUNT; i++) {
        char g[2] = {r->areas[i].grade, '\0'};
        const ms_diag_list *l = &r->areas[i].diags;
        for (size_t k = 0; k < l->count; k++) {
            cli_csv_field(stdout, r->domain, CLI_CSV_GUARD);
            cli_csv_field(stdout, ms_audit_area_name((ms_audit_area_id)i), 0);
            cli_csv_field(stdout, g, 0);
            cli_csv_field(stdout, ms_severity_str(l->items[k].def->severity), 0);
            cli_csv_field(stdout, l->items[k].def->code, 0);
            cli_csv_field(stdout, l->items[k].location, CLI_CSV_GUARD);
            cli_csv_field(stdout, l->items[k].message, CLI_CSV_GUARD | CLI_CSV_LAST);
        }
    }
}

/* ---- running ---- */

static int report_status(const ms_audit_report *r)
{
    if (r->could_not_check)
        return EXIT_UNCHECKED;
    int problems = 0, unchecked = 0;
    for (int i = 0; i < MS_AUDIT_AREA_COUNT; i++) {
        problems |= ms_diag_count(&r->areas[i].diags, MS_SEV_ERROR) > 0 && !r->areas[i].unchecked;
        unchecked |= r->areas[i].unchecked;
    }
    return problems ? EXIT_PROBLEMS : unchecked ? EXIT_UNCHECKED : EXIT_CLEAN;
}

/* One domain's audit, run in a worker thread with the worker's context. */
typedef struct job {
    ms_ctx *ctx;
    const audit_args *args;
    const char *domain;
    ms_audit_report *report;
    ms_status status;
    pthread_t thread;
    int started;
} job;

static void *job_main(void *arg)
{
    job *j = arg;
    ms_audit_options opts = {.selectors = j->args->selector_count ? j->args->selectors : NULL,
                             .smtp_tls = j->args->smtp_tls,
                             .smtp_port = (uint16_t)j->args->smtp_port,
                             .ca_file = j->args->ca_file};
    j->status = ms_audit_domain(j->ctx, j->domain, &opts, &j->report);
    return NULL;
}

static void render(const audit_args *a, const job *j, cli_results *results)
{
    const ms_audit_report *r = j->report;
    if (j->status != MS_OK) {
        fprintf(stderr, "mailsec audit: %s: %s\n", j->domain, ms_status_str(j->status));
        cli_results_add(results, EXIT_UNCHECKED, NULL);
        return;
    }
    int status = report_status(r);
    json_t *obj = NULL;
    if (r->could_not_check)
        fprintf(stderr, "mailsec audit: \"%s\" is not a valid domain name\n", j->domain);
    else if (a->format == FORMAT_JSON)
        obj = json_report(r, status);
    else if (a->format == FORMAT_CSV)
        print_csv(r);
    else {
        cli_results_separate(results);
        print_text(&a->common, r);
    }
    cli_results_add(results, status, obj);
}

/* Audits the domains in groups of as many as there are workers, then
 * prints each group in input order. */
static void audit_all(job *workers, int nworkers, char **domains, size_t count,
                      cli_results *results)
{
    for (size_t done = 0; done < count;) {
        int n = 0;
        for (; n < nworkers && done + (size_t)n < count; n++) {
            workers[n].domain = domains[done + (size_t)n];
            workers[n].report = NULL;
            workers[n].status = MS_ERR_NOMEM;
            workers[n].started =
                pthread_create(&workers[n].thread, NULL, job_main, &workers[n]) == 0;
        }
        for (int i = 0; i < n; i++) {
            if (workers[i].started)
                pthread_join(workers[i].thread, NULL);
            render(workers[i].args, &workers[i], results);
            ms_audit_report_free(workers[i].report);
        }
        done += (size_t)n;
    }
}

/* The next domain of a list file: one per line, # comments, blanks skipped. */
static int next_domain(FILE *f, char *line, size_t size)
{
    while (fgets(line, (int)size, f)) {
        line[strcspn(line, "\r\n#")] = '\0';
        char *s = line;
        while (*s == ' ' || *s == '\t')
            s++;
        size_t n = strlen(s);
        while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
            s[--n] = '\0';
        if (n > 0) {
            memmove(line, s, n + 1);
            return 1;
        }
    }
    return 0;
}

typedef struct domain_list {
    char **items;
    size_t count;
} domain_list;

static int list_add(domain_list *l, const char *domain)
{
    char **grown = realloc(l->items, (l->count + 1) * sizeof *grown);
    if (grown == NULL)
        return 0;
    l->items = grown;
    return (l->items[l->count] = strdup(domain)) != NULL && ++l->count;
}

static void list_free(domain_list *l)
{
    for (size_t i = 0; i < l->count; i++)
        free(l->items[i]);
    free(l->items);
}

/* The domains of the arguments, then those of the file. */
static int collect_domains(const audit_args *a, char **args, int nargs, domain_list *l)
{
    for (int i = 0; i < nargs; i++)
        if (!list_add(l, args[i]))
            return 0;
    if (a->file == NULL)
        return 1;
    FILE *f = strcmp(a->file, "-") == 0 ? stdin : fopen(a->file, "r");
    if (f == NULL) {
        fprintf(stderr, "mailsec audit: cannot read %s\n", a->file);
        return 0;
    }
    char line[MAX_LINE];
    int ok = 1;
    while (ok && next_domain(f, line, sizeof line))
        ok = list_add(l, line);
    if (f != stdin)
        fclose(f);
    return ok;
}

static ms_ctx *make_ctx(const audit_args *a)
{
    ms_ctx *ctx = cli_make_ctx(&a->common);
    ms_status st = ctx && a->https_ca ? ms_ctx_set_https_ca(ctx, a->https_ca) : MS_OK;
    for (size_t i = 0; ctx && i < a->connect_to_count && st == MS_OK; i++)
        st = ms_ctx_add_https_connect_to(ctx, a->connect_to[i]);
    if (st != MS_OK) {
        ms_ctx_free(ctx);
        cli_usage_error("audit", "--https-connect-to takes HOST:PORT:HOST2:PORT2");
        return NULL;
    }
    return ctx;
}

static int run(const audit_args *a, char **args, int nargs)
{
    domain_list domains = {NULL, 0};
    ms_ctx *ctx = make_ctx(a);
    job *workers = calloc((size_t)a->concurrency, sizeof *workers);
    int ok = ctx != NULL && workers != NULL && collect_domains(a, args, nargs, &domains);
    for (int i = 0; ok && i < a->concurrency; i++) {
        workers[i].args = a;
        ok = ms_ctx_clone(ctx, &workers[i].ctx) == MS_OK;
    }
    cli_results results;
    cli_results_begin(&results, &a->common);
    if (ok && a->format == FORMAT_CSV)
        printf("domain,area,grade,severity,code,location,message\n");
    if (ok)
        audit_all(workers, a->concurrency, domains.items, domains.count, &results);
    for (int i = 0; workers != NULL && i < a->concurrency; i++)
        ms_ctx_free(workers[i].ctx);
    free(workers);
    list_free(&domains);
    ms_ctx_free(ctx);
    int status = cli_results_end(&results, "audit");
    return ok ? status : EXIT_UNCHECKED;
}

static int parse_format(const char *s, out_format *f)
{
    static const cli_name NAMES[] = {{"text", FORMAT_TEXT}, {"json", FORMAT_JSON}, {"csv", FORMAT_CSV},
                                     {NULL, 0}};
    int v = cli_name_value(s, NAMES, -1);
    if (v >= 0)
        *f = (out_format)v;
    return v >= 0;
}

static int audit_option(void *arg, int opt, const char *value)
{
    audit_args *a = arg;
    switch (opt) {
    case OPT_FILE: a->file = value; return 1;
    case OPT_FORMAT: return parse_format(value, &a->format);
    case OPT_HTTPS_CA: a->https_ca = value; return 1;
    case OPT_CONCURRENCY: {
        char *end;
        long n = strtol(value, &end, 10);
        a->concurrency = (int)n;
        return end != value && *end == '\0' && n >= 1 && n <= MAX_CONCURRENCY;
    }
    case OPT_SMTP_TLS: a->smtp_tls = 1; return 1;
    case OPT_SMTP_PORT: {
        unsigned long port;
        a->smtp_port = cli_parse_uint(value, 65535, &port) && port > 0 ? (unsigned)port : 0;
        return a->smtp_port > 0;
    }
    case OPT_CA: a->ca_file = value; return 1;
    case OPT_SELECTOR:
        if (a->selector_count == MAX_SELECTORS)
            return 0;
        a->selectors[a->selector_count++] = value;
        return 1;
    case OPT_HTTPS_CONNECT_TO:
        if (a->connect_to_count == MAX_SELECTORS)
            return 0;
        a->connect_to[a->connect_to_count++] = value;
        return 1;
    }
    return CLI_OPTION_UNHANDLED;
}

int cmd_audit(int argc, char **argv)
{
    audit_args a = {.concurrency = DEFAULT_CONCURRENCY};
    int done = cli_parse(argc, argv, &CLI_OPTIONS_audit, USAGE, "audit",
                         &a.common, audit_option, &a);
    if (done >= 0)
        return done;
    if (a.common.json)
        a.format = FORMAT_JSON;
    /* cli_results writes the JSON document; CSV rows are printed as they come */
    a.common.json = a.format == FORMAT_JSON;
    if (optind == argc && a.file == NULL)
        return cli_usage_error("audit", "which domain? e.g. mailsec audit example.com");
    return run(&a, argv + optind, argc - optind);
}
