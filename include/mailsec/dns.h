/* mailsec DNS: the only module that talks DNS.
 *
 * Built on libunbound. Queries are asynchronous: submit as many as you like,
 * then run the context until they are answered; they are all in flight at
 * once. Every answer says how the lookup ended (NOERROR with data, NXDOMAIN,
 * NODATA, SERVFAIL, timeout) and what DNSSEC validation concluded.
 *
 * The resolver follows the ms_ctx: ms_ctx_set_resolver() sends queries to a
 * chosen server ("ADDR@PORT"), ms_ctx_set_trust_anchor_file() replaces the
 * root trust anchor, ms_ctx_set_timeout_ms() bounds each run.
 */
#ifndef MAILSEC_DNS_H
#define MAILSEC_DNS_H

#include "mailsec/core.h"

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* RR types mailsec asks for (values from the IANA registry). */
enum {
    MS_DNS_A = 1,
    MS_DNS_NS = 2,
    MS_DNS_CNAME = 5,
    MS_DNS_SOA = 6,
    MS_DNS_PTR = 12,
    MS_DNS_MX = 15,
    MS_DNS_TXT = 16,
    MS_DNS_AAAA = 28,
    MS_DNS_DS = 43,
    MS_DNS_DNSKEY = 48,
    MS_DNS_TLSA = 52
};

/* How a lookup ended. */
typedef enum ms_dns_rcode {
    MS_DNS_NOERROR = 0, /* the name has records of this type (count > 0) */
    MS_DNS_NODATA,      /* the name exists, no records of this type */
    MS_DNS_NXDOMAIN,    /* the name does not exist */
    MS_DNS_SERVFAIL,    /* the server failed, or DNSSEC validation failed */
    MS_DNS_TIMEOUT,     /* no answer before the context's timeout */
    MS_DNS_ERROR        /* any other failure (REFUSED, bad name, ...) */
} ms_dns_rcode;

typedef enum ms_dns_dnssec_state {
    MS_DNS_DNSSEC_INSECURE = 0, /* no chain of trust covers the answer */
    MS_DNS_DNSSEC_SECURE,       /* validated from a trust anchor */
    MS_DNS_DNSSEC_BOGUS         /* signatures present but failed validation */
} ms_dns_dnssec_state;

const char *ms_dns_rcode_str(ms_dns_rcode rcode);       /* "NOERROR", "NXDOMAIN", ... */
const char *ms_dns_dnssec_state_str(ms_dns_dnssec_state state); /* "secure", "insecure", "bogus" */

/* One resource record of an answer. */
typedef struct ms_dns_record {
    uint16_t type;
    uint32_t ttl;
    const unsigned char *rdata; /* raw RDATA as received */
    size_t rdata_len;
    /* Decoded form, NUL-terminated:
     *  TXT: the character-strings concatenated with nothing between them
     *       (RFC 7208 3.3, RFC 9989); text_len counts bytes, which may
     *       include NULs from the wire; nstrings says how many there were;
     *  A, AAAA: the address in presentation form;
     *  MX: the exchange name (no trailing dot), with preference set;
     *  CNAME, NS, PTR: the target name (no trailing dot);
     *  other types: NULL. */
    char *text;
    size_t text_len;
    unsigned nstrings;
    uint16_t preference;
} ms_dns_record;

typedef struct ms_dns_answer {
    char *qname; /* as asked, no trailing dot */
    uint16_t qtype;
    ms_dns_rcode rcode;
    ms_dns_dnssec_state dnssec;
    char *why_bogus;  /* the validator's reason when bogus, else NULL */
    char *canonname;  /* the name after CNAMEs, when it differs from qname */
    ms_dns_record *records;
    size_t count;
} ms_dns_answer;

void ms_dns_answer_free(ms_dns_answer *answer);

/* Non-zero when the lookup failed — SERVFAIL (DNSSEC-bogus answers too),
 * time-out or another error — so nothing is known about the name. NULL
 * (no answer could be made) counts as failed. */
int ms_dns_answer_failed(const ms_dns_answer *answer);

/* Non-zero when validation failed only because the server sent no DNSKEY
 * for a trust anchor: the server does not serve DNSSEC (an authoritative
 * server used with --resolver and the root anchor, or a resolver that
 * strips DNSSEC records). That says nothing about the zone asked about. */
int ms_dns_answer_dnssec_unavailable(const ms_dns_answer *answer);

