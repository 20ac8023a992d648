/* The chain checker (ms_cert_check_chain) on chains made at test time by
 * tests/cert/make-test-ca.sh: the directory is in $MAILSEC_TEST_CA (the
 * CTest fixture "testca"). Certificates are read here with OpenSSL's own
 * PEM reader, so these tests do not depend on our PEM scanner. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/internal.h"
#include "mailsec/cert.h"

enum { MAX_BLOBS = 8 };

typedef struct chain {
    ms_cert_blob blobs[MAX_BLOBS];
    unsigned char *der[MAX_BLOBS];
    size_t count;
} chain;

/* Appends every certificate of a file of the test CA. */
static void load(chain *c, const char *name)
{
    const char *dir = getenv("MAILSEC_TEST_CA");
    assert_non_null(dir);
    char *path = ms_asprintf("%s/%s", dir, name);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    X509 *x;
    while ((x = PEM_read_X509(f, NULL, NULL, NULL)) != NULL) {
        assert_true(c->count < MAX_BLOBS);
        unsigned char *der = NULL;
        int len = i2d_X509(x, &der);
        assert_true(len > 0);
        c->der[c->count] = der;
        c->blobs[c->count] = (ms_cert_blob){der, (size_t)len};
        c->count++;
        X509_free(x);
    }
    fclose(f);
    free(path);
}

static void chain_free(chain *c)
{
    for (size_t i = 0; i < c->count; i++)
        OPENSSL_free(c->der[i]);
}

static time_t fixed_clock(void *arg)
{
    return *(time_t *)arg;
}

/* 2026-06-01T00:00:00Z: every good certificate of the test CA is valid. */
static time_t now_2026 = 1780272000;

typedef struct result {
    ms_diag_list diags;
    ms_cert_chain_info info;
} result;

/* Checks c at *now (NULL: now_2026), warning about expiry under
 * days_warning days (0: the default). */
static void check_warning(chain *c, const char *host, time_t *now, int find_leaf, int days_warning, result *r)
{
    ms_ctx *ctx = NULL;
    assert_int_equal(ms_ctx_new(&ctx), MS_OK);
    ms_ctx_set_clock(ctx, fixed_clock, now ? now : &now_2026);
    char *ca = ms_asprintf("%s/root.pem", getenv("MAILSEC_TEST_CA"));
    ms_cert_check_opts opts = {
        .host = host, .ca_file = ca, .location = "test", .find_leaf = find_leaf, .days_warning = days_warning};
    memset(r, 0, sizeof *r);
    assert_int_equal(ms_cert_check_chain(ctx, c->blobs, c->count, &opts, &r->info, &r->diags), MS_OK);
    free(ca);
    ms_ctx_free(ctx);
}

static void check(chain *c, const char *host, time_t *now, int find_leaf, result *r)
{
    check_warning(c, host, now, find_leaf, 0, r);
}

static void result_free(result *r)
{
    ms_diag_list_free(&r->diags);
    ms_cert_chain_info_free(&r->info);
}

/* Only these codes, each at least once (NULL-terminated). */
static void expect_codes(const result *r, const char *const *codes)
{
    size_t n = 0;
    for (; codes[n] != NULL; n++)
        if (!ms_diag_has(&r->diags, codes[n]))
            fail_msg("expected %s", codes[n]);
    for (size_t i = 0; i < r->diags.count; i++) {
        int wanted = 0;
        for (size_t k = 0; k < n; k++)
            wanted |= strcmp(r->diags.items[i].def->code, codes[k]) == 0;
        if (!wanted)
            fail_msg("unexpected %s: %s", r->diags.items[i].def->code, r->diags.items[i].message);
    }
}

#define EXPECT(r, ...) expect_codes((r), (const char *const[]){__VA_ARGS__, NULL})
#define EXPECT_NONE(r) expect_codes((r), (const char *const[]){NULL})

static void test_good_chain_is_clean(void **state)
{
    (void)state;
    chain c = {0};
    load(&c, "fullchain.pem");
    result r;
    check(&c, "mail.example.test", NULL, 0, &r);
    EXPECT_NONE(&r);
    assert_true(r.info.verified);
    assert_string_equal(r.info.key_type, "RSA");
    assert_int_equal(r.info.key_bits, 2048);
    assert_string_equal(r.info.not_after, "2045-01-01T00:00:00Z");
    assert_string_equal(r.info.names, "mail.example.test localhost");
    assert_string_equal(r.info.signature_algorithm, "sha256WithRSAEncryption");
    assert_int_equal(strlen(r.info.fingerprint_sha256), 64);
    assert_int_equal(r.info.sent, 2);
    assert_non_null(strstr(r.info.subject, "CN=mail.example.test"));
    assert_non_null(strstr(r.info.issuer, "CN=mailsec Test Intermediate"));
    /* 2026-06-01 to 2045-01-01: 6789 days (python3: date(2045,1,1) - date(2026,6,1)). */
    assert_int_equal(r.info.days_left, 6789);
    result_free(&r);
    chain_free(&c);
}

