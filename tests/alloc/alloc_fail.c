/* alloc_fail: every allocation of the library fails in turn, as SQLite's
 * fault simulation and curl's torture mode do.
 *
 *   alloc_fail TARGET CORPUS_DIR
 *
 * For each input of the corpus (the fuzz harnesses' seeds), TARGET's
 * library calls run once as they are, to learn their answer and how many
 * allocations they make (N); then N more times, the k-th allocation
 * failing in run k. Each of those runs must give the same answer as the
 * first, or say MS_ERR_NOMEM: an allocation failure that changes the
 * answer without saying so (a finding lost, a record dropped) is a
 * failure of this test, and so is a crash; leaks are LeakSanitizer's to
 * find (the sanitizer build runs this too).
 *
 * The targets that ask DNS (SPF evaluation, DMARC discovery, the domain
 * audit) take a file naming what to check instead of a parser's input,
 * and ask the DNS test bed (MAILSEC_DNSBED_INFO); each run has a context
 * of its own, so its allocations are failed too. dkim_verify takes signed
 * messages (the streaming verifier, ARC, the keys from the DNS test bed),
 * dkim_sign plain ones (its keys from the corpus's ../keys). milter_message
 * runs the milter's engine (configuration, fields, body, verdict) over
 * whole messages, each after a line "CLIENT-IP MAIL-FROM".
 * store_evaluations and report_send take evaluations in words
 * (tests/alloc/evaluations), record them in a new SQLite store each run,
 * and read them back or build their reports (report_send asks the DNS
 * test bed where they go).
 *
 * Every fuzz harness's corpus has a target calling what the harness calls
 * (corpus_targets.c); the modules that parse no input of their own have
 * theirs in library_targets.c: ingest (files into a store, then again:
 * every report exactly once), store_views (every view, the sources
 * classified), sources_rdns (the DNS test bed), cert_lint, conf_audit,
 * roundcube_audit (installations its script makes), tls_ciphers (the
 * cipher suites of an `openssl s_server` its script starts), tls_dane (the
 * mail test bed's Postfix checked with DANE, the TLSA records from the
 * DNS test bed).
 *
 * The last line says, per target, how many allocations were failed and
 * how each was handled; the exit status is 1 when any answer changed
 * without saying so. ALLOC_FAIL_TRACE=1 prints where each failed
 * allocation was made, and every changed answer.
 *
 * The library is linked statically (mailsec_internal) with
 * -Wl,--wrap=malloc,... so that exactly its own calls are counted and
 * failed, not those of libc, expat or OpenSSL inside it. */
#include "alloc_fail.h"

#include "mailsec/cert.h"
#include "mailsec/conf.h"
#include "mailsec/dkim.h"
#include "mailsec/dmarc.h"
#include "mailsec/email.h"
#include "mailsec/milter.h"
#include "mailsec/report.h"
#include "mailsec/spf.h"
#include "mailsec/store.h"
#include "mailsec/audit.h"
#include "mailsec/tls.h"
#include "ingest/imap_parse.h"
#include "unit/testutil.h"

#include <dirent.h>
#include <execinfo.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- the allocator: counts, and fails the chosen call ---- */

/* Atomic: ingest allocates in its reader and writer threads at once (the
 * k-th allocation is then whichever comes k-th). */
static atomic_ulong calls;   /* allocations made since the run began */
static atomic_ulong fail_at; /* 1-based; 0: fail none */
static atomic_int failed;    /* the chosen allocation was failed */

static int trace; /* ALLOC_FAIL_TRACE set: where each failed allocation was made */
static atomic_int paused; /* a target's own set-up or check: not counted */

void alloc_failures_pause(int pause)
{
    atomic_store(&paused, pause);
}

static int fail_now(void)
{
    if (atomic_load(&paused))
        return 0;
    unsigned long k = atomic_fetch_add(&calls, 1) + 1;
    if (k == atomic_load(&fail_at)) {
        atomic_store(&failed, 1);
        if (trace) {
            void *frames[12];
            printf("allocation %lu failed at:\n", k); /* on stdout, in order with the verdicts */
            fflush(stdout);
            backtrace_symbols_fd(frames, backtrace(frames, 12), 1);
        }
        return 1;
    }
    return 0;
}

void *__real_calloc(size_t n, size_t size);
void *__real_realloc(void *p, size_t n);
char *__real_strdup(const char *s);
void *__wrap_malloc(size_t n);
void *__wrap_calloc(size_t n, size_t size);
void *__wrap_realloc(void *p, size_t n);
char *__wrap_strdup(const char *s);
char *__wrap_strndup(const char *s, size_t n);

void *__wrap_malloc(size_t n)
{
    return fail_now() ? NULL : __real_malloc(n);
}

