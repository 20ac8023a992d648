/* Private keys for signing: loading PEM files, the public half as p=
 * carries it, and comparing it with a published key record. */
#include "privkey.h"
#include "core/lazy_openssl.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* A PEM private key is a few kilobytes (an 8192-bit RSA key under 7 KiB). */
#define MAX_PEM_BYTES 65536

ms_dkim_key_type ms_dkim_privkey_type(const ms_dkim_privkey *key)
{
    return key ? key->type : MS_DKIM_KEY_UNKNOWN;
}

unsigned ms_dkim_privkey_bits(const ms_dkim_privkey *key)
{
    return key ? key->bits : 0;
}

void ms_dkim_privkey_free(ms_dkim_privkey *key)
{
    if (key == NULL)
        return;
    EVP_PKEY_free(key->pkey);
    free(key);
}

ms_dkim_privkey *dk_privkey_wrap(void *pkey, const char **why)
{
    int id = EVP_PKEY_get_base_id(pkey);
    int bits = EVP_PKEY_get_bits(pkey);
    *why = NULL;
    if (id == EVP_PKEY_RSA && bits < DK_RSA_MIN_BITS)
        *why = "RSA keys under 1024 bits are refused by verifiers (RFC 8301 3.2)";
    else if (id == EVP_PKEY_RSA && bits > DK_RSA_MAX_BITS)
        *why = "RSA keys over 8192 bits are not used for DKIM (verifiers may refuse them)";
    else if (id != EVP_PKEY_RSA && id != EVP_PKEY_ED25519)
        *why = "the key is neither RSA nor Ed25519, the two DKIM key types";
    ms_dkim_privkey *key = *why ? NULL : calloc(1, sizeof *key);
    if (key == NULL) {
        EVP_PKEY_free(pkey);
        return NULL;
    }
    key->pkey = pkey;
    key->type = id == EVP_PKEY_RSA ? MS_DKIM_KEY_RSA : MS_DKIM_KEY_ED25519;
    key->bits = (unsigned)bits;
    return key;
}

/* Encrypted keys are refused rather than prompted for: the signer runs
 * unattended, and a daemon cannot type a passphrase. */
static int no_passphrase(char *buf, int size, int rwflag, void *arg)
{
    (void)buf, (void)size, (void)rwflag, (void)arg;
    return -1;
}

static ms_status load_fail(char **errmsg, const char *path, const char *why)
{
    if (errmsg)
        *errmsg = ms_asprintf("%s: %s", path, why);
    return MS_ERR_INVALID;
}

ms_status ms_dkim_privkey_load(const char *path, ms_dkim_privkey **out, char **errmsg)
{
    if (errmsg)
        *errmsg = NULL;
    if (out == NULL || path == NULL)
        return MS_ERR_INVALID;
    *out = NULL;
    BIO *bio = BIO_new_file(path, "rb");
    if (bio == NULL) {
        if (errmsg)
            *errmsg = ms_asprintf("%s: cannot open: %s", path, strerror(errno));
        return MS_ERR_IO;
    }
    /* bounded read: a key file that is not a key may be anything */
    char *pem = malloc(MAX_PEM_BYTES + 1);
    int n = pem ? BIO_read(bio, pem, MAX_PEM_BYTES + 1) : -1;
    BIO_free(bio);
    if (pem == NULL)
        return MS_ERR_NOMEM;
    if (n > MAX_PEM_BYTES) {
        free(pem);
        return load_fail(errmsg, path, "over 64 KiB: not a PEM private key");
    }
    BIO *mem = BIO_new_mem_buf(pem, n < 0 ? 0 : n);
    EVP_PKEY *pkey = mem ? PEM_read_bio_PrivateKey(mem, NULL, no_passphrase, NULL) : NULL;
    BIO_free(mem);
    OPENSSL_cleanse(pem, MAX_PEM_BYTES + 1);
    free(pem);
    if (pkey == NULL)
        return load_fail(errmsg, path,
                         "not an unencrypted PEM private key (PKCS#8 or traditional RSA)");
    const char *why = NULL;
    *out = dk_privkey_wrap(pkey, &why);
    if (*out == NULL)
        return why ? load_fail(errmsg, path, why) : MS_ERR_NOMEM;
    return MS_OK;
}

unsigned char *dk_public_bytes(const void *pkey_in, size_t *len)
{
    EVP_PKEY *pkey = (EVP_PKEY *)pkey_in; /* OpenSSL's getters are not const */
    *len = 0;
    if (EVP_PKEY_get_base_id(pkey) == EVP_PKEY_ED25519) {
        unsigned char *raw = malloc(32);
        size_t rlen = 32;
        if (raw == NULL || EVP_PKEY_get_raw_public_key(pkey, raw, &rlen) != 1 || rlen != 32) {
            free(raw);
            return NULL;
        }
        *len = rlen;
        return raw;
    }
    int dlen = i2d_PUBKEY(pkey, NULL);
    unsigned char *der = dlen > 0 ? malloc((size_t)dlen) : NULL;
    unsigned char *p = der;
    if (der == NULL || i2d_PUBKEY(pkey, &p) != dlen) {
        free(der);
        return NULL;
    }
    *len = (size_t)dlen;
    return der;
}

ms_status ms_dkim_privkey_record(const ms_dkim_privkey *key, char **record)
{
    if (record == NULL)
        return MS_ERR_INVALID;
    *record = NULL;
    if (key == NULL)
        return MS_ERR_INVALID;
    size_t len = 0;
    unsigned char *pub = dk_public_bytes(key->pkey, &len);
    if (pub == NULL)
        return MS_ERR_NOMEM;
    char *b64 = malloc(4 * ((len + 2) / 3) + 1);
    if (b64 != NULL)
        EVP_EncodeBlock((unsigned char *)b64, pub, (int)len);
    free(pub);
    if (b64 != NULL)
        *record = ms_asprintf("v=DKIM1; k=%s; p=%s", ms_dkim_key_type_str(key->type), b64);
    free(b64);
    return *record ? MS_OK : MS_ERR_NOMEM;
}

/* 1 when both keys have the same public bytes, 0 when not, -1 no memory. */
static int same_public_key(const void *a, const void *b)
{
    size_t alen = 0, blen = 0;
    unsigned char *x = dk_public_bytes(a, &alen);
    unsigned char *y = x ? dk_public_bytes(b, &blen) : NULL;
    int same = y == NULL ? -1 : alen == blen && memcmp(x, y, alen) == 0;
    free(x);
    free(y);
    return same;
}

int ms_dkim_selector_matches(ms_dkim_selector_check *s, const ms_dkim_privkey *key)
{
    if (s == NULL || key == NULL || s->key == NULL)
        return -1;
    if (s->key->revoked) {
        ms_diag_add(&s->diags, DKD(DK_PRIVATE_KEY_MISMATCH), s->name, -1,
                    "%s publishes a revoked key (empty p=), not the private key's public half",
                    s->name);
        return 0;
    }
    if (s->key->pkey == NULL)
        return -1;
    int same = same_public_key(s->key->pkey, key->pkey);
    if (same != 0)
        return same;
    ms_diag_add(&s->diags, DKD(DK_PRIVATE_KEY_MISMATCH), s->name, -1,
                "%s publishes another key (%s, %u bits) than the private key's public half "
                "(%s, %u bits)", s->name, ms_dkim_key_type_str(s->key->type), s->key->key_bits,
                ms_dkim_key_type_str(key->type), key->bits);
    return 0;
}
