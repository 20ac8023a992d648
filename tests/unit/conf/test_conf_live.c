/* `conf audit --live` (ms_conf_audit with live_host) against the mail test
 * bed (tests/mailbed, a CTest fixture): its own configuration matches
 * what its ports send; a configuration changed behind a server's back
 * (a certificate it was not reloaded with) gives conf.live-mismatch at
 * the service or listener; a configured port nobody listens on gives
 * conf.live-no-tls, an error. What each bed port sends is known from mailbed.sh:
 * SMTP and submission the DANE chain, SMTPS an ECDSA leaf, IMAP the RSA
 * fullchain, POP3 an expired chain (protocol pop3 { ssl_cert }). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "mailsec/conf.h"
#include "unit/testutil.h"

static char bed_dir[512], certs[512], ca[512];
static char tmp[] = "/tmp/unit-conf-live-XXXXXX";

static int info(const char *key, char *out, size_t size)
{
    return bed_info_get("MAILSEC_MAILBED_INFO", key, out, size);
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    static char buf[1 << 16];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    return strdup(buf);
}

/* Writes tmp/NAME: the text of SOURCE followed by extra. */
static void copy_with(const char *source, const char *name, const char *extra)
{
    char *text = slurp(source);
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", tmp, name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fputs(extra, f);
    fclose(f);
    free(text);
}

static ms_diag_list audit(const char *postfix_dir, const char *dovecot_conf, size_t *ports)
{
    ms_ctx *ctx;
    assert_int_equal(ms_ctx_new(&ctx), MS_OK);
    ms_conf_audit_opts o = {.postfix_dir = postfix_dir, .dovecot_conf = dovecot_conf,
                            .ca_file = ca, .live_host = "127.0.0.1"};
    ms_conf_audit_result r;
    ms_diag_list d = MS_DIAG_LIST_INIT;
    assert_int_equal(ms_conf_audit(ctx, &o, &r, &d), MS_OK);
    *ports = r.live_ports;
    ms_conf_audit_result_free(&r);
    ms_ctx_free(ctx);
    return d;
}

static size_t count_code(const ms_diag_list *d, const char *code)
{
    size_t n = 0;
    for (size_t i = 0; i < d->count; i++)
        n += strcmp(d->items[i].def->code, code) == 0;
    return n;
}

static void the_bed_serves_what_it_is_configured_with(void **state)
{
    (void)state;
    char postfix[600], dovecot[600];
    snprintf(postfix, sizeof postfix, "%s/postfix", bed_dir);
    snprintf(dovecot, sizeof dovecot, "%s/dovecot.conf", bed_dir);
    size_t ports;
    ms_diag_list d = audit(postfix, dovecot, &ports);
    /* smtp, submission, smtps, limited, sasl, ciphers; imap, imaps, pop3, pop3s */
    assert_int_equal(ports, 10);
    assert_int_equal(count_code(&d, "conf.live-mismatch"), 0);
    assert_int_equal(count_code(&d, "conf.live-no-tls"), 0);
    ms_diag_list_free(&d);
}

static void postfix_not_reloaded(void **state)
{
    (void)state;
    char src[600], extra[1200];
    snprintf(src, sizeof src, "%s/postfix/main.cf", bed_dir);
    snprintf(extra, sizeof extra, "smtpd_tls_chain_files = %s/leaf-rsa.key, %s/fullchain.pem\n", certs, certs);
    copy_with(src, "main.cf", extra);
    snprintf(src, sizeof src, "%s/postfix/master.cf", bed_dir);
    copy_with(src, "master.cf", "");
    size_t ports;
    ms_diag_list d = audit(tmp, NULL, &ports);
    assert_int_equal(ports, 6);
    /* smtp, submission, limited and sasl follow main.cf; smtps and ciphers
     * have their own -o chain files */
    assert_int_equal(count_code(&d, "conf.live-mismatch"), 4);
    char where[600];
    snprintf(where, sizeof where, "%s/master.cf:1", tmp);
    int at_smtp = 0;
    for (size_t i = 0; i < d.count; i++)
        if (strcmp(d.items[i].def->code, "conf.live-mismatch") == 0) {
            at_smtp |= strcmp(d.items[i].location, where) == 0;
            assert_non_null(strstr(d.items[i].message, "fullchain.pem"));
        }
    assert_true(at_smtp);
    ms_diag_list_free(&d);
}

