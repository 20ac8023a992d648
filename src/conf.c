/* mailsec conf: audit Postfix's and Dovecot's TLS configuration, and
 * generate it (snippets, or edits in place with a backup and a diff).
 * Argument parsing and rendering only; lib/conf does the work. */
#include "cli.h"
#include "commands.h"
#include "conf_options.h"

#include "mailsec/conf.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static const char GROUP_USAGE[] =
    "Usage: mailsec conf <command> [options]\n\n"
    "Commands:\n"
    "  audit [--postfix DIR] [--dovecot PATH] [--profile P]\n"
    "                     check the TLS and authentication settings of Postfix and Dovecot\n"
    "  generate postfix|dovecot [--version X.Y] --profile P --cert FILE --key FILE\n"
    "                     print the settings, or edit the files in place (--apply DIR)\n\n"
    "'mailsec conf <command> --help' for a command's options.\n";

static const char AUDIT_USAGE[] =
    "Usage: mailsec conf audit [--postfix DIR] [--dovecot PATH] [options]\n\n"
    "Reads Postfix's main.cf and master.cf and Dovecot's configuration (with its\n"
    "includes) and reports, with the file and line of each: deprecated or renamed\n"
    "settings, the submission (587) and submissions (465) services missing or\n"
    "misconfigured, SMTP AUTH or IMAP/POP3 logins possible without TLS, protocols\n"
    "below TLS 1.2, broken ciphers, and certificate and key files that are missing,\n"
    "do not match, are out of order or readable by others. With --profile, every\n"
    "setting that differs from Mozilla's profile and the change to make.\n\n";

static const char GENERATE_USAGE[] =
    "Usage: mailsec conf generate postfix|dovecot [--version X.Y] --profile P\n"
    "                             --cert FILE --key FILE [--chain FILE] [--apply DIR [--dry-run]]\n\n"
    "Prints the TLS settings of Mozilla's profile in the names of that version:\n"
    "for Postfix the main.cf settings and the master.cf submission (587) and\n"
    "submissions (465; \"smtps\" before 3.5) services; for Dovecot the 10-ssl.conf\n"
    "settings (2.2, 2.3 or 2.4 names). With --apply DIR the files there are edited\n"
    "in place: a setting that is there is changed on its line, the deprecated names\n"
    "it replaces are commented out, new ones are appended, everything else is kept;\n"
    "each changed file replaced is kept as FILE.mailsec-bak.N (the next free\n"
    "number), and all files are replaced or none (docs/conf.md). --dry-run shows\n"
    "the unified diff and writes nothing.\n\n";


/* "2.3" -> 23; 0 when not X.Y with one digit each side. */
static int parse_version(const char *text)
{
    if (strlen(text) < 3 || text[1] != '.' || text[0] < '0' || text[0] > '9' || text[2] < '0' ||
        text[2] > '9')
        return 0;
    /* "3.7.11" is fine: the patch level does not change names */
    if (text[3] != '\0' && text[3] != '.')
        return 0;
    return (text[0] - '0') * 10 + (text[2] - '0');
}

/* ---- the Postfix version the advice follows ---- */

enum {
    POSTFIX_ASSUMED = 37,        /* Debian 12's, when nothing says otherwise */
    POSTCONF_WAIT_MS = 10000,    /* postconf answers at once; a hung one is given up */
    POSTCONF_MAX_OUTPUT = 256,   /* "3.7.11\n" */
};

/* Which version, and where it came from: "flag", "detected" (postconf) or
 * "default" (assumed); detail says how, for the user. */
typedef struct postfix_version {
    int version; /* 30..39 */
    const char *source;
    char text[24]; /* "3.7" */
    char detail[300];
} postfix_version;

/* Runs "postconf [-c DIR] -h mail_version" (exec, not a shell: DIR is a
 * user's path) and returns its first line, or NULL with *why. Bounded:
 * POSTCONF_MAX_OUTPUT bytes, POSTCONF_WAIT_MS. */
