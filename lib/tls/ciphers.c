/* Cipher suite enumeration: which suites a port accepts, per TLS version,
 * in the server's order, with the fewest hellos. A server answers a hello
 * with its choice among the suites offered, so one probe offers every
 * suite not known yet, the chosen one is taken off, and the next probe
 * offers the rest, until the server refuses what is left: a version costs
 * one hello per suite it accepts, plus one. One more hello, offering the
 * first two in reverse, tells whether the order is the server's or
 * follows the client's. The groups are enumerated the same way (TLS 1.3,
 * else the TLS 1.2 ECDHE suites), and one handshake with DHE suites alone
 * gives the size of the DH parameters.
 *
 * Each version, and the groups with the DH size, are enumerated in a
 * thread of their own, one probe after another (each offer depends on the
 * last answer). The probes stop at the server's hello (conn_probe_hello),
 * but the groups and DH size need a whole handshake: in TLS 1.2 they come
 * in the ServerKeyExchange, and a TLS 1.3 server may first ask for another
 * key share.
 *
 * The local OpenSSL can only offer the suites it was built with: see
 * docs/tls.md for what cannot be probed (RC4, 3DES, export suites). */
#include "internal.h"

#include "core/lazy_openssl.h"
#include "core/task.h"
#include <stdlib.h>
#include <string.h>

const char *ms_tls_cipher_class_str(ms_tls_cipher_class cls)
{
    switch (cls) {
    case MS_TLS_CIPHER_AEAD_FS: return "aead-fs";
    case MS_TLS_CIPHER_CBC: return "cbc";
    case MS_TLS_CIPHER_CBC_SHA1: return "cbc-sha1";
    case MS_TLS_CIPHER_NO_FS: return "no-forward-secrecy";
    case MS_TLS_CIPHER_64BIT_BLOCK: return "64-bit-block";
    case MS_TLS_CIPHER_RC4: return "rc4";
    case MS_TLS_CIPHER_NULL_ANON_EXPORT: return "null-anon-export";
    }
    return "?";
}

static int forward_secret(int kx)
{
    return kx == NID_kx_ecdhe || kx == NID_kx_dhe || kx == NID_kx_any || kx == NID_kx_ecdhe_psk ||
           kx == NID_kx_dhe_psk;
}

static int block_of_64_bits(int cipher)
{
    return cipher == NID_des_ede3_cbc || cipher == NID_des_cbc || cipher == NID_idea_cbc ||
           cipher == NID_rc2_cbc;
}

/* The worst class that applies, checked from the worst down. */
ms_tls_cipher_class tls_cipher_class(const SSL_CIPHER *c)
{
    int cipher = SSL_CIPHER_get_cipher_nid(c);
    if (cipher == NID_undef || SSL_CIPHER_get_auth_nid(c) == NID_auth_null ||
        SSL_CIPHER_get_bits(c, NULL) < 128)
        return block_of_64_bits(cipher) ? MS_TLS_CIPHER_64BIT_BLOCK : MS_TLS_CIPHER_NULL_ANON_EXPORT;
    if (cipher == NID_rc4 || cipher == NID_rc4_40)
        return MS_TLS_CIPHER_RC4;
    if (block_of_64_bits(cipher))
        return MS_TLS_CIPHER_64BIT_BLOCK;
    if (!forward_secret(SSL_CIPHER_get_kx_nid(c)))
        return MS_TLS_CIPHER_NO_FS;
    if (SSL_CIPHER_is_aead(c))
        return MS_TLS_CIPHER_AEAD_FS;
    int mac = SSL_CIPHER_get_digest_nid(c);
    return mac == NID_sha1 || mac == NID_md5 ? MS_TLS_CIPHER_CBC_SHA1 : MS_TLS_CIPHER_CBC;
}

/* Everything the local OpenSSL can offer: TLS 1.3's five suites, and for
 * the older versions its whole table at security level 0. */
static const char TLS13_SUITES[] = "TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256:"
                                   "TLS_AES_128_GCM_SHA256:TLS_AES_128_CCM_SHA256:"
                                   "TLS_AES_128_CCM_8_SHA256";
static const char LEGACY_SUITES[] = "ALL:COMPLEMENTOFALL:@SECLEVEL=0";

