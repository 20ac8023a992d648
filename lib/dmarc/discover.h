/* DMARC discovery: to be moved into include/mailsec/dmarc.h. */
#ifndef MAILSEC_DMARC_DISCOVER_H
#define MAILSEC_DMARC_DISCOVER_H

#include "mailsec/dmarc.h"
#include "mailsec/dns.h"

/* The most queries RFC 9989's tree walk makes: the author domain, then at
 * most seven ancestors (the jump to seven labels, then one label at a
 * time). */
#define MS_DMARC_WALK_MAX 8

/* One name the tree walk asked about. */
typedef struct ms_dmarc_walk_step {
    char *domain;           /* the name whose _dmarc record was asked for */
    ms_dns_rcode rcode;
    ms_dnssec_state dnssec;
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
    ms_dnssec_state dnssec;      /* of the answer at _dmarc.<domain> */
    char *record_text;           /* the single DMARC record at _dmarc.<domain>, or NULL */
    ms_dmarc_record *record;     /* its parse, or NULL */

    ms_dmarc_walk_step steps[MS_DMARC_WALK_MAX];
    size_t step_count;
    char *policy_domain;         /* RFC 9989: where the applicable record is; NULL: none */
    char *policy_record_text;    /* that record */
    char *org_domain;            /* RFC 9989 tree walk */
    char *psl_org_domain;        /* RFC 7489: by the Public Suffix List */
    char *psl_policy_domain;     /* RFC 7489: domain or its PSL org domain; NULL: none */

    ms_dmarc_destination *destinations;
    size_t destination_count;

    int could_not_check;         /* DNS failed where an answer was needed */
    ms_diag_list diags;
} ms_dmarc_discovery;

/* Looks up and checks the DMARC record of a domain, walks the tree, and
 * verifies external report destinations. Findings go to out->diags; a DNS
 * failure that prevents the check sets could_not_check. */
ms_status ms_dmarc_discover(ms_ctx *ctx, const char *domain, ms_dmarc_discovery **out);
void ms_dmarc_discovery_free(ms_dmarc_discovery *d);

#endif
