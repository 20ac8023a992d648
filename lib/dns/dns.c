/* Placeholder until the DNS module lands. */
#include "core/internal.h"

const ms_diag_def ms_dns_diag_defs[] = {{NULL, MS_SEV_INFO, NULL, NULL}};
