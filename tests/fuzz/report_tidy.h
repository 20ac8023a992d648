/* What the report parsers' harnesses check of every string they give
 * (fuzz_report_failure.c, fuzz_report_tlsrpt.c): tidy text. */
#ifndef MAILSEC_FUZZ_REPORT_TIDY_H
#define MAILSEC_FUZZ_REPORT_TIDY_H

#include "fuzz_check.h"
#include "report/report_internal.h"

#include <string.h>

/* s, when there is one, is non-empty valid UTF-8 without control
 * characters (line breaks allowed when multiline) and without white space
 * at either end. */
static inline void check_tidy(const char *s, int multiline)
{
    if (s == NULL)
        return;
    size_t len = strlen(s);
    CHECK(len > 0);
    CHECK(ms_report_utf8_valid_prefix((const unsigned char *)s, len) == len);
    CHECK(s[0] != ' ' && s[len - 1] != ' ');
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        CHECK(c >= 0x20 || (multiline && c == '\n'));
        CHECK(c != 0x7F);
    }
}

#endif
