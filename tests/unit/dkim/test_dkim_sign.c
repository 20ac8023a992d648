/* The signer's streaming interface and its refusals. Whether signatures
 * verify is tested against three verifiers in tests/dkim/sign.sh; here:
 * the same message in any chunking, with LF or CRLF line ends, gives the
 * same signature bytes (RSA PKCS#1 v1.5 and Ed25519 are deterministic); h=
 * is the recommended set as present with From oversigned; x= and t=; the
 * bounds; keys in every PEM form the signer must read or refuse. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/internal.h"
#include "mailsec/dkim.h"
#include "unit/testutil.h"

#define T0 1800000000

static ms_dkim_privkey *rsa_key, *ed_key;

static char *source_path(const char *rel)
{
    const char *dir = getenv("MAILSEC_SOURCE_DIR");
    return ms_asprintf("%s/%s", dir ? dir : ".", rel);
}

static ms_dkim_privkey *load(const char *rel)
{
    char *path = source_path(rel), *why = NULL;
    ms_dkim_privkey *key = NULL;
    ms_status st = ms_dkim_privkey_load(path, &key, &why);
    if (st != MS_OK)
        fail_msg("%s: %s", path, why ? why : ms_status_str(st));
    free(path);
    return key;
}

static int setup(void **state)
{
    (void)state;
    rsa_key = load("tests/data/dkim/keys/rsa2048.pem");
    ed_key = load("tests/data/dkim/keys/ed25519.pem");
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    ms_dkim_privkey_free(rsa_key);
    ms_dkim_privkey_free(ed_key);
    return 0;
}

static const char MESSAGE[] =
    "From: Alice <alice@dkimtest.example>\n"
    "To: bob@example.net,\n"
    "  carol@example.net\n"
    "Subject: chunks\n"
    "List-Id: <l.dkimtest.example>\n"
    "X-Other: not signed\n"
    "\n"
    "line one  \t with  spaces\n"
    "\n"
    "line three\n"
    "\n"
    "\n";

static void two_options(ms_dkim_sign_options o[2])
{
    o[0] = (ms_dkim_sign_options){"dkimtest.example", "rsa2048", rsa_key, NULL, T0, 0};
    o[1] = (ms_dkim_sign_options){"dkimtest.example", "ed25519", ed_key, NULL, T0, 0};
}

static void free_values(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

/* Signs text with the signer fed field by field, the body in chunks of size
 * chunk. */
static char **sign_chunked(const char *text, size_t chunk)
{
    ms_dkim_sign_options o[2];
    two_options(o);
    ms_dkim_signer *s = NULL;
    assert_int_equal(ms_dkim_signer_new(o, 2, &s), MS_OK);
    const char *p = text;
    for (;;) {
        const char *eol = strchr(p, '\n');
        size_t line = (size_t)(eol - p);
        if (line == 0 || (line == 1 && p[0] == '\r')) {
            p = eol + 1;
            break;
        }
        const char *end = eol; /* continuation lines belong to the field */
        while (end[1] == ' ' || end[1] == '\t')
            end = strchr(end + 1, '\n');
        size_t flen = (size_t)(end - p);
        if (flen > 0 && p[flen - 1] == '\r')
            flen--;
        assert_int_equal(ms_dkim_signer_header(s, p, flen), MS_OK);
        p = end + 1;
    }
    for (size_t left = strlen(p); left > 0;) {
        size_t n = left < chunk ? left : chunk;
        assert_int_equal(ms_dkim_signer_body(s, p, n), MS_OK);
        p += n;
        left -= n;
    }
    char **values = NULL;
    size_t count = 0;
    assert_int_equal(ms_dkim_signer_finish(s, &values, &count), MS_OK);
    assert_int_equal(count, 2);
    ms_dkim_signer_free(s);
    return values;
}

static char *to_crlf(const char *lf)
{
    ms_buf b = MS_BUF_INIT;
    for (const char *p = lf; *p; p++)
        ms_buf_append(&b, *p == '\n' ? "\r\n" : p, *p == '\n' ? 2 : 1);
    return ms_buf_take(&b);
}