void *__wrap_calloc(size_t n, size_t size)
{
    return fail_now() ? NULL : __real_calloc(n, size);
}

void *__wrap_realloc(void *p, size_t n)
{
    return fail_now() ? NULL : __real_realloc(p, n);
}

char *__wrap_strdup(const char *s)
{
    return fail_now() ? NULL : __real_strdup(s);
}

char *__wrap_strndup(const char *s, size_t n)
{
    return fail_now() ? NULL : __real_strndup(s, n);
}

/* ---- the targets: library calls on one input, their answer as text ---- */

static void diags_answer(answer *a, ms_status st, const ms_diag_list *d)
{
    a->status = st;
    snprintf(a->text, sizeof a->text, "findings %zu", d->count);
}

/* A target over a parser that reads its input into one object and lists
 * findings: the answer is its status and how many findings it made. out
 * (of TYPE, first INIT) is what PARSE fills, RELEASE frees it. */
#define DIAG_PARSER_TARGET(name, TYPE, INIT, PARSE, RELEASE)                                       \
    static void name(const char *data, size_t len, answer *a)                                      \
    {                                                                                              \
        ms_diag_list d = {0};                                                                      \
        TYPE out = INIT;                                                                           \
        diags_answer(a, PARSE, &d);                                                                \
        RELEASE;                                                                                   \
        ms_diag_list_free(&d);                                                                     \
    }

DIAG_PARSER_TARGET(run_spf, ms_spf_record *, NULL, ms_spf_parse(data, len, "input", &out, &d),
                   ms_spf_record_free(out))
DIAG_PARSER_TARGET(run_dkim_key, ms_dkim_key *, NULL,
                   ms_dkim_key_parse(data, len, "input", &out, &d), ms_dkim_key_free(out))
DIAG_PARSER_TARGET(run_dkim_signature, ms_dkim_signature *, NULL,
                   ms_dkim_signature_parse(data, len, "input", &out, &d),
                   ms_dkim_signature_free(out))
DIAG_PARSER_TARGET(run_mtasts, ms_audit_mtasts_policy *, NULL,
                   ms_audit_mtasts_check_policy(data, len, "input", &out, &d),
                   ms_audit_mtasts_policy_free(out))
DIAG_PARSER_TARGET(run_pem, ms_cert_pem_file, {0}, ms_cert_pem_scan(data, len, "input", &out, &d),
                   ms_cert_pem_file_free(&out))
DIAG_PARSER_TARGET(run_maincf, ms_conf_maincf, {0},
                   ms_conf_maincf_parse(data, len, "main.cf", &out, &d), ms_conf_maincf_free(&out))
DIAG_PARSER_TARGET(run_mastercf, ms_conf_mastercf, {0},
                   ms_conf_mastercf_parse(data, len, "master.cf", &out, &d),
                   ms_conf_mastercf_free(&out))
DIAG_PARSER_TARGET(run_dovecot, ms_conf_dovecot, {0},
                   ms_conf_dovecot_parse(data, len, "dovecot.conf", 0, &out, &d),
                   ms_conf_dovecot_free(&out))

static void run_dmarc(const char *data, size_t len, answer *a)
{
    ms_diag_list d = {0};
    ms_dmarc_record *rec = NULL;
    ms_status st = ms_dmarc_check_record(data, len, "example.com", &rec, &d);
    ms_dmarc_explanation ex = {0};
    if (st == MS_OK && rec != NULL)
        st = ms_dmarc_explain(rec, "example.com", &ex);
    diags_answer(a, st, &d);
    ms_dmarc_explanation_free(&ex);
    ms_dmarc_record_free(rec);
    ms_diag_list_free(&d);
}

static void run_email(const char *data, size_t len, answer *a)
{
    char *normal = NULL;
    a->status = ms_email_normalize(data, len, MS_EMAIL_PROFILE_RFC5322, &normal);
    snprintf(a->text, sizeof a->text, "normal %.100s", normal ? normal : "-");
    free(normal);
}

static int count_record(void *arg, const ms_report_agg_record *record)
{
    (void)record;
    ++*(uint64_t *)arg;
    return 0;
}

static void run_aggregate(const char *data, size_t len, answer *a)
{
    uint64_t records = 0;
    ms_report_agg_callbacks cb = {&records, NULL, count_record};
    ms_report_agg_parser *p = NULL;
    ms_report_error err = {0};
    ms_status st = ms_report_agg_parser_new(&cb, &p);
    if (st == MS_OK)
        st = ms_report_agg_parser_feed(p, data, len, &err);
    if (st == MS_OK)
        st = ms_report_agg_parser_finish(p, &err);
    a->status = st;
    /* a report that cannot be read says why (err), or says MS_ERR_NOMEM */
    snprintf(a->text, sizeof a->text, "records %llu, why %d", (unsigned long long)records,
             err.message != NULL);
    ms_report_agg_parser_free(p);
    ms_report_error_clear(&err);
}

