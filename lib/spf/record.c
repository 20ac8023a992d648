/* The SPF record parser (RFC 7208 sections 4.6, 5, 6, 12): terms with
 * their byte offsets, and a finding at the offset of every syntax error.
 * check_host() needs the whole record valid before it evaluates anything
 * (4.6: "syntax errors anywhere in the record"), so the parser reports all
 * of them and marks the record invalid. */
#include "internal.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const KIND_NAMES[] = {"all", "include", "a", "mx", "ptr", "ip4",
                                         "ip6", "exists", "redirect", "exp", "modifier"};

const char *ms_spf_kind_str(ms_spf_kind k)
{
    return (unsigned)k < sizeof KIND_NAMES / sizeof KIND_NAMES[0] ? KIND_NAMES[k] : "?";
}

const char *ms_spf_result_str(ms_spf_result r)
{
    static const char *const NAMES[] = {"none",     "neutral",   "pass",     "fail",
                                        "softfail", "temperror", "permerror"};
    return (unsigned)r < sizeof NAMES / sizeof NAMES[0] ? NAMES[r] : "?";
}

int ms_spf_is_record(const char *text, size_t len)
{
    return text != NULL && len >= 6 && ms_ascii_strncasecmp(text, "v=spf1", 6) == 0 &&
           (len == 6 || text[6] == ' ');
}

typedef struct parser {
    const char *text;
    const char *location;
    ms_spf_record *rec;
    ms_diag_list *diags;
    ms_status st;
} parser;

/* Every message has one "%.*s" slot for the text it is about (cut at 80
 * octets); built by hand so the templates need no format checking. */
static void report(parser *p, enum spf_diag_id id, long offset, const char *tmpl, const char *a,
                   size_t alen)
{
    p->rec->valid = 0;
    if (p->diags == NULL || p->st != MS_OK)
        return;
    const char *slot = strstr(tmpl, "%.*s");
    ms_buf b = MS_BUF_INIT;
    if (slot == NULL) {
        ms_buf_puts(&b, tmpl);
    } else {
        ms_buf_append(&b, tmpl, (size_t)(slot - tmpl));
        ms_buf_append(&b, a, alen > 80 ? 80 : alen);
        ms_buf_puts(&b, slot + 4);
    }
    char *msg = ms_buf_take(&b);
    if (msg == NULL || ms_diag_add(p->diags, SPF_DEF(id), p->location, offset, "%s", msg) != MS_OK)
        p->st = MS_ERR_NOMEM;
    free(msg);
}

static char *dup_n(const char *s, size_t n)
{
    char *out = malloc(n + 1);
    if (out != NULL) {
        memcpy(out, s, n);
        out[n] = '\0';
    }
    return out;
}

/* "/N": digits without a leading zero, at most max. */
static int cidr_ok(const char *s, size_t len, int max, int *out)
{
    if (len == 0 || len > 3 || (len > 1 && s[0] == '0'))
        return 0;
    int v = 0;
    for (size_t i = 0; i < len; i++) {
        if (!isdigit((unsigned char)s[i]))
            return 0;
        v = v * 10 + (s[i] - '0');
    }
    if (v > max)
        return 0;
    *out = v;
    return 1;
}

/* qnum "." qnum "." qnum "." qnum, no leading zeros. */
static int ip4_ok(const char *s, size_t len, unsigned char *addr)
{
    size_t i = 0;
    for (int part = 0; part < 4; part++) {
        size_t start = i;
        int v = 0;
        while (i < len && isdigit((unsigned char)s[i]) && i - start < 3)
            v = v * 10 + (s[i++] - '0');
        if (i == start || v > 255 || (i - start > 1 && s[start] == '0'))
            return 0;
        addr[part] = (unsigned char)v;
        if (part < 3) {
            if (i >= len || s[i] != '.')
                return 0;
            i++;
        }
    }
    return i == len;
}

static int ip6_ok(const char *s, size_t len, unsigned char *addr)
{
    char buf[64];
    if (len == 0 || len >= sizeof buf)
        return 0;
    memcpy(buf, s, len);
    buf[len] = '\0';
    return inet_pton(AF_INET6, buf, addr) == 1;
}

