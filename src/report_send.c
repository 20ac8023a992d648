/* mailsec report send: the aggregate reports of the messages this
 * receiver evaluated, to the domains that ask for them (docs/report.md).
 * Argument parsing and rendering only; lib/report/send.c does the work. */
#include "cli.h"
#include "report_options.h"
#include "report_send.h"
#include "report_views.h"

#include "mailsec/report.h"
#include "mailsec/store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char SEND_USAGE[] =
    "Usage: mailsec report send --org NAME --from ADDRESS [options]\n\n"
    "Builds one DMARC aggregate report (RFC 9990) per policy domain and UTC day\n"
    "from the evaluations recorded in the store (by `mailsec milter`), and mails\n"
    "it to each rua= destination the domain publishes now. A destination outside\n"
    "the domain's organisation gets it only when it authorises it\n"
    "(DOMAIN._report._dmarc.DEST); a destination's size limit (!10m) is kept.\n"
    "Each report is sent once per destination, even when a run is killed and\n"
    "run again. Exit status 1: a report was skipped for a destination; 2: one\n"
    "could not be sent, or the store failed.\n\n";


typedef struct send_args {
    const char *db;
    ms_report_send_options o;
    int has_day;
} send_args;

/* YYYY-MM-DD as 00:00 UTC of that day. */
static int parse_day(const char *text, int64_t *out)
{
    int y, m, d;
    char end;
    if (sscanf(text, "%4d-%2d-%2d%c", &y, &m, &d, &end) != 3 || m < 1 || m > 12 || d < 1 || d > 31 ||
        y < 1970 || y > 9999)
        return 0;
    struct tm tm = {.tm_year = y - 1900, .tm_mon = m - 1, .tm_mday = d};
    time_t t = timegm(&tm);
    if (tm.tm_mday != d) /* 31 April */
        return 0;
    *out = (int64_t)t;
    return 1;
}

static int send_option(void *arg, int opt, const char *value)
{
    send_args *a = arg;
    switch (opt) {
    case OPT_DB: a->db = value; return 1;
    case OPT_ORG: a->o.org_name = value; return 1;
    case OPT_FROM: a->o.from = value; return 1;
    case OPT_SENDMAIL: a->o.sendmail = value; return 1;
    case OPT_SMTP: a->o.smtp = value; return 1;
    case OPT_OUT: a->o.out_dir = value; return 1;
    case OPT_DRY_RUN: a->o.dry_run = 1; return 1;
    case OPT_DAY:
        a->has_day = parse_day(value, &a->o.since);
        a->o.until = a->o.since + 86400;
        return a->has_day;
    }
    return CLI_OPTION_UNHANDLED;
}

typedef struct send_view {
    const cli_common *c;
    json_t *results;
    unsigned long sent, skipped, failed;
} send_view;

