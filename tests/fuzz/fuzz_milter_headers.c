/* libFuzzer harness for the milter's header-field reader (lib/milter):
 * the input is a header section; each field's value goes through the From,
 * Authentication-Results and List-Id readers and the Authentication-Results
 * value quoting, and the whole section through a message's bounded header
 * keeping (an outgoing message without keys: no DNS). What comes out must
 * be a lower-case domain name, an id without line breaks, and quoted text
 * without line breaks or control bytes. */
#include "core/internal.h"
#include "milter/internal.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_decode.h"

static void check_lower(const char *s)
{
    for (const char *p = s; *p; p++)
        if (*p >= 'A' && *p <= 'Z')
            abort();
}

static void read_value(const char *value, size_t len)
{
    char *out = NULL;
    if (ms_milter_from_domain(value, len, &out) == MS_OK) {
        if (out == NULL || !ms_domain_check(out, strlen(out), MS_DOMAIN_LDH | MS_DOMAIN_UNDERSCORE))
            abort();
        check_lower(out);
        free(out);
    }
    if (ms_milter_auth_results_id(value, len, &out) == MS_OK) {
        if (out == NULL || out[0] == '\0' || strpbrk(out, "\r\n") != NULL)
            abort();
        check_lower(out);
        free(out);
    }
    if (ms_milter_list_id(value, len, &out) == MS_OK) {
        if (out == NULL || out[0] == '\0')
            abort();
        free(out);
    }
    char *text = strndup(value, len);
    if (text != NULL) {
        ms_buf b = MS_BUF_INIT;
        milter_ar_value(&b, text);
        char *quoted = ms_buf_take(&b);
        for (const char *p = quoted; p && *p; p++)
            if ((unsigned char)*p < 32 || (unsigned char)*p > 126)
                abort();
        free(quoted);
        free(text);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *text = (const char *)data;
    ms_milter_config config = {0};
    config.authserv_id = "mx.example.com";
    config.max_header_bytes = 8192;
    ms_ctx *ctx = NULL;
    if (ms_ctx_new(&ctx) != MS_OK)
        return 0;
    ms_milter_envelope env = {.mail_from = "a@example.com"}; /* local origin: outgoing */
    ms_milter_message *m = NULL;
    if (ms_milter_message_new(&config, ctx, &env, &m) != MS_OK) {
        ms_ctx_free(ctx);
        return 0;
    }
    /* fields: a line not starting with white space starts one */
    const char *colon;
    for (size_t start = 0, end; fuzz_next_field(text, size, &start, &end, &colon); start = end) {
        if (colon == NULL)
            continue;
        size_t vlen = end - (size_t)(colon + 1 - text);
        read_value(colon + 1, vlen);
        char *name = strndup(text + start, (size_t)(colon - text) - start);
        char *value = strndup(colon + 1, vlen);
        if (name && value)
            ms_milter_message_header(m, name, value);
        free(name);
        free(value);
    }
    ms_milter_message_body(m, "body\r\n", 6);
    ms_milter_verdict *v = NULL;
    if (ms_milter_message_finish(m, &v) == MS_OK && (v == NULL || v->log == NULL))
        abort();
    ms_milter_verdict_free(v);
    ms_milter_message_free(m);
    ms_ctx_free(ctx);
    return 0;
}
