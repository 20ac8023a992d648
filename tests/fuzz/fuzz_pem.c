/* libFuzzer harness for the PEM scanner (lib/cert/pem.c) and, behind it,
 * the chain checker (lib/cert/chain.c) on whatever certificates decode.
 *
 * Arbitrary bytes are scanned, and:
 *  - at most MS_CERT_PEM_MAX_BLOCKS blocks; each starts inside the input, at a
 *    line whose number matches its offset; decoded bytes are non-empty;
 *  - findings stay bounded (MS_CERT_PEM_MAX_FINDINGS, plus the summary, the
 *    "no PEM block" and the END lines without BEGIN that explain it) and
 *    each names the file and a line;
 *  - a file with no findings is stable: its blocks, written again as
 *    RFC 7468 text (by the little encoder here, not OpenSSL's), scan to
 *    the same blocks with no findings;
 *  - every certificate that decoded goes through ms_cert_check_chain (as
 *    sent, then as files with the leaf searched for), which must succeed.
 * Everything is freed, so LeakSanitizer sees any leak. */
#include "cert/internal.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fuzz_check.h"

static const char NAME[] = "in.pem";

/* The trust store of the chain checks: one self-signed certificate of the
 * test CA (tests/cert/make-test-ca.sh, selfsigned.pem), written to a file
 * once. The system's store would be read again for every input, which
 * slows the fuzzer tenfold. */
static const char TRUSTED[] =
    "-----BEGIN CERTIFICATE-----\n"
    "MIIB3DCCAYOgAwIBAgICEAAwCgYIKoZIzj0EAwIwNDEaMBgGA1UEAwwRbWFpbC5l\n"
    "eGFtcGxlLnRlc3QxFjAUBgNVBAoMDW1haWxzZWMgdGVzdHMwHhcNMjUwMTAxMDAw\n"
    "MDAwWhcNNDUwMTAxMDAwMDAwWjA0MRowGAYDVQQDDBFtYWlsLmV4YW1wbGUudGVz\n"
    "dDEWMBQGA1UECgwNbWFpbHNlYyB0ZXN0czBZMBMGByqGSM49AgEGCCqGSM49AwEH\n"
    "A0IABKkmLPYIBCCkq2cl6+f/q/NqwjMODQ9NAxQnCSOYitivUaRkizYGjb8dg3/b\n"
    "wZmdadHcYZb7UMVy+Mz76g5M6zWjgYQwgYEwDAYDVR0TAQH/BAIwADAOBgNVHQ8B\n"
    "Af8EBAMCBaAwEwYDVR0lBAwwCgYIKwYBBQUHAwEwHQYDVR0OBBYEFHI7fj8ZZnAk\n"
    "HA2cy2MlJWVjIXwQMC0GA1UdEQQmMCSCEW1haWwuZXhhbXBsZS50ZXN0gglsb2Nh\n"
    "bGhvc3SHBH8AAAEwCgYIKoZIzj0EAwIDRwAwRAIgPDwTvsZ6EhlqzUim5ufkWI7/\n"
    "9zCmXdsZH9JQtn0aQvgCIA1m9RpaCsBPzvvxE6S8xcEPf4oEtHaHcOmPAhYzis2h\n"
    "-----END CERTIFICATE-----\n";

static char trust_path[] = "/tmp/fuzz_pem_trust.XXXXXX";

static void remove_trust_file(void)
{
    unlink(trust_path);
}

static const char *trust_file(void)
{
    char *path = trust_path;
    static int made;
    if (!made) {
        int fd = mkstemp(path);
        CHECK(fd >= 0);
        CHECK(write(fd, TRUSTED, sizeof TRUSTED - 1) == (ssize_t)(sizeof TRUSTED - 1));
        close(fd);
        atexit(remove_trust_file);
        made = 1;
    }
    return path;
}

static void check_blocks(const uint8_t *data, size_t size, const ms_cert_pem_file *f)
{
    CHECK(f->count <= MS_CERT_PEM_MAX_BLOCKS);
    for (size_t i = 0; i < f->count; i++) {
        const ms_cert_pem_block *b = &f->blocks[i];
        CHECK(b->label != NULL && strlen(b->label) <= MS_CERT_PEM_MAX_LABEL);
        CHECK(b->offset < size && b->line >= 1);
        size_t newlines = 0;
        for (size_t k = 0; k < b->offset; k++)
            newlines += data[k] == '\n';
        CHECK(b->line == newlines + 1);
        CHECK(b->der == NULL || b->der_len > 0);
    }
}

static void check_findings(const ms_diag_list *d)
{
    CHECK(d->count <= MS_CERT_PEM_MAX_FINDINGS + 2 + MS_CERT_PEM_MAX_BLOCKS);
    for (size_t i = 0; i < d->count; i++) {
        CHECK(d->items[i].def != NULL && strncmp(d->items[i].def->code, "cert.", 5) == 0);
        CHECK(d->items[i].message != NULL);
        CHECK(d->items[i].location != NULL && strncmp(d->items[i].location, NAME, strlen(NAME)) == 0);
    }
}