static char *postconf_mail_version(const char *config_dir, const char **why)
{
    int fds[2];
    *why = "cannot run postconf";
    if (pipe(fds) != 0)
        return NULL;
    pid_t pid = fork();
    if (pid == 0) {
        int null = open("/dev/null", O_WRONLY);
        dup2(fds[1], STDOUT_FILENO);
        if (null >= 0)
            dup2(null, STDERR_FILENO);
        close(fds[0]);
        close(fds[1]);
        if (config_dir)
            execlp("postconf", "postconf", "-c", config_dir, "-h", "mail_version", (char *)NULL);
        else
            execlp("postconf", "postconf", "-h", "mail_version", (char *)NULL);
        _exit(127);
    }
    close(fds[1]);
    char out[POSTCONF_MAX_OUTPUT + 1];
    size_t len = 0;
    struct pollfd pfd = {.fd = fds[0], .events = POLLIN};
    while (pid > 0 && len < POSTCONF_MAX_OUTPUT && poll(&pfd, 1, POSTCONF_WAIT_MS) > 0) {
        ssize_t got = read(fds[0], out + len, POSTCONF_MAX_OUTPUT - len);
        if (got <= 0)
            break;
        len += (size_t)got;
    }
    close(fds[0]);
    int wstatus = 0;
    if (pid > 0) {
        kill(pid, SIGKILL); /* gone already, or hung: either way done with */
        waitpid(pid, &wstatus, 0);
    }
    out[len] = '\0';
    out[strcspn(out, "\n")] = '\0';
    if (pid < 0 || !WIFEXITED(wstatus) || WEXITSTATUS(wstatus) != 0 || out[0] == '\0') {
        *why = pid > 0 && WIFEXITED(wstatus) && WEXITSTATUS(wstatus) == 127
                   ? "postconf is not installed"
                   : "postconf did not answer";
        return NULL;
    }
    return strdup(out);
}

/* The version given with flag (flag_version, 0 when not), else what the Postfix
 * whose configuration is in config_dir says, else POSTFIX_ASSUMED. */
static void postfix_version_detect(int flag_version, const char *flag, const char *config_dir,
                                   postfix_version *v)
{
    if (flag_version) {
        *v = (postfix_version){.version = flag_version, .source = "flag"};
        snprintf(v->detail, sizeof v->detail, "given with %s", flag);
        return;
    }
    const char *why;
    char *said = postconf_mail_version(config_dir, &why);
    int version = said ? parse_version(said) : 0;
    if (version >= 30 && version <= 39) {
        *v = (postfix_version){.version = version, .source = "detected"};
        snprintf(v->detail, sizeof v->detail, "postconf%s%s -h mail_version says %s",
                 config_dir ? " -c " : "", config_dir ? config_dir : "", said);
    } else {
        *v = (postfix_version){.version = POSTFIX_ASSUMED, .source = "default"};
        if (said)
            snprintf(v->detail, sizeof v->detail,
                     "assumed: postconf says %.40s, not a version from 3.0 to 3.9", said);
        else
            snprintf(v->detail, sizeof v->detail, "assumed: %s", why);
    }
    free(said);
}

static void postfix_version_find(int flag_version, const char *flag, const char *config_dir,
                                 postfix_version *v)
{
    postfix_version_detect(flag_version, flag, config_dir, v);
    snprintf(v->text, sizeof v->text, "%d.%d", v->version / 10, v->version % 10);
}

/* ---- audit ---- */

/* 23 -> "2.3" (the versions the audit knows: 2.2 to 2.4) */
static const char *dovecot_version_text(int version)
{
    return version == 22 ? "2.2" : version == 24 ? "2.4" : "2.3";
}

/* The checklist shows each finding as "FILE:LINE: message": where to
 * look is the point of the audit. */
static void print_located(const cli_common *c, const ms_diag_list *diags)
{
    ms_diag_list shown = MS_DIAG_LIST_INIT;
    for (size_t i = 0; i < diags->count; i++) {
        const ms_diag *d = &diags->items[i];
        if (d->location)
            ms_diag_add(&shown, d->def, d->location, -1, "%s: %s", d->location, d->message);
        else
            ms_diag_add(&shown, d->def, NULL, -1, "%s", d->message);
    }
    out_diags(c, &shown);
    ms_diag_list_free(&shown);
}

typedef struct audit_args {
    ms_conf_audit_opts opts;
    const char *profile_name;
} audit_args;

static int audit_option(void *arg, int opt, const char *value)
{
    audit_args *a = arg;
    switch (opt) {
    case OPT_POSTFIX: a->opts.postfix_dir = value; return 1;
    case OPT_DOVECOT: a->opts.dovecot_conf = value; return 1;
    case OPT_CA: a->opts.ca_file = value; return 1;
    case OPT_LIVE: a->opts.live_host = value; return 1;
    case OPT_PROFILE:
        a->profile_name = value;
        a->opts.profile = ms_conf_profile_from_name(value);
        return a->opts.profile != MS_CONF_PROFILE_NONE;
    case OPT_DOVECOT_VERSION:
        a->opts.dovecot_version = parse_version(value);
        return a->opts.dovecot_version >= 22 && a->opts.dovecot_version <= 24;
    case OPT_POSTFIX_VERSION:
        a->opts.postfix_version = parse_version(value);
        return a->opts.postfix_version >= 30 && a->opts.postfix_version <= 39;
    default: return CLI_OPTION_UNHANDLED;
    }
}

