/* cert bundle: the `cat leaf.pem chain.pem > ...` step done right. The
 * certificates of every input are pooled, the issuer path is found from
 * the leaf (so input order does not matter), the root is left out, and the
 * blocks are written again by OpenSSL's PEM writer (64 columns, LF), in the
 * order the server's format wants:
 *
 *   fullchain, dovecot   leaf, intermediates
 *   postfix-chain        key, leaf, intermediates (Postfix >= 3.4
 *                        smtpd_tls_chain_files: "the key first")
 *   combined             leaf, intermediates, key
 *
 * Anything that would make a server fail to start or clients fail to
 * verify is refused rather than written: a chain that does not link or a
 * key that does not match (MS_ERR_INVALID), and what the chain checker
 * that `cert lint` uses finds wrong with the chain to be written (an
 * expired certificate, a weak key: errors in result->chain_findings, and
 * no pem). Blocks with blank lines inside are written repaired when the
 * rest of the block decodes (the scanner's ms_cert_pem_block.repaired). */
#include "internal.h"
#include "core/file.h"

#include "core/lazy_openssl.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct bundle {
    const ms_cert_bundle_opts *opts;
    ms_cert_bundle_result *result;
    ms_diag_list *diags;
    ms_status status;
    X509 *certs[MS_CERT_MAX_CHAIN];
    char *origins[MS_CERT_MAX_CHAIN];
    size_t count;
    EVP_PKEY *key;
} bundle;