/* The groups offered, with the NIDs OpenSSL reports them by. */
static const struct {
    const char *name;
    int nid;
    int ec; /* usable with TLS 1.2 ECDHE */
} GROUPS[] = {
    {"X25519", NID_X25519, 1},         {"P-256", NID_X9_62_prime256v1, 1},
    {"P-384", NID_secp384r1, 1},       {"P-521", NID_secp521r1, 1},
    {"X448", NID_X448, 1},             {"ffdhe2048", NID_ffdhe2048, 0},
    {"ffdhe3072", NID_ffdhe3072, 0},   {"ffdhe4096", NID_ffdhe4096, 0},
    {"ffdhe6144", NID_ffdhe6144, 0},   {"ffdhe8192", NID_ffdhe8192, 0},
};
enum { GROUP_COUNT = sizeof GROUPS / sizeof GROUPS[0] };

/* OpenSSL's table has some 160 suites; a version offers fewer. */
enum { MAX_SUITES = 256 };

/* The suites the local OpenSSL offers at one version (the client's own
 * filter: PSK and SRP suites need credentials and are never offered). */
static size_t offerable_suites(SSL_CTX *ctx, unsigned version, const SSL_CIPHER **out)
{
    SSL *ssl = SSL_new(ctx);
    if (ssl == NULL)
        return 0;
    int v = version == MS_TLS_V1_3 ? TLS1_3_VERSION
          : version == MS_TLS_V1_2 ? TLS1_2_VERSION
          : version == MS_TLS_V1_1 ? TLS1_1_VERSION
                                   : TLS1_VERSION;
    size_t n = 0;
    if (SSL_set_min_proto_version(ssl, v) == 1 && SSL_set_max_proto_version(ssl, v) == 1 &&
        SSL_set_cipher_list(ssl, LEGACY_SUITES) == 1 && SSL_set_ciphersuites(ssl, TLS13_SUITES) == 1) {
        STACK_OF(SSL_CIPHER) *list = SSL_get1_supported_ciphers(ssl);
        for (int i = 0; list && i < sk_SSL_CIPHER_num(list) && n < MAX_SUITES; i++)
            out[n++] = sk_SSL_CIPHER_value(list, i);
        sk_SSL_CIPHER_free(list);
    }
    SSL_free(ssl);
    return n;
}

/* Memory ran out: the enumeration's lists may miss entries. */
static void out_of_memory(const tls_target *t)
{
    atomic_store(t->out_of_memory, 1);
}

/* "A:B:C" of the suites' OpenSSL names (TLS 1.3: their standard names,
 * which are the same). NULL without memory. */
static char *suite_list(const SSL_CIPHER *const *suites, size_t count)
{
    ms_buf b = MS_BUF_INIT;
    for (size_t i = 0; i < count; i++)
        ms_buf_printf(&b, "%s%s", i ? ":" : "", SSL_CIPHER_get_name(suites[i]));
    return ms_buf_take(&b);
}

/* One probe: a connection brought to the handshake, the hello, the
 * answer. 0 when no connection reached the handshake. */
static int probe(const tls_target *t, const tls_offer *offer, unsigned *handshakes, tls_hello *out)
{
    tls_conn c;
    if (!t->open(t->arg, &c))
        return 0;
    *out = conn_probe_hello(&c, t->ssl_ctx, t->servername, offer);
    conn_close(&c);
    (*handshakes)++;
    return 1;
}

static tls_offer suites_offer(unsigned version, const char *list)
{
    tls_offer o = {.versions = version};
    if (version == MS_TLS_V1_3)
        o.ciphersuites = list;
    else
        o.cipher_list = list;
    return o;
}

/* How the server answered a hello offering a set of suites. */
typedef enum answer {
    CHOSEN,    /* a suite of the set */
    REFUSED,   /* none of them: handshake_failure or insufficient_security (or a
                * time-out) */
    BROKEN,    /* another alert (internal_error...), or a close without one: the server
                * may have failed on the suite it picked, which says nothing about the
                * others */
    UNREACHED  /* no probe reached the handshake */
} answer;

/* Offers suites[0, count); *chosen is the suite chosen. */
static answer choose(const tls_target *t, unsigned version, const SSL_CIPHER *const *suites,
                     size_t count, unsigned *handshakes, const SSL_CIPHER **chosen)
{
    char *list = suite_list(suites, count);
    tls_hello h = {0, NULL, -1, 0};
    *chosen = NULL;
    if (list == NULL) {
        out_of_memory(t);
        return UNREACHED;
    }
    tls_offer offer = suites_offer(version, list);
    int reached = probe(t, &offer, handshakes, &h);
    free(list);
    if (!reached)
        return UNREACHED;
    if (h.version == version && h.cipher != NULL) {
        *chosen = h.cipher;
        return CHOSEN;
    }
    if (h.closed)
        return BROKEN;
    return h.alert < 0 || h.alert == SSL_AD_HANDSHAKE_FAILURE || h.alert == SSL_AD_INSUFFICIENT_SECURITY
               ? REFUSED
               : BROKEN;
}