static int run_audit(int argc, char **argv)
{
    cli_common c;
    audit_args a = {0};
    int done = cli_parse(argc, argv, &CLI_OPTIONS_conf_audit, AUDIT_USAGE, "conf audit", &c,
                         audit_option, &a);
    if (done >= 0)
        return done;
    if (optind != argc)
        return cli_usage_error("conf audit", "unexpected argument \"%s\"", argv[optind]);
    if (a.opts.postfix_dir == NULL && a.opts.dovecot_conf == NULL) {
        a.opts.postfix_dir = "/etc/postfix";
        a.opts.dovecot_conf = "/etc/dovecot";
    }
    ms_ctx *ctx = cli_make_ctx(&c);
    if (ctx == NULL)
        return EXIT_UNCHECKED;
    postfix_version pv = {0};
    if (a.opts.postfix_dir) {
        postfix_version_find(a.opts.postfix_version, "--postfix-version", a.opts.postfix_dir, &pv);
        a.opts.postfix_version = pv.version;
    }
    ms_conf_audit_result r;
    ms_diag_list diags = MS_DIAG_LIST_INIT;
    ms_status st = ms_conf_audit(ctx, &a.opts, &r, &diags);
    ms_ctx_free(ctx);
    int unchecked = st != MS_OK;
    if (unchecked)
        fprintf(stderr, "mailsec conf audit: %s\n", r.error ? r.error : ms_status_str(st));
    int status = cli_exit_status(&diags, unchecked);
    if (c.json) {
        json_t *o = json_object();
        json_object_set_new(o, "postfix_dir", json_str_or_null(a.opts.postfix_dir));
        json_object_set_new(o, "dovecot_conf", json_str_or_null(a.opts.dovecot_conf));
        json_object_set_new(o, "profile", json_str_or_null(a.profile_name));
        json_object_set_new(o, "postfix", r.postfix_read
                                              ? json_pack("{s:I,s:I,s:s,s:s,s:s}", "settings",
                                                          (json_int_t)r.postfix_settings, "services",
                                                          (json_int_t)r.postfix_services, "version",
                                                          pv.text,
                                                          "version_source", pv.source,
                                                          "version_detail", pv.detail)
                                              : json_null());
        json_object_set_new(o, "dovecot",
                            r.dovecot_read ? json_pack("{s:s,s:I,s:I}", "version",
                                                       dovecot_version_text(r.dovecot_version),
                                                       "settings", (json_int_t)r.dovecot_settings,
                                                       "files", (json_int_t)r.dovecot_files)
                                           : json_null());
        json_object_set_new(o, "live_host", json_str_or_null(a.opts.live_host));
        json_object_set_new(o, "live_ports", json_integer((json_int_t)r.live_ports));
        json_object_set_new(o, "error", json_str_or_null(r.error));
        json_object_set_new(o, "diagnostics", json_diags(&diags));
        json_print_result("conf audit", o, status);
    } else if (!unchecked) {
        if (r.postfix_read) {
            out_heading(&c, "Postfix %s: %zu settings in main.cf, %zu services in master.cf",
                        a.opts.postfix_dir, r.postfix_settings, r.postfix_services);
            out_field(&c, "Postfix version", "%d.%d (%s)", pv.version / 10, pv.version % 10, pv.detail);
        }
        if (r.dovecot_read)
            out_heading(&c, "Dovecot %s (%s syntax): %zu settings in %zu file%s", a.opts.dovecot_conf,
                        dovecot_version_text(r.dovecot_version), r.dovecot_settings, r.dovecot_files,
                        r.dovecot_files == 1 ? "" : "s");
        if (a.profile_name)
            out_field(&c, "profile", "Mozilla %s", a.profile_name);
        if (a.opts.live_host)
            out_field(&c, "live", "%zu port%s on %s", r.live_ports, r.live_ports == 1 ? "" : "s",
                      a.opts.live_host);
        out_text(&c, "\nChecks");
        if (diags.count == 0)
            out_ok(&c, "no findings");
        print_located(&c, &diags);
        out_summary(&c, &diags, 0);
    }
    ms_conf_audit_result_free(&r);
    ms_diag_list_free(&diags);
    return status;
}

