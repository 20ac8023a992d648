/* cert lint: the certificate and key files a mail server is pointed at,
 * read the way it reads them. The PEM text is the scanner's (pem.c), the
 * chain the shared checker's (chain.c); what is left is here: which file
 * holds which key, whether it matches the leaf, and who may read it. */
#include "internal.h"

#include "core/lazy_openssl.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

char *cert_read_file(const char *path, size_t *len, ms_status *status, char **error)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        *status = MS_ERR_IO;
        *error = ms_asprintf("cannot read %s: %s", path, strerror(errno));
        return NULL;
    }
    ms_buf buf = MS_BUF_INIT;
    ms_buf_append(&buf, "", 0);
    char chunk[8192];
    ssize_t n;
    while ((n = read(fd, chunk, sizeof chunk)) > 0 && buf.len <= MS_CERT_PEM_MAX_BYTES)
        ms_buf_append(&buf, chunk, (size_t)n);
    int read_errno = errno;
    close(fd);
    if (n < 0 || buf.len > MS_CERT_PEM_MAX_BYTES || buf.failed) {
        *status = n < 0 ? MS_ERR_IO : buf.failed ? MS_ERR_NOMEM : MS_ERR_LIMIT;
        *error = n < 0 ? ms_asprintf("cannot read %s: %s", path, strerror(read_errno))
                       : ms_asprintf("%s is larger than %d bytes: not a certificate file", path,
                                     (int)MS_CERT_PEM_MAX_BYTES);
        ms_buf_free(&buf);
        return NULL;
    }
    *len = buf.len;
    return ms_buf_take(&buf);
}

/* A private key found in one of the files. */
typedef struct found_key {
    EVP_PKEY *key; /* NULL when encrypted: it cannot be compared */
    char *origin;  /* "FILE line N" */
} found_key;

typedef struct lint {
    ms_ctx *ctx;
    const ms_cert_lint_opts *opts;
    ms_cert_lint_result *result;
    ms_diag_list *diags;
    ms_status status;
    ms_cert_blob blobs[MS_CERT_MAX_CHAIN];
    char *origins[MS_CERT_MAX_CHAIN]; /* "FILE line N" of each blob */
    size_t blob_count;
    found_key keys[MS_CERT_PEM_MAX_BLOCKS];
    size_t key_count;
    ms_cert_pem_file files[MS_CERT_MAX_CHAIN + 1]; /* kept until the end: blobs point into them */
    size_t file_count;
} lint;

static void note(lint *l, ms_status st)
{
    if (st != MS_OK && l->status == MS_OK)
        l->status = st;
}