/* Why a failed lookup failed, in words that name the server asked:
 * "no answer from 127.0.0.1@5353 within 5 s", "127.0.0.1@5353 answered
 * SERVFAIL", "127.0.0.1@5353 does not serve DNSSEC: ...", "DNSSEC
 * validation failed: REASON". The caller frees it; NULL when out of
 * memory. */
char *ms_dns_failure_reason(const ms_ctx *ctx, const ms_dns_answer *answer);

/* libunbound is loaded by the process's first query. When it could not be
 * loaded, every query fails with MS_ERR_DNS and this says why and which
 * package installs it ("the DNS resolver library (libunbound) could not be
 * loaded (...): install the package libunbound8"); NULL when it was loaded
 * or no query was made. */
const char *ms_dns_library_error(void);

/* Asynchronous queries. The callback owns the answer (free it with
 * ms_dns_answer_free) and may submit further queries on the same ctx;
 * ms_dns_run() keeps going until none is outstanding or the timeout
 * passes, in which case every unanswered query's callback gets
 * MS_DNS_TIMEOUT. */
typedef void (*ms_dns_callback)(void *arg, ms_dns_answer *answer);

ms_status ms_dns_submit(ms_ctx *ctx, const char *name, uint16_t type, ms_dns_callback callback,
                        void *arg);
ms_status ms_dns_run(ms_ctx *ctx);

/* A batch: submit many, wait for all, read the answers by index. */
typedef struct ms_dns_batch ms_dns_batch;

ms_status ms_dns_batch_new(ms_ctx *ctx, ms_dns_batch **out);
/* Adds a query; *index receives its position for ms_dns_batch_answer. */
ms_status ms_dns_batch_add(ms_dns_batch *batch, const char *name, uint16_t type, size_t *index);
ms_status ms_dns_batch_wait(ms_dns_batch *batch);
const ms_dns_answer *ms_dns_batch_answer(const ms_dns_batch *batch, size_t index);
void ms_dns_batch_free(ms_dns_batch *batch);

/* One query, waited for. */
ms_status ms_dns_lookup(ms_ctx *ctx, const char *name, uint16_t type, ms_dns_answer **out);

/* How many queries this ctx has sent so far (for tests and benchmarks). */
unsigned long ms_dns_queries_sent(const ms_ctx *ctx);

/* One resolver for many contexts, each used by a thread of its own (a
 * server's connections). By default each ctx makes its own libunbound
 * resolver on first use: a worker thread, a random generator, a cache.
 * Contexts attached to a shared resolver send their queries through one
 * libunbound context instead, with one cache for all, and a dispatcher
 * thread hands each answer to the ctx that asked, so that a slow answer to
 * one delays no other. Each ctx keeps its own queries, callbacks and
 * timeout (ms_dns_run waits only for its own), as before.
 *
 * The resolver follows config's resolver and trust anchor (a copy, taken
 * now; an attached ctx's own are not used) and is built at the first
 * query. At most max_in_flight queries are outstanding at once across all
 * contexts (0: no bound); one more is answered at once as MS_DNS_ERROR,
 * unsent. */
typedef struct ms_dns_shared ms_dns_shared;

ms_status ms_dns_shared_new(const ms_ctx *config, size_t max_in_flight, ms_dns_shared **out);
/* ctx's queries go through shared from now on; what ctx had (its own
 * resolver, its queries not yet run) is dropped. ms_ctx_set_resolver or
 * ms_ctx_set_trust_anchor_file on ctx detach it again. */
ms_status ms_dns_shared_attach(ms_dns_shared *shared, ms_ctx *ctx);
/* Drops the caller's hold: the resolver lives on until the last attached
 * ctx is freed. */
void ms_dns_shared_free(ms_dns_shared *shared);


/* ---- Dynamic updates (RFC 2136) signed with TSIG (RFC 8945) ----
 * Built with ldns. The TXT RRset at a name is replaced only when it still
 * holds what was read: the update carries the old RRset as a prerequisite
 * ("RRset exists (value dependent)", or "RRset does not exist" when there
 * was none), so a concurrent edit is never overwritten (docs/dmarc-publish.md). */

enum {
    MS_DNS_TSIG_MAX_FILE = 16384, /* bytes of a key file */
    MS_DNS_TSIG_MAX_SECRET = 512  /* base64 characters of a secret */
};

typedef struct ms_dns_tsig_key {
    char *name;      /* no trailing dot */
    char *algorithm; /* as written: "hmac-sha256", ... */
    char *secret;    /* base64 */
} ms_dns_tsig_key;

