/* gen_cli_options: makes every command's options from the .opts files of
 * src/options, the only place an option is written (docs/architecture.md, "One source
 * for the options"). A host tool run at build time (src/CMakeLists.txt):
 *
 *   gen_cli_options common COMMON.opts OUT.h
 *       the options every command takes: their ids (CLI_OPT_JSON ...),
 *       CLI_COMMON_LONG_OPTIONS, CLI_COMMON_SHORT_OPTIONS and
 *       CLI_COMMON_OPTIONS_HELP (src/cli.h)
 *   gen_cli_options group COMMON.opts GROUP.opts OUT.h OUT.c
 *       a group's option ids (OPT_SELECTOR ...), one per long name, and per
 *       command its getopt table, short options and "Options:" block
 *       (const cli_options CLI_OPTIONS_dkim_check)
 *   gen_cli_options man IN.1 OUT.1 COMMON.opts GROUP.opts...
 *       the manual page: each line `.\" @options COMMAND` of IN.1 replaced
 *       by that command's options; every command has exactly one such line
 *
 * The format of a .opts file (src/options/README.md says it for people):
 *
 *   # a comment
 *   command: dkim check          a command; its options follow
 *   set: dmarc update            options that commands include
 *   include: dmarc update        the set's options here (the set above)
 *   heading: Publishing ...      a line of its own in --help before the next
 *   option: -s, --selector S     [-x, ]--long[ ARGUMENT]; no argument: a flag
 *   alias: --p                   another long name (not shown in --help)
 *   help:   a selector to check  the --help line(s) (required)
 *   man:    .B \-s ...           the manual's text, roff (default: the help)
 *
 * A line starting with white space continues the value above it: its first
 * 8 columns are dropped, any further indentation is kept (in --help). A
 * malformed entry stops the build with FILE:LINE. */
#include "core/gen_read.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* An options file is a few KiB; anything this large is not one. */
#define MAX_FILE_BYTES (1024 * 1024)
#define MAX_ALIASES 4
/* Ids of a group's options start above every char (a short option's id is
 * its letter) and stay below the common ones. */
#define GROUP_ID_FIRST 256
#define COMMON_ID_FIRST 1000
/* --help: descriptions start in this column; a longer name gets 2 spaces. */
#define HELP_COLUMN 25
#define CONTINUATION_INDENT 8

typedef struct item {
    const char *file;
    int line;
    char *heading; /* a heading instead of an option */
    char shortopt; /* 0: none */
    char *longname, *arg;
    char *aliases[MAX_ALIASES];
    int naliases;
    char *help, *man;
} item;

typedef struct section {
    const char *file;
    int line;
    char *name;
    int is_set;
    int used; /* by a man page marker */
    item **items;
    size_t count, cap;
} section;

/* Everything read, kept until the tool exits (it runs once); held here, so a
 * sanitizer build sees it as still in use, not as leaks. */
static section **sections;
static size_t section_count, section_cap;
static char **texts;
static size_t text_count, text_cap;

static void die_at(const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4), noreturn));
static void die_at(const char *file, int line, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "%s:%d: ", file, line);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(1);
}

static void *grow(void *array, size_t *cap, size_t count, size_t size)
{
    if (count < *cap)
        return array;
    *cap = *cap ? *cap * 2 : 16;
    void *bigger = realloc(array, *cap * size);
    if (bigger == NULL) {
        fputs("gen_cli_options: out of memory\n", stderr);
        exit(1);
    }
    return bigger;
}

/* PATH read whole, kept until the tool exits. */
static char *read_all(const char *path)
{
    char *text = gen_read_all(path, MAX_FILE_BYTES);
    texts = grow(texts, &text_cap, text_count, sizeof *texts);
    texts[text_count++] = text;
    return text;
}