static void run_failure(const char *data, size_t len, answer *a)
{
    ms_report_failure *r = NULL;
    ms_report_error err = {0};
    a->status = ms_report_failure_parse(data, len, &r, &err);
    snprintf(a->text, sizeof a->text, "report %d, why %d", r != NULL, err.message != NULL);
    ms_report_failure_free(r);
    ms_report_error_clear(&err);
}

static void run_tlsrpt(const char *data, size_t len, answer *a)
{
    ms_report_tlsrpt *r = NULL;
    ms_report_error err = {0};
    a->status = ms_report_tlsrpt_parse(data, len, &r, &err);
    snprintf(a->text, sizeof a->text, "report %d, why %d", r != NULL, err.message != NULL);
    ms_report_tlsrpt_free(r);
    ms_report_error_clear(&err);
}

static void run_imap(const char *data, size_t len, answer *a)
{
    uint32_t *uids = NULL;
    size_t count = 0;
    char *why = NULL;
    a->status = imap_parse_search(data, len, &uids, &count, &why);
    snprintf(a->text, sizeof a->text, "uids %zu", count);
    free(uids);
    free(why);
}

static int on_document(void *arg, ms_report_doc *doc)
{
    walked *w = arg;
    static char buf[65536];
    ssize_t n;
    w->documents++;
    while ((n = ms_report_doc_read(doc, buf, sizeof buf)) > 0)
        w->bytes += n;
    const char *error = n < 0 ? ms_report_doc_error(doc) : NULL;
    if (error != NULL && strstr(error, "out of memory") != NULL)
        w->nomem++;
    return 0;
}

static void on_skipped(void *arg, const ms_report_origin *origin, const char *reason)
{
    (void)origin;
    walked *w = arg;
    w->skipped++;
    if (strstr(reason, "out of memory") != NULL)
        w->nomem++;
}

ms_report_walk_callbacks walked_callbacks(walked *w)
{
    return (ms_report_walk_callbacks){w, on_document, on_skipped, NULL, NULL};
}

static void run_mime(const char *data, size_t len, answer *a)
{
    walked w = {0};
    ms_report_walk_callbacks cb = walked_callbacks(&w);
    a->status = ms_report_walk_buffer("message", data, len, &cb);
    if (a->status == MS_OK && w.nomem > 0)
        a->status = MS_ERR_NOMEM;
    snprintf(a->text, sizeof a->text, "documents %lu, bytes %lld, skipped %lu", w.documents, w.bytes,
             w.skipped);
}

/* ---- targets that ask the DNS test bed ---- */

/* A context that asks the DNS test bed, or NULL (out of memory, which the
 * caller reports as MS_ERR_NOMEM). */
ms_ctx *bed_ctx(ms_status *st)
{
    char resolver[256], anchor[1024];
    ms_ctx *ctx = NULL;
    if (!dnsbed_get("RESOLVER", resolver, sizeof resolver) ||
        !dnsbed_get("TRUST_ANCHOR", anchor, sizeof anchor)) {
        fprintf(stderr, "alloc_fail: the DNS test bed is not running (MAILSEC_DNSBED_INFO)\n");
        exit(2);
    }
    *st = ms_ctx_new(&ctx);
    if (*st == MS_OK)
        *st = ms_ctx_set_resolver(ctx, resolver);
    if (*st == MS_OK)
        *st = ms_ctx_set_trust_anchor_file(ctx, anchor);
    if (*st == MS_OK)
        *st = ms_ctx_set_timeout_ms(ctx, 5000);
    if (*st != MS_OK) {
        ms_ctx_free(ctx);
        return NULL;
    }
    return ctx;
}

/* The input's first line, cut at white space into at most two words of
 * up to 255 bytes each (first and second hold 256). */
void words(const char *data, size_t len, char *first, char *second)
{
    char line[512];
    snprintf(line, sizeof line, "%.*s", (int)(len < sizeof line - 1 ? len : sizeof line - 1), data);
    first[0] = second[0] = '\0';
    sscanf(line, "%255s %255s", first, second);
}

static void run_spf_eval(const char *data, size_t len, answer *a)
{
    char ip[256], sender[256];
    words(data, len, ip, sender);
    ms_ctx *ctx = bed_ctx(&a->status);
    ms_spf_eval *ev = NULL;
    ms_spf_request req = {ip, sender, NULL, NULL, 0, NULL};
    if (ctx != NULL)
        a->status = ms_spf_eval_host(ctx, &req, &ev);
    snprintf(a->text, sizeof a->text, "result %s, dns terms %u, void %u, path %zu",
             ev ? ms_spf_result_str(ev->result) : "-", ev ? ev->dns_terms : 0,
             ev ? ev->void_lookups : 0, ev ? ev->path_count : 0);
    ms_spf_eval_free(ev);
    ms_ctx_free(ctx);
}