static void same_in_any_chunking(void **state)
{
    (void)state;
    ms_dkim_sign_options o[2];
    two_options(o);
    char **whole = NULL;
    size_t n = 0;
    assert_int_equal(ms_dkim_sign(o, 2, MESSAGE, strlen(MESSAGE), &whole, &n), MS_OK);
    assert_int_equal(n, 2);
    char *crlf = to_crlf(MESSAGE);
    static const size_t CHUNKS[] = {1, 2, 3, 7, 64, 4096};
    for (size_t c = 0; c < sizeof CHUNKS / sizeof CHUNKS[0]; c++) {
        /* a CR and its LF split across chunks, bare LF and CRLF alike */
        char **lf = sign_chunked(MESSAGE, CHUNKS[c]);
        char **cr = sign_chunked(crlf, CHUNKS[c]);
        for (size_t i = 0; i < 2; i++) {
            assert_string_equal(lf[i], whole[i]);
            assert_string_equal(cr[i], whole[i]);
        }
        free_values(lf, 2);
        free_values(cr, 2);
    }
    free(crlf);
    free_values(whole, n);
}

/* The value with each fold (CRLF TAB) made one space, for looking at tags
 * (the short h= lists here are not folded inside). */
static char *unfolded(const char *v)
{
    ms_buf b = MS_BUF_INIT;
    for (const char *p = v; *p; p++) {
        if (p[0] == '\r' && p[1] == '\n' && p[2] == '\t') {
            ms_buf_append(&b, " ", 1);
            p += 2;
        } else {
            ms_buf_append(&b, p, 1);
        }
    }
    return ms_buf_take(&b);
}

static void tags_and_folding(void **state)
{
    (void)state;
    ms_dkim_sign_options o[2];
    two_options(o);
    o[0].expire_after = 3600;
    char **v = NULL;
    size_t n = 0;
    assert_int_equal(ms_dkim_sign(o, 2, MESSAGE, strlen(MESSAGE), &v, &n), MS_OK);
    char *rsa = unfolded(v[0]), *ed = unfolded(v[1]);
    assert_non_null(strstr(rsa, "v=1; a=rsa-sha256; c=relaxed/relaxed; d=dkimtest.example; "
                                "s=rsa2048; t=1800000000; x=1800003600; "
                                "h=From:From:Subject:To:List-Id; bh="));
    assert_non_null(strstr(ed, "a=ed25519-sha256;"));
    assert_null(strstr(ed, "x="));
    /* both algorithms hash the body the same way: one body hash */
    const char *bh1 = strstr(rsa, "bh="), *bh2 = strstr(ed, "bh=");
    assert_int_equal(strncmp(bh1, bh2, 48), 0);
    /* folded with CRLF TAB, no line over 78 characters after the 16 of
     * "DKIM-Signature: " */
    size_t col = 16;
    for (const char *p = v[0]; *p; p++) {
        if (*p == '\r') {
            assert_int_equal(p[1], '\n');
            assert_int_equal(p[2], '\t');
            col = 0;
            p++;
            continue;
        }
        col++;
        assert_true(col <= 78);
    }
    free(rsa);
    free(ed);
    free_values(v, n);
}

