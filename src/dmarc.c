/* mailsec dmarc: check, generate and plan DMARC records. Argument parsing
 * and rendering only; lib/dmarc does the work. */
#include "cli.h"
#include "commands.h"
#include "dmarc_options.h"
#include "dmarc_publish.h"
#include "report_views.h"

#include "mailsec/dmarc.h"
#include "mailsec/dns.h"
#include "mailsec/sources.h"
#include "mailsec/store.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char GROUP_USAGE[] =
    "Usage: mailsec dmarc <command> [options]\n\n"
    "Commands:\n"
    "  check DOMAIN...              look up, check and explain a domain's DMARC record\n"
    "  check --record TEXT [--domain D]  check a record's text without DNS\n"
    "  generate --domain D --policy P [...]  write a record (or zone line) from flags\n"
    "  plan --domain D --rua URI    the staged roll-out p=none -> quarantine -> reject\n"
    "  publish DOMAIN --record TEXT --server ADDR --tsig-key FILE  publish a record\n"
    "                               (a TSIG-signed dynamic update of the zone's primary)\n"
    "  advise [DOMAIN...]           the plan step the reports say a domain is on, and the next\n\n"
    "'mailsec dmarc <command> --help' for a command's options.\n";

static const char CHECK_USAGE[] =
    "Usage: mailsec dmarc check [options] DOMAIN...\n"
    "       mailsec dmarc check [options] --record TEXT [--domain DOMAIN]\n\n"
    "Looks up _dmarc.DOMAIN, checks the record against RFC 9989 (and what RFC 7489\n"
    "receivers still do), explains it tag by tag, walks the DNS tree as RFC 9989\n"
    "receivers do and compares with the Public Suffix List of RFC 7489, and verifies\n"
    "external report destinations (<domain>._report._dmarc.<destination>, MX).\n\n";

static const char GENERATE_USAGE[] =
    "Usage: mailsec dmarc generate --domain D --policy none|quarantine|reject [options]\n\n";

static const char PLAN_USAGE[] =
    "Usage: mailsec dmarc plan --domain D --rua URI [--rua URI] [options]\n\n"
    "Prints the conservative staged deployment: monitor, then quarantine and reject\n"
    "at 1%, 5%, 10%, 25%, 50% and all, one record per step, with what RFC 7489\n"
    "receivers (pct) and RFC 9989 receivers (t=y) do at each step and what to\n"
    "check before moving on. The plan sets p, pct and t; the other tags are kept\n"
    "in every step's record.\n\n";


enum { MAX_URIS = 16 };

/* ---- rendering shared by the check modes ---- */

static const char *align_str(ms_dmarc_align a)
{
    return a == MS_DMARC_ALIGN_STRICT ? "s" : a == MS_DMARC_ALIGN_RELAXED ? "r" : NULL;
}

static const char *psd_str(ms_dmarc_psd p)
{
    static const char *const NAMES[] = {NULL, "y", "n", "u"};
    return NAMES[p];
}

static json_t *json_uris(const ms_dmarc_uri *uris, size_t count)
{
    json_t *a = json_array();
    for (size_t i = 0; i < count; i++) {
        json_t *u = json_object();
        json_object_set_new(u, "uri", json_string(uris[i].uri));
        json_object_set_new(u, "address", json_str_or_null(uris[i].address));
        json_object_set_new(u, "max_size",
                            uris[i].has_max_size ? json_integer((json_int_t)uris[i].max_size)
                                                 : json_null());
        json_array_append_new(a, u);
    }
    return a;
}

static json_t *json_policy(ms_dmarc_policy p)
{
    return p == MS_DMARC_POLICY_UNSET ? json_null() : json_string(ms_dmarc_policy_str(p));
}

static json_t *json_record(const ms_dmarc_record *r)
{
    json_t *o = json_object();
    json_object_set_new(o, "usable", json_boolean(r->usable));
    json_object_set_new(o, "p", json_policy(r->p));
    json_object_set_new(o, "sp", json_policy(r->sp));
    json_object_set_new(o, "np", json_policy(r->np));
    json_object_set_new(o, "adkim", json_str_or_null(align_str(r->adkim)));
    json_object_set_new(o, "aspf", json_str_or_null(align_str(r->aspf)));
    json_object_set_new(o, "pct", r->pct >= 0 ? json_integer(r->pct) : json_null());
    json_object_set_new(o, "t", r->testing >= 0 ? json_string(r->testing ? "y" : "n") : json_null());
    json_object_set_new(o, "psd", json_str_or_null(psd_str(r->psd)));
    json_object_set_new(o, "fo", json_str_or_null(r->fo));
    json_object_set_new(o, "rf", json_str_or_null(r->rf));
    json_object_set_new(o, "ri", r->ri >= 0 ? json_integer(r->ri) : json_null());
    json_object_set_new(o, "rua", json_uris(r->rua, r->rua_count));
    json_object_set_new(o, "ruf", json_uris(r->ruf, r->ruf_count));
    return o;
}

static json_t *json_explanation(const ms_dmarc_record *rec, const char *domain)
{
    ms_dmarc_explanation ex = {0};
    json_t *a = json_array();
    if (rec != NULL && ms_dmarc_explain(rec, domain, &ex) == MS_OK)
        for (size_t i = 0; i < ex.count; i++)
            json_array_append_new(a, json_string(ex.lines[i]));
    ms_dmarc_explanation_free(&ex);
    return a;
}

static void print_explanation(const cli_common *c, const ms_dmarc_record *rec, const char *domain)
{
    ms_dmarc_explanation ex = {0};
    if (c->quiet || rec == NULL || ms_dmarc_explain(rec, domain, &ex) != MS_OK)
        return;
    out_text(c, "\nWhat the record says");
    for (size_t i = 0; i < ex.count; i++)
        out_text(c, "  - %s", ex.lines[i]);
    ms_dmarc_explanation_free(&ex);
}

/* ---- check --record ---- */

/* Notes about report destinations outside the domain, which only the
 * destination can authorise; no DNS is asked (dmarc check DOMAIN does). */
static ms_status note_external_destinations(const cli_common *c, const ms_dmarc_record *rec,
                                            const char *domain, ms_diag_list *diags)
{
    if (domain == NULL)
        return MS_OK;
    ms_ctx *ctx = cli_make_ctx(c);
    if (ctx == NULL)
        return MS_ERR_NOMEM;
    ms_status st = ms_dmarc_note_external_destinations(ctx, rec, domain, diags);
    ms_ctx_free(ctx);
    return st;
}

