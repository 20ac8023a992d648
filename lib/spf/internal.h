/* What the SPF files share: the diagnostic table's indices, macro
 * expansion and small text helpers. */
#ifndef MAILSEC_LIB_SPF_INTERNAL_H
#define MAILSEC_LIB_SPF_INTERNAL_H

#include "core/internal.h"
#include "mailsec/spf.h"

#include <stddef.h>

/* Indices into ms_spf_diag_defs (diags.c), built with designated
 * initializers from these so the two cannot drift. */
enum spf_diag_id {
    SPF_D_SYNTAX,           /* generic term syntax */
    SPF_D_UNKNOWN_MECH,
    SPF_D_BAD_CHAR,
    SPF_D_BAD_CIDR,
    SPF_D_BAD_IP,
    SPF_D_BAD_DOMAIN_SPEC,
    SPF_D_MACRO,
    SPF_D_MACRO_EXP_ONLY,
    SPF_D_DUP_MODIFIER,
    SPF_D_BAD_MODIFIER,
    SPF_D_NO_RECORD,
    SPF_D_MULTIPLE,
    SPF_D_DNS_ERROR,
    SPF_D_LOOKUP_LIMIT,
    SPF_D_LOOKUP_NEAR,
    SPF_D_VOID_LIMIT,
    SPF_D_LOOP,
    SPF_D_TARGET_NO_RECORD,
    SPF_D_TARGET_ERROR,
    SPF_D_PTR,
    SPF_D_PLUS_ALL,
    SPF_D_NEUTRAL_ALL,
    SPF_D_NO_ALL,
    SPF_D_AFTER_ALL,
    SPF_D_REDIRECT_WITH_ALL,
    SPF_D_STRING_LONG,
    SPF_D_RECORD_LONG,
    SPF_D_MACRO_TARGET,
    SPF_D_NO_ADDRESS,
    SPF_D_MX_TOO_MANY,
    SPF_D_PARKED,
    SPF_D_TREE_LIMIT,
    SPF_D_COUNT
};

#define SPF_DEF(id) (&ms_spf_diag_defs[(id)])

/* Macro expansion context (RFC 7208 section 7). */
typedef struct spf_macro_env {
    const char *sender;   /* local@domain (postmaster@ added when no local part) */
    const char *domain;   /* <domain> of the current check_host() */
    const char *helo;
    const char *receiver;
    int is_v6;
    unsigned char ip[16];
    long long now;
    /* %{p}: computed on demand by the evaluator; NULL when not available */
    const char *(*validated_name)(void *arg, const char *domain);
    void *arg;
} spf_macro_env;

/* Checks macro-string syntax; returns the offset of the first error or -1.
 * exp_text: c, r, t allowed (explanation strings). */
long spf_macro_check(const char *s, size_t len, int exp_text);
/* Expands a macro-string; NULL on a syntax error or out of memory
 * (*bad set on syntax error). */
char *spf_macro_expand(const char *s, const spf_macro_env *env, int exp_text, int *bad);
/* Non-zero when a domain-spec (before expansion) ends the way RFC 7208's
 * ABNF says: "." toplabel ["."], or a macro-expand. */
int spf_domain_end_ok(const char *s, size_t len);
/* After expansion: trim to 253 octets by dropping left labels (RFC 7208
 * 7.3) and check it is a name we can query. *out is a new string, or NULL
 * for a name that cannot exist; MS_ERR_NOMEM. */
ms_status spf_target_name(const char *expanded, char **out);

#endif
