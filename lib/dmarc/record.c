/* Placeholder until the DMARC record module lands. */
#include "core/internal.h"

const ms_diag_def ms_dmarc_diag_defs[] = {{NULL, MS_SEV_INFO, NULL, NULL}};
