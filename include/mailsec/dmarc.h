/* mailsec DMARC: records (parse, check, explain, generate, plan) and
 * discovery (RFC 9989 DNS tree walk, RFC 7489 organizational domain,
 * external report destinations).
 *
 * RFC 9989 (DMARCbis, May 2026) is the reference; where RFC 7489 receivers
 * still behave differently (pct, rf, ri), the diagnostics say so.
 */
#ifndef MAILSEC_DMARC_H
#define MAILSEC_DMARC_H

#include "mailsec/core.h"
#include "mailsec/dns.h"
#include "mailsec/sources.h"

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum ms_dmarc_policy {
    MS_DMARC_POLICY_UNSET = 0,
    MS_DMARC_POLICY_NONE,
    MS_DMARC_POLICY_QUARANTINE,
    MS_DMARC_POLICY_REJECT
} ms_dmarc_policy;

typedef enum ms_dmarc_align {
    MS_DMARC_ALIGN_UNSET = 0,
    MS_DMARC_ALIGN_RELAXED,
    MS_DMARC_ALIGN_STRICT
} ms_dmarc_align;

typedef enum ms_dmarc_psd {
    MS_DMARC_PSD_UNSET = 0,
    MS_DMARC_PSD_Y,
    MS_DMARC_PSD_N,
    MS_DMARC_PSD_U
} ms_dmarc_psd;

const char *ms_dmarc_policy_str(ms_dmarc_policy p); /* "none", "quarantine", "reject", "" */

/* One rua= or ruf= URI. */
typedef struct ms_dmarc_uri {
    char *uri;          /* as written, without the !size suffix */
    long offset;        /* byte offset of the URI in the record */
    int is_mailto;      /* scheme is mailto */
    char *address;      /* mailto: the addr-spec, percent-decoded; else NULL */
    char *domain;       /* mailto: the address's domain, lower case; else NULL */
    int has_max_size;   /* a !size suffix was present (obsolete in RFC 9989) */
    uint64_t max_size;  /* in bytes, when has_max_size */
} ms_dmarc_uri;

/* A parsed record. Fields keep the value written; UNSET (or -1 for
 * numbers, NULL for strings) when the tag is absent or its value invalid
 * (the diagnostics say which). For a tag written twice, the first counts. */
typedef struct ms_dmarc_record {
    int usable;        /* a receiver would apply it: v=DMARC1 first, no fatal syntax error */
    int as_p_none;     /* p missing, or p/sp/np invalid, with a valid rua: receivers act
                          as if the record said p=none (RFC 9989 4.10.1); without a valid
                          rua such a record is not usable */
    ms_dmarc_policy p, sp, np;
    int p_invalid, sp_invalid, np_invalid; /* the tag is there, its value is not a policy */
    ms_dmarc_align adkim, aspf;
    ms_dmarc_psd psd;
    int pct;           /* 0..100, or -1 */
    int testing;       /* t=y: 1, t=n: 0, absent: -1 */
    long ri;           /* seconds, or -1 */
    char *fo;          /* as written, or NULL */
    char *rf;          /* as written, or NULL */
    ms_dmarc_uri *rua; /* the usable URIs; invalid entries are reported and left out */
    size_t rua_count;
    ms_dmarc_uri *ruf;
    size_t ruf_count;
} ms_dmarc_record;

/* Non-zero when the text begins with "v=DMARC1" (RFC 9989 4.7: other TXT
 * records at _dmarc names are discarded). Leading white space is not
 * accepted, as receivers do not accept it either. */
int ms_dmarc_is_record(const char *text, size_t len);

/* Parses and checks a record's text. Syntax and semantic findings go to
 * diags with byte offsets; location names the DNS name when domain is given
 * ("_dmarc.DOMAIN"), else NULL. Bad input is never an error status: *out is
 * always set on MS_OK, with usable = 0 when a receiver would ignore it. */
