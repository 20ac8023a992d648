/* Roundcube's database for the upgrade: the DSN, the schema version, the
 * backup and its restore, the migrations. SQLite through its library;
 * PostgreSQL and MySQL/MariaDB through their own clients (psql, pg_dump,
 * mariadb, mariadb-dump), which are what a dump must be made and loaded
 * with anyway. Passwords travel in the clients' environment
 * (PGPASSWORD, MYSQL_PWD), never on a command line others can see. */
#define _GNU_SOURCE
#include "core/grow.h"
#include "roundcube/upgrade.h"
#include "core/lazy_sqlite.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

enum {
    TOOL_MAX_OUTPUT = 4 << 20,  /* what a query's answer may be */
    TOOL_MAX_ERROR = 2048,      /* of a client's error text, shown */
    CONNECT_TIMEOUT_S = 10,
    SQLITE_BUSY_MS = 10000,
    FIRST_SYSTEM_TABLE_VERSION = 2013011000 /* updatedb.sh: no system table before */
};

static const char VERSION_KEY[] = "roundcube-version";

/* ---- the DSN ---- */

const char *rc_db_driver_name(rc_db_driver driver)
{
    return driver == RC_DB_SQLITE ? "sqlite" : driver == RC_DB_PGSQL ? "pgsql" : "mysql";
}

const char *rc_db_sql_folder(rc_db_driver driver)
{
    return driver == RC_DB_SQLITE ? "sqlite" : driver == RC_DB_PGSQL ? "postgres" : "mysql";
}

/* PHP's rawurldecode of len bytes. */
static char *url_decode(const char *s, size_t len)
{
    char *out = malloc(len + 1), *o = out;
    if (!out)
        return NULL;
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '%' && i + 2 < len && isxdigit((unsigned char)s[i + 1]) &&
            isxdigit((unsigned char)s[i + 2])) {
            char hex[3] = {s[i + 1], s[i + 2], 0};
            *o++ = (char)strtol(hex, NULL, 16);
            i += 2;
        } else
            *o++ = s[i];
    }
    *o = '\0';
    return out;
}

void rc_dsn_free(rc_dsn *dsn)
{
    free(dsn->user);
    free(dsn->pass);
    free(dsn->host);
    free(dsn->port);
    free(dsn->socket);
    free(dsn->name);
    memset(dsn, 0, sizeof *dsn);
}

static int driver_of(const char *scheme, size_t len, rc_db_driver *out)
{
    static const struct {
        const char *name;
        rc_db_driver driver;
    } names[] = {{"sqlite", RC_DB_SQLITE}, {"sqlite3", RC_DB_SQLITE}, {"pgsql", RC_DB_PGSQL},
                 {"postgres", RC_DB_PGSQL}, {"postgresql", RC_DB_PGSQL}, {"mysql", RC_DB_MYSQL},
                 {"mysqli", RC_DB_MYSQL}, {"mariadb", RC_DB_MYSQL}};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strlen(names[i].name) == len && !ms_ascii_strncasecmp(scheme, names[i].name, len)) {
            *out = names[i].driver;
            return 1;
        }
    return 0;
}

/* "host:port", "unix(/path)" or "tcp(host:port)" before the database. */
static ms_status parse_hostspec(const char *s, size_t len, rc_dsn *out)
{
    if (len > 5 && !strncmp(s, "unix(", 5) && s[len - 1] == ')') {
        out->socket = url_decode(s + 5, len - 6);
        return out->socket ? MS_OK : MS_ERR_NOMEM;
    }
    if (len > 4 && !strncmp(s, "tcp(", 4) && s[len - 1] == ')')
        s += 4, len -= 5;
    const char *colon = memchr(s, ':', len);
    size_t host_len = colon ? (size_t)(colon - s) : len;
    if (host_len && !(out->host = url_decode(s, host_len)))
        return MS_ERR_NOMEM;
    if (colon && !(out->port = url_decode(colon + 1, len - host_len - 1)))
        return MS_ERR_NOMEM;
    return MS_OK;
}

