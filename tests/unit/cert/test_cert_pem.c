/* The PEM scanner (ms_cert_pem_scan): each finding with its line, on files of
 * the test CA ($MAILSEC_TEST_CA) damaged the ways people damage them. What
 * OpenSSL 3 itself accepts was tried with `openssl x509 -in` on the same
 * damage (see the comment at the top of lib/cert/pem.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/internal.h"
#include "mailsec/cert.h"
#include "unit/testutil.h"

static char *ca_text(const char *name)
{
    char *path = ms_asprintf("%s/%s", getenv("MAILSEC_TEST_CA"), name);
    char *text = test_read_file(path, NULL);
    assert_non_null(text);
    free(path);
    return text;
}

/* The text with line number `at` (from 1) replaced by `with` (which may
 * hold several lines, or none: "" removes the line; NULL keeps it and
 * inserts nothing). `before` is inserted ahead of that line. */
static char *edit(const char *text, size_t at, const char *before, const char *with)
{
    ms_buf b = MS_BUF_INIT;
    size_t number = 1;
    for (const char *p = text; *p;) {
        const char *nl = strchr(p, '\n');
        size_t len = nl ? (size_t)(nl - p + 1) : strlen(p);
        if (number == at) {
            if (before)
                ms_buf_puts(&b, before);
            if (with)
                ms_buf_puts(&b, with);
            else
                ms_buf_append(&b, p, len);
        } else {
            ms_buf_append(&b, p, len);
        }
        p += len;
        number++;
    }
    return ms_buf_take(&b);
}

/* Line `at` of text, without its LF, in a new string. */
static char *line_of(const char *text, size_t at)
{
    const char *p = text;
    for (size_t n = 1; n < at; n++)
        p = strchr(p, '\n') + 1;
    return ms_asprintf("%.*s", (int)strcspn(p, "\n"), p);
}

typedef struct scan {
    ms_cert_pem_file file;
    ms_diag_list diags;
} scan;

static void run(const char *text, scan *s)
{
    memset(s, 0, sizeof *s);
    assert_int_equal(ms_cert_pem_scan(text, strlen(text), "t.pem", &s->file, &s->diags), MS_OK);
}

static void scan_free(scan *s)
{
    ms_cert_pem_file_free(&s->file);
    ms_diag_list_free(&s->diags);
}

/* Exactly one finding, with this code, at this line. */
static void expect_one(const scan *s, const char *code, size_t line)
{
    if (s->diags.count != 1) {
        for (size_t i = 0; i < s->diags.count; i++)
            print_message("  %s: %s\n", s->diags.items[i].def->code, s->diags.items[i].message);
        fail_msg("expected one finding (%s), got %zu", code, s->diags.count);
    }
    assert_string_equal(s->diags.items[0].def->code, code);
    char *where = ms_asprintf("t.pem:%zu", line);
    assert_string_equal(s->diags.items[0].location, where);
    free(where);
}

static void test_clean_files(void **state)
{
    (void)state;
    const char *files[] = {"fullchain.pem", "leaf-rsa.key", "leaf-ecdsa.key", "with-root.pem"};
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        char *text = ca_text(files[i]);
        scan s;
        run(text, &s);
        assert_int_equal(s.diags.count, 0);
        assert_true(s.file.count >= 1);
        for (size_t k = 0; k < s.file.count; k++)
            assert_non_null(s.file.blocks[k].der);
        scan_free(&s);
        free(text);
    }
}

static void test_blocks_and_lines(void **state)
{
    (void)state;
    char *cert = ca_text("fullchain.pem"), *key = ca_text("leaf-ecdsa.key");
    char *both = ms_asprintf("%s%s", key, cert);
    scan s;
    run(both, &s);
    assert_int_equal(s.diags.count, 0);
    assert_int_equal(s.file.count, 3);
    assert_int_equal(s.file.blocks[0].kind, MS_CERT_PEM_PRIVATE_KEY);
    assert_string_equal(s.file.blocks[0].label, "PRIVATE KEY");
    assert_int_equal(s.file.blocks[0].line, 1);
    assert_int_equal(s.file.blocks[1].kind, MS_CERT_PEM_CERTIFICATE);
    assert_int_equal(s.file.blocks[1].line, 6); /* a P-256 PKCS#8 key is 5 lines */
    assert_int_equal(s.file.blocks[1].offset, strlen(key));
    scan_free(&s);
    free(both);
    free(key);
    free(cert);
}

