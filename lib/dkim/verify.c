/* Verifying a message's DKIM signatures (RFC 6376 section 6, RFC 8463)
 * and its ARC chain (RFC 8617, arc.c), streaming.
 *
 * Header fields are kept, bounded by MS_DKIM_MAX_HEADER_BYTES. When the
 * body starts, the signatures are parsed and one running hash is started
 * per distinct body canonicalization, hash algorithm and l=; the body is
 * hashed as it streams and never kept. At the end every key record is
 * fetched in one DNS batch, then each signature is judged on its own: a
 * result (pass, fail, permerror, temperror) and a one-word reason. The
 * one-shot ms_dkim_verify() splits a message and feeds it through here. */
#include "internal.h"
#include "core/grow.h"

#include "core/lazy_openssl.h"
#include <stdlib.h>
#include <string.h>

/* Distinct body hashes: one per DKIM signature at most, plus the newest
 * ARC-Message-Signature (the only one RFC 8617 5.2 requires verified). */
#define MAX_BODY_HASHES (MS_DKIM_MAX_SIGNATURES + 1)
#define HASH_STAGE 8192 /* canonical bytes gathered before each digest update */

typedef struct body_hash {
    ms_dkim_canon canon;
    const EVP_MD *md;
    int has_l;
    uint64_t l;
    dk_body_canon bc;
    EVP_MD_CTX *ctx;
    uint64_t length; /* canonical bytes so far */
    int failed;      /* the digest failed (out of memory) */
    unsigned char stage[HASH_STAGE];
    size_t staged;
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned digest_len;
} body_hash;

/* Where a kept header field is in the header buffer. */
typedef struct kept_field {
    size_t offset, len, name_len;
} kept_field;

struct ms_dkim_verifier {
    ms_ctx *ctx;
    ms_dkim_verify_options opts;
    ms_status error;   /* sticky: the first failure, returned by every later call */
    int body_started;  /* the header section is over: signatures parsed, hashes running */
    int finished;
    ms_buf headers;    /* every field kept, CRLF line breaks, each through its CRLF */
    ms_buf raw_head;   /* _write: the header section so far, until its empty line */
    kept_field *kept;
    size_t kept_count, kept_cap;
    int malformed;     /* a line that is not a header field, or too many fields */
    dk_field *fields;  /* the kept fields, once the body starts */
    ms_dkim_verify_result *r;
    dk_check dkim[MS_DKIM_MAX_SIGNATURES];
    dk_arc arc;
    body_hash *hashes[MAX_BODY_HASHES];
    size_t hash_count;
};

const char *ms_dkim_result_str(ms_dkim_result r)
{
    static const char *const NAMES[] = {"pass", "fail", "permerror", "temperror"};
    return r <= MS_DKIM_TEMPERROR ? NAMES[r] : "unknown";
}

static void verdict_free(ms_dkim_verdict *v)
{
    free(v->header);
    ms_dkim_signature_free(v->sig);
    free(v->key_name);
    free(v->key_record);
    ms_dkim_key_free(v->key);
    ms_diag_list_free(&v->diags);
}

void ms_dkim_verify_result_free(ms_dkim_verify_result *r)
{
    if (r == NULL)
        return;
    /* a verifier freed unfinished has counted its signatures but never
     * handed their verdicts over (items is NULL): they are its own */
    for (size_t i = 0; r->items != NULL && i < r->count; i++)
        verdict_free(&r->items[i]);
    free(r->items);
    ms_diag_list_free(&r->diags);
    free(r->arc_sealer);
    free(r->arc_reason);
    free(r->arc_auth_results);
    free(r);
}

/* The reason for a non-pass: the code of the first error-level finding,
 * without its "dkim." prefix, so JSON readers get one stable word. */
static const char *first_error_reason(const ms_diag_list *diags, size_t from, const char *fallback)
{
    for (size_t i = from; i < diags->count; i++)
        if (diags->items[i].def->severity == MS_SEV_ERROR)
            return diags->items[i].def->code + 5;
    return fallback;
}

static void set(ms_dkim_verdict *v, ms_dkim_result r, const char *reason)
{
    v->result = r;
    v->reason = reason;
}

static const EVP_MD *alg_md(ms_dkim_alg alg)
{
    return alg == MS_DKIM_ALG_RSA_SHA1 ? EVP_sha1() : EVP_sha256();
}

/* ---- the body, hashed as it streams ---- */

