/* alloc_fail's targets over the main calls of the modules that parse no
 * input of their own: a report ingest into a store (lib/ingest, lib/store's
 * writes), the views read from a store (lib/store/read.c) with the sending
 * sources classified (lib/sources), their reverse DNS (the DNS test bed);
 * certificate files linted (lib/cert: the chain built from the files), a
 * mail server's configuration audited (lib/conf, its cipher strings), a
 * Roundcube installation audited (lib/roundcube), a TLS server's cipher
 * suites enumerated (lib/tls, with an MTA-STS policy: lib/audit's fetch)
 * and an SMTP server checked with DANE (lib/tls, the TLSA records from the
 * DNS test bed).
 *
 * An input names, one a line, files or directories beside it (relative
 * to the input's directory); sources_rdns's names IP addresses,
 * tls_ciphers's a server, tls_dane's a host and the name of its TLSA records. */
#include "alloc_fail.h"

#include "mailsec/cert.h"
#include "mailsec/conf.h"
#include "mailsec/ingest.h"
#include "mailsec/roundcube.h"
#include "mailsec/sources.h"
#include "mailsec/store.h"
#include "mailsec/tls.h"
#include "unit/testutil.h"

#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

enum { PATHS_MAX = 16 };

/* The input's lines as paths under corpus_dir, into storage; their count.
 * A line that is a URL ("http://...") is taken as it is. */
static size_t input_paths(const char *data, size_t len, char storage[PATHS_MAX][4096],
                          const char *paths[PATHS_MAX])
{
    size_t n = 0;
    for (size_t at = 0; at < len && n < PATHS_MAX;) {
        const char *end = memchr(data + at, '\n', len - at);
        size_t line = end ? (size_t)(end - (data + at)) : len - at;
        if (line > 0 && data[at] != '#') {
            int url = line > 7 && strncmp(data + at, "http://", 7) == 0;
            snprintf(storage[n], sizeof storage[n], "%s%s%.*s", url ? "" : corpus_dir,
                     url ? "" : "/", (int)line, data + at);
            paths[n] = storage[n];
            n++;
        }
        at += line + 1;
    }
    return n;
}

/* A new SQLite store at path (nothing left of an earlier one). */
static ms_status fresh_store(const char *path, ms_store **store)
{
    char side[4200];
    unlink(path);
    snprintf(side, sizeof side, "%s-wal", path);
    unlink(side);
    snprintf(side, sizeof side, "%s-shm", path);
    unlink(side);
    char *why = NULL;
    ms_status st = ms_store_open(path, store, &why);
    free(why);
    return st;
}

/* ---- ingest: the files into a store, then again: exactly once ---- */

/* Reports set aside or things skipped because memory ran out. */
static int says_nomem(const char *text)
{
    return text != NULL && strstr(text, "out of memory") != NULL;
}

static void count_nomem_report(void *arg, const ms_ingest_event *ev)
{
    if (ev->outcome == MS_INGEST_FAILED && getenv("ALLOC_FAIL_TRACE") != NULL)
        fprintf(stderr, "set aside: %s\n", ev->error ? ev->error->message : "(no error)");
    if (ev->outcome == MS_INGEST_FAILED && ev->error != NULL && says_nomem(ev->error->message))
        ++*(unsigned long *)arg;
}

static void count_nomem_skip(void *arg, const ms_report_origin *origin, const char *reason)
{
    (void)origin;
    if (says_nomem(reason))
        ++*(unsigned long *)arg;
}

static ms_status ingest(ms_store *store, const char *const *paths, size_t count,
                        unsigned long *nomem, ms_ingest_tally *tally)
{
    ms_ingest_callbacks cb = {nomem, count_nomem_report, count_nomem_skip, NULL, 1};
    memset(tally, 0, sizeof *tally);
    return ms_ingest_paths(store, paths, count, &cb, tally);
}

/* What the store holds, whatever the order it was stored in: each
 * report's identity and sums, each day's rollup. 0 when it cannot be read. */
