/* The failure reports mailsec sends (RFC 9991, in the Authentication
 * Failure Reporting Format of RFC 6591, an ARF message of RFC 5965): a
 * multipart/report with a human-readable part, the message/feedback-report
 * fields, and the original message's header section (text/rfc822-headers),
 * its addresses' local parts redacted when asked (RFC 6590). The header
 * section is hostile input: every line is made a well-formed header line
 * of at most 998 bytes, and the MIME boundary is one it does not hold. */
#define _GNU_SOURCE /* memmem */
#include "report/send_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum {
    LINE_CUT_BYTES = 900,   /* header lines are folded here, below RFC 5322's 998 */
    BOUNDARY_TRIES = 8
};

static int is_atext(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           (c != '\0' && strchr("!#$%&'*+-/=?^_`{|}~.", c) != NULL);
}

/* Where the local part before the '@' at text[at] begins (a dot-atom, or a
 * quoted string), not before from; at itself when there is none. */
static size_t local_part_start(const char *text, size_t from, size_t at)
{
    size_t start = at;
    if (start > from && text[start - 1] == '"') {
        size_t q = start - 1;
        while (q > from && text[q - 1] != '"')
            q--;
        if (q > from)
            return q - 1;
    }
    while (start > from && is_atext((unsigned char)text[start - 1]))
        start--;
    return start;
}

/* text with every address's local part replaced by "redacted". */
static void append_redacted(ms_buf *b, const char *text, size_t len, ms_report_redact redact)
{
    size_t done = 0;
    for (size_t i = 0; redact == MS_REPORT_REDACT_LOCAL_PART && i < len; i++) {
        if (text[i] != '@')
            continue;
        size_t start = local_part_start(text, done, i);
        if (start == i)
            continue;
        ms_buf_append(b, text + done, start - done);
        ms_buf_puts(b, "redacted");
        done = i;
    }
    ms_buf_append(b, text + done, len - done);
}

/* "Name: value" on one line; the value redacted as asked. */
static void put_field(ms_buf *b, const char *name, const char *value, ms_report_redact redact)
{
    if (value == NULL)
        return;
    ms_buf line = MS_BUF_INIT;
    report_send_append_one_line(&line, value);
    ms_buf_printf(b, "%s: ", name);
    append_redacted(b, line.data ? line.data : "", line.len, redact);
    ms_buf_puts(b, "\r\n");
    b->failed |= line.failed;
    ms_buf_free(&line);
}

/* A folded value (Authentication-Results, "\n\t" between its parts) on one
 * line: line breaks dropped, tabs as spaces, other control bytes dropped. */
static void put_unfolded(ms_buf *b, const char *name, const char *value)
{
    if (value == NULL)
        return;
    ms_buf_printf(b, "%s:", name);
    for (const unsigned char *p = (const unsigned char *)value; *p; p++) {
        if (*p == '\t')
            ms_buf_puts(b, " ");
        else if (*p >= 0x20 && *p != 0x7F)
            ms_buf_append(b, (const char *)p, 1);
    }
    ms_buf_puts(b, "\r\n");
}

/* One line of the original header section: control bytes but tab dropped,
 * redacted, folded every LINE_CUT_BYTES; a line that is neither a field
 * nor a continuation becomes a continuation. */
static void put_header_line(ms_buf *b, const char *line, size_t len, ms_report_redact redact)
{
    ms_buf clean = MS_BUF_INIT, red = MS_BUF_INIT;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)line[i];
        if (c == '\t' || (c >= 0x20 && c != 0x7F))
            ms_buf_append(&clean, (const char *)&c, 1);
    }
    append_redacted(&red, clean.data ? clean.data : "", clean.len, redact);
    const char *text = red.data ? red.data : "";
    size_t n = red.len;
    int field = n > 0 && text[0] != ' ' && text[0] != '\t' && text[0] != ':' &&
                memchr(text, ':', n) != NULL;
    if (n > 0 && !field)
        ms_buf_puts(b, " ");
    for (size_t i = 0; i < n; i += LINE_CUT_BYTES) {
        if (i > 0)
            ms_buf_puts(b, "\r\n ");
        ms_buf_append(b, text + i, n - i < LINE_CUT_BYTES ? n - i : LINE_CUT_BYTES);
    }
    if (n > 0)
        ms_buf_puts(b, "\r\n");
    b->failed |= clean.failed || red.failed;
    ms_buf_free(&clean);
    ms_buf_free(&red);
}

/* The header section (up to its first empty line), line by line. */
static void put_headers(ms_buf *b, const char *headers, size_t len, ms_report_redact redact)
{
    size_t at = 0;
    while (at < len) {
        const char *nl = memchr(headers + at, '\n', len - at);
        size_t end = nl ? (size_t)(nl - headers) : len;
        size_t line_len = end - at;
        if (line_len > 0 && headers[at + line_len - 1] == '\r')
            line_len--;
        if (line_len == 0)
            break; /* the end of the header section */
        put_header_line(b, headers + at, line_len, redact);
        at = end + 1;
    }
}

static int has_text(const char *s)
{
    return s != NULL && s[0] != '\0';
}

static ms_status check_input(const ms_report_failure_out *in, char ip[INET6_ADDRSTRLEN])
{
    if (!has_text(in->from) || !has_text(in->to) || !has_text(in->reporting_mta) ||
        !has_text(in->reported_domain) || in->source_ip == NULL ||
        (in->headers == NULL && in->headers_len > 0))
        return MS_ERR_INVALID;
    return report_send_canonical_ip(in->source_ip, ip) ? MS_OK : MS_ERR_INVALID;
}

