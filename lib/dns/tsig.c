/* TSIG keys (RFC 8945) for dynamic updates: the one-line form
 * "name:algorithm:secret" (or knsupdate's "algorithm:name:secret") and a
 * BIND key file (key "name" { algorithm hmac-sha256; secret "..."; };).
 * The text is a user's file and may be anything: sizes are bounded,
 * everything is checked, and the first problem is reported with its line. */
#include "dns_internal.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The HMAC algorithms ldns signs and verifies with (its names end with a
 * dot); hmac-sha224 and hmac-sha384 are left out: ldns 1.8 cannot verify
 * them. */
static const struct {
    const char *name;
    const char *wire_name;
} ALGORITHMS[] = {
    {"hmac-sha256", "hmac-sha256."},
    {"hmac-sha512", "hmac-sha512."},
    {"hmac-sha1", "hmac-sha1."},
    {"hmac-md5", "hmac-md5.sig-alg.reg.int."},
};

const char *ms_dns_tsig_algorithm_wire_name(const char *algorithm)
{
    for (size_t i = 0; i < sizeof ALGORITHMS / sizeof ALGORITHMS[0]; i++)
        if (ms_ascii_strcasecmp(algorithm, ALGORITHMS[i].name) == 0 ||
            ms_ascii_strcasecmp(algorithm, ALGORITHMS[i].wire_name) == 0)
            return ALGORITHMS[i].wire_name;
    return NULL;
}

void ms_dns_tsig_key_clear(ms_dns_tsig_key *key)
{
    if (key == NULL)
        return;
    free(key->name);
    free(key->algorithm);
    if (key->secret != NULL) {
        /* The secret does not outlive its use in freed memory. */
        volatile char *p = key->secret;
        while (*p != '\0')
            *p++ = '\0';
        free(key->secret);
    }
    key->name = key->algorithm = key->secret = NULL;
}

/* ---- the parts, checked the same in both forms ---- */

typedef struct key_parser {
    const char *text, *end;
    const char *pos;
    unsigned line;
    char *error; /* the first problem */
} key_parser;

