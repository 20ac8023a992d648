/* libFuzzer harness for the DMARC record checker: arbitrary bytes go
 * through ms_dmarc_check_record (with and without a domain, which changes
 * only the diagnostics' location) and the result through ms_dmarc_explain.
 * Everything is freed, so LeakSanitizer sees any leak. */
#include "mailsec/dmarc.h"

#include <stddef.h>
#include <stdint.h>
#include <string.h>

static void check_one(const char *text, size_t len, const char *domain)
{
    ms_dmarc_record *rec = NULL;
    ms_diag_list diags = MS_DIAG_LIST_INIT;
    if (ms_dmarc_check_record(text, len, domain, &rec, &diags) == MS_OK) {
        /* Every finding has a code, a message, and an offset inside the text. */
        for (size_t i = 0; i < diags.count; i++) {
            const ms_diag *d = &diags.items[i];
            if (d->def == NULL || d->def->code == NULL || d->message == NULL ||
                d->offset < -1 || d->offset > (long)len)
                __builtin_trap();
            (void)strlen(d->message);
        }
        /* A record receivers accept must start the way ms_dmarc_is_record says. */
        if (rec->usable && !ms_dmarc_is_record(text, len))
            __builtin_trap();
        ms_dmarc_explanation ex;
        if (ms_dmarc_explain(rec, domain, &ex) == MS_OK)
            ms_dmarc_explanation_free(&ex);
    }
    ms_dmarc_record_free(rec);
    ms_diag_list_free(&diags);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    check_one((const char *)data, size, NULL);
    check_one((const char *)data, size, "example.com");
    return 0;
}
