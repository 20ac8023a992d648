/* libFuzzer harness for the master.cf parser (lib/conf/postfix.c).
 *
 * Arbitrary bytes are parsed, and:
 *  - every service has its eight fields (none empty) and a line within
 *    the input; every -o override has a non-empty name and a line at or
 *    after its service's;
 *  - ms_conf_service_port returns 0 or a TCP port;
 *  - findings are conf.syntax, bounded, each naming "master.cf:LINE".
 * Everything is freed, so LeakSanitizer sees any leak. */
#include "mailsec/conf.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf_findings.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ms_conf_mastercf cf;
    ms_diag_list diags = MS_DIAG_LIST_INIT;
    ms_status st = ms_conf_mastercf_parse((const char *)data, size, "master.cf", &cf, &diags);
    CHECK(st == MS_OK || st == MS_ERR_LIMIT);
    if (st == MS_OK) {
        size_t lines = count_lines(data, size);
        for (size_t i = 0; i < cf.count; i++) {
            const ms_conf_service *s = &cf.services[i];
            const char *fields[] = {s->name, s->type, s->private_, s->unpriv,
                                    s->chroot, s->wakeup, s->maxproc, s->command};
            for (size_t k = 0; k < 8; k++)
                CHECK(fields[k] != NULL && fields[k][0] != '\0');
            CHECK(s->line >= 1 && s->line <= lines);
            for (size_t k = 0; k < s->override_count; k++) {
                CHECK(s->overrides[k].name[0] != '\0');
                CHECK(s->overrides[k].line >= s->line && s->overrides[k].line <= lines);
                CHECK(ms_conf_service_override(s, s->overrides[k].name) != NULL);
            }
            for (size_t k = 0; k < s->arg_count; k++)
                CHECK(s->args[k] != NULL && s->args[k][0] != '\0');
            int port = ms_conf_service_port(s);
            CHECK(port >= 0 && port < 65536);
        }
        check_syntax_findings(&diags, "master.cf:");
    } else {
        CHECK(cf.count == 0 && cf.services == NULL);
    }
    ms_conf_mastercf_free(&cf);
    ms_diag_list_free(&diags);
    return 0;
}