static int check_text(const cli_common *c, const char *text, const char *domain)
{
    ms_diag_list diags = MS_DIAG_LIST_INIT;
    ms_dmarc_record *rec = NULL;
    if (ms_dmarc_check_record(text, strlen(text), domain, &rec, &diags) != MS_OK ||
        note_external_destinations(c, rec, domain, &diags) != MS_OK) {
        fprintf(stderr, "mailsec dmarc check: out of memory\n");
        ms_dmarc_record_free(rec);
        ms_diag_list_free(&diags);
        return EXIT_UNCHECKED;
    }
    int status = cli_exit_status(&diags, 0);
    if (c->json) {
        json_t *r = json_object();
        json_object_set_new(r, "domain", json_str_or_null(domain));
        json_object_set_new(r, "record_text", json_string(text));
        json_object_set_new(r, "record", json_record(rec));
        json_object_set_new(r, "explanation", json_explanation(rec, domain));
        json_object_set_new(r, "diagnostics", json_diags(&diags));
        json_print_result("dmarc check", r, status);
    } else {
        out_heading(c, "DMARC record%s%s", domain ? " for " : "", domain ? domain : "");
        out_field(c, "record", "%s", text);
        out_text(c, "\nChecks");
        if (diags.count == 0)
            out_ok(c, "no findings");
        out_diags(c, &diags);
        print_explanation(c, rec, domain);
        out_summary(c, &diags, 0);
    }
    ms_dmarc_record_free(rec);
    ms_diag_list_free(&diags);
    return status;
}

/* ---- check DOMAIN ---- */

static json_t *json_discovery(const ms_dmarc_discovery *d)
{
    json_t *o = json_object();
    json_t *walk = json_array();
    for (size_t i = 0; i < d->step_count; i++) {
        const ms_dmarc_walk_step *s = &d->steps[i];
        if (!s->used)
            continue;
        json_t *step = json_object();
        json_object_set_new(step, "name", json_string(s->domain));
        json_object_set_new(step, "rcode", json_string(ms_dns_rcode_str(s->rcode)));
        json_object_set_new(step, "dnssec", json_string(ms_dns_dnssec_state_str(s->dnssec)));
        json_object_set_new(step, "dmarc_records", json_integer((json_int_t)s->dmarc_records));
        json_object_set_new(step, "psd", json_str_or_null(psd_str(s->psd)));
        json_array_append_new(walk, step);
    }
    json_object_set_new(o, "tree_walk", walk);
    json_object_set_new(o, "policy_domain", json_str_or_null(d->policy_domain));
    json_object_set_new(o, "org_domain", json_str_or_null(d->org_domain));
    json_object_set_new(o, "psl_policy_domain", json_str_or_null(d->psl_policy_domain));
    json_object_set_new(o, "psl_org_domain", json_str_or_null(d->psl_org_domain));
    return o;
}

static json_t *json_destinations(const ms_dmarc_discovery *d)
{
    json_t *a = json_array();
    for (size_t i = 0; i < d->destination_count; i++) {
        const ms_dmarc_destination *dest = &d->destinations[i];
        json_t *o = json_object();
        json_object_set_new(o, "uri", json_string(dest->uri));
        json_object_set_new(o, "kind", json_string(dest->is_ruf ? "ruf" : "rua"));
        json_object_set_new(o, "domain", json_str_or_null(dest->domain));
        json_object_set_new(o, "external", json_boolean(dest->external));
        json_object_set_new(o, "verified",
                            dest->external ? json_boolean(dest->verified) : json_null());
        json_object_set_new(o, "has_mx", json_boolean(dest->has_mx));
        json_array_append_new(a, o);
    }
    return a;
}

static json_t *json_domain_result(const ms_dmarc_discovery *d, int status)
{
    json_t *r = json_object();
    json_object_set_new(r, "domain", json_string(d->domain));
    json_object_set_new(r, "result", json_string(cli_verdict(status)));
    json_object_set_new(r, "dnssec", json_string(ms_dns_dnssec_state_str(d->dnssec)));
    json_object_set_new(r, "record_text",
                        d->record_text ? json_text(d->record_text, d->record_text_len) : json_null());
    json_object_set_new(r, "record", d->record ? json_record(d->record) : json_null());
    json_object_set_new(r, "explanation", json_explanation(d->record, d->domain));
    json_object_set_new(r, "discovery", json_discovery(d));
    json_object_set_new(r, "destinations", json_destinations(d));
    json_object_set_new(r, "diagnostics", json_diags(&d->diags));
    return r;
}

static void print_discovery(const cli_common *c, const ms_dmarc_discovery *d)
{
    out_field(c, "applies", "%s (RFC 9989 tree walk), %s (RFC 7489 PSL)",
              d->policy_domain ? d->policy_domain : "nothing",
              d->psl_policy_domain ? d->psl_policy_domain : "nothing");
    out_field(c, "org domain", "%s (RFC 9989), %s (RFC 7489)", d->org_domain ? d->org_domain : "-",
              d->psl_org_domain ? d->psl_org_domain : "-");
    if (!c->verbose)
        return;
    out_text(c, "\nTree walk");
    for (size_t i = 0; i < d->step_count; i++) {
        const ms_dmarc_walk_step *s = &d->steps[i];
        if (s->used)
            out_text(c, "  _dmarc.%-40s %-9s %-9s %zu record(s)%s%s", s->domain,
                     ms_dns_rcode_str(s->rcode), ms_dns_dnssec_state_str(s->dnssec), s->dmarc_records,
                     s->psd ? ", psd=" : "", s->psd ? psd_str(s->psd) : "");
    }
}

static void print_destinations(const cli_common *c, const ms_dmarc_discovery *d)
{
    if (d->destination_count == 0 || c->quiet)
        return;
    out_text(c, "\nReport destinations");
    for (size_t i = 0; i < d->destination_count; i++) {
        const ms_dmarc_destination *dest = &d->destinations[i];
        const char *kind = dest->is_ruf ? "ruf" : "rua";
        if (dest->domain == NULL)
            out_item(c, MS_SEV_WARNING, "%s %s: not a mailto address", kind, dest->uri);
        else if (!dest->external)
            out_ok(c, "%s %s: inside %s%s", kind, dest->uri, d->org_domain,
                   dest->has_mx ? "" : " (no MX)");
        else if (!dest->verified)
            out_item(c, MS_SEV_ERROR, "%s %s: external, not authorised by %s", kind, dest->uri,
                     dest->domain);
        else if (!dest->has_mx)
            out_item(c, MS_SEV_WARNING, "%s %s: external, authorised, but %s has no MX", kind,
                     dest->uri, dest->domain);
        else
            out_ok(c, "%s %s: external, authorised by %s", kind, dest->uri, dest->domain);
    }
}

