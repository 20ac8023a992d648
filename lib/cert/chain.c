/* The chain checker: one certificate chain (DER, as sent or as read from
 * files) against what RFC 5246 7.4.2 / RFC 8446 4.4.2 and clients expect.
 *
 * The order of the work: parse every blob, drop duplicates, find the leaf,
 * walk the issuer path through the sent certificates (which shows order,
 * unrelated certificates and a root sent along), then let OpenSSL verify
 * against the trust store, and check each certificate on the path: dates by
 * the context's clock, key size, signature hash; and the leaf's host name. */
#include "internal.h"

#include "core/lazy_openssl.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Key sizes below these are cert.key-weak (NIST SP 800-57: 112-bit security). */
enum { MIN_RSA_BITS = 2048, MIN_EC_BITS = 256 };

typedef struct chain {
    ms_ctx *ctx;
    const ms_cert_blob *blobs;
    size_t count;
    X509 **x509;         /* NULL where a blob did not parse or is a duplicate */
    X509_STORE *trust;   /* the caller's, or NULL: made by verify() */
    size_t leaf;         /* index of the leaf */
    size_t path[MS_CERT_MAX_CHAIN]; /* indexes from the leaf up to the last sent issuer */
    size_t path_len;
    const ms_cert_check_opts *opts;
    const char *const *origins;
    const char *location;
    ms_diag_list *diags;
    ms_status status;
} chain;

const char *cert_origin(const char *const *origins, size_t index, char *buf, size_t size)
{
    if (origins != NULL && origins[index] != NULL)
        return origins[index];
    snprintf(buf, size, "certificate %zu", index + 1);
    return buf;
}

char *cert_name_line(const X509_NAME *name)
{
    BIO *bio = BIO_new(BIO_s_mem());
    if (bio == NULL)
        return NULL;
    X509_NAME_print_ex(bio, name, 0, XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB);
    char *data;
    long len = BIO_get_mem_data(bio, &data);
    char *out = malloc((size_t)len + 1);
    if (out != NULL) {
        memcpy(out, data, (size_t)len);
        out[len] = '\0';
    }
    BIO_free(bio);
    return out;
}

