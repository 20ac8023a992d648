/* Every diagnostic the cert module can emit: the PEM scanner's, the chain
 * checker's (shared by `cert lint` and `tls check`) and the file checks of
 * `cert lint`. Their texts are docs/diagnostics.md's (core/catalogue.h);
 * tests/cli/cert-*.test and tests/unit/cert produce each of them. */
#include "internal.h"
#include "core/catalogue.h"

const ms_diag_def ms_cert_diag_defs[CT_COUNT + 1] = {
    [CT_PEM_NONE] = MS_DIAG(cert_pem_none),
    [CT_PEM_WHITESPACE] = MS_DIAG(cert_pem_whitespace),
    [CT_PEM_BLANK_LINE] = MS_DIAG(cert_pem_blank_line),
    [CT_PEM_INDENTED] = MS_DIAG(cert_pem_indented),
    [CT_PEM_STRAY_TEXT] = MS_DIAG(cert_pem_stray_text),
    [CT_PEM_UNBALANCED] = MS_DIAG(cert_pem_unbalanced),
    [CT_PEM_BAD_CHAR] = MS_DIAG(cert_pem_bad_char),
    [CT_PEM_LINE_LENGTH] = MS_DIAG(cert_pem_line_length),
    [CT_PEM_DECODE] = MS_DIAG(cert_pem_decode),
    [CT_PEM_OTHER_BLOCK] = MS_DIAG(cert_pem_other_block),
    [CT_NO_CERTIFICATE] = MS_DIAG(cert_no_certificate),
    [CT_DUPLICATE] = MS_DIAG(cert_duplicate),
    [CT_CHAIN_ORDER] = MS_DIAG(cert_chain_order),
    [CT_UNRELATED] = MS_DIAG(cert_unrelated),
    [CT_ROOT_INCLUDED] = MS_DIAG(cert_root_included),
    [CT_INTERMEDIATE_MISSING] = MS_DIAG(cert_intermediate_missing),
    [CT_UNTRUSTED] = MS_DIAG(cert_untrusted),
    [CT_SELF_SIGNED] = MS_DIAG(cert_self_signed),
    [CT_VERIFY_FAILED] = MS_DIAG(cert_verify_failed),
    [CT_EXPIRED] = MS_DIAG(cert_expired),
    [CT_NOT_YET_VALID] = MS_DIAG(cert_not_yet_valid),
    [CT_EXPIRING] = MS_DIAG(cert_expiring),
    [CT_HOST_MISMATCH] = MS_DIAG(cert_host_mismatch),
    [CT_KEY_WEAK] = MS_DIAG(cert_key_weak),
    [CT_SIGNATURE_WEAK] = MS_DIAG(cert_signature_weak),
    [CT_KEY_MISMATCH] = MS_DIAG(cert_key_mismatch),
    [CT_KEY_READABLE] = MS_DIAG(cert_key_readable),
    [CT_KEY_IN_PUBLIC_FILE] = MS_DIAG(cert_key_in_public_file),
    [CT_KEY_BUNDLED] = MS_DIAG(cert_key_bundled),
    [CT_KEY_NONE] = MS_DIAG(cert_key_none),
    [CT_COUNT] = MS_DIAG_END,
};
