/* Checks for the tests that run as plain programs (not cmocka): a failed
 * check is printed with its place and counted, and the test goes on; the
 * program's exit status is whether `failures` stayed 0. */
#ifndef MAILSEC_TEST_CHECK_H
#define MAILSEC_TEST_CHECK_H

#include <stddef.h>
#include <stdio.h>
#include <string.h>

static int failures;

#define CHECK(cond, ...)                                                                           \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            failures++;                                                                            \
            printf("FAIL %s:%d: ", __FILE__, __LINE__);                                            \
            printf(__VA_ARGS__);                                                                   \
            printf("\n");                                                                          \
        }                                                                                          \
    } while (0)

#define CHECK_STR(got, want)                                                                       \
    CHECK((got) != NULL && strcmp((got), (want)) == 0, "%s: got \"%s\", want \"%s\"", #got,       \
          (got) ? (got) : "(null)", (want))

#define CHECK_NUM(got, want)                                                                       \
    CHECK((long long)(got) == (long long)(want), "%s: got %lld, want %lld", #got,                 \
          (long long)(got), (long long)(want))

/* A named test of such a program. */
typedef struct check_test {
    const char *name;
    void (*run)(void);
} check_test;

/* Runs each test and prints whether it added failures. */
static inline void run_checks(const check_test *tests, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        int before = failures;
        tests[i].run();
        printf("%s %s\n", failures == before ? "ok  " : "FAIL", tests[i].name);
    }
}

#endif