ms_status ms_dmarc_check_record(const char *text, size_t len, const char *domain,
                                ms_dmarc_record **out, ms_diag_list *diags);
void ms_dmarc_record_free(ms_dmarc_record *rec);

/* The record in plain words, one line per tag and one summary line. */
typedef struct ms_dmarc_explanation {
    char **lines;
    size_t count;
} ms_dmarc_explanation;

ms_status ms_dmarc_explain(const ms_dmarc_record *rec, const char *domain,
                           ms_dmarc_explanation *out);
void ms_dmarc_explanation_free(ms_dmarc_explanation *ex);

/* What `dmarc generate` takes. Unset fields are left out of the record. */
typedef struct ms_dmarc_spec {
    const char *domain;
    ms_dmarc_policy p, sp, np;
    ms_dmarc_align adkim, aspf;
    ms_dmarc_psd psd;
    int pct;                /* -1: leave out */
    int testing;            /* -1: leave out */
    const char *fo;         /* NULL: leave out */
    const char *const *rua; /* NULL-terminated or NULL */
    const char *const *ruf;
} ms_dmarc_spec;

#define MS_DMARC_SPEC_INIT {NULL, MS_DMARC_POLICY_UNSET, MS_DMARC_POLICY_UNSET, \
    MS_DMARC_POLICY_UNSET, MS_DMARC_ALIGN_UNSET, MS_DMARC_ALIGN_UNSET, MS_DMARC_PSD_UNSET, \
    -1, -1, NULL, NULL, NULL}

/* Builds the record text, tags in the order v, p, sp, np, adkim, aspf, pct,
 * t, psd, fo, rua, ruf. rua/ruf entries may be bare addresses ("mailto:"
 * is added; "!" and "," are percent-encoded). An invalid spec or
 * combination is refused: the call returns MS_OK, *record stays NULL and
 * diags says why (error severity, every reason). On success the record has
 * been through ms_dmarc_check_record and its warnings (e.g. pct without t)
 * are added to diags. */
ms_status ms_dmarc_generate(const ms_dmarc_spec *spec, char **record, ms_diag_list *diags);

/* The zone-file line "_dmarc.DOMAIN. TTL IN TXT "..."", the record split
 * into character-strings of at most 255 octets, '"' and '\' escaped.
 * MS_ERR_INVALID when domain is not a domain name. */
ms_status ms_dmarc_zone_line(const char *domain, const char *record, unsigned ttl, char **line);

/* The staged roll-out: one step per record. */
typedef struct ms_dmarc_plan_step {
    char *name;        /* "monitor", "quarantine 1%", ... */
    char *record;      /* the record to publish at this step */
    char *rfc7489;     /* what RFC 7489 receivers (pct) do with it */
    char *rfc9989;     /* what RFC 9989 receivers (t=y) do with it */
    char **checks;     /* what to verify before moving on */
    size_t check_count;
} ms_dmarc_plan_step;

typedef struct ms_dmarc_plan {
    ms_dmarc_plan_step *steps;
    size_t count;
} ms_dmarc_plan;

/* Thirteen steps: monitor; quarantine 1, 5, 10, 25, 50 %, all; reject 1,
 * 5, 10, 25, 50 %, all. Partial steps publish pct=N with t=y (see
 * docs/dmarc-records.md). Each step's record is base with the step's p,
 * pct and t (base's own p, pct and testing are not used); the other tags
 * (sp, np, adkim, aspf, psd, fo, rua, ruf) are kept in every step. Needs
 * at least one rua; refusals are returned like ms_dmarc_generate's:
 * MS_OK, out->count 0, reasons in diags. */
ms_status ms_dmarc_plan_make(const ms_dmarc_spec *base, ms_dmarc_plan *out, ms_diag_list *diags);
void ms_dmarc_plan_free(ms_dmarc_plan *plan);

/* ---- discovery: which record applies, and where its reports go ---- */