static void on_event(void *arg, const ms_report_send_event *ev)
{
    send_view *v = arg;
    char day[32];
    time_t t = (time_t)ev->day;
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(day, sizeof day, "%Y-%m-%d", &tm);
    const char *outcome = ms_report_send_outcome_name(ev->outcome);
    v->sent += ev->outcome == MS_REPORT_SEND_SENT;
    v->skipped += ev->outcome == MS_REPORT_SEND_SKIPPED;
    v->failed += ev->outcome == MS_REPORT_SEND_FAILED;
    if (v->c->json) {
        json_t *o = json_pack("{s:s, s:s, s:o, s:s, s:o, s:o, s:I, s:I, s:I, s:o}", "domain",
                              ev->policy_domain, "day", day, "destination",
                              json_str_or_null(ev->destination), "outcome", outcome, "report_id",
                              json_str_or_null(ev->report_id), "file", json_str_or_null(ev->file),
                              "records", (json_int_t)ev->records, "messages",
                              (json_int_t)ev->messages, "bytes", (json_int_t)ev->bytes, "reason",
                              json_str_or_null(ev->reason));
        json_array_append_new(v->results, o);
        return;
    }
    const char *to = ev->destination ? ev->destination : ev->file ? ev->file : "";
    const char *sep = to[0] ? " -> " : "";
    switch (ev->outcome) {
    case MS_REPORT_SEND_FAILED:
        out_item(v->c, MS_SEV_ERROR, "%s %s%s%s: not sent: %s", ev->policy_domain, day, sep, to,
                 ev->reason ? ev->reason : "");
        break;
    case MS_REPORT_SEND_SKIPPED:
        out_item(v->c, MS_SEV_WARNING, "%s %s%s%s: skipped: %s", ev->policy_domain, day, sep, to,
                 ev->reason ? ev->reason : "");
        break;
    case MS_REPORT_SEND_SENT:
    case MS_REPORT_SEND_WOULD_SEND:
    case MS_REPORT_SEND_WRITTEN:
        out_ok(v->c, "%s %s%s%s: %s (%llu records, %llu messages, %llu bytes)", ev->policy_domain,
               day, sep, to, outcome, (unsigned long long)ev->records,
               (unsigned long long)ev->messages, (unsigned long long)ev->bytes);
        break;
    default:
        if (v->c->verbose)
            out_item(v->c, MS_SEV_INFO, "%s %s%s%s: %s%s%s", ev->policy_domain, day, sep, to,
                     outcome, ev->reason ? ": " : "", ev->reason ? ev->reason : "");
    }
}

static int send_status(const send_view *v, ms_status st)
{
    if (st != MS_OK || v->failed > 0)
        return EXIT_UNCHECKED;
    return v->skipped > 0 ? EXIT_PROBLEMS : EXIT_CLEAN;
}

int report_send_run(int argc, char **argv)
{
    static const char CMD[] = "report send";
    cli_common c;
    send_args a = {0};
    int done = cli_parse(argc, argv, &CLI_OPTIONS_report_send, SEND_USAGE, CMD, &c,
                         send_option, &a);
    if (done >= 0)
        return done;
    if (optind != argc)
        return cli_usage_error(CMD, "unexpected argument %s", argv[optind]);
    if (a.o.org_name == NULL || a.o.from == NULL)
        return cli_usage_error(CMD, "--org and --from are required");
    if (strchr(a.o.from, '@') == NULL)
        return cli_usage_error(CMD, "--from %s is not an address", a.o.from);
    if (!a.has_day) { /* the 7 complete days before today */
        int64_t today = (int64_t)time(NULL) / 86400 * 86400;
        a.o.since = today - 7 * 86400;
        a.o.until = today;
    }
    ms_ctx *ctx = cli_make_ctx(&c);
    if (ctx == NULL)
        return EXIT_UNCHECKED;
    ms_store *store = report_open(CMD, a.db, REPORT_STORE_WRITE, c.json, "results");
    if (store == NULL) {
        ms_ctx_free(ctx);
        return EXIT_UNCHECKED;
    }
    send_view v = {.c = &c, .results = c.json ? json_array() : NULL};
    ms_status st = ms_report_send(ctx, store, &a.o, on_event, &v);
    if (st != MS_OK)
        fprintf(stderr, "mailsec %s: %s\n", CMD,
                st == MS_ERR_IO ? ms_store_error(store) : ms_status_str(st));
    int status = send_status(&v, st);
    if (c.json) {
        json_t *doc = json_document(CMD);
        json_object_set_new(doc, "results", v.results);
        json_object_set_new(doc, "sent", json_integer((json_int_t)v.sent));
        json_object_set_new(doc, "skipped", json_integer((json_int_t)v.skipped));
        json_object_set_new(doc, "failed", json_integer((json_int_t)v.failed));
        if (st != MS_OK)
            json_object_set_new(doc, "error", json_string(st == MS_ERR_IO ? ms_store_error(store)
                                                                          : ms_status_str(st)));
        json_print(doc, status);
    }
    ms_store_close(store);
    ms_ctx_free(ctx);
    return status;
}
