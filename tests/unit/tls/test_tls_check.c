/* ms_tls_check through the library against the mail test bed
 * (tests/mailbed: a real Postfix and Dovecot, and badserver.py) and, for
 * DANE, the DNS test bed. Each case names a port of the bed, how it is
 * configured, and the findings that configuration must give. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "mailsec/tls.h"
#include "unit/testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* KEY from the mail bed's info file, as a number (0 when missing). */
static unsigned mailbed_port(const char *key)
{
    const char *path = getenv("MAILSEC_MAILBED_INFO");
    FILE *f = path ? fopen(path, "r") : NULL;
    if (f == NULL)
        fail_msg("the mail test bed is not running (MAILSEC_MAILBED_INFO)");
    char line[1024];
    size_t klen = strlen(key);
    unsigned value = 0;
    while (fgets(line, sizeof line, f))
        if (strncmp(line, key, klen) == 0 && line[klen] == '=')
            value = (unsigned)strtoul(line + klen + 1, NULL, 10);
    fclose(f);
    if (value == 0)
        fail_msg("%s is not in the mail bed's info file", key);
    return value;
}

static char *mailbed_string(const char *key)
{
    const char *path = getenv("MAILSEC_MAILBED_INFO");
    FILE *f = path ? fopen(path, "r") : NULL;
    assert_non_null(f);
    char line[1024];
    size_t klen = strlen(key);
    char *value = NULL;
    while (value == NULL && fgets(line, sizeof line, f))
        if (strncmp(line, key, klen) == 0 && line[klen] == '=') {
            line[strcspn(line, "\n")] = '\0';
            value = strdup(line + klen + 1);
        }
    fclose(f);
    assert_non_null(value);
    return value;
}

/* The port's codes, sorted and space-separated, are exactly want. */
static void assert_codes(const ms_diag_list *diags, const char *want)
{
    char got[1024] = "";
    const char *codes[64];
    size_t n = 0;
    for (size_t i = 0; i < diags->count && n < 64; i++)
        codes[n++] = diags->items[i].def->code;
    for (size_t i = 1; i < n; i++)
        for (size_t k = i; k > 0 && strcmp(codes[k - 1], codes[k]) > 0; k--) {
            const char *t = codes[k];
            codes[k] = codes[k - 1];
            codes[k - 1] = t;
        }
    for (size_t i = 0; i < n; i++) {
        size_t used = strlen(got);
        snprintf(got + used, sizeof got - used, "%s%s", i ? " " : "", codes[i]);
    }
    if (strcmp(got, want) != 0)
        fail_msg("codes: got [%s], expected [%s]", got, want);
}

typedef struct port_case {
    const char *port_key; /* in the info file */
    ms_tls_mode mode;
    int probe_all;        /* versions and injection too */
    ms_tls_port_state state;
    const char *codes;    /* sorted */
} port_case;

static ms_tls_check_result *check(const ms_tls_port *ports, size_t n, ms_tls_check_opts *opts)
{
    char *ca = mailbed_string("CA");
    char *name = mailbed_string("SERVERNAME");
    opts->ca_file = ca;
    opts->servername = name;
    if (opts->timeout_ms == 0)
        opts->timeout_ms = 2000;
    ms_ctx *ctx = NULL;
    assert_int_equal(ms_ctx_new(&ctx), MS_OK);
    char resolver[256], anchor[1024];
    if (opts->dane) {
        assert_true(dnsbed_get("RESOLVER", resolver, sizeof resolver));
        assert_true(dnsbed_get("TRUST_ANCHOR", anchor, sizeof anchor));
        assert_int_equal(ms_ctx_set_resolver(ctx, resolver), MS_OK);
        assert_int_equal(ms_ctx_set_trust_anchor_file(ctx, anchor), MS_OK);
        assert_int_equal(ms_ctx_set_timeout_ms(ctx, 5000), MS_OK);
    }
    ms_tls_check_result *res = NULL;
    assert_int_equal(ms_tls_check(ctx, "127.0.0.1", ports, n, opts, &res), MS_OK);
    ms_ctx_free(ctx);
    free(ca);
    free(name);
    return res;
}