ms_status rc_dsn_parse(const char *text, rc_dsn *out, char **error)
{
    memset(out, 0, sizeof *out);
    const char *sep = strstr(text, "://");
    if (!sep || !driver_of(text, (size_t)(sep - text), &out->driver)) {
        *error = ms_asprintf("the database DSN names no database mailsec knows (sqlite, pgsql, mysql)");
        return MS_ERR_INVALID;
    }
    const char *rest = sep + 3;
    size_t len = strcspn(rest, "?"); /* options (?mode=0646) are not ours */
    if (out->driver == RC_DB_SQLITE) {
        /* sqlite:////var/lib/db.sqlite: an empty host, then "/" and the file */
        const char *slash = memchr(rest, '/', len);
        if (!slash || slash + 1 >= rest + len) {
            *error = ms_asprintf("the SQLite DSN names no file");
            return MS_ERR_INVALID;
        }
        out->name = url_decode(slash + 1, (size_t)(rest + len - slash - 1));
        return out->name ? MS_OK : MS_ERR_NOMEM;
    }
    /* user:pass@hostspec/database; the password may hold "@" and "/" */
    const char *at = NULL;
    for (const char *p = rest; p < rest + len; p++)
        if (*p == '@')
            at = p;
    const char *host = at ? at + 1 : rest;
    const char *slash = memchr(host, '/', (size_t)(rest + len - host));
    ms_status st = MS_OK;
    if (at) {
        const char *colon = memchr(rest, ':', (size_t)(at - rest));
        size_t user_len = colon ? (size_t)(colon - rest) : (size_t)(at - rest);
        out->user = url_decode(rest, user_len);
        out->pass = colon ? url_decode(colon + 1, (size_t)(at - colon - 1)) : ms_strdup("");
        if (!out->user || !out->pass)
            st = MS_ERR_NOMEM;
    }
    if (st == MS_OK)
        st = parse_hostspec(host, slash ? (size_t)(slash - host) : (size_t)(rest + len - host), out);
    if (st == MS_OK && (!slash || slash + 1 >= rest + len)) {
        *error = ms_asprintf("the database DSN names no database");
        st = MS_ERR_INVALID;
    } else if (st == MS_OK && !(out->name = url_decode(slash + 1, (size_t)(rest + len - slash - 1))))
        st = MS_ERR_NOMEM;
    if (st != MS_OK)
        rc_dsn_free(out);
    return st;
}

/* ---- running a client ---- */

typedef struct tool_run {
    const char *const *argv;
    const char *stdin_path;  /* NULL: stdin_text, else /dev/null */
    const char *stdin_text;
    const char *stdout_path; /* NULL: captured into *output */
} tool_run;

/* The environment with the connection's variables set: they replace any
 * of the same name. */
static char **tool_env(const rc_dsn *dsn)
{
    char *set[8] = {0};
    size_t n = 0;
    if (dsn->driver == RC_DB_PGSQL) {
        const char *host = dsn->socket ? dsn->socket : dsn->host;
        if (host)
            set[n++] = ms_asprintf("PGHOST=%s", host);
        if (dsn->port)
            set[n++] = ms_asprintf("PGPORT=%s", dsn->port);
        if (dsn->user)
            set[n++] = ms_asprintf("PGUSER=%s", dsn->user);
        set[n++] = ms_asprintf("PGPASSWORD=%s", dsn->pass ? dsn->pass : "");
        set[n++] = ms_asprintf("PGDATABASE=%s", dsn->name);
        set[n++] = ms_asprintf("PGCONNECT_TIMEOUT=%d", CONNECT_TIMEOUT_S);
    } else
        set[n++] = ms_asprintf("MYSQL_PWD=%s", dsn->pass ? dsn->pass : "");
    size_t count = 0;
    while (environ[count])
        count++;
    char **env = calloc(count + n + 1, sizeof *env);
    int failed = !env;
    size_t k = 0;
    for (size_t i = 0; !failed && i < count; i++) {
        size_t name_len = strcspn(environ[i], "=") + 1;
        int replaced = 0;
        for (size_t j = 0; j < n; j++)
            replaced |= set[j] && !strncmp(set[j], environ[i], name_len);
        if (!replaced && !(env[k++] = ms_strdup(environ[i])))
            failed = 1;
    }
    for (size_t j = 0; j < n; j++) {
        if (!set[j])
            failed = 1;
        else if (!failed)
            env[k++] = set[j], set[j] = NULL;
        free(set[j]);
    }
    if (failed) {
        for (size_t i = 0; env && i < k; i++)
            free(env[i]);
        free(env);
        return NULL;
    }
    return env;
}

