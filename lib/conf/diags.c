/* Every diagnostic of `mailsec conf audit` and the parsers behind it.
 * Their texts are docs/diagnostics.md's (core/catalogue.h); tests/conf and
 * tests/cli/conf-*.test produce each of them. */
#include "internal.h"
#include "core/catalogue.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const ms_diag_def ms_conf_diag_defs[CF_COUNT + 1] = {
    [CF_SYNTAX] = MS_DIAG(conf_syntax),
    [CF_INCLUDE_MISSING] = MS_DIAG(conf_include_missing),
    [CF_DEPRECATED] = MS_DIAG(conf_deprecated),
    [CF_WRONG_VERSION] = MS_DIAG(conf_wrong_version),
    [CF_TLS_OFF] = MS_DIAG(conf_tls_off),
    [CF_SUBMISSION_MISSING] = MS_DIAG(conf_submission_missing),
    [CF_SUBMISSIONS_MISSING] = MS_DIAG(conf_submissions_missing),
    [CF_SUBMISSIONS_WRAPPERMODE] = MS_DIAG(conf_submissions_wrappermode),
    [CF_AUTH_BEFORE_TLS] = MS_DIAG(conf_auth_before_tls),
    [CF_CLEARTEXT_AUTH] = MS_DIAG(conf_cleartext_auth),
    [CF_SSL_NOT_REQUIRED] = MS_DIAG(conf_ssl_not_required),
    [CF_OLD_PROTOCOLS] = MS_DIAG(conf_old_protocols),
    [CF_WEAK_CIPHERS] = MS_DIAG(conf_weak_ciphers),
    [CF_LEGACY_CIPHERS] = MS_DIAG(conf_legacy_ciphers),
    [CF_DHE_WITHOUT_DH] = MS_DIAG(conf_dhe_without_dh),
    [CF_CERT_FILE_MISSING] = MS_DIAG(conf_cert_file_missing),
    [CF_CHAIN_FILES_ORDER] = MS_DIAG(conf_chain_files_order),
    [CF_CERT_AND_CHAIN] = MS_DIAG(conf_cert_and_chain_files),
    [CF_PROFILE] = MS_DIAG(conf_profile),
    [CF_DUPLICATE] = MS_DIAG(conf_duplicate),
    [CF_LIVE_MISMATCH] = MS_DIAG(conf_live_mismatch),
    [CF_LIVE_NO_TLS] = MS_DIAG(conf_live_no_tls),
    [CF_SASL_ON_PORT_25] = MS_DIAG(conf_sasl_on_port_25),
    [CF_SASL_TYPE] = MS_DIAG(conf_sasl_type),
    [CF_SASL_PATH] = MS_DIAG(conf_sasl_path_mismatch),
    [CF_SASL_ACCESS] = MS_DIAG(conf_sasl_listener_access),
    [CF_COUNT] = MS_DIAG_END,
};

char *cf_location(const char *file, size_t line)
{
    return line ? ms_asprintf("%s:%zu", file, line) : ms_strdup(file);
}

ms_status cf_read_file(const char *path, char **text, size_t *len, char **error)
{
    *text = NULL;
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        *error = ms_asprintf("%s: %s", path, strerror(errno));
        return *error ? MS_ERR_IO : MS_ERR_NOMEM;
    }
    ms_buf b = MS_BUF_INIT;
    ms_buf_puts(&b, "");
    char chunk[8192];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0 && b.len <= MS_CONF_MAX_BYTES)
        ms_buf_append(&b, chunk, n);
    int bad = ferror(f);
    fclose(f);
    if (b.failed) {
        ms_buf_free(&b);
        return MS_ERR_NOMEM;
    }
    if (bad || b.len > MS_CONF_MAX_BYTES) {
        *error = ms_asprintf("%s: %s", path, bad ? "read error" : "larger than 4 MiB");
        ms_buf_free(&b);
        return *error ? MS_ERR_IO : MS_ERR_NOMEM;
    }
    *len = b.len;
    *text = ms_buf_take(&b);
    return MS_OK;
}
