#include "cli.h"

#include "mailsec/cert.h"
#include "mailsec/dns.h"

#include <arpa/inet.h>
#include <errno.h>
#include <langinfo.h>
#include <locale.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum color_choice { COLOR_AUTO, COLOR_ALWAYS, COLOR_NEVER };
static const cli_name COLOR_NAMES[] = {{"auto", COLOR_AUTO}, {"always", COLOR_ALWAYS}, {"never", COLOR_NEVER},
                                       {NULL, 0}};

/* The --color choice waits in the color field until cli_common_finish. */
void cli_common_init(cli_common *c)
{
    memset(c, 0, sizeof *c);
    c->color = COLOR_AUTO;
    c->timeout_ms = 5000;
}

/* Seconds, with a fraction if wanted, from 0.001 (a wait of 0 would give
 * up before asking) to 3600. */
static int parse_seconds(const char *arg, unsigned *ms)
{
    char *end;
    double s = strtod(arg, &end);
    if (end == arg || *end != '\0' || !(s >= 0.001) || s > 3600)
        return 0;
    *ms = (unsigned)(s * 1000);
    return *ms > 0;
}

/* ADDR[@PORT]: an IPv4 or IPv6 address, and a port from 1 to 65535. */
static int check_resolver(const char *arg)
{
    const char *at = strrchr(arg, '@');
    size_t addr_len = at != NULL ? (size_t)(at - arg) : strlen(arg);
    char addr[INET6_ADDRSTRLEN];
    unsigned char bin[sizeof(struct in6_addr)];
    int is_address = addr_len < sizeof addr;
    if (is_address) {
        memcpy(addr, arg, addr_len);
        addr[addr_len] = '\0';
        is_address = inet_pton(AF_INET, addr, bin) == 1 || inet_pton(AF_INET6, addr, bin) == 1;
    }
    unsigned long port;
    if (is_address && (at == NULL || (cli_parse_uint(at + 1, 65535, &port) && port > 0)))
        return 1;
    if (is_address)
        fprintf(stderr, "mailsec: --resolver: the port after @ must be 1 to 65535, not \"%s\"\n", at + 1);
    else if (at == NULL && strchr(arg, ':') != NULL)
        fprintf(stderr, "mailsec: --resolver: \"%s\" is not an address; give the port after @, as in "
                        "127.0.0.1@5353\n", arg);
    else
        fprintf(stderr, "mailsec: --resolver wants an IPv4 or IPv6 address, optionally @PORT, not \"%s\"\n",
                arg);
    return 0;
}

/* A trust anchor file that cannot be read is the user's mistake, said at
 * once, not a DNS failure later (libunbound reports it as one). */
static int check_trust_anchor(const char *path)
{
    FILE *f = fopen(path, "r");
    if (f != NULL) {
        fclose(f);
        return 1;
    }
    fprintf(stderr, "mailsec: --trust-anchor %s: %s\n", path, strerror(errno));
    return 0;
}

int cli_common_option(cli_common *c, int opt, const char *arg)
{
    switch (opt) {
    case CLI_OPT_JSON: c->json = 1; return 1;
    case CLI_OPT_QUIET: c->quiet = 1; return 1;
    case CLI_OPT_VERBOSE: c->verbose = 1; return 1;
    case CLI_OPT_RESOLVER:
        c->resolver = arg;
        return check_resolver(arg) ? 1 : -1;
    case CLI_OPT_TRUST_ANCHOR:
        c->trust_anchor = arg;
        return check_trust_anchor(arg) ? 1 : -1;
    case CLI_OPT_TIMEOUT:
        if (parse_seconds(arg, &c->timeout_ms))
            return 1;
        fprintf(stderr, "mailsec: --timeout wants seconds from 0.001 to 3600, not \"%s\"\n", arg);
        return -1;
    case CLI_OPT_COLOR:
        c->color = cli_name_value(arg, COLOR_NAMES, -1);
        if (c->color >= 0)
            return 1;
        fprintf(stderr, "mailsec: --color takes auto, always or never, not \"%s\"\n", arg);
        return -1;
    }
    return 0;
}