static void each_port_as_configured(void **state)
{
    (void)state;
    static const port_case CASES[] = {
        {"SMTP_PORT", MS_TLS_SMTP, 1, MS_TLS_PORT_TLS, "tls.injection-safe tls.old-version"},
        {"SUBMISSION_PORT", MS_TLS_SMTP, 1, MS_TLS_PORT_TLS, "tls.injection-safe"},
        {"SMTPS_PORT", MS_TLS_IMPLICIT, 0, MS_TLS_PORT_TLS, "cert.intermediate-missing"},
        /* Dovecot: disable_plaintext_auth = no (LOGIN, AUTH=PLAIN; USER, SASL PLAIN) */
        {"IMAP_PORT", MS_TLS_IMAP, 1, MS_TLS_PORT_TLS, "tls.injection-safe tls.login-before-starttls"},
        {"POP3_PORT", MS_TLS_POP3, 0, MS_TLS_PORT_TLS, "cert.expired tls.login-before-starttls"},
        /* Postfix with SASL through Dovecot and no smtpd_tls_auth_only */
        {"SASL_PORT", MS_TLS_SMTP, 0, MS_TLS_PORT_TLS, "tls.auth-before-starttls"},
        {"LMTP_PORT", MS_TLS_LMTP, 1, MS_TLS_PORT_TLS, "tls.injection-safe"},
        {"POP3S_PORT", MS_TLS_IMPLICIT, 0, MS_TLS_PORT_TLS, "cert.expired"},
        {"SIEVE_PORT", MS_TLS_SIEVE, 0, MS_TLS_PORT_TLS, "cert.host-mismatch"},
        {"BAD_NOSTARTTLS_PORT", MS_TLS_SMTP, 0, MS_TLS_PORT_NO_TLS, "tls.starttls-not-offered"},
        {"BAD_REFUSE_PORT", MS_TLS_SMTP, 0, MS_TLS_PORT_NO_TLS, "tls.starttls-refused"},
        {"BAD_GARBAGE_PORT", MS_TLS_SMTP, 0, MS_TLS_PORT_NO_TLS, "tls.garbage"},
        {"BAD_GREET421_PORT", MS_TLS_SMTP, 0, MS_TLS_PORT_NO_TLS, "tls.greeting-refused"},
        {"BAD_SILENT_PORT", MS_TLS_SMTP, 0, MS_TLS_PORT_NO_TLS, "tls.timeout"},
        {"BAD_DROP_PORT", MS_TLS_SMTP, 0, MS_TLS_PORT_NO_TLS, "tls.dropped"},
        {"BAD_STALL_PORT", MS_TLS_SMTP, 0, MS_TLS_PORT_NO_TLS, "tls.timeout"},
        {"BAD_INJECT_PORT", MS_TLS_SMTP, 1, MS_TLS_PORT_TLS, "tls.injection-vulnerable"},
        /* its capabilities lack LOGINDISABLED; the POP3 ones list USER */
        {"BAD_IMAPINJECT_PORT", MS_TLS_IMAP, 1, MS_TLS_PORT_TLS,
         "tls.injection-vulnerable tls.login-before-starttls"},
        {"BAD_SIEVEINJECT_PORT", MS_TLS_SIEVE, 1, MS_TLS_PORT_TLS, "tls.injection-vulnerable"},
        {"BAD_PLAINTEXT_PORT", MS_TLS_SMTP, 0, MS_TLS_PORT_TLS, "tls.plaintext-after-starttls"},
        {"BAD_POP3NOSTLS_PORT", MS_TLS_POP3, 0, MS_TLS_PORT_NO_TLS,
         "tls.login-before-starttls tls.starttls-not-offered"},
        {"BAD_LEGACY_PORT", MS_TLS_IMPLICIT, 1, MS_TLS_PORT_TLS,
         "tls.no-forward-secrecy tls.no-modern-version tls.no-tls13 tls.old-version tls.weak-cipher"},
        /* TLS at once on a STARTTLS port: the server's greeting is named, at once */
        {"SUBMISSION_PORT", MS_TLS_IMPLICIT, 0, MS_TLS_PORT_NO_TLS, "tls.garbage"},
        {"BAD_ALERT_PORT", MS_TLS_IMPLICIT, 0, MS_TLS_PORT_NO_TLS, "tls.handshake-failed"},
        /* replies without end: stopped at their bounds; a drip at the time-out */
        {"BAD_ENDLESS220_PORT", MS_TLS_SMTP, 1, MS_TLS_PORT_NO_TLS, "tls.reply-too-long"},
        {"BAD_ENDLESSLINE_PORT", MS_TLS_LMTP, 1, MS_TLS_PORT_NO_TLS, "tls.reply-too-long"},
        {"BAD_IMAPENDLESS_PORT", MS_TLS_IMAP, 1, MS_TLS_PORT_NO_TLS, "tls.reply-too-long"},
        {"BAD_POP3ENDLESS_PORT", MS_TLS_POP3, 1, MS_TLS_PORT_NO_TLS, "tls.reply-too-long"},
        {"BAD_SIEVEENDLESS_PORT", MS_TLS_SIEVE, 1, MS_TLS_PORT_NO_TLS, "tls.reply-too-long"},
        {"BAD_DRIP_PORT", MS_TLS_SMTP, 1, MS_TLS_PORT_NO_TLS, "tls.timeout"},
    };
    for (size_t i = 0; i < sizeof CASES / sizeof CASES[0]; i++) {
        const port_case *c = &CASES[i];
        ms_tls_port port = {(uint16_t)mailbed_port(c->port_key), c->mode};
        ms_tls_check_opts opts = {0};
        opts.skip_versions = opts.skip_injection = !c->probe_all;
        opts.timeout_ms = 1000;
        ms_tls_check_result *res = check(&port, 1, &opts);
        assert_int_equal(res->count, 1);
        print_message("%s (%s): %s\n", c->port_key, ms_tls_mode_str(c->mode),
                      ms_tls_port_state_str(res->ports[0].state));
        assert_int_equal(res->ports[0].state, c->state);
        assert_codes(&res->ports[0].diags, c->codes);
        /* a stall costs one time-out (1 s) per step, not more (the wall
         * clock only in plain builds: testutil.h) */
        if (!MAILSEC_TEST_SANITIZED)
            assert_true(res->ports[0].seconds < 2.5);
        ms_tls_check_result_free(res);
    }
}

