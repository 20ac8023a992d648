/* libFuzzer harness: the MTA-STS policy parser (a file fetched from a web
 * server the domain's owner, or an attacker on the path, controls) and, on
 * the same bytes, the TLS-RPT, BIMI and _mta-sts TXT record checks. */
#include "mailsec/audit.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static void check_offsets(const ms_diag_list *diags, size_t size)
{
    for (size_t i = 0; i < diags->count; i++)
        if (diags->items[i].offset > (long)size)
            __builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *text = (const char *)data;
    ms_diag_list diags = MS_DIAG_LIST_INIT;

    ms_audit_mtasts_policy *pol = NULL;
    if (ms_audit_mtasts_check_policy(text, size, "policy", &pol, &diags) == MS_OK) {
        for (size_t i = 0; i < pol->mx_count; i++)
            ms_audit_mtasts_mx_matches(pol->mx[i], "mx.example.com");
    }
    ms_audit_mtasts_policy_free(pol);

    ms_audit_tlsrpt_record *tlsrpt = NULL;
    ms_audit_tlsrpt_check_record(text, size, NULL, &tlsrpt, &diags);
    ms_audit_tlsrpt_record_free(tlsrpt);

    ms_audit_bimi_record *bimi = NULL;
    ms_audit_bimi_check_record(text, size, NULL, &bimi, &diags);
    ms_audit_bimi_record_free(bimi);

    char *id = NULL;
    ms_audit_mtasts_check_txt(text, size, NULL, &id, &diags);
    free(id);

    check_offsets(&diags, size);
    ms_diag_list_free(&diags);
    return 0;
}
