/* libcurl, loaded on first use (core/lazy.h): the names lib/audit/mtasts.c
 * (MTA-STS policies) and lib/ingest/imap.c (report fetch) use. Include this
 * instead of the library's header, and call ms_lazy_load(&ms_curl_lib)
 * before the first of them. */
#ifndef MAILSEC_LAZY_CURL_H
#define MAILSEC_LAZY_CURL_H

/* curl.h defines these two as macros (type checks with GCC, else a check
 * of the argument count): they become look-ups like the others. */
#define CURL_DISABLE_TYPECHECK
#include <curl/curl.h>
#undef curl_easy_getinfo
#undef curl_easy_setopt

#include "core/lazy.h"

#define MS_CURL_NAMES(X) \
    X(curl_easy_cleanup) \
    X(curl_easy_escape) \
    X(curl_easy_getinfo) \
    X(curl_easy_init) \
    X(curl_easy_perform) \
    X(curl_easy_setopt) \
    X(curl_easy_strerror) \
    X(curl_free) \
    X(curl_global_cleanup) \
    X(curl_global_init) \
    X(curl_slist_append) \
    X(curl_slist_free_all) \
    X(curl_url) \
    X(curl_url_cleanup) \
    X(curl_url_get) \
    X(curl_url_set)

#define MS_CURL_INDEX(name) ms_curl_##name,
enum { MS_CURL_NAMES(MS_CURL_INDEX) ms_curl_count };

extern ms_lazy_lib ms_curl_lib;
extern void *ms_curl_slots[ms_curl_count];

#define curl_easy_cleanup MS_LAZY(ms_curl, curl_easy_cleanup)
#define curl_easy_escape MS_LAZY(ms_curl, curl_easy_escape)
#define curl_easy_getinfo MS_LAZY(ms_curl, curl_easy_getinfo)
#define curl_easy_init MS_LAZY(ms_curl, curl_easy_init)
#define curl_easy_perform MS_LAZY(ms_curl, curl_easy_perform)
#define curl_easy_setopt MS_LAZY(ms_curl, curl_easy_setopt)
#define curl_easy_strerror MS_LAZY(ms_curl, curl_easy_strerror)
#define curl_free MS_LAZY(ms_curl, curl_free)
#define curl_global_cleanup MS_LAZY(ms_curl, curl_global_cleanup)
#define curl_global_init MS_LAZY(ms_curl, curl_global_init)
#define curl_slist_append MS_LAZY(ms_curl, curl_slist_append)
#define curl_slist_free_all MS_LAZY(ms_curl, curl_slist_free_all)
#define curl_url MS_LAZY(ms_curl, curl_url)
#define curl_url_cleanup MS_LAZY(ms_curl, curl_url_cleanup)
#define curl_url_get MS_LAZY(ms_curl, curl_url_get)
#define curl_url_set MS_LAZY(ms_curl, curl_url_set)

#endif
