/* libFuzzer harness for the main.cf parser (lib/conf/postfix.c) and the
 * $parameter expansion behind it.
 *
 * Arbitrary bytes are parsed, and:
 *  - every setting has a non-empty name of parameter characters, a line
 *    within the input's line count, and a value without a newline;
 *  - findings are conf.syntax, bounded, and each names "main.cf:LINE";
 *  - the values of the first settings expand (the bounded expansion
 *    returns; the rest are skipped to keep the fuzzer fast);
 *  - parsing is stable: the settings written back as "name = value" lines
 *    parse to the same names and values.
 * Everything is freed, so LeakSanitizer sees any leak. */
#include "mailsec/conf.h"
#include "core/internal.h"

#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf_findings.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ms_conf_maincf cf;
    ms_diag_list diags = MS_DIAG_LIST_INIT;
    ms_status st = ms_conf_maincf_parse((const char *)data, size, "main.cf", &cf, &diags);
    CHECK(st == MS_OK || st == MS_ERR_LIMIT);
    if (st != MS_OK) {
        CHECK(cf.count == 0 && cf.settings == NULL);
        ms_diag_list_free(&diags);
        return 0;
    }
    size_t lines = count_lines(data, size);
    check_syntax_findings(&diags, "main.cf:");
    ms_buf again = MS_BUF_INIT;
    ms_buf_puts(&again, "");
    int rewritable = 1;
    for (size_t i = 0; i < cf.count; i++) {
        const ms_conf_setting *s = &cf.settings[i];
        CHECK(s->name[0] != '\0' && s->line >= 1 && s->line <= lines);
        for (const char *p = s->name; *p; p++)
            CHECK(isalnum((unsigned char)*p) || *p == '_' || *p == '-' || *p == '.');
        CHECK(strchr(s->value, '\n') == NULL);
        if (i < 16) {
            char *v = ms_conf_maincf_value(&cf, s->name);
            CHECK(v == NULL || strlen(v) <= MS_CONF_MAX_EXPANSION + MS_CONF_MAX_BYTES);
            free(v);
        }
        /* a NUL or a CR in the value does not survive the text round trip */
        if (strlen(s->value) != strcspn(s->value, "\r"))
            rewritable = 0;
        ms_buf_printf(&again, "%s = %s\n", s->name, s->value);
    }
    CHECK(!again.failed);
    if (rewritable && memchr(data, '\0', size) == NULL) {
        ms_conf_maincf cf2;
        CHECK(ms_conf_maincf_parse(again.data, again.len, "main.cf", &cf2, NULL) == MS_OK);
        CHECK(cf2.count == cf.count);
        for (size_t i = 0; i < cf.count; i++) {
            CHECK(strcmp(cf2.settings[i].name, cf.settings[i].name) == 0);
            CHECK(strcmp(cf2.settings[i].value, cf.settings[i].value) == 0);
            CHECK(cf2.settings[i].line == i + 1);
        }
        ms_conf_maincf_free(&cf2);
    }
    ms_buf_free(&again);
    ms_conf_maincf_free(&cf);
    ms_diag_list_free(&diags);
    return 0;
}
