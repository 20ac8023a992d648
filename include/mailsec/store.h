/* mailsec store: where reports are kept. One interface, two backends:
 * SQLite (the embedded default) and PostgreSQL (several ingest processes on
 * several machines, one database). One schema with versioned migrations
 * (docs/store.md).
 *
 * Exactly once: a report is identified by (kind, reporting organisation,
 * report id, policy domain, date range) — failure reports, which have no
 * id, by the carrying message's key. Storing it again changes nothing.
 * Each report is one transaction: a process killed at any moment leaves
 * every report either wholly stored or not at all.
 *
 * A store handle is used by one thread at a time.
 */
#ifndef MAILSEC_STORE_H
#define MAILSEC_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "mailsec/core.h"
#include "mailsec/report.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ms_store ms_store;

/* url: "sqlite:PATH", a plain PATH, "postgresql://..." / "postgres://...",
 * or NULL for the default: $XDG_DATA_HOME/mailsec/reports.db (else
 * ~/.local/share/mailsec/reports.db), its directory created. Creates or
 * migrates the schema. On failure *errmsg (caller frees) says why. */
ms_status ms_store_open(const char *url, ms_store **out, char **errmsg);
/* The same store opened for reading only, as the views do: never creates,
 * migrates or writes anything, so a store file another user owns, a
 * read-only file or file system, or a PostgreSQL role with SELECT rights
 * alone is enough (docs/store.md). A store whose schema is older than this
 * mailsec's is migrated first when it can be written (ms_store_open), else
 * refused with the reason. */
ms_status ms_store_open_read(const char *url, ms_store **out, char **errmsg);
/* url as it may be shown: a password in it ("postgresql://user:SECRET@...",
 * "?password=SECRET") replaced by "***". Caller frees; NULL for NULL or
 * when memory ran out. */
char *ms_store_url_masked(const char *url);
void ms_store_close(ms_store *store);
const char *ms_store_backend(const ms_store *store); /* "sqlite" / "postgresql" */
/* The last error of this handle, in words (the database's message). */
const char *ms_store_error(const ms_store *store);
int ms_store_schema_version(ms_store *store);

/* ---- Writing -------------------------------------------------------
 *
 * A write that fails says whose fault it was:
 *   MS_ERR_LIMIT, MS_ERR_INVALID  the report's: a count above
 *       MS_REPORT_COUNT_MAX, totals beyond what the store sums, or data the
 *       database refuses (a value out of range, a constraint, a field too
 *       long to index). The report has been rolled back (or is to be, see
 *       below); set it aside and go on with the next (ms_store_report_fault).
 *   MS_ERR_IO, MS_ERR_NOMEM  the store's: the connection, the disk, a
 *       read-only database. Going on would fail the same way. */
int ms_store_report_fault(ms_status status);

/* ---- Writing one aggregate report, streaming ---------------------- */

/* Opens the report's transaction. *duplicate set: the report is already
 * stored; nothing is held open and the records are to be skipped. */
ms_status ms_store_agg_begin(ms_store *store, const ms_report_agg_meta *meta,
                             const ms_report_origin *origin, int *duplicate);
/* When agg_record or raw_append fails, the report is to be given up with
 * ms_store_rollback (the database has aborted its transaction). */
ms_status ms_store_agg_record(ms_store *store, const ms_report_agg_record *record);
/* Appends the next chunk of the gzip-compressed original document to the
 * open report (kept so a later version can re-derive the rows). */
ms_status ms_store_raw_append(ms_store *store, const void *gz, size_t len);
/* The content digest (text, e.g. hex SHA-256 of the document) of the
 * report: with the report open, kept with it at commit; right after
 * ms_store_agg_begin found a duplicate, compared with the stored report's:
 * a different one is a conflicting duplicate (*conflicting set), recorded
 * in the conflicts table with origin (the stored report is kept as it
 * is). A report stored without a digest never conflicts. conflicting may
 * be NULL with the report open. */
ms_status ms_store_agg_digest(ms_store *store, const char *digest, const ms_report_origin *origin,
                              int *conflicting);
/* Sets the report's totals and commits; on failure the report is rolled
 * back already. */
ms_status ms_store_commit(ms_store *store);
/* Makes every report committed so far durable and visible to other
 * connections. A backend may group several reports into one database
 * transaction (SQLite does: docs/store.md); ms_store_commit then only ends
 * the report's savepoint, and the group is committed after a number of
 * reports or a fraction of a second, by this call, by ms_store_imap_mark
 * and by ms_store_close. A process killed before that loses the group's
 * reports (never part of one): running again stores them. */
