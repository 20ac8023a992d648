/* What the milter's files share. */
#ifndef MAILSEC_LIB_MILTER_INTERNAL_H
#define MAILSEC_LIB_MILTER_INTERNAL_H

#include "core/internal.h"
#include "mailsec/dmarc.h"
#include "mailsec/milter.h"

#include <stddef.h>

/* "ADDR[/PREFIX]": 0, or -1 when it is not one. */
int milter_net_parse(const char *text, ms_milter_net *net);
/* 1 when ip (text) is within one of the networks. */
int milter_net_contains(const ms_milter_net *nets, size_t count, const char *ip);

/* Appends an RFC 8601 value: as it is when it is a token, else a quoted
 * string (control and non-ASCII bytes dropped), at most 255 bytes of it. */
void milter_ar_value(ms_buf *b, const char *text);

/* What a failure report is made of: the message that failed DMARC. */
typedef struct milter_failure_input {
    const ms_milter_config *config;
    const ms_dmarc_discovery *discovery;  /* its ruf= destinations, authorised or not */
    const ms_dmarc_record *record;        /* the record that applied */
    const char *from_domain, *client_ip, *mail_from, *rcpt;
    const char *auth_results;             /* the value the milter adds */
    const char *headers;                  /* the header section, "Name:value\n" */
    size_t headers_len;
    int dkim_failed;                      /* a signature failed evaluation (fo=d) */
    int spf_failed;                       /* SPF failed (fo=s) */
    ms_milter_action action;
    int64_t now;
} milter_failure_input;

/* At most this many ruf= destinations of one record get a report. */
#define MS_MILTER_FAILURE_DESTINATIONS_MAX 2

/* The reports the record's ruf= and fo= ask for, into v->failure_reports;
 * why others were not built into v->failure_notes. MS_ERR_NOMEM only. */
ms_status milter_failure_build(const milter_failure_input *in, ms_milter_verdict *v);
void milter_failure_reports_free(ms_milter_verdict *v);

#endif