static void flush_stage(body_hash *h)
{
    if (h->staged > 0 && EVP_DigestUpdate(h->ctx, h->stage, h->staged) != 1)
        h->failed = 1;
    h->staged = 0;
}

/* dk_emit_fn: canonical bytes, hashed up to l= when the signature has one. */
static void hash_emit(void *arg, const void *data, size_t len)
{
    body_hash *h = arg;
    size_t take = len;
    if (h->has_l)
        take = h->length >= h->l ? 0 : h->l - h->length < len ? (size_t)(h->l - h->length) : len;
    h->length += len;
    const unsigned char *p = data;
    while (take > 0) {
        size_t n = HASH_STAGE - h->staged < take ? HASH_STAGE - h->staged : take;
        memcpy(h->stage + h->staged, p, n);
        h->staged += n;
        p += n;
        take -= n;
        if (h->staged == HASH_STAGE)
            flush_stage(h);
    }
}

/* The running hash a signature needs: shared with every signature that
 * hashes the body the same way, started when none does yet. */
static ms_status attach_body_hash(ms_dkim_verifier *v, dk_check *c)
{
    const ms_dkim_signature *sig = c->v.sig;
    const EVP_MD *md = alg_md(sig->alg);
    for (size_t i = 0; i < v->hash_count; i++) {
        const body_hash *h = v->hashes[i];
        if (h->canon == sig->body_canon && h->md == md && h->has_l == sig->has_l &&
            (!h->has_l || h->l == sig->l)) {
            c->body = i;
            return MS_OK;
        }
    }
    MS_ASSERT(v->hash_count < MAX_BODY_HASHES);
    body_hash *h = calloc(1, sizeof *h);
    if (h == NULL)
        return MS_ERR_NOMEM;
    v->hashes[v->hash_count] = h;
    h->canon = sig->body_canon;
    h->md = md;
    h->has_l = sig->has_l;
    h->l = sig->l;
    dk_body_canon_init(&h->bc, sig->body_canon);
    if ((h->ctx = EVP_MD_CTX_new()) == NULL || EVP_DigestInit_ex(h->ctx, md, NULL) != 1)
        return MS_ERR_NOMEM; /* freed with the verifier */
    c->body = v->hash_count++;
    return MS_OK;
}

static ms_status finish_body_hashes(ms_dkim_verifier *v)
{
    for (size_t i = 0; i < v->hash_count; i++) {
        body_hash *h = v->hashes[i];
        dk_body_canon_end(&h->bc, hash_emit, h);
        flush_stage(h);
        if (h->failed || EVP_DigestFinal_ex(h->ctx, h->digest, &h->digest_len) != 1)
            return MS_ERR_NOMEM;
    }
    return MS_OK;
}

/* 1 match, 0 mismatch, -1 body shorter than l=. */
static int check_body(const ms_dkim_verifier *v, const dk_check *c)
{
    const ms_dkim_signature *sig = c->v.sig;
    const body_hash *h = v->hashes[c->body];
    if (sig->has_l && sig->l > h->length)
        return -1;
    return h->digest_len == sig->bh_len && memcmp(h->digest, sig->bh, h->digest_len) == 0;
}

/* ---- the header data that was signed ---- */

/* RFC 6376 5.4.2: for each name in h=, the last not yet used instance of
 * that field, bottom up; names with no instance left contribute nothing.
 * Then the signature field itself with b= emptied and no final CRLF. */
static void signed_headers(const ms_dkim_verifier *v, const dk_check *c, ms_buf *buf)
{
    const ms_dkim_signature *sig = c->v.sig;
    size_t count = v->kept_count;
    unsigned char *used = calloc(count ? count : 1, 1);
    if (used == NULL) {
        buf->failed = 1;
        return;
    }
    for (size_t k = 0; k < sig->h_count; k++) {
        for (size_t i = count; i-- > 0;) {
            const dk_field *f = &v->fields[i];
            if (used[i] || !ms_ascii_ieq(f->name, f->name_len, sig->h[k]))
                continue;
            used[i] = 1;
            dk_canon_header(sig->header_canon, f->raw, f->raw_len, 0, buf);
            break;
        }
    }
    free(used);
    dk_canon_header(sig->header_canon, c->self->raw, c->self->raw_len, 1, buf);
}