void cli_common_finish(cli_common *c)
{
    int tty = isatty(STDOUT_FILENO);
    const char *no_color = getenv("NO_COLOR");
    if (c->color == COLOR_AUTO)
        c->color = tty && (no_color == NULL || *no_color == '\0');
    else
        c->color = c->color == COLOR_ALWAYS;
    setlocale(LC_CTYPE, "");
    c->utf8 = strcmp(nl_langinfo(CODESET), "UTF-8") == 0;
}

ms_ctx *cli_make_ctx(const cli_common *c)
{
    ms_ctx *ctx = NULL;
    ms_status st = ms_ctx_new(&ctx);
    if (st == MS_OK && c->resolver)
        st = ms_ctx_set_resolver(ctx, c->resolver);
    if (st == MS_OK && c->trust_anchor)
        st = ms_ctx_set_trust_anchor_file(ctx, c->trust_anchor);
    if (st == MS_OK)
        st = ms_ctx_set_timeout_ms(ctx, c->timeout_ms);
    if (st != MS_OK) {
        fprintf(stderr, "mailsec: cannot set up: %s\n", ms_status_str(st));
        ms_ctx_free(ctx);
        return NULL;
    }
    return ctx;
}

int cli_usage_error(const char *command, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "mailsec %s: ", command);
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\nTry 'mailsec %s --help'.\n", command);
    va_end(ap);
    return EXIT_UNCHECKED;
}

/* ---- output that was not written ---- */

static int first_write_errno; /* cli_output_errno */

void cli_output_errno(int err)
{
    if (first_write_errno == 0)
        first_write_errno = err;
}

int cli_output_failed(void)
{
    return ferror(stdout) != 0;
}

int cli_finish_output(int status)
{
    errno = 0;
    int failed = fflush(stdout) != 0 || ferror(stdout);
    int err = errno != 0 ? errno : first_write_errno;
    if (fclose(stdout) != 0) {
        failed = 1;
        if (err == 0)
            err = errno;
    }
    if (!failed)
        return status;
    fprintf(stderr, "mailsec: writing output: %s\n", strerror(err != 0 ? err : EIO));
    return EXIT_UNCHECKED;
}

/* ---- the checklist ---- */

enum { RED = 31, GREEN = 32, YELLOW = 33, CYAN = 36, BOLD = 1, DIM = 2 };

static void paint(const cli_common *c, int color, const char *text)
{
    if (c->color)
        printf("\033[%dm%s\033[0m", color, text);
    else
        fputs(text, stdout);
}

/* ---- what the terminal sees ---- */

/* Unicode's bidirectional controls (embeddings, overrides, isolates and
 * marks): they reorder the rest of the line, so a name can pose as another. */
static int is_bidi_control(uint32_t cp)
{
    return (cp >= 0x202A && cp <= 0x202E) || (cp >= 0x2066 && cp <= 0x2069) || cp == 0x200E ||
           cp == 0x200F || cp == 0x061C;
}

/* The length of the well-formed UTF-8 sequence at s and its code point, or 0
 * when the bytes are not one (RFC 3629: no overlong forms, no surrogates,
 * nothing above U+10FFFF). */
static size_t utf8_decode(const unsigned char *s, size_t len, uint32_t *cp)
{
    /* lead byte range, sequence length, the lead's payload bits, the least
     * code point that needs this length */
    static const struct {
        unsigned char first, last;
        size_t length;
        unsigned char bits;
        uint32_t least;
    } LEADS[] = {{0x00, 0x7F, 1, 0x7F, 0}, {0xC2, 0xDF, 2, 0x1F, 0x80}, {0xE0, 0xEF, 3, 0x0F, 0x800},
                 {0xF0, 0xF4, 4, 0x07, 0x10000}};
    for (size_t k = 0; k < sizeof LEADS / sizeof LEADS[0]; k++) {
        if (s[0] < LEADS[k].first || s[0] > LEADS[k].last)
            continue;
        size_t n = LEADS[k].length;
        if (len < n)
            return 0;
        uint32_t v = s[0] & LEADS[k].bits;
        for (size_t i = 1; i < n; i++) {
            if ((s[i] & 0xC0) != 0x80)
                return 0;
            v = v << 6 | (s[i] & 0x3Fu);
        }
        if (v < LEADS[k].least || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF))
            return 0;
        *cp = v;
        return n;
    }
    return 0;
}