static int starts_with(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

static int valid_long_name(const char *s)
{
    return s[0] >= 'a' && s[0] <= 'z' &&
           strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789-") == strlen(s);
}

static int valid_section_name(const char *s)
{
    return s[0] >= 'a' && s[0] <= 'z' && strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789- ") == strlen(s);
}

/* "option: [-x, ]--long[ ARGUMENT]" into it. */
static void parse_option(item *it, char *value)
{
    if (value[0] == '-' && value[1] != '-') {
        char c = value[1];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) ||
            !starts_with(value + 2, ", --"))
            die_at(it->file, it->line, "a short option is \"-x, --long\"");
        it->shortopt = c;
        value += 4;
    }
    if (!starts_with(value, "--"))
        die_at(it->file, it->line, "an option is \"[-x, ]--long[ ARGUMENT]\", not \"%s\"", value);
    value += 2;
    char *space = strchr(value, ' ');
    if (space != NULL) {
        *space = '\0';
        it->arg = space + 1;
        if (*it->arg == '\0' || strchr(it->arg, ' ') != NULL)
            die_at(it->file, it->line, "the argument of --%s is one word", value);
    }
    if (!valid_long_name(value))
        die_at(it->file, it->line, "a long option is made of a-z, 0-9 and '-': \"%s\"", value);
    it->longname = value;
}

/* The value of "key: value" and its continuation lines, joined by '\n'
 * with their first 8 columns dropped, in place. */
static char *take_value(char *start, char **next, const char *file, int *line)
{
    char *value = start + strspn(start, " ");
    char *end = value + strcspn(value, "\n");
    char *out = end;
    char *p = *end ? end + 1 : end;
    while (*p == ' ' || *p == '\t') {
        (*line)++;
        char *line_end = p + strcspn(p, "\n");
        if (strspn(p, " ") < CONTINUATION_INDENT && p + strspn(p, " \t") != line_end)
            die_at(file, *line, "a continuation line starts with %d spaces (no tabs)", CONTINUATION_INDENT);
        char *text = p + strspn(p, " ") >= line_end ? line_end : p + CONTINUATION_INDENT;
        *out++ = '\n';
        size_t n = (size_t)(line_end - text);
        memmove(out, text, n);
        out += n;
        p = *line_end ? line_end + 1 : line_end;
    }
    while (out > value && (out[-1] == ' ' || out[-1] == '\n'))
        out--;
    *out = '\0';
    *next = p;
    return value;
}

static section *find_section(const char *name)
{
    for (size_t i = 0; i < section_count; i++)
        if (strcmp(sections[i]->name, name) == 0)
            return sections[i];
    return NULL;
}

static void add_item(section *s, item *it)
{
    s->items = grow(s->items, &s->cap, s->count, sizeof *s->items);
    s->items[s->count++] = it;
}

static void check_item_done(const item *it)
{
    if (it != NULL && it->heading == NULL && it->help == NULL)
        die_at(it->file, it->line, "--%s has no \"help:\" line", it->longname);
}

/* The sections of PATH, appended to sections[]. */
static void parse_file(const char *path)
{
    char *text = read_all(path);
    section *cur = NULL;
    item *it = NULL;
    int line = 0;
    for (char *p = text; *p;) {
        line++;
        char *end = p + strcspn(p, "\n");
        if (*p == '#' || p + strspn(p, " \t\r") == end) {
            p = *end ? end + 1 : end;
            continue;
        }
        if (*p == ' ' || *p == '\t')
            die_at(path, line, "a continuation line with no \"key:\" line above it");
        char *colon = strchr(p, ':');
        if (colon == NULL || colon > end)
            die_at(path, line, "expected \"key: value\"");
        *colon = '\0';
        const char *key = p;
        int key_line = line;
        char *value = take_value(colon + 1, &p, path, &line);
        if (strcmp(key, "command") == 0 || strcmp(key, "set") == 0) {
            check_item_done(it);
            it = NULL;
            if (!valid_section_name(value))
                die_at(path, key_line, "a %s's name is made of a-z, 0-9, '-' and ' '", key);
            if (find_section(value) != NULL)
                die_at(path, key_line, "\"%s\" a second time", value);
            cur = calloc(1, sizeof *cur);
            if (cur == NULL)
                exit(1);
            *cur = (section){.file = path, .line = key_line, .name = value, .is_set = key[0] == 's'};
            sections = grow(sections, &section_cap, section_count, sizeof *sections);
            sections[section_count++] = cur;
            continue;
        }
        if (cur == NULL)
            die_at(path, key_line, "\"%s:\" before any \"command:\" or \"set:\"", key);
        if (strcmp(key, "include") == 0) {
            check_item_done(it);
            it = NULL;
            section *set = find_section(value);
            if (set == NULL || !set->is_set)
                die_at(path, key_line, "no \"set: %s\" above", value);
            for (size_t k = 0; k < set->count; k++)
                add_item(cur, set->items[k]);
        } else if (strcmp(key, "option") == 0 || strcmp(key, "heading") == 0) {
            check_item_done(it);
            it = calloc(1, sizeof *it);
            if (it == NULL)
                exit(1);
            *it = (item){.file = path, .line = key_line};
            if (key[0] == 'o')
                parse_option(it, value);
            else
                it->heading = value;
            add_item(cur, it);
        } else if (it == NULL || it->heading != NULL) {
            die_at(path, key_line, "\"%s:\" belongs to an \"option:\"", key);
        } else if (strcmp(key, "help") == 0 && it->help == NULL && *value) {
            it->help = value;
        } else if (strcmp(key, "man") == 0 && it->man == NULL && *value) {
            it->man = value;
        } else if (strcmp(key, "alias") == 0 && it->naliases < MAX_ALIASES && starts_with(value, "--") &&
                   valid_long_name(value + 2)) {
            it->aliases[it->naliases++] = value + 2;
        } else {
            die_at(path, key_line, "\"%s:\" is not a key, is empty, or comes twice (keys: command, "
                                   "set, include, heading, option, alias, help, man)", key);
        }
    }
    check_item_done(it);
}

