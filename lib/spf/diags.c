/* Every diagnostic the SPF code can emit. Their texts, with an example
 * each, are docs/diagnostics.md's (core/catalogue.h); tests/cli/catalogue.sh
 * checks each code appears in a test. */
#include "internal.h"
#include "core/catalogue.h"

const ms_diag_def ms_spf_diag_defs[SPF_D_COUNT + 1] = {
    [SPF_D_SYNTAX] = MS_DIAG(spf_syntax),
    [SPF_D_UNKNOWN_MECH] = MS_DIAG(spf_unknown_mechanism),
    [SPF_D_BAD_CHAR] = MS_DIAG(spf_bad_character),
    [SPF_D_BAD_CIDR] = MS_DIAG(spf_bad_cidr),
    [SPF_D_BAD_IP] = MS_DIAG(spf_bad_ip),
    [SPF_D_BAD_DOMAIN_SPEC] = MS_DIAG(spf_bad_domain_spec),
    [SPF_D_MACRO] = MS_DIAG(spf_macro_syntax),
    [SPF_D_MACRO_EXP_ONLY] = MS_DIAG(spf_macro_exp_only),
    [SPF_D_DUP_MODIFIER] = MS_DIAG(spf_duplicate_modifier),
    [SPF_D_BAD_MODIFIER] = MS_DIAG(spf_bad_modifier),
    [SPF_D_NO_RECORD] = MS_DIAG(spf_no_record),
    [SPF_D_MULTIPLE] = MS_DIAG(spf_multiple_records),
    [SPF_D_DNS_ERROR] = MS_DIAG(spf_dns_error),
    [SPF_D_LOOKUP_LIMIT] = MS_DIAG(spf_lookup_limit),
    [SPF_D_LOOKUP_NEAR] = MS_DIAG(spf_lookup_limit_near),
    [SPF_D_VOID_LIMIT] = MS_DIAG(spf_void_limit),
    [SPF_D_LOOP] = MS_DIAG(spf_loop),
    [SPF_D_TARGET_NO_RECORD] = MS_DIAG(spf_target_no_record),
    [SPF_D_TARGET_ERROR] = MS_DIAG(spf_target_error),
    [SPF_D_PTR] = MS_DIAG(spf_ptr),
    [SPF_D_PLUS_ALL] = MS_DIAG(spf_plus_all),
    [SPF_D_NEUTRAL_ALL] = MS_DIAG(spf_neutral_all),
    [SPF_D_NO_ALL] = MS_DIAG(spf_no_all),
    [SPF_D_AFTER_ALL] = MS_DIAG(spf_after_all),
    [SPF_D_REDIRECT_WITH_ALL] = MS_DIAG(spf_redirect_with_all),
    [SPF_D_STRING_LONG] = MS_DIAG(spf_string_too_long),
    [SPF_D_RECORD_LONG] = MS_DIAG(spf_record_too_long),
    [SPF_D_MACRO_TARGET] = MS_DIAG(spf_macro_target),
    [SPF_D_NO_ADDRESS] = MS_DIAG(spf_no_address),
    [SPF_D_MX_TOO_MANY] = MS_DIAG(spf_mx_too_many),
    [SPF_D_PARKED] = MS_DIAG(spf_parked_domain),
    [SPF_D_TREE_LIMIT] = MS_DIAG(spf_tree_limit),
    [SPF_D_COUNT] = MS_DIAG_END,
};
