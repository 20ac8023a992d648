/* mailsec report: DMARC aggregate and failure reports and SMTP TLS reports
 * from the command line: ingest (files, directories, mail) and fetch (IMAP)
 * into the store, then the views over it; send (report_send.c) mails the
 * reports of the messages evaluated here. Argument parsing and rendering
 * only; lib/ingest, lib/report and lib/store do the work. */
#include "cli.h"
#include "commands.h"
#include "report_options.h"
#include "report_send.h"
#include "report_views.h"

#include "mailsec/ingest.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <malloc.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const char GROUP_USAGE[] =
    "Usage: mailsec report <command> [options]\n\n"
    "Commands:\n"
    "  ingest PATH...           read reports from files, directories, archives, mail\n"
    "  fetch URL                read reports from an IMAP mailbox\n"
    "  send                     mail aggregate reports of the messages evaluated here\n" REPORT_VIEWS_GROUP_USAGE
    "\n'mailsec report <command> --help' for the options.\n"
    "The store: --db URL, else $MAILSEC_DB, else $XDG_DATA_HOME/mailsec/reports.db.\n";

#define DB_HELP                                                                       \
    "  --db URL               the store: sqlite:PATH, PATH or postgresql://...\n"     \
    "                         (default $MAILSEC_DB, else\n"                           \
    "                         $XDG_DATA_HOME/mailsec/reports.db)\n"

static const char INGEST_USAGE[] =
    "Usage: mailsec report ingest [options] PATH...\n\n"
    "Reads DMARC aggregate reports (XML), DMARC failure reports (ARF messages) and\n"
    "SMTP TLS reports (JSON) from files and directories (recursively): plain, gzip,\n"
    "zip, single messages, mbox files, Maildir folders; - reads standard input.\n"
    "Formats are recognised by content, not by name. Each report is stored once;\n"
    "one that cannot be read is set aside with the reason and the rest go on.\n"
    "Exit status 1: some reports could not be read.\n\n";

static const char FETCH_USAGE[] =
    "Usage: mailsec report fetch [options] imaps://USER@HOST[:PORT]/MAILBOX\n"
    "       mailsec report fetch [options] imap://USER@HOST[:PORT]/MAILBOX   (STARTTLS required)\n\n"
    "Ingests the reports in every message of the mailbox not fetched before.\n"
    "The password is read from $MAILSEC_IMAP_PASSWORD or --password-file, never\n"
    "from the command line. A message over 64 MiB is named by its UID and passed\n"
    "over without being downloaded; the others go on (exit 1).\n"
    "--timeout bounds each network operation (default 5 s; a message's\n"
    "download gets a second more per 64 KiB of its size).\n\n";

enum {
    INGEST_MMAP_THRESHOLD = 4 << 20, /* smaller blocks come from the heap */
    INGEST_TRIM_THRESHOLD = 8 << 20  /* bytes free at the heap's top kept */
};
/* Progress lines at most this often (seconds). */
#define PROGRESS_INTERVAL 0.2

typedef struct ingest_view {
    const cli_common *c;
    json_t *failed;  /* JSON: the reports set aside */
    json_t *skipped; /* JSON: what held no report */
    int progress;    /* a progress line on stderr (a TTY) */
    double started, shown;
} ingest_view;

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void clear_progress(ingest_view *v)
{
    if (v->progress && v->shown > 0) {
        fprintf(stderr, "\r%*s\r", 78, "");
        v->shown = 0;
    }
}

static void on_progress(void *arg, const ms_ingest_tally *t)
{
    ingest_view *v = arg;
    double now = now_seconds();
    if (!v->progress || now - v->shown < PROGRESS_INTERVAL)
        return;
    v->shown = now;
    double elapsed = now - v->started;
    fprintf(stderr, "\r%llu files, %llu reports, %llu records, %.0f records/s ",
            (unsigned long long)t->files,
            (unsigned long long)(t->reports_new + t->duplicates + t->failed),
            (unsigned long long)t->records, elapsed > 0 ? t->records / elapsed : 0.0);
}

