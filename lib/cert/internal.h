/* What the files of lib/cert share. */
#ifndef MAILSEC_LIB_CERT_INTERNAL_H
#define MAILSEC_LIB_CERT_INTERNAL_H

#include "core/internal.h"
#include "mailsec/cert.h"

#include "core/lazy_openssl.h"

/* Indexes into ms_cert_diag_defs (diags.c), one per code. */
enum {
    /* the PEM scanner (pem.c) */
    CT_PEM_NONE,
    CT_PEM_WHITESPACE,
    CT_PEM_BLANK_LINE,
    CT_PEM_INDENTED,
    CT_PEM_STRAY_TEXT,
    CT_PEM_UNBALANCED,
    CT_PEM_BAD_CHAR,
    CT_PEM_LINE_LENGTH,
    CT_PEM_DECODE,
    CT_PEM_OTHER_BLOCK,
    /* the chain checker (chain.c) */
    CT_NO_CERTIFICATE,
    CT_DUPLICATE,
    CT_CHAIN_ORDER,
    CT_UNRELATED,
    CT_ROOT_INCLUDED,
    CT_INTERMEDIATE_MISSING,
    CT_UNTRUSTED,
    CT_SELF_SIGNED,
    CT_VERIFY_FAILED,
    CT_EXPIRED,
    CT_NOT_YET_VALID,
    CT_EXPIRING,
    CT_HOST_MISMATCH,
    CT_KEY_WEAK,
    CT_SIGNATURE_WEAK,
    /* the files (lint.c) */
    CT_KEY_MISMATCH,
    CT_KEY_READABLE,
    CT_KEY_IN_PUBLIC_FILE,
    CT_KEY_BUNDLED,
    CT_KEY_NONE,
    CT_COUNT
};

extern const ms_diag_def ms_cert_diag_defs[CT_COUNT + 1];

#define CT_DEF(index) (&ms_cert_diag_defs[(index)])

/* The certificate's origin (ms_cert_check_opts.origins), or "certificate N"
 * written to buf, for messages. */
const char *cert_origin(const char *const *origins, size_t index, char *buf, size_t size);
/* The subject (or issuer) on one line, RFC 2253; NULL when out of memory. */
char *cert_name_line(const X509_NAME *name);

/* The issuer path through certificates given in any order (NULL entries
 * are skipped): the leaf first (the first certificate, unless it issued
 * another: then one that issued none), then each issuer found among them,
 * up to a self-signed one. path has room for MS_CERT_MAX_CHAIN. */
void cert_find_path(X509 **x509, size_t count, size_t *path, size_t *path_len);
int cert_self_signed(X509 *x);

/* The trust store a chain is verified against: the CAs of ca_file, or the
 * system's (NULL). Building it parses every CA certificate: the system's
 * 140-odd take tens of milliseconds under OpenSSL 3, so a caller checking
 * several chains builds it once and shares it (verification only reads
 * it, and OpenSSL locks its lookups: threads may share it too). NULL when
 * the file cannot be read or out of memory; X509_STORE_free it. */
X509_STORE *cert_trust_store(const char *ca_file);
/* ms_cert_check_chain on certificates already parsed (the caller keeps
 * its references), against trust (from cert_trust_store; NULL: built for
 * this call from opts->ca_file). Parsing a certificate again costs as
 * much as a loopback handshake under OpenSSL 3. */
ms_status cert_check_parsed_chain(ms_ctx *ctx, X509 *const *certs, size_t count, X509_STORE *trust,
                                  const ms_cert_check_opts *opts, ms_cert_chain_info *info,
                                  ms_diag_list *diags);

/* Reads a whole file of at most MS_CERT_PEM_MAX_BYTES; on failure NULL and
 * *error says why (naming the file). */
char *cert_read_file(const char *path, size_t *len, ms_status *status, char **error);

#endif