static int take_suite(const SSL_CIPHER **suites, size_t *count, const SSL_CIPHER *c)
{
    for (size_t i = 0; i < *count; i++)
        if (SSL_CIPHER_get_id(suites[i]) == SSL_CIPHER_get_id(c)) {
            memmove(&suites[i], &suites[i + 1], (*count - i - 1) * sizeof suites[0]);
            (*count)--;
            return 1;
        }
    return 0; /* the server chose a suite that was not offered: OpenSSL refuses that already */
}

static int add_cipher(ms_tls_version_ciphers *v, const SSL_CIPHER *c)
{
    ms_tls_cipher *grown = realloc(v->ciphers, (v->count + 1) * sizeof *grown);
    if (grown == NULL)
        return 0;
    v->ciphers = grown;
    ms_tls_cipher *e = &v->ciphers[v->count];
    e->name = strdup(SSL_CIPHER_get_name(c));
    e->iana = strdup(SSL_CIPHER_standard_name(c) ? SSL_CIPHER_standard_name(c) : "");
    if (e->name == NULL || e->iana == NULL) {
        free(e->name);
        free(e->iana);
        return 0;
    }
    e->id = SSL_CIPHER_get_protocol_id(c);
    e->bits = SSL_CIPHER_get_bits(c, NULL);
    e->cls = tls_cipher_class(c);
    e->anonymous = SSL_CIPHER_get_auth_nid(c) == NID_auth_null;
    v->count++;
    return 1;
}

/* The server's order, or the client's: the first two chosen, offered in
 * reverse. */
static int server_order(const tls_target *t, const ms_tls_version_ciphers *v,
                        const SSL_CIPHER *first, const SSL_CIPHER *second, unsigned *handshakes)
{
    const SSL_CIPHER *reversed[2] = {second, first}, *c;
    if (choose(t, v->version, reversed, 2, handshakes, &c) != CHOSEN)
        return -1;
    return SSL_CIPHER_get_id(c) == SSL_CIPHER_get_id(first);
}

typedef struct version_job {
    const tls_target *target;
    ms_tls_version_ciphers *out;
    const SSL_CIPHER *first[2]; /* the first two chosen, for the order test */
    unsigned handshakes;
    ms_task task;
} version_job;

static void enumerate_set(version_job *j, const SSL_CIPHER **suites, size_t count, int may_split);

/* Whether two suites share key exchange and authentication. */
static int same_kind(const SSL_CIPHER *a, const SSL_CIPHER *b)
{
    return SSL_CIPHER_get_kx_nid(a) == SSL_CIPHER_get_kx_nid(b) &&
           SSL_CIPHER_get_auth_nid(a) == SSL_CIPHER_get_auth_nid(b);
}

/* The suites left after a refusal that may not be one, enumerated again
 * kind by kind (ECDHE-RSA, DHE-RSA, RSA...), each kind once more. */
static void enumerate_by_kind(version_job *j, const SSL_CIPHER **suites, size_t count)
{
    const SSL_CIPHER *kind[MAX_SUITES];
    int done[MAX_SUITES] = {0};
    for (size_t i = 0; i < count; i++) {
        if (done[i])
            continue;
        size_t n = 0;
        for (size_t k = i; k < count; k++)
            if (!done[k] && same_kind(suites[i], suites[k])) {
                kind[n++] = suites[k];
                done[k] = 1;
            }
        if (n == count)
            return; /* one kind: nothing new to learn */
        enumerate_set(j, kind, n, 0);
    }
}

/* The suites of suites[0, count) the server accepts, appended to the
 * job's list in the order chosen. When the server fails on the suite it
 * picks (Dovecot picking a DHE suite without DH parameters closes the
 * connection, as it does when nothing is shared), the rest is enumerated
 * again kind by kind (may_split): one broken kind of suite costs a probe
 * per kind, not the rest of the list. */
