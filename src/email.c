/* mailsec email: e-mail address validation from the command line.
 * Argument parsing, input reading (arguments, lines, a CSV column) and
 * rendering only; lib/email does the validation and the DNS checks. */
#include "cli.h"
#include "commands.h"

#include "mailsec/email.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char GROUP_USAGE[] =
    "Usage: mailsec email <command> [options]\n\n"
    "Commands:\n"
    "  check ADDRESS...             validate e-mail addresses (RFC 5321/5322/6531)\n"
    "  check --file FILE|-          one address per line\n"
    "  check --csv FILE --column N|NAME  a column of a CSV file, written back with results\n\n"
    "'mailsec email check --help' for the options.\n";

static const char CHECK_USAGE[] =
    "Usage: mailsec email check [options] ADDRESS...\n"
    "       mailsec email check [options] --file FILE     (one address per line; - for stdin)\n"
    "       mailsec email check [options] --csv FILE --column N|NAME\n\n"
    "Validates each address and says why it is or is not acceptable: the category\n"
    "(valid, rfc5321, cfws, deprecated, rfc5322, error), a diagnosis code\n"
    "(mailsec diag list) and the normal form. A summary counts the diagnoses.\n\n"
    "Options:\n"
    "  --profile P            smtp (default: what mail systems deliver), rfc5322\n"
    "                         (anything the grammar allows), html5 (the WHATWG form\n"
    "                         definition), intl (smtp plus SMTPUTF8 and IDN)\n"
    "  --file FILE            read addresses from FILE, one per line (- = stdin)\n"
    "  --csv FILE             read a CSV file (RFC 4180); the output is the same CSV\n"
    "                         with valid, category, diagnosis and normalized columns\n"
    "  --column N|NAME        the CSV column holding addresses: 1-based number, or\n"
    "                         the name in the header row\n"
    "  --header               with a numbered --column: the first row is a header\n"
    "  --format text|json|csv output format (default text; csv for --csv input)\n"
    "  --mx                   also check deliverability: MX, null MX (RFC 7505),\n"
    "                         A/AAAA fallback; each domain asked once\n\n" CLI_COMMON_HELP;

enum { OPT_PROFILE = 1, OPT_FILE, OPT_CSV, OPT_COLUMN, OPT_HEADER, OPT_FORMAT, OPT_MX };
enum { FMT_TEXT, FMT_JSON, FMT_CSV };
static const char CMD[] = "email check";
/* Addresses checked per round: bounds memory while keeping --mx lookups
 * for a round in flight together. */
enum { CHUNK = 4096, PROGRESS_EVERY = 100000 };
/* An input line or CSV field longer than this is cut (and then invalid:
 * no address is longer than 254 octets plus some CFWS). */
enum { MAX_FIELD = 1 << 20 };

typedef struct item {
    char *addr;
    size_t len;
    char **fields; /* CSV: the row, re-emitted with the results */
    size_t nfields;
    ms_email_result r;
    char *normal;
    ms_email_mx_status mx;
    int mx_checked;
} item;

/* ---- input ---- */

typedef struct source {
    char **args; /* addresses from the command line */
    size_t nargs, next_arg;
    FILE *f;
    int csv;
    long column;            /* 0-based CSV column, -1 until the header names it */
    const char *column_name;
    int header;             /* the first CSV row is a header */
    char **header_fields;
    size_t header_nfields;
    int eof, io_error;
    size_t too_long;
} source;

static int push(char **buf, size_t *len, size_t *cap, int c)
{
    if (*len + 1 >= *cap) {
        size_t ncap = *cap ? *cap * 2 : 128;
        char *n = realloc(*buf, ncap);
        if (n == NULL)
            return 0;
        *buf = n;
        *cap = ncap;
    }
    (*buf)[(*len)++] = (char)c;
    (*buf)[*len] = '\0';
    return 1;
}

