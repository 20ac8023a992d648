/* Every diagnosis the address validator can give. The first block follows
 * is_email 3.05 (Dominic Sayers) one for one, so its conformance suite can
 * be compared diagnosis by diagnosis; the rest are mailsec's own (UTF-8,
 * IDN, the HTML5 profile). Their texts are docs/diagnostics.md's
 * (core/catalogue.h); is_email's numbers and categories are here. */
#include "email_internal.h"
#include "core/catalogue.h"

#include <string.h>

/* Categories, as in is_email. */
#define C_VALID MS_EMAIL_CAT_VALID
#define C_DNSW MS_EMAIL_CAT_DNSWARN
#define C_5321 MS_EMAIL_CAT_RFC5321
#define C_CFWS MS_EMAIL_CAT_CFWS
#define C_DEPR MS_EMAIL_CAT_DEPREC
#define C_5322 MS_EMAIL_CAT_RFC5322
#define C_ERR MS_EMAIL_CAT_ERR

const em_diag_info em_diag_infos[EM_COUNT] = {
    [EM_VALID] = {0, C_VALID},
    [EM_DNSWARN_NO_MX_RECORD] = {5, C_DNSW},
    [EM_DNSWARN_NO_RECORD] = {6, C_DNSW},
    [EM_RFC5321_TLD] = {9, C_5321},
    [EM_RFC5321_TLD_NUMERIC] = {10, C_5321},
    [EM_RFC5321_QUOTED_STRING] = {11, C_5321},
    [EM_RFC5321_ADDRESS_LITERAL] = {12, C_5321},
    [EM_RFC5321_IPV6_DEPRECATED] = {13, C_DEPR},
    [EM_CFWS_COMMENT] = {17, C_CFWS},
    [EM_CFWS_FWS] = {18, C_CFWS},
    [EM_DEPREC_LOCAL_PART] = {33, C_DEPR},
    [EM_DEPREC_FWS] = {34, C_DEPR},
    [EM_DEPREC_QTEXT] = {35, C_DEPR},
    [EM_DEPREC_QP] = {36, C_DEPR},
    [EM_DEPREC_COMMENT] = {37, C_DEPR},
    [EM_DEPREC_CTEXT] = {38, C_DEPR},
    [EM_DEPREC_CFWS_NEAR_AT] = {49, C_DEPR},
    [EM_RFC5322_DOMAIN] = {65, C_5322},
    [EM_RFC5322_TOO_LONG] = {66, C_5322},
    [EM_RFC5322_LOCAL_TOO_LONG] = {67, C_5322},
    [EM_RFC5322_DOMAIN_TOO_LONG] = {68, C_5322},
    [EM_RFC5322_LABEL_TOO_LONG] = {69, C_5322},
    [EM_RFC5322_DOMAIN_LITERAL] = {70, C_5322},
    [EM_RFC5322_DOMLIT_OBSDTEXT] = {71, C_5322},
    [EM_RFC5322_IPV6_GRP_COUNT] = {72, C_5322},
    [EM_RFC5322_IPV6_2X2X_COLON] = {73, C_5322},
    [EM_RFC5322_IPV6_BAD_CHAR] = {74, C_5322},
    [EM_RFC5322_IPV6_MAX_GRPS] = {75, C_5322},
    [EM_RFC5322_IPV6_COLON_START] = {76, C_5322},
    [EM_RFC5322_IPV6_COLON_END] = {77, C_5322},
    [EM_RFC5322_BAD_IDN] = {78, C_5322},
    [EM_ERR_EXPECTING_DTEXT] = {129, C_ERR},
    [EM_ERR_NO_LOCAL_PART] = {130, C_ERR},
    [EM_ERR_NO_DOMAIN] = {131, C_ERR},
    [EM_ERR_NO_DOMAIN_SEP] = {131, C_ERR},
    [EM_ERR_CONSECUTIVE_DOTS] = {132, C_ERR},
    [EM_ERR_ATEXT_AFTER_CFWS] = {133, C_ERR},
    [EM_ERR_ATEXT_AFTER_QS] = {134, C_ERR},
    [EM_ERR_ATEXT_AFTER_DOMLIT] = {135, C_ERR},
    [EM_ERR_EXPECTING_QPAIR] = {136, C_ERR},
    [EM_ERR_EXPECTING_ATEXT] = {137, C_ERR},
    [EM_ERR_EXPECTING_QTEXT] = {138, C_ERR},
    [EM_ERR_EXPECTING_CTEXT] = {139, C_ERR},
    [EM_ERR_BACKSLASH_END] = {140, C_ERR},
    [EM_ERR_DOT_START] = {141, C_ERR},
    [EM_ERR_DOT_END] = {142, C_ERR},
    [EM_ERR_DOMAIN_HYPHEN_START] = {143, C_ERR},
    [EM_ERR_DOMAIN_HYPHEN_END] = {144, C_ERR},
    [EM_ERR_UNCLOSED_QUOTED_STR] = {145, C_ERR},
    [EM_ERR_UNCLOSED_COMMENT] = {146, C_ERR},
    [EM_ERR_UNCLOSED_DOMLIT] = {147, C_ERR},
    [EM_ERR_FWS_CRLF_X2] = {148, C_ERR},
    [EM_ERR_FWS_CRLF_END] = {149, C_ERR},
    [EM_ERR_CR_NO_LF] = {150, C_ERR},
    [EM_ERR_NON_ASCII] = {137, C_ERR},
    [EM_ERR_BAD_UTF8] = {151, C_ERR},
    [EM_ERR_UNSAFE_CHAR] = {152, C_ERR},
    [EM_HTML5_ONLY] = {0, C_ERR},
};

