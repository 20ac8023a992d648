/* `roundcube audit --url`: what the running site serves that it must not,
 * and the version its login page reveals.
 *
 * A web server may answer any path with the login page (php -S and many
 * front-controller setups fall back to index.php), so a 200 alone proves
 * nothing: each probe says what an exposed answer looks like, and an
 * answer that is the login page is never one. */
#include "internal.h"

#include "core/http.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { WEB_MAX_BODY = 512 * 1024 }; /* read of one answer; the rest is not needed */

typedef struct answer {
    long status;
    int to_installer_step; /* a redirect to "?_step=N": the installer's first page */
    ms_http_body body; /* cut: longer than WEB_MAX_BODY, what was read is enough to judge */
} answer;

/* GET base+path. MS_OK on an HTTP answer (any status); MS_ERR_IO with the
 * curl error text in *error; MS_ERR_NOMEM when the request or the answer
 * could not be held. */
static ms_status get(ms_ctx *ctx, const char *base, const char *path, answer *a, char *error)
{
    memset(a, 0, sizeof *a);
    if (ms_lazy_load(&ms_curl_lib) != MS_OK) {
        snprintf(error, CURL_ERROR_SIZE, "%s", ms_lazy_error(&ms_curl_lib));
        return MS_ERR_IO;
    }
    char *url = ms_asprintf("%s%s", base, path);
    CURL *h = url != NULL ? curl_easy_init() : NULL;
    struct curl_slist *connect_to = NULL;
    a->body.max = WEB_MAX_BODY;
    if (h == NULL || ms_http_setup(h, ctx, url, "http,https", &a->body, &connect_to) != MS_OK) {
        curl_slist_free_all(connect_to);
        if (h != NULL)
            curl_easy_cleanup(h);
        free(url);
        return MS_ERR_NOMEM;
    }
    error[0] = '\0';
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, error);
    CURLcode rc = curl_easy_perform(h);
    if (rc == CURLE_WRITE_ERROR && a->body.cut)
        rc = CURLE_OK;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &a->status);
    char *location = NULL;
    if (curl_easy_getinfo(h, CURLINFO_REDIRECT_URL, &location) == CURLE_OK && location != NULL)
        a->to_installer_step = strstr(location, "?_step=") != NULL;
    if (rc != CURLE_OK && error[0] == '\0')
        snprintf(error, CURL_ERROR_SIZE, "%s", curl_easy_strerror(rc));
    curl_slist_free_all(connect_to);
    curl_easy_cleanup(h);
    free(url);
    if (a->body.buf.data == NULL)
        ms_buf_puts(&a->body.buf, "");
    /* a body that could not be kept ends the transfer with a write error */
    if (a->body.buf.failed)
        return MS_ERR_NOMEM;
    return rc == CURLE_OK ? MS_OK : MS_ERR_IO;
}

/* What an exposed answer holds. */
typedef enum looks {
    LOOKS_INSTALLER,   /* Roundcube's installer page */
    LOOKS_PHP_CONFIG,  /* the configuration's source, or an empty 200 (PHP ran it) */
    LOOKS_LISTING,     /* a directory listing, or a log file */
    LOOKS_GIT_CONFIG,  /* "[core]" */
    LOOKS_JSON         /* a JSON object */
} looks;

static const struct probe {
    const char *path;
    looks looks;
    const char *what;
} PROBES[] = {
    {"/installer/", LOOKS_INSTALLER, "the installer"},
    {"/installer.php", LOOKS_INSTALLER, "the installer"},
    {"/config/config.inc.php", LOOKS_PHP_CONFIG, "the configuration file"},
    {"/logs/", LOOKS_LISTING, "the logs directory"},
    {"/logs/errors.log", LOOKS_LISTING, "the error log"},
    {"/temp/", LOOKS_LISTING, "the temp directory"},
    {"/.git/config", LOOKS_GIT_CONFIG, "the Git repository"},
    {"/composer.json", LOOKS_JSON, "composer.json"},
};

static int contains(const ms_buf *b, const char *needle)
{
    size_t n = strlen(needle);
    if (b->len < n)
        return 0;
    for (size_t i = 0; i + n <= b->len; i++)
        if (memcmp(b->data + i, needle, n) == 0)
            return 1;
    return 0;
}

/* A server's directory index, or a file that is not a page (a log). */
static int is_listing_or_log(const ms_buf *body)
{
    if (contains(body, "<html") || contains(body, "<HTML"))
        return contains(body, "Index of") || contains(body, "Directory listing");
    return body->len > 0;
}

