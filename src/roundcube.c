/* mailsec roundcube: audit a Roundcube Webmail installation; upgrade and
 * roll back (roundcube_upgrade.c). Argument parsing and rendering only;
 * lib/roundcube does the work. */
#include "cli.h"
#include "commands.h"
#include "roundcube_options.h"

#include "mailsec/roundcube.h"

#include <stdlib.h>
#include <string.h>

static const char GROUP_USAGE[] =
    "Usage: mailsec roundcube <command> [options]\n\n"
    "Commands:\n"
    "  audit DIR [--url URL]  check an installation: version and missing security fixes,\n"
    "                         installer, configuration, web root, database schema\n"
    "  upgrade --release TARBALL|DIR --to DIR [--dry-run] [--yes]\n"
    "                         back up, then upgrade an installation to a release\n"
    "  rollback BACKUP        restore the files and database an upgrade backed up\n\n"
    "'mailsec roundcube <command> --help' for a command's options.\n";

static const char AUDIT_USAGE[] =
    "Usage: mailsec roundcube audit DIR [--url URL] [options]\n\n"
    "Audits the Roundcube installation in DIR (a release unpacked there, or Debian's\n"
    "roundcube-core: /var/lib/roundcube). Finds the version and lists the security\n"
    "fixes released after it (for Debian's package, those its changelog does not\n"
    "name); checks that the installer is gone and disabled, that the configuration\n"
    "is not readable by others, des_key is not the default nor short, no debug or\n"
    "error display is on, the web root is public_html/ with no config/, logs/,\n"
    "temp/, .git or composer.* inside, IMAP/SMTP TLS verifies certificates, and the\n"
    "SQLite database schema is the code's. With --url, asks the running site for\n"
    "the installer, config, logs, temp, .git and composer.json, and the version its\n"
    "login page shows. Findings that a setting causes name FILE:LINE.\n\n";


typedef struct audit_args {
    ms_rc_audit_opts opts;
    const char *ca;
} audit_args;

static int audit_option(void *arg, int opt, const char *value)
{
    audit_args *a = arg;
    switch (opt) {
    case OPT_URL:
        a->opts.url = value;
        return strncmp(value, "http://", 7) == 0 || strncmp(value, "https://", 8) == 0;
    case OPT_WEB_ROOT: a->opts.web_root = value; return 1;
    case OPT_CA: a->ca = value; return 1;
    case OPT_SECURITY_FILE: a->opts.security_file = value; return 1;
    default: return CLI_OPTION_UNHANDLED;
    }
}

static json_t *json_fixes(const ms_rc_audit_result *r)
{
    json_t *fixes = json_array();
    for (size_t i = 0; i < r->fix_count; i++) {
        const ms_rc_fix *f = &r->fixes[i];
        json_array_append_new(fixes, json_pack("{s:s,s:o,s:s,s:b}", "release", f->version, "cve",
                                               json_str_or_null(f->cve[0] ? f->cve : NULL),
                                               "summary", f->summary, "backport_unknown",
                                               f->backport_unknown));
    }
    return fixes;
}

static void print_json(const audit_args *a, const char *dir, const ms_rc_audit_result *r,
                       const ms_diag_list *diags, int status)
{
    json_t *o = json_object();
    json_object_set_new(o, "dir", json_string(dir));
    json_object_set_new(o, "url", json_str_or_null(a->opts.url));
    json_object_set_new(o, "version", json_str_or_null(r->version));
    json_object_set_new(o, "debian", json_boolean(r->is_debian));
    json_object_set_new(o, "config", json_str_or_null(r->main_config));
    json_object_set_new(o, "database_schema", json_str_or_null(r->schema_version));
    json_object_set_new(o, "code_schema", json_str_or_null(r->code_schema_version));
    json_object_set_new(o, "login_page_version", json_str_or_null(r->login_version));
    json_object_set_new(o, "missing_fixes", json_fixes(r));
    json_object_set_new(o, "error", json_str_or_null(r->error));
    json_object_set_new(o, "diagnostics", json_diags(diags));
    json_print_result("roundcube audit", o, status);
}

/* Findings as "WHERE: message" (where to look is the point of an audit),
 * then the fixes one per line. */
