/* mailsec cert: lint certificate and key files, and bundle them in the form
 * each server wants. Argument parsing and rendering only; lib/cert does
 * the work. */
#define _GNU_SOURCE /* timegm */
#include "cli.h"
#include "commands.h"
#include "cert_options.h"

#include "mailsec/cert.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

static const char GROUP_USAGE[] =
    "Usage: mailsec cert <command> [options]\n\n"
    "Commands:\n"
    "  lint FILE... [--key KEY] [--host NAME]   check certificate and key files\n"
    "  bundle --cert LEAF [--ca FILE]... --out FILE [--key KEY] [--format F]\n"
    "                                           write the chain file a server wants\n\n"
    "'mailsec cert <command> --help' for a command's options.\n";

static const char LINT_USAGE[] =
    "Usage: mailsec cert lint [options] FILE... [--key KEY] [--host NAME]\n\n"
    "Reads certificate files (PEM; a server's chain file, or the leaf and chain\n"
    "files together, in any order) and checks what a mail server and its clients\n"
    "will make of them: white space, stray text and broken lines in or between\n"
    "PEM blocks (by line number), blocks that do not decode, the chain's order,\n"
    "missing intermediates, a root or unrelated or duplicate certificates sent\n"
    "along, verification, expiry, the host name, weak keys and SHA-1 signatures,\n"
    "the key against the certificate, a key readable by others, and a key inside\n"
    "a file meant to be public.\n\n";

static const char BUNDLE_USAGE[] =
    "Usage: mailsec cert bundle --cert LEAF [--ca FILE]... --out FILE [options]\n\n"
    "Orders the certificates leaf first, then each issuer, whatever order the\n"
    "inputs are in; leaves out the root; rewrites the PEM (64 columns, LF); and\n"
    "writes the file in the form the server wants. A file that holds the key is\n"
    "created with mode 0600. Blank lines inside a block are removed when the\n"
    "rest of the block is intact. Refuses (exit 2, nothing written) a key that\n"
    "does not match the leaf and a chain that does not link, saying why. The\n"
    "chain is checked as 'cert lint' checks it: an expired certificate or a\n"
    "weak key is an error (exit 1, nothing written), one about to expire a\n"
    "warning.\n\n";


/* --at: a fixed clock for the context. */
static time_t fixed_clock(void *arg)
{
    return *(const time_t *)arg;
}

static int parse_date(const char *text, time_t *out)
{
    struct tm tm = {0};
    const char *end = strptime(text, "%Y-%m-%dT%H:%M:%SZ", &tm);
    if (end == NULL || *end != '\0') {
        memset(&tm, 0, sizeof tm);
        end = strptime(text, "%Y-%m-%d", &tm);
        if (end == NULL || *end != '\0')
            return 0;
    }
    *out = timegm(&tm);
    return *out != (time_t)-1;
}

/* ---- lint ---- */

typedef struct lint_args {
    ms_cert_lint_opts opts;
    int have_at;
    time_t at;
} lint_args;

/* --days-warning N: 1 to 3650. */
static int parse_days(const char *text, int *out)
{
    char *end;
    errno = 0;
    long n = strtol(text, &end, 10);
    if (errno || *end || n < 1 || n > 3650)
        return 0;
    *out = (int)n;
    return 1;
}

static int lint_option(void *arg, int opt, const char *value)
{
    lint_args *a = arg;
    switch (opt) {
    case OPT_KEY: a->opts.key_file = value; return 1;
    case OPT_HOST: a->opts.host = value; return 1;
    case OPT_CA: a->opts.ca_file = value; return 1;
    case OPT_DAYS_WARNING: return parse_days(value, &a->opts.days_warning);
    case OPT_AT:
        a->have_at = 1;
        return parse_date(value, &a->at);
    default: return CLI_OPTION_UNHANDLED;
    }
}

