/* libFuzzer harness for the DKIM signer: arbitrary bytes are a message
 * (hostile mail reaches `mailsec milter`'s signer). The first byte picks
 * the body's chunk size. Invariants: the signer fed field by field with the
 * body in chunks gives the same status and the same signature bytes as
 * ms_dkim_sign over the whole message (Ed25519 is deterministic); a
 * signature is a well-formed DKIM-Signature value that mailsec's own parser
 * reads as usable, folded only with CRLF TAB. Everything is freed, so
 * LeakSanitizer sees any leak. */
#include "dkim/privkey.h"

#include <openssl/evp.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static ms_dkim_privkey *fuzz_key(void)
{
    static ms_dkim_privkey *key;
    if (key == NULL) {
        static const unsigned char SEED[32] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16,
                                               17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32};
        const char *why = NULL;
        key = dk_privkey_wrap(EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, SEED, 32), &why);
        if (key == NULL)
            __builtin_trap();
    }
    return key;
}

/* The streaming signer over the same fields ms_dkim_sign reads. */
static ms_status sign_streaming(const ms_dkim_sign_options *o, const char *msg, size_t len,
                                size_t chunk, char ***values, size_t *count)
{
    ms_dkim_signer *s = NULL;
    ms_status st = ms_dkim_signer_new(o, 1, &s);
    if (st != MS_OK)
        return st;
    dk_splitter sp;
    dk_splitter_init(&sp, msg, len);
    const char *field = NULL;
    size_t flen = 0;
    while (st == MS_OK && dk_next_field(&sp, &field, &flen))
        st = ms_dkim_signer_header(s, field, flen);
    for (size_t pos = sp.pos; st == MS_OK && pos < len; pos += chunk)
        st = ms_dkim_signer_body(s, msg + pos, len - pos < chunk ? len - pos : chunk);
    if (st == MS_OK)
        st = ms_dkim_signer_finish(s, values, count);
    ms_dkim_signer_free(s);
    return st;
}

static void check_value(const char *v)
{
    for (const char *p = v; *p; p++)
        if ((*p == '\n' && (p == v || p[-1] != '\r')) || (*p == '\r' && (p[1] != '\n' || p[2] != '\t')))
            __builtin_trap();
    ms_dkim_signature *sig = NULL;
    ms_diag_list diags = MS_DIAG_LIST_INIT;
    if (ms_dkim_signature_parse(v, strlen(v), NULL, &sig, &diags) != MS_OK || !sig->usable ||
        sig->alg != MS_DKIM_ALG_ED25519_SHA256 || sig->b_len != 64 || sig->bh_len != 32)
        __builtin_trap();
    ms_dkim_signature_free(sig);
    ms_diag_list_free(&diags);
}

static void free_values(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    size_t chunk = (size_t)data[0] % 64 + 1;
    const char *msg = (const char *)data + 1;
    size_t len = size - 1;
    ms_dkim_sign_options o = {"example.com", "fuzz", fuzz_key(), NULL, 1800000000, 3600};
    char **whole = NULL, **streamed = NULL;
    size_t nw = 0, ns = 0;
    ms_status a = ms_dkim_sign(&o, 1, msg, len, &whole, &nw);
    ms_status b = sign_streaming(&o, msg, len, chunk, &streamed, &ns);
    if (a != b || nw != ns || (a == MS_OK && (nw != 1 || strcmp(whole[0], streamed[0]) != 0)))
        __builtin_trap();
    if (a == MS_OK)
        check_value(whole[0]);
    else if (a != MS_ERR_INVALID && a != MS_ERR_LIMIT)
        __builtin_trap();
    free_values(whole, nw);
    free_values(streamed, ns);
    return 0;
}