static void print_text(const cli_common *c, const char *dir, const ms_rc_audit_result *r,
                       const ms_diag_list *diags)
{
    out_heading(c, "Roundcube %s: %s", dir, r->version ? r->version : "(unknown version)");
    if (r->main_config)
        out_field(c, "config", "%s", r->main_config);
    if (r->schema_version)
        out_field(c, "schema", "%s (code: %s)", r->schema_version,
                  r->code_schema_version ? r->code_schema_version : "unknown");
    out_text(c, "\nChecks");
    ms_diag_list shown = MS_DIAG_LIST_INIT;
    for (size_t i = 0; i < diags->count; i++) {
        const ms_diag *d = &diags->items[i];
        if (d->location && strncmp(d->message, d->location, strlen(d->location)) != 0)
            ms_diag_add(&shown, d->def, d->location, -1, "%s: %s", d->location, d->message);
        else
            ms_diag_add(&shown, d->def, d->location, -1, "%s", d->message);
    }
    out_diags(c, &shown);
    ms_diag_list_free(&shown);
    if (r->fix_count > 0) {
        out_text(c, "\nSecurity fixes missing");
        for (size_t i = 0; i < r->fix_count; i++) {
            const ms_rc_fix *f = &r->fixes[i];
            out_item(c, f->backport_unknown ? MS_SEV_WARNING : MS_SEV_ERROR, "%s %s%s%s%s",
                     f->version, f->cve[0] ? f->cve : "", f->cve[0] ? ": " : "", f->summary,
                     f->backport_unknown ? " (backport unknown)" : "");
        }
    }
    out_summary(c, diags, 0);
}

static int run_audit(int argc, char **argv)
{
    cli_common c;
    audit_args a = {{NULL, NULL, NULL}, NULL};
    int done = cli_parse(argc, argv, &CLI_OPTIONS_roundcube_audit, AUDIT_USAGE,
                         "roundcube audit", &c, audit_option, &a);
    if (done >= 0)
        return done;
    if (optind == argc)
        return cli_usage_error("roundcube audit", "missing DIR");
    if (optind + 1 != argc)
        return cli_usage_error("roundcube audit", "unexpected argument \"%s\"", argv[optind + 1]);
    const char *dir = argv[optind];
    ms_ctx *ctx = cli_make_ctx(&c);
    if (ctx == NULL)
        return EXIT_UNCHECKED;
    if (a.ca != NULL && ms_ctx_set_https_ca(ctx, a.ca) != MS_OK) {
        ms_ctx_free(ctx);
        return cli_usage_error("roundcube audit", "cannot use --ca %s", a.ca);
    }
    ms_rc_audit_result r;
    ms_diag_list diags = MS_DIAG_LIST_INIT;
    ms_status st = ms_rc_audit(ctx, dir, &a.opts, &r, &diags);
    ms_ctx_free(ctx);
    int unchecked = st != MS_OK;
    if (unchecked)
        fprintf(stderr, "mailsec roundcube audit: %s\n", r.error ? r.error : ms_status_str(st));
    if (!unchecked && a.opts.security_file != NULL &&
        ms_diag_has(&diags, "roundcube.security-data-line"))
        fprintf(stderr, "mailsec roundcube audit: %s has lines that were skipped\n",
                a.opts.security_file);
    /* the site asked for could not be asked: the audit is not whole */
    int status = cli_exit_status(&diags, unchecked || ms_diag_has(&diags, "roundcube.url-failed"));
    if (c.json)
        print_json(&a, dir, &r, &diags, status);
    else if (!unchecked)
        print_text(&c, dir, &r, &diags);
    ms_rc_audit_result_free(&r);
    ms_diag_list_free(&diags);
    return status;
}

int cmd_roundcube(int argc, char **argv)
{
    static const cli_command COMMANDS[] = {
        {"audit", run_audit},
        {"upgrade", cmd_roundcube_upgrade},
        {"rollback", cmd_roundcube_rollback},
    };
    return cli_dispatch(argc, argv, GROUP_USAGE, COMMANDS, sizeof COMMANDS / sizeof COMMANDS[0]);
}
