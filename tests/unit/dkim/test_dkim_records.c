/* Data-driven DKIM key record and DKIM-Signature tests: the cases are in
 * tests/data/dkim/records.txt (format at the top of that file); each
 * becomes one cmocka test named after the case. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/internal.h"
#include "mailsec/dkim.h"
#include "unit/testutil.h"

typedef struct tcase {
    char name[128];
    int line;
    int is_key;
    char *text; /* unescaped, placeholders replaced */
    size_t text_len;
    char *fields[16][2]; /* key, value of the lines after the subject */
    size_t field_count;
} tcase;

static char *source_path(const char *rel)
{
    const char *dir = getenv("MAILSEC_SOURCE_DIR");
    return ms_asprintf("%s/%s", dir ? dir : ".", rel);
}

static char *read_file(const char *path)
{
    return test_read_file(path, NULL);
}

/* ${NAME} -> the public key in tests/data/dkim/keys/NAME.pub; then
 * \\ \t \n \r \xHH. */
static char *expand(const char *in, size_t *out_len)
{
    ms_buf b = MS_BUF_INIT;
    ms_buf_append(&b, "", 0);
    for (size_t i = 0; in[i]; i++) {
        if (in[i] == '$' && in[i + 1] == '{') {
            const char *end = strchr(in + i, '}');
            assert_non_null(end);
            char *rel = ms_asprintf("tests/data/dkim/keys/%.*s.pub", (int)(end - in - i - 2), in + i + 2);
            char *path = source_path(rel);
            char *key = read_file(path);
            assert_non_null(key);
            key[strcspn(key, "\r\n")] = '\0';
            ms_buf_puts(&b, key);
            free(key), free(path), free(rel);
            i = (size_t)(end - in);
        } else if (in[i] == '\\' && in[i + 1]) {
            char c = in[++i];
            char out = c == 't' ? '\t' : c == 'n' ? '\n' : c == 'r' ? '\r' : c;
            if (c == 'x' && in[i + 1] && in[i + 2]) {
                char hex[3] = {in[i + 1], in[i + 2], 0};
                out = (char)strtol(hex, NULL, 16);
                i += 2;
            }
            ms_buf_append(&b, &out, 1);
        } else {
            ms_buf_append(&b, in + i, 1);
        }
    }
    *out_len = b.len;
    return ms_buf_take(&b);
}

static const char *get(const tcase *t, const char *key)
{
    for (size_t i = 0; i < t->field_count; i++)
        if (strcmp(t->fields[i][0], key) == 0)
            return t->fields[i][1];
    return NULL;
}

/* Every code in expect is found and nothing else. */
static void check_codes(const tcase *t, const ms_diag_list *diags)
{
    const char *expect = get(t, "expect");
    if (expect == NULL)
        fail_msg("%s (line %d): no expect line", t->name, t->line);
    char *copy = ms_strdup(expect);
    size_t want = 0;
    for (char *save = NULL, *c = strtok_r(copy, " ", &save); c; c = strtok_r(NULL, " ", &save)) {
        want++;
        if (!ms_diag_has(diags, c))
            fail_msg("%s (line %d): no %s finding", t->name, t->line, c);
    }
    free(copy);
    for (size_t i = 0; i < diags->count; i++)
        if (strstr(expect, diags->items[i].def->code) == NULL)
            fail_msg("%s (line %d): unexpected %s: %s", t->name, t->line,
                     diags->items[i].def->code, diags->items[i].message);
    (void)want;
    for (size_t i = 0; i < t->field_count; i++) {
        if (strcmp(t->fields[i][0], "offset") != 0)
            continue;
        char *at = strchr(t->fields[i][1], '@');
        assert_non_null(at);
        size_t clen = (size_t)(at - t->fields[i][1]);
        long off = atol(at + 1);
        int found = 0;
        for (size_t k = 0; k < diags->count; k++)
            if (strlen(diags->items[k].def->code) == clen &&
                strncmp(diags->items[k].def->code, t->fields[i][1], clen) == 0 &&
                diags->items[k].offset == off)
                found = 1;
        if (!found)
            fail_msg("%s (line %d): no %s at offset %ld", t->name, t->line, t->fields[i][1], off);
    }
}

static void check_key(const tcase *t)
{
    ms_dkim_key *key = NULL;
    ms_diag_list diags = MS_DIAG_LIST_INIT;
    assert_int_equal(ms_dkim_key_parse(t->text, t->text_len, "sel._domainkey.example.com", &key, &diags), MS_OK);
    check_codes(t, &diags);
    const char *v;
    if ((v = get(t, "usable")) && atoi(v) != key->usable)
        fail_msg("%s: usable %d, expected %s", t->name, key->usable, v);
    if ((v = get(t, "type")) && strcmp(v, ms_dkim_key_type_str(key->type)) != 0)
        fail_msg("%s: type %s, expected %s", t->name, ms_dkim_key_type_str(key->type), v);
    if ((v = get(t, "bits")) && (unsigned)atoi(v) != key->key_bits)
        fail_msg("%s: %u bits, expected %s", t->name, key->key_bits, v);
    if ((v = get(t, "flags"))) {
        if (!!strstr(v, "testing") != key->testing || !!strstr(v, "strict") != key->strict ||
            !!strstr(v, "revoked") != key->revoked)
            fail_msg("%s: flags testing=%d strict=%d revoked=%d, expected \"%s\"", t->name,
                     key->testing, key->strict, key->revoked, v);
    }
    ms_dkim_key_free(key);
    ms_diag_list_free(&diags);
}

