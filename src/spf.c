/* mailsec spf: check a domain's SPF record (fetch, parse, lint, the
 * include/redirect tree with its lookup count) and evaluate check_host()
 * for a client. Argument parsing and rendering only; lib/spf does the work. */
#include "cli.h"
#include "commands.h"
#include "spf_options.h"

#include "mailsec/dns.h"
#include "mailsec/spf.h"

#include <stdlib.h>
#include <string.h>

static const char GROUP_USAGE[] =
    "Usage: mailsec spf <command> [options]\n\n"
    "Commands:\n"
    "  check DOMAIN...        fetch and lint SPF records; the include/redirect tree\n"
    "                         with the DNS lookups each term adds (limit 10, void 2)\n"
    "  check --record TEXT --domain D   lint this text as D's record\n"
    "  eval --ip IP --sender ADDR [--helo NAME]   RFC 7208 check_host(): the result,\n"
    "                         the explanation and the terms that decided it\n\n"
    "'mailsec spf <command> --help' for a command's options.\n";

static const char CHECK_USAGE[] =
    "Usage: mailsec spf check [options] DOMAIN...\n"
    "       mailsec spf check [options] --record TEXT --domain DOMAIN\n\n"
    "Fetches the domain's SPF record and every include/redirect target (all lookups\n"
    "that do not depend on each other at once), checks the syntax with byte\n"
    "positions, and counts the DNS-querying terms and void lookups the way RFC 7208\n"
    "receivers count them, shown as a tree.\n\n";

static const char EVAL_USAGE[] =
    "Usage: mailsec spf eval --ip IP --sender ADDRESS [--helo NAME] [options]\n\n"
    "Runs RFC 7208 check_host() for a client and prints the result, the\n"
    "explanation (for fail) and the path of terms that decided it.\n\n"
    "Exit status: 0 pass; 1 fail, softfail, neutral, none or permerror;\n"
    "2 temperror or could not check.\n\n";

/* ---- check: rendering ---- */

static void print_node(const cli_common *c, const ms_spf_node *n, int indent, unsigned guard)
{
    if (n->text != NULL)
        out_text(c, "%*s%s  \"%s\"  (%u)", indent, "", n->domain, n->text, n->lookups);
    else if (n->rcode != MS_DNS_NOERROR && n->rcode != MS_DNS_NODATA && n->rcode != MS_DNS_NXDOMAIN)
        out_text(c, "%*s%s  (TXT lookup: %s)", indent, "", n->domain, ms_dns_rcode_str(n->rcode));
    else
        out_text(c, "%*s%s  (no SPF record)", indent, "", n->domain);
    for (size_t i = 0; i < n->ncounts && guard < MS_SPF_MAX_TREE_NODES; i++) {
        const ms_spf_count *cnt = &n->counts[i];
        const ms_spf_term *t = &n->record->terms[cnt->term];
        char extra[96] = "";
        if (cnt->failed == -1)
            snprintf(extra, sizeof extra, "  loop");
        else if (t->has_macro)
            snprintf(extra, sizeof extra, "  depends on the message");
        else if (cnt->void4 && cnt->void6)
            snprintf(extra, sizeof extra, "  void lookup");
        else if (cnt->void6)
            snprintf(extra, sizeof extra, "  void for IPv6 clients (no AAAA)");
        else if (cnt->void4)
            snprintf(extra, sizeof extra, "  void for IPv4 clients (no A)");
        out_text(c, "%*s  %-40s +%u%s", indent, "", t->text, cnt->lookups, extra);
        if (cnt->child != NULL)
            print_node(c, cnt->child, indent + 4, guard + 1);
    }
}

static void print_check(const cli_common *c, const ms_spf_check *chk)
{
    out_heading(c, "SPF for %s", chk->domain);
    const ms_spf_node *r = chk->root;
    out_field(c, "record", "%s", r->text != NULL ? r->text : "none");
    if (r->text != NULL) {
        out_field(c, "lookups", "%u of %d DNS-querying terms", chk->lookups, MS_SPF_MAX_DNS_TERMS);
        out_field(c, "void", "%u of %d void lookups for IPv4 clients, %u for IPv6 clients",
                  r->voids4, MS_SPF_MAX_VOID, r->voids6);
        out_field(c, "queries", "%lu DNS queries in %u round%s", chk->queries, chk->rounds,
                  chk->rounds == 1 ? "" : "s");
    }
    if (r->record != NULL && r->record->valid && !c->quiet) {
        out_text(c, "\nInclude/redirect tree (what each term adds to the 10-lookup count)");
        print_node(c, r, 2, 0);
    }
    out_text(c, "\nChecks");
    if (chk->diags.count == 0)
        out_ok(c, "no findings");
    out_diags(c, &chk->diags);
    out_summary(c, &chk->diags, chk->could_not_check);
}