/* 1 valid, 0 invalid, -2 no memory. */
static int check_signature(const ms_dkim_verifier *v, const dk_check *c)
{
    const ms_dkim_signature *sig = c->v.sig;
    const ms_dkim_key *key = c->v.key;
    ms_buf buf = MS_BUF_INIT;
    ms_buf_append(&buf, "", 0);
    if (c->kind == DK_ARC_SEAL)
        dk_arc_seal_data(&v->arc, c->instance, &buf);
    else
        signed_headers(v, c, &buf);
    if (buf.failed) {
        ms_buf_free(&buf);
        return -2;
    }
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    int ok = -2;
    if (ctx != NULL) {
        if (sig->alg == MS_DKIM_ALG_ED25519_SHA256) {
            /* RFC 8463: PureEdDSA over the SHA-256 hash of the data */
            unsigned char h[EVP_MAX_MD_SIZE];
            unsigned hl = 0;
            ok = EVP_Digest(buf.data, buf.len, h, &hl, EVP_sha256(), NULL) == 1 &&
                 EVP_DigestVerifyInit(ctx, NULL, NULL, NULL, key->pkey) == 1 &&
                 EVP_DigestVerify(ctx, sig->b, sig->b_len, h, hl) == 1;
        } else {
            ok = EVP_DigestVerifyInit(ctx, NULL, alg_md(sig->alg), NULL, key->pkey) == 1 &&
                 EVP_DigestVerify(ctx, sig->b, sig->b_len, (const unsigned char *)buf.data,
                                  buf.len) == 1;
        }
        EVP_MD_CTX_free(ctx);
    }
    ms_buf_free(&buf);
    return ok;
}

/* ---- the key ---- */

/* Why the key found for v cannot be used: revoked, or the first finding
 * (from diags index from on) that makes it unusable, not merely the first
 * error of the lint (h= without sha256 does not stop rsa-sha1). */
static const char *key_unusable_reason(const ms_dkim_verdict *v, size_t from)
{
    if (v->key->revoked)
        return "key-revoked";
    for (size_t i = from; i < v->diags.count; i++)
        if (dk_key_finding_blocks(v->diags.items[i].def))
            return v->diags.items[i].def->code + 5;
    return "key-unusable";
}

/* Fetch result to verdict: DNS failures, no record, several records, then
 * the key record parsed and linted. */
static ms_status pick_record(ms_dkim_verdict *v, const ms_dns_answer *a)
{
    const char *loc = v->key_name;
    if (a == NULL || a->rcode == MS_DNS_SERVFAIL || a->rcode == MS_DNS_TIMEOUT ||
        a->rcode == MS_DNS_ERROR) {
        set(v, MS_DKIM_TEMPERROR, "key-dns-error");
        return ms_diag_add(&v->diags, DKD(DK_KEY_DNS_ERROR), loc, -1, "TXT lookup: %s%s%s",
                           a ? ms_dns_rcode_str(a->rcode) : "no answer",
                           a && a->why_bogus ? ": " : "", a && a->why_bogus ? a->why_bogus : "");
    }
    if (a->rcode != MS_DNS_NOERROR || a->count == 0) {
        set(v, MS_DKIM_PERMERROR, "key-not-found");
        return ms_diag_add(&v->diags, DKD(DK_KEY_NOT_FOUND), loc, -1, "TXT lookup: %s",
                           ms_dns_rcode_str(a->rcode));
    }
    size_t keys = 0;
    const ms_dns_record *pick = dk_pick_key_record(a, &keys);
    if (keys > 1) {
        set(v, MS_DKIM_PERMERROR, "key-multiple");
        return ms_diag_add(&v->diags, DKD(DK_KEY_MULTIPLE), loc, -1, "%zu key records", keys);
    }
    if (pick == NULL) {
        set(v, MS_DKIM_PERMERROR, "key-not-found");
        return ms_diag_add(&v->diags, DKD(DK_KEY_NOT_FOUND), loc, -1, "%s",
                           "no TXT record there is a key record");
    }
    v->key_record = malloc(pick->text_len + 1);
    if (v->key_record == NULL)
        return MS_ERR_NOMEM;
    memcpy(v->key_record, pick->text, pick->text_len + 1);
    size_t before = v->diags.count;
    ms_status st = ms_dkim_key_parse(pick->text, pick->text_len, loc, &v->key, &v->diags);
    if (st == MS_ERR_LIMIT) {
        set(v, MS_DKIM_PERMERROR, "key-syntax");
        return ms_diag_add(&v->diags, DKD(DK_KEY_SYNTAX), loc, -1, "%s",
                           "the key record is longer than mailsec reads");
    }
    if (st != MS_OK)
        return st;
    if (!v->key->usable)
        set(v, MS_DKIM_PERMERROR, key_unusable_reason(v, before));
    return MS_OK;
}