static void run_dmarc_discover(const char *data, size_t len, answer *a)
{
    char domain[256], unused[256];
    words(data, len, domain, unused);
    ms_ctx *ctx = bed_ctx(&a->status);
    ms_dmarc_discovery *d = NULL;
    if (ctx != NULL)
        a->status = ms_dmarc_discover(ctx, domain, &d);
    snprintf(a->text, sizeof a->text, "policy at %s, org %s, findings %zu, unchecked %d",
             d && d->policy_domain ? d->policy_domain : "-", d && d->org_domain ? d->org_domain : "-",
             d ? d->diags.count : 0, d ? d->could_not_check : -1);
    ms_dmarc_discovery_free(d);
    ms_ctx_free(ctx);
}

static void run_audit(const char *data, size_t len, answer *a)
{
    char domain[256], unused[256];
    words(data, len, domain, unused);
    ms_ctx *ctx = bed_ctx(&a->status);
    ms_audit_report *r = NULL;
    ms_audit_options opts = {0};
    if (ctx != NULL)
        a->status = ms_audit_domain(ctx, domain, &opts, &r);
    char grades[MS_AUDIT_AREA_COUNT + 1] = "";
    size_t findings = 0;
    for (int i = 0; r != NULL && i < MS_AUDIT_AREA_COUNT; i++) {
        grades[i] = r->areas[i].grade;
        findings += r->areas[i].diags.count;
    }
    snprintf(a->text, sizeof a->text, "grades %s, findings %zu", grades, findings);
    ms_audit_report_free(r);
    ms_ctx_free(ctx);
}

/* Every signature's result and the ARC verdict, as the streaming verifier
 * gives them for a whole message. */
static void run_dkim_verify(const char *data, size_t len, answer *a)
{
    ms_ctx *ctx = bed_ctx(&a->status);
    ms_dkim_verify_result *r = NULL;
    if (ctx != NULL)
        a->status = ms_dkim_verify(ctx, data, len, &r);
    int n = snprintf(a->text, sizeof a->text, "arc %s, findings %zu:",
                     r ? ms_dkim_arc_result_str(r->arc) : "-", r ? r->diags.count : 0);
    for (size_t i = 0; r != NULL && i < r->count && n > 0 && (size_t)n < sizeof a->text; i++)
        n += snprintf(a->text + n, sizeof a->text - (size_t)n, " %s", ms_dkim_result_str(r->items[i].result));
    ms_dkim_verify_result_free(r);
    ms_ctx_free(ctx);
}

const char *corpus_dir; /* dkim_sign's keys are in its ../keys */

static ms_status load_key(const char *name, ms_dkim_privkey **key)
{
    char path[4096], *err = NULL;
    snprintf(path, sizeof path, "%s/../keys/%s", corpus_dir, name);
    ms_status st = ms_dkim_privkey_load(path, key, &err);
    free(err);
    return st;
}

/* The message signed with an RSA and an Ed25519 key at once (both
 * deterministic, t= fixed): the signatures' total length. */
static void run_dkim_sign(const char *data, size_t len, answer *a)
{
    ms_dkim_privkey *rsa = NULL, *ed = NULL;
    char **values = NULL;
    size_t count = 0, total = 0;
    a->status = load_key("rsa2048.pem", &rsa);
    if (a->status == MS_OK)
        a->status = load_key("ed25519.pem", &ed);
    if (a->status == MS_OK) {
        ms_dkim_sign_options o[2] = {{"dkimtest.example", "rsa2048", rsa, NULL, 1800000000, 0},
                                     {"dkimtest.example", "ed25519", ed, NULL, 1800000000, 0}};
        a->status = ms_dkim_sign(o, 2, data, len, &values, &count);
    }
    for (size_t i = 0; i < count; i++) {
        total += strlen(values[i]);
        free(values[i]);
    }
    free(values);
    snprintf(a->text, sizeof a->text, "signatures %zu, bytes %zu", count, total);
    ms_dkim_privkey_free(rsa);
    ms_dkim_privkey_free(ed);
}

/* ---- milter_message: the milter's engine over whole messages ---- */

/* Each input: "CLIENT-IP MAIL-FROM" on its first line ("-" for a local
 * origin), then the message. The configuration (written once next to the
 * keys, read again in every run: its allocations are failed too) checks
 * incoming mail and signs msign.example's outgoing mail. */
static char milter_conf[64];

