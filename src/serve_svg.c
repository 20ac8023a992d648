/* mailsec serve: SVG charts (serve_svg.h). */
#include "serve_svg.h"
#include "serve_html.h"

#include <math.h>
#include <string.h>
#include <time.h>

enum { DAY = 86400 };
/* The drawing: the plot area inside margins for the axes and the legend. */
enum { WIDTH = 760, HEIGHT = 260, LEFT = 70, RIGHT = 16, TOP = 40, BOTTOM = 40 };
#define PLOT_W ((double)(WIDTH - LEFT - RIGHT))
#define PLOT_H ((double)(HEIGHT - TOP - BOTTOM))

int chart_bucket_days(int64_t first_day, int64_t last_day)
{
    int64_t days = last_day >= first_day ? (last_day - first_day) / DAY + 1 : 1;
    return (int)((days + CHART_BUCKETS_MAX - 1) / CHART_BUCKETS_MAX);
}

static void format_day(int64_t t, char *buf, size_t len)
{
    time_t tt = (time_t)t;
    struct tm tm;
    if (gmtime_r(&tt, &tm) == NULL || strftime(buf, len, "%Y-%m-%d", &tm) == 0)
        snprintf(buf, len, "?");
}

/* 1, 2 or 5 times a power of ten, at least v: the top of the y axis. */
static double nice_ceiling(double v)
{
    if (!(v > 0))
        return 1;
    double p = pow(10, floor(log10(v)));
    for (int i = 0; i < 4; i++) {
        double m = (double[]){1, 2, 5, 10}[i] * p;
        if (m >= v)
            return m;
    }
    return 10 * p;
}

/* The highest bar (stacked: the highest sum) or point. */
static double values_max(const chart *c)
{
    double max = 0;
    for (size_t i = 0; i < c->buckets; i++) {
        double sum = 0;
        for (size_t s = 0; s < c->series_count; s++) {
            double v = c->series[s].values[i];
            if (isnan(v))
                continue;
            sum = c->bars ? sum + v : fmax(sum, v);
        }
        max = fmax(max, sum);
    }
    return max;
}

/* A y-axis figure: 1500 as 1500, 25000 as 25k, 3000000 as 3M. */
static void format_figure(double v, char *buf, size_t len)
{
    if (v >= 1e6)
        snprintf(buf, len, "%gM", v / 1e6);
    else if (v >= 1e4)
        snprintf(buf, len, "%gk", v / 1e3);
    else
        snprintf(buf, len, "%g", v);
}

static double x_of(const chart *c, double bucket)
{
    return LEFT + PLOT_W * bucket / (double)c->buckets;
}

static double y_of(double v, double top)
{
    return TOP + PLOT_H - PLOT_H * fmin(v, top) / top;
}

static void draw_axes(FILE *out, const chart *c, double top)
{
    for (int i = 0; i <= 4; i++) {
        double v = top * i / 4, y = y_of(v, top);
        char label[32];
        format_figure(v, label, sizeof label);
        fprintf(out, "<line class=\"grid\" x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\"/>", LEFT, y, WIDTH - RIGHT, y);
        fprintf(out, "<text class=\"tick\" x=\"%d\" y=\"%.1f\" text-anchor=\"end\">%s</text>", LEFT - 6, y + 4, label);
    }
    fprintf(out, "<text class=\"unit\" transform=\"translate(14 %d) rotate(-90)\" text-anchor=\"middle\">", TOP + (int)PLOT_H / 2);
    html_text_s(out, c->unit);
    if (c->bucket_days > 1)
        fprintf(out, " per %d days", c->bucket_days);
    else if (c->y_max == 0)
        fputs(" per day", out);
    fputs("</text>", out);
    /* Dates: about six labels along the x axis, at the start of their bucket. */
    size_t step = c->buckets > 6 ? (c->buckets + 5) / 6 : 1;
    for (size_t i = 0; i < c->buckets; i += step) {
        char day[16];
        format_day(c->first_day + (int64_t)i * c->bucket_days * DAY, day, sizeof day);
        double x = x_of(c, (double)i + 0.5);
        fprintf(out, "<line class=\"axis\" x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\"/>", x, HEIGHT - BOTTOM, x,
                HEIGHT - BOTTOM + 4);
        fprintf(out, "<text class=\"tick\" x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">%s</text>", x,
                HEIGHT - BOTTOM + 18, day);
    }
    fprintf(out, "<text class=\"tick\" x=\"%d\" y=\"%d\" text-anchor=\"end\">UTC</text>", WIDTH - RIGHT,
            HEIGHT - 4);
    fprintf(out, "<line class=\"axis\" x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\"/>", LEFT, HEIGHT - BOTTOM,
            WIDTH - RIGHT, HEIGHT - BOTTOM);
    fprintf(out, "<line class=\"axis\" x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\"/>", LEFT, TOP, LEFT, HEIGHT - BOTTOM);
}

