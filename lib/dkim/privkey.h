/* What the signing files of lib/dkim share (privkey.c, sign.c, keygen.c). */
#ifndef MAILSEC_LIB_DKIM_PRIVKEY_H
#define MAILSEC_LIB_DKIM_PRIVKEY_H

#include "internal.h"

struct ms_dkim_privkey {
    void *pkey;            /* EVP_PKEY with the private half */
    ms_dkim_key_type type; /* MS_DKIM_KEY_RSA or MS_DKIM_KEY_ED25519 */
    unsigned bits;         /* RSA modulus bits; 256 for Ed25519 */
};

/* The smallest RSA key mailsec signs with or makes: RFC 8301 3.2 has
 * verifiers refuse smaller ones. */
#define DK_RSA_MIN_BITS 1024
#define DK_RSA_MAX_BITS 8192

/* The public key's bytes as p= carries them before base64 (RFC 6376 3.6.1,
 * RFC 8463): the DER SubjectPublicKeyInfo of an RSA key, the raw 32 bytes of
 * an Ed25519 key. Works on any EVP_PKEY of those two types, private or
 * public. Returns a malloc'ed buffer, NULL when it cannot be encoded. */
unsigned char *dk_public_bytes(const void *pkey, size_t *len);

/* A privkey around pkey (taken over); NULL, pkey freed, when the key is
 * not RSA of DK_RSA_MIN_BITS..DK_RSA_MAX_BITS bits or Ed25519, *why
 * saying so (a static string), or out of memory (*why NULL). */
ms_dkim_privkey *dk_privkey_wrap(void *pkey, const char **why);

#endif