/* Checks that tie the key to the signature (RFC 6376 6.1.2, RFC 8463). */
static ms_status key_fits(ms_dkim_verdict *v)
{
    const ms_dkim_signature *sig = v->sig;
    const ms_dkim_key *key = v->key;
    const char *loc = v->key_name;
    int want_ed = sig->alg == MS_DKIM_ALG_ED25519_SHA256;
    if (want_ed != (key->type == MS_DKIM_KEY_ED25519)) {
        set(v, MS_DKIM_PERMERROR, "key-alg-mismatch");
        return ms_diag_add(&v->diags, DKD(DK_KEY_ALG_MISMATCH), loc, -1, "a=%s but the key is %s",
                           sig->a, ms_dkim_key_type_str(key->type));
    }
    int sha1 = sig->alg == MS_DKIM_ALG_RSA_SHA1;
    if (sha1 ? !key->allows_sha1 : !key->allows_sha256) {
        set(v, MS_DKIM_PERMERROR, "key-hash-not-allowed");
        return ms_diag_add(&v->diags, DKD(DK_KEY_HASH_NOT_ALLOWED), loc, -1,
                           "h=%s does not allow %s", key->h ? key->h : "", sha1 ? "sha1" : "sha256");
    }
    if (key->strict && sig->i) {
        const char *at = strrchr(sig->i, '@');
        const char *idom = at ? at + 1 : sig->i;
        if (!ms_ascii_ieq(idom, strlen(idom), sig->d)) {
            set(v, MS_DKIM_PERMERROR, "key-strict-subdomain");
            return ms_diag_add(&v->diags, DKD(DK_KEY_STRICT_SUBDOMAIN), loc, -1,
                               "t=s and i=%s is not exactly in d=%s", sig->i, sig->d);
        }
    }
    return MS_OK;
}

/* ---- one signature ---- */

static ms_status check_times(ms_dkim_verdict *v, time_t now)
{
    const ms_dkim_signature *sig = v->sig;
    if (sig->has_x && sig->x < (uint64_t)now) {
        set(v, MS_DKIM_FAIL, "expired");
        return ms_diag_add(&v->diags, DKD(DK_EXPIRED), NULL, -1,
                           "x=%llu is %llu seconds ago", (unsigned long long)sig->x,
                           (unsigned long long)((uint64_t)now - sig->x));
    }
    /* a little slack for clocks that disagree, as every verifier allows */
    if (sig->has_t && sig->t > (uint64_t)now + 300)
        return ms_diag_add(&v->diags, DKD(DK_FUTURE), NULL, -1, "t=%llu is %llu seconds ahead",
                           (unsigned long long)sig->t,
                           (unsigned long long)(sig->t - (uint64_t)now));
    return MS_OK;
}

static ms_status judge(const ms_dkim_verifier *v, dk_check *c, const ms_dns_answer *answer,
                       time_t now)
{
    ms_dkim_verdict *d = &c->v;
    set(d, MS_DKIM_PASS, "ok");
    if (!d->sig->usable) {
        set(d, MS_DKIM_PERMERROR, first_error_reason(&d->diags, 0, "signature-unusable"));
        return MS_OK;
    }
    /* RFC 8301 3.1: verifiers must not consider rsa-sha1 signatures valid;
     * old archives may ask for them to be verified all the same */
    if (d->sig->alg == MS_DKIM_ALG_RSA_SHA1 && !v->opts.allow_sha1) {
        set(d, MS_DKIM_PERMERROR, "rsa-sha1-refused");
        return ms_diag_add(&d->diags, DKD(DK_RSA_SHA1_REFUSED), NULL, -1, "%s",
                           "a=rsa-sha1 is not accepted (RFC 8301 3.1); --allow-sha1 verifies it");
    }
    ms_status st = check_times(d, now);
    if (st != MS_OK || d->result != MS_DKIM_PASS)
        return st;
    if ((st = pick_record(d, answer)) != MS_OK || d->result != MS_DKIM_PASS)
        return st;
    if ((st = key_fits(d)) != MS_OK || d->result != MS_DKIM_PASS)
        return st;
    int body = c->kind == DK_ARC_SEAL ? 1 : check_body(v, c); /* a seal signs no body */
    if (body == -1) {
        set(d, MS_DKIM_FAIL, "body-too-short");
        return ms_diag_add(&d->diags, DKD(DK_BODY_TOO_SHORT), NULL, -1,
                           "l=%llu but the canonical body is shorter", (unsigned long long)d->sig->l);
    }
    if (body == 0) {
        set(d, MS_DKIM_FAIL, "body-hash-mismatch");
        return ms_diag_add(&d->diags, DKD(DK_BODY_HASH_MISMATCH), NULL, -1,
                           "the %s/%s body hash differs from bh=",
                           d->sig->header_canon ? "relaxed" : "simple",
                           d->sig->body_canon ? "relaxed" : "simple");
    }
    int good = check_signature(v, c);
    if (good == -2)
        return MS_ERR_NOMEM;
    if (!good) {
        set(d, MS_DKIM_FAIL, "signature-mismatch");
        return ms_diag_add(&d->diags, DKD(DK_SIGNATURE_MISMATCH), NULL, -1,
                           "b= does not verify with the key at %s", d->key_name);
    }
    return MS_OK;
}