static void test_crlf_and_trailing_space(void **state)
{
    (void)state;
    char *text = ca_text("leaf-ecdsa.pem");
    char *l3 = line_of(text, 3);
    char *with = ms_asprintf("%s \t\n", l3);
    char *trailing = edit(text, 3, NULL, with);
    scan s;
    run(trailing, &s);
    expect_one(&s, "cert.pem-whitespace", 3);
    assert_non_null(s.file.blocks[0].der); /* OpenSSL reads it: so do we */
    scan_free(&s);

    ms_buf b = MS_BUF_INIT;
    for (const char *p = text; *p; p++) {
        if (*p == '\n')
            ms_buf_puts(&b, "\r");
        ms_buf_append(&b, p, 1);
    }
    char *crlf = ms_buf_take(&b);
    run(crlf, &s);
    expect_one(&s, "cert.pem-whitespace", 1); /* once per file, not per line */
    assert_non_null(s.file.blocks[0].der);
    scan_free(&s);
    free(crlf);
    free(trailing);
    free(with);
    free(l3);
    free(text);
}

/* 21 lines with trailing spaces are one finding listing them; each kind
 * of white space is one finding per file. */
static void test_repeated_findings_are_one(void **state)
{
    (void)state;
    char *text = ca_text("fullchain.pem");
    char *spaced = ms_strdup(text);
    size_t trailing[] = {3, 4, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27};
    for (size_t i = 0; i < sizeof trailing / sizeof trailing[0]; i++) {
        char *l = line_of(spaced, trailing[i]);
        char *with = ms_asprintf("%s \n", l);
        char *next = edit(spaced, trailing[i], NULL, with);
        free(spaced);
        spaced = next;
        free(with);
        free(l);
    }
    scan s;
    run(spaced, &s);
    expect_one(&s, "cert.pem-whitespace", 3);
    assert_string_equal(s.diags.items[0].message, "t.pem lines 3, 4, 9-27: trailing white space");
    assert_non_null(s.file.blocks[0].der);
    assert_non_null(s.file.blocks[1].der);
    scan_free(&s);

    /* two kinds: two findings, in the order of their first lines */
    char *l2 = line_of(text, 2);
    char *lead = ms_asprintf(" %s\n", l2);
    char *both = edit(spaced, 2, NULL, lead);
    run(both, &s);
    assert_int_equal(s.diags.count, 2);
    assert_string_equal(s.diags.items[0].message, "t.pem line 2: white space at the start of a base64 line");
    assert_string_equal(s.diags.items[1].location, "t.pem:3");
    scan_free(&s);
    free(both);
    free(lead);
    free(l2);
    free(spaced);
    free(text);
}

