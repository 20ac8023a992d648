/* DKIM key records (RFC 6376 3.6.1, RFC 8301, RFC 8463): parse and lint. */
#include "internal.h"

#include "core/lazy_openssl.h"
#include <stdlib.h>
#include <string.h>

const char *ms_dkim_key_type_str(ms_dkim_key_type type)
{
    switch (type) {
    case MS_DKIM_KEY_RSA:
        return "rsa";
    case MS_DKIM_KEY_ED25519:
        return "ed25519";
    default:
        return "unknown";
    }
}

void *dk_pkey_from_der(const unsigned char *der, size_t len, unsigned *bits)
{
    const unsigned char *p = der;
    if (len > 65536)
        return NULL;
    EVP_PKEY *pkey = d2i_PUBKEY(NULL, &p, (long)len);
    if (pkey == NULL)
        return NULL;
    /* trailing bytes after the DER structure mean it is not one key */
    if (p != der + len || EVP_PKEY_base_id(pkey) != EVP_PKEY_RSA) {
        EVP_PKEY_free(pkey);
        return NULL;
    }
    *bits = (unsigned)EVP_PKEY_get_bits(pkey);
    return pkey;
}

void *dk_pkey_ed25519(const unsigned char *raw, size_t len)
{
    if (len != 32)
        return NULL;
    return EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, raw, len);
}

void dk_pkey_free(void *pkey)
{
    EVP_PKEY_free(pkey);
}

void ms_dkim_key_free(ms_dkim_key *key)
{
    if (key == NULL)
        return;
    free(key->v);
    free(key->k);
    free(key->h);
    free(key->s);
    free(key->t);
    free(key->n);
    dk_pkey_free(key->pkey);
    free(key);
}

/* Walks a colon-separated list (h=, s=, t=), calling fn on each trimmed item. */
typedef int (*item_fn)(ms_dkim_key *key, const char *item, size_t len, const char *location,
                       long offset, ms_diag_list *diags);

static int for_each_item(ms_dkim_key *key, const ms_tag *tag, const char *text, item_fn fn,
                         const char *location, ms_diag_list *diags)
{
    const char *v = tag->value;
    size_t start = 0;
    for (size_t i = 0; i <= tag->value_len; i++) {
        if (i < tag->value_len && v[i] != ':')
            continue;
        const char *item = v + start;
        size_t len = i - start;
        while (len && (*item == ' ' || *item == '\t' || *item == '\r' || *item == '\n')) {
            item++;
            len--;
        }
        while (len && (item[len - 1] == ' ' || item[len - 1] == '\t' || item[len - 1] == '\r' ||
                       item[len - 1] == '\n'))
            len--;
        if (fn(key, item, len, location, (long)(item - text), diags) != 0)
            return -1;
        start = i + 1;
    }
    return 0;
}

static int hash_item(ms_dkim_key *key, const char *item, size_t len, const char *location,
                     long offset, ms_diag_list *diags)
{
    if (ms_ascii_ieq(item, len, "sha256"))
        key->allows_sha256 = 1;
    else if (ms_ascii_ieq(item, len, "sha1"))
        key->allows_sha1 = 1;
    else if (ms_diag_add(diags, DKD(DK_KEY_HASH_UNKNOWN), location, offset,
                         "h= lists \"%.*s\", not a DKIM hash algorithm", (int)len, item) != MS_OK)
        return -1;
    return 0;
}

static int service_item(ms_dkim_key *key, const char *item, size_t len, const char *location,
                        long offset, ms_diag_list *diags)
{
    (void)location, (void)offset, (void)diags;
    if ((len == 1 && item[0] == '*') || ms_ascii_ieq(item, len, "email"))
        key->s_email = 1;
    return 0;
}

static int flag_item(ms_dkim_key *key, const char *item, size_t len, const char *location,
                     long offset, ms_diag_list *diags)
{
    if (len == 1 && (item[0] == 'y' || item[0] == 'Y'))
        key->testing = 1;
    else if (len == 1 && (item[0] == 's' || item[0] == 'S'))
        key->strict = 1;
    else if (len > 0 && ms_diag_add(diags, DKD(DK_KEY_FLAG_UNKNOWN), location, offset,
                                    "t= flag \"%.*s\" is not defined", (int)len, item) != MS_OK)
        return -1;
    return 0;
}

