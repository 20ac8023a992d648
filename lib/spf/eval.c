/* check_host() (RFC 7208 sections 4 to 6 and 8): the evaluation a
 * receiver does. It is sequential by definition (each term is evaluated
 * only when the ones before did not match); where one term needs several
 * independent lookups (the addresses of every MX host, the addresses of
 * every PTR name) they go out together. */
#include "internal.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum match { NOMATCH, MATCH, TEMPERR, PERMERR };

typedef struct evaluator {
    ms_ctx *ctx;
    ms_spf_dns dns;
    int is_v6;
    unsigned char ip[16];
    const char *sender;
    const char *helo;
    const char *receiver;
    long long now;
    ms_spf_eval *ev;
    ms_status st;
    unsigned in_include; /* exp= is not used inside an include (6.2) */
    /* validated PTR names, looked up once per evaluation */
    int ptr_done;
    char *ptr_names[MS_SPF_MAX_MX_PTR_NAMES];
    size_t ptr_count;
} evaluator;

/* ---- DNS through the hook ---- */

static void on_answer(void *arg, ms_dns_answer *answer)
{
    *(ms_dns_answer **)arg = answer;
}

ms_status ms_spf_dns_resolve(void *arg, ms_ctx *ctx, size_t n, const char *const *names,
                             const uint16_t *types, ms_dns_answer **answers)
{
    (void)arg;
    ms_status st = MS_OK;
    for (size_t i = 0; i < n; i++)
        answers[i] = NULL;
    size_t submitted = 0;
    for (; submitted < n && st == MS_OK; submitted++)
        st = ms_dns_submit(ctx, names[submitted], types[submitted], on_answer, &answers[submitted]);
    ms_status run = ms_dns_run(ctx);
    if (st == MS_OK)
        st = run;
    for (size_t i = 0; i < n && st == MS_OK; i++)
        if (answers[i] == NULL)
            st = MS_ERR_NOMEM;
    if (st != MS_OK)
        for (size_t i = 0; i < n; i++) {
            ms_dns_answer_free(answers[i]);
            answers[i] = NULL;
        }
    return st;
}

static int resolve(evaluator *e, size_t n, const char *const *names, const uint16_t *types,
                   ms_dns_answer **answers)
{
    if (e->st != MS_OK)
        return 0;
    e->st = e->dns.resolve(e->dns.arg, e->ctx, n, names, types, answers);
    e->ev->queries += n;
    return e->st == MS_OK;
}

static ms_dns_answer *lookup(evaluator *e, const char *name, uint16_t type)
{
    ms_dns_answer *a = NULL;
    return resolve(e, 1, &name, &type, &a) ? a : NULL;
}

static int is_void(const ms_dns_answer *a)
{
    return a->rcode == MS_DNS_NXDOMAIN || a->rcode == MS_DNS_NODATA ||
           (a->rcode == MS_DNS_NOERROR && a->count == 0);
}

static int is_failure(const ms_dns_answer *a)
{
    return a->rcode == MS_DNS_SERVFAIL || a->rcode == MS_DNS_TIMEOUT || a->rcode == MS_DNS_ERROR;
}

/* ---- the path ---- */

