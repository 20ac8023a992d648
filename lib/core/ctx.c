#include "internal.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

enum { DEFAULT_TIMEOUT_MS = 5000 };

static time_t system_clock(void *arg)
{
    (void)arg;
    return time(NULL);
}

ms_status ms_ctx_new(ms_ctx **out)
{
    ms_ctx *ctx = calloc(1, sizeof *ctx);
    if (ctx == NULL)
        return MS_ERR_NOMEM;
    ctx->timeout_ms = DEFAULT_TIMEOUT_MS;
    ctx->clock = system_clock;
    *out = ctx;
    return MS_OK;
}

ms_status ms_ctx_clone(const ms_ctx *src, ms_ctx **out)
{
    ms_ctx *ctx = NULL;
    ms_status st = ms_ctx_new(&ctx);
    if (st == MS_OK)
        st = ms_ctx_set_resolver(ctx, src->resolver);
    if (st == MS_OK)
        st = ms_ctx_set_trust_anchor_file(ctx, src->trust_anchor_file);
    if (st == MS_OK)
        st = ms_ctx_set_https_ca(ctx, src->https_ca);
    for (size_t i = 0; i < src->https_connect_to_count && st == MS_OK; i++)
        st = ms_ctx_add_https_connect_to(ctx, src->https_connect_to[i]);
    if (st != MS_OK) {
        ms_ctx_free(ctx);
        return st;
    }
    ctx->timeout_ms = src->timeout_ms;
    ms_ctx_set_clock(ctx, src->clock, src->clock_arg);
    *out = ctx;
    return MS_OK;
}

void ms_ctx_free(ms_ctx *ctx)
{
    if (ctx == NULL)
        return;
    if (ctx->dns_free != NULL)
        ctx->dns_free(ctx->dns);
    ms_ctx_free_psl(ctx->psl);
    free(ctx->resolver);
    free(ctx->trust_anchor_file);
    free(ctx->https_ca);
    for (size_t i = 0; i < ctx->https_connect_to_count; i++)
        free(ctx->https_connect_to[i]);
    free(ctx->https_connect_to);
    free(ctx);
}

/* Resolver settings take effect when the DNS module next builds its
 * resolver, so changing them drops the one it has. */
static void drop_resolver(ms_ctx *ctx)
{
    if (ctx->dns_free != NULL)
        ctx->dns_free(ctx->dns);
    ctx->dns = NULL;
    ctx->dns_free = NULL;
}

static ms_status replace_string(char **slot, const char *value)
{
    char *copy = NULL;
    if (value != NULL && (copy = ms_strdup(value)) == NULL)
        return MS_ERR_NOMEM;
    free(*slot);
    *slot = copy;
    return MS_OK;
}

ms_status ms_ctx_set_resolver(ms_ctx *ctx, const char *addr_at_port)
{
    drop_resolver(ctx);
    return replace_string(&ctx->resolver, addr_at_port);
}

ms_status ms_ctx_set_trust_anchor_file(ms_ctx *ctx, const char *path)
{
    drop_resolver(ctx);
    return replace_string(&ctx->trust_anchor_file, path);
}

ms_status ms_ctx_set_timeout_ms(ms_ctx *ctx, unsigned timeout_ms)
{
    if (timeout_ms == 0)
        return MS_ERR_INVALID;
    ctx->timeout_ms = timeout_ms;
    return MS_OK;
}

ms_status ms_ctx_set_https_ca(ms_ctx *ctx, const char *path)
{
    return replace_string(&ctx->https_ca, path);
}

ms_status ms_ctx_add_https_connect_to(ms_ctx *ctx, const char *mapping)
{
    if (mapping == NULL || strchr(mapping, ':') == NULL)
        return MS_ERR_INVALID;
    char **grown = realloc(ctx->https_connect_to, (ctx->https_connect_to_count + 2) * sizeof *grown);
    if (grown == NULL)
        return MS_ERR_NOMEM;
    ctx->https_connect_to = grown;
    if ((grown[ctx->https_connect_to_count] = ms_strdup(mapping)) == NULL)
        return MS_ERR_NOMEM;
    grown[++ctx->https_connect_to_count] = NULL;
    return MS_OK;
}

void ms_ctx_set_clock(ms_ctx *ctx, ms_clock_fn fn, void *arg)
{
    ctx->clock = fn ? fn : system_clock;
    ctx->clock_arg = fn ? arg : NULL;
}

int64_t ms_monotonic_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

time_t ms_ctx_now(const ms_ctx *ctx)
{
    return ctx->clock(ctx->clock_arg);
}