static void free_env(char **env)
{
    for (size_t i = 0; env && env[i]; i++)
        free(env[i]);
    free(env);
}

static char *fd_text(int fd, size_t max)
{
    off_t size = lseek(fd, 0, SEEK_END);
    size_t n = size < 0 ? 0 : (size_t)size > max ? max : (size_t)size;
    char *text = malloc(n + 1);
    if (text) {
        ssize_t got = pread(fd, text, n, 0);
        text[got < 0 ? 0 : got] = '\0';
    }
    return text;
}

static int open_stdin(const tool_run *run)
{
    if (run->stdin_path)
        return open(run->stdin_path, O_RDONLY | O_CLOEXEC);
    if (!run->stdin_text)
        return open("/dev/null", O_RDONLY | O_CLOEXEC);
    int fd = memfd_create("mailsec-sql", MFD_CLOEXEC);
    size_t len = strlen(run->stdin_text);
    if (fd >= 0 && (write(fd, run->stdin_text, len) != (ssize_t)len || lseek(fd, 0, SEEK_SET) != 0)) {
        close(fd);
        return -1;
    }
    return fd;
}

/* Runs a client and waits for it; its standard error becomes *error when
 * it fails. */
static ms_status run_tool(const rc_dsn *dsn, const tool_run *run, char **output, char **error)
{
    int in = open_stdin(run);
    int out = run->stdout_path ? open(run->stdout_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600)
                               : memfd_create("mailsec-out", MFD_CLOEXEC);
    int err = memfd_create("mailsec-err", MFD_CLOEXEC);
    char **env = tool_env(dsn);
    ms_status st = MS_OK;
    if (in < 0 || out < 0 || err < 0 || !env) {
        *error = ms_asprintf("%s: %s", run->argv[0], env ? strerror(errno) : "out of memory");
        st = MS_ERR_IO;
    }
    pid_t pid = st == MS_OK ? fork() : -1;
    if (pid == 0) {
        if (dup2(in, 0) < 0 || dup2(out, 1) < 0 || dup2(err, 2) < 0)
            _exit(127);
        execvpe(run->argv[0], (char *const *)run->argv, env);
        dprintf(2, "%s: %s", run->argv[0], strerror(errno));
        _exit(127);
    }
    int wstatus = 0;
    if (st == MS_OK && (pid < 0 || waitpid(pid, &wstatus, 0) < 0)) {
        *error = ms_asprintf("%s: %s", run->argv[0], strerror(errno));
        st = MS_ERR_IO;
    }
    if (st == MS_OK && !(WIFEXITED(wstatus) && WEXITSTATUS(wstatus) == 0)) {
        char *text = fd_text(err, TOOL_MAX_ERROR);
        size_t l = text ? strlen(text) : 0;
        while (l && isspace((unsigned char)text[l - 1]))
            text[--l] = '\0';
        *error = ms_asprintf("%s failed: %s", run->argv[0], text && *text ? text : "no message");
        free(text);
        st = MS_ERR_IO;
    }
    if (st == MS_OK && !run->stdout_path && output && !(*output = fd_text(out, TOOL_MAX_OUTPUT)))
        st = MS_ERR_NOMEM;
    if (st == MS_OK && run->stdout_path && fsync(out) != 0) {
        *error = ms_asprintf("%s: %s", run->stdout_path, strerror(errno));
        st = MS_ERR_IO;
    }
    free_env(env);
    if (in >= 0)
        close(in);
    if (out >= 0)
        close(out);
    if (err >= 0)
        close(err);
    return st;
}

/* The client's connection options (MySQL; PostgreSQL's are in its
 * environment). argv gets them from index *n on. mariadb-dump has no
 * --connect-timeout: it runs after the client has connected once. */
static void mysql_connection_args(const rc_dsn *dsn, int timeout, char *args[6], const char *argv[], size_t *n)
{
    size_t k = 0;
    if (timeout)
        args[k++] = ms_asprintf("--connect-timeout=%d", CONNECT_TIMEOUT_S);
    if (dsn->user)
        args[k++] = ms_asprintf("--user=%s", dsn->user);
    if (dsn->host)
        args[k++] = ms_asprintf("--host=%s", dsn->host);
    if (dsn->port)
        args[k++] = ms_asprintf("--port=%s", dsn->port);
    if (dsn->socket)
        args[k++] = ms_asprintf("--socket=%s", dsn->socket);
    for (size_t i = 0; i < k; i++)
        if (args[i])
            argv[(*n)++] = args[i];
}

