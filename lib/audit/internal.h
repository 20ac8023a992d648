/* What the files of lib/audit share: the diagnostic ids. */
#ifndef MAILSEC_LIB_AUDIT_INTERNAL_H
#define MAILSEC_LIB_AUDIT_INTERNAL_H

#include "core/internal.h"
#include "mailsec/audit.h"

enum audit_diag {
    /* TLS-RPT */
    A_TLSRPT_VERSION,
    A_TLSRPT_SYNTAX,
    A_TLSRPT_RUA_MISSING,
    A_TLSRPT_URI_INVALID,
    A_TLSRPT_UNKNOWN_FIELD,
    /* BIMI */
    A_BIMI_VERSION,
    A_BIMI_SYNTAX,
    A_BIMI_LOCATION_MISSING,
    A_BIMI_NOT_HTTPS,
    A_BIMI_NOT_SVG,
    A_BIMI_DECLINED,
    A_BIMI_NO_AUTHORITY,
    A_BIMI_UNKNOWN_TAG,
    /* MTA-STS record */
    A_MTASTS_TXT_VERSION,
    A_MTASTS_TXT_ID,
    A_MTASTS_TXT_SYNTAX,
    /* MTA-STS policy */
    A_MTASTS_LINE,
    A_MTASTS_VERSION,
    A_MTASTS_MODE,
    A_MTASTS_MAX_AGE,
    A_MTASTS_MAX_AGE_SHORT,
    A_MTASTS_MX_MISSING,
    A_MTASTS_MX_INVALID,
    A_MTASTS_DUPLICATE,
    A_MTASTS_UNKNOWN_FIELD,
    A_MTASTS_TESTING,
    A_MTASTS_MODE_NONE,
    A_MTASTS_FETCH,
    A_MTASTS_REDIRECT,
    A_MTASTS_HTTP_STATUS,
    A_MTASTS_CONTENT_TYPE,
    A_MTASTS_TOO_LARGE,
    /* MX */
    A_MX_NONE,
    A_MX_NULL,
    A_MX_NULL_WITH_OTHERS,
    A_MX_IP_LITERAL,
    A_MX_ALIAS,
    A_MX_NO_ADDRESS,
    A_MX_NO_IPV6,
    A_MX_DNS_FAILURE,
    A_MX_BOGUS,
    /* absent or several records, policy coverage, DNSSEC, failures */
    A_TLSRPT_NONE,
    A_TLSRPT_MULTIPLE,
    A_BIMI_NONE,
    A_BIMI_MULTIPLE,
    A_BIMI_DMARC,
    A_MTASTS_NONE,
    A_MTASTS_MULTIPLE,
    A_MTASTS_NOT_COVERED,
    A_DNSSEC_UNSIGNED,
    A_DNSSEC_BOGUS,
    A_DNSSEC_MX_UNSIGNED,
    A_LOOKUP_FAILED,
    A_DKIM_NOT_FOUND,
    A_DKIM_NO_SELECTOR,
};

#define AUDIT_DEF(id) (&ms_audit_diag_defs[id])

/* Copies text[0..len) into a new string; NULL when out of memory. */
char *audit_strndup(const char *text, size_t len);
/* Appends a copy of s to a growable string array. */
ms_status audit_push(char ***items, size_t *count, const char *s, size_t len);
void audit_free_strings(char **items, size_t count);

#endif