static json_t *json_names(const char *names)
{
    json_t *a = json_array();
    char *copy = names ? strdup(names) : NULL;
    for (char *save = NULL, *tok = copy ? strtok_r(copy, " ", &save) : NULL; tok;
         tok = strtok_r(NULL, " ", &save))
        json_array_append_new(a, json_string(tok));
    free(copy);
    return a;
}

static json_t *json_leaf(const ms_cert_chain_info *i)
{
    json_t *o = json_cert_info(i);
    json_object_set_new(o, "names", json_names(i->names));
    return o;
}

static void print_leaf(const cli_common *c, const ms_cert_chain_info *i)
{
    out_field(c, "leaf", "%s", i->subject);
    out_field(c, "issuer", "%s", i->issuer);
    out_field(c, "names", "%s", i->names && *i->names ? i->names : "(no DNS names)");
    out_field(c, "valid", "%s to %s (%ld days left)", i->not_before, i->not_after, i->days_left);
    out_field(c, "key", "%s %d bits", i->key_type, i->key_bits);
    out_field(c, "signature", "%s", i->signature_algorithm);
    out_field(c, "SHA-256", "%s", i->fingerprint_sha256);
    out_field(c, "chain", "%zu certificate%s, %s", i->sent, i->sent == 1 ? "" : "s",
              i->verified ? "verified" : "not verified");
}

static int run_lint(int argc, char **argv)
{
    cli_common c;
    lint_args a = {0};
    int done = cli_parse(argc, argv, &CLI_OPTIONS_cert_lint, LINT_USAGE, "cert lint", &c,
                         lint_option, &a);
    if (done >= 0)
        return done;
    if (optind == argc)
        return cli_usage_error("cert lint", "give at least one certificate file");
    ms_ctx *ctx = cli_make_ctx(&c);
    if (ctx == NULL)
        return EXIT_UNCHECKED;
    if (a.have_at)
        ms_ctx_set_clock(ctx, fixed_clock, &a.at);

    const char *const *files = (const char *const *)argv + optind;
    size_t count = (size_t)(argc - optind);
    ms_cert_lint_result r;
    ms_diag_list diags = MS_DIAG_LIST_INIT;
    ms_status st = ms_cert_lint(ctx, files, count, &a.opts, &r, &diags);
    ms_ctx_free(ctx);
    int unchecked = st != MS_OK;
    if (unchecked)
        fprintf(stderr, "mailsec cert lint: %s\n", r.error ? r.error : ms_status_str(st));
    int status = cli_exit_status(&diags, unchecked);

    if (c.json) {
        json_t *o = json_object();
        json_t *names = json_array();
        for (size_t i = 0; i < count; i++)
            json_array_append_new(names, json_string(files[i]));
        json_object_set_new(o, "files", names);
        json_object_set_new(o, "key_file", json_str_or_null(a.opts.key_file));
        json_object_set_new(o, "host", json_str_or_null(a.opts.host));
        json_object_set_new(o, "certificates", json_integer((json_int_t)r.certificates));
        json_object_set_new(o, "keys", json_integer((json_int_t)r.keys));
        int have_leaf = !unchecked && r.chain.subject != NULL;
        json_object_set_new(o, "leaf", have_leaf ? json_leaf(&r.chain) : json_null());
        json_object_set_new(o, "verified", json_boolean(have_leaf && r.chain.verified));
        json_object_set_new(o, "error", json_str_or_null(r.error));
        json_object_set_new(o, "diagnostics", json_diags(&diags));
        json_print_result("cert lint", o, status);
    } else if (!unchecked) {
        out_heading(&c, "Certificate files: %zu file%s, %zu certificate%s, %zu key%s", count,
                    count == 1 ? "" : "s", r.certificates, r.certificates == 1 ? "" : "s", r.keys,
                    r.keys == 1 ? "" : "s");
        if (r.chain.subject != NULL && !c.quiet)
            print_leaf(&c, &r.chain);
        out_text(&c, "\nChecks");
        if (diags.count == 0)
            out_ok(&c, "no findings");
        out_diags(&c, &diags);
        out_summary(&c, &diags, 0);
    }
    ms_cert_lint_result_free(&r);
    ms_diag_list_free(&diags);
    return status;
}

