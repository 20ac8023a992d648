/* mailsec SPF (RFC 7208): the record parser, the full check_host()
 * evaluation, and a lint that walks a domain's include/redirect tree.
 *
 * - ms_spf_parse():  one record's text -> terms with byte offsets, and
 *                    syntax findings (spf.*) at those offsets;
 * - ms_spf_eval():   check_host(ip, domain, sender) as RFC 7208 section 4-6
 *                    defines it: result, explanation, the path of terms that
 *                    decided it, and the lookup counts;
 * - ms_spf_check():  fetch a domain's record and every include/redirect
 *                    target (all queries of the tree in flight together),
 *                    count DNS-querying terms and void lookups the way
 *                    check_host() counts them, and lint each record.
 */
#ifndef MAILSEC_SPF_H
#define MAILSEC_SPF_H

#include "mailsec/core.h"
#include "mailsec/dns.h"

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* RFC 7208 limits (section 4.6.4, 3.4). */
#define MS_SPF_MAX_DNS_TERMS 10   /* terms that query DNS, per check_host() */
#define MS_SPF_MAX_VOID 2         /* lookups answered NXDOMAIN or empty */
#define MS_SPF_MAX_MX_PTR_NAMES 10 /* names looked up per mx / ptr / %{p} */
#define MS_SPF_MAX_STRING 255     /* octets in one TXT character-string */
#define MS_SPF_MAX_RECORD_UDP 512 /* octets the record should stay under */
/* Our own bounds against hostile input (no RFC number): a record is at
 * most this long, and a lint tree at most this many records. */
#define MS_SPF_MAX_RECORD_TEXT 65535
#define MS_SPF_MAX_TREE_NODES 64

typedef enum ms_spf_result {
    MS_SPF_NONE = 0,
    MS_SPF_NEUTRAL,
    MS_SPF_PASS,
    MS_SPF_FAIL,
    MS_SPF_SOFTFAIL,
    MS_SPF_TEMPERROR,
    MS_SPF_PERMERROR
} ms_spf_result;

const char *ms_spf_result_str(ms_spf_result r); /* "none", "pass", ... */

typedef enum ms_spf_kind {
    MS_SPF_ALL = 0,
    MS_SPF_INCLUDE,
    MS_SPF_A,
    MS_SPF_MX,
    MS_SPF_PTR,
    MS_SPF_IP4,
    MS_SPF_IP6,
    MS_SPF_EXISTS,
    MS_SPF_REDIRECT, /* modifiers from here on */
    MS_SPF_EXP,
    MS_SPF_UNKNOWN_MODIFIER
} ms_spf_kind;

const char *ms_spf_kind_str(ms_spf_kind k); /* "all", "include", ..., "redirect", "exp" */

/* One term of a record. */
typedef struct ms_spf_term {
    ms_spf_kind kind;
    char qualifier;    /* '+', '-', '~', '?' (mechanisms; '+' when not written) */
    char *text;        /* the term as written */
    char *domain_spec; /* include/a/mx/ptr/exists/redirect/exp argument; NULL if none */
    char *name;        /* unknown modifier: its name */
    int cidr4, cidr6;  /* prefix lengths; 32 / 128 when not written */
    unsigned char addr[16]; /* ip4 (first 4 bytes) / ip6 network */
    int has_macro;     /* the domain-spec holds a macro */
    long offset;       /* byte offset of the term in the record text */
} ms_spf_term;

typedef struct ms_spf_record {
    int valid;   /* no syntax error: check_host() would evaluate it */
    ms_spf_term *terms;
    size_t count;
    long redirect; /* index of redirect=, or -1 */
    long exp;      /* index of exp=, or -1 */
} ms_spf_record;

/* Non-zero when the text is an SPF record: "v=spf1" (any case) followed
 * by a space or the end (RFC 7208 4.5). */
int ms_spf_is_record(const char *text, size_t len);

/* Parses a record. Syntax errors go to diags (spf.* at byte offsets, with
 * location as given), and leave (*out)->valid 0. MS_ERR_LIMIT when len is
 * over MS_SPF_MAX_RECORD_TEXT. */
ms_status ms_spf_parse(const char *text, size_t len, const char *location,
                       ms_spf_record **out, ms_diag_list *diags);
void ms_spf_record_free(ms_spf_record *rec);

/* Where check_host() sends its DNS queries. The default resolves through
 * the ms_ctx (ms_dns_submit, all n queries in flight together); tests put
 * an in-process zone in front of it for what a real server cannot do (a
 * timeout). resolve() fills answers[0..n-1], which the caller frees. */
typedef struct ms_spf_dns {
    ms_status (*resolve)(void *arg, ms_ctx *ctx, size_t n, const char *const *names,
                         const uint16_t *types, ms_dns_answer **answers);
    void *arg;
} ms_spf_dns;

