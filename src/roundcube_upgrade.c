/* mailsec roundcube upgrade / rollback: the plan shown, the question asked,
 * the library's upgrade run, the result audited. */
#include "cli.h"
#include "commands.h"
#include "roundcube_options.h"
#include "mailsec/roundcube.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char UPGRADE_CMD[] = "roundcube upgrade";
static const char ROLLBACK_CMD[] = "roundcube rollback";

static const char UPGRADE_USAGE[] =
    "Usage: mailsec roundcube upgrade --release TARBALL|DIR --to INSTALLATION [options]\n"
    "\n"
    "Upgrades a Roundcube installation made from a release tarball: backs up its\n"
    "files and database, puts the new release in place keeping the configuration\n"
    "and added plugins and skins, migrates the database schema, removes the\n"
    "installer, and audits the result. Debian's roundcube-core is upgraded with apt.\n"
    "`mailsec roundcube rollback BACKUP` puts the installation and its database back.\n"
    "\n";

static const char ROLLBACK_USAGE[] =
    "Usage: mailsec roundcube rollback BACKUP [options]\n"
    "\n"
    "Puts a Roundcube installation and its database back as the backup of\n"
    "`mailsec roundcube upgrade` holds them (the folder it named).\n"
    "\n";

typedef struct upgrade_args {
    const char *release, *to;
    int dry_run, yes;
    ms_rc_upgrade_opts opts;
} upgrade_args;

static int upgrade_option(void *arg, int opt, const char *value)
{
    upgrade_args *a = arg;
    switch (opt) {
    case OPT_RELEASE: a->release = value; return 1;
    case OPT_TO: a->to = value; return 1;
    case OPT_DRY_RUN: a->dry_run = 1; return 1;
    case OPT_YES: a->yes = 1; return 1;
    case OPT_KEEP_INSTALLER: a->opts.keep_installer = 1; return 1;
    case OPT_BACKUP_DIR: a->opts.backup_dir = value; return 1;
    default: return CLI_OPTION_UNHANDLED;
    }
}

/* ---- the plan, for people ---- */

static void print_list(const cli_common *c, const char *label, const ms_rc_list *l, int each)
{
    out_field(c, label, "%zu", l->count);
    for (size_t i = 0; each && i < l->count; i++)
        out_text(c, "    %s", l->items[i]);
}

static void print_plan(const cli_common *c, const ms_rc_plan *p, int every_file)
{
    out_heading(c, "Upgrade %s from %s to %s", p->dir, p->from_version, p->to_version);
    out_field(c, "release", "%s", p->release_dir);
    print_list(c, "added", &p->added, every_file);
    print_list(c, "replaced", &p->replaced, every_file);
    print_list(c, "removed", &p->removed, every_file);
    print_list(c, "kept", &p->kept, 1);
    print_list(c, "renamed", &p->options_renamed, 1);
    print_list(c, "obsolete", &p->options_removed, 1);
    if (!p->db_driver) {
        out_field(c, "database", "none configured");
        return;
    }
    out_field(c, "database", "%s %s, schema %s", p->db_driver, p->db_where,
              p->schema_version ? p->schema_version : "without a system table");
    print_list(c, "migrations", &p->migrations, 1);
}

/* ---- the plan, for programs ---- */

static json_t *json_list(const ms_rc_list *l)
{
    json_t *a = json_array();
    for (size_t i = 0; i < l->count; i++)
        json_array_append_new(a, json_str_or_null(l->items[i]));
    return a;
}

static json_t *json_plan(const ms_rc_plan *p)
{
    json_t *o = json_object();
    json_object_set_new(o, "installation", json_str_or_null(p->dir));
    json_object_set_new(o, "release", json_str_or_null(p->release_dir));
    json_object_set_new(o, "from", json_str_or_null(p->from_version));
    json_object_set_new(o, "to", json_str_or_null(p->to_version));
    json_t *files = json_object();
    json_object_set_new(files, "added", json_list(&p->added));
    json_object_set_new(files, "replaced", json_list(&p->replaced));
    json_object_set_new(files, "removed", json_list(&p->removed));
    json_object_set_new(files, "kept", json_list(&p->kept));
    json_object_set_new(o, "files", files);
    json_t *options = json_object();
    json_object_set_new(options, "renamed", json_list(&p->options_renamed));
    json_object_set_new(options, "removed", json_list(&p->options_removed));
    json_object_set_new(o, "options", options);
    json_t *db = json_null();
    if (p->db_driver) {
        db = json_object();
        json_object_set_new(db, "driver", json_str_or_null(p->db_driver));
        json_object_set_new(db, "where", json_str_or_null(p->db_where));
        json_object_set_new(db, "schema_version", json_str_or_null(p->schema_version));
        json_object_set_new(db, "migrations", json_list(&p->migrations));
    }
    json_object_set_new(o, "database", db);
    return o;
}

/* ---- asking ---- */

/* 1 when the user answers yes on the terminal. */
static int ask(const ms_rc_plan *p)
{
    if (!isatty(STDIN_FILENO)) {
        fprintf(stderr, "mailsec %s: not asked (no terminal): give --yes to upgrade, or --dry-run\n",
                UPGRADE_CMD);
        return 0;
    }
    fprintf(stderr, "Back up and upgrade %s from %s to %s? [y/N] ", p->dir, p->from_version, p->to_version);
    char line[16];
    if (!fgets(line, sizeof line, stdin))
        return 0;
    return line[0] == 'y' || line[0] == 'Y';
}

