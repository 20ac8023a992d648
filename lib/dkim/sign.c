/* Signing a message (RFC 6376 5, RFC 8463): rsa-sha256 and ed25519-sha256,
 * relaxed/relaxed, several signatures over one stream.
 *
 * Header fields are kept (bounded: MS_DKIM_MAX_HEADERS fields,
 * MS_DKIM_MAX_HEADER_BYTES bytes), because which ones are signed is only
 * known at the end; the body streams through the relaxed body
 * canonicalisation into SHA-256 and is never kept. Both algorithms hash the
 * body with SHA-256 under the same canonicalisation, so one body hash
 * serves every signature. */
#include "privkey.h"

#include "core/grow.h"
#include "core/lazy_openssl.h"
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* RFC 6376 5.4.1's recommended fields, signed as many times as they are
 * present. A name ending in "-" stands for every field that starts so
 * (Resent-Date, List-Id, Content-Type, ...). From is signed once more than
 * it is present (below), so no From can be added after signing. */
static const char *const RECOMMENDED[] = {
    "From", "Reply-To", "Subject", "Date", "To", "Cc", "Resent-", "In-Reply-To", "References",
    "List-", "MIME-Version", "Content-", "Message-ID",
};

/* Where a folded line breaks: 78 characters, RFC 5322 2.1.1's "should". */
#define FOLD_WIDTH 78
/* The first line starts after "DKIM-Signature: ". */
#define FIRST_COLUMN 16

typedef struct sign_job {
    char *domain;   /* A-labels, lower case */
    char *selector;
    EVP_PKEY *pkey; /* a reference of our own */
    ms_dkim_key_type type;
    char **headers; /* explicit names to sign, or NULL for RECOMMENDED */
    size_t header_count;
    int64_t time, expire_after;
} sign_job;

struct ms_dkim_signer {
    sign_job *jobs;
    size_t count;
    ms_buf fields;      /* every header field, line breaks CRLF, each ending in CRLF */
    size_t *field_start;
    size_t field_count, field_cap;
    dk_body_canon body;
    EVP_MD_CTX *body_hash; /* SHA-256 of the relaxed body */
    int in_body, finished;
    ms_status error;    /* the first failure; every later call returns it */
};

/* ---- options ---- */

static void job_free(sign_job *j)
{
    free(j->domain);
    free(j->selector);
    EVP_PKEY_free(j->pkey);
    for (size_t i = 0; i < j->header_count; i++)
        free(j->headers[i]);
    free(j->headers);
}

/* A header field name (RFC 5322 2.2: printable ASCII but ":"). */
static int is_field_name(const char *s, size_t len)
{
    if (len == 0)
        return 0;
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)s[i] <= ' ' || (unsigned char)s[i] >= 0x7f || s[i] == ':')
            return 0;
    return 1;
}

/* A name h= can carry: a field name without ";", which would end the tag
 * (RFC 6376 3.5: h= is a tag-value). Fields named otherwise are not signed. */
static int is_signable_name(const char *s, size_t len)
{
    return is_field_name(s, len) && memchr(s, ';', len) == NULL;
}

static ms_status copy_headers(sign_job *j, const char *const *names)
{
    size_t n = 0, from = 0;
    while (names[n] != NULL) {
        if (n == MS_DKIM_MAX_SIGNED_HEADERS || !is_signable_name(names[n], strlen(names[n])))
            return MS_ERR_INVALID;
        from |= ms_ascii_ieq(names[n], strlen(names[n]), "From");
        n++;
    }
    if (!from) /* RFC 6376 5.4: the From field MUST be signed */
        return MS_ERR_INVALID;
    if ((j->headers = calloc(n, sizeof *j->headers)) == NULL)
        return MS_ERR_NOMEM;
    for (; j->header_count < n; j->header_count++)
        if ((j->headers[j->header_count] = ms_strdup(names[j->header_count])) == NULL)
            return MS_ERR_NOMEM;
    return MS_OK;
}

static ms_status job_init(sign_job *j, const ms_dkim_sign_options *o)
{
    if (o->domain == NULL || o->selector == NULL || o->key == NULL || o->expire_after < 0 ||
        o->time < 0 ||
        !ms_domain_check(o->selector, strlen(o->selector), MS_DOMAIN_LDH | MS_DOMAIN_UNDERSCORE))
        return MS_ERR_INVALID;
    ms_status st = ms_domain_normalize(o->domain, &j->domain);
    if (st != MS_OK)
        return st;
    if ((j->selector = ms_strdup(o->selector)) == NULL)
        return MS_ERR_NOMEM;
    if (EVP_PKEY_up_ref(o->key->pkey) != 1)
        return MS_ERR_NOMEM;
    j->pkey = o->key->pkey;
    j->type = o->key->type;
    j->time = o->time;
    j->expire_after = o->expire_after;
    return o->headers ? copy_headers(j, o->headers) : MS_OK;
}