static void dovecot_not_reloaded(void **state)
{
    (void)state;
    char src[600], extra[1200];
    snprintf(src, sizeof src, "%s/dovecot.conf", bed_dir);
    snprintf(extra, sizeof extra, "protocol pop3 {\n  ssl_cert = <%s/fullchain.pem\n}\n", certs);
    copy_with(src, "dovecot.conf", extra);
    char path[600];
    snprintf(path, sizeof path, "%s/dovecot.conf", tmp);
    size_t ports;
    ms_diag_list d = audit(NULL, path, &ports);
    assert_int_equal(ports, 4);
    assert_int_equal(count_code(&d, "conf.live-mismatch"), 2); /* pop3 and pop3s */
    for (size_t i = 0; i < d.count; i++)
        if (strcmp(d.items[i].def->code, "conf.live-mismatch") == 0)
            /* leaf-expired.pem: valid 2020-01-01 .. 2021-01-01 (make-test-ca.sh) */
            assert_non_null(strstr(d.items[i].message, "valid until 2021-01-01T00:00:00Z"));
    ms_diag_list_free(&d);
}

/* A loopback port nothing listens on (bound, then closed). */
static unsigned free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    close(fd);
    return ntohs(a.sin_port);
}

static void a_port_nobody_listens_on(void **state)
{
    (void)state;
    char src[600], extra[300];
    snprintf(src, sizeof src, "%s/postfix/main.cf", bed_dir);
    copy_with(src, "main.cf", "");
    snprintf(src, sizeof src, "%s/postfix/master.cf", bed_dir);
    snprintf(extra, sizeof extra, "127.0.0.1:%u inet n - n - - smtpd\n", free_port());
    copy_with(src, "master.cf", extra);
    size_t ports;
    ms_diag_list d = audit(tmp, NULL, &ports);
    assert_int_equal(ports, 7); /* the bed's six Postfix ports and this one */
    assert_int_equal(count_code(&d, "conf.live-no-tls"), 1);
    assert_int_equal(count_code(&d, "conf.live-mismatch"), 0);
    /* the configuration says the port is served: a closed one is an error
     * (exit 1), so a monitoring script does not pass on a dead server */
    for (size_t i = 0; i < d.count; i++)
        if (strcmp(d.items[i].def->code, "conf.live-no-tls") == 0) {
            assert_int_equal(d.items[i].def->severity, MS_SEV_ERROR);
            assert_non_null(strstr(d.items[i].message, "closed"));
        }
    /* the other error: the bed's SASL port offers AUTH before STARTTLS on purpose */
    assert_int_equal(count_code(&d, "conf.auth-before-tls"), 1);
    assert_int_equal(ms_diag_count(&d, MS_SEV_ERROR), 2);
    ms_diag_list_free(&d);
}

static int setup(void **state)
{
    (void)state;
    if (!info("DIR", bed_dir, sizeof bed_dir) || !info("CERTS", certs, sizeof certs) ||
        !info("CA", ca, sizeof ca)) {
        fprintf(stderr, "the mail test bed is not running (MAILSEC_MAILBED_INFO)\n");
        return -1;
    }
    return mkdtemp(tmp) == NULL;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp);
    return system(cmd);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(the_bed_serves_what_it_is_configured_with),
        cmocka_unit_test(postfix_not_reloaded),
        cmocka_unit_test(dovecot_not_reloaded),
        cmocka_unit_test(a_port_nobody_listens_on),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