static json_t *json_error(const ms_report_error *e)
{
    json_t *o = json_pack("{s:s?}", "message", e->message);
    if (e->line > 0)
        json_object_set_new(o, "line", json_integer(e->line));
    if (e->column > 0)
        json_object_set_new(o, "column", json_integer(e->column));
    if (e->offset >= 0)
        json_object_set_new(o, "offset", json_integer(e->offset));
    return o;
}

/* "line 12, column 4" / "byte 99" / "" */
static void format_position(const ms_report_error *e, char *buf, size_t len)
{
    if (e->line > 0)
        snprintf(buf, len, " (line %ld, column %ld)", e->line, e->column);
    else if (e->offset >= 0)
        snprintf(buf, len, " (byte %lld)", (long long)e->offset);
    else
        buf[0] = '\0';
}

static void on_report(void *arg, const ms_ingest_event *ev)
{
    ingest_view *v = arg;
    if (ev->outcome == MS_INGEST_FAILED) {
        if (v->c->json) {
            json_array_append_new(v->failed, json_pack("{s:s, s:s, s:o}", "origin", ev->origin->path,
                                                       "kind", ms_report_kind_name(ev->kind),
                                                       "error", json_error(ev->error)));
            return;
        }
        char where[64];
        format_position(ev->error, where, sizeof where);
        clear_progress(v);
        out_item(v->c, MS_SEV_ERROR, "%s: %s%s", ev->origin->path,
                 ev->error->message ? ev->error->message : "unreadable", where);
    } else if (ev->outcome == MS_INGEST_CONFLICT && !v->c->json) {
        clear_progress(v);
        out_item(v->c, MS_SEV_WARNING,
                 "%s: conflicting duplicate: %s report %s from %s for %s is stored with other content;"
                 " the stored one is kept",
                 ev->origin->path, ms_report_kind_name(ev->kind), ev->report_id ? ev->report_id : "?",
                 ev->org ? ev->org : "?", ev->domain ? ev->domain : "?");
    } else if (v->c->verbose && !v->c->json) {
        clear_progress(v);
        out_item(v->c, MS_SEV_INFO, "%s: %s %s report from %s for %s (%llu records)",
                 ev->origin->path, ms_ingest_outcome_name(ev->outcome), ms_report_kind_name(ev->kind),
                 ev->org ? ev->org : "?", ev->domain ? ev->domain : "?",
                 (unsigned long long)ev->records);
    }
}

static void on_skipped(void *arg, const ms_report_origin *origin, const char *reason)
{
    ingest_view *v = arg;
    if (v->c->json) {
        json_array_append_new(v->skipped, json_pack("{s:s, s:s}", "origin", origin->path, "reason", reason));
    } else if (v->c->verbose) {
        clear_progress(v);
        out_item(v->c, MS_SEV_INFO, "%s: skipped: %s", origin->path, reason);
    }
}

static json_t *json_tally(const ms_ingest_tally *t, double seconds)
{
    return json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:f}", "files", (json_int_t)t->files,
                     "bytes", (json_int_t)t->bytes, "reports_new", (json_int_t)t->reports_new,
                     "duplicates", (json_int_t)t->duplicates, "conflicting", (json_int_t)t->conflicting,
                     "failed", (json_int_t)t->failed,
                     "skipped", (json_int_t)t->skipped, "records", (json_int_t)t->records,
                     "seconds", seconds);
}

/* "812 bytes", "38.2 kB", "1.3 GB" */
static void format_bytes(uint64_t n, char *buf, size_t len)
{
    static const char *const units[] = {"kB", "MB", "GB", "TB"};
    if (n < 1000) {
        snprintf(buf, len, "%llu bytes", (unsigned long long)n);
        return;
    }
    double v = (double)n / 1000;
    size_t u = 0;
    while (v >= 1000 && u + 1 < sizeof units / sizeof units[0]) {
        v /= 1000;
        u++;
    }
    snprintf(buf, len, "%.1f %s", v, units[u]);
}

