/* mailsec diag: the catalogue of diagnostic codes. */
#include "cli.h"
#include "commands.h"
#include "diag_options.h"

#include <string.h>

static const char USAGE[] =
    "Usage: mailsec diag list [--json]\n"
    "       mailsec diag show CODE [--json]\n\n"
    "Every finding mailsec reports has a stable code (e.g. dmarc.pct-removed).\n"
    "'list' prints them all with their severity; 'show' prints one with its advice.\n\n";

static json_t *json_def(const ms_diag_def *def)
{
    json_t *o = json_object();
    json_object_set_new(o, "code", json_string(def->code));
    json_object_set_new(o, "severity", json_string(ms_severity_str(def->severity)));
    json_object_set_new(o, "summary", json_string(def->summary));
    json_object_set_new(o, "advice", json_str_or_null(def->advice));
    return o;
}

static int list_codes(const cli_common *c)
{
    const ms_diag_def *def;
    json_t *doc = c->json ? json_document("diag list") : NULL;
    json_t *codes = c->json ? json_array() : NULL;
    for (size_t i = 0; (def = ms_diag_catalogue_at(i)) != NULL; i++) {
        if (c->json)
            json_array_append_new(codes, json_def(def));
        else
            printf("%-44s %-8s %s\n", def->code, ms_severity_str(def->severity), def->summary);
    }
    if (c->json) {
        json_object_set_new(doc, "codes", codes);
        json_print(doc, EXIT_CLEAN);
    }
    return EXIT_CLEAN;
}

static int show_code(const cli_common *c, const char *code)
{
    const ms_diag_def *def = ms_diag_lookup(code);
    if (def == NULL)
        return cli_usage_error("diag show", "no diagnostic has the code \"%s\"", code);
    if (c->json) {
        json_t *doc = json_document("diag show");
        json_object_set_new(doc, "code", json_def(def));
        json_print(doc, EXIT_CLEAN);
        return EXIT_CLEAN;
    }
    out_heading(c, "%s", def->code);
    out_field(c, "severity", "%s", ms_severity_str(def->severity));
    out_field(c, "meaning", "%s", def->summary);
    if (def->advice)
        out_field(c, "advice", "%s", def->advice);
    return EXIT_CLEAN;
}

int cmd_diag(int argc, char **argv)
{
    cli_common c;
    int done = cli_parse(argc, argv, &CLI_OPTIONS_diag, USAGE, "diag", &c, NULL, NULL);
    if (done >= 0)
        return done;
    const char *verb = optind < argc ? argv[optind] : NULL;
    if (verb != NULL && strcmp(verb, "list") == 0 && optind + 1 == argc)
        return list_codes(&c);
    if (verb != NULL && strcmp(verb, "show") == 0 && optind + 2 == argc)
        return show_code(&c, argv[optind + 1]);
    fputs(USAGE, stderr);
    return EXIT_UNCHECKED;
}
