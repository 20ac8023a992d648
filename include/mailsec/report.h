/* mailsec report: DMARC aggregate reports (RFC 7489 appendix C, RFC 9990,
 * the older draft schema), DMARC failure reports (RFC 6591 / RFC 9991 ARF)
 * and SMTP TLS reports (RFC 8460), and the unwrapping that finds them in
 * files, archives and mail.
 *
 * The pipeline is streaming end to end, so memory stays bounded however
 * large one report or one mailbox is:
 *
 *   ms_report_walk()  files, directories, gzip, zip, messages, mbox, Maildir
 *        |            -> one ms_report_doc per report found, read as a stream
 *        v
 *   ms_report_agg_parser     push parser (expat): report_begin once the metadata
 *        |            and the published policy are known, then one
 *        v            record_cb per <record>, then report_end
 *   the caller        (src/report.c stores them through ms_store)
 *
 * TLS reports (JSON, small, bounded by MS_REPORT_TLSRPT_MAX) and failure
 * reports (one message each, bounded by MS_REPORT_MESSAGE_MAX) are parsed
 * whole into one struct.
 *
 * Strings handed to callbacks are NUL-terminated UTF-8 (invalid bytes and
 * other declared encodings converted), trimmed, with control characters
 * removed; they belong to the parser and are valid only during the call.
 * NULL means the element was absent or empty. Enumerated values (results,
 * dispositions, alignment modes) are lower-cased.
 */
#ifndef MAILSEC_REPORT_H
#define MAILSEC_REPORT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "mailsec/core.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Limits on hostile input, in one place (docs/report-formats.md lists the
 * parsers' limits, docs/report-ingest.md the unwrapping's). */
enum {
    MS_REPORT_FIELD_MAX = 4096,            /* bytes of one element's text */
    MS_REPORT_DEPTH_MAX = 32,              /* XML element nesting */
    MS_REPORT_AUTH_MAX = 32,               /* <dkim>/<spf> results kept per record */
    MS_REPORT_REASON_MAX = 16,             /* <reason> elements kept per record */
    MS_REPORT_TLSRPT_MAX = 64 << 20,       /* bytes of one TLS report's JSON */
    MS_REPORT_MESSAGE_MAX = 64 << 20,      /* bytes of one message holding a report */
    MS_REPORT_NESTING_MAX = 8,             /* archive/message wrappers inside each other */
    MS_REPORT_RATIO_MAX = 1000,            /* decompressed:compressed bytes */
    MS_REPORT_RECORD_ELEMENTS_MAX = 1024,  /* XML elements inside one <record> */
    MS_REPORT_TOKEN_MAX = 1 << 20,         /* bytes of one XML tag, comment or PI */
    MS_REPORT_EARLY_RECORDS_MAX = 16 << 20 /* bytes of records held back when they
                                              come before <policy_published> */
};
/* Bytes one decompressed document may reach (a 1 GB report is legal). */
#define MS_REPORT_INFLATED_MAX ((int64_t)4 << 30)

/* The largest message or session count one report may claim for one row:
 * an aggregate record's <count>, a TLS report policy's session totals and
 * each failure-details row's count, a failure report's Incidents. No
 * receiver has seen four billion messages from one source for one domain
 * in one reporting period; a larger figure is a broken or hostile report,
 * set aside whole with its position. The bound keeps every sum in range:
 * a report holds fewer than 2^27 records (MS_REPORT_INFLATED_MAX over the
 * smallest record's bytes), so its totals stay below 2^59, and a view
 * summing 2^31 such rows still fits int64 (the views saturate beyond). */
#define MS_REPORT_COUNT_MAX ((uint64_t)UINT32_MAX)

/* The dates a report may carry, in every format (an aggregate report's
 * <date_range>, a TLS report's date-range, a failure report's
 * Arrival-Date): 1970-01-01T00:00:00Z to 9999-12-31T23:59:59Z, as Unix
 * seconds. Earlier than the Unix epoch or later than four-digit years is
 * a broken report, refused with its position (docs/report-formats.md). */
#define MS_REPORT_TIME_MIN ((int64_t)0)
#define MS_REPORT_TIME_MAX ((int64_t)253402300799)