static void print_domain_result(const cli_common *c, const ms_dmarc_discovery *d)
{
    out_heading(c, "DMARC for %s", d->domain);
    if (d->record_text != NULL)
        out_field_bytes(c, "record", d->record_text, d->record_text_len);
    else if (d->step_count > 0 && d->steps[0].dmarc_records > 1)
        out_field(c, "record", "%zu records at _dmarc.%s: receivers discard them all",
                  d->steps[0].dmarc_records, d->domain);
    else
        out_field(c, "record", "none at _dmarc.%s", d->domain);
    if (d->policy_domain != NULL && strcmp(d->policy_domain, d->domain) != 0) {
        char *inherited = cli_escaped(d->policy_record_text, d->policy_record_text_len, c->utf8);
        out_field(c, "inherited", "%s (from _dmarc.%s, by the RFC 9989 tree walk)",
                  inherited ? inherited : "?", d->policy_domain);
        free(inherited);
    }
    if (ms_diag_has(&d->diags, "dmarc.resolver-no-dnssec"))
        out_field(c, "DNSSEC", "not validated: the server used does not serve DNSSEC");
    else
        out_field(c, "DNSSEC", "%s", ms_dns_dnssec_state_str(d->dnssec));
    print_discovery(c, d);
    out_text(c, "\nChecks");
    if (d->diags.count == 0)
        out_ok(c, "no findings");
    out_diags(c, &d->diags);
    print_destinations(c, d);
    print_explanation(c, d->record, d->domain);
    out_summary(c, &d->diags, d->could_not_check);
}

/* The context for the DNS lookups. A --trust-anchor file that cannot be
 * read is the user's to fix, so it is a usage error naming the file and
 * the reason, not a DNS failure at the first lookup. */
static int check_domains(const cli_common *c, char **domains, int count)
{
    ms_ctx *ctx = cli_make_ctx(c);
    if (ctx == NULL)
        return EXIT_UNCHECKED;
    cli_results results;
    cli_results_begin(&results, c);
    for (int i = 0; i < count; i++) {
        ms_dmarc_discovery *d = NULL;
        ms_status st = ms_dmarc_discover(ctx, domains[i], &d);
        if (st != MS_OK) {
            fprintf(stderr, "mailsec dmarc check: %s: %s\n", domains[i], ms_status_str(st));
            cli_results_add(&results, EXIT_UNCHECKED, NULL);
            continue;
        }
        int status = cli_exit_status(&d->diags, d->could_not_check);
        cli_results_separate(&results);
        if (!c->json)
            print_domain_result(c, d);
        cli_results_add(&results, status, c->json ? json_domain_result(d, status) : NULL);
        ms_dmarc_discovery_free(d);
    }
    ms_ctx_free(ctx);
    return cli_results_end(&results, "dmarc check");
}

static int run_check(int argc, char **argv)
{
    cli_common c;
    cli_record_args a;
    int done = cli_record_parse(argc, argv, &CLI_OPTIONS_dmarc_check, CHECK_USAGE, "dmarc check", &c, &a);
    if (done >= 0)
        return done;
    if (a.record != NULL) {
        if (optind != argc)
            return cli_usage_error("dmarc check", "give either --record or domains, not both");
        return check_text(&c, a.record, a.domain);
    }
    return check_domains(&c, argv + optind, argc - optind);
}

/* ---- generate ---- */

static int parse_policy(const char *s, ms_dmarc_policy *p)
{
    static const cli_name NAMES[] = {{"none", MS_DMARC_POLICY_NONE}, {"quarantine", MS_DMARC_POLICY_QUARANTINE},
                                     {"reject", MS_DMARC_POLICY_REJECT}, {NULL, 0}};
    *p = (ms_dmarc_policy)cli_name_value(s, NAMES, MS_DMARC_POLICY_UNSET);
    return *p != MS_DMARC_POLICY_UNSET;
}

static int parse_align(const char *s, ms_dmarc_align *a)
{
    static const cli_name NAMES[] = {{"r", MS_DMARC_ALIGN_RELAXED}, {"relaxed", MS_DMARC_ALIGN_RELAXED},
                                     {"s", MS_DMARC_ALIGN_STRICT}, {"strict", MS_DMARC_ALIGN_STRICT},
                                     {NULL, 0}};
    *a = (ms_dmarc_align)cli_name_value(s, NAMES, MS_DMARC_ALIGN_UNSET);
    return *a != MS_DMARC_ALIGN_UNSET;
}

static int parse_psd(const char *s, ms_dmarc_psd *p)
{
    static const cli_name NAMES[] = {{"y", MS_DMARC_PSD_Y}, {"n", MS_DMARC_PSD_N}, {"u", MS_DMARC_PSD_U},
                                     {NULL, 0}};
    *p = (ms_dmarc_psd)cli_name_value(s, NAMES, MS_DMARC_PSD_UNSET);
    return *p != MS_DMARC_PSD_UNSET;
}

static int parse_yes_no(const char *s, int *v)
{
    static const cli_name NAMES[] = {{"y", 1}, {"n", 0}, {NULL, 0}};
    *v = cli_name_value(s, NAMES, -1);
    return *v >= 0;
}

static int parse_percent(const char *s, int *v)
{
    char *end;
    long n = strtol(s, &end, 10);
    if (end == s || *end != '\0' || n < 0 || n > 100)
        return 0;
    *v = (int)n;
    return 1;
}

typedef struct uri_list {
    const char *items[MAX_URIS + 1];
    int count;
} uri_list;

static int add_uri(uri_list *l, const char *uri)
{
    if (l->count == MAX_URIS)
        return 0;
    l->items[l->count++] = uri;
    l->items[l->count] = NULL;
    return 1;
}

/* Refusals, or the warnings a generated record still carries, go to
 * stderr so stdout stays the record alone. */
static void print_diags_to_stderr(const ms_diag_list *diags, const char *command)
{
    for (size_t i = 0; i < diags->count; i++)
        fprintf(stderr, "mailsec %s: %s: %s [%s]\n", command,
                ms_severity_str(diags->items[i].def->severity), diags->items[i].message,
                diags->items[i].def->code);
}

typedef struct generate_args {
    ms_dmarc_spec spec;
    uri_list rua, ruf;
    const char *format;
    unsigned ttl;
} generate_args;