/* The default resolve(): all n queries through ms_dns_submit, one run. */
ms_status ms_spf_dns_resolve(void *arg, ms_ctx *ctx, size_t n, const char *const *names,
                             const uint16_t *types, ms_dns_answer **answers);

typedef struct ms_spf_request {
    const char *ip;       /* the SMTP client, IPv4 or IPv6 text */
    const char *sender;   /* MAIL FROM ("" for the null sender: HELO is checked) */
    const char *helo;     /* HELO/EHLO name; may be NULL */
    const char *receiver; /* %{r}; NULL: "unknown" */
    time_t now;           /* %{t}; 0: the ctx's clock */
    const ms_spf_dns *dns; /* NULL: the ctx's resolver */
} ms_spf_request;

/* One step of the path that decided the result. */
typedef struct ms_spf_step {
    unsigned depth;   /* 0: the sender's domain; +1 per include/redirect */
    char *domain;     /* whose record */
    char *term;       /* the term as written, or NULL for the record itself */
    char *note;       /* what happened ("matched", "no SPF record", ...) */
} ms_spf_step;

typedef struct ms_spf_eval {
    ms_spf_result result;
    char *domain;      /* the domain checked (the sender's, or HELO's) */
    char *explanation; /* fail: exp= text, or the default; else NULL */
    int explanation_from_exp; /* the text came from the domain's exp= */
    char *reason;      /* why, in words (errors, none, neutral by default) */
    ms_spf_step *path;
    size_t path_count;
    unsigned dns_terms;   /* terms that queried DNS, as counted against 10 */
    unsigned void_lookups;
    unsigned long queries; /* DNS queries made */
} ms_spf_eval;

/* RFC 7208 check_host(). MS_ERR_INVALID when ip is not an address or
 * sender/helo give no domain to check; a result of temperror/permerror
 * is a result, not an ms_status. */
ms_status ms_spf_eval_host(ms_ctx *ctx, const ms_spf_request *req, ms_spf_eval **out);
void ms_spf_eval_free(ms_spf_eval *ev);

/* The explanation of a fail when the domain publishes none (exp=), as a
 * macro string; explanation_from_exp says which one a result carries. */
#define MS_SPF_DEFAULT_EXPLANATION "%{o} does not designate %{c} as a permitted sender"

/* ---- the lint: a domain's include/redirect tree ---- */

typedef struct ms_spf_node ms_spf_node;

/* One DNS-querying term of a record, with what it adds. */
typedef struct ms_spf_count {
    size_t term;      /* index into record->terms */
    unsigned lookups; /* 1 for include/a/mx/ptr/exists/redirect, plus the subtree's */
    unsigned voids;   /* void lookups this term causes (worst case) */
    ms_spf_node *child; /* include/redirect: the target's node, or NULL */
    /* a / mx targets (not followed when the target has macros): */
    int void4, void6;   /* the lookup an IPv4 / IPv6 client causes comes back empty */
    unsigned mx_hosts;  /* mx: exchanges, and how many of them have no address */
    unsigned mx_hosts_without_address;
    int failed;         /* a lookup failed (timeout, SERVFAIL): not known */
} ms_spf_count;

struct ms_spf_node {
    char *domain;       /* whose record */
    char *via;          /* "include:x" / "redirect=x" term text; NULL for the root */
    unsigned depth;
    ms_dns_rcode rcode; /* of the TXT query */
    char *text;         /* the SPF record, or NULL */
    size_t spf_records; /* how many v=spf1 records there were */
    ms_spf_record *record;
    int loop;           /* the target is already on the way from the root */
    ms_spf_count *counts;
    size_t ncounts;
    unsigned lookups;   /* this record's DNS terms plus its subtree's */
    unsigned voids4, voids6; /* worst-case void lookups for IPv4 / IPv6 clients */
    int top;            /* the root or reached from it by redirect= only */
    long all_index;     /* the first all mechanism's term index, or -1 */
};

typedef struct ms_spf_check {
    char *domain;
    ms_spf_node *root;
    ms_spf_node **nodes; /* every node, in fetch order (root first) */
    size_t nnodes;
    unsigned lookups;    /* total DNS terms, as check_host() counts them */
    unsigned voids;      /* worst-case void lookups */
    int could_not_check; /* the root's TXT lookup failed */
    int has_mx, has_address; /* for the parked-domain advice */
    unsigned long queries;   /* DNS queries this check sent */
    unsigned rounds;         /* how many dependent rounds the walk took */
    ms_diag_list diags;
} ms_spf_check;

/* Fetch, parse and lint; with record_text non-NULL, that text is checked as
 * the domain's record instead of the TXT lookup (its include/redirect
 * targets are still fetched). */
ms_status ms_spf_check_domain(ms_ctx *ctx, const char *domain, const char *record_text,
                              ms_spf_check **out);
void ms_spf_check_free(ms_spf_check *c);

#ifdef __cplusplus
}
#endif
#endif