static int is_exposed(const answer *a, looks kind, const answer *login)
{
    if (kind == LOOKS_INSTALLER && a->status / 100 == 3 && a->to_installer_step)
        return 1;
    if (a->status != 200)
        return 0;
    if (login != NULL && a->body.buf.len == login->body.buf.len && a->body.buf.len > 0 &&
        memcmp(a->body.buf.data, login->body.buf.data, a->body.buf.len) == 0)
        return 0;
    if (contains(&a->body.buf, "\"rcversion\"") && !contains(&a->body.buf, "Installer"))
        return 0; /* another Roundcube page (a fallback to index.php) */
    switch (kind) {
    case LOOKS_INSTALLER:
        return contains(&a->body.buf, "Roundcube Webmail Installer");
    case LOOKS_PHP_CONFIG:
        return a->body.buf.len == 0 || contains(&a->body.buf, "$config");
    case LOOKS_LISTING:
        return is_listing_or_log(&a->body.buf);
    case LOOKS_GIT_CONFIG:
        return contains(&a->body.buf, "[core]");
    case LOOKS_JSON:
        return a->body.buf.len > 0 && (a->body.buf.data[0] == '{' || contains(&a->body.buf, "\"require\""));
    }
    return 0;
}

/* "rcversion":10618 -> "1.6.18" (rcmail_output_html sets it on every
 * page) into *version; it stays NULL when the page names none. */
static ms_status page_version(const ms_buf *body, char **version)
{
    static const char key[] = "\"rcversion\":";
    const char *p = body->data;
    const char *end = body->data + body->len;
    *version = NULL;
    for (; p + sizeof key - 1 < end; p++)
        if (memcmp(p, key, sizeof key - 1) == 0)
            break;
    if (p + sizeof key - 1 >= end)
        return MS_OK;
    p += sizeof key - 1;
    if (p < end && *p == '"')
        p++;
    long n = 0;
    int digits = 0;
    while (p < end && *p >= '0' && *p <= '9' && digits < 9) {
        n = n * 10 + (*p++ - '0');
        digits++;
    }
    if (digits == 0 || n <= 0)
        return MS_OK;
    *version = ms_asprintf("%ld.%ld.%ld", n / 10000, n / 100 % 100, n % 100);
    return *version != NULL ? MS_OK : MS_ERR_NOMEM;
}

/* The base URL without its trailing slashes. */
static char *base_of(const char *url)
{
    size_t len = strlen(url);
    while (len > 0 && url[len - 1] == '/')
        len--;
    return ms_asprintf("%.*s", (int)len, url);
}

ms_status rc_check_url(ms_ctx *ctx, const char *url, ms_rc_audit_result *result,
                       ms_diag_list *diags)
{
    const ms_diag_def *defs = ms_roundcube_diag_defs;
    char *base = base_of(url);
    if (base == NULL)
        return MS_ERR_NOMEM;
    char error[CURL_ERROR_SIZE];
    answer login;
    ms_status st = get(ctx, base, "/", &login, error);
    if (st != MS_OK) {
        if (st == MS_ERR_IO)
            st = ms_diag_add(diags, &defs[RC_URL_FAILED], url, -1, "%s: %s", url, error);
        ms_buf_free(&login.body.buf);
        free(base);
        return st;
    }
    st = page_version(&login.body.buf, &result->login_version);
    if (st == MS_OK && result->login_version != NULL)
        st = ms_diag_add(diags, &defs[RC_URL_VERSION], url, -1,
                         "the login page reveals version %s (rcversion)", result->login_version);
    for (size_t i = 0; st == MS_OK && i < sizeof PROBES / sizeof PROBES[0]; i++) {
        answer a;
        char *where = ms_asprintf("%s%s", base, PROBES[i].path);
        if (where == NULL) {
            st = MS_ERR_NOMEM;
            break;
        }
        st = get(ctx, base, PROBES[i].path, &a, error);
        if (st == MS_ERR_IO)
            st = ms_diag_add(diags, &defs[RC_URL_FAILED], where, -1, "%s: %s", where, error);
        else if (st == MS_OK && is_exposed(&a, PROBES[i].looks, &login))
            st = ms_diag_add(diags, &defs[RC_URL_EXPOSED], where, -1,
                             "%s answers with %s (HTTP %ld, %zu bytes)", where, PROBES[i].what,
                             a.status, a.body.buf.len);
        ms_buf_free(&a.body.buf);
        free(where);
    }
    ms_buf_free(&login.body.buf);
    free(base);
    return st;
}
