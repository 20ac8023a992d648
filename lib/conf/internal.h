/* What the conf module's files share: the diagnostic table and helpers. */
#ifndef MAILSEC_LIB_CONF_INTERNAL_H
#define MAILSEC_LIB_CONF_INTERNAL_H

#include "core/internal.h"
#include "mailsec/conf.h"

enum {
    CF_SYNTAX,
    CF_INCLUDE_MISSING,
    CF_DEPRECATED,
    CF_WRONG_VERSION,
    CF_TLS_OFF,
    CF_SUBMISSION_MISSING,
    CF_SUBMISSIONS_MISSING,
    CF_SUBMISSIONS_WRAPPERMODE,
    CF_AUTH_BEFORE_TLS,
    CF_CLEARTEXT_AUTH,
    CF_SSL_NOT_REQUIRED,
    CF_OLD_PROTOCOLS,
    CF_WEAK_CIPHERS,
    CF_CERT_FILE_MISSING,
    CF_CHAIN_FILES_ORDER,
    CF_CERT_AND_CHAIN,
    CF_PROFILE,
    CF_DUPLICATE,
    CF_COUNT
};

extern const ms_diag_def ms_conf_diag_defs[CF_COUNT + 1];
#define CF_DEF(code) (&ms_conf_diag_defs[code])

/* "FILE:LINE" (allocated). */
char *cf_location(const char *file, size_t line);
/* Reads a whole file (at most MS_CONF_MAX_BYTES); NULL with *error set. */
char *cf_read_file(const char *path, size_t *len, char **error);

#endif

/* The main.cf expansion of text (ms_conf_maincf_value's rules) for -o
 * values of master.cf. NULL past MS_CONF_MAX_EXPANSION. */
char *cf_expand_text(const ms_conf_maincf *cf, const char *text);

/* One setting a profile wants: name = value. */
typedef struct cf_want {
    const char *name;
    char *value; /* owned */
} cf_want;

enum { CF_MAX_WANTS = 24 };

/* The settings the generator writes and the audit compares against, for
 * the server, version and profile (cert/key/chain may be NULL for the
 * audit, which leaves the certificate settings out). Returns the count;
 * 0 with *error set for a version we do not know. */
size_t cf_profile_wants(const ms_conf_generate_opts *opts, cf_want *out, const char **error);
void cf_wants_free(cf_want *w, size_t n);
/* The deprecated or renamed names the wanted settings replace (the
 * generator comments them out), NULL-terminated. */
const char *const *cf_replaced_names(const ms_conf_generate_opts *opts);
