/* The DKIM-Signature header field (RFC 6376 3.5, RFC 8463): parse and check
 * the tags on their own, before any key or hash is involved. */
#include "internal.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

void ms_dkim_signature_free(ms_dkim_signature *sig)
{
    if (sig == NULL)
        return;
    free(sig->v), free(sig->a), free(sig->c), free(sig->d), free(sig->s);
    free(sig->i), free(sig->q), free(sig->z);
    for (size_t k = 0; k < sig->h_count; k++)
        free(sig->h[k]);
    free(sig->h);
    free(sig->b);
    free(sig->bh);
    free(sig);
}

typedef struct parse_state {
    ms_dkim_signature *sig;
    const char *text;
    const char *location;
    ms_diag_list *diags;
    dk_kind kind;      /* which field: DKIM-Signature or one of ARC's */
    unsigned instance; /* ARC i= */
    dk_arc_cv cv;      /* ARC-Seal cv= */
} parse_state;

static ms_status add(parse_state *ps, int code, const ms_tag *t, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static ms_status add(parse_state *ps, int code, const ms_tag *t, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    ms_status st = ms_diag_addv(ps->diags, DKD(code), ps->location, t ? (long)t->name_offset : -1, fmt, ap);
    va_end(ap);
    return st;
}

/* 1*76DIGIT; values too large for 64 bits saturate (they are all "never"
 * or "longer than any body"). */
static int parse_number(const ms_tag *t, uint64_t *out)
{
    if (t->value_len == 0 || t->value_len > 76)
        return -1;
    uint64_t v = 0;
    for (size_t i = 0; i < t->value_len; i++) {
        char c = t->value[i];
        if (c < '0' || c > '9')
            return -1;
        unsigned d = (unsigned)(c - '0');
        v = v > (UINT64_MAX - d) / 10 ? UINT64_MAX : v * 10 + d;
    }
    *out = v;
    return 0;
}

/* A domain name or selector as DKIM writes it: dot-separated labels of
 * letters, digits, "-" and "_" (selectors may use "_"), at most 253 bytes. */
static int valid_name(const char *s)
{
    return ms_domain_check(s, strlen(s), MS_DOMAIN_LDH | MS_DOMAIN_UNDERSCORE);
}

static ms_status split_h(parse_state *ps, const ms_tag *t)
{
    ms_dkim_signature *sig = ps->sig;
    size_t start = 0;
    int has_from = 0;
    for (size_t i = 0; i <= t->value_len; i++) {
        if (i < t->value_len && t->value[i] != ':')
            continue;
        const char *name = t->value + start;
        size_t len = i - start;
        start = i + 1;
        while (len && strchr(" \t\r\n", *name)) {
            name++;
            len--;
        }
        while (len && strchr(" \t\r\n", name[len - 1]))
            len--;
        if (len == 0)
            return add(ps, DK_SIG_SYNTAX, t, "%s", "h= has an empty header field name");
        if (sig->h_count == MS_DKIM_MAX_SIGNED_HEADERS)
            return add(ps, DK_SIG_SYNTAX, t, "h= names more than %d header fields", MS_DKIM_MAX_SIGNED_HEADERS);
        char **n = realloc(sig->h, (sig->h_count + 1) * sizeof *n);
        if (n == NULL)
            return MS_ERR_NOMEM;
        sig->h = n;
        if ((sig->h[sig->h_count] = malloc(len + 1)) == NULL)
            return MS_ERR_NOMEM;
        memcpy(sig->h[sig->h_count], name, len);
        sig->h[sig->h_count++][len] = '\0';
        if (ms_ascii_ieq(name, len, "from"))
            has_from = 1;
    }
    if (!has_from)
        return add(ps, DK_SIG_FROM_NOT_SIGNED, t, "h=%.*s does not include From", (int)(t->value_len > 200 ? 200 : t->value_len), t->value);
    return MS_OK;
}

static ms_status parse_canon(parse_state *ps, const ms_tag *t)
{
    ms_dkim_signature *sig = ps->sig;
    const char *slash = strchr(sig->c, '/');
    size_t hlen = slash ? (size_t)(slash - sig->c) : strlen(sig->c);
    const char *body = slash ? slash + 1 : "simple"; /* "c=relaxed" means relaxed/simple */
    int ok = 1;
    if (ms_ascii_ieq(sig->c, hlen, "relaxed"))
        sig->header_canon = MS_DKIM_CANON_RELAXED;
    else if (!ms_ascii_ieq(sig->c, hlen, "simple"))
        ok = 0;
    if (ms_ascii_ieq(body, strlen(body), "relaxed"))
        sig->body_canon = MS_DKIM_CANON_RELAXED;
    else if (!ms_ascii_ieq(body, strlen(body), "simple"))
        ok = 0;
    return ok ? MS_OK : add(ps, DK_SIG_CANON_UNKNOWN, t, "c=%s is not simple or relaxed", sig->c);
}

static ms_status parse_alg(parse_state *ps, const ms_tag *t)
{
    ms_dkim_signature *sig = ps->sig;
    if (strcmp(sig->a, "rsa-sha256") == 0)
        sig->alg = MS_DKIM_ALG_RSA_SHA256;
    else if (strcmp(sig->a, "ed25519-sha256") == 0)
        sig->alg = MS_DKIM_ALG_ED25519_SHA256;
    else if (strcmp(sig->a, "rsa-sha1") == 0) {
        sig->alg = MS_DKIM_ALG_RSA_SHA1;
        return add(ps, DK_SIG_RSA_SHA1, t, "a=%s is weak (RFC 8301)", sig->a);
    } else {
        sig->alg = MS_DKIM_ALG_UNKNOWN;
        return add(ps, DK_SIG_ALG_UNKNOWN, t, "a=%s is not a DKIM algorithm", sig->a);
    }
    return MS_OK;
}

static ms_status decode_b64(parse_state *ps, const ms_tag *t, unsigned char **out, size_t *len)
{
    int rc = dk_base64_decode(t->value, t->value_len, out, len);
    if (rc == -2)
        return MS_ERR_NOMEM;
    if (rc != 0 || *len == 0) {
        free(*out);
        *out = NULL;
        *len = 0;
        return ms_diag_add(ps->diags, DKD(DK_SIG_BASE64_INVALID), ps->location, (long)t->name_offset,
                           "%.*s= is not valid base64", (int)t->name_len, t->name);
    }
    return MS_OK;
}

static ms_status parse_number_tag(parse_state *ps, const ms_tag *t, int *has, uint64_t *v)
{
    if (parse_number(t, v) != 0)
        return ms_diag_add(ps->diags, DKD(DK_SIG_NUMBER_INVALID), ps->location, (long)t->name_offset,
                           "%.*s= is not a decimal number", (int)t->name_len, t->name);
    *has = 1;
    return MS_OK;
}

/* i= is DKIM-Quoted-Printable (RFC 6376 3.5): "i=jlong=40messiah.edu"
 * is jlong@messiah.edu. The decoded form is kept. */
static ms_status parse_identity(parse_state *ps, const ms_tag *t)
{
    int rc = dk_qp_decode(t->value, t->value_len, &ps->sig->i);
    if (rc == -2)
        return MS_ERR_NOMEM;
    if (rc != 0)
        return add(ps, DK_SIG_SYNTAX, t, "i=%.*s is not DKIM-Quoted-Printable",
                   (int)(t->value_len > 200 ? 200 : t->value_len), t->value);
    return MS_OK;
}

/* z= (RFC 6376 3.5): "|"-separated copies of header fields, each
 * DKIM-Quoted-Printable. Only for diagnosis, never used to verify, so a
 * copy that does not decode is said in the note, not held against the
 * signature (verifiers ignore z=). */
static ms_status check_copied_headers(parse_state *ps, const ms_tag *t)
{
    size_t copies = 0, bad = 0, start = 0;
    for (size_t i = 0; i <= t->value_len; i++) {
        if (i < t->value_len && t->value[i] != '|')
            continue;
        char *copy = NULL;
        int rc = dk_qp_decode(t->value + start, i - start, &copy);
        free(copy);
        if (rc == -2)
            return MS_ERR_NOMEM;
        copies++;
        bad += rc != 0 || i == start;
        start = i + 1;
    }
    if (bad > 0)
        return add(ps, DK_SIG_COPIED_HEADERS, t,
                   "z= copies %zu header fields; %zu of them are not DKIM-Quoted-Printable", copies, bad);
    return add(ps, DK_SIG_COPIED_HEADERS, t, "z= copies %zu signed header fields", copies);
}

/* ARC's i= (RFC 8617 4.2.1): the instance, 1 to 50. */
static ms_status parse_instance(parse_state *ps, const ms_tag *t)
{
    uint64_t n = 0;
    if (parse_number(t, &n) != 0 || n < 1 || n > MS_DKIM_ARC_MAX_INSTANCES)
        return add(ps, DK_SIG_SYNTAX, t, "i=%.*s is not an ARC instance (1 to %d)",
                   (int)(t->value_len > 20 ? 20 : t->value_len), t->value, MS_DKIM_ARC_MAX_INSTANCES);
    ps->instance = (unsigned)n;
    return MS_OK;
}

/* ARC-Seal cv= (RFC 8617 4.1.3): none, fail or pass. */
static ms_status parse_cv(parse_state *ps, const ms_tag *t)
{
    static const char *const WORDS[] = {"none", "pass", "fail"};
    for (int w = 0; w < 3; w++)
        if (ms_ascii_ieq(t->value, t->value_len, WORDS[w])) {
            ps->cv = (dk_arc_cv)w;
            return MS_OK;
        }
    return add(ps, DK_SIG_SYNTAX, t, "cv=%.*s is not none, pass or fail",
               (int)(t->value_len > 20 ? 20 : t->value_len), t->value);
}

/* The tags ARC gives another meaning, or adds. 1 when t was one of them. */
static int arc_tag(parse_state *ps, const ms_tag *t, ms_status *st)
{
    if (ps->kind == DK_DKIM)
        return 0;
    if (ms_tag_is(t, "i"))
        *st = parse_instance(ps, t);
    else if (ps->kind == DK_ARC_SEAL && ms_tag_is(t, "cv"))
        *st = parse_cv(ps, t);
    else if (ps->kind == DK_ARC_SEAL && ms_tag_is(t, "h"))
        *st = add(ps, DK_SIG_SYNTAX, t, "%s", "an ARC-Seal must not have h= (RFC 8617 4.1.3)");
    else
        return 0;
    return 1;
}

static int known_sig_tag(const ms_tag *t)
{
    static const char *const KNOWN[] = {"v", "a", "b", "bh", "c", "d", "h", "i",
                                        "l", "q", "s", "t", "x", "z"};
    for (size_t i = 0; i < sizeof KNOWN / sizeof KNOWN[0]; i++)
        if (ms_tag_is(t, KNOWN[i]))
            return 1;
    return 0;
}

static ms_status one_tag(parse_state *ps, const ms_tag *t)
{
    ms_dkim_signature *sig = ps->sig;
    ms_status arc_st = MS_OK;
    if (arc_tag(ps, t, &arc_st))
        return arc_st;
    char **slot = ms_tag_is(t, "v") ? &sig->v : ms_tag_is(t, "a") ? &sig->a
                : ms_tag_is(t, "c") ? &sig->c : ms_tag_is(t, "d") ? &sig->d
                : ms_tag_is(t, "s") ? &sig->s : ms_tag_is(t, "q") ? &sig->q
                : ms_tag_is(t, "z") ? &sig->z : NULL;
    if (slot && (*slot = dk_tag_strdup(t)) == NULL)
        return MS_ERR_NOMEM;
    if (ms_tag_is(t, "i"))
        return parse_identity(ps, t);
    if (ms_tag_is(t, "v"))
        return strcmp(sig->v, "1") == 0 ? MS_OK : add(ps, DK_SIG_VERSION, t, "v=%s, expected 1", sig->v);
    if (ms_tag_is(t, "a"))
        return parse_alg(ps, t);
    if (ms_tag_is(t, "c"))
        return parse_canon(ps, t);
    if (ms_tag_is(t, "d"))
        return valid_name(sig->d) ? MS_OK : add(ps, DK_SIG_DOMAIN_INVALID, t, "d=%s is not a domain name", sig->d);
    if (ms_tag_is(t, "s"))
        return valid_name(sig->s) ? MS_OK : add(ps, DK_SIG_DOMAIN_INVALID, t, "s=%s is not a selector", sig->s);
    if (ms_tag_is(t, "q")) {
        /* q= is a colon-separated list; dns/txt must be among the methods */
        return strstr(sig->q, "dns/txt") ? MS_OK
                                         : add(ps, DK_SIG_QUERY_UNKNOWN, t, "q=%s has no dns/txt", sig->q);
    }
    if (ms_tag_is(t, "z"))
        return check_copied_headers(ps, t);
    if (ms_tag_is(t, "h"))
        return split_h(ps, t);
    if (ms_tag_is(t, "b"))
        return decode_b64(ps, t, &sig->b, &sig->b_len);
    if (ms_tag_is(t, "bh"))
        return decode_b64(ps, t, &sig->bh, &sig->bh_len);
    if (ms_tag_is(t, "l")) {
        ms_status st = parse_number_tag(ps, t, &sig->has_l, &sig->l);
        if (st == MS_OK && sig->has_l)
            st = add(ps, DK_SIG_LENGTH, t, "%s", "l= signs only part of the body");
        return st;
    }
    if (ms_tag_is(t, "t"))
        return parse_number_tag(ps, t, &sig->has_t, &sig->t);
    if (ms_tag_is(t, "x"))
        return parse_number_tag(ps, t, &sig->has_x, &sig->x);
    if (!known_sig_tag(t))
        return ms_diag_add(ps->diags, DKD(DK_SIG_UNKNOWN_TAG), ps->location, (long)t->name_offset,
                           "unknown tag %.*s=", (int)t->name_len, t->name);
    return MS_OK;
}

/* Checks across tags: required ones, i= within d=, x= after t=. */
static ms_status cross_checks(parse_state *ps, const ms_taglist *tags)
{
    ms_dkim_signature *sig = ps->sig;
    static const char *const REQUIRED[][7] = {
        [DK_DKIM] = {"v", "a", "b", "bh", "d", "h", "s"},
        [DK_ARC_MESSAGE_SIGNATURE] = {"i", "a", "b", "bh", "d", "h", "s"},
        [DK_ARC_SEAL] = {"i", "a", "b", "d", "s", "cv", NULL},
    };
    for (size_t r = 0; r < 7 && REQUIRED[ps->kind][r]; r++) {
        int found = 0;
        for (size_t i = 0; i < tags->count; i++)
            found |= ms_tag_is(&tags->tags[i], REQUIRED[ps->kind][r]);
        if (!found) {
            ms_status st = add(ps, DK_SIG_TAG_MISSING, NULL, "%s= is missing", REQUIRED[ps->kind][r]);
            if (st != MS_OK)
                return st;
        }
    }
    if (sig->i && sig->d) {
        const char *at = strrchr(sig->i, '@');
        const char *idom = at ? at + 1 : NULL;
        size_t il = idom ? strlen(idom) : 0, dl = strlen(sig->d);
        int within = idom && il >= dl && ms_ascii_ieq(idom + il - dl, dl, sig->d) &&
                     (il == dl || idom[il - dl - 1] == '.');
        if (!within) {
            ms_status st = add(ps, DK_SIG_IDENTITY_MISMATCH, NULL,
                               "i=%s is not within d=", sig->i);
            if (st != MS_OK)
                return st;
        }
    }
    if (sig->has_t && sig->has_x && sig->x < sig->t)
        return add(ps, DK_SIG_X_BEFORE_T, NULL, "%s", "x= is earlier than t=");
    return MS_OK;
}

static ms_status parse_kind(parse_state *ps, const char *value, size_t len);

ms_status ms_dkim_signature_parse(const char *value, size_t len, const char *location,
                                  ms_dkim_signature **out, ms_diag_list *diags)
{
    parse_state ps = {NULL, value, location, diags, DK_DKIM, 0, DK_CV_MISSING};
    ms_status st = parse_kind(&ps, value, len);
    *out = ps.sig;
    return st;
}

ms_status dk_arc_signature_parse(dk_kind kind, const char *value, size_t len, const char *location,
                                 ms_dkim_signature **out, unsigned *instance, dk_arc_cv *cv,
                                 ms_diag_list *diags)
{
    parse_state ps = {NULL, value, location, diags, kind, 0, DK_CV_MISSING};
    ms_status st = parse_kind(&ps, value, len);
    *out = ps.sig;
    *instance = ps.instance;
    *cv = ps.cv;
    return st;
}

/* Parses into io->sig (left NULL on failure), io->instance and io->cv. */
static ms_status parse_kind(parse_state *io, const char *value, size_t len)
{
    const char *location = io->location;
    ms_diag_list *diags = io->diags;
    if (value == NULL && len > 0)
        return MS_ERR_INVALID;
    if (len > MS_DKIM_MAX_SIG_HEADER)
        return MS_ERR_LIMIT;
    ms_dkim_signature *sig = calloc(1, sizeof *sig);
    if (sig == NULL)
        return MS_ERR_NOMEM;
    sig->alg = MS_DKIM_ALG_UNKNOWN;
    parse_state ps = *io;
    ps.sig = sig;
    size_t before = diags->count;
    ms_taglist tags;
    ms_status st = dk_tags_parse(value, len, location, DK_SIG_SYNTAX, DK_SIG_DUPLICATE_TAG, &tags,
                                 diags);
    for (size_t i = 0; st == MS_OK && i < tags.count; i++)
        st = one_tag(&ps, &tags.tags[i]);
    if (st == MS_OK)
        st = cross_checks(&ps, &tags);
    if (st != MS_OK) {
        ms_dkim_signature_free(sig);
        return st;
    }
    int errors = 0;
    for (size_t k = before; k < diags->count; k++)
        errors |= diags->items[k].def->severity == MS_SEV_ERROR;
    sig->usable = !errors && sig->alg != MS_DKIM_ALG_UNKNOWN;
    *io = ps;
    return MS_OK;
}