/* Stops the bundle with a reason (the first one wins). */
static void refuse(bundle *b, ms_status status, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void refuse(bundle *b, ms_status status, const char *fmt, ...)
{
    if (b->status != MS_OK)
        return;
    b->status = status;
    va_list ap;
    va_start(ap, fmt);
    char *message = ms_vasprintf(fmt, ap);
    va_end(ap);
    b->result->error = message;
}

/* Reads and scans one input; NULL when it cannot (b->status set). */
static int scan_input(bundle *b, const char *path, ms_cert_pem_file *file)
{
    size_t len = 0;
    ms_status status = MS_OK;
    char *error = NULL;
    char *text = cert_read_file(path, &len, &status, &error);
    if (text == NULL) {
        refuse(b, status, "%s", error ? error : path);
        free(error);
        return 0;
    }
    status = ms_cert_pem_scan(text, len, path, file, b->diags);
    free(text);
    if (status != MS_OK) {
        refuse(b, status, "%s: %s", path, ms_status_str(status));
        return 0;
    }
    return 1;
}

/* A block's bytes as the bundle writes them: repaired when blank lines
 * inside were all that kept it from decoding; NULL when it does not. */
static const unsigned char *block_bytes(const ms_cert_pem_block *block, size_t *len)
{
    *len = block->der != NULL ? block->der_len : block->repaired_len;
    return block->der != NULL ? block->der : block->repaired;
}

static int same_cert(X509 *a, X509 *b)
{
    return X509_cmp(a, b) == 0;
}

static void add_certificates(bundle *b, const char *path, int is_leaf_file)
{
    ms_cert_pem_file file;
    if (!scan_input(b, path, &file))
        return;
    size_t found = 0;
    for (size_t i = 0; i < file.count && b->status == MS_OK; i++) {
        const ms_cert_pem_block *block = &file.blocks[i];
        if (block->kind == MS_CERT_PEM_OTHER)
            continue;
        size_t der_len = 0;
        const unsigned char *p = block_bytes(block, &der_len);
        if (p == NULL) {
            refuse(b, MS_ERR_INVALID, "%s line %zu: the %s block does not decode", path, block->line,
                   block->label);
            break;
        }
        if (block->kind == MS_CERT_PEM_PRIVATE_KEY)
            continue; /* keys come from --key only */
        X509 *x = d2i_X509(NULL, &p, (long)der_len);
        if (x == NULL)
            continue; /* the scanner checked it; a TRUSTED CERTIFICATE's aux is dropped below */
        found++;
        int duplicate = 0;
        for (size_t k = 0; k < b->count && !duplicate; k++)
            duplicate = same_cert(b->certs[k], x);
        if (duplicate || b->count >= MS_CERT_MAX_CHAIN) {
            if (!duplicate)
                refuse(b, MS_ERR_LIMIT, "more than %d certificates", (int)MS_CERT_MAX_CHAIN);
            X509_free(x);
            continue;
        }
        b->origins[b->count] = ms_asprintf("%s line %zu", path, block->line);
        b->certs[b->count++] = x;
    }
    if (b->status == MS_OK && found == 0)
        refuse(b, MS_ERR_INVALID, "%s holds no certificate%s", path,
               is_leaf_file ? "" : " (--ca takes the intermediate certificates)");
    ms_cert_pem_file_free(&file);
}

static void read_key(bundle *b, const char *path)
{
    ms_cert_pem_file file;
    if (!scan_input(b, path, &file))
        return;
    for (size_t i = 0; i < file.count && b->key == NULL && b->status == MS_OK; i++) {
        const ms_cert_pem_block *block = &file.blocks[i];
        if (block->kind != MS_CERT_PEM_PRIVATE_KEY)
            continue;
        size_t der_len = 0;
        const unsigned char *der = block_bytes(block, &der_len);
        if (block->encrypted)
            refuse(b, MS_ERR_INVALID,
                   "%s line %zu: the key is encrypted; servers start without a passphrase, so "
                   "decrypt it first (openssl pkey -in %s -out NEW.key)",
                   path, block->line, path);
        else if (der == NULL)
            refuse(b, MS_ERR_INVALID, "%s line %zu: the %s block does not decode", path, block->line,
                   block->label);
        else
            b->key = d2i_AutoPrivateKey(NULL, &der, (long)der_len);
    }
    if (b->status == MS_OK && b->key == NULL)
        refuse(b, MS_ERR_INVALID, "%s holds no private key", path);
    ms_cert_pem_file_free(&file);
}

static char *subject_of(X509 *x)
{
    char *s = cert_name_line(X509_get_subject_name(x));
    return s ? s : ms_strdup("?");
}

/* The top of the path must be a root (given, and left out) or be issued by
 * one in the system's store. */
static void check_top(bundle *b, X509 *top)
{
    if (cert_self_signed(top))
        return;
    X509_STORE *store = X509_STORE_new();
    X509_STORE_CTX *vctx = X509_STORE_CTX_new();
    X509 *issuer = NULL;
    int found = store && vctx && X509_STORE_set_default_paths(store) &&
                X509_STORE_CTX_init(vctx, store, top, NULL) &&
                X509_STORE_CTX_get1_issuer(&issuer, vctx, top) == 1;
    X509_free(issuer);
    X509_STORE_CTX_free(vctx);
    X509_STORE_free(store);
    if (found)
        return;
    char *subject = subject_of(top);
    char *issuer_name = cert_name_line(X509_get_issuer_name(top));
    refuse(b, MS_ERR_INVALID,
           "the chain does not link: it ends at %s, whose issuer %s is neither among the inputs "
           "nor a trusted root; add the missing intermediate with --ca (or the root, for a "
           "private CA)",
           subject, issuer_name ? issuer_name : "?");
    free(subject);
    free(issuer_name);
}

static int on_path(const size_t *path, size_t len, size_t i)
{
    for (size_t k = 0; k < len; k++)
        if (path[k] == i)
            return 1;
    return 0;
}

static void check_key(bundle *b, X509 *leaf)
{
    EVP_PKEY *pub = X509_get0_pubkey(leaf);
    if (b->key == NULL || (pub != NULL && EVP_PKEY_eq(pub, b->key) == 1))
        return;
    char *subject = subject_of(leaf);
    refuse(b, MS_ERR_INVALID,
           "the key in %s (%s %d) does not belong to the leaf %s (%s %d): use the key the "
           "certificate was requested with",
           b->opts->key_file, EVP_PKEY_get0_type_name(b->key), EVP_PKEY_get_bits(b->key), subject,
           pub ? EVP_PKEY_get0_type_name(pub) : "?", pub ? EVP_PKEY_get_bits(pub) : 0);
    free(subject);
}

/* The chain as it will be written (the path without a root), checked by
 * the chain checker `cert lint` uses, so the two never disagree: dates,
 * key sizes, signature hashes, the leaf's purpose. A self-signed
 * certificate at the top of the path was given on purpose (the root of a
 * private CA, or a self-signed leaf): it is trusted for this check, as
 * `cert lint --ca` would. */
static void check_written_chain(bundle *b, ms_ctx *ctx, const size_t *path, size_t len, size_t written)
{
    X509 *top = b->certs[path[len - 1]];
    X509_STORE *trust = cert_trust_store(NULL);
    if (trust == NULL || (cert_self_signed(top) && !X509_STORE_add_cert(trust, top))) {
        X509_STORE_free(trust);
        refuse(b, MS_ERR_NOMEM, "cannot load the system's trusted certificates");
        return;
    }
    X509 *certs[MS_CERT_MAX_CHAIN];
    const char *origins[MS_CERT_MAX_CHAIN];
    for (size_t k = 0; k < written; k++) {
        certs[k] = b->certs[path[k]];
        origins[k] = b->origins[path[k]];
    }
    const ms_cert_check_opts check = {.days_warning = b->opts->days_warning, .origins = origins};
    ms_status st = cert_check_parsed_chain(ctx, certs, written, trust, &check, NULL,
                                           &b->result->chain_findings);
    X509_STORE_free(trust);
    if (st != MS_OK)
        refuse(b, st, "the chain could not be checked: %s", ms_status_str(st));
}

static char *write_pem(bundle *b, const size_t *path, size_t len)
{
    BIO *bio = BIO_new(BIO_s_mem());
    if (bio == NULL)
        return NULL;
    int fmt = b->opts->format;
    int ok = 1;
    if (fmt == MS_CERT_BUNDLE_POSTFIX_CHAIN)
        ok = PEM_write_bio_PrivateKey(bio, b->key, NULL, NULL, 0, NULL, NULL);
    for (size_t k = 0; k < len && ok; k++)
        ok = PEM_write_bio_X509(bio, b->certs[path[k]]);
    if (fmt == MS_CERT_BUNDLE_COMBINED && ok)
        ok = PEM_write_bio_PrivateKey(bio, b->key, NULL, NULL, 0, NULL, NULL);
    char *data = NULL;
    long n = BIO_get_mem_data(bio, &data);
    char *out = ok ? malloc((size_t)n + 1) : NULL;
    if (out != NULL) {
        memcpy(out, data, (size_t)n);
        out[n] = '\0';
    }
    OPENSSL_cleanse(data, (size_t)n); /* the key was in there */
    BIO_free(bio);
    return out;
}

static void build(bundle *b, ms_ctx *ctx)
{
    const ms_cert_bundle_opts *o = b->opts;
    int needs_key = o->format == MS_CERT_BUNDLE_POSTFIX_CHAIN || o->format == MS_CERT_BUNDLE_COMBINED;
    if (needs_key && o->key_file == NULL) {
        refuse(b, MS_ERR_INVALID, "this format holds the private key: give it with --key");
        return;
    }
    add_certificates(b, o->cert_file, 1);
    for (size_t i = 0; i < o->ca_count && b->status == MS_OK; i++)
        add_certificates(b, o->ca_files[i], 0);
    if (o->key_file != NULL && b->status == MS_OK)
        read_key(b, o->key_file);
    if (b->status != MS_OK)
        return;

    size_t path[MS_CERT_MAX_CHAIN], len = 0;
    cert_find_path(b->certs, b->count, path, &len);
    for (size_t i = 0; i < b->count && b->status == MS_OK; i++) {
        if (on_path(path, len, i))
            continue;
        char *subject = subject_of(b->certs[i]);
        char *leaf = subject_of(b->certs[path[0]]);
        refuse(b, MS_ERR_INVALID,
               "the chain does not link: %s (%s) is not on the path from the leaf %s to its root",
               subject, b->origins[i] ? b->origins[i] : "?", leaf);
        free(subject);
        free(leaf);
    }
    if (b->status != MS_OK)
        return;
    check_key(b, b->certs[path[0]]);
    check_top(b, b->certs[path[len - 1]]);
    if (b->status != MS_OK)
        return;
    size_t written = len;
    if (len > 1 && cert_self_signed(b->certs[path[len - 1]])) {
        written--; /* clients have the root; RFC 5246 7.4.2 */
        b->result->root_left_out = 1;
    }
    b->result->intermediates = written - 1;
    b->result->has_key = needs_key;
    check_written_chain(b, ctx, path, len, written);
    if (b->status != MS_OK || ms_diag_count(&b->result->chain_findings, MS_SEV_ERROR) > 0)
        return; /* nothing to write: the findings say why */
    b->result->pem = write_pem(b, path, written);
    if (b->result->pem == NULL)
        b->status = MS_ERR_NOMEM;
}

ms_status ms_cert_bundle(ms_ctx *ctx, const ms_cert_bundle_opts *opts, ms_cert_bundle_result *result,
                         ms_diag_list *diags)
{
    if (ctx == NULL || opts == NULL || opts->cert_file == NULL || result == NULL || diags == NULL ||
        (opts->ca_files == NULL && opts->ca_count > 0))
        return MS_ERR_INVALID;
    memset(result, 0, sizeof *result);
    bundle b = {.opts = opts, .result = result, .diags = diags, .status = MS_OK};
    build(&b, ctx);
    for (size_t i = 0; i < b.count; i++) {
        X509_free(b.certs[i]);
        free(b.origins[i]);
    }
    EVP_PKEY_free(b.key);
    if (b.status != MS_OK && result->error == NULL)
        result->error = ms_strdup(ms_status_str(b.status));
    return b.status;
}

void ms_cert_bundle_result_free(ms_cert_bundle_result *result)
{
    if (result == NULL)
        return;
    if (result->pem != NULL)
        OPENSSL_cleanse(result->pem, strlen(result->pem));
    free(result->pem);
    free(result->error);
    ms_diag_list_free(&result->chain_findings);
    memset(result, 0, sizeof *result);
}

/* The one way mailsec replaces a file (lib/core/file.c): staged with its
 * final owner, group and mode, renamed over path; no backup (it would be
 * one more copy of a key). */
ms_status ms_cert_write_file(const char *path, const char *data, size_t len, int secret, char **error)
{
    const ms_file_opts opts = {.new_mode = secret ? 0600 : 0644, .secret = secret};
    return ms_file_replace(path, data, len, &opts, error);
}
