/* What the library itself answers, for comparison with the SQL functions
 * (isemail.sh): reads "N HEX" lines (an address's bytes in hex) on stdin
 * and prints, for each profile and for "default" (the one-argument forms,
 * smtp), one line
 *   N PROFILE VALID DIAGNOSIS NORMAL LOCAL DOMAIN
 * tab-separated, with NORMAL, LOCAL and DOMAIN in lower-case hex or NULL:
 * the normal form and its parts, exactly as the SQL glue defines them. */
#include "mailsec/email.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct {
    const char *label;
    ms_email_profile profile;
} PROFILES[] = {
    {"default", MS_EMAIL_PROFILE_SMTP}, {"html5", MS_EMAIL_PROFILE_HTML5}, {"intl", MS_EMAIL_PROFILE_INTL},
    {"rfc5322", MS_EMAIL_PROFILE_RFC5322}, {"smtp", MS_EMAIL_PROFILE_SMTP},
};

static void put_hex(const char *s, size_t len)
{
    if (s == NULL) {
        fputs("NULL", stdout);
        return;
    }
    for (size_t i = 0; i < len; i++)
        printf("%02x", (unsigned char)s[i]);
}

static int unhex(const char *hex, char **out, size_t *len)
{
    size_t n = strlen(hex);
    if (n % 2)
        return 0;
    *out = malloc(n / 2 + 1);
    if (*out == NULL)
        return 0;
    for (size_t i = 0; i < n / 2; i++) {
        unsigned v;
        if (sscanf(hex + 2 * i, "%2x", &v) != 1) {
            free(*out);
            return 0;
        }
        (*out)[i] = (char)v;
    }
    *len = n / 2;
    return 1;
}

static void answer(const char *n, const char *label, ms_email_profile profile, const char *addr, size_t len)
{
    ms_email_result r, parts;
    char *normal = NULL;

    ms_email_check(addr, len, profile, &r);
    printf("%s\t%s\t%d\t%s\t", n, label, r.valid ? 1 : 0, r.diagnosis);
    if (ms_email_normalize(addr, len, profile, &normal) != MS_OK) {
        fputs("NULL\tNULL\tNULL\n", stdout);
        return;
    }
    put_hex(normal, strlen(normal));
    ms_email_check(normal, strlen(normal), profile, &parts);
    putchar('\t');
    put_hex(parts.valid ? normal + parts.local_start : NULL, parts.local_len);
    putchar('\t');
    put_hex(parts.valid ? normal + parts.domain_start : NULL, parts.domain_len);
    putchar('\n');
    free(normal);
}

int main(void)
{
    char line[65536];

    while (fgets(line, sizeof line, stdin)) {
        char *tab = strchr(line, '\t'), *addr;
        size_t len;
        line[strcspn(line, "\r\n")] = '\0';
        if (tab == NULL) {
            fprintf(stderr, "oracle: expected N<TAB>HEX: %s\n", line);
            return 2;
        }
        *tab = '\0';
        if (!unhex(tab + 1, &addr, &len)) {
            fprintf(stderr, "oracle: bad hex on line %s\n", line);
            return 2;
        }
        for (size_t i = 0; i < sizeof PROFILES / sizeof PROFILES[0]; i++)
            answer(line, PROFILES[i].label, PROFILES[i].profile, addr, len);
        free(addr);
    }
    return 0;
}