/* The longest escape of one character: "\U0010ffff". */
enum { LONGEST_ESCAPE = CLI_ESCAPE_ROOM };

size_t cli_escape_some(const char *text, size_t len, int utf8, char *out, size_t cap, size_t *used)
{
    static const char HEX[] = "0123456789abcdef";
    const unsigned char *s = (const unsigned char *)text;
    size_t i = 0, m = 0;
    while (i < len && cap - m >= LONGEST_ESCAPE) {
        if (s[i] >= 0x20 && s[i] < 0x7F) { /* printable ASCII, the common case */
            out[m++] = (char)s[i++];
            continue;
        }
        uint32_t cp;
        size_t n = utf8_decode(s + i, len - i, &cp);
        if (n == 0 || cp < 0x20 || cp == 0x7F) {
            out[m++] = '\\';
            out[m++] = 'x';
            out[m++] = HEX[s[i] >> 4];
            out[m++] = HEX[s[i] & 15];
            i++;
            continue;
        }
        if ((cp >= 0x80 && cp <= 0x9F) || is_bidi_control(cp) || (!utf8 && cp >= 0x80)) {
            int digits = cp > 0xFFFF ? 8 : 4;
            out[m++] = '\\';
            out[m++] = cp > 0xFFFF ? 'U' : 'u';
            for (int d = digits - 1; d >= 0; d--)
                out[m++] = HEX[(cp >> (4 * d)) & 15];
        } else {
            memcpy(out + m, s + i, n);
            m += n;
        }
        i += n;
    }
    *used = i;
    return m;
}

void cli_put_escaped(FILE *out, const char *text, size_t len, int utf8)
{
    char buf[1024];
    for (size_t i = 0, used; i < len; i += used)
        fwrite(buf, 1, cli_escape_some(text + i, len - i, utf8, buf, sizeof buf, &used), out);
}

char *cli_escaped(const char *text, size_t len, int utf8)
{
    /* a byte becomes 4 at most ("\xNN"; a character of n bytes, fewer than 4n) */
    if (len > (SIZE_MAX - LONGEST_ESCAPE - 1) / 4)
        return NULL;
    size_t cap = 4 * len + LONGEST_ESCAPE;
    char *out = malloc(cap + 1);
    if (out == NULL)
        return NULL;
    size_t used, n = cli_escape_some(text, len, utf8, out, cap, &used);
    out[n] = '\0';
    return out;
}

static void print_escaped(const cli_common *c, const char *text)
{
    cli_put_escaped(stdout, text, strlen(text), c->utf8);
}

/* The text of one checklist line, without its newline: the format's leading
 * newlines are the renderer's own blank lines; everything else, format and
 * values alike, is escaped, so a value can neither start a line of its own
 * nor steer the terminal. */
__attribute__((format(printf, 2, 0))) static void vprint_text(const cli_common *c, const char *fmt, va_list ap)
{
    for (; *fmt == '\n'; fmt++)
        putchar('\n');
    va_list again;
    va_copy(again, ap);
    int len = vsnprintf(NULL, 0, fmt, ap);
    char *line = len >= 0 ? malloc((size_t)len + 1) : NULL;
    if (line != NULL) {
        vsnprintf(line, (size_t)len + 1, fmt, again);
        print_escaped(c, line);
    }
    va_end(again);
    free(line);
}

__attribute__((format(printf, 2, 0))) static void vprint_line(const cli_common *c, const char *fmt, va_list ap)
{
    vprint_text(c, fmt, ap);
    putchar('\n');
}

