/* mailsec dkim: check selectors' key records and verify messages'
 * signatures. Argument parsing and rendering only; lib/dkim does the work. */
#include "cli.h"
#include "commands.h"

#include "mailsec/dkim.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static const char GROUP_USAGE[] =
    "Usage: mailsec dkim <command> [options]\n\n"
    "Commands:\n"
    "  check DOMAIN --selector S...  fetch and lint SELECTOR._domainkey.DOMAIN key records\n"
    "  check --record TEXT           lint a key record's text without DNS\n"
    "  verify FILE...                verify every DKIM-Signature of messages (- for stdin)\n\n"
    "'mailsec dkim <command> --help' for a command's options.\n";

static const char CHECK_USAGE[] =
    "Usage: mailsec dkim check [options] DOMAIN --selector S [--selector S...]\n"
    "       mailsec dkim check [options] --record TEXT\n\n"
    "Looks up each SELECTOR._domainkey.DOMAIN TXT record (all at once) and checks it\n"
    "against RFC 6376, RFC 8301 and RFC 8463: version, key type, that p= decodes to a\n"
    "key (RSA under 1024 bits is an error, under 2048 a warning), revoked keys, the\n"
    "t=, h= and s= tags, and unknown tags.\n\n"
    "Options:\n"
    "  -s, --selector S       a selector to check (repeatable, or comma-separated)\n"
    "  --record TEXT          check this key record text instead of looking it up\n\n" CLI_COMMON_HELP;

static const char VERIFY_USAGE[] =
    "Usage: mailsec dkim verify [options] FILE...\n\n"
    "Verifies every DKIM-Signature of each message (RFC 6376; ed25519-sha256 per\n"
    "RFC 8463) with keys from DNS, and gives a result and a reason for each:\n"
    "pass, fail (body or signature does not verify, or expired), permerror (the\n"
    "signature or key is unusable) or temperror (the key could not be fetched).\n"
    "rsa-sha1 signatures are refused (permerror, RFC 8301).\n"
    "Files may end lines with LF or CRLF; \"-\" reads standard input.\n\n"
    "Options:\n"
    "  --allow-sha1           verify rsa-sha1 signatures instead of refusing them\n"
    "                         (old archives; RFC 8301 forbids accepting them)\n\n" CLI_COMMON_HELP;

enum { OPT_RECORD = 1, OPT_SELECTOR, OPT_ALLOW_SHA1 };

/* l=, t=, x= saturate at 2^64-1; JSON integers are signed 64-bit */
static json_t *json_u64(int has, uint64_t v)
{
    return has && v <= INT64_MAX ? json_integer((json_int_t)v) : json_null();
}

static json_t *json_key(const ms_dkim_key *k)
{
    if (k == NULL)
        return json_null();
    json_t *o = json_object();
    json_object_set_new(o, "usable", json_boolean(k->usable));
    json_object_set_new(o, "v", json_str_or_null(k->v));
    json_object_set_new(o, "k", json_str_or_null(k->k));
    json_object_set_new(o, "type", json_string(ms_dkim_key_type_str(k->type)));
    json_object_set_new(o, "bits", k->key_bits ? json_integer(k->key_bits) : json_null());
    json_object_set_new(o, "h", json_str_or_null(k->h));
    json_object_set_new(o, "s", json_str_or_null(k->s));
    json_object_set_new(o, "t", json_str_or_null(k->t));
    json_object_set_new(o, "testing", json_boolean(k->testing));
    json_object_set_new(o, "strict", json_boolean(k->strict));
    json_object_set_new(o, "revoked", json_boolean(k->revoked));
    json_object_set_new(o, "n", json_str_or_null(k->n));
    return o;
}

static void print_key(const cli_common *c, const ms_dkim_key *k)
{
    if (k == NULL || c->quiet)
        return;
    if (k->revoked)
        out_field(c, "key", "revoked (empty p=)");
    else if (k->pkey)
        out_field(c, "key", "%s, %u bits%s%s", ms_dkim_key_type_str(k->type), k->key_bits,
                  k->testing ? ", testing (t=y)" : "", k->strict ? ", strict (t=s)" : "");
}

