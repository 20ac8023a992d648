/* Verifying a message's DKIM signatures (RFC 6376 section 6, RFC 8463).
 *
 * Every signature is parsed first, then all the key records are fetched in
 * one DNS batch, then each signature is judged on its own: a result
 * (pass, fail, permerror, temperror) and a one-word reason. */
#include "internal.h"

#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

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
    for (size_t i = 0; i < r->count; i++)
        verdict_free(&r->items[i]);
    free(r->items);
    ms_diag_list_free(&r->diags);
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

/* ---- hashing ---- */

static const EVP_MD *alg_md(ms_dkim_alg alg)
{
    return alg == MS_DKIM_ALG_RSA_SHA1 ? EVP_sha1() : EVP_sha256();
}

static int digest(const EVP_MD *md, const void *data, size_t len, unsigned char *out,
                  unsigned *out_len)
{
    return EVP_Digest(data, len, out, out_len, md, NULL) == 1;
}

/* Body hash; 1 match, 0 mismatch, -1 body shorter than l=, -2 no memory. */
static int check_body(const ms_dkim_signature *sig, const dk_message *m)
{
    char *canon = NULL;
    size_t clen = 0;
    if (dk_canon_body(sig->body_canon, m->body, m->body_len, &canon, &clen) != MS_OK)
        return -2;
    size_t use = clen;
    if (sig->has_l) {
        if (sig->l > clen) {
            free(canon);
            return -1;
        }
        use = (size_t)sig->l;
    }
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned mdlen = 0;
    int ok = digest(alg_md(sig->alg), canon, use, md, &mdlen);
    free(canon);
    if (!ok)
        return -2;
    return mdlen == sig->bh_len && memcmp(md, sig->bh, mdlen) == 0;
}

/* The header data that was signed (RFC 6376 5.4.2): for each name in h=,
 * the last not yet used instance of that field, bottom up; names with no
 * instance left contribute nothing. Then the signature field itself with
 * b= emptied and no final CRLF. */
static char *signed_headers(const ms_dkim_signature *sig, const dk_message *m,
                            const dk_field *self, size_t *out_len)
{
    unsigned char *used = calloc(m->field_count ? m->field_count : 1, 1);
    if (used == NULL)
        return NULL;
    ms_buf buf = MS_BUF_INIT;
    for (size_t k = 0; k < sig->h_count; k++) {
        for (size_t i = m->field_count; i-- > 0;) {
            const dk_field *f = &m->fields[i];
            if (used[i] || !ms_ascii_ieq(f->name, f->name_len, sig->h[k]))
                continue;
            used[i] = 1;
            dk_canon_header(sig->header_canon, f->raw, f->raw_len, 0, &buf);
            break;
        }
    }
    free(used);
    dk_canon_header(sig->header_canon, self->raw, self->raw_len, 1, &buf);
    *out_len = buf.len;
    return ms_buf_take(&buf);
}