static unsigned long long store_content(ms_store *store)
{
    ms_store_filter all = {0};
    ms_store_report_row *rows = NULL;
    ms_store_day_row *days = NULL;
    size_t nrows = 0, ndays = 0;
    unsigned long long sum = 0;
    if (ms_store_list(store, &all, &rows, &nrows) != MS_OK ||
        ms_store_daily(store, &all, &days, &ndays) != MS_OK)
        nrows = ndays = 0, sum = 1;
    for (size_t i = 0; i < nrows; i++) {
        const ms_store_report_row *r = &rows[i];
        unsigned long long h = hash_str(hash_str(hash_str(hash_str(0, r->kind), r->org),
                                                 r->report_id), r->domain);
        uint64_t numbers[] = {(uint64_t)r->begin, (uint64_t)r->end, r->records, r->messages};
        sum += hash_bytes(h, numbers, sizeof numbers);
    }
    for (size_t i = 0; i < ndays; i++) {
        const ms_store_day_row *d = &days[i];
        uint64_t numbers[] = {(uint64_t)d->day, d->reports, d->messages, d->dmarc_pass,
                              d->spf_aligned, d->dkim_aligned, d->none, d->quarantine, d->reject};
        sum += hash_bytes(hash_str(0, d->domain), numbers, sizeof numbers);
    }
    ms_store_list_free(rows, nrows);
    ms_store_daily_free(days, ndays);
    return sum == 1 ? 0 : sum ^ (nrows << 32 | ndays);
}

/* The files ingested into a new store (its allocations failed in turn);
 * then, nothing failed, ingested again into the same store: that second
 * run must leave the store holding every report exactly once, whatever
 * the first one did (a report half stored would stay half stored: a
 * duplicate with fewer records). */
void run_ingest(const char *data, size_t len, answer *a)
{
    char storage[PATHS_MAX][4096];
    const char *paths[PATHS_MAX];
    size_t count = input_paths(data, len, storage, paths);
    char path[4096];
    snprintf(path, sizeof path, "%s/ingest.db", scratch_dir);
    ms_store *store = NULL;
    unsigned long nomem = 0;
    ms_ingest_tally t = {0};
    ms_status st = fresh_store(path, &store);
    if (st == MS_OK)
        st = ingest(store, paths, count, &nomem, &t);
    if (st != MS_OK && getenv("ALLOC_FAIL_TRACE") != NULL)
        fprintf(stderr, "ingest: %s: %s\n", ms_status_str(st), store ? ms_store_error(store) : "-");
    ms_store_close(store);
    snprintf(a->text, sizeof a->text, "files %llu, new %llu, dup %llu, failed %llu, skipped %llu, "
             "records %llu", (unsigned long long)t.files, (unsigned long long)t.reports_new,
             (unsigned long long)t.duplicates, (unsigned long long)t.failed,
             (unsigned long long)t.skipped, (unsigned long long)t.records);
    a->status = st == MS_OK && nomem > 0 ? MS_ERR_NOMEM : st;

    alloc_failures_pause(1);
    /* the store after the input's first run, with nothing failed */
    static unsigned long long whole;
    static const char *whole_of;
    if (whole_of != data)
        whole = 0, whole_of = data;
    char *why = NULL;
    unsigned long again_nomem = 0;
    ms_ingest_tally again = {0};
    ms_status again_st = ms_store_open(path, &store, &why);
    free(why);
    if (again_st == MS_OK)
        again_st = ingest(store, paths, count, &again_nomem, &again);
    unsigned long long content = again_st == MS_OK ? store_content(store) : 0;
    ms_store_close(store);
    alloc_failures_pause(0);
    if (whole == 0)
        whole = content;
    if (again_st != MS_OK || content == 0 || content != whole) {
        a->status = MS_ERR_IO; /* never an answer the first run can give: counted as wrong */
        snprintf(a->text, sizeof a->text, "again: %s, the store's content %llx, want %llx",
                 ms_status_str(again_st), content, whole);
    }
}

/* ---- store_views: every view over a store the input's files filled ---- */

static void sum_source(unsigned long long *h, const ms_store_source *s)
{
    uint64_t numbers[] = {s->messages, s->aligned,          s->unaligned,
                          s->failing,  s->dkim_pass_spf_fail, s->forwarded,
                          s->spf_domain_count, s->dkim_domain_count, s->header_from_count};
    *h += hash_bytes(hash_str(hash_str(0, s->source_ip), s->group), numbers, sizeof numbers);
}