/* ---- checks ---- */

static const item *find_long(const section *s, const char *name, const item *except)
{
    for (size_t j = 0; j < s->count; j++) {
        const item *it = s->items[j];
        if (it == except || it->heading != NULL)
            continue;
        if (strcmp(it->longname, name) == 0)
            return it;
        for (int a = 0; a < it->naliases; a++)
            if (strcmp(it->aliases[a], name) == 0)
                return it;
    }
    return NULL;
}

/* Within a command: no name twice, no short option twice, none that the
 * common options have. */
static void check_command(const section *s, const section *common)
{
    for (size_t j = 0; j < s->count; j++) {
        const item *it = s->items[j];
        if (it->heading != NULL)
            continue;
        const char *names[1 + MAX_ALIASES] = {it->longname};
        for (int a = 0; a < it->naliases; a++)
            names[1 + a] = it->aliases[a];
        for (int n = 0; n <= it->naliases; n++) {
            if (find_long(s, names[n], it) != NULL)
                die_at(it->file, it->line, "--%s twice in \"%s\"", names[n], s->name);
            if (common != NULL && common != s && find_long(common, names[n], NULL) != NULL)
                die_at(it->file, it->line, "--%s is a common option (%s)", names[n], common->file);
        }
        for (size_t k = 0; k < j && it->shortopt; k++)
            if (s->items[k]->shortopt == it->shortopt)
                die_at(it->file, it->line, "-%c twice in \"%s\"", it->shortopt, s->name);
        for (size_t k = 0; common != NULL && common != s && it->shortopt && k < common->count; k++)
            if (common->items[k]->shortopt == it->shortopt)
                die_at(it->file, it->line, "-%c is a common option (%s)", it->shortopt, common->file);
    }
}

/* ---- output ---- */

static void put_c_string(FILE *out, const char *text)
{
    for (const char *c = text; *c; c++) {
        if (*c == '\n') {
            fputs("\\n", out);
            continue;
        }
        if (*c == '"' || *c == '\\' || *c == '?') /* '?': no trigraphs in C17 */
            fputc('\\', out);
        fputc(*c, out);
    }
}

static void put_upper(FILE *out, const char *name)
{
    for (const char *c = name; *c; c++)
        fputc(*c == '-' || *c == ' ' ? '_' : (*c >= 'a' && *c <= 'z') ? *c - 'a' + 'A' : *c, out);
}

static void put_ident(FILE *out, const char *name)
{
    for (const char *c = name; *c; c++)
        fputc(*c == '-' || *c == ' ' ? '_' : *c, out);
}

