/* libunbound, loaded on first use (core/lazy.h): the names lib/dns uses
 * (resolver.c builds the resolver, query.c asks it). Include this instead
 * of the library's header; ms_dns_resolver_new calls
 * ms_lazy_load(&ms_unbound_lib) before the first of them, and every other
 * call goes through a resolver it built. */
#ifndef MAILSEC_LAZY_UNBOUND_H
#define MAILSEC_LAZY_UNBOUND_H

#include <unbound.h>

#include "core/lazy.h"

#define MS_UNBOUND_NAMES(X) \
    X(ub_cancel) \
    X(ub_ctx_add_ta_file) \
    X(ub_ctx_async) \
    X(ub_ctx_create) \
    X(ub_ctx_debugout) \
    X(ub_ctx_delete) \
    X(ub_ctx_hosts) \
    X(ub_ctx_resolvconf) \
    X(ub_ctx_set_fwd) \
    X(ub_ctx_set_option) \
    X(ub_ctx_zone_add) \
    X(ub_fd) \
    X(ub_process) \
    X(ub_resolve_async) \
    X(ub_resolve_free)

#define MS_UNBOUND_INDEX(name) ms_unbound_##name,
enum { MS_UNBOUND_NAMES(MS_UNBOUND_INDEX) ms_unbound_count };

extern ms_lazy_lib ms_unbound_lib;
extern void *ms_unbound_slots[ms_unbound_count];

#define ub_cancel MS_LAZY(ms_unbound, ub_cancel)
#define ub_ctx_add_ta_file MS_LAZY(ms_unbound, ub_ctx_add_ta_file)
#define ub_ctx_async MS_LAZY(ms_unbound, ub_ctx_async)
#define ub_ctx_create MS_LAZY(ms_unbound, ub_ctx_create)
#define ub_ctx_debugout MS_LAZY(ms_unbound, ub_ctx_debugout)
#define ub_ctx_delete MS_LAZY(ms_unbound, ub_ctx_delete)
#define ub_ctx_hosts MS_LAZY(ms_unbound, ub_ctx_hosts)
#define ub_ctx_resolvconf MS_LAZY(ms_unbound, ub_ctx_resolvconf)
#define ub_ctx_set_fwd MS_LAZY(ms_unbound, ub_ctx_set_fwd)
#define ub_ctx_set_option MS_LAZY(ms_unbound, ub_ctx_set_option)
#define ub_ctx_zone_add MS_LAZY(ms_unbound, ub_ctx_zone_add)
#define ub_fd MS_LAZY(ms_unbound, ub_fd)
#define ub_process MS_LAZY(ms_unbound, ub_process)
#define ub_resolve_async MS_LAZY(ms_unbound, ub_resolve_async)
#define ub_resolve_free MS_LAZY(ms_unbound, ub_resolve_free)

#endif