static void add(lint *l, int code, const char *location, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void add(lint *l, int code, const char *location, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    note(l, ms_diag_addv(l->diags, CT_DEF(code), location, -1, fmt, ap));
    va_end(ap);
}

static void keep_key(lint *l, const ms_cert_pem_block *block, const char *file)
{
    if (l->key_count >= MS_CERT_PEM_MAX_BLOCKS)
        return;
    found_key *k = &l->keys[l->key_count++];
    k->origin = ms_asprintf("%s line %zu", file, block->line);
    k->key = NULL;
    if (block->der != NULL && !block->encrypted) {
        const unsigned char *p = block->der;
        k->key = d2i_AutoPrivateKey(NULL, &p, (long)block->der_len);
    }
    l->result->keys++;
}

/* Reads and scans one file; NULL (and l->status set) when it cannot. */
static ms_cert_pem_file *scan_file(lint *l, const char *path, struct stat *st)
{
    if (l->file_count >= sizeof l->files / sizeof l->files[0]) {
        note(l, MS_ERR_LIMIT);
        l->result->error = ms_asprintf("too many files (at most %d)", (int)MS_CERT_MAX_CHAIN);
        return NULL;
    }
    size_t len = 0;
    ms_status status = MS_OK;
    char *text = cert_read_file(path, &len, &status, &l->result->error);
    if (text == NULL || stat(path, st) != 0) {
        note(l, status != MS_OK ? status : MS_ERR_IO);
        if (l->result->error == NULL)
            l->result->error = ms_asprintf("cannot read %s: %s", path, strerror(errno));
        free(text);
        return NULL;
    }
    ms_cert_pem_file *file = &l->files[l->file_count];
    status = ms_cert_pem_scan(text, len, path, file, l->diags);
    free(text);
    if (status != MS_OK) {
        note(l, status);
        l->result->error = ms_asprintf("%s: %s (at most %d blocks)", path, ms_status_str(status),
                                       (int)MS_CERT_PEM_MAX_BLOCKS);
        return NULL;
    }
    l->file_count++;
    return file;
}

static void read_cert_file(lint *l, const char *path)
{
    struct stat st;
    ms_cert_pem_file *file = scan_file(l, path, &st);
    if (file == NULL)
        return;
    size_t keys_here = 0;
    for (size_t i = 0; i < file->count; i++) {
        const ms_cert_pem_block *b = &file->blocks[i];
        if (b->kind == MS_CERT_PEM_PRIVATE_KEY) {
            keep_key(l, b, path);
            keys_here++;
        }
        if (b->kind != MS_CERT_PEM_CERTIFICATE || b->der == NULL)
            continue;
        if (l->blob_count >= MS_CERT_MAX_CHAIN) {
            note(l, MS_ERR_LIMIT);
            l->result->error = ms_asprintf("more than %d certificates", (int)MS_CERT_MAX_CHAIN);
            return;
        }
        char *origin = ms_asprintf("%s line %zu", path, b->line);
        if (origin == NULL)
            note(l, MS_ERR_NOMEM);
        l->origins[l->blob_count] = origin;
        l->blobs[l->blob_count++] = (ms_cert_blob){b->der, b->der_len};
        l->result->certificates++;
    }
    if (keys_here == 0)
        return;
    if (st.st_mode & S_IROTH)
        add(l, CT_KEY_IN_PUBLIC_FILE, path,
            "%s holds a private key and every user can read it (mode %04o)", path,
            (unsigned)(st.st_mode & 07777));
    else
        add(l, CT_KEY_BUNDLED, path, "%s holds a private key, and only its owner%s can read it (mode %04o)",
            path, (st.st_mode & S_IRGRP) ? " and group" : "", (unsigned)(st.st_mode & 07777));
}

static void read_key_file(lint *l, const char *path)
{
    struct stat st;
    size_t before = l->key_count;
    ms_cert_pem_file *file = scan_file(l, path, &st);
    if (file == NULL)
        return;
    for (size_t i = 0; i < file->count; i++)
        if (file->blocks[i].kind == MS_CERT_PEM_PRIVATE_KEY)
            keep_key(l, &file->blocks[i], path);
    if (l->key_count == before)
        add(l, CT_KEY_NONE, path, "%s holds no private key block", path);
    else if (st.st_mode & S_IROTH)
        add(l, CT_KEY_READABLE, path, "every user can read the key in %s (mode %04o)", path,
            (unsigned)(st.st_mode & 07777));
}

static const char *key_words(EVP_PKEY *key, char *buf, size_t size)
{
    snprintf(buf, size, "%s %d", EVP_PKEY_get0_type_name(key), EVP_PKEY_get_bits(key));
    return buf;
}

static void match_keys(lint *l)
{
    if (l->result->certificates == 0 || l->result->chain.leaf >= l->blob_count)
        return;
    const ms_cert_blob *leaf_blob = &l->blobs[l->result->chain.leaf];
    const char *leaf_origin = l->origins[l->result->chain.leaf];
    const unsigned char *p = leaf_blob->der;
    X509 *leaf = d2i_X509(NULL, &p, (long)leaf_blob->len);
    if (leaf == NULL)
        return;
    EVP_PKEY *pub = X509_get0_pubkey(leaf);
    for (size_t i = 0; i < l->key_count && pub != NULL; i++) {
        if (l->keys[i].key == NULL || EVP_PKEY_eq(pub, l->keys[i].key) == 1)
            continue;
        char a[64], b[64];
        add(l, CT_KEY_MISMATCH, l->keys[i].origin,
            "the key at %s (%s) does not belong to the leaf at %s (%s, %s)",
            l->keys[i].origin ? l->keys[i].origin : "?", key_words(l->keys[i].key, a, sizeof a),
            leaf_origin ? leaf_origin : "?",
            l->result->chain.subject ? l->result->chain.subject : "?", key_words(pub, b, sizeof b));
    }
    X509_free(leaf);
}

static void lint_free(lint *l)
{
    for (size_t i = 0; i < l->blob_count; i++)
        free(l->origins[i]);
    for (size_t i = 0; i < l->key_count; i++) {
        EVP_PKEY_free(l->keys[i].key);
        free(l->keys[i].origin);
    }
    for (size_t i = 0; i < l->file_count; i++)
        ms_cert_pem_file_free(&l->files[i]);
}

ms_status ms_cert_lint(ms_ctx *ctx, const char *const *files, size_t count,
                       const ms_cert_lint_opts *opts, ms_cert_lint_result *result,
                       ms_diag_list *diags)
{
    if (ctx == NULL || result == NULL || diags == NULL || (files == NULL && count > 0))
        return MS_ERR_INVALID;
    memset(result, 0, sizeof *result);
    static const ms_cert_lint_opts no_opts = {0};
    lint *l = calloc(1, sizeof *l);
    if (l == NULL)
        return MS_ERR_NOMEM;
    *l = (lint){.ctx = ctx, .opts = opts ? opts : &no_opts, .result = result, .diags = diags};

    for (size_t i = 0; i < count && l->status == MS_OK; i++)
        read_cert_file(l, files[i]);
    if (l->status == MS_OK && l->opts->key_file != NULL)
        read_key_file(l, l->opts->key_file);
    if (l->status == MS_OK) {
        ms_cert_check_opts check = {.host = l->opts->host,
                                    .ca_file = l->opts->ca_file,
                                    .days_warning = l->opts->days_warning,
                                    .location = count == 1 ? files[0] : NULL,
                                    .origins = (const char *const *)l->origins,
                                    .find_leaf = 1};
        ms_status st = ms_cert_check_chain(ctx, l->blobs, l->blob_count, &check, &result->chain, diags);
        if (st == MS_ERR_IO)
            result->error = ms_asprintf("cannot load the CA file %s", l->opts->ca_file ? l->opts->ca_file : "(system)");
        note(l, st);
    }
    if (l->status == MS_OK)
        match_keys(l);
    ms_status status = l->status;
    lint_free(l);
    free(l);
    return status;
}

void ms_cert_lint_result_free(ms_cert_lint_result *result)
{
    if (result == NULL)
        return;
    ms_cert_chain_info_free(&result->chain);
    free(result->error);
    memset(result, 0, sizeof *result);
}
