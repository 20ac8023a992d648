/* libmilter, loaded when `mailsec milter` starts (lib/core/lazy.h): the
 * names src/milter.c uses. Include this instead of the library's header,
 * and call ms_lazy_load(&ms_milter_lib) before the first of them. */
#ifndef MAILSEC_LAZY_MILTER_H
#define MAILSEC_LAZY_MILTER_H

#include <mfapi.h>

#include "core/lazy.h"

#define MS_MILTER_NAMES(X) \
    X(smfi_chgheader) \
    X(smfi_getpriv) \
    X(smfi_getsymval) \
    X(smfi_insheader) \
    X(smfi_main) \
    X(smfi_opensocket) \
    X(smfi_quarantine) \
    X(smfi_register) \
    X(smfi_setconn) \
    X(smfi_setpriv) \
    X(smfi_setreply) \
    X(smfi_settimeout) \
    X(smfi_stop)

#define MS_MILTER_INDEX(name) ms_milter_##name,
enum { MS_MILTER_NAMES(MS_MILTER_INDEX) ms_milter_count };

extern ms_lazy_lib ms_milter_lib;
extern void *ms_milter_slots[ms_milter_count];

#define smfi_chgheader MS_LAZY(ms_milter, smfi_chgheader)
#define smfi_getpriv MS_LAZY(ms_milter, smfi_getpriv)
#define smfi_getsymval MS_LAZY(ms_milter, smfi_getsymval)
#define smfi_insheader MS_LAZY(ms_milter, smfi_insheader)
#define smfi_main MS_LAZY(ms_milter, smfi_main)
#define smfi_opensocket MS_LAZY(ms_milter, smfi_opensocket)
#define smfi_quarantine MS_LAZY(ms_milter, smfi_quarantine)
#define smfi_register MS_LAZY(ms_milter, smfi_register)
#define smfi_setconn MS_LAZY(ms_milter, smfi_setconn)
#define smfi_setpriv MS_LAZY(ms_milter, smfi_setpriv)
#define smfi_setreply MS_LAZY(ms_milter, smfi_setreply)
#define smfi_settimeout MS_LAZY(ms_milter, smfi_settimeout)
#define smfi_stop MS_LAZY(ms_milter, smfi_stop)

#endif