static void print_tally(const cli_common *c, const ms_ingest_tally *t, double seconds)
{
    char size[32];
    format_bytes(t->bytes, size, sizeof size);
    out_field(c, "Files read", "%llu (%s)", (unsigned long long)t->files, size);
    char conflicting[64] = ""; /* shown when there are some */
    if (t->conflicting > 0)
        snprintf(conflicting, sizeof conflicting, " (%llu conflicting)",
                 (unsigned long long)t->conflicting);
    out_field(c, "Reports", "%llu new, %llu duplicate%s, %llu failed", (unsigned long long)t->reports_new,
              (unsigned long long)t->duplicates, conflicting, (unsigned long long)t->failed);
    out_field(c, "Records", "%llu stored in %.2f s (%.0f/s)", (unsigned long long)t->records, seconds,
              seconds > 0 ? t->records / seconds : 0.0);
    if (t->skipped > 0)
        out_field(c, "Skipped", "%llu files or parts held no report%s", (unsigned long long)t->skipped,
                  c->verbose ? "" : " (-v lists them)");
}

void report_store_failed(const char *command, int json, const char *array, const char *error)
{
    fprintf(stderr, "mailsec %s: %s\n", command, error);
    if (!json)
        return;
    json_t *doc = json_document(command);
    if (array != NULL)
        json_object_set_new(doc, array, json_array());
    json_t *text = json_string(error);
    if (text == NULL) { /* not UTF-8 (a file name): its other bytes as '?' */
        char *ascii = strdup(error);
        for (char *p = ascii; p && *p; p++)
            *p = (unsigned char)*p >= 0x80 ? '?' : *p;
        text = json_string(ascii ? ascii : "");
        free(ascii);
    }
    json_object_set_new(doc, "error", text);
    json_print(doc, EXIT_UNCHECKED);
}

ms_store *report_open(const char *command, const char *db, report_access access, int json,
                      const char *array)
{
    if (db == NULL)
        db = getenv("MAILSEC_DB");
    ms_store *store = NULL;
    char *why = NULL;
    ms_status st = access == REPORT_STORE_WRITE ? ms_store_open(db, &store, &why)
                                                : ms_store_open_read(db, &store, &why);
    if (st == MS_OK)
        return store;
    char *name = ms_store_url_masked(db);
    const char *reason = why ? why : ms_status_str(st);
    size_t len = strlen("cannot open the store : ") + (name ? strlen(name) : 0) + strlen(reason) + 1;
    char *error = malloc(len);
    if (error != NULL)
        snprintf(error, len, "cannot open the store%s%s: %s", name ? " " : "", name ? name : "", reason);
    report_store_failed(command, json, array, error ? error : "cannot open the store");
    free(error);
    free(name);
    free(why);
    return NULL;
}

ms_store *report_rdns_store(const char *command, const char *db, ms_store *store, int *no_rdns)
{
    ms_store *writable = NULL;
    char *why = NULL;
    if (ms_store_open(db, &writable, &why) == MS_OK) {
        ms_store_close(store);
        return writable;
    }
    fprintf(stderr, "mailsec %s: the store cannot be written here (%s): using the reverse DNS it has cached\n",
            command, why ? why : "read-only");
    free(why);
    *no_rdns = 1;
    return store;
}

ms_store *report_open_store(const char *command, const char *db)
{
    return report_open(command, db, REPORT_STORE_WRITE, 0, NULL);
}

typedef struct ingest_args {
    const char *db;
    const char *password_file;
    const char *move_to;
    const char *failed_to;
    const char *ca;
    unsigned jobs;        /* 0: the library's default */
} ingest_args;

