/* The email module's diagnostics table (placeholder until the module lands). */
#include "core/internal.h"

const ms_diag_def ms_email_diag_defs[] = {{NULL, MS_SEV_INFO, NULL, NULL}};
