/* mailsec dkim: check selectors' key records and verify messages'
 * signatures. Argument parsing and rendering only; lib/dkim does the work. */
#include "cli.h"
#include "commands.h"
#include "dkim_options.h"

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
    "  verify FILE...                verify every DKIM-Signature of messages (- for stdin)\n"
    "  sign --domain D --selector S --key FILE [MESSAGE]  sign a message\n"
    "  keygen --domain D --selector S  make a signing key and its key record\n"
    "  rotate --domain D --old S1 --new S2 --key FILE  move signing to a new key, step by step\n\n"
    "'mailsec dkim <command> --help' for a command's options.\n";

static const char CHECK_USAGE[] =
    "Usage: mailsec dkim check [options] DOMAIN --selector S [--selector S...]\n"
    "       mailsec dkim check [options] --domain D --selector S --private-key FILE\n"
    "       mailsec dkim check [options] --record TEXT\n\n"
    "Looks up each SELECTOR._domainkey.DOMAIN TXT record (all at once) and checks it\n"
    "against RFC 6376, RFC 8301 and RFC 8463: version, key type, that p= decodes to a\n"
    "key (RSA under 1024 bits is an error, under 2048 a warning), revoked keys, the\n"
    "t=, h= and s= tags, and unknown tags.\n\n";

static const char VERIFY_USAGE[] =
    "Usage: mailsec dkim verify [options] FILE...\n\n"
    "Verifies every DKIM-Signature of each message (RFC 6376; ed25519-sha256 per\n"
    "RFC 8463) with keys from DNS, and gives a result and a reason for each:\n"
    "pass, fail (body or signature does not verify, or expired), permerror (the\n"
    "signature or key is unusable) or temperror (the key could not be fetched).\n"
    "rsa-sha1 signatures are refused (permerror, RFC 8301).\n"
    "Messages with ARC sets (RFC 8617) also get the chain's verdict: arc=pass,\n"
    "arc=fail with a reason, or none. Files are read in chunks and bodies hashed\n"
    "as they are read, so messages of any size verify in little memory.\n"
    "Files may end lines with LF or CRLF; \"-\" reads standard input.\n\n";


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
        json_t *r = json_object();
        json_object_set_new(r, "record_text", json_string(text));
        json_object_set_new(r, "key", json_key(key));
        json_object_set_new(r, "diagnostics", json_diags(&diags));
        json_print_result("dkim check", r, status);
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

/* --private-key: whether the published key is its public half, as JSON. */
static json_t *json_match(int match)
{
    return match < 0 ? json_null() : json_boolean(match);
}

static void print_match(const cli_common *c, int match)
{
    if (match == 1)
        out_ok(c, "the published key is the private key's public half");
    else if (match < 0)
        out_item(c, MS_SEV_WARNING, "no published key to compare with the private key");
}

static int check_domain(const cli_common *c, const char *domain, const char *const *selectors,
                        size_t count, const ms_dkim_privkey *key)
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
    int *match = calloc(r->count ? r->count : 1, sizeof *match);
    if (match == NULL) {
        ms_dkim_check_result_free(r);
        return EXIT_UNCHECKED;
    }
    for (size_t i = 0; key != NULL && i < r->count; i++)
        match[i] = ms_dkim_selector_matches(&r->items[i], key);
    ms_diag_list all = MS_DIAG_LIST_INIT;
    for (size_t i = 0; i < r->count; i++)
        for (size_t k = 0; k < r->items[i].diags.count; k++) {
            const ms_diag *d = &r->items[i].diags.items[k];
            ms_diag_add(&all, d->def, d->location, d->offset, "%s", d->message);
        }
    int status = cli_exit_status(&all, r->unchecked);
    if (c->json) {
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
            if (key != NULL)
                json_object_set_new(o, "private_key_matches", json_match(match[i]));
            json_object_set_new(o, "diagnostics", json_diags(&s->diags));
            json_array_append_new(results, o);
        }
        json_print_results("dkim check", results, status);
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
            if (key != NULL)
                print_match(c, match[i]);
            if (s->diags.count == 0)
                out_ok(c, "no findings");
            out_diags(c, &s->diags);
        }
        out_summary(c, &all, r->unchecked);
    }
    free(match);
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
    const char *domain;      /* --domain */
    const char *private_key; /* --private-key */
    selector_list selectors;
} check_args;

