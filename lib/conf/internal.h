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
    CF_LIVE_MISMATCH,
    CF_LIVE_NO_TLS,
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

/* A port the configuration listens on and the certificate file it names
 * (live.c): what `conf audit --live` compares. */
typedef struct cf_live_port {
    unsigned port;
    int implicit;     /* TLS at once (465, 993, 995), else STARTTLS */
    int protocol;     /* 0 SMTP, 1 IMAP, 2 POP3 */
    char *cert_files; /* the files holding the leaf, comma/space separated (chain files) */
    char *where;      /* "FILE:LINE" of the service or listener */
} cf_live_port;

typedef struct cf_live_ports {
    cf_live_port items[64];
    size_t count;
} cf_live_ports;

void cf_live_add(cf_live_ports *l, unsigned port, int implicit, int protocol, const char *cert_files,
                 const char *where);
void cf_live_free(cf_live_ports *l);
/* Connects to host's ports (lib/tls) and reports conf.live-mismatch and
 * conf.live-no-tls. */
void cf_live_check(ms_ctx *ctx, const char *host, const char *ca_file, const cf_live_ports *l,
                   ms_diag_list *d);
/* The deprecated or renamed names the wanted settings replace (the
 * generator comments them out), NULL-terminated. */
const char *const *cf_replaced_names(const ms_conf_generate_opts *opts);
