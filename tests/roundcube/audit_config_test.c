/* The Roundcube configuration reader (lib/roundcube/config.c) and the
 * version rules the audit builds on: what PHP would make of each
 * assignment, with the line it starts on; and versions compared as
 * Roundcube and Debian write them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mailsec/roundcube.h"

static ms_rc_config parse(const char *text)
{
    ms_rc_config cfg;
    assert_int_equal(ms_rc_config_parse(text, strlen(text), "config.inc.php", &cfg), MS_OK);
    return cfg;
}

static void literals_and_lines(void **state)
{
    (void)state;
    ms_rc_config cfg = parse("<?php\n"
                             "/* $config['commented'] = 1; */\n"
                             "$config['s'] = 'it\\'s \\n raw';\n"
                             "$config[\"d\"] = \"tab\\t\\x41\\101\\u{263A} \\q\";\n"
                             "$config['joined'] = 'a' .\n  \"b\" . 'c';\n"
                             "$config['t'] = TRUE; # comment\n"
                             "$config['f'] = false; // comment\n"
                             "$config['n'] = Null;\n"
                             "$config['i'] = +007;\n"
                             "$config['neg'] = -12;\n");
    const ms_rc_setting *s = ms_rc_config_get(&cfg, "s");
    assert_int_equal(s->type, MS_RC_STRING);
    assert_string_equal(s->value, "it's \\n raw"); /* single quotes keep \n */
    assert_int_equal(s->line, 3);
    s = ms_rc_config_get(&cfg, "d");
    assert_string_equal(s->value, "tab\tAA\xe2\x98\xba \\q");
    s = ms_rc_config_get(&cfg, "joined");
    assert_string_equal(s->value, "abc");
    assert_int_equal(s->line, 5);
    assert_int_equal(ms_rc_config_get(&cfg, "t")->type, MS_RC_BOOL);
    assert_int_equal(ms_rc_config_get(&cfg, "t")->number, 1);
    assert_int_equal(ms_rc_config_get(&cfg, "t")->line, 7);
    assert_int_equal(ms_rc_config_get(&cfg, "f")->number, 0);
    assert_int_equal(ms_rc_config_get(&cfg, "n")->type, MS_RC_NULL);
    assert_int_equal(ms_rc_config_get(&cfg, "i")->type, MS_RC_OTHER); /* 007 is octal in PHP */
    assert_int_equal(ms_rc_config_get(&cfg, "neg")->number, -12);
    assert_null(ms_rc_config_get(&cfg, "commented"));
    ms_rc_config_free(&cfg);
}

static void arrays_and_what_is_not_known(void **state)
{
    (void)state;
    ms_rc_config cfg = parse("<?php\n"
                             "$config['a'] = array('ssl' => array('verify_peer' => false, 'x' => ';'));\n"
                             "$config['b'] = [\n  'k' => \"v;\",\n];\n"
                             "$config['log_dir'] = RCUBE_INSTALL_PATH . 'logs/';\n"
                             "$config['dsn'] = \"sqlite:///$basepath/$dbname\";\n"
                             "$config['h'] = <<<EOT\n$config['inside'] = 1;\nEOT;\n"
                             "$config['x'] == 1;\n"
                             "$config['plugins'][] = 'archive';\n"
                             "$myconfig['y'] = 1;\n"
                             "$config['later'] = 1;\n");
    const ms_rc_setting *a = ms_rc_config_get(&cfg, "a");
    assert_int_equal(a->type, MS_RC_ARRAY);
    assert_string_equal(a->value, "array('ssl' => array('verify_peer' => false, 'x' => ';'))");
    assert_int_equal(ms_rc_config_get(&cfg, "b")->type, MS_RC_ARRAY);
    assert_int_equal(ms_rc_config_get(&cfg, "log_dir")->type, MS_RC_OTHER);
    assert_int_equal(ms_rc_config_get(&cfg, "dsn")->type, MS_RC_OTHER); /* interpolated */
    assert_int_equal(ms_rc_config_get(&cfg, "h")->type, MS_RC_OTHER);
    assert_null(ms_rc_config_get(&cfg, "inside"));
    assert_null(ms_rc_config_get(&cfg, "x"));
    assert_null(ms_rc_config_get(&cfg, "plugins"));
    assert_null(ms_rc_config_get(&cfg, "y"));
    assert_int_equal(ms_rc_config_get(&cfg, "later")->line, 14);
    assert_int_equal(cfg.count, 6);
    ms_rc_config_free(&cfg);
}

static void last_assignment_wins_and_legacy(void **state)
{
    (void)state;
    ms_rc_config cfg = parse("<?php\n$rcmail_config['k'] = 'old';\n$config['k'] = 'new';\n");
    assert_string_equal(ms_rc_config_get(&cfg, "k")->value, "new");
    assert_int_equal(ms_rc_config_get(&cfg, "k")->line, 3);
    ms_rc_config_free(&cfg);
}

static void hostile_input_ends(void **state)
{
    (void)state;
    /* unterminated string, comment and heredoc; NUL bytes */
    const char text[] = "<?php $config['a'] = 'never closed; /* $config['b'] = 1;\0 <<<X";
    ms_rc_config cfg;
    assert_int_equal(ms_rc_config_parse(text, sizeof text - 1, "f", &cfg), MS_OK);
    assert_int_equal(ms_rc_config_get(&cfg, "a")->type, MS_RC_OTHER);
    ms_rc_config_free(&cfg);
    /* more assignments than the limit */
    size_t n = (size_t)MS_RC_MAX_SETTINGS + 1;
    char *many = malloc(n * 16 + 1);
    assert_non_null(many);
    size_t len = 0;
    for (size_t i = 0; i < n; i++)
        len += (size_t)sprintf(many + len, "$config['k']=1;");
    assert_int_equal(ms_rc_config_parse(many, len, "f", &cfg), MS_ERR_LIMIT);
    assert_int_equal(cfg.count, 0);
    free(many);
    assert_int_equal(ms_rc_config_parse("x", (size_t)MS_RC_MAX_CONFIG_BYTES + 1, "f", &cfg),
                     MS_ERR_LIMIT);
}

static void versions(void **state)
{
    (void)state;
    ms_rc_version a, b;
    assert_int_equal(ms_rc_version_parse("1.6.18", &a), MS_OK);
    assert_int_equal(ms_rc_version_parse("1:1.6.5+dfsg-1+deb12u14", &b), MS_OK);
    assert_int_equal(b.major * 10000 + b.minor * 100 + b.patch, 10605);
    assert_true(ms_rc_version_cmp(&b, &a) < 0);
    assert_int_equal(ms_rc_version_parse("1.7-rc5", &b), MS_OK);
    assert_int_equal(b.patch, 0);
    assert_true(ms_rc_version_cmp(&b, &a) > 0);
    assert_int_equal(ms_rc_version_parse("1.10.0", &b), MS_OK);
    assert_true(ms_rc_version_cmp(&b, &a) > 0); /* numbers, not text */
    assert_int_equal(ms_rc_version_parse("git", &b), MS_ERR_INVALID);
    assert_int_equal(ms_rc_version_parse("1", &b), MS_ERR_INVALID);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(literals_and_lines),
        cmocka_unit_test(arrays_and_what_is_not_known),
        cmocka_unit_test(last_assignment_wins_and_legacy),
        cmocka_unit_test(hostile_input_ends),
        cmocka_unit_test(versions),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