/* Keeps the first problem, with its line; returns 0. */
static int fail(key_parser *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(key_parser *p, const char *fmt, ...)
{
    if (p->error == NULL) {
        va_list ap;
        va_start(ap, fmt);
        char *why = ms_vasprintf(fmt, ap);
        va_end(ap);
        p->error = why != NULL ? ms_asprintf("line %u: %s", p->line, why) : NULL;
        free(why);
    }
    return 0;
}

int ms_dns_plain_name(const char *s, size_t len)
{
    return ms_domain_check(s, len, MS_DOMAIN_LDH | MS_DOMAIN_UNDERSCORE | MS_DOMAIN_FINAL_DOT);
}

static int is_b64(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' ||
           c == '/';
}

/* Base64 (RFC 4648, padded), not empty, at most MS_DNS_TSIG_MAX_SECRET. */
static int secret_ok(const char *s, size_t len)
{
    if (len == 0 || len > MS_DNS_TSIG_MAX_SECRET || len % 4 != 0)
        return 0;
    size_t pad = 0;
    if (s[len - 1] == '=')
        pad = s[len - 2] == '=' ? 2 : 1;
    for (size_t i = 0; i < len - pad; i++)
        if (!is_b64(s[i]))
            return 0;
    return 1;
}

static int set_part(char **dst, const char *s, size_t len)
{
    *dst = malloc(len + 1);
    if (*dst == NULL)
        return 0;
    memcpy(*dst, s, len);
    (*dst)[len] = '\0';
    return 1;
}

static int algorithm_known(const char *s, size_t len)
{
    char name[32];
    if (len >= sizeof name)
        return 0;
    memcpy(name, s, len);
    name[len] = '\0';
    return ms_dns_tsig_algorithm_wire_name(name) != NULL;
}

/* One part of a key as written, with the line it is on. */
typedef struct key_part {
    const char *s;
    size_t len;
    unsigned line;
} key_part;

/* Checks the three parts and copies them into key; a problem is reported
 * at the part's line. */
static ms_status take_parts(key_parser *p, ms_dns_tsig_key *key, key_part n, key_part a, key_part s)
{
    const char *name = n.s, *alg = a.s, *secret = s.s;
    size_t name_len = n.len, alg_len = a.len, secret_len = s.len;
    p->line = n.line;
    if (!ms_dns_plain_name(name, name_len)) {
        fail(p, "\"%.*s\" is not a key name (a domain name: letters, digits, '-', '_')",
             (int)(name_len > 64 ? 64 : name_len), name);
        return MS_ERR_INVALID;
    }
    p->line = a.line;
    if (!algorithm_known(alg, alg_len)) {
        fail(p,
             "unsupported algorithm \"%.*s\" (hmac-sha256, hmac-sha512, hmac-sha1 or hmac-md5)",
             (int)(alg_len > 32 ? 32 : alg_len), alg);
        return MS_ERR_INVALID;
    }
    p->line = s.line;
    if (!secret_ok(secret, secret_len)) {
        fail(p, "the secret is not base64 (padded, at most %d characters)", MS_DNS_TSIG_MAX_SECRET);
        return MS_ERR_INVALID;
    }
    if (name_len > 0 && name[name_len - 1] == '.')
        name_len--;
    if (!set_part(&key->name, name, name_len) || !set_part(&key->algorithm, alg, alg_len) ||
        !set_part(&key->secret, secret, secret_len)) {
        ms_dns_tsig_key_clear(key);
        return MS_ERR_NOMEM;
    }
    return MS_OK;
}

/* ---- name:algorithm:secret ---- */

static ms_status parse_line(key_parser *p, ms_dns_tsig_key *key)
{
    const char *end = p->end;
    while (end > p->text && (end[-1] == '\n' || end[-1] == '\r' || end[-1] == ' ' || end[-1] == '\t'))
        end--;
    const char *parts[3];
    size_t lens[3];
    const char *s = p->text;
    while (s < end && (*s == ' ' || *s == '\t'))
        s++;
    for (int i = 0; i < 3; i++) {
        const char *colon = i < 2 ? memchr(s, ':', (size_t)(end - s)) : end;
        if (colon == NULL) {
            fail(p, "expected name:algorithm:secret or a BIND key statement");
            return MS_ERR_INVALID;
        }
        parts[i] = s;
        lens[i] = (size_t)(colon - s);
        s = colon + 1;
    }
    if (memchr(parts[2], '\n', lens[2]) != NULL) {
        fail(p, "the name:algorithm:secret form is one line");
        return MS_ERR_INVALID;
    }
    /* knsupdate -y writes the algorithm first. */
    key_part first = {parts[0], lens[0], 1}, second = {parts[1], lens[1], 1},
             third = {parts[2], lens[2], 1};
    if (algorithm_known(parts[0], lens[0]))
        return take_parts(p, key, second, first, third);
    return take_parts(p, key, first, second, third);
}

/* ---- the BIND key statement ---- */

typedef enum { TOK_END, TOK_WORD, TOK_STRING, TOK_PUNCT, TOK_BAD } tok_kind;

typedef struct token {
    tok_kind kind;
    const char *s;
    size_t len;
    unsigned line;
} token;

/* Skips white space and comments (#, //, slash-star); 0 on an unterminated
 * comment. */
static int skip_blank(key_parser *p)
{
    while (p->pos < p->end) {
        char c = *p->pos;
        size_t left = (size_t)(p->end - p->pos);
        if (c == '\n') {
            p->line++;
            p->pos++;
        } else if (c == ' ' || c == '\t' || c == '\r') {
            p->pos++;
        } else if (c == '#' || (c == '/' && left > 1 && p->pos[1] == '/')) {
            while (p->pos < p->end && *p->pos != '\n')
                p->pos++;
        } else if (c == '/' && left > 1 && p->pos[1] == '*') {
            const char *close = NULL;
            for (const char *q = p->pos + 2; q + 1 < p->end; q++)
                if (q[0] == '*' && q[1] == '/') {
                    close = q;
                    break;
                }
            if (close == NULL)
                return fail(p, "a comment is not closed");
            for (const char *q = p->pos; q < close; q++)
                p->line += *q == '\n';
            p->pos = close + 2;
        } else {
            break;
        }
    }
    return 1;
}

static int is_word_char(char c)
{
    return c > ' ' && c < 0x7f && c != '{' && c != '}' && c != ';' && c != '"';
}

static token next_token(key_parser *p)
{
    token t = {TOK_BAD, p->pos, 0, p->line};
    if (!skip_blank(p))
        return t;
    t.s = p->pos;
    t.line = p->line;
    if (p->pos == p->end) {
        t.kind = TOK_END;
    } else if (*p->pos == '{' || *p->pos == '}' || *p->pos == ';') {
        t.kind = TOK_PUNCT;
        t.len = 1;
        p->pos++;
    } else if (*p->pos == '"') {
        const char *q = p->pos + 1;
        while (q < p->end && *q != '"' && *q != '\n' && *q != '\\' && *q != '\0')
            q++;
        if (q == p->end || *q != '"') {
            fail(p, "a quoted string is not closed on its line (or holds a backslash)");
            return t;
        }
        t.kind = TOK_STRING;
        t.s = p->pos + 1;
        t.len = (size_t)(q - t.s);
        p->pos = q + 1;
    } else if (is_word_char(*p->pos)) {
        while (p->pos < p->end && is_word_char(*p->pos))
            p->pos++;
        t.kind = TOK_WORD;
        t.len = (size_t)(p->pos - t.s);
    } else {
        fail(p, "unexpected byte 0x%02x", (unsigned char)*p->pos);
    }
    return t;
}

static int is_punct(const token *t, char c)
{
    return t->kind == TOK_PUNCT && t->s[0] == c;
}

static int is_word(const token *t, const char *w)
{
    return t->kind == TOK_WORD && t->len == strlen(w) && ms_ascii_strncasecmp(t->s, w, t->len) == 0;
}

static int expect_punct(key_parser *p, char c)
{
    token t = next_token(p);
    if (is_punct(&t, c))
        return 1;
    if (t.kind == TOK_BAD)
        return 0;
    return fail(p, "expected '%c'", c);
}

/* A value: a word or a quoted string. */
static int take_value(key_parser *p, token *out, const char *what)
{
    *out = next_token(p);
    if (out->kind == TOK_WORD || out->kind == TOK_STRING)
        return 1;
    if (out->kind == TOK_BAD)
        return 0;
    return fail(p, "expected the %s", what);
}

static ms_status parse_bind(key_parser *p, ms_dns_tsig_key *key)
{
    token name, alg = {TOK_BAD, NULL, 0, 0}, secret = {TOK_BAD, NULL, 0, 0}, t;
    next_token(p); /* "key", seen by the caller */
    if (!take_value(p, &name, "key's name") || !expect_punct(p, '{'))
        return MS_ERR_INVALID;
    for (;;) {
        t = next_token(p);
        if (is_punct(&t, '}'))
            break;
        token *slot = is_word(&t, "algorithm") ? &alg : is_word(&t, "secret") ? &secret : NULL;
        if (slot == NULL) {
            if (t.kind != TOK_BAD)
                fail(p, "expected algorithm, secret or '}', not \"%.*s\"",
                     (int)(t.len > 32 ? 32 : t.len), t.s);
            return MS_ERR_INVALID;
        }
        if (slot->kind != TOK_BAD) {
            fail(p, "%.*s is given twice", (int)t.len, t.s);
            return MS_ERR_INVALID;
        }
        if (!take_value(p, slot, slot == &alg ? "algorithm" : "secret") || !expect_punct(p, ';'))
            return MS_ERR_INVALID;
    }
    if (!expect_punct(p, ';'))
        return MS_ERR_INVALID;
    if (alg.kind == TOK_BAD || secret.kind == TOK_BAD) {
        fail(p, "the key has no %s", alg.kind == TOK_BAD ? "algorithm" : "secret");
        return MS_ERR_INVALID;
    }
    t = next_token(p);
    if (t.kind != TOK_END) {
        if (t.kind != TOK_BAD)
            fail(p, "only one key statement is allowed; found \"%.*s\" after it",
                 (int)(t.len > 32 ? 32 : t.len), t.s);
        return MS_ERR_INVALID;
    }
    return take_parts(p, key, (key_part){name.s, name.len, name.line},
                      (key_part){alg.s, alg.len, alg.line},
                      (key_part){secret.s, secret.len, secret.line});
}

ms_status ms_dns_tsig_key_parse(const char *text, size_t len, ms_dns_tsig_key *key, char **error)
{
    *error = NULL;
    memset(key, 0, sizeof *key);
    if (len > MS_DNS_TSIG_MAX_FILE) {
        *error = ms_asprintf("the key is over %d bytes", MS_DNS_TSIG_MAX_FILE);
        return MS_ERR_LIMIT;
    }
    key_parser p = {text, text + len, text, 1, NULL};
    if (memchr(text, '\0', len) != NULL) {
        *error = ms_strdup("the key holds a NUL byte");
        return MS_ERR_INVALID;
    }
    ms_status st;
    token first = next_token(&p);
    p.pos = text;
    p.line = 1;
    free(p.error);
    p.error = NULL;
    if (is_word(&first, "key"))
        st = parse_bind(&p, key);
    else
        st = parse_line(&p, key);
    if (st == MS_OK) {
        free(p.error);
        return MS_OK;
    }
    if (p.error == NULL)
        st = MS_ERR_NOMEM; /* every problem is told through fail(): its words could not be made */
    *error = p.error != NULL ? p.error : ms_strdup("out of memory");
    return st == MS_ERR_NOMEM ? MS_ERR_NOMEM : MS_ERR_INVALID;
}

ms_status ms_dns_tsig_key_load(const char *path, ms_dns_tsig_key *key, char **error)
{
    *error = NULL;
    memset(key, 0, sizeof *key);
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        *error = ms_asprintf("%s: %s", path, strerror(errno));
        return MS_ERR_IO;
    }
    /* One byte more than allowed tells a file at the limit from one over. */
    char *buf = malloc(MS_DNS_TSIG_MAX_FILE + 1);
    size_t n = buf != NULL ? fread(buf, 1, MS_DNS_TSIG_MAX_FILE + 1, f) : 0;
    int read_error = ferror(f);
    fclose(f);
    if (buf == NULL)
        return MS_ERR_NOMEM;
    ms_status st;
    if (read_error) {
        *error = ms_asprintf("%s: read error", path);
        st = MS_ERR_IO;
    } else {
        char *why = NULL;
        st = ms_dns_tsig_key_parse(buf, n, key, &why);
        if (st != MS_OK)
            *error = ms_asprintf("%s: %s", path, why != NULL ? why : "out of memory");
        free(why);
    }
    memset(buf, 0, n);
    free(buf);
    return st;
}
