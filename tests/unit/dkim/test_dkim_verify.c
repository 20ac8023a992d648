/* DKIM canonicalization and message splitting (the RFC 6376 3.4.6
 * example), and verification paths that need no signer: messages without
 * signatures, malformed headers, too many signatures, DNS failures, t= in
 * the future, the reason an unusable key gets; the _domainkey presence
 * test against the DNS test bed; and messages signed once by dkimpy
 * (tests/data/dkim/signed): a tampered body, rsa-sha1 refused or allowed.
 * The full matrix of real signers is in tests/dkim/. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dkim/internal.h"
#include "mailsec/dkim.h"
#include "unit/testutil.h"

/* RFC 6376 3.4.6: the example message and its canonical forms. */
static const char EXAMPLE[] = "A: X\r\n"
                              "B : Y\t\r\n"
                              "\tZ  \r\n"
                              "\r\n"
                              " C \r\n"
                              "D \t E\r\n"
                              "\r\n"
                              "\r\n";

/* Splits msg and appends each header field's canonical form to h; the
 * number of fields. */
static size_t canon_headers(ms_dkim_canon canon, const char *msg, ms_buf *h)
{
    dk_splitter sp;
    dk_splitter_init(&sp, msg, strlen(msg));
    const char *field = NULL;
    size_t len = 0, count = 0;
    while (dk_next_field(&sp, &field, &len)) {
        dk_canon_header(canon, field, len, 0, h);
        count++;
    }
    return count;
}

static void test_rfc6376_example_relaxed(void **state)
{
    (void)state;
    ms_buf h = MS_BUF_INIT;
    size_t fields = canon_headers(MS_DKIM_CANON_RELAXED, EXAMPLE, &h);
    assert_int_equal(fields, 2);
    assert_string_equal(h.data, "a:X\r\nb:Y Z\r\n");
    char *body = NULL;
    size_t len = 0;
    const char *b = strstr(EXAMPLE, "\r\n\r\n") + 4;
    assert_int_equal(dk_canon_body(MS_DKIM_CANON_RELAXED, b, strlen(b), &body, &len), MS_OK);
    assert_string_equal(body, " C\r\nD E\r\n");
    free(body);
    ms_buf_free(&h);
}

static void test_rfc6376_example_simple(void **state)
{
    (void)state;
    ms_buf h = MS_BUF_INIT;
    assert_int_equal(canon_headers(MS_DKIM_CANON_SIMPLE, EXAMPLE, &h), 2);
    assert_string_equal(h.data, "A: X\r\nB : Y\t\r\n\tZ  \r\n");
    char *body = NULL;
    size_t len = 0;
    const char *b = strstr(EXAMPLE, "\r\n\r\n") + 4;
    assert_int_equal(dk_canon_body(MS_DKIM_CANON_SIMPLE, b, strlen(b), &body, &len), MS_OK);
    assert_string_equal(body, " C \r\nD \t E\r\n");
    free(body);
    ms_buf_free(&h);
}

/* RFC 6376 3.4.3 / 3.4.4 and errata 3192: an empty body is CRLF under
 * simple and empty under relaxed. */
static void test_empty_body(void **state)
{
    (void)state;
    char *body = NULL;
    size_t len = 0;
    assert_int_equal(dk_canon_body(MS_DKIM_CANON_SIMPLE, "", 0, &body, &len), MS_OK);
    assert_string_equal(body, "\r\n");
    free(body);
    assert_int_equal(dk_canon_body(MS_DKIM_CANON_RELAXED, "\r\n\r\n", 4, &body, &len), MS_OK);
    assert_int_equal(len, 0);
    free(body);
    /* no final CRLF: simple adds one */
    assert_int_equal(dk_canon_body(MS_DKIM_CANON_SIMPLE, "x", 1, &body, &len), MS_OK);
    assert_string_equal(body, "x\r\n");
    free(body);
}

