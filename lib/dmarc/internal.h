/* What the DMARC record files share: the diagnostic table's indices, the
 * reporting-URI parser (used by the checker and by the generator), and a
 * few small text helpers. */
#ifndef MAILSEC_LIB_DMARC_INTERNAL_H
#define MAILSEC_LIB_DMARC_INTERNAL_H

#include "core/internal.h"
#include "mailsec/dmarc.h"

#include <stddef.h>

/* Indices into ms_dmarc_diag_defs (lib/dmarc/diags.c). The table is built
 * with designated initializers from these, so the two cannot drift. */
enum dmarc_diag_id {
    /* Is it a DMARC record at all? */
    DM_EMPTY,
    DM_LEADING_SPACE,
    DM_SPF_RECORD,
    DM_VERSION_MISSING,
    DM_VERSION_NOT_FIRST,
    DM_VERSION_INVALID,
    /* tag=value syntax */
    DM_TAG_MISSING_EQUALS,
    DM_TAG_NAME_EMPTY,
    DM_TAG_NAME_INVALID,
    DM_VALUE_EMPTY,
    DM_VALUE_BAD_CHAR,
    DM_EMPTY_TAG,
    DM_DUPLICATE_TAG,
    DM_UNKNOWN_TAG,
    DM_P_NOT_SECOND,
    /* policies */
    DM_P_MISSING,
    DM_P_MISSING_NO_RUA,
    DM_P_INVALID,
    DM_SP_INVALID,
    DM_NP_INVALID,
    DM_P_NONE,
    DM_SP_WEAKER,
    DM_NP_WEAKER,
    DM_NP_RFC9989,
    /* alignment, flags */
    DM_ADKIM_INVALID,
    DM_ASPF_INVALID,
    DM_T_INVALID,
    DM_TESTING,
    DM_T_WITHOUT_PCT,
    DM_PSD_INVALID,
    DM_PSD_Y,
    /* pct */
    DM_PCT_INVALID,
    DM_PCT_REMOVED,
    DM_PCT_WITHOUT_T,
    DM_PCT_T_CONFLICT,
    /* failure reporting, removed tags */
    DM_FO_INVALID,
    DM_FO_WITHOUT_RUF,
    DM_RF_INVALID,
    DM_RF_REMOVED,
    DM_RI_INVALID,
    DM_RI_REMOVED,
    /* rua / ruf */
    DM_RUA_MISSING,
    DM_RUF_PRESENT,
    DM_URI_INVALID,
    DM_URI_NOT_MAILTO,
    DM_MAILTO_INVALID,
    DM_URI_SIZE_INVALID,
    DM_URI_SIZE_OBSOLETE,
    DM_TOO_MANY_URIS,
    /* ms_dmarc_generate and ms_dmarc_plan_make refusals */
    DM_GEN_DOMAIN,
    DM_GEN_POLICY,
    DM_GEN_VALUE,
    DM_GEN_URI,
    DM_PLAN_RUA_MISSING,
    DM_COUNT
};

#define DMARC_DIAG(id) (&ms_dmarc_diag_defs[(id)])

/* Receivers may limit themselves to two report URIs per tag (RFC 7489
 * section 6.2: they "MUST support the ability to send to at least two"). */
#define MS_DMARC_URIS_HONOURED 2

/* Parses one rua/ruf value (the text between '=' and ';', already trimmed)
 * into URIs. base is the value's byte offset in the record, for the
 * diagnostics; tag is "rua" or "ruf" for the messages. Invalid URIs are
 * reported and left out of *uris. Returns MS_ERR_NOMEM only. */
ms_status dmarc_parse_uri_list(const char *value, size_t len, long base, const char *tag,
                               const char *location, ms_dmarc_uri **uris, size_t *count,
                               ms_diag_list *diags);
void dmarc_uri_free(ms_dmarc_uri *uri);
/* The length of a URI without its "!size" suffix: the offset of the last
 * '!' when what follows it is a size the checker accepts, else len. */
size_t dmarc_uri_without_size(const char *text, size_t len);

/* ASCII helpers that do not depend on the locale. */
/* Non-zero when name is a host name in A-label form: LDH labels of 1..63
 * octets, at least min_labels of them, 253 octets at most (a trailing dot
 * is allowed). */
int dmarc_is_hostname(const char *name, size_t len, size_t min_labels);

/* fo's grammar: 0, 1, d and s separated by ':' (0 and 1 exclusive, none
 * twice); white space around the colons is allowed as in RFC 7489. */
int dmarc_fo_is_valid(const char *v, size_t len);

/* A policy's strength for comparisons: none < quarantine < reject. */
int dmarc_policy_rank(ms_dmarc_policy p);
/* The policy one step weaker (t=y, or the mail pct did not select). */
ms_dmarc_policy dmarc_policy_weaker(ms_dmarc_policy p);

/* The roll-out plan's steps (plan.c), for dmarc advise: the step
 * publishing policy p at pct percent (-1 or 100: the whole policy); -1
 * when no step does. */
int dmarc_plan_step_index(ms_dmarc_policy p, int pct);
/* For a pct that is no step: the policy's last partial step below it, or
 * the step before the policy's first. */
int dmarc_plan_step_below(ms_dmarc_policy p, int pct);

#endif
