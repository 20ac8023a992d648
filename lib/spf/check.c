/* The lint (`mailsec spf check`): fetch a domain's SPF record and every
 * include/redirect target, all as early as possible. The walk is driven by
 * DNS callbacks: when a record arrives, its targets' TXT queries and its a
 * and mx lookups are submitted at once, so every query that does not
 * depend on another is in flight together, level after level. Findings are
 * produced afterwards, walking the finished tree in record order, so the
 * output does not depend on which answer came first. */
#include "internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct walker {
    ms_ctx *ctx;
    ms_spf_check *c;
    ms_status st;
    int tree_full;
    int root_unknown; /* an MX/A/AAAA lookup of the domain failed */
    struct mx_host **hosts; /* owned here, freed after the run */
    size_t nhosts;
} walker;

enum qkind { Q_TXT, Q_A, Q_AAAA, Q_MX, Q_MXHOST, Q_ROOT_MX, Q_ROOT_ADDR };

typedef struct mx_host {
    int answered, has_address;
} mx_host;

static mx_host *new_host(walker *w)
{
    mx_host **grown = realloc(w->hosts, (w->nhosts + 1) * sizeof *grown);
    if (grown == NULL)
        return NULL;
    w->hosts = grown;
    mx_host *h = calloc(1, sizeof *h);
    if (h != NULL)
        w->hosts[w->nhosts++] = h;
    return h;
}

typedef struct pending {
    walker *w;
    enum qkind kind;
    ms_spf_node *node;
    size_t count; /* index into node->counts */
    mx_host *host; /* Q_MXHOST: shared by its A and AAAA query */
    unsigned level;
    char *record_text; /* Q_TXT for the root with --record */
} pending;

static void on_answer(void *arg, ms_dns_answer *a);

static void submit(walker *w, const char *name, uint16_t type, enum qkind kind, ms_spf_node *node,
                   size_t count, mx_host *host, unsigned level)
{
    if (w->st != MS_OK)
        return;
    pending *p = calloc(1, sizeof *p);
    if (p == NULL) {
        w->st = MS_ERR_NOMEM;
        return;
    }
    *p = (pending){w, kind, node, count, host, level, NULL};
    if (level > w->c->rounds)
        w->c->rounds = level;
    ms_status st = ms_dns_submit(w->ctx, name, type, on_answer, p);
    if (st != MS_OK) {
        w->st = st;
        free(p);
    }
}

static ms_spf_node *new_node(walker *w, const char *domain, const char *via, unsigned depth)
{
    ms_spf_check *c = w->c;
    if (c->nnodes >= MS_SPF_MAX_TREE_NODES) {
        w->tree_full = 1;
        return NULL;
    }
    ms_spf_node **grown = realloc(c->nodes, (c->nnodes + 1) * sizeof *grown);
    ms_spf_node *n = calloc(1, sizeof *n);
    if (grown == NULL || n == NULL) {
        free(n);
        if (grown != NULL)
            c->nodes = grown;
        w->st = MS_ERR_NOMEM;
        return NULL;
    }
    c->nodes = grown;
    c->nodes[c->nnodes++] = n;
    n->domain = ms_strdup(domain);
    n->via = ms_strdup(via);
    n->depth = depth;
    n->all_index = -1;
    if (n->domain == NULL)
        w->st = MS_ERR_NOMEM;
    return n;
}

static int counts_lookup(ms_spf_kind k)
{
    return k == MS_SPF_INCLUDE || k == MS_SPF_A || k == MS_SPF_MX || k == MS_SPF_PTR ||
           k == MS_SPF_EXISTS || k == MS_SPF_REDIRECT;
}

/* Is the target name already on the way from the root to this node? */
static int on_path(const ms_spf_node *node, const char *target, ms_spf_node *const *nodes,
                   size_t nnodes)
{
    /* Parent links are not stored; find ancestors by scanning for the
     * node whose counts hold this one as a child. */
    const ms_spf_node *cur = node;
    for (unsigned guard = 0; cur != NULL && guard <= MS_SPF_MAX_TREE_NODES; guard++) {
        if (ms_ascii_strcasecmp(cur->domain, target) == 0)
            return 1;
        const ms_spf_node *parent = NULL;
        for (size_t i = 0; i < nnodes && parent == NULL; i++)
            for (size_t j = 0; j < nodes[i]->ncounts; j++)
                if (nodes[i]->counts[j].child == cur)
                    parent = nodes[i];
        cur = parent;
    }
    return 0;
}

