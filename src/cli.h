/* What every mailsec command shares: the common options, the exit status,
 * and the two renderers (a checklist for people, JSON for programs). */
#ifndef MAILSEC_CLI_H
#define MAILSEC_CLI_H

#include "mailsec/core.h"

#include <getopt.h>
#include <jansson.h>
#include <stdio.h>

/* Exit status, the same for every command. */
enum {
    EXIT_CLEAN = 0,    /* nothing wrong at error level */
    EXIT_PROBLEMS = 1, /* errors found in what was checked */
    EXIT_UNCHECKED = 2 /* could not check: usage, I/O, DNS */
};

/* The JSON output's schema version (docs/json.md). */
#define CLI_JSON_SCHEMA_VERSION 1

typedef struct cli_common {
    int json;
    int quiet;
    int verbose;
    int color;       /* decided from --color and whether stdout is a TTY */
    int utf8;        /* the terminal takes UTF-8 symbols */
    const char *resolver;
    const char *trust_anchor;
    unsigned timeout_ms;
} cli_common;

/* Options every command accepts: their ids (CLI_OPT_JSON ...),
 * CLI_COMMON_LONG_OPTIONS, CLI_COMMON_SHORT_OPTIONS and their --help block,
 * made at build time from src/options/common.opts. */
#include "common_options.h"

/* Said after the common options by a command whose usage says no "Exit
 * status:" of its own. */
#define CLI_COMMON_EXIT_STATUS \
    "\nExit status: 0 nothing wrong at error level, 1 errors found, 2 could not check.\n"

/* A command's options, made at build time from its src/options/GROUP.opts
 * (CLI_OPTIONS_dkim_check in GROUP_options.h, with the group's option ids
 * OPT_SELECTOR ...): the one place an option is written. */
typedef struct cli_options {
    const struct option *table; /* for getopt_long, with the common options */
    const char *short_options;  /* likewise */
    const char *help;           /* "Options:\n..." and a blank line, or "" */
} cli_options;

void cli_common_init(cli_common *c);
/* Handles one getopt result if it is a common option: 1 handled, 0 not a
 * common option, -1 bad value (message printed). */
int cli_common_option(cli_common *c, int opt, const char *arg);
/* Called after parsing: fixes colour and symbols for the output stream. */
void cli_common_finish(cli_common *c);
/* A context configured from the common options, or NULL (message printed). */
ms_ctx *cli_make_ctx(const cli_common *c);

/* Prints "mailsec COMMAND: message" and a pointer to --help; returns
 * EXIT_UNCHECKED for the caller to return. */