/* One generate option; 0 when its value is invalid. */
static int generate_option(void *argp, int opt, const char *arg)
{
    generate_args *g = argp;
    ms_dmarc_spec *s = &g->spec;
    char *end;
    switch (opt) {
    case OPT_DOMAIN: s->domain = arg; return 1;
    case OPT_POLICY: return parse_policy(arg, &s->p);
    case OPT_SP: return parse_policy(arg, &s->sp);
    case OPT_NP: return parse_policy(arg, &s->np);
    case OPT_PCT: return parse_percent(arg, &s->pct);
    case OPT_TESTING: return parse_yes_no(arg, &s->testing);
    case OPT_RUA: return add_uri(&g->rua, arg);
    case OPT_RUF: return add_uri(&g->ruf, arg);
    case OPT_ADKIM: return parse_align(arg, &s->adkim);
    case OPT_ASPF: return parse_align(arg, &s->aspf);
    case OPT_FO: s->fo = arg; return 1;
    case OPT_PSD: return parse_psd(arg, &s->psd);
    case OPT_FORMAT:
        g->format = arg;
        return strcmp(arg, "record") == 0 || strcmp(arg, "zone") == 0 || strcmp(arg, "json") == 0;
    case OPT_TTL:
        g->ttl = (unsigned)strtoul(arg, &end, 10);
        return end != arg && *end == '\0' && g->ttl > 0;
    }
    return CLI_OPTION_UNHANDLED;
}


/* How generate and plan show a generated record (--format): "record" its
 * text, "zone" its zone-file line, "json" both. */

/* The zone-file line; NULL, said on stderr, when it cannot be made. */
static char *make_zone_line(const generate_args *g, const char *command, const char *record)
{
    char *line = NULL;
    if (ms_dmarc_zone_line(g->spec.domain, record, g->ttl, &line) != MS_OK)
        fprintf(stderr, "mailsec %s: cannot format the zone line\n", command);
    return line;
}

static const char *record_as_text(const generate_args *g, const char *record, const char *line)
{
    return strcmp(g->format, "zone") == 0 ? line : record;
}

static json_t *record_as_json(const char *record, const char *line)
{
    return json_pack("{s:s, s:s}", "record", record, "zone_line", line);
}

static int print_generated(const generate_args *g, const char *record)
{
    char *line = make_zone_line(g, "dmarc generate", record);
    if (line == NULL)
        return EXIT_UNCHECKED;
    if (strcmp(g->format, "json") == 0) {
        json_t *doc = json_document("dmarc generate");
        json_object_set_new(doc, "domain", json_string(g->spec.domain));
        json_object_set_new(doc, "name", json_pack("s+", "_dmarc.", g->spec.domain));
        json_object_update_new(doc, record_as_json(record, line));
        json_print(doc, EXIT_CLEAN);
    } else {
        printf("%s\n", record_as_text(g, record, line));
    }
    free(line);
    return EXIT_CLEAN;
}

/* The generated record read back, for its report destinations. */
static ms_status note_generated_destinations(const cli_common *c, const generate_args *g,
                                             const char *record, ms_diag_list *diags)
{
    ms_dmarc_record *rec = NULL;
    ms_diag_list ignored = MS_DIAG_LIST_INIT;
    ms_status st = ms_dmarc_check_record(record, strlen(record), NULL, &rec, &ignored);
    if (st == MS_OK)
        st = note_external_destinations(c, rec, g->spec.domain, diags);
    ms_dmarc_record_free(rec);
    ms_diag_list_free(&ignored);
    return st;
}

static int run_generate(int argc, char **argv)
{
    generate_args g = {.spec = MS_DMARC_SPEC_INIT, .format = "record", .ttl = 3600};
    cli_common c;
    int done = cli_parse(argc, argv, &CLI_OPTIONS_dmarc_generate, GENERATE_USAGE,
                         "dmarc generate", &c, generate_option, &g);
    if (done >= 0)
        return done;
    if (optind != argc)
        return cli_usage_error("dmarc generate", "unexpected argument \"%s\"", argv[optind]);
    if (c.json)
        g.format = "json";
    g.spec.rua = g.rua.count ? g.rua.items : NULL;
    g.spec.ruf = g.ruf.count ? g.ruf.items : NULL;

    char *record = NULL;
    ms_diag_list diags = MS_DIAG_LIST_INIT;
    ms_status st = ms_dmarc_generate(&g.spec, &record, &diags);
    if (st == MS_OK && record != NULL)
        st = note_generated_destinations(&c, &g, record, &diags);
    print_diags_to_stderr(&diags, "dmarc generate");
    int status = st == MS_OK && record != NULL ? print_generated(&g, record) : EXIT_UNCHECKED;
    free(record);
    ms_diag_list_free(&diags);
    return status;
}

/* ---- plan: generate's options, less the tags the plan sets ---- */

static int json_plan(const generate_args *g, const ms_dmarc_plan *plan)
{
    json_t *doc = json_document("dmarc plan");
    json_object_set_new(doc, "domain", json_string(g->spec.domain));
    json_t *steps = json_array();
    json_object_set_new(doc, "steps", steps);
    for (size_t i = 0; i < plan->count; i++) {
        const ms_dmarc_plan_step *s = &plan->steps[i];
        char *line = make_zone_line(g, "dmarc plan", s->record);
        if (line == NULL) {
            json_decref(doc);
            return EXIT_UNCHECKED;
        }
        json_t *step = record_as_json(s->record, line);
        free(line);
        json_t *checks = json_array();
        for (size_t k = 0; k < s->check_count; k++)
            json_array_append_new(checks, json_string(s->checks[k]));
        json_object_update_new(step, json_pack("{s:i, s:s, s:s, s:s, s:o}", "step", (int)i + 1,
                                               "name", s->name, "rfc7489", s->rfc7489, "rfc9989",
                                               s->rfc9989, "checks", checks));
        json_array_append_new(steps, step);
    }
    json_print(doc, EXIT_CLEAN);
    return EXIT_CLEAN;
}

static int print_plan(const cli_common *c, const generate_args *g, const ms_dmarc_plan *plan)
{
    const char *domain = g->spec.domain;
    out_heading(c, "DMARC roll-out plan for %s", domain);
    out_text(c, "Publish each record at _dmarc.%s; move on only when its checks hold.", domain);
    for (size_t i = 0; i < plan->count; i++) {
        const ms_dmarc_plan_step *s = &plan->steps[i];
        char *line = make_zone_line(g, "dmarc plan", s->record);
        if (line == NULL)
            return EXIT_UNCHECKED;
        out_text(c, "%s", "");
        out_heading(c, "Step %zu: %s", i + 1, s->name);
        out_field(c, strcmp(g->format, "zone") == 0 ? "zone line" : "record", "%s",
                  record_as_text(g, s->record, line));
        free(line);
        out_field(c, "RFC 7489", "%s", s->rfc7489);
        out_field(c, "RFC 9989", "%s", s->rfc9989);
        for (size_t k = 0; k < s->check_count; k++)
            out_text(c, "  [ ] %s", s->checks[k]);
    }
    return EXIT_CLEAN;
}


