/* mailsec milter: SPF, DKIM, DMARC and ARC on the mail path (docs/milter.md).
 *
 * The library half of `mailsec milter`: the configuration file, and one
 * evaluation per message fed as the MTA hands it over (envelope, header
 * fields, body chunks). Incoming mail is checked and gets one
 * Authentication-Results field (RFC 8601) and a policy action; outgoing
 * mail (a trusted relay, an authenticated or a local sender) is DKIM-signed.
 * The libmilter glue lives in the command (src/milter.c); nothing here
 * knows libmilter.
 */
#ifndef MAILSEC_MILTER_H
#define MAILSEC_MILTER_H

#include "mailsec/core.h"
#include "mailsec/dkim.h"
#include "mailsec/report.h"
#include "mailsec/store.h"

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Bounds of the configuration file (docs/milter.md). */
#define MS_MILTER_MAX_CONFIG_BYTES (1u << 20) /* bytes of the file */
#define MS_MILTER_MAX_LIST 1000               /* entries of each list (relays, lists, keys...) */
#define MS_MILTER_DEFAULT_HEADER_BYTES (256u << 10)
#define MS_MILTER_DEFAULT_TIMEOUT_MS 10000u
/* Failure reports (docs/milter.md): at most one per (policy domain, source
 * IP) within the interval; the reports waiting for the sender and the
 * (domain, IP) pairs remembered are bounded. */
#define MS_MILTER_DEFAULT_FAILURE_INTERVAL 3600u
#define MS_MILTER_FAILURE_QUEUE_MAX 256
#define MS_MILTER_FAILURE_RATE_MAX 4096

typedef enum ms_milter_action {
    MS_MILTER_ACCEPT = 0,  /* deliver (headers added as the verdict says) */
    MS_MILTER_REJECT,      /* 550 5.7.1 with the verdict's reply */
    MS_MILTER_QUARANTINE,  /* the MTA's quarantine (Postfix: the hold queue) */
    MS_MILTER_HEADER,      /* deliver with the quarantine header, for the delivery agent */
    MS_MILTER_TEMPFAIL     /* 451 4.7.1: try again later */
} ms_milter_action;

const char *ms_milter_action_str(ms_milter_action a); /* "accept", "reject", ... */

/* An IPv4 or IPv6 network (a relay or forwarder "ADDR[/PREFIX]"). */
typedef struct ms_milter_net {
    int family;              /* AF_INET or AF_INET6 */
    unsigned char addr[16];
    unsigned prefix;
} ms_milter_net;

/* One key the milter signs with: "sign DOMAIN SELECTOR KEYFILE". */
typedef struct ms_milter_sign_key {
    char *domain;            /* lower case */
    char *selector;
    char *path;
    ms_dkim_privkey *key;
} ms_milter_sign_key;

typedef struct ms_milter_config {
    char *authserv_id;                   /* required */
    ms_milter_sign_key *keys;            /* in file order */
    size_t key_count;
    ms_milter_net *relays;               /* outgoing: signed, not checked */
    size_t relay_count;
    ms_milter_net *forwarder_ips;        /* DMARC failures overridden as "forwarded" */
    size_t forwarder_ip_count;
    char **forwarder_domains;            /* ARC sealers trusted: "trusted_forwarder" */
    size_t forwarder_domain_count;
    char **lists;                        /* List-Id values: "mailing_list" */
    size_t list_count;
    ms_milter_action on_reject;          /* p=reject failures: REJECT, QUARANTINE or ACCEPT */
    ms_milter_action on_quarantine;      /* p=quarantine failures: QUARANTINE, HEADER or ACCEPT */
    ms_milter_action on_error;           /* internal failures: TEMPFAIL or ACCEPT */
    char *quarantine_header;             /* the HEADER action's field name */
    unsigned timeout_ms;                 /* per step (DNS batches) */
    size_t max_header_bytes;             /* of a message's header section */
    char *store_url;                     /* NULL: evaluations not recorded */
    char *resolver;                      /* NULL: the system's */
    char *trust_anchor;                  /* NULL: the system's root anchor */
    int syslog;                          /* also log to syslog (mail facility) */
    /* failure reports (RFC 9991) to the ruf= of domains that ask */
    int failure_reports;                 /* "failure-reports on" */
    ms_report_redact failure_redact;     /* default: local parts redacted */
    char *failure_from;                  /* the reports' From; required when on */
    unsigned failure_interval;           /* seconds between two per (domain, IP) */
    char *failure_sendmail;              /* default /usr/sbin/sendmail */
    char *failure_smtp;                  /* "HOST:PORT": SMTP instead of sendmail */
} ms_milter_config;

/* Reads the configuration file. On a bad line, MS_ERR_INVALID and *errmsg
 * = "FILE:LINE: what is wrong" (free it); the keys' files are loaded too.
 * MS_ERR_IO and *errmsg naming the package when OpenSSL cannot be loaded. */
ms_status ms_milter_config_load(const char *path, ms_milter_config **out, char **errmsg);
void ms_milter_config_free(ms_milter_config *config);

/* A context for the configuration's resolver, trust anchor and timeout. */
ms_status ms_milter_ctx_new(const ms_milter_config *config, ms_ctx **out);

