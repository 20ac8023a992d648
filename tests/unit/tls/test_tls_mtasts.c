/* The MTA-STS part of the TLS check (lib/tls/mtasts.c).
 *
 * The verdicts (RFC 8461 4.1 mx match, 4.2 certificate) on port results made
 * here, so every combination is covered without servers: a policy parsed by
 * lib/audit from policy text, ports with and without TLS, a verified chain or
 * certificate findings. Severities: enforce failures are errors, testing
 * failures warnings. Then the lookup against the DNS test bed (_mta-sts TXT
 * records of tests/dnsbed/zones/audittest.example.zone) and the HTTPS test
 * bed (tests/httpsbed: the policies). The whole command against the mail
 * test bed is tests/tls-mtasts/tls-mtasts.test. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "tls/internal.h"
#include "unit/testutil.h"

#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char ENFORCE[] = "version: STSv1\nmode: enforce\nmx: *.tlstest.example\n"
                              "mx: other.example.test\nmax_age: 86400\n";
static const char TESTING[] = "version: STSv1\nmode: testing\nmx: *.tlstest.example\n"
                              "mx: other.example.test\nmax_age: 86400\n";
static const char NONE[] = "version: STSv1\nmode: none\nmax_age: 86400\n";

/* A port as the check would leave it. cert_finding: a cert.* code the
 * chain check reported, or NULL. */
static void make_port(ms_tls_port_result *r, uint16_t port, ms_tls_mode mode,
                      ms_tls_port_state state, int verified, const char *cert_finding)
{
    memset(r, 0, sizeof *r);
    r->port = port;
    r->mode = mode;
    r->state = state;
    r->mtasts_cert_valid = -1;
    if (state != MS_TLS_PORT_TLS)
        return;
    r->chain_der = calloc(1, sizeof *r->chain_der);
    r->chain_len = calloc(1, sizeof *r->chain_len);
    assert_non_null(r->chain_der);
    r->chain_der[0] = OPENSSL_malloc(1);
    r->chain_len[0] = 1;
    r->chain_count = 1;
    r->cert.verified = verified;
    if (cert_finding)
        ms_diag_add(&r->diags, ms_diag_lookup(cert_finding), "test", -1, "%s", cert_finding);
}

static ms_tls_check_result *make_result(const char *policy_text, size_t ports)
{
    ms_tls_check_result *res = calloc(1, sizeof *res);
    assert_non_null(res);
    res->host = strdup("127.0.0.1");
    res->ports = calloc(ports, sizeof *res->ports);
    res->count = ports;
    res->mtasts.domain = strdup("example.test");
    res->mtasts.mx_match = -1;
    res->mtasts.state = MS_TLS_MTASTS_POLICY;
    ms_diag_list parse = MS_DIAG_LIST_INIT;
    assert_int_equal(ms_audit_mtasts_check_policy(policy_text, strlen(policy_text), "policy",
                                            &res->mtasts.policy, &parse),
                     MS_OK);
    assert_true(res->mtasts.policy->usable);
    ms_diag_list_free(&parse);
    return res;
}

static const ms_diag *find(const ms_diag_list *diags, const char *code)
{
    for (size_t i = 0; i < diags->count; i++)
        if (strcmp(diags->items[i].def->code, code) == 0)
            return &diags->items[i];
    return NULL;
}

static void listed_and_valid_passes(void **state)
{
    (void)state;
    ms_tls_check_result *res = make_result(ENFORCE, 2);
    make_port(&res->ports[0], 25, MS_TLS_SMTP, MS_TLS_PORT_TLS, 1, NULL);
    make_port(&res->ports[1], 993, MS_TLS_IMPLICIT, MS_TLS_PORT_TLS, 1, NULL);
    tls_mtasts_match(res, "mx.tlstest.example");
    assert_int_equal(res->mtasts.mx_match, 1);
    assert_string_equal(res->mtasts.mx_host, "mx.tlstest.example");
    assert_int_equal(res->ports[0].mtasts, MS_TLS_MTASTS_PORT_PASS);
    assert_int_equal(res->ports[0].mtasts_cert_valid, 1);
    assert_non_null(find(&res->ports[0].diags, "tls.mtasts-pass"));
    /* only SMTP ports are what MTA-STS senders connect to */
    assert_int_equal(res->ports[1].mtasts, MS_TLS_MTASTS_PORT_NOT_CHECKED);
    assert_int_equal(res->ports[1].mtasts_cert_valid, -1);
    assert_int_equal(res->ports[1].diags.count, 0);
    assert_int_equal(res->diags.count, 0);
    ms_tls_check_result_free(res);
}