static void add(chain *c, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void add(chain *c, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    ms_status st = ms_diag_addv(c->diags, CT_DEF(code), c->location, -1, fmt, ap);
    va_end(ap);
    if (st != MS_OK)
        c->status = st;
}

/* "cert.pem line 29 (CN=mail.example.com)": which certificate, in words. */
static char *describe(const chain *c, size_t i)
{
    char buf[32];
    const char *origin = cert_origin(c->origins, i, buf, sizeof buf);
    char *subject = c->x509[i] ? cert_name_line(X509_get_subject_name(c->x509[i])) : NULL;
    char *out = subject ? ms_asprintf("%s (%s)", origin, subject) : ms_strdup(origin);
    free(subject);
    return out;
}

static int issued_by(X509 *subject, X509 *issuer)
{
    return X509_check_issued(issuer, subject) == X509_V_OK;
}

static int self_signed(X509 *x)
{
    return X509_self_signed(x, 0) == 1;
}

static void parse_blobs(chain *c)
{
    for (size_t i = 0; i < c->count; i++) {
        const unsigned char *p = c->blobs[i].der;
        char buf[32];
        if (c->blobs[i].len > LONG_MAX || p == NULL) {
            add(c, CT_PEM_DECODE, "%s is empty or too large",
                cert_origin(c->origins, i, buf, sizeof buf));
            continue;
        }
        X509 *x = d2i_X509(NULL, &p, (long)c->blobs[i].len);
        if (x == NULL || p != c->blobs[i].der + c->blobs[i].len) {
            add(c, CT_PEM_DECODE, "%s is not a DER-encoded X.509 certificate",
                cert_origin(c->origins, i, buf, sizeof buf));
            X509_free(x);
            continue;
        }
        c->x509[i] = x;
    }
}

static void drop_duplicates(chain *c)
{
    for (size_t j = 0; j < c->count; j++)
        for (size_t i = 0; i < j && c->x509[j] != NULL; i++) {
            if (c->x509[i] == NULL || X509_cmp(c->x509[i], c->x509[j]) != 0)
                continue; /* X509_cmp: the same encoding */
            char *first = describe(c, i), *again = describe(c, j);
            char buf[32];
            add(c, CT_DUPLICATE, "%s is the same certificate as %s",
                again ? again : cert_origin(c->origins, j, buf, sizeof buf),
                first ? first : "an earlier one");
            free(first);
            free(again);
            X509_free(c->x509[j]);
            c->x509[j] = NULL;
        }
}

/* Does certificate i issue any other certificate of the chain? */
static int issues_another(const chain *c, size_t i)
{
    for (size_t j = 0; j < c->count; j++)
        if (j != i && c->x509[j] != NULL && issued_by(c->x509[j], c->x509[i]))
            return 1;
    return 0;
}

/* The leaf of files given in any order: a certificate that issued none of
 * the others, preferring one that is not a CA. */
static size_t pick_leaf(const chain *c, size_t first)
{
    size_t fallback = first;
    int have_fallback = 0;
    for (size_t i = 0; i < c->count; i++) {
        if (c->x509[i] == NULL || issues_another(c, i))
            continue;
        if (X509_check_ca(c->x509[i]) == 0)
            return i;
        if (!have_fallback) {
            fallback = i;
            have_fallback = 1;
        }
    }
    return fallback;
}

static int on_path(const chain *c, size_t i)
{
    for (size_t k = 0; k < c->path_len; k++)
        if (c->path[k] == i)
            return 1;
    return 0;
}

/* From the leaf, each certificate's issuer among the sent ones, preferring
 * the next one in the order given; stops at a self-signed certificate or
 * when no sent certificate issued the last one. */
static void walk_path(chain *c)
{
    c->path[0] = c->leaf;
    c->path_len = 1;
    while (c->path_len < MS_CERT_MAX_CHAIN) {
        size_t cur = c->path[c->path_len - 1];
        if (self_signed(c->x509[cur]))
            return;
        size_t found = c->count;
        for (size_t step = 1; step < c->count && found == c->count; step++) {
            size_t j = (cur + step) % c->count;
            if (c->x509[j] != NULL && !on_path(c, j) && issued_by(c->x509[cur], c->x509[j]))
                found = j;
        }
        if (found == c->count)
            return;
        c->path[c->path_len++] = found;
    }
}

void cert_find_path(X509 **x509, size_t count, size_t *path, size_t *path_len)
{
    chain c = {.x509 = x509, .count = count};
    size_t first = 0;
    while (first < count && x509[first] == NULL)
        first++;
    *path_len = 0;
    if (first == count)
        return;
    c.leaf = issues_another(&c, first) ? pick_leaf(&c, first) : first;
    walk_path(&c);
    memcpy(path, c.path, c.path_len * sizeof *path);
    *path_len = c.path_len;
}

int cert_self_signed(X509 *x)
{
    return self_signed(x);
}

static void check_order(chain *c, size_t first)
{
    if (c->leaf != first) {
        char *leaf = describe(c, c->leaf);
        add(c, CT_CHAIN_ORDER, "the leaf, %s, is not the first certificate", leaf ? leaf : "");
        free(leaf);
        return;
    }
    for (size_t k = 1; k < c->path_len; k++) {
        if (c->path[k] > c->path[k - 1])
            continue;
        char *issuer = describe(c, c->path[k]), *subject = describe(c, c->path[k - 1]);
        add(c, CT_CHAIN_ORDER, "%s issued %s but comes before it", issuer ? issuer : "",
            subject ? subject : "");
        free(issuer);
        free(subject);
        return;
    }
}

static void check_membership(chain *c)
{
    for (size_t i = 0; i < c->count; i++) {
        if (c->x509[i] == NULL || on_path(c, i))
            continue;
        char *what = describe(c, i);
        add(c, CT_UNRELATED, "%s is not on the path from the leaf to its root", what ? what : "");
        free(what);
    }
    size_t last = c->path[c->path_len - 1];
    if (c->path_len > 1 && self_signed(c->x509[last])) {
        char *what = describe(c, last);
        add(c, CT_ROOT_INCLUDED, "the root %s is sent along", what ? what : "");
        free(what);
    }
}

X509_STORE *cert_trust_store(const char *ca_file)
{
    X509_STORE *store = X509_STORE_new();
    if (store == NULL)
        return NULL;
    int ok = ca_file ? X509_STORE_load_file(store, ca_file) : X509_STORE_set_default_paths(store);
    if (!ok) {
        X509_STORE_free(store);
        return NULL;
    }
    return store;
}

/* Turns OpenSSL's verdict into our findings. Dates are not OpenSSL's
 * business here (X509_V_FLAG_NO_CHECK_TIME): check_dates reports them by
 * the context's clock. */
static void report_verify_error(chain *c, X509_STORE_CTX *vctx)
{
    int err = X509_STORE_CTX_get_error(vctx);
    X509 *at = X509_STORE_CTX_get_current_cert(vctx);
    char *subject = at ? cert_name_line(X509_get_subject_name(at)) : NULL;
    char *issuer = at ? cert_name_line(X509_get_issuer_name(at)) : NULL;
    const char *s = subject ? subject : "?", *is = issuer ? issuer : "?";
    switch (err) {
    case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
        add(c, CT_SELF_SIGNED, "the leaf %s is self-signed and not in the trust store", s);
        break;
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
        if (X509_STORE_CTX_get_error_depth(vctx) == 0)
            add(c, CT_INTERMEDIATE_MISSING,
                "the leaf's issuer, %s, is neither in the chain nor a trusted root", is);
        else
            add(c, CT_UNTRUSTED,
                "the chain ends at %s, whose issuer %s is neither in the chain nor a trusted root",
                s, is);
        break;
    case X509_V_ERR_INVALID_PURPOSE:
        if (at != NULL && X509_STORE_CTX_get_error_depth(vctx) == 0 && X509_check_ca(at) != 0)
            add(c, CT_VERIFY_FAILED,
                "the first certificate, %s, is a CA certificate: the server's own certificate is missing", s);
        else
            add(c, CT_VERIFY_FAILED, "%s: %s (not a certificate for TLS servers)", s,
                X509_verify_cert_error_string(err));
        break;
    case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
        add(c, CT_UNTRUSTED, "the chain ends at the root %s, which is not in the trust store", s);
        break;
    default:
        add(c, CT_VERIFY_FAILED, "%s: %s", s, X509_verify_cert_error_string(err));
        break;
    }
    free(subject);
    free(issuer);
}

static int verify(chain *c)
{
    X509_STORE *store = c->trust;
    if (store == NULL)
        store = cert_trust_store(c->opts ? c->opts->ca_file : NULL);
    else if (!X509_STORE_up_ref(store))
        store = NULL;
    X509_STORE_CTX *vctx = X509_STORE_CTX_new();
    STACK_OF(X509) *untrusted = sk_X509_new_null();
    int verified = -1;
    if (store == NULL || vctx == NULL || untrusted == NULL)
        goto done;
    for (size_t i = 0; i < c->count; i++)
        if (c->x509[i] != NULL && i != c->leaf && !sk_X509_push(untrusted, c->x509[i]))
            goto done;
    if (!X509_STORE_CTX_init(vctx, store, c->x509[c->leaf], untrusted))
        goto done;
    X509_VERIFY_PARAM *param = X509_STORE_CTX_get0_param(vctx);
    X509_VERIFY_PARAM_set_flags(param, X509_V_FLAG_NO_CHECK_TIME);
    X509_VERIFY_PARAM_set_purpose(param, X509_PURPOSE_SSL_SERVER);
    verified = X509_verify_cert(vctx) == 1;
    if (!verified)
        report_verify_error(c, vctx);
done:
    if (verified < 0 && c->status == MS_OK)
        c->status = (store == NULL && c->opts && c->opts->ca_file) ? MS_ERR_IO : MS_ERR_NOMEM;
    sk_X509_free(untrusted);
    X509_STORE_CTX_free(vctx);
    X509_STORE_free(store);
    return verified > 0;
}

static char *iso_time(const ASN1_TIME *t)
{
    struct tm tm;
    char buf[32];
    if (!ASN1_TIME_to_tm(t, &tm) || strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
        return ms_strdup("");
    return ms_strdup(buf);
}

/* Days from now to t, rounded down (negative when t is past). */
static long days_until(time_t now, const ASN1_TIME *t)
{
    ASN1_TIME *asn_now = ASN1_TIME_set(NULL, now);
    int days = 0, secs = 0;
    if (asn_now == NULL || !ASN1_TIME_diff(&days, &secs, asn_now, t))
        days = secs = 0;
    ASN1_TIME_free(asn_now);
    return secs < 0 ? (long)days - 1 : (long)days;
}

static void check_dates(chain *c, size_t i, int days_warning)
{
    time_t now = ms_ctx_now(c->ctx);
    X509 *x = c->x509[i];
    const ASN1_TIME *not_before = X509_get0_notBefore(x), *not_after = X509_get0_notAfter(x);
    char *what = describe(c, i);
    const char *w = what ? what : "";
    if (X509_cmp_time(not_before, &now) > 0) {
        char *when = iso_time(not_before);
        add(c, CT_NOT_YET_VALID, "%s is valid only from %s", w, when ? when : "");
        free(when);
    } else if (X509_cmp_time(not_after, &now) < 0) {
        char *when = iso_time(not_after);
        add(c, CT_EXPIRED, "%s expired on %s", w, when ? when : "");
        free(when);
    } else if (days_until(now, not_after) < days_warning) {
        char *when = iso_time(not_after);
        add(c, CT_EXPIRING, "%s expires on %s, in %ld days (warning under %d)", w,
            when ? when : "", days_until(now, not_after), days_warning);
        free(when);
    }
    free(what);
}

static const char *key_type_name(const EVP_PKEY *key)
{
    switch (EVP_PKEY_get_base_id(key)) {
    case EVP_PKEY_RSA: return "RSA";
    case EVP_PKEY_RSA_PSS: return "RSA-PSS";
    case EVP_PKEY_EC: return "EC";
    case EVP_PKEY_DSA: return "DSA";
    case EVP_PKEY_ED25519: return "Ed25519";
    case EVP_PKEY_ED448: return "Ed448";
    default: return "unknown";
    }
}

static void check_key(chain *c, size_t i)
{
    EVP_PKEY *key = X509_get0_pubkey(c->x509[i]);
    if (key == NULL)
        return;
    int id = EVP_PKEY_get_base_id(key), bits = EVP_PKEY_get_bits(key);
    int weak = ((id == EVP_PKEY_RSA || id == EVP_PKEY_RSA_PSS || id == EVP_PKEY_DSA) && bits < MIN_RSA_BITS) ||
               (id == EVP_PKEY_EC && bits < MIN_EC_BITS);
    if (!weak)
        return;
    char *what = describe(c, i);
    add(c, CT_KEY_WEAK, "%s has a %d-bit %s key", what ? what : "", bits, key_type_name(key));
    free(what);
}

/* A self-signed root's own signature is not checked by anyone, so only
 * signatures made by an issuer count. */
static void check_signature(chain *c, size_t i)
{
    if (self_signed(c->x509[i]))
        return;
    int mdnid = NID_undef;
    if (!X509_get_signature_info(c->x509[i], &mdnid, NULL, NULL, NULL))
        return;
    if (mdnid != NID_sha1 && mdnid != NID_md5 && mdnid != NID_md5_sha1)
        return;
    char *what = describe(c, i);
    add(c, CT_SIGNATURE_WEAK, "%s is signed with %s", what ? what : "", OBJ_nid2sn(mdnid));
    free(what);
}

/* The leaf's subjectAltName DNS names, space-separated ("" when none). */
static char *dns_names(X509 *x)
{
    ms_buf out = MS_BUF_INIT;
    ms_buf_puts(&out, "");
    GENERAL_NAMES *names = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
    for (int i = 0; names != NULL && i < sk_GENERAL_NAME_num(names); i++) {
        const GENERAL_NAME *gn = sk_GENERAL_NAME_value(names, i);
        if (gn->type != GEN_DNS)
            continue;
        const ASN1_IA5STRING *s = gn->d.dNSName;
        if (out.len > 0)
            ms_buf_puts(&out, " ");
        ms_buf_append(&out, (const char *)ASN1_STRING_get0_data(s), (size_t)ASN1_STRING_length(s));
    }
    GENERAL_NAMES_free(names);
    return ms_buf_take(&out);
}

static void check_host(chain *c)
{
    const char *host = c->opts ? c->opts->host : NULL;
    if (host == NULL || *host == '\0')
        return;
    X509 *leaf = c->x509[c->leaf];
    int ok;
    ASN1_OCTET_STRING *ip = a2i_IPADDRESS(host);
    if (ip != NULL) {
        ok = X509_check_ip_asc(leaf, host, 0) == 1;
        ASN1_OCTET_STRING_free(ip);
    } else {
        ok = X509_check_host(leaf, host, strlen(host), 0, NULL) == 1;
    }
    if (ok)
        return;
    char *names = dns_names(leaf);
    add(c, CT_HOST_MISMATCH, "the certificate does not cover %s (it names: %s)", host,
        names && *names ? names : "no DNS names");
    free(names);
}

static char *fingerprint(X509 *x)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    if (!X509_digest(x, EVP_sha256(), md, &len))
        return ms_strdup("");
    char *hex = malloc(len * 2 + 1);
    if (hex == NULL)
        return NULL;
    for (unsigned int i = 0; i < len; i++)
        snprintf(hex + 2 * i, 3, "%02x", md[i]);
    return hex;
}

static void fill_info(chain *c, ms_cert_chain_info *info, int verified)
{
    X509 *leaf = c->x509[c->leaf];
    EVP_PKEY *key = X509_get0_pubkey(leaf);
    info->subject = cert_name_line(X509_get_subject_name(leaf));
    info->issuer = cert_name_line(X509_get_issuer_name(leaf));
    info->names = dns_names(leaf);
    info->not_before = iso_time(X509_get0_notBefore(leaf));
    info->not_after = iso_time(X509_get0_notAfter(leaf));
    info->days_left = days_until(ms_ctx_now(c->ctx), X509_get0_notAfter(leaf));
    info->key_type = ms_strdup(key ? key_type_name(key) : "unknown");
    info->key_bits = key ? EVP_PKEY_get_bits(key) : 0;
    info->signature_algorithm = ms_strdup(OBJ_nid2ln(X509_get_signature_nid(leaf)));
    info->fingerprint_sha256 = fingerprint(leaf);
    info->verified = verified;
    info->sent = c->count;
    info->leaf = c->leaf;
    if (!info->subject || !info->issuer || !info->names || !info->not_before ||
        !info->not_after || !info->key_type || !info->signature_algorithm ||
        !info->fingerprint_sha256)
        c->status = MS_ERR_NOMEM;
}

void ms_cert_chain_info_free(ms_cert_chain_info *info)
{
    if (info == NULL)
        return;
    free(info->subject);
    free(info->issuer);
    free(info->names);
    free(info->not_before);
    free(info->not_after);
    free(info->key_type);
    free(info->signature_algorithm);
    free(info->fingerprint_sha256);
    memset(info, 0, sizeof *info);
}

/* The checks, once c->x509 holds the certificates (NULL where one did
 * not parse); frees them. */
static ms_status check_parsed(chain *c, ms_cert_chain_info *info)
{
    const ms_cert_check_opts *opts = c->opts;
    drop_duplicates(c);
    size_t first = 0;
    while (first < c->count && c->x509[first] == NULL)
        first++;
    if (first == c->count) {
        add(c, CT_NO_CERTIFICATE, "no certificate could be read");
    } else {
        /* A first certificate that issued another one cannot be the leaf:
         * the chain was sent (or written) upside down. */
        int search = (opts && opts->find_leaf) || issues_another(c, first);
        c->leaf = search ? pick_leaf(c, first) : first;
        walk_path(c);
        check_order(c, first);
        check_membership(c);
        int verified = verify(c);
        int days_warning = opts && opts->days_warning > 0 ? opts->days_warning : MS_CERT_DAYS_WARNING;
        for (size_t k = 0; k < c->path_len; k++) {
            check_dates(c, c->path[k], days_warning);
            check_key(c, c->path[k]);
            check_signature(c, c->path[k]);
        }
        check_host(c);
        if (info != NULL)
            fill_info(c, info, verified);
    }
    for (size_t i = 0; i < c->count; i++)
        X509_free(c->x509[i]);
    free(c->x509);
    return c->status;
}

/* The chain's state for count certificates (given is 0 when the caller's
 * array is NULL). */
static ms_status chain_init(chain *c, ms_ctx *ctx, int given, size_t count, const ms_cert_check_opts *opts,
                            ms_cert_chain_info *info, ms_diag_list *diags)
{
    if (info != NULL)
        memset(info, 0, sizeof *info);
    if (ctx == NULL || diags == NULL || (!given && count > 0))
        return MS_ERR_INVALID;
    if (count > MS_CERT_MAX_CHAIN)
        return MS_ERR_LIMIT;
    *c = (chain){.ctx = ctx, .count = count, .opts = opts, .location = opts ? opts->location : NULL,
                 .origins = opts ? opts->origins : NULL, .diags = diags, .status = MS_OK};
    c->x509 = calloc(count ? count : 1, sizeof *c->x509);
    return c->x509 != NULL ? MS_OK : MS_ERR_NOMEM;
}

ms_status ms_cert_check_chain(ms_ctx *ctx, const ms_cert_blob *blobs, size_t count,
                              const ms_cert_check_opts *opts, ms_cert_chain_info *info,
                              ms_diag_list *diags)
{
    chain c;
    ms_status st = chain_init(&c, ctx, blobs != NULL, count, opts, info, diags);
    if (st != MS_OK)
        return st;
    c.blobs = blobs;
    parse_blobs(&c);
    return check_parsed(&c, info);
}

ms_status cert_check_parsed_chain(ms_ctx *ctx, X509 *const *certs, size_t count, X509_STORE *trust,
                                  const ms_cert_check_opts *opts, ms_cert_chain_info *info,
                                  ms_diag_list *diags)
{
    chain c;
    ms_status st = chain_init(&c, ctx, certs != NULL, count, opts, info, diags);
    if (st != MS_OK)
        return st;
    c.trust = trust;
    for (size_t i = 0; i < count; i++)
        if (certs[i] != NULL && X509_up_ref(certs[i]))
            c.x509[i] = certs[i];
    return check_parsed(&c, info);
}
