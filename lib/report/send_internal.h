/* What report sending shares inside the library (lib/report/send*.c and
 * lib/store/evaluations.c, and the milter's failure reports). */
#ifndef MAILSEC_LIB_REPORT_SEND_INTERNAL_H
#define MAILSEC_LIB_REPORT_SEND_INTERNAL_H

#include "core/internal.h"
#include "mailsec/dmarc.h"
#include "mailsec/report.h"

#include <arpa/inet.h>

/* ip in the form RFC 9990's IPAddress type accepts: inet_ntop's, an
 * IPv4-mapped IPv6 address as IPv4. 0 when ip is not an address, or one
 * no sender has ("::", the IPv4-compatible "::1.2.3.4" forms). */
int report_send_canonical_ip(const char *ip, char out[INET6_ADDRSTRLEN]);

/* The RFC 7489 / RFC 9990 mail of one report (send_mail.c): headers, a
 * text part and the gzip attachment, CRLF line ends, base64 in lines of 76. */
typedef struct report_send_mail {
    const char *from;          /* the reporting address */
    const char *to;            /* the rua address */
    const char *org_name;
    const char *receiver;      /* the reporter's domain (Submitter) */
    const char *policy_domain;
    const char *report_id;
    const char *file_name;     /* of the attachment */
    int64_t begin, end, date;  /* the period, the Date: header */
    const void *gz;
    size_t gz_len;
} report_send_mail;
void report_send_mail_compose(const report_send_mail *m, ms_buf *out);
/* RFC 5322 date-time of t in UTC ("Mon, 07 Dec 2026 00:00:00 +0000"). */
void report_send_append_date(ms_buf *out, int64_t t);
/* text on one line: control characters dropped, so it cannot end the line
 * or the part. */
void report_send_append_one_line(ms_buf *out, const char *text);

/* An address we can put in To: and give sendmail: printable ASCII without
 * spaces, one "@" with something on each side. Internationalised
 * addresses are not supported. */
int report_send_address_usable(const char *a);
/* The discovery's rua (is_ruf 0) or ruf (1) destination written as uri,
 * with what the DNS said about its authorisation; NULL when there is none. */
const ms_dmarc_destination *report_send_find_destination(const ms_dmarc_discovery *d,
                                                         const char *uri, int is_ruf);

/* Hands a composed message to the local sendmail (path; "-oi -t", the
 * recipients from To:) or to an SMTP server (smtp "HOST:PORT", through
 * libcurl). MS_OK once it was accepted; else *why (caller frees). */
ms_status report_send_sendmail(const char *path, const char *from, const ms_buf *message,
                               char **why);
ms_status report_send_smtp(const char *smtp, const char *from, const char *to,
                           const ms_buf *message, char **why);

#endif