static void enumerate_set(version_job *j, const SSL_CIPHER **suites, size_t count, int may_split)
{
    ms_tls_version_ciphers *v = j->out;
    while (count > 0 && v->complete) {
        const SSL_CIPHER *c;
        answer a = choose(j->target, v->version, suites, count, &j->handshakes, &c);
        if (a == UNREACHED)
            v->complete = 0;
        if (a == BROKEN && may_split)
            enumerate_by_kind(j, suites, count);
        if (a != CHOSEN || !take_suite(suites, &count, c))
            return;
        if (!add_cipher(v, c)) {
            out_of_memory(j->target);
            v->complete = 0;
        }
        else if (v->count <= 2)
            j->first[v->count - 1] = c;
    }
}

static void *enumerate_version(void *arg)
{
    version_job *j = arg;
    ms_tls_version_ciphers *v = j->out;
    const SSL_CIPHER *suites[MAX_SUITES];
    size_t count = offerable_suites(j->target->ssl_ctx, v->version, suites);
    v->server_order = -1;
    v->complete = count > 0; /* nothing to offer: OpenSSL could not list its suites */
    enumerate_set(j, suites, count, 1);
    if (j->first[1] != NULL)
        v->server_order = server_order(j->target, v, j->first[0], j->first[1], &j->handshakes);
    return NULL;
}

/* A whole handshake offering offer; the SSL is left for the caller to read
 * (and to free with conn_close). 0 when it failed. */
static int full_handshake(const tls_target *t, const tls_offer *offer, tls_conn *c, unsigned *handshakes)
{
    char ssl_error[256];
    if (!t->open(t->arg, c))
        return 0;
    (*handshakes)++;
    if (conn_handshake(c, t->ssl_ctx, t->servername, offer, ssl_error, sizeof ssl_error) == IO_OK)
        return 1;
    conn_close(c);
    return 0;
}

typedef struct groups_job {
    const tls_target *target;
    unsigned versions; /* accepted */
    ms_tls_port_result *out;
    unsigned handshakes;
    ms_task task;
} groups_job;

static int add_group(ms_tls_port_result *r, const char *name)
{
    char **grown = realloc(r->groups, (r->group_count + 1) * sizeof *grown);
    if (grown == NULL)
        return 0;
    r->groups = grown;
    if ((r->groups[r->group_count] = strdup(name)) == NULL)
        return 0;
    r->group_count++;
    return 1;
}

/* The groups, offering what is left of the list each time. TLS 1.3 when
 * the port accepts it (every group is usable there), else TLS 1.2 with
 * its ECDHE suites. */
static void enumerate_groups(groups_job *j)
{
    unsigned version = j->versions & MS_TLS_V1_3 ? MS_TLS_V1_3 : MS_TLS_V1_2;
    int left[GROUP_COUNT];
    size_t count = 0;
    for (size_t i = 0; i < GROUP_COUNT; i++)
        if (version == MS_TLS_V1_3 || GROUPS[i].ec)
            left[count++] = (int)i;
    while (count > 0) {
        ms_buf b = MS_BUF_INIT;
        for (size_t i = 0; i < count; i++)
            ms_buf_printf(&b, "%s%s", i ? ":" : "", GROUPS[left[i]].name);
        char *groups = ms_buf_take(&b);
        if (groups == NULL) {
            out_of_memory(j->target);
            return;
        }
        tls_offer offer = {.versions = version, .groups = groups,
                           .cipher_list = version == MS_TLS_V1_2 ? "kECDHE:@SECLEVEL=0" : NULL};
        tls_conn c;
        int done = full_handshake(j->target, &offer, &c, &j->handshakes);
        free(groups);
        if (!done)
            return;
        int nid = SSL_get_negotiated_group(c.ssl);
        conn_close(&c);
        size_t k = 0;
        while (k < count && GROUPS[left[k]].nid != nid)
            k++;
        if (k == count)
            return; /* a group not offered, or none: nothing more to learn */
        if (!add_group(j->out, GROUPS[left[k]].name)) {
            out_of_memory(j->target);
            return;
        }
        memmove(&left[k], &left[k + 1], (count - k - 1) * sizeof left[0]);
        count--;
    }
}

/* The DH parameter size: one handshake offering DHE suites alone, at the
 * newest version below TLS 1.3 the port accepts. */
