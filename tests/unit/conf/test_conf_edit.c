/* The edits of `conf generate --apply`, on small files: a setting changed
 * on its own line (continuation lines and all), a second copy and the
 * deprecated names it replaces commented out, the rest kept byte for
 * byte, Dovecot's sections left alone, master.cf services replaced by
 * port. tests/conf/generate.sh runs the result through postconf and
 * doveconf. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mailsec/conf.h"

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static const ms_conf_edit *edit_of(const ms_conf_edits *e, const char *suffix)
{
    for (size_t i = 0; i < e->count; i++) {
        size_t n = strlen(e->files[i].path), m = strlen(suffix);
        if (n >= m && strcmp(e->files[i].path + n - m, suffix) == 0)
            return &e->files[i];
    }
    fail_msg("no edit of %s", suffix);
    return NULL;
}

static void postfix_edits(void **state)
{
    (void)state;
    char dir[] = "/tmp/unit-conf-edit-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char main_cf[256], master_cf[256];
    snprintf(main_cf, sizeof main_cf, "%s/main.cf", dir);
    snprintf(master_cf, sizeof master_cf, "%s/master.cf", dir);
    write_file(main_cf, "# keep me\n"
                        "smtpd_tls_protocols = !SSLv2,\n"
                        "    !SSLv3\n"
                        "myhostname = x\n"
                        "smtpd_use_tls = yes\n"
                        "smtpd_tls_protocols = TLSv1\n");
    write_file(master_cf, "smtp inet n - y - - smtpd\n"
                          "smtps inet n - y - - smtpd\n"
                          "  -o smtpd_tls_wrappermode=yes\n"
                          "pickup unix n - y 60 1 pickup\n");
    ms_conf_generate_opts o = {.server = MS_CONF_POSTFIX, .version = 37,
                               .profile = MS_CONF_PROFILE_MODERN, .cert_file = "/c.pem", .key_file = "/k.pem"};
    ms_conf_edits e;
    assert_int_equal(ms_conf_plan_edits(&o, dir, &e), MS_OK);
    const ms_conf_edit *m = edit_of(&e, "/main.cf");
    assert_true(m->changed);
    const char *want_start = "# keep me\n"
                             "smtpd_tls_protocols = >=TLSv1.3\n"
                             "myhostname = x\n"
                             "#mailsec: smtpd_use_tls = yes\n"
                             "#mailsec: smtpd_tls_protocols = TLSv1\n";
    assert_memory_equal(m->new_text, want_start, strlen(want_start));
    assert_non_null(strstr(m->new_text, "\nsmtpd_tls_chain_files = /k.pem, /c.pem\n"));
    assert_non_null(strstr(m->new_text, "\nsmtpd_tls_mandatory_protocols = >=TLSv1.3\n"));
    assert_null(strstr(m->new_text, "tls_medium_cipherlist")); /* modern: TLS 1.3 only */
    const ms_conf_edit *s = edit_of(&e, "/master.cf");
    const char *want_master = "smtp inet n - y - - smtpd\n"
                              "submissions inet n       -       y       -       -       smtpd\n"
                              "  -o syslog_name=postfix/submissions\n"
                              "  -o smtpd_tls_wrappermode=yes\n"
                              "  -o smtpd_sasl_auth_enable=yes\n"
                              "  -o smtpd_sasl_type=dovecot\n"
                              "  -o smtpd_sasl_path=private/auth\n"
                              "  -o smtpd_tls_auth_only=yes\n"
                              "pickup unix n - y 60 1 pickup\n"
                              "submission inet n       -       y       -       -       smtpd\n";
    assert_memory_equal(s->new_text, want_master, strlen(want_master));
    /* nothing written yet */
    struct stat sb;
    char backup[300];
    snprintf(backup, sizeof backup, "%s.mailsec-bak.1", main_cf);
    assert_int_not_equal(stat(backup, &sb), 0);
    char *error = NULL;
    assert_int_equal(ms_conf_apply_edits(&e, &error), MS_OK);
    assert_int_equal(stat(backup, &sb), 0);
    assert_string_equal(edit_of(&e, "/main.cf")->backup, backup);
    ms_conf_edits_free(&e);
    /* a second plan changes nothing */
    assert_int_equal(ms_conf_plan_edits(&o, dir, &e), MS_OK);
    assert_false(edit_of(&e, "/main.cf")->changed);
    assert_false(edit_of(&e, "/master.cf")->changed);
    ms_conf_edits_free(&e);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

static void dovecot_edits_leave_sections_alone(void **state)
{
    (void)state;
    char dir[] = "/tmp/unit-conf-edit-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[256];
    snprintf(path, sizeof path, "%s/dovecot.conf", dir);
    write_file(path, "ssl = yes\n"
                     "service imap-login {\n"
                     "  inet_listener imaps {\n"
                     "    ssl = yes\n"
                     "  }\n"
                     "}\n"
                     "ssl_dh_parameters_length = 2048\n");
    ms_conf_generate_opts o = {.server = MS_CONF_DOVECOT, .version = 24,
                               .profile = MS_CONF_PROFILE_INTERMEDIATE, .cert_file = "/c.pem", .key_file = "/k.pem"};
    ms_conf_edits e;
    assert_int_equal(ms_conf_plan_edits(&o, dir, &e), MS_OK);
    assert_int_equal(e.count, 1);
    const char *want = "ssl = required\n"
                       "service imap-login {\n"
                       "  inet_listener imaps {\n"
                       "    ssl = yes\n"
                       "  }\n"
                       "}\n"
                       "#mailsec: ssl_dh_parameters_length = 2048\n";
    assert_memory_equal(e.files[0].new_text, want, strlen(want));
    assert_non_null(strstr(e.files[0].new_text, "\nssl_server_cert_file = /c.pem\n"));
    assert_non_null(strstr(e.files[0].new_text, "\nauth_allow_cleartext = no\n"));
    ms_conf_edits_free(&e);
    unlink(path);
    rmdir(dir);
}

static void refusals(void **state)
{
    (void)state;
    ms_conf_snippets s;
    ms_conf_generate_opts o = {.server = MS_CONF_DOVECOT, .version = 23,
                               .profile = MS_CONF_PROFILE_MODERN, .cert_file = "/c", .key_file = "/k",
                               .chain_file = "/chain"};
    assert_int_equal(ms_conf_generate(&o, &s), MS_ERR_INVALID);
    assert_non_null(strstr(s.error, "mailsec cert bundle --format dovecot"));
    ms_conf_snippets_free(&s);
    o.chain_file = NULL;
    o.profile = MS_CONF_PROFILE_NONE;
    assert_int_equal(ms_conf_generate(&o, &s), MS_ERR_INVALID);
    ms_conf_snippets_free(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(postfix_edits),
        cmocka_unit_test(dovecot_edits_leave_sections_alone),
        cmocka_unit_test(refusals),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
