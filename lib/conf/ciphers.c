/* The TLS 1.2 (and older) cipher suites a cipher string enables, as the
 * OpenSSL mailsec is linked with expands it (SSL_CTX_set_cipher_list on a
 * fresh context, then SSL_CTX_get_ciphers: what `openssl ciphers -v
 * STRING` lists), each put in the worst category it belongs to. TLS 1.3
 * suites are left out (they are set apart, by Dovecot's ssl_cipher_suites
 * or OpenSSL's configuration, and all are AEAD with forward secrecy), and so are
 * PSK and SRP suites, which a server without a pre-shared key or an SRP
 * verifier never negotiates. */
#include "internal.h"

#include "core/lazy_openssl.h"
#include <string.h>

/* As the findings name them: "RC4 suites (2: RC4-SHA, RC4-MD5)". */
static const char *const CATEGORY_NAMES[CF_CIPHER_CATEGORIES] = {
    [CF_CIPHER_NULL] = "NULL-encryption or EXPORT",
    [CF_CIPHER_ANON] = "anonymous",
    [CF_CIPHER_RC4] = "RC4",
    [CF_CIPHER_64BIT] = "3DES and other 64-bit block",
    [CF_CIPHER_NO_FS] = "non-forward-secret",
    [CF_CIPHER_CBC_SHA1] = "CBC with SHA-1",
    [CF_CIPHER_GOOD] = "AEAD or SHA-2 with forward secrecy",
};

const char *cf_cipher_category_name(cf_cipher_category c)
{
    return CATEGORY_NAMES[c];
}

/* Suites only negotiated with a pre-shared key or an SRP verifier. */
static int needs_psk_or_srp(const SSL_CIPHER *c)
{
    int kx = SSL_CIPHER_get_kx_nid(c), auth = SSL_CIPHER_get_auth_nid(c);
    return kx == NID_kx_psk || kx == NID_kx_rsa_psk || kx == NID_kx_dhe_psk ||
           kx == NID_kx_ecdhe_psk || kx == NID_kx_srp || auth == NID_auth_psk ||
           auth == NID_auth_srp;
}

static cf_cipher_category category_of(const SSL_CIPHER *c)
{
    int enc = SSL_CIPHER_get_cipher_nid(c);
    int kx = SSL_CIPHER_get_kx_nid(c);
    if (enc == NID_undef || SSL_CIPHER_get_bits(c, NULL) < 112) /* EXPORT: 40 or 56 bits */
        return CF_CIPHER_NULL;
    if (SSL_CIPHER_get_auth_nid(c) == NID_auth_null)
        return CF_CIPHER_ANON;
    if (enc == NID_rc4 || enc == NID_rc4_40)
        return CF_CIPHER_RC4;
    if (enc == NID_des_cbc || enc == NID_des_ede3_cbc || enc == NID_idea_cbc || enc == NID_rc2_cbc)
        return CF_CIPHER_64BIT;
    /* forward secrecy: ephemeral (EC)DH; static RSA, DH and ECDH have none */
    if (kx != NID_kx_ecdhe && kx != NID_kx_dhe)
        return CF_CIPHER_NO_FS;
    if (!SSL_CIPHER_is_aead(c) && SSL_CIPHER_get_digest_nid(c) == NID_sha1)
        return CF_CIPHER_CBC_SHA1;
    return CF_CIPHER_GOOD;
}

ms_status cf_ciphers_judge(const char *list, cf_cipher_verdict *out)
{
    memset(out, 0, sizeof *out);
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    if (ctx == NULL)
        return MS_ERR_NOMEM;
    /* the string as the server hands it over; OpenSSL's own rules decide */
    if (SSL_CTX_set_cipher_list(ctx, list) != 1) {
        out->none = 1;
        SSL_CTX_free(ctx);
        return MS_OK;
    }
    STACK_OF(SSL_CIPHER) *suites = SSL_CTX_get_ciphers(ctx);
    ms_status st = MS_OK;
    for (int i = 0; i < sk_SSL_CIPHER_num(suites) && st == MS_OK; i++) {
        const SSL_CIPHER *c = sk_SSL_CIPHER_value(suites, i);
        if (SSL_CIPHER_get_kx_nid(c) == NID_kx_any || needs_psk_or_srp(c))
            continue; /* TLS 1.3, or never negotiated here */
        cf_cipher_category cat = category_of(c);
        out->dhe += SSL_CIPHER_get_kx_nid(c) == NID_kx_dhe;
        ms_buf *names = &out->names[cat];
        if (names->len > 0)
            ms_buf_puts(names, ", ");
        ms_buf_puts(names, SSL_CIPHER_get_name(c));
        out->count[cat]++;
        if (names->failed)
            st = MS_ERR_NOMEM;
    }
    SSL_CTX_free(ctx);
    if (st != MS_OK)
        cf_cipher_verdict_free(out);
    return st;
}

void cf_cipher_verdict_free(cf_cipher_verdict *v)
{
    for (int i = 0; i < CF_CIPHER_CATEGORIES; i++)
        ms_buf_free(&v->names[i]);
    memset(v, 0, sizeof *v);
}