static void draw_legend(FILE *out, const chart *c)
{
    double x = LEFT;
    fputs("<text class=\"chart-title\" x=\"0\" y=\"16\">", out);
    html_text_s(out, c->title);
    fputs("</text>", out);
    for (size_t s = 0; s < c->series_count; s++) {
        fprintf(out, "<rect class=\"%s\" x=\"%.0f\" y=\"24\" width=\"10\" height=\"10\"/>", c->series[s].css_class, x);
        fprintf(out, "<text class=\"legend\" x=\"%.0f\" y=\"33\">", x + 14);
        html_text_s(out, c->series[s].name);
        fputs("</text>", out);
        x += 30 + 7.0 * (double)strlen(c->series[s].name);
    }
}

/* A <title> (the tooltip) for bucket i of series s. */
static void point_title(FILE *out, const chart *c, size_t s, size_t i)
{
    char day[16];
    format_day(c->first_day + (int64_t)i * c->bucket_days * DAY, day, sizeof day);
    fprintf(out, "<title>%s%s: ", day, c->bucket_days > 1 ? " and after" : "");
    html_text_s(out, c->series[s].name);
    fprintf(out, " %g</title>", c->series[s].values[i]);
}

static void draw_bars(FILE *out, const chart *c, double top)
{
    /* Bars 80% of their slot, centred in it; at most 40 units wide, so a
     * few days do not make slabs. */
    double w = fmin(fmax(PLOT_W / (double)c->buckets * 0.8, 0.5), 40);
    for (size_t i = 0; i < c->buckets; i++) {
        double base = 0;
        for (size_t s = 0; s < c->series_count; s++) {
            double v = c->series[s].values[i];
            if (isnan(v) || v <= 0)
                continue;
            double y0 = y_of(base, top), y1 = y_of(base + v, top);
            fprintf(out, "<rect class=\"%s\" x=\"%.2f\" y=\"%.2f\" width=\"%.2f\" height=\"%.2f\">",
                    c->series[s].css_class, x_of(c, (double)i + 0.5) - w / 2, y1, w, fmax(y0 - y1, 0.5));
            point_title(out, c, s, i);
            fputs("</rect>", out);
            base += v;
        }
    }
}

static void draw_lines(FILE *out, const chart *c, double top)
{
    for (size_t s = 0; s < c->series_count; s++) {
        int open = 0; /* a polyline is being written; a gap (NAN) ends it */
        for (size_t i = 0; i < c->buckets; i++) {
            double v = c->series[s].values[i];
            if (isnan(v)) {
                if (open)
                    fputs("\"/>", out);
                open = 0;
                continue;
            }
            if (!open)
                fprintf(out, "<polyline class=\"line %s\" points=\"", c->series[s].css_class);
            else
                fputc(' ', out);
            fprintf(out, "%.2f,%.2f", x_of(c, (double)i + 0.5), y_of(v, top));
            open = 1;
        }
        fputs(open ? "\"/>" : "", out);
        for (size_t i = 0; i < c->buckets; i++) {
            double v = c->series[s].values[i];
            if (isnan(v))
                continue;
            fprintf(out, "<circle class=\"%s\" cx=\"%.2f\" cy=\"%.2f\" r=\"2.5\">", c->series[s].css_class,
                    x_of(c, (double)i + 0.5), y_of(v, top));
            point_title(out, c, s, i);
            fputs("</circle>", out);
        }
    }
}

static void draw_markers(FILE *out, const chart *c)
{
    for (size_t m = 0; m < c->marker_count; m++) {
        double bucket = (double)(c->markers[m].day - c->first_day) / DAY / c->bucket_days;
        if (bucket < 0 || bucket > (double)c->buckets)
            continue;
        double x = x_of(c, bucket);
        fprintf(out, "<line class=\"marker\" x1=\"%.2f\" y1=\"%d\" x2=\"%.2f\" y2=\"%d\"/>", x, TOP, x, HEIGHT - BOTTOM);
        fprintf(out, "<text class=\"marker-label\" x=\"%.2f\" y=\"%d\">", x + 3, TOP + 10 + (int)(m % 3) * 12);
        html_text_s(out, c->markers[m].label);
        fputs("</text>", out);
    }
}

void svg_chart(FILE *out, const chart *c)
{
    fprintf(out, "<svg class=\"chart\" xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 %d %d\" role=\"img\" "
                 "aria-label=\"", WIDTH, HEIGHT);
    html_attr_s(out, c->title);
    fputs("\">", out);
    draw_legend(out, c);
    if (c->buckets == 0) {
        fprintf(out, "<text class=\"empty\" x=\"%d\" y=\"%d\" text-anchor=\"middle\">No reports in this selection</text></svg>",
                WIDTH / 2, HEIGHT / 2);
        return;
    }
    double top = c->y_max > 0 ? c->y_max : nice_ceiling(values_max(c));
    draw_axes(out, c, top);
    if (c->bars)
        draw_bars(out, c, top);
    else
        draw_lines(out, c, top);
    draw_markers(out, c);
    fputs("</svg>", out);
}