/* RFC 8461 4.1: "*.tlstest.example" covers one more label only. */
static void mx_mismatch_by_mode(void **state)
{
    (void)state;
    static const struct {
        const char *policy, *code;
        ms_severity severity;
    } CASES[] = {
        {ENFORCE, "tls.mtasts-mx-mismatch", MS_SEV_ERROR},
        {TESTING, "tls.mtasts-mx-mismatch-testing", MS_SEV_WARNING},
    };
    for (size_t i = 0; i < 2; i++) {
        ms_tls_check_result *res = make_result(CASES[i].policy, 1);
        make_port(&res->ports[0], 25, MS_TLS_SMTP, MS_TLS_PORT_TLS, 1, NULL);
        tls_mtasts_match(res, "a.b.tlstest.example");
        assert_int_equal(res->mtasts.mx_match, 0);
        const ms_diag *d = find(&res->diags, CASES[i].code);
        assert_non_null(d);
        assert_int_equal(d->def->severity, CASES[i].severity);
        assert_string_equal(d->location, "a.b.tlstest.example");
        /* the certificate passes; the port fails all the same, without a second finding */
        assert_int_equal(res->ports[0].mtasts, MS_TLS_MTASTS_PORT_FAIL);
        assert_int_equal(res->ports[0].mtasts_cert_valid, 1);
        assert_int_equal(res->ports[0].diags.count, 0);
        ms_tls_check_result_free(res);
    }
}

/* RFC 8461 4.2: trusted chain, the MX host name, the dates; and TLS at all. */
static void certificate_failures_by_mode(void **state)
{
    (void)state;
    static const struct {
        int verified;
        const char *finding;
        ms_tls_port_state port_state;
        const char *why;
    } CASES[] = {
        {0, "cert.untrusted", MS_TLS_PORT_TLS, "trusted root"},
        {1, "cert.host-mismatch", MS_TLS_PORT_TLS, "does not cover the MX host name"},
        {1, "cert.expired", MS_TLS_PORT_TLS, "has expired"},
        {1, "cert.not-yet-valid", MS_TLS_PORT_TLS, "not valid yet"},
        {0, NULL, MS_TLS_PORT_NO_TLS, "no TLS session"},
    };
    for (size_t i = 0; i < sizeof CASES / sizeof CASES[0]; i++)
        for (int testing = 0; testing <= 1; testing++) {
            ms_tls_check_result *res = make_result(testing ? TESTING : ENFORCE, 1);
            ms_tls_port_result *r = &res->ports[0];
            make_port(r, 25, MS_TLS_SMTP, CASES[i].port_state, CASES[i].verified,
                      CASES[i].finding);
            tls_mtasts_match(res, "mx.tlstest.example");
            assert_int_equal(r->mtasts, MS_TLS_MTASTS_PORT_FAIL);
            assert_int_equal(r->mtasts_cert_valid, 0);
            const ms_diag *d =
                find(&r->diags, testing ? "tls.mtasts-cert-invalid-testing" : "tls.mtasts-cert-invalid");
            assert_non_null(d);
            assert_int_equal(d->def->severity, testing ? MS_SEV_WARNING : MS_SEV_ERROR);
            if (strstr(d->message, CASES[i].why) == NULL)
                fail_msg("case %zu: \"%s\" does not say \"%s\"", i, d->message, CASES[i].why);
            assert_null(find(&r->diags, "tls.mtasts-pass"));
            ms_tls_check_result_free(res);
        }
}

/* A warning about the certificate (expiring soon) is no failure. */
static void expiring_soon_still_passes(void **state)
{
    (void)state;
    ms_tls_check_result *res = make_result(ENFORCE, 1);
    make_port(&res->ports[0], 25, MS_TLS_SMTP, MS_TLS_PORT_TLS, 1, "cert.expiring");
    tls_mtasts_match(res, "other.example.test");
    assert_int_equal(res->ports[0].mtasts, MS_TLS_MTASTS_PORT_PASS);
    ms_tls_check_result_free(res);
}

/* Mode none, a closed port, no policy: nothing to judge. */
static void nothing_to_judge(void **state)
{
    (void)state;
    ms_tls_check_result *res = make_result(NONE, 1);
    make_port(&res->ports[0], 25, MS_TLS_SMTP, MS_TLS_PORT_TLS, 0, "cert.untrusted");
    tls_mtasts_match(res, "mx.tlstest.example");
    assert_int_equal(res->mtasts.mx_match, -1);
    assert_int_equal(res->ports[0].mtasts, MS_TLS_MTASTS_PORT_NOT_CHECKED);
    assert_int_equal(res->ports[0].diags.count, 1); /* the cert.untrusted put there */
    ms_tls_check_result_free(res);

    res = make_result(ENFORCE, 1);
    make_port(&res->ports[0], 25, MS_TLS_SMTP, MS_TLS_PORT_CLOSED, 0, NULL);
    tls_mtasts_match(res, "mx.tlstest.example");
    assert_int_equal(res->ports[0].mtasts, MS_TLS_MTASTS_PORT_NOT_CHECKED);
    assert_int_equal(res->mtasts.mx_match, 1);
    ms_tls_check_result_free(res);
}

/* ---- the lookup, against the DNS and HTTPS test beds ---- */

static int httpsbed_get(const char *key, char *out, size_t size)
{
    return bed_info_get("MAILSEC_HTTPSBED_INFO", key, out, size);
}