/* ---- the header section ---- */

/* A field: a name, then a colon on its first line. */
static int is_field(const char *field, size_t len)
{
    if (len == 0 || ms_is_wsp(field[0]))
        return 0;
    const char *lf = memchr(field, '\n', len);
    const char *colon = memchr(field, ':', lf ? (size_t)(lf - field) : len);
    return colon != NULL && colon != field;
}

/* Bytes the field takes kept: bare LFs become CRLF, plus the final CRLF. */
static size_t kept_size(const char *field, size_t len)
{
    size_t n = len + 2;
    for (size_t i = 0; i < len; i++)
        n += field[i] == '\n' && (i == 0 || field[i - 1] != '\r');
    return n;
}

static ms_status keep_field(ms_dkim_verifier *v, const char *field, size_t len)
{
    kept_field *kept = ms_grow(v->kept, v->kept_count, &v->kept_cap, sizeof *kept, 32);
    if (kept == NULL)
        return MS_ERR_NOMEM;
    v->kept = kept;
    size_t offset = v->headers.len;
    size_t start = 0;
    for (size_t i = 0; i < len; i++) {
        if (field[i] != '\n' || (i > 0 && field[i - 1] == '\r'))
            continue;
        ms_buf_append(&v->headers, field + start, i - start);
        ms_buf_append(&v->headers, "\r", 1);
        start = i;
    }
    ms_buf_append(&v->headers, field + start, len - start);
    ms_buf_append(&v->headers, "\r\n", 2);
    if (v->headers.failed)
        return MS_ERR_NOMEM;
    size_t name_len = (size_t)((const char *)memchr(field, ':', len) - field);
    /* obsolete syntax allows white space before the colon (RFC 5322 4.5.3) */
    while (name_len && ms_is_wsp(field[name_len - 1]))
        name_len--;
    v->kept[v->kept_count++] = (kept_field){offset, v->headers.len - offset, name_len};
    return MS_OK;
}

ms_status ms_dkim_verifier_header(ms_dkim_verifier *v, const char *field, size_t len)
{
    if (v == NULL || (field == NULL && len > 0))
        return MS_ERR_INVALID;
    if (v->error != MS_OK)
        return v->error;
    if (v->body_started)
        return MS_ERR_INVALID;
    if (len > MS_DKIM_MAX_HEADER_BYTES || kept_size(field, len) > MS_DKIM_MAX_HEADER_BYTES - v->headers.len)
        return v->error = MS_ERR_LIMIT;
    if (!is_field(field, len) || v->kept_count == MS_DKIM_MAX_HEADERS) {
        v->malformed = 1; /* set aside, said once in the result */
        return MS_OK;
    }
    return v->error = keep_field(v, field, len);
}

/* ---- the signatures, when the body starts ---- */