/* The most queries RFC 9989's tree walk makes: the author domain, then at
 * most seven ancestors (the jump to seven labels, then one label at a
 * time). */
#define MS_DMARC_WALK_MAX 8

/* One name the tree walk asked about. */
typedef struct ms_dmarc_walk_step {
    char *domain;           /* the name whose _dmarc record was asked for */
    ms_dns_rcode rcode;
    ms_dns_dnssec_state dnssec;
    size_t dmarc_records;   /* TXT records starting with v=DMARC1 */
    ms_dmarc_psd psd;       /* of the record, when there was exactly one */
    int used;               /* the walk consulted this step (it may stop early) */
} ms_dmarc_walk_step;

/* One rua/ruf destination and what the DNS said about it. */
typedef struct ms_dmarc_destination {
    char *uri;
    char *domain;           /* NULL for non-mailto URIs */
    int is_ruf;
    int external;           /* outside the domain's organizational domain */
    int verified;           /* external and <domain>._report._dmarc.<dest> says v=DMARC1 */
    int has_mx;             /* the destination domain publishes MX (not null MX) */
} ms_dmarc_destination;

typedef struct ms_dmarc_discovery {
    char *domain;                /* normalised: A-labels, lower case */
    ms_dns_dnssec_state dnssec;      /* of the answer at _dmarc.<domain> */
    char *record_text;           /* the single DMARC record at _dmarc.<domain>, or NULL */
    size_t record_text_len;      /* its bytes: a TXT record may hold NULs */
    ms_dmarc_record *record;     /* its parse, or NULL */

    ms_dmarc_walk_step steps[MS_DMARC_WALK_MAX];
    size_t step_count;
    char *policy_domain;         /* RFC 9989: where the applicable record is; NULL: none */
    char *policy_record_text;    /* that record */
    size_t policy_record_text_len;
    char *org_domain;            /* RFC 9989 tree walk */
    char *psl_org_domain;        /* RFC 7489: by the Public Suffix List */
    char *psl_policy_domain;     /* RFC 7489: domain or its PSL org domain; NULL: none */

    ms_dmarc_destination *destinations;
    size_t destination_count;

    int could_not_check;         /* DNS failed where an answer was needed */
    ms_diag_list diags;
} ms_dmarc_discovery;

/* Without DNS (for a record checked by its text, or just generated): one
 * dmarc.report-destination-external note for each rua/ruf address outside
 * the domain's organizational domain (Public Suffix List), saying which
 * authorisation record the destination must publish. Nothing when domain
 * is NULL or not a domain name. ms_dmarc_discover checks the record
 * itself instead. */
ms_status ms_dmarc_note_external_destinations(ms_ctx *ctx, const ms_dmarc_record *rec,
                                              const char *domain, ms_diag_list *diags);

/* Looks up and checks the DMARC record of a domain, walks the tree, and
 * verifies external report destinations. Findings go to out->diags; a DNS
 * failure that prevents the check sets could_not_check. */
ms_status ms_dmarc_discover(ms_ctx *ctx, const char *domain, ms_dmarc_discovery **out);
void ms_dmarc_discovery_free(ms_dmarc_discovery *d);

/* ---- advise: where the roll-out stands, and the next step ---- */

/* The steps of ms_dmarc_plan_make. */
#define MS_DMARC_PLAN_STEPS 13

/* The facts `dmarc advise` weighs, gathered by the caller (DNS, the report
 * store); ms_dmarc_advise only reads them. Times are Unix seconds. */

/* A policy the receivers saw published (the reports' policy_published),
 * with when: the first report's begin, the last report's end. */
typedef struct ms_dmarc_policy_seen {
    ms_dmarc_policy p, sp, np;
    int pct;         /* 0..100, or -1 when absent */
    int testing;     /* t=y: 1, t=n: 0, absent: -1 */
    int64_t first, last;
    uint64_t reports;
} ms_dmarc_policy_seen;