/* Checks a domain-spec; reports and returns 0 when invalid. */
static int domain_spec_ok(parser *p, const char *s, size_t len, long offset, ms_spf_term *t)
{
    if (len == 0) {
        report(p, SPF_D_BAD_DOMAIN_SPEC, offset, "empty domain after \"%.*s\"", t->text,
               strlen(t->text));
        return 0;
    }
    long bad = spf_macro_check(s, len, 0);
    if (bad >= 0) {
        int exp_only = 0;
        if (s[bad] == '%' && (size_t)bad + 2 < len && s[bad + 1] == '{') {
            int c = tolower((unsigned char)s[bad + 2]);
            exp_only = c == 'c' || c == 'r' || c == 't';
        }
        report(p, exp_only ? SPF_D_MACRO_EXP_ONLY : SPF_D_MACRO, offset + bad,
               exp_only ? "macro in \"%.*s\" is only allowed in explanations"
                        : "bad macro in \"%.*s\"",
               s, len);
        return 0;
    }
    if (!spf_domain_end_ok(s, len)) {
        report(p, SPF_D_BAD_DOMAIN_SPEC, offset,
               "\"%.*s\" does not end in a top-level label or a macro", s, len);
        return 0;
    }
    t->has_macro = memchr(s, '%', len) != NULL;
    t->domain_spec = dup_n(s, len);
    if (t->domain_spec == NULL)
        p->st = MS_ERR_NOMEM;
    return 1;
}

/* Splits "/N", "//M" or "/N//M" from the end of arg; returns the length
 * left for the domain-spec, or (size_t)-1 after reporting a bad length. */
static size_t split_dual_cidr(parser *p, const char *arg, size_t len, long offset, ms_spf_term *t)
{
    const char *slash = NULL;
    for (size_t i = len; i-- > 0;)
        if (arg[i] == '/') {
            slash = arg + i;
            break;
        }
    if (slash == NULL)
        return len;
    size_t cut = (size_t)(slash - arg);
    const char *digits = slash + 1;
    size_t dlen = len - cut - 1;
    /* "a:example.com/path.example.net": a "/" followed by more than
     * digits belongs to the domain-spec (macro-literal allows it). */
    for (size_t i = 0; i < dlen; i++)
        if (!isdigit((unsigned char)digits[i]))
            return len;
    if (cut > 0 && arg[cut - 1] == '/') {
        if (!cidr_ok(digits, dlen, 128, &t->cidr6)) {
            report(p, SPF_D_BAD_CIDR, offset + (long)cut, "bad IPv6 prefix length \"/%.*s\"", digits, dlen);
            return (size_t)-1;
        }
        len = cut - 1;
        const char *s4 = NULL;
        for (size_t i = len; i-- > 0;)
            if (arg[i] == '/') {
                s4 = arg + i;
                break;
            }
        if (s4 == NULL)
            return len;
        size_t c4 = (size_t)(s4 - arg);
        if (!cidr_ok(s4 + 1, len - c4 - 1, 32, &t->cidr4)) {
            report(p, SPF_D_BAD_CIDR, offset + (long)c4, "bad IPv4 prefix length \"/%.*s\"", s4 + 1,
                   len - c4 - 1);
            return (size_t)-1;
        }
        return c4;
    }
    if (!cidr_ok(digits, dlen, 32, &t->cidr4)) {
        report(p, SPF_D_BAD_CIDR, offset + (long)cut, "bad IPv4 prefix length \"/%.*s\"", digits, dlen);
        return (size_t)-1;
    }
    return cut;
}

static int mechanism_kind(const char *name, size_t len, ms_spf_kind *kind)
{
    for (int k = MS_SPF_ALL; k <= MS_SPF_EXISTS; k++)
        if (strlen(KIND_NAMES[k]) == len && ms_ascii_strncasecmp(name, KIND_NAMES[k], len) == 0) {
            *kind = (ms_spf_kind)k;
            return 1;
        }
    return 0;
}