static void test_ecdsa_key_reported(void **state)
{
    (void)state;
    chain c = {0};
    load(&c, "fullchain-ecdsa.pem");
    result r;
    check(&c, "127.0.0.1", NULL, 0, &r);
    EXPECT_NONE(&r);
    assert_string_equal(r.info.key_type, "EC");
    assert_int_equal(r.info.key_bits, 256);
    assert_string_equal(r.info.signature_algorithm, "sha256WithRSAEncryption");
    result_free(&r);
    chain_free(&c);
}

static void test_wrong_order(void **state)
{
    (void)state;
    chain c = {0};
    load(&c, "wrong-order.pem");
    result r;
    /* As a TLS server sends it: the first certificate is taken as the leaf. */
    check(&c, NULL, NULL, 0, &r);
    assert_true(ms_diag_has(&r.diags, "cert.chain-order"));
    result_free(&r);
    /* As files: the leaf is found, and it is not first. */
    check(&c, "mail.example.test", NULL, 1, &r);
    EXPECT(&r, "cert.chain-order");
    assert_true(r.info.verified);
    assert_non_null(strstr(r.info.subject, "CN=mail.example.test"));
    result_free(&r);
    chain_free(&c);
}

static void test_leaf_alone_misses_intermediate(void **state)
{
    (void)state;
    chain c = {0};
    load(&c, "leaf-rsa.pem");
    result r;
    check(&c, "mail.example.test", NULL, 0, &r);
    EXPECT(&r, "cert.intermediate-missing");
    assert_false(r.info.verified);
    result_free(&r);
    chain_free(&c);
}

static void test_root_included(void **state)
{
    (void)state;
    chain c = {0};
    load(&c, "with-root.pem");
    result r;
    check(&c, "mail.example.test", NULL, 0, &r);
    EXPECT(&r, "cert.root-included");
    assert_true(r.info.verified);
    result_free(&r);
    chain_free(&c);
}

static void test_duplicate_and_unrelated(void **state)
{
    (void)state;
    chain c = {0};
    load(&c, "fullchain.pem");
    load(&c, "chain.pem");
    load(&c, "unrelated.pem");
    result r;
    check(&c, "mail.example.test", NULL, 0, &r);
    EXPECT(&r, "cert.duplicate", "cert.unrelated");
    assert_true(r.info.verified);
    result_free(&r);
    chain_free(&c);
}

static void test_expiry_by_the_context_clock(void **state)
{
    (void)state;
    chain c = {0};
    load(&c, "fullchain.pem");
    result r;
    time_t dec_2044 = 2365286400; /* 2044-12-14T00:00:00Z, 18 days before the leaf expires */
    check(&c, "mail.example.test", &dec_2044, 0, &r);
    EXPECT(&r, "cert.expiring");
    assert_int_equal(r.info.days_left, 18);
    result_free(&r);
    time_t jan_2045 = 2366928000; /* 2045-01-02T00:00:00Z, a day after */
    check(&c, "mail.example.test", &jan_2045, 0, &r);
    EXPECT(&r, "cert.expired");
    assert_int_equal(r.info.days_left, -1);
    result_free(&r);
    chain_free(&c);

    chain old = {0};
    load(&old, "leaf-expired.pem");
    load(&old, "chain.pem");
    check(&old, "mail.example.test", NULL, 0, &r);
    EXPECT(&r, "cert.expired");
    result_free(&r);
    chain_free(&old);

    chain future = {0};
    load(&future, "leaf-future.pem");
    load(&future, "chain.pem");
    check(&future, "mail.example.test", NULL, 0, &r);
    EXPECT(&r, "cert.not-yet-valid");
    result_free(&r);
    chain_free(&future);
}

/* The warning's threshold, at the second: "fewer than N days left"
 * (docs/cert.md), so exactly N days left is no warning, a second less is.
 * For the default (21) and for --days-warning 30. */