/* 1 valid, 0 invalid, -2 no memory. */
static int check_signature(const ms_dkim_signature *sig, const ms_dkim_key *key,
                           const dk_message *m, const dk_field *self)
{
    size_t len = 0;
    char *data = signed_headers(sig, m, self, &len);
    if (data == NULL)
        return -2;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    int ok = -2;
    if (ctx != NULL) {
        if (sig->alg == MS_DKIM_ALG_ED25519_SHA256) {
            /* RFC 8463: PureEdDSA over the SHA-256 hash of the data */
            unsigned char h[EVP_MAX_MD_SIZE];
            unsigned hl = 0;
            ok = digest(EVP_sha256(), data, len, h, &hl) &&
                 EVP_DigestVerifyInit(ctx, NULL, NULL, NULL, key->pkey) == 1 &&
                 EVP_DigestVerify(ctx, sig->b, sig->b_len, h, hl) == 1;
        } else {
            ok = EVP_DigestVerifyInit(ctx, NULL, alg_md(sig->alg), NULL, key->pkey) == 1 &&
                 EVP_DigestVerify(ctx, sig->b, sig->b_len, (const unsigned char *)data, len) == 1;
        }
        EVP_MD_CTX_free(ctx);
    }
    free(data);
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

static ms_status judge(ms_dkim_verdict *v, const dk_message *m, const dk_field *self,
                       const ms_dns_answer *answer, time_t now, const ms_dkim_verify_options *opts)
{
    set(v, MS_DKIM_PASS, "ok");
    if (!v->sig->usable) {
        set(v, MS_DKIM_PERMERROR, first_error_reason(&v->diags, 0, "signature-unusable"));
        return MS_OK;
    }
    /* RFC 8301 3.1: verifiers must not consider rsa-sha1 signatures valid;
     * old archives may ask for them to be verified all the same */
    if (v->sig->alg == MS_DKIM_ALG_RSA_SHA1 && !opts->allow_sha1) {
        set(v, MS_DKIM_PERMERROR, "rsa-sha1-refused");
        return ms_diag_add(&v->diags, DKD(DK_RSA_SHA1_REFUSED), NULL, -1, "%s",
                           "a=rsa-sha1 is not accepted (RFC 8301 3.1); --allow-sha1 verifies it");
    }
    ms_status st = check_times(v, now);
    if (st != MS_OK || v->result != MS_DKIM_PASS)
        return st;
    if ((st = pick_record(v, answer)) != MS_OK || v->result != MS_DKIM_PASS)
        return st;
    if ((st = key_fits(v)) != MS_OK || v->result != MS_DKIM_PASS)
        return st;
    int body = check_body(v->sig, m);
    if (body == -2)
        return MS_ERR_NOMEM;
    if (body == -1) {
        set(v, MS_DKIM_FAIL, "body-too-short");
        return ms_diag_add(&v->diags, DKD(DK_BODY_TOO_SHORT), NULL, -1,
                           "l=%llu but the canonical body is shorter", (unsigned long long)v->sig->l);
    }
    if (body == 0) {
        set(v, MS_DKIM_FAIL, "body-hash-mismatch");
        return ms_diag_add(&v->diags, DKD(DK_BODY_HASH_MISMATCH), NULL, -1,
                           "the %s/%s body hash differs from bh=",
                           v->sig->header_canon ? "relaxed" : "simple",
                           v->sig->body_canon ? "relaxed" : "simple");
    }
    int good = check_signature(v->sig, v->key, m, self);
    if (good == -2)
        return MS_ERR_NOMEM;
    if (!good) {
        set(v, MS_DKIM_FAIL, "signature-mismatch");
        return ms_diag_add(&v->diags, DKD(DK_SIGNATURE_MISMATCH), NULL, -1,
                           "b= does not verify with the key at %s", v->key_name);
    }
    return MS_OK;
}

/* ---- the message ---- */

static int is_signature_field(const dk_field *f)
{
    return ms_ascii_ieq(f->name, f->name_len, "DKIM-Signature");
}

static ms_status start_verdict(ms_dkim_verdict *v, const dk_field *f, size_t index)
{
    const char *colon = memchr(f->raw, ':', f->raw_len);
    size_t vlen = f->raw_len - (size_t)(colon + 1 - f->raw);
    if (vlen >= 2 && colon[vlen - 1] == '\r' && colon[vlen] == '\n')
        vlen -= 2;
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
    if (v->sig->d && v->sig->s && v->sig->usable)
        v->key_name = ms_asprintf("%s._domainkey.%s", v->sig->s, v->sig->d);
    return MS_OK;
}

static ms_status verify_fields(ms_ctx *ctx, const dk_message *m, const dk_field **fields,
                               const ms_dkim_verify_options *opts, ms_dkim_verify_result *r)
{
    ms_dns_batch *batch = NULL;
    size_t *qidx = calloc(r->count ? r->count : 1, sizeof *qidx);
    if (qidx == NULL)
        return MS_ERR_NOMEM;
    ms_status st = MS_OK;
    size_t queries = 0;
    for (size_t i = 0; st == MS_OK && i < r->count; i++) {
        qidx[i] = SIZE_MAX;
        if (r->items[i].key_name == NULL)
            continue;
        if (batch == NULL && (st = ms_dns_batch_new(ctx, &batch)) != MS_OK)
            break;
        if (ms_dns_batch_add(batch, r->items[i].key_name, MS_DNS_TXT, &qidx[i]) != MS_OK)
            qidx[i] = SIZE_MAX; /* a name DNS cannot ask for: judged as not found */
        else
            queries++;
    }
    if (st == MS_OK && queries > 0)
        st = ms_dns_batch_wait(batch);
    time_t now = ms_ctx_now(ctx);
    for (size_t i = 0; st == MS_OK && i < r->count; i++) {
        const ms_dns_answer *a = qidx[i] == SIZE_MAX ? NULL : ms_dns_batch_answer(batch, qidx[i]);
        static const ms_dns_answer NXDOMAIN = {.rcode = MS_DNS_NXDOMAIN};
        if (qidx[i] == SIZE_MAX)
            a = &NXDOMAIN;
        st = judge(&r->items[i], m, fields[i], a, now, opts);
    }
    ms_dns_batch_free(batch);
    free(qidx);
    return st;
}

ms_status ms_dkim_verify(ms_ctx *ctx, const char *message, size_t len, ms_dkim_verify_result **out)
{
    return ms_dkim_verify_with(ctx, message, len, NULL, out);
}

ms_status ms_dkim_verify_with(ms_ctx *ctx, const char *message, size_t len,
                              const ms_dkim_verify_options *options, ms_dkim_verify_result **out)
{
    static const ms_dkim_verify_options DEFAULTS = {0};
    const ms_dkim_verify_options *opts = options ? options : &DEFAULTS;
    *out = NULL;
    if (ctx == NULL || (message == NULL && len > 0))
        return MS_ERR_INVALID;
    if (len > MS_DKIM_MAX_MESSAGE)
        return MS_ERR_LIMIT;
    ms_dkim_verify_result *r = calloc(1, sizeof *r);
    if (r == NULL)
        return MS_ERR_NOMEM;
    dk_message m;
    ms_status st = dk_message_parse(message ? message : "", len, &m);
    const dk_field *fields[MS_DKIM_MAX_SIGNATURES];
    if (st == MS_OK && m.malformed)
        st = ms_diag_add(&r->diags, DKD(DK_MESSAGE_MALFORMED), NULL, -1, "%s",
                         "the header section has lines that are not header fields");
    for (size_t i = 0; st == MS_OK && i < m.field_count; i++)
        if (is_signature_field(&m.fields[i]) && r->signature_count++ < MS_DKIM_MAX_SIGNATURES)
            fields[r->count++] = &m.fields[i];
    if (st == MS_OK && r->signature_count == 0)
        st = ms_diag_add(&r->diags, DKD(DK_NO_SIGNATURE), NULL, -1, "%s",
                         "no DKIM-Signature header field");
    if (st == MS_OK && r->signature_count > MS_DKIM_MAX_SIGNATURES)
        st = ms_diag_add(&r->diags, DKD(DK_TOO_MANY_SIGNATURES), NULL, -1,
                         "%zu signatures; verified the first %d", r->signature_count,
                         MS_DKIM_MAX_SIGNATURES);
    if (st == MS_OK && r->count > 0 && (r->items = calloc(r->count, sizeof *r->items)) == NULL)
        st = MS_ERR_NOMEM;
    for (size_t i = 0; st == MS_OK && i < r->count; i++)
        st = start_verdict(&r->items[i], fields[i], i);
    if (st != MS_OK)
        r->count = r->items ? r->count : 0;
    if (st == MS_OK)
        st = verify_fields(ctx, &m, fields, opts, r);
    dk_message_free(&m);
    if (st != MS_OK) {
        ms_dkim_verify_result_free(r);
        return st;
    }
    *out = r;
    return MS_OK;
}
