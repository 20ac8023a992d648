/* The openspf RFC 7208 test suite (../shared/conformance/spf/
 * rfc7208-tests.yml) against ms_spf_eval_host().
 *
 * For each scenario (YAML document) the driver writes the zone data as one
 * root zone and serves it with a real NSD (spfbed.sh), so every lookup
 * goes over the wire through libunbound exactly as in production. The
 * suite's conventions (those of pyspf's driver) are followed:
 *  - an "SPF" entry is also published as TXT unless the name has TXT
 *    entries of its own ("TXT: NONE" means: no TXT at all);
 *  - "TIMEOUT" makes the queries for that name time out, except for the
 *    types listed before it. A server cannot be told to stay silent for
 *    one name, so this, and only this, is answered in process, through the
 *    ms_spf_dns hook;
 *  - "explanation: DEFAULT" means the implementation's own default text.
 * Each case is reported by name; the last line is "N passed, N failed".
 * Exit 77 (skipped) when the suite is not there. */
#include "mailsec/spf.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml.h>

#define SKIPPED 77

typedef struct timeout_name {
    char *name;
    char answered[8][8]; /* types listed before TIMEOUT */
    int nanswered;
} timeout_name;

typedef struct scenario {
    timeout_name timeouts[32];
    int ntimeouts;
} scenario;

static int passed, failed, skipped;

/* tests/spf/known-failures.txt: "scenario / case<TAB>reason" lines. */
static char known[64][512];
static int nknown;

static void load_known(const char *path)
{
    FILE *f = fopen(path, "r");
    char line[512];
    while (f != NULL && fgets(line, sizeof line, f) && nknown < 64) {
        line[strcspn(line, "\n")] = '\0';
        if (line[0] != '#' && line[0] != '\0')
            snprintf(known[nknown++], sizeof known[0], "%s", line);
    }
    if (f != NULL)
        fclose(f);
}

/* The reason a case is known to fail, or NULL. */
static const char *known_failure(const char *sname, const char *cname)
{
    char name[512];
    snprintf(name, sizeof name, "%s / %s\t", sname, cname);
    for (int i = 0; i < nknown; i++)
        if (strncmp(known[i], name, strlen(name)) == 0)
            return known[i] + strlen(name);
    return NULL;
}

/* ---- YAML helpers ---- */

static yaml_node_t *map_get(yaml_document_t *doc, yaml_node_t *map, const char *key)
{
    if (map == NULL || map->type != YAML_MAPPING_NODE)
        return NULL;
    for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top; p++) {
        yaml_node_t *k = yaml_document_get_node(doc, p->key);
        if (k->type == YAML_SCALAR_NODE && strcmp((char *)k->data.scalar.value, key) == 0)
            return yaml_document_get_node(doc, p->value);
    }
    return NULL;
}

static const char *scalar(yaml_node_t *n)
{
    return n != NULL && n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
}

/* ---- zone generation ---- */

/* A name or a character-string in zone-file form: bytes outside plain
 * ASCII letters/digits/punctuation as \DDD. */
static void put_escaped(FILE *f, const char *s, size_t len, int is_name)
{
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        int special = c <= ' ' || c >= 0x7f || c == '"' || c == '\\' || c == ';' ||
                      (is_name && (c == '(' || c == ')' || c == '$' || c == '@'));
        if (special)
            fprintf(f, "\\%03u", c);
        else
            fputc(c, f);
    }
}

static void put_name(FILE *f, const char *name)
{
    size_t len = strlen(name);
    put_escaped(f, name, len, 1);
    if (len == 0 || name[len - 1] != '.')
        fputc('.', f);
}

static void put_txt(FILE *f, yaml_document_t *doc, yaml_node_t *v)
{
    if (v->type == YAML_SCALAR_NODE) {
        fputc('"', f);
        put_escaped(f, (char *)v->data.scalar.value, v->data.scalar.length, 0);
        fputc('"', f);
        return;
    }
    int any = 0;
    for (yaml_node_item_t *it = v->data.sequence.items.start; it < v->data.sequence.items.top; it++) {
        yaml_node_t *s = yaml_document_get_node(doc, *it);
        fputs(" \"", f);
        put_escaped(f, (char *)s->data.scalar.value, s->data.scalar.length, 0);
        fputc('"', f);
        any = 1;
    }
    if (!any)
        fputs("\"\"", f); /* no strings at all cannot be written; "" is as empty */
}