static int write_milter_conf(void)
{
    char rsa[4096], ed[4096];
    snprintf(rsa, sizeof rsa, "%s/../../../data/dkim/keys/rsa2048.pem", corpus_dir);
    snprintf(ed, sizeof ed, "%s/../../../data/dkim/keys/ed25519.pem", corpus_dir);
    snprintf(milter_conf, sizeof milter_conf, "/tmp/alloc-fail-milter.XXXXXX");
    int fd = mkstemp(milter_conf);
    FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
    if (f == NULL)
        return -1;
    fprintf(f, "authserv-id mx.allocfail.example\nrelay 127.0.0.9\n"
               "sign msign.example rsa %s\nsign msign.example ed %s\n"
               "mailing-list test.mlists.example\nforwarder-domain mlists.example\n"
               "forwarder-ip 127.0.0.6\n"
               "failure-reports on\nfailure-from dmarc-failures@allocfail.example\n", rsa, ed);
    return fclose(f) == 0 ? 0 : -1;
}

static time_t fixed_clock(void *arg)
{
    (void)arg;
    return 1800000000; /* the signatures' t= the same in every run */
}

/* The header fields of msg (up to its blank line): name and value as an
 * MTA hands them over (the value after the colon, folding kept). */
static ms_status feed_message(ms_milter_message *m, const char *msg, size_t len)
{
    const char *p = msg, *end = msg + len;
    char name[256];
    ms_status st = MS_OK;
    while (st == MS_OK && p < end && *p != '\r' && *p != '\n') {
        const char *colon = memchr(p, ':', (size_t)(end - p));
        const char *eol = memchr(p, '\n', (size_t)(end - p));
        if (colon == NULL || (eol && colon > eol) || (size_t)(colon - p) >= sizeof name)
            break; /* not a field: the rest is body */
        /* the field ends before a line that does not begin with white space */
        const char *stop = eol ? eol : end;
        while (stop + 1 < end && (stop[1] == ' ' || stop[1] == '\t')) {
            const char *next = memchr(stop + 1, '\n', (size_t)(end - stop - 1));
            stop = next ? next : end;
        }
        size_t vlen = (size_t)(stop - colon - 1);
        if (vlen > 0 && colon[vlen] == '\r')
            vlen--;
        snprintf(name, sizeof name, "%.*s", (int)(colon - p), p);
        char *value = __real_strndup(colon + 1, vlen);
        st = value ? ms_milter_message_header(m, name, value) : MS_ERR_NOMEM;
        free(value);
        p = stop < end ? stop + 1 : end;
    }
    if (p < end && *p == '\r')
        p++;
    if (p < end && *p == '\n')
        p++;
    /* the body in uneven chunks, as an MTA sends it */
    while (st == MS_OK && p < end) {
        size_t n = (size_t)(end - p) < 777 ? (size_t)(end - p) : 777;
        st = ms_milter_message_body(m, p, n);
        p += n;
    }
    return st;
}

/* The verdict: action, the Authentication-Results and log line (hashed),
 * fields removed, signatures and their bytes, whether it is recorded. */
static void run_milter_message(const char *data, size_t len, answer *a)
{
    char ip[256], sender[256];
    words(data, len, ip, sender);
    const char *nl = memchr(data, '\n', len);
    const char *msg = nl ? nl + 1 : data + len;
    if (milter_conf[0] == '\0' && write_milter_conf() != 0) {
        fprintf(stderr, "alloc_fail: cannot write the milter's configuration\n");
        exit(2);
    }
    ms_milter_config *config = NULL;
    ms_milter_message *m = NULL;
    ms_milter_verdict *v = NULL;
    char *why = NULL;
    ms_ctx *ctx = NULL;
    a->status = ms_milter_config_load(milter_conf, &config, &why);
    free(why);
    if (a->status == MS_OK)
        ctx = bed_ctx(&a->status);
    if (ctx != NULL) {
        ms_ctx_set_clock(ctx, fixed_clock, NULL);
        ms_milter_envelope e = {"ALLOC1", strcmp(ip, "-") == 0 ? NULL : ip, "client.example",
                                sender, "inbox@rcpt.example", NULL};
        a->status = ms_milter_message_new(config, ctx, &e, &m);
    }
    if (m != NULL)
        a->status = feed_message(m, msg, len - (size_t)(msg - data));
    if (a->status == MS_OK)
        a->status = ms_milter_message_finish(m, &v);
    size_t bytes = 0;
    for (size_t i = 0; v != NULL && i < v->signature_count; i++)
        bytes += strlen(v->signatures[i]);
    snprintf(a->text, sizeof a->text,
             "%s, ar %llx, log %llx, removed %zu, signed %zu/%zu, recorded %d, failure reports %zu",
             v ? ms_milter_action_str(v->action) : "-", hash_str(0, v ? v->auth_results : NULL),
             hash_str(0, v ? v->log : NULL), v ? v->remove_count : 0, v ? v->signature_count : 0,
             bytes, v ? v->has_evaluation : -1, v ? v->failure_report_count : 0);
    ms_milter_verdict_free(v);
    ms_milter_message_free(m);
    ms_ctx_free(ctx);
    ms_milter_config_free(config);
}