static void from_oversigned(void **state)
{
    (void)state;
    static const char TWO[] = "From: a@dkimtest.example\nFrom: b@dkimtest.example\nSubject: x\n\nb\n";
    static const char NONE[] = "Subject: no From at all\n\nb\n";
    /* a ";" in a name would end h=: such a field is left unsigned */
    static const char SEMI[] = "From: a@dkimtest.example\nList-x;b=1: y\nList-Id: <l>\n\nb\n";
    ms_dkim_sign_options o = {"dkimtest.example", "rsa2048", rsa_key, NULL, T0, 0};
    char **v = NULL;
    size_t n = 0;
    assert_int_equal(ms_dkim_sign(&o, 1, TWO, strlen(TWO), &v, &n), MS_OK);
    char *u = unfolded(v[0]);
    assert_non_null(strstr(u, "h=From:From:From:Subject;"));
    free(u);
    free_values(v, n);
    assert_int_equal(ms_dkim_sign(&o, 1, NONE, strlen(NONE), &v, &n), MS_OK);
    u = unfolded(v[0]);
    assert_non_null(strstr(u, "h=From:Subject;")); /* no From may be added */
    free(u);
    free_values(v, n);
    assert_int_equal(ms_dkim_sign(&o, 1, SEMI, strlen(SEMI), &v, &n), MS_OK);
    u = unfolded(v[0]);
    assert_non_null(strstr(u, "h=From:From:List-Id;"));
    free(u);
    free_values(v, n);
}

static void refusals(void **state)
{
    (void)state;
    const char *no_from[] = {"Subject", NULL};
    const char *bad_name[] = {"From", "Sub ject", NULL};
    ms_dkim_sign_options o = {"dkimtest.example", "rsa2048", rsa_key, NULL, T0, 0};
    ms_dkim_signer *s = NULL;
    assert_int_equal(ms_dkim_signer_new(&o, 0, &s), MS_ERR_INVALID);
    o.headers = no_from; /* RFC 6376 5.4: From must be signed */
    assert_int_equal(ms_dkim_signer_new(&o, 1, &s), MS_ERR_INVALID);
    o.headers = bad_name;
    assert_int_equal(ms_dkim_signer_new(&o, 1, &s), MS_ERR_INVALID);
    o.headers = NULL;
    o.selector = "bad selector";
    assert_int_equal(ms_dkim_signer_new(&o, 1, &s), MS_ERR_INVALID);
    o.selector = "rsa2048";
    o.domain = "not a domain";
    assert_int_equal(ms_dkim_signer_new(&o, 1, &s), MS_ERR_INVALID);
    o.domain = "dkimtest.example";
    o.key = NULL;
    assert_int_equal(ms_dkim_signer_new(&o, 1, &s), MS_ERR_INVALID);
    o.key = rsa_key;
    assert_null(s);

    /* order: no header after the body; the error sticks */
    assert_int_equal(ms_dkim_signer_new(&o, 1, &s), MS_OK);
    assert_int_equal(ms_dkim_signer_header(s, "From: a@b.example", 17), MS_OK);
    assert_int_equal(ms_dkim_signer_header(s, "A\0B: a NUL in the name", 22), MS_ERR_INVALID);
    assert_int_equal(ms_dkim_signer_body(s, "x\n", 2), MS_ERR_INVALID);
    char **v = NULL;
    size_t n = 0;
    assert_int_equal(ms_dkim_signer_finish(s, &v, &n), MS_ERR_INVALID);
    assert_null(v);
    ms_dkim_signer_free(s);

    assert_int_equal(ms_dkim_signer_new(&o, 1, &s), MS_OK);
    assert_int_equal(ms_dkim_signer_body(s, "x\n", 2), MS_OK);
    assert_int_equal(ms_dkim_signer_header(s, "From: a@b.example", 17), MS_ERR_INVALID);
    ms_dkim_signer_free(s);
    assert_int_equal(ms_dkim_signer_new(&o, 1, &s), MS_OK);
    assert_int_equal(ms_dkim_signer_header(s, "no colon here", 13), MS_ERR_INVALID);
    ms_dkim_signer_free(s);

    /* bounds: fields and bytes of the header section */
    assert_int_equal(ms_dkim_signer_new(&o, 1, &s), MS_OK);
    ms_status st = MS_OK;
    for (int i = 0; i <= MS_DKIM_MAX_HEADERS && st == MS_OK; i++)
        st = ms_dkim_signer_header(s, "X-A: b", 6);
    assert_int_equal(st, MS_ERR_LIMIT);
    ms_dkim_signer_free(s);
    size_t big = 64 * 1024;
    char *field = malloc(big);
    assert_non_null(field);
    memset(field, 'a', big);
    memcpy(field, "X-Big: ", 7);
    assert_int_equal(ms_dkim_signer_new(&o, 1, &s), MS_OK);
    st = MS_OK;
    for (size_t total = 0; total <= MS_DKIM_MAX_HEADER_BYTES && st == MS_OK; total += big)
        st = ms_dkim_signer_header(s, field, big);
    assert_int_equal(st, MS_ERR_LIMIT);
    ms_dkim_signer_free(s);
    free(field);
}