static int sum_each_source(void *arg, const ms_store_source *s)
{
    sum_source(arg, s);
    return 0;
}

static void view_summary(ms_store *store, const ms_store_filter *f, answer *a)
{
    ms_store_domain_summary *rows = NULL;
    size_t n = 0;
    ms_status st = ms_store_summary(store, f, &rows, &n);
    unsigned long long h = 0;
    for (size_t i = 0; st == MS_OK && i < n; i++) {
        const ms_store_domain_summary *r = &rows[i];
        uint64_t numbers[] = {r->reports, r->messages, r->dmarc_pass, r->spf_aligned,
                              r->dkim_aligned, r->disposition_count, r->override_count,
                              r->reporter_count};
        h = hash_bytes(hash_str(h, r->domain), numbers, sizeof numbers);
    }
    answer_add(a, st, "summary%zu:%llx", n, h);
    ms_store_summary_free(rows, n);
}

/* The sources grouped by their rDNS name's organisation, each classified. */
static void view_sources(ms_store *store, const ms_store_filter *f, ms_ctx *ctx, answer *a)
{
    ms_store_source *rows = NULL;
    size_t n = 0;
    ms_status st = ms_store_sources(store, f, ms_sources_group_by_org, ctx, &rows, &n);
    unsigned long long h = 0, classes = 0;
    for (size_t i = 0; i < n; i++) {
        sum_source(&h, &rows[i]);
        ms_sources_verdict v = {0};
        if (ms_sources_classify(&rows[i], &v) != MS_OK)
            st = MS_ERR_NOMEM;
        classes = hash_str(classes, ms_sources_class_name(v.cls));
        for (size_t k = 0; k < v.sign_count; k++)
            classes = hash_str(classes, v.signs[k]);
        ms_sources_verdict_clear(&v);
        char *reverse = ms_sources_reverse_name(rows[i].source_ip);
        if (reverse == NULL) /* every source's IP is an address: memory ran out */
            st = MS_ERR_NOMEM;
        classes = hash_str(classes, reverse);
        free(reverse);
    }
    answer_add(a, st, "sources%zu:%llx:%llx", n, h, classes);
    ms_store_sources_free(rows, n);
}

/* dmarc advise's input: every source, and the top ones with the rest summed. */
static void view_sources_streamed(ms_store *store, const ms_store_filter *f, answer *a)
{
    unsigned long long each = 0, top = 0;
    answer_add(a, ms_store_sources_each(store, f, sum_each_source, &each), "each:%llx", each);
    ms_store_source_rest rest = {0};
    ms_status st = ms_store_sources_top(store, f, 2, sum_each_source, &top, &rest);
    answer_add(a, st, "top:%llx rest%llu/%llu", top, (unsigned long long)rest.sources,
               (unsigned long long)rest.messages);
}

static void view_history(ms_store *store, const ms_store_filter *f, answer *a)
{
    ms_store_policy_row *rows = NULL;
    size_t n = 0;
    ms_status st = ms_store_policy_history(store, f, &rows, &n);
    unsigned long long h = 0;
    for (size_t i = 0; st == MS_OK && i < n; i++)
        h = hash_str(hash_str(hash_str(h, rows[i].domain), rows[i].p), rows[i].sp);
    answer_add(a, st, "policies%zu:%llx", n, h);
    ms_store_policy_history_free(rows, n);
}

static void view_reports(ms_store *store, const ms_store_filter *f, answer *a)
{
    ms_store_failure_row *failures = NULL;
    size_t n = 0;
    ms_status st = ms_store_failure_summary(store, f, &failures, &n);
    unsigned long long h = 0;
    for (size_t i = 0; st == MS_OK && i < n; i++)
        h = hash_str(hash_str(h, failures[i].domain), failures[i].source_ip) + failures[i].incidents;
    answer_add(a, st, "failures%zu:%llx", n, h);
    ms_store_failure_summary_free(failures, n);
    ms_store_tls_summary tls = {0};
    st = ms_store_tls_summary_get(store, f, &tls);
    answer_add(a, st, "tls%zu/%zu", tls.domain_count, tls.result_count);
    ms_store_tls_summary_free(&tls);
    ms_store_report *shown = NULL;
    st = ms_store_show(store, 1, &shown);
    answer_add(a, st, "shown%d", shown != NULL);
    ms_store_report_free(shown);
}