static int run_plan(int argc, char **argv)
{
    generate_args g = {.spec = MS_DMARC_SPEC_INIT, .format = "record", .ttl = 3600};
    cli_common c;
    int done = cli_parse(argc, argv, &CLI_OPTIONS_dmarc_plan, PLAN_USAGE, "dmarc plan",
                         &c, generate_option, &g);
    if (done >= 0)
        return done;
    if (g.spec.domain == NULL || optind != argc)
        return cli_usage_error("dmarc plan", "give --domain D and at least one --rua URI");
    if (c.json)
        g.format = "json";
    g.spec.rua = g.rua.count ? g.rua.items : NULL;
    g.spec.ruf = g.ruf.count ? g.ruf.items : NULL;
    ms_dmarc_plan plan = {0};
    ms_diag_list diags = MS_DIAG_LIST_INIT;
    ms_status st = ms_dmarc_plan_make(&g.spec, &plan, &diags);
    int status;
    if (st != MS_OK || plan.count == 0) {
        print_diags_to_stderr(&diags, "dmarc plan");
        status = EXIT_UNCHECKED;
    } else if (strcmp(g.format, "json") == 0) {
        status = json_plan(&g, &plan);
    } else {
        status = print_plan(&c, &g, &plan);
    }
    ms_dmarc_plan_free(&plan);
    ms_diag_list_free(&diags);
    return status;
}

/* ---- advise: the plan step, judged by the domain's reports ---- */

static const char ADVISE_USAGE[] =
    "Usage: mailsec dmarc advise [options] DOMAIN...\n"
    "       mailsec dmarc advise [options] [--all]\n\n"
    "Where the domain's DMARC roll-out stands and what to publish next: reads the\n"
    "record published now (DNS) and the aggregate reports in the store, names the\n"
    "step of the plan (mailsec dmarc plan) the domain is on and since when, judges\n"
    "whether it is ready to move on (each criterion with its figures), lists the\n"
    "legitimate sources that still fail DMARC with the fix for each, and proposes\n"
    "the next step's record and zone line, or to hold, or to step back when\n"
    "legitimate mail was quarantined or rejected since the last change. Without a\n"
    "domain (or with --all): every domain in the store. docs/dmarc-rollout.md\n"
    "explains the criteria and their defaults.\n\n"
    "Exit status: 0 ready for the next step (or at the last step), 1 hold, step back\n"
    "or blockers, 2 could not check (the domain's DNS did not answer, the store).\n\n";

/* advise's own options, above the common ones and below publish's. */

enum { ADVISE_DAY = 86400, ADVISE_WINDOW_MAX = 3660, RDNS_MAX_AGE = 7 * ADVISE_DAY };

typedef struct advise_args {
    const char *db;
    int all;
    int no_rdns;
    unsigned long window_days;
    ms_dmarc_advise_options opt;
    int publish;
    publish_args p;
} advise_args;

static int advise_option(void *argp, int opt, const char *arg)
{
    advise_args *a = argp;
    unsigned long n;
    char *end;
    switch (opt) {
    case OPT_DB: a->db = arg; return 1;
    case OPT_ALL: a->all = 1; return 1;
    case OPT_NO_RDNS: a->no_rdns = 1; return 1;
    case OPT_PUBLISH: a->publish = 1; return 1;
    case OPT_WINDOW: return cli_parse_uint(arg, ADVISE_WINDOW_MAX, &a->window_days) && a->window_days > 0;
    case OPT_THRESHOLD:
        a->opt.threshold = strtod(arg, &end);
        return end != arg && *end == '\0' && a->opt.threshold >= 0 && a->opt.threshold <= 100;
    case OPT_MIN_DAYS:
        if (!cli_parse_uint(arg, ADVISE_WINDOW_MAX, &n))
            return 0;
        a->opt.min_days = (unsigned)n;
        return 1;
    case OPT_MIN_REPORTERS:
        if (!cli_parse_uint(arg, 1000, &n))
            return 0;
        a->opt.min_reporters = (unsigned)n;
        return 1;
    case OPT_MIN_MESSAGES:
        if (!cli_parse_uint(arg, 1000000000000UL, &n))
            return 0;
        a->opt.min_messages = n;
        return 1;
    }
    return publish_option(&a->p, opt, arg);
}

/* The facts of one domain, and what holds them. */
typedef struct advise_facts {
    ms_dmarc_advise_facts f;
    ms_dmarc_policy_seen *history;
    ms_store_domain_summary *window_summary;
    size_t window_summary_count;
    ms_dmarc_tally sources, step_sources;
    const char **known_ips;
    ms_dmarc_day *days;
} advise_facts;

static void advise_facts_free(advise_facts *af)
{
    free(af->history);
    ms_store_summary_free(af->window_summary, af->window_summary_count);
    ms_dmarc_tally_free(&af->sources);
    ms_dmarc_tally_free(&af->step_sources);
    free(af->known_ips);
    free(af->days);
}

static ms_dmarc_policy policy_of(const char *s)
{
    ms_dmarc_policy p = MS_DMARC_POLICY_UNSET;
    return s != NULL && parse_policy(s, &p) ? p : MS_DMARC_POLICY_UNSET;
}

static int number_of(const char *s)
{
    int v;
    return s != NULL && parse_percent(s, &v) ? v : -1;
}

/* The policies the reports saw, from the store's policy history. */
static ms_status gather_history(ms_store *store, const char *domain, advise_facts *af)
{
    ms_store_filter all = {domain, 0, 0};
    ms_store_policy_row *rows = NULL;
    size_t n = 0;
    ms_status st = ms_store_policy_history(store, &all, &rows, &n);
    if (st != MS_OK)
        return st;
    af->history = calloc(n ? n : 1, sizeof *af->history);
    if (af->history == NULL) {
        ms_store_policy_history_free(rows, n);
        return MS_ERR_NOMEM;
    }
    for (size_t i = 0; i < n; i++) {
        const ms_store_policy_row *r = &rows[i];
        af->history[i] = (ms_dmarc_policy_seen){
            policy_of(r->p), policy_of(r->sp), policy_of(r->np), number_of(r->pct),
            r->testing == NULL ? -1 : strcmp(r->testing, "y") == 0, r->first, r->last, r->reports};
    }
    ms_store_policy_history_free(rows, n);
    af->f.history = af->history;
    af->f.history_count = n;
    return MS_OK;
}

/* The sources of a filter, streamed from the store into a tally: memory
 * stays bounded whatever the store holds. */
typedef struct tally_sink {
    ms_dmarc_tally *tally;
    ms_status st;
} tally_sink;

static int tally_source(void *arg, const ms_store_source *source)
{
    tally_sink *sink = arg;
    sink->st = ms_dmarc_tally_add(sink->tally, source);
    return sink->st != MS_OK;
}