static void free_args(char *args[6])
{
    for (size_t i = 0; i < 6; i++)
        free(args[i]);
}

/* One SQL text run by the database's client; *output (may be NULL) gets
 * what it prints, one row a line, columns tab-separated. */
static ms_status client_sql(const rc_dsn *dsn, const char *sql, int one_transaction, const char *stdin_path,
                            char **output, char **error)
{
    const char *argv[16];
    char *args[6] = {0};
    size_t n = 0;
    if (dsn->driver == RC_DB_PGSQL) {
        argv[n++] = "psql";
        argv[n++] = "-X";
        argv[n++] = "-q";
        argv[n++] = "-A";
        argv[n++] = "-t";
        argv[n++] = "-v";
        argv[n++] = "ON_ERROR_STOP=1";
        if (one_transaction)
            argv[n++] = "--single-transaction";
    } else {
        argv[n++] = "mariadb";
        argv[n++] = "--batch";
        argv[n++] = "--skip-column-names";
        mysql_connection_args(dsn, 1, args, argv, &n);
        argv[n++] = dsn->name;
    }
    argv[n] = NULL;
    tool_run run = {argv, stdin_path, stdin_path ? NULL : sql, NULL};
    char *ignored = NULL;
    ms_status st = run_tool(dsn, &run, output ? output : &ignored, error);
    free(ignored);
    free_args(args);
    return st;
}

/* ---- SQLite ---- */

static ms_status sqlite_open(const rc_dsn *dsn, int flags, sqlite3 **db, char **error)
{
    if (sqlite3_open_v2(dsn->name, db, flags, NULL) != SQLITE_OK) {
        *error = ms_asprintf("%s: %s", dsn->name, *db ? sqlite3_errmsg(*db) : "cannot open");
        sqlite3_close(*db);
        *db = NULL;
        return MS_ERR_IO;
    }
    sqlite3_busy_timeout(*db, SQLITE_BUSY_MS);
    return MS_OK;
}

static ms_status sqlite_fail(sqlite3 *db, const char *what, char **error)
{
    *error = ms_asprintf("%s: %s", what, sqlite3_errmsg(db));
    return MS_ERR_IO;
}

/* The first column of the first row of sql, or NULL. */
static ms_status sqlite_value(sqlite3 *db, const char *sql, char **value, char **error)
{
    sqlite3_stmt *stmt = NULL;
    *value = NULL;
    if (sqlite3_prepare_v2(db, sql, -1, &stmt, NULL) != SQLITE_OK)
        return sqlite_fail(db, sql, error);
    ms_status st = MS_OK;
    int r = sqlite3_step(stmt);
    if (r == SQLITE_ROW && sqlite3_column_text(stmt, 0))
        st = (*value = ms_strdup((const char *)sqlite3_column_text(stmt, 0))) ? MS_OK : MS_ERR_NOMEM;
    else if (r != SQLITE_ROW && r != SQLITE_DONE)
        st = sqlite_fail(db, sql, error);
    sqlite3_finalize(stmt);
    return st;
}

/* ---- the schema version ---- */

static void keep_digits(char *s)
{
    char *o = s;
    for (; *s; s++)
        if (isdigit((unsigned char)*s))
            *o++ = *s;
    *o = '\0';
}

static const char *system_table_query(rc_db_driver driver)
{
    switch (driver) {
    case RC_DB_SQLITE:
        return "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'system'";
    case RC_DB_PGSQL:
        return "SELECT count(*) FROM pg_catalog.pg_tables WHERE tablename = 'system' "
               "AND schemaname = ANY (current_schemas(false))";
    default:
        return "SELECT count(*) FROM information_schema.tables WHERE table_schema = DATABASE() "
               "AND table_name = 'system'";
    }
}

static const char *quoted_system(rc_db_driver driver)
{
    return driver == RC_DB_MYSQL ? "`system`" : driver == RC_DB_PGSQL ? "\"system\"" : "system";
}