/* One UTC day of the domain's reports (by the report's begin). */
typedef struct ms_dmarc_day {
    int64_t day;     /* midnight UTC */
    uint64_t messages, dmarc_pass, quarantined, rejected;
} ms_dmarc_day;

typedef struct ms_dmarc_advise_facts {
    const char *domain;
    int64_t now;
    int64_t window_start;                 /* the criteria read the reports from here */
    const ms_dmarc_record *record;        /* published now; NULL: none */
    const ms_diag_list *record_findings;  /* dmarc check's findings about it (may be NULL) */
    const ms_dmarc_policy_seen *history;  /* every policy seen, by first */
    size_t history_count;
    const ms_store_count *reporters;      /* in the window: organisation, messages */
    size_t reporter_count;
    const struct ms_dmarc_tally *sources; /* the window's sources (NULL: none) */
    const struct ms_dmarc_tally *step_sources; /* since the day the current step began (NULL:
                                             not read: nothing was quarantined or rejected) */
    const char *const *known_ips;         /* of the tally's checked and blockers, those seen
                                             before the window, sorted (strcmp); a source not
                                             listed counts as new */
    size_t known_ip_count;
    const ms_dmarc_day *days;             /* since the current step began, by day */
    size_t day_count;
} ms_dmarc_advise_facts;

/* What makes a step ready; ms_dmarc_advise_defaults fills the documented
 * defaults (docs/dmarc-rollout.md). */
typedef struct ms_dmarc_advise_options {
    double threshold;          /* DMARC pass of legitimate mail, percent (98) */
    unsigned min_reporters;    /* distinct reporters, one a large mailbox provider (2) */
    unsigned min_days;         /* days at the step; 0: 14 when monitoring, else 7 */
    uint64_t min_messages;     /* messages in the window (500) */
} ms_dmarc_advise_options;

void ms_dmarc_advise_defaults(ms_dmarc_advise_options *opt);

/* The sources of a window as advise weighs them, added one at a time
 * (ms_dmarc_tally_add, e.g. from ms_store_sources_each's callback) so that
 * memory stays bounded whatever the store holds: exact sums by class, and
 * copies of a bounded few: the legitimate sources failing most (the
 * blockers shown), the unaligned ones whose history is looked up (the
 * others count as new), the subdomains seen. */
enum {
    MS_DMARC_BLOCKERS_MAX = 100,   /* blockers shown; blocker_total counts them all */
    MS_DMARC_CHECKED_MAX = 200,    /* unaligned sources looked up in the days before */
    MS_DMARC_SUBDOMAINS_MAX = 1000, /* distinct subdomains counted */
    MS_DMARC_SUBDOMAINS_SHOWN = 16, /* of them named in the figures */
    MS_DMARC_NAMES_KEPT = 16       /* SPF and DKIM domains kept of a blocker, each */
};

typedef struct ms_dmarc_tally {
    const char *domain;            /* set by ms_dmarc_tally_init, borrowed */
    uint64_t allowed;              /* failing share (per ten thousand) an aligned source may have */
    uint64_t messages, legit, legit_pass, failing, spoofing, forwarding, own_failing;
    uint64_t spoofers, forwarders, own_failers;
    uint64_t unaligned_sources;    /* own failers with unaligned mail: new unless known */
    char *checked[MS_DMARC_CHECKED_MAX]; /* the largest of them by unaligned messages: IPs */
    uint64_t checked_unaligned[MS_DMARC_CHECKED_MAX];
    size_t checked_count;
    ms_store_source blockers[MS_DMARC_BLOCKERS_MAX]; /* copies; rdns and group may be set after */
    size_t blocker_count;
    uint64_t blocker_total;
    char *subdomains[MS_DMARC_SUBDOMAINS_MAX]; /* distinct, sorted (ASCII case ignored) */
    size_t subdomain_count;
    int subdomain_more;            /* more subdomains were seen than kept */
    uint64_t subdomain_failing_sources;
} ms_dmarc_tally;