void out_heading(const cli_common *c, const char *fmt, ...)
{
    if (c->color)
        printf("\033[%dm", BOLD);
    va_list ap;
    va_start(ap, fmt);
    vprint_text(c, fmt, ap);
    va_end(ap);
    printf("%s\n", c->color ? "\033[0m" : "");
}

void out_field(const cli_common *c, const char *label, const char *fmt, ...)
{
    if (c->quiet)
        return;
    printf("  %-12s ", label);
    va_list ap;
    va_start(ap, fmt);
    vprint_line(c, fmt, ap);
    va_end(ap);
}

void out_field_bytes(const cli_common *c, const char *label, const char *value, size_t len)
{
    if (c->quiet)
        return;
    printf("  %-12s ", label);
    cli_put_escaped(stdout, value, len, c->utf8);
    putchar('\n');
}

void out_text(const cli_common *c, const char *fmt, ...)
{
    if (c->quiet)
        return;
    va_list ap;
    va_start(ap, fmt);
    vprint_line(c, fmt, ap);
    va_end(ap);
}

static const struct {
    const char *utf8, *ascii, *word;
    int color;
} MARKS[] = {
    [MS_SEV_INFO] = {"i", "i", "note", CYAN},
    [MS_SEV_WARNING] = {"!", "!", "warning", YELLOW},
    [MS_SEV_ERROR] = {"✗", "x", "error", RED},
};

__attribute__((format(printf, 4, 0))) static void out_marked(const cli_common *c, const char *mark,
                                                             int color, const char *fmt, va_list ap)
{
    printf("  ");
    paint(c, color, mark);
    printf(" ");
    vprint_line(c, fmt, ap);
}

size_t cli_mark_prefix(const cli_common *c, int severity, char *buf, size_t cap)
{
    const char *mark = severity < 0 ? (c->utf8 ? "✓" : "+") : c->utf8 ? MARKS[severity].utf8 : MARKS[severity].ascii;
    int color = severity < 0 ? GREEN : MARKS[severity].color;
    int n = c->color ? snprintf(buf, cap, "  \033[%dm%s\033[0m ", color, mark) : snprintf(buf, cap, "  %s ", mark);
    return n < 0 || (size_t)n >= cap ? 0 : (size_t)n;
}

void out_ok(const cli_common *c, const char *fmt, ...)
{
    if (c->quiet)
        return;
    va_list ap;
    va_start(ap, fmt);
    out_marked(c, c->utf8 ? "✓" : "+", GREEN, fmt, ap);
    va_end(ap);
}

void out_item(const cli_common *c, ms_severity sev, const char *fmt, ...)
{
    if (c->quiet && sev == MS_SEV_INFO)
        return;
    va_list ap;
    va_start(ap, fmt);
    out_marked(c, c->utf8 ? MARKS[sev].utf8 : MARKS[sev].ascii, MARKS[sev].color, fmt, ap);
    va_end(ap);
}

void out_diag(const cli_common *c, const ms_diag *d)
{
    ms_severity sev = d->def->severity;
    if (c->quiet && sev == MS_SEV_INFO)
        return;
    printf("  ");
    paint(c, MARKS[sev].color, c->utf8 ? MARKS[sev].utf8 : MARKS[sev].ascii);
    printf(" ");
    paint(c, MARKS[sev].color, MARKS[sev].word);
    printf(": ");
    print_escaped(c, d->message);
    putchar('\n');
    printf("      ");
    char where[160] = "";
    if (d->offset >= 0)
        snprintf(where, sizeof where, " at byte %ld", d->offset);
    if (c->color)
        printf("\033[%dm[%s]%s\033[0m\n", DIM, d->def->code, where);
    else
        printf("[%s]%s\n", d->def->code, where);
    if (d->def->advice != NULL && sev > MS_SEV_INFO)
        printf("      %s %s\n", c->utf8 ? "→" : "->", d->def->advice);
}

void out_diags(const cli_common *c, const ms_diag_list *list)
{
    for (int sev = MS_SEV_ERROR; sev >= MS_SEV_INFO; sev--)
        for (size_t i = 0; i < list->count; i++)
            if ((int)list->items[i].def->severity == sev)
                out_diag(c, &list->items[i]);
}