static ms_status query_value(const rc_dsn *dsn, sqlite3 *db, const char *sql, char **value, char **error)
{
    if (db)
        return sqlite_value(db, sql, value, error);
    char *out = NULL;
    ms_status st = client_sql(dsn, sql, 0, NULL, &out, error);
    if (st == MS_OK) {
        out[strcspn(out, "\n")] = '\0';
        *value = out;
    }
    return st;
}

ms_status rc_db_schema_version(const rc_dsn *dsn, char **version, char **error)
{
    *version = NULL;
    sqlite3 *db = NULL;
    if (dsn->driver == RC_DB_SQLITE) {
        ms_status st = sqlite_open(dsn, SQLITE_OPEN_READONLY, &db, error);
        if (st != MS_OK)
            return st;
    }
    char *count = NULL;
    ms_status st = query_value(dsn, db, system_table_query(dsn->driver), &count, error);
    if (st == MS_OK && count && strcmp(count, "0")) {
        char *sql = ms_asprintf("SELECT value FROM %s WHERE name = '%s'", quoted_system(dsn->driver), VERSION_KEY);
        st = sql ? query_value(dsn, db, sql, version, error) : MS_ERR_NOMEM;
        free(sql);
        if (st == MS_OK && *version)
            keep_digits(*version);
        if (st == MS_OK && *version && !**version) {
            free(*version);
            *version = NULL;
        }
    }
    free(count);
    sqlite3_close(db);
    return st;
}

/* ---- the migrations ---- */

static int script_add(rc_sql_script *s, const char *text, size_t len)
{
    char **stmts = ms_grow(s->stmts, s->count, &s->cap, sizeof *stmts, 32);
    if (!stmts)
        return 0;
    s->stmts = stmts;
    char *copy = malloc(len + 1);
    if (!copy)
        return 0;
    memcpy(copy, text, len);
    copy[len] = '\0';
    s->stmts[s->count++] = copy;
    return 1;
}

void rc_sql_script_free(rc_sql_script *s)
{
    for (size_t i = 0; i < s->count; i++)
        free(s->stmts[i]);
    free(s->stmts);
}

/* rcube_db::exec_script's split: blank lines and "--" comments skipped; a
 * line "GO", or a line ending in ";", ends a statement (the ";" dropped). */
ms_status rc_sql_split(const char *text, rc_sql_script *out)
{
    ms_buf buf = {0};
    ms_status st = MS_OK;
    for (const char *line = text; st == MS_OK && *line;) {
        size_t len = strcspn(line, "\n");
        const char *t = line, *e = line + len;
        while (t < e && isspace((unsigned char)*t))
            t++;
        while (e > t && isspace((unsigned char)e[-1]))
            e--;
        size_t tlen = (size_t)(e - t);
        if (tlen && !(tlen >= 2 && t[0] == '-' && t[1] == '-')) {
            ms_buf exec = {0};
            if (tlen == 2 && !strncmp(t, "GO", 2))
                ms_buf_append(&exec, buf.data ? buf.data : "", buf.len);
            else if (e[-1] == ';') {
                ms_buf_append(&exec, buf.data ? buf.data : "", buf.len);
                ms_buf_append(&exec, line, (size_t)(e - line) - 1); /* rtrim($line) without ";" */
            }
            if (exec.failed || buf.failed)
                st = MS_ERR_NOMEM;
            else if (exec.len && !(exec.len == 1 && exec.data[0] == '0')) {
                if (!script_add(out, exec.data, exec.len))
                    st = MS_ERR_NOMEM;
                buf.len = 0;
                if (buf.data)
                    buf.data[0] = '\0';
            } else {
                ms_buf_append(&buf, line, len);
                ms_buf_append(&buf, "\n", 1);
            }
            ms_buf_free(&exec);
        }
        line += len + (line[len] == '\n');
    }
    ms_buf_free(&buf);
    return st;
}

