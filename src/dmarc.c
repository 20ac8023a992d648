/* mailsec dmarc: check, generate and plan DMARC records. Argument parsing
 * and rendering only; lib/dmarc does the work. */
#include "cli.h"
#include "commands.h"

#include "mailsec/dmarc.h"
#include "mailsec/dns.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char GROUP_USAGE[] =
    "Usage: mailsec dmarc <command> [options]\n\n"
    "Commands:\n"
    "  check DOMAIN...              look up, check and explain a domain's DMARC record\n"
    "  check --record TEXT [--domain D]  check a record's text without DNS\n"
    "  generate --domain D --policy P [...]  write a record (or zone line) from flags\n"
    "  plan --domain D --rua URI    the staged roll-out p=none -> quarantine -> reject\n\n"
    "'mailsec dmarc <command> --help' for a command's options.\n";

static const char CHECK_USAGE[] =
    "Usage: mailsec dmarc check [options] DOMAIN...\n"
    "       mailsec dmarc check [options] --record TEXT [--domain DOMAIN]\n\n"
    "Looks up _dmarc.DOMAIN, checks the record against RFC 9989 (and what RFC 7489\n"
    "receivers still do), explains it tag by tag, walks the DNS tree as RFC 9989\n"
    "receivers do and compares with the Public Suffix List of RFC 7489, and verifies\n"
    "external report destinations (<domain>._report._dmarc.<destination>, MX).\n\n"
    "Options:\n"
    "  --record TEXT          check this text instead of looking anything up\n"
    "  --domain DOMAIN        with --record: the domain it is for\n\n" CLI_COMMON_HELP;

static const char GENERATE_USAGE[] =
    "Usage: mailsec dmarc generate --domain D --policy none|quarantine|reject [options]\n\n"
    "Options:\n"
    "  --sp POLICY            policy for subdomains\n"
    "  --np POLICY            policy for subdomains that do not exist (RFC 9989)\n"
    "  --pct N                percentage for RFC 7489 receivers (removed in RFC 9989)\n"
    "  --testing y|n          t= tag: test mode for RFC 9989 receivers\n"
    "  --rua URI              aggregate report destination (repeatable, at most 2)\n"
    "  --ruf URI              failure report destination (repeatable, at most 2)\n"
    "  --adkim r|s, --aspf r|s  DKIM / SPF alignment: relaxed or strict\n"
    "  --fo OPTIONS           failure reporting options (0, 1, d, s joined by :)\n"
    "  --psd y|n|u            public suffix domain flag (RFC 9989)\n"
    "  --format record|zone|json  the record, a zone-file line, or JSON (default record)\n"
    "  --ttl SECONDS          TTL of the zone-file line (default 3600)\n\n" CLI_COMMON_HELP;

static const char PLAN_USAGE[] =
    "Usage: mailsec dmarc plan --domain D --rua URI [--rua URI] [options]\n\n"
    "Prints the conservative staged deployment: monitor, then quarantine and reject\n"
    "at 1%, 5%, 10%, 25%, 50% and all, one record per step, with what RFC 7489\n"
    "receivers (pct) and RFC 9989 receivers (t=y) do at each step and what to\n"
    "check before moving on. The plan sets p, pct and t; the other tags are kept\n"
    "in every step's record.\n\n"
    "Options:\n"
    "  --sp POLICY, --np POLICY  policies for subdomains, as in generate\n"
    "  --adkim r|s, --aspf r|s  DKIM / SPF alignment: relaxed or strict\n"
    "  --ruf URI              failure report destination (repeatable, at most 2)\n"
    "  --fo OPTIONS, --psd y|n|u  as in generate\n"
    "  --format record|zone|json  each step's record as text, as a zone-file line,\n"
    "                         or the whole plan as JSON (default record)\n"
    "  --ttl SECONDS          TTL of the zone-file lines (default 3600)\n\n" CLI_COMMON_HELP;

enum {
    OPT_DOMAIN = 1,
    OPT_POLICY,
    OPT_SP,
    OPT_NP,
    OPT_PCT,
    OPT_TESTING,
    OPT_RUA,
    OPT_RUF,
    OPT_ADKIM,
    OPT_ASPF,
    OPT_FO,
    OPT_PSD,
    OPT_FORMAT,
    OPT_TTL
};

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
        json_t *doc = json_document("dmarc check");
        json_t *r = json_object();
        json_object_set_new(r, "domain", json_str_or_null(domain));
        json_object_set_new(r, "record_text", json_string(text));
        json_object_set_new(r, "record", json_record(rec));
        json_object_set_new(r, "explanation", json_explanation(rec, domain));
        json_object_set_new(r, "diagnostics", json_diags(&diags));
        json_t *results = json_array();
        json_array_append_new(results, r);
        json_object_set_new(doc, "results", results);
        json_print(doc, status);
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
        json_object_set_new(step, "dnssec", json_string(ms_dnssec_state_str(s->dnssec)));
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
    static const char *const VERDICTS[] = {"ok", "problems", "unchecked"};
    json_t *r = json_object();
    json_object_set_new(r, "domain", json_string(d->domain));
    json_object_set_new(r, "result", json_string(VERDICTS[status]));
    json_object_set_new(r, "dnssec", json_string(ms_dnssec_state_str(d->dnssec)));
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
                     ms_dns_rcode_str(s->rcode), ms_dnssec_state_str(s->dnssec), s->dmarc_records,
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
        out_field(c, "DNSSEC", "%s", ms_dnssec_state_str(d->dnssec));
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
    static const struct option options[] = {
        CLI_RECORD_LONG_OPTIONS,
        CLI_COMMON_LONG_OPTIONS,
        {NULL, 0, NULL, 0},
    };
    cli_common c;
    cli_record_args a = {NULL, NULL};
    int done = cli_parse(argc, argv, options, CLI_COMMON_SHORT_OPTIONS, CHECK_USAGE, "dmarc check",
                         &c, cli_record_option, &a);
    if (done >= 0)
        return done;
    if (a.record != NULL) {
        if (optind != argc)
            return cli_usage_error("dmarc check", "give either --record or domains, not both");
        return check_text(&c, a.record, a.domain);
    }
    if (a.domain != NULL)
        return cli_usage_error("dmarc check", "--domain goes with --record; give domains as arguments");
    if (optind == argc)
        return cli_usage_error("dmarc check", "which domain? e.g. mailsec dmarc check example.com");
    return check_domains(&c, argv + optind, argc - optind);
}