/* The versions found, exactly: every version probed on each server, and
 * accepted as the server is set up (the probes offer ranges and read the
 * server's choice, so a wrong inference shows here). */
static void versions_as_configured(void **state)
{
    (void)state;
    static const struct {
        const char *port_key;
        ms_tls_mode mode;
        unsigned accepted;
    } CASES[] = {
        /* Postfix on 25: everything OpenSSL 3 at level 0 still speaks */
        {"SMTP_PORT", MS_TLS_SMTP, MS_TLS_V1_0 | MS_TLS_V1_1 | MS_TLS_V1_2 | MS_TLS_V1_3},
        {"SUBMISSION_PORT", MS_TLS_SMTP, MS_TLS_V1_2 | MS_TLS_V1_3},
        {"IMAPS_PORT", MS_TLS_IMPLICIT, MS_TLS_V1_2 | MS_TLS_V1_3},
        /* 1.0 and 1.1 only: 1.2 and 1.3 known refused from the main session */
        {"BAD_LEGACY_PORT", MS_TLS_IMPLICIT, MS_TLS_V1_0 | MS_TLS_V1_1},
    };
    const unsigned all = MS_TLS_V1_0 | MS_TLS_V1_1 | MS_TLS_V1_2 | MS_TLS_V1_3;
    for (size_t i = 0; i < sizeof CASES / sizeof CASES[0]; i++) {
        ms_tls_port port = {(uint16_t)mailbed_port(CASES[i].port_key), CASES[i].mode};
        ms_tls_check_opts opts = {.skip_injection = 1, .timeout_ms = 2000};
        ms_tls_check_result *res = check(&port, 1, &opts);
        print_message("%s: probed %#x accepted %#x\n", CASES[i].port_key, res->ports[0].versions_probed,
                      res->ports[0].versions_accepted);
        assert_int_equal(res->ports[0].versions_probed, all);
        assert_int_equal(res->ports[0].versions_accepted, CASES[i].accepted);
        ms_tls_check_result_free(res);
    }
}