ms_status ms_store_sync(ms_store *store);
void ms_store_rollback(ms_store *store);

/* ---- Whole reports -------------------------------------------------- */

/* gz_raw: the gzip-compressed original (JSON / message). */
ms_status ms_store_put_tlsrpt(ms_store *store, const ms_report_tlsrpt *report,
                              const ms_report_origin *origin, const void *gz_raw, size_t gz_len,
                              int *duplicate);
ms_status ms_store_put_failure(ms_store *store, const ms_report_failure *report,
                               const char *message_key, const ms_report_origin *origin,
                               const void *gz_raw, size_t gz_len, int *duplicate);
/* A report that could not be read (or stored), set aside with the
 * reason. One row per distinct bad input: input_key names it (ingest uses
 * a digest of its origin and the bytes read of it; NULL counts as "");
 * the same kind and input_key again updates that row's origin, reason,
 * last_seen and seen_count. */
ms_status ms_store_put_rejected(ms_store *store, const ms_report_origin *origin,
                                const char *kind, const ms_report_error *err,
                                const char *input_key);

/* ---- IMAP fetch bookkeeping ---------------------------------------- */

/* Whether this message (mailbox URL without credentials, UIDVALIDITY, UID)
 * was ingested already; marking is done after its reports are committed. */
ms_status ms_store_imap_seen(ms_store *store, const char *mailbox, uint32_t uidvalidity,
                             uint32_t uid, int *seen);
ms_status ms_store_imap_mark(ms_store *store, const char *mailbox, uint32_t uidvalidity,
                             uint32_t uid);

/* ---- Reverse DNS cache ---------------------------------------------- */

/* *name NULL when not cached; "" when cached as having no name. */
ms_status ms_store_rdns_get(ms_store *store, const char *ip, char **name, int64_t *fetched);
ms_status ms_store_rdns_put(ms_store *store, const char *ip, const char *name, int64_t fetched);

/* The raw original of a report, chunk by chunk in order (gzip bytes as
 * stored by ms_store_raw_append / the gz_raw arguments). The callback
 * returns 0 to go on. MS_ERR_INVALID when there is no such report. */
ms_status ms_store_raw_read(ms_store *store, int64_t report,
                            int (*chunk)(void *arg, const void *gz, size_t len), void *arg);

/* ---- Reading --------------------------------------------------------
 *
 * Every query returns plain structs in one array that the matching _free
 * function releases (strings inside are owned by the array; NULL when the
 * value is absent). Counts of messages are sums of the records' <count>.
 * Both backends give the same results in the same order.
 *
 * The filter selects reports: domain (the policy domain) and a
 * window on the report's begin time, since <= begin < until (Unix
 * seconds; 0 leaves that side open). */
typedef struct ms_store_filter {
    const char *domain; /* compared case-insensitively (ms_store_domain_key) */
    int64_t since, until;
} ms_store_filter;

/* A domain as the filter compares it: A-labels, lower case, no final dot.
 * MS_ERR_INVALID when text is not a domain name. Caller frees *out. */
ms_status ms_store_domain_key(const char *text, char **out);

/* Sums in the views saturate here (2^53 - 1, the largest integer every
 * JSON reader holds exactly): a figure equal to it means "at least this
 * many". A count or sum that cannot be right (negative: a value an older
 * version wrapped) reads as this too. */
#define MS_STORE_SUM_MAX ((uint64_t)9007199254740991)
/* a + b, saturated at MS_STORE_SUM_MAX: how the views add figures. */
uint64_t ms_store_sum(uint64_t a, uint64_t b);

/* A name with a number: a disposition, an override reason, a reporter. */
typedef struct ms_store_count {
    char *name;
    uint64_t count;
} ms_store_count;

/* `report summary`: one per policy domain, by domain. Rates are
 * numerator / messages:
 *   dmarc_pass   policy_evaluated dkim or spf is pass (DMARC passed)
 *   spf_aligned  policy_evaluated spf is pass (aligned SPF pass)
 *   dkim_aligned policy_evaluated dkim is pass (aligned DKIM pass) */