/* One line without its line end; NULL at the end of input. */
static char *read_line(source *s, size_t *len)
{
    char *buf = NULL;
    size_t cap = 0;
    int c;
    *len = 0;
    while ((c = getc(s->f)) != EOF && c != '\n') {
        if (*len < MAX_FIELD)
            push(&buf, len, &cap, c);
        else
            s->too_long++;
    }
    if (c == EOF) {
        if (ferror(s->f))
            s->io_error = 1;
        if (*len == 0) {
            free(buf);
            return NULL;
        }
    }
    if (*len > 0 && buf[*len - 1] == '\r')
        buf[--*len] = '\0';
    if (buf == NULL)
        buf = calloc(1, 1);
    return buf;
}

/* One CSV record (RFC 4180: quoted fields may hold commas, quotes doubled,
 * line breaks). Returns the number of fields, 0 at the end. */
static size_t read_csv_row(source *s, char ***out)
{
    char **fields = NULL;
    size_t n = 0;
    char *buf = NULL;
    size_t len = 0, cap = 0;
    int c, quoted = 0, any = 0;
    for (;;) {
        c = getc(s->f);
        if (c == EOF && ferror(s->f))
            s->io_error = 1;
        if (quoted) {
            if (c == EOF) {
                quoted = 0;
                continue;
            }
            if (c == '"') {
                int d = getc(s->f);
                if (d != '"') {
                    quoted = 0;
                    if (d != EOF)
                        ungetc(d, s->f);
                    continue;
                }
            }
            if (len < MAX_FIELD)
                push(&buf, &len, &cap, c);
            continue;
        }
        if (c == '"' && len == 0) {
            quoted = any = 1;
            continue;
        }
        if (c == ',' || c == '\n' || c == EOF) {
            if (c == EOF && !any && n == 0 && len == 0)
                break;
            if (len > 0 && buf[len - 1] == '\r' && c != ',')
                buf[--len] = '\0';
            char **nf = realloc(fields, (n + 1) * sizeof *nf);
            if (nf == NULL)
                break;
            fields = nf;
            fields[n++] = buf ? buf : calloc(1, 1);
            buf = NULL;
            len = cap = 0;
            if (c != ',')
                break;
            continue;
        }
        any = 1;
        if (len < MAX_FIELD)
            push(&buf, &len, &cap, c);
    }
    free(buf);
    *out = fields;
    return n;
}

static void free_fields(char **f, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(f[i]);
    free(f);
}

/* The next address; 0 at the end. */
static int next_item(source *s, item *it)
{
    memset(it, 0, sizeof *it);
    if (s->args != NULL) {
        if (s->next_arg == s->nargs)
            return 0;
        const char *a = s->args[s->next_arg++];
        it->addr = strdup(a);
        it->len = strlen(a);
        return it->addr != NULL;
    }
    if (s->eof)
        return 0;
    if (!s->csv) {
        for (;;) {
            char *line = read_line(s, &it->len);
            if (line == NULL) {
                s->eof = 1;
                return 0;
            }
            if (it->len == 0) { /* blank lines separate nothing: skip */
                free(line);
                continue;
            }
            it->addr = line;
            return 1;
        }
    }
    for (;;) {
        char **f;
        size_t n = read_csv_row(s, &f);
        if (n == 0) {
            s->eof = 1;
            return 0;
        }
        if (n == 1 && f[0][0] == '\0') { /* an empty line */
            free_fields(f, n);
            continue;
        }
        it->fields = f;
        it->nfields = n;
        if (s->column >= 0 && (size_t)s->column < n) {
            it->addr = strdup(f[s->column]);
            it->len = strlen(f[s->column]);
        } else {
            it->addr = strdup("");
        }
        return it->addr != NULL;
    }
}

/* ---- checking ---- */

typedef struct run {
    cli_common *c;
    ms_email_profile profile;
    int format, mx;
    ms_ctx *ctx;
    ms_email_mx_cache *mx_cache; /* --mx: verdicts across chunks */
    size_t total, valid, invalid, mx_failed;
    const char *diag_codes[64];
    size_t diag_counts[64];
    size_t ndiags;
    int first_json;
    int could_not_check;
} run;