static void print_count(size_t n, const char *one, const char *many, int *first)
{
    printf("%s%zu %s", *first ? "" : ", ", n, n == 1 ? one : many);
    *first = 0;
}

void out_summary(const cli_common *c, const ms_diag_list *list, int could_not_check)
{
    int first = 1;
    printf("\n");
    if (could_not_check) {
        paint(c, RED, "Could not check");
        printf(": see the errors above.\n");
        return;
    }
    size_t errors = ms_diag_count(list, MS_SEV_ERROR);
    size_t warnings = ms_diag_count(list, MS_SEV_WARNING);
    size_t notes = ms_diag_count(list, MS_SEV_INFO);
    paint(c, errors ? RED : warnings ? YELLOW : GREEN,
          errors ? "Problems found" : warnings ? "Passed with warnings" : "Passed");
    printf(": ");
    print_count(errors, "error", "errors", &first);
    print_count(warnings, "warning", "warnings", &first);
    print_count(notes, "note", "notes", &first);
    printf(".\n");
}

/* ---- JSON ---- */

json_t *json_diag(const ms_diag *d)
{
    json_t *o = json_object();
    json_object_set_new(o, "severity", json_string(ms_severity_str(d->def->severity)));
    json_object_set_new(o, "code", json_string(d->def->code));
    json_object_set_new(o, "message", json_string(d->message));
    json_object_set_new(o, "location", json_str_or_null(d->location));
    json_object_set_new(o, "offset", d->offset >= 0 ? json_integer(d->offset) : json_null());
    json_object_set_new(o, "advice", json_str_or_null(d->def->advice));
    return o;
}

json_t *json_diags(const ms_diag_list *list)
{
    json_t *a = json_array();
    for (size_t i = 0; i < list->count; i++)
        json_array_append_new(a, json_diag(&list->items[i]));
    return a;
}

json_t *json_text(const char *s, size_t n)
{
    json_t *j = json_stringn(s, n);
    if (j != NULL)
        return j;
    /* not UTF-8: each byte that is not part of a character becomes U+FFFD */
    char *o = malloc(n * 3 + 1);
    if (o == NULL)
        return json_null();
    size_t m = 0;
    for (size_t i = 0; i < n;) {
        uint32_t cp;
        size_t k = utf8_decode((const unsigned char *)s + i, n - i, &cp);
        if (k == 0) {
            memcpy(o + m, "\xEF\xBF\xBD", 3);
            m += 3;
            i++;
        } else {
            memcpy(o + m, s + i, k);
            m += k;
            i += k;
        }
    }
    j = json_stringn(o, m);
    free(o);
    return j != NULL ? j : json_null();
}

json_t *json_str_or_null(const char *s)
{
    return s ? json_text(s, strlen(s)) : json_null();
}

json_t *json_cert_info(const struct ms_cert_chain_info *i)
{
    json_t *o = json_object();
    json_object_set_new(o, "subject", json_str_or_null(i->subject));
    json_object_set_new(o, "issuer", json_str_or_null(i->issuer));
    json_object_set_new(o, "not_before", json_str_or_null(i->not_before));
    json_object_set_new(o, "not_after", json_str_or_null(i->not_after));
    json_object_set_new(o, "days_left", json_integer(i->days_left));
    json_object_set_new(o, "key_type", json_str_or_null(i->key_type));
    json_object_set_new(o, "key_bits", json_integer(i->key_bits));
    json_object_set_new(o, "signature_algorithm", json_str_or_null(i->signature_algorithm));
    json_object_set_new(o, "fingerprint_sha256", json_str_or_null(i->fingerprint_sha256));
    return o;
}

json_t *json_document(const char *command)
{
    json_t *doc = json_object();
    json_object_set_new(doc, "schema_version", json_integer(CLI_JSON_SCHEMA_VERSION));
    json_object_set_new(doc, "command", json_string(command));
    return doc;
}

const char *cli_verdict(int exit_status)
{
    static const char *const VERDICTS[] = {"ok", "problems", "unchecked"};
    return exit_status >= 0 && exit_status <= 2 ? VERDICTS[exit_status] : "unchecked";
}

