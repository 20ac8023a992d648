/* mailsec sources: who sends mail as your domains, and what to do about
 * each sender, from the aggregate reports in the store.
 *
 *  - reverse DNS names of the sending IPs, looked up through lib/dns and
 *    cached in the store, grouped by their organisational domain (PSL);
 *  - a classification of each source from its messages:
 *      aligned     authenticated and aligned: DMARC passes, nothing to do;
 *      unaligned   SPF or DKIM passes, but not for your domain: a real
 *                  service (a newsletter tool, a CRM) that needs SPF or
 *                  DKIM set up for your domain before you enforce;
 *      forwarding  nothing passes, but the receiver said the mail was
 *                  forwarded or came through a list, or DKIM survived
 *                  where SPF broke: mail your users sent, relayed;
 *      spoofing    nothing passes and no sign of forwarding: someone
 *                  else using your name — what p=reject is for;
 *      mixed       no one class holds most of the messages.
 */
#ifndef MAILSEC_SOURCES_H
#define MAILSEC_SOURCES_H

#include <stddef.h>
#include <stdint.h>

#include "mailsec/core.h"
#include "mailsec/store.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum ms_sources_class {
    MS_SOURCES_ALIGNED = 0,
    MS_SOURCES_UNALIGNED,
    MS_SOURCES_FORWARDING,
    MS_SOURCES_SPOOFING,
    MS_SOURCES_MIXED
} ms_sources_class;

/* "aligned", "unaligned", "forwarding", "spoofing", "mixed" */
const char *ms_sources_class_name(ms_sources_class cls);
/* What the class means and what to do, in one sentence. */
const char *ms_sources_class_advice(ms_sources_class cls);

enum { MS_SOURCES_SIGNS_MAX = 4 };

typedef struct ms_sources_verdict {
    ms_sources_class cls;
    /* The evidence, in words, strongest first (static or owned by the
     * verdict: free with ms_sources_verdict_clear). */
    char *signs[MS_SOURCES_SIGNS_MAX];
    size_t sign_count;
} ms_sources_verdict;

/* The class is always set; MS_ERR_NOMEM when a sign could not be written
 * (the signs are then incomplete: a caller showing them says so). */
ms_status ms_sources_classify(const ms_store_source *source, ms_sources_verdict *out);
void ms_sources_verdict_clear(ms_sources_verdict *v);

/* Reverse DNS for the sending IPs that the store's cache lacks (or holds
 * for longer than max_age seconds; 0: any age), all looked up at once and
 * written to the cache ("" for IPs without a name). A failed lookup (time
 * out, SERVFAIL) is not cached, so a later run asks again. */
ms_status ms_sources_resolve(ms_ctx *ctx, ms_store *store, const char *const *ips, size_t count,
                             int64_t max_age);

/* An ms_store_group_fn: an rDNS name's organisational domain (by the PSL),
 * e.g. "mail-sor-f41.google.com" -> "google.com"; arg is an ms_ctx. */
char *ms_sources_group_by_org(void *ctx, const char *rdns_name);

/* The reverse-lookup name of an IPv4 or IPv6 address (in-addr.arpa /
 * ip6.arpa), or NULL when ip is not an address. Caller frees. */
char *ms_sources_reverse_name(const char *ip);

#ifdef __cplusplus
}
#endif
#endif