static void count_diag(run *r, const char *code)
{
    for (size_t i = 0; i < r->ndiags; i++) {
        if (r->diag_codes[i] == code || strcmp(r->diag_codes[i], code) == 0) {
            r->diag_counts[i]++;
            return;
        }
    }
    if (r->ndiags < 64) {
        r->diag_codes[r->ndiags] = code;
        r->diag_counts[r->ndiags++] = 1;
    }
}

/* The A-label domain of a normal form, or NULL for address literals. */
static const char *mx_domain(const item *it)
{
    if (it->normal == NULL)
        return NULL;
    const char *at = strrchr(it->normal, '@');
    return at && at[1] != '[' ? at + 1 : NULL;
}

static void check_mx(run *r, item *items, size_t n)
{
    const char **ask = malloc(n * sizeof *ask);
    size_t *asked_for = malloc(n * sizeof *asked_for);
    ms_email_mx_status *st = malloc(n * sizeof *st);
    size_t nask = 0;
    for (size_t i = 0; ask && asked_for && st && i < n; i++) {
        const char *d = mx_domain(&items[i]);
        if (d != NULL) {
            asked_for[nask] = i;
            ask[nask++] = d;
        }
    }
    if (ask == NULL || asked_for == NULL || st == NULL ||
        ms_email_mx_check_cached(r->ctx, r->mx_cache, ask, nask, st) != MS_OK) {
        fprintf(stderr, "mailsec email check: the DNS lookups failed\n");
        r->could_not_check = 1;
        nask = 0;
    }
    for (size_t k = 0; k < nask; k++) {
        item *it = &items[asked_for[k]];
        it->mx = st[k];
        it->mx_checked = 1;
        if (it->mx == MS_EMAIL_MX_TEMPFAIL)
            r->mx_failed++;
        ms_email_result_apply_mx(&it->r, r->profile, it->mx);
        if (!it->r.valid) {
            free(it->normal);
            it->normal = NULL;
        }
    }
    free(st);
    free(asked_for);
    free(ask);
}

/* ---- output ---- */

static void csv_field(const char *s)
{
    if (strpbrk(s, ",\"\r\n") == NULL) {
        fputs(s, stdout);
        return;
    }
    putchar('"');
    for (; *s; s++) {
        if (*s == '"')
            putchar('"');
        putchar(*s);
    }
    putchar('"');
}

static void emit_csv(const run *r, const item *it)
{
    (void)r;
    if (it->fields != NULL) {
        for (size_t i = 0; i < it->nfields; i++) {
            csv_field(it->fields[i]);
            putchar(',');
        }
    } else {
        /* the address as given; embedded NULs cannot travel in CSV */
        csv_field(it->addr);
        putchar(',');
    }
    printf("%s,%s,%s,", it->r.valid ? "true" : "false", ms_email_category_name(it->r.category),
           it->r.diagnosis);
    csv_field(it->normal ? it->normal : "");
    putchar('\n');
}

static void emit_json(run *r, const item *it)
{
    json_t *o = json_object();
    json_object_set_new(o, "address", json_text(it->addr, it->len));
    json_object_set_new(o, "valid", json_boolean(it->r.valid));
    json_object_set_new(o, "category", json_string(ms_email_category_name(it->r.category)));
    json_object_set_new(o, "diagnosis", json_string(it->r.diagnosis));
    if (it->r.category < MS_EMAIL_CAT_ERR) {
        json_object_set_new(o, "local_part", json_text(it->addr + it->r.local_start, it->r.local_len));
        json_object_set_new(o, "domain", json_text(it->addr + it->r.domain_start, it->r.domain_len));
    } else {
        json_object_set_new(o, "local_part", json_null());
        json_object_set_new(o, "domain", json_null());
    }
    json_object_set_new(o, "normalized", json_str_or_null(it->normal));
    json_object_set_new(o, "mx", it->mx_checked ? json_string(ms_email_mx_status_name(it->mx)) : json_null());
    const ms_diag_def *def = ms_email_diag_def(it->r.diagnosis);
    json_t *diags = json_array();
    json_t *d = json_object();
    json_object_set_new(d, "severity", json_string(ms_severity_str(def ? def->severity : MS_SEV_ERROR)));
    json_object_set_new(d, "code", json_string(it->r.diagnosis));
    json_object_set_new(d, "message", json_string(def ? def->summary : ""));
    json_object_set_new(d, "location", json_null());
    json_object_set_new(d, "offset", json_integer((json_int_t)it->r.error_offset));
    json_array_append_new(diags, d);
    json_object_set_new(o, "diagnostics", diags);
    fputs(r->first_json ? "\n    " : ",\n    ", stdout);
    r->first_json = 0;
    json_dumpf(o, stdout, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_ENSURE_ASCII);
    json_decref(o);
}