static void write_entry(FILE *f, yaml_document_t *doc, const char *name, const char *type,
                        yaml_node_t *v)
{
    put_name(f, name);
    if (strcmp(type, "SPF") == 0 || strcmp(type, "TXT") == 0) {
        fprintf(f, " 300 IN %s ", type);
        put_txt(f, doc, v);
    } else if (strcmp(type, "MX") == 0) {
        yaml_node_t *pref = yaml_document_get_node(doc, v->data.sequence.items.start[0]);
        yaml_node_t *host = yaml_document_get_node(doc, v->data.sequence.items.start[1]);
        fprintf(f, " 300 IN MX %s ", scalar(pref));
        put_name(f, scalar(host));
    } else if (strcmp(type, "PTR") == 0 || strcmp(type, "CNAME") == 0) {
        fprintf(f, " 300 IN %s ", type);
        put_name(f, scalar(v));
    } else {
        fprintf(f, " 300 IN %s %s", type, scalar(v));
    }
    fputc('\n', f);
}

static int write_zone(const char *path, yaml_document_t *doc, yaml_node_t *zonedata, scenario *sc)
{
    FILE *f = fopen(path, "w");
    if (f == NULL)
        return 0;
    fputs("$TTL 300\n. IN SOA ns.spfbed. hostmaster.spfbed. 1 3600 600 86400 300\n"
          ". IN NS ns.spfbed.\nns.spfbed. IN A 127.0.0.1\n",
          f);
    for (yaml_node_pair_t *p = zonedata->data.mapping.pairs.start; p < zonedata->data.mapping.pairs.top; p++) {
        const char *name = scalar(yaml_document_get_node(doc, p->key));
        yaml_node_t *list = yaml_document_get_node(doc, p->value);
        int has_txt = 0;
        for (yaml_node_item_t *it = list->data.sequence.items.start; it < list->data.sequence.items.top; it++) {
            yaml_node_t *e = yaml_document_get_node(doc, *it);
            if (e->type == YAML_MAPPING_NODE && map_get(doc, e, "TXT") != NULL)
                has_txt = 1;
        }
        timeout_name *to = NULL;
        for (yaml_node_item_t *it = list->data.sequence.items.start; it < list->data.sequence.items.top; it++) {
            yaml_node_t *e = yaml_document_get_node(doc, *it);
            if (e->type == YAML_SCALAR_NODE && strcmp(scalar(e), "TIMEOUT") == 0) {
                if (sc->ntimeouts < 32) {
                    to = &sc->timeouts[sc->ntimeouts++];
                    to->name = strdup(name);
                    to->nanswered = 0;
                    /* The types listed before TIMEOUT are answered. */
                    for (yaml_node_item_t *b = list->data.sequence.items.start; b < it; b++) {
                        yaml_node_t *be = yaml_document_get_node(doc, *b);
                        yaml_node_pair_t *bp = be->data.mapping.pairs.start;
                        const char *t = scalar(yaml_document_get_node(doc, bp->key));
                        const char *v = scalar(yaml_document_get_node(doc, bp->value));
                        if (to->nanswered < 8 && !(v != NULL && strcmp(v, "NONE") == 0))
                            snprintf(to->answered[to->nanswered++], 8, "%s", t);
                        else if (to->nanswered < 8 && strcmp(t, "TXT") == 0)
                            snprintf(to->answered[to->nanswered++], 8, "%s", "NONE");
                    }
                }
                continue;
            }
            if (e->type != YAML_MAPPING_NODE)
                continue;
            yaml_node_pair_t *ep = e->data.mapping.pairs.start;
            const char *type = scalar(yaml_document_get_node(doc, ep->key));
            yaml_node_t *v = yaml_document_get_node(doc, ep->value);
            if (scalar(v) != NULL && strcmp(scalar(v), "NONE") == 0)
                continue;
            write_entry(f, doc, name, type, v);
            if (strcmp(type, "SPF") == 0 && !has_txt)
                write_entry(f, doc, name, "TXT", v);
        }
    }
    return fclose(f) == 0;
}

/* ---- the in-process part: TIMEOUT ---- */

static int name_eq(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la > 0 && a[la - 1] == '.')
        la--;
    if (lb > 0 && b[lb - 1] == '.')
        lb--;
    return la == lb && strncasecmp(a, b, la) == 0;
}

static const char *type_name(uint16_t t)
{
    switch (t) {
    case MS_DNS_A: return "A";
    case MS_DNS_AAAA: return "AAAA";
    case MS_DNS_MX: return "MX";
    case MS_DNS_PTR: return "PTR";
    case MS_DNS_TXT: return "TXT";
    case MS_DNS_CNAME: return "CNAME";
    default: return "?";
    }
}

static int times_out(const scenario *sc, const char *name, uint16_t type)
{
    for (int i = 0; i < sc->ntimeouts; i++) {
        if (!name_eq(sc->timeouts[i].name, name))
            continue;
        for (int j = 0; j < sc->timeouts[i].nanswered; j++)
            if (strcmp(sc->timeouts[i].answered[j], type_name(type)) == 0)
                return 0;
        return 1;
    }
    return 0;
}