/* Bare LF line ends (files on disk) are read as CRLF. */
static void test_lf_message(void **state)
{
    (void)state;
    const char *msg = "From: a@example.com\nSubject: hi\n there\n\nbody\n";
    ms_buf h = MS_BUF_INIT;
    assert_int_equal(canon_headers(MS_DKIM_CANON_SIMPLE, msg, &h), 2);
    assert_string_equal(h.data, "From: a@example.com\r\nSubject: hi\r\n there\r\n");
    ms_buf_free(&h);
    dk_splitter sp;
    dk_splitter_init(&sp, msg, strlen(msg));
    const char *field = NULL;
    size_t len = 0;
    while (dk_next_field(&sp, &field, &len))
        ;
    assert_string_equal(sp.data + sp.pos, "body\n");
    char *body = NULL;
    assert_int_equal(dk_canon_body(MS_DKIM_CANON_SIMPLE, sp.data + sp.pos, sp.len - sp.pos, &body, &len), MS_OK);
    assert_string_equal(body, "body\r\n");
    free(body);
}

/* The b= value is removed from the signature field, nothing else
 * (RFC 6376 3.7); bh= keeps its value. */
static void test_strip_b(void **state)
{
    (void)state;
    const char *f = "DKIM-Signature: v=1; bh=abc;\r\n b=dGVz\r\n dA==; d=x\r\n";
    ms_buf b = MS_BUF_INIT;
    dk_canon_header(MS_DKIM_CANON_SIMPLE, f, strlen(f), 1, &b);
    assert_string_equal(b.data, "DKIM-Signature: v=1; bh=abc;\r\n b=; d=x");
    ms_buf_free(&b);
    dk_canon_header(MS_DKIM_CANON_RELAXED, f, strlen(f), 1, &b);
    assert_string_equal(b.data, "dkim-signature:v=1; bh=abc; b=; d=x");
    ms_buf_free(&b);
}

static ms_ctx *bed_ctx(void)
{
    char resolver[256], anchor[1024];
    if (!dnsbed_get("RESOLVER", resolver, sizeof resolver) ||
        !dnsbed_get("TRUST_ANCHOR", anchor, sizeof anchor))
        fail_msg("the DNS test bed is not running (MAILSEC_DNSBED_INFO)");
    ms_ctx *ctx = NULL;
    assert_int_equal(ms_ctx_new(&ctx), MS_OK);
    assert_int_equal(ms_ctx_set_resolver(ctx, resolver), MS_OK);
    assert_int_equal(ms_ctx_set_trust_anchor_file(ctx, anchor), MS_OK);
    ms_ctx_set_timeout_ms(ctx, 5000);
    return ctx;
}

static void test_no_signature(void **state)
{
    (void)state;
    ms_ctx *ctx = bed_ctx();
    const char *msg = "From: a@example.com\r\nSubject: x\r\n\r\nhello\r\n";
    ms_dkim_verify_result *r = NULL;
    assert_int_equal(ms_dkim_verify(ctx, msg, strlen(msg), &r), MS_OK);
    assert_int_equal(r->signature_count, 0);
    assert_true(ms_diag_has(&r->diags, "dkim.no-signature"));
    ms_dkim_verify_result_free(r);
    ms_ctx_free(ctx);
}

static void test_malformed_header(void **state)
{
    (void)state;
    ms_ctx *ctx = bed_ctx();
    const char *msg = "From: a@example.com\r\nthis line is no header field\r\n\r\nhello\r\n";
    ms_dkim_verify_result *r = NULL;
    assert_int_equal(ms_dkim_verify(ctx, msg, strlen(msg), &r), MS_OK);
    assert_true(ms_diag_has(&r->diags, "dkim.message-malformed"));
    ms_dkim_verify_result_free(r);
    ms_ctx_free(ctx);
}

#define SIG_NOSUCH                                                                          \
    "DKIM-Signature: v=1; a=rsa-sha256; d=dkimtest.example; s=nosuch; h=from; bh=AAAA; " \
    "b=AAAA; t=%s\r\n"

