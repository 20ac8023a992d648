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