static ms_status hook_resolve(void *arg, ms_ctx *ctx, size_t n, const char *const *names,
                              const uint16_t *types, ms_dns_answer **answers)
{
    const scenario *sc = arg;
    const char **real_names = calloc(n, sizeof *real_names);
    uint16_t *real_types = calloc(n, sizeof *real_types);
    ms_dns_answer **real = calloc(n, sizeof *real);
    size_t *where = calloc(n, sizeof *where);
    size_t m = 0;
    ms_status st = (real_names && real_types && real && where) ? MS_OK : MS_ERR_NOMEM;
    for (size_t i = 0; i < n && st == MS_OK; i++) {
        answers[i] = NULL;
        if (times_out(sc, names[i], types[i])) {
            ms_dns_answer *a = calloc(1, sizeof *a);
            if (a == NULL || (a->qname = strdup(names[i])) == NULL) {
                free(a);
                st = MS_ERR_NOMEM;
                break;
            }
            a->qtype = types[i];
            a->rcode = MS_DNS_TIMEOUT;
            answers[i] = a;
        } else {
            real_names[m] = names[i];
            real_types[m] = types[i];
            where[m++] = i;
        }
    }
    if (st == MS_OK && m > 0) {
        st = ms_spf_dns_resolve(NULL, ctx, m, real_names, real_types, real);
        for (size_t j = 0; j < m && st == MS_OK; j++)
            answers[where[j]] = real[j];
    }
    if (st != MS_OK)
        for (size_t i = 0; i < n; i++) {
            ms_dns_answer_free(answers[i]);
            answers[i] = NULL;
        }
    free(real_names);
    free(real_types);
    free(real);
    free(where);
    return st;
}

/* ---- running cases ---- */

static int result_matches(yaml_document_t *doc, yaml_node_t *expected, ms_spf_result got)
{
    if (expected->type == YAML_SCALAR_NODE)
        return strcmp(scalar(expected), ms_spf_result_str(got)) == 0;
    for (yaml_node_item_t *it = expected->data.sequence.items.start; it < expected->data.sequence.items.top; it++)
        if (strcmp(scalar(yaml_document_get_node(doc, *it)), ms_spf_result_str(got)) == 0)
            return 1;
    return 0;
}

static void run_case(ms_ctx *ctx, scenario *sc, const char *sname, const char *cname,
                     yaml_document_t *doc, yaml_node_t *t)
{
    ms_spf_dns hook = {hook_resolve, sc};
    ms_spf_request req = {0};
    req.ip = scalar(map_get(doc, t, "host"));
    req.sender = scalar(map_get(doc, t, "mailfrom"));
    req.helo = scalar(map_get(doc, t, "helo"));
    req.dns = &hook;
    yaml_node_t *expected = map_get(doc, t, "result");
    const char *want_exp = scalar(map_get(doc, t, "explanation"));
    ms_spf_eval *ev = NULL;
    ms_status st = ms_spf_eval_host(ctx, &req, &ev);
    char why[600] = "";
    if (st != MS_OK) {
        snprintf(why, sizeof why, "ms_spf_eval_host: %s", ms_status_str(st));
    } else if (!result_matches(doc, expected, ev->result)) {
        snprintf(why, sizeof why, "result %s, expected %s (%s)", ms_spf_result_str(ev->result),
                 scalar(expected) ? scalar(expected) : "one of a list", ev->reason ? ev->reason : "");
    } else if (want_exp != NULL && ev->result == MS_SPF_FAIL) {
        int ok = strcmp(want_exp, "DEFAULT") == 0
                     ? !ev->explanation_from_exp
                     : ev->explanation_from_exp && ev->explanation && strcmp(ev->explanation, want_exp) == 0;
        if (!ok)
            snprintf(why, sizeof why, "explanation \"%s\"%s, expected \"%s\"",
                     ev->explanation ? ev->explanation : "", ev->explanation_from_exp ? "" : " (default)", want_exp);
    }
    const char *known_reason = known_failure(sname, cname);
    if (why[0] == '\0' && known_reason != NULL) {
        printf("XPASS - %s / %s: passes now; remove it from known-failures.txt\n", sname, cname);
        failed++;
    } else if (why[0] == '\0') {
        printf("ok   - %s / %s\n", sname, cname);
        passed++;
    } else if (known_reason != NULL) {
        printf("xfail - %s / %s: %s [known: %s]\n", sname, cname, why, known_reason);
        skipped++;
    } else {
        printf("FAIL - %s / %s: %s\n", sname, cname, why);
        failed++;
    }
    ms_spf_eval_free(ev);
}