/* The record's DNS-querying terms in evaluation order: up to the first
 * all (nothing after it is evaluated), then redirect= when there is no all
 * (RFC 7208 6.1). Submits what each of them looks up. */
static void plan_record(walker *w, ms_spf_node *node, unsigned level)
{
    const ms_spf_record *rec = node->record;
    for (size_t i = 0; i < rec->count; i++)
        if (rec->terms[i].kind == MS_SPF_ALL) {
            node->all_index = (long)i;
            break;
        }
    size_t limit = node->all_index >= 0 ? (size_t)node->all_index : rec->count;
    node->counts = calloc(rec->count + 1, sizeof *node->counts);
    if (node->counts == NULL) {
        w->st = MS_ERR_NOMEM;
        return;
    }
    for (size_t i = 0; i <= rec->count; i++) {
        size_t ti = i;
        if (i == rec->count) {
            if (rec->redirect < 0 || node->all_index >= 0)
                break;
            ti = (size_t)rec->redirect;
        } else if (i >= limit || rec->terms[i].kind == MS_SPF_REDIRECT) {
            continue;
        }
        const ms_spf_term *t = &rec->terms[ti];
        if (!counts_lookup(t->kind))
            continue;
        size_t ci = node->ncounts++;
        ms_spf_count *cnt = &node->counts[ci];
        cnt->term = ti;
        cnt->lookups = 1;
        if (t->has_macro)
            continue;
        char *target = NULL;
        ms_status st = t->domain_spec != NULL ? spf_target_name(t->domain_spec, &target)
                       : (target = ms_strdup(node->domain)) != NULL ? MS_OK : MS_ERR_NOMEM;
        if (st != MS_OK) {
            w->st = st;
            return;
        }
        if (target == NULL)
            continue;
        if (t->kind == MS_SPF_INCLUDE || t->kind == MS_SPF_REDIRECT) {
            if (on_path(node, target, (ms_spf_node *const *)w->c->nodes, w->c->nnodes)) {
                cnt->child = NULL;
                node->loop = node->loop; /* reported from the count below */
                cnt->failed = -1;         /* -1: a loop */
            } else {
                ms_spf_node *child = new_node(w, target, t->text, node->depth + 1);
                cnt->child = child;
                if (child != NULL) {
                    child->top = node->top && t->kind == MS_SPF_REDIRECT;
                    submit(w, target, MS_DNS_TXT, Q_TXT, child, 0, NULL, level + 1);
                }
            }
        } else if (t->kind == MS_SPF_A) {
            submit(w, target, MS_DNS_A, Q_A, node, ci, NULL, level + 1);
            submit(w, target, MS_DNS_AAAA, Q_AAAA, node, ci, NULL, level + 1);
        } else if (t->kind == MS_SPF_MX) {
            submit(w, target, MS_DNS_MX, Q_MX, node, ci, NULL, level + 1);
        }
        free(target);
    }
}

static void take_record(walker *w, ms_spf_node *node, const char *text, size_t len, unsigned level)
{
    node->text = malloc(len + 1);
    if (node->text == NULL) {
        w->st = MS_ERR_NOMEM;
        return;
    }
    memcpy(node->text, text, len);
    node->text[len] = '\0';
    ms_status st = ms_spf_parse(text, len, node->domain, &node->record, NULL);
    if (st == MS_ERR_LIMIT)
        return;
    if (st != MS_OK) {
        w->st = st;
        return;
    }
    if (node->record->valid)
        plan_record(w, node, level);
}

static void on_txt(walker *w, ms_spf_node *node, const ms_dns_answer *a, unsigned level)
{
    node->rcode = a->rcode;
    const ms_dns_record *found = NULL;
    for (size_t i = 0; i < a->count; i++)
        if (a->records[i].text != NULL && ms_spf_is_record(a->records[i].text, a->records[i].text_len)) {
            if (found == NULL)
                found = &a->records[i];
            node->spf_records++;
        }
    if (found != NULL && node->spf_records == 1)
        take_record(w, node, found->text, found->text_len, level);
}