int cli_usage_error(const char *command, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* ---- output that was not written ---- */

/* Non-zero once a write to stdout has failed (a full disk, a closed pipe):
 * a command that writes much stops early instead of computing the rest. */
/* A command that writes stdout with its own calls says why a write failed
 * (errno), so the final message names the cause, not just "I/O error". */
void cli_output_errno(int err);
int cli_output_failed(void);
/* Called once, when the command has returned: flushes and closes stdout.
 * When any output was not written it says so on stderr ("mailsec: writing
 * output: No space left on device") and returns EXIT_UNCHECKED, else
 * status. */
int cli_finish_output(int status);

/* ---- what the terminal sees ---- */

/* Writes len bytes of untrusted text (DNS answers, files, reports) to out
 * so that a terminal shows it and obeys none of it (docs/architecture.md,
 * "What the terminal sees"): C0 controls (tab and newline too), DEL and
 * bytes that are not UTF-8 as \xHH; C1 controls and Unicode bidirectional
 * controls as \uHHHH; when the terminal does not take UTF-8 (utf8 = 0),
 * every non-ASCII character as \uHHHH or \UHHHHHHHH. Every checklist
 * function below prints through it. */
void cli_put_escaped(FILE *out, const char *text, size_t len, int utf8);
/* The same escaping into out (cap bytes, at least CLI_ESCAPE_ROOM): as
 * many whole characters of text as fit, their number of bytes in *used;
 * returns the bytes written. A byte of text takes 4 bytes of out at most. */
#define CLI_ESCAPE_ROOM 10
size_t cli_escape_some(const char *text, size_t len, int utf8, char *out, size_t cap, size_t *used);
/* The same as a string (malloc'd; NULL when out of memory), for text that
 * may hold NULs and so cannot travel through a "%s". */
char *cli_escaped(const char *text, size_t len, int utf8);

/* ---- the checklist ----
 * Every value is escaped as cli_put_escaped does; a format's leading
 * newlines are printed as blank lines before the line. */
void out_heading(const cli_common *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void out_field(const cli_common *c, const char *label, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void out_ok(const cli_common *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* A checklist item marked like a finding of this severity. */
void out_item(const cli_common *c, ms_severity severity, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void out_text(const cli_common *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* What out_ok (severity -1) or out_item (a severity) print before a line's
 * text, in buf: for a command that writes many lines itself. Its length,
 * 0 when buf is too small. */
size_t cli_mark_prefix(const cli_common *c, int severity, char *buf, size_t cap);
/* A field whose value is len bytes that may hold NULs (a DNS TXT record). */
void out_field_bytes(const cli_common *c, const char *label, const char *value, size_t len);
void out_diag(const cli_common *c, const ms_diag *d);
void out_diags(const cli_common *c, const ms_diag_list *list);
/* "2 errors, 1 warning, 3 notes": the closing line of a checklist. */
void out_summary(const cli_common *c, const ms_diag_list *list, int could_not_check);

/* ---- JSON ---- */
json_t *json_diag(const ms_diag *d);
json_t *json_diags(const ms_diag_list *list);
/* A JSON string of n bytes that may hold NULs or bytes that are not UTF-8
 * (each of those becomes U+FFFD). */
json_t *json_text(const char *s, size_t n);
/* s as a JSON string (json_text: never dropped for bad UTF-8), or null. */
json_t *json_str_or_null(const char *s);
/* A certificate's facts as `cert` and `tls check` print them (docs/json.md),
 * but for "names", which each command writes in its own form. */
struct ms_cert_chain_info;
json_t *json_cert_info(const struct ms_cert_chain_info *info);
/* {"schema_version":1,"command":...}: the start of every JSON document. */
json_t *json_document(const char *command);
/* The verdict of an exit status in JSON: "ok" | "problems" | "unchecked". */
const char *cli_verdict(int exit_status);
/* Adds the verdict and prints. */
void json_print(json_t *doc, int exit_status);
/* Prints json_document(command) with "results": results (an array, taken)
 * and the verdict. */
void json_print_results(const char *command, json_t *results, int exit_status);
/* The same for a command that checks one thing: "results": [result]. */
void json_print_result(const char *command, json_t *result, int exit_status);

/* A JSON document too long to hold, written as it goes: the head of
 * json_document(command) with the fields of head (may be NULL), then
 * "array_key": [ each item ], then the fields of tail (may be NULL) and the
 * verdict. Items and objects passed in are taken (decref'd). */
typedef struct cli_json_stream {
    size_t items;
} cli_json_stream;
void cli_json_stream_begin(cli_json_stream *s, const char *command, json_t *head,
                           const char *array_key);
void cli_json_stream_item(cli_json_stream *s, json_t *item);
void cli_json_stream_end(cli_json_stream *s, json_t *tail, int exit_status);

/* CSV (RFC 4180): one field, quoted only when it holds a comma, a quote
 * or a line end, then "," or (last) a line end. CLI_CSV_GUARD is for text
 * from reports or users that a spreadsheet would run as a formula
 * (starting with = + - @ TAB or CR): a "'" goes before it (OWASP's CSV
 * injection advice); numbers mailsec writes itself need no guard. */
enum { CLI_CSV_GUARD = 1 << 0, CLI_CSV_LAST = 1 << 1 };
void cli_csv_field(FILE *out, const char *s, unsigned flags);

/* ---- argument parsing, the same for every command ---- */

/* A decimal number 0..max, all of s: 1, else 0. */
int cli_parse_uint(const char *s, unsigned long max, unsigned long *out);

/* What a cli_option_fn returns for an option that is not its own: cli_parse
 * then says the option is in src/options but not handled (a bug, caught by
 * tests/cli/options.sh). */
#define CLI_OPTION_UNHANDLED (-1)

/* Handles one of the command's own options: 1 taken, 0 when its value is
 * invalid (cli_parse then reports the option by name), CLI_OPTION_UNHANDLED
 * when it is not one this function knows. */
typedef int (*cli_option_fn)(void *arg, int opt, const char *value);

/* getopt_long over argv with the command's options. Returns -1 when the
 * command should go on, or the exit status to return at once: after --help
 * (usage, the options' help and the common options' printed) or a bad
 * option (message printed). usage is the text before "Options:". */
int cli_parse(int argc, char **argv, const cli_options *options, const char *usage, const char *command,
              cli_common *c, cli_option_fn fn, void *arg);

typedef struct cli_record_args {
    const char *record;
    const char *domain;
} cli_record_args;

/* cli_parse for a check command that takes a record's text instead of
 * looking it up (`mailsec COMMAND`), whose only options are --record TEXT,
 * --domain D and the common ones. Without --record, --domain is a usage
 * error, and so are no domains at all; what goes with --record is the
 * command's to check. Returns -1 to go on, or the exit status to return. */
int cli_record_parse(int argc, char **argv, const cli_options *options, const char *usage,
                     const char *command, cli_common *c, cli_record_args *a);

/* ---- command groups ---- */

typedef struct cli_command {
    const char *name;
    int (*run)(int argc, char **argv); /* argv[0] is the command's name */
} cli_command;

/* A group's entry point: argv[0] is the group, argv[1] the command. Prints
 * the group's usage for --help (to stdout) or no command (to stderr), and
 * refuses an unknown command; else runs it. */
int cli_dispatch(int argc, char **argv, const char *group_usage, const cli_command *commands, size_t count);

/* ---- one result per checked thing ---- */

/* Collects the JSON objects of a command that checks several things (or
 * separates their checklists) and keeps the worst exit status. */
typedef struct cli_results {
    const cli_common *c;
    json_t *array;
    int worst;
    size_t count;
} cli_results;

void cli_results_begin(cli_results *r, const cli_common *c);
/* Before printing a checklist item: a blank line between items. */
void cli_results_separate(cli_results *r);
/* One thing checked: its exit status, and its JSON object (taken; NULL in
 * text mode). */
void cli_results_add(cli_results *r, int status, json_t *obj);
/* Prints the JSON document {schema_version, command, results, result} in
 * JSON mode; returns the worst status. */
int cli_results_end(cli_results *r, const char *command);

/* The exit status a diagnostic list earns. */
int cli_exit_status(const ms_diag_list *list, int could_not_check);

/* ---- words that name values ---- */

/* A word an option takes and the value it stands for. A table of them
 * ends with {NULL, 0}. */
typedef struct cli_name {
    const char *name;
    int value;
} cli_name;

/* The value the word s stands for in table, or `otherwise` when s is none
 * of its words. */
int cli_name_value(const char *s, const cli_name *table, int otherwise);

#endif
