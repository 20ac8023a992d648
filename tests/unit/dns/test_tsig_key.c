/* TSIG key files (lib/dns/tsig.c): the two forms users have, and the
 * ways a file goes wrong, each refused with its line. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mailsec/dns.h"

static const char SECRET[] = "CWLF8Hy0U552jp5i8x0vhqwbji9nhE6Pkg+Lsh+PFd4=";

/* Parses text; on success checks the parts and returns NULL, else returns
 * the error (caller frees). */
static char *parse(const char *text, ms_status want, const char *name, const char *alg)
{
    ms_dns_tsig_key key;
    char *error = NULL;
    ms_status st = ms_dns_tsig_key_parse(text, strlen(text), &key, &error);
    assert_int_equal(st, want);
    if (st != MS_OK) {
        assert_non_null(error);
        return error;
    }
    assert_null(error);
    assert_string_equal(key.name, name);
    assert_string_equal(key.algorithm, alg);
    assert_string_equal(key.secret, SECRET);
    ms_dns_tsig_key_clear(&key);
    assert_null(key.secret);
    return NULL;
}

static void expect_error(const char *text, const char *words)
{
    char *error = parse(text, MS_ERR_INVALID, NULL, NULL);
    if (strstr(error, words) == NULL)
        fail_msg("error \"%s\" lacks \"%s\"", error, words);
    free(error);
}

static void bind_key_file_as_tsig_keygen_writes_it(void **state)
{
    (void)state;
    char text[256];
    snprintf(text, sizeof text, "key \"update.example.\" {\n\talgorithm hmac-sha256;\n\tsecret \"%s\";\n};\n",
             SECRET);
    parse(text, MS_OK, "update.example", "hmac-sha256");
}

static void bind_form_with_comments_any_order_and_case(void **state)
{
    (void)state;
    char text[256];
    snprintf(text, sizeof text,
             "# a comment\n// another\n/* and\n one */ KEY k1 { Secret \"%s\"; ALGORITHM hmac-SHA512; };",
             SECRET);
    parse(text, MS_OK, "k1", "hmac-SHA512");
}

static void one_line_forms(void **state)
{
    (void)state;
    char text[256];
    snprintf(text, sizeof text, "update-key:hmac-sha256:%s\n", SECRET);
    parse(text, MS_OK, "update-key", "hmac-sha256");
    /* knsupdate -y's order: the algorithm first. */
    snprintf(text, sizeof text, "hmac-sha1:update-key.:%s", SECRET);
    parse(text, MS_OK, "update-key", "hmac-sha1");
}

static void problems_are_named_with_their_line(void **state)
{
    (void)state;
    char text[256];
    snprintf(text, sizeof text, "key k {\n algorithm hmac-sha256;\n};\n");
    expect_error(text, "line 3: the key has no secret");
    snprintf(text, sizeof text, "key k {\n algorithm hmac-sha384;\n secret \"%s\";\n};", SECRET);
    expect_error(text, "line 2: unsupported algorithm \"hmac-sha384\"");
    expect_error("key k {\n algorithm hmac-sha256;\n secret \"not base64!\";\n};", "line 3: the secret is not base64");
    snprintf(text, sizeof text, "key k { algorithm hmac-sha256; algorithm hmac-sha1; secret \"%s\"; };", SECRET);
    expect_error(text, "line 1: algorithm is given twice");
    snprintf(text, sizeof text, "key k { algorithm hmac-sha256; secret \"%s\"; };\nkey j { };", SECRET);
    expect_error(text, "line 2: only one key statement is allowed");
    expect_error("key k { /* never closed", "a comment is not closed");
    expect_error("key \"k { algorithm", "a quoted string is not closed");
    expect_error("key k { algorithm hmac-sha256 secret \"c2VjcmV0\"; };", "expected ';'");
    expect_error("key k { algorithm hmac-sha256; secret \"c2VjcmV0\"; }", "expected ';'");
    expect_error("key k { include \"/etc/other.key\"; };", "expected algorithm, secret or '}'");
    expect_error("key \"a..b\" { algorithm hmac-sha256; secret \"c2VjcmV0\"; };", "is not a key name");
    expect_error("update-key:hmac-sha256", "expected name:algorithm:secret");
    expect_error("", "expected name:algorithm:secret");
    expect_error("k:hmac-sha256:c2Vj\ncmV0", "one line");
    expect_error("k:hmac-sha256:c2VjcmV0\x01", "not base64");
}

static void hostile_bytes_and_sizes(void **state)
{
    (void)state;
    ms_dns_tsig_key key;
    char *error = NULL;
    static const char with_nul[] = "k:hmac-sha256:c2Vj\0cmV0";
    assert_int_equal(ms_dns_tsig_key_parse(with_nul, sizeof with_nul - 1, &key, &error), MS_ERR_INVALID);
    assert_string_equal(error, "the key holds a NUL byte");
    free(error);
    size_t big = MS_DNS_TSIG_MAX_FILE + 1;
    char *text = malloc(big);
    assert_non_null(text);
    memset(text, ' ', big);
    assert_int_equal(ms_dns_tsig_key_parse(text, big, &key, &error), MS_ERR_LIMIT);
    free(error);
    free(text);
    /* A secret one character over the bound. */
    char line[MS_DNS_TSIG_MAX_SECRET + 64];
    int n = snprintf(line, sizeof line, "k:hmac-sha256:");
    memset(line + n, 'A', MS_DNS_TSIG_MAX_SECRET + 4);
    line[n + MS_DNS_TSIG_MAX_SECRET + 4] = '\0';
    expect_error(line, "not base64 (padded, at most 512 characters)");
    line[n + MS_DNS_TSIG_MAX_SECRET] = '\0';
    assert_int_equal(ms_dns_tsig_key_parse(line, strlen(line), &key, &error), MS_OK);
    ms_dns_tsig_key_clear(&key);
}

static void missing_file_is_named(void **state)
{
    (void)state;
    ms_dns_tsig_key key;
    char *error = NULL;
    assert_int_equal(ms_dns_tsig_key_load("/nonexistent/update.key", &key, &error), MS_ERR_IO);
    assert_string_equal(error, "/nonexistent/update.key: No such file or directory");
    free(error);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(bind_key_file_as_tsig_keygen_writes_it),
        cmocka_unit_test(bind_form_with_comments_any_order_and_case),
        cmocka_unit_test(one_line_forms),
        cmocka_unit_test(problems_are_named_with_their_line),
        cmocka_unit_test(hostile_bytes_and_sizes),
        cmocka_unit_test(missing_file_is_named),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
