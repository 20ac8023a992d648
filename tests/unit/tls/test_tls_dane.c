/* DANE matching for SMTP (ms_tls_dane_match, RFC 7672 / RFC 6698): which
 * records are usable, and what each usage, selector and matching type
 * matches. The chain (a CA and a leaf it issued) is made here; the record
 * data is computed from its DER by the definitions of RFC 6698 2.1. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "mailsec/tls.h"

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <string.h>

typedef struct fixture {
    EVP_PKEY *ca_key, *leaf_key;
    X509 *ca, *leaf;
    unsigned char *der[2]; /* leaf, ca: the chain as a server sends it */
    size_t len[2];
} fixture;

static EVP_PKEY *new_key(void)
{
    return EVP_EC_gen("P-256");
}

static X509 *new_cert(EVP_PKEY *key, const char *cn, X509 *issuer, EVP_PKEY *issuer_key, int ca,
                      const char *san)
{
    X509 *x = X509_new();
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), ca ? 1 : 2);
    X509_gmtime_adj(X509_getm_notBefore(x), -3600);
    X509_gmtime_adj(X509_getm_notAfter(x), 86400);
    X509_set_pubkey(x, key);
    X509_NAME *name = X509_get_subject_name(x);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
    X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) : name);
    X509V3_CTX v3;
    X509V3_set_ctx(&v3, issuer ? issuer : x, x, NULL, NULL, 0);
    X509_EXTENSION *ext =
        X509V3_EXT_conf_nid(NULL, &v3, NID_basic_constraints, ca ? "critical,CA:TRUE" : "CA:FALSE");
    X509_add_ext(x, ext, -1);
    X509_EXTENSION_free(ext);
    if (san) {
        ext = X509V3_EXT_conf_nid(NULL, &v3, NID_subject_alt_name, san);
        X509_add_ext(x, ext, -1);
        X509_EXTENSION_free(ext);
    }
    X509_sign(x, issuer_key ? issuer_key : key, EVP_sha256());
    return x;
}

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    f->ca_key = new_key();
    f->leaf_key = new_key();
    f->ca = new_cert(f->ca_key, "DANE test CA", NULL, NULL, 1, NULL);
    f->leaf = new_cert(f->leaf_key, "mx.example.test", f->ca, f->ca_key, 0, "DNS:mx.example.test");
    int n = i2d_X509(f->leaf, &f->der[0]);
    assert_true(n > 0);
    f->len[0] = (size_t)n;
    n = i2d_X509(f->ca, &f->der[1]);
    assert_true(n > 0);
    f->len[1] = (size_t)n;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    OPENSSL_free(f->der[0]);
    OPENSSL_free(f->der[1]);
    X509_free(f->leaf);
    X509_free(f->ca);
    EVP_PKEY_free(f->leaf_key);
    EVP_PKEY_free(f->ca_key);
    free(f);
    return 0;
}

/* The data a TLSA record with this selector and matching type carries
 * for cert (RFC 6698 2.1.2, 2.1.3). */
typedef struct tlsa_data {
    unsigned char bytes[1024];
    size_t len;
} tlsa_data;

static void make_data(X509 *cert, int selector, int mtype, tlsa_data *out)
{
    unsigned char *der = NULL;
    int len = selector == 0 ? i2d_X509(cert, &der) : i2d_X509_PUBKEY(X509_get_X509_PUBKEY(cert), &der);
    assert_true(len > 0 && (size_t)len <= sizeof out->bytes);
    if (mtype == 0) {
        memcpy(out->bytes, der, (size_t)len);
        out->len = (size_t)len;
    } else {
        unsigned n = 0;
        EVP_Digest(der, (size_t)len, out->bytes, &n, mtype == 1 ? EVP_sha256() : EVP_sha512(), NULL);
        out->len = n;
    }
    OPENSSL_free(der);
}

static ms_tls_tlsa record(int usage, int selector, int mtype, const tlsa_data *d)
{
    ms_tls_tlsa t = {(uint8_t)usage, (uint8_t)selector, (uint8_t)mtype, d->bytes, d->len};
    return t;
}

static ms_tls_dane_state match(fixture *f, const ms_tls_tlsa *records, size_t n, size_t chain_count,
                               const char *name, ms_diag_list *diags)
{
    ms_tls_dane_state dane = MS_TLS_DANE_NOT_CHECKED;
    assert_int_equal(ms_tls_dane_match(records, n, f->der, f->len, chain_count, name,
                                       "_25._tcp.test", diags, &dane),
                     MS_OK);
    return dane;
}

static void dane_ee_every_selector_and_type(void **state)
{
    fixture *f = *state;
    for (int selector = 0; selector <= 1; selector++)
        for (int mtype = 0; mtype <= 2; mtype++) {
            tlsa_data d;
            make_data(f->leaf, selector, mtype, &d);
            ms_tls_tlsa t = record(3, selector, mtype, &d);
            ms_diag_list diags = MS_DIAG_LIST_INIT;
            /* DANE-EE ignores names (RFC 7672 3.1.1): any name matches */
            assert_int_equal(match(f, &t, 1, 2, "other.example", &diags), MS_TLS_DANE_MATCH);
            assert_true(ms_diag_has(&diags, "tls.dane-match"));
            ms_diag_list_free(&diags);
        }
}