/* ---- targets over a store of recorded evaluations ---- */

/* Each input line is one evaluation, in words (a "-" for none):
 *   TIME SOURCE_IP HEADER_FROM POLICY_DOMAIN DISPOSITION DKIM SPF
 *   SPF_DOMAIN SPF_RESULT [DKIM=DOMAIN/SELECTOR/RESULT] [OVERRIDE=TYPE]
 * Every run records them in a new SQLite store of its own (SQLite's own
 * allocations are not failed: it is a library of its own). */
typedef struct eval_words {
    char w[11][256];
    char dkim_domain[256], dkim_selector[256], dkim_result[256];
} eval_words;

static const char *word_or_null(const char *w)
{
    return strcmp(w, "-") == 0 ? NULL : w;
}

static int eval_from_line(const char *line, eval_words *ew, ms_store_eval_dkim *dkim,
                          ms_store_eval_override *override, ms_store_evaluation *e)
{
    memset(ew, 0, sizeof *ew);
    int n = sscanf(line, "%255s %255s %255s %255s %255s %255s %255s %255s %255s %255s %255s",
                   ew->w[0], ew->w[1], ew->w[2], ew->w[3], ew->w[4], ew->w[5], ew->w[6], ew->w[7],
                   ew->w[8], ew->w[9], ew->w[10]);
    if (n < 9)
        return 0;
    *e = (ms_store_evaluation){
        .time = strtoll(ew->w[0], NULL, 10), .source_ip = ew->w[1], .header_from = ew->w[2],
        .policy_domain = word_or_null(ew->w[3]), .disposition = ew->w[4],
        .dkim_aligned = ew->w[5], .spf_aligned = ew->w[6], .spf_domain = word_or_null(ew->w[7]),
        .spf_scope = "mfrom", .spf_result = ew->w[8]};
    for (int i = 9; i < n; i++) {
        if (strncmp(ew->w[i], "DKIM=", 5) == 0 &&
            sscanf(ew->w[i] + 5, "%255[^/]/%255[^/]/%255s", ew->dkim_domain, ew->dkim_selector,
                   ew->dkim_result) == 3) {
            *dkim = (ms_store_eval_dkim){ew->dkim_domain, ew->dkim_selector, ew->dkim_result};
            e->dkim = dkim;
            e->dkim_count = 1;
        } else if (strncmp(ew->w[i], "OVERRIDE=", 9) == 0) {
            *override = (ms_store_eval_override){ew->w[i] + 9, "from the alloc-fail corpus"};
            e->overrides = override;
            e->override_count = 1;
        }
    }
    return 1;
}

/* Made by main(), removed at exit; in memory where the system has a
 * /dev/shm: every run makes a store, and the fsyncs of a store on disk
 * would make the run minutes long. */
char scratch_dir[64];
static char store_path[4096]; /* the store of each run, in it */

/* Removes path and, for a directory, what it holds (no links followed:
 * remove() takes a link itself). */