/* What the MTA says about the message before the header. */
typedef struct ms_milter_envelope {
    const char *queue_id;     /* for the log; may be NULL */
    const char *client_ip;    /* NULL: local origin (Postfix non_smtpd_milters) */
    const char *helo;         /* may be NULL */
    const char *mail_from;    /* the address inside <>; "" for the null sender */
    const char *rcpt;         /* the first recipient; may be NULL */
    const char *auth_authen;  /* SASL login name; NULL or "" when not authenticated */
} ms_milter_envelope;

/* One DKIM signature's result, for the log and the store. */
typedef struct ms_milter_dkim {
    char *domain, *selector;
    const char *result;       /* "pass", "fail", "permerror", "temperror" */
    const char *reason;
} ms_milter_dkim;

/* One failure report built for a ruf= destination, waiting to be sent. */
typedef struct ms_milter_failure_report {
    char *policy_domain;          /* with source_ip: what the rate limit counts */
    char *source_ip;
    char *to;                     /* the ruf= address */
    char *message;                /* the whole mail, CRLF line ends */
    size_t len;
} ms_milter_failure_report;

/* What to do with a message, and what to change in it. */
typedef struct ms_milter_verdict {
    int outgoing;                 /* signed, not checked */
    ms_milter_action action;
    char *reply;                  /* REJECT / TEMPFAIL: the text after "550 5.7.1 " */
    char *auth_results;           /* the Authentication-Results VALUE to add (leading
                                     space, lines folded with "\n\t"), or NULL */
    unsigned *remove_auth_results; /* indices (1-based, among Authentication-Results
                                      fields) of forged ones to delete, descending */
    size_t remove_count;
    char **signatures;            /* DKIM-Signature VALUES to insert at the top */
    size_t signature_count;
    char *log;                    /* one line: results and action, no queue id */
    /* the evaluation for the store (incoming only; pointers into this verdict) */
    int has_evaluation;
    ms_store_evaluation evaluation;
    ms_milter_dkim *dkim;
    size_t dkim_count;
    ms_store_eval_dkim *eval_dkim;
    ms_store_eval_override override;
    /* failure reports to send (ms_milter_sender_offer takes them), and why
     * others were not built: lines ending in "\n", or NULL */
    ms_milter_failure_report *failure_reports;
    size_t failure_report_count;
    char *failure_notes;
} ms_milter_verdict;

void ms_milter_verdict_free(ms_milter_verdict *verdict);

typedef struct ms_milter_message ms_milter_message;

/* A message's evaluation; ctx is used by this message only (one thread).
 * The envelope's strings are copied. */
ms_status ms_milter_message_new(const ms_milter_config *config, ms_ctx *ctx,
                                const ms_milter_envelope *envelope, ms_milter_message **out);
/* One header field: its name, and its value as it appeared after the
 * colon (leading white space and folding kept). Beyond max_header_bytes
 * the fields are counted, not kept (the verdict says so). */
ms_status ms_milter_message_header(ms_milter_message *m, const char *name, const char *value);
/* Body bytes, any chunking, streamed into the verifier or signer. */
ms_status ms_milter_message_body(ms_milter_message *m, const void *data, size_t len);
/* End of message: every check, the policy, the fields to add or remove. */
ms_status ms_milter_message_finish(ms_milter_message *m, ms_milter_verdict **out);
void ms_milter_message_free(ms_milter_message *m);

/* ---- the failure-report sender: one thread, a bounded queue ---- */

/* A line for the log; error: a failure (else information). */
typedef void (*ms_milter_log_fn)(void *arg, int error, const char *line);

typedef struct ms_milter_sender ms_milter_sender;

/* Starts the sender thread (config must outlive it). */
ms_status ms_milter_sender_start(const ms_milter_config *config, ms_milter_log_fn log, void *arg,
                                 ms_milter_sender **out);
/* Takes the verdict's failure reports (it keeps none): queued unless one
 * went for the same (policy domain, source IP) within failure-interval or
 * the queue is full, each outcome logged with id (the queue id). Never
 * waits for the sending. */
void ms_milter_sender_offer(ms_milter_sender *s, const char *id, ms_milter_verdict *verdict);
/* Stops the thread once the report being sent is done; reports still
 * queued are dropped with a log line. NULL: nothing. */
void ms_milter_sender_stop(ms_milter_sender *s);

/* ---- the header-field reader (exposed for the fuzz harness and tests) ---- */

/* The domain of the single address in a From field's value (RFC 5322
 * mailbox-list with one mailbox; comments, quoted strings and display
 * names understood), lower case; MS_ERR_INVALID when there is none or
 * more than one, MS_ERR_NOMEM when out of memory (so for the other two). */
ms_status ms_milter_from_domain(const char *value, size_t len, char **domain);
/* The authserv-id of an Authentication-Results value (RFC 8601 2.2),
 * MS_ERR_INVALID when it has none. */
ms_status ms_milter_auth_results_id(const char *value, size_t len, char **id);
/* The list identifier of a List-Id value (RFC 2919: the part in <>). */
ms_status ms_milter_list_id(const char *value, size_t len, char **id);

#ifdef __cplusplus
}
#endif
#endif
