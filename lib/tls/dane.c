/* DANE for SMTP (RFC 7672): which TLSA records may be used and whether one
 * matches the chain the server sent. */
#include "internal.h"

#include "core/lazy_openssl.h"
#include <limits.h>
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

/* Whether the record's data matches cert, by its selector and matching
 * type, into *match. The certificate is parsed already, so its encoding
 * or digest can fail only for want of memory. */
static ms_status record_matches(const ms_tls_tlsa *t, X509 *cert, int *match)
{
    unsigned char *selected = NULL;
    int len = t->selector == SELECTOR_CERT ? i2d_X509(cert, &selected)
                                           : i2d_X509_PUBKEY(X509_get_X509_PUBKEY(cert), &selected);
    if (len <= 0)
        return MS_ERR_NOMEM;
    unsigned char digest[EVP_MAX_MD_SIZE];
    const unsigned char *value = selected;
    unsigned value_len = (unsigned)len;
    ms_status st = MS_OK;
    if (t->mtype != MATCH_FULL) {
        const EVP_MD *md = t->mtype == MATCH_SHA256 ? EVP_sha256() : EVP_sha512();
        if (EVP_Digest(selected, (size_t)len, digest, &value_len, md, NULL) != 1)
            st = MS_ERR_NOMEM;
        value = digest;
    }
    *match = st == MS_OK && value_len == t->len && memcmp(value, t->data, t->len) == 0;
    OPENSSL_free(selected);
    return st;
}

/* DANE-TA: whether the leaf's chain (with the other certificates sent as
 * intermediates) verifies up to anchor and the leaf covers name, into
 * *ok. Every step but the verification itself fails only for want of
 * memory; a verification that ran out of memory says so too. */
static ms_status chain_verifies_to(X509 *leaf, STACK_OF(X509) *sent, X509 *anchor, const char *name,
                                   int *ok)
{
    X509_STORE *store = X509_STORE_new();
    X509_STORE_CTX *vctx = X509_STORE_CTX_new();
    ms_status st = MS_ERR_NOMEM;
    *ok = 0;
    if (store && vctx && X509_STORE_add_cert(store, anchor) == 1 &&
        X509_STORE_CTX_init(vctx, store, leaf, sent) == 1) {
        X509_VERIFY_PARAM *param = X509_STORE_CTX_get0_param(vctx);
        /* the anchor need not be self-signed (RFC 7671 5.2.2) */
        X509_VERIFY_PARAM_set_flags(param, X509_V_FLAG_PARTIAL_CHAIN);
        if (name == NULL || X509_VERIFY_PARAM_set1_host(param, name, 0) == 1) {
            *ok = X509_verify_cert(vctx) == 1;
            st = !*ok && X509_STORE_CTX_get_error(vctx) == X509_V_ERR_OUT_OF_MEM ? MS_ERR_NOMEM
                                                                                 : MS_OK;
        }
    }
    X509_STORE_CTX_free(vctx);
    X509_STORE_free(store);
    return st;
}

static int usable(const ms_tls_tlsa *t)
{
    return (t->usage == USAGE_DANE_TA || t->usage == USAGE_DANE_EE) && t->selector <= SELECTOR_SPKI &&
           t->mtype <= MATCH_SHA512;
}

/* The chain as sent, parsed, into *out (freed by the caller, also on
 * failure): MS_ERR_INVALID when a certificate is not DER. */
static ms_status parse_chain(unsigned char *const *der, const size_t *len, size_t count,
                             STACK_OF(X509) **out)
{
    if ((*out = sk_X509_new_null()) == NULL)
        return MS_ERR_NOMEM;
    for (size_t i = 0; i < count; i++) {
        const unsigned char *p = der[i];
        X509 *x = len[i] <= LONG_MAX ? d2i_X509(NULL, &p, (long)len[i]) : NULL;
        if (x == NULL)
            return MS_ERR_INVALID;
        if (!sk_X509_push(*out, x)) {
            X509_free(x);
            return MS_ERR_NOMEM;
        }
    }
    return MS_OK;
}

/* Whether the usable record t matches the chain sent (leaf first, n > 0),
 * into *match, with its finding. */
static ms_status usable_record_matches(const ms_tls_tlsa *t, STACK_OF(X509) *sent, const char *name,
                                       const char *location, ms_diag_list *diags, int *match)
{
    X509 *leaf = sk_X509_value(sent, 0);
    ms_status st = MS_OK;
    *match = 0;
    if (t->usage == USAGE_DANE_EE && (st = record_matches(t, leaf, match)) == MS_OK && *match)
        return ms_diag_add(diags, &ms_tls_diag_defs[T_DANE_MATCH], location, -1,
                           "TLSA 3 %u %u matches the server's certificate", t->selector, t->mtype);
    for (int i = 1; t->usage == USAGE_DANE_TA && st == MS_OK && i < sk_X509_num(sent); i++) {
        X509 *ta = sk_X509_value(sent, i);
        if ((st = record_matches(t, ta, match)) != MS_OK || !*match)
            continue;
        if ((st = chain_verifies_to(leaf, sent, ta, name, match)) == MS_OK && *match)
            return ms_diag_add(diags, &ms_tls_diag_defs[T_DANE_MATCH], location, -1,
                               "TLSA 2 %u %u matches certificate %d of the chain, which the "
                               "server's certificate verifies up to",
                               t->selector, t->mtype, i + 1);
    }
    return st;
}

ms_status ms_tls_dane_match(const ms_tls_tlsa *records, size_t count, unsigned char *const *chain_der,
                            const size_t *chain_len, size_t chain_count, const char *name,
                            const char *location, ms_diag_list *diags, ms_tls_dane_state *state)
{
    STACK_OF(X509) *sent = NULL;
    ms_status st = parse_chain(chain_der, chain_len, chain_count, &sent);
    size_t usable_count = 0;
    int matched = 0;
    for (size_t r = 0; st == MS_OK && r < count; r++) {
        const ms_tls_tlsa *t = &records[r];
        if (!usable(t)) {
            st = ms_diag_add(diags, &ms_tls_diag_defs[T_DANE_UNUSABLE], location, -1,
                             "TLSA %u %u %u is not usable for SMTP", t->usage, t->selector, t->mtype);
            continue;
        }
        usable_count++;
        if (chain_count > 0 && !matched)
            st = usable_record_matches(t, sent, name, location, diags, &matched);
    }
    if (st == MS_OK && !matched && usable_count > 0)
        st = ms_diag_add(diags, &ms_tls_diag_defs[T_DANE_NO_MATCH], location, -1,
                         "none of %zu usable TLSA records matches the chain the server sent",
                         usable_count);
    sk_X509_pop_free(sent, X509_free);
    *state = matched            ? MS_TLS_DANE_MATCH
             : usable_count > 0 ? MS_TLS_DANE_NO_MATCH
                                : MS_TLS_DANE_NO_RECORDS;
    return st;
}
