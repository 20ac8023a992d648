/* libFuzzer harness for the DKIM key record parser: arbitrary bytes go
 * through ms_dkim_key_parse (base64 and OpenSSL key decoding included).
 * Everything is freed, so LeakSanitizer sees any leak. */
#include "mailsec/dkim.h"

#include <stddef.h>
#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ms_dkim_key *key = NULL;
    ms_diag_list diags = MS_DIAG_LIST_INIT;
    ms_status st = ms_dkim_key_parse((const char *)data, size, "sel._domainkey.example.com", &key,
                                     &diags);
    if (st == MS_OK) {
        /* every finding has a code, a message and an offset inside the text */
        for (size_t i = 0; i < diags.count; i++) {
            const ms_diag *d = &diags.items[i];
            if (d->def == NULL || d->def->code == NULL || d->message == NULL || d->offset < -1 ||
                d->offset > (long)size)
                __builtin_trap();
            (void)strlen(d->message);
        }
        /* a usable key has a public key and no error about the record */
        if (key == NULL || (key->usable && (key->pkey == NULL || key->revoked)))
            __builtin_trap();
        if (key->usable && ms_diag_worst(&diags) == MS_SEV_ERROR) {
            for (size_t i = 0; i < diags.count; i++)
                if (diags.items[i].def->severity == MS_SEV_ERROR &&
                    strcmp(diags.items[i].def->code, "dkim.key-hash-no-sha256") != 0)
                    __builtin_trap();
        }
    } else if (st != MS_ERR_LIMIT || size <= MS_DKIM_MAX_RECORD) {
        __builtin_trap();
    }
    ms_dkim_key_free(key);
    ms_diag_list_free(&diags);
    return 0;
}
