/* DANE for SMTP (RFC 7672): which TLSA records may be used and whether one
 * matches the chain the server sent. */
#include "internal.h"

#include "core/lazy_openssl.h"
#include <string.h>

enum { USAGE_PKIX_TA = 0, USAGE_PKIX_EE = 1, USAGE_DANE_TA = 2, USAGE_DANE_EE = 3 };
enum { SELECTOR_CERT = 0, SELECTOR_SPKI = 1 };
enum { MATCH_FULL = 0, MATCH_SHA256 = 1, MATCH_SHA512 = 2 };

ms_status ms_tls_tlsa_parse(const unsigned char *rdata, size_t len, ms_tls_tlsa *out)
{
    if (rdata == NULL || len < 4)
        return MS_ERR_INVALID;
    out->usage = rdata[0];
    out->selector = rdata[1];
    out->mtype = rdata[2];
    out->data = rdata + 3;
    out->len = len - 3;
    return MS_OK;
}

/* Does the record's data match cert, by its selector and matching type? */
static int record_matches(const ms_tls_tlsa *t, X509 *cert)
{
    unsigned char *selected = NULL;
    int len = t->selector == SELECTOR_CERT ? i2d_X509(cert, &selected)
                                           : i2d_X509_PUBKEY(X509_get_X509_PUBKEY(cert), &selected);
    if (len <= 0)
        return 0;
    unsigned char digest[EVP_MAX_MD_SIZE];
    const unsigned char *value = selected;
    unsigned value_len = (unsigned)len;
    if (t->mtype != MATCH_FULL) {
        const EVP_MD *md = t->mtype == MATCH_SHA256 ? EVP_sha256() : EVP_sha512();
        if (EVP_Digest(selected, (size_t)len, digest, &value_len, md, NULL) != 1)
            value_len = 0;
        value = digest;
    }
    int match = value_len > 0 && value_len == t->len && memcmp(value, t->data, t->len) == 0;
    OPENSSL_free(selected);
    return match;
}

/* DANE-TA: the leaf's chain (with the other certificates sent as
 * intermediates) verifies up to anchor, and the leaf covers name. */
static int chain_verifies_to(X509 *leaf, STACK_OF(X509) *sent, X509 *anchor, const char *name)
{
    X509_STORE *store = X509_STORE_new();
    X509_STORE_CTX *vctx = X509_STORE_CTX_new();
    int ok = 0;
    if (store && vctx && X509_STORE_add_cert(store, anchor) == 1 &&
        X509_STORE_CTX_init(vctx, store, leaf, sent) == 1) {
        X509_VERIFY_PARAM *param = X509_STORE_CTX_get0_param(vctx);
        /* the anchor need not be self-signed (RFC 7671 5.2.2) */
        X509_VERIFY_PARAM_set_flags(param, X509_V_FLAG_PARTIAL_CHAIN);
        if (name)
            X509_VERIFY_PARAM_set1_host(param, name, 0);
        ok = X509_verify_cert(vctx) == 1;
    }
    X509_STORE_CTX_free(vctx);
    X509_STORE_free(store);
    return ok;
}

static int usable(const ms_tls_tlsa *t)
{
    return (t->usage == USAGE_DANE_TA || t->usage == USAGE_DANE_EE) && t->selector <= SELECTOR_SPKI &&
           t->mtype <= MATCH_SHA512;
}

ms_tls_dane_state ms_tls_dane_match(const ms_tls_tlsa *records, size_t count,
                                    unsigned char *const *chain_der, const size_t *chain_len,
                                    size_t chain_count, const char *name, const char *location,
                                    ms_diag_list *diags)
{
    STACK_OF(X509) *sent = sk_X509_new_null();
    for (size_t i = 0; sent && i < chain_count; i++) {
        const unsigned char *p = chain_der[i];
        X509 *x = d2i_X509(NULL, &p, (long)chain_len[i]);
        if (x == NULL || !sk_X509_push(sent, x)) {
            X509_free(x);
            break;
        }
    }
    int n = sent ? sk_X509_num(sent) : 0;
    size_t usable_count = 0;
    ms_tls_dane_state state = MS_TLS_DANE_NO_RECORDS;
    for (size_t r = 0; r < count; r++) {
        const ms_tls_tlsa *t = &records[r];
        if (!usable(t)) {
            ms_diag_add(diags, &ms_tls_diag_defs[T_DANE_UNUSABLE], location, -1,
                        "TLSA %u %u %u is not usable for SMTP", t->usage, t->selector, t->mtype);
            continue;
        }
        usable_count++;
        if (n == 0 || state == MS_TLS_DANE_MATCH)
            continue;
        X509 *leaf = sk_X509_value(sent, 0);
        if (t->usage == USAGE_DANE_EE && record_matches(t, leaf)) {
            state = MS_TLS_DANE_MATCH;
            ms_diag_add(diags, &ms_tls_diag_defs[T_DANE_MATCH], location, -1,
                        "TLSA 3 %u %u matches the server's certificate", t->selector, t->mtype);
        }
        for (int i = 1; t->usage == USAGE_DANE_TA && state != MS_TLS_DANE_MATCH && i < n; i++) {
            X509 *ta = sk_X509_value(sent, i);
            if (record_matches(t, ta) && chain_verifies_to(leaf, sent, ta, name)) {
                state = MS_TLS_DANE_MATCH;
                ms_diag_add(diags, &ms_tls_diag_defs[T_DANE_MATCH], location, -1,
                            "TLSA 2 %u %u matches certificate %d of the chain, which the server's "
                            "certificate verifies up to",
                            t->selector, t->mtype, i + 1);
            }
        }
    }
    if (state != MS_TLS_DANE_MATCH && usable_count > 0) {
        state = MS_TLS_DANE_NO_MATCH;
        ms_diag_add(diags, &ms_tls_diag_defs[T_DANE_NO_MATCH], location, -1,
                    "none of %zu usable TLSA records matches the chain the server sent", usable_count);
    }
    sk_X509_pop_free(sent, X509_free);
    return state;
}