void ms_dmarc_tally_init(ms_dmarc_tally *t, const char *domain, const ms_dmarc_advise_options *opt);
/* MS_ERR_NOMEM: the tally is incomplete, to be freed, not judged. */
ms_status ms_dmarc_tally_add(ms_dmarc_tally *t, const ms_store_source *source);
void ms_dmarc_tally_free(ms_dmarc_tally *t);

typedef enum ms_dmarc_advise_action {
    MS_DMARC_ADVISE_NEXT = 0,  /* ready: publish the next step */
    MS_DMARC_ADVISE_DONE,      /* at the last step, and it holds */
    MS_DMARC_ADVISE_HOLD,      /* stay: a criterion is not met, or the record is off the plan */
    MS_DMARC_ADVISE_STEP_BACK, /* legitimate mail was quarantined or rejected since the change */
    MS_DMARC_ADVISE_START      /* no usable record: start monitoring (dmarc plan) */
} ms_dmarc_advise_action;

const char *ms_dmarc_advise_action_str(ms_dmarc_advise_action a); /* "next", "done", ... */

/* One readiness criterion: met or not, with its figures in words. */
typedef struct ms_dmarc_criterion {
    const char *name;          /* "reporters", "days", "messages", "pass-rate",
                                  "new-sources", "failures", "subdomains" */
    int met;
    char *figures;
    uint64_t value, target;    /* the figure compared (rates: per ten thousand) */
} ms_dmarc_criterion;

enum { MS_DMARC_CRITERIA = 7 };

/* A legitimate source whose mail does not pass DMARC, and the fix. */
typedef struct ms_dmarc_blocker {
    const char *source_ip;     /* points into facts->sources (the tally) */
    const char *rdns, *org;    /* reverse DNS name and its organisational domain, or NULL */
    ms_sources_class cls;
    uint64_t messages, failing; /* failing: messages that did not pass DMARC */
    int is_new;                /* not seen before the window */
    char *fix;
} ms_dmarc_blocker;

typedef struct ms_dmarc_advice {
    int step;                  /* 0-based index into the plan; -1 when off the plan or no record */
    char *step_name;           /* the plan's name, or a description of the record */
    int64_t since;             /* first report that saw the step; 0 when none did */
    ms_diag_list departures;   /* how the record or its history departs from the plan */
    ms_dmarc_criterion criteria[MS_DMARC_CRITERIA];
    size_t criterion_count;
    ms_dmarc_blocker *blockers; /* by failing messages, most first; at most
                                   MS_DMARC_BLOCKERS_MAX */
    size_t blocker_count;
    uint64_t blocker_total;     /* every blocker, also those not in blockers */
    ms_dmarc_advise_action action;
    char **reasons;            /* why hold or step back, in words */
    size_t reason_count;
    int next_step;             /* the step proposed, or -1 */
    char *next_name, *next_record, *next_zone_line; /* NULL when nothing is proposed */
} ms_dmarc_advice;

/* Since when the published record's policy (p, pct, t) holds: the first
 * report that saw it after the last report of any other policy; 0 when
 * no report saw it. The caller reads the step's sources and days from
 * there. */
int64_t ms_dmarc_step_since(const ms_dmarc_record *record, const ms_dmarc_policy_seen *history,
                            size_t count);

/* Judges the facts against the thirteen steps of ms_dmarc_plan_make:
 * where the domain is, each criterion, the blockers, and what to publish
 * next (the step's record from the plan, keeping the published record's
 * other tags). Pure: no DNS, no store. */
ms_status ms_dmarc_advise(const ms_dmarc_advise_facts *facts, const ms_dmarc_advise_options *opt,
                          ms_dmarc_advice *out);
void ms_dmarc_advice_free(ms_dmarc_advice *advice);

#ifdef __cplusplus
}
#endif
#endif
