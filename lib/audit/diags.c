/* The audit module's diagnostics: MX, MTA-STS, TLS-RPT, BIMI. Their texts
 * are docs/diagnostics.md's (core/catalogue.h). */
#include "internal.h"
#include "core/catalogue.h"

#include <stdlib.h>
#include <string.h>

const ms_diag_def ms_audit_diag_defs[] = {
    [A_TLSRPT_VERSION] = MS_DIAG(tlsrpt_version),
    [A_TLSRPT_SYNTAX] = MS_DIAG(tlsrpt_syntax),
    [A_TLSRPT_RUA_MISSING] = MS_DIAG(tlsrpt_rua_missing),
    [A_TLSRPT_URI_INVALID] = MS_DIAG(tlsrpt_uri_invalid),
    [A_TLSRPT_UNKNOWN_FIELD] = MS_DIAG(tlsrpt_unknown_field),
    [A_BIMI_VERSION] = MS_DIAG(bimi_version),
    [A_BIMI_SYNTAX] = MS_DIAG(bimi_syntax),
    [A_BIMI_LOCATION_MISSING] = MS_DIAG(bimi_location_missing),
    [A_BIMI_NOT_HTTPS] = MS_DIAG(bimi_not_https),
    [A_BIMI_NOT_SVG] = MS_DIAG(bimi_not_svg),
    [A_BIMI_DECLINED] = MS_DIAG(bimi_declined),
    [A_BIMI_NO_AUTHORITY] = MS_DIAG(bimi_no_authority),
    [A_BIMI_UNKNOWN_TAG] = MS_DIAG(bimi_unknown_tag),
    [A_MTASTS_TXT_VERSION] = MS_DIAG(mtasts_record_version),
    [A_MTASTS_TXT_ID] = MS_DIAG(mtasts_record_id),
    [A_MTASTS_TXT_SYNTAX] = MS_DIAG(mtasts_record_syntax),
    [A_MTASTS_LINE] = MS_DIAG(mtasts_policy_line),
    [A_MTASTS_VERSION] = MS_DIAG(mtasts_policy_version),
    [A_MTASTS_MODE] = MS_DIAG(mtasts_policy_mode),
    [A_MTASTS_MAX_AGE] = MS_DIAG(mtasts_policy_max_age),
    [A_MTASTS_MAX_AGE_SHORT] = MS_DIAG(mtasts_policy_max_age_short),
    [A_MTASTS_MX_MISSING] = MS_DIAG(mtasts_policy_mx_missing),
    [A_MTASTS_MX_INVALID] = MS_DIAG(mtasts_policy_mx_invalid),
    [A_MTASTS_DUPLICATE] = MS_DIAG(mtasts_policy_duplicate),
    [A_MTASTS_UNKNOWN_FIELD] = MS_DIAG(mtasts_policy_unknown_field),
    [A_MTASTS_TESTING] = MS_DIAG(mtasts_mode_testing),
    [A_MTASTS_MODE_NONE] = MS_DIAG(mtasts_mode_none),
    [A_MTASTS_FETCH] = MS_DIAG(mtasts_fetch_failed),
    [A_MTASTS_REDIRECT] = MS_DIAG(mtasts_fetch_redirect),
    [A_MTASTS_HTTP_STATUS] = MS_DIAG(mtasts_fetch_status),
    [A_MTASTS_CONTENT_TYPE] = MS_DIAG(mtasts_fetch_content_type),
    [A_MTASTS_TOO_LARGE] = MS_DIAG(mtasts_fetch_too_large),
    [A_MX_NONE] = MS_DIAG(mx_none),
    [A_MX_NULL] = MS_DIAG(mx_null),
    [A_MX_NULL_WITH_OTHERS] = MS_DIAG(mx_null_with_others),
    [A_MX_IP_LITERAL] = MS_DIAG(mx_ip_literal),
    [A_MX_ALIAS] = MS_DIAG(mx_alias),
    [A_MX_NO_ADDRESS] = MS_DIAG(mx_no_address),
    [A_MX_NO_IPV6] = MS_DIAG(mx_no_ipv6),
    [A_MX_DNS_FAILURE] = MS_DIAG(mx_dns_failure),
    [A_MX_BOGUS] = MS_DIAG(mx_dnssec_bogus),
    [A_TLSRPT_NONE] = MS_DIAG(tlsrpt_none),
    [A_TLSRPT_MULTIPLE] = MS_DIAG(tlsrpt_multiple),
    [A_BIMI_NONE] = MS_DIAG(bimi_none),
    [A_BIMI_MULTIPLE] = MS_DIAG(bimi_multiple),
    [A_BIMI_DMARC] = MS_DIAG(bimi_dmarc_not_enforced),
    [A_MTASTS_NONE] = MS_DIAG(mtasts_none),
    [A_MTASTS_MULTIPLE] = MS_DIAG(mtasts_record_multiple),
    [A_MTASTS_NOT_COVERED] = MS_DIAG(mtasts_mx_not_covered),
    [A_DNSSEC_UNSIGNED] = MS_DIAG(dnssec_unsigned),
    [A_DNSSEC_BOGUS] = MS_DIAG(dnssec_bogus),
    [A_DNSSEC_MX_UNSIGNED] = MS_DIAG(dnssec_mx_unsigned),
    [A_LOOKUP_FAILED] = MS_DIAG(audit_lookup_failed),
    [A_DKIM_NOT_FOUND] = MS_DIAG(audit_dkim_not_found),
    [A_DKIM_NO_SELECTOR] = MS_DIAG(audit_dkim_no_selector),
    MS_DIAG_END,
};

char *audit_strndup(const char *text, size_t len)
{
    char *s = malloc(len + 1);
    if (s != NULL) {
        memcpy(s, text, len);
        s[len] = '\0';
    }
    return s;
}

ms_status audit_push(char ***items, size_t *count, const char *s, size_t len)
{
    char **grown = realloc(*items, (*count + 1) * sizeof *grown);
    if (grown == NULL)
        return MS_ERR_NOMEM;
    *items = grown;
    if ((grown[*count] = audit_strndup(s, len)) == NULL)
        return MS_ERR_NOMEM;
    (*count)++;
    return MS_OK;
}

void audit_free_strings(char **items, size_t count)
{
    for (size_t i = 0; i < count; i++)
        free(items[i]);
    free(items);
}
