#include "internal.h"

#include <string.h>

static const ms_diag_def *const module_tables[] = {
    ms_dns_diag_defs,
    ms_audit_diag_defs,
    ms_dmarc_diag_defs,
    ms_dmarc_discovery_diag_defs,
    ms_dmarc_advise_diag_defs,
    ms_dkim_diag_defs,
    ms_email_diag_defs,
    ms_spf_diag_defs,
    ms_cert_diag_defs,
    ms_tls_diag_defs,
    ms_conf_diag_defs,
    ms_roundcube_diag_defs,
};

const ms_diag_def *ms_diag_catalogue_at(size_t index)
{
    for (size_t t = 0; t < sizeof module_tables / sizeof module_tables[0]; t++) {
        for (const ms_diag_def *def = module_tables[t]; def->code != NULL; def++) {
            if (index == 0)
                return def;
            index--;
        }
    }
    return NULL;
}

const ms_diag_def *ms_diag_lookup(const char *code)
{
    const ms_diag_def *def;
    for (size_t i = 0; (def = ms_diag_catalogue_at(i)) != NULL; i++)
        if (strcmp(def->code, code) == 0)
            return def;
    return NULL;
}