void ms_dkim_signer_free(ms_dkim_signer *s)
{
    if (s == NULL)
        return;
    for (size_t i = 0; i < s->count; i++)
        job_free(&s->jobs[i]);
    free(s->jobs);
    ms_buf_free(&s->fields);
    free(s->field_start);
    EVP_MD_CTX_free(s->body_hash);
    free(s);
}

ms_status ms_dkim_signer_new(const ms_dkim_sign_options *options, size_t count,
                             ms_dkim_signer **out)
{
    if (out == NULL)
        return MS_ERR_INVALID;
    *out = NULL;
    if (options == NULL || count == 0 || count > MS_DKIM_MAX_SIGNATURES)
        return MS_ERR_INVALID;
    ms_dkim_signer *s = calloc(1, sizeof *s);
    if (s == NULL)
        return MS_ERR_NOMEM;
    ms_status st = MS_OK;
    if ((s->jobs = calloc(count, sizeof *s->jobs)) == NULL)
        st = MS_ERR_NOMEM;
    for (; st == MS_OK && s->count < count; s->count++)
        st = job_init(&s->jobs[s->count], &options[s->count]);
    if (st == MS_OK && ((s->body_hash = EVP_MD_CTX_new()) == NULL ||
                        EVP_DigestInit_ex(s->body_hash, EVP_sha256(), NULL) != 1))
        st = MS_ERR_NOMEM;
    if (st != MS_OK) { /* s->count includes the job that failed: it frees what it got */
        ms_dkim_signer_free(s);
        return st;
    }
    dk_body_canon_init(&s->body, MS_DKIM_CANON_RELAXED);
    *out = s;
    return MS_OK;
}

/* ---- the message ---- */

static ms_status fail(ms_dkim_signer *s, ms_status st)
{
    if (s->error == MS_OK)
        s->error = st;
    return st;
}

ms_status ms_dkim_signer_header(ms_dkim_signer *s, const char *field, size_t len)
{
    if (s == NULL || (field == NULL && len > 0))
        return MS_ERR_INVALID;
    if (s->error != MS_OK)
        return s->error;
    if (s->in_body || s->finished)
        return fail(s, MS_ERR_INVALID);
    /* tolerate the final line break the contract leaves out */
    if (len > 0 && field[len - 1] == '\n')
        len -= len > 1 && field[len - 2] == '\r' ? 2 : 1;
    /* a field is a name, a colon, a value: anything else (a NUL or a space
     * in the name) is not a header field and is refused, not signed */
    const char *colon = memchr(field, ':', len);
    size_t nlen = colon ? (size_t)(colon - field) : 0;
    while (nlen > 0 && ms_is_wsp(field[nlen - 1]))
        nlen--;
    if (colon == NULL || !is_field_name(field, nlen))
        return fail(s, MS_ERR_INVALID);
    if (s->field_count == MS_DKIM_MAX_HEADERS || s->fields.len + len + 2 > MS_DKIM_MAX_HEADER_BYTES)
        return fail(s, MS_ERR_LIMIT);
    size_t *starts = ms_grow(s->field_start, s->field_count, &s->field_cap, sizeof *starts, 32);
    if (starts == NULL)
        return fail(s, MS_ERR_NOMEM);
    s->field_start = starts;
    s->field_start[s->field_count++] = s->fields.len;
    /* bare LF line breaks inside the field become CRLF, as on the wire */
    for (size_t i = 0, run = 0; i <= len; i++) {
        if (i < len && !(field[i] == '\n' && (i == 0 || field[i - 1] != '\r')))
            continue;
        ms_buf_append(&s->fields, field + run, i - run);
        if (i < len)
            ms_buf_append(&s->fields, "\r", 1);
        run = i;
    }
    ms_buf_append(&s->fields, "\r\n", 2);
    return s->fields.failed ? fail(s, MS_ERR_NOMEM) : MS_OK;
}