static void parse_ip(parser *p, ms_spf_term *t, const char *arg, size_t len, long offset)
{
    int v6 = t->kind == MS_SPF_IP6;
    const char *slash = memchr(arg, '/', len);
    size_t alen = slash != NULL ? (size_t)(slash - arg) : len;
    if (slash != NULL && !cidr_ok(slash + 1, len - alen - 1, v6 ? 128 : 32, v6 ? &t->cidr6 : &t->cidr4)) {
        report(p, SPF_D_BAD_CIDR, offset + (long)alen, "bad prefix length \"%.*s\"", slash, len - alen);
        return;
    }
    if (!(v6 ? ip6_ok(arg, alen, t->addr) : ip4_ok(arg, alen, t->addr)))
        report(p, SPF_D_BAD_IP, offset, v6 ? "\"%.*s\" is not an IPv6 address" : "\"%.*s\" is not an IPv4 address",
               arg, alen);
}

static void parse_mechanism(parser *p, ms_spf_term *t, const char *s, size_t len, long offset)
{
    size_t i = 0;
    if (len > 0 && strchr("+-~?", s[0]) != NULL)
        t->qualifier = s[i++];
    size_t name_start = i;
    while (i < len && s[i] != ':' && s[i] != '/')
        i++;
    if (!mechanism_kind(s + name_start, i - name_start, &t->kind)) {
        report(p, SPF_D_UNKNOWN_MECH, offset + (long)name_start, "unknown mechanism \"%.*s\"",
               s + name_start, i - name_start);
        return;
    }
    const char *rest = s + i;
    size_t rlen = len - i;
    long roff = offset + (long)i;
    int colon = rlen > 0 && rest[0] == ':';
    switch (t->kind) {
    case MS_SPF_ALL:
        if (rlen > 0)
            report(p, SPF_D_SYNTAX, roff, "all takes no argument: \"%.*s\"", rest, rlen);
        return;
    case MS_SPF_INCLUDE:
    case MS_SPF_EXISTS:
    case MS_SPF_PTR:
        if (rlen == 0 && t->kind == MS_SPF_PTR)
            return;
        if (!colon) {
            report(p, SPF_D_SYNTAX, roff, "%.*s needs \":domain\"", s + name_start, i - name_start);
            return;
        }
        domain_spec_ok(p, rest + 1, rlen - 1, roff + 1, t);
        return;
    case MS_SPF_A:
    case MS_SPF_MX: {
        size_t start = colon ? 1 : 0;
        size_t dlen = split_dual_cidr(p, rest + start, rlen - start, roff + (long)start, t);
        if (dlen == (size_t)-1)
            return;
        if (colon)
            domain_spec_ok(p, rest + 1, dlen, roff + 1, t);
        else if (dlen != 0)
            report(p, SPF_D_SYNTAX, roff, "unexpected \"%.*s\"", rest, rlen);
        return;
    }
    case MS_SPF_IP4:
    case MS_SPF_IP6:
        if (!colon) {
            report(p, SPF_D_SYNTAX, roff, "%.*s needs \":address\"", s + name_start, i - name_start);
            return;
        }
        parse_ip(p, t, rest + 1, rlen - 1, roff + 1);
        return;
    default:
        return;
    }
}

static void parse_modifier(parser *p, ms_spf_term *t, const char *s, size_t name_len, size_t len,
                           long offset)
{
    const char *value = s + name_len + 1;
    size_t vlen = len - name_len - 1;
    long voff = offset + (long)name_len + 1;
    if (name_len == 8 && ms_ascii_strncasecmp(s, "redirect", 8) == 0)
        t->kind = MS_SPF_REDIRECT;
    else if (name_len == 3 && ms_ascii_strncasecmp(s, "exp", 3) == 0)
        t->kind = MS_SPF_EXP;
    else
        t->kind = MS_SPF_UNKNOWN_MODIFIER;
    if (t->kind == MS_SPF_UNKNOWN_MODIFIER) {
        t->name = dup_n(s, name_len);
        if (t->name == NULL)
            p->st = MS_ERR_NOMEM;
        long bad = spf_macro_check(value, vlen, 1);
        if (bad >= 0)
            report(p, SPF_D_BAD_MODIFIER, voff + bad, "bad value in modifier \"%.*s\"", s, len);
        return;
    }
    long *slot = t->kind == MS_SPF_REDIRECT ? &p->rec->redirect : &p->rec->exp;
    if (*slot >= 0) {
        report(p, SPF_D_DUP_MODIFIER, offset, "\"%.*s=\" appears more than once", s, name_len);
        return;
    }
    *slot = (long)p->rec->count - 1; /* this term, already counted */
    domain_spec_ok(p, value, vlen, voff, t);
}