static void on_mx(walker *w, ms_spf_node *node, size_t ci, const ms_dns_answer *a, unsigned level)
{
    ms_spf_count *cnt = &node->counts[ci];
    if (a->rcode == MS_DNS_NXDOMAIN || a->rcode == MS_DNS_NODATA) {
        cnt->void4 = cnt->void6 = 1;
        return;
    }
    if (a->rcode != MS_DNS_NOERROR) {
        cnt->failed = 1;
        return;
    }
    cnt->mx_hosts = (unsigned)a->count;
    if (a->count > MS_SPF_MAX_MX_PTR_NAMES)
        return;
    for (size_t i = 0; i < a->count; i++) {
        const char *host = a->records[i].text;
        if (host == NULL || host[0] == '\0') {
            cnt->mx_hosts_without_address++; /* null MX: nothing to match */
            continue;
        }
        mx_host *h = new_host(w);
        if (h == NULL) {
            w->st = MS_ERR_NOMEM;
            return;
        }
        submit(w, host, MS_DNS_A, Q_MXHOST, node, ci, h, level + 1);
        submit(w, host, MS_DNS_AAAA, Q_MXHOST, node, ci, h, level + 1);
    }
}

static void on_answer(void *arg, ms_dns_answer *a)
{
    pending *p = arg;
    walker *w = p->w;
    if (a != NULL && w->st == MS_OK) {
        ms_spf_count *cnt = p->kind == Q_A || p->kind == Q_AAAA || p->kind == Q_MXHOST
                                ? &p->node->counts[p->count] : NULL;
        int empty = a->rcode == MS_DNS_NXDOMAIN || a->rcode == MS_DNS_NODATA;
        int failed = !empty && a->rcode != MS_DNS_NOERROR;
        switch (p->kind) {
        case Q_TXT: on_txt(w, p->node, a, p->level); break;
        case Q_A: cnt->void4 = empty; cnt->failed |= failed; break;
        case Q_AAAA: cnt->void6 = empty; cnt->failed |= failed; break;
        case Q_MX: on_mx(w, p->node, p->count, a, p->level); break;
        case Q_MXHOST:
            p->host->answered++;
            if (a->rcode == MS_DNS_NOERROR && a->count > 0)
                p->host->has_address = 1;
            if (failed)
                p->host->has_address = 1; /* unknown: do not call it missing */
            if (p->host->answered == 2 && !p->host->has_address)
                cnt->mx_hosts_without_address++;
            break;
        case Q_ROOT_MX:
            w->root_unknown |= failed;
            w->c->has_mx = a->rcode == MS_DNS_NOERROR && a->count > 0 &&
                           !(a->count == 1 && a->records[0].text != NULL && a->records[0].text[0] == '\0');
            break;
        case Q_ROOT_ADDR:
            w->root_unknown |= failed;
            if (a->rcode == MS_DNS_NOERROR && a->count > 0)
                w->c->has_address = 1;
            break;
        }
    } else if (a == NULL) {
        w->st = MS_ERR_NOMEM;
    }
    ms_dns_answer_free(a);
    free(p);
}

/* ---- totals and findings, after the walk ---- */

static void totals(ms_spf_node *n, unsigned guard)
{
    n->lookups = 0;
    n->voids4 = n->voids6 = 0;
    for (size_t i = 0; i < n->ncounts && guard < MS_SPF_MAX_TREE_NODES; i++) {
        ms_spf_count *cnt = &n->counts[i];
        cnt->lookups = 1;
        cnt->voids = (unsigned)(cnt->void4 > cnt->void6 ? cnt->void4 : cnt->void6);
        if (cnt->child != NULL) {
            totals(cnt->child, guard + 1);
            cnt->lookups += cnt->child->lookups;
            cnt->voids += cnt->child->voids4 > cnt->child->voids6 ? cnt->child->voids4 : cnt->child->voids6;
            n->voids4 += cnt->child->voids4;
            n->voids6 += cnt->child->voids6;
        }
        n->voids4 += (unsigned)cnt->void4;
        n->voids6 += (unsigned)cnt->void6;
        n->lookups += cnt->lookups;
    }
}

