/* mailsec serve: the escaping functions, one per context, and the
 * credential checks (src/serve_html.c, src/serve_auth.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <crypt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "serve_auth.h"
#include "serve_html.h"

typedef void (*escape_fn)(FILE *, const char *, size_t);

/* What fn writes for the len bytes of s. */
static char *escaped(escape_fn fn, const char *s, size_t len)
{
    char *text = NULL;
    size_t n = 0;
    FILE *f = open_memstream(&text, &n);
    assert_non_null(f);
    fn(f, s, len);
    assert_int_equal(fclose(f), 0);
    return text;
}

static void expect(escape_fn fn, const char *in, size_t len, const char *want)
{
    char *got = escaped(fn, in, len);
    assert_string_equal(got, want);
    free(got);
}

#define EXPECT(fn, in, want) expect(fn, in, sizeof in - 1, want)

static void text_markup(void **state)
{
    (void)state;
    EXPECT(html_text, "<script>alert(1)</script>", "&lt;script&gt;alert(1)&lt;/script&gt;");
    EXPECT(html_text, "a & b \"c\" 'd'", "a &amp; b &quot;c&quot; &#39;d&#39;");
    EXPECT(html_text, "<svg onload=x>", "&lt;svg onload=x&gt;");
    EXPECT(html_text, "&lt;", "&amp;lt;");
    EXPECT(html_text, "plain.example", "plain.example");
}

static void text_bytes(void **state)
{
    (void)state;
    /* Not UTF-8, NUL, controls: U+FFFD; UTF-8 itself stays. */
    EXPECT(html_text, "a\xff" "b", "a\xEF\xBF\xBD" "b");
    EXPECT(html_text, "a\0b", "a\xEF\xBF\xBD" "b");
    EXPECT(html_text, "\x1b[31m", "\xEF\xBF\xBD[31m");
    EXPECT(html_text, "\xc2\x9b", "\xEF\xBF\xBD");      /* C1 */
    EXPECT(html_text, "\xc0\xbc", "\xEF\xBF\xBD\xEF\xBF\xBD"); /* overlong '<' */
    EXPECT(html_text, "\xed\xa0\x80", "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD"); /* surrogate */
    EXPECT(html_text, "caf\xc3\xa9 \xe2\x9c\x93", "caf\xc3\xa9 \xe2\x9c\x93");
    EXPECT(html_text, "line\ttab\n", "line\ttab\n");
    /* Bidirectional controls are shown, not obeyed. */
    EXPECT(html_text, "a\xe2\x80\xae" "b", "a\\u202eb");
    /* A sequence cut short at the end. */
    EXPECT(html_text, "x\xe2\x80", "x\xEF\xBF\xBD\xEF\xBF\xBD");
}

static void attribute(void **state)
{
    (void)state;
    EXPECT(html_attr, "\" onmouseover=\"x", "&quot;&#x20;onmouseover&#x3D;&quot;x");
    EXPECT(html_attr, "a`b c=d", "a&#x60;b&#x20;c&#x3D;d");
    EXPECT(html_attr, "<>&'", "&lt;&gt;&amp;&#39;");
    EXPECT(html_attr, "example.com", "example&#x2E;com");
    EXPECT(html_attr, "\xc3\xa9", "\xc3\xa9");
}

static void url_value(void **state)
{
    (void)state;
    EXPECT(html_url_value, "example.com", "example.com");
    EXPECT(html_url_value, "a b&c=d\"<>", "a%20b%26c%3Dd%22%3C%3E");
    EXPECT(html_url_value, "javascript:alert(1)", "javascript%3Aalert%281%29");
    EXPECT(html_url_value, "\xc3\xa9\x00", "%C3%A9%00");
}