/* RFC 7468 text of one block: base64 in lines of 64, LF. */
static void write_block(ms_buf *out, const char *label, const unsigned char *der, size_t len)
{
    static const char B64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    ms_buf_printf(out, "-----BEGIN %s-----\n", label);
    size_t column = 0;
    for (size_t i = 0; i < len; i += 3) {
        uint32_t v = (uint32_t)der[i] << 16;
        if (i + 1 < len)
            v |= (uint32_t)der[i + 1] << 8;
        if (i + 2 < len)
            v |= der[i + 2];
        char quad[4] = {B64[(v >> 18) & 63], B64[(v >> 12) & 63],
                        i + 1 < len ? B64[(v >> 6) & 63] : '=', i + 2 < len ? B64[v & 63] : '='};
        ms_buf_append(out, quad, 4);
        column += 4;
        if (column == 64) {
            ms_buf_puts(out, "\n");
            column = 0;
        }
    }
    if (column > 0)
        ms_buf_puts(out, "\n");
    ms_buf_printf(out, "-----END %s-----\n", label);
}

/* Clean input: rewriting it changes nothing the scanner can see. */
static void check_stable(const ms_cert_pem_file *f)
{
    ms_buf text = MS_BUF_INIT;
    ms_buf_puts(&text, "");
    for (size_t i = 0; i < f->count; i++) {
        if (f->blocks[i].der == NULL || f->blocks[i].encrypted) {
            ms_buf_free(&text);
            return; /* nothing to write again (legacy encrypted keys keep their headers) */
        }
        write_block(&text, f->blocks[i].label, f->blocks[i].der, f->blocks[i].der_len);
    }
    CHECK(!text.failed);
    ms_cert_pem_file again;
    ms_diag_list diags = MS_DIAG_LIST_INIT;
    CHECK(ms_cert_pem_scan(text.data, text.len, NAME, &again, &diags) == MS_OK);
    CHECK(again.count == f->count);
    for (size_t i = 0; i < f->count; i++) {
        CHECK(strcmp(again.blocks[i].label, f->blocks[i].label) == 0);
        CHECK(again.blocks[i].der_len == f->blocks[i].der_len);
        CHECK(memcmp(again.blocks[i].der, f->blocks[i].der, f->blocks[i].der_len) == 0);
    }
    /* a label of another kind may still say so (cert.pem-other-block) */
    for (size_t i = 0; i < diags.count; i++)
        CHECK(strcmp(diags.items[i].def->code, "cert.pem-other-block") == 0);
    ms_cert_pem_file_free(&again);
    ms_diag_list_free(&diags);
    ms_buf_free(&text);
}

static void check_chain(ms_ctx *ctx, const ms_cert_pem_file *f)
{
    ms_cert_blob blobs[MS_CERT_MAX_CHAIN];
    size_t n = 0;
    for (size_t i = 0; i < f->count && n < MS_CERT_MAX_CHAIN; i++)
        if (f->blocks[i].kind == MS_CERT_PEM_CERTIFICATE && f->blocks[i].der != NULL)
            blobs[n++] = (ms_cert_blob){f->blocks[i].der, f->blocks[i].der_len};
    if (n == 0)
        return;
    for (int find_leaf = 0; find_leaf <= 1; find_leaf++) {
        ms_cert_check_opts opts = {.host = "mail.example.test", .ca_file = trust_file(),
                                   .find_leaf = find_leaf};
        ms_cert_chain_info info;
        ms_diag_list diags = MS_DIAG_LIST_INIT;
        CHECK(ms_cert_check_chain(ctx, blobs, n, &opts, &info, &diags) == MS_OK);
        CHECK(info.subject == NULL || (info.leaf < n && info.sent == n));
        ms_cert_chain_info_free(&info);
        ms_diag_list_free(&diags);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static ms_ctx *ctx;
    if (ctx == NULL)
        CHECK(ms_ctx_new(&ctx) == MS_OK);
    ms_cert_pem_file f;
    ms_diag_list diags = MS_DIAG_LIST_INIT;
    ms_status st = ms_cert_pem_scan((const char *)data, size, NAME, &f, &diags);
    CHECK(st == MS_OK || st == MS_ERR_LIMIT);
    if (st == MS_OK) {
        check_blocks(data, size, &f);
        check_findings(&diags);
        if (diags.count == 0)
            check_stable(&f);
        check_chain(ctx, &f);
    } else {
        CHECK(f.count == 0 && f.blocks == NULL);
    }
    ms_cert_pem_file_free(&f);
    ms_diag_list_free(&diags);
    return 0;
}
