/* gen_diag_texts DOC OUT: reads docs/diagnostics.md and writes OUT, a C
 * header with one macro per diagnostic, the ms_diag_def initializer the
 * modules' tables use (core/catalogue.h):
 *
 *   #define MS_DIAG_dmarc_empty {"dmarc.empty", MS_SEV_ERROR, "The record is empty.", "Publish ..."}
 *
 * A host tool run at build time (lib/CMakeLists.txt), so the page is the
 * only place a code's severity, summary and advice are written. An entry:
 *
 *   ### dmarc.empty                  the code: a-z, 0-9, '.' and '-'
 *   Severity: error                  error, warning or info
 *   Example: ...                     (for readers of the page only)
 *
 *   The record is empty.             the summary: the first paragraph
 *
 *   More paragraphs ...              (for readers of the page only)
 *
 *   Advice: Publish ...              the advice; no such line: NULL
 *
 * The texts are Markdown: the terminal shows a code span without its
 * backticks, and a paragraph's lines joined, white space collapsed to one
 * space. A malformed entry stops the build with the page's line number. */
#include "gen_read.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The page is a few hundred KiB; anything this large is not it. */
#define MAX_DOC_BYTES (4 * 1024 * 1024)

typedef struct {
    char *code, *severity, *summary, *advice;
    int line; /* of the "### code" heading */
} entry;

static const char *doc_path;
/* The page and its entries, kept until the tool exits (it runs once); held
 * here, so a sanitizer build sees them as still in use, not as leaks. */
static char *doc_text;
static entry *entries;
static size_t entry_count;

static void die_at(int line, const char *what, const char *detail)
{
    fprintf(stderr, "%s:%d: %s%s%s\n", doc_path, line, what, detail ? ": " : "", detail ? detail : "");
    exit(1);
}