/* Where a report came from, for messages and for the store:
 * "inbox.mbox: message 1234 (byte 99812): part 2 (report.xml.gz): report.xml"
 * (docs/report-ingest.md describes each component). */
typedef struct ms_report_origin {
    const char *file; /* the path given or found in a directory */
    const char *path; /* the whole chain, as above */
} ms_report_origin;

/* Why a report could not be read: the place in the document. */
typedef struct ms_report_error {
    char *message;  /* what went wrong, in words (owned) */
    long line;      /* 1-based; 0 when not applicable */
    long column;    /* 1-based; 0 when not applicable */
    int64_t offset; /* byte offset in the (decompressed) document; -1 if none */
} ms_report_error;

/* Frees the message and resets the position. The parsers fill an error
 * given to them (freeing a message it already held), so it must start
 * zeroed or cleared; NULL is allowed where an error is taken. */
void ms_report_error_clear(ms_report_error *err);

/* ---- Aggregate reports --------------------------------------------- */

typedef enum ms_report_agg_schema {
    MS_REPORT_AGG_SCHEMA_DRAFT = 0, /* pre-RFC drafts: no <version>, old element names */
    MS_REPORT_AGG_SCHEMA_RFC7489,   /* <version>1.0</version> or none, no namespace */
    MS_REPORT_AGG_SCHEMA_RFC9990    /* urn:ietf:params:xml:ns:dmarc-2.0 */
} ms_report_agg_schema;

/* <report_metadata> and <policy_published>. */
typedef struct ms_report_agg_meta {
    ms_report_agg_schema schema;
    const char *version;            /* <version> as written */
    const char *org_name;
    const char *email;
    const char *extra_contact_info;
    const char *report_id;
    int64_t begin, end;             /* <date_range>, Unix seconds (floats truncated) */
    const char *generator;          /* RFC 9990 */
    const char *errors;             /* <error> elements joined by "; " */
    /* policy published */
    const char *domain;             /* lower case */
    const char *adkim, *aspf;       /* "r" / "s" */
    const char *p, *sp, *np;        /* "none" / "quarantine" / "reject" */
    const char *pct;                /* RFC 7489 */
    const char *fo;
    const char *testing;            /* RFC 9990: "n" / "y" */
    const char *discovery_method;   /* RFC 9990: "psl" / "treewalk" */
    /* What the parser made of something unusual, for the reader of the
     * stored report; NULL when nothing. Today: an empty or missing
     * <org_name>, for which org_name is the domain of <email> (or of
     * <extra_contact_info>). */
    const char *notes;
} ms_report_agg_meta;

typedef struct ms_report_agg_reason {
    const char *type;    /* forwarded, sampled_out, trusted_forwarder,
                            mailing_list, local_policy, other, policy_test_mode */
    const char *comment;
} ms_report_agg_reason;

typedef struct ms_report_agg_auth {
    const char *domain;
    const char *selector;     /* DKIM */
    const char *scope;        /* SPF: "mfrom" / "helo" */
    const char *result;       /* lower case */
    const char *human_result;
} ms_report_agg_auth;

typedef struct ms_report_agg_record {
    const char *source_ip;    /* as written, validated as IPv4/IPv6 text */
    uint64_t count;
    /* policy_evaluated */
    const char *disposition;  /* none / quarantine / reject / pass (RFC 9990) */
    const char *dkim;         /* DMARC-aligned DKIM: pass / fail */
    const char *spf;          /* DMARC-aligned SPF: pass / fail */
    ms_report_agg_reason reasons[MS_REPORT_REASON_MAX];
    size_t reason_count;
    /* identifiers */
    const char *envelope_to, *envelope_from, *header_from;
    /* auth_results */
    ms_report_agg_auth dkim_results[MS_REPORT_AUTH_MAX];
    size_t dkim_count;
    ms_report_agg_auth spf_results[MS_REPORT_AUTH_MAX];
    size_t spf_count;
    long line;                /* where <record> began, for messages */
} ms_report_agg_record;