static void dh_size(groups_job *j)
{
    unsigned below13 = j->versions & (MS_TLS_V1_0 | MS_TLS_V1_1 | MS_TLS_V1_2);
    if (below13 == 0)
        return;
    unsigned version = MS_TLS_V1_2;
    while (!(below13 & version))
        version >>= 1;
    tls_offer offer = {.versions = version, .cipher_list = "kDHE:@SECLEVEL=0"};
    tls_conn c;
    if (!full_handshake(j->target, &offer, &c, &j->handshakes))
        return;
    EVP_PKEY *key = NULL;
    if (SSL_get_peer_tmp_key(c.ssl, &key) == 1) {
        j->out->dh_bits = EVP_PKEY_get_bits(key);
        EVP_PKEY_free(key);
    }
    conn_close(&c);
}

static void *groups_and_dh(void *arg)
{
    groups_job *j = arg;
    if (j->versions & (MS_TLS_V1_2 | MS_TLS_V1_3))
        enumerate_groups(j);
    dh_size(j);
    return NULL;
}

void tls_enumerate_ciphers(const tls_target *t, unsigned versions, ms_tls_port_result *r)
{
    static const unsigned ORDER[] = {MS_TLS_V1_0, MS_TLS_V1_1, MS_TLS_V1_2, MS_TLS_V1_3};
    version_job jobs[4];
    size_t n = 0;
    r->ciphers = calloc(4, sizeof *r->ciphers);
    if (r->ciphers == NULL) {
        out_of_memory(t);
        return;
    }
    for (size_t i = 0; i < 4; i++) {
        if (!(versions & ORDER[i]))
            continue;
        r->ciphers[n].version = ORDER[i];
        jobs[n] = (version_job){.target = t, .out = &r->ciphers[n]};
        n++;
    }
    r->cipher_versions = n;
    groups_job g = {.target = t, .versions = versions, .out = r};
    for (size_t i = 0; i < n; i++)
        ms_task_run(&jobs[i].task, enumerate_version, &jobs[i]);
    ms_task_run(&g.task, groups_and_dh, &g);
    for (size_t i = 0; i < n; i++) {
        ms_task_join(&jobs[i].task);
        r->handshakes += jobs[i].handshakes;
    }
    ms_task_join(&g.task);
    r->handshakes += g.handshakes;
}

void tls_cipher_results_free(ms_tls_port_result *r)
{
    for (size_t i = 0; i < r->cipher_versions; i++) {
        for (size_t k = 0; k < r->ciphers[i].count; k++) {
            free(r->ciphers[i].ciphers[k].name);
            free(r->ciphers[i].ciphers[k].iana);
        }
        free(r->ciphers[i].ciphers);
    }
    free(r->ciphers);
    for (size_t i = 0; i < r->group_count; i++)
        free(r->groups[i]);
    free(r->groups);
}

/* ---- findings ---- */

enum { NAMES_SHOWN = 8 }; /* suites named in one finding; the rest are counted */

/* Which suites a finding is about. */
typedef int (*suite_test)(const ms_tls_cipher *c);

/* Anonymous suites that do encrypt are a finding of their own: Postfix
 * offers them on port 25 by default, where they do no harm. */
static int strong_anonymous(const ms_tls_cipher *c)
{
    return c->anonymous && c->bits >= 128;
}
static int null_or_export(const ms_tls_cipher *c)
{
    return c->cls == MS_TLS_CIPHER_NULL_ANON_EXPORT && !strong_anonymous(c);
}
static int anonymous(const ms_tls_cipher *c)
{
    return c->cls == MS_TLS_CIPHER_NULL_ANON_EXPORT && strong_anonymous(c);
}
static int rc4(const ms_tls_cipher *c) { return c->cls == MS_TLS_CIPHER_RC4; }
static int block_64(const ms_tls_cipher *c) { return c->cls == MS_TLS_CIPHER_64BIT_BLOCK; }
static int no_fs(const ms_tls_cipher *c) { return c->cls == MS_TLS_CIPHER_NO_FS; }
static int cbc(const ms_tls_cipher *c)
{
    return c->cls == MS_TLS_CIPHER_CBC || c->cls == MS_TLS_CIPHER_CBC_SHA1;
}

/* The suites that pass test that any version accepts, named once each,
 * and the versions they were accepted at; 0 when none. */