/* name = ALPHA *( ALPHA / DIGIT / "-" / "_" / "." ), then "=". */
static size_t modifier_name_len(const char *s, size_t len)
{
    if (len == 0 || !isalpha((unsigned char)s[0]))
        return 0;
    size_t i = 1;
    while (i < len && (isalnum((unsigned char)s[i]) || s[i] == '-' || s[i] == '_' || s[i] == '.'))
        i++;
    return i < len && s[i] == '=' ? i : 0;
}

static int parse_term(parser *p, const char *s, size_t len, long offset)
{
    ms_spf_record *rec = p->rec;
    ms_spf_term *grown = realloc(rec->terms, (rec->count + 1) * sizeof *grown);
    if (grown == NULL)
        return 0;
    rec->terms = grown;
    ms_spf_term *t = &rec->terms[rec->count];
    memset(t, 0, sizeof *t);
    t->qualifier = '+';
    t->cidr4 = 32;
    t->cidr6 = 128;
    t->offset = offset;
    t->text = dup_n(s, len);
    if (t->text == NULL)
        return 0;
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)s[i] < 0x21 || (unsigned char)s[i] > 0x7e) {
            rec->valid = 0;
            if (p->diags != NULL &&
                ms_diag_add(p->diags, SPF_DEF(SPF_D_BAD_CHAR), p->location, offset + (long)i,
                            "byte 0x%02X is not allowed in SPF", (unsigned char)s[i]) != MS_OK)
                p->st = MS_ERR_NOMEM;
            t->kind = MS_SPF_UNKNOWN_MODIFIER;
            rec->count++;
            return p->st == MS_OK;
        }
    size_t nlen = modifier_name_len(s, len);
    rec->count++;
    if (nlen > 0)
        parse_modifier(p, t, s, nlen, len, offset);
    else
        parse_mechanism(p, t, s, len, offset);
    return p->st == MS_OK;
}

ms_status ms_spf_parse(const char *text, size_t len, const char *location, ms_spf_record **out,
                       ms_diag_list *diags)
{
    if (out == NULL || (text == NULL && len > 0))
        return MS_ERR_INVALID;
    *out = NULL;
    if (len > MS_SPF_MAX_RECORD_TEXT)
        return MS_ERR_LIMIT;
    ms_spf_record *rec = calloc(1, sizeof *rec);
    if (rec == NULL)
        return MS_ERR_NOMEM;
    rec->valid = 1;
    rec->redirect = rec->exp = -1;
    parser p = {text, location, rec, diags, MS_OK};
    if (!ms_spf_is_record(text, len)) {
        report(&p, SPF_D_SYNTAX, 0, "%.*s", "the record does not start with \"v=spf1\"", 40);
        *out = rec;
        return p.st;
    }
    size_t i = 6;
    while (i < len && p.st == MS_OK) {
        while (i < len && text[i] == ' ')
            i++;
        size_t start = i;
        while (i < len && text[i] != ' ')
            i++;
        if (i > start && !parse_term(&p, text + start, i - start, (long)start))
            p.st = p.st != MS_OK ? p.st : MS_ERR_NOMEM;
    }
    if (p.st != MS_OK) {
        ms_spf_record_free(rec);
        return p.st;
    }
    *out = rec;
    return MS_OK;
}

void ms_spf_record_free(ms_spf_record *rec)
{
    if (rec == NULL)
        return;
    for (size_t i = 0; i < rec->count; i++) {
        free(rec->terms[i].text);
        free(rec->terms[i].domain_spec);
        free(rec->terms[i].name);
    }
    free(rec->terms);
    free(rec);
}