/* updatedb.sh's last step for a file: the system table says its version. */
static ms_status add_version_update(rc_sql_script *s, rc_db_driver driver, const char *version)
{
    if (strtoll(version, NULL, 10) < FIRST_SYSTEM_TABLE_VERSION)
        return MS_OK;
    const char *table = quoted_system(driver);
    const char *from_dual = driver == RC_DB_MYSQL ? " FROM DUAL" : "";
    char *update = ms_asprintf("UPDATE %s SET value = '%s' WHERE name = '%s'", table, version, VERSION_KEY);
    char *insert = ms_asprintf("INSERT INTO %s (name, value) SELECT '%s', '%s'%s WHERE NOT EXISTS "
                               "(SELECT 1 FROM %s WHERE name = '%s')",
                               table, VERSION_KEY, version, from_dual, table, VERSION_KEY);
    ms_status st = update && insert && script_add(s, update, strlen(update)) && script_add(s, insert, strlen(insert))
                       ? MS_OK
                       : MS_ERR_NOMEM;
    free(update);
    free(insert);
    return st;
}

static ms_status sqlite_run_script(const rc_dsn *dsn, const rc_sql_script *s, const char *file, char **error)
{
    sqlite3 *db = NULL;
    ms_status st = sqlite_open(dsn, SQLITE_OPEN_READWRITE, &db, error);
    if (st != MS_OK)
        return st;
    char *msg = NULL;
    if (sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, &msg) != SQLITE_OK)
        st = MS_ERR_IO;
    for (size_t i = 0; st == MS_OK && i < s->count; i++)
        if (sqlite3_exec(db, s->stmts[i], NULL, NULL, &msg) != SQLITE_OK)
            st = MS_ERR_IO;
    if (st == MS_OK && sqlite3_exec(db, "COMMIT", NULL, NULL, &msg) != SQLITE_OK)
        st = MS_ERR_IO;
    if (st != MS_OK) {
        *error = ms_asprintf("%s: %s", file, msg ? msg : sqlite3_errmsg(db));
        sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
    }
    sqlite3_free(msg);
    sqlite3_close(db);
    return st;
}

static ms_status client_run_script(const rc_dsn *dsn, const rc_sql_script *s, const char *file, char **error)
{
    ms_buf text = {0};
    for (size_t i = 0; i < s->count; i++) {
        ms_buf_puts(&text, s->stmts[i]);
        ms_buf_puts(&text, ";\n");
    }
    if (text.failed)
        return MS_ERR_NOMEM;
    char *why = NULL;
    ms_status st = client_sql(dsn, text.data ? text.data : "", dsn->driver == RC_DB_PGSQL, NULL, NULL, &why);
    if (st != MS_OK)
        *error = ms_asprintf("%s: %s", file, why ? why : "failed");
    free(why);
    ms_buf_free(&text);
    return st;
}

ms_status rc_db_migrate(const rc_dsn *dsn, const char *sql_dir, const char *version, char **error)
{
    char *file = ms_asprintf("%s/%s.sql", sql_dir, version), *text = NULL;
    size_t len = 0;
    if (!file)
        return MS_ERR_NOMEM;
    ms_status st = rc_read_file(file, MS_RC_MAX_MIGRATION_BYTES, &text, &len);
    if (st != MS_OK)
        *error = ms_asprintf("%s: %s", file, st == MS_ERR_LIMIT ? "too large" : strerror(errno));
    rc_sql_script script = {0};
    if (st == MS_OK)
        st = rc_sql_split(text, &script);
    if (st == MS_OK)
        st = add_version_update(&script, dsn->driver, version);
    if (st == MS_OK)
        st = dsn->driver == RC_DB_SQLITE ? sqlite_run_script(dsn, &script, file, error)
                                         : client_run_script(dsn, &script, file, error);
    rc_sql_script_free(&script);
    free(text);
    free(file);
    return st;
}

/* ---- backup and restore ---- */

static ms_status sqlite_backup(const rc_dsn *dsn, const char *to, char **error)
{
    sqlite3 *src = NULL, *dst = NULL;
    ms_status st = sqlite_open(dsn, SQLITE_OPEN_READONLY, &src, error);
    if (st != MS_OK)
        return st;
    if (sqlite3_open_v2(to, &dst, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) != SQLITE_OK)
        st = sqlite_fail(dst, to, error);
    sqlite3_backup *b = st == MS_OK ? sqlite3_backup_init(dst, "main", src, "main") : NULL;
    if (st == MS_OK && !b)
        st = sqlite_fail(dst, to, error);
    if (b) {
        int r, tries = 0;
        /* another writer makes a step wait; the wait is bounded */
        while ((r = sqlite3_backup_step(b, -1)) == SQLITE_BUSY || r == SQLITE_LOCKED) {
            if (++tries > SQLITE_BUSY_MS / 100)
                break;
            sqlite3_sleep(100);
        }
        if (sqlite3_backup_finish(b) != SQLITE_OK || r != SQLITE_DONE)
            st = sqlite_fail(dst, to, error);
    }
    sqlite3_close(src);
    if (dst && sqlite3_close(dst) != SQLITE_OK && st == MS_OK)
        st = MS_ERR_IO;
    if (st == MS_OK) {
        int fd = open(to, O_RDONLY | O_CLOEXEC);
        if (fd < 0 || fsync(fd) != 0) {
            *error = ms_asprintf("%s: %s", to, strerror(errno));
            st = MS_ERR_IO;
        }
        if (fd >= 0)
            close(fd);
    }
    return st;
}

