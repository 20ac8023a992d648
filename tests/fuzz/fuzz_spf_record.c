/* libFuzzer harness for the SPF record parser and macro expander:
 * arbitrary bytes go through ms_spf_parse; every domain-spec of the result
 * is expanded with a fixed client (IPv4, then IPv6) and trimmed as a
 * target name, and the input itself is expanded as explanation text.
 * Findings must carry a code and an offset inside the text; everything is
 * freed, so LeakSanitizer sees any leak. */
#include "mailsec/spf.h"
#include "spf/internal.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static const char *no_ptr(void *arg, const char *domain)
{
    (void)arg;
    (void)domain;
    return "mx.example.com";
}

static void expand_all(const ms_spf_record *rec, int v6)
{
    spf_macro_env env;
    memset(&env, 0, sizeof env);
    env.sender = "user+tag@example.com";
    env.domain = "example.com";
    env.helo = "mail.example.net";
    env.receiver = NULL;
    env.is_v6 = v6;
    if (v6) {
        static const unsigned char A6[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
        memcpy(env.ip, A6, 16);
    } else {
        static const unsigned char A4[4] = {192, 0, 2, 1};
        memcpy(env.ip, A4, 4);
    }
    env.now = 1700000000;
    env.validated_name = no_ptr;
    for (size_t i = 0; i < rec->count; i++) {
        if (rec->terms[i].domain_spec == NULL)
            continue;
        int bad;
        char *x = spf_macro_expand(rec->terms[i].domain_spec, &env, 0, &bad);
        /* The parser accepted it, so expansion must not find a syntax error. */
        if (rec->valid && bad)
            __builtin_trap();
        char *target = NULL;
        if (x != NULL && spf_target_name(x, &target) == MS_OK)
            free(target);
        free(x);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *text = (const char *)data;
    ms_spf_record *rec = NULL;
    ms_diag_list diags = MS_DIAG_LIST_INIT;
    if (ms_spf_parse(text, size, "example.com", &rec, &diags) == MS_OK) {
        for (size_t i = 0; i < diags.count; i++) {
            const ms_diag *d = &diags.items[i];
            if (d->def == NULL || d->def->code == NULL || d->message == NULL || d->offset < -1 ||
                d->offset > (long)size)
                __builtin_trap();
        }
        /* Valid exactly when there are no findings. */
        if (rec->valid != (diags.count == 0))
            __builtin_trap();
        expand_all(rec, 0);
        expand_all(rec, 1);
    }
    ms_spf_record_free(rec);
    ms_diag_list_free(&diags);
    /* The same bytes as an explanation string (NUL-terminated copy). */
    char *s = malloc(size + 1);
    if (s != NULL) {
        memcpy(s, data, size);
        s[size] = '\0';
        spf_macro_env env;
        memset(&env, 0, sizeof env);
        env.sender = "postmaster@example.com";
        env.domain = "example.com";
        int bad;
        free(spf_macro_expand(s, &env, 1, &bad));
        free(s);
    }
    return 0;
}
