/* Checks for the tests that run as plain programs (not cmocka): a failed
 * check is printed with its place and counted, and the test goes on; the
 * program's exit status is whether `failures` stayed 0. */
#ifndef MAILSEC_TEST_CHECK_H
#define MAILSEC_TEST_CHECK_H

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

#endif