/* ---- bundle ---- */

enum { MAX_CA_FILES = 16 };

typedef struct bundle_args {
    ms_cert_bundle_opts opts;
    const char *ca[MAX_CA_FILES];
    const char *out;
} bundle_args;

static const cli_name FORMATS[] = {
    {"fullchain", MS_CERT_BUNDLE_FULLCHAIN},
    {"postfix-chain", MS_CERT_BUNDLE_POSTFIX_CHAIN},
    {"dovecot", MS_CERT_BUNDLE_DOVECOT},
    {"combined", MS_CERT_BUNDLE_COMBINED},
    {NULL, 0},
};

static const char *format_name(ms_cert_bundle_format f)
{
    for (const cli_name *n = FORMATS; n->name != NULL; n++)
        if (n->value == (int)f)
            return n->name;
    return "?";
}

static int bundle_option(void *arg, int opt, const char *value)
{
    bundle_args *a = arg;
    switch (opt) {
    case OPT_CERT: a->opts.cert_file = value; return 1;
    case OPT_KEY: a->opts.key_file = value; return 1;
    case OPT_OUT: a->out = value; return 1;
    case OPT_DAYS_WARNING: return parse_days(value, &a->opts.days_warning);
    case OPT_CA:
        if (a->opts.ca_count >= MAX_CA_FILES)
            return 0;
        a->ca[a->opts.ca_count++] = value;
        return 1;
    case OPT_FORMAT: {
        int f = cli_name_value(value, FORMATS, -1);
        if (f >= 0)
            a->opts.format = (ms_cert_bundle_format)f;
        return f >= 0;
    }
    default: return CLI_OPTION_UNHANDLED;
    }
}

/* The mode the written file has: a file replaced keeps its own (docs/cert.md),
 * so it is read back rather than assumed. */
static void written_mode(const char *path, char mode[8])
{
    struct stat sb;
    if (stat(path, &sb) == 0)
        snprintf(mode, 8, "%04o", (unsigned)(sb.st_mode & 07777));
    else
        snprintf(mode, 8, "?");
}

/* The findings about the inputs, then those about the chain. The inputs'
 * advice is left out: what was written is already repaired, and it would
 * point to this very command. */
static json_t *bundle_json_diags(const ms_diag_list *inputs, const ms_diag_list *chain)
{
    json_t *all = json_diags(inputs);
    size_t i;
    json_t *item;
    json_array_foreach(all, i, item)
        json_object_set_new(item, "advice", json_null());
    json_t *about_chain = json_diags(chain);
    json_array_extend(all, about_chain);
    json_decref(about_chain);
    return all;
}

static void print_bundle_json(const bundle_args *a, const ms_cert_bundle_result *r,
                              const ms_diag_list *diags, const char *error, int written, int status)
{
    char mode[8];
    written_mode(a->out, mode);
    json_t *o = json_object();
    json_object_set_new(o, "out", json_string(a->out));
    json_object_set_new(o, "format", json_string(format_name(a->opts.format)));
    json_object_set_new(o, "written", json_boolean(written));
    json_object_set_new(o, "intermediates", json_integer((json_int_t)r->intermediates));
    json_object_set_new(o, "root_left_out", json_boolean(r->root_left_out));
    json_object_set_new(o, "has_key", json_boolean(r->has_key));
    json_object_set_new(o, "mode", written ? json_string(mode) : json_null());
    json_object_set_new(o, "error", json_str_or_null(error));
    json_object_set_new(o, "diagnostics", bundle_json_diags(diags, &r->chain_findings));
    json_print_result("cert bundle", o, status);
}

/* The findings about the inputs, without advice: what was written is
 * already repaired (and the advice would point to this very command). */
