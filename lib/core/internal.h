/* What library modules may see of the core that callers may not. */
#ifndef MAILSEC_LIB_CORE_INTERNAL_H
#define MAILSEC_LIB_CORE_INTERNAL_H

#include "mailsec/core.h"

#include <stddef.h>

/* The context's configuration. Modules that keep state for a context (the
 * DNS module keeps its resolver here) register a destructor, so the core
 * need not know them. */
struct ms_ctx {
    char *resolver;          /* "ADDR[@PORT]" or NULL for the system's */
    char *trust_anchor_file; /* NULL: the system's root trust anchor */
    unsigned timeout_ms;
    ms_clock_fn clock;
    void *clock_arg;

    void *dns;                   /* owned by lib/dns */
    void (*dns_free)(void *dns); /* called by ms_ctx_free */
};

/* Duplicate a string; NULL in, NULL out. */
char *ms_strdup(const char *s);
/* printf into a newly allocated string; NULL when out of memory. */
char *ms_asprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* A growable byte buffer, always NUL-terminated. */
typedef struct ms_buf {
    char *data;
    size_t len;
    size_t cap;
    int failed; /* set once an allocation failed; later appends do nothing */
} ms_buf;

#define MS_BUF_INIT {NULL, 0, 0, 0}

void ms_buf_append(ms_buf *buf, const char *data, size_t len);
void ms_buf_puts(ms_buf *buf, const char *s);
void ms_buf_printf(ms_buf *buf, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Hand over the string (NULL if any allocation failed) and reset buf. */
char *ms_buf_take(ms_buf *buf);
void ms_buf_free(ms_buf *buf);

/* Each module's table of diagnostic definitions, ended by an entry whose
 * code is NULL. The catalogue (lib/core/catalogue.c) lists them all. */
extern const ms_diag_def ms_dns_diag_defs[];
extern const ms_diag_def ms_dmarc_diag_defs[];

#endif