static void dane_ee_wrong_data(void **state)
{
    fixture *f = *state;
    tlsa_data d;
    make_data(f->ca, 1, 1, &d); /* the CA's key is not the leaf's */
    ms_tls_tlsa t = record(3, 1, 1, &d);
    ms_diag_list diags = MS_DIAG_LIST_INIT;
    assert_int_equal(match(f, &t, 1, 2, "mx.example.test", &diags), MS_TLS_DANE_NO_MATCH);
    assert_true(ms_diag_has(&diags, "tls.dane-no-match"));
    ms_diag_list_free(&diags);
}

static void dane_ta_matches_the_issuer_sent(void **state)
{
    fixture *f = *state;
    for (int selector = 0; selector <= 1; selector++) {
        tlsa_data d;
        make_data(f->ca, selector, 1, &d);
        ms_tls_tlsa t = record(2, selector, 1, &d);
        ms_diag_list diags = MS_DIAG_LIST_INIT;
        assert_int_equal(match(f, &t, 1, 2, "mx.example.test", &diags), MS_TLS_DANE_MATCH);
        ms_diag_list_free(&diags);
        /* DANE-TA checks the name (RFC 7672 3.2.2) */
        assert_int_equal(match(f, &t, 1, 2, "other.example.test", &diags), MS_TLS_DANE_NO_MATCH);
        ms_diag_list_free(&diags);
        /* the trust anchor must be in the chain the server sent */
        assert_int_equal(match(f, &t, 1, 1, "mx.example.test", &diags), MS_TLS_DANE_NO_MATCH);
        ms_diag_list_free(&diags);
    }
}

static void dane_ta_is_not_the_leaf(void **state)
{
    fixture *f = *state;
    tlsa_data d;
    make_data(f->leaf, 1, 1, &d);
    ms_tls_tlsa t = record(2, 1, 1, &d);
    ms_diag_list diags = MS_DIAG_LIST_INIT;
    assert_int_equal(match(f, &t, 1, 2, "mx.example.test", &diags), MS_TLS_DANE_NO_MATCH);
    ms_diag_list_free(&diags);
}

static void pkix_usages_and_unknown_values_are_unusable(void **state)
{
    fixture *f = *state;
    tlsa_data d;
    make_data(f->leaf, 1, 1, &d);
    ms_tls_tlsa records[] = {record(0, 1, 1, &d), record(1, 1, 1, &d), record(3, 2, 1, &d),
                             record(3, 1, 3, &d)};
    ms_diag_list diags = MS_DIAG_LIST_INIT;
    /* only unusable records: as if there were none (RFC 7672 2.2) */
    assert_int_equal(match(f, records, 4, 2, "mx.example.test", &diags), MS_TLS_DANE_NO_RECORDS);
    assert_int_equal(diags.count, 4);
    for (size_t i = 0; i < diags.count; i++)
        assert_string_equal(diags.items[i].def->code, "tls.dane-unusable");
    ms_diag_list_free(&diags);
}

/* A chain whose certificate is not DER is no chain to match: the call
 * fails rather than answer "no match". */
static void chain_not_der_is_invalid(void **state)
{
    fixture *f = *state;
    tlsa_data d;
    make_data(f->leaf, 1, 1, &d);
    ms_tls_tlsa t = record(3, 1, 1, &d);
    unsigned char garbage[] = {0x30, 0x03, 0x02, 0x01};
    unsigned char *der[] = {f->der[0], garbage};
    size_t len[] = {f->len[0], sizeof garbage};
    ms_diag_list diags = MS_DIAG_LIST_INIT;
    ms_tls_dane_state dane;
    assert_int_equal(ms_tls_dane_match(&t, 1, der, len, 2, "mx.example.test", "_25._tcp.test",
                                       &diags, &dane),
                     MS_ERR_INVALID);
    ms_diag_list_free(&diags);
}

static void tlsa_rdata(void **state)
{
    (void)state;
    const unsigned char rdata[] = {3, 1, 1, 0xab, 0xcd};
    ms_tls_tlsa t;
    assert_int_equal(ms_tls_tlsa_parse(rdata, sizeof rdata, &t), MS_OK);
    assert_int_equal(t.usage, 3);
    assert_int_equal(t.selector, 1);
    assert_int_equal(t.mtype, 1);
    assert_int_equal(t.len, 2);
    assert_int_equal(t.data[0], 0xab);
    assert_int_equal(ms_tls_tlsa_parse(rdata, 3, &t), MS_ERR_INVALID);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(dane_ee_every_selector_and_type),
        cmocka_unit_test(dane_ee_wrong_data),
        cmocka_unit_test(dane_ta_matches_the_issuer_sent),
        cmocka_unit_test(dane_ta_is_not_the_leaf),
        cmocka_unit_test(pkix_usages_and_unknown_values_are_unusable),
        cmocka_unit_test(chain_not_der_is_invalid),
        cmocka_unit_test(tlsa_rdata),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