static void hash_body(void *arg, const void *data, size_t len)
{
    ms_dkim_signer *s = arg;
    if (s->error == MS_OK && EVP_DigestUpdate(s->body_hash, data, len) != 1)
        s->error = MS_ERR_NOMEM;
}

ms_status ms_dkim_signer_body(ms_dkim_signer *s, const void *data, size_t len)
{
    if (s == NULL || (data == NULL && len > 0))
        return MS_ERR_INVALID;
    if (s->error != MS_OK)
        return s->error;
    if (s->finished)
        return fail(s, MS_ERR_INVALID);
    s->in_body = 1;
    dk_body_canon_feed(&s->body, data, len, hash_body, s);
    return s->error;
}

/* ---- the signature ---- */

static size_t field_len(const ms_dkim_signer *s, size_t i)
{
    size_t end = i + 1 < s->field_count ? s->field_start[i + 1] : s->fields.len;
    return end - s->field_start[i];
}

static const char *field_at(const ms_dkim_signer *s, size_t i)
{
    return s->fields.data + s->field_start[i];
}

/* The field's name: up to its colon (signer_header made sure there is one,
 * and that the name is a field name), white space before the colon left
 * out (RFC 5322 4.5.3's obsolete syntax). */
static size_t name_len(const char *field)
{
    size_t n = (size_t)((const char *)strchr(field, ':') - field);
    while (n > 0 && ms_is_wsp(field[n - 1]))
        n--;
    return n;
}

/* Whether a field's name is one RECOMMENDED entry (a prefix entry ends in "-"). */
static int name_matches(const char *name, size_t len, const char *entry)
{
    size_t elen = strlen(entry);
    if (entry[elen - 1] == '-')
        return len > elen && ms_ascii_strncasecmp(name, entry, elen) == 0;
    return ms_ascii_ieq(name, len, entry);
}

/* h= for the recommended set: each present field's name once per
 * instance, in the order of RECOMMENDED (the fields a prefix entry matches
 * in message order), From once more. Names are written as the message
 * writes them (verifiers compare without case). */
static void recommended_names(const ms_dkim_signer *s, ms_buf *h)
{
    unsigned char *done = calloc(s->field_count ? s->field_count : 1, 1);
    if (done == NULL) {
        h->failed = 1;
        return;
    }
    for (size_t e = 0; e < sizeof RECOMMENDED / sizeof RECOMMENDED[0]; e++) {
        for (size_t i = 0; i < s->field_count; i++) {
            const char *f = field_at(s, i);
            size_t n = name_len(f);
            if (done[i] || !name_matches(f, n, RECOMMENDED[e]) || !is_signable_name(f, n))
                continue;
            done[i] = 1;
            ms_buf_append(h, f, n);
            ms_buf_append(h, ":", 1);
        }
        if (e == 0) { /* From: oversigned */
            ms_buf_append(h, "From:", 5);
        }
    }
    free(done);
}

/* The names to sign as "a:b:c:" (note the final colon). */
static char *names_to_sign(const ms_dkim_signer *s, const sign_job *j)
{
    ms_buf h = MS_BUF_INIT;
    if (j->headers == NULL) {
        recommended_names(s, &h);
    } else {
        for (size_t k = 0; k < j->header_count; k++) {
            ms_buf_puts(&h, j->headers[k]);
            ms_buf_append(&h, ":", 1);
        }
    }
    return ms_buf_take(&h);
}

/* The signed header data (RFC 6376 5.4.2, as the verifier reads it): for
 * each name, the last instance not used yet, bottom up; a name with no
 * instance left adds nothing. */
static ms_status signed_fields(const ms_dkim_signer *s, const char *names, ms_buf *data)
{
    unsigned char *used = calloc(s->field_count ? s->field_count : 1, 1);
    if (used == NULL)
        return MS_ERR_NOMEM;
    for (const char *p = names; *p; p = strchr(p, ':') + 1) {
        size_t len = (size_t)(strchr(p, ':') - p);
        for (size_t i = s->field_count; i-- > 0;) {
            const char *f = field_at(s, i);
            if (used[i] || name_len(f) != len || ms_ascii_strncasecmp(f, p, len) != 0)
                continue;
            used[i] = 1;
            dk_canon_header(MS_DKIM_CANON_RELAXED, f, field_len(s, i), 0, data);
            break;
        }
    }
    free(used);
    return data->failed ? MS_ERR_NOMEM : MS_OK;
}