/* ---- check ---- */

static int check_record(const cli_common *c, const char *text)
{
    ms_diag_list diags = MS_DIAG_LIST_INIT;
    ms_dkim_key *key = NULL;
    ms_status st = ms_dkim_key_parse(text, strlen(text), NULL, &key, &diags);
    if (st != MS_OK) {
        fprintf(stderr, "mailsec dkim check: %s\n", ms_status_str(st));
        ms_diag_list_free(&diags);
        return EXIT_UNCHECKED;
    }
    int status = cli_exit_status(&diags, 0);
    if (c->json) {
        json_t *doc = json_document("dkim check");
        json_t *r = json_object();
        json_object_set_new(r, "record_text", json_string(text));
        json_object_set_new(r, "key", json_key(key));
        json_object_set_new(r, "diagnostics", json_diags(&diags));
        json_t *results = json_array();
        json_array_append_new(results, r);
        json_object_set_new(doc, "results", results);
        json_print(doc, status);
    } else {
        out_heading(c, "DKIM key record");
        out_field(c, "record", "%s", text);
        print_key(c, key);
        out_text(c, "\nChecks");
        if (diags.count == 0)
            out_ok(c, "no findings");
        out_diags(c, &diags);
        out_summary(c, &diags, 0);
    }
    ms_dkim_key_free(key);
    ms_diag_list_free(&diags);
    return status;
}

static int check_domain(const cli_common *c, const char *domain, const char *const *selectors,
                        size_t count)
{
    ms_ctx *ctx = cli_make_ctx(c);
    if (ctx == NULL)
        return EXIT_UNCHECKED;
    ms_dkim_check_result *r = NULL;
    ms_status st = ms_dkim_check(ctx, domain, selectors, count, &r);
    ms_ctx_free(ctx);
    if (st != MS_OK) {
        fprintf(stderr, "mailsec dkim check: %s: %s\n", domain, ms_status_str(st));
        return EXIT_UNCHECKED;
    }
    ms_diag_list all = MS_DIAG_LIST_INIT;
    for (size_t i = 0; i < r->count; i++)
        for (size_t k = 0; k < r->items[i].diags.count; k++) {
            const ms_diag *d = &r->items[i].diags.items[k];
            ms_diag_add(&all, d->def, d->location, d->offset, "%s", d->message);
        }
    int status = cli_exit_status(&all, r->unchecked);
    if (c->json) {
        json_t *doc = json_document("dkim check");
        json_t *results = json_array();
        for (size_t i = 0; i < r->count; i++) {
            const ms_dkim_selector_check *s = &r->items[i];
            json_t *o = json_object();
            json_object_set_new(o, "domain", json_string(r->domain));
            json_object_set_new(o, "selector", json_string(s->selector));
            json_object_set_new(o, "name", json_string(s->name));
            json_object_set_new(o, "rcode", json_string(ms_dns_rcode_str(s->rcode)));
            json_object_set_new(o, "dnssec", json_string(ms_dns_dnssec_state_str(s->dnssec)));
            json_object_set_new(o, "record_text", json_str_or_null(s->record));
            json_object_set_new(o, "key", json_key(s->key));
            json_object_set_new(o, "diagnostics", json_diags(&s->diags));
            json_array_append_new(results, o);
        }
        json_object_set_new(doc, "results", results);
        json_print(doc, status);
    } else {
        for (size_t i = 0; i < r->count; i++) {
            const ms_dkim_selector_check *s = &r->items[i];
            if (i > 0)
                out_text(c, "%s", "");
            out_heading(c, "DKIM selector %s for %s", s->selector, r->domain);
            out_field(c, "name", "%s", s->name);
            out_field(c, "record", "%s", s->record ? s->record : "(none)");
            if (s->record)
                out_field(c, "DNSSEC", "%s", ms_dns_dnssec_state_str(s->dnssec));
            print_key(c, s->key);
            if (s->diags.count == 0)
                out_ok(c, "no findings");
            out_diags(c, &s->diags);
        }
        out_summary(c, &all, r->unchecked);
    }
    ms_diag_list_free(&all);
    ms_dkim_check_result_free(r);
    return status;
}

