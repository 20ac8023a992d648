/* mailsec dmarc publish: argument parsing and rendering; lib/dmarc checks
 * the record, lib/dns sends the update and asks what is served
 * (docs/dmarc-publish.md). */
#include "dmarc_publish.h"
#include "dmarc_options.h"

#include "mailsec/dmarc.h"
#include "mailsec/dns.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char PUBLISH_USAGE[] =
    "Usage: mailsec dmarc publish DOMAIN --record TEXT --server ADDR[:PORT] --tsig-key FILE\n"
    "                             [options]\n\n"
    "Replaces the DMARC record at _dmarc.DOMAIN with an RFC 2136 dynamic update signed\n"
    "with TSIG, sent to the zone's primary. The update names the record it replaces, so\n"
    "the primary applies it only if nobody changed the record meanwhile. The record is\n"
    "checked first and never sent when it is not valid. Then the resolver (--resolver)\n"
    "is asked whether the new record is served.\n\n"
    "Exit status: 0 published and served (or dry run, or already published), 1 published\n"
    "but not served yet, or the record changed meanwhile (nothing overwritten), 2 could not\n"
    "publish (key, refused, no answer, invalid record, usage).\n\n";

int publish_option(publish_args *p, int opt, const char *value)
{
    switch (opt) {
    case OPT_SERVER:
        p->server = value;
        return 1;
    case OPT_TSIG_KEY:
        p->tsig_key_file = value;
        return 1;
    case OPT_ZONE:
        p->zone = value;
        return 1;
    case OPT_EXPECT:
        if (p->expect_count == PUBLISH_MAX_EXPECT)
            return 0;
        p->expect[p->expect_count++] = value;
        p->expect_given = 1;
        return 1;
    case OPT_EXPECT_NONE:
        p->expect_none = 1;
        p->expect_given = 1;
        return 1;
    case OPT_TTL:
        /* At most 2^31 - 1 (RFC 2181 8); 0 would mean "keep the old one". */
        return cli_parse_uint(value, 2147483647UL, &p->ttl) && p->ttl > 0;
    case OPT_DRY_RUN:
        p->dry_run = 1;
        return 1;
    default:
        return CLI_OPTION_UNHANDLED;
    }
}

int publish_args_check(const publish_args *p, const char *command)
{
    if (p->server == NULL || p->tsig_key_file == NULL)
        return cli_usage_error(command, "publishing needs --server ADDR[:PORT] and --tsig-key FILE");
    if (p->expect_none && p->expect_count > 0)
        return cli_usage_error(command, "give either --expect TEXT or --expect-none, not both");
    return -1;
}

/* ---- the record, checked before anything is sent ---- */

/* 1 when receivers would apply the record as written; else its errors on
 * stderr. */
static int record_valid(const char *record, const char *domain)
{
    ms_dmarc_record *rec = NULL;
    ms_diag_list diags = MS_DIAG_LIST_INIT;
    ms_status st = ms_dmarc_check_record(record, strlen(record), domain, &rec, &diags);
    int ok = st == MS_OK && rec->usable && !rec->as_p_none &&
             ms_diag_count(&diags, MS_SEV_ERROR) == 0;
    if (!ok) {
        char *shown = cli_escaped(record, strlen(record), 0);
        fprintf(stderr, "mailsec dmarc publish: not publishing \"%s\": it is not a valid DMARC record\n",
                shown != NULL ? shown : "");
        free(shown);
        for (size_t i = 0; i < diags.count; i++) {
            if (diags.items[i].def->severity != MS_SEV_ERROR)
                continue;
            char *msg = cli_escaped(diags.items[i].message, strlen(diags.items[i].message), 0);
            fprintf(stderr, "  error: %s [%s]\n", msg != NULL ? msg : "", diags.items[i].def->code);
            free(msg);
        }
    }
    ms_dmarc_record_free(rec);
    ms_diag_list_free(&diags);
    return ok;
}

/* ---- what happened ---- */

typedef struct publish_outcome {
    const char *domain;
    const char *name;
    const char *record;
    const publish_args *p;
    const ms_dns_tsig_key *key;
    ms_dns_update_result update;
    int served;   /* 1 served, 0 not yet, -1 lookup failed, -2 not asked */
    char *detail; /* what the resolver said */
    int status;
} publish_outcome;

