/* Names of statuses and severities, and the failure of an MS_ASSERT. */
#include "mailsec/core.h"

const char *ms_status_str(ms_status status)
{
    switch (status) {
    case MS_OK: return "ok";
    case MS_ERR_NOMEM: return "out of memory";
    case MS_ERR_INVALID: return "invalid argument";
    case MS_ERR_IO: return "input/output error";
    case MS_ERR_DNS: return "DNS resolver error";
    case MS_ERR_LIMIT: return "limit exceeded";
    }
    return "unknown status";
}

const char *ms_severity_str(ms_severity severity)
{
    switch (severity) {
    case MS_SEV_INFO: return "info";
    case MS_SEV_WARNING: return "warning";
    case MS_SEV_ERROR: return "error";
    }
    return "unknown";
}

#include "internal.h"

#include <stdio.h>
#include <stdlib.h>

void ms_assert_failed(const char *cond, const char *file, int line, const char *func)
{
    fprintf(stderr, "mailsec: internal error: %s:%d: %s: assertion \"%s\" failed\n", file, line,
            func, cond);
    abort();
}