static int run_scenario(const char *bed, const char *workdir, yaml_document_t *doc, yaml_node_t *root)
{
    const char *sname = scalar(map_get(doc, root, "description"));
    yaml_node_t *tests = map_get(doc, root, "tests");
    yaml_node_t *zonedata = map_get(doc, root, "zonedata");
    if (sname == NULL || tests == NULL || zonedata == NULL)
        return 1;
    scenario sc;
    memset(&sc, 0, sizeof sc);
    char zone[4096], cmd[8192], anchor[4096];
    snprintf(zone, sizeof zone, "%s/root.zone", workdir);
    snprintf(anchor, sizeof anchor, "%s/empty-anchor", workdir);
    FILE *af = fopen(anchor, "w");
    if (af != NULL)
        fclose(af);
    if (!write_zone(zone, doc, zonedata, &sc)) {
        fprintf(stderr, "cannot write %s\n", zone);
        return 0;
    }
    snprintf(cmd, sizeof cmd, "bash '%s' start '%s' %ld", bed, workdir, (long)getpid());
    FILE *p = popen(cmd, "r");
    char port[32] = "";
    if (p == NULL || fgets(port, sizeof port, p) == NULL) {
        if (p != NULL)
            pclose(p);
        fprintf(stderr, "could not start NSD for \"%s\"\n", sname);
        return 0;
    }
    pclose(p);
    port[strcspn(port, "\n")] = '\0';
    char resolver[64];
    snprintf(resolver, sizeof resolver, "127.0.0.1@%s", port);
    ms_ctx *ctx = NULL;
    if (ms_ctx_new(&ctx) == MS_OK && ms_ctx_set_resolver(ctx, resolver) == MS_OK &&
        ms_ctx_set_trust_anchor_file(ctx, anchor) == MS_OK) {
        for (yaml_node_pair_t *pp = tests->data.mapping.pairs.start; pp < tests->data.mapping.pairs.top; pp++)
            run_case(ctx, &sc, sname, scalar(yaml_document_get_node(doc, pp->key)), doc,
                     yaml_document_get_node(doc, pp->value));
    }
    ms_ctx_free(ctx);
    snprintf(cmd, sizeof cmd, "bash '%s' stop '%s'", bed, workdir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not stop NSD in %s\n", workdir);
    for (int i = 0; i < sc.ntimeouts; i++)
        free(sc.timeouts[i].name);
    return 1;
}

int main(int argc, char **argv)
{
    if (argc != 3 && argc != 4) {
        fprintf(stderr, "usage: %s SUITE.yml SPFBED.sh [KNOWN-FAILURES.txt]\n", argv[0]);
        return 2;
    }
    if (argc == 4)
        load_known(argv[3]);
    const char *suite = argv[1];
    char from_env[4096];
    if (getenv("MAILSEC_CONFORMANCE_DIR") != NULL) {
        snprintf(from_env, sizeof from_env, "%s/spf/rfc7208-tests.yml", getenv("MAILSEC_CONFORMANCE_DIR"));
        suite = from_env;
    }
    FILE *f = fopen(suite, "rb");
    if (f == NULL) {
        printf("skipped: the SPF conformance suite is not at %s\n", suite);
        return SKIPPED;
    }
    char workdir[] = "/tmp/mailsec-spfsuite.XXXXXX";
    if (mkdtemp(workdir) == NULL) {
        fclose(f);
        return 2;
    }
    const char *only = getenv("SPF_SUITE_ONLY"); /* run one scenario by name, for debugging */
    yaml_parser_t parser;
    yaml_parser_initialize(&parser);
    yaml_parser_set_input_file(&parser, f);
    int ok = 1;
    for (;;) {
        yaml_document_t doc;
        if (!yaml_parser_load(&parser, &doc)) {
            fprintf(stderr, "YAML error: %s\n", parser.problem ? parser.problem : "?");
            ok = 0;
            break;
        }
        yaml_node_t *root = yaml_document_get_root_node(&doc);
        if (root == NULL) {
            yaml_document_delete(&doc);
            break;
        }
        const char *sname = scalar(map_get(&doc, root, "description"));
        if (only == NULL || (sname != NULL && strcmp(only, sname) == 0))
            ok &= run_scenario(argv[2], workdir, &doc, root);
        yaml_document_delete(&doc);
    }
    yaml_parser_delete(&parser);
    fclose(f);
    char cmd[256];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", workdir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", workdir);
    if (skipped > 0)
        printf("%d known failures (xfail): see known-failures.txt\n", skipped);
    printf("%d passed, %d failed, %d skipped\n", passed, failed, skipped);
    return ok && failed == 0 && passed > 0 ? 0 : 1;
}