static json_t *json_node(const ms_spf_node *n, unsigned guard)
{
    json_t *o = json_object();
    json_object_set_new(o, "domain", json_string(n->domain));
    json_object_set_new(o, "via", json_str_or_null(n->via));
    json_object_set_new(o, "rcode", json_string(ms_dns_rcode_str(n->rcode)));
    json_object_set_new(o, "record", json_str_or_null(n->text));
    json_object_set_new(o, "spf_records", json_integer((json_int_t)n->spf_records));
    json_object_set_new(o, "valid", json_boolean(n->record != NULL && n->record->valid));
    json_object_set_new(o, "lookups", json_integer(n->lookups));
    json_t *terms = json_array();
    for (size_t i = 0; i < n->ncounts && guard < MS_SPF_MAX_TREE_NODES; i++) {
        const ms_spf_count *cnt = &n->counts[i];
        const ms_spf_term *t = &n->record->terms[cnt->term];
        json_t *to = json_object();
        json_object_set_new(to, "term", json_string(t->text));
        json_object_set_new(to, "offset", json_integer(t->offset));
        json_object_set_new(to, "adds", json_integer(cnt->lookups));
        json_object_set_new(to, "void_ipv4", json_boolean(cnt->void4));
        json_object_set_new(to, "void_ipv6", json_boolean(cnt->void6));
        json_object_set_new(to, "loop", json_boolean(cnt->failed == -1));
        json_object_set_new(to, "macro", json_boolean(t->has_macro));
        json_object_set_new(to, "target", cnt->child ? json_node(cnt->child, guard + 1) : json_null());
        json_array_append_new(terms, to);
    }
    json_object_set_new(o, "terms", terms);
    return o;
}

static json_t *json_check(const ms_spf_check *chk, int status)
{
    json_t *o = json_object();
    json_object_set_new(o, "domain", json_string(chk->domain));
    json_object_set_new(o, "status", json_string(cli_verdict(status)));
    json_object_set_new(o, "record", json_str_or_null(chk->root->text));
    json_object_set_new(o, "lookups", json_integer(chk->lookups));
    json_object_set_new(o, "lookup_limit", json_integer(MS_SPF_MAX_DNS_TERMS));
    json_object_set_new(o, "void_lookups", json_integer(chk->voids));
    json_object_set_new(o, "void_lookups_ipv4", json_integer(chk->root->voids4));
    json_object_set_new(o, "void_lookups_ipv6", json_integer(chk->root->voids6));
    json_object_set_new(o, "void_limit", json_integer(MS_SPF_MAX_VOID));
    json_object_set_new(o, "dns_queries", json_integer((json_int_t)chk->queries));
    json_object_set_new(o, "dns_rounds", json_integer(chk->rounds));
    json_object_set_new(o, "tree", json_node(chk->root, 0));
    json_object_set_new(o, "diagnostics", json_diags(&chk->diags));
    return o;
}

static void check_one(const cli_common *c, ms_ctx *ctx, const char *domain, const char *record,
                      cli_results *results)
{
    ms_spf_check *chk = NULL;
    ms_status st = ms_spf_check_domain(ctx, domain, record, &chk);
    if (st != MS_OK) {
        fprintf(stderr, "mailsec spf check: %s: %s\n", domain, ms_status_str(st));
        cli_results_add(results, EXIT_UNCHECKED, NULL);
        return;
    }
    int status = cli_exit_status(&chk->diags, chk->could_not_check);
    cli_results_separate(results);
    if (!c->json)
        print_check(c, chk);
    cli_results_add(results, status, c->json ? json_check(chk, status) : NULL);
    ms_spf_check_free(chk);
}

static int run_check(int argc, char **argv)
{
    cli_common c;
    cli_record_args a;
    int done = cli_record_parse(argc, argv, &CLI_OPTIONS_spf_check, CHECK_USAGE, "spf check", &c, &a);
    if (done >= 0)
        return done;
    if (a.record != NULL && (a.domain == NULL || optind != argc))
        return cli_usage_error("spf check", "--record goes with --domain and no other domains");
    ms_ctx *ctx = cli_make_ctx(&c);
    if (ctx == NULL)
        return EXIT_UNCHECKED;
    cli_results results;
    cli_results_begin(&results, &c);
    if (a.record != NULL)
        check_one(&c, ctx, a.domain, a.record, &results);
    for (int i = optind; a.record == NULL && i < argc; i++)
        check_one(&c, ctx, argv[i], NULL, &results);
    ms_ctx_free(ctx);
    return cli_results_end(&results, "spf check");
}

/* ---- eval ---- */

static int eval_status(ms_spf_result r)
{
    if (r == MS_SPF_PASS)
        return EXIT_CLEAN;
    return r == MS_SPF_TEMPERROR ? EXIT_UNCHECKED : EXIT_PROBLEMS;
}

