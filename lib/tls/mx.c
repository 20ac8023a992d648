/* A domain's MX hosts, each checked as `tls check` checks a host (port 25,
 * SMTP STARTTLS, on every address), all hosts at once, one thread each
 * with a context of its own. One grade per host and one for the domain,
 * graded as the audit grades its areas; the audit's SMTP TLS area is this
 * same check (ms_tls_check_mx_hosts on the MX hosts its MX area found). */
#include "internal.h"

#include "core/task.h"
#include <stdlib.h>
#include <string.h>

/* '?' ranks between B and F, as in the audit: unknown is worse than imperfect. */
static int grade_rank(char grade)
{
    static const char ORDER[] = "AB?F";
    const char *at = strchr(ORDER, grade);
    return at ? (int)(at - ORDER) : 0;
}

static char worse_grade(char a, char b)
{
    return grade_rank(b) > grade_rank(a) ? b : a;
}

/* A host's grade: '?' when nothing answered, else by its worst finding. */
static char host_grade(const ms_tls_check_result *check)
{
    if (check == NULL || check->open_ports == 0)
        return '?';
    int worst = ms_diag_worst(&check->diags);
    for (size_t i = 0; i < check->count; i++) {
        int w = ms_diag_worst(&check->ports[i].diags);
        if (w > worst)
            worst = w;
    }
    return worst == MS_SEV_ERROR ? 'F' : worst == MS_SEV_WARNING ? 'B' : 'A';
}

/* One host's check, in a thread of its own. */
typedef struct host_job {
    ms_ctx *ctx; /* a clone: one context per thread */
    const ms_tls_port *ports;
    size_t count;
    ms_tls_check_opts opts; /* servername: the host */
    ms_tls_mx_host *host;
    ms_status status;
    ms_task task;
} host_job;

static void *run_host(void *arg)
{
    host_job *job = arg;
    job->status = ms_tls_check(job->ctx, job->host->name, job->ports, job->count, &job->opts,
                               &job->host->check);
    job->host->grade = job->status == MS_OK ? host_grade(job->host->check) : '?';
    return NULL;
}

/* The hosts to check: the MX hosts by preference (as published when
 * equal), or the domain itself when it has no MX records (RFC 5321 5.1). */
static int by_preference(const void *x, const void *y)
{
    const ms_tls_mx_host *a = x, *b = y;
    return (a->preference > b->preference) - (a->preference < b->preference);
}

static ms_status take_hosts(ms_tls_mx_result *res, const ms_audit_mx_result *mx)
{
    size_t total = 0;
    for (size_t i = 0; i < mx->count; i++)
        total += mx->hosts[i].name[0] != '\0';
    if (total == 0 && !res->null_mx) {
        res->implicit_mx = 1;
        total = 1;
    }
    if (total == 0)
        return MS_OK;
    res->hosts = calloc(total, sizeof *res->hosts);
    if (res->hosts == NULL)
        return MS_ERR_NOMEM;
    if (res->implicit_mx) {
        res->hosts[0].preference = 0;
        res->hosts[0].name = ms_strdup(res->domain);
        res->count = 1;
        return res->hosts[0].name ? MS_OK : MS_ERR_NOMEM;
    }
    for (size_t i = 0; i < mx->count; i++) {
        if (mx->hosts[i].name[0] == '\0')
            continue;
        ms_tls_mx_host *h = &res->hosts[res->count++];
        h->preference = mx->hosts[i].preference;
        if ((h->name = ms_strdup(mx->hosts[i].name)) == NULL)
            return MS_ERR_NOMEM;
    }
    /* stable: qsort is not, so equal preferences keep their order by index */
    for (size_t i = 1; i < res->count; i++)
        for (size_t k = i; k > 0 && by_preference(&res->hosts[k - 1], &res->hosts[k]) > 0; k--) {
            ms_tls_mx_host t = res->hosts[k];
            res->hosts[k] = res->hosts[k - 1];
            res->hosts[k - 1] = t;
        }
    return MS_OK;
}

/* Past MS_TLS_MAX_MX_HOSTS: named in a note, not checked. */
static ms_status drop_extra_hosts(ms_tls_mx_result *res)
{
    if (res->count <= MS_TLS_MAX_MX_HOSTS)
        return MS_OK;
    size_t extra = res->count - MS_TLS_MAX_MX_HOSTS;
    ms_status st = ms_diag_add(&res->diags, &ms_tls_diag_defs[T_MX_TOO_MANY], res->domain, -1,
                               "%zu MX hosts: the first %d by preference were checked, not %s%s",
                               res->count, MS_TLS_MAX_MX_HOSTS,
                               res->hosts[MS_TLS_MAX_MX_HOSTS].name,
                               extra > 1 ? " and the ones after it" : "");
    for (size_t i = MS_TLS_MAX_MX_HOSTS; i < res->count; i++)
        free(res->hosts[i].name);
    res->count = MS_TLS_MAX_MX_HOSTS;
    return st;
}