static char views_store[4096]; /* filled once, by the first run */

static ms_status fill_views_store(const char *data, size_t len)
{
    char storage[PATHS_MAX][4096];
    const char *paths[PATHS_MAX];
    size_t count = input_paths(data, len, storage, paths);
    snprintf(views_store, sizeof views_store, "%s/views.db", scratch_dir);
    ms_store *store = NULL;
    unsigned long nomem = 0;
    ms_ingest_tally t;
    alloc_failures_pause(1);
    ms_status st = fresh_store(views_store, &store);
    if (st == MS_OK)
        st = ingest(store, paths, count, &nomem, &t);
    ms_store_close(store);
    alloc_failures_pause(0);
    return st;
}

void run_store_views(const char *data, size_t len, answer *a)
{
    answer_begin(a);
    if (views_store[0] == '\0' && fill_views_store(data, len) != MS_OK) {
        fprintf(stderr, "alloc_fail: cannot fill the store for the views\n");
        exit(2);
    }
    ms_store *store = NULL;
    ms_ctx *ctx = NULL;
    char *why = NULL;
    ms_status st = ms_store_open_read(views_store, &store, &why);
    free(why);
    if (st == MS_OK)
        st = ms_ctx_new(&ctx);
    answer_add(a, st, "open");
    if (st == MS_OK) {
        ms_store_filter all = {0};
        view_summary(store, &all, a);
        view_sources(store, &all, ctx, a);
        view_sources_streamed(store, &all, a);
        view_history(store, &all, a);
        view_reports(store, &all, a);
    }
    ms_ctx_free(ctx);
    ms_store_close(store);
}

/* ---- sources_rdns: reverse DNS of sending IPs, cached in the store ---- */

/* The IPs of the input's first line, looked up in the DNS test bed and
 * cached in a new store; the answer is what the cache holds after. */
void run_sources_rdns(const char *data, size_t len, answer *a)
{
    enum { IPS_MAX = 8 };
    char line[512], *ips[IPS_MAX];
    size_t count = 0;
    snprintf(line, sizeof line, "%.*s", (int)(len < sizeof line ? len : sizeof line - 1), data);
    for (char *save = NULL, *ip = strtok_r(line, " \t\n", &save); ip && count < IPS_MAX;
         ip = strtok_r(NULL, " \t\n", &save))
        ips[count++] = ip;
    char path[4096];
    snprintf(path, sizeof path, "%s/rdns.db", scratch_dir);
    ms_store *store = NULL;
    ms_ctx *ctx = bed_ctx(&a->status);
    if (ctx != NULL)
        a->status = fresh_store(path, &store);
    if (a->status == MS_OK)
        a->status = ms_sources_resolve(ctx, store, (const char *const *)ips, count, 0);
    alloc_failures_pause(1);
    unsigned long long h = 0;
    for (size_t i = 0; store != NULL && i < count; i++) {
        char *name = NULL;
        int64_t fetched;
        if (ms_store_rdns_get(store, ips[i], &name, &fetched) == MS_OK)
            h = hash_str(h, name);
        free(name);
    }
    ms_store_close(store);
    ms_ctx_free(ctx);
    alloc_failures_pause(0);
    snprintf(a->text, sizeof a->text, "cached names %llx", h);
}

/* ---- cert_lint: certificate files read, their chain built and checked ---- */

static time_t cert_clock(void *arg)
{
    (void)arg;
    return 1767225600; /* 2026-01-01: the findings on dates the same in every run */
}

/* A context whose clock stands still (certificates' dates), or NULL. */
static ms_ctx *still_ctx(ms_status *st)
{
    ms_ctx *ctx = NULL;
    *st = ms_ctx_new(&ctx);
    if (ctx != NULL)
        ms_ctx_set_clock(ctx, cert_clock, NULL);
    return ctx;
}