typedef struct ms_store_domain_summary {
    char *domain;
    uint64_t reports;
    uint64_t messages;
    uint64_t dmarc_pass, spf_aligned, dkim_aligned;
    int64_t first, last;         /* earliest begin, latest end */
    ms_store_count *dispositions; /* applied, messages each, by count desc */
    size_t disposition_count;
    ms_store_count *overrides;    /* reason types, messages each, by count desc */
    size_t override_count;
    ms_store_count *reporters;    /* organisations, messages each, by count desc */
    size_t reporter_count;
} ms_store_domain_summary;

ms_status ms_store_summary(ms_store *store, const ms_store_filter *filter,
                           ms_store_domain_summary **out, size_t *count);
void ms_store_summary_free(ms_store_domain_summary *rows, size_t count);

/* `report sources`: one per sending IP. The classification inputs split
 * the messages three ways (aligned + unaligned + failing = messages):
 *   aligned    DMARC passed (an aligned SPF or DKIM pass);
 *   unaligned  DMARC failed but some SPF or DKIM result passed: a real
 *              service not set up for the domain;
 *   failing    nothing passed: spoofing, or forwarding. Signs of
 *              forwarding: dkim_pass_spf_fail (a forwarder breaks SPF
 *              but keeps the signature) and forwarded (the receiver said
 *              forwarded / mailing_list / trusted_forwarder). */
typedef struct ms_store_source {
    char *source_ip;
    char *rdns;       /* from the rdns cache; NULL not cached, "" no name */
    char *group;      /* the grouping key from the callback (NULL without one) */
    uint64_t messages;
    uint64_t aligned, unaligned, failing;
    uint64_t dkim_pass_spf_fail, forwarded;
    char **spf_domains;  /* every SPF auth domain seen, sorted */
    size_t spf_domain_count;
    char **dkim_domains; /* every DKIM auth domain seen, sorted */
    size_t dkim_domain_count;
    char **header_froms; /* header From domains, sorted */
    size_t header_from_count;
} ms_store_source;

/* group (may be NULL): maps an rDNS name (never NULL or "") to the key the
 * sources are grouped by, usually its organisational domain; returns a
 * malloc'd string or NULL. Sources come by group (no group last), then
 * messages descending, then IP. */
typedef char *(*ms_store_group_fn)(void *arg, const char *rdns_name);

ms_status ms_store_sources(ms_store *store, const ms_store_filter *filter,
                           ms_store_group_fn group, void *group_arg,
                           ms_store_source **out, size_t *count);
void ms_store_sources_free(ms_store_source *rows, size_t count);

/* `report sources --limit N` / `--all`: the sources with the most
 * messages, streamed. Each of the first `limit` sources (0: all of them)
 * is passed to fn, by messages descending then IP (rdns and the domain
 * lists filled, group NULL); the pointers are valid during the call only,
 * so memory stays bounded by one source whatever the store holds. fn
 * returns 0 to go on, non-zero to stop (the call then returns MS_OK).
 * rest (may be NULL) receives the sums over the sources not passed:
 * sources is how many there are. Read from the rollups (docs/store.md):
 * with no window, or a window on whole UTC days, the top N come from an
 * index, not a scan. */
typedef int (*ms_store_source_fn)(void *arg, const ms_store_source *source);
typedef struct ms_store_source_rest {
    uint64_t sources;
    uint64_t messages, aligned, unaligned, failing, dkim_pass_spf_fail, forwarded;
} ms_store_source_rest;
ms_status ms_store_sources_top(ms_store *store, const ms_store_filter *filter, size_t limit,
                               ms_store_source_fn fn, void *arg, ms_store_source_rest *rest);

/* Every source the filter selects, passed to fn one at a time in no
 * particular order, for a reader that sums them all (dmarc advise): the
 * counts and the domain lists as ms_store_sources_top gives them, rdns
 * and group NULL (ms_store_rdns_get names a source); the pointers are
 * valid during the call only, so memory stays bounded by one source. No
 * sort, read from the per-day rollups; for a window not on whole UTC days
 * the counts are exact (computed from the records) and the domain lists
 * those of the days the window touches. fn returns non-zero to stop. */
ms_status ms_store_sources_each(ms_store *store, const ms_store_filter *filter,
                                ms_store_source_fn fn, void *arg);

