/* Building a libunbound context from an ms_ctx's configuration. */
#include "dns_internal.h"

#include "core/lazy_unbound.h"

#include <string.h>
#include <unistd.h>

/* Where Debian keeps the root trust anchor: dns-root-data first (static,
 * always present with that package), then unbound's auto-updated copy. */
static const char *const system_root_anchors[] = {
    "/usr/share/dns/root.key",
    "/var/lib/unbound/root.key",
};

/* libunbound's defaults otherwise: forwarding to an authoritative-only
 * server (the test bed) validates with them as they are; docs/dns.md
 * ("Unbound options") says what was tried and why nothing else is set. */
static const char *const base_options[][2] = {
    /* The library never prints: no syslog, errors only. */
    {"use-syslog:", "no"},
    {"verbosity:", "0"},
};

static int set_options(struct ub_ctx *ub)
{
    for (size_t i = 0; i < sizeof base_options / sizeof base_options[0]; i++)
        if (ub_ctx_set_option(ub, base_options[i][0], base_options[i][1]) != 0)
            return -1;
    return 0;
}

static int add_trust_anchor(struct ub_ctx *ub, const ms_ctx *ctx)
{
    if (ctx->trust_anchor_file != NULL)
        return ub_ctx_add_ta_file(ub, ctx->trust_anchor_file);
    for (size_t i = 0; i < sizeof system_root_anchors / sizeof system_root_anchors[0]; i++)
        if (access(system_root_anchors[i], R_OK) == 0)
            return ub_ctx_add_ta_file(ub, system_root_anchors[i]);
    return 0; /* no anchor: every answer is insecure */
}

/* libunbound answers the reverse zones of private and documentation
 * addresses itself (NXDOMAIN). With a chosen server, those questions go to
 * it: a site's own resolver knows its private PTR records, and the SPF test
 * suite's zones use documentation addresses. (unblock-lan-zones covers the
 * private ranges; the documentation ranges need "nodefault".) Must come
 * last: ub_ctx_zone_add finalises the context. */
static int forward_reserved_zones(struct ub_ctx *ub)
{
    static const char *const ZONES[] = {"2.0.192.in-addr.arpa.", "100.51.198.in-addr.arpa.",
                                        "113.0.203.in-addr.arpa.", "8.b.d.0.1.0.0.2.ip6.arpa."};
    for (size_t i = 0; i < sizeof ZONES / sizeof ZONES[0]; i++)
        if (ub_ctx_zone_add(ub, ZONES[i], "nodefault") != 0)
            return -1;
    return 0;
}

static int set_upstream(struct ub_ctx *ub, const ms_ctx *ctx)
{
    if (ctx->resolver != NULL) {
        if (ub_ctx_set_option(ub, "unblock-lan-zones:", "yes") != 0 ||
            ub_ctx_set_option(ub, "insecure-lan-zones:", "yes") != 0)
            return -1;
        return ub_ctx_set_fwd(ub, ctx->resolver);
    }
    if (ub_ctx_resolvconf(ub, NULL) != 0)
        return -1;
    /* /etc/hosts is a nicety; a system without one still resolves. */
    (void)ub_ctx_hosts(ub, NULL);
    return 0;
}

ms_status ms_dns_resolver_new(const ms_ctx *ctx, struct ub_ctx **out)
{
    /* Loaded here, by the first query of the process, so that commands
     * that ask no DNS start without it (core/lazy_unbound.h). */
    if (ms_lazy_load(&ms_unbound_lib) != MS_OK)
        return MS_ERR_DNS;
    struct ub_ctx *ub = ub_ctx_create();
    if (ub == NULL)
        return MS_ERR_NOMEM;
    /* Silence libunbound's own logging; it writes to stderr otherwise. */
    ub_ctx_debugout(ub, NULL);
    /* A thread, not a fork: keeps one address space under sanitizers and
     * lets ub_cancel reach the worker. */
    if (ub_ctx_async(ub, 1) != 0 || set_options(ub) != 0 || set_upstream(ub, ctx) != 0 ||
        add_trust_anchor(ub, ctx) != 0) {
        ub_ctx_delete(ub);
        return MS_ERR_DNS;
    }
    if (ctx->resolver != NULL && forward_reserved_zones(ub) != 0) {
        ub_ctx_delete(ub);
        return MS_ERR_DNS;
    }
    *out = ub;
    return MS_OK;
}

const char *ms_dns_library_error(void)
{
    return ms_lazy_failure(&ms_unbound_lib);
}