static int ingest_option(void *arg, int opt, const char *value)
{
    ingest_args *a = arg;
    switch (opt) {
    case OPT_DB: a->db = value; return 1;
    case OPT_PASSWORD_FILE: a->password_file = value; return 1;
    case OPT_MOVE_TO: a->move_to = value; return 1;
    case OPT_FAILED_TO: a->failed_to = value; return 1;
    case OPT_CA: a->ca = value; return 1;
    case OPT_JOBS: {
        unsigned long n;
        if (!cli_parse_uint(value, 64, &n) || n == 0)
            return 0;
        a->jobs = (unsigned)n;
        return 1;
    }
    }
    return CLI_OPTION_UNHANDLED;
}

/* The tally, the failures, and the exit status every ingesting command
 * ends with. */
static int finish_ingest(const char *command, ingest_view *v, const ms_ingest_tally *t, ms_status st,
                         const char *error)
{
    double seconds = now_seconds() - v->started;
    clear_progress(v);
    int status = st != MS_OK                              ? EXIT_UNCHECKED
                 : t->failed > 0 || t->conflicting > 0 ? EXIT_PROBLEMS
                                                       : EXIT_CLEAN;
    if (st != MS_OK)
        fprintf(stderr, "mailsec %s: %s\n", command, error ? error : ms_status_str(st));
    if (v->c->json) {
        json_t *doc = json_document(command);
        json_object_set_new(doc, "tally", json_tally(t, seconds));
        json_object_set_new(doc, "failed", v->failed);
        json_object_set_new(doc, "skipped", v->skipped);
        json_print(doc, status);
    } else {
        json_decref(v->failed);
        json_decref(v->skipped);
        print_tally(v->c, t, seconds);
    }
    return status;
}

static void view_begin(ingest_view *v, const cli_common *c)
{
    *v = (ingest_view){.c = c, .failed = json_array(), .skipped = json_array(),
                       .progress = !c->quiet && isatty(STDERR_FILENO), .started = now_seconds()};
}

static const ms_ingest_callbacks *view_callbacks(ingest_view *v, ms_ingest_callbacks *cb)
{
    *cb = (ms_ingest_callbacks){.arg = v, .report = on_report, .skipped = on_skipped,
                                .progress = on_progress};
    return cb;
}

/* Each report read allocates and frees a few hundred KiB (the
 * decompressor, the parser's buffer). By default glibc gives memory back
 * to the kernel as it is freed — blocks over 128 KiB are unmapped, the
 * heap's top above 128 KiB trimmed — and maps it again for the next
 * report: system calls, zeroed pages and, on a virtual machine, a TLB
 * shoot-down each time. Serving such blocks from the heap and keeping a
 * few MiB free at its top spares all that; memory stays bounded. (Setting
 * either threshold turns off glibc's own adaptation of both.) */
static void keep_freed_memory(void)
{
    mallopt(M_MMAP_THRESHOLD, INGEST_MMAP_THRESHOLD);
    mallopt(M_TRIM_THRESHOLD, INGEST_TRIM_THRESHOLD);
}

static int run_ingest(int argc, char **argv)
{
    static const char CMD[] = "report ingest";
    cli_common c;
    ingest_args a = {0};
    int done = cli_parse(argc, argv, &CLI_OPTIONS_report_ingest, INGEST_USAGE, CMD, &c,
                         ingest_option, &a);
    if (done >= 0)
        return done;
    if (optind >= argc)
        return cli_usage_error(CMD, "no PATH to read");
    /* Checked before the store opens: it would take the closed descriptor
     * (SQLite puts /dev/null there), and "-" would read as empty. */
    for (int i = optind; i < argc; i++)
        if (strcmp(argv[i], "-") == 0 && fcntl(STDIN_FILENO, F_GETFD) < 0) {
            char why[160];
            snprintf(why, sizeof why, "-: could not read standard input: %s", strerror(errno));
            report_store_failed(CMD, c.json, NULL, why); /* exit 2, with the JSON document */
            return EXIT_UNCHECKED;
        }
    keep_freed_memory();
    ms_store *store = report_open(CMD, a.db, REPORT_STORE_WRITE, c.json, NULL);
    if (store == NULL)
        return EXIT_UNCHECKED;
    ingest_view v;
    ms_ingest_callbacks cb;
    view_begin(&v, &c);
    ms_ingest_tally tally = {0};
    view_callbacks(&v, &cb);
    cb.readers = a.jobs;
    ms_status st = ms_ingest_paths(store, (const char *const *)argv + optind, (size_t)(argc - optind), &cb,
                                   &tally);
    int status = finish_ingest(CMD, &v, &tally, st, st == MS_ERR_IO ? ms_store_error(store) : NULL);
    ms_store_close(store);
    return status;
}