static ms_status start_verdict(dk_check *c, const dk_field *f, size_t index)
{
    ms_dkim_verdict *v = &c->v;
    c->kind = DK_DKIM;
    c->self = f;
    c->body = c->query = SIZE_MAX;
    const char *colon = memchr(f->raw, ':', f->raw_len);
    size_t vlen = f->raw_len - 2 - (size_t)(colon + 1 - f->raw); /* without the final CRLF */
    if ((v->header = malloc(vlen + 1)) == NULL)
        return MS_ERR_NOMEM;
    memcpy(v->header, colon + 1, vlen);
    v->header[vlen] = '\0';
    char loc[48];
    snprintf(loc, sizeof loc, "DKIM-Signature #%zu", index + 1);
    ms_status st = ms_dkim_signature_parse(v->header, vlen, loc, &v->sig, &v->diags);
    if (st == MS_ERR_LIMIT) {
        /* too long to be a real signature: an unusable one, not a failed run */
        if ((v->sig = calloc(1, sizeof *v->sig)) == NULL)
            return MS_ERR_NOMEM;
        v->sig->alg = MS_DKIM_ALG_UNKNOWN;
        return ms_diag_add(&v->diags, DKD(DK_SIG_SYNTAX), loc, -1,
                           "the field is over %d bytes", MS_DKIM_MAX_SIG_HEADER);
    }
    if (st != MS_OK)
        return st;
    if (v->sig->d && v->sig->s && v->sig->usable &&
        (v->key_name = ms_asprintf("%s._domainkey.%s", v->sig->s, v->sig->d)) == NULL)
        return MS_ERR_NOMEM;
    return MS_OK;
}

int dk_field_is(const dk_field *f, const char *name)
{
    return ms_ascii_ieq(f->name, f->name_len, name);
}

static ms_status find_signatures(ms_dkim_verifier *v)
{
    ms_dkim_verify_result *r = v->r;
    ms_status st = MS_OK;
    if (v->malformed)
        st = ms_diag_add(&r->diags, DKD(DK_MESSAGE_MALFORMED), NULL, -1, "%s",
                         "the header section has lines that are not header fields");
    for (size_t i = 0; st == MS_OK && i < v->kept_count; i++)
        if (dk_field_is(&v->fields[i], "DKIM-Signature") &&
            r->signature_count++ < MS_DKIM_MAX_SIGNATURES) {
            st = start_verdict(&v->dkim[r->count], &v->fields[i], r->count);
            r->count++;
        }
    if (st == MS_OK && r->signature_count == 0)
        st = ms_diag_add(&r->diags, DKD(DK_NO_SIGNATURE), NULL, -1, "%s",
                         "no DKIM-Signature header field");
    if (st == MS_OK && r->signature_count > MS_DKIM_MAX_SIGNATURES)
        st = ms_diag_add(&r->diags, DKD(DK_TOO_MANY_SIGNATURES), NULL, -1,
                         "%zu signatures; verified the first %d", r->signature_count,
                         MS_DKIM_MAX_SIGNATURES);
    return st;
}

/* Whether a check hashes the body: a usable DKIM-Signature or
 * ARC-Message-Signature. */
static int needs_body(const dk_check *c)
{
    return c->kind != DK_ARC_SEAL && c->v.sig->usable && c->v.sig->alg != MS_DKIM_ALG_UNKNOWN;
}

static ms_status start_body(ms_dkim_verifier *v)
{
    v->body_started = 1;
    if (v->kept_count > 0 && (v->fields = calloc(v->kept_count, sizeof *v->fields)) == NULL)
        return MS_ERR_NOMEM;
    for (size_t i = 0; i < v->kept_count; i++) {
        const kept_field *k = &v->kept[i];
        const char *raw = v->headers.data + k->offset;
        v->fields[i] = (dk_field){raw, k->name_len, raw, k->len};
    }
    ms_status st = find_signatures(v);
    if (st == MS_OK)
        st = dk_arc_gather(&v->arc, v->fields, v->kept_count);
    for (size_t i = 0; st == MS_OK && i < v->r->count; i++)
        if (needs_body(&v->dkim[i]))
            st = attach_body_hash(v, &v->dkim[i]);
    for (size_t i = 0; st == MS_OK && i < v->arc.check_count; i++)
        if (needs_body(&v->arc.checks[i]))
            st = attach_body_hash(v, &v->arc.checks[i]);
    return st;
}

ms_status ms_dkim_verifier_body(ms_dkim_verifier *v, const void *data, size_t len)
{
    if (v == NULL || (data == NULL && len > 0) || v->finished)
        return MS_ERR_INVALID;
    if (v->error == MS_OK && !v->body_started)
        v->error = start_body(v);
    if (v->error != MS_OK)
        return v->error;
    for (size_t i = 0; i < v->hash_count; i++)
        dk_body_canon_feed(&v->hashes[i]->bc, data, len, hash_emit, v->hashes[i]);
    return MS_OK;
}