/* A Postfix that lets a client have one connection at a time turns the
 * check's other connections away ("421 ... too many connections"); each is
 * tried again alone, so the result is as complete as on a server without
 * the limit, whichever connection got in first. Several rounds, since
 * which one that is varies. */
static void one_connection_at_a_time(void **state)
{
    (void)state;
    const unsigned all = MS_TLS_V1_0 | MS_TLS_V1_1 | MS_TLS_V1_2 | MS_TLS_V1_3;
    ms_tls_port port = {(uint16_t)mailbed_port("LIMITED_PORT"), MS_TLS_SMTP};
    for (int round = 0; round < 5; round++) {
        ms_tls_check_opts opts = {.timeout_ms = 3000};
        ms_tls_check_result *res = check(&port, 1, &opts);
        const ms_tls_port_result *r = &res->ports[0];
        print_message("round %d: state %s probed %#x injection %d\n", round, ms_tls_port_state_str(r->state),
                      r->versions_probed, (int)r->injection);
        assert_int_equal(r->state, MS_TLS_PORT_TLS);
        assert_int_equal(r->versions_probed, all);
        assert_int_equal(r->injection, MS_TLS_INJECTION_SAFE);
        assert_false(ms_diag_has(&r->diags, "tls.greeting-refused"));
        ms_tls_check_result_free(res);
    }
}

/* A port the caller named that is closed is an error; with no port
 * open, the host has tls.no-open-port (the command exits 2). */
static void closed_and_unreachable(void **state)
{
    (void)state;
    ms_tls_port port = {1, MS_TLS_SMTP};
    ms_tls_check_opts opts = {0};
    ms_tls_check_result *res = check(&port, 1, &opts);
    assert_int_equal(res->ports[0].state, MS_TLS_PORT_CLOSED);
    assert_codes(&res->ports[0].diags, "tls.closed-named");
    assert_int_equal(res->open_ports, 0);
    assert_codes(&res->diags, "tls.no-open-port");
    ms_tls_check_result_free(res);

    /* one named port closed, one open: the host was checked */
    ms_tls_port two[] = {{1, MS_TLS_SMTP}, {(uint16_t)mailbed_port("SUBMISSION_PORT"), MS_TLS_SMTP}};
    ms_tls_check_opts quiet = {.skip_versions = 1, .skip_injection = 1};
    res = check(two, 2, &quiet);
    assert_int_equal(res->open_ports, 1);
    assert_codes(&res->ports[0].diags, "tls.closed-named");
    assert_codes(&res->diags, "");
    ms_tls_check_result_free(res);

    /* the eight default ports where nothing listens: a note each */
    ms_ctx *dctx = NULL;
    assert_int_equal(ms_ctx_new(&dctx), MS_OK);
    ms_tls_check_opts defaults = {.timeout_ms = 2000};
    assert_int_equal(ms_tls_check(dctx, "127.0.0.2", NULL, 0, &defaults, &res), MS_OK);
    assert_int_equal(res->count, MS_TLS_DEFAULT_PORT_COUNT);
    for (size_t i = 0; i < res->count; i++) {
        assert_int_equal(res->ports[i].state, MS_TLS_PORT_CLOSED);
        assert_codes(&res->ports[i].diags, "tls.closed");
    }
    assert_int_equal(res->open_ports, 0);
    assert_codes(&res->diags, "tls.no-open-port");
    ms_tls_check_result_free(res);
    ms_ctx_free(dctx);

    /* a name that has no address (RFC 6761 6.4: .invalid never resolves);
     * a connection that times out is reported the same way */
    ms_ctx *ctx = NULL;
    assert_int_equal(ms_ctx_new(&ctx), MS_OK);
    ms_tls_check_opts quick = {.timeout_ms = 300};
    ms_tls_port p25 = {25, MS_TLS_SMTP};
    assert_int_equal(ms_tls_check(ctx, "no-such-host.invalid", &p25, 1, &quick, &res), MS_OK);
    assert_int_equal(res->ports[0].state, MS_TLS_PORT_UNREACHABLE);
    assert_codes(&res->ports[0].diags, "tls.unreachable");
    ms_tls_check_result_free(res);
    ms_ctx_free(ctx);
}