static int check_option(void *arg, int opt, const char *value)
{
    check_args *a = arg;
    if (opt == OPT_RECORD)
        a->record = value;
    else if (opt == OPT_DOMAIN)
        a->domain = value;
    else if (opt == OPT_PRIVATE_KEY)
        a->private_key = value;
    else if (opt == OPT_SELECTOR)
        return add_selectors(&a->selectors, value);
    else
        return CLI_OPTION_UNHANDLED;
    return 1;
}

/* check_domain, first loading --private-key when given. */
static int check_domain_with_key(const cli_common *c, const char *domain, const selector_list *sel,
                                 const char *key_file)
{
    ms_dkim_privkey *key = NULL;
    char *why = NULL;
    if (key_file != NULL && ms_dkim_privkey_load(key_file, &key, &why) != MS_OK) {
        fprintf(stderr, "mailsec dkim check: %s\n", why ? why : "out of memory");
        free(why);
        return EXIT_UNCHECKED;
    }
    int status = check_domain(c, domain, (const char *const *)sel->items, sel->count, key);
    ms_dkim_privkey_free(key);
    return status;
}

static int run_check(int argc, char **argv)
{
    cli_common c;
    check_args a = {NULL, NULL, NULL, {NULL, 0}};
    int status = cli_parse(argc, argv, &CLI_OPTIONS_dkim_check, CHECK_USAGE,
                           "dkim check", &c, check_option, &a);
    const char *record = a.record;
    selector_list sel = a.selectors;
    if (status >= 0) {
        free_selectors(&sel);
        return status;
    }
    /* the domain as an argument or as --domain, not both */
    const char *domain = a.domain ? a.domain : optind < argc ? argv[optind] : NULL;
    int domain_args = (a.domain != NULL) + (argc - optind);
    if (record != NULL && domain_args == 0 && sel.count == 0 && a.private_key == NULL)
        status = check_record(&c, record);
    else if (record == NULL && domain_args == 1 && sel.count > 0)
        status = check_domain_with_key(&c, domain, &sel, a.private_key);
    else
        status = cli_usage_error("dkim check",
                                 "give one DOMAIN and at least one --selector, or --record TEXT");
    free_selectors(&sel);
    return status;
}

/* ---- verify ---- */

/* Streams the file through the verifier in chunks: the body is hashed as
 * it is read and never held, so a message of any size verifies in bounded
 * memory. MS_ERR_IO with errno set when the file cannot be read. */