static void emit_text(const run *r, const item *it)
{
    char *shown = cli_escaped(it->addr, it->len, r->c->utf8);
    const ms_diag_def *def = ms_email_diag_def(it->r.diagnosis);
    const char *cat = ms_email_category_name(it->r.category);
    if (it->r.valid && def && def->severity == MS_SEV_INFO) {
        if (it->normal && strcmp(it->normal, it->addr) != 0)
            out_ok(r->c, "%s  valid (%s)  normal form: %s", shown ? shown : "?", it->r.diagnosis, it->normal);
        else
            out_ok(r->c, "%s  valid (%s)", shown ? shown : "?", it->r.diagnosis);
    } else {
        out_item(r->c, it->r.valid ? MS_SEV_WARNING : MS_SEV_ERROR, "%s  %s, %s (%s)%s%s",
                 shown ? shown : "?", it->r.valid ? "acceptable" : "not valid", cat, it->r.diagnosis,
                 it->mx_checked ? "  mx: " : "", it->mx_checked ? ms_email_mx_status_name(it->mx) : "");
        if (!r->c->quiet && def != NULL) {
            out_text(r->c, "    %s", def->summary);
            if (def->advice != NULL && r->c->verbose)
                out_text(r->c, "    %s", def->advice);
        }
    }
    free(shown);
}

static void process(run *r, item *items, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        ms_email_check(items[i].addr, items[i].len, r->profile, &items[i].r);
        if (items[i].r.valid && ms_email_normalize(items[i].addr, items[i].len, r->profile, &items[i].normal) != MS_OK)
            items[i].normal = NULL;
    }
    if (r->mx)
        check_mx(r, items, n);
    for (size_t i = 0; i < n; i++) {
        item *it = &items[i];
        r->total++;
        if (it->r.valid)
            r->valid++;
        else
            r->invalid++;
        count_diag(r, it->r.diagnosis);
        if (r->format == FMT_CSV)
            emit_csv(r, it);
        else if (r->format == FMT_JSON)
            emit_json(r, it);
        else
            emit_text(r, it);
        free(it->addr);
        free(it->normal);
        free_fields(it->fields, it->nfields);
    }
}


static void summary(run *r)
{
    if (r->format == FMT_JSON) {
        json_t *s = json_object();
        json_object_set_new(s, "total", json_integer((json_int_t)r->total));
        json_object_set_new(s, "valid", json_integer((json_int_t)r->valid));
        json_object_set_new(s, "invalid", json_integer((json_int_t)r->invalid));
        json_t *by = json_object();
        for (size_t i = 0; i < r->ndiags; i++)
            json_object_set_new(by, r->diag_codes[i], json_integer((json_int_t)r->diag_counts[i]));
        json_object_set_new(s, "by_diagnosis", by);
        fputs("\n  ],\n  \"summary\": ", stdout);
        json_dumpf(s, stdout, JSON_COMPACT | JSON_SORT_KEYS);
        json_decref(s);
        return;
    }
    if (r->format == FMT_CSV) {
        /* CSV carries data only; the summary goes to stderr */
        if (!r->c->quiet) {
            fprintf(stderr, "%zu addresses: %zu valid, %zu not valid\n", r->total, r->valid, r->invalid);
            for (size_t i = 0; i < r->ndiags; i++)
                fprintf(stderr, "  %-34s %zu\n", r->diag_codes[i], r->diag_counts[i]);
        }
        return;
    }
    printf("\n%zu address%s: %zu valid, %zu not valid (profile %s)\n", r->total, r->total == 1 ? "" : "es",
           r->valid, r->invalid, ms_email_profile_name(r->profile));
    for (size_t i = 0; i < r->ndiags; i++)
        printf("  %-34s %zu\n", r->diag_codes[i], r->diag_counts[i]);
    if (r->mx_failed)
        printf("  %zu address%s could not be checked in DNS (tempfail)\n", r->mx_failed, r->mx_failed == 1 ? "" : "es");
}