/* A name is looked up through the context's resolver (the DNS test bed),
 * and every address is checked: two.tlstest.example has 127.0.0.1, where
 * the bed listens, and 127.0.0.2, which refuses. */
static void every_address_of_a_name(void **state)
{
    (void)state;
    char resolver[256], anchor[1024];
    assert_true(dnsbed_get("RESOLVER", resolver, sizeof resolver));
    assert_true(dnsbed_get("TRUST_ANCHOR", anchor, sizeof anchor));
    ms_ctx *ctx = NULL;
    assert_int_equal(ms_ctx_new(&ctx), MS_OK);
    assert_int_equal(ms_ctx_set_resolver(ctx, resolver), MS_OK);
    assert_int_equal(ms_ctx_set_trust_anchor_file(ctx, anchor), MS_OK);
    char *ca = mailbed_string("CA");
    ms_tls_check_opts opts = {.skip_versions = 1, .skip_injection = 1, .timeout_ms = 2000,
                              .ca_file = ca, .servername = "mail.example.test"};
    ms_tls_port port = {(uint16_t)mailbed_port("SUBMISSION_PORT"), MS_TLS_SMTP};
    ms_tls_check_result *res = NULL;
    assert_int_equal(ms_tls_check(ctx, "two.tlstest.example", &port, 1, &opts, &res), MS_OK);
    assert_int_equal(res->address_count, 2);
    assert_int_equal(res->count, 2);
    assert_string_equal(res->ports[0].address, "127.0.0.1");
    assert_int_equal(res->ports[0].state, MS_TLS_PORT_TLS);
    assert_codes(&res->ports[0].diags, "");
    assert_string_equal(res->ports[1].address, "127.0.0.2");
    assert_int_equal(res->ports[1].state, MS_TLS_PORT_CLOSED);
    assert_codes(&res->ports[1].diags, "tls.closed-named");
    char where[300];
    snprintf(where, sizeof where, "two.tlstest.example[127.0.0.2]:%u", port.port);
    assert_string_equal(res->ports[1].diags.items[0].location, where);
    assert_int_equal(res->open_ports, 1);
    ms_tls_check_result_free(res);

    /* a resolver that does not answer: no address, and why */
    assert_int_equal(ms_ctx_set_resolver(ctx, "127.0.0.1@1"), MS_OK);
    assert_int_equal(ms_ctx_set_timeout_ms(ctx, 500), MS_OK);
    assert_int_equal(ms_tls_check(ctx, "two.tlstest.example", &port, 1, &opts, &res), MS_OK);
    assert_int_equal(res->address_count, 0);
    assert_int_equal(res->ports[0].state, MS_TLS_PORT_UNREACHABLE);
    assert_codes(&res->ports[0].diags, "tls.unreachable");
    assert_non_null(strstr(res->ports[0].diags.items[0].message, "the address lookup failed"));
    ms_tls_check_result_free(res);
    ms_ctx_free(ctx);
    free(ca);
}