/* ---- generate ---- */

typedef struct generate_args {
    ms_conf_generate_opts opts;
    const char *version_text, *profile_name, *apply_dir;
    int dry_run;
} generate_args;

static int generate_option(void *arg, int opt, const char *value)
{
    generate_args *a = arg;
    switch (opt) {
    case OPT_VERSION:
        a->version_text = value;
        return (a->opts.version = parse_version(value)) != 0;
    case OPT_PROFILE:
        a->profile_name = value;
        a->opts.profile = ms_conf_profile_from_name(value);
        return a->opts.profile != MS_CONF_PROFILE_NONE;
    case OPT_CERT: a->opts.cert_file = value; return 1;
    case OPT_KEY: a->opts.key_file = value; return 1;
    case OPT_CHAIN: a->opts.chain_file = value; return 1;
    case OPT_APPLY: a->apply_dir = value; return 1;
    case OPT_DRY_RUN: a->dry_run = 1; return 1;
    default: return CLI_OPTION_UNHANDLED;
    }
}

/* Runs diff(1) -u on two files, the output labelled with label, into
 * a new string. fork and exec, not a shell: the label is a user's path. */
static char *run_diff(const char *label, const char *old_path, const char *new_path)
{
    int fds[2];
    if (pipe(fds) != 0)
        return NULL;
    pid_t pid = fork();
    if (pid < 0) {
        close(fds[0]);
        close(fds[1]);
        return NULL;
    }
    if (pid == 0) {
        dup2(fds[1], STDOUT_FILENO);
        close(fds[0]);
        close(fds[1]);
        execlp("diff", "diff", "-u", "--label", label, "--label", label, old_path, new_path,
               (char *)NULL);
        _exit(127);
    }
    close(fds[1]);
    char *result = NULL;
    size_t len = 0;
    char buf[4096];
    ssize_t got;
    while ((got = read(fds[0], buf, sizeof buf)) > 0) {
        char *grown = realloc(result, len + (size_t)got + 1);
        if (grown == NULL)
            break;
        result = grown;
        memcpy(result + len, buf, (size_t)got);
        len += (size_t)got;
        result[len] = '\0';
    }
    close(fds[0]);
    waitpid(pid, NULL, 0);
    return result;
}

static int write_temp(char *path_template, const char *text)
{
    int fd = mkstemp(path_template);
    if (fd < 0)
        return 0;
    size_t len = strlen(text);
    int ok = write(fd, text, len) == (ssize_t)len;
    return close(fd) == 0 && ok;
}

/* The unified diff of two texts, by diff(1) on temporary files. */
static char *unified_diff(const char *path, const char *old_text, const char *new_text)
{
    char old_path[] = "/tmp/mailsec-conf-old.XXXXXX", new_path[] = "/tmp/mailsec-conf-new.XXXXXX";
    char *result = NULL;
    int have_old = write_temp(old_path, old_text ? old_text : "");
    int have_new = have_old && write_temp(new_path, new_text);
    if (have_new)
        result = run_diff(path, old_path, new_path);
    if (have_old)
        unlink(old_path);
    if (have_new)
        unlink(new_path);
    return result ? result : strdup("");
}

static int run_apply(const cli_common *c, const generate_args *a, json_t *o)
{
    ms_conf_edits e;
    ms_status st = ms_conf_plan_edits(&a->opts, a->apply_dir, &e);
    if (st != MS_OK) {
        fprintf(stderr, "mailsec conf generate: %s\n", e.error ? e.error : ms_status_str(st));
        json_object_set_new(o, "error", json_str_or_null(e.error));
        ms_conf_edits_free(&e);
        return EXIT_UNCHECKED;
    }
    json_t *files = json_array();
    for (size_t i = 0; i < e.count; i++) {
        const ms_conf_edit *f = &e.files[i];
        char *diff = f->changed ? unified_diff(f->path, f->old_text, f->new_text) : strdup("");
        if (c->json) {
            json_array_append_new(files, json_pack("{s:s,s:b,s:s}", "path", f->path, "changed",
                                                   f->changed, "diff", diff ? diff : ""));
        } else if (a->dry_run) {
            fputs(diff ? diff : "", stdout);
        }
        free(diff);
    }
    json_object_set_new(o, "files", files);
    int status = EXIT_CLEAN;
    if (!a->dry_run) {
        char *error = NULL;
        if (ms_conf_apply_edits(&e, &error) != MS_OK) {
            fprintf(stderr, "mailsec conf generate: %s\n", error ? error : "cannot write");
            json_object_set_new(o, "error", json_str_or_null(error));
            status = EXIT_UNCHECKED;
        } else if (c->json) {
            for (size_t i = 0; i < e.count; i++)
                json_object_set_new(json_array_get(files, i), "backup", json_str_or_null(e.files[i].backup));
        } else {
            for (size_t i = 0; i < e.count; i++)
                if (e.files[i].changed)
                    out_ok(c, "%s changed (backup: %s)", e.files[i].path, e.files[i].backup);
                else
                    out_ok(c, "%s already as generated", e.files[i].path);
        }
        free(error);
    }
    json_object_set_new(o, "applied", json_boolean(!a->dry_run && status == EXIT_CLEAN));
    ms_conf_edits_free(&e);
    return status;
}

