/* One HTTP(S) GET as the checks make it (the MTA-STS policy fetch, the
 * Roundcube site probes): the context's CA file, connect-to mappings and
 * time limit, no redirect followed, and the body read into memory up to a
 * bound. Callers load libcurl first (core/lazy_curl.h). */
#ifndef MAILSEC_LIB_CORE_HTTP_H
#define MAILSEC_LIB_CORE_HTTP_H

#include "core/internal.h"
#include "core/lazy_curl.h"

/* A body read into buf, at most max bytes: when more comes, cut is set
 * and curl stops the transfer with CURLE_WRITE_ERROR. */
typedef struct ms_http_body {
    ms_buf buf;
    size_t max;
    int cut;
} ms_http_body;

/* The CURLOPT_WRITEFUNCTION that fills an ms_http_body (CURLOPT_WRITEDATA),
 * for a transfer set up otherwise (IMAP). */
size_t ms_http_body_write(char *data, size_t size, size_t count, void *body);

/* Sets h up to GET url over protocols ("https", "http,https") into *body.
 * *connect_to: the list h then uses, for the caller to free after the
 * transfer (curl_slist_free_all), NULL when the context maps nothing.
 * MS_ERR_NOMEM when the list could not be made. */
ms_status ms_http_setup(CURL *h, const ms_ctx *ctx, const char *url, const char *protocols,
                        ms_http_body *body, struct curl_slist **connect_to);

#endif