/* p=: decode and build the public key; lints sizes (RFC 8301 3.2). */
static ms_status load_public_key(ms_dkim_key *key, const ms_tag *p, const char *text,
                                 const char *location, ms_diag_list *diags)
{
    long off = (long)(p->value - text);
    if (p->value_len == 0) {
        key->revoked = 1;
        return ms_diag_add(diags, DKD(DK_KEY_REVOKED), location, off, "p= is empty: key revoked");
    }
    unsigned char *raw = NULL;
    size_t raw_len = 0;
    int rc = dk_base64_decode(p->value, p->value_len, &raw, &raw_len);
    if (rc == -2)
        return MS_ERR_NOMEM;
    if (rc != 0)
        return ms_diag_add(diags, DKD(DK_KEY_BASE64_INVALID), location, off,
                           "p= is not valid base64");
    ms_status st = MS_OK;
    if (key->type == MS_DKIM_KEY_RSA) {
        key->pkey = dk_pkey_from_der(raw, raw_len, &key->key_bits);
        /* 32 bytes decode as an Ed25519 key: k=ed25519 is probably missing */
        void *ed = key->pkey ? NULL : dk_pkey_ed25519(raw, raw_len);
        dk_pkey_free(ed);
        if (ed != NULL) {
            st = ms_diag_add(diags, DKD(DK_KEY_TYPE_MISMATCH), location, off,
                             "p= holds 32 bytes, an Ed25519 key, but k= %s",
                             key->k ? "says rsa" : "is absent (meaning rsa)");
        } else if (key->pkey == NULL) {
            st = ms_diag_add(diags, DKD(DK_KEY_NOT_A_KEY), location, off,
                             "p= (%zu bytes) is not an RSA SubjectPublicKeyInfo", raw_len);
        } else if (key->key_bits < 1024) {
            st = ms_diag_add(diags, DKD(DK_KEY_RSA_TOO_SMALL), location, off,
                             "RSA key of %u bits (under 1024)", key->key_bits);
        } else if (key->key_bits < 2048) {
            st = ms_diag_add(diags, DKD(DK_KEY_RSA_WEAK), location, off,
                             "RSA key of %u bits (under 2048)", key->key_bits);
        }
    } else if (key->type == MS_DKIM_KEY_ED25519) {
        key->pkey = dk_pkey_ed25519(raw, raw_len);
        unsigned bits = 0;
        void *rsa = key->pkey ? NULL : dk_pkey_from_der(raw, raw_len, &bits);
        if (key->pkey)
            key->key_bits = 256;
        else if (rsa != NULL)
            st = ms_diag_add(diags, DKD(DK_KEY_TYPE_MISMATCH), location, off,
                             "k=ed25519 but p= holds an RSA key of %u bits", bits);
        else
            st = ms_diag_add(diags, DKD(DK_KEY_NOT_A_KEY), location, off,
                             "p= is %zu bytes; an Ed25519 key is 32 (RFC 8463)", raw_len);
        dk_pkey_free(rsa);
    }
    free(raw);
    return st;
}

int dk_key_finding_blocks(const ms_diag_def *def)
{
    /* h= without sha256 still allows rsa-sha1, so the verifier decides
     * that one per signature (key-hash-not-allowed) */
    return def->severity == MS_SEV_ERROR && def != DKD(DK_KEY_HASH_NO_SHA256);
}

static int known_key_tag(const ms_tag *t)
{
    static const char *const KNOWN[] = {"v", "h", "k", "n", "p", "s", "t"};
    for (size_t i = 0; i < sizeof KNOWN / sizeof KNOWN[0]; i++)
        if (ms_tag_is(t, KNOWN[i]))
            return 1;
    return 0;
}

