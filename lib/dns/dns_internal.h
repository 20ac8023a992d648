/* What the files of lib/dns share. */
#ifndef MAILSEC_LIB_DNS_INTERNAL_H
#define MAILSEC_LIB_DNS_INTERNAL_H

#include "core/internal.h"
#include "mailsec/dns.h"

#include <stddef.h>

struct ub_ctx;
struct ub_result;

/* Limits on names we send (RFC 1035 2.3.4), in presentation form without
 * the trailing dot. */
enum {
    MS_DNS_MAX_NAME_TEXT = 253,
    MS_DNS_MAX_LABEL = 63,
    /* A name on the wire, length octets included (RFC 1035 3.1). */
    MS_DNS_MAX_NAME_WIRE = 255
};

/* Builds a resolver configured from the ctx (forwarder, trust anchor). */
ms_status ms_dns_resolver_new(const ms_ctx *ctx, struct ub_ctx **out);

/* Decodes every record of a libunbound result into answer->records.
 * Returns MS_ERR_LIMIT when some RDATA is malformed, MS_ERR_NOMEM. */
ms_status ms_dns_decode_records(ms_dns_answer *answer, const struct ub_result *result);

/* Decodes a wire-format name filling exactly rdata[0..len) into
 * presentation form: no trailing dot (so the root is ""), bytes that are not
 * plain printable ASCII (and '.' or '\' inside a label) as \DDD or \X.
 * MS_ERR_LIMIT when malformed, MS_ERR_NOMEM. */
ms_status ms_dns_name_from_wire(const unsigned char *wire, size_t len, char **out);

/* Non-zero when name is one we agree to send: see docs/dns.md. */
int ms_dns_name_valid(const char *name);

/* A new answer for qname (trailing dot removed); NULL out of memory. */
ms_dns_answer *ms_dns_answer_new(const char *qname, uint16_t qtype, ms_dns_rcode rcode);

/* Drops every outstanding query whose callback argument is arg, without
 * calling its callback (a batch being freed before it was waited for). */
void ms_dns_forget_arg(ms_ctx *ctx, void *arg);

/* Non-zero when s[0..len) is a domain name of letters, digits, '-' and
 * '_' only (a trailing dot allowed), at most 253 octets and 63 a label:
 * the names of keys and of the records and zones mailsec updates, which
 * go into ldns's presentation-form parser (lib/dns/tsig.c). */
int ms_dns_plain_name(const char *s, size_t len);

/* ldns's name of a TSIG algorithm ("hmac-sha256" -> "hmac-sha256."), or
 * NULL when it is not one mailsec signs with (lib/dns/tsig.c). */
const char *ms_dns_tsig_algorithm_wire_name(const char *algorithm);

#endif