static ms_status tally_sources(ms_store *store, const ms_store_filter *filter, ms_dmarc_tally *t)
{
    tally_sink sink = {t, MS_OK};
    ms_status st = ms_store_sources_each(store, filter, tally_source, &sink);
    return st != MS_OK ? st : sink.st;
}

/* The blockers' reverse DNS names (those the cache lacks looked up unless
 * --no-rdns; best effort: a name that does not come is shown as the IP)
 * and their organisational domains. Only the blockers shown are named. */
static ms_status name_blockers(ms_ctx *ctx, ms_store *store, const advise_args *a, ms_dmarc_tally *t)
{
    const char *ips[MS_DMARC_BLOCKERS_MAX];
    size_t missing = 0;
    for (size_t i = 0; i < t->blocker_count; i++)
        if (t->blockers[i].rdns == NULL)
            ips[missing++] = t->blockers[i].source_ip;
    if (missing > 0 && !a->no_rdns)
        (void)ms_sources_resolve(ctx, store, ips, missing, RDNS_MAX_AGE);
    for (size_t i = 0; i < t->blocker_count; i++) {
        ms_store_source *s = &t->blockers[i];
        int64_t fetched;
        if (s->rdns == NULL && ms_store_rdns_get(store, s->source_ip, &s->rdns, &fetched) == MS_ERR_NOMEM)
            return MS_ERR_NOMEM;
        if (s->rdns != NULL && s->rdns[0] != '\0' && s->group == NULL)
            s->group = ms_sources_group_by_org(ctx, s->rdns);
    }
    return MS_OK;
}