void json_print(json_t *doc, int exit_status)
{
    json_object_set_new(doc, "result", json_string(cli_verdict(exit_status)));
    json_dumpf(doc, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_ENSURE_ASCII);
    putchar('\n');
    json_decref(doc);
}

void json_print_results(const char *command, json_t *results, int exit_status)
{
    json_t *doc = json_document(command);
    json_object_set_new(doc, "results", results);
    json_print(doc, exit_status);
}

void json_print_result(const char *command, json_t *result, int exit_status)
{
    json_t *results = json_array();
    json_array_append_new(results, result);
    json_print_results(command, results, exit_status);
}

/* The fields of an object as JSON text without its braces: "" for none. */
static char *object_fields(json_t *obj)
{
    char *text = obj ? json_dumps(obj, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_ENSURE_ASCII) : NULL;
    if (text == NULL)
        return NULL;
    size_t n = strlen(text);
    memmove(text, text + 1, n - 2); /* "{...}" -> "..." */
    text[n - 2] = '\0';
    return text;
}

void cli_json_stream_begin(cli_json_stream *s, const char *command, json_t *head,
                           const char *array_key)
{
    s->items = 0;
    json_t *doc = json_document(command);
    if (head != NULL)
        json_object_update(doc, head);
    json_decref(head);
    char *fields = object_fields(doc);
    json_decref(doc);
    printf("{%s,\"%s\":[", fields ? fields : "", array_key);
    free(fields);
}

void cli_json_stream_item(cli_json_stream *s, json_t *item)
{
    fputs(s->items++ ? ",\n" : "\n", stdout);
    json_dumpf(item, stdout, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_ENSURE_ASCII);
    json_decref(item);
}

void cli_json_stream_end(cli_json_stream *s, json_t *tail, int exit_status)
{
    json_t *doc = tail ? tail : json_object();
    json_object_set_new(doc, "result", json_string(cli_verdict(exit_status)));
    char *fields = object_fields(doc);
    json_decref(doc);
    printf("%s],%s}\n", s->items ? "\n" : "", fields ? fields : "");
    free(fields);
}

void cli_csv_field(FILE *out, const char *s, unsigned flags)
{
    if (s == NULL)
        s = "";
    int formula = (flags & CLI_CSV_GUARD) && s[0] != '\0' && strchr("=+-@\t\r", s[0]) != NULL;
    const char *guard = formula ? "'" : "";
    if (strpbrk(s, ",\"\r\n") == NULL) {
        fputs(guard, out);
        fputs(s, out);
    } else {
        fprintf(out, "\"%s", guard);
        for (; *s; s++) {
            if (*s == '"')
                putc('"', out);
            putc(*s, out);
        }
        putc('"', out);
    }
    putc(flags & CLI_CSV_LAST ? '\n' : ',', out);
}

int cli_exit_status(const ms_diag_list *list, int could_not_check)
{
    if (could_not_check)
        return EXIT_UNCHECKED;
    return ms_diag_count(list, MS_SEV_ERROR) > 0 ? EXIT_PROBLEMS : EXIT_CLEAN;
}

/* ---- argument parsing ---- */

static const char *option_name(const struct option *options, int val)
{
    for (; options->name != NULL; options++)
        if (options->val == val)
            return options->name;
    return "?";
}

/* The usage error of an option that a command's table has and its code
 * does not handle: src/options and the C code disagree. */
static int unhandled_option(const char *command, const char *name)
{
    fprintf(stderr, "mailsec %s: --%s is in its src/options file but not handled (a bug)\n", command, name);
    return EXIT_UNCHECKED;
}