static size_t suites_in(const ms_tls_port_result *r, suite_test test, ms_buf *names, unsigned *versions)
{
    const char *seen[MAX_SUITES];
    size_t count = 0;
    *versions = 0;
    for (size_t v = 0; v < r->cipher_versions; v++)
        for (size_t i = 0; i < r->ciphers[v].count; i++) {
            const ms_tls_cipher *c = &r->ciphers[v].ciphers[i];
            if (!test(c))
                continue;
            *versions |= r->ciphers[v].version;
            size_t k = 0;
            while (k < count && strcmp(seen[k], c->name) != 0)
                k++;
            if (k < count || count == MAX_SUITES)
                continue;
            seen[count++] = c->name;
            if (count <= NAMES_SHOWN)
                ms_buf_printf(names, "%s%s", count > 1 ? ", " : "", c->name);
        }
    if (count > NAMES_SHOWN)
        ms_buf_printf(names, " and %zu more", count - NAMES_SHOWN);
    return count;
}

static void versions_text(unsigned versions, ms_buf *out)
{
    const char *sep = "";
    for (unsigned bit = MS_TLS_V1_0; bit <= MS_TLS_V1_3; bit <<= 1)
        if (versions & bit) {
            ms_buf_printf(out, "%s%s", sep, ms_tls_version_str(bit));
            sep = ", ";
        }
}

/* One finding for the suites that pass test, if any. */
static ms_status class_finding(ms_tls_port_result *r, const char *location, int diag,
                               suite_test test, const char *what)
{
    ms_buf names = MS_BUF_INIT, versions = MS_BUF_INIT;
    unsigned bits;
    size_t count = suites_in(r, test, &names, &bits);
    versions_text(bits, &versions);
    ms_status st = names.failed || versions.failed ? MS_ERR_NOMEM : MS_OK;
    if (count > 0 && st == MS_OK)
        st = ms_diag_add(&r->diags, &ms_tls_diag_defs[diag], location, -1,
                         "port %u accepts %zu %s suite%s (%s): %s", r->port, count, what,
                         count == 1 ? "" : "s", versions.data, names.data);
    ms_buf_free(&names);
    ms_buf_free(&versions);
    return st;
}

/* The client's order only matters when the suites differ in worth. */
static int choice_matters(const ms_tls_version_ciphers *v)
{
    for (size_t i = 1; i < v->count; i++)
        if (v->ciphers[i].cls != v->ciphers[0].cls)
            return 1;
    return 0;
}

/* The suite classes with a finding of their own, worst first. */
static const struct {
    int diag;
    suite_test test;
    const char *what;
} CLASS_FINDINGS[] = {
    {T_WEAK_CIPHER, null_or_export, "NULL or export-grade"},
    {T_WEAK_CIPHER, rc4, "RC4"},
    {T_WEAK_CIPHER, block_64, "64-bit block (3DES, DES, IDEA)"},
    {T_ANONYMOUS_CIPHER, anonymous, "anonymous (unauthenticated)"},
    {T_NO_FORWARD_SECRECY, no_fs, "static RSA key exchange"},
    {T_CBC_CIPHER, cbc, "CBC"},
};

static ms_status client_order_finding(ms_tls_port_result *r, const char *location)
{
    unsigned client_order = 0;
    for (size_t v = 0; v < r->cipher_versions; v++)
        if (r->ciphers[v].server_order == 0 && choice_matters(&r->ciphers[v]))
            client_order |= r->ciphers[v].version;
    if (client_order == 0)
        return MS_OK;
    ms_buf versions = MS_BUF_INIT;
    versions_text(client_order, &versions);
    ms_status st = versions.failed ? MS_ERR_NOMEM
                                   : ms_diag_add(&r->diags, &ms_tls_diag_defs[T_CLIENT_CIPHER_ORDER],
                                                 location, -1,
                                                 "port %u takes the client's preferred suite (%s)",
                                                 r->port, versions.data);
    ms_buf_free(&versions);
    return st;
}

ms_status tls_cipher_findings(ms_tls_port_result *r, const char *location)
{
    ms_status st = MS_OK;
    for (size_t i = 0; st == MS_OK && i < sizeof CLASS_FINDINGS / sizeof CLASS_FINDINGS[0]; i++)
        st = class_finding(r, location, CLASS_FINDINGS[i].diag, CLASS_FINDINGS[i].test,
                           CLASS_FINDINGS[i].what);
    if (st == MS_OK)
        st = client_order_finding(r, location);
    if (st == MS_OK && r->dh_bits > 0 && r->dh_bits < 2048)
        st = ms_diag_add(&r->diags, &ms_tls_diag_defs[T_WEAK_DH], location, -1,
                         "port %u: DHE key exchange with %d-bit DH parameters", r->port, r->dh_bits);
    return st;
}