/* The backup's bytes put in place of the database file: copied beside it,
 * synced, given the owner and mode of the file it replaces, renamed over
 * it. A journal left by a transaction that was killed would be played
 * into the restored file: removed first. */
static ms_status sqlite_restore(const rc_dsn *dsn, const char *from, char **error)
{
    struct stat was, saved;
    int existed = stat(dsn->name, &was) == 0;
    if (stat(from, &saved) != 0) {
        *error = ms_asprintf("%s: %s", from, strerror(errno));
        return MS_ERR_IO;
    }
    if (existed)
        saved.st_mode = was.st_mode;
    char *temp = ms_asprintf("%s.mailsec-restore", dsn->name);
    if (!temp)
        return MS_ERR_NOMEM;
    unlink(temp);
    ms_status st = rc_copy_file(from, temp, &saved, error);
    int fd = st == MS_OK ? open(temp, O_RDONLY | O_CLOEXEC) : -1;
    if (st == MS_OK && (fd < 0 || fsync(fd) != 0 ||
                        (existed && geteuid() == 0 && fchown(fd, was.st_uid, was.st_gid) != 0))) {
        *error = ms_asprintf("%s: %s", temp, strerror(errno));
        st = MS_ERR_IO;
    }
    if (fd >= 0)
        close(fd);
    static const char *const leftovers[] = {"-journal", "-wal", "-shm"};
    for (size_t i = 0; st == MS_OK && i < 3; i++) {
        char *p = ms_asprintf("%s%s", dsn->name, leftovers[i]);
        if (p)
            unlink(p);
        free(p);
    }
    if (st == MS_OK && rename(temp, dsn->name) != 0) {
        *error = ms_asprintf("%s: %s", dsn->name, strerror(errno));
        st = MS_ERR_IO;
    }
    if (st != MS_OK)
        unlink(temp);
    free(temp);
    return st;
}

static const char *objects_query(rc_db_driver driver)
{
    if (driver == RC_DB_PGSQL)
        return "SELECT CASE c.relkind WHEN 'S' THEN 'SEQUENCE' WHEN 'v' THEN 'VIEW' "
               "WHEN 'm' THEN 'MATERIALIZED VIEW' ELSE 'TABLE' END || ' ' || "
               "quote_ident(n.nspname) || '.' || quote_ident(c.relname) "
               "FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
               "WHERE c.relkind IN ('r', 'p', 'S', 'v', 'm') AND n.nspname <> 'information_schema' "
               "AND n.nspname NOT LIKE 'pg\\_%' ORDER BY 1";
    return "SELECT CONCAT(IF(table_type = 'VIEW', 'VIEW ', 'TABLE '), '`', REPLACE(table_name, '`', '``'), '`') "
           "FROM information_schema.tables WHERE table_schema = DATABASE() ORDER BY 1";
}