/* ---- raw messages ---- */

/* Where the header section of s ends: just past its empty line (a LF or
 * CRLF right after a LF, or at the very start), or 0 when not seen yet.
 * from: where to start looking (new bytes begin there). */
static size_t header_section_end(const char *s, size_t len, size_t from)
{
    if (len >= 1 && s[0] == '\n')
        return 1;
    if (len >= 2 && s[0] == '\r' && s[1] == '\n')
        return 2;
    for (size_t i = from > 2 ? from - 2 : 0; i < len; i++) {
        if (s[i] != '\n')
            continue;
        if (i + 1 < len && s[i + 1] == '\n')
            return i + 2;
        if (i + 2 < len && s[i + 1] == '\r' && s[i + 2] == '\n')
            return i + 3;
    }
    return 0;
}

/* The header section collected by _write, field by field. */
static ms_status feed_raw_head(ms_dkim_verifier *v, size_t len)
{
    dk_splitter sp;
    dk_splitter_init(&sp, v->raw_head.data ? v->raw_head.data : "", len);
    const char *field = NULL;
    size_t flen = 0;
    ms_status st = MS_OK;
    while (st == MS_OK && dk_next_field(&sp, &field, &flen))
        st = ms_dkim_verifier_header(v, field, flen);
    return st;
}

ms_status ms_dkim_verifier_write(ms_dkim_verifier *v, const void *data, size_t len)
{
    if (v == NULL || (data == NULL && len > 0) || v->finished)
        return MS_ERR_INVALID;
    if (v->error != MS_OK || v->body_started)
        return v->body_started ? ms_dkim_verifier_body(v, data, len) : v->error;
    size_t before = v->raw_head.len;
    size_t take = len;
    /* look for the empty line in what is held plus this chunk's first part
     * only, so the header section never holds more than its limit */
    if (take > MS_DKIM_MAX_HEADER_BYTES + 3 - before)
        take = MS_DKIM_MAX_HEADER_BYTES + 3 - before;
    ms_buf_append(&v->raw_head, data, take);
    if (v->raw_head.failed)
        return v->error = MS_ERR_NOMEM;
    size_t end = header_section_end(v->raw_head.data, v->raw_head.len, before);
    if (end == 0)
        return take == len ? MS_OK : (v->error = MS_ERR_LIMIT);
    ms_status st = feed_raw_head(v, end);
    /* the body: what followed the empty line, here and in the chunk */
    if (st == MS_OK)
        st = ms_dkim_verifier_body(v, v->raw_head.data + end, v->raw_head.len - end);
    if (st == MS_OK)
        st = ms_dkim_verifier_body(v, (const char *)data + take, len - take);
    ms_buf_free(&v->raw_head);
    return st;
}

/* ---- the end: keys, then judgement ---- */

/* Every key record needed, in one DNS batch. */
static ms_status ask_keys(ms_dkim_verifier *v, dk_check **checks, size_t count,
                          ms_dns_batch **batch)
{
    size_t queries = 0;
    for (size_t i = 0; i < count; i++) {
        dk_check *c = checks[i];
        c->query = SIZE_MAX;
        if (c->v.key_name == NULL)
            continue;
        ms_status st;
        if (*batch == NULL && (st = ms_dns_batch_new(v->ctx, batch)) != MS_OK)
            return st;
        st = ms_dns_batch_add(*batch, c->v.key_name, MS_DNS_TXT, &c->query);
        if (st == MS_ERR_NOMEM)
            return st;
        if (st != MS_OK)
            c->query = SIZE_MAX; /* a name DNS cannot ask for: judged as not found */
        else
            queries++;
    }
    return queries > 0 ? ms_dns_batch_wait(*batch) : MS_OK;
}

static ms_status judge_all(ms_dkim_verifier *v)
{
    dk_check *checks[MS_DKIM_MAX_SIGNATURES + 1 + MS_DKIM_ARC_MAX_INSTANCES];
    size_t count = 0;
    for (size_t i = 0; i < v->r->count; i++)
        checks[count++] = &v->dkim[i];
    for (size_t i = 0; i < v->arc.check_count; i++)
        checks[count++] = &v->arc.checks[i];
    ms_dns_batch *batch = NULL;
    ms_status st = ask_keys(v, checks, count, &batch);
    time_t now = ms_ctx_now(v->ctx);
    static const ms_dns_answer NXDOMAIN = {.rcode = MS_DNS_NXDOMAIN};
    for (size_t i = 0; st == MS_OK && i < count; i++) {
        const ms_dns_answer *a = checks[i]->query == SIZE_MAX ? &NXDOMAIN
                                                              : ms_dns_batch_answer(batch, checks[i]->query);
        st = judge(v, checks[i], a, now);
    }
    ms_dns_batch_free(batch);
    return st;
}

