/* mailsec serve: the web dashboard. serve.c runs the HTTP server (options,
 * authentication, bounds, security headers, routing); serve_pages.c
 * writes the pages; serve_html.c escapes; serve_svg.c draws the charts. */
#ifndef MAILSEC_SRC_SERVE_H
#define MAILSEC_SRC_SERVE_H

#include "mailsec/store.h"

#include <stdint.h>
#include <stdio.h>

/* What a request's URL selects (docs/serve.md, "Pages"). */
typedef struct serve_query {
    ms_store_filter filter; /* filter.domain: domain_key */
    char *domain_key;
    const char *since, *until; /* as given (YYYY-MM-DD), for links; NULL: none */
    const char *ip;            /* source page */
    int64_t id;                /* report page; 0: none */
} serve_query;

/* Each page writes its whole HTML to out; the status tells how it went
 * (a page for 400, 404 and 500 is written too). */
typedef int (*serve_page_fn)(FILE *out, ms_store *store, const serve_query *q);

int page_overview(FILE *out, ms_store *store, const serve_query *q);
int page_domain(FILE *out, ms_store *store, const serve_query *q);
int page_source(FILE *out, ms_store *store, const serve_query *q);
int page_failures(FILE *out, ms_store *store, const serve_query *q);
int page_report(FILE *out, ms_store *store, const serve_query *q);
int page_tls(FILE *out, ms_store *store, const serve_query *q);
/* A page that says what went wrong (status 400, 401, 404, 405, 500...). */
int page_error(FILE *out, int status, const char *message);

/* The style sheet and the icon the pages link to. */
extern const char SERVE_STYLE_CSS[];
extern const char SERVE_ICON_SVG[];

#endif