static void test_future_and_missing_key(void **state)
{
    (void)state;
    ms_ctx *ctx = bed_ctx();
    char *msg = ms_asprintf(SIG_NOSUCH "From: a@dkimtest.example\r\n\r\nhi\r\n", "99999999999");
    ms_dkim_verify_result *r = NULL;
    assert_int_equal(ms_dkim_verify(ctx, msg, strlen(msg), &r), MS_OK);
    assert_int_equal(r->count, 1);
    assert_int_equal(r->items[0].result, MS_DKIM_PERMERROR);
    assert_string_equal(r->items[0].reason, "key-not-found");
    assert_true(ms_diag_has(&r->items[0].diags, "dkim.future"));
    assert_true(ms_diag_has(&r->items[0].diags, "dkim.key-not-found"));
    assert_string_equal(r->items[0].key_name, "nosuch._domainkey.dkimtest.example");
    ms_dkim_verify_result_free(r);
    free(msg);
    ms_ctx_free(ctx);
}

static void test_too_many_signatures(void **state)
{
    (void)state;
    ms_ctx *ctx = bed_ctx();
    ms_buf b = MS_BUF_INIT;
    for (int i = 0; i < MS_DKIM_MAX_SIGNATURES + 2; i++)
        ms_buf_printf(&b, SIG_NOSUCH, "1");
    ms_buf_puts(&b, "From: a@dkimtest.example\r\n\r\nhi\r\n");
    ms_dkim_verify_result *r = NULL;
    assert_int_equal(ms_dkim_verify(ctx, b.data, b.len, &r), MS_OK);
    assert_int_equal(r->signature_count, MS_DKIM_MAX_SIGNATURES + 2);
    assert_int_equal(r->count, MS_DKIM_MAX_SIGNATURES);
    assert_true(ms_diag_has(&r->diags, "dkim.too-many-signatures"));
    ms_dkim_verify_result_free(r);
    ms_buf_free(&b);
    ms_ctx_free(ctx);
}

/* A resolver that does not answer: the key cannot be fetched, temperror. */
static void test_dns_failure_is_temperror(void **state)
{
    (void)state;
    ms_ctx *ctx = NULL;
    assert_int_equal(ms_ctx_new(&ctx), MS_OK);
    assert_int_equal(ms_ctx_set_resolver(ctx, "127.0.0.1@9"), MS_OK);
    ms_ctx_set_timeout_ms(ctx, 1000);
    char *msg = ms_asprintf(SIG_NOSUCH "From: a@dkimtest.example\r\n\r\nhi\r\n", "1");
    ms_dkim_verify_result *r = NULL;
    assert_int_equal(ms_dkim_verify(ctx, msg, strlen(msg), &r), MS_OK);
    assert_int_equal(r->items[0].result, MS_DKIM_TEMPERROR);
    assert_true(ms_diag_has(&r->items[0].diags, "dkim.key-dns-error"));
    ms_dkim_verify_result_free(r);
    free(msg);
    ms_ctx_free(ctx);
}

/* A message signed by dkimpy's dkimsign (tests/data/dkim/signed, see its
 * README); NULL-terminated, *len set. */
static char *signed_message(const char *name, size_t *len)
{
    const char *dir = getenv("MAILSEC_SOURCE_DIR");
    char *path = ms_asprintf("%s/tests/data/dkim/signed/%s", dir ? dir : ".", name);
    char *text = test_read_file(path, len);
    if (text == NULL)
        fail_msg("cannot read %s", path);
    free(path);
    return text;
}

static void expect_verdict(ms_ctx *ctx, const char *msg, size_t len,
                           const ms_dkim_verify_options *opts, ms_dkim_result result,
                           const char *reason, const char *code)
{
    ms_dkim_verify_result *r = NULL;
    assert_int_equal(ms_dkim_verify_with(ctx, msg, len, opts, &r), MS_OK);
    assert_int_equal(r->count, 1);
    assert_string_equal(r->items[0].reason, reason);
    assert_int_equal(r->items[0].result, result);
    if (code != NULL)
        assert_true(ms_diag_has(&r->items[0].diags, code));
    ms_dkim_verify_result_free(r);
}

/* The body changed after signing (one word of a signed message): the body
 * hash no longer matches bh=, whatever the header signature says. */