static void print_input_findings(const cli_common *c, const ms_diag_list *diags, int written)
{
    if (diags->count == 0)
        return;
    out_text(c, written ? "\nRepaired in the file written (the input files are unchanged)" : "\nIn the inputs");
    for (int sev = MS_SEV_ERROR; sev >= MS_SEV_INFO; sev--)
        for (size_t i = 0; i < diags->count; i++) {
            const ms_diag *d = &diags->items[i];
            if ((int)d->def->severity != sev)
                continue;
            if (written)
                out_ok(c, "%s [%s]", d->message, d->def->code);
            else
                out_item(c, d->def->severity, "%s [%s]", d->message, d->def->code);
        }
}

static void print_bundle(const cli_common *c, const bundle_args *a, const ms_cert_bundle_result *r,
                         const ms_diag_list *diags, int written)
{
    if (!written) {
        out_heading(c, "Not written: %s (%s): the chain has errors", a->out, format_name(a->opts.format));
        out_diags(c, &r->chain_findings);
        print_input_findings(c, diags, 0);
        return;
    }
    out_heading(c, "Wrote %s (%s)", a->out, format_name(a->opts.format));
    int postfix = a->opts.format == MS_CERT_BUNDLE_POSTFIX_CHAIN, combined = a->opts.format == MS_CERT_BUNDLE_COMBINED;
    out_ok(c, "%sleaf, %zu intermediate%s%s", r->has_key && postfix ? "key, " : "", r->intermediates,
           r->intermediates == 1 ? "" : "s", r->has_key && combined ? ", key" : "");
    if (r->root_left_out)
        out_ok(c, "the root is left out (clients have their own)");
    char mode[8];
    written_mode(a->out, mode);
    out_ok(c, "mode %s%s", mode, r->has_key ? " (it holds the private key)" : "");
    out_diags(c, &r->chain_findings);
    print_input_findings(c, diags, 1);
}

static int run_bundle(int argc, char **argv)
{
    cli_common c;
    bundle_args a = {0};
    a.opts.ca_files = a.ca;
    int done = cli_parse(argc, argv, &CLI_OPTIONS_cert_bundle, BUNDLE_USAGE, "cert bundle",
                         &c, bundle_option, &a);
    if (done >= 0)
        return done;
    if (optind != argc)
        return cli_usage_error("cert bundle", "unexpected argument \"%s\"", argv[optind]);
    if (a.opts.cert_file == NULL || a.out == NULL)
        return cli_usage_error("cert bundle", "give --cert LEAF and --out FILE");
    ms_ctx *ctx = cli_make_ctx(&c);
    if (ctx == NULL)
        return EXIT_UNCHECKED;
    ms_cert_bundle_result r;
    ms_diag_list diags = MS_DIAG_LIST_INIT;
    ms_status st = ms_cert_bundle(ctx, &a.opts, &r, &diags);
    ms_ctx_free(ctx);
    char *error = NULL;
    int written = 0;
    if (st == MS_OK && r.pem != NULL) {
        st = ms_cert_write_file(a.out, r.pem, strlen(r.pem), r.has_key, &error);
        written = st == MS_OK;
    }
    const char *why = r.error ? r.error : error;
    /* Errors in the chain (r.pem NULL) are problems found: exit 1. */
    int status = st != MS_OK ? EXIT_UNCHECKED : cli_exit_status(&r.chain_findings, 0);
    if (st != MS_OK)
        fprintf(stderr, "mailsec cert bundle: %s\n", why ? why : ms_status_str(st));
    if (c.json)
        print_bundle_json(&a, &r, &diags, why, written, status);
    else if (st == MS_OK)
        print_bundle(&c, &a, &r, &diags, written);
    free(error);
    ms_cert_bundle_result_free(&r);
    ms_diag_list_free(&diags);
    return status;
}

int cmd_cert(int argc, char **argv)
{
    static const cli_command COMMANDS[] = {{"lint", run_lint}, {"bundle", run_bundle}};
    return cli_dispatch(argc, argv, GROUP_USAGE, COMMANDS, sizeof COMMANDS / sizeof COMMANDS[0]);
}