static ms_status client_backup(const rc_dsn *dsn, const char *backup_dir, char **error)
{
    char *dump = rc_path(backup_dir, "db.sql"), *objects_file = rc_path(backup_dir, "db-objects");
    char *objects = NULL;
    ms_status st = dump && objects_file ? MS_OK : MS_ERR_NOMEM;
    if (st == MS_OK)
        st = client_sql(dsn, objects_query(dsn->driver), 0, NULL, &objects, error);
    if (st == MS_OK) {
        ms_file_opts opts = {.new_mode = 0600};
        st = ms_file_replace(objects_file, objects, strlen(objects), &opts, error);
    }
    if (st == MS_OK) {
        const char *argv[16];
        char *args[6] = {0};
        size_t n = 0;
        if (dsn->driver == RC_DB_PGSQL) {
            argv[n++] = "pg_dump";
            argv[n++] = "--no-password";
            argv[n++] = "--clean";
            argv[n++] = "--if-exists";
        } else {
            argv[n++] = "mariadb-dump";
            mysql_connection_args(dsn, 0, args, argv, &n);
            argv[n++] = "--single-transaction";
            argv[n++] = "--skip-dump-date";
            argv[n++] = "--add-drop-table";
            argv[n++] = dsn->name;
        }
        argv[n] = NULL;
        tool_run run = {argv, NULL, NULL, dump};
        st = run_tool(dsn, &run, NULL, error);
        free_args(args);
    }
    free(objects);
    free(dump);
    free(objects_file);
    return st;
}

/* Non-zero when list (lines) holds the line of len bytes. */
static int has_line(const char *list, const char *line, size_t len)
{
    for (const char *p = list; *p;) {
        size_t l = strcspn(p, "\n");
        if (l == len && !memcmp(p, line, len))
            return 1;
        p += l + (p[l] == '\n');
    }
    return 0;
}

/* DROP statements for what the database holds now and the backup did not
 * (tables a migration made): loading the dump alone would leave them. */
static ms_status drop_new_objects(const rc_dsn *dsn, const char *backup_dir, char **error)
{
    char *file = rc_path(backup_dir, "db-objects"), *then = NULL, *now = NULL;
    size_t len = 0;
    ms_status st = file ? rc_read_file(file, TOOL_MAX_OUTPUT, &then, &len) : MS_ERR_NOMEM;
    if (st != MS_OK && file)
        *error = ms_asprintf("%s: %s", file, strerror(errno));
    if (st == MS_OK)
        st = client_sql(dsn, objects_query(dsn->driver), 0, NULL, &now, error);
    ms_buf drops = {0};
    if (dsn->driver == RC_DB_MYSQL)
        ms_buf_puts(&drops, "SET FOREIGN_KEY_CHECKS = 0;\n");
    /* views before tables before sequences: what depends goes first */
    static const char *const kinds[] = {"VIEW ", "MATERIALIZED VIEW ", "TABLE ", "SEQUENCE "};
    for (size_t k = 0; st == MS_OK && k < 4; k++) {
        size_t kind_len = strlen(kinds[k]);
        for (const char *line = now; *line;) {
            size_t l = strcspn(line, "\n");
            if (l > kind_len && !strncmp(line, kinds[k], kind_len) && !has_line(then, line, l))
                ms_buf_printf(&drops, "DROP %.*s IF EXISTS %.*s%s;\n", (int)(kind_len - 1), line,
                              (int)(l - kind_len), line + kind_len,
                              dsn->driver == RC_DB_PGSQL ? " CASCADE" : "");
            line += l + (line[l] == '\n');
        }
    }
    if (drops.failed)
        st = MS_ERR_NOMEM;
    if (st == MS_OK && drops.len)
        st = client_sql(dsn, drops.data, 1, NULL, NULL, error);
    ms_buf_free(&drops);
    free(then);
    free(now);
    free(file);
    return st;
}

ms_status rc_db_backup(const rc_dsn *dsn, const char *backup_dir, char **error)
{
    if (dsn->driver != RC_DB_SQLITE)
        return client_backup(dsn, backup_dir, error);
    char *to = rc_path(backup_dir, "db.sqlite");
    ms_status st = to ? sqlite_backup(dsn, to, error) : MS_ERR_NOMEM;
    free(to);
    return st;
}

ms_status rc_db_restore(const rc_dsn *dsn, const char *backup_dir, char **error)
{
    if (dsn->driver == RC_DB_SQLITE) {
        char *from = rc_path(backup_dir, "db.sqlite");
        ms_status st = from ? sqlite_restore(dsn, from, error) : MS_ERR_NOMEM;
        free(from);
        return st;
    }
    ms_status st = drop_new_objects(dsn, backup_dir, error);
    char *dump = rc_path(backup_dir, "db.sql");
    if (st == MS_OK)
        st = dump ? client_sql(dsn, NULL, 1, dump, NULL, error) : MS_ERR_NOMEM;
    free(dump);
    return st;
}