/* Finds the CSV column from the header row. */
static int resolve_column(source *s)
{
    if (!s->header)
        return 1;
    char **f;
    size_t n = read_csv_row(s, &f);
    s->header_fields = f;
    s->header_nfields = n;
    if (s->column_name != NULL) {
        for (size_t i = 0; i < n; i++)
            if (strcmp(f[i], s->column_name) == 0)
                s->column = (long)i;
        if (s->column < 0) {
            fprintf(stderr, "mailsec email check: no column named \"%s\" in the header row\n", s->column_name);
            return 0;
        }
    }
    return 1;
}

typedef struct check_args {
    run r;
    const char *file, *csv, *column;
    int header;
} check_args;

static int check_option(void *arg, int opt, const char *value)
{
    check_args *a = arg;
    switch (opt) {
    case OPT_PROFILE: return ms_email_profile_parse(value, &a->r.profile);
    case OPT_FILE: a->file = value; return 1;
    case OPT_CSV: a->csv = value; return 1;
    case OPT_COLUMN: a->column = value; return 1;
    case OPT_HEADER: a->header = 1; return 1;
    case OPT_MX: a->r.mx = 1; return 1;
    case OPT_FORMAT:
        if (strcmp(value, "text") == 0)
            a->r.format = FMT_TEXT;
        else if (strcmp(value, "json") == 0)
            a->r.format = FMT_JSON;
        else if (strcmp(value, "csv") == 0)
            a->r.format = FMT_CSV;
        else
            return 0;
        return 1;
    }
    return 0;
}

/* The addresses' source: the arguments, a file or a CSV column. -1 when
 * it is ready, else the exit status. */
static int open_source(source *s, int argc, char **argv, const char *file, const char *csv,
                       const char *column, int header)
{
    if (optind < argc) {
        s->args = argv + optind;
        s->nargs = (size_t)(argc - optind);
        return -1;
    }
    const char *path = file ? file : csv;
    s->f = strcmp(path, "-") == 0 ? stdin : fopen(path, "r");
    if (s->f == NULL) {
        fprintf(stderr, "mailsec %s: cannot open %s: %s\n", CMD, path, strerror(errno));
        return EXIT_UNCHECKED;
    }
    s->csv = csv != NULL;
    if (!s->csv)
        return -1;
    char *end;
    long n = strtol(column, &end, 10);
    if (*end == '\0' && n >= 1) {
        s->column = n - 1;
        s->header = header;
    } else {
        s->column_name = column;
        s->header = 1;
    }
    return resolve_column(s) ? -1 : EXIT_UNCHECKED;
}

static void begin_output(const run *r, const source *s)
{
    if (r->format == FMT_JSON) {
        printf("{\n  \"schema_version\": %d,\n  \"command\": \"email check\",\n  \"profile\": \"%s\",\n  \"results\": [",
               CLI_JSON_SCHEMA_VERSION, ms_email_profile_name(r->profile));
    } else if (r->format == FMT_CSV) {
        if (s->header_fields != NULL) {
            for (size_t i = 0; i < s->header_nfields; i++) {
                csv_field(s->header_fields[i]);
                putchar(',');
            }
            puts("valid,category,diagnosis,normalized");
        } else if (!s->csv) {
            puts("address,valid,category,diagnosis,normalized");
        }
    }
}

/* Checks every address of the source, chunk by chunk, and writes the
 * results; the exit status. What it needs (memory, the resolver) is
 * acquired before the first byte of output, so a JSON document is either
 * whole or not begun. */