/* The findings' codes, in order. */
static unsigned long long codes_hash(const ms_diag_list *d)
{
    unsigned long long h = 0;
    for (size_t i = 0; i < d->count; i++)
        h = hash_str(h, d->items[i].def->code);
    return h;
}

void run_cert_lint(const char *data, size_t len, answer *a)
{
    char storage[PATHS_MAX][4096];
    const char *paths[PATHS_MAX];
    size_t count = input_paths(data, len, storage, paths);
    ms_cert_lint_result r = {0};
    ms_diag_list d = MS_DIAG_LIST_INIT;
    ms_cert_lint_opts opts = {.host = "mail.example.com"};
    ms_ctx *ctx = still_ctx(&a->status);
    if (ctx != NULL)
        a->status = ms_cert_lint(ctx, paths, count, &opts, &r, &d);
    snprintf(a->text, sizeof a->text,
             "certificates %zu, keys %zu, findings %zu %llx, leaf %llx, verified %d, sent %zu",
             r.certificates, r.keys, d.count, codes_hash(&d),
             hash_str(0, r.chain.fingerprint_sha256), r.chain.verified, r.chain.sent);
    ms_cert_lint_result_free(&r);
    ms_diag_list_free(&d);
    ms_ctx_free(ctx);
}

/* ---- conf_audit: a Postfix and Dovecot configuration audited offline ---- */

/* The input's lines: the Postfix directory, then dovecot.conf (relative
 * to the input's directory). Cipher strings are judged by the local
 * OpenSSL (lib/conf/ciphers.c), certificate files by lib/cert. */
void run_conf_audit(const char *data, size_t len, answer *a)
{
    char storage[PATHS_MAX][4096];
    const char *paths[PATHS_MAX];
    size_t count = input_paths(data, len, storage, paths);
    ms_conf_audit_result r = {0};
    ms_diag_list d = MS_DIAG_LIST_INIT;
    ms_conf_audit_opts opts = {.postfix_dir = count > 0 ? paths[0] : NULL,
                               .dovecot_conf = count > 1 ? paths[1] : NULL,
                               .profile = MS_CONF_PROFILE_INTERMEDIATE};
    ms_ctx *ctx = still_ctx(&a->status);
    if (ctx != NULL)
        a->status = ms_conf_audit(ctx, &opts, &r, &d);
    snprintf(a->text, sizeof a->text, "postfix %zu/%zu, dovecot %zu/%zu, findings %zu %llx",
             r.postfix_settings, r.postfix_services, r.dovecot_settings, r.dovecot_files, d.count,
             codes_hash(&d));
    ms_conf_audit_result_free(&r);
    ms_diag_list_free(&d);
    ms_ctx_free(ctx);
}

/* ---- roundcube_audit: a Roundcube installation's files audited ---- */

/* The fixes it lacks: each one's release, CVE ids and whether its
 * backport is unknown, in order. */
static unsigned long long fixes_hash(const ms_rc_audit_result *r)
{
    unsigned long long h = 0;
    for (size_t i = 0; i < r->fix_count; i++)
        h = hash_bytes(hash_str(hash_str(h, r->fixes[i].version), r->fixes[i].cve),
                       &r->fixes[i].backport_unknown, sizeof r->fixes[i].backport_unknown);
    return h;
}

/* The input's lines: the installation, then the web root if any (both
 * relative to the input's directory; tests/alloc/roundcube.sh makes them),
 * then the URL of the running site if any. */
void run_roundcube_audit(const char *data, size_t len, answer *a)
{
    char storage[PATHS_MAX][4096];
    const char *paths[PATHS_MAX];
    size_t count = input_paths(data, len, storage, paths);
    ms_rc_audit_opts opts = {.web_root = count > 1 ? paths[1] : NULL,
                             .url = count > 2 ? paths[2] : NULL};
    ms_rc_audit_result r = {0};
    ms_diag_list d = MS_DIAG_LIST_INIT;
    ms_ctx *ctx = NULL;
    a->status = ms_ctx_new(&ctx);
    if (a->status == MS_OK)
        a->status = ms_rc_audit(ctx, count > 0 ? paths[0] : "", &opts, &r, &d);
    snprintf(a->text, sizeof a->text,
             "version %s, debian %d, fixes %zu %llx, schema %s of %s, login page %s, "
             "findings %zu %llx, why %d",
             r.version ? r.version : "-", r.is_debian, r.fix_count, fixes_hash(&r),
             r.schema_version ? r.schema_version : "-",
             r.code_schema_version ? r.code_schema_version : "-",
             r.login_version ? r.login_version : "-", d.count, codes_hash(&d), r.error != NULL);
    ms_rc_audit_result_free(&r);
    ms_diag_list_free(&d);
    ms_ctx_free(ctx);
}