static void test_tampered_body(void **state)
{
    (void)state;
    ms_ctx *ctx = bed_ctx();
    size_t len = 0;
    char *msg = signed_message("rsa-relaxed.eml", &len);
    expect_verdict(ctx, msg, len, NULL, MS_DKIM_PASS, "ok", NULL);
    char *body = strstr(msg, "\n\n");
    assert_non_null(body);
    char *word = strpbrk(body + 2, "abcdefghijklmnopqrstuvwxyz");
    assert_non_null(word);
    *word = *word == 'x' ? 'y' : 'x'; /* a different letter: not a change relaxed undoes */
    expect_verdict(ctx, msg, len, NULL, MS_DKIM_FAIL, "body-hash-mismatch", "dkim.body-hash-mismatch");
    free(msg);
    ms_ctx_free(ctx);
}

/* RFC 8301 3.1: verifiers must not consider rsa-sha1 signatures valid; an
 * old archive may ask for them all the same. */
static void test_rsa_sha1_refused_unless_allowed(void **state)
{
    (void)state;
    ms_ctx *ctx = bed_ctx();
    size_t len = 0;
    char *msg = signed_message("rsa-sha1.eml", &len);
    expect_verdict(ctx, msg, len, NULL, MS_DKIM_PERMERROR, "rsa-sha1-refused", "dkim.rsa-sha1-refused");
    ms_dkim_verify_result *r = NULL;
    assert_int_equal(ms_dkim_verify(ctx, msg, len, &r), MS_OK);
    assert_string_equal(r->items[0].reason, "rsa-sha1-refused");
    ms_dkim_verify_result_free(r);
    const ms_dkim_verify_options allow = {.allow_sha1 = 1};
    expect_verdict(ctx, msg, len, &allow, MS_DKIM_PASS, "ok", "dkim.sig-rsa-sha1");
    free(msg);
    ms_ctx_free(ctx);
}

/* sha1small: a 512-bit key (unusable, RFC 8301) with h=sha1 (an error of
 * the lint, which does not make the key unusable). The reason is the
 * cause: the size. */
static void test_unusable_key_reason_is_the_cause(void **state)
{
    (void)state;
    ms_ctx *ctx = bed_ctx();
    const char *msg = "DKIM-Signature: v=1; a=rsa-sha256; d=dkimtest.example; s=sha1small; "
                      "h=from; bh=AAAA; b=AAAA\r\nFrom: a@dkimtest.example\r\n\r\nhi\r\n";
    expect_verdict(ctx, msg, strlen(msg), NULL, MS_DKIM_PERMERROR, "key-rsa-too-small",
                   "dkim.key-hash-no-sha256");
    ms_ctx_free(ctx);
}

/* _domainkey.dkimtest.example is an empty non-terminal (selectors below it):
 * NODATA, exists. nokeys.dkimtest.example has none: NXDOMAIN. */
static void test_domainkey_exists(void **state)
{
    (void)state;
    ms_ctx *ctx = bed_ctx();
    int exists = -2;
    ms_dns_rcode rcode = MS_DNS_ERROR;
    assert_int_equal(ms_dkim_domainkey_exists(ctx, "dkimtest.example", &exists, &rcode), MS_OK);
    assert_int_equal(exists, 1);
    assert_int_equal(rcode, MS_DNS_NODATA);
    assert_int_equal(ms_dkim_domainkey_exists(ctx, "nokeys.dkimtest.example", &exists, &rcode), MS_OK);
    assert_int_equal(exists, 0);
    assert_int_equal(rcode, MS_DNS_NXDOMAIN);
    ms_ctx_free(ctx);
}

/* The streaming verifier's bounds: the header section is refused past
 * MS_DKIM_MAX_HEADER_BYTES (and stays refused), through _header or _write;
 * a header field after the body has started is a caller's mistake. */
