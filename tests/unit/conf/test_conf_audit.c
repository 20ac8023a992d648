/* ms_conf_audit on main.cf files naming the test CA's files
 * ($MAILSEC_TEST_CA, tests/cert/make-test-ca.sh). postconf(5),
 * smtpd_tls_chain_files: "each private key directly followed by its
 * certificate chain"; the legacy smtpd_tls_cert_file is ignored when
 * smtpd_tls_chain_files is set. tests/conf/certs.sh covers the same
 * through the command, with lib/cert's findings. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mailsec/conf.h"

static char dir[] = "/tmp/unit-conf-audit-XXXXXX";

static void write_file(const char *name, const char *text)
{
    char path[256];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

/* text with each "$CA" replaced by the test CA's directory (a static
 * buffer). */
static const char *with_ca(const char *text)
{
    static char out[4096];
    const char *ca = getenv("MAILSEC_TEST_CA");
    size_t o = 0;
    for (const char *p = text; *p != '\0'; p++) {
        if (strncmp(p, "$CA", 3) == 0) {
            assert_true(o + strlen(ca) < sizeof out);
            memcpy(out + o, ca, strlen(ca));
            o += strlen(ca);
            p += 2;
        } else {
            assert_true(o + 1 < sizeof out);
            out[o++] = *p;
        }
    }
    out[o] = '\0';
    return out;
}

/* Audits main.cf, where "$CA" stands for the test CA's directory (with a
 * one-service master.cf), and returns the findings. */
static ms_diag_list audit(const char *main_cf)
{
    write_file("main.cf", with_ca(main_cf));
    write_file("master.cf", "smtp inet n - y - - smtpd\n");
    ms_ctx *ctx;
    assert_int_equal(ms_ctx_new(&ctx), MS_OK);
    char ca[256];
    snprintf(ca, sizeof ca, "%s/root.pem", getenv("MAILSEC_TEST_CA"));
    ms_conf_audit_opts o = {.postfix_dir = dir, .ca_file = ca};
    ms_conf_audit_result r;
    ms_diag_list d = MS_DIAG_LIST_INIT;
    assert_int_equal(ms_conf_audit(ctx, &o, &r, &d), MS_OK);
    assert_true(r.postfix_read);
    ms_conf_audit_result_free(&r);
    ms_ctx_free(ctx);
    return d;
}

static const ms_diag *find(const ms_diag_list *d, const char *code)
{
    for (size_t i = 0; i < d->count; i++)
        if (strcmp(d->items[i].def->code, code) == 0)
            return &d->items[i];
    return NULL;
}

static void chain_files_key_first_is_clean(void **state)
{
    (void)state;
    ms_diag_list d = audit("smtpd_tls_security_level = may\n"
                           "smtpd_tls_chain_files = $CA/leaf-rsa.key, $CA/fullchain.pem\n"
                           "smtpd_tls_protocols = >=TLSv1.2\nsmtpd_tls_mandatory_protocols = >=TLSv1.2\n");
    assert_null(find(&d, "conf.chain-files-order"));
    assert_null(find(&d, "cert.key-mismatch"));
    assert_null(find(&d, "cert.key-in-public-file"));
    assert_int_equal(ms_diag_count(&d, MS_SEV_ERROR), 0);
    ms_diag_list_free(&d);
}

static void chain_files_certificate_first(void **state)
{
    (void)state;
    ms_diag_list d = audit("smtpd_tls_security_level = may\n"
                           "smtpd_tls_chain_files = $CA/fullchain.pem, $CA/leaf-rsa.key\n");
    const ms_diag *f = find(&d, "conf.chain-files-order");
    assert_non_null(f);
    char where[300];
    snprintf(where, sizeof where, "%s/main.cf:2", dir);
    assert_string_equal(f->location, where);
    assert_non_null(strstr(f->message, "fullchain.pem line 1"));
    ms_diag_list_free(&d);
}

static void chain_files_and_cert_file(void **state)
{
    (void)state;
    ms_diag_list d = audit("smtpd_tls_security_level = may\n"
                           "smtpd_tls_cert_file = $CA/fullchain.pem\n"
                           "smtpd_tls_key_file = $CA/leaf-rsa.key\n"
                           "smtpd_tls_chain_files = $CA/leaf-rsa.key, $CA/fullchain.pem\n");
    const ms_diag *f = find(&d, "conf.cert-and-chain-files");
    assert_non_null(f);
    assert_int_equal(f->def->severity, MS_SEV_INFO);
    assert_non_null(strstr(f->message, "at line 4"));
    ms_diag_list_free(&d);
}

static void cert_file_with_other_key(void **state)
{
    (void)state;
    ms_diag_list d = audit("smtpd_tls_security_level = may\n"
                           "smtpd_tls_cert_file = $CA/fullchain.pem\n"
                           "smtpd_tls_key_file = $CA/leaf-ecdsa.key\n");
    const ms_diag *f = find(&d, "cert.key-mismatch");
    assert_non_null(f);
    assert_non_null(strstr(f->message, "smtpd_tls_cert_file"));
    ms_diag_list_free(&d);
}

static int setup(void **state)
{
    (void)state;
    return mkdtemp(dir) == NULL || getenv("MAILSEC_TEST_CA") == NULL;
}

static int teardown(void **state)
{
    (void)state;
    char path[256];
    snprintf(path, sizeof path, "%s/main.cf", dir);
    unlink(path);
    snprintf(path, sizeof path, "%s/master.cf", dir);
    unlink(path);
    return rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(chain_files_key_first_is_clean),
        cmocka_unit_test(chain_files_certificate_first),
        cmocka_unit_test(chain_files_and_cert_file),
        cmocka_unit_test(cert_file_with_other_key),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