/* The IMAP password: $MAILSEC_IMAP_PASSWORD or the first line of a file. */
static char *read_password(const char *command, const char *file)
{
    if (file == NULL) {
        const char *env = getenv("MAILSEC_IMAP_PASSWORD");
        if (env == NULL)
            fprintf(stderr, "mailsec %s: no password: set MAILSEC_IMAP_PASSWORD or use --password-file\n",
                    command);
        return env ? strdup(env) : NULL;
    }
    FILE *f = fopen(file, "r");
    if (f == NULL) {
        fprintf(stderr, "mailsec %s: %s: %s\n", command, file, strerror(errno));
        return NULL;
    }
    char *line = NULL;
    size_t cap = 0;
    ssize_t n = getline(&line, &cap, f);
    fclose(f);
    if (n < 0) {
        fprintf(stderr, "mailsec %s: %s: empty password file\n", command, file);
        free(line);
        return NULL;
    }
    line[strcspn(line, "\r\n")] = '\0';
    return line;
}

/* A message fetch passed over: listed with the reports set aside. */
static void on_passed_over(void *arg, uint32_t uid, const char *reason)
{
    ingest_view *v = arg;
    char name[32];
    snprintf(name, sizeof name, "UID %" PRIu32, uid);
    if (v->c->json) {
        json_array_append_new(v->failed, json_pack("{s:s, s:s, s:{s:s}}", "origin", name, "kind", "message",
                                                   "error", "message", reason));
        return;
    }
    clear_progress(v);
    out_item(v->c, MS_SEV_ERROR, "%s: passed over: %s", name, reason);
}

static int run_fetch(int argc, char **argv)
{
    static const char CMD[] = "report fetch";
    cli_common c;
    ingest_args a = {0};
    int done = cli_parse(argc, argv, &CLI_OPTIONS_report_fetch, FETCH_USAGE, CMD, &c,
                         ingest_option, &a);
    if (done >= 0)
        return done;
    if (optind + 1 != argc)
        return cli_usage_error(CMD, "give one mailbox URL");
    char *password = read_password(CMD, a.password_file);
    if (password == NULL)
        return EXIT_UNCHECKED;
    ms_store *store = report_open_store(CMD, a.db);
    if (store == NULL) {
        free(password);
        return EXIT_UNCHECKED;
    }
    ms_ingest_imap_options o = {.url = argv[optind], .password = password, .ca_file = a.ca,
                         .move_to = a.move_to, .failed_to = a.failed_to,
                         .passed_over = on_passed_over, .timeout_ms = c.timeout_ms};
    ingest_view v;
    ms_ingest_callbacks cb;
    view_begin(&v, &c);
    ms_ingest_tally tally = {0};
    char *error = NULL;
    ms_status st = ms_ingest_imap(store, &o, view_callbacks(&v, &cb), &tally, &error);
    int status = finish_ingest(CMD, &v, &tally, st, error);
    free(error);
    free(password);
    ms_store_close(store);
    return status;
}

int cmd_report(int argc, char **argv)
{
    static const cli_command COMMANDS[] = {{"ingest", run_ingest}, {"fetch", run_fetch}, {"send", report_send_run},
                                           REPORT_VIEW_COMMANDS};
    return cli_dispatch(argc, argv, GROUP_USAGE, COMMANDS, sizeof COMMANDS / sizeof COMMANDS[0]);
}
