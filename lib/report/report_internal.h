/* What the report parsers share and callers do not see: error filling,
 * text cleanup (UTF-8 repair, trimming, control characters) and number and
 * time parsing from report text. */
#ifndef MAILSEC_LIB_REPORT_INTERNAL_H
#define MAILSEC_LIB_REPORT_INTERNAL_H

#include "core/internal.h"
#include "mailsec/report.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Fills *err (when not NULL), freeing any message it held; returns status
 * so callers can write `return report_fail(...)`, or MS_ERR_NOMEM when
 * there was no memory for the message (a failure always says why). */
ms_status ms_report_fail(ms_report_error *err, ms_status status, long line, long column,
                         int64_t offset, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));

/* Appends text to out with every byte sequence that is not valid UTF-8
 * (overlong forms, surrogates, code points past U+10FFFF, stray or
 * truncated sequences) replaced by U+FFFD, one per offending byte. */
void ms_report_utf8_repair(const char *text, size_t len, ms_buf *out);

/* The length of the longest valid UTF-8 prefix of s[0..len). */
size_t ms_report_utf8_valid_prefix(const unsigned char *s, size_t len);

/* Tidies valid UTF-8 text in place, as report.h promises callers: leading
 * and trailing white space dropped, runs of internal white space (tab, CR,
 * LF, space) folded to one space, other C0 and C1 control characters and
 * DEL removed. Returns the new length (the text is NUL-terminated). */
size_t ms_report_text_tidy(char *s, size_t len);

/* A tidied, UTF-8-repaired copy of text, or NULL when it is empty after
 * tidying. *nomem is set when an allocation failed. */
char *ms_report_text_dup(const char *text, size_t len, int *nomem);

/* ASCII lower case, in place. */
void ms_report_ascii_lower(char *s);

/* Whether s is an IPv4 or IPv6 address as text (inet_pton): a record's
 * source_ip, a failure report's Source-IP. */
int ms_report_is_ip_address(const char *s);

/* Whether Unix time t lies in the dates a report may carry
 * (MS_REPORT_TIME_MIN..MS_REPORT_TIME_MAX, report.h). */
int ms_report_time_in_range(int64_t t);

/* Unix time written as decimal seconds, perhaps with a fraction
 * ("1700000000.0", truncated): 1, 0 when it is not such a number, -1
 * when it is after MS_REPORT_TIME_MAX. */
int ms_report_parse_unix_time(const char *s, int64_t *out);

/* A non-negative integer count, perhaps written with a zero fraction
 * ("12.0"; a fraction is truncated): 1, 0 when it is not such a number,
 * -1 when it is above MS_REPORT_COUNT_MAX. */
int ms_report_parse_count(const char *s, uint64_t *out);

/* An RFC 3339 date-time ("2016-04-01T00:00:00Z", with a fraction, an
 * offset, a space for the T, or a date alone) as Unix seconds: 1, 0 when
 * it cannot be read, -1 when it lies outside MS_REPORT_TIME_MIN..MAX. */
int ms_report_parse_rfc3339(const char *s, int64_t *out);

/* GMime's one-time set-up, from whichever thread needs it first (the
 * walk's MIME reader and the failure-report parser both use GMime). */
/* GMime loaded (core/lazy_gmime.h) and set up, once per process; false
 * when it cannot be loaded: ms_lazy_error(&ms_gmime_lib) says why. */
bool report_gmime_init(void);

#endif