static void remove_tree(const char *path)
{
    DIR *dir = opendir(path);
    struct dirent *e;
    while (dir != NULL && (e = readdir(dir)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        char sub[4096];
        snprintf(sub, sizeof sub, "%s/%s", path, e->d_name);
        if (e->d_type == DT_DIR)
            remove_tree(sub);
        else
            remove(sub);
    }
    if (dir != NULL)
        closedir(dir);
    remove(path);
}

static void remove_scratch(void)
{
    remove_tree(scratch_dir);
}

static int make_scratch(void)
{
    snprintf(scratch_dir, sizeof scratch_dir, "/dev/shm/alloc-fail.XXXXXX");
    if (mkdtemp(scratch_dir) == NULL) {
        snprintf(scratch_dir, sizeof scratch_dir, "/tmp/alloc-fail.XXXXXX");
        if (mkdtemp(scratch_dir) == NULL)
            return 0;
    }
    atexit(remove_scratch);
    snprintf(store_path, sizeof store_path, "%s/evaluations.db", scratch_dir);
    return 1;
}

/* A new store holding the input's evaluations; *refused counts those the
 * store refused (MS_ERR_INVALID, MS_ERR_LIMIT: the input's fault). */
static ms_status fill_store(const char *data, size_t len, ms_store **store, unsigned *refused)
{
    char *why = NULL;
    unlink(store_path);
    ms_status st = ms_store_open(store_path, store, &why);
    free(why);
    *refused = 0;
    for (size_t at = 0; st == MS_OK && at < len;) {
        const char *end = memchr(data + at, '\n', len - at);
        size_t n = end ? (size_t)(end - (data + at)) : len - at;
        char line[4096];
        snprintf(line, sizeof line, "%.*s", (int)(n < sizeof line ? n : sizeof line - 1), data + at);
        at += n + 1;
        eval_words ew;
        ms_store_eval_dkim dkim;
        ms_store_eval_override override;
        ms_store_evaluation e;
        if (line[0] == '#' || !eval_from_line(line, &ew, &dkim, &override, &e))
            continue;
        st = ms_store_put_evaluation(*store, &e);
        if (st == MS_ERR_INVALID || st == MS_ERR_LIMIT) {
            ++*refused;
            st = MS_OK;
        }
    }
    return st;
}

typedef struct groups_read {
    unsigned long groups, dkim, overrides;
    uint64_t messages;
} groups_read;

static int count_group(void *arg, const ms_store_eval_group *g)
{
    groups_read *r = arg;
    r->groups++;
    r->messages += g->count;
    r->dkim += g->evaluation.dkim_count;
    r->overrides += g->evaluation.override_count;
    return 0;
}

enum { ALL_DAYS_UNTIL = 4102444800 }; /* 2100-01-01: after every day of the corpus */

/* The evaluations recorded, then read back as `report send` reads them:
 * the periods, and each period's groups. */
static void run_evaluations(const char *data, size_t len, answer *a)
{
    ms_store *store = NULL;
    unsigned refused;
    ms_store_eval_period *periods = NULL;
    size_t count = 0;
    groups_read r = {0};
    a->status = fill_store(data, len, &store, &refused);
    if (a->status == MS_OK)
        a->status = ms_store_eval_periods(store, 0, ALL_DAYS_UNTIL, &periods, &count);
    for (size_t i = 0; a->status == MS_OK && i < count; i++)
        a->status = ms_store_eval_groups(store, periods[i].policy_domain, periods[i].day,
                                         count_group, &r);
    snprintf(a->text, sizeof a->text,
             "refused %u, periods %zu, groups %lu, messages %llu, dkim %lu, overrides %lu", refused,
             count, r.groups, (unsigned long long)r.messages, r.dkim, r.overrides);
    ms_store_eval_periods_free(periods, count);
    ms_store_close(store);
}

typedef struct send_tally {
    unsigned long events[MS_REPORT_SEND_FAILED + 1];
    uint64_t records, messages, bytes;
    unsigned long nomem; /* outcomes whose reason is memory */
} send_tally;

static void count_event(void *arg, const ms_report_send_event *ev)
{
    send_tally *t = arg;
    t->events[ev->outcome]++;
    t->records += ev->records;
    t->messages += ev->messages;
    t->bytes += ev->bytes;
    if (ev->reason != NULL && strstr(ev->reason, "out of memory") != NULL)
        t->nomem++;
}

/* The reports `report send --dry-run --out DIR` builds from the recorded
 * evaluations, their destinations from the DNS test bed. */
static void run_report_send(const char *data, size_t len, answer *a)
{
    ms_store *store = NULL;
    unsigned refused;
    send_tally t = {0};
    char out_dir[4200];
    snprintf(out_dir, sizeof out_dir, "%.4000s.out", store_path);
    mkdir(out_dir, 0700);
    ms_ctx *ctx = bed_ctx(&a->status);
    if (ctx != NULL)
        a->status = fill_store(data, len, &store, &refused);
    ms_report_send_options o = {.org_name = "alloc-fail receiver",
                                .from = "dmarc-reports@receiver.example",
                                .since = 0,
                                .until = ALL_DAYS_UNTIL,
                                .out_dir = out_dir,
                                .dry_run = 1};
    if (a->status == MS_OK)
        a->status = ms_report_send(ctx, store, &o, count_event, &t);
    if (a->status == MS_OK && t.nomem > 0)
        a->status = MS_ERR_NOMEM;
    int n = snprintf(a->text, sizeof a->text, "records %llu, messages %llu, bytes %llu, outcomes",
                     (unsigned long long)t.records, (unsigned long long)t.messages,
                     (unsigned long long)t.bytes);
    for (int i = 0; i <= MS_REPORT_SEND_FAILED && n > 0 && (size_t)n < sizeof a->text; i++)
        n += snprintf(a->text + n, sizeof a->text - (size_t)n, " %lu", t.events[i]);
    ms_store_close(store);
    ms_ctx_free(ctx);
}

static const struct {
    const char *name;
    target_fn run;
} TARGETS[] = {
    {"spf_record", run_spf},         {"dmarc_record", run_dmarc},
    {"dkim_key", run_dkim_key},      {"dkim_signature", run_dkim_signature},
    {"mtasts_policy", run_mtasts},   {"pem", run_pem},
    {"conf_maincf", run_maincf},     {"conf_mastercf", run_mastercf},
    {"conf_dovecot", run_dovecot},   {"email", run_email},
    {"report_aggregate", run_aggregate}, {"report_failure", run_failure},
    {"report_tlsrpt", run_tlsrpt},   {"report_mime", run_mime},
    {"imap_listing", run_imap},
    {"spf_eval", run_spf_eval},      {"dmarc_discover", run_dmarc_discover},
    {"audit", run_audit},            {"dkim_verify", run_dkim_verify},
    {"dkim_sign", run_dkim_sign},
    {"milter_message", run_milter_message},
    {"store_evaluations", run_evaluations},
    {"report_send", run_report_send},
    {"dkim_arc", run_dkim_arc},      {"dkim_stream", run_dkim_stream},
    {"dns_rdata", run_dns_rdata},    {"milter_headers", run_milter_headers},
    {"report_build", run_report_build}, {"report_failure_build", run_report_failure_build},
    {"roundcube_config", run_roundcube_config}, {"roundcube_upgrade", run_roundcube_upgrade},
    {"serve_html", run_serve_html},  {"store", run_store},
    {"tls_reply", run_tls_reply},    {"tsig_key", run_tsig_key},
    {"ingest", run_ingest},          {"store_views", run_store_views},
    {"sources_rdns", run_sources_rdns}, {"cert_lint", run_cert_lint},
    {"conf_audit", run_conf_audit}, {"roundcube_audit", run_roundcube_audit},
    {"tls_ciphers", run_tls_ciphers}, {"tls_dane", run_tls_dane},
};

/* ---- the driver ---- */

typedef struct tally {
    unsigned long inputs, sites, nomem, same, wrong;
} tally;

static char *read_input(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return NULL;
    char *buf = NULL;
    size_t cap = 0;
    *len = 0;
    for (;;) {
        if (*len == cap) {
            cap = cap ? cap * 2 : 4096;
            char *grown = __real_realloc(buf, cap + 1);
            if (grown == NULL)
                break;
            buf = grown;
        }
        size_t n = fread(buf + *len, 1, cap - *len, f);
        *len += n;
        if (n == 0)
            break;
    }
    fclose(f);
    if (buf != NULL)
        buf[*len] = '\0';
    return buf;
}

static void one_input(target_fn run, const char *name, const char *data, size_t len, tally *t)
{
    answer want, got;
    fail_at = 0;
    calls = 0;
    run(data, len, &want);
    unsigned long sites = calls;
    for (unsigned long k = 1; k <= sites; k++) {
        calls = 0;
        failed = 0;
        fail_at = k;
        run(data, len, &got);
        if (!failed)
            continue; /* a shorter path this time: nothing was failed */
        t->sites++;
        if (got.status == MS_ERR_NOMEM) {
            t->nomem++;
        } else if (got.status == want.status && strcmp(got.text, want.text) == 0) {
            t->same++;
        } else {
            t->wrong++;
            if (t->wrong <= 20 || trace)
                printf("FAIL - %s: allocation %lu of %lu failed: got %s (%s), want %s (%s) or "
                       "MS_ERR_NOMEM\n",
                       name, k, sites, ms_status_str(got.status), got.text, ms_status_str(want.status),
                       want.text);
        }
    }
    fail_at = 0;
    t->inputs++;
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: alloc_fail TARGET CORPUS_DIR\n");
        return 2;
    }
    target_fn run = NULL;
    corpus_dir = argv[2];
    trace = getenv("ALLOC_FAIL_TRACE") != NULL;
    for (size_t i = 0; i < sizeof TARGETS / sizeof TARGETS[0]; i++)
        if (strcmp(TARGETS[i].name, argv[1]) == 0)
            run = TARGETS[i].run;
    if (!make_scratch()) {
        perror("alloc_fail: mkdtemp");
        return 2;
    }
    DIR *dir = run ? opendir(argv[2]) : NULL;
    if (dir == NULL) {
        fprintf(stderr, "alloc_fail: no target %s or no corpus %s\n", argv[1], argv[2]);
        return 2;
    }
    tally t = {0};
    struct dirent *e;
    while ((e = readdir(dir)) != NULL) {
        if (e->d_name[0] == '.' || e->d_type == DT_DIR)
            continue; /* a directory beside the inputs holds what they name */
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", argv[2], e->d_name);
        size_t len;
        char *data = read_input(path, &len);
        if (data == NULL)
            continue;
        one_input(run, e->d_name, data, len, &t);
        free(data);
    }
    closedir(dir);
    if (milter_conf[0] != '\0')
        unlink(milter_conf);
    printf("%s: %lu inputs, %lu allocations failed: %lu said MS_ERR_NOMEM, %lu gave the same answer, "
           "%lu gave another answer without saying so\n",
           argv[1], t.inputs, t.sites, t.nomem, t.same, t.wrong);
    return t.wrong == 0 && t.inputs > 0 ? 0 : 1;
}
