/* What the configuration parsers' harnesses check of the findings
 * (fuzz_conf_maincf.c, fuzz_conf_mastercf.c, fuzz_conf_dovecot.c). */
#ifndef MAILSEC_FUZZ_CONF_FINDINGS_H
#define MAILSEC_FUZZ_CONF_FINDINGS_H

#include "fuzz_check.h"
#include "mailsec/conf.h"

#include <string.h>

/* Syntax findings only, bounded, each located in the parsed file (its
 * location starts with file, e.g. "main.cf:"). */
static inline void check_syntax_findings(const ms_diag_list *d, const char *file)
{
    CHECK(d->count <= MS_CONF_MAX_FINDINGS);
    for (size_t i = 0; i < d->count; i++) {
        CHECK(strcmp(d->items[i].def->code, "conf.syntax") == 0);
        CHECK(strncmp(d->items[i].location, file, strlen(file)) == 0);
    }
}

#endif