/* Selectors from repeated or comma-separated --selector values. */
typedef struct selector_list {
    char **items;
    size_t count;
} selector_list;

static int add_selectors(selector_list *l, const char *arg)
{
    char *copy = strdup(arg);
    if (copy == NULL)
        return 0;
    for (char *save = NULL, *tok = strtok_r(copy, ", ", &save); tok;
         tok = strtok_r(NULL, ", ", &save)) {
        char **n = realloc(l->items, (l->count + 1) * sizeof *n);
        if (n == NULL || (n[l->count] = strdup(tok)) == NULL) {
            if (n)
                l->items = n;
            free(copy);
            return 0;
        }
        l->items = n;
        l->count++;
    }
    free(copy);
    return 1;
}

static void free_selectors(selector_list *l)
{
    for (size_t i = 0; i < l->count; i++)
        free(l->items[i]);
    free(l->items);
}

typedef struct check_args {
    const char *record;
    selector_list selectors;
} check_args;

static int check_option(void *arg, int opt, const char *value)
{
    check_args *a = arg;
    if (opt == OPT_RECORD)
        a->record = value;
    else if (opt == OPT_SELECTOR || opt == 's')
        return add_selectors(&a->selectors, value);
    else
        return 0;
    return 1;
}

static int run_check(int argc, char **argv)
{
    static const struct option options[] = {
        {"selector", required_argument, NULL, OPT_SELECTOR},
        {"record", required_argument, NULL, OPT_RECORD},
        CLI_COMMON_LONG_OPTIONS,
        {NULL, 0, NULL, 0},
    };
    cli_common c;
    check_args a = {NULL, {NULL, 0}};
    int status = cli_parse(argc, argv, options, CLI_COMMON_SHORT_OPTIONS "s:", CHECK_USAGE,
                           "dkim check", &c, check_option, &a);
    const char *record = a.record;
    selector_list sel = a.selectors;
    if (status >= 0) {
        free_selectors(&sel);
        return status;
    }
    if (record != NULL && optind == argc && sel.count == 0)
        status = check_record(&c, record);
    else if (record == NULL && optind + 1 == argc && sel.count > 0)
        status = check_domain(&c, argv[optind], (const char *const *)sel.items, sel.count);
    else
        status = cli_usage_error("dkim check",
                                 "give one DOMAIN and at least one --selector, or --record TEXT");
    free_selectors(&sel);
    return status;
}

/* ---- verify ---- */

static char *read_all(const char *path, size_t *len)
{
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
    if (f == NULL)
        return NULL;
    size_t cap = 65536, n = 0;
    char *buf = malloc(cap);
    while (buf != NULL) {
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (got == 0)
            break;
        if (n == cap) {
            if (cap > MS_DKIM_MAX_MESSAGE) {
                free(buf);
                buf = NULL;
                errno = EFBIG;
                break;
            }
            char *nb = realloc(buf, cap * 2);
            if (nb == NULL)
                free(buf);
            buf = nb;
            cap *= 2;
        }
    }
    if (buf && ferror(f)) {
        free(buf);
        buf = NULL;
    }
    if (f != stdin)
        fclose(f);
    *len = n;
    return buf;
}

