/* mailsec serve: writing HTML and SVG from text a report sent. Every string
 * that comes from a report (org names, report ids, domains, failure-report
 * headers) is attacker-controlled, and reaches a page through exactly one of
 * these functions, the one for the context it lands in (docs/serve.md,
 * "Security"). */
#ifndef MAILSEC_SRC_SERVE_HTML_H
#define MAILSEC_SRC_SERVE_HTML_H

#include <stddef.h>
#include <stdio.h>

/* Text between tags, in HTML and in SVG inside HTML (the HTML parser reads
 * both): & < > " ' as character references; bytes that are not UTF-8, NUL
 * and the other C0 controls but tab and line feed, DEL and the C1 controls
 * as U+FFFD; Unicode bidirectional controls as the visible text \uHHHH, so
 * a name cannot reorder what surrounds it. */
void html_text(FILE *out, const char *s, size_t len);
/* A double-quoted attribute value: as html_text, and every ASCII character
 * other than a letter or digit as &#xHH;, so nothing can end the value or
 * the tag whatever the quoting. */
void html_attr(FILE *out, const char *s, size_t len);
/* A URL query value (inside an attribute: the result needs no further
 * escaping): every byte but A-Z a-z 0-9 - . _ ~ as %HH. */
void html_url_value(FILE *out, const char *s, size_t len);

/* The same for a NUL-terminated string; NULL writes nothing. */
void html_text_s(FILE *out, const char *s);
void html_attr_s(FILE *out, const char *s);
void html_url_value_s(FILE *out, const char *s);

#endif