/* ---- tls_ciphers: a TLS server's suites, groups and DH size enumerated ---- */

/* What one port's enumeration found: per version its suites in order, the
 * order's owner and completeness; the groups, the DH size, the hellos. */
static unsigned long long enumeration_hash(const ms_tls_port_result *p)
{
    unsigned long long h = 0;
    for (size_t v = 0; v < p->cipher_versions; v++) {
        const ms_tls_version_ciphers *vc = &p->ciphers[v];
        int facts[] = {(int)vc->version, vc->server_order, vc->complete};
        h = hash_bytes(h, facts, sizeof facts);
        for (size_t i = 0; i < vc->count; i++)
            h = hash_bytes(hash_str(hash_str(h, vc->ciphers[i].name), vc->ciphers[i].iana),
                           &vc->ciphers[i].cls, sizeof vc->ciphers[i].cls);
    }
    for (size_t g = 0; g < p->group_count; g++)
        h = hash_str(h, p->groups[g]);
    return h;
}

/* What the main session negotiated, and the chain it was sent. */
static unsigned long long session_hash(const ms_tls_port_result *p)
{
    unsigned long long h = hash_str(hash_str(hash_str(hash_str(0, p->version), p->cipher), p->group),
                                    p->signature);
    for (size_t i = 0; i < p->chain_count; i++)
        h = hash_bytes(h, p->chain_der[i], p->chain_len[i]);
    return h;
}

/* A context asking the DNS test bed, and the HTTPS test bed for MTA-STS
 * policies (MAILSEC_HTTPSBED_INFO), or NULL with *st saying why. */
static ms_ctx *beds_ctx(ms_status *st)
{
    char ca[1024], connect_to[256];
    if (!bed_info_get("MAILSEC_HTTPSBED_INFO", "CA", ca, sizeof ca) ||
        !bed_info_get("MAILSEC_HTTPSBED_INFO", "CONNECT_TO", connect_to, sizeof connect_to)) {
        fprintf(stderr, "alloc_fail: the HTTPS test bed is not running (MAILSEC_HTTPSBED_INFO)\n");
        exit(2);
    }
    ms_ctx *ctx = bed_ctx(st);
    if (ctx != NULL && *st == MS_OK)
        *st = ms_ctx_set_https_ca(ctx, ca);
    if (ctx != NULL && *st == MS_OK)
        *st = ms_ctx_add_https_connect_to(ctx, connect_to);
    if (ctx != NULL && *st != MS_OK) {
        ms_ctx_free(ctx);
        return NULL;
    }
    return ctx;
}

/* The input's first line: "ADDRESS PORT [DOMAIN]" of a server speaking
 * TLS at once (tests/alloc/tls.sh starts it and trusts its CA with
 * ALLOC_FAIL_TLS_CA); DOMAIN's MTA-STS policy is looked up and matched too
 * (the DNS and HTTPS test beds). */