/* The audit of the upgraded installation, its findings into diags. */
static int audit_result(const cli_common *c, const char *dir, ms_diag_list *diags)
{
    ms_ctx *ctx = cli_make_ctx(c);
    if (!ctx)
        return 0;
    ms_rc_audit_opts opts = {0};
    ms_rc_audit_result result = {0};
    ms_status st = ms_rc_audit(ctx, dir, &opts, &result, diags);
    if (st != MS_OK)
        fprintf(stderr, "mailsec %s: the audit of %s failed: %s\n", UPGRADE_CMD, dir,
                result.error ? result.error : ms_status_str(st));
    ms_rc_audit_result_free(&result);
    ms_ctx_free(ctx);
    return st == MS_OK;
}

static int upgrade_failed(const cli_common *c, const ms_rc_plan *plan, ms_status st, json_t *doc)
{
    const char *why = plan->error ? plan->error : ms_status_str(st);
    fprintf(stderr, "mailsec %s: %s\n", UPGRADE_CMD, why);
    if (c->json) {
        json_object_set_new(doc, "error", json_str_or_null(why));
        json_print(doc, EXIT_UNCHECKED);
    } else
        json_decref(doc);
    return EXIT_UNCHECKED;
}

int cmd_roundcube_upgrade(int argc, char **argv)
{
    cli_common c;
    upgrade_args a = {0};
    int done = cli_parse(argc, argv, &CLI_OPTIONS_roundcube_upgrade, UPGRADE_USAGE, UPGRADE_CMD, &c,
                         upgrade_option, &a);
    if (done >= 0)
        return done;
    if (!a.release || !a.to)
        return cli_usage_error(UPGRADE_CMD, "which release, and which installation? give --release and --to");
    if (optind < argc)
        return cli_usage_error(UPGRADE_CMD, "unexpected argument \"%s\"", argv[optind]);

    json_t *doc = json_document(UPGRADE_CMD);
    ms_rc_plan plan;
    ms_status st = ms_rc_upgrade_plan(a.release, a.to, &a.opts, &plan);
    if (st != MS_OK) {
        int status = upgrade_failed(&c, &plan, st, doc);
        ms_rc_plan_free(&plan);
        return status;
    }
    if (c.json)
        json_object_set_new(doc, "plan", json_plan(&plan));
    else
        print_plan(&c, &plan, a.dry_run || c.verbose);
    json_object_set_new(doc, "dry_run", json_boolean(a.dry_run));
    if (a.dry_run) {
        if (c.json)
            json_print(doc, EXIT_CLEAN);
        else
            json_decref(doc);
        ms_rc_plan_free(&plan);
        return EXIT_CLEAN;
    }
    if (!a.yes && !ask(&plan)) {
        ms_rc_plan_free(&plan);
        json_decref(doc);
        return EXIT_UNCHECKED;
    }
    fflush(stdout);
    char *backup = NULL;
    st = ms_rc_upgrade_apply(&plan, &a.opts, &backup);
    json_object_set_new(doc, "backup", json_str_or_null(backup));
    if (!c.json && backup)
        out_field(&c, "backup", "%s", backup);
    if (st != MS_OK) {
        int status = upgrade_failed(&c, &plan, st, doc);
        free(backup);
        ms_rc_plan_free(&plan);
        return status;
    }
    if (!c.json)
        out_ok(&c, "upgraded to %s", plan.to_version);

    ms_diag_list diags = MS_DIAG_LIST_INIT;
    int audited = audit_result(&c, plan.dir, &diags);
    int status = cli_exit_status(&diags, !audited);
    if (c.json) {
        json_object_set_new(doc, "diagnostics", json_diags(&diags));
        json_print(doc, status);
    } else {
        out_heading(&c, "\nAudit of the result");
        out_diags(&c, &diags);
        out_summary(&c, &diags, !audited);
        json_decref(doc);
    }
    ms_diag_list_free(&diags);
    free(backup);
    ms_rc_plan_free(&plan);
    return status;
}

int cmd_roundcube_rollback(int argc, char **argv)
{
    cli_common c;
    int done = cli_parse(argc, argv, &CLI_OPTIONS_roundcube_rollback, ROLLBACK_USAGE, ROLLBACK_CMD, &c, NULL,
                         NULL);
    if (done >= 0)
        return done;
    if (optind + 1 != argc)
        return cli_usage_error(ROLLBACK_CMD, "which backup? give the folder the upgrade named");
    char *dir = NULL, *error = NULL;
    ms_status st = ms_rc_rollback(argv[optind], &dir, &error);
    int status = st == MS_OK ? EXIT_CLEAN : EXIT_UNCHECKED;
    if (st != MS_OK)
        fprintf(stderr, "mailsec %s: %s\n", ROLLBACK_CMD, error ? error : ms_status_str(st));
    if (c.json) {
        json_t *doc = json_document(ROLLBACK_CMD);
        json_object_set_new(doc, "backup", json_str_or_null(argv[optind]));
        json_object_set_new(doc, "installation", json_str_or_null(dir));
        json_object_set_new(doc, "error", json_str_or_null(st == MS_OK ? NULL : error ? error : ms_status_str(st)));
        json_print(doc, status);
    } else if (st == MS_OK)
        out_ok(&c, "%s restored from %s", dir, argv[optind]);
    free(dir);
    free(error);
    return status;
}
