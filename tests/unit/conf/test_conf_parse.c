/* The parsers keep file and line for every setting. Expected values are
 * what postconf(5) ("SYNTAX", parameter expansion), master(5) and
 * doveconf(1) say the text means; tests/conf/compare.sh checks the same
 * files against the real tools. */
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

#define PARSE_MAIN(text, cf, diags) \
    assert_int_equal(ms_conf_maincf_parse(text, strlen(text), "main.cf", cf, diags), MS_OK)

static void maincf_continuation_and_comments(void **state)
{
    (void)state;
    const char *text = "# comment\n"
                       "myhostname = mail.example.com\n"
                       "\n"
                       "smtpd_relay_restrictions = permit_mynetworks\n"
                       "    # a comment inside the logical line\n"
                       "    permit_sasl_authenticated\n"
                       "\tdefer_unauth_destination\n"
                       "empty =\n"
                       "spaced=value  \n";
    ms_conf_maincf cf;
    ms_diag_list d = MS_DIAG_LIST_INIT;
    PARSE_MAIN(text, &cf, &d);
    assert_int_equal(d.count, 0);
    assert_int_equal(cf.count, 4);
    const ms_conf_setting *s = ms_conf_maincf_get(&cf, "smtpd_relay_restrictions");
    assert_non_null(s);
    assert_string_equal(s->value, "permit_mynetworks permit_sasl_authenticated defer_unauth_destination");
    assert_int_equal(s->line, 4);
    assert_string_equal(s->file, "main.cf");
    assert_string_equal(ms_conf_maincf_get(&cf, "empty")->value, "");
    assert_string_equal(ms_conf_maincf_get(&cf, "spaced")->value, "value");
    assert_int_equal(ms_conf_maincf_get(&cf, "spaced")->line, 9);
    ms_conf_maincf_free(&cf);
}

static void maincf_later_wins_and_syntax(void **state)
{
    (void)state;
    const char *text = "a = 1\nnot a setting\na = 2\n= nothing\n";
    ms_conf_maincf cf;
    ms_diag_list d = MS_DIAG_LIST_INIT;
    PARSE_MAIN(text, &cf, &d);
    assert_string_equal(ms_conf_maincf_get(&cf, "a")->value, "2");
    assert_int_equal(ms_conf_maincf_get(&cf, "a")->line, 3);
    assert_int_equal(d.count, 2);
    assert_string_equal(d.items[0].def->code, "conf.syntax");
    assert_string_equal(d.items[0].location, "main.cf:2");
    assert_string_equal(d.items[1].location, "main.cf:4");
    ms_diag_list_free(&d);
    ms_conf_maincf_free(&cf);
}

static void maincf_expansion(void **state)
{
    (void)state;
    const char *text = "dir = /etc/mail\n"
                       "cert = ${dir}/cert.pem\n"
                       "key = $(dir)/key.pem, $cert\n"
                       "yes_if = ${dir?{set}}\n"
                       "no_if = ${unset:fallback}\n"
                       "loop_a = $loop_b\nloop_b = $loop_a\n"
                       "money = $$5\n"
                       "smtpd_tls_cert_file = $cert\n";
    ms_conf_maincf cf;
    PARSE_MAIN(text, &cf, NULL);
    char *v = ms_conf_maincf_value(&cf, "key");
    assert_string_equal(v, "/etc/mail/key.pem, /etc/mail/cert.pem");
    free(v);
    v = ms_conf_maincf_value(&cf, "yes_if");
    assert_string_equal(v, "{set}");
    free(v);
    v = ms_conf_maincf_value(&cf, "no_if");
    assert_string_equal(v, "fallback");
    free(v);
    v = ms_conf_maincf_value(&cf, "money");
    assert_string_equal(v, "$5");
    free(v);
    v = ms_conf_maincf_value(&cf, "loop_a"); /* bounded, not endless */
    assert_non_null(v);
    free(v);
    /* postconf -d: smtpd_tls_key_file = $smtpd_tls_cert_file */
    v = ms_conf_maincf_value(&cf, "smtpd_tls_key_file");
    assert_string_equal(v, "/etc/mail/cert.pem");
    free(v);
    v = ms_conf_maincf_value(&cf, "smtpd_tls_protocols");
    assert_string_equal(v, ">=TLSv1");
    free(v);
    assert_null(ms_conf_maincf_value(&cf, "no_such_parameter"));
    ms_conf_maincf_free(&cf);
}

/* "a0 = $a1$a1", "a1 = $a2$a2", ...: 2^30 lookups of empty values, no
 * text; the lookup budget stops it at once. */
static void maincf_expansion_is_bounded(void **state)
{
    (void)state;
    char text[4096] = "";
    for (int i = 0; i < 30; i++)
        snprintf(text + strlen(text), sizeof text - strlen(text), "a%d = $a%d$a%d\n", i, i + 1, i + 1);
    ms_conf_maincf cf;
    PARSE_MAIN(text, &cf, NULL);
    assert_null(ms_conf_maincf_value(&cf, "a0"));
    char *v = ms_conf_maincf_value(&cf, "a25"); /* 2^5 lookups: fine */
    assert_string_equal(v, "");
    free(v);
    ms_conf_maincf_free(&cf);
}

