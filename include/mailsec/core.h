/* mailsec core: status codes, diagnostics and the library context.
 *
 * Every other module builds on these three things:
 *  - ms_status: what a function returns when it could not do its job;
 *  - ms_diag:   a finding about the thing that was checked (a record, a zone);
 *  - ms_ctx:    the configuration a caller hands to the library (resolver,
 *               trust anchor, timeouts, clock). There is no global state.
 */
#ifndef MAILSEC_CORE_H
#define MAILSEC_CORE_H

#include <stdarg.h>
#include <stddef.h>
#include <time.h>

#ifdef __cplusplus
extern "C" {
#endif

#define MS_VERSION "0.1.0"

/* Why a call could not do its job. Findings about input are never an
 * ms_status: they are diagnostics. */
typedef enum ms_status {
    MS_OK = 0,
    MS_ERR_NOMEM,   /* an allocation failed */
    MS_ERR_INVALID, /* the caller passed an invalid argument */
    MS_ERR_IO,      /* a file or socket could not be read or written */
    MS_ERR_DNS,     /* the resolver could not be set up or failed */
    MS_ERR_LIMIT    /* input exceeded a documented limit */
} ms_status;

const char *ms_status_str(ms_status status);

typedef enum ms_severity {
    MS_SEV_INFO = 0,
    MS_SEV_WARNING = 1,
    MS_SEV_ERROR = 2
} ms_severity;

const char *ms_severity_str(ms_severity severity); /* "info", "warning", "error" */

/* A diagnostic's definition: one per stable code. Each module keeps a table
 * of these; docs/diagnostics.md lists every one, and a test checks that
 * the two agree. */
typedef struct ms_diag_def {
    const char *code;     /* stable identifier, "<module>.<what>" */
    ms_severity severity; /* fixed per code */
    const char *summary;  /* one line: what this code means */
    const char *advice;   /* what to do about it; NULL when nothing is to be done */
} ms_diag_def;

/* One finding. */
typedef struct ms_diag {
    const ms_diag_def *def; /* code, severity and advice */
    char *message;          /* this occurrence, in words (owned) */
    char *location;         /* the DNS name or file it is about; NULL if none (owned) */
    long offset;            /* byte offset in the checked text; -1 if none */
} ms_diag;

typedef struct ms_diag_list {
    ms_diag *items;
    size_t count;
    size_t capacity;
} ms_diag_list;

#define MS_DIAG_LIST_INIT {NULL, 0, 0}

/* Appends a finding; the message is printf-formatted. */
ms_status ms_diag_add(ms_diag_list *list, const ms_diag_def *def, const char *location,
                      long offset, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
ms_status ms_diag_addv(ms_diag_list *list, const ms_diag_def *def, const char *location,
                       long offset, const char *fmt, va_list ap)
    __attribute__((format(printf, 5, 0)));
void ms_diag_list_free(ms_diag_list *list);
/* Moves every item of src to the end of dst; src is left empty. */
ms_status ms_diag_list_move(ms_diag_list *dst, ms_diag_list *src);
size_t ms_diag_count(const ms_diag_list *list, ms_severity severity);
/* The highest severity present, or -1 when the list is empty. */
int ms_diag_worst(const ms_diag_list *list);
/* Non-zero when a finding with this code is in the list. */
int ms_diag_has(const ms_diag_list *list, const char *code);

/* Every diagnostic definition the library knows, for docs and tests:
 * index 0, 1, ... until NULL. */
const ms_diag_def *ms_diag_catalogue_at(size_t index);
/* The definition of a code, or NULL. */
const ms_diag_def *ms_diag_lookup(const char *code);

/* The library context. Create one per thread of work. */
typedef struct ms_ctx ms_ctx;

typedef time_t (*ms_clock_fn)(void *arg);

ms_status ms_ctx_new(ms_ctx **out);
/* A new context with the same configuration (resolver, trust anchor,
 * timeout, HTTPS settings, clock) and none of the state: for another
 * thread. */
ms_status ms_ctx_clone(const ms_ctx *src, ms_ctx **out);
void ms_ctx_free(ms_ctx *ctx);
/* Send DNS queries to this server ("ADDR" or "ADDR@PORT") instead of the
 * system's resolvers. */
ms_status ms_ctx_set_resolver(ms_ctx *ctx, const char *addr_at_port);
/* DNSSEC trust anchors from a file (DS or DNSKEY records in zone-file form).
 * When set, it replaces the system's root trust anchor. */
ms_status ms_ctx_set_trust_anchor_file(ms_ctx *ctx, const char *path);
/* Upper bound on one DNS batch or lookup, in milliseconds. */
ms_status ms_ctx_set_timeout_ms(ms_ctx *ctx, unsigned timeout_ms);
/* HTTPS fetches (MTA-STS policies): trust this CA file instead of the
 * system's, as curl's --cacert does. */
ms_status ms_ctx_set_https_ca(ms_ctx *ctx, const char *path);
/* Connect to another host and port than the URL names
 * ("HOST:PORT:CONNECT-HOST:CONNECT-PORT", as curl's --connect-to), so tests
 * can serve https://mta-sts.example.com/ from a loopback high port; may be
 * given several times. */
ms_status ms_ctx_add_https_connect_to(ms_ctx *ctx, const char *mapping);
/* Replace the clock (tests use this for expiry checks). */
void ms_ctx_set_clock(ms_ctx *ctx, ms_clock_fn fn, void *arg);
time_t ms_ctx_now(const ms_ctx *ctx);

#ifdef __cplusplus
}
#endif
#endif