static ms_status lint_tags(ms_dkim_key *key, const ms_taglist *tags, const char *text,
                           const char *location, ms_diag_list *diags)
{
    ms_status st = MS_OK;
    const ms_tag *p = NULL;
    for (size_t i = 0; i < tags->count && st == MS_OK; i++) {
        const ms_tag *t = &tags->tags[i];
        long off = (long)t->name_offset;
        char **slot = ms_tag_is(t, "v") ? &key->v : ms_tag_is(t, "k") ? &key->k
                    : ms_tag_is(t, "h") ? &key->h : ms_tag_is(t, "s") ? &key->s
                    : ms_tag_is(t, "t") ? &key->t : ms_tag_is(t, "n") ? &key->n : NULL;
        if (slot && (*slot = dk_tag_strdup(t)) == NULL)
            return MS_ERR_NOMEM;
        if (ms_tag_is(t, "v")) {
            if (i != 0)
                st = ms_diag_add(diags, DKD(DK_KEY_VERSION_NOT_FIRST), location, off,
                                 "v= is tag %zu, not the first", i + 1);
            else if (strcmp(key->v, "DKIM1") != 0)
                st = ms_diag_add(diags, DKD(DK_KEY_VERSION_INVALID), location, off,
                                 "v=%s, expected DKIM1", key->v);
        } else if (ms_tag_is(t, "k")) {
            if (strcmp(key->k, "rsa") == 0)
                key->type = MS_DKIM_KEY_RSA;
            else if (strcmp(key->k, "ed25519") == 0)
                key->type = MS_DKIM_KEY_ED25519;
            else {
                key->type = MS_DKIM_KEY_UNKNOWN;
                st = ms_diag_add(diags, DKD(DK_KEY_TYPE_UNKNOWN), location, off,
                                 "k=%s is not rsa or ed25519", key->k);
            }
        } else if (ms_tag_is(t, "h")) {
            key->allows_sha1 = key->allows_sha256 = 0;
            if (for_each_item(key, t, text, hash_item, location, diags) != 0)
                return MS_ERR_NOMEM;
            if (!key->allows_sha256)
                st = ms_diag_add(diags, DKD(DK_KEY_HASH_NO_SHA256), location, off,
                                 "h=%s does not allow sha256", key->h);
        } else if (ms_tag_is(t, "s")) {
            key->s_email = 0;
            if (for_each_item(key, t, text, service_item, location, diags) != 0)
                return MS_ERR_NOMEM;
            if (!key->s_email)
                st = ms_diag_add(diags, DKD(DK_KEY_SERVICE_NO_EMAIL), location, off,
                                 "s=%s excludes email", key->s);
        } else if (ms_tag_is(t, "t")) {
            if (for_each_item(key, t, text, flag_item, location, diags) != 0)
                return MS_ERR_NOMEM;
        } else if (ms_tag_is(t, "p")) {
            p = t;
        } else if (!known_key_tag(t)) {
            st = ms_diag_add(diags, DKD(DK_KEY_UNKNOWN_TAG), location, off,
                             "unknown tag %.*s=", (int)t->name_len, t->name);
        }
    }
    if (st != MS_OK)
        return st;
    if (key->testing)
        st = ms_diag_add(diags, DKD(DK_KEY_TESTING), location, -1, "t=y: testing mode");
    if (st == MS_OK && key->strict)
        st = ms_diag_add(diags, DKD(DK_KEY_STRICT), location, -1, "t=s: strict identity");
    if (st != MS_OK)
        return st;
    /* k= is read before p= is decoded, wherever the two stand */
    if (p == NULL)
        return ms_diag_add(diags, DKD(DK_KEY_P_MISSING), location, -1, "no p= tag");
    if (key->type == MS_DKIM_KEY_UNKNOWN)
        return MS_OK;
    return load_public_key(key, p, text, location, diags);
}

ms_status ms_dkim_key_parse(const char *text, size_t len, const char *location, ms_dkim_key **out,
                            ms_diag_list *diags)
{
    *out = NULL;
    if (text == NULL && len > 0)
        return MS_ERR_INVALID;
    if (len > MS_DKIM_MAX_RECORD)
        return MS_ERR_LIMIT;
    ms_dkim_key *key = calloc(1, sizeof *key);
    if (key == NULL)
        return MS_ERR_NOMEM;
    key->type = MS_DKIM_KEY_RSA; /* k= defaults to rsa */
    key->allows_sha1 = key->allows_sha256 = 1;
    key->s_email = 1;
    size_t before = diags->count;
    ms_status st = MS_OK;
    size_t i = 0;
    while (i < len && (text[i] == ' ' || text[i] == '\t' || text[i] == '\r' || text[i] == '\n'))
        i++;
    if (i == len) {
        st = ms_diag_add(diags, DKD(DK_KEY_EMPTY), location, -1, "the record is empty");
    } else {
        ms_taglist tags;
        st = dk_tags_parse(text, len, location, DK_KEY_SYNTAX, DK_KEY_DUPLICATE_TAG, &tags,
                           diags);
        if (st == MS_OK)
            st = lint_tags(key, &tags, text, location, diags);
    }
    if (st != MS_OK) {
        ms_dkim_key_free(key);
        return st;
    }
    /* usable: a key verifiers would accept */
    int errors = 0;
    for (size_t k = before; k < diags->count; k++)
        errors |= dk_key_finding_blocks(diags->items[k].def);
    key->usable = !errors && key->pkey != NULL && !key->revoked;
    *out = key;
    return MS_OK;
}
