/* What the report unit tests share: reading a sample from
 * tests/data/reports/, and a transcript of what the aggregate parser
 * handed over, one tab-separated line per report or record, so a test
 * can look a value up by name and two runs can be compared whole. */
#ifndef MAILSEC_TEST_REPORT_H
#define MAILSEC_TEST_REPORT_H

#include "mailsec/report.h"
#include "report/report_internal.h"
#include "unit/testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A sample file's bytes (exits when it is missing: a broken tree). */
static inline char *load_sample(const char *name, size_t *len)
{
    char path[4096];
    const char *src = getenv("MAILSEC_SOURCE_DIR");
    snprintf(path, sizeof path, "%s/tests/data/reports/%s", src ? src : ".", name);
    char *data = test_read_file(path, len);
    if (data == NULL) {
        printf("cannot open %s\n", path);
        exit(1);
    }
    return data;
}

/* The two helpers of the tests of one parser, TYPE *PARSE(data, len, out,
 * err), over its samples in tests/data/reports/DIR/ (cmocka included
 * first): parse_file(name, &report, &err) returns the parser's status,
 * parse_ok(name) the report of a sample that must parse (the test fails,
 * printing the parser's message, when it does not). */
#define REPORT_SAMPLE_PARSERS(TYPE, DIR, PARSE)                                    \
    static ms_status parse_file(const char *name, TYPE **out, ms_report_error *err) \
    {                                                                              \
        char path[256];                                                            \
        snprintf(path, sizeof path, "%s/%s", DIR, name);                           \
        size_t len;                                                                \
        char *data = load_sample(path, &len);                                      \
        ms_status st = PARSE(data, len, out, err);                                 \
        free(data);                                                                \
        return st;                                                                 \
    }                                                                              \
    static TYPE *parse_ok(const char *name)                                        \
    {                                                                              \
        TYPE *r = NULL;                                                            \
        ms_report_error err = {NULL, 0, 0, -1};                                    \
        ms_status st = parse_file(name, &r, &err);                                 \
        if (st != MS_OK)                                                           \
            print_message("%s: %s\n", name, err.message ? err.message : "?");     \
        assert_int_equal(st, MS_OK);                                               \
        assert_non_null(r);                                                        \
        ms_report_error_clear(&err);                                               \
        return r;                                                                  \
    }

/* The value of key in a transcript line ("" when absent; "(null)" is how a
 * NULL string is written). Points into a static buffer. */
static inline const char *line_value(const char *line, const char *key)
{
    static char value[8192];
    size_t klen = strlen(key);
    const char *p = line;
    value[0] = '\0';
    while (p != NULL && *p && *p != '\n') {
        if (strncmp(p, key, klen) == 0 && p[klen] == '=') {
            const char *v = p + klen + 1;
            size_t n = strcspn(v, "\t\n");
            if (n >= sizeof value)
                n = sizeof value - 1;
            memcpy(value, v, n);
            value[n] = '\0';
            return value;
        }
        p = strpbrk(p, "\t\n");
        if (p != NULL && *p == '\t')
            p++;
        else
            break;
    }
    return value;
}

/* The n-th line (0-based) of text that starts with prefix, or NULL. */
static inline const char *nth_line(const char *text, const char *prefix, int n)
{
    size_t plen = strlen(prefix);
    for (const char *p = text; p != NULL && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL) {
        if (strncmp(p, prefix, plen) == 0 && n-- == 0)
            return p;
    }
    return NULL;
}

#endif
