/* libFuzzer harness for the Dovecot configuration parser
 * (lib/conf/dovecot.c), in the mode that records !include lines instead
 * of reading files (so the fuzzer never touches the file system).
 *
 * Arbitrary bytes are parsed, and:
 *  - every setting has a non-empty name, a section path on one line
 *    without doubled spaces (names are rejoined by one space), and a line
 *    within the input;
 *  - findings are conf.syntax (includes are not followed here), bounded,
 *    each naming "dovecot.conf:LINE" or the file;
 *  - ms_conf_dovecot_get returns a top-level setting of that name, the last;
 *  - the syntax is 23 or 24.
 * Everything is freed, so LeakSanitizer sees any leak. */
#include "mailsec/conf.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf_findings.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ms_conf_dovecot cf;
    ms_diag_list diags = MS_DIAG_LIST_INIT;
    ms_status st = ms_conf_dovecot_parse((const char *)data, size, "dovecot.conf", 0, &cf, &diags);
    CHECK(st == MS_OK || st == MS_ERR_LIMIT);
    if (st == MS_OK) {
        size_t lines = count_lines(data, size);
        for (size_t i = 0; i < cf.count; i++) {
            const ms_conf_dovecot_setting *s = &cf.settings[i];
            CHECK(s->name[0] != '\0');
            CHECK(s->line >= 1 && s->line <= lines);
            CHECK(strchr(s->section, '\n') == NULL && strstr(s->section, "  ") == NULL);
            CHECK(strchr(s->name, '\n') == NULL && strchr(s->value, '\n') == NULL);
            if (s->section[0] == '\0') {
                const ms_conf_dovecot_setting *g = ms_conf_dovecot_get(&cf, s->name);
                CHECK(g != NULL && g >= s && strcmp(g->name, s->name) == 0);
            }
        }
        int syntax = ms_conf_dovecot_syntax(&cf);
        CHECK(syntax == 23 || syntax == 24);
        check_syntax_findings(&diags, "dovecot.conf");
    } else {
        CHECK(cf.count == 0 && cf.settings == NULL);
    }
    ms_conf_dovecot_free(&cf);
    ms_diag_list_free(&diags);
    return 0;
}