static void mastercf_services(void **state)
{
    (void)state;
    const char *text =
        "# comment\n"
        "smtp      inet  n       -       y       -       -       smtpd\n"
        "submission inet n       -       y       -       -       smtpd\n"
        "  -o syslog_name=postfix/submission\n"
        "  # a comment between arguments\n"
        "  -o smtpd_tls_security_level=encrypt\n"
        "  -o { smtpd_client_restrictions = permit_sasl_authenticated, reject }\n"
        "127.0.0.1:465 inet n   -       y       -       -       smtpd -ocompat=1 -v\n"
        "short inet n -\n"
        "pickup    unix  n       -       y       60      1       pickup\n";
    ms_conf_mastercf cf;
    ms_diag_list d = MS_DIAG_LIST_INIT;
    assert_int_equal(ms_conf_mastercf_parse(text, strlen(text), "master.cf", &cf, &d), MS_OK);
    assert_int_equal(cf.count, 4);
    assert_int_equal(d.count, 1);
    assert_string_equal(d.items[0].location, "master.cf:9");
    const ms_conf_service *sub = &cf.services[1];
    assert_string_equal(sub->name, "submission");
    assert_string_equal(sub->chroot, "y");
    assert_string_equal(sub->command, "smtpd");
    assert_int_equal(sub->line, 3);
    assert_int_equal(ms_conf_service_port(sub), 587);
    assert_int_equal(sub->override_count, 3);
    const ms_conf_setting *o = ms_conf_service_override(sub, "smtpd_tls_security_level");
    assert_string_equal(o->value, "encrypt");
    assert_int_equal(o->line, 6);
    o = ms_conf_service_override(sub, "smtpd_client_restrictions");
    assert_string_equal(o->value, "permit_sasl_authenticated, reject");
    assert_int_equal(o->line, 7);
    const ms_conf_service *s465 = &cf.services[2];
    assert_int_equal(ms_conf_service_port(s465), 465);
    assert_string_equal(ms_conf_service_override(s465, "compat")->value, "1");
    assert_int_equal(s465->arg_count, 1);
    assert_string_equal(s465->args[0], "-v");
    assert_int_equal(ms_conf_service_port(&cf.services[0]), 25);
    assert_int_equal(ms_conf_service_port(&cf.services[3]), 0); /* unix */
    ms_diag_list_free(&d);
    ms_conf_mastercf_free(&cf);
}

