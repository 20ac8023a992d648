/* mailsec report: the views over the store (summary, sources, list, show,
 * export, failures, tls), in report_views.c; ingest and fetch are in
 * report.c. */
#ifndef MAILSEC_SRC_REPORT_VIEWS_H
#define MAILSEC_SRC_REPORT_VIEWS_H

#include "mailsec/store.h"

#include <jansson.h>

#define REPORT_VIEWS_GROUP_USAGE                                                          \
    "  summary                  per domain: messages, DMARC/SPF/DKIM pass rates, ...\n"  \
    "  sources                  per sending source: who sends as your domains, and how\n" \
    "  list                     the stored reports\n"                                     \
    "  show ID                  one report and its records\n"                             \
    "  export                   records as CSV or JSON\n"                                 \
    "  failures                 the failure reports, summarised\n"                        \
    "  tls                      the SMTP TLS reports, summarised\n"

/* Runs a view command; argv[0] is its name, one of REPORT_VIEW_COMMANDS. */
int report_view_run(int argc, char **argv);

#define REPORT_VIEW_COMMANDS                                                          \
    {"summary", report_view_run}, {"sources", report_view_run}, {"list", report_view_run}, \
    {"show", report_view_run}, {"export", report_view_run}, {"failures", report_view_run}, \
    {"tls", report_view_run}

typedef enum report_access {
    REPORT_STORE_WRITE, /* ingest: created and migrated when needed */
    REPORT_STORE_READ   /* the views: read-only (ms_store_open_read) */
} report_access;

/* Opens the store named by db, else $MAILSEC_DB, else the default. On
 * failure says why (report_store_failed, with json and array) and
 * returns NULL. */
ms_store *report_open(const char *command, const char *db, report_access access, int json,
                      const char *array);
/* The views that look up reverse DNS names (report sources, dmarc advise)
 * cache them in the store: store, opened read-only, is given back as a
 * writable handle when this user may write it. Else the names cached
 * already serve: *no_rdns is set, and a line on stderr says so. */
ms_store *report_rdns_store(const char *command, const char *db, ms_store *store, int *no_rdns);
/* report_open for writing, without JSON. */
ms_store *report_open_store(const char *command, const char *db);

/* Why a command could not run: "mailsec COMMAND: error" on stderr and,
 * with json, the JSON document saying so: "error", "result": "unchecked",
 * and the command's array of answers empty when array names it ("results"
 * for the views, "records" for export; NULL: none). */
void report_store_failed(const char *command, int json, const char *array, const char *error);

/* For the dashboard (mailsec serve): the JSON document that `mailsec report
 * VIEW --json` prints for this filter (show: report id; sources: the reverse
 * DNS cached only, as --no-rdns), in *doc (caller frees). 0, or -1 when the
 * store failed (ms_store_error says why), -2 when show has no such report. */
int report_view_document(const char *view, ms_store *store, const ms_store_filter *filter, int64_t id,
                         json_t **doc);
/* A --since (until 0) or --until (until 1) DATE as the views take it, in
 * *out: --until a day means to its end. 1, else 0 when text is no date. */
int report_date_bound(const char *text, int until, int64_t *out);

#endif