static void test_blank_lines(void **state)
{
    (void)state;
    char *text = ca_text("leaf-ecdsa.pem");
    char *inside = edit(text, 4, "\n", NULL);
    scan s;
    run(inside, &s);
    expect_one(&s, "cert.pem-blank-line", 4);
    assert_null(s.file.blocks[0].der); /* OpenSSL rejects it */
    assert_non_null(strstr(s.diags.items[0].message, "t.pem line 4: a blank line inside the CERTIFICATE block"));
    assert_non_null(strstr(s.diags.items[0].message, "(repairable)"));
    scan_free(&s);

    /* the repaired bytes are those of the intact block */
    scan clean;
    run(text, &clean);
    char *twice = edit(inside, 7, "\n", NULL);
    run(twice, &s);
    expect_one(&s, "cert.pem-blank-line", 4); /* one finding for the block, listing its lines */
    assert_non_null(strstr(s.diags.items[0].message, "t.pem lines 4, 7: blank lines inside"));
    assert_null(s.file.blocks[0].der);
    assert_int_equal(s.file.blocks[0].repaired_len, clean.file.blocks[0].der_len);
    assert_memory_equal(s.file.blocks[0].repaired, clean.file.blocks[0].der, clean.file.blocks[0].der_len);
    scan_free(&s);
    scan_free(&clean);
    free(twice);

    /* a line lost too: not repairable, and the decode failure is reported */
    char *lost = edit(inside, 6, NULL, "");
    run(lost, &s);
    assert_int_equal(s.diags.count, 2);
    assert_string_equal(s.diags.items[0].def->code, "cert.pem-blank-line");
    assert_null(strstr(s.diags.items[0].message, "repairable"));
    assert_string_equal(s.diags.items[1].def->code, "cert.pem-decode");
    assert_null(s.file.blocks[0].der);
    assert_null(s.file.blocks[0].repaired);
    scan_free(&s);
    free(lost);

    char *two = ms_asprintf("%s\n\n%s", text, text);
    size_t lines = 0;
    for (const char *p = text; *p; p++)
        lines += *p == '\n';
    run(two, &s);
    expect_one(&s, "cert.pem-whitespace", lines + 1);
    char *words = ms_asprintf("t.pem lines %zu, %zu: blank lines outside the blocks", lines + 1, lines + 2);
    assert_string_equal(s.diags.items[0].message, words);
    free(words);
    assert_int_equal(s.file.count, 2);
    scan_free(&s);
    free(two);
    free(inside);
    free(text);
}

static void test_indented_begin_and_spaces_in_body(void **state)
{
    (void)state;
    char *text = ca_text("leaf-ecdsa.pem");
    char *indented = edit(text, 1, "  ", NULL);
    scan s;
    run(indented, &s);
    expect_one(&s, "cert.pem-indented", 1);
    scan_free(&s);

    char *l2 = line_of(text, 2);
    char *spaced = ms_asprintf("  %.30s %s\n", l2, l2 + 30);
    char *body = edit(text, 2, NULL, spaced);
    run(body, &s);
    expect_one(&s, "cert.pem-whitespace", 2);
    assert_non_null(s.file.blocks[0].der);
    scan_free(&s);
    free(body);
    free(spaced);
    free(l2);
    free(indented);
    free(text);
}

static void test_stray_text(void **state)
{
    (void)state;
    char *text = ca_text("leaf-ecdsa.pem");
    char *bag = ms_asprintf("Bag Attributes\n    localKeyID: 01\nsubject=CN = x\n%s# end\n", text);
    scan s;
    run(bag, &s);
    size_t lines = 0;
    for (const char *p = text; *p; p++)
        lines += *p == '\n';
    /* the lines before and after the block: one finding */
    expect_one(&s, "cert.pem-stray-text", 1);
    char *words = ms_asprintf("t.pem lines 1-3, %zu: text outside any block, from \"Bag Attributes\"", lines + 4);
    assert_string_equal(s.diags.items[0].message, words);
    free(words);
    assert_non_null(s.file.blocks[0].der);
    scan_free(&s);
    free(bag);
    free(text);
}

static void test_broken_and_joined_lines(void **state)
{
    (void)state;
    char *text = ca_text("leaf-ecdsa.pem");
    char *l3 = line_of(text, 3), *l4 = line_of(text, 4);
    char *split = ms_asprintf("%.20s\n%s\n", l3, l3 + 20);
    char *broken = edit(text, 3, NULL, split);
    scan s;
    run(broken, &s);
    expect_one(&s, "cert.pem-line-length", 3);
    assert_non_null(strstr(s.diags.items[0].message, "20 characters"));
    assert_non_null(s.file.blocks[0].der); /* still decodes */
    scan_free(&s);

    char *joined_line = ms_asprintf("%s%s\n", l3, l4);
    char *without_l4 = edit(text, 4, NULL, "");
    char *joined = edit(without_l4, 3, NULL, joined_line);
    free(without_l4);
    run(joined, &s);
    expect_one(&s, "cert.pem-line-length", 3);
    assert_non_null(strstr(s.diags.items[0].message, "128 characters"));
    scan_free(&s);
    free(joined);
    free(joined_line);
    free(broken);
    free(split);
    free(l3);
    free(l4);
    free(text);
}