static void print_eval(const cli_common *c, const ms_spf_request *req, const ms_spf_eval *ev)
{
    out_heading(c, "SPF check_host() for %s", ev->domain);
    out_field(c, "client", "%s", req->ip);
    out_field(c, "sender", "%s", req->sender[0] ? req->sender : "<> (null sender: HELO checked)");
    if (req->helo != NULL)
        out_field(c, "helo", "%s", req->helo);
    if (ev->result == MS_SPF_PASS)
        out_ok(c, "result: pass");
    else
        out_item(c, ev->result == MS_SPF_FAIL || ev->result == MS_SPF_PERMERROR ? MS_SEV_ERROR : MS_SEV_WARNING,
                 "result: %s", ms_spf_result_str(ev->result));
    if (ev->explanation != NULL)
        out_field(c, "explanation", "%s%s", ev->explanation, ev->explanation_from_exp ? "" : " (default; no exp=)");
    if (ev->reason != NULL && ev->result != MS_SPF_PASS)
        out_field(c, "why", "%s", ev->reason);
    out_field(c, "lookups", "%u of %d DNS-querying terms, %u of %d void lookups, %lu DNS queries",
              ev->dns_terms, MS_SPF_MAX_DNS_TERMS, ev->void_lookups, MS_SPF_MAX_VOID, ev->queries);
    if (ev->path_count > 0) {
        out_text(c, "\nPath");
        for (size_t i = 0; i < ev->path_count; i++) {
            const ms_spf_step *s = &ev->path[i];
            out_text(c, "  %*s%s: %s%s%s", (int)(2 * s->depth), "", s->domain, s->term ? s->term : "",
                     s->term ? " -> " : "", s->note);
        }
    }
}

static json_t *json_eval(const ms_spf_request *req, const ms_spf_eval *ev)
{
    json_t *o = json_object();
    json_object_set_new(o, "domain", json_string(ev->domain));
    json_object_set_new(o, "ip", json_string(req->ip));
    json_object_set_new(o, "sender", json_string(req->sender));
    json_object_set_new(o, "helo", json_str_or_null(req->helo));
    json_object_set_new(o, "spf_result", json_string(ms_spf_result_str(ev->result)));
    json_object_set_new(o, "explanation", json_str_or_null(ev->explanation));
    json_object_set_new(o, "explanation_from_exp", json_boolean(ev->explanation_from_exp));
    json_object_set_new(o, "reason", json_str_or_null(ev->reason));
    json_object_set_new(o, "lookups", json_integer(ev->dns_terms));
    json_object_set_new(o, "void_lookups", json_integer(ev->void_lookups));
    json_object_set_new(o, "dns_queries", json_integer((json_int_t)ev->queries));
    json_t *path = json_array();
    for (size_t i = 0; i < ev->path_count; i++) {
        json_t *s = json_object();
        json_object_set_new(s, "depth", json_integer(ev->path[i].depth));
        json_object_set_new(s, "domain", json_string(ev->path[i].domain));
        json_object_set_new(s, "term", json_str_or_null(ev->path[i].term));
        json_object_set_new(s, "note", json_string(ev->path[i].note));
        json_array_append_new(path, s);
    }
    json_object_set_new(o, "path", path);
    return o;
}

static int eval_option(void *arg, int opt, const char *value)
{
    ms_spf_request *req = arg;
    switch (opt) {
    case OPT_IP: req->ip = value; return 1;
    case OPT_SENDER: req->sender = value; return 1;
    case OPT_HELO: req->helo = value; return 1;
    case OPT_RECEIVER: req->receiver = value; return 1;
    }
    return CLI_OPTION_UNHANDLED;
}

static int run_eval(int argc, char **argv)
{
    cli_common c;
    ms_spf_request req = {0};
    int done = cli_parse(argc, argv, &CLI_OPTIONS_spf_eval, EVAL_USAGE, "spf eval", &c,
                         eval_option, &req);
    if (done >= 0)
        return done;
    if (optind != argc)
        return cli_usage_error("spf eval", "unexpected argument \"%s\"", argv[optind]);
    if (req.ip == NULL || req.sender == NULL)
        return cli_usage_error("spf eval", "--ip and --sender are required (--sender \"\" for the null sender)");
    if (req.sender[0] == '\0' && (req.helo == NULL || req.helo[0] == '\0'))
        return cli_usage_error("spf eval", "the null sender needs --helo");
    ms_ctx *ctx = cli_make_ctx(&c);
    if (ctx == NULL)
        return EXIT_UNCHECKED;
    ms_spf_eval *ev = NULL;
    ms_status st = ms_spf_eval_host(ctx, &req, &ev);
    int status;
    if (st == MS_ERR_INVALID) {
        ms_ctx_free(ctx);
        return cli_usage_error("spf eval", "\"%s\" is not an IP address", req.ip);
    } else if (st != MS_OK) {
        fprintf(stderr, "mailsec spf eval: %s\n", ms_status_str(st));
        status = EXIT_UNCHECKED;
    } else {
        status = eval_status(ev->result);
        if (c.json) {
            json_t *doc = json_document("spf eval");
            json_object_set_new(doc, "results", json_pack("[o]", json_eval(&req, ev)));
            json_print(doc, status);
        } else {
            print_eval(&c, &req, ev);
        }
    }
    ms_spf_eval_free(ev);
    ms_ctx_free(ctx);
    return status;
}

int cmd_spf(int argc, char **argv)
{
    static const cli_command COMMANDS[] = {{"check", run_check}, {"eval", run_eval}};
    return cli_dispatch(argc, argv, GROUP_USAGE, COMMANDS, sizeof COMMANDS / sizeof COMMANDS[0]);
}
