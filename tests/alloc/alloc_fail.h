/* What the alloc_fail driver (alloc_fail.c) shares with its targets
 * (corpus_targets.c: the fuzz harnesses' calls; library_targets.c: the
 * main calls of the modules that parse nothing of their own).
 *
 * A target runs the library's calls on one input and says what they
 * answered: a status and, in text, whatever else must not change when an
 * allocation fails without the status saying so (counts, hashes). */
#ifndef MAILSEC_TESTS_ALLOC_FAIL_H
#define MAILSEC_TESTS_ALLOC_FAIL_H

#include "mailsec/core.h"
#include "mailsec/report.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

typedef struct answer {
    ms_status status;
    char text[320]; /* what else must not change: counts of findings, records */
} answer;

typedef void (*target_fn)(const char *data, size_t len, answer *a);

/* The allocator the library's calls are not counted through: for what a
 * target makes for itself (its inputs, its checks). */
void *__real_malloc(size_t n);
char *__real_strndup(const char *s, size_t n);

/* 1: the library's allocations are neither counted nor failed until
 * alloc_failures_pause(0): for a target's set-up (a store filled) and its
 * checks (the store read back), which are not what it tests. */
void alloc_failures_pause(int pause);

/* The input's directory (the CORPUS_DIR argument) and a scratch directory
 * of this run (removed at exit), for targets that read or write files. */
extern const char *corpus_dir;
extern char scratch_dir[64];

/* A context asking the DNS test bed (MAILSEC_DNSBED_INFO), or NULL with
 * *st saying why (out of memory). Exits 2 when the bed is not running. */
ms_ctx *bed_ctx(ms_status *st);

/* The input's first line cut at white space into two words (each 256). */
void words(const char *data, size_t len, char *first, char *second);

/* A walk's documents read to their end, and the things it skipped. A
 * document that cannot be read for want of memory (its error says so)
 * counts in nomem: the answer is then MS_ERR_NOMEM, as the walk's own
 * failure is. */
typedef struct walked {
    unsigned long documents, skipped, nomem;
    long long bytes;
} walked;
ms_report_walk_callbacks walked_callbacks(walked *w);

/* A 64-bit FNV-1a hash, chained: h = 0 starts one. */
static inline unsigned long long hash_bytes(unsigned long long h, const void *p, size_t n)
{
    const unsigned char *s = p;
    if (h == 0)
        h = 0xcbf29ce484222325ULL;
    for (size_t i = 0; i < n; i++)
        h = (h ^ s[i]) * 0x100000001b3ULL;
    return (h ^ 0xFF) * 0x100000001b3ULL; /* "a"+"b" differs from "ab"+"" */
}

static inline unsigned long long hash_str(unsigned long long h, const char *s)
{
    return s ? hash_bytes(h, s, strlen(s)) : hash_bytes(h, "-", 1);
}

/* An answer made of several calls: each call's status and what it gave
 * are added to the text; the answer says MS_ERR_NOMEM when any call
 * did. Start with answer_begin. */
static inline void answer_begin(answer *a)
{
    a->status = MS_OK;
    a->text[0] = '\0';
}

__attribute__((format(printf, 3, 4))) static inline void answer_add(answer *a, ms_status st,
                                                                      const char *fmt, ...)
{
    size_t n = strlen(a->text);
    if (st == MS_ERR_NOMEM)
        a->status = MS_ERR_NOMEM;
    else if (a->status == MS_OK)
        a->status = st; /* the first call that did not succeed */
    if (n + 1 >= sizeof a->text)
        return;
    snprintf(a->text + n, sizeof a->text - n, "%d:", (int)st);
    n = strlen(a->text);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(a->text + n, sizeof a->text - n, fmt, ap);
    va_end(ap);
    n = strlen(a->text);
    if (n + 1 < sizeof a->text)
        strcat(a->text, " ");
}

/* corpus_targets.c: what each fuzz harness calls, over its seed corpus */
void run_dkim_arc(const char *data, size_t len, answer *a);
void run_dkim_stream(const char *data, size_t len, answer *a);
void run_dns_rdata(const char *data, size_t len, answer *a);
void run_milter_headers(const char *data, size_t len, answer *a);
void run_report_build(const char *data, size_t len, answer *a);
void run_report_failure_build(const char *data, size_t len, answer *a);
void run_roundcube_config(const char *data, size_t len, answer *a);
void run_roundcube_upgrade(const char *data, size_t len, answer *a);
void run_serve_html(const char *data, size_t len, answer *a);
void run_store(const char *data, size_t len, answer *a);
void run_tls_reply(const char *data, size_t len, answer *a);
void run_tsig_key(const char *data, size_t len, answer *a);

/* library_targets.c: the main calls of modules with no parser of their own */
void run_ingest(const char *data, size_t len, answer *a);
void run_store_views(const char *data, size_t len, answer *a);
void run_sources_rdns(const char *data, size_t len, answer *a);
void run_cert_lint(const char *data, size_t len, answer *a);
void run_conf_audit(const char *data, size_t len, answer *a);
void run_roundcube_audit(const char *data, size_t len, answer *a);
void run_tls_ciphers(const char *data, size_t len, answer *a);
void run_tls_dane(const char *data, size_t len, answer *a);

#endif
