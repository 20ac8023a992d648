/* mailsec's e-mail address functions for SQLite, a loadable extension:
 *
 *   is_email(x [, profile])         1 or 0
 *   email_diagnosis(x [, profile])  the diagnosis code, "email.valid", ...
 *   email_normalize(x [, profile])  the normal form, NULL when not valid
 *   email_domain(x [, profile])     the domain in normal form (A-labels)
 *   email_local(x [, profile])      the local part in normal form
 *
 * profile: 'smtp' (default), 'rfc5322', 'html5', 'intl'. NULL in, NULL
 * out. Every function is deterministic and innocuous, so it can be used
 * in indexes, CHECK constraints and generated columns.
 *
 *   .load /usr/local/lib/mailsec/mailsec_email
 *   SELECT ... WHERE NOT is_email(c.email_address);
 *
 * Thin glue only: lib/email does the work. */
#include "mailsec/email.h"

#include <sqlite3ext.h>
#include <stdlib.h>
#include <string.h>

SQLITE_EXTENSION_INIT1

/* The profile argument: smtp when absent; 0 (and an error set) when
 * unknown. A NULL profile is handled by get_args. */
static int get_profile(sqlite3_context *ctx, int argc, sqlite3_value **argv, ms_email_profile *p)
{
    *p = MS_EMAIL_PROFILE_SMTP;
    if (argc < 2)
        return 1;
    const char *name = (const char *)sqlite3_value_text(argv[1]);
    if (name != NULL && ms_email_profile_parse(name, p))
        return 1;
    sqlite3_result_error(ctx, "unknown e-mail profile (smtp, rfc5322, html5, intl)", -1);
    return 0;
}

/* The address and profile; 0 when the result is already set: NULL for a
 * NULL address or profile (NULL in, NULL out, as PostgreSQL's STRICT and the
 * MariaDB functions do), or an error for an unknown profile. Blobs are
 * taken as they are. */
static int get_args(sqlite3_context *ctx, int argc, sqlite3_value **argv, const char **s,
                    size_t *n, ms_email_profile *p)
{
    /* the hot path of WHERE is_email(x): one type test, no profile */
    int type = sqlite3_value_type(argv[0]);
    if (type == SQLITE_NULL || (argc > 1 && sqlite3_value_type(argv[1]) == SQLITE_NULL)) {
        sqlite3_result_null(ctx);
        return 0;
    }
    if (!get_profile(ctx, argc, argv, p))
        return 0;
    *s = type == SQLITE_BLOB ? sqlite3_value_blob(argv[0])
                             : (const void *)sqlite3_value_text(argv[0]);
    *n = (size_t)sqlite3_value_bytes(argv[0]);
    if (*s == NULL)
        *s = "";
    return 1;
}

/* The check of the call's address under its profile; 0 when the
 * arguments were refused (the error is set). */
static int check_arg(sqlite3_context *ctx, int argc, sqlite3_value **argv, ms_email_result *r)
{
    const char *s;
    size_t n;
    ms_email_profile p;
    if (!get_args(ctx, argc, argv, &s, &n, &p))
        return 0;
    ms_email_check(s, n, p, r);
    return 1;
}

static void fn_is_email(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    ms_email_result r;
    if (check_arg(ctx, argc, argv, &r))
        sqlite3_result_int(ctx, r.valid);
}

static void fn_diagnosis(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    ms_email_result r;
    if (check_arg(ctx, argc, argv, &r))
        sqlite3_result_text(ctx, r.diagnosis, -1, SQLITE_STATIC);
}

enum { PART_ALL, PART_LOCAL, PART_DOMAIN };

static void normal_part(sqlite3_context *ctx, int argc, sqlite3_value **argv, int part)
{
    const char *s;
    size_t n;
    ms_email_profile p;
    if (!get_args(ctx, argc, argv, &s, &n, &p))
        return;
    char *norm = NULL;
    ms_status st = ms_email_normalize(s, n, p, &norm);
    if (st == MS_ERR_NOMEM) {
        sqlite3_result_error_nomem(ctx);
        return;
    }
    if (st != MS_OK) {
        sqlite3_result_null(ctx);
        return;
    }
    /* The parts come from parsing the normal form again: an "@" may stand
     * in a quoted local part or in a domain literal. */
    size_t len = strlen(norm);
    ms_email_result r;
    ms_email_check(norm, len, p, &r);
    if (part == PART_LOCAL)
        sqlite3_result_text(ctx, norm + r.local_start, (int)r.local_len, SQLITE_TRANSIENT);
    else if (part == PART_DOMAIN)
        sqlite3_result_text(ctx, norm + r.domain_start, (int)r.domain_len, SQLITE_TRANSIENT);
    else
        sqlite3_result_text(ctx, norm, (int)len, SQLITE_TRANSIENT);
    free(norm);
}

static void fn_normalize(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    normal_part(ctx, argc, argv, PART_ALL);
}

static void fn_local(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    normal_part(ctx, argc, argv, PART_LOCAL);
}

static void fn_domain(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    normal_part(ctx, argc, argv, PART_DOMAIN);
}

#ifndef SQLITE_INNOCUOUS
#define SQLITE_INNOCUOUS 0
#endif

int ms_email_sqlite_register(sqlite3 *db);

/* Registers the functions on db (also used by the fuzz harness, which
 * links this file into a program). */
int ms_email_sqlite_register(sqlite3 *db)
{
    static const struct {
        const char *name;
        void (*fn)(sqlite3_context *, int, sqlite3_value **);
    } FUNCS[] = {
        {"is_email", fn_is_email},        {"email_diagnosis", fn_diagnosis}, {"email_normalize", fn_normalize},
        {"email_domain", fn_domain},      {"email_local", fn_local},
    };
    const int flags = SQLITE_UTF8 | SQLITE_DETERMINISTIC | SQLITE_INNOCUOUS;
    for (size_t i = 0; i < sizeof FUNCS / sizeof FUNCS[0]; i++) {
        for (int nargs = 1; nargs <= 2; nargs++) {
            int rc = sqlite3_create_function(db, FUNCS[i].name, nargs, flags, NULL, FUNCS[i].fn, NULL, NULL);
            if (rc != SQLITE_OK)
                return rc;
        }
    }
    return SQLITE_OK;
}

#ifdef _WIN32
__declspec(dllexport)
#endif
int sqlite3_mailsecemail_init(sqlite3 *db, char **errmsg, const sqlite3_api_routines *api);

int sqlite3_mailsecemail_init(sqlite3 *db, char **errmsg, const sqlite3_api_routines *api)
{
    (void)errmsg;
    SQLITE_EXTENSION_INIT2(api);
    return ms_email_sqlite_register(db);
}

int sqlite3_extension_init(sqlite3 *db, char **errmsg, const sqlite3_api_routines *api);

int sqlite3_extension_init(sqlite3 *db, char **errmsg, const sqlite3_api_routines *api)
{
    return sqlite3_mailsecemail_init(db, errmsg, api);
}