/* A key from text: one line "name:algorithm:secret" (or knsupdate's
 * "algorithm:name:secret"), or one BIND key statement
 * (key "name" { algorithm hmac-sha256; secret "..."; };, comments allowed).
 * Algorithms: hmac-sha256, hmac-sha512, hmac-sha1, hmac-md5. On failure
 * *error says why with the line (the caller frees it): MS_ERR_INVALID,
 * MS_ERR_LIMIT (over MS_DNS_TSIG_MAX_FILE), MS_ERR_NOMEM. */
ms_status ms_dns_tsig_key_parse(const char *text, size_t len, ms_dns_tsig_key *key, char **error);
/* The same from a file (MS_ERR_IO when it cannot be read); *error names it. */
ms_status ms_dns_tsig_key_load(const char *path, ms_dns_tsig_key *key, char **error);
/* Frees the parts (the secret wiped first). */
void ms_dns_tsig_key_clear(ms_dns_tsig_key *key);

/* How an update ended. */
typedef enum ms_dns_update_outcome {
    MS_DNS_UPDATE_APPLIED = 0,   /* the primary applied it; its signed answer verified */
    MS_DNS_UPDATE_UNCHANGED,     /* the name already holds exactly the new value: nothing sent */
    MS_DNS_UPDATE_DRY_RUN,       /* built and shown, not sent */
    MS_DNS_UPDATE_PREREQ_FAILED, /* the RRset is no longer the one read (NXRRSET, YXRRSET, ...):
                                nothing was changed */
    MS_DNS_UPDATE_BAD_KEY,       /* the primary does not accept the key (NOTAUTH with BADKEY,
                                BADSIG or BADTIME) */
    MS_DNS_UPDATE_REFUSED,       /* the primary refuses the update (REFUSED, NOTAUTH, NOTZONE) */
    MS_DNS_UPDATE_NO_ANSWER,     /* no answer within the context's timeout, or no connection */
    MS_DNS_UPDATE_FAILED         /* anything else: SERVFAIL, FORMERR, an answer whose TSIG does
                                not verify, a zone that could not be found */
} ms_dns_update_outcome;

const char *ms_dns_update_outcome_str(ms_dns_update_outcome outcome); /* "applied", ... */

typedef struct ms_dns_txt_update {
    const char *name;   /* the owner, e.g. "_dmarc.example.com" */
    const char *zone;   /* NULL: the closest enclosing SOA, through the ctx's resolver */
    const char *server; /* the zone's primary: "ADDR", "ADDR:PORT" or "[ADDR6]:PORT" */
    const ms_dns_tsig_key *key;
    const char *value;  /* the new TXT value, stored as 255-octet strings */
    uint32_t ttl;       /* 0: the old RRset's TTL, else 3600 */
    /* The RRset the caller read. With expect_given, these values (0 of them:
     * "there was none"); without, the primary is asked just before. */
    int expect_given;
    const char *const *expect;
    size_t expect_count;
    int dry_run;
} ms_dns_txt_update;

typedef struct ms_dns_update_result {
    ms_dns_update_outcome outcome;
    char *zone;         /* no trailing dot; NULL when not found */
    char **old_values;  /* the RRset replaced, as read or given */
    size_t old_count;
    uint32_t ttl;       /* of the new record */
    char *update_text;  /* the update as nsupdate commands; NULL before it was built */
    char *message;      /* what happened, naming the server; never NULL after MS_OK */
} ms_dns_update_result;

/* Replaces the TXT RRset at update->name with update->value. Every outcome
 * the server or the network decides is MS_OK with result->outcome set;
 * MS_ERR_INVALID for a bad name, server or value, MS_ERR_NOMEM. The waits
 * (zone lookup, read, update) are each bounded by the ctx's timeout. */
ms_status ms_dns_update_txt(ms_ctx *ctx, const ms_dns_txt_update *update,
                            ms_dns_update_result *result);
void ms_dns_update_result_free(ms_dns_update_result *result);

/* Whether the ctx's resolver now serves exactly value as the TXT RRset of
 * name, asked with a fresh cache: 1 yes, 0 not (yet), -1 the lookup failed.
 * *detail (caller frees) says what is served or why the lookup failed. */
ms_status ms_dns_txt_served(const ms_ctx *ctx, const char *name, const char *value, int *served,
                            char **detail);

#ifdef __cplusplus
}
#endif
#endif