/* One option's --help lines, as a C string's contents. */
static void put_help_entry(FILE *out, const item *it)
{
    char name[256], shortopt[8] = "";
    if (it->shortopt)
        snprintf(shortopt, sizeof shortopt, "-%c, ", it->shortopt);
    int len = snprintf(name, sizeof name, "  %s--%s%s%s", shortopt, it->longname, it->arg ? " " : "",
                       it->arg ? it->arg : "");
    put_c_string(out, name);
    fprintf(out, "%*s", len < HELP_COLUMN ? HELP_COLUMN - len : 2, "");
    for (const char *p = it->help; *p;) {
        size_t n = strcspn(p, "\n");
        char line[1024];
        snprintf(line, sizeof line, "%.*s\n", (int)n, p);
        put_c_string(out, line);
        p += n;
        if (*p == '\n') {
            p++;
            fprintf(out, "%*s", HELP_COLUMN, "");
        }
    }
}

/* The "Options:" block of a command's --help, as a C string literal (empty
 * when the command has only the common options). */
static void put_help_block(FILE *out, const section *s, const char *title, const char *newline)
{
    if (s->count > 0)
        fprintf(out, "\"%s:\\n\"%s    ", title, newline);
    fputs("\"", out);
    for (size_t j = 0; j < s->count; j++) {
        const item *it = s->items[j];
        if (it->heading != NULL) {
            fputs("\\n", out);
            put_c_string(out, it->heading);
            fputs("\\n", out);
        } else {
            put_help_entry(out, it);
        }
        fprintf(out, "\"%s    \"", newline);
    }
    fputs("\"", out);
}

static FILE *open_out(const char *path, char *tmp, size_t cap)
{
    if (snprintf(tmp, cap, "%s.new", path) >= (int)cap) {
        fprintf(stderr, "%s: path too long\n", path);
        exit(1);
    }
    FILE *out = fopen(tmp, "w");
    if (out == NULL) {
        perror(tmp);
        exit(1);
    }
    return out;
}

/* Written whole under another name, then renamed: a failed run leaves no
 * half file for the next build to take. */
static void close_out(FILE *out, const char *tmp, const char *path)
{
    if (ferror(out) | fclose(out) || rename(tmp, path) != 0) {
        perror(path);
        remove(tmp);
        exit(1);
    }
}

static const section *only_command(const char *path)
{
    size_t first = section_count;
    parse_file(path);
    if (section_count != first + 1 || sections[first]->is_set)
        die_at(path, 1, "the common options are one \"command: common\"");
    return sections[first];
}

static void write_common(const section *common, const char *out_path)
{
    char tmp[4096];
    FILE *out = open_out(out_path, tmp, sizeof tmp);
    fprintf(out, "/* Made by src/options/gen_cli_options.c from %s: edit that file,\n"
                 " * not this one. */\n#ifndef MAILSEC_CLI_COMMON_OPTIONS_H\n"
                 "#define MAILSEC_CLI_COMMON_OPTIONS_H\n\nenum {\n", common->file);
    int id = COMMON_ID_FIRST;
    for (size_t j = 0; j < common->count; j++) {
        const item *it = common->items[j];
        if (it->heading != NULL)
            continue;
        fputs("    CLI_OPT_", out);
        put_upper(out, it->longname);
        if (it->shortopt)
            fprintf(out, " = '%c',\n", it->shortopt);
        else
            fprintf(out, " = %d,\n", id++);
    }
    fputs("};\n\n#define CLI_COMMON_LONG_OPTIONS", out);
    for (size_t j = 0; j < common->count; j++) {
        const item *it = common->items[j];
        if (it->heading != NULL)
            continue;
        for (int n = 0; n <= it->naliases; n++) {
            fprintf(out, "%s \\\n    {\"%s\", %s, NULL, CLI_OPT_", j || n ? "," : "",
                    n ? it->aliases[n - 1] : it->longname, it->arg ? "required_argument" : "no_argument");
            put_upper(out, it->longname);
            fputs("}", out);
        }
    }
    fputs("\n\n#define CLI_COMMON_SHORT_OPTIONS \"", out);
    for (size_t j = 0; j < common->count; j++)
        if (common->items[j]->shortopt)
            fprintf(out, "%c%s", common->items[j]->shortopt, common->items[j]->arg ? ":" : "");
    fputs("\"\n\n#define CLI_COMMON_OPTIONS_HELP \\\n    ", out);
    put_help_block(out, common, "Common options", " \\\n");
    fputs("\n\n#endif\n", out);
    close_out(out, tmp, out_path);
}

/* The group's ids: one per long name (the first item that has it), its
 * letter when it has a short option. */