/* The policy a domain published, over time, as the reports restate it:
 * one row per policy domain and distinct published policy (p, sp, np,
 * pct, adkim, aspf, fo, testing; NULL when the reports left it out),
 * with the earliest begin and latest end of the reports that carried it,
 * how many reports and how many distinct reporting organisations. By
 * domain, then first, then the policy fields. A domain that went back to
 * an earlier policy has one row for it spanning both periods: compare
 * first/last of its rows (ms_store_daily shows day by day). */
typedef struct ms_store_policy_row {
    char *domain;
    char *p, *sp, *np, *pct, *adkim, *aspf, *fo, *testing;
    int64_t first, last;
    uint64_t reports, reporters;
} ms_store_policy_row;

ms_status ms_store_policy_history(ms_store *store, const ms_store_filter *filter,
                                  ms_store_policy_row **out, size_t *count);
void ms_store_policy_history_free(ms_store_policy_row *rows, size_t count);

/* Time series: one row per policy domain and UTC day (the day the
 * report begins, as Unix seconds at 00:00 UTC), by domain then day; days
 * without reports are absent. Message counts as in ms_store_summary;
 * none/quarantine/reject: messages by the disposition applied (other
 * values a reporter wrote are in ms_store_summary's dispositions). */
typedef struct ms_store_day_row {
    char *domain;
    int64_t day;
    uint64_t reports, messages;
    uint64_t dmarc_pass, spf_aligned, dkim_aligned;
    uint64_t none, quarantine, reject;
} ms_store_day_row;

ms_status ms_store_daily(ms_store *store, const ms_store_filter *filter, ms_store_day_row **out,
                         size_t *count);
void ms_store_daily_free(ms_store_day_row *rows, size_t count);

/* One source's traffic over time: one row per policy domain and UTC day
 * on which ip sent (as in ms_store_daily), by day then domain. */
typedef struct ms_store_source_day {
    char *domain;
    int64_t day;
    uint64_t messages, aligned, unaligned, failing, dkim_pass_spf_fail, forwarded;
} ms_store_source_day;

ms_status ms_store_source_daily(ms_store *store, const ms_store_filter *filter, const char *ip,
                                ms_store_source_day **out, size_t *count);
void ms_store_source_daily_free(ms_store_source_day *rows, size_t count);

/* `report list`: one per stored report, by begin time then id. For
 * aggregate reports records and messages are the rows and their counts;
 * for TLS reports the policies and total sessions; for failure reports 1
 * and the incidents. */
typedef struct ms_store_report_row {
    int64_t id;
    char *kind;      /* "aggregate", "tls", "failure" */
    char *org;
    char *report_id; /* failure reports: the message key */
    char *domain;
    int64_t begin, end;
    uint64_t records, messages;
    int64_t ingested_at;
    char *origin;
} ms_store_report_row;

ms_status ms_store_list(ms_store *store, const ms_store_filter *filter,
                        ms_store_report_row **out, size_t *count);
void ms_store_list_free(ms_store_report_row *rows, size_t count);

/* A page of the list, newest first (by begin, then by id): the reports of
 * one kind ("aggregate", "tls", "failure"; NULL: every kind) that the
 * filter selects, offset skipped, then at most limit (at most
 * MS_STORE_LIST_PAGE_MAX). Memory bounded by limit, whatever the store
 * holds: ask for limit + 1 to learn whether there are more. Freed with
 * ms_store_list_free. */
#define MS_STORE_LIST_PAGE_MAX 10000
typedef struct ms_store_list_page {
    const char *kind;
    uint64_t offset;
    size_t limit;
} ms_store_list_page;
ms_status ms_store_list_newest(ms_store *store, const ms_store_filter *filter,
                               const ms_store_list_page *page, ms_store_report_row **out,
                               size_t *count);

/* One record of an aggregate report as stored. dkim_* and spf_* are the
 * first result of each kind; auth_more holds the others, one per line:
 * "dkim\tDOMAIN\tSELECTOR\tRESULT\tHUMAN" or "spf\tDOMAIN\tSCOPE\tRESULT\tHUMAN"
 * (absent fields empty). reasons: the override types joined by ",";
 * reason_comments: their comments joined by "\n". */
typedef struct ms_store_record {
    int64_t report;
    int64_t seq;     /* 0, 1, ... in document order */
    char *source_ip;
    uint64_t count;
    char *disposition, *dkim, *spf;
    char *reasons, *reason_comments;
    char *envelope_to, *envelope_from, *header_from;
    char *dkim_domain, *dkim_selector, *dkim_result, *dkim_human;
    char *spf_domain, *spf_scope, *spf_result, *spf_human;
    int dkim_pass, spf_pass;  /* some DKIM / SPF result of the record passed */
    char *auth_more;
} ms_store_record;