static int starts_with(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* A paragraph's text as the terminal shows it: its lines joined and white
 * space collapsed to one space (as Markdown renders it), code spans without
 * their backticks. Returns a new string. */
static char *plain_text(const char *paragraph)
{
    char *out = malloc(strlen(paragraph) + 1), *o = out;
    if (out == NULL)
        exit(1);
    for (const char *p = paragraph; *p; p++) {
        int space = *p == ' ' || *p == '\n' || *p == '\t' || *p == '\r';
        if (*p == '`' || (space && (o == out || o[-1] == ' ')))
            continue;
        *o++ = space ? ' ' : *p;
    }
    if (o > out && o[-1] == ' ')
        o--;
    *o = '\0';
    return out;
}

/* One paragraph of the entry E: the Severity/Example block first, then the
 * summary, then details (skipped) or the advice. */
static void take_paragraph(entry *e, char *paragraph, int line)
{
    if (e->severity == NULL) {
        if (!starts_with(paragraph, "Severity: "))
            die_at(line, "an entry starts with \"Severity: error|warning|info\"", e->code);
        char *value = paragraph + strlen("Severity: ");
        value[strcspn(value, "\n")] = '\0';
        if (strcmp(value, "error") == 0)
            e->severity = "MS_SEV_ERROR";
        else if (strcmp(value, "warning") == 0)
            e->severity = "MS_SEV_WARNING";
        else if (strcmp(value, "info") == 0)
            e->severity = "MS_SEV_INFO";
        else
            die_at(line, "severity is not error, warning or info", value);
    } else if (strstr(paragraph, "\nAdvice: ") != NULL) {
        die_at(line, "\"Advice:\" starts a paragraph (a blank line before it)", e->code);
    } else if (starts_with(paragraph, "Advice: ")) {
        if (e->summary == NULL || e->advice != NULL)
            die_at(line, "\"Advice:\" comes once, after the summary", e->code);
        e->advice = plain_text(paragraph + strlen("Advice: "));
    } else if (e->summary == NULL) {
        e->summary = plain_text(paragraph);
    }
}

/* The C identifier of a code: '.' and '-' become '_'. */
static void print_name(FILE *out, const char *code)
{
    for (const char *c = code; *c; c++)
        fputc(*c == '.' || *c == '-' ? '_' : *c, out);
}

static void print_string(FILE *out, const char *text)
{
    if (text == NULL) {
        fputs("NULL", out);
        return;
    }
    fputc('"', out);
    for (const char *c = text; *c; c++) {
        if (*c == '"' || *c == '\\' || *c == '?') /* '?': no trigraphs in C17 */
            fputc('\\', out);
        fputc(*c, out);
    }
    fputc('"', out);
}

static int valid_code(const char *code)
{
    return *code && strspn(code, "abcdefghijklmnopqrstuvwxyz0123456789.-") == strlen(code);
}

/* The entries of TEXT into entries[], in the page's order. */
static void parse(char *text)
{
    size_t cap = 64, n = 0;
    entry *all = entries = malloc(cap * sizeof *all);
    entry *cur = NULL;
    char *paragraph = NULL; /* the current paragraph's first line, in TEXT */
    int line = 0, paragraph_line = 0;
    for (char *p = text; all != NULL && *p; ) {
        char *end = p + strcspn(p, "\n");
        int last = *end == '\0';
        line++;
        int blank = p + strspn(p, " \t\r") == end;
        int heading = *p == '#';
        if ((blank || heading) && paragraph != NULL && cur != NULL) {
            p[-1] = '\0'; /* ends the paragraph before this line */
            take_paragraph(cur, paragraph, paragraph_line);
        }
        if (blank || heading)
            paragraph = NULL;
        if (heading) {
            for (char *t = end; t > p && strchr(" \t\r", t[-1]); t--)
                t[-1] = '\0';
            *end = '\0';
            if (cur != NULL && cur->summary == NULL)
                die_at(cur->line, "no summary paragraph", cur->code);
            cur = NULL;
            if (starts_with(p, "### ")) {
                if (n == cap && (all = entries = realloc(all, (cap *= 2) * sizeof *all)) == NULL)
                    break;
                cur = &all[n++];
                *cur = (entry){.code = p + 4, .line = line};
                if (!valid_code(cur->code))
                    die_at(line, "a code is made of a-z, 0-9, '.' and '-'", cur->code);
            }
        } else if (!blank && paragraph == NULL) {
            paragraph = p;
            paragraph_line = line;
        }
        p = last ? end : end + 1;
    }
    if (all == NULL) {
        fputs("out of memory\n", stderr);
        exit(1);
    }
    if (paragraph != NULL && cur != NULL)
        take_paragraph(cur, paragraph, paragraph_line);
    if (cur != NULL && cur->summary == NULL)
        die_at(cur->line, "no summary paragraph", cur->code);
    if (n == 0)
        die_at(line, "no \"### code\" entry", NULL);
    entry_count = n;
}

/* Two codes with the same C name ("a.b-c", "a.b.c") would be one macro. */
static int same_name(const char *a, const char *b)
{
    for (; *a && *b; a++, b++)
        if (*a != *b && !(strchr(".-", *a) && strchr(".-", *b)))
            return 0;
    return *a == *b;
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fputs("usage: gen_diag_texts DOC OUT\n", stderr);
        return 2;
    }
    doc_path = argv[1];
    parse(doc_text = gen_read_all(doc_path, MAX_DOC_BYTES));
    size_t n = entry_count;
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < i; j++)
            if (same_name(entries[i].code, entries[j].code))
                die_at(entries[i].line, "a second entry for this code, or for one with the same C name", entries[i].code);

    /* Written whole under another name, then renamed: a failed run leaves
     * no half header for the next build to take. */
    char tmp[4096];
    if (snprintf(tmp, sizeof tmp, "%s.new", argv[2]) >= (int)sizeof tmp) {
        fprintf(stderr, "%s: path too long\n", argv[2]);
        return 1;
    }
    FILE *out = fopen(tmp, "w");
    if (out == NULL) {
        perror(tmp);
        return 1;
    }
    fprintf(out, "/* Made by lib/core/gen_diag_texts.c from docs/diagnostics.md: edit that\n"
                 " * page, not this file. One macro per entry; see core/catalogue.h. */\n");
    for (size_t i = 0; i < n; i++) {
        const entry *e = &entries[i];
        fputs("#define MS_DIAG_", out);
        print_name(out, e->code);
        fprintf(out, " {\"%s\", %s, ", e->code, e->severity);
        print_string(out, e->summary);
        fputs(", ", out);
        print_string(out, e->advice);
        fputs("}\n", out);
    }
    if (ferror(out) | fclose(out) || rename(tmp, argv[2]) != 0) {
        perror(argv[2]);
        remove(tmp);
        return 1;
    }
    return 0;
}