/* The DKIM verdicts move into the result. */
static ms_status hand_over(ms_dkim_verifier *v)
{
    ms_dkim_verify_result *r = v->r;
    if (r->count > 0 && (r->items = calloc(r->count, sizeof *r->items)) == NULL)
        return MS_ERR_NOMEM;
    for (size_t i = 0; i < r->count; i++) {
        r->items[i] = v->dkim[i].v;
        memset(&v->dkim[i].v, 0, sizeof v->dkim[i].v);
    }
    return MS_OK;
}

ms_status ms_dkim_verifier_finish(ms_dkim_verifier *v, ms_dkim_verify_result **out)
{
    if (out != NULL)
        *out = NULL;
    if (v == NULL || out == NULL || v->finished)
        return MS_ERR_INVALID;
    if (v->error == MS_OK && v->raw_head.len > 0) /* _write saw no empty line: no body */
        v->error = feed_raw_head(v, v->raw_head.len);
    ms_buf_free(&v->raw_head);
    v->finished = 1;
    if (v->error == MS_OK && !v->body_started)
        v->error = start_body(v);
    ms_status st = v->error;
    if (st == MS_OK)
        st = finish_body_hashes(v);
    if (st == MS_OK)
        st = judge_all(v);
    if (st == MS_OK)
        st = hand_over(v);
    if (st == MS_OK)
        st = dk_arc_conclude(&v->arc, v->r);
    if (st != MS_OK)
        return v->error = st;
    *out = v->r;
    v->r = NULL;
    return MS_OK;
}

ms_status ms_dkim_verifier_new(ms_ctx *ctx, const ms_dkim_verify_options *options,
                               ms_dkim_verifier **out)
{
    *out = NULL;
    if (ctx == NULL)
        return MS_ERR_INVALID;
    ms_dkim_verifier *v = calloc(1, sizeof *v);
    if (v == NULL)
        return MS_ERR_NOMEM;
    if ((v->r = calloc(1, sizeof *v->r)) == NULL) {
        free(v);
        return MS_ERR_NOMEM;
    }
    v->ctx = ctx;
    if (options != NULL)
        v->opts = *options;
    *out = v;
    return MS_OK;
}

void ms_dkim_verifier_free(ms_dkim_verifier *v)
{
    if (v == NULL)
        return;
    for (size_t i = 0; i < MS_DKIM_MAX_SIGNATURES; i++)
        verdict_free(&v->dkim[i].v);
    dk_arc_free(&v->arc);
    for (size_t i = 0; i < v->hash_count; i++) {
        EVP_MD_CTX_free(v->hashes[i]->ctx);
        free(v->hashes[i]);
    }
    ms_dkim_verify_result_free(v->r);
    free(v->fields);
    free(v->kept);
    ms_buf_free(&v->headers);
    ms_buf_free(&v->raw_head);
    free(v);
}

void dk_check_free(dk_check *c)
{
    verdict_free(&c->v);
}

/* ---- a message in memory ---- */

ms_status ms_dkim_verify(ms_ctx *ctx, const char *message, size_t len, ms_dkim_verify_result **out)
{
    return ms_dkim_verify_with(ctx, message, len, NULL, out);
}

ms_status ms_dkim_verify_with(ms_ctx *ctx, const char *message, size_t len,
                              const ms_dkim_verify_options *options, ms_dkim_verify_result **out)
{
    *out = NULL;
    if (ctx == NULL || (message == NULL && len > 0))
        return MS_ERR_INVALID;
    if (len > MS_DKIM_MAX_MESSAGE)
        return MS_ERR_LIMIT;
    ms_dkim_verifier *v = NULL;
    ms_status st = ms_dkim_verifier_new(ctx, options, &v);
    if (st == MS_OK)
        st = ms_dkim_verifier_write(v, message, len);
    if (st == MS_OK)
        st = ms_dkim_verifier_finish(v, out);
    ms_dkim_verifier_free(v);
    return st;
}