void run_tls_ciphers(const char *data, size_t len, answer *a)
{
    char line[512], address[256] = "", port[256] = "", domain[256] = "";
    snprintf(line, sizeof line, "%.*s", (int)(len < sizeof line ? len : sizeof line - 1), data);
    sscanf(line, "%255s %255s %255s", address, port, domain);
    ms_tls_port ports[] = {{(uint16_t)strtoul(port, NULL, 10), MS_TLS_IMPLICIT}};
    ms_tls_check_opts opts = {.servername = "mail.allocfail.example",
                              .ca_file = getenv("ALLOC_FAIL_TLS_CA"),
                              .skip_injection = 1,
                              .ciphers = 1,
                              .mta_sts = domain[0] ? domain : NULL};
    ms_tls_check_result *r = NULL;
    ms_ctx *ctx = NULL;
    if (domain[0])
        ctx = beds_ctx(&a->status);
    else
        a->status = ms_ctx_new(&ctx);
    if (ctx != NULL)
        a->status = ms_tls_check(ctx, address, ports, 1, &opts, &r);
    const ms_tls_port_result *p = r != NULL && r->count == 1 ? &r->ports[0] : NULL;
    snprintf(a->text, sizeof a->text,
             "%s, session %llx, versions %x, suites of %zu versions %llx, dh %d, hellos %u, "
             "findings %zu %llx and %zu %llx, mta-sts %s %s %d",
             p ? ms_tls_port_state_str(p->state) : "-", p ? session_hash(p) : 0,
             p ? p->versions_accepted : 0,
             p ? p->cipher_versions : 0, p ? enumeration_hash(p) : 0, p ? p->dh_bits : 0,
             p ? p->handshakes : 0, p ? p->diags.count : 0, p ? codes_hash(&p->diags) : 0,
             r ? r->diags.count : 0, r ? codes_hash(&r->diags) : 0,
             r ? ms_tls_mtasts_state_str(r->mtasts.state) : "-",
             r && r->mtasts.id ? r->mtasts.id : "-", r ? r->mtasts.mx_match : -2);
    ms_tls_check_result_free(r);
    ms_ctx_free(ctx);
}

/* ---- tls_dane: DANE, the TLSA records of the DNS test bed matched ---- */

/* The findings' codes in order, and the words of the DANE ones (a record
 * named, a certificate's place in the chain, a count). */
static unsigned long long dane_findings_hash(const ms_diag_list *d)
{
    unsigned long long h = 0;
    for (size_t i = 0; i < d->count; i++) {
        h = hash_str(h, d->items[i].def->code);
        if (strncmp(d->items[i].def->code, "tls.dane", 8) == 0)
            h = hash_str(hash_str(h, d->items[i].message), d->items[i].location);
    }
    return h;
}

/* The input's first line: "HOST [SERVERNAME]": the mail test bed's SMTP
 * port (MAILSEC_MAILBED_INFO: Postfix, its certificate issued from the
 * fixed keys that tests/dnsbed/zones/tlstest.example.zone's TLSA records
 * hash) checked with DANE, the TLSA records of _25._tcp.SERVERNAME (or
 * HOST) and HOST's addresses asked of the DNS test bed. */
void run_tls_dane(const char *data, size_t len, answer *a)
{
    char host[256], servername[256], port[32], ca[1024];
    if (!bed_info_get("MAILSEC_MAILBED_INFO", "SMTP_PORT", port, sizeof port) ||
        !bed_info_get("MAILSEC_MAILBED_INFO", "CA", ca, sizeof ca)) {
        fprintf(stderr, "alloc_fail: the mail test bed is not running (MAILSEC_MAILBED_INFO)\n");
        exit(2);
    }
    words(data, len, host, servername);
    ms_tls_port ports[] = {{(uint16_t)strtoul(port, NULL, 10), MS_TLS_SMTP}};
    ms_tls_check_opts opts = {.servername = servername[0] ? servername : NULL,
                              .ca_file = ca,
                              .dane = 1,
                              .skip_versions = 1,
                              .skip_injection = 1};
    ms_tls_check_result *r = NULL;
    ms_ctx *ctx = bed_ctx(&a->status);
    if (ctx != NULL)
        a->status = ms_tls_check(ctx, host, ports, 1, &opts, &r);
    const ms_tls_port_result *p = r != NULL && r->count == 1 ? &r->ports[0] : NULL;
    snprintf(a->text, sizeof a->text, "%s, dane %s, findings %zu %llx, host's %zu %llx",
             p ? ms_tls_port_state_str(p->state) : "-", p ? ms_tls_dane_state_str(p->dane) : "-",
             p ? p->diags.count : 0, p ? dane_findings_hash(&p->diags) : 0,
             r ? r->diags.count : 0, r ? dane_findings_hash(&r->diags) : 0);
    ms_tls_check_result_free(r);
    ms_ctx_free(ctx);
}
