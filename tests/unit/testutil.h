/* Helpers shared by the unit tests. */
#ifndef MAILSEC_TESTUTIL_H
#define MAILSEC_TESTUTIL_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Reads KEY from the DNS test bed's info file (KEY=VALUE lines) into out.
 * Returns 0 when the bed is not running, so a test can fail with a clear
 * message instead of a confusing DNS error. */
static inline int dnsbed_get(const char *key, char *out, size_t size)
{
    const char *path = getenv("MAILSEC_DNSBED_INFO");
    FILE *f = path ? fopen(path, "r") : NULL;
    if (f == NULL)
        return 0;
    char line[1024];
    size_t klen = strlen(key);
    int found = 0;
    while (!found && fgets(line, sizeof line, f)) {
        if (strncmp(line, key, klen) == 0 && line[klen] == '=') {
            const char *value = line + klen + 1;
            size_t n = strcspn(value, "\n");
            if (n >= size)
                n = size - 1; /* too long for the caller: cut, as snprintf would */
            memcpy(out, value, n);
            out[n] = '\0';
            found = 1;
        }
    }
    fclose(f);
    return found;
}

#endif