/* `report show ID`: the report's row, its published policy (aggregate),
 * its records (aggregate) or policies (TLS). */
typedef struct ms_store_tls_failure_row {
    char *result_type, *sending_mta_ip, *receiving_mx_hostname, *receiving_mx_helo;
    char *receiving_ip, *additional_information, *failure_reason_code;
    uint64_t failed_sessions;
} ms_store_tls_failure_row;

typedef struct ms_store_tls_policy_row {
    char *policy_type, *policy_domain, *policy_string, *mx_host;
    uint64_t successful, failed;
    ms_store_tls_failure_row *failures;
    size_t failure_count;
} ms_store_tls_policy_row;

typedef struct ms_store_report {
    ms_store_report_row head;
    char *email, *extra_contact_info, *version, *generator, *errors;
    char *adkim, *aspf, *p, *sp, *np, *pct, *fo, *testing, *discovery_method;
    char *notes; /* what the parser made of something unusual; NULL: nothing */
    ms_store_record *records;
    size_t record_count;
    ms_store_tls_policy_row *policies;
    size_t policy_count;
} ms_store_report;

/* MS_ERR_INVALID when there is no report with this id. */
ms_status ms_store_show(ms_store *store, int64_t id, ms_store_report **out);
void ms_store_report_free(ms_store_report *report);

/* `report export`: every record of the selected aggregate reports, one
 * call each, streamed (memory stays bounded however many there are), by
 * report then seq. The pointers are valid during the call only. Return 0
 * to go on; non-zero stops the export, which then returns MS_OK. */
typedef int (*ms_store_export_fn)(void *arg, const ms_store_report_row *report,
                                  const ms_store_record *record);
ms_status ms_store_export(ms_store *store, const ms_store_filter *filter,
                          ms_store_export_fn row, void *arg);

/* The failure-report view: reports and incidents per (domain, source IP,
 * auth failure), by incidents descending. The filter's window applies to
 * the arrival time. */
typedef struct ms_store_failure_row {
    char *domain, *source_ip, *auth_failure;
    uint64_t reports, incidents;
} ms_store_failure_row;

ms_status ms_store_failure_summary(ms_store *store, const ms_store_filter *filter,
                                   ms_store_failure_row **out, size_t *count);
void ms_store_failure_summary_free(ms_store_failure_row *rows, size_t count);

/* The TLS view: per policy domain, sessions (successful, failed) over the
 * selected reports, by domain; and the failures by (policy domain, result
 * type, receiving MX), failed sessions each, by sessions descending. */
typedef struct ms_store_tls_domain_row {
    char *policy_domain;
    uint64_t reports, successful, failed;
} ms_store_tls_domain_row;

typedef struct ms_store_tls_result_row {
    char *policy_domain, *result_type, *receiving_mx;
    uint64_t sessions;
} ms_store_tls_result_row;

typedef struct ms_store_tls_summary {
    ms_store_tls_domain_row *domains;
    size_t domain_count;
    ms_store_tls_result_row *results;
    size_t result_count;
} ms_store_tls_summary;

ms_status ms_store_tls_summary_get(ms_store *store, const ms_store_filter *filter,
                                   ms_store_tls_summary *out);
void ms_store_tls_summary_free(ms_store_tls_summary *summary);

/* ---- Recording evaluated messages ------------------------------------
 *
 * What this receiver decided about each message it evaluated, kept so
 * `mailsec report send` can report it to the policy domains (RFC 9990
 * aggregate reports to others; docs/report.md, docs/store.md). */