int cli_parse(int argc, char **argv, const cli_options *options, const char *usage, const char *command,
              cli_common *c, cli_option_fn fn, void *arg)
{
    cli_common_init(c);
    int opt;
    optind = 1;
    while ((opt = getopt_long(argc, argv, options->short_options, options->table, NULL)) != -1) {
        if (opt == CLI_OPT_HELP) {
            printf("%s%s%s%s", usage, options->help, CLI_COMMON_OPTIONS_HELP,
                   strstr(usage, "Exit status:") ? "" : CLI_COMMON_EXIT_STATUS);
            return EXIT_CLEAN;
        }
        int handled = cli_common_option(c, opt, optarg);
        if (handled < 0)
            return EXIT_UNCHECKED;
        if (handled == 1)
            continue;
        if (opt == '?')
            return cli_usage_error(command, "unknown option or missing value");
        int taken = fn == NULL ? CLI_OPTION_UNHANDLED : fn(arg, opt, optarg);
        if (taken == CLI_OPTION_UNHANDLED)
            return unhandled_option(command, option_name(options->table, opt));
        if (!taken)
            return cli_usage_error(command, "invalid value \"%s\" for --%s", optarg ? optarg : "",
                                   option_name(options->table, opt));
    }
    cli_common_finish(c);
    return -1;
}

/* --record and --domain into a cli_record_args: known by name, as each
 * command's options have ids of their own group. */
typedef struct record_parse {
    const struct option *table;
    cli_record_args *a;
} record_parse;

static int record_option(void *arg, int opt, const char *value)
{
    record_parse *r = arg;
    const char *name = option_name(r->table, opt);
    if (strcmp(name, "record") == 0)
        r->a->record = value;
    else if (strcmp(name, "domain") == 0)
        r->a->domain = value;
    else
        return CLI_OPTION_UNHANDLED;
    return 1;
}

int cli_record_parse(int argc, char **argv, const cli_options *options, const char *usage,
                     const char *command, cli_common *c, cli_record_args *a)
{
    *a = (cli_record_args){NULL, NULL};
    record_parse r = {options->table, a};
    int done = cli_parse(argc, argv, options, usage, command, c, record_option, &r);
    if (done >= 0)
        return done;
    if (a->record == NULL && a->domain != NULL)
        return cli_usage_error(command, "--domain goes with --record; give domains as arguments");
    if (a->record == NULL && optind == argc)
        return cli_usage_error(command, "which domain? e.g. mailsec %s example.com", command);
    return -1;
}

/* ---- results ---- */

void cli_results_begin(cli_results *r, const cli_common *c)
{
    *r = (cli_results){c, c->json ? json_array() : NULL, EXIT_CLEAN, 0};
}

void cli_results_separate(cli_results *r)
{
    if (!r->c->json && r->count > 0)
        putchar('\n');
}

void cli_results_add(cli_results *r, int status, json_t *obj)
{
    if (status > r->worst)
        r->worst = status;
    if (r->array != NULL && obj != NULL)
        json_array_append_new(r->array, obj);
    else
        json_decref(obj);
    r->count++;
}

int cli_results_end(cli_results *r, const char *command)
{
    if (r->array != NULL) {
        json_t *doc = json_document(command);
        json_object_set_new(doc, "results", r->array);
        json_print(doc, r->worst);
        r->array = NULL;
    }
    return r->worst;
}

int cli_dispatch(int argc, char **argv, const char *group_usage, const cli_command *commands, size_t count)
{
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        fputs(group_usage, argc < 2 ? stderr : stdout);
        return argc < 2 ? EXIT_UNCHECKED : EXIT_CLEAN;
    }
    for (size_t i = 0; i < count; i++)
        if (strcmp(argv[1], commands[i].name) == 0)
            return commands[i].run(argc - 1, argv + 1);
    fprintf(stderr, "mailsec %s: unknown command \"%s\"\n\n%s", argv[0], argv[1], group_usage);
    return EXIT_UNCHECKED;
}

int cli_parse_uint(const char *s, unsigned long max, unsigned long *out)
{
    char *end;
    errno = 0;
    unsigned long v = strtoul(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || v > max || *s == '-')
        return 0;
    *out = v;
    return 1;
}

int cli_name_value(const char *s, const cli_name *table, int otherwise)
{
    for (; table->name != NULL; table++)
        if (strcmp(s, table->name) == 0)
            return table->value;
    return otherwise;
}