static const char *alg_name(ms_dkim_alg a)
{
    static const char *const N[] = {"rsa-sha256", "rsa-sha1", "ed25519-sha256", "unknown"};
    return N[a];
}

static void check_sig(const tcase *t)
{
    ms_dkim_signature *sig = NULL;
    ms_diag_list diags = MS_DIAG_LIST_INIT;
    assert_int_equal(ms_dkim_signature_parse(t->text, t->text_len, "DKIM-Signature #1", &sig, &diags), MS_OK);
    check_codes(t, &diags);
    const char *v;
    if ((v = get(t, "usable")) && atoi(v) != sig->usable)
        fail_msg("%s: usable %d, expected %s", t->name, sig->usable, v);
    if ((v = get(t, "alg")) && strcmp(v, alg_name(sig->alg)) != 0)
        fail_msg("%s: alg %s, expected %s", t->name, alg_name(sig->alg), v);
    if ((v = get(t, "canon"))) {
        char got[32];
        snprintf(got, sizeof got, "%s/%s", sig->header_canon ? "relaxed" : "simple",
                 sig->body_canon ? "relaxed" : "simple");
        if (strcmp(got, v) != 0)
            fail_msg("%s: canon %s, expected %s", t->name, got, v);
    }
    if ((v = get(t, "h"))) {
        ms_buf b = MS_BUF_INIT;
        for (size_t i = 0; i < sig->h_count; i++)
            ms_buf_printf(&b, "%s%s", i ? ":" : "", sig->h[i]);
        char *got = ms_buf_take(&b);
        if (strcmp(got ? got : "", v) != 0)
            fail_msg("%s: h %s, expected %s", t->name, got, v);
        free(got);
    }
    if ((v = get(t, "i")) && (sig->i == NULL || strcmp(sig->i, v) != 0))
        fail_msg("%s: i %s, expected %s", t->name, sig->i ? sig->i : "(none)", v);
    if ((v = get(t, "l")) && (!sig->has_l || sig->l != strtoull(v, NULL, 10)))
        fail_msg("%s: l wrong", t->name);
    if ((v = get(t, "t")) && (!sig->has_t || sig->t != strtoull(v, NULL, 10)))
        fail_msg("%s: t wrong", t->name);
    if ((v = get(t, "x")) && (!sig->has_x || sig->x != strtoull(v, NULL, 10)))
        fail_msg("%s: x wrong", t->name);
    ms_dkim_signature_free(sig);
    ms_diag_list_free(&diags);
}

static void run_case(void **state)
{
    const tcase *t = *state;
    if (t->is_key)
        check_key(t);
    else
        check_sig(t);
}

static size_t load(tcase **out)
{
    char *path = source_path("tests/data/dkim/records.txt");
    char *text = read_file(path);
    free(path);
    if (text == NULL)
        return 0;
    tcase *cases = NULL;
    size_t count = 0;
    int line_no = 0;
    tcase *cur = NULL;
    for (char *save = NULL, *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        line_no++; /* blank lines vanish in strtok; line numbers are approximate */
        if (line[0] == '#')
            continue;
        char *colon = strstr(line, ": ");
        if (colon == NULL && line[strlen(line) - 1] == ':')
            colon = line + strlen(line) - 1;
        if (colon == NULL)
            continue;
        *colon = '\0';
        const char *value = colon[1] ? colon + 2 : "";
        if (strcmp(line, "name") == 0) {
            cases = realloc(cases, (count + 1) * sizeof *cases);
            cur = &cases[count++];
            memset(cur, 0, sizeof *cur);
            snprintf(cur->name, sizeof cur->name, "%s", value);
            cur->line = line_no;
        } else if (cur && (strcmp(line, "key") == 0 || strcmp(line, "sig") == 0)) {
            cur->is_key = line[0] == 'k';
            cur->text = expand(value, &cur->text_len);
        } else if (cur && cur->field_count < 16) {
            cur->fields[cur->field_count][0] = ms_strdup(line);
            cur->fields[cur->field_count++][1] = ms_strdup(value);
        }
    }
    free(text);
    *out = cases;
    return count;
}

int main(void)
{
    tcase *cases = NULL;
    size_t count = load(&cases);
    if (count == 0) {
        fprintf(stderr, "no cases: is MAILSEC_SOURCE_DIR set?\n");
        return 1;
    }
    struct CMUnitTest *tests = calloc(count, sizeof *tests);
    for (size_t i = 0; i < count; i++) {
        tests[i].name = cases[i].name;
        tests[i].test_func = run_case;
        tests[i].initial_state = &cases[i];
    }
    int rc = _cmocka_run_group_tests("dkim-records", tests, count, NULL, NULL);
    for (size_t i = 0; i < count; i++) {
        free(cases[i].text);
        for (size_t k = 0; k < cases[i].field_count; k++)
            free(cases[i].fields[k][0]), free(cases[i].fields[k][1]);
    }
    free(cases);
    free(tests);
    return rc;
}