static void add_step(evaluator *e, unsigned depth, const char *domain, const char *term,
                     const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static void add_step(evaluator *e, unsigned depth, const char *domain, const char *term,
                     const char *fmt, ...)
{
    ms_spf_eval *ev = e->ev;
    ms_spf_step *grown = realloc(ev->path, (ev->path_count + 1) * sizeof *grown);
    if (grown == NULL) {
        e->st = MS_ERR_NOMEM;
        return;
    }
    ev->path = grown;
    ms_spf_step *s = &ev->path[ev->path_count++];
    va_list ap;
    va_start(ap, fmt);
    ms_buf b = MS_BUF_INIT;
    char tmp[512];
    vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    ms_buf_puts(&b, tmp);
    s->depth = depth;
    s->domain = ms_strdup(domain);
    s->term = ms_strdup(term);
    s->note = ms_buf_take(&b);
}

static void truncate_path(evaluator *e, size_t count)
{
    ms_spf_eval *ev = e->ev;
    while (ev->path_count > count) {
        ms_spf_step *s = &ev->path[--ev->path_count];
        free(s->domain);
        free(s->term);
        free(s->note);
    }
}

static void set_reason(evaluator *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void set_reason(evaluator *e, const char *fmt, ...)
{
    if (e->ev->reason != NULL)
        return; /* the innermost reason is the real one */
    char tmp[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    e->ev->reason = ms_strdup(tmp);
}

/* ---- addresses ---- */

static int in_network(const unsigned char *a, const unsigned char *net, int bits)
{
    int bytes = bits / 8, rem = bits % 8;
    if (memcmp(a, net, (size_t)bytes) != 0)
        return 0;
    if (rem == 0)
        return 1;
    unsigned char mask = (unsigned char)(0xff << (8 - rem));
    return (a[bytes] & mask) == (net[bytes] & mask);
}

/* Does any address record of the answer match the client within cidr? */
static int answer_matches(const evaluator *e, const ms_dns_answer *a, int cidr)
{
    for (size_t i = 0; i < a->count; i++) {
        unsigned char addr[16];
        const ms_dns_record *r = &a->records[i];
        if (r->text == NULL)
            continue;
        if (r->type == MS_DNS_A && !e->is_v6 && inet_pton(AF_INET, r->text, addr) == 1 &&
            in_network(e->ip, addr, cidr))
            return 1;
        if (r->type == MS_DNS_AAAA && e->is_v6 && inet_pton(AF_INET6, r->text, addr) == 1 &&
            in_network(e->ip, addr, cidr))
            return 1;
    }
    return 0;
}

static uint16_t addr_type(const evaluator *e)
{
    return e->is_v6 ? MS_DNS_AAAA : MS_DNS_A;
}

/* ---- PTR validation (ptr mechanism, %{p}) ---- */

static void reverse_name(const evaluator *e, ms_buf *b)
{
    if (!e->is_v6) {
        ms_buf_printf(b, "%u.%u.%u.%u.in-addr.arpa", e->ip[3], e->ip[2], e->ip[1], e->ip[0]);
        return;
    }
    static const char HEX[] = "0123456789abcdef";
    for (int i = 15; i >= 0; i--)
        ms_buf_printf(b, "%c.%c.", HEX[e->ip[i] & 15], HEX[e->ip[i] >> 4]);
    ms_buf_puts(b, "ip6.arpa");
}

/* Looks up the client's PTR names and keeps those whose addresses include
 * the client (RFC 7208 5.5), at most 10 names, all address lookups in
 * flight together. Returns 0 when the PTR lookup itself came back empty
 * (a void lookup). */
static int validate_ptr(evaluator *e, int *was_void)
{
    *was_void = 0;
    if (e->ptr_done)
        return 1;
    e->ptr_done = 1;
    ms_buf rev = MS_BUF_INIT;
    reverse_name(e, &rev);
    char *rname = ms_buf_take(&rev);
    if (rname == NULL) {
        e->st = MS_ERR_NOMEM;
        return 0;
    }
    ms_dns_answer *pa = lookup(e, rname, MS_DNS_PTR);
    free(rname);
    if (pa == NULL)
        return 0;
    if (is_void(pa))
        *was_void = 1;
    const char *names[MS_SPF_MAX_MX_PTR_NAMES];
    uint16_t types[MS_SPF_MAX_MX_PTR_NAMES];
    ms_dns_answer *answers[MS_SPF_MAX_MX_PTR_NAMES];
    size_t n = 0;
    for (size_t i = 0; i < pa->count && n < MS_SPF_MAX_MX_PTR_NAMES; i++)
        if (pa->records[i].text != NULL && pa->records[i].text[0] != '\0') {
            names[n] = pa->records[i].text;
            types[n++] = addr_type(e);
        }
    if (n > 0 && resolve(e, n, names, types, answers)) {
        for (size_t i = 0; i < n; i++) {
            if (answers[i]->rcode == MS_DNS_NOERROR && answer_matches(e, answers[i], e->is_v6 ? 128 : 32))
                e->ptr_names[e->ptr_count++] = ms_strdup(names[i]);
            ms_dns_answer_free(answers[i]);
        }
    }
    ms_dns_answer_free(pa);
    return 1;
}

static int name_within(const char *name, const char *domain)
{
    size_t nl = strlen(name), dl = strlen(domain);
    if (dl > 0 && domain[dl - 1] == '.')
        dl--;
    if (nl > 0 && name[nl - 1] == '.')
        nl--;
    if (nl == dl)
        return ms_ascii_strncasecmp(name, domain, nl) == 0;
    return nl > dl && name[nl - dl - 1] == '.' && ms_ascii_strncasecmp(name + nl - dl, domain, dl) == 0;
}

static const char *validated_name(void *arg, const char *domain)
{
    evaluator *e = arg;
    int was_void;
    validate_ptr(e, &was_void);
    for (size_t i = 0; i < e->ptr_count; i++)
        if (name_within(e->ptr_names[i], domain) && strlen(e->ptr_names[i]) == strlen(domain))
            return e->ptr_names[i];
    for (size_t i = 0; i < e->ptr_count; i++)
        if (name_within(e->ptr_names[i], domain))
            return e->ptr_names[i];
    return e->ptr_count > 0 ? e->ptr_names[0] : NULL;
}

/* ---- macros ---- */

static void macro_env(evaluator *e, const char *domain, spf_macro_env *env)
{
    memset(env, 0, sizeof *env);
    env->sender = e->sender;
    env->domain = domain;
    env->helo = e->helo;
    env->receiver = e->receiver;
    env->is_v6 = e->is_v6;
    memcpy(env->ip, e->ip, 16);
    env->now = e->now;
    env->validated_name = validated_name;
    env->arg = e;
}

/* The target of a term: its domain-spec expanded, or the current domain.
 * NULL with *bad 0 when the name cannot be queried (treated as a name
 * that does not exist), *bad 1 on a macro error; NULL with e->st set when
 * memory ran out. */
static char *target_of(evaluator *e, const ms_spf_term *t, const char *domain, int *bad)
{
    *bad = 0;
    char *name = NULL;
    if (t->domain_spec == NULL) {
        if ((name = ms_strdup(domain)) == NULL)
            e->st = MS_ERR_NOMEM;
        return name;
    }
    spf_macro_env env;
    macro_env(e, domain, &env);
    char *x = spf_macro_expand(t->domain_spec, &env, 0, bad);
    if (x == NULL) {
        if (!*bad)
            e->st = MS_ERR_NOMEM;
        return NULL;
    }
    ms_status st = spf_target_name(x, &name);
    free(x);
    if (st != MS_OK)
        e->st = st;
    return name;
}

/* ---- explanation (RFC 7208 6.2) ---- */

static void explain(evaluator *e, const ms_spf_record *rec, const char *domain)
{
    ms_spf_eval *ev = e->ev;
    spf_macro_env env;
    macro_env(e, domain, &env);
    int bad;
    free(ev->explanation);
    ev->explanation = NULL;
    ev->explanation_from_exp = 0;
    if (rec != NULL && rec->exp >= 0) {
        char *target = target_of(e, &rec->terms[rec->exp], domain, &bad);
        ms_dns_answer *a = target != NULL ? lookup(e, target, MS_DNS_TXT) : NULL;
        free(target);
        /* Exactly one TXT record, ASCII, valid macro syntax: else the default. */
        if (a != NULL && a->rcode == MS_DNS_NOERROR && a->count == 1 && a->records[0].text != NULL &&
            strlen(a->records[0].text) == a->records[0].text_len) {
            int ascii = 1;
            for (const char *p = a->records[0].text; *p; p++)
                if ((unsigned char)*p > 0x7e || (unsigned char)*p < 0x20)
                    ascii = 0;
            char *text = ascii ? spf_macro_expand(a->records[0].text, &env, 1, &bad) : NULL;
            if (text != NULL) {
                ev->explanation = text;
                ev->explanation_from_exp = 1;
            }
        }
        ms_dns_answer_free(a);
    }
    if (ev->explanation == NULL)
        ev->explanation = spf_macro_expand(MS_SPF_DEFAULT_EXPLANATION, &env, 1, &bad);
}

/* ---- mechanisms ---- */

static ms_spf_result check_host(evaluator *e, const char *domain, unsigned depth);

static enum match count_void(evaluator *e, const char *what)
{
    if (++e->ev->void_lookups > MS_SPF_MAX_VOID) {
        set_reason(e, "more than %d void lookups (the last: %s)", MS_SPF_MAX_VOID, what);
        return PERMERR;
    }
    return NOMATCH;
}

static enum match eval_a(evaluator *e, const char *target, int cidr)
{
    ms_dns_answer *a = lookup(e, target, addr_type(e));
    if (a == NULL)
        return TEMPERR;
    enum match m = NOMATCH;
    if (is_failure(a)) {
        set_reason(e, "%s %s: %s", e->is_v6 ? "AAAA" : "A", target, ms_dns_rcode_str(a->rcode));
        m = TEMPERR;
    } else if (is_void(a)) {
        m = count_void(e, target);
    } else if (answer_matches(e, a, cidr)) {
        m = MATCH;
    }
    ms_dns_answer_free(a);
    return m;
}

static enum match eval_mx(evaluator *e, const char *target, int cidr)
{
    ms_dns_answer *a = lookup(e, target, MS_DNS_MX);
    if (a == NULL)
        return TEMPERR;
    enum match m = NOMATCH;
    if (is_failure(a)) {
        set_reason(e, "MX %s: %s", target, ms_dns_rcode_str(a->rcode));
        m = TEMPERR;
    } else if (is_void(a)) {
        m = count_void(e, target);
    } else if (a->count > MS_SPF_MAX_MX_PTR_NAMES) {
        set_reason(e, "%s has %zu MX records, more than %d", target, a->count, MS_SPF_MAX_MX_PTR_NAMES);
        m = PERMERR;
    } else {
        const char *names[MS_SPF_MAX_MX_PTR_NAMES];
        uint16_t types[MS_SPF_MAX_MX_PTR_NAMES];
        ms_dns_answer *answers[MS_SPF_MAX_MX_PTR_NAMES];
        size_t n = 0;
        for (size_t i = 0; i < a->count; i++)
            if (a->records[i].text != NULL && a->records[i].text[0] != '\0') {
                names[n] = a->records[i].text;
                types[n++] = addr_type(e);
            }
        if (n > 0 && resolve(e, n, names, types, answers)) {
            for (size_t i = 0; i < n; i++) {
                if (m == NOMATCH && answers[i]->rcode == MS_DNS_NOERROR && answer_matches(e, answers[i], cidr))
                    m = MATCH;
                ms_dns_answer_free(answers[i]);
            }
        }
    }
    ms_dns_answer_free(a);
    return m;
}

static enum match eval_ptr(evaluator *e, const char *target)
{
    int was_void = 0;
    int fresh = !e->ptr_done;
    validate_ptr(e, &was_void);
    if (fresh && was_void && count_void(e, "PTR") == PERMERR)
        return PERMERR;
    for (size_t i = 0; i < e->ptr_count; i++)
        if (name_within(e->ptr_names[i], target))
            return MATCH;
    return NOMATCH;
}

static enum match eval_exists(evaluator *e, const char *target)
{
    ms_dns_answer *a = lookup(e, target, MS_DNS_A);
    if (a == NULL)
        return TEMPERR;
    enum match m = NOMATCH;
    if (is_failure(a)) {
        set_reason(e, "A %s: %s", target, ms_dns_rcode_str(a->rcode));
        m = TEMPERR;
    } else if (is_void(a)) {
        m = count_void(e, target);
    } else {
        m = MATCH;
    }
    ms_dns_answer_free(a);
    return m;
}

static enum match eval_include(evaluator *e, const char *target, unsigned depth)
{
    e->in_include++;
    ms_spf_result r = check_host(e, target, depth + 1);
    e->in_include--;
    switch (r) {
    case MS_SPF_PASS: return MATCH;
    case MS_SPF_FAIL:
    case MS_SPF_SOFTFAIL:
    case MS_SPF_NEUTRAL: return NOMATCH;
    case MS_SPF_TEMPERROR: return TEMPERR;
    case MS_SPF_NONE:
        set_reason(e, "include:%s has no SPF record", target);
        return PERMERR;
    default: return PERMERR;
    }
}

static int queries_dns(ms_spf_kind k)
{
    return k == MS_SPF_INCLUDE || k == MS_SPF_A || k == MS_SPF_MX || k == MS_SPF_PTR ||
           k == MS_SPF_EXISTS || k == MS_SPF_REDIRECT;
}

static enum match count_term(evaluator *e, const ms_spf_term *t)
{
    if (++e->ev->dns_terms > MS_SPF_MAX_DNS_TERMS) {
        set_reason(e, "more than %d DNS-querying terms (the 11th: %s)", MS_SPF_MAX_DNS_TERMS, t->text);
        return PERMERR;
    }
    return NOMATCH;
}

static enum match eval_term(evaluator *e, const ms_spf_term *t, const char *domain, unsigned depth)
{
    if (queries_dns(t->kind) && count_term(e, t) == PERMERR)
        return PERMERR;
    if (t->kind == MS_SPF_ALL)
        return MATCH;
    if (t->kind == MS_SPF_IP4)
        return !e->is_v6 && in_network(e->ip, t->addr, t->cidr4) ? MATCH : NOMATCH;
    if (t->kind == MS_SPF_IP6)
        return e->is_v6 && in_network(e->ip, t->addr, t->cidr6) ? MATCH : NOMATCH;
    int bad;
    char *target = target_of(e, t, domain, &bad);
    if (target == NULL) {
        if (e->st != MS_OK)
            return TEMPERR; /* out of memory: the evaluation says so */
        if (bad || t->kind == MS_SPF_INCLUDE) {
            set_reason(e, "%s: the target is not a domain name", t->text);
            return PERMERR;
        }
        return e->st == MS_OK ? NOMATCH : TEMPERR; /* a name that cannot exist */
    }
    int cidr = e->is_v6 ? t->cidr6 : t->cidr4;
    enum match m = NOMATCH;
    switch (t->kind) {
    case MS_SPF_INCLUDE: m = eval_include(e, target, depth); break;
    case MS_SPF_A: m = eval_a(e, target, cidr); break;
    case MS_SPF_MX: m = eval_mx(e, target, cidr); break;
    case MS_SPF_PTR: m = eval_ptr(e, target); break;
    case MS_SPF_EXISTS: m = eval_exists(e, target); break;
    default: break;
    }
    free(target);
    if (e->st != MS_OK)
        m = TEMPERR;
    return m;
}

static ms_spf_result qualifier_result(char q)
{
    switch (q) {
    case '-': return MS_SPF_FAIL;
    case '~': return MS_SPF_SOFTFAIL;
    case '?': return MS_SPF_NEUTRAL;
    default: return MS_SPF_PASS;
    }
}

/* ---- records ---- */

/* Fetches and parses <domain>'s record. Returns NONE/TEMPERROR/PERMERROR
 * when there is no usable one, else sets *out and returns NEUTRAL. */
static ms_spf_result fetch_record(evaluator *e, const char *domain, unsigned depth,
                                  ms_spf_record **out)
{
    *out = NULL;
    ms_dns_answer *a = lookup(e, domain, MS_DNS_TXT);
    if (a == NULL)
        return MS_SPF_TEMPERROR;
    ms_spf_result r = MS_SPF_NEUTRAL;
    const ms_dns_record *found = NULL;
    size_t n = 0;
    if (is_failure(a)) {
        set_reason(e, "TXT %s: %s", domain, ms_dns_rcode_str(a->rcode));
        add_step(e, depth, domain, NULL, "TXT lookup failed: %s", ms_dns_rcode_str(a->rcode));
        r = MS_SPF_TEMPERROR;
    } else {
        for (size_t i = 0; i < a->count; i++)
            if (a->records[i].text != NULL && ms_spf_is_record(a->records[i].text, a->records[i].text_len)) {
                found = &a->records[i];
                n++;
            }
        if (n == 0) {
            set_reason(e, "%s has no SPF record", domain);
            add_step(e, depth, domain, NULL, "no SPF record");
            r = MS_SPF_NONE;
        } else if (n > 1) {
            set_reason(e, "%s has %zu SPF records", domain, n);
            add_step(e, depth, domain, NULL, "%zu SPF records", n);
            r = MS_SPF_PERMERROR;
        }
    }
    if (found != NULL && n == 1) {
        ms_diag_list diags = MS_DIAG_LIST_INIT;
        ms_status st = ms_spf_parse(found->text, found->text_len, domain, out, &diags);
        if (st != MS_OK) {
            e->st = st == MS_ERR_LIMIT ? MS_OK : st;
            set_reason(e, "%s: record too long", domain);
            r = MS_SPF_PERMERROR;
        } else if (!(*out)->valid) {
            set_reason(e, "%s: %s (at byte %ld)", domain,
                       diags.count > 0 ? diags.items[0].message : "syntax error",
                       diags.count > 0 ? diags.items[0].offset : 0L);
            add_step(e, depth, domain, NULL, "invalid record: %s",
                     diags.count > 0 ? diags.items[0].message : "syntax error");
            ms_spf_record_free(*out);
            *out = NULL;
            r = MS_SPF_PERMERROR;
        }
        ms_diag_list_free(&diags);
    }
    ms_dns_answer_free(a);
    return r;
}

static ms_spf_result check_host(evaluator *e, const char *domain, unsigned depth)
{
    ms_spf_record *rec;
    ms_spf_result r = fetch_record(e, domain, depth, &rec);
    if (rec == NULL)
        return r;
    for (size_t i = 0; i < rec->count; i++) {
        const ms_spf_term *t = &rec->terms[i];
        if (t->kind >= MS_SPF_REDIRECT)
            continue;
        size_t mark = e->ev->path_count;
        if (t->kind == MS_SPF_INCLUDE)
            add_step(e, depth, domain, t->text, "evaluating");
        enum match m = eval_term(e, t, domain, depth);
        if (m == NOMATCH) {
            truncate_path(e, mark);
            continue;
        }
        if (m == MATCH) {
            r = qualifier_result(t->qualifier);
            if (t->kind == MS_SPF_INCLUDE) {
                char *note = ms_asprintf("matched (the include passed): %s", ms_spf_result_str(r));
                if (note != NULL) {
                    free(e->ev->path[mark].note);
                    e->ev->path[mark].note = note;
                }
            } else {
                add_step(e, depth, domain, t->text, "matched: %s", ms_spf_result_str(r));
            }
            if (r == MS_SPF_FAIL && e->in_include == 0)
                explain(e, rec, domain);
        } else {
            r = m == TEMPERR ? MS_SPF_TEMPERROR : MS_SPF_PERMERROR;
            if (t->kind == MS_SPF_INCLUDE && mark < e->ev->path_count) {
                char *note = ms_asprintf("%s (from the include)", ms_spf_result_str(r));
                if (note != NULL) {
                    free(e->ev->path[mark].note);
                    e->ev->path[mark].note = note;
                }
            } else {
                add_step(e, depth, domain, t->text, "%s", ms_spf_result_str(r));
            }
        }
        ms_spf_record_free(rec);
        return r;
    }
    if (rec->redirect >= 0) {
        const ms_spf_term *t = &rec->terms[rec->redirect];
        add_step(e, depth, domain, t->text, "no mechanism matched; redirect");
        int bad;
        char *target = NULL;
        if (count_term(e, t) == PERMERR) {
            r = MS_SPF_PERMERROR;
        } else if ((target = target_of(e, t, domain, &bad)) == NULL) {
            set_reason(e, "%s: the target is not a domain name", t->text);
            r = MS_SPF_PERMERROR;
        } else {
            r = check_host(e, target, depth + 1);
            if (r == MS_SPF_NONE) {
                set_reason(e, "redirect=%s: no SPF record", target);
                r = MS_SPF_PERMERROR;
            }
        }
        free(target);
        ms_spf_record_free(rec);
        return r;
    }
    add_step(e, depth, domain, NULL, "no mechanism matched: neutral");
    set_reason(e, "no mechanism matched and there is no redirect=: neutral");
    ms_spf_record_free(rec);
    return MS_SPF_NEUTRAL;
}

/* ---- the entry point ---- */

static int parse_ip(const char *text, evaluator *e)
{
    unsigned char a[16];
    if (inet_pton(AF_INET, text, a) == 1) {
        memcpy(e->ip, a, 4);
        return 1;
    }
    if (inet_pton(AF_INET6, text, a) != 1)
        return 0;
    static const unsigned char MAPPED[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (memcmp(a, MAPPED, 12) == 0) { /* RFC 7208 5: IPv4-mapped is IPv4 */
        memcpy(e->ip, a + 12, 4);
        return 1;
    }
    memcpy(e->ip, a, 16);
    e->is_v6 = 1;
    return 1;
}

/* RFC 7208 4.3: a malformed or single-label <domain> gives "none". */
static int domain_ok(const char *d)
{
    return ms_domain_check(d, strlen(d), MS_DOMAIN_FINAL_DOT | MS_DOMAIN_TWO_LABELS);
}

ms_status ms_spf_eval_host(ms_ctx *ctx, const ms_spf_request *req, ms_spf_eval **out)
{
    if (ctx == NULL || req == NULL || req->ip == NULL || out == NULL)
        return MS_ERR_INVALID;
    *out = NULL;
    evaluator e;
    memset(&e, 0, sizeof e);
    if (!parse_ip(req->ip, &e))
        return MS_ERR_INVALID;
    const char *sender = req->sender != NULL ? req->sender : "";
    const char *at = strrchr(sender, '@');
    char *full_sender;
    if (sender[0] == '\0') {
        if (req->helo == NULL || req->helo[0] == '\0')
            return MS_ERR_INVALID;
        full_sender = ms_asprintf("postmaster@%s", req->helo);
    } else if (at == NULL) {
        full_sender = ms_asprintf("postmaster@%s", sender);
    } else if (at == sender) {
        full_sender = ms_asprintf("postmaster%s", sender);
    } else {
        full_sender = ms_strdup(sender);
    }
    ms_spf_eval *ev = calloc(1, sizeof *ev);
    if (full_sender == NULL || ev == NULL) {
        free(full_sender);
        free(ev);
        return MS_ERR_NOMEM;
    }
    e.ctx = ctx;
    e.dns = req->dns != NULL ? *req->dns : (ms_spf_dns){ms_spf_dns_resolve, NULL};
    e.sender = full_sender;
    e.helo = req->helo;
    e.receiver = req->receiver;
    e.now = (long long)(req->now != 0 ? req->now : ms_ctx_now(ctx));
    e.ev = ev;
    ev->domain = ms_strdup(strrchr(full_sender, '@') + 1);
    if (ev->domain == NULL) {
        e.st = MS_ERR_NOMEM;
    } else if (!domain_ok(ev->domain)) {
        ev->result = MS_SPF_NONE;
        ev->reason = ms_strdup("the domain is not a valid multi-label domain name (RFC 7208 4.3)");
    } else {
        ev->result = check_host(&e, ev->domain, 0);
    }
    for (size_t i = 0; i < e.ptr_count; i++)
        free(e.ptr_names[i]);
    free(full_sender);
    if (e.st != MS_OK) {
        ms_spf_eval_free(ev);
        return e.st;
    }
    if (ev->result != MS_SPF_FAIL) {
        free(ev->explanation);
        ev->explanation = NULL;
    }
    *out = ev;
    return MS_OK;
}

void ms_spf_eval_free(ms_spf_eval *ev)
{
    if (ev == NULL)
        return;
    for (size_t i = 0; i < ev->path_count; i++) {
        free(ev->path[i].domain);
        free(ev->path[i].term);
        free(ev->path[i].note);
    }
    free(ev->path);
    free(ev->domain);
    free(ev->explanation);
    free(ev->reason);
    free(ev);
}
