/* What the milter's files share. */
#ifndef MAILSEC_LIB_MILTER_INTERNAL_H
#define MAILSEC_LIB_MILTER_INTERNAL_H

#include "core/internal.h"
#include "mailsec/milter.h"

#include <stddef.h>

/* "ADDR[/PREFIX]": 0, or -1 when it is not one. */
int milter_net_parse(const char *text, ms_milter_net *net);
/* 1 when ip (text) is within one of the networks. */
int milter_net_contains(const ms_milter_net *nets, size_t count, const char *ip);

/* Appends an RFC 8601 value: as it is when it is a token, else a quoted
 * string (control and non-ASCII bytes dropped), at most 255 bytes of it. */
void milter_ar_value(ms_buf *b, const char *text);

#endif
