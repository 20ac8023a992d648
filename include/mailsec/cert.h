/* mailsec cert: certificate files and chains (OpenSSL 3).
 *
 * One chain checker serves both `mailsec cert lint` (chains read from PEM
 * files) and `mailsec tls check` (chains as a server sent them), so the two
 * never disagree about what is wrong with a chain.
 */
#ifndef MAILSEC_CERT_H
#define MAILSEC_CERT_H

#include <stddef.h>
#include <stdint.h>

#include "mailsec/core.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Days before expiry that warn by default. */
enum { MS_CERT_DAYS_WARNING = 21 };
/* Longest chain checked (MS_ERR_LIMIT beyond; real chains have 2 to 4). */
enum { MS_CERT_MAX_CHAIN = 32 };

/* One certificate, DER-encoded (borrowed by the callee). */
typedef struct ms_cert_blob {
    const unsigned char *der;
    size_t len;
} ms_cert_blob;

typedef struct ms_cert_check_opts {
    const char *host;    /* name the leaf must cover; NULL: not checked */
    const char *ca_file; /* trust these CAs (PEM); NULL: the system's store */
    int days_warning;    /* 0: MS_CERT_DAYS_WARNING */
    const char *location; /* names the chain in findings ("FILE", "HOST:PORT"); NULL: none */
    const char *const *origins; /* per certificate, where it came from, for messages
                           ("chain.pem line 29"); NULL (or a NULL entry): "certificate N" */
    int find_leaf;       /* files: the leaf may be anywhere; pick it (a certificate that
                            issued none of the others, not a CA if there is one) and report
                            cert.chain-order when it is not first. 0 (TLS): the first
                            certificate is the leaf, unless it issued another one of the
                            chain (then the chain is upside down: the same search). */
} ms_cert_check_opts;

/* What the chain is, for display and JSON. */
typedef struct ms_cert_chain_info {
    char *subject;         /* leaf subject, one line (RFC 2253) */
    char *issuer;          /* leaf issuer */
    char *names;           /* leaf DNS names (subjectAltName), space-separated */
    char *not_before;      /* ISO 8601 UTC */
    char *not_after;
    long days_left;        /* until not_after, by the context's clock; negative when expired */
    char *key_type;        /* "RSA", "EC", "Ed25519", ... */
    int key_bits;
    char *signature_algorithm; /* of the leaf, e.g. "sha256WithRSAEncryption" */
    char *fingerprint_sha256;  /* of the leaf, lower-case hex */
    int verified;          /* the chain builds to a trusted root */
    size_t sent;           /* certificates in the chain as given */
    size_t leaf;           /* index of the leaf in the chain as given (0 unless reordered) */
} ms_cert_chain_info;

void ms_cert_chain_info_free(ms_cert_chain_info *info);

/* Checks a chain as sent (leaf first): order, missing intermediates, the
 * root needlessly sent, unrelated or duplicate certificates, verification,
 * host name, validity dates (by ms_ctx_now, so tests can move the clock),
 * key type and size, signature algorithm (SHA-1 is an error). Findings go
 * to diags as cert.* codes; info (may be NULL) is filled. MS_OK unless the
 * check itself could not run. */
ms_status ms_cert_check_chain(ms_ctx *ctx, const ms_cert_blob *chain, size_t count,
                              const ms_cert_check_opts *opts, ms_cert_chain_info *info,
                              ms_diag_list *diags);

/* ---- PEM files ----
 * Our own scanner, so that every finding names its line: white space,
 * stray text, broken or joined lines, blocks cut off, characters that are
 * not base64 (cert.pem-* codes); then each block is decoded (base64 and
 * DER, with OpenSSL). */

/* Limits of the scanner (MS_ERR_LIMIT beyond). */
enum {
    MS_CERT_PEM_MAX_BYTES = 1 << 20, /* a file; real chain files are under 20 kB */
    MS_CERT_PEM_MAX_BLOCKS = 64,
    MS_CERT_PEM_MAX_LABEL = 64,      /* "CERTIFICATE", "PRIVATE KEY", ... */
    MS_CERT_PEM_MAX_FINDINGS = 32    /* per file; the rest is summed up in one */
};

typedef enum ms_cert_pem_kind {
    MS_CERT_PEM_CERTIFICATE,   /* CERTIFICATE, TRUSTED CERTIFICATE */
    MS_CERT_PEM_PRIVATE_KEY,   /* PRIVATE KEY, RSA/EC/DSA PRIVATE KEY, ENCRYPTED PRIVATE KEY */
    MS_CERT_PEM_OTHER          /* anything else: parameters, requests, CRLs, public keys */
} ms_cert_pem_kind;

typedef struct ms_cert_pem_block {
    char *label;          /* between "BEGIN " and "-----" */
    ms_cert_pem_kind kind;
    int encrypted;        /* ENCRYPTED PRIVATE KEY or a Proc-Type: 4,ENCRYPTED header */
    unsigned char *der;   /* the decoded bytes; NULL when the block is broken */
    size_t der_len;
    unsigned char *repaired; /* der is NULL only because of blank lines inside the block
                                (servers reject it): what it decodes to without them;
                                else NULL. cert bundle writes these. */
    size_t repaired_len;
    size_t line;          /* of the BEGIN line, from 1 */
    size_t offset;        /* byte offset of the BEGIN line */
} ms_cert_pem_block;