static void dovecot_sections_and_values(void **state)
{
    (void)state;
    const char *text = "ssl = yes\n"
                       "ssl_cert = </etc/mail/cert.pem\n"
                       "ssl_cipher_list = \"ALL:!LOW\" # a comment\n"
                       "service imap-login {\n"
                       "  inet_listener   imaps {\n"
                       "    port = 993\n"
                       "  }\n"
                       "}\n"
                       "protocol imap { mail_max_userip_connections = 20\n"
                       "}\n"
                       "long = a \\\n"
                       "  b\n"
                       "hash = maildir:~/Mail#dir\n";
    ms_conf_dovecot cf;
    ms_diag_list d = MS_DIAG_LIST_INIT;
    assert_int_equal(ms_conf_dovecot_parse(text, strlen(text), "d.conf", 0, &cf, &d), MS_OK);
    /* "protocol imap { x = y" on one line is not Dovecot syntax either */
    assert_int_equal(ms_diag_has(&d, "conf.syntax"), 1);
    const ms_conf_dovecot_setting *s = ms_conf_dovecot_get(&cf, "ssl_cert");
    assert_non_null(s);
    assert_string_equal(s->value, "/etc/mail/cert.pem");
    assert_int_equal(s->from_file, 1);
    assert_int_equal(s->line, 2);
    assert_string_equal(ms_conf_dovecot_get(&cf, "ssl_cipher_list")->value, "ALL:!LOW");
    int found = 0;
    for (size_t i = 0; i < cf.count; i++)
        if (strcmp(cf.settings[i].name, "port") == 0) {
            assert_string_equal(cf.settings[i].section, "service imap-login/inet_listener imaps");
            assert_int_equal(cf.settings[i].line, 6);
            found = 1;
        }
    assert_true(found);
    assert_null(ms_conf_dovecot_get(&cf, "port")); /* not top level */
    assert_string_equal(ms_conf_dovecot_get(&cf, "long")->value, "a b");
    assert_int_equal(ms_conf_dovecot_get(&cf, "long")->line, 11);
    /* doveconf -h on the same line prints "maildir:~/Mail" */
    assert_string_equal(ms_conf_dovecot_get(&cf, "hash")->value, "maildir:~/Mail");
    assert_int_equal(ms_conf_dovecot_syntax(&cf), 23);
    ms_diag_list_free(&d);
    ms_conf_dovecot_free(&cf);
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void dovecot_includes(void **state)
{
    (void)state;
    char dir[] = "/tmp/unit-conf-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[256], sub[256], a[256], b[256], c[256];
    snprintf(path, sizeof path, "%s/dovecot.conf", dir);
    snprintf(sub, sizeof sub, "%s/conf.d", dir);
    snprintf(a, sizeof a, "%s/conf.d/10-a.conf", dir);
    snprintf(b, sizeof b, "%s/conf.d/20-b.conf", dir);
    snprintf(c, sizeof c, "%s/conf.d/30-c.ext", dir);
    assert_int_equal(mkdir(sub, 0755), 0);
    write_file(path, "first = 1\n!include conf.d/*.conf\n!include_try local.conf\n!include nothere.conf\nlast = 1\n");
    write_file(a, "ssl = required\n");
    write_file(b, "\n\nssl = yes\nservice x {\n  !include ../conf.d/30-c.ext\n}\n");
    write_file(c, "inner = 1\n");
    ms_conf_dovecot cf;
    ms_diag_list d = MS_DIAG_LIST_INIT;
    assert_int_equal(ms_conf_dovecot_read(path, &cf, &d), MS_OK);
    assert_int_equal(cf.file_count, 4);
    const ms_conf_dovecot_setting *s = ms_conf_dovecot_get(&cf, "ssl");
    assert_string_equal(s->value, "yes"); /* 20-b after 10-a: glob order */
    assert_string_equal(s->file, b);
    assert_int_equal(s->line, 3);
    int inner = 0;
    for (size_t i = 0; i < cf.count; i++)
        if (strcmp(cf.settings[i].name, "inner") == 0) {
            assert_string_equal(cf.settings[i].section, "service x");
            /* named as the include wrote it, relative to the including file */
            char as_included[300];
            snprintf(as_included, sizeof as_included, "%s/conf.d/../conf.d/30-c.ext", dir);
            assert_string_equal(cf.settings[i].file, as_included);
            inner = 1;
        }
    assert_true(inner);
    assert_int_equal(ms_conf_dovecot_get(&cf, "last")->line, 5);
    /* the missing !include, not the missing !include_try */
    assert_int_equal(d.count, 1);
    assert_string_equal(d.items[0].def->code, "conf.include-missing");
    char where[300];
    snprintf(where, sizeof where, "%s:4", path);
    assert_string_equal(d.items[0].location, where);
    ms_diag_list_free(&d);
    ms_conf_dovecot_free(&cf);
    unlink(a), unlink(b), unlink(c), unlink(path), rmdir(sub), rmdir(dir);
}

static void dovecot_include_loop_is_bounded(void **state)
{
    (void)state;
    char dir[] = "/tmp/unit-conf-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[256];
    snprintf(path, sizeof path, "%s/dovecot.conf", dir);
    write_file(path, "x = 1\n!include dovecot.conf\n");
    ms_conf_dovecot cf;
    ms_diag_list d = MS_DIAG_LIST_INIT;
    ms_status st = ms_conf_dovecot_read(path, &cf, &d);
    /* either the depth limit (a finding) or the file limit (MS_ERR_LIMIT) */
    assert_true(st == MS_OK ? ms_diag_has(&d, "conf.syntax") : st == MS_ERR_LIMIT);
    if (st == MS_OK)
        ms_conf_dovecot_free(&cf);
    ms_diag_list_free(&d);
    unlink(path), rmdir(dir);
}

static void dovecot_24_syntax(void **state)
{
    (void)state;
    const char *text = "dovecot_config_version = 2.4.1\n"
                       "ssl_server_cert_file = /etc/mail/cert.pem\n"
                       "mail_plugins {\n  quota = yes\n}\n";
    ms_conf_dovecot cf;
    ms_diag_list d = MS_DIAG_LIST_INIT;
    assert_int_equal(ms_conf_dovecot_parse(text, strlen(text), "d.conf", 0, &cf, &d), MS_OK);
    assert_int_equal(d.count, 0);
    assert_int_equal(ms_conf_dovecot_syntax(&cf), 24);
    assert_int_equal(ms_conf_dovecot_get(&cf, "ssl_server_cert_file")->from_file, 0);
    ms_conf_dovecot_free(&cf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(maincf_continuation_and_comments),
        cmocka_unit_test(maincf_later_wins_and_syntax),
        cmocka_unit_test(maincf_expansion),
        cmocka_unit_test(maincf_expansion_is_bounded),
        cmocka_unit_test(mastercf_services),
        cmocka_unit_test(dovecot_sections_and_values),
        cmocka_unit_test(dovecot_includes),
        cmocka_unit_test(dovecot_include_loop_is_bounded),
        cmocka_unit_test(dovecot_24_syntax),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