static void add(walker *w, enum spf_diag_id id, const char *loc, long off, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

static void add(walker *w, enum spf_diag_id id, const char *loc, long off, const char *fmt, ...)
{
    if (w->st != MS_OK)
        return;
    va_list ap;
    va_start(ap, fmt);
    if (ms_diag_addv(&w->c->diags, SPF_DEF(id), loc, off, fmt, ap) != MS_OK)
        w->st = MS_ERR_NOMEM;
    va_end(ap);
}

static void lint_terms(walker *w, const ms_spf_node *n)
{
    const ms_spf_record *rec = n->record;
    const char *d = n->domain;
    for (size_t i = 0; i < rec->count; i++) {
        const ms_spf_term *t = &rec->terms[i];
        if (n->all_index >= 0 && (long)i > n->all_index && t->kind < MS_SPF_REDIRECT)
            add(w, SPF_D_AFTER_ALL, d, t->offset, "\"%s\" comes after all and is never evaluated", t->text);
        if (t->kind == MS_SPF_PTR)
            add(w, SPF_D_PTR, d, t->offset, "\"%s\": do not use ptr (RFC 7208 5.5)", t->text);
        if (t->kind == MS_SPF_ALL && (long)i == n->all_index) {
            if (t->qualifier == '+')
                add(w, SPF_D_PLUS_ALL, d, t->offset, "\"%s\" authorises every host on the Internet", t->text);
            else if (t->qualifier == '?' && n->top)
                add(w, SPF_D_NEUTRAL_ALL, d, t->offset, "\"?all\": unlisted hosts get neutral");
        }
        if (t->kind == MS_SPF_REDIRECT && n->all_index >= 0)
            add(w, SPF_D_REDIRECT_WITH_ALL, d, t->offset, "\"%s\" is ignored: the record has all", t->text);
    }
    if (n->top && n->all_index < 0 && rec->redirect < 0)
        add(w, SPF_D_NO_ALL, d, (long)strlen(n->text), "no all and no redirect=: unlisted hosts get neutral");
}

static void lint_counts(walker *w, const ms_spf_node *n)
{
    const char *d = n->domain;
    for (size_t i = 0; i < n->ncounts; i++) {
        const ms_spf_count *cnt = &n->counts[i];
        const ms_spf_term *t = &n->record->terms[cnt->term];
        if (t->has_macro) {
            add(w, SPF_D_MACRO_TARGET, d, t->offset, "\"%s\" depends on the message; not followed", t->text);
            continue;
        }
        if (cnt->failed == -1)
            add(w, SPF_D_LOOP, d, t->offset, "\"%s\" leads back to a record already being evaluated", t->text);
        if (t->kind == MS_SPF_A && cnt->void4 && cnt->void6)
            add(w, SPF_D_NO_ADDRESS, d, t->offset, "\"%s\": the target has no A or AAAA records", t->text);
        if (t->kind == MS_SPF_MX && cnt->void4)
            add(w, SPF_D_NO_ADDRESS, d, t->offset, "\"%s\": the target has no MX records", t->text);
        if (t->kind == MS_SPF_MX && cnt->mx_hosts > MS_SPF_MAX_MX_PTR_NAMES)
            add(w, SPF_D_MX_TOO_MANY, d, t->offset, "\"%s\": %u MX records, more than %d", t->text,
                cnt->mx_hosts, MS_SPF_MAX_MX_PTR_NAMES);
        else if (t->kind == MS_SPF_MX && cnt->mx_hosts > 0 &&
                 cnt->mx_hosts_without_address == cnt->mx_hosts)
            add(w, SPF_D_NO_ADDRESS, d, t->offset, "\"%s\": none of the %u MX hosts has an address",
                t->text, cnt->mx_hosts);
        if (cnt->failed == 1)
            add(w, SPF_D_DNS_ERROR, d, t->offset, "\"%s\": a lookup failed; receivers may get temperror", t->text);
        const ms_spf_node *ch = cnt->child;
        if (ch == NULL)
            continue;
        if (ch->rcode != MS_DNS_NOERROR && ch->rcode != MS_DNS_NXDOMAIN && ch->rcode != MS_DNS_NODATA)
            add(w, SPF_D_TARGET_ERROR, d, t->offset, "\"%s\": TXT lookup of %s: %s (temperror)", t->text,
                ch->domain, ms_dns_rcode_str(ch->rcode));
        else if (ch->spf_records == 0)
            add(w, SPF_D_TARGET_NO_RECORD, d, t->offset, "\"%s\": %s has no SPF record (permerror)",
                t->text, ch->domain);
        else if (ch->spf_records > 1 || ch->record == NULL || !ch->record->valid)
            add(w, SPF_D_TARGET_ERROR, d, t->offset, "\"%s\": the record of %s is not valid (permerror)",
                t->text, ch->domain);
    }
}

static void lint_node(walker *w, const ms_spf_node *n, int root)
{
    if (n->rcode != MS_DNS_NOERROR && n->rcode != MS_DNS_NXDOMAIN && n->rcode != MS_DNS_NODATA) {
        if (root)
            add(w, SPF_D_DNS_ERROR, n->domain, -1, "TXT lookup of %s: %s", n->domain, ms_dns_rcode_str(n->rcode));
        return;
    }
    if (n->spf_records == 0) {
        if (root)
            add(w, SPF_D_NO_RECORD, n->domain, -1, "%s has no SPF record", n->domain);
        return;
    }
    if (n->spf_records > 1) {
        add(w, SPF_D_MULTIPLE, n->domain, -1, "%s has %zu SPF records", n->domain, n->spf_records);
        return;
    }
    size_t len = strlen(n->text);
    if (len > MS_SPF_MAX_RECORD_UDP)
        add(w, SPF_D_RECORD_LONG, n->domain, -1, "the record is %zu octets", len);
    if (n->record == NULL)
        return;
    ms_spf_record *again = NULL;
    ms_diag_list tmp = MS_DIAG_LIST_INIT;
    if (ms_spf_parse(n->text, len, n->domain, &again, &tmp) == MS_OK && w->st == MS_OK) {
        /* A target's syntax errors say whose record they are in. */
        for (size_t i = 0; i < tmp.count && !root; i++) {
            char *m = ms_asprintf("%s: %s", n->domain, tmp.items[i].message);
            if (m != NULL) {
                free(tmp.items[i].message);
                tmp.items[i].message = m;
            }
        }
        if (ms_diag_list_move(&w->c->diags, &tmp) != MS_OK)
            w->st = MS_ERR_NOMEM;
    }
    ms_diag_list_free(&tmp);
    ms_spf_record_free(again);
    if (!n->record->valid)
        return;
    lint_terms(w, n);
    lint_counts(w, n);
}

static void lint_tree(walker *w, const ms_spf_node *n, int root, unsigned guard)
{
    lint_node(w, n, root);
    for (size_t i = 0; i < n->ncounts && guard < MS_SPF_MAX_TREE_NODES; i++)
        if (n->counts[i].child != NULL)
            lint_tree(w, n->counts[i].child, 0, guard + 1);
}

static int says_no_mail(const ms_spf_node *n)
{
    if (n->record == NULL || !n->record->valid)
        return 0;
    for (size_t i = 0; i < n->record->count; i++) {
        const ms_spf_term *t = &n->record->terms[i];
        if (t->kind == MS_SPF_ALL && t->qualifier == '-')
            return 1;
        if (t->kind < MS_SPF_REDIRECT || t->kind == MS_SPF_REDIRECT)
            return 0;
    }
    return 0;
}

static void lint_totals(walker *w)
{
    ms_spf_check *c = w->c;
    ms_spf_node *root = c->root;
    totals(root, 0);
    c->lookups = root->lookups;
    c->voids = root->voids4 > root->voids6 ? root->voids4 : root->voids6;
    if (w->tree_full)
        add(w, SPF_D_TREE_LIMIT, c->domain, -1, "more than %d records in the include/redirect tree",
            MS_SPF_MAX_TREE_NODES);
    if (c->lookups > MS_SPF_MAX_DNS_TERMS)
        add(w, SPF_D_LOOKUP_LIMIT, c->domain, -1,
            "%u DNS-querying terms, the limit is %d: receivers return permerror", c->lookups,
            MS_SPF_MAX_DNS_TERMS);
    else if (c->lookups >= MS_SPF_MAX_DNS_TERMS - 1)
        add(w, SPF_D_LOOKUP_NEAR, c->domain, -1, "%u of %d DNS-querying terms used", c->lookups,
            MS_SPF_MAX_DNS_TERMS);
    if (c->voids > MS_SPF_MAX_VOID)
        add(w, SPF_D_VOID_LIMIT, c->domain, -1,
            "up to %u void lookups (%u for IPv4 clients, %u for IPv6 clients), the limit is %d",
            c->voids, root->voids4, root->voids6, MS_SPF_MAX_VOID);
    int fetched = root->rcode == MS_DNS_NOERROR || root->rcode == MS_DNS_NXDOMAIN || root->rcode == MS_DNS_NODATA;
    if (fetched && !w->root_unknown && !c->has_mx && !c->has_address && !says_no_mail(root))
        add(w, SPF_D_PARKED, c->domain, -1,
            "%s has no MX and no address: if it sends no mail, publish \"v=spf1 -all\"", c->domain);
}

ms_status ms_spf_check_domain(ms_ctx *ctx, const char *domain, const char *record_text,
                              ms_spf_check **out)
{
    if (ctx == NULL || domain == NULL || out == NULL)
        return MS_ERR_INVALID;
    *out = NULL;
    ms_spf_check *c = calloc(1, sizeof *c);
    if (c == NULL)
        return MS_ERR_NOMEM;
    ms_status st = ms_domain_normalize(domain, &c->domain);
    if (st != MS_OK) {
        free(c);
        return st;
    }
    walker w = {ctx, c, MS_OK, 0, 0, NULL, 0};
    unsigned long q0 = ms_dns_queries_sent(ctx);
    c->root = new_node(&w, c->domain, NULL, 0);
    if (c->root != NULL) {
        c->root->top = 1;
        if (record_text != NULL) {
            size_t len = strlen(record_text);
            c->root->rcode = MS_DNS_NOERROR;
            c->root->spf_records = ms_spf_is_record(record_text, len) ? 1 : 0;
            if (len > MS_SPF_MAX_STRING)
                add(&w, SPF_D_STRING_LONG, c->domain, MS_SPF_MAX_STRING,
                    "the record is %zu octets: publish it as several strings of at most %d", len,
                    MS_SPF_MAX_STRING);
            if (c->root->spf_records == 1)
                take_record(&w, c->root, record_text, len, 0);
            else
                c->root->spf_records = 1, take_record(&w, c->root, record_text, len, 0);
        } else {
            submit(&w, c->domain, MS_DNS_TXT, Q_TXT, c->root, 0, NULL, 1);
        }
        submit(&w, c->domain, MS_DNS_MX, Q_ROOT_MX, NULL, 0, NULL, 1);
        submit(&w, c->domain, MS_DNS_A, Q_ROOT_ADDR, NULL, 0, NULL, 1);
        submit(&w, c->domain, MS_DNS_AAAA, Q_ROOT_ADDR, NULL, 0, NULL, 1);
    }
    ms_status run = ms_dns_run(ctx);
    if (w.st == MS_OK)
        w.st = run;
    if (w.st == MS_OK) {
        ms_spf_node *r = c->root;
        c->could_not_check = r->rcode != MS_DNS_NOERROR && r->rcode != MS_DNS_NXDOMAIN && r->rcode != MS_DNS_NODATA;
        lint_tree(&w, r, 1, 0);
        lint_totals(&w);
    }
    c->queries = ms_dns_queries_sent(ctx) - q0;
    for (size_t i = 0; i < w.nhosts; i++)
        free(w.hosts[i]);
    free(w.hosts);
    if (w.st != MS_OK) {
        ms_spf_check_free(c);
        return w.st;
    }
    *out = c;
    return MS_OK;
}

void ms_spf_check_free(ms_spf_check *c)
{
    if (c == NULL)
        return;
    for (size_t i = 0; i < c->nnodes; i++) {
        ms_spf_node *n = c->nodes[i];
        free(n->domain);
        free(n->via);
        free(n->text);
        ms_spf_record_free(n->record);
        free(n->counts);
        free(n);
    }
    free(c->nodes);
    free(c->domain);
    ms_diag_list_free(&c->diags);
    free(c);
}