static json_t *json_verdict(const ms_dkim_verdict *v, size_t index)
{
    const ms_dkim_signature *s = v->sig;
    json_t *o = json_object();
    json_object_set_new(o, "index", json_integer((json_int_t)index + 1));
    json_object_set_new(o, "result", json_string(ms_dkim_result_str(v->result)));
    json_object_set_new(o, "reason", json_string(v->reason));
    json_object_set_new(o, "domain", json_str_or_null(s->d));
    json_object_set_new(o, "selector", json_str_or_null(s->s));
    json_object_set_new(o, "algorithm", json_str_or_null(s->a));
    json_object_set_new(o, "canonicalization", json_str_or_null(s->c ? s->c : "simple/simple"));
    json_object_set_new(o, "identity", json_str_or_null(s->i));
    json_object_set_new(o, "signed_headers", json_array());
    for (size_t k = 0; k < s->h_count; k++)
        json_array_append_new(json_object_get(o, "signed_headers"), json_string(s->h[k]));
    json_object_set_new(o, "body_length", json_u64(s->has_l, s->l));
    json_object_set_new(o, "timestamp", json_u64(s->has_t, s->t));
    json_object_set_new(o, "expires", json_u64(s->has_x, s->x));
    json_object_set_new(o, "key_name", json_str_or_null(v->key_name));
    json_object_set_new(o, "key_record", json_str_or_null(v->key_record));
    json_object_set_new(o, "key", json_key(v->key));
    json_object_set_new(o, "diagnostics", json_diags(&v->diags));
    return o;
}

static int verdict_status(const ms_dkim_verify_result *r)
{
    int status = cli_exit_status(&r->diags, 0);
    int temp = 0;
    for (size_t i = 0; i < r->count; i++) {
        if (r->items[i].result == MS_DKIM_FAIL || r->items[i].result == MS_DKIM_PERMERROR)
            status = EXIT_PROBLEMS;
        temp |= r->items[i].result == MS_DKIM_TEMPERROR;
    }
    return status == EXIT_CLEAN && temp ? EXIT_UNCHECKED : status;
}

static void print_verdicts(const cli_common *c, const char *file, const ms_dkim_verify_result *r)
{
    out_heading(c, "DKIM signatures of %s", file);
    out_diags(c, &r->diags);
    for (size_t i = 0; i < r->count; i++) {
        const ms_dkim_verdict *v = &r->items[i];
        const ms_dkim_signature *s = v->sig;
        out_text(c, "%s", "");
        if (v->result == MS_DKIM_PASS)
            out_ok(c, "signature %zu: pass (d=%s s=%s a=%s)", i + 1, s->d, s->s, s->a);
        else
            out_item(c, v->result == MS_DKIM_TEMPERROR ? MS_SEV_WARNING : MS_SEV_ERROR,
                     "signature %zu: %s (%s)%s%s%s%s", i + 1, ms_dkim_result_str(v->result),
                     v->reason, s->d ? " d=" : "", s->d ? s->d : "", s->s ? " s=" : "",
                     s->s ? s->s : "");
        if (c->verbose) {
            out_field(c, "canonicalization", "%s", s->c ? s->c : "simple/simple");
            if (v->key_name)
                out_field(c, "key", "%s", v->key_name);
        }
        out_diags(c, &v->diags);
    }
}

/* Signatures seen across all files, by result. */
typedef struct tally {
    size_t by_result[MS_DKIM_TEMPERROR + 1];
} tally;

static int verify_one(const cli_common *c, ms_ctx *ctx, const ms_dkim_verify_options *opts,
                      const char *file, json_t *results, ms_diag_list *all, tally *t)
{
    size_t len = 0;
    char *data = read_all(file, &len);
    if (data == NULL) {
        fprintf(stderr, "mailsec dkim verify: %s: %s\n", file, strerror(errno));
        return EXIT_UNCHECKED;
    }
    ms_dkim_verify_result *r = NULL;
    ms_status st = ms_dkim_verify_with(ctx, data, len, opts, &r);
    free(data);
    if (st != MS_OK) {
        fprintf(stderr, "mailsec dkim verify: %s: %s\n", file, ms_status_str(st));
        return EXIT_UNCHECKED;
    }
    int status = verdict_status(r);
    for (size_t i = 0; i < r->count; i++)
        t->by_result[r->items[i].result]++;
    if (results != NULL) {
        json_t *o = json_object();
        json_object_set_new(o, "file", json_string(file));
        json_object_set_new(o, "signature_count", json_integer((json_int_t)r->signature_count));
        json_object_set_new(o, "diagnostics", json_diags(&r->diags));
        json_t *sigs = json_array();
        for (size_t i = 0; i < r->count; i++)
            json_array_append_new(sigs, json_verdict(&r->items[i], i));
        json_object_set_new(o, "signatures", sigs);
        json_array_append_new(results, o);
    } else {
        print_verdicts(c, file, r);
    }
    ms_diag_list_move(all, &r->diags);
    for (size_t i = 0; i < r->count; i++)
        ms_diag_list_move(all, &r->items[i].diags);
    ms_dkim_verify_result_free(r);
    return status;
}