typedef struct ms_cert_pem_file {
    ms_cert_pem_block *blocks;
    size_t count;
} ms_cert_pem_file;

/* Scans text (any bytes; need not be NUL-terminated). name labels the
 * findings ("fullchain.pem"). Blocks that do not decode are still listed,
 * with der NULL. MS_ERR_LIMIT past the limits above; out is then empty. */
ms_status ms_cert_pem_scan(const char *text, size_t len, const char *name, ms_cert_pem_file *out,
                      ms_diag_list *diags);
void ms_cert_pem_file_free(ms_cert_pem_file *file);

/* ---- cert lint: certificate and key files as a server would load them ---- */

typedef struct ms_cert_lint_opts {
    const char *key_file; /* the private key to match against the leaf; NULL: none
                             (a key inside one of the files is matched too) */
    const char *host;     /* name the leaf must cover; NULL: not checked */
    const char *ca_file;  /* trust these CAs (PEM); NULL: the system's store */
    int days_warning;     /* 0: MS_CERT_DAYS_WARNING */
} ms_cert_lint_opts;

typedef struct ms_cert_lint_result {
    ms_cert_chain_info chain; /* the leaf and the chain; valid when certificates > 0 */
    size_t certificates;      /* certificate blocks that decoded, in all files */
    size_t keys;              /* private key blocks, in all files and the key file */
    char *error;              /* why the check could not run (a file unreadable), or NULL */
} ms_cert_lint_result;

/* Reads the files (certificates, and keys bundled with them) and the key
 * file, and reports every cert.* finding: the PEM text, the chain
 * (ms_cert_check_chain, the leaf found wherever it is), the key against
 * the leaf, file modes. MS_ERR_IO or MS_ERR_LIMIT (result->error says
 * which file and why) when a file cannot be read. */
ms_status ms_cert_lint(ms_ctx *ctx, const char *const *files, size_t count,
                       const ms_cert_lint_opts *opts, ms_cert_lint_result *result,
                       ms_diag_list *diags);
void ms_cert_lint_result_free(ms_cert_lint_result *result);

/* ---- cert bundle: the files each server wants ---- */

typedef enum ms_cert_bundle_format {
    MS_CERT_BUNDLE_FULLCHAIN,     /* leaf, intermediates (nginx, Exim, most servers) */
    MS_CERT_BUNDLE_POSTFIX_CHAIN, /* key, leaf, intermediates: smtpd_tls_chain_files */
    MS_CERT_BUNDLE_DOVECOT,       /* leaf, intermediates: ssl_cert = </path */
    MS_CERT_BUNDLE_COMBINED       /* leaf, intermediates, key: one file for both */
} ms_cert_bundle_format;

typedef struct ms_cert_bundle_opts {
    const char *cert_file;         /* the leaf (may hold intermediates too) */
    const char *const *ca_files;   /* intermediates (and the root), any order */
    size_t ca_count;
    const char *key_file;          /* NULL: none; required by POSTFIX_CHAIN and COMBINED */
    ms_cert_bundle_format format;
    int days_warning;              /* cert.expiring under this many days; 0: MS_CERT_DAYS_WARNING */
} ms_cert_bundle_opts;

typedef struct ms_cert_bundle_result {
    char *pem;          /* the file's text: normalised PEM, 64 columns, LF; NULL when
                           chain_findings holds an error (nothing to write) */
    ms_diag_list chain_findings; /* the chain to be written, by the chain checker that
                           cert lint uses (cert.expired, cert.expiring, cert.key-weak, ...);
                           a self-signed certificate at its top is trusted */
    int has_key;        /* the text holds the private key: write it with mode 0600 */
    size_t intermediates; /* how many follow the leaf */
    int root_left_out;  /* a root was among the inputs and is not in the output */
    char *error;        /* why no bundle was made, in words; NULL on success */
} ms_cert_bundle_result;

/* Orders leaf -> intermediates whatever the input order, leaves out the
 * root, and writes the format's blocks. Refuses, with MS_ERR_INVALID and
 * result->error, a key that does not match the leaf, a chain that does not
 * link (a certificate that is not on the leaf's path, or a path that ends
 * below a root that is neither given nor in the system's trust store), a missing or encrypted
 * key where the format needs one, and input blocks that do not decode.
 * MS_ERR_IO when a file cannot be read. Findings about the inputs that the
 * bundle fixes (white space, order, blank lines inside a block whose base64
 * is otherwise intact) go to diags. MS_OK with pem NULL when the chain
 * would be written with errors (result->chain_findings: an expired
 * certificate, a weak key): nothing is to be written. */
ms_status ms_cert_bundle(ms_ctx *ctx, const ms_cert_bundle_opts *opts, ms_cert_bundle_result *result,
                         ms_diag_list *diags);
void ms_cert_bundle_result_free(ms_cert_bundle_result *result);

/* Writes data to path atomically (docs/cert.md): a new file created with
 * O_EXCL next to it (next to the target of a symlink), given before its
 * first byte the owner, group and mode of the file it replaces (a secret
 * replacing a file everyone could read gets 0600) or, for a new file, 0600
 * (secret) or 0644; fsync, rename over the target. *error says why on
 * failure; the file is then as it was. */
ms_status ms_cert_write_file(const char *path, const char *data, size_t len, int secret,
                             char **error);

#ifdef __cplusplus
}
#endif
#endif