typedef struct ms_store_eval_dkim {
    const char *domain;    /* d= */
    const char *selector;  /* s= */
    const char *result;    /* "pass","fail","neutral","temperror","permerror","none" (RFC 9990 dkim result words) */
} ms_store_eval_dkim;
typedef struct ms_store_eval_override {
    const char *type;      /* RFC 9990 PolicyOverrideType: "forwarded","sampled_out","trusted_forwarder","mailing_list","local_policy","other" */
    const char *comment;   /* may be NULL */
} ms_store_eval_override;
typedef struct ms_store_evaluation {
    int64_t time;                  /* unix seconds the message was evaluated */
    const char *source_ip;
    const char *header_from;       /* RFC5322.From domain */
    const char *envelope_from;     /* RFC5321.MailFrom domain; NULL for the null sender */
    const char *envelope_to;       /* the first recipient's domain; may be NULL */
    const char *policy_domain;     /* the domain whose DMARC record applied; NULL when none was found */
    const char *policy_record;     /* that record's text, for <policy_published>; NULL when none */
    const char *disposition;       /* "none","quarantine","reject" */
    const char *dkim_aligned;      /* "pass","fail" (policy_evaluated dkim) */
    const char *spf_aligned;       /* "pass","fail" */
    const char *spf_domain;        /* the domain SPF checked */
    const char *spf_scope;         /* "mfrom","helo" */
    const char *spf_result;        /* "none","neutral","pass","fail","softfail","temperror","permerror" */
    const ms_store_eval_dkim *dkim; size_t dkim_count;
    const ms_store_eval_override *overrides; size_t override_count;
} ms_store_evaluation;
/* Stores one evaluation in its own transaction; bounded (strings over their limits are cut, counts over 32 refused with MS_ERR_LIMIT). */
ms_status ms_store_put_evaluation(ms_store *store, const ms_store_evaluation *evaluation);

/* The bounds of ms_store_put_evaluation (docs/store.md): longer strings
 * are cut (at a UTF-8 character boundary), control characters become
 * spaces, domains are lower-cased, the policy domain kept as A-labels (a
 * policy_domain that is not a domain name is stored as none: the message
 * is not reported). A source_ip that is not an IP address,
 * a missing header_from or a word outside the lists above is refused with
 * MS_ERR_INVALID. */
enum {
    MS_STORE_EVAL_LIST_MAX = 32,      /* DKIM results, overrides */
    MS_STORE_EVAL_DOMAIN_MAX = 255,   /* every domain, the selector */
    MS_STORE_EVAL_COMMENT_MAX = 1024, /* an override's comment */
    MS_STORE_EVAL_RECORD_MAX = 4096   /* policy_record */
};

/* One (policy domain, UTC day) with evaluations: what `report send`
 * makes one report of. policy_record: that of the day's last evaluation. */
typedef struct ms_store_eval_period {
    char *policy_domain;
    int64_t day;            /* 00:00 UTC, Unix seconds */
    uint64_t messages;
    int64_t first, last;    /* the earliest and latest evaluation */
    char *policy_record;    /* NULL when none was recorded */
} ms_store_eval_period;

/* The periods whose day lies in since <= day < until, by day then domain
 * (evaluations without a policy domain are not reported and left out). */
ms_status ms_store_eval_periods(ms_store *store, int64_t since, int64_t until,
                                ms_store_eval_period **out, size_t *count);
void ms_store_eval_periods_free(ms_store_eval_period *rows, size_t count);

/* The evaluations of one period grouped as an aggregate report's
 * <record>s are: equal source IP, identifiers, policy evaluated (with
 * overrides) and authentication results make one group, with count the
 * number of messages. Streamed in a fixed order (the same report every
 * time), one group at a time: fn's pointers are valid during the call
 * only. evaluation.time is the group's latest. fn returns 0 to go on;
 * non-zero stops (the call then returns MS_OK). */
typedef struct ms_store_eval_group {
    ms_store_evaluation evaluation;
    uint64_t count;
} ms_store_eval_group;
typedef int (*ms_store_eval_fn)(void *arg, const ms_store_eval_group *group);
ms_status ms_store_eval_groups(ms_store *store, const char *policy_domain, int64_t day,
                               ms_store_eval_fn fn, void *arg);

/* Where the report of one period stands for one destination (a rua URI):
 * built (it may or may not have left: a run killed between the two) or
 * sent. Kept so that a run again sends each report once. */
typedef enum ms_store_send_state {
    MS_STORE_SEND_NONE = 0,
    MS_STORE_SEND_BUILT,
    MS_STORE_SEND_SENT
} ms_store_send_state;
ms_status ms_store_send_state_get(ms_store *store, const char *policy_domain, int64_t day,
                                  const char *destination, ms_store_send_state *state);
/* Durable on disk before it returns. */
ms_status ms_store_send_state_set(ms_store *store, const char *policy_domain, int64_t day,
                                  const char *destination, const char *report_id,
                                  ms_store_send_state state);

#ifdef __cplusplus
}
#endif
#endif