/* Return 0 to go on. report_begin may return MS_REPORT_AGG_SKIP: the records of
 * this report are then parsed (to find the end) but not handed over; or
 * MS_REPORT_AGG_STOP: nothing more is parsed, and feed and finish return
 * MS_OK (the caller wanted the metadata only); any other non-zero return
 * stops the parse with MS_ERR_INVALID. */
enum { MS_REPORT_AGG_SKIP = 1, MS_REPORT_AGG_STOP = 2 };

typedef struct ms_report_agg_callbacks {
    void *arg;
    int (*report_begin)(void *arg, const ms_report_agg_meta *meta);
    int (*record)(void *arg, const ms_report_agg_record *record);
} ms_report_agg_callbacks;

typedef struct ms_report_agg_parser ms_report_agg_parser;

ms_status ms_report_agg_parser_new(const ms_report_agg_callbacks *cb, ms_report_agg_parser **out);
void ms_report_agg_parser_free(ms_report_agg_parser *p);
/* Feeds the next bytes of the document. MS_OK, or MS_ERR_INVALID /
 * MS_ERR_LIMIT with *err filled (position and reason); the parser is then
 * done and further calls fail. */
ms_status ms_report_agg_parser_feed(ms_report_agg_parser *p, const void *data, size_t len, ms_report_error *err);
/* The end of the document: checks the report was complete (metadata,
 * policy, at least the closing root element). */
ms_status ms_report_agg_parser_finish(ms_report_agg_parser *p, ms_report_error *err);
/* Records handed over so far. */
uint64_t ms_report_agg_parser_records(const ms_report_agg_parser *p);

/* ---- SMTP TLS reports (RFC 8460) ----------------------------------- */

typedef struct ms_report_tlsrpt_failure {
    char *result_type;            /* starttls-not-supported, certificate-expired, ... */
    char *sending_mta_ip;
    char *receiving_mx_hostname;
    char *receiving_mx_helo;
    char *receiving_ip;
    uint64_t failed_session_count;
    char *additional_information;
    char *failure_reason_code;
} ms_report_tlsrpt_failure;

typedef struct ms_report_tlsrpt_policy {
    char *policy_type;            /* sts, tlsa, no-policy-found */
    char *policy_domain;
    char *policy_string;          /* the policy-string array joined by "\n" */
    char *mx_host;                /* mx-host array joined by " " */
    uint64_t successful;          /* total-successful-session-count */
    uint64_t failed;              /* total-failure-session-count */
    ms_report_tlsrpt_failure *failures;
    size_t failure_count;
} ms_report_tlsrpt_policy;

typedef struct ms_report_tlsrpt {
    char *org_name;
    char *report_id;
    char *contact_info;
    int64_t begin, end;           /* date-range, Unix seconds */
    ms_report_tlsrpt_policy *policies;
    size_t policy_count;
} ms_report_tlsrpt;

/* Parses one report (jansson); *out is freed with ms_report_tlsrpt_free. */
ms_status ms_report_tlsrpt_parse(const void *json, size_t len, ms_report_tlsrpt **out,
                          ms_report_error *err);
void ms_report_tlsrpt_free(ms_report_tlsrpt *r);

/* ---- Failure reports (RFC 6591 ARF, RFC 9991) ---------------------- */

typedef struct ms_report_failure {
    char *message_id;             /* of the report message itself */
    char *report_date;            /* its Date header */
    char *feedback_type;          /* "auth-failure", ... */
    char *user_agent, *version;
    char *reported_domain;
    char *source_ip;
    char *arrival_date;
    int64_t arrival_time;         /* parsed arrival date; 0 when absent (one that
                                     cannot be read or lies outside
                                     MS_REPORT_TIME_MIN..MAX refuses the report) */
    char *original_mail_from, *original_rcpt_to, *original_envelope_id;
    char *reporting_mta;
    char *authentication_results;
    char *auth_failure;           /* "dmarc", "dkim", "spf" */
    char *identity_alignment;
    char *delivery_result;
    char *dkim_domain, *dkim_selector, *dkim_identity;
    char *spf_dns;
    uint64_t incidents;           /* Incidents:, 1 when absent (one that is no
                                     count or exceeds MS_REPORT_COUNT_MAX refuses
                                     the report) */
    /* from the returned message or headers part, when present */
    char *original_from, *original_to, *original_subject, *original_message_id;
    int has_feedback_part;        /* 0: the message/feedback-report part is missing */
    int has_original_part;        /* 0: neither message/rfc822 nor text/rfc822-headers */
} ms_report_failure;