/* A key written by OpenSSL in form (PKCS#8, traditional RSA, encrypted). */
static char *write_key(EVP_PKEY *pkey, int traditional, int encrypted)
{
    char *path = ms_asprintf("/tmp/mailsec-unit-dkim-sign.%ld.pem", (long)getpid());
    BIO *f = BIO_new_file(path, "w");
    assert_non_null(f);
    int ok = traditional ? PEM_write_bio_PrivateKey_traditional(f, pkey, NULL, NULL, 0, NULL, NULL)
             : encrypted ? PEM_write_bio_PrivateKey(f, pkey, EVP_aes_256_cbc(),
                                                    (unsigned char *)"pw", 2, NULL, NULL)
                         : PEM_write_bio_PrivateKey(f, pkey, NULL, NULL, 0, NULL, NULL);
    assert_int_equal(ok, 1);
    BIO_free(f);
    return path;
}

static void key_forms(void **state)
{
    (void)state;
    ms_dkim_privkey *k = NULL;
    char *why = NULL;
    EVP_PKEY *rsa = EVP_RSA_gen(1024);
    assert_non_null(rsa);
    char *path = write_key(rsa, 1, 0);
    assert_int_equal(ms_dkim_privkey_load(path, &k, &why), MS_OK); /* BEGIN RSA PRIVATE KEY */
    assert_int_equal(ms_dkim_privkey_type(k), MS_DKIM_KEY_RSA);
    assert_int_equal(ms_dkim_privkey_bits(k), 1024);
    ms_dkim_privkey_free(k);
    unlink(path);
    free(path);
    path = write_key(rsa, 0, 1);
    assert_int_equal(ms_dkim_privkey_load(path, &k, &why), MS_ERR_INVALID); /* no prompt */
    assert_null(k);
    assert_non_null(strstr(why, "not an unencrypted PEM private key"));
    free(why);
    unlink(path);
    free(path);
    EVP_PKEY_free(rsa);
    EVP_PKEY *ec = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    path = write_key(ec, 0, 0);
    assert_int_equal(ms_dkim_privkey_load(path, &k, &why), MS_ERR_INVALID);
    assert_non_null(strstr(why, "neither RSA nor Ed25519"));
    free(why);
    unlink(path);
    free(path);
    EVP_PKEY_free(ec);
    assert_int_equal(ms_dkim_privkey_load("/nonexistent/key.pem", &k, &why), MS_ERR_IO);
    free(why);
    /* a generated key's record lints clean */
    assert_int_equal(ms_dkim_privkey_generate(MS_DKIM_KEY_ED25519, 0, &k), MS_OK);
    char *record = NULL;
    assert_int_equal(ms_dkim_privkey_record(k, &record), MS_OK);
    ms_diag_list diags = MS_DIAG_LIST_INIT;
    ms_dkim_key *pub = NULL;
    assert_int_equal(ms_dkim_key_parse(record, strlen(record), NULL, &pub, &diags), MS_OK);
    assert_true(pub->usable);
    assert_int_equal(diags.count, 0);
    ms_dkim_key_free(pub);
    ms_diag_list_free(&diags);
    free(record);
    ms_dkim_privkey_free(k);
    assert_int_equal(ms_dkim_privkey_generate(MS_DKIM_KEY_RSA, 512, &k), MS_ERR_INVALID);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(same_in_any_chunking),
        cmocka_unit_test(tags_and_folding),
        cmocka_unit_test(from_oversigned),
        cmocka_unit_test(refusals),
        cmocka_unit_test(key_forms),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