static void test_unbalanced(void **state)
{
    (void)state;
    char *text = ca_text("leaf-ecdsa.pem");
    size_t lines = 0;
    for (const char *p = text; *p; p++)
        lines += *p == '\n';
    char *no_end = edit(text, lines, NULL, "");
    scan s;
    run(no_end, &s);
    expect_one(&s, "cert.pem-unbalanced", 1);
    assert_null(s.file.blocks[0].der);
    scan_free(&s);

    char *no_begin = edit(text, 1, NULL, "");
    run(no_begin, &s);
    /* no block at all: the END without BEGIN says why, the body lines
     * are not reported one by one as stray text */
    assert_int_equal(s.diags.count, 2);
    assert_string_equal(s.diags.items[0].def->code, "cert.pem-unbalanced");
    char *end_line = ms_asprintf("t.pem:%zu", lines - 1);
    assert_string_equal(s.diags.items[0].location, end_line);
    free(end_line);
    assert_string_equal(s.diags.items[1].def->code, "cert.pem-none");
    scan_free(&s);

    char *other_end = edit(text, lines, NULL, "-----END PRIVATE KEY-----\n");
    run(other_end, &s);
    expect_one(&s, "cert.pem-unbalanced", lines);
    scan_free(&s);

    /* two blocks run together: the first one's END is missing */
    char *cut = edit(text, lines, NULL, "");
    char *two = ms_asprintf("%s%s", cut, text);
    run(two, &s);
    expect_one(&s, "cert.pem-unbalanced", lines);
    assert_int_equal(s.file.count, 2);
    assert_null(s.file.blocks[0].der);
    assert_non_null(s.file.blocks[1].der);
    assert_int_equal(s.file.blocks[1].line, lines);
    scan_free(&s);
    free(two);
    free(cut);
    free(other_end);
    free(no_begin);
    free(no_end);
    free(text);
}

static void test_bad_char_and_decode(void **state)
{
    (void)state;
    char *text = ca_text("leaf-ecdsa.pem");
    char *l5 = line_of(text, 5);
    l5[10] = '*';
    char *with = ms_asprintf("%s\n", l5);
    char *bad = edit(text, 5, NULL, with);
    scan s;
    run(bad, &s);
    expect_one(&s, "cert.pem-bad-char", 5);
    assert_non_null(strstr(s.diags.items[0].message, "column 11"));
    assert_null(s.file.blocks[0].der);
    scan_free(&s);

    /* a line lost: base64 length no longer a multiple of 4, or DER cut */
    char *lost = edit(text, 5, NULL, "");
    run(lost, &s);
    expect_one(&s, "cert.pem-decode", 1);
    assert_null(s.file.blocks[0].der);
    scan_free(&s);

    /* a key's base64 under a certificate's label */
    char *key = ca_text("leaf-ecdsa.key");
    char *begin = edit(key, 1, NULL, "-----BEGIN CERTIFICATE-----\n");
    char *relabelled = edit(begin, 5, NULL, "-----END CERTIFICATE-----\n");
    free(begin);
    run(relabelled, &s);
    expect_one(&s, "cert.pem-decode", 1);
    assert_non_null(strstr(s.diags.items[0].message, "not a certificate"));
    scan_free(&s);
    free(relabelled);
    free(key);
    free(lost);
    free(bad);
    free(with);
    free(l5);
    free(text);
}

static void test_other_blocks_and_none(void **state)
{
    (void)state;
    const char *params = "-----BEGIN EC PARAMETERS-----\nBggqhkjOPQMBBw==\n-----END EC PARAMETERS-----\n";
    scan s;
    run(params, &s);
    expect_one(&s, "cert.pem-other-block", 1);
    assert_int_equal(s.file.blocks[0].kind, MS_CERT_PEM_OTHER);
    scan_free(&s);

    run("", &s);
    expect_one(&s, "cert.pem-none", 1);
    scan_free(&s);
    const char der[] = "\x30\x82\x01\x00";
    memset(&s, 0, sizeof s);
    assert_int_equal(ms_cert_pem_scan(der, 4, "t.pem", &s.file, &s.diags), MS_OK);
    expect_one(&s, "cert.pem-none", 1);
    assert_non_null(strstr(s.diags.items[0].message, "DER"));
    scan_free(&s);
}