/* Parses a whole message (GMime). Reports that lack parts are read as far
 * as they go (has_*_part tell); MS_ERR_INVALID when nothing marks it as a
 * failure report, or when Incidents, Source-IP (an IPv4/IPv6 address) or
 * Arrival-Date has a value of the wrong form (docs/report-formats.md). */
ms_status ms_report_failure_parse(const void *message, size_t len, ms_report_failure **out,
                           ms_report_error *err);
void ms_report_failure_free(ms_report_failure *r);

/* ---- Failure reports mailsec sends (RFC 9991; RFC 6591 format) ------ */

typedef enum ms_report_redact {
    MS_REPORT_REDACT_NONE = 0,       /* the original header fields as received */
    MS_REPORT_REDACT_LOCAL_PART      /* every address's local part: "redacted" (RFC 6590) */
} ms_report_redact;

typedef struct ms_report_failure_out {
    const char *from;                /* the reporting address (required) */
    const char *to;                  /* the ruf= address (required) */
    const char *reporting_mta;       /* this host's name (required) */
    const char *reported_domain;     /* the RFC5322.From domain (required) */
    const char *source_ip;           /* the client's address (required) */
    const char *original_mail_from;  /* the envelope sender, "" for the null one; NULL: not said */
    const char *original_rcpt_to;    /* NULL: not said */
    const char *authentication_results; /* the receiver's value (folding allowed) */
    const char *identity_alignment;  /* "none", "dkim", "spf", "dkim, spf"; NULL: "none" */
    const char *delivery_result;     /* "delivered", "reject", ...; NULL: not said */
    int64_t arrival, date;           /* Unix seconds */
    const char *headers;             /* the original header section, as received */
    size_t headers_len;
    ms_report_redact redact;
} ms_report_failure_out;

/* Builds the report mail (CRLF line ends; the caller frees *out).
 * MS_ERR_INVALID when a required field is missing or source_ip is no
 * address; MS_ERR_LIMIT when it would be larger than max_bytes (the ruf
 * URI's !size; 0: no limit). */
ms_status ms_report_failure_build(const ms_report_failure_out *in, size_t max_bytes, char **out,
                                  size_t *len);

/* ---- Finding reports: ms_report_walk ------------------------------- */

typedef enum ms_report_kind {
    MS_REPORT_AGGREGATE = 0, /* XML */
    MS_REPORT_TLSRPT,        /* JSON */
    MS_REPORT_FAILURE        /* a message whose body is a failure report */
} ms_report_kind;

const char *ms_report_kind_name(ms_report_kind kind); /* "aggregate", "tls", "failure" */

/* Entries read from one zip archive (more are reported as skipped). */
enum { MS_REPORT_ZIP_ENTRIES_MAX = 1000 };

/* A report found by the walk, readable once as a stream of its
 * (decompressed, transfer-decoded) bytes. It is valid only during the
 * document callback, which reads it (or not) before returning: the walk
 * streams, so the bytes are gone once it moves on. */
typedef struct ms_report_doc ms_report_doc;

/* Reads up to len bytes; returns the count, 0 at the end, -1 on error
 * (the reason is then in ms_report_doc_error). Decompression limits
 * (MS_REPORT_INFLATED_MAX, MS_REPORT_RATIO_MAX) show as errors here.
 * Something that may hold reports and could not be read at all (a
 * truncated or corrupt zip, an encrypted zip entry, wrappers nested deeper
 * than MS_REPORT_NESTING_MAX, a file that cannot be opened) is handed over
 * as a document too, of kind MS_REPORT_AGGREGATE, whose first read fails
 * with the reason: nothing found is lost without a word. */
ssize_t ms_report_doc_read(ms_report_doc *doc, void *buf, size_t len);
/* Why the read failed (NULL before that): the reason alone, without the
 * origin (ms_report_doc_origin), which the caller shows in front. */