static void print_tally(const tally *t)
{
    size_t total = 0;
    for (int r = MS_DKIM_PASS; r <= MS_DKIM_TEMPERROR; r++)
        total += t->by_result[r];
    printf("\nSignatures: %zu", total);
    for (int r = MS_DKIM_PASS; r <= MS_DKIM_TEMPERROR; r++)
        if (t->by_result[r])
            printf(", %zu %s", t->by_result[r], ms_dkim_result_str((ms_dkim_result)r));
    printf(".\n");
}

static int verify_option(void *arg, int opt, const char *value)
{
    (void)value;
    ms_dkim_verify_options *opts = arg;
    if (opt != OPT_ALLOW_SHA1)
        return 0;
    opts->allow_sha1 = 1;
    return 1;
}

static int run_verify(int argc, char **argv)
{
    static const struct option options[] = {
        {"allow-sha1", no_argument, NULL, OPT_ALLOW_SHA1},
        CLI_COMMON_LONG_OPTIONS,
        {NULL, 0, NULL, 0},
    };
    cli_common c;
    ms_dkim_verify_options opts = {0};
    int done = cli_parse(argc, argv, options, CLI_COMMON_SHORT_OPTIONS, VERIFY_USAGE, "dkim verify",
                         &c, verify_option, &opts);
    if (done >= 0)
        return done;
    if (optind == argc)
        return cli_usage_error("dkim verify", "give at least one message file (- for stdin)");
    ms_ctx *ctx = cli_make_ctx(&c);
    if (ctx == NULL)
        return EXIT_UNCHECKED;
    json_t *results = c.json ? json_array() : NULL;
    ms_diag_list all = MS_DIAG_LIST_INIT;
    int status = EXIT_CLEAN, unchecked = 0;
    tally t = {{0}};
    for (int i = optind; i < argc; i++) {
        if (i > optind && !c.json)
            out_text(&c, "%s", "");
        int s = verify_one(&c, ctx, &opts, argv[i], results, &all, &t);
        if (s == EXIT_PROBLEMS)
            status = EXIT_PROBLEMS;
        unchecked |= s == EXIT_UNCHECKED;
    }
    if (status == EXIT_CLEAN && unchecked)
        status = EXIT_UNCHECKED;
    if (c.json) {
        json_t *doc = json_document("dkim verify");
        json_object_set_new(doc, "results", results);
        json_print(doc, status);
    } else {
        print_tally(&t);
        /* a revoked key is only a warning about the record, but the
         * signature that needed it failed: the summary follows the exit */
        if (status == EXIT_PROBLEMS && ms_diag_count(&all, MS_SEV_ERROR) == 0)
            printf("\nProblems found: some signatures did not pass.\n");
        else
            out_summary(&c, &all, status == EXIT_UNCHECKED);
    }
    ms_diag_list_free(&all);
    ms_ctx_free(ctx);
    return status;
}

int cmd_dkim(int argc, char **argv)
{
    static const cli_command COMMANDS[] = {{"check", run_check}, {"verify", run_verify}};
    return cli_dispatch(argc, argv, GROUP_USAGE, COMMANDS, sizeof COMMANDS / sizeof COMMANDS[0]);
}