static void equal_constant_time(void **state)
{
    (void)state;
    assert_true(serve_equal_ct("abc", 3, "abc", 3));
    assert_false(serve_equal_ct("abd", 3, "abc", 3));
    assert_false(serve_equal_ct("ab", 2, "abc", 3));
    assert_false(serve_equal_ct("abcd", 4, "abc", 3));
    assert_false(serve_equal_ct("", 0, "abc", 3));
}

/* A file holding text, in a temporary directory; its path. */
static char *write_file(const char *name, const char *text)
{
    static char dir[] = "/tmp/serve-unit-XXXXXX";
    static int made;
    if (!made) {
        assert_non_null(mkdtemp(dir));
        made = 1;
    }
    char *path = malloc(strlen(dir) + strlen(name) + 2);
    sprintf(path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    return path;
}

static void passwords(void **state)
{
    (void)state;
    char salt[CRYPT_GENSALT_OUTPUT_SIZE];
    assert_non_null(crypt_gensalt_rn("$y$", 0, NULL, 0, salt, sizeof salt));
    struct crypt_data *data = calloc(1, sizeof *data);
    const char *hash = crypt_rn("right horse", salt, data, sizeof *data);
    assert_non_null(hash);
    char text[512];
    snprintf(text, sizeof text, "# users\nalice:%s\r\n\n", hash);
    char *path = write_file("passwords", text);
    serve_auth auth;
    char why[256];
    assert_int_equal(serve_auth_load(&auth, path, NULL, why, sizeof why), 0);
    assert_true(serve_auth_required(&auth));
    assert_true(serve_auth_password_ok(&auth, "alice", "right horse"));
    assert_false(serve_auth_password_ok(&auth, "alice", "wrong horse"));
    assert_false(serve_auth_password_ok(&auth, "bob", "right horse"));
    assert_false(serve_auth_password_ok(&auth, "alice", NULL));
    assert_false(serve_auth_token_ok(&auth, "anything at all 123"));
    serve_auth_free(&auth);
    free(data);
    free(path);
}

static void bad_files(void **state)
{
    (void)state;
    static const char *const BAD[] = {
        "alice:secret\n",                  /* a password, not a hash */
        "alice:abJnggxhB/yWI\n",           /* legacy DES */
        "no colon here\n",
        ":$6$x$y\n",                       /* no user */
        "# only a comment\n",
    };
    serve_auth auth;
    char why[256];
    for (size_t i = 0; i < sizeof BAD / sizeof BAD[0]; i++) {
        char *path = write_file("bad", BAD[i]);
        assert_int_equal(serve_auth_load(&auth, path, NULL, why, sizeof why), -1);
        assert_non_null(strstr(why, path));
        free(path);
    }
    assert_int_equal(serve_auth_load(&auth, "/nonexistent/file", NULL, why, sizeof why), -1);
    char *path = write_file("short-token", "short\n");
    assert_int_equal(serve_auth_load(&auth, NULL, path, why, sizeof why), -1);
    free(path);
}

static void token(void **state)
{
    (void)state;
    char *path = write_file("token", "0123456789abcdef0123456789abcdef\nignored\n");
    serve_auth auth;
    char why[256];
    assert_int_equal(serve_auth_load(&auth, NULL, path, why, sizeof why), 0);
    assert_true(serve_auth_token_ok(&auth, "0123456789abcdef0123456789abcdef"));
    assert_false(serve_auth_token_ok(&auth, "0123456789abcdef0123456789abcdeF"));
    assert_false(serve_auth_token_ok(&auth, "0123456789abcdef0123456789abcde"));
    assert_false(serve_auth_token_ok(&auth, ""));
    assert_false(serve_auth_password_ok(&auth, "alice", "x"));
    serve_auth_free(&auth);
    free(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(text_markup), cmocka_unit_test(text_bytes),   cmocka_unit_test(attribute),
        cmocka_unit_test(url_value),   cmocka_unit_test(equal_constant_time), cmocka_unit_test(passwords),
        cmocka_unit_test(bad_files),   cmocka_unit_test(token),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