const char *ms_report_doc_error(const ms_report_doc *doc);
ms_report_kind ms_report_doc_kind(const ms_report_doc *doc);
const ms_report_origin *ms_report_doc_origin(const ms_report_doc *doc);
/* Identity of the message carrying the report (the innermost one, when
 * messages are attached to messages): its Message-ID without the angle
 * brackets, or the SHA-256 (64 lower-case hex digits) of the message's
 * bytes when it has none; NULL for reports not in a message. IMAP fetch
 * and failure reports key on it. */
const char *ms_report_doc_message_key(const ms_report_doc *doc);

/* The compressed form of a document that is the content of a gzip stream
 * (a .gz file, a gzip attachment): keep is called with the stream's bytes
 * as decompression consumes them — all of them, from the first, and
 * nothing after the last member — so a caller keeping the original can
 * store it as it came instead of compressing it again. Call before the
 * first ms_report_doc_read; returns 0 (and keep is never called) for any
 * other document. A non-zero return from keep fails the read. */
typedef int (*ms_report_gzip_fn)(void *arg, const void *gz, size_t len);
int ms_report_doc_tap_gzip(ms_report_doc *doc, ms_report_gzip_fn keep, void *arg);
/* The rest of a tapped gzip stream: the bytes after those keep was given,
 * up to the end of the input, handed to look (in pieces) when there are
 * at most max of them, without being decompressed or consumed: the
 * document reads on as before, and keep still gets them as they are
 * decompressed. 1 when look had them all; 0 when they are more than max,
 * the document is not a tapped gzip stream, or look returned non-zero.
 * The bytes may run past the stream's last member (keep never gets
 * those). For a caller who can tell from the whole stream that the
 * document need not be read: a small file is read whole at once, so its
 * rest is at hand. */
int ms_report_doc_gzip_ahead(ms_report_doc *doc, size_t max, ms_report_gzip_fn look, void *arg);

typedef struct ms_report_walk_callbacks {
    void *arg;
    /* One report. Return 0 to go on, non-zero to stop the walk. */
    int (*document)(void *arg, ms_report_doc *doc);
    /* Something that holds no report (not a report, a link or device
     * passed over on purpose): reported and skipped, the walk goes on.
     * What may hold reports but could not be read is a document instead
     * (see ms_report_doc_read). */
    void (*skipped)(void *arg, const ms_report_origin *origin, const char *reason);
    /* A file (or a Maildir message) was opened: for the tally and progress.
     * size is -1 for standard input or a pipe that is not a regular file. */
    void (*file)(void *arg, const char *path, int64_t size);
    /* May be NULL. Asked for every path met that is not a directory
     * (and for every problem with one), before anything else is done or
     * reported about it: return 0 to pass over it silently. The walk
     * meets paths in the same order every time, so several walks can
     * share the files between them by their number. */
    int (*want)(void *arg, const char *path);
} ms_report_walk_callbacks;

/* Walks paths: regular files (any format, detected by content: XML, JSON,
 * gzip, zip, a message, an mbox), directories recursively (a Maildir's
 * cur/ and new/ are plain directories of messages; symbolic links to
 * directories inside them are not followed), and "-" for standard input.
 * docs/report-ingest.md has the rules, the limits and the origin format.
 * MS_OK when the walk finished or the document callback stopped it (skips
 * are not failures); MS_ERR_NOMEM when memory ran out. */
ms_status ms_report_walk(const char *const *paths, size_t count, const ms_report_walk_callbacks *cb);
/* The same over bytes in memory (one fetched IMAP message); name is its
 * origin's file. The bytes are read in place during the call. */
ms_status ms_report_walk_buffer(const char *name, const void *data, size_t len,
                                const ms_report_walk_callbacks *cb);

/* ---- Writing aggregate reports (`report send`, docs/report.md) ------ */

/* The largest compressed report written (a destination's own limit, the
 * "!10m" of its rua URI, may be smaller). */
#define MS_REPORT_SEND_GZ_MAX ((uint64_t)64 << 20)