static ms_ctx *bed_ctx(void)
{
    char resolver[256], anchor[1024], ca[1024], connect_to[256];
    if (!dnsbed_get("RESOLVER", resolver, sizeof resolver) ||
        !dnsbed_get("TRUST_ANCHOR", anchor, sizeof anchor))
        fail_msg("the DNS test bed is not running (MAILSEC_DNSBED_INFO)");
    if (!httpsbed_get("CA", ca, sizeof ca) || !httpsbed_get("CONNECT_TO", connect_to, sizeof connect_to))
        fail_msg("the HTTPS test bed is not running (MAILSEC_HTTPSBED_INFO)");
    ms_ctx *ctx = NULL;
    assert_int_equal(ms_ctx_new(&ctx), MS_OK);
    assert_int_equal(ms_ctx_set_resolver(ctx, resolver), MS_OK);
    assert_int_equal(ms_ctx_set_trust_anchor_file(ctx, anchor), MS_OK);
    assert_int_equal(ms_ctx_set_timeout_ms(ctx, 5000), MS_OK);
    assert_int_equal(ms_ctx_set_https_ca(ctx, ca), MS_OK);
    assert_int_equal(ms_ctx_add_https_connect_to(ctx, connect_to), MS_OK);
    return ctx;
}

static void lookups(void **state)
{
    (void)state;
    static const struct {
        const char *domain;
        ms_tls_mtasts_state state;
        ms_audit_mtasts_mode mode; /* with a policy */
        const char *code;    /* the tls.* finding, or NULL */
    } CASES[] = {
        {"tlsenforce.audittest.example", MS_TLS_MTASTS_POLICY, MS_AUDIT_MTASTS_MODE_ENFORCE, NULL},
        {"tlstesting.audittest.example", MS_TLS_MTASTS_POLICY, MS_AUDIT_MTASTS_MODE_TESTING, NULL},
        {"tlsnone.audittest.example", MS_TLS_MTASTS_POLICY, MS_AUDIT_MTASTS_MODE_NONE, "tls.mtasts-mode-none"},
        {"nomx.audittest.example", MS_TLS_MTASTS_NO_POLICY, 0, "tls.mtasts-none"},
        {"missing.audittest.example", MS_TLS_MTASTS_UNUSABLE, 0, "tls.mtasts-unusable"},
        {"badtxt.audittest.example", MS_TLS_MTASTS_UNUSABLE, 0, "tls.mtasts-unusable"},
    };
    ms_ctx *ctx = bed_ctx();
    for (size_t i = 0; i < sizeof CASES / sizeof CASES[0]; i++) {
        ms_tls_check_result res = {0};
        tls_mtasts_lookup(ctx, CASES[i].domain, &res);
        if (res.mtasts.state != CASES[i].state)
            fail_msg("%s: state %s, expected %s", CASES[i].domain,
                     ms_tls_mtasts_state_str(res.mtasts.state), ms_tls_mtasts_state_str(CASES[i].state));
        if (CASES[i].state == MS_TLS_MTASTS_POLICY) {
            assert_int_equal(res.mtasts.policy->mode, CASES[i].mode);
            assert_string_equal(res.mtasts.id, "20261127");
        }
        size_t tls_codes = 0;
        for (size_t k = 0; k < res.diags.count; k++)
            tls_codes += strncmp(res.diags.items[k].def->code, "tls.", 4) == 0;
        assert_int_equal(tls_codes, CASES[i].code ? 1 : 0);
        if (CASES[i].code)
            assert_non_null(find(&res.diags, CASES[i].code));
        free(res.mtasts.domain);
        free(res.mtasts.id);
        ms_audit_mtasts_policy_free(res.mtasts.policy);
        ms_diag_list_free(&res.diags);
    }
    ms_ctx_free(ctx);
}

static void lookup_fails(void **state)
{
    (void)state;
    ms_ctx *ctx = NULL;
    assert_int_equal(ms_ctx_new(&ctx), MS_OK);
    assert_int_equal(ms_ctx_set_resolver(ctx, "127.0.0.1@1"), MS_OK);
    assert_int_equal(ms_ctx_set_timeout_ms(ctx, 1000), MS_OK);
    ms_tls_check_result res = {0};
    tls_mtasts_lookup(ctx, "tlsenforce.audittest.example", &res);
    assert_int_equal(res.mtasts.state, MS_TLS_MTASTS_UNUSABLE);
    const ms_diag *d = find(&res.diags, "tls.mtasts-unusable");
    assert_non_null(d);
    assert_non_null(strstr(d->message, "TXT lookup failed"));
    free(res.mtasts.domain);
    ms_diag_list_free(&res.diags);
    ms_ctx_free(ctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(listed_and_valid_passes),
        cmocka_unit_test(mx_mismatch_by_mode),
        cmocka_unit_test(certificate_failures_by_mode),
        cmocka_unit_test(expiring_soon_still_passes),
        cmocka_unit_test(nothing_to_judge),
        cmocka_unit_test(lookups),
        cmocka_unit_test(lookup_fails),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