static int run_generate(int argc, char **argv)
{
    cli_common c;
    generate_args a = {0};
    int done = cli_parse(argc, argv, &CLI_OPTIONS_conf_generate, GENERATE_USAGE,
                         "conf generate", &c, generate_option, &a);
    if (done >= 0)
        return done;
    if (optind + 1 != argc)
        return cli_usage_error("conf generate", "give the server: postfix or dovecot");
    const char *server = argv[optind];
    if (strcmp(server, "postfix") == 0)
        a.opts.server = MS_CONF_POSTFIX;
    else if (strcmp(server, "dovecot") == 0)
        a.opts.server = MS_CONF_DOVECOT;
    else
        return cli_usage_error("conf generate", "unknown server \"%s\" (postfix or dovecot)", server);
    if ((a.version_text == NULL && a.opts.server == MS_CONF_DOVECOT) || a.profile_name == NULL ||
        !a.opts.cert_file || !a.opts.key_file)
        return cli_usage_error("conf generate", "give --version (Dovecot), --profile, --cert and --key");
    if (a.dry_run && a.apply_dir == NULL)
        return cli_usage_error("conf generate", "--dry-run goes with --apply DIR");

    postfix_version pv = {0};
    if (a.opts.server == MS_CONF_POSTFIX) {
        postfix_version_find(a.opts.version, "--version", a.apply_dir, &pv);
        a.opts.version = pv.version;
        if (a.version_text == NULL)
            a.version_text = pv.text;
    }
    ms_conf_snippets s;
    ms_status st = ms_conf_generate(&a.opts, &s);
    if (st != MS_OK) {
        fprintf(stderr, "mailsec conf generate: %s\n", s.error ? s.error : ms_status_str(st));
        ms_conf_snippets_free(&s);
        return EXIT_UNCHECKED;
    }
    json_t *o = json_object();
    json_object_set_new(o, "server", json_string(server));
    json_object_set_new(o, "version", json_string(a.version_text));
    if (pv.source) {
        json_object_set_new(o, "version_source", json_string(pv.source));
        json_object_set_new(o, "version_detail", json_string(pv.detail));
    }
    json_object_set_new(o, "profile", json_string(a.profile_name));
    json_object_set_new(o, "main_cf", json_str_or_null(s.main_cf));
    json_object_set_new(o, "master_cf", json_str_or_null(s.master_cf));
    json_object_set_new(o, "dovecot", json_str_or_null(s.dovecot));
    int status = EXIT_CLEAN;
    if (a.apply_dir) {
        /* the diff of --dry-run is stdout: the version goes to stderr then */
        if (pv.source && !c.json)
            fprintf(a.dry_run ? stderr : stdout, "Postfix %s (%s)\n", a.version_text, pv.detail);
        status = run_apply(&c, &a, o);
    } else if (!c.json) {
        if (s.main_cf)
            printf("# Postfix %s (%s)\n# --- main.cf ---\n%s\n# --- master.cf ---\n%s", a.version_text,
                   pv.detail, s.main_cf, s.master_cf);
        else
            printf("# --- conf.d/10-ssl.conf ---\n%s", s.dovecot);
    }
    if (c.json) {
        json_print_result("conf generate", o, status);
    } else {
        json_decref(o);
    }
    ms_conf_snippets_free(&s);
    return status;
}

int cmd_conf(int argc, char **argv)
{
    static const cli_command COMMANDS[] = {{"audit", run_audit}, {"generate", run_generate}};
    return cli_dispatch(argc, argv, GROUP_USAGE, COMMANDS, sizeof COMMANDS / sizeof COMMANDS[0]);
}