static int check_all(cli_common *c, run *r, source *s)
{
    item *items = malloc(CHUNK * sizeof *items);
    if (r->mx && items != NULL && (r->mx_cache = ms_email_mx_cache_new()) != NULL)
        r->ctx = cli_make_ctx(c);
    if (items == NULL || (r->mx && (r->mx_cache == NULL || r->ctx == NULL))) {
        if (items == NULL || r->mx_cache == NULL)
            fprintf(stderr, "mailsec %s: out of memory\n", CMD);
        free(items);
        return EXIT_UNCHECKED;
    }
    begin_output(r, s);
    int progress = s->f != NULL && !c->quiet && isatty(STDERR_FILENO);
    size_t shown = 0;
    /* a failed write stops the run: the rest could not be shown anyway */
    while (!cli_output_failed()) {
        size_t n = 0;
        while (n < CHUNK && next_item(s, &items[n]))
            n++;
        if (n == 0)
            break;
        process(r, items, n);
        if (progress && r->total / PROGRESS_EVERY != shown) {
            shown = r->total / PROGRESS_EVERY;
            fprintf(stderr, "\r%zu addresses checked...", r->total);
        }
    }
    if (progress && shown > 0)
        fprintf(stderr, "\r%*s\r", 40, "");
    free(items);
    if (s->io_error) {
        fprintf(stderr, "mailsec %s: error reading the input\n", CMD);
        r->could_not_check = 1;
    }
    if (s->too_long)
        fprintf(stderr, "mailsec %s: %zu bytes of over-long lines were cut\n", CMD, s->too_long);
    summary(r);
    int status = r->could_not_check || r->mx_failed ? EXIT_UNCHECKED : r->invalid ? EXIT_PROBLEMS : EXIT_CLEAN;
    if (r->format == FMT_JSON) {
        static const char *const VERDICTS[] = {"ok", "problems", "unchecked"};
        printf(",\n  \"result\": \"%s\"\n}\n", VERDICTS[status]);
    }
    return status;
}

static int run_check(int argc, char **argv)
{
    static const struct option options[] = {
        {"profile", required_argument, NULL, OPT_PROFILE},
        {"file", required_argument, NULL, OPT_FILE},
        {"csv", required_argument, NULL, OPT_CSV},
        {"column", required_argument, NULL, OPT_COLUMN},
        {"header", no_argument, NULL, OPT_HEADER},
        {"format", required_argument, NULL, OPT_FORMAT},
        {"mx", no_argument, NULL, OPT_MX},
        CLI_COMMON_LONG_OPTIONS,
        {NULL, 0, NULL, 0},
    };
    cli_common c;
    check_args a = {.r = {.c = &c, .format = -1, .first_json = 1}};
    int done = cli_parse(argc, argv, options, CLI_COMMON_SHORT_OPTIONS, CHECK_USAGE, CMD, &c,
                         check_option, &a);
    if (done >= 0)
        return done;
    run r = a.r;
    const char *file = a.file, *csv = a.csv, *column = a.column;
    int header = a.header;
    if (c.json)
        r.format = FMT_JSON;
    if (r.format < 0)
        r.format = csv ? FMT_CSV : FMT_TEXT;
    int sources = (file != NULL) + (csv != NULL) + (optind < argc);
    if (sources == 0)
        return cli_usage_error(CMD, "which addresses? give them as arguments, or --file FILE, or --csv FILE --column N");
    if (sources > 1)
        return cli_usage_error(CMD, "give addresses as arguments, --file or --csv: one of them");
    if ((csv != NULL) != (column != NULL))
        return cli_usage_error(CMD, "--csv and --column go together");

    source s = {.column = -1};
    int status = open_source(&s, argc, argv, file, csv, column, header);
    if (status < 0)
        status = check_all(&c, &r, &s);
    if (s.f != NULL && s.f != stdin)
        fclose(s.f);
    free_fields(s.header_fields, s.header_nfields);
    ms_email_mx_cache_free(r.mx_cache);
    ms_ctx_free(r.ctx);
    return status;
}

int cmd_email(int argc, char **argv)
{
    static const cli_command COMMANDS[] = {{"check", run_check}};
    return cli_dispatch(argc, argv, GROUP_USAGE, COMMANDS, sizeof COMMANDS / sizeof COMMANDS[0]);
}