static void write_group(const section *common, const char *path, const char *h_path, const char *c_path)
{
    size_t first = section_count;
    parse_file(path);
    const item **ids = NULL;
    size_t nids = 0, idcap = 0;
    for (size_t i = first; i < section_count; i++) {
        check_command(sections[i], common);
        for (size_t j = 0; j < sections[i]->count; j++) {
            const item *it = sections[i]->items[j];
            if (it->heading != NULL)
                continue;
            size_t k = 0;
            while (k < nids && strcmp(ids[k]->longname, it->longname) != 0)
                k++;
            if (k == nids) {
                ids = grow(ids, &idcap, nids, sizeof *ids);
                ids[nids++] = it;
            } else if (!ids[k]->arg != !it->arg ||
                       (ids[k]->shortopt && it->shortopt && ids[k]->shortopt != it->shortopt)) {
                die_at(it->file, it->line, "--%s differs from line %d in its argument or short option: "
                       "one id for both", it->longname, ids[k]->line);
            } else if (it->shortopt) {
                ids[k] = it; /* the id is the letter wherever the long name has one */
            }
        }
    }
    if (nids > COMMON_ID_FIRST - GROUP_ID_FIRST)
        die_at(path, 1, "too many options");

    char tmp[4096];
    FILE *out = open_out(h_path, tmp, sizeof tmp);
    fprintf(out, "/* Made by src/options/gen_cli_options.c from %s: edit that file,\n"
                 " * not this one. */\n#pragma once\n\n#include \"cli.h\"\n\n", path);
    if (nids > 0)
        fputs("/* The options' ids, as getopt_long returns them. */\nenum {\n", out);
    int id = GROUP_ID_FIRST;
    for (size_t k = 0; k < nids; k++) {
        fputs("    OPT_", out);
        put_upper(out, ids[k]->longname);
        if (ids[k]->shortopt)
            fprintf(out, " = '%c',\n", ids[k]->shortopt);
        else
            fprintf(out, " = %d,\n", id++);
    }
    if (nids > 0)
        fputs("};\n\n", out);
    for (size_t i = first; i < section_count; i++) {
        if (sections[i]->is_set)
            continue;
        fprintf(out, "/* mailsec %s */\nextern const cli_options CLI_OPTIONS_", sections[i]->name);
        put_ident(out, sections[i]->name);
        fputs(";\n", out);
    }
    close_out(out, tmp, h_path);
    free(ids);

    out = open_out(c_path, tmp, sizeof tmp);
    const char *base = strrchr(h_path, '/');
    fprintf(out, "/* Made by src/options/gen_cli_options.c from %s: edit that file,\n"
                 " * not this one. */\n#include \"%s\"\n", path, base ? base + 1 : h_path);
    for (size_t i = first; i < section_count; i++) {
        const section *s = sections[i];
        if (s->is_set)
            continue;
        fputs("\nstatic const struct option ", out);
        put_ident(out, s->name);
        fputs("_table[] = {\n", out);
        for (size_t j = 0; j < s->count; j++) {
            const item *it = s->items[j];
            for (int n = 0; it->heading == NULL && n <= it->naliases; n++) {
                fprintf(out, "    {\"%s\", %s, NULL, OPT_", n ? it->aliases[n - 1] : it->longname,
                        it->arg ? "required_argument" : "no_argument");
                put_upper(out, it->longname);
                fputs("},\n", out);
            }
        }
        fputs("    CLI_COMMON_LONG_OPTIONS,\n    {NULL, 0, NULL, 0},\n};\n\nconst cli_options CLI_OPTIONS_", out);
        put_ident(out, s->name);
        fputs(" = {\n    ", out);
        put_ident(out, s->name);
        fputs("_table,\n    CLI_COMMON_SHORT_OPTIONS \"", out);
        for (size_t j = 0; j < s->count; j++)
            if (s->items[j]->heading == NULL && s->items[j]->shortopt)
                fprintf(out, "%c%s", s->items[j]->shortopt, s->items[j]->arg ? ":" : "");
        fputs("\",\n    ", out);
        put_help_block(out, s, "Options", "\n");
        fprintf(out, "%s,\n};\n", s->count > 0 ? " \"\\n\"" : "");
    }
    close_out(out, tmp, c_path);
}

/* ---- the manual page ---- */

