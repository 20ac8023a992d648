/* Helpers shared by the unit tests. */
#ifndef MAILSEC_TESTUTIL_H
#define MAILSEC_TESTUTIL_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Reads KEY from a test bed's info file (KEY=VALUE lines) named by the
 * environment variable env into out (cut to size, as snprintf would).
 * Returns 0 when the bed is not running, so a test can fail with a clear
 * message instead of a confusing error later. */
static inline int bed_info_get(const char *env, const char *key, char *out, size_t size)
{
    const char *path = getenv(env);
    FILE *f = path ? fopen(path, "r") : NULL;
    if (f == NULL)
        return 0;
    char line[1024];
    size_t klen = strlen(key);
    int found = 0;
    while (!found && fgets(line, sizeof line, f)) {
        if (strncmp(line, key, klen) == 0 && line[klen] == '=') {
            snprintf(out, size, "%.*s", (int)strcspn(line + klen + 1, "\n"), line + klen + 1);
            found = 1;
        }
    }
    fclose(f);
    return found;
}

/* The DNS test bed's KEY (MAILSEC_DNSBED_INFO). */
static inline int dnsbed_get(const char *key, char *out, size_t size)
{
    return bed_info_get("MAILSEC_DNSBED_INFO", key, out, size);
}

#endif