const ms_diag_def ms_email_diag_defs[EM_COUNT + 1] = {
    [EM_VALID] = MS_DIAG(email_valid),
    [EM_DNSWARN_NO_MX_RECORD] = MS_DIAG(email_dnswarn_no_mx_record),
    [EM_DNSWARN_NO_RECORD] = MS_DIAG(email_dnswarn_no_record),
    [EM_RFC5321_TLD] = MS_DIAG(email_rfc5321_tld),
    [EM_RFC5321_TLD_NUMERIC] = MS_DIAG(email_rfc5321_tld_numeric),
    [EM_RFC5321_QUOTED_STRING] = MS_DIAG(email_rfc5321_quoted_string),
    [EM_RFC5321_ADDRESS_LITERAL] = MS_DIAG(email_rfc5321_address_literal),
    [EM_RFC5321_IPV6_DEPRECATED] = MS_DIAG(email_rfc5321_ipv6_deprecated),
    [EM_CFWS_COMMENT] = MS_DIAG(email_cfws_comment),
    [EM_CFWS_FWS] = MS_DIAG(email_cfws_fws),
    [EM_DEPREC_LOCAL_PART] = MS_DIAG(email_deprec_local_part),
    [EM_DEPREC_FWS] = MS_DIAG(email_deprec_fws),
    [EM_DEPREC_QTEXT] = MS_DIAG(email_deprec_qtext),
    [EM_DEPREC_QP] = MS_DIAG(email_deprec_qp),
    [EM_DEPREC_COMMENT] = MS_DIAG(email_deprec_comment),
    [EM_DEPREC_CTEXT] = MS_DIAG(email_deprec_ctext),
    [EM_DEPREC_CFWS_NEAR_AT] = MS_DIAG(email_deprec_cfws_near_at),
    [EM_RFC5322_DOMAIN] = MS_DIAG(email_rfc5322_domain),
    [EM_RFC5322_TOO_LONG] = MS_DIAG(email_rfc5322_too_long),
    [EM_RFC5322_LOCAL_TOO_LONG] = MS_DIAG(email_rfc5322_local_too_long),
    [EM_RFC5322_DOMAIN_TOO_LONG] = MS_DIAG(email_rfc5322_domain_too_long),
    [EM_RFC5322_LABEL_TOO_LONG] = MS_DIAG(email_rfc5322_label_too_long),
    [EM_RFC5322_DOMAIN_LITERAL] = MS_DIAG(email_rfc5322_domain_literal),
    [EM_RFC5322_DOMLIT_OBSDTEXT] = MS_DIAG(email_rfc5322_domlit_obsdtext),
    [EM_RFC5322_IPV6_GRP_COUNT] = MS_DIAG(email_rfc5322_ipv6_grp_count),
    [EM_RFC5322_IPV6_2X2X_COLON] = MS_DIAG(email_rfc5322_ipv6_2x2x_colon),
    [EM_RFC5322_IPV6_BAD_CHAR] = MS_DIAG(email_rfc5322_ipv6_bad_char),
    [EM_RFC5322_IPV6_MAX_GRPS] = MS_DIAG(email_rfc5322_ipv6_max_grps),
    [EM_RFC5322_IPV6_COLON_START] = MS_DIAG(email_rfc5322_ipv6_colon_start),
    [EM_RFC5322_IPV6_COLON_END] = MS_DIAG(email_rfc5322_ipv6_colon_end),
    [EM_RFC5322_BAD_IDN] = MS_DIAG(email_rfc5322_bad_idn),
    [EM_ERR_EXPECTING_DTEXT] = MS_DIAG(email_err_expecting_dtext),
    [EM_ERR_NO_LOCAL_PART] = MS_DIAG(email_err_no_local_part),
    [EM_ERR_NO_DOMAIN] = MS_DIAG(email_err_no_domain),
    [EM_ERR_NO_DOMAIN_SEP] = MS_DIAG(email_err_no_domain_sep),
    [EM_ERR_CONSECUTIVE_DOTS] = MS_DIAG(email_err_consecutive_dots),
    [EM_ERR_ATEXT_AFTER_CFWS] = MS_DIAG(email_err_atext_after_cfws),
    [EM_ERR_ATEXT_AFTER_QS] = MS_DIAG(email_err_atext_after_qs),
    [EM_ERR_ATEXT_AFTER_DOMLIT] = MS_DIAG(email_err_atext_after_domlit),
    [EM_ERR_EXPECTING_QPAIR] = MS_DIAG(email_err_expecting_qpair),
    [EM_ERR_EXPECTING_ATEXT] = MS_DIAG(email_err_expecting_atext),
    [EM_ERR_EXPECTING_QTEXT] = MS_DIAG(email_err_expecting_qtext),
    [EM_ERR_EXPECTING_CTEXT] = MS_DIAG(email_err_expecting_ctext),
    [EM_ERR_BACKSLASH_END] = MS_DIAG(email_err_backslash_end),
    [EM_ERR_DOT_START] = MS_DIAG(email_err_dot_start),
    [EM_ERR_DOT_END] = MS_DIAG(email_err_dot_end),
    [EM_ERR_DOMAIN_HYPHEN_START] = MS_DIAG(email_err_domain_hyphen_start),
    [EM_ERR_DOMAIN_HYPHEN_END] = MS_DIAG(email_err_domain_hyphen_end),
    [EM_ERR_UNCLOSED_QUOTED_STR] = MS_DIAG(email_err_unclosed_quoted_str),
    [EM_ERR_UNCLOSED_COMMENT] = MS_DIAG(email_err_unclosed_comment),
    [EM_ERR_UNCLOSED_DOMLIT] = MS_DIAG(email_err_unclosed_domlit),
    [EM_ERR_FWS_CRLF_X2] = MS_DIAG(email_err_fws_crlf_x2),
    [EM_ERR_FWS_CRLF_END] = MS_DIAG(email_err_fws_crlf_end),
    [EM_ERR_CR_NO_LF] = MS_DIAG(email_err_cr_no_lf),
    [EM_ERR_NON_ASCII] = MS_DIAG(email_err_non_ascii),
    [EM_ERR_BAD_UTF8] = MS_DIAG(email_err_bad_utf8),
    [EM_ERR_UNSAFE_CHAR] = MS_DIAG(email_err_unsafe_char),
    [EM_HTML5_ONLY] = MS_DIAG(email_html5_only),
    [EM_COUNT] = MS_DIAG_END,
};

const ms_diag_def *ms_email_diag_def(const char *diagnosis)
{
    if (diagnosis == NULL)
        return NULL;
    /* ms_email_check()'s diagnosis is the table's own string: no strcmp */
    for (size_t i = 0; i < EM_COUNT; i++)
        if (ms_email_diag_defs[i].code == diagnosis)
            return &ms_email_diag_defs[i];
    for (size_t i = 0; i < EM_COUNT; i++)
        if (strcmp(ms_email_diag_defs[i].code, diagnosis) == 0)
            return &ms_email_diag_defs[i];
    return NULL;
}