static int cmp_ip(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Which of the tally's checked sources and blockers were seen before the
 * window: one indexed look-up each (ms_store_source_daily), not a scan of
 * the store's whole history. */
static ms_status gather_known(ms_store *store, advise_facts *af)
{
    const ms_dmarc_tally *t = &af->sources;
    const char *ips[MS_DMARC_CHECKED_MAX + MS_DMARC_BLOCKERS_MAX];
    size_t n = 0, known = 0;
    for (size_t i = 0; i < t->checked_count; i++)
        ips[n++] = t->checked[i];
    for (size_t i = 0; i < t->blocker_count; i++)
        ips[n++] = t->blockers[i].source_ip;
    af->known_ips = calloc(n ? n : 1, sizeof *af->known_ips);
    if (af->known_ips == NULL)
        return MS_ERR_NOMEM;
    ms_store_filter before = {af->f.domain, 0, af->f.window_start};
    ms_status st = MS_OK;
    for (size_t i = 0; i < n && st == MS_OK; i++) {
        ms_store_source_day *days = NULL;
        size_t count = 0;
        st = ms_store_source_daily(store, &before, ips[i], &days, &count);
        if (st == MS_OK && count > 0)
            af->known_ips[known++] = ips[i];
        ms_store_source_daily_free(days, count);
    }
    qsort(af->known_ips, known, sizeof *af->known_ips, cmp_ip);
    af->f.known_ips = af->known_ips;
    af->f.known_ip_count = known;
    return st;
}

/* The window's sources and reporters. */
static ms_status gather_sources(ms_ctx *ctx, ms_store *store, const advise_args *a,
                                advise_facts *af)
{
    ms_store_filter window = {af->f.domain, af->f.window_start, 0};
    ms_dmarc_tally_init(&af->sources, af->f.domain, &a->opt);
    ms_status st = tally_sources(store, &window, &af->sources);
    if (st == MS_OK)
        st = name_blockers(ctx, store, a, &af->sources);
    if (st == MS_OK)
        st = ms_store_summary(store, &window, &af->window_summary, &af->window_summary_count);
    if (st != MS_OK)
        return st;
    af->f.sources = &af->sources;
    if (af->window_summary_count > 0) {
        af->f.reporters = af->window_summary[0].reporters;
        af->f.reporter_count = af->window_summary[0].reporter_count;
    }
    return gather_known(store, af);
}

/* The days since the current step began, and its sources when receivers
 * quarantined or rejected mail meanwhile (only then can it be a step
 * back). */
static ms_status gather_step(ms_store *store, const advise_args *a, advise_facts *af)
{
    int64_t since = ms_dmarc_step_since(af->f.record, af->f.history, af->f.history_count);
    if (since == 0)
        return MS_OK;
    ms_store_filter step = {af->f.domain, since, 0};
    /* The sources from the day the step began: whole days, read from the
     * store's per-day rollups. */
    ms_store_filter step_days = {af->f.domain, since - (since % ADVISE_DAY + ADVISE_DAY) % ADVISE_DAY, 0};
    ms_store_day_row *rows = NULL;
    size_t n = 0;
    uint64_t enforced = 0;
    ms_status st = ms_store_daily(store, &step, &rows, &n);
    if (st != MS_OK)
        return st;
    for (size_t i = 0; i < n; i++)
        enforced = ms_store_sum(enforced, ms_store_sum(rows[i].quarantine, rows[i].reject));
    if (enforced > 0) {
        ms_dmarc_tally_init(&af->step_sources, af->f.domain, &a->opt);
        st = tally_sources(store, &step_days, &af->step_sources);
        af->f.step_sources = &af->step_sources;
    }
    if (st != MS_OK) {
        ms_store_daily_free(rows, n);
        return st;
    }
    af->days = calloc(n ? n : 1, sizeof *af->days);
    if (af->days == NULL) {
        ms_store_daily_free(rows, n);
        return MS_ERR_NOMEM;
    }
    for (size_t i = 0; i < n; i++)
        af->days[i] = (ms_dmarc_day){rows[i].day, rows[i].messages, rows[i].dmarc_pass,
                                     rows[i].quarantine, rows[i].reject};
    ms_store_daily_free(rows, n);
    af->f.days = af->days;
    af->f.day_count = n;
    return MS_OK;
}

/* A day as YYYY-MM-DD (UTC) in buf; "" for 0 (no such day). */
static const char *day_text(int64_t t, char buf[static 16])
{
    time_t tt = (time_t)t;
    struct tm tm;
    buf[0] = '\0';
    if (t != 0 && gmtime_r(&tt, &tm) != NULL)
        strftime(buf, 16, "%Y-%m-%d", &tm);
    return buf;
}

static json_t *json_day(int64_t t)
{
    char buf[16];
    return *day_text(t, buf) ? json_string(buf) : json_null();
}

static json_t *json_advice(const ms_dmarc_discovery *d, const ms_dmarc_advice *adv, int status,
                           const advise_facts *af)
{
    json_t *r = json_object();
    json_object_set_new(r, "domain", json_string(d->domain));
    json_object_set_new(r, "result", json_string(cli_verdict(status)));
    json_object_set_new(r, "record_text",
                        d->record_text ? json_text(d->record_text, d->record_text_len) : json_null());
    json_object_set_new(r, "step", json_pack("{s:o, s:o, s:o}", "index",
                                             adv->step >= 0 ? json_integer(adv->step + 1) : json_null(),
                                             "name", json_str_or_null(adv->step_name), "since",
                                             json_day(adv->since)));
    json_object_set_new(r, "window", json_pack("{s:o, s:o}", "since", json_day(af->f.window_start),
                                               "until", json_day(af->f.now)));
    json_object_set_new(r, "departures", json_diags(&adv->departures));
    json_t *crit = json_array();
    for (size_t i = 0; i < adv->criterion_count; i++) {
        const ms_dmarc_criterion *c = &adv->criteria[i];
        json_array_append_new(crit, json_pack("{s:s, s:b, s:I, s:I, s:s}", "name", c->name, "met",
                                              c->met, "value", (json_int_t)c->value, "target",
                                              (json_int_t)c->target, "figures", c->figures));
    }
    json_object_set_new(r, "criteria", crit);
    json_t *bl = json_array();
    for (size_t i = 0; i < adv->blocker_count; i++) {
        const ms_dmarc_blocker *b = &adv->blockers[i];
        json_t *o = json_pack("{s:s, s:o, s:o, s:s, s:I, s:I, s:b, s:s}", "source_ip", b->source_ip,
                              "rdns", json_str_or_null(b->rdns), "org", json_str_or_null(b->org),
                              "class", ms_sources_class_name(b->cls), "messages",
                              (json_int_t)b->messages, "failing", (json_int_t)b->failing, "new",
                              b->is_new, "fix", b->fix);
        json_array_append_new(bl, o);
    }
    json_object_set_new(r, "blockers", bl);
    json_object_set_new(r, "blockers_total", json_integer((json_int_t)adv->blocker_total));
    json_object_set_new(r, "action", json_string(ms_dmarc_advise_action_str(adv->action)));
    json_t *reasons = json_array();
    for (size_t i = 0; i < adv->reason_count; i++)
        json_array_append_new(reasons, json_string(adv->reasons[i]));
    json_object_set_new(r, "reasons", reasons);
    json_object_set_new(r, "next",
                        adv->next_record ? json_pack("{s:i, s:s, s:s, s:s}", "index",
                                                     adv->next_step + 1, "name", adv->next_name,
                                                     "record", adv->next_record, "zone_line",
                                                     adv->next_zone_line)
                                         : json_null());
    json_object_set_new(r, "diagnostics", json_diags(&d->diags));
    return r;
}

static void print_advice(const cli_common *c, const ms_dmarc_discovery *d,
                         const ms_dmarc_advice *adv, const advise_facts *af)
{
    out_heading(c, "DMARC roll-out for %s", d->domain);
    if (d->record_text != NULL)
        out_field_bytes(c, "record", d->record_text, d->record_text_len);
    else
        out_field(c, "record", "none at _dmarc.%s", d->domain);
    char since[16], start[16], now[16];
    if (adv->step >= 0)
        out_field(c, "step", "%d of %d: %s%s%s%s", adv->step + 1, MS_DMARC_PLAN_STEPS,
                  adv->step_name ? adv->step_name : "?", adv->since ? " (since " : "",
                  day_text(adv->since, since), adv->since ? ")" : "");
    else
        out_field(c, "step", "%s", adv->step_name ? adv->step_name : "none");
    out_field(c, "window", "%s to %s", day_text(af->f.window_start, start), day_text(af->f.now, now));
    if (adv->departures.count > 0) {
        out_text(c, "\nDepartures from the plan");
        out_diags(c, &adv->departures);
    }
    if (adv->criterion_count > 0) {
        out_text(c, "\nReady?");
        for (size_t i = 0; i < adv->criterion_count; i++) {
            const ms_dmarc_criterion *cr = &adv->criteria[i];
            if (cr->met)
                out_ok(c, "%s: %s", cr->name, cr->figures);
            else
                out_item(c, MS_SEV_ERROR, "%s: %s", cr->name, cr->figures);
        }
    }
    if (adv->blocker_count > 0) {
        out_text(c, "\nBlockers");
        for (size_t i = 0; i < adv->blocker_count; i++) {
            const ms_dmarc_blocker *b = &adv->blockers[i];
            out_item(c, MS_SEV_ERROR, "%s%s%s%s%s: %s, %llu of %llu messages fail DMARC%s",
                     b->source_ip, b->rdns ? " " : "", b->rdns ? b->rdns : "",
                     b->org ? " org " : "", b->org ? b->org : "", ms_sources_class_name(b->cls),
                     (unsigned long long)b->failing, (unsigned long long)b->messages,
                     b->is_new ? " (new)" : "");
            out_text(c, "      fix: %s", b->fix);
        }
        if (adv->blocker_total > adv->blocker_count)
            out_text(c, "  ... and %llu more (the %zu failing most are shown)",
                     (unsigned long long)(adv->blocker_total - adv->blocker_count), adv->blocker_count);
    }
    out_text(c, "\nNext: %s", ms_dmarc_advise_action_str(adv->action));
    for (size_t i = 0; i < adv->reason_count; i++)
        out_text(c, "  - %s", adv->reasons[i]);
    if (adv->next_record != NULL) {
        out_field(c, "step", "%d of %d: %s", adv->next_step + 1, MS_DMARC_PLAN_STEPS, adv->next_name);
        out_field(c, "record", "%s", adv->next_record);
        out_field(c, "zone line", "%s", adv->next_zone_line);
    }
    if (d->diags.count > 0) {
        out_text(c, "\nRecord checks (mailsec dmarc check)");
        out_diags(c, &d->diags);
    }
}

static int advice_status(const ms_dmarc_advice *adv)
{
    return adv->action == MS_DMARC_ADVISE_NEXT || adv->action == MS_DMARC_ADVISE_DONE ? EXIT_CLEAN
                                                                                      : EXIT_PROBLEMS;
}

/* --publish: the proposed record goes out when the advice is to move
 * (next, or step back), replacing only the record read (unless --expect
 * says otherwise). The worse of the two statuses; with JSON the outcome
 * is the result's "publish" (null when nothing was sent). */
static int publish_advice(const cli_common *c, const advise_args *a, const ms_dmarc_discovery *d,
                          const ms_dmarc_advice *adv, int status, json_t *result)
{
    int move = adv->action == MS_DMARC_ADVISE_NEXT || adv->action == MS_DMARC_ADVISE_STEP_BACK;
    if (!move || adv->next_record == NULL) {
        if (!c->json)
            out_text(c, "\nNothing published: the advice is to %s.", ms_dmarc_advise_action_str(adv->action));
        if (result != NULL)
            json_object_set_new(result, "publish", json_null());
        return status;
    }
    publish_args p = a->p;
    if (!p.expect_given && d->record_text != NULL) {
        p.expect[0] = d->record_text;
        p.expect_count = 1;
        p.expect_given = 1;
    }
    if (!c->json)
        out_text(c, "%s", "");
    json_t *outcome = NULL;
    int published = dmarc_publish_record(c, &p, d->domain, adv->next_record, &outcome);
    if (result != NULL)
        json_object_set_new(result, "publish", outcome ? outcome : json_null());
    else
        json_decref(outcome);
    return published > status ? published : status;
}

/* One domain: DNS first (no answer: could not check), then the store. */
static void advise_domain(const cli_common *c, ms_ctx *ctx, ms_store *store, const advise_args *a,
                          const char *domain, cli_results *results)
{
    ms_dmarc_discovery *d = NULL;
    ms_status st = ms_dmarc_discover(ctx, domain, &d);
    if (st != MS_OK || d->could_not_check) {
        fprintf(stderr, "mailsec dmarc advise: %s: %s\n", domain,
                st != MS_OK ? ms_status_str(st) : "its DMARC record could not be looked up");
        json_t *r = NULL;
        if (c->json && d != NULL) {
            r = json_pack("{s:s, s:s, s:o}", "domain", d->domain, "result", "unchecked",
                          "diagnostics", json_diags(&d->diags));
        }
        cli_results_add(results, EXIT_UNCHECKED, r);
        ms_dmarc_discovery_free(d);
        return;
    }
    advise_facts af = {0};
    af.f.domain = d->domain;
    af.f.now = (int64_t)ms_ctx_now(ctx);
    /* Whole UTC days (the store's rollups are per day): today so far and
     * the DAYS days before it. */
    af.f.window_start = af.f.now - af.f.now % ADVISE_DAY - (int64_t)a->window_days * ADVISE_DAY;
    af.f.record = d->record;
    af.f.record_findings = &d->diags;
    st = gather_history(store, d->domain, &af);
    if (st == MS_OK)
        st = gather_sources(ctx, store, a, &af);
    if (st == MS_OK)
        st = gather_step(store, a, &af);
    ms_dmarc_advice adv = {0};
    if (st == MS_OK)
        st = ms_dmarc_advise(&af.f, &a->opt, &adv);
    if (st != MS_OK) {
        fprintf(stderr, "mailsec dmarc advise: %s: %s%s%s\n", domain, ms_status_str(st),
                st == MS_ERR_IO ? ": " : "", st == MS_ERR_IO ? ms_store_error(store) : "");
        cli_results_add(results, EXIT_UNCHECKED,
                        c->json ? json_pack("{s:s, s:s}", "domain", d->domain, "result", "unchecked")
                                : NULL);
    } else {
        int status = advice_status(&adv);
        cli_results_separate(results);
        if (!c->json)
            print_advice(c, d, &adv, &af);
        json_t *r = c->json ? json_advice(d, &adv, status, &af) : NULL;
        if (a->publish)
            status = publish_advice(c, a, d, &adv, status, r);
        cli_results_add(results, status, r);
    }
    ms_dmarc_advice_free(&adv);
    advise_facts_free(&af);
    ms_dmarc_discovery_free(d);
}

/* advise looks up reverse DNS names and caches them, as report sources
 * does, when this user may write the store; else it uses those cached. */
static ms_store *open_advise_store(const cli_common *c, advise_args *a)
{
    ms_store *store = report_open("dmarc advise", a->db, REPORT_STORE_READ, c->json, "results");
    if (store == NULL || a->no_rdns)
        return store;
    return report_rdns_store("dmarc advise", a->db, store, &a->no_rdns);
}

/* Every policy domain in the store. */
static int store_domains(ms_store *store, char ***out, size_t *count)
{
    ms_store_filter all = {NULL, 0, 0};
    ms_store_domain_summary *rows = NULL;
    size_t n = 0;
    if (ms_store_summary(store, &all, &rows, &n) != MS_OK)
        return 0;
    *out = calloc(n ? n : 1, sizeof **out);
    for (size_t i = 0; *out != NULL && i < n; i++) {
        (*out)[i] = rows[i].domain; /* taken from the summary */
        rows[i].domain = NULL;
    }
    *count = *out ? n : 0;
    ms_store_summary_free(rows, n);
    return *out != NULL;
}


static int run_advise(int argc, char **argv)
{
    advise_args a = {.window_days = 14};
    ms_dmarc_advise_defaults(&a.opt);
    cli_common c;
    int done = cli_parse(argc, argv, &CLI_OPTIONS_dmarc_advise, ADVISE_USAGE,
                         "dmarc advise", &c, advise_option, &a);
    if (done >= 0)
        return done;
    if (a.all && optind != argc)
        return cli_usage_error("dmarc advise", "give either --all or domains, not both");
    if (a.publish && argc - optind != 1)
        return cli_usage_error("dmarc advise", "--publish takes exactly one domain");
    if (a.publish && (done = publish_args_check(&a.p, "dmarc advise")) >= 0)
        return done;
    ms_ctx *ctx = cli_make_ctx(&c);
    if (ctx == NULL)
        return EXIT_UNCHECKED;
    ms_store *store = open_advise_store(&c, &a);
    if (store == NULL) {
        ms_ctx_free(ctx);
        return EXIT_UNCHECKED;
    }
    char **domains = argv + optind, **owned = NULL;
    size_t count = (size_t)(argc - optind);
    if (count == 0 && !store_domains(store, &owned, &count)) {
        fprintf(stderr, "mailsec dmarc advise: reading the store: %s\n", ms_store_error(store));
        ms_store_close(store);
        ms_ctx_free(ctx);
        return EXIT_UNCHECKED;
    }
    if (owned != NULL)
        domains = owned;
    cli_results results;
    cli_results_begin(&results, &c);
    for (size_t i = 0; i < count && !cli_output_failed(); i++)
        advise_domain(&c, ctx, store, &a, domains[i], &results);
    for (size_t i = 0; owned != NULL && i < count; i++)
        free(owned[i]);
    free(owned);
    ms_store_close(store);
    ms_ctx_free(ctx);
    if (count == 0 && !c.json)
        out_text(&c, "No domain in the store: ingest reports first (mailsec report ingest).");
    return cli_results_end(&results, "dmarc advise");
}

int cmd_dmarc(int argc, char **argv)
{
    static const cli_command COMMANDS[] = {{"check", run_check}, {"generate", run_generate}, {"plan", run_plan}, {"advise", run_advise}, {"publish", dmarc_publish_command}};
    return cli_dispatch(argc, argv, GROUP_USAGE, COMMANDS, sizeof COMMANDS / sizeof COMMANDS[0]);
}