static ms_status verify_file(ms_ctx *ctx, const ms_dkim_verify_options *opts, const char *path,
                             ms_dkim_verify_result **out)
{
    *out = NULL;
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
    if (f == NULL)
        return MS_ERR_IO;
    ms_dkim_verifier *v = NULL;
    ms_status st = ms_dkim_verifier_new(ctx, opts, &v);
    static char chunk[65536];
    size_t got = 0;
    while (st == MS_OK && (got = fread(chunk, 1, sizeof chunk, f)) > 0)
        st = ms_dkim_verifier_write(v, chunk, got);
    int saved = errno;
    if (st == MS_OK && ferror(f))
        st = MS_ERR_IO;
    if (st == MS_OK)
        st = ms_dkim_verifier_finish(v, out);
    ms_dkim_verifier_free(v);
    if (f != stdin)
        fclose(f);
    errno = saved;
    return st;
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

static json_t *json_arc(const ms_dkim_verify_result *r)
{
    json_t *o = json_object();
    json_object_set_new(o, "result", json_string(ms_dkim_arc_result_str(r->arc)));
    json_object_set_new(o, "instance", json_integer(r->arc_instance));
    json_object_set_new(o, "sealer", json_str_or_null(r->arc_sealer));
    json_object_set_new(o, "reason", json_str_or_null(r->arc_reason));
    json_object_set_new(o, "auth_results", json_str_or_null(r->arc_auth_results));
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
    if (r->arc == MS_DKIM_ARC_NONE)
        return; /* no ARC sets: nothing to say about a chain */
    out_text(c, "%s", "");
    if (r->arc == MS_DKIM_ARC_PASS)
        out_ok(c, "arc=pass (%d set%s, sealed last by %s)", r->arc_instance,
               r->arc_instance == 1 ? "" : "s", r->arc_sealer ? r->arc_sealer : "?");
    else
        out_item(c, MS_SEV_ERROR, "arc=fail (%s; %d set%s)", r->arc_reason ? r->arc_reason : "?",
                 r->arc_instance, r->arc_instance == 1 ? "" : "s");
    if (c->verbose && r->arc_auth_results)
        out_field(c, "arc results", "%s", r->arc_auth_results);
}

/* Signatures seen across all files, by result. */
typedef struct tally {
    size_t by_result[MS_DKIM_TEMPERROR + 1];
} tally;

static int verify_one(const cli_common *c, ms_ctx *ctx, const ms_dkim_verify_options *opts,
                      const char *file, json_t *results, ms_diag_list *all, tally *t)
{
    ms_dkim_verify_result *r = NULL;
    ms_status st = verify_file(ctx, opts, file, &r);
    if (st != MS_OK) {
        fprintf(stderr, "mailsec dkim verify: %s: %s\n", file,
                st == MS_ERR_IO ? strerror(errno) : ms_status_str(st));
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
        json_object_set_new(o, "arc", json_arc(r));
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
        return CLI_OPTION_UNHANDLED;
    opts->allow_sha1 = 1;
    return 1;
}

static int run_verify(int argc, char **argv)
{
    cli_common c;
    ms_dkim_verify_options opts = {0};
    int done = cli_parse(argc, argv, &CLI_OPTIONS_dkim_verify, VERIFY_USAGE, "dkim verify",
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
        json_print_results("dkim verify", results, status);
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

/* ---- sign ---- */

static const char SIGN_USAGE[] =
    "Usage: mailsec dkim sign [options] --domain D --selector S --key FILE [MESSAGE|-]\n\n"
    "Signs a message (RFC 6376, relaxed/relaxed) and prints it with its\n"
    "DKIM-Signature field(s) at the top. An RSA key signs rsa-sha256, an Ed25519\n"
    "key ed25519-sha256 (RFC 8463); give --selector and --key once per signature\n"
    "(paired in order) to sign with several keys at once. The fields of RFC 6376\n"
    "5.4.1's recommended set are signed as present, and From once more, so no\n"
    "From can be added after signing. The message is read from MESSAGE or standard\n"
    "input, LF or CRLF line ends (the signature fields use the message's).\n"
    "With --json, the DKIM-Signature values instead of the message.\n\n"
    "Exit status: 0 signed, 2 could not sign (key, message or output).\n\n";


/* A whole message (the signature fields go before its first byte), at most
 * MS_DKIM_MAX_MESSAGE bytes: NULL with errno set otherwise. */
static char *read_message(const char *path, size_t *len)
{
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
    if (f == NULL)
        return NULL;
    size_t cap = 65536, n = 0, got;
    char *buf = malloc(cap);
    int err = buf ? 0 : ENOMEM;
    while (!err && (got = fread(buf + n, 1, cap - n, f)) > 0) {
        n += got;
        if (n > MS_DKIM_MAX_MESSAGE) {
            err = EFBIG;
        } else if (n == cap) {
            size_t ncap = cap * 2 > MS_DKIM_MAX_MESSAGE + 1 ? MS_DKIM_MAX_MESSAGE + 1 : cap * 2;
            char *nb = realloc(buf, ncap);
            if (nb == NULL)
                err = ENOMEM;
            else
                buf = nb, cap = ncap;
        }
    }
    if (!err && ferror(f))
        err = errno ? errno : EIO;
    if (f != stdin)
        fclose(f);
    if (err) {
        free(buf);
        errno = err;
        return NULL;
    }
    *len = n;
    return buf;
}

/* Up to MS_DKIM_MAX_SIGNATURES selector/key pairs, and what they share. */
typedef struct sign_args {
    const char *domain;
    const char *selectors[MS_DKIM_MAX_SIGNATURES];
    const char *keys[MS_DKIM_MAX_SIGNATURES];
    size_t selector_count, key_count;
    char *headers; /* --headers, a copy to split */
    unsigned long expire, timestamp;
} sign_args;

static int sign_option(void *arg, int opt, const char *value)
{
    sign_args *a = arg;
    if (opt == OPT_DOMAIN)
        a->domain = value;
    else if (opt == OPT_SELECTOR)
        return a->selector_count < MS_DKIM_MAX_SIGNATURES &&
               (a->selectors[a->selector_count++] = value) != NULL;
    else if (opt == OPT_KEY)
        return a->key_count < MS_DKIM_MAX_SIGNATURES && (a->keys[a->key_count++] = value) != NULL;
    else if (opt == OPT_HEADERS)
        return (a->headers = strdup(value)) != NULL;
    else if (opt == OPT_EXPIRE)
        return cli_parse_uint(value, 10L * 366 * 86400, &a->expire) && a->expire > 0;
    else if (opt == OPT_TIMESTAMP)
        return cli_parse_uint(value, (1UL << 40), &a->timestamp) && a->timestamp > 0;
    else
        return CLI_OPTION_UNHANDLED;
    return 1;
}

/* "A:B:C" into a NULL-terminated list pointing into s (changed in place). */
static const char **split_headers(char *s)
{
    size_t n = 2;
    for (const char *p = s; *p; p++)
        n += *p == ':';
    const char **list = calloc(n, sizeof *list);
    size_t k = 0;
    for (char *save = NULL, *tok = list ? strtok_r(s, ":", &save) : NULL; tok;
         tok = strtok_r(NULL, ":", &save))
        list[k++] = tok;
    return list;
}

/* The value as the message writes lines: "\r\n" kept, or made "\n". */
static void put_field(FILE *out, const char *value, int crlf)
{
    fputs("DKIM-Signature: ", out);
    for (const char *p = value; *p; p++)
        if (crlf || *p != '\r')
            fputc(*p, out);
    fputs(crlf ? "\r\n" : "\n", out);
}

static int print_signed(const cli_common *c, const sign_args *a, const ms_dkim_privkey *const *keys,
                        char **values, size_t count, const char *message, size_t len)
{
    if (c->json) {
        json_t *doc = json_document("dkim sign");
        json_t *sigs = json_array();
        for (size_t i = 0; i < count; i++)
            json_array_append_new(
                sigs, json_pack("{s:s, s:s, s:s, s:s}", "domain", a->domain, "selector",
                                a->selectors[i], "algorithm",
                                ms_dkim_privkey_type(keys[i]) == MS_DKIM_KEY_ED25519
                                    ? "ed25519-sha256"
                                    : "rsa-sha256",
                                "value", values[i]));
        json_object_set_new(doc, "signatures", sigs);
        json_print(doc, EXIT_CLEAN);
        return EXIT_CLEAN;
    }
    const char *lf = memchr(message, '\n', len);
    int crlf = lf != NULL && lf > message && lf[-1] == '\r';
    for (size_t i = 0; i < count; i++)
        put_field(stdout, values[i], crlf);
    if (fwrite(message, 1, len, stdout) != len)
        cli_output_errno(errno);
    return EXIT_CLEAN;
}

static int sign_message(const cli_common *c, const sign_args *a, const char *file)
{
    ms_dkim_privkey *keys[MS_DKIM_MAX_SIGNATURES] = {NULL};
    ms_dkim_sign_options opts[MS_DKIM_MAX_SIGNATURES];
    const char **headers = a->headers ? split_headers(a->headers) : NULL;
    int status = a->headers && headers == NULL ? EXIT_UNCHECKED : EXIT_CLEAN;
    for (size_t i = 0; status == EXIT_CLEAN && i < a->key_count; i++) {
        char *why = NULL;
        if (ms_dkim_privkey_load(a->keys[i], &keys[i], &why) != MS_OK) {
            fprintf(stderr, "mailsec dkim sign: %s\n", why ? why : "out of memory");
            status = EXIT_UNCHECKED;
        }
        free(why);
        opts[i] = (ms_dkim_sign_options){a->domain, a->selectors[i], keys[i], headers,
                                         (int64_t)a->timestamp, (int64_t)a->expire};
    }
    size_t len = 0;
    char *message = status == EXIT_CLEAN ? read_message(file, &len) : NULL;
    if (status == EXIT_CLEAN && message == NULL) {
        fprintf(stderr, "mailsec dkim sign: %s: %s\n", file, strerror(errno));
        status = EXIT_UNCHECKED;
    }
    char **values = NULL;
    size_t count = 0;
    ms_status st = message ? ms_dkim_sign(opts, a->key_count, message, len, &values, &count)
                           : MS_OK;
    if (status == EXIT_CLEAN && st != MS_OK) {
        fprintf(stderr, "mailsec dkim sign: %s: %s\n", file,
                st == MS_ERR_INVALID
                    ? "cannot sign: a header line is not a field, or --domain, --selector "
                      "or --headers is not valid (--headers must name From)"
                    : ms_status_str(st));
        status = EXIT_UNCHECKED;
    }
    if (status == EXIT_CLEAN)
        status = print_signed(c, a, (const ms_dkim_privkey *const *)keys, values, count, message,
                              len);
    for (size_t i = 0; i < count; i++)
        free(values[i]);
    free(values);
    free(message);
    free(headers);
    for (size_t i = 0; i < a->key_count; i++)
        ms_dkim_privkey_free(keys[i]);
    return status;
}

static int run_sign(int argc, char **argv)
{
    cli_common c;
    sign_args a;
    memset(&a, 0, sizeof a);
    int status = cli_parse(argc, argv, &CLI_OPTIONS_dkim_sign, SIGN_USAGE,
                           "dkim sign", &c, sign_option, &a);
    if (status < 0 && (a.domain == NULL || a.key_count == 0 || a.selector_count != a.key_count))
        status = cli_usage_error("dkim sign", "give --domain, and --selector and --key once per "
                                              "signature");
    else if (status < 0 && optind + 1 < argc)
        status = cli_usage_error("dkim sign", "give one message (a file, or - for stdin)");
    if (status < 0)
        status = sign_message(&c, &a, optind < argc ? argv[optind] : "-");
    free(a.headers);
    return status;
}

/* ---- keygen ---- */

static const char KEYGEN_USAGE[] =
    "Usage: mailsec dkim keygen [options] --domain D --selector S\n\n"
    "Makes a signing key and prints the TXT record that publishes it at\n"
    "SELECTOR._domainkey.DOMAIN, and the same as a zone-file line (strings of at\n"
    "most 255 bytes). The private key is written as PKCS#8 PEM to a new file\n"
    "created with mode 0600; an existing file is never overwritten.\n\n";

typedef struct keygen_args {
    const char *domain, *selector, *out;
    ms_dkim_key_type type;
    unsigned long bits, ttl;
} keygen_args;

static int keygen_option(void *arg, int opt, const char *value)
{
    keygen_args *a = arg;
    if (opt == OPT_DOMAIN)
        a->domain = value;
    else if (opt == OPT_SELECTOR)
        a->selector = value;
    else if (opt == OPT_OUT)
        a->out = value;
    else if (opt == OPT_TYPE) {
        static const cli_name TYPES[] = {{"rsa", MS_DKIM_KEY_RSA}, {"ed25519", MS_DKIM_KEY_ED25519},
                                         {NULL, 0}};
        a->type = (ms_dkim_key_type)cli_name_value(value, TYPES, MS_DKIM_KEY_UNKNOWN);
        return a->type != MS_DKIM_KEY_UNKNOWN;
    } else if (opt == OPT_BITS)
        return cli_parse_uint(value, 8192, &a->bits) && a->bits > 0;
    else if (opt == OPT_TTL)
        return cli_parse_uint(value, 2147483647UL, &a->ttl);
    else
        return CLI_OPTION_UNHANDLED;
    return 1;
}

static int print_keygen(const cli_common *c, const keygen_args *a, const ms_dkim_privkey *key,
                        const char *record, const char *line)
{
    if (c->json) {
        json_t *doc = json_document("dkim keygen");
        json_object_set_new(doc, "domain", json_string(a->domain));
        json_object_set_new(doc, "selector", json_string(a->selector));
        json_object_set_new(doc, "type", json_string(ms_dkim_key_type_str(a->type)));
        json_object_set_new(doc, "bits", json_integer(ms_dkim_privkey_bits(key)));
        json_object_set_new(doc, "private_key_file", json_string(a->out));
        json_object_set_new(doc, "record", json_string(record));
        json_object_set_new(doc, "zone_line", json_string(line));
        json_print(doc, EXIT_CLEAN);
    } else {
        out_heading(c, "DKIM key for selector %s of %s", a->selector, a->domain);
        out_field(c, "private key", "%s (%s, %u bits, mode 0600)", a->out,
                  ms_dkim_key_type_str(a->type), ms_dkim_privkey_bits(key));
        out_field(c, "record", "%s", record);
        out_field(c, "zone line", "%s", line);
        out_text(c, "\nPublish the record, check it with `mailsec dkim check %s --selector %s "
                    "--private-key %s`, then sign with the key.",
                 a->domain, a->selector, a->out);
    }
    return EXIT_CLEAN;
}

static int make_key(const cli_common *c, keygen_args *a)
{
    ms_dkim_privkey *key = NULL;
    char *record = NULL, *line = NULL, *why = NULL;
    ms_status st = ms_dkim_privkey_generate(a->type, (unsigned)a->bits, &key);
    if (st == MS_OK)
        st = ms_dkim_privkey_record(key, &record);
    if (st == MS_OK)
        st = ms_dkim_zone_line(a->domain, a->selector, record, (unsigned)a->ttl, &line);
    if (st == MS_ERR_INVALID) {
        ms_dkim_privkey_free(key);
        free(record);
        return cli_usage_error("dkim keygen", "--domain or --selector is not a valid name");
    }
    /* the key file last: nothing is left on disk when anything else fails */
    if (st == MS_OK)
        st = ms_dkim_privkey_save(key, a->out, &why);
    int status = EXIT_UNCHECKED;
    if (st == MS_OK)
        status = print_keygen(c, a, key, record, line);
    else
        fprintf(stderr, "mailsec dkim keygen: %s\n", why ? why : ms_status_str(st));
    free(why);
    free(line);
    free(record);
    ms_dkim_privkey_free(key);
    return status;
}

static int run_keygen(int argc, char **argv)
{
    cli_common c;
    keygen_args a = {NULL, NULL, NULL, MS_DKIM_KEY_RSA, 0, 3600};
    int status = cli_parse(argc, argv, &CLI_OPTIONS_dkim_keygen, KEYGEN_USAGE,
                           "dkim keygen", &c, keygen_option, &a);
    if (status >= 0)
        return status;
    if (a.domain == NULL || a.selector == NULL || optind != argc)
        return cli_usage_error("dkim keygen", "give --domain and --selector");
    if (a.type == MS_DKIM_KEY_ED25519 && a.bits != 0)
        return cli_usage_error("dkim keygen", "--bits is for RSA keys (Ed25519 keys have one size)");
    if (a.bits != 0 && a.bits < 1024)
        return cli_usage_error("dkim keygen", "RSA keys under 1024 bits are refused by verifiers "
                                              "(RFC 8301 3.2); 2048 is the default");
    char *out = a.out ? NULL : malloc(strlen(a.selector) + sizeof ".private");
    if (a.out == NULL && out == NULL)
        return EXIT_UNCHECKED;
    if (out != NULL) {
        strcpy(out, a.selector);
        strcat(out, ".private");
        a.out = out;
    }
    status = make_key(&c, &a);
    free(out);
    return status;
}

/* ---- rotate ---- */

static const char ROTATE_USAGE[] =
    "Usage: mailsec dkim rotate [options] --domain D --old S1 --new S2 --key NEWKEY\n"
    "                           [--step publish|switch|revoke]\n\n"
    "Moves signing from selector S1 to selector S2 and its key NEWKEY, one step at\n"
    "a time, each checked in DNS (docs/dkim.md, \"Rotating keys\"):\n"
    "  publish  prints S2's record; done when DNS serves it\n"
    "  switch   done when S2's published key is NEWKEY's public half: prints the\n"
    "           signer's configuration to switch to\n"
    "  revoke   prints S1's revoked record (empty p=); done when DNS serves it\n"
    "Without --step, every step is checked and the next one to take is named.\n\n"
    "Exit status: for one step, 0 done, 1 not done yet (DNS does not serve it),\n"
    "2 DNS failed; without --step, 0 rotation complete, 1 steps remain.\n\n";

typedef struct rotate_args {
    const char *domain, *old_selector, *new_selector, *key;
    int step; /* -1: all */
} rotate_args;

static int rotate_option(void *arg, int opt, const char *value)
{
    rotate_args *a = arg;
    if (opt == OPT_DOMAIN)
        a->domain = value;
    else if (opt == OPT_OLD)
        a->old_selector = value;
    else if (opt == OPT_NEW)
        a->new_selector = value;
    else if (opt == OPT_KEY)
        a->key = value;
    else if (opt == OPT_STEP) {
        for (int s = MS_DKIM_ROTATE_PUBLISH; s <= MS_DKIM_ROTATE_REVOKE; s++)
            if (strcmp(value, ms_dkim_rotate_step_str((ms_dkim_rotate_step)s)) == 0)
                a->step = s;
        return a->step >= 0;
    } else
        return CLI_OPTION_UNHANDLED;
    return 1;
}

/* What to do for a step that is not done, or what was found when it is. */
static void print_step(const cli_common *c, const rotate_args *a, const ms_dkim_rotate_result *r)
{
    const ms_dkim_selector_check *s = &r->check->items[0];
    out_heading(c, "Step %s: %s._domainkey.%s", ms_dkim_rotate_step_str(r->step), r->selector,
                a->domain);
    if (r->step != MS_DKIM_ROTATE_SWITCH) {
        out_field(c, "record", "%s", r->record);
        out_field(c, "zone line", "%s", r->zone_line);
    }
    out_field(c, "DNS serves", "%s", s->record ? s->record : "(no key record)");
    if (r->done && r->step == MS_DKIM_ROTATE_SWITCH) {
        out_ok(c, "the new selector serves the new key: switch the signer to it");
        out_field(c, "mailsec milter", "sign %s %s %s", a->domain, a->new_selector, a->key);
        out_field(c, "OpenDKIM KeyTable", "%s._domainkey.%s %s:%s:%s", a->new_selector,
                  a->domain, a->domain, a->new_selector, a->key);
    } else if (r->done) {
        out_ok(c, "done: DNS serves the %s record", r->step == MS_DKIM_ROTATE_REVOKE ? "revoked" : "new");
    } else if (r->check->unchecked) {
        out_item(c, MS_SEV_WARNING, "could not check: DNS did not answer");
    } else {
        static const char *const TODO[] = {
            "publish the record above at the new selector, then check again",
            ("do not switch the signer yet: the new selector does not serve the new key "
             "(take the publish step first)"),
            "publish the revoked record above at the old selector, then check again"};
        out_item(c, MS_SEV_ERROR, "not done: %s", TODO[r->step]);
    }
    out_diags(c, &s->diags);
}

static json_t *json_step(const ms_dkim_rotate_result *r)
{
    const ms_dkim_selector_check *s = &r->check->items[0];
    return json_pack("{s:s, s:s, s:s, s:s, s:b, s:b, s:o, s:o}", "step",
                     ms_dkim_rotate_step_str(r->step), "selector", r->selector, "record", r->record,
                     "zone_line", r->zone_line, "done", r->done, "unchecked",
                     r->check->unchecked, "record_served", json_str_or_null(s->record),
                     "diagnostics", json_diags(&s->diags));
}

static int rotate_steps(const cli_common *c, const rotate_args *a, const ms_dkim_privkey *key)
{
    ms_ctx *ctx = cli_make_ctx(c);
    if (ctx == NULL)
        return EXIT_UNCHECKED;
    int first = a->step < 0 ? MS_DKIM_ROTATE_PUBLISH : a->step;
    int last = a->step < 0 ? MS_DKIM_ROTATE_REVOKE : a->step;
    json_t *steps = json_array();
    int status = EXIT_CLEAN, next = -1;
    for (int step = first; step <= last; step++) {
        ms_dkim_rotate_result *r = NULL;
        ms_status st = ms_dkim_rotate(ctx, a->domain, a->old_selector, a->new_selector, key,
                                      (ms_dkim_rotate_step)step, &r);
        if (st != MS_OK) {
            fprintf(stderr, "mailsec dkim rotate: %s\n",
                    st == MS_ERR_INVALID ? "--domain, --old or --new is not a valid name"
                                         : ms_status_str(st));
            status = EXIT_UNCHECKED;
            break;
        }
        if (r->check->unchecked)
            status = EXIT_UNCHECKED;
        else if (!r->done && status == EXIT_CLEAN)
            status = EXIT_PROBLEMS;
        if (!r->done && next < 0)
            next = step;
        if (c->json)
            json_array_append_new(steps, json_step(r));
        else {
            if (step > first)
                out_text(c, "%s", "");
            print_step(c, a, r);
        }
        ms_dkim_rotate_result_free(r);
    }
    ms_ctx_free(ctx);
    if (c->json) {
        json_t *doc = json_document("dkim rotate");
        json_object_set_new(doc, "domain", json_string(a->domain));
        json_object_set_new(doc, "old_selector", json_string(a->old_selector));
        json_object_set_new(doc, "new_selector", json_string(a->new_selector));
        json_object_set_new(doc, "steps", steps);
        json_object_set_new(doc, "next_step",
                            next < 0 ? json_null()
                                     : json_string(ms_dkim_rotate_step_str((ms_dkim_rotate_step)next)));
        json_print(doc, status);
    } else {
        json_decref(steps);
        if (a->step < 0 && status != EXIT_UNCHECKED)
            out_text(c, "\n%s%s", next < 0 ? "Rotation complete." : "Next step: ",
                     next < 0 ? "" : ms_dkim_rotate_step_str((ms_dkim_rotate_step)next));
    }
    return status;
}

static int run_rotate(int argc, char **argv)
{
    cli_common c;
    rotate_args a = {NULL, NULL, NULL, NULL, -1};
    int status = cli_parse(argc, argv, &CLI_OPTIONS_dkim_rotate, ROTATE_USAGE,
                           "dkim rotate", &c, rotate_option, &a);
    if (status >= 0)
        return status;
    if (a.domain == NULL || a.old_selector == NULL || a.new_selector == NULL || a.key == NULL ||
        optind != argc)
        return cli_usage_error("dkim rotate", "give --domain, --old, --new and --key");
    ms_dkim_privkey *key = NULL;
    char *why = NULL;
    if (ms_dkim_privkey_load(a.key, &key, &why) != MS_OK) {
        fprintf(stderr, "mailsec dkim rotate: %s\n", why ? why : "out of memory");
        free(why);
        return EXIT_UNCHECKED;
    }
    status = rotate_steps(&c, &a, key);
    ms_dkim_privkey_free(key);
    return status;
}

int cmd_dkim(int argc, char **argv)
{
    static const cli_command COMMANDS[] = {{"check", run_check},   {"verify", run_verify},
                                           {"sign", run_sign},     {"keygen", run_keygen},
                                           {"rotate", run_rotate}};
    return cli_dispatch(argc, argv, GROUP_USAGE, COMMANDS, sizeof COMMANDS / sizeof COMMANDS[0]);
}