static int exit_status(const publish_outcome *o)
{
    switch (o->update.outcome) {
    case MS_DNS_UPDATE_DRY_RUN:
        return EXIT_CLEAN;
    case MS_DNS_UPDATE_APPLIED:
    case MS_DNS_UPDATE_UNCHANGED:
        return o->served == 1 ? EXIT_CLEAN : EXIT_PROBLEMS;
    case MS_DNS_UPDATE_PREREQ_FAILED:
        return EXIT_PROBLEMS;
    default:
        return EXIT_UNCHECKED;
    }
}

static const char *headline(const ms_dns_update_result *u)
{
    switch (u->outcome) {
    case MS_DNS_UPDATE_APPLIED: return "published";
    case MS_DNS_UPDATE_UNCHANGED: return "already published";
    case MS_DNS_UPDATE_DRY_RUN: return "dry run, nothing sent";
    case MS_DNS_UPDATE_PREREQ_FAILED: return "not published: the record changed meanwhile";
    default: return "not published";
    }
}

static void print_outcome(const cli_common *c, const publish_outcome *o)
{
    const ms_dns_update_result *u = &o->update;
    out_heading(c, "DMARC record for %s: %s", o->domain, headline(u));
    out_field(c, "name", "%s", o->name);
    if (u->zone != NULL)
        out_field(c, "zone", "%s (primary %s, key %s)", u->zone, o->p->server, o->key->name);
    if (u->old_count == 0 && u->update_text != NULL)
        out_field(c, "old", "(none)");
    for (size_t i = 0; i < u->old_count; i++)
        out_field(c, "old", "%s", u->old_values[i]);
    out_field(c, "new", "%s", o->record);
    if (u->outcome == MS_DNS_UPDATE_DRY_RUN && u->update_text != NULL) {
        out_text(c, "%s", "");
        out_text(c, "The update (nsupdate commands):");
        char *text = strdup(u->update_text);
        for (char *line = text, *next; line != NULL && *line != '\0'; line = next) {
            next = strchr(line, '\n');
            if (next != NULL)
                *next++ = '\0';
            out_text(c, "  %s", line);
        }
        free(text);
        return;
    }
    int bad = exit_status(o) == EXIT_UNCHECKED;
    if (u->outcome == MS_DNS_UPDATE_APPLIED || u->outcome == MS_DNS_UPDATE_UNCHANGED)
        out_ok(c, "%s", u->message);
    else
        out_item(c, bad ? MS_SEV_ERROR : MS_SEV_WARNING, "%s", u->message);
    if (o->served == 1)
        out_ok(c, "%s", o->detail);
    else if (o->served == 0)
        out_item(c, MS_SEV_WARNING, "not served yet: %s", o->detail);
    else if (o->served == -1)
        out_item(c, MS_SEV_WARNING, "could not ask the resolver: %s",
                 o->detail != NULL ? o->detail : "lookup failed");
}

static json_t *json_outcome(const publish_outcome *o)
{
    const ms_dns_update_result *u = &o->update;
    json_t *old = json_array();
    for (size_t i = 0; i < u->old_count; i++)
        json_array_append_new(old, json_str_or_null(u->old_values[i]));
    json_t *served = o->served == 1 ? json_true() : o->served == 0 ? json_false() : json_null();
    return json_pack("{s:s, s:s, s:o, s:s, s:s, s:o, s:o, s:I, s:s, s:b, s:o, s:o, s:o}",
                     "domain", o->domain, "name", o->name, "zone", json_str_or_null(u->zone),
                     "server", o->p->server, "key", o->key->name, "old", old, "new", json_str_or_null(o->record), "ttl", (json_int_t)u->ttl,
                     "outcome", ms_dns_update_outcome_str(u->outcome), "dry_run", o->p->dry_run,
                     "update", json_str_or_null(u->update_text), "message",
                     json_str_or_null(u->message), "served", served);
}

/* ---- publishing ---- */

