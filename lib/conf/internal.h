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
    CF_LEGACY_CIPHERS,
    CF_DHE_WITHOUT_DH,
    CF_CERT_FILE_MISSING,
    CF_CHAIN_FILES_ORDER,
    CF_CERT_AND_CHAIN,
    CF_PROFILE,
    CF_DUPLICATE,
    CF_LIVE_MISMATCH,
    CF_LIVE_NO_TLS,
    CF_SASL_ON_PORT_25,
    CF_SASL_TYPE,
    CF_SASL_PATH,
    CF_SASL_ACCESS,
    CF_COUNT
};

extern const ms_diag_def ms_conf_diag_defs[CF_COUNT + 1];
#define CF_DEF(code) (&ms_conf_diag_defs[code])

/* "FILE:LINE" (allocated). */
char *cf_location(const char *file, size_t line);
/* Reads a whole file (at most MS_CONF_MAX_BYTES) into *text. MS_ERR_IO
 * with *error saying why when it cannot be read; MS_ERR_NOMEM. */
ms_status cf_read_file(const char *path, char **text, size_t *len, char **error);

/* The main.cf expansion of text (ms_conf_maincf_value's rules) for -o
 * values of master.cf into *out: NULL past MS_CONF_MAX_EXPANSION or
 * MS_CONF_MAX_LOOKUPS. MS_ERR_NOMEM when memory ran out. */
ms_status cf_expand_text(const ms_conf_maincf *cf, const char *text, char **out);
/* ms_conf_maincf_value, saying MS_ERR_NOMEM apart from "not set" (*out NULL). */
ms_status cf_maincf_value(const ms_conf_maincf *cf, const char *name, char **out);

/* One setting a profile wants: name = value. */
typedef struct cf_want {
    const char *name;
    char *value; /* owned */
} cf_want;

enum { CF_MAX_WANTS = 24 };

/* The settings the generator writes and the audit compares against, for
 * the server, version and profile (cert/key/chain may be NULL for the
 * audit, which leaves the certificate settings out). dh_params: Dovecot
 * has DH parameters (cf_dovecot_has_dh), so the cipher list keeps the DHE
 * suites. Returns the count;
 * 0 with *error set for a version we do not know, or to cf_no_memory. */
size_t cf_profile_wants(const ms_conf_generate_opts *opts, int dh_params, cf_want *out,
                        const char **error);
extern const char cf_no_memory[]; /* "out of memory" */
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

/* Adds a port (where: NULL when it could not be made, MS_ERR_NOMEM then
 * too); past the list's room, or a port already listed, it is left out. */
ms_status cf_live_add(cf_live_ports *l, unsigned port, int implicit, int protocol,
                      const char *cert_files, const char *where);
void cf_live_free(cf_live_ports *l);
/* Connects to host's ports (lib/tls) and reports conf.live-mismatch and
 * conf.live-no-tls. When the ports could not be checked at all, returns
 * the status with *error saying why (the caller's result->error);
 * MS_ERR_NOMEM when memory ran out on the way (a finding may be missing). */
ms_status cf_live_check(ms_ctx *ctx, const char *host, const char *ca_file, const cf_live_ports *l,
                        ms_diag_list *d, char **error);
/* Whether Dovecot has DH parameters for DHE suites: 2.3 ssl_dh, 2.4
 * ssl_server_dh_file; 2.2 always (it makes its own). */
int cf_dovecot_has_dh(const ms_conf_dovecot *cf, int version);

/* What a cipher string lets in, by category, worst first (ciphers.c). */
typedef enum cf_cipher_category {
    CF_CIPHER_NULL,     /* NULL encryption, EXPORT */
    CF_CIPHER_ANON,     /* anonymous key exchange: no certificate, no authentication */
    CF_CIPHER_RC4,
    CF_CIPHER_64BIT,    /* 3DES, DES, IDEA, RC2: 64-bit blocks (Sweet32) */
    CF_CIPHER_NO_FS,    /* static RSA key exchange: no forward secrecy */
    CF_CIPHER_CBC_SHA1, /* CBC with HMAC-SHA1 (forward secret) */
    CF_CIPHER_GOOD,     /* AEAD, or CBC with SHA-2, with forward secrecy */
    CF_CIPHER_CATEGORIES
} cf_cipher_category;

typedef struct cf_cipher_verdict {
    int none;                            /* OpenSSL selects no suite from the string */
    size_t dhe;                          /* suites with DHE key exchange (need DH parameters) */
    size_t count[CF_CIPHER_CATEGORIES];  /* TLS 1.2 and older suites in each */
    ms_buf names[CF_CIPHER_CATEGORIES];  /* their OpenSSL names, ", " between */
} cf_cipher_verdict;

/* Expands list with the local OpenSSL and sorts the suites it enables
 * (without TLS 1.3, PSK and SRP ones) into categories. */
ms_status cf_ciphers_judge(const char *list, cf_cipher_verdict *out);
void cf_cipher_verdict_free(cf_cipher_verdict *v);
const char *cf_cipher_category_name(cf_cipher_category c);

/* The deprecated or renamed names the wanted settings replace (the
 * generator comments them out), NULL-terminated. */
const char *const *cf_replaced_names(const ms_conf_generate_opts *opts);

#endif