/* Text for roff: '-' as \-, '\' as \e, a line never starting with '.' or
 * '\'' (a request), leading white space dropped (it would break the line). */
static void put_roff(FILE *out, const char *text)
{
    int line_start = 1;
    for (const char *c = text; *c; c++) {
        if (line_start && (*c == ' ' || *c == '\t'))
            continue;
        if (line_start && (*c == '.' || *c == '\''))
            fputs("\\&", out);
        line_start = *c == '\n';
        if (*c == '-')
            fputs("\\-", out);
        else if (*c == '\\')
            fputs("\\e", out);
        else
            fputc(*c, out);
    }
}

static void put_man_options(FILE *out, const section *s, int indent)
{
    if (s->count == 0)
        return;
    if (indent)
        fputs(".RS\n", out);
    for (size_t j = 0; j < s->count; j++) {
        const item *it = s->items[j];
        if (it->heading != NULL) {
            fputs(".PP\n", out);
            put_roff(out, it->heading);
            fputs("\n", out);
            continue;
        }
        fputs(".TP\n", out);
        if (it->shortopt)
            fprintf(out, "\\fB\\-%c\\fR, ", it->shortopt);
        fputs("\\fB\\-\\-", out);
        put_roff(out, it->longname);
        fputs("\\fR", out);
        for (int a = 0; a < it->naliases; a++) {
            fputs(", \\fB\\-\\-", out);
            put_roff(out, it->aliases[a]);
            fputs("\\fR", out);
        }
        if (it->arg) {
            fputs(" \\fI", out);
            put_roff(out, it->arg);
            fputs("\\fR", out);
        }
        fputs("\n", out);
        if (it->man != NULL)
            fputs(it->man, out);
        else
            put_roff(out, it->help);
        fputs("\n", out);
    }
    if (indent)
        fputs(".RE\n", out);
}

static void write_man(const char *in_path, const char *out_path)
{
    static const char marker[] = ".\\\" @options ";
    char *text = read_all(in_path);
    char tmp[4096];
    FILE *out = open_out(out_path, tmp, sizeof tmp);
    fprintf(out, ".\\\" Made by src/options/gen_cli_options.c from docs/mailsec.1.in and\n"
                 ".\\\" src/options/*.opts: edit those, not this file.\n");
    int line = 0;
    for (char *p = text; *p;) {
        line++;
        char *end = p + strcspn(p, "\n");
        int last = *end == '\0';
        *end = '\0';
        if (starts_with(p, marker)) {
            section *s = find_section(p + strlen(marker));
            if (s == NULL || s->is_set)
                die_at(in_path, line, "no command \"%s\" in src/options/*.opts", p + strlen(marker));
            if (s->used++)
                die_at(in_path, line, "the options of \"%s\" a second time", s->name);
            put_man_options(out, s, strcmp(s->name, "common") != 0);
        } else {
            fprintf(out, "%s\n", p);
        }
        p = last ? end : end + 1;
    }
    for (size_t i = 0; i < section_count; i++)
        if (!sections[i]->is_set && !sections[i]->used)
            die_at(sections[i]->file, sections[i]->line, "%s has no line \"%s%s\"", in_path, marker,
                   sections[i]->name);
    close_out(out, tmp, out_path);
}

int main(int argc, char **argv)
{
    if (argc == 4 && strcmp(argv[1], "common") == 0) {
        const section *common = only_command(argv[2]);
        check_command(common, NULL);
        write_common(common, argv[3]);
    } else if (argc == 6 && strcmp(argv[1], "group") == 0) {
        write_group(only_command(argv[2]), argv[3], argv[4], argv[5]);
    } else if (argc >= 5 && strcmp(argv[1], "man") == 0) {
        const section *common = only_command(argv[4]);
        for (int i = 5; i < argc; i++) {
            size_t first = section_count;
            parse_file(argv[i]);
            for (size_t k = first; k < section_count; k++)
                check_command(sections[k], common);
        }
        write_man(argv[2], argv[3]);
    } else {
        fputs("usage: gen_cli_options common COMMON.opts OUT.h\n"
              "       gen_cli_options group COMMON.opts GROUP.opts OUT.h OUT.c\n"
              "       gen_cli_options man IN.1 OUT.1 COMMON.opts GROUP.opts...\n",
              stderr);
        return 2;
    }
    return 0;
}
