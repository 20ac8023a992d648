/* Throughput of ms_email_check against the WHATWG HTML5 e-mail regex under
 * PCRE2 with JIT, on the same corpus in memory (one address per line).
 *
 * usage: bench_email CORPUS [ROUNDS [ONLY]]
 * prints "name addresses_per_second valid_count" lines, best of ROUNDS,
 * then "name_first addresses_per_second" for the first round alone (its
 * caches cold: profile intl asks libidn2 once per distinct IDN domain),
 * and the agreement between profile html5 and the regex (they implement
 * the same definition, so they must agree on every address).
 * With ONLY (a name below, or "none"), just that implementation runs and
 * nothing else: for counting its instructions under callgrind
 * (instructions.sh), where "none" measures the reading of the corpus. */
#define _POSIX_C_SOURCE 200809L
#define PCRE2_CODE_UNIT_WIDTH 8
#include "mailsec/email.h"

#include <pcre2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char WHATWG[] =
    "^[a-zA-Z0-9.!#$%&'*+\\/=?^_`{|}~-]+@[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?"
    "(?:\\.[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)*$";

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts); /* CPU time: the machine may be shared */
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: bench_email CORPUS [ROUNDS]\n");
        return 2;
    }
    int rounds = argc > 2 ? atoi(argv[2]) : 5;
    const char *only = argc > 3 ? argv[3] : NULL;
    FILE *f = fopen(argv[1], "rb");
    if (f == NULL) {
        perror(argv[1]);
        return 2;
    }
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)size + 1);
    if (buf == NULL || fread(buf, 1, (size_t)size, f) != (size_t)size)
        return 2;
    fclose(f);
    size_t n = 0, cap = 1 << 20;
    size_t *off = malloc(cap * sizeof *off), *len = malloc(cap * sizeof *len);
    for (size_t i = 0; i < (size_t)size;) {
        char *nl = memchr(buf + i, '\n', (size_t)size - i);
        size_t e = nl ? (size_t)(nl - buf) : (size_t)size;
        if (n == cap) {
            cap *= 2;
            off = realloc(off, cap * sizeof *off);
            len = realloc(len, cap * sizeof *len);
        }
        off[n] = i;
        len[n++] = e - i;
        i = e + 1;
    }

    int err;
    PCRE2_SIZE erroff;
    pcre2_code *re = pcre2_compile((PCRE2_SPTR)WHATWG, PCRE2_ZERO_TERMINATED, 0, &err, &erroff, NULL);
    if (re == NULL || pcre2_jit_compile(re, PCRE2_JIT_COMPLETE) != 0) {
        fprintf(stderr, "PCRE2 JIT not available\n");
        return 2;
    }
    pcre2_match_data *md = pcre2_match_data_create_from_pattern(re, NULL);

    static const struct {
        const char *name;
        int kind; /* 0: mailsec profile, 1: regex */
        ms_email_profile profile;
    } RUNS[] = {
        {"mailsec_smtp", 0, MS_EMAIL_PROFILE_SMTP},
        {"mailsec_html5", 0, MS_EMAIL_PROFILE_HTML5},
        {"mailsec_intl", 0, MS_EMAIL_PROFILE_INTL},
        {"pcre2_jit_whatwg", 1, 0},
    };
    for (size_t k = 0; k < sizeof RUNS / sizeof RUNS[0]; k++) {
        if (only != NULL && strcmp(only, RUNS[k].name) != 0)
            continue;
        double best = 1e30, first = 0;
        size_t valid = 0;
        for (int r = 0; r < rounds; r++) {
            valid = 0;
            double t0 = now();
            if (RUNS[k].kind == 0) {
                for (size_t i = 0; i < n; i++) {
                    ms_email_result res;
                    ms_email_check(buf + off[i], len[i], RUNS[k].profile, &res);
                    valid += (size_t)res.valid;
                }
            } else {
                for (size_t i = 0; i < n; i++)
                    valid += pcre2_jit_match(re, (PCRE2_SPTR)(buf + off[i]), len[i], 0, 0, md, NULL) >= 0;
            }
            double t = now() - t0;
            if (t < best)
                best = t;
            if (r == 0)
                first = t;
        }
        printf("%s %.0f %zu\n", RUNS[k].name, (double)n / best, valid);
        printf("%s_first %.0f %zu\n", RUNS[k].name, (double)n / first, valid);
    }
    /* the differential: profile html5 and the WHATWG regex, address by address */
    size_t agree = 0;
    for (size_t i = 0; i < n && only == NULL; i++) {
        ms_email_result res;
        ms_email_check(buf + off[i], len[i], MS_EMAIL_PROFILE_HTML5, &res);
        int m = pcre2_jit_match(re, (PCRE2_SPTR)(buf + off[i]), len[i], 0, 0, md, NULL) >= 0;
        if (m == res.valid)
            agree++;
        else
            fprintf(stderr, "html5 disagreement: [%.*s] regex %d mailsec %d\n", (int)len[i], buf + off[i], m,
                    res.valid);
    }
    if (only == NULL)
        printf("html5_vs_regex_agree %zu %zu\n", agree, n);
    pcre2_match_data_free(md);
    pcre2_code_free(re);
    free(off);
    free(len);
    free(buf);
    return 0;
}