/* ---- generate ---- */

static int parse_policy(const char *s, ms_dmarc_policy *p)
{
    static const char *const NAMES[] = {"none", "quarantine", "reject"};
    for (int i = 0; i < 3; i++)
        if (strcmp(s, NAMES[i]) == 0) {
            *p = (ms_dmarc_policy)(MS_DMARC_POLICY_NONE + i);
            return 1;
        }
    return 0;
}

static int parse_align(const char *s, ms_dmarc_align *a)
{
    if (strcmp(s, "r") == 0 || strcmp(s, "relaxed") == 0)
        *a = MS_DMARC_ALIGN_RELAXED;
    else if (strcmp(s, "s") == 0 || strcmp(s, "strict") == 0)
        *a = MS_DMARC_ALIGN_STRICT;
    else
        return 0;
    return 1;
}

static int parse_psd(const char *s, ms_dmarc_psd *p)
{
    static const char *const NAMES[] = {"y", "n", "u"};
    for (int i = 0; i < 3; i++)
        if (strcmp(s, NAMES[i]) == 0) {
            *p = (ms_dmarc_psd)(MS_DMARC_PSD_Y + i);
            return 1;
        }
    return 0;
}

static int parse_yes_no(const char *s, int *v)
{
    if (strcmp(s, "y") == 0)
        *v = 1;
    else if (strcmp(s, "n") == 0)
        *v = 0;
    else
        return 0;
    return 1;
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
    return 0;
}

static const struct option GENERATE_OPTIONS[] = {
    {"domain", required_argument, NULL, OPT_DOMAIN},
    {"policy", required_argument, NULL, OPT_POLICY},
    {"p", required_argument, NULL, OPT_POLICY},
    {"sp", required_argument, NULL, OPT_SP},
    {"np", required_argument, NULL, OPT_NP},
    {"pct", required_argument, NULL, OPT_PCT},
    {"testing", required_argument, NULL, OPT_TESTING},
    {"rua", required_argument, NULL, OPT_RUA},
    {"ruf", required_argument, NULL, OPT_RUF},
    {"adkim", required_argument, NULL, OPT_ADKIM},
    {"aspf", required_argument, NULL, OPT_ASPF},
    {"fo", required_argument, NULL, OPT_FO},
    {"psd", required_argument, NULL, OPT_PSD},
    {"format", required_argument, NULL, OPT_FORMAT},
    {"ttl", required_argument, NULL, OPT_TTL},
    CLI_COMMON_LONG_OPTIONS,
    {NULL, 0, NULL, 0},
};

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
    int done = cli_parse(argc, argv, GENERATE_OPTIONS, CLI_COMMON_SHORT_OPTIONS, GENERATE_USAGE,
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

static const struct option PLAN_OPTIONS[] = {
    {"domain", required_argument, NULL, OPT_DOMAIN},
    {"sp", required_argument, NULL, OPT_SP},
    {"np", required_argument, NULL, OPT_NP},
    {"rua", required_argument, NULL, OPT_RUA},
    {"ruf", required_argument, NULL, OPT_RUF},
    {"adkim", required_argument, NULL, OPT_ADKIM},
    {"aspf", required_argument, NULL, OPT_ASPF},
    {"fo", required_argument, NULL, OPT_FO},
    {"psd", required_argument, NULL, OPT_PSD},
    {"format", required_argument, NULL, OPT_FORMAT},
    {"ttl", required_argument, NULL, OPT_TTL},
    CLI_COMMON_LONG_OPTIONS,
    {NULL, 0, NULL, 0},
};

static int run_plan(int argc, char **argv)
{
    generate_args g = {.spec = MS_DMARC_SPEC_INIT, .format = "record", .ttl = 3600};
    cli_common c;
    int done = cli_parse(argc, argv, PLAN_OPTIONS, CLI_COMMON_SHORT_OPTIONS, PLAN_USAGE, "dmarc plan",
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

int cmd_dmarc(int argc, char **argv)
{
    static const cli_command COMMANDS[] = {{"check", run_check}, {"generate", run_generate}, {"plan", run_plan}};
    return cli_dispatch(argc, argv, GROUP_USAGE, COMMANDS, sizeof COMMANDS / sizeof COMMANDS[0]);
}
