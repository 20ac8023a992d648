/* The setup every HTTP(S) request of the checks shares (core/http.h). */
#include "core/http.h"

size_t ms_http_body_write(char *data, size_t size, size_t count, void *arg)
{
    ms_http_body *b = arg;
    size_t n = size * count;
    if (n > b->max - b->buf.len) {
        b->cut = 1;
        return 0; /* makes curl stop with CURLE_WRITE_ERROR */
    }
    ms_buf_append(&b->buf, data, n);
    return b->buf.failed ? 0 : n;
}

ms_status ms_http_setup(CURL *h, const ms_ctx *ctx, const char *url, const char *protocols,
                        ms_http_body *body, struct curl_slist **connect_to)
{
    *connect_to = NULL;
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, protocols);
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)ctx->timeout_ms);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_USERAGENT, "mailsec/" MS_VERSION);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, ms_http_body_write);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, body);
    if (ctx->https_ca != NULL)
        curl_easy_setopt(h, CURLOPT_CAINFO, ctx->https_ca);
    for (size_t i = 0; i < ctx->https_connect_to_count; i++) {
        struct curl_slist *more = curl_slist_append(*connect_to, ctx->https_connect_to[i]);
        if (more == NULL)
            return MS_ERR_NOMEM; /* *connect_to still the caller's to free */
        *connect_to = more;
    }
    if (*connect_to != NULL)
        curl_easy_setopt(h, CURLOPT_CONNECT_TO, *connect_to);
    return MS_OK;
}
