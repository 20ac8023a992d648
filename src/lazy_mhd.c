/* libmicrohttpd, loaded when `mailsec serve` starts (lib/core/lazy.h), so
 * that every other command starts without it and the TLS stack it
 * brings. */
#include "lazy_mhd.h"

static const char *const mhd_names[] = {MS_MHD_NAMES(MS_LAZY_NAME)};
void *ms_mhd_slots[ms_mhd_count];
ms_lazy_lib ms_mhd_lib = MS_LAZY_LIB("MHD", MAILSEC_SONAME_MHD, "HTTP server library (libmicrohttpd)",
                                     "libmicrohttpd12", mhd_names, ms_mhd_slots);