static ms_status check_hosts(ms_ctx *ctx, ms_tls_mx_result *res, const ms_tls_port *ports,
                             size_t count, const ms_tls_check_opts *opts)
{
    static const ms_tls_port SMTP = {25, MS_TLS_SMTP};
    if (count == 0) {
        ports = &SMTP;
        count = 1;
    }
    host_job *jobs = calloc(res->count ? res->count : 1, sizeof *jobs);
    if (jobs == NULL)
        return MS_ERR_NOMEM;
    ms_status st = MS_OK;
    for (size_t i = 0; i < res->count && st == MS_OK; i++) {
        host_job *job = &jobs[i];
        *job = (host_job){.ports = ports, .count = count, .opts = *opts, .host = &res->hosts[i]};
        job->opts.servername = NULL; /* each host is its own name (RFC 7672 3.2.3, RFC 8461 4.1) */
        st = ms_ctx_clone(ctx, &job->ctx);
        if (st == MS_OK)
            ms_task_run(&job->task, run_host, job);
    }
    for (size_t i = 0; i < res->count; i++) {
        ms_task_join(&jobs[i].task);
        if (st == MS_OK && jobs[i].ctx != NULL)
            st = jobs[i].status;
        ms_ctx_free(jobs[i].ctx);
    }
    free(jobs);
    return st;
}

/* The domain's grade and whether anything could be checked. */
static void grade_domain(ms_tls_mx_result *res, int lookup_failed)
{
    res->grade = 'A';
    size_t answered = 0;
    for (size_t i = 0; i < res->count; i++) {
        res->grade = worse_grade(res->grade, res->hosts[i].grade);
        answered += res->hosts[i].grade != '?';
    }
    res->could_not_check = lookup_failed || (res->count > 0 && answered == 0);
    if (lookup_failed)
        res->grade = '?';
}

ms_status ms_tls_check_mx_hosts(ms_ctx *ctx, const char *domain, const ms_audit_mx_result *mx,
                                const ms_diag_list *mx_diags, const ms_tls_port *ports,
                                size_t count, const ms_tls_check_opts *opts,
                                ms_tls_mx_result **out)
{
    static const ms_tls_check_opts DEFAULTS = {0};
    *out = NULL;
    if (domain == NULL || mx == NULL || count > MS_TLS_MAX_PORTS)
        return MS_ERR_INVALID;
    ms_tls_mx_result *res = calloc(1, sizeof *res);
    if (res == NULL || (res->domain = ms_strdup(domain)) == NULL) {
        free(res);
        return MS_ERR_NOMEM;
    }
    /* a failed MX lookup says nothing about the hosts, and a domain that does
     * not exist has none: nothing is checked */
    int lookup_failed = mx->dnssec == MS_DNS_DNSSEC_BOGUS ||
                        (mx->rcode != MS_DNS_NOERROR && mx->rcode != MS_DNS_NODATA);
    res->null_mx = mx->null_mx;
    ms_status st = MS_OK;
    for (size_t i = 0; mx_diags && i < mx_diags->count && st == MS_OK; i++) {
        const ms_diag *d = &mx_diags->items[i];
        st = ms_diag_add(&res->diags, d->def, d->location, d->offset, "%s", d->message);
    }
    if (st == MS_OK && !lookup_failed)
        st = take_hosts(res, mx);
    if (st == MS_OK)
        st = drop_extra_hosts(res);
    if (st == MS_OK)
        st = check_hosts(ctx, res, ports, count, opts ? opts : &DEFAULTS);
    if (st != MS_OK) {
        ms_tls_mx_result_free(res);
        return st;
    }
    grade_domain(res, lookup_failed);
    *out = res;
    return MS_OK;
}

ms_status ms_tls_check_mx(ms_ctx *ctx, const char *domain, const ms_tls_port *ports, size_t count,
                          const ms_tls_check_opts *opts, ms_tls_mx_result **out)
{
    *out = NULL;
    if (domain == NULL || *domain == '\0')
        return MS_ERR_INVALID;
    char *name = NULL;
    if (ms_domain_normalize(domain, &name) != MS_OK)
        return MS_ERR_INVALID;
    ms_audit_mx_result *mx = NULL;
    ms_diag_list mx_diags = MS_DIAG_LIST_INIT;
    ms_status st = ms_audit_mx(ctx, name, &mx, &mx_diags);
    if (st == MS_OK)
        st = ms_tls_check_mx_hosts(ctx, name, mx, &mx_diags, ports, count, opts, out);
    ms_audit_mx_result_free(mx);
    ms_diag_list_free(&mx_diags);
    free(name);
    return st;
}

void ms_tls_mx_result_free(ms_tls_mx_result *res)
{
    if (res == NULL)
        return;
    for (size_t i = 0; i < res->count; i++) {
        free(res->hosts[i].name);
        ms_tls_check_result_free(res->hosts[i].check);
    }
    free(res->hosts);
    free(res->domain);
    ms_diag_list_free(&res->diags);
    free(res);
}
