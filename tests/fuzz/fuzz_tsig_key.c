/* libFuzzer harness for the TSIG key parser (lib/dns/tsig.c): arbitrary
 * bytes as a key file's text. A key that parses has parts that hold what
 * the parser promises; a refusal always says why. Everything is freed, so
 * LeakSanitizer sees any leak. */
#include "mailsec/dns.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static int b64(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' ||
           c == '/' || c == '=';
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ms_dns_tsig_key key;
    char *error = NULL;
    ms_status st = ms_dns_tsig_key_parse((const char *)data, size, &key, &error);
    if (st == MS_OK) {
        size_t n = strlen(key.name), s = strlen(key.secret);
        if (error != NULL || n == 0 || n > 253 || key.name[n - 1] == '.' || s == 0 ||
            s > MS_DNS_TSIG_MAX_SECRET || s % 4 != 0 || strlen(key.algorithm) == 0)
            __builtin_trap();
        for (size_t i = 0; i < s; i++)
            if (!b64(key.secret[i]))
                __builtin_trap();
        ms_dns_tsig_key_clear(&key);
    } else if (st != MS_ERR_NOMEM && error == NULL) {
        __builtin_trap();
    }
    free(error);
    return 0;
}
