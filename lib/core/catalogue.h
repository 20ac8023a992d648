/* How a module's table names its diagnostics. The code, severity, summary
 * and advice of each are written once, in docs/diagnostics.md; at build
 * time gen_diag_texts.c turns each entry into a macro of diag_texts.h
 * (in the build tree), so a table only maps its enum to codes:
 *
 *   [RC_VERSION] = MS_DIAG(roundcube_version),
 *
 * names the entry "### roundcube.version" ('.' and '-' become '_'). A code
 * the page lacks stops the build here: 'MS_DIAG_roundcube_version'
 * undeclared. A table ends with MS_DIAG_END. */
#ifndef MAILSEC_CORE_CATALOGUE_H
#define MAILSEC_CORE_CATALOGUE_H

#include "mailsec/core.h"

#include "core/diag_texts.h" /* made in the build tree */

#define MS_DIAG(name) MS_DIAG_##name
#define MS_DIAG_END {NULL, MS_SEV_INFO, NULL, NULL}

#endif