static void test_streaming_bounds(void **state)
{
    (void)state;
    ms_ctx *ctx = bed_ctx();
    size_t big = MS_DKIM_MAX_HEADER_BYTES / 2;
    char *field = malloc(big);
    memcpy(field, "X-Big: ", 7);
    memset(field + 7, 'a', big - 7);
    ms_dkim_verifier *v = NULL;
    assert_int_equal(ms_dkim_verifier_new(ctx, NULL, &v), MS_OK);
    assert_int_equal(ms_dkim_verifier_header(v, field, big), MS_OK);
    assert_int_equal(ms_dkim_verifier_header(v, field, big), MS_ERR_LIMIT);
    assert_int_equal(ms_dkim_verifier_header(v, "From: a", 7), MS_ERR_LIMIT);
    ms_dkim_verify_result *r = NULL;
    assert_int_equal(ms_dkim_verifier_finish(v, &r), MS_ERR_LIMIT);
    assert_null(r);
    ms_dkim_verifier_free(v);
    /* raw bytes: a header section that never ends */
    assert_int_equal(ms_dkim_verifier_new(ctx, NULL, &v), MS_OK);
    assert_int_equal(ms_dkim_verifier_write(v, field, big), MS_OK);
    assert_int_equal(ms_dkim_verifier_write(v, field, big), MS_OK);
    assert_int_equal(ms_dkim_verifier_write(v, field, big), MS_ERR_LIMIT);
    ms_dkim_verifier_free(v);
    /* the body has started: no more header fields */
    assert_int_equal(ms_dkim_verifier_new(ctx, NULL, &v), MS_OK);
    assert_int_equal(ms_dkim_verifier_header(v, "From: a@dkimtest.example", 24), MS_OK);
    assert_int_equal(ms_dkim_verifier_body(v, "hi\n", 3), MS_OK);
    assert_int_equal(ms_dkim_verifier_header(v, "Subject: late", 13), MS_ERR_INVALID);
    assert_int_equal(ms_dkim_verifier_finish(v, &r), MS_OK);
    assert_true(ms_diag_has(&r->diags, "dkim.no-signature"));
    assert_int_equal(r->arc, MS_DKIM_ARC_NONE);
    ms_dkim_verify_result_free(r);
    assert_int_equal(ms_dkim_verifier_finish(v, &r), MS_ERR_INVALID);
    ms_dkim_verifier_free(v);
    free(field);
    ms_ctx_free(ctx);
}

/* A verifier freed with its signatures found but never finished (a
 * client that drops the connection in the middle of a signed message, as
 * the milter sees): nothing is freed twice or leaked. */
static void test_free_unfinished(void **state)
{
    (void)state;
    ms_ctx *ctx = bed_ctx();
    static const char sig[] = "DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed; d=dkimtest.example;"
                              " s=sel; h=from; bh=AAAA; b=AAAA";
    ms_dkim_verifier *v = NULL;
    assert_int_equal(ms_dkim_verifier_new(ctx, NULL, &v), MS_OK);
    assert_int_equal(ms_dkim_verifier_header(v, sig, sizeof sig - 1), MS_OK);
    assert_int_equal(ms_dkim_verifier_header(v, "From: a@dkimtest.example", 24), MS_OK);
    assert_int_equal(ms_dkim_verifier_body(v, "hi\n", 3), MS_OK);
    ms_dkim_verifier_free(v);
    ms_ctx_free(ctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rfc6376_example_relaxed),
        cmocka_unit_test(test_rfc6376_example_simple),
        cmocka_unit_test(test_empty_body),
        cmocka_unit_test(test_lf_message),
        cmocka_unit_test(test_strip_b),
        cmocka_unit_test(test_no_signature),
        cmocka_unit_test(test_malformed_header),
        cmocka_unit_test(test_future_and_missing_key),
        cmocka_unit_test(test_too_many_signatures),
        cmocka_unit_test(test_dns_failure_is_temperror),
        cmocka_unit_test(test_domainkey_exists),
        cmocka_unit_test(test_tampered_body),
        cmocka_unit_test(test_rsa_sha1_refused_unless_allowed),
        cmocka_unit_test(test_unusable_key_reason_is_the_cause),
        cmocka_unit_test(test_streaming_bounds),
        cmocka_unit_test(test_free_unfinished),
    };
    return cmocka_run_group_tests_name("dkim-verify", tests, NULL, NULL);
}
