/* What the fuzz harnesses share: CHECK, an invariant of the code under
 * test that must hold for every input; a failed one names the harness's
 * file and line and traps, so the fuzzer keeps the input that broke it. */
#ifndef MAILSEC_FUZZ_CHECK_H
#define MAILSEC_FUZZ_CHECK_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHECK(c)                                                                                   \
    do {                                                                                           \
        if (!(c)) {                                                                                \
            fprintf(stderr, "%s: check failed at line %d: %s\n", __FILE__, __LINE__, #c);          \
            __builtin_trap();                                                                      \
        }                                                                                          \
    } while (0)

/* The lines of the input: a text's last line needs no line break. */
static inline size_t count_lines(const uint8_t *data, size_t size)
{
    size_t n = 1;
    for (size_t i = 0; i < size; i++)
        n += data[i] == '\n';
    return n;
}

/* An exact-size copy of the input (to free), so ASan sees any read past
 * its end; NULL when out of memory. */
static inline void *fuzz_copy(const uint8_t *data, size_t size)
{
    void *copy = malloc(size ? size : 1);
    if (copy != NULL)
        memcpy(copy, data, size);
    return copy;
}

#endif