static void test_expiry_warning_boundary(void **state)
{
    (void)state;
    const time_t leaf_expires = 2366841600; /* 2045-01-01T00:00:00Z */
    const time_t day = 86400;
    const int thresholds[] = {0, 30};
    chain c = {0};
    load(&c, "fullchain.pem");
    for (size_t i = 0; i < sizeof thresholds / sizeof thresholds[0]; i++) {
        int n = thresholds[i] ? thresholds[i] : MS_CERT_DAYS_WARNING;
        struct {
            time_t at;
            long days_left;
            int warned;
        } cases[] = {
            {leaf_expires - (n + 1) * day, n + 1, 0}, /* a day more than N */
            {leaf_expires - n * day, n, 0},           /* exactly N */
            {leaf_expires - n * day + 1, n - 1, 1},   /* a second less */
            {leaf_expires - (n - 1) * day, n - 1, 1}, /* a day less */
        };
        for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
            result r;
            print_message("days_warning %d, %ld days left\n", thresholds[i], cases[k].days_left);
            check_warning(&c, "mail.example.test", &cases[k].at, 0, thresholds[i], &r);
            assert_int_equal(r.info.days_left, cases[k].days_left);
            if (cases[k].warned)
                EXPECT(&r, "cert.expiring");
            else
                EXPECT_NONE(&r);
            result_free(&r);
        }
    }
    chain_free(&c);
}

static void test_host_name(void **state)
{
    (void)state;
    chain c = {0};
    load(&c, "leaf-wronghost.pem");
    load(&c, "chain.pem");
    result r;
    check(&c, "mail.example.test", NULL, 0, &r);
    EXPECT(&r, "cert.host-mismatch");
    assert_non_null(strstr(r.diags.items[0].message, "other.example.test"));
    result_free(&r);
    check(&c, "other.example.test", NULL, 0, &r);
    EXPECT_NONE(&r);
    result_free(&r);
    check(&c, "OTHER.example.test", NULL, 0, &r); /* host names are case-insensitive */
    EXPECT_NONE(&r);
    result_free(&r);
    chain_free(&c);
}

static void test_self_signed(void **state)
{
    (void)state;
    chain c = {0};
    load(&c, "selfsigned.pem");
    result r;
    check(&c, "mail.example.test", NULL, 0, &r);
    EXPECT(&r, "cert.self-signed");
    result_free(&r);
    chain_free(&c);
}

static void test_untrusted_root(void **state)
{
    (void)state;
    chain c = {0};
    load(&c, "unrelated.pem");
    load(&c, "other-root.pem");
    result r;
    check(&c, "www.unrelated.test", NULL, 0, &r);
    EXPECT(&r, "cert.untrusted", "cert.root-included");
    result_free(&r);
    chain_free(&c);
}

static void test_weak_signature_and_key(void **state)
{
    (void)state;
    chain c = {0};
    load(&c, "leaf-sha1.pem");
    load(&c, "chain.pem");
    result r;
    check(&c, "mail.example.test", NULL, 0, &r);
    EXPECT(&r, "cert.signature-weak");
    assert_string_equal(r.info.signature_algorithm, "sha1WithRSAEncryption");
    result_free(&r);
    chain_free(&c);

    chain w = {0};
    load(&w, "leaf-weak.pem");
    load(&w, "chain.pem");
    check(&w, "mail.example.test", NULL, 0, &r);
    EXPECT(&r, "cert.key-weak");
    assert_int_equal(r.info.key_bits, 1024);
    result_free(&r);
    chain_free(&w);
}

static void test_garbage_blob(void **state)
{
    (void)state;
    chain c = {0};
    load(&c, "fullchain.pem");
    static const unsigned char junk[] = {0x30, 0x03, 0x02, 0x01, 0x05};
    c.blobs[c.count++] = (ms_cert_blob){junk, sizeof junk};
    result r;
    check(&c, "mail.example.test", NULL, 0, &r);
    EXPECT(&r, "cert.pem-decode");
    assert_non_null(strstr(r.diags.items[0].message, "certificate 3 is not a DER-encoded"));
    result_free(&r);
    c.count--;
    chain_free(&c);

    ms_cert_blob only = {junk, sizeof junk};
    ms_ctx *ctx = NULL;
    assert_int_equal(ms_ctx_new(&ctx), MS_OK);
    ms_diag_list diags = MS_DIAG_LIST_INIT;
    assert_int_equal(ms_cert_check_chain(ctx, &only, 1, NULL, NULL, &diags), MS_OK);
    assert_true(ms_diag_has(&diags, "cert.no-certificate"));
    ms_diag_list_free(&diags);
    ms_ctx_free(ctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_good_chain_is_clean),
        cmocka_unit_test(test_ecdsa_key_reported),
        cmocka_unit_test(test_wrong_order),
        cmocka_unit_test(test_leaf_alone_misses_intermediate),
        cmocka_unit_test(test_root_included),
        cmocka_unit_test(test_duplicate_and_unrelated),
        cmocka_unit_test(test_expiry_by_the_context_clock),
        cmocka_unit_test(test_expiry_warning_boundary),
        cmocka_unit_test(test_host_name),
        cmocka_unit_test(test_self_signed),
        cmocka_unit_test(test_untrusted_root),
        cmocka_unit_test(test_weak_signature_and_key),
        cmocka_unit_test(test_garbage_blob),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
