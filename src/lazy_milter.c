/* libmilter, loaded when `mailsec milter` starts (lib/core/lazy.h), so that
 * every other command starts without it. */
#include "lazy_milter.h"

static const char *const milter_names[] = {MS_MILTER_NAMES(MS_LAZY_NAME)};
void *ms_milter_slots[ms_milter_count];
ms_lazy_lib ms_milter_lib = MS_LAZY_LIB("MILTER", MAILSEC_SONAME_MILTER, "mail filter library (libmilter)",
                                        "libmilter1.0.1", milter_names, ms_milter_slots);