/* An RFC 9990 aggregate report, written record by record into gzip.
 * meta: report_metadata and policy_published (schema, version, pct, np,
 * generator and notes are not written; sp is p when NULL); refused with
 * MS_ERR_INVALID when a required field is missing or a value is not one
 * the schema allows. max_gz: the compressed size past which the writer
 * fails with MS_ERR_LIMIT (0 or above MS_REPORT_SEND_GZ_MAX: that). */
typedef struct ms_report_agg_writer ms_report_agg_writer;
ms_status ms_report_agg_writer_new(const ms_report_agg_meta *meta, uint64_t max_gz,
                                   ms_report_agg_writer **out);
/* One <record>. A record the schema would refuse (source_ip not an
 * address, a count of 0 or above MS_REPORT_COUNT_MAX, a value outside the
 * schema's lists, no SPF result) gives MS_ERR_INVALID / MS_ERR_LIMIT and
 * is left out: the document goes on. MS_ERR_LIMIT after max_gz and
 * MS_ERR_NOMEM leave the writer failed (every later call says so). */
ms_status ms_report_agg_writer_record(ms_report_agg_writer *w, const ms_report_agg_record *record);
uint64_t ms_report_agg_writer_records(const ms_report_agg_writer *w);
/* Ends the document: *gz (the writer's, valid until it is freed) holds the
 * gzip file. MS_ERR_INVALID when no record was written (the schema wants
 * one). */
ms_status ms_report_agg_writer_finish(ms_report_agg_writer *w, const void **gz, size_t *len);
void ms_report_agg_writer_free(ms_report_agg_writer *w);

/* `report send`: one report per policy domain and UTC day from the
 * evaluations recorded in the store (ms_store_put_evaluation), to the rua
 * destinations the domain publishes now. */
struct ms_store;
typedef struct ms_report_send_options {
    const char *org_name;  /* <org_name> */
    const char *from;      /* the address reports come from, also <email> */
    int64_t since, until;  /* the days: since <= day < until (00:00 UTC) */
    const char *sendmail;  /* the sendmail program; NULL: /usr/sbin/sendmail */
    const char *smtp;      /* "HOST:PORT": SMTP instead of sendmail */
    const char *out_dir;   /* each report also written here (RFC 9990 file name) */
    int dry_run;           /* build and check, send nothing, record nothing */
} ms_report_send_options;

typedef enum ms_report_send_outcome {
    MS_REPORT_SEND_SENT,         /* accepted by sendmail / the SMTP server */
    MS_REPORT_SEND_ALREADY_SENT, /* an earlier run sent it */
    MS_REPORT_SEND_WOULD_SEND,   /* dry run */
    MS_REPORT_SEND_WRITTEN,      /* the report's file under out_dir (destination NULL) */
    MS_REPORT_SEND_NO_DESTINATION, /* the domain asks for no aggregate reports (now) */
    MS_REPORT_SEND_SKIPPED,      /* not sent, and a run again will not either unless the DNS
                                    changes: reason says why */
    MS_REPORT_SEND_FAILED        /* not sent (DNS, delivery); a run again tries again */
} ms_report_send_outcome;
/* "sent", "already-sent", "would-send", "written", "no-destination", "skipped", "failed" */
const char *ms_report_send_outcome_name(ms_report_send_outcome outcome);

typedef struct ms_report_send_event {
    ms_report_send_outcome outcome;
    const char *policy_domain;
    int64_t day;
    const char *destination; /* the rua URI; NULL: the report as a whole */
    const char *report_id;   /* NULL when no report was built */
    const char *file;        /* WRITTEN: the path */
    uint64_t records, messages;
    uint64_t bytes;          /* the compressed report */
    const char *reason;      /* SKIPPED, FAILED: why, in words */
} ms_report_send_event;
typedef void (*ms_report_send_fn)(void *arg, const ms_report_send_event *event);

/* MS_OK when every period was gone through (each outcome told to fn);
 * MS_ERR_IO when the store failed (ms_store_error says why). */
ms_status ms_report_send(ms_ctx *ctx, struct ms_store *store, const ms_report_send_options *options,
                         ms_report_send_fn fn, void *arg);

#ifdef __cplusplus
}
#endif
#endif
