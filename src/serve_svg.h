/* mailsec serve: charts drawn as SVG by the server, placed inline in the
 * page (no script; colours come from the dashboard's style sheet through
 * class names). */
#ifndef MAILSEC_SRC_SERVE_SVG_H
#define MAILSEC_SRC_SERVE_SVG_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* One line of bars or points: values[i] belongs to bucket i; NAN (a rate
 * on a day without messages) leaves a gap. */
typedef struct chart_series {
    const char *name;      /* in the legend (mailsec's own words) */
    const char *css_class; /* "pass", "fail", "rate", ... (style.css) */
    const double *values;
} chart_series;

/* A vertical line at a day with a label (text from reports: escaped). */
typedef struct chart_marker {
    int64_t day;
    const char *label;
} chart_marker;

typedef struct chart {
    const char *title;   /* mailsec's own words */
    const char *unit;    /* the y axis: "messages", "% of messages" */
    int64_t first_day;   /* Unix seconds at 00:00 UTC of bucket 0 */
    int bucket_days;     /* days per bucket, 1 or more */
    size_t buckets;
    const chart_series *series;
    size_t series_count;
    int bars;            /* stacked bars; else lines */
    double y_max;        /* the top of the y axis; 0: from the values */
    const chart_marker *markers;
    size_t marker_count;
} chart;

/* The days from first to last (inclusive) in buckets of whole days, at most
 * CHART_BUCKETS_MAX of them: how many days each bucket holds. */
enum { CHART_BUCKETS_MAX = 120 };
int chart_bucket_days(int64_t first_day, int64_t last_day);

/* Writes the chart as an <svg> element: axes with units and dates (UTC),
 * a legend, a <title> on every bar or point. */
void svg_chart(FILE *out, const chart *c);

#endif