/* The message/feedback-report part's fields (RFC 6591 3.1, RFC 5965 3.1). */
static void put_feedback(ms_buf *b, const ms_report_failure_out *in, const char *ip)
{
    ms_report_redact r = in->redact;
    ms_buf_puts(b, "Feedback-Type: auth-failure\r\nUser-Agent: mailsec\r\nVersion: 1\r\n");
    if (in->original_mail_from != NULL) {
        ms_buf_puts(b, "Original-Mail-From: <");
        append_redacted(b, in->original_mail_from, strcspn(in->original_mail_from, "\r\n<>"), r);
        ms_buf_puts(b, ">\r\n");
    }
    if (has_text(in->original_rcpt_to)) {
        ms_buf_puts(b, "Original-Rcpt-To: <");
        append_redacted(b, in->original_rcpt_to, strcspn(in->original_rcpt_to, "\r\n<>"), r);
        ms_buf_puts(b, ">\r\n");
    }
    ms_buf_puts(b, "Arrival-Date: ");
    report_send_append_date(b, in->arrival);
    ms_buf_puts(b, "\r\n");
    put_field(b, "Reporting-MTA", in->reporting_mta, MS_REPORT_REDACT_NONE);
    ms_buf_printf(b, "Source-IP: %s\r\n", ip);
    put_field(b, "Reported-Domain", in->reported_domain, MS_REPORT_REDACT_NONE);
    put_unfolded(b, "Authentication-Results", in->authentication_results);
    ms_buf_puts(b, "Auth-Failure: dmarc\r\n");
    put_field(b, "Identity-Alignment",
              has_text(in->identity_alignment) ? in->identity_alignment : "none",
              MS_REPORT_REDACT_NONE);
    put_field(b, "Delivery-Result", in->delivery_result, MS_REPORT_REDACT_NONE);
}

static void compose(ms_buf *b, const ms_report_failure_out *in, const char *ip,
                    const char *boundary, const ms_buf *headers)
{
    put_field(b, "From", in->from, MS_REPORT_REDACT_NONE);
    put_field(b, "To", in->to, MS_REPORT_REDACT_NONE);
    ms_buf_puts(b, "Date: ");
    report_send_append_date(b, in->date);
    ms_buf_printf(b, "\r\nMessage-ID: <failure.%08x%08x@", arc4random(), arc4random());
    report_send_append_one_line(b, in->reporting_mta);
    ms_buf_puts(b, ">\r\nSubject: DMARC failure report for ");
    report_send_append_one_line(b, in->reported_domain);
    ms_buf_printf(b, " from %s\r\nMIME-Version: 1.0\r\n"
                     "Content-Type: multipart/report; report-type=feedback-report;\r\n"
                     "\tboundary=\"%s\"\r\n\r\n"
                     "This is a DMARC failure report (RFC 9991) in MIME format.\r\n\r\n"
                     "--%s\r\nContent-Type: text/plain; charset=utf-8\r\n"
                     "Content-Transfer-Encoding: 8bit\r\n\r\n"
                     "A message claiming to be from ",
                  ip, boundary, boundary);
    report_send_append_one_line(b, in->reported_domain);
    ms_buf_printf(b, " failed DMARC authentication; it came from %s on ", ip);
    report_send_append_date(b, in->arrival);
    ms_buf_printf(b, ".\r\n%s\r\n\r\n--%s\r\nContent-Type: message/feedback-report\r\n\r\n",
                  in->redact == MS_REPORT_REDACT_LOCAL_PART
                      ? "The local parts of its addresses are redacted."
                      : "",
                  boundary);
    put_feedback(b, in, ip);
    ms_buf_printf(b, "\r\n--%s\r\nContent-Type: text/rfc822-headers\r\n"
                     "Content-Transfer-Encoding: 8bit\r\n\r\n",
                  boundary);
    ms_buf_append(b, headers->data ? headers->data : "", headers->len);
    ms_buf_printf(b, "\r\n--%s--\r\n", boundary);
}

/* A boundary that no line of the header part holds. */
static int pick_boundary(const ms_buf *headers, char boundary[48])
{
    for (int i = 0; i < BOUNDARY_TRIES; i++) {
        snprintf(boundary, 48, "=_mailsec_failure_%08x%08x", arc4random(), arc4random());
        if (headers->len == 0 || memmem(headers->data, headers->len, boundary, strlen(boundary)) == NULL)
            return 1;
    }
    return 0;
}

ms_status ms_report_failure_build(const ms_report_failure_out *in, size_t max_bytes, char **out,
                                  size_t *len)
{
    *out = NULL;
    *len = 0;
    char ip[INET6_ADDRSTRLEN];
    ms_status st = check_input(in, ip);
    if (st != MS_OK)
        return st;
    ms_buf headers = MS_BUF_INIT, b = MS_BUF_INIT;
    put_headers(&headers, in->headers ? in->headers : "", in->headers_len, in->redact);
    char boundary[48];
    if (headers.failed) {
        st = MS_ERR_NOMEM;
    } else if (!pick_boundary(&headers, boundary)) {
        st = MS_ERR_INVALID; /* the header section holds every boundary tried */
    } else {
        compose(&b, in, ip, boundary, &headers);
        if (b.failed)
            st = MS_ERR_NOMEM;
        else if (max_bytes > 0 && b.len > max_bytes)
            st = MS_ERR_LIMIT;
    }
    ms_buf_free(&headers);
    if (st != MS_OK) {
        ms_buf_free(&b);
        return st;
    }
    *len = b.len;
    *out = ms_buf_take(&b);
    return *out ? MS_OK : MS_ERR_NOMEM;
}