static int publish(const cli_common *c, publish_outcome *o)
{
    ms_ctx *ctx = cli_make_ctx(c);
    if (ctx == NULL)
        return EXIT_UNCHECKED;
    ms_dns_txt_update in = {
        .name = o->name,
        .zone = o->p->zone,
        .server = o->p->server,
        .key = o->key,
        .value = o->record,
        .ttl = (uint32_t)o->p->ttl,
        .expect_given = o->p->expect_given,
        .expect = o->p->expect,
        .expect_count = o->p->expect_count,
        .dry_run = o->p->dry_run,
    };
    ms_status st = ms_dns_update_txt(ctx, &in, &o->update);
    if (st == MS_OK && (o->update.outcome == MS_DNS_UPDATE_APPLIED ||
                        o->update.outcome == MS_DNS_UPDATE_UNCHANGED))
        st = ms_dns_txt_served(ctx, o->name, o->record, &o->served, &o->detail);
    ms_ctx_free(ctx);
    if (st == MS_ERR_INVALID) {
        fprintf(stderr, "mailsec dmarc publish: --server must be an address (ADDR, ADDR:PORT or "
                        "[ADDR6]:PORT), the domain and --zone domain names in ASCII, and the "
                        "record at most 4096 octets\n");
        return EXIT_UNCHECKED;
    }
    if (st != MS_OK) {
        fprintf(stderr, "mailsec dmarc publish: %s\n", ms_status_str(st));
        return EXIT_UNCHECKED;
    }
    return exit_status(o);
}

static char *dmarc_name(const char *domain)
{
    size_t len = strlen(domain);
    if (len > 0 && domain[len - 1] == '.')
        len--;
    char *name = malloc(len + sizeof "_dmarc.");
    if (name != NULL) {
        memcpy(name, "_dmarc.", 7);
        memcpy(name + 7, domain, len);
        name[7 + len] = '\0';
        for (char *s = name; *s != '\0'; s++)
            if (*s >= 'A' && *s <= 'Z')
                *s = (char)(*s - 'A' + 'a');
    }
    return name;
}

int dmarc_publish_record(const cli_common *c, const publish_args *p, const char *domain,
                         const char *record, json_t **json)
{
    if (json != NULL)
        *json = NULL;
    if (!record_valid(record, domain))
        return EXIT_UNCHECKED;
    ms_dns_tsig_key key;
    char *why = NULL;
    if (ms_dns_tsig_key_load(p->tsig_key_file, &key, &why) != MS_OK) {
        char *shown = why != NULL ? cli_escaped(why, strlen(why), 0) : NULL;
        fprintf(stderr, "mailsec dmarc publish: TSIG key %s\n", shown != NULL ? shown : "out of memory");
        free(shown);
        free(why);
        return EXIT_UNCHECKED;
    }
    publish_outcome o = {.domain = domain, .record = record, .p = p, .key = &key, .served = -2};
    char *name = dmarc_name(domain);
    o.name = name;
    int status = name != NULL ? publish(c, &o) : EXIT_UNCHECKED;
    if (name != NULL && o.update.message != NULL) {
        if (c->json && json != NULL)
            *json = json_outcome(&o);
        else if (!c->json)
            print_outcome(c, &o);
    }
    ms_dns_update_result_free(&o.update);
    free(o.detail);
    free(name);
    ms_dns_tsig_key_clear(&key);
    return status;
}

typedef struct command_args {
    publish_args p;
    const char *record;
} command_args;

static int command_option(void *arg, int opt, const char *value)
{
    command_args *a = arg;
    if (opt == OPT_RECORD) {
        a->record = value;
        return 1;
    }
    return publish_option(&a->p, opt, value);
}

int dmarc_publish_command(int argc, char **argv)
{
    static const char COMMAND[] = "dmarc publish";
    command_args a = {.p = {0}, .record = NULL};
    cli_common c;
    int done = cli_parse(argc, argv, &CLI_OPTIONS_dmarc_publish, PUBLISH_USAGE, COMMAND, &c,
                         command_option, &a);
    if (done >= 0)
        return done;
    if (optind + 1 != argc)
        return cli_usage_error(COMMAND, "give one domain, e.g. mailsec dmarc publish example.com "
                                        "--record 'v=DMARC1; p=none; ...'");
    if (a.record == NULL)
        return cli_usage_error(COMMAND, "give the new record with --record TEXT");
    done = publish_args_check(&a.p, COMMAND);
    if (done >= 0)
        return done;
    json_t *obj = NULL;
    int status = dmarc_publish_record(&c, &a.p, argv[optind], a.record, c.json ? &obj : NULL);
    if (obj != NULL) {
        json_t *doc = json_document(COMMAND);
        json_object_update_new(doc, obj);
        json_print(doc, status);
    }
    return status;
}
