/* mailsec audit: the parts of a mail domain's DNS that are not DMARC, SPF
 * or DKIM — MX (RFC 5321, RFC 7505 null MX), MTA-STS (RFC 8461), TLS-RPT
 * (RFC 8460) and BIMI records — each checked into diagnostics. */
#ifndef MAILSEC_AUDIT_H
#define MAILSEC_AUDIT_H

#include "mailsec/core.h"
#include "mailsec/dns.h"

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- TLS-RPT: _smtp._tls.<domain> TXT ---- */

typedef struct ms_audit_tlsrpt_record {
    int usable;       /* v=TLSRPTv1 first and at least one valid rua URI */
    char **rua;       /* the valid mailto: and https: URIs */
    size_t rua_count;
} ms_audit_tlsrpt_record;

/* Parses and checks a TLS-RPT record; findings (with byte offsets) go to
 * diags, at location (a DNS name, may be NULL). *out is always set on MS_OK. */
ms_status ms_audit_tlsrpt_check_record(const char *text, size_t len, const char *location,
                                 ms_audit_tlsrpt_record **out, ms_diag_list *diags);
void ms_audit_tlsrpt_record_free(ms_audit_tlsrpt_record *rec);

/* ---- BIMI: default._bimi.<domain> TXT ---- */

typedef struct ms_audit_bimi_record {
    int usable;        /* v=BIMI1 first and a valid (possibly empty) l= */
    int declined;      /* l= empty: the domain declines to show a logo */
    char *location;    /* l=: the SVG logo's https URL, or NULL */
    char *authority;   /* a=: the mark certificate's https URL, or NULL */
} ms_audit_bimi_record;

ms_status ms_audit_bimi_check_record(const char *text, size_t len, const char *location,
                               ms_audit_bimi_record **out, ms_diag_list *diags);
void ms_audit_bimi_record_free(ms_audit_bimi_record *rec);

/* ---- MTA-STS ---- */

typedef enum ms_audit_mtasts_mode {
    MS_AUDIT_MTASTS_MODE_UNSET = 0,
    MS_AUDIT_MTASTS_MODE_ENFORCE,
    MS_AUDIT_MTASTS_MODE_TESTING,
    MS_AUDIT_MTASTS_MODE_NONE
} ms_audit_mtasts_mode;

const char *ms_audit_mtasts_mode_str(ms_audit_mtasts_mode mode); /* "enforce", "testing", "none", "" */

typedef struct ms_audit_mtasts_policy {
    int usable;          /* version, mode, max_age present and valid; mx when mode needs it */
    ms_audit_mtasts_mode mode;
    long max_age;        /* seconds, or -1 */
    char **mx;           /* patterns as written: "mail.example.com", "*.example.net" */
    size_t mx_count;
} ms_audit_mtasts_policy;

/* The _mta-sts TXT record: v=STSv1 and id. *id receives the id (or NULL). */
ms_status ms_audit_mtasts_check_txt(const char *text, size_t len, const char *location, char **id,
                              ms_diag_list *diags);
/* The policy file's text. Offsets in diags are byte offsets in the file;
 * messages name the line. */
ms_status ms_audit_mtasts_check_policy(const char *text, size_t len, const char *location,
                                 ms_audit_mtasts_policy **out, ms_diag_list *diags);
void ms_audit_mtasts_policy_free(ms_audit_mtasts_policy *policy);
/* RFC 8461 4.1: "*.example.com" matches exactly one more label. */
int ms_audit_mtasts_mx_matches(const char *pattern, const char *host);

/* Fetches https://mta-sts.<domain>/.well-known/mta-sts.txt as RFC 8461
 * 3.3 demands: certificate valid for the host, no redirects, 200 only,
 * text/plain, at most 64 KiB. The ctx's HTTPS CA and resolve overrides
 * apply. On failure *body stays NULL and diags says why. */
ms_status ms_audit_mtasts_fetch(ms_ctx *ctx, const char *domain, char **body, size_t *len,
                          ms_diag_list *diags);

/* ---- MX ---- */

typedef struct ms_audit_mx_host {
    char *name;
    uint16_t preference;
    size_t ipv4_count, ipv6_count;
    int is_alias;              /* the name is a CNAME (RFC 5321 5.1 forbids) */
    ms_dns_rcode failed_rcode; /* NOERROR, or how an address lookup failed */
    ms_dns_dnssec_state dnssec;    /* of its address records */
} ms_audit_mx_host;

typedef struct ms_audit_mx_result {
    ms_dns_rcode rcode;        /* of the MX query */
    ms_dns_dnssec_state dnssec;    /* of the MX RRset */
    int null_mx;               /* RFC 7505: the domain accepts no mail */
    ms_audit_mx_host *hosts;         /* by preference, as published */
    size_t count;
} ms_audit_mx_result;

/* Looks up MX, then every host's A and AAAA at once; findings to diags. */
ms_status ms_audit_mx(ms_ctx *ctx, const char *domain, ms_audit_mx_result **out, ms_diag_list *diags);
void ms_audit_mx_result_free(ms_audit_mx_result *mx);

/* ---- the whole audit of one domain ---- */

typedef enum ms_audit_area_id {
    MS_AUDIT_MX = 0,
    MS_AUDIT_SPF,
    MS_AUDIT_DMARC,
    MS_AUDIT_DKIM,
    MS_AUDIT_MTASTS,
    MS_AUDIT_TLSRPT,
    MS_AUDIT_BIMI,
    MS_AUDIT_DNSSEC,
    MS_AUDIT_SMTP_TLS, /* only with ms_audit_options.smtp_tls */
    MS_AUDIT_AREA_COUNT
} ms_audit_area_id;

const char *ms_audit_area_name(ms_audit_area_id area); /* "mx", "spf", ..., "smtp-tls" */

typedef struct ms_audit_area {
    char grade;          /* 'A' nothing above notes, 'B' warnings, 'F' errors, '?' unchecked */
    int unchecked;       /* a lookup this area needs failed */
    int skipped;         /* not asked for (SMTP TLS without smtp_tls): no grade, no findings */
    ms_diag_list diags;
} ms_audit_area;

typedef struct ms_audit_report {
    char *domain;        /* normalised */
    char grade;          /* the worst area's */
    int could_not_check; /* the domain name was invalid, or every area failed */
    ms_audit_area areas[MS_AUDIT_AREA_COUNT];
    /* what was found, for renderers */
    char *spf_record, *dmarc_record, *mtasts_id, *tlsrpt_record, *bimi_record;
    unsigned spf_lookups;
    int bimi_shows_logo;  /* a usable BIMI record that does not decline */
    ms_audit_mtasts_policy *mtasts_policy;
    ms_audit_mx_result *mx;
} ms_audit_report;

typedef struct ms_audit_options {
    const char *const *selectors; /* DKIM selectors, NULL-terminated, or NULL */
    int smtp_tls;                 /* connect to every MX host's SMTP port (ms_tls_check_mx_hosts) */
    uint16_t smtp_port;           /* that port; 0: 25 */
    const char *ca_file;          /* trust these CAs (PEM) for the MX hosts' certificates; NULL:
                                   * the system's */
} ms_audit_options;

/* Audits one domain: every area, each into its own diagnostics. */
ms_status ms_audit_domain(ms_ctx *ctx, const char *domain, const ms_audit_options *options,
                          ms_audit_report **out);
void ms_audit_report_free(ms_audit_report *report);

#ifdef __cplusplus
}
#endif
#endif