static void same_certificate_or_not(void **state)
{
    (void)state;
    ms_tls_port same[] = {{(uint16_t)mailbed_port("SMTP_PORT"), MS_TLS_SMTP},
                          {(uint16_t)mailbed_port("SUBMISSION_PORT"), MS_TLS_SMTP}};
    ms_tls_check_opts opts = {.skip_versions = 1, .skip_injection = 1};
    ms_tls_check_result *res = check(same, 2, &opts);
    assert_int_equal(res->same_certificate, 1);
    assert_codes(&res->diags, "");
    ms_tls_check_result_free(res);

    ms_tls_port differ[] = {{(uint16_t)mailbed_port("SMTP_PORT"), MS_TLS_SMTP},
                            {(uint16_t)mailbed_port("IMAPS_PORT"), MS_TLS_IMPLICIT},
                            {1, MS_TLS_SMTP}};
    res = check(differ, 3, &opts);
    assert_int_equal(res->same_certificate, 0);
    assert_codes(&res->diags, "tls.certificates-differ");
    ms_tls_check_result_free(res);
}

static void dane_lookups(void **state)
{
    (void)state;
    static const struct {
        const char *servername;
        ms_tls_dane_state dane;
        const char *host_codes;
    } CASES[] = {
        {"none.tlstest.example", MS_TLS_DANE_NO_RECORDS, "tls.dane-no-records"},
        {"mx.tlstest-unsigned.example", MS_TLS_DANE_NO_RECORDS, "tls.dane-insecure"},
        {"mx.tlstest.example", MS_TLS_DANE_MATCH, ""},
        {"nomatch.tlstest.example", MS_TLS_DANE_NO_MATCH, ""},
    };
    for (size_t i = 0; i < sizeof CASES / sizeof CASES[0]; i++) {
        ms_tls_port port = {(uint16_t)mailbed_port("SMTP_PORT"), MS_TLS_SMTP};
        ms_tls_check_opts opts = {.skip_versions = 1, .skip_injection = 1, .dane = 1};
        char *ca = mailbed_string("CA");
        opts.ca_file = ca;
        opts.servername = CASES[i].servername;
        opts.timeout_ms = 2000;
        ms_ctx *ctx = NULL;
        char resolver[256], anchor[1024];
        assert_int_equal(ms_ctx_new(&ctx), MS_OK);
        assert_true(dnsbed_get("RESOLVER", resolver, sizeof resolver));
        assert_true(dnsbed_get("TRUST_ANCHOR", anchor, sizeof anchor));
        ms_ctx_set_resolver(ctx, resolver);
        ms_ctx_set_trust_anchor_file(ctx, anchor);
        ms_tls_check_result *res = NULL;
        assert_int_equal(ms_tls_check(ctx, "127.0.0.1", &port, 1, &opts, &res), MS_OK);
        assert_int_equal(res->ports[0].dane, CASES[i].dane);
        assert_codes(&res->diags, CASES[i].host_codes);
        ms_tls_check_result_free(res);
        ms_ctx_free(ctx);
        free(ca);
    }
    /* a resolver that does not answer: the lookup failed, senders defer */
    ms_ctx *ctx = NULL;
    assert_int_equal(ms_ctx_new(&ctx), MS_OK);
    ms_ctx_set_resolver(ctx, "127.0.0.1@1");
    ms_ctx_set_timeout_ms(ctx, 500);
    ms_tls_port port = {(uint16_t)mailbed_port("SMTP_PORT"), MS_TLS_SMTP};
    ms_tls_check_opts opts = {.skip_versions = 1, .skip_injection = 1, .dane = 1,
                              .servername = "mx.tlstest.example"};
    ms_tls_check_result *res = NULL;
    assert_int_equal(ms_tls_check(ctx, "127.0.0.1", &port, 1, &opts, &res), MS_OK);
    assert_codes(&res->diags, "tls.dane-lookup-failed");
    ms_tls_check_result_free(res);
    ms_ctx_free(ctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(each_port_as_configured),
        cmocka_unit_test(versions_as_configured),
        cmocka_unit_test(one_connection_at_a_time),
        cmocka_unit_test(closed_and_unreachable),
        cmocka_unit_test(every_address_of_a_name),
        cmocka_unit_test(same_certificate_or_not),
        cmocka_unit_test(dane_lookups),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