static void test_encrypted_legacy_key(void **state)
{
    (void)state;
    const char *legacy = "-----BEGIN RSA PRIVATE KEY-----\n"
                         "Proc-Type: 4,ENCRYPTED\n"
                         "DEK-Info: AES-128-CBC,00112233445566778899AABBCCDDEEFF\n"
                         "\n"
                         "AAAA\n"
                         "-----END RSA PRIVATE KEY-----\n";
    scan s;
    run(legacy, &s);
    assert_int_equal(s.diags.count, 0);
    assert_int_equal(s.file.blocks[0].kind, MS_CERT_PEM_PRIVATE_KEY);
    assert_true(s.file.blocks[0].encrypted);
    scan_free(&s);
}

static void test_limits(void **state)
{
    (void)state;
    ms_cert_pem_file f;
    ms_diag_list d = MS_DIAG_LIST_INIT;
    assert_int_equal(ms_cert_pem_scan("", (size_t)MS_CERT_PEM_MAX_BYTES + 1, "t.pem", &f, &d), MS_ERR_LIMIT);
    ms_buf b = MS_BUF_INIT;
    const char *block = "-----BEGIN X-----\nAAAA\n-----END X-----\n";
    for (int i = 0; i <= MS_CERT_PEM_MAX_BLOCKS; i++)
        ms_buf_puts(&b, block);
    char *many = ms_buf_take(&b);
    assert_int_equal(ms_cert_pem_scan(many, strlen(many), "t.pem", &f, &d), MS_ERR_LIMIT);
    assert_int_equal(f.count, 0);
    ms_diag_list_free(&d);
    free(many);

    /* findings stop at MS_CERT_PEM_MAX_FINDINGS, plus one line that counts the rest */
    for (int i = 0; i < MS_CERT_PEM_MAX_FINDINGS + 10; i++)
        ms_buf_puts(&b, block); /* a note each: neither a certificate nor a key */
    char *noisy = ms_buf_take(&b);
    scan s;
    run(noisy, &s);
    assert_int_equal(s.diags.count, MS_CERT_PEM_MAX_FINDINGS + 1);
    assert_non_null(strstr(s.diags.items[MS_CERT_PEM_MAX_FINDINGS].message, "10 more findings left out"));
    scan_free(&s);
    free(noisy);

    /* a finding lists 16 ranges of lines and counts the rest */
    ms_buf_puts(&b, block);
    for (int i = 0; i < 42; i++)
        ms_buf_puts(&b, "stray\n\n");
    char *scattered = ms_buf_take(&b);
    run(scattered, &s);
    assert_int_equal(s.diags.count, 3); /* the block's note, stray text, blank lines */
    assert_string_equal(s.diags.items[1].message,
                        "t.pem lines 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30, 32, 34 and 26 more: "
                        "text outside any block, from \"stray\"");
    assert_string_equal(s.diags.items[2].location, "t.pem:5");
    scan_free(&s);
    free(scattered);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_clean_files),
        cmocka_unit_test(test_blocks_and_lines),
        cmocka_unit_test(test_crlf_and_trailing_space),
        cmocka_unit_test(test_repeated_findings_are_one),
        cmocka_unit_test(test_blank_lines),
        cmocka_unit_test(test_indented_begin_and_spaces_in_body),
        cmocka_unit_test(test_stray_text),
        cmocka_unit_test(test_broken_and_joined_lines),
        cmocka_unit_test(test_unbalanced),
        cmocka_unit_test(test_bad_char_and_decode),
        cmocka_unit_test(test_other_blocks_and_none),
        cmocka_unit_test(test_encrypted_legacy_key),
        cmocka_unit_test(test_limits),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
