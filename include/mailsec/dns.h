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

typedef enum ms_dnssec_state {
    MS_DNSSEC_INSECURE = 0, /* no chain of trust covers the answer */
    MS_DNSSEC_SECURE,       /* validated from a trust anchor */
    MS_DNSSEC_BOGUS         /* signatures present but failed validation */
} ms_dnssec_state;

const char *ms_dns_rcode_str(ms_dns_rcode rcode);       /* "NOERROR", "NXDOMAIN", ... */
const char *ms_dnssec_state_str(ms_dnssec_state state); /* "secure", "insecure", "bogus" */

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
    ms_dnssec_state dnssec;
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

#ifdef __cplusplus
}
#endif
#endif