/* Folding: a token goes on the current line while it stays within
 * FOLD_WIDTH, else on a new line starting with a tab. sep separates it from
 * the token before on the same line (" " between tags, "" inside h=). The
 * signature covers the relaxed form of exactly this text, so any fold is
 * safe. */
typedef struct folder {
    ms_buf out;
    size_t column;
} folder;

static void fold_token(folder *f, const char *sep, const char *token, size_t len)
{
    size_t seplen = f->out.len ? strlen(sep) : 0;
    if (f->out.len && f->column + seplen + len > FOLD_WIDTH) {
        ms_buf_append(&f->out, "\r\n\t", 3);
        f->column = 8;
    } else {
        ms_buf_append(&f->out, sep, seplen);
        f->column += seplen;
    }
    ms_buf_append(&f->out, token, len);
    f->column += len;
}

static void fold_tag(folder *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void fold_tag(folder *f, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *tag = ms_vasprintf(fmt, ap);
    va_end(ap);
    if (tag == NULL) {
        f->out.failed = 1;
        return;
    }
    fold_token(f, " ", tag, strlen(tag));
    free(tag);
}

/* h=a:b:c; folded between names ("a:b:c:" in, final colon dropped) */
static void fold_names(folder *f, const char *names)
{
    int first = 1;
    for (const char *p = names; *p; p = strchr(p, ':') + 1) {
        const char *end = strchr(p, ':');
        char *tok = ms_asprintf("%s%.*s%s", first ? "h=" : "", (int)(end - p), p,
                                end[1] == '\0' ? ";" : ":");
        if (tok == NULL) {
            f->out.failed = 1;
            return;
        }
        fold_token(f, first ? " " : "", tok, strlen(tok));
        free(tok);
        first = 0;
    }
}

/* The value of b= in pieces that fit the lines (base64 allows FWS). */
static void fold_b_value(folder *f, const char *b64)
{
    size_t len = strlen(b64), off = 0;
    while (off < len) {
        if (f->column + 8 > FOLD_WIDTH) {
            ms_buf_append(&f->out, "\r\n\t", 3);
            f->column = 8;
        }
        size_t room = FOLD_WIDTH - f->column;
        size_t n = len - off < room ? len - off : room;
        ms_buf_append(&f->out, b64 + off, n);
        f->column += n;
        off += n;
    }
}

static char *base64(const unsigned char *data, size_t len)
{
    char *out = malloc(4 * ((len + 2) / 3) + 1);
    if (out != NULL)
        EVP_EncodeBlock((unsigned char *)out, data, (int)len);
    return out;
}

/* The signature over the header data: RSASSA-PKCS1-v1_5 with SHA-256, or
 * (RFC 8463 3) PureEdDSA over the SHA-256 hash of the data. */
static unsigned char *sign_data(const sign_job *j, const ms_buf *data, size_t *siglen)
{
    unsigned char hash[EVP_MAX_MD_SIZE];
    unsigned hlen = 0;
    const unsigned char *msg = (const unsigned char *)data->data;
    size_t mlen = data->len;
    if (j->type == MS_DKIM_KEY_ED25519) {
        if (EVP_Digest(data->data, data->len, hash, &hlen, EVP_sha256(), NULL) != 1)
            return NULL;
        msg = hash;
        mlen = hlen;
    }
    const EVP_MD *md = j->type == MS_DKIM_KEY_ED25519 ? NULL : EVP_sha256();
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    unsigned char *sig = NULL;
    size_t len = 0;
    if (ctx != NULL && EVP_DigestSignInit(ctx, NULL, md, NULL, j->pkey) == 1 &&
        EVP_DigestSign(ctx, NULL, &len, msg, mlen) == 1 && (sig = malloc(len)) != NULL &&
        EVP_DigestSign(ctx, sig, &len, msg, mlen) != 1) {
        free(sig);
        sig = NULL;
    }
    EVP_MD_CTX_free(ctx);
    *siglen = len;
    return sig;
}

/* The tags before b=, folded, ending in "b=". */
static void fold_tags(folder *f, const sign_job *j, const char *names, const char *bh, int64_t t)
{
    fold_tag(f, "v=1;");
    fold_tag(f, "a=%s;", j->type == MS_DKIM_KEY_ED25519 ? "ed25519-sha256" : "rsa-sha256");
    fold_tag(f, "c=relaxed/relaxed;");
    fold_tag(f, "d=%s;", j->domain);
    fold_tag(f, "s=%s;", j->selector);
    fold_tag(f, "t=%lld;", (long long)t);
    if (j->expire_after > 0)
        fold_tag(f, "x=%lld;", (long long)(t + j->expire_after));
    fold_names(f, names);
    fold_tag(f, "bh=%s;", bh);
    fold_tag(f, "b=");
}

/* One DKIM-Signature value, folded, b= last. */
static ms_status make_signature(const ms_dkim_signer *s, const sign_job *j, const char *bh,
                                int64_t now, char **value)
{
    char *names = names_to_sign(s, j);
    if (names == NULL)
        return MS_ERR_NOMEM;
    folder f = {MS_BUF_INIT, FIRST_COLUMN};
    fold_tags(&f, j, names, bh, j->time ? j->time : now);
    /* signed: the chosen fields, then this field as it will be, b= empty,
     * without its final CRLF (RFC 6376 3.7) */
    ms_buf data = MS_BUF_INIT;
    ms_status st = signed_fields(s, names, &data);
    free(names);
    char *self = f.out.failed ? NULL : ms_asprintf("DKIM-Signature: %s", f.out.data);
    if (st == MS_OK && self == NULL)
        st = MS_ERR_NOMEM;
    if (st == MS_OK)
        dk_canon_header(MS_DKIM_CANON_RELAXED, self, strlen(self), 1, &data);
    free(self);
    size_t siglen = 0;
    unsigned char *sig = st == MS_OK && !data.failed ? sign_data(j, &data, &siglen) : NULL;
    char *b64 = sig ? base64(sig, siglen) : NULL;
    if (st == MS_OK && b64 == NULL)
        st = MS_ERR_NOMEM;
    if (st == MS_OK)
        fold_b_value(&f, b64);
    free(sig);
    free(b64);
    ms_buf_free(&data);
    if (st == MS_OK && f.out.failed)
        st = MS_ERR_NOMEM;
    *value = st == MS_OK ? ms_buf_take(&f.out) : NULL;
    ms_buf_free(&f.out);
    return st;
}

ms_status ms_dkim_signer_finish(ms_dkim_signer *s, char ***values, size_t *count)
{
    if (values == NULL || count == NULL)
        return MS_ERR_INVALID;
    *values = NULL;
    *count = 0;
    if (s == NULL)
        return MS_ERR_INVALID;
    if (s->error != MS_OK)
        return s->error;
    if (s->finished)
        return fail(s, MS_ERR_INVALID);
    s->finished = 1;
    dk_body_canon_end(&s->body, hash_body, s);
    unsigned char hash[EVP_MAX_MD_SIZE];
    unsigned hlen = 0;
    if (s->error != MS_OK || EVP_DigestFinal_ex(s->body_hash, hash, &hlen) != 1)
        return fail(s, MS_ERR_NOMEM);
    char *bh = base64(hash, hlen);
    char **out = calloc(s->count, sizeof *out);
    ms_status st = bh && out ? MS_OK : MS_ERR_NOMEM;
    int64_t now = (int64_t)time(NULL);
    for (size_t i = 0; st == MS_OK && i < s->count; i++)
        st = make_signature(s, &s->jobs[i], bh, now, &out[i]);
    free(bh);
    if (st != MS_OK) {
        for (size_t i = 0; out && i < s->count; i++)
            free(out[i]);
        free(out);
        return fail(s, st);
    }
    *values = out;
    *count = s->count;
    return MS_OK;
}

ms_status ms_dkim_sign(const ms_dkim_sign_options *options, size_t count, const char *message,
                       size_t len, char ***values, size_t *value_count)
{
    if (values == NULL || value_count == NULL || (message == NULL && len > 0))
        return MS_ERR_INVALID;
    *values = NULL;
    *value_count = 0;
    if (len > MS_DKIM_MAX_MESSAGE)
        return MS_ERR_LIMIT;
    ms_dkim_signer *s = NULL;
    ms_status st = ms_dkim_signer_new(options, count, &s);
    if (st != MS_OK)
        return st;
    dk_splitter sp;
    dk_splitter_init(&sp, message ? message : "", len);
    const char *field = NULL;
    size_t flen = 0;
    while (st == MS_OK && dk_next_field(&sp, &field, &flen))
        st = ms_dkim_signer_header(s, field, flen);
    if (st == MS_OK)
        st = ms_dkim_signer_body(s, sp.data + sp.pos, sp.len - sp.pos);
    if (st == MS_OK)
        st = ms_dkim_signer_finish(s, values, value_count);
    ms_dkim_signer_free(s);
    return st;
}
